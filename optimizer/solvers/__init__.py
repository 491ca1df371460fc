"""Solver backends. Each reads only the canonical MILP and returns a neutral SolveResult."""

from __future__ import annotations

from optimizer.errors import SolverUnavailable
from optimizer.model.milp import MILP
from optimizer.solvers.base import SolveOptions, SolveResult

BACKENDS = ("highs", "cbc")


def available_solvers() -> list[str]:
    from optimizer.solvers import cbc, highs

    return [name for name, mod in (("highs", highs), ("cbc", cbc)) if mod.available()]


def solve_milp(m: MILP, solver: str = "highs", options: SolveOptions | None = None) -> SolveResult:
    """Solve the MILP with the named backend."""
    options = options or SolveOptions()
    if solver == "highs":
        from optimizer.solvers import highs as backend
    elif solver == "cbc":
        from optimizer.solvers import cbc as backend
    else:
        raise SolverUnavailable(f"unknown solver '{solver}' (choose one of {', '.join(BACKENDS)})")
    return backend.solve(m, options)


__all__ = ["BACKENDS", "SolveOptions", "SolveResult", "available_solvers", "solve_milp"]
