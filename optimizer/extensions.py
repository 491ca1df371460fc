"""Further `landuse` subcommands register here, so cli.py stays small.

Each module listed in COMMAND_MODULES defines `add_command(subparsers, solve_args)`, which adds its parser and
sets `func` (a function args -> exit code) on it.
"""

from __future__ import annotations

import importlib

COMMAND_MODULES = ("optimizer.compare", "optimizer.bench.cli", "optimizer.analysis.cli", "optimizer.sweep.cli",
                   "optimizer.init")


def add_commands(sub, solve_args) -> None:
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that capability is not in this build
            raise
        mod.add_command(sub, solve_args)
