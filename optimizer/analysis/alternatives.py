"""Alternative plans: up to K plans, each within a stated share of the best objective and differing from the best
and from every earlier alternative in at least N parcels.

A parcel differs between two plans when its industry differs (developed vs empty included). Against a plan q that
count is linear in the choices x: Σ over parcels q develops of (1 − x of q's pair) + Σ over parcels q leaves empty
of Σ x of their pairs; one row "≥ N" per earlier plan (a Hamming-distance row), plus one row keeping the objective
within the share of the best. Each alternative is the best plan under those rows, solved by the run's own solver
and checked by the independent checker like any plan.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.analysis import resolve_options, solve_like
from optimizer.model.build import with_rows
from optimizer.pipeline import RunResult, finish
from optimizer.solvers import SolveOptions


def parcels_differing(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """How many parcels two assignment tables give different industries (a parcel in only one counts)."""
    ia = a.set_index("parcel_id")["industry_id"]
    ib = b.set_index("parcel_id")["industry_id"]
    both = ia.index.union(ib.index)
    return int((ia.reindex(both).fillna("") != ib.reindex(both).fillna("")).sum())


def _distance_row(bundle, x: np.ndarray) -> tuple[sp.csr_matrix, float]:
    """(coefficients over the columns, constant) so that distance to plan x = row · z + constant."""
    pairs = bundle.pairs
    n = len(pairs)
    chosen = x[:n] > 0.5
    developed = np.zeros(pairs.n_parcels, bool)
    developed[pairs.parcel[chosen]] = True
    coef = np.where(chosen, -1.0, np.where(developed[pairs.parcel], 0.0, 1.0))
    nz = np.flatnonzero(coef)
    row = sp.csr_matrix((coef[nz], (np.zeros(len(nz), int), nz)), shape=(1, bundle.milp.n_cols))
    return row, float(chosen.sum())


def alternative_plans(result: RunResult, k: int, min_diff: int, within: float,
                      time_limit_s: float | None = None) -> list[RunResult]:
    """Up to `k` checked plans, each with an objective within `within` (a fraction, 0.01 = 1 %) of the best and
    at least `min_diff` parcels different from the best and from each other. Fewer when no more exist (or the
    time runs out); each result's `analysis["differs_from"]` lists its parcel differences to the earlier plans."""
    if result.plan is None or result.bundle is None or k <= 0:
        return []
    bundle, m = result.bundle, result.bundle.milp
    opts = result.options or SolveOptions()
    limit = opts.time_limit_s if time_limit_s is None else time_limit_s
    maximize = m.sense == "maximize"
    best = result.plan.objective
    target = best - abs(best) * within if maximize else best + abs(best) * within
    if bundle.denominator is not None and result.scenario.objective.kind == "output_per_land":
        # output / land ≥ target  ⇔  output − target × land ≥ 0 (land > 0): still one linear row
        obj_row = sp.csr_matrix((m.c * m.obj_scale - target * bundle.denominator).reshape(1, -1))
        lo, hi = 0.0, np.inf
    else:
        obj_row = sp.csr_matrix(m.c.reshape(1, -1))
        lo, hi = (target / m.obj_scale, np.inf) if maximize else (-np.inf, target / m.obj_scale)
    current = with_rows(bundle, "alternative_objective", obj_row, [lo], [hi],
                        [f"objective within {within:.2%} of the best ({best:,.6g})"])
    plans = [result]
    out: list[RunResult] = []
    deadline = time.perf_counter() + limit
    for j in range(k):
        left = deadline - time.perf_counter()
        if left <= 0.5:
            break
        row, const = _distance_row(bundle, plans[-1].x)
        current = with_rows(current, "alternative_distance", row, [min_diff - const], [np.inf],
                            [f"at least {min_diff} parcels differ from plan {len(plans) - 1}"])
        res = solve_like(result, current, resolve_options(result, left, warm_start=None))
        if not res.has_plan:
            break
        alt = finish(result.scenario, current, res, {"solve_s": res.solve_s}, opts)
        diffs = [parcels_differing(p.plan.assignment, alt.plan.assignment) for p in plans]
        alt = replace(alt, analysis={"differs_from": diffs, "rank": j + 1})
        plans.append(alt)
        out.append(alt)
    return out


def alternatives_table(result: RunResult, alts: list[RunResult]) -> pd.DataFrame:
    """One row per plan (the best first): objective, its distance to the best, the key figures and sites per
    industry."""
    rows = []
    for i, r in enumerate([result, *alts]):
        k = r.kpis
        row = {"plan": "best" if i == 0 else f"alt_{i}", "status": r.status, "objective": r.plan.objective,
               "objective_vs_best": r.plan.objective / result.plan.objective - 1 if result.plan.objective else 0.0,
               "gap": r.plan.gap,
               "parcels_differing_from_best": 0 if i == 0 else r.analysis["differs_from"][0],
               "least_difference_to_earlier": 0 if i == 0 else min(r.analysis["differs_from"]),
               "total_output_yuan": k["total_output_yuan"], "jobs": k["jobs"],
               "land_developed_m2": k["land_developed_m2"], "parcels_developed": k["parcels_developed"],
               "budget_used_yuan": k["budget_used_yuan"]}
        for b in k["by_industry"]:
            row[f"sites_{b['industry_id']}"] = int(b["sites"])
        rows.append(row)
    return pd.DataFrame(rows)
