"""The trade-off frontier by the ε-constraint method: the best y (e.g. output) for each level of x (e.g. the
developed land), every point a solved and checked plan.

x is a "using" KPI capped at ε (developed_land, budget, floor) or a "giving" KPI held at least ε (jobs, or a
metric such as innovation teams). The ε levels run evenly between the two ends of what x can be: for a using KPI
from the least any plan meeting the rules needs to what the best plan for y uses; for a giving KPI from what the
best plan for y gives to the most any plan can give. The points are solved from the tight end to the loose one,
each warm-started from its tighter neighbour, whose plan stays feasible at the looser level: y never falls below
the neighbour's, so the curve is monotone within the solver's gaps (the table says where it is not).

Repeatable: each solve's work (the engine's evaluation budgets, HiGHS's cut rounds and nodes) is a fixed part of
the frontier's time at nominal speeds (SolveOptions.work_limit_s: WORK_SHARE of an equal share), so the curve is
the same on a busy or an idle machine. The clock only sets each solve's ceiling, twice its equal share of the
time left, which a machine over twice as slow as nominal reaches: that point's `stopped_by` then says
"time_limit".
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.data import Objective
from optimizer.model.build import _metric_rates, _pow10, with_rows
from optimizer.pipeline import RunResult, finish
from optimizer.solvers import SolveOptions, keep_warm_start, solve_bundle
from optimizer.solvers.base import cut_by_clock

WORK_SHARE = 0.5  # each solve's work: this share of an equal part of the frontier's time, at nominal speeds
CEILING_SHARES = 2.0  # each solve's ceiling: this many equal shares of the time left (a slow machine's margin)
USING = {"developed_land": "m²", "budget": "yuan", "floor": "m²"}  # capped: x ≤ ε
# held: x ≥ ε — jobs, output and any metric


def kpi_coefficients(sc, bundle, name: str) -> np.ndarray:
    """The KPI as a linear function of the model's columns, in natural units (compute_kpis's definitions)."""
    pairs, m = bundle.pairs, bundle.milp
    n, fu = len(pairs), bundle.floor_unit_m2
    c = np.zeros(m.n_cols)
    if name == "developed_land":
        c[:n] = sc.parcels["area_m2"].to_numpy(float)[pairs.parcel]
    elif name == "budget":
        c[:n] = pairs.cost_fixed_yuan
        c[n:2 * n] = pairs.cost_per_m2 * fu
    elif name == "floor":
        c[n:2 * n] = fu
    elif name == "output":
        c[n:2 * n] = pairs.value_per_m2 * fu
    elif name == "jobs":
        c[n:2 * n] = sc.industries["jobs_per_m2"].to_numpy(float)[pairs.industry] * fu
    elif f"{name}_per_m2" in sc.industries.columns:
        c[n:2 * n] = _metric_rates(sc, name, ())[pairs.industry] * fu
    else:
        raise ValueError(f"unknown KPI {name!r} (choose developed_land, budget, floor, output, jobs or a metric: "
                         f"{', '.join(sc.metrics)})")
    return c


def kpi_value(result: RunResult, name: str) -> float:
    k = result.kpis
    return {"developed_land": k["land_developed_m2"], "budget": k["budget_used_yuan"], "floor": k["floor_area_m2"],
            "output": k["total_output_yuan"], "jobs": k["jobs"]}.get(name, k["metrics"].get(name, np.nan))


def _with_objective(sc, bundle, coef: np.ndarray, sense: str = "maximize"):
    scale = _pow10(coef[coef != 0]) if np.any(coef) else 1.0
    return replace(bundle, milp=replace(bundle.milp, c=coef / scale, obj_scale=scale, sense=sense))


def frontier(result: RunResult, x: str = "developed_land", y: str = "output", points: int = 10,
             time_limit_s: float | None = None) -> tuple[pd.DataFrame, list[RunResult | None]]:
    """The ε-constraint frontier of a solved run: (table, the plan of each point or None).

    `time_limit_s` (default: the run's own limit) is for the whole frontier: its two ends and its points share it,
    each solve doing a fixed amount of work (the module docstring), with the time left as its ceiling.

    Table columns: point, epsilon, x, y, status, gap, y_bound, check, parcels_developed, seconds, stopped_by
    ("optimal", "work_limit", or "time_limit": a step of the solve was cut by its time ceiling, so the
    point's plan depends on the machine's speed and load); flags "knee",
    "best_y_per_x" and "monotone" (within the points' gaps); attrs "current" (the run's own plan's x and y) and
    "far_end" (x in the plan found for the tight end, and the proven bound on x there: no plan needs less, or
    gives more, when the end was not solved to optimality).
    """
    sc, bundle = result.scenario, result.bundle
    if result.plan is None or bundle is None:
        raise ValueError("the run has no plan")
    if y in USING or y == x:
        raise ValueError(f"y must be a KPI to maximise (output, jobs, floor or a metric), not {y!r}")
    using = x in USING
    opts = result.options or SolveOptions()
    budget = opts.time_limit_s if time_limit_s is None else time_limit_s
    deadline = time.perf_counter() + budget
    solves_left = points + 2  # the two ends, then the points
    work = WORK_SHARE * budget / solves_left  # the same for every solve, whatever the clock says

    def share() -> float:  # the ceiling: a solve that ends early leaves its time to the rest
        nonlocal solves_left
        left = max(deadline - time.perf_counter(), 0.0)
        ceiling = min(left, CEILING_SHARES * left / max(solves_left, 1))
        solves_left -= 1
        return ceiling

    cx, cy = kpi_coefficients(sc, bundle, x), kpi_coefficients(sc, bundle, y)
    sc_y = replace(sc, objective=Objective(kind="weighted", weights={y: 1.0}))  # the checker scores y
    ymodel = _with_objective(sc, bundle, cy)
    solve_opts = replace(opts, progress=None, log=False, warm_start=None, work_limit_s=work)

    # the far end of x: its least (using) or most (giving) value over plans that meet the rules
    far = solve_bundle(_with_objective(sc, bundle, cx, "minimize" if using else "maximize"), result.solver,
                       replace(solve_opts, time_limit_s=share()))
    start = solve_bundle(ymodel, result.solver, replace(solve_opts, time_limit_s=share(), warm_start=result.x))
    if not (far.has_plan and start.has_plan):
        raise ValueError("the frontier's end points could not be solved within the time limit")
    near_x = float(cx @ start.x)  # where x stands in the best plan for y: the loose end
    # the tight end: the far plan, or a plan for y that went further than it (the far solve stopped short)
    sign = 1.0 if using else -1.0
    far_plan = min((far.x, start.x, result.x), key=lambda v: sign * float(cx @ v))
    far_x = float(cx @ far_plan)
    if sign * (near_x - far_x) <= 1e-9 * max(abs(near_x), 1.0):
        raise ValueError(f"no plan found with {'less' if using else 'more'} {x} than the best plan for {y}: "
                         "either the rules leave no room to trade, or the time limit was too short to find one")
    far_x += sign * 1e-9 * max(abs(far_x), 1.0)  # the far plan itself stays feasible
    # from the tight end to the loose one: each plan is feasible at the next, looser level (a warm start)
    eps = np.linspace(far_x, near_x, points)
    rows, plans, prev = [], [], far_plan
    for i, e in enumerate(eps):
        lo, hi = (-np.inf, e) if using else (e, np.inf)
        label = f"frontier: {x} {'≤' if using else '≥'} {e:,.6g}"
        model = with_rows(ymodel, "frontier", sp.csr_matrix(cx.reshape(1, -1)), [lo], [hi], [label])
        if i == len(eps) - 1 and float(cy @ start.x) > float(cy @ prev):
            prev = start.x  # the loose end's level is the best plan for y's own x: that plan is a plan here
        point_opts = replace(solve_opts, time_limit_s=share(), warm_start=prev)
        # the solver's plan, or the one it started from where that is better or it found none (HiGHS and CBC may
        # end without it): no point is lost and none falls below its neighbour
        res = keep_warm_start(model, solve_bundle(model, result.solver, point_opts), point_opts)
        run = finish(sc_y, model, res, {"solve_s": res.solve_s}, opts) if res.has_plan else None
        if run is not None:
            prev = res.x
        rows.append({"point": i, "epsilon": e, "x": kpi_value(run, x) if run else np.nan,
                     "y": kpi_value(run, y) if run else np.nan, "status": res.status,
                     "gap": run.plan.gap if run else np.nan, "y_bound": run.plan.bound if run else np.nan,
                     "check": "passed" if run else "", "parcels_developed": run.kpis["parcels_developed"] if run
                     else np.nan, "seconds": round(res.solve_s, 2), "stopped_by": stopped_by(res)})
        plans.append(run)
    table = pd.DataFrame(rows)
    table = _mark(table, result, x, y, using)
    # the tight end as solved: x in the far plan, and the solver's bound on how far x can go at all
    table.attrs["far_end"] = (float(cx @ far_plan), float(far.bound) if np.isfinite(far.bound) else np.nan)
    return table, plans


def stopped_by(res) -> str:
    """How a point's solve ended: "optimal" (within its gap), "time_limit" when any of its steps was cut by the
    clock (its plan then depends on the machine's speed and load), else "work_limit" (node, evaluation and move
    limits: the same plan on a busy or an idle machine)."""
    if res.status == "optimal":
        return "optimal"
    return "time_limit" if cut_by_clock(res.status, res.phases) else "work_limit"


def _mark(t: pd.DataFrame, result: RunResult, x: str, y: str, using: bool) -> pd.DataFrame:
    """Flags: the knee (farthest from the chord of the curve, scaled), the best y per x, monotone within gaps."""
    t = t.sort_values("epsilon").reset_index(drop=True)  # x from low to high
    ok = t["y"].notna()
    t["knee"] = False
    t["best_y_per_x"] = False
    if ok.sum() >= 3:
        xs, ys = t.loc[ok, "x"].to_numpy(float), t.loc[ok, "y"].to_numpy(float)
        dx, dy = (xs - xs[0]) / max(np.ptp(xs), 1e-12), (ys - ys[0]) / max(np.ptp(ys), 1e-12)
        ex, ey = dx[-1], dy[-1]
        dist = np.abs(ey * dx - ex * dy) / max(np.hypot(ex, ey), 1e-12)
        t.loc[t.index[ok][int(np.argmax(dist))], "knee"] = True
    if ok.any() and (t.loc[ok, "x"] > 0).all():
        t.loc[(t["y"] / t["x"]).idxmax(), "best_y_per_x"] = True
    # monotone: with x increasing, a using KPI's best y never falls, a giving KPI's never rises (within gaps)
    t["monotone"] = True
    s = t[ok]
    if len(s) >= 2:
        ys, bounds = s["y"].to_numpy(float), s["y_bound"].to_numpy(float)
        tol = np.nan_to_num(bounds - ys, nan=0.0) + 1e-9 * np.abs(ys).max()
        steps = np.diff(ys) if using else -np.diff(ys)
        t.loc[s.index, "monotone"] = np.r_[True, steps >= -np.maximum(tol[1:], tol[:-1])]
    t.attrs["current"] = (kpi_value(result, x), kpi_value(result, y))
    t.attrs["axes"] = (x, y)
    return t
