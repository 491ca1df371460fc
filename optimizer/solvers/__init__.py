"""Solver backends. Each reads only the canonical MILP and returns a neutral SolveResult."""

from __future__ import annotations

import numpy as np

from optimizer.errors import SolverFailed, SolverUnavailable
from optimizer.model.milp import MILP
from optimizer.solvers.base import SolveOptions, SolveResult

BACKENDS = ("highs", "cbc")  # exact backends: read only the MILP
ENGINES = ("lagrange", "auto")  # structure-aware: read the model bundle (pairs, units, row families)
AUTO_LAGRANGE_PAIRS = 150_000  # from this many pairs on, "auto" uses the Lagrangian engine
AUTO_LOCAL_SEARCH_PAIRS = 50_000  # up to this many pairs, "auto" polishes assignment-shaped plans (local_search)
AUTO_LOCAL_SEARCH = {"rounds": 20, "kick": 3, "chains": 256, "max_work": 3e7}  # work limits (no clock; ~4 s)
AUTO_POLISH_WORK = 5e6  # candidate moves per polish of a HiGHS plan (inside HiGHS's callback; well under a second)
AUTO_HIGHS_WORK_SHARE = 0.5  # with SolveOptions.work_limit_s: HiGHS's work after the engine, this share of it
WARM_START_TOL = 1e-6  # a warm start breaching no row or bound by more than this (relative) is a plan


def available_solvers() -> list[str]:
    from optimizer.solvers import cbc, highs

    names = [name for name, mod in (("highs", highs), ("cbc", cbc)) if mod.available()]
    return names + (list(ENGINES) if "highs" in names else [])


def solve_milp(m: MILP, solver: str = "highs", options: SolveOptions | None = None) -> SolveResult:
    """Solve the MILP with the named backend."""
    options = options or SolveOptions()
    if solver == "highs":
        from optimizer.solvers import highs

        return highs.solve_abandonable(m, options)  # large models in a process that can be abandoned
    if solver == "cbc":
        from optimizer.solvers import cbc as backend
    else:
        raise SolverUnavailable(f"unknown solver '{solver}' (choose one of {', '.join(BACKENDS + ENGINES)})")
    return backend.solve(m, options)


def solve_bundle(bundle, solver: str = "highs", options: SolveOptions | None = None) -> SolveResult:
    """Solve a built model with a backend or an engine ("lagrange", or "auto" choosing by size)."""
    options = options or SolveOptions()
    if solver == "lagrange":
        from optimizer.solvers import lagrange

        return keep_warm_start(bundle, lagrange.solve(bundle, options), options)
    if solver == "auto":
        return _solve_auto(bundle, options)
    return solve_milp(bundle.milp, solver, options)


def _solve_auto(bundle, options: SolveOptions) -> SolveResult:
    """The Lagrangian engine first (bound and plan fast); if its gap is above the target, HiGHS on the full
    model, warm-started from that plan, to improve the plan or prove the bound.

    Repeatable: the engine gets the whole time limit as its ceiling and stops on its own deterministic work
    limits (below the AUTO_LAGRANGE_PAIRS size it leaves out its full-model repair, which HiGHS does here), so
    when HiGHS starts decides nothing. HiGHS then runs until the time limit, unless `work_limit_s` is set: it
    then stops at cut rounds and nodes worth AUTO_HIGHS_WORK_SHARE of it (and does not start when that does not
    cover its presolve and root LP), and the time limit is a ceiling only.
    A step the time limit cuts says so in the result's phases.
    """
    import time
    from dataclasses import replace

    from optimizer.solvers import lagrange
    from optimizer.solvers.base import gap_closed, gap_target, rel_gap

    t0 = time.perf_counter()
    if bundle.n_pairs <= AUTO_LOCAL_SEARCH_PAIRS and bundle.milp.n_cols < 100_000:
        from optimizer.solvers import knapsack_lagrange

        shape = knapsack_lagrange.structure(bundle)  # an assignment with one knapsack rule per industry (GAP)
        if shape is not None:
            return keep_warm_start(bundle, knapsack_lagrange.solve(bundle, options, shape), options)
    big = bundle.n_pairs >= AUTO_LAGRANGE_PAIRS
    first = keep_warm_start(bundle, lagrange.solve(bundle, options, full_repair=big), options)
    left = options.time_limit_s - (time.perf_counter() - t0)
    done = first.has_plan and gap_closed(first.objective, first.bound, options)
    if first.status in ("infeasible", "unbounded") or done or big:
        return replace(first, solver="auto", solve_s=time.perf_counter() - t0,
                       message=f"lagrange: {first.message}")
    if left <= 0:
        return replace(first, solver="auto", solve_s=time.perf_counter() - t0,
                       phases=(*first.phases, {"phase": "highs", "stopped_by": "time_limit", "seconds": 0.0}),
                       message=f"lagrange: {first.message}; no time left for HiGHS")
    maximize = bundle.milp.sense == "maximize"
    first, nb = _polish_first(bundle, first)
    left = options.time_limit_s - (time.perf_counter() - t0)
    if first.has_plan and gap_closed(first.objective, first.bound, options) or left <= 0:
        return replace(first, solver="auto", solve_s=time.perf_counter() - t0,
                       message=f"lagrange and local search: {first.message}")
    target = gap_target(first.bound, options, maximize)
    work = None if options.work_limit_s is None else AUTO_HIGHS_WORK_SHARE * options.work_limit_s
    if work is not None:
        from optimizer.solvers import highs

        if work < highs.entry_s(bundle.milp):  # the work does not buy HiGHS's presolve and root LP: the plan stands
            return replace(first, solver="auto", solve_s=time.perf_counter() - t0,
                           phases=(*first.phases, {"phase": "highs", "stopped_by": "work_limit", "nodes": 0,
                                                   "seconds": 0.0}),
                           message=f"lagrange: {first.message}; too little work left for HiGHS on the full model")
    try:
        hopts = replace(options, time_limit_s=left, stop_at_objective=target, warm_start=first.x,
                        threads=lagrange.engine_threads(options), work_limit_s=work)
        if nb is not None:  # HiGHS's own plans polished as they come, and handed back to it
            from optimizer.solvers import highs, local_search

            def polish(x):
                r = local_search.improve(bundle, x, neighbourhood=nb, chains=AUTO_LOCAL_SEARCH["chains"],
                                         max_work=AUTO_POLISH_WORK)
                return r.x if r.improved else None

            second = highs.solve(bundle.milp, hopts, polish=polish)
        else:
            second = solve_milp(bundle.milp, "highs", hopts)
    except SolverFailed as exc:  # HiGHS could not run: the engine's plan and bound stand
        return replace(first, solver="auto", solve_s=time.perf_counter() - t0,
                       phases=(*first.phases, {"phase": "highs", "stopped_by": "solver_failed",
                                               "seconds": round(time.perf_counter() - t0, 3)}),
                       message=f"lagrange: {first.message}; HiGHS failed: {exc}")
    phases = (*first.phases, *second.phases)
    plans = [r for r in (first, second) if r.has_plan]
    if not plans:
        return replace(second, solver="auto", solve_s=time.perf_counter() - t0, phases=phases)
    best = max(plans, key=lambda r: r.objective) if maximize else min(plans, key=lambda r: r.objective)
    bounds = [r.bound for r in (first, second) if np.isfinite(r.bound)]
    bound = (min(bounds) if maximize else max(bounds)) if bounds else np.nan
    gap = rel_gap(best.objective, bound)
    status = "optimal" if gap_closed(best.objective, bound, options) else "feasible"
    return SolveResult(status, best.x, best.objective, bound, gap, time.perf_counter() - t0, "auto",
                       message=f"lagrange then highs: {second.message}", phases=phases, dual=first.dual)


def keep_warm_start(bundle, res: SolveResult, options: SolveOptions) -> SolveResult:
    """The engines' answer, or the caller's warm start where that is a plan of the model and a better one (or
    the only one): a warm start is a plan in hand, which no engine's own search may lose (a frontier point whose
    engine found none in its share of the time kept no plan, and HiGHS was then started from nothing)."""
    from dataclasses import replace

    from optimizer.solvers.base import gap_closed, rel_gap

    ws, m = options.warm_start, bundle.milp
    if ws is None or res.status == "unbounded" or m.max_violation(ws) > WARM_START_TOL:
        return res
    value = float(m.c @ ws) * m.obj_scale
    tie = 1e-12 * max(abs(value), 1.0)  # a solver's plan as good as the warm start but for roundoff stays, proven
    if res.has_plan and (res.objective >= value - tie if m.sense == "maximize" else res.objective <= value + tie):
        return res
    bound = res.bound if res.status != "infeasible" else np.nan
    status = "optimal" if gap_closed(value, bound, options) else "feasible"
    return replace(res, status=status, x=np.asarray(ws, float), objective=value, bound=bound,
                   gap=rel_gap(value, bound), message=f"{res.message}; the warm start is the better plan",
                   phases=(*res.phases, {"phase": "warm start", "stopped_by": "kept", "seconds": 0.0}))


def _polish_first(bundle, first: SolveResult):
    """The engine's plan improved by local search where the model is assignment-shaped (parcels whose pairs all
    have a fixed floor) and small enough; returns the result and the search's neighbourhood (None: not used)."""
    import time
    from dataclasses import replace

    from optimizer.solvers import local_search
    from optimizer.solvers.base import rel_gap

    if not first.has_plan or bundle.n_pairs > AUTO_LOCAL_SEARCH_PAIRS or bundle.milp.n_cols >= 100_000:
        return first, None
    t = time.perf_counter()
    nb = local_search.Neighbourhood(bundle)
    if not nb.movable_pair.any():
        return first, None
    r = local_search.iterated(bundle, first.x, neighbourhood=nb, **AUTO_LOCAL_SEARCH)
    phase = {"phase": "local search", "stopped_by": r.stopped_by, "moves": r.moves, "steps": r.steps,
             "seconds": round(time.perf_counter() - t, 3)}
    if not r.improved:
        return replace(first, phases=(*first.phases, phase)), nb
    return replace(first, x=r.x, objective=r.objective, gap=rel_gap(r.objective, first.bound),
                   phases=(*first.phases, phase)), nb


__all__ = ["BACKENDS", "ENGINES", "SolveOptions", "SolveResult", "available_solvers", "solve_bundle", "solve_milp"]
