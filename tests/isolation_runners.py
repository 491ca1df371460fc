"""Stand-ins for HiGHS inside solve_isolated's child process (imported there by name, so kept in a module)."""

import time

import numpy as np

from optimizer.errors import SolverFailed


def plan_then_hang(m, opts, on_plan=None):
    """Sends one plan (every column at its lower bound), then never returns, like a presolve that ignores limits."""
    on_plan(np.asarray(m.col_lower, float), 0.0)
    time.sleep(3600)


def hang(m, opts, on_plan=None):
    time.sleep(3600)


def fail(m, opts, on_plan=None):
    raise SolverFailed("an earlier HiGHS solve in this process is still running")


def crash(m, opts, on_plan=None):
    import os

    os._exit(3)
