"""Further `landuse` subcommands (compare, bench) register here, so cli.py stays small."""

from __future__ import annotations


def add_commands(sub, solve_args) -> None:
    """Add subcommands that set `func` on their parser. Filled in as capabilities land."""
    return None
