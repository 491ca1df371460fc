"""Output per unit of land, exactly: Dinkelbach's parametric method on the one canonical model.

maximise N(z) / D(z) over the plans z, with N the output (the MILP's own objective) and D the developed land
(the bundle's `denominator`). For a ratio λ, P(λ) = max N(z) − λ·D(z) is an ordinary MILP on the same rows with
another objective, solved by whichever backend the run uses, warm-started from the best plan so far:

* a plan of P(λ) with a positive value has a ratio above λ: it becomes the new best and λ its ratio (Dinkelbach's
  step, superlinear when P(λ) is solved to optimality);
* when no plan beats λ, the bound U of P(λ) proves the ratio: every plan z with ratio r has
  (r − λ)·D(z) ≤ U, so r ≤ λ + U / D_min, where D_min is the least land any plan meeting the rules develops (the
  LP relaxation's minimum, or the smallest eligible parcel when no rule forces land). With U ≤ 0, λ is optimal.

P(λ)'s optimum tends to zero as λ approaches the best ratio, so its gap is set in absolute terms (mip_abs_gap):
small enough that U / D_min stays within the ratio gap asked for.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from optimizer.errors import SolverFailed
from optimizer.solvers.base import SolveOptions, SolveResult, rel_gap

MAX_ROUNDS = 60
ROUND_REL_GAP = 0.01  # relative gap of P(λ) while it is far from 0 (a step, not a proof)


def least_land(bundle) -> float:
    """A lower bound on the developed land of any non-empty plan meeting the rules."""
    from optimizer.solvers import solve_milp

    m, d = bundle.milp, bundle.denominator
    n = bundle.n_pairs
    smallest = float(d[:n][d[:n] > 0].min()) if np.any(d[:n] > 0) else 0.0
    lp = replace(m, c=-d / max(smallest, 1.0), obj_scale=1.0, sense="maximize",
                 integrality=np.zeros(m.n_cols, bool))
    res = solve_milp(lp, "highs", SolveOptions(time_limit_s=30.0, mip_gap=0.0))
    lp_least = float(d @ res.x) if res.has_plan and res.status == "optimal" else 0.0
    return max(lp_least, smallest)


def solve(bundle, backend, opts: SolveOptions) -> SolveResult:
    """Maximise output / developed land. `backend(bundle, opts)` solves one linear MILP (highs, cbc, lagrange or
    auto). The result's objective is the ratio (yuan per m² a year), its bound the proven upper bound on it."""
    t0 = time.perf_counter()
    deadline = t0 + opts.time_limit_s
    m, d = bundle.milp, bundle.denominator
    scale = m.obj_scale

    def ratio(x: np.ndarray) -> float:
        land = float(d @ x)
        return float(m.c @ x) * scale / land if land > 0 else 0.0

    first = backend(bundle, replace(opts, time_limit_s=max(deadline - time.perf_counter(), 0.0)))
    phases = [{"phase": "ratio: the most output", "stopped_by": first.status, "seconds": round(first.solve_s, 3)}]
    if not first.has_plan:
        return replace(first, phases=tuple(phases), message=f"no plan to start the ratio from: {first.message}")
    d_min = least_land(bundle)
    x_best, lam = first.x, ratio(first.x)
    bound, rounds = np.inf, 0
    while rounds < MAX_ROUNDS:
        left = deadline - time.perf_counter()
        if left <= 0:
            phases.append({"phase": f"ratio round {rounds + 1}", "stopped_by": "time_limit", "seconds": 0.0})
            break
        rounds += 1
        # P(λ): the output minus λ per m² of land, to an absolute gap that keeps the ratio bound within target
        # far from the best ratio P(λ) is large and a loose relative gap finds a better plan fast; near it P(λ)
        # tends to 0 and the absolute gap decides
        try:
            res = backend(replace(bundle, milp=replace(m, c=m.c - lam * d / scale)),
                          replace(opts, time_limit_s=left, warm_start=x_best, mip_gap=ROUND_REL_GAP,
                                  mip_abs_gap=0.5 * opts.mip_gap * lam * d_min, progress=None))
        except SolverFailed as exc:  # e.g. HiGHS stuck past its limit: keep the best plan and bound so far
            phases.append({"phase": f"ratio round {rounds}", "stopped_by": "solver_failed", "message": str(exc)})
            break
        phases.append({"phase": f"ratio round {rounds}", "stopped_by": res.status, "ratio": lam,
                       "seconds": round(res.solve_s, 3)})
        if np.isfinite(res.bound) and d_min > 0:  # every plan: (r − λ)·D ≤ U, so r ≤ λ + U / D_min
            bound = min(bound, lam + max(res.bound, 0.0) / d_min)
        if res.has_plan and float(d @ res.x) > 0 and ratio(res.x) > lam * (1 + 1e-12):
            x_best, lam = res.x, ratio(res.x)  # Dinkelbach's step
            continue
        break
    bound = bound if np.isfinite(bound) else np.nan
    status = "optimal" if np.isfinite(bound) and rel_gap(lam, bound) <= opts.mip_gap else "feasible"
    gap = rel_gap(lam, bound)
    info = (f"output per m² of land by Dinkelbach's method: {rounds} rounds, least land of a plan "
            f"{d_min:,.0f} m²")
    return SolveResult(status, x_best, lam, bound, gap, time.perf_counter() - t0, first.solver, message=info,
                       phases=(*first.phases, *phases))
