"""Prices of the coupling rules and what each (parcel, industry) choice is worth at those prices.

With multipliers y on the coupling rows (every row but a parcel's own: one use, least and most floor), the plan
problem splits into one small choice per parcel: its priced value is v_e = max over its floor range of the
objective minus the rows' prices. Summing each parcel's best choice (or none) and the prices times the active
bounds gives the Lagrangian bound L(y), valid for any sign-feasible y: no plan beats it. Forcing parcel p onto
option o can then give at most L(y) − (best_p − v_o), which bounds what forcing costs from below. With the LP
relaxation's duals, L(y) is the LP bound (each parcel's local polytope is integral), which is tight on this model
family, so the bounds are close to the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

LOCAL_FAMILIES = ("one_use", "floor_min", "floor_max")


def lp_solution(milp, time_limit_s: float = 60.0):
    """Solve a (continuous) MILP as an LP with HiGHS: (x, row duals, objective in model units) or None.

    Row duals are d objective / d active bound, in model units (HiGHS's convention, for either sense).
    """
    import highspy

    from optimizer.solvers.highs import new_highs, to_highs_lp

    lp = replace(milp, integrality=np.zeros(milp.n_cols, bool))
    h = new_highs(False)
    h.passModel(to_highs_lp(lp))
    h.setOptionValue("time_limit", float(time_limit_s))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    return (np.asarray(sol.col_value, float), np.asarray(sol.row_dual, float),
            float(h.getInfo().objective_function_value))


@dataclass(frozen=True)
class Prices:
    """Priced values of every pair (objective units, e.g. yuan) and the Lagrangian bound they prove."""

    value: np.ndarray  # per pair: priced value of choosing it (best floor in its range)
    best: np.ndarray  # per parcel position: the best priced option, "none" (0) included unless must-develop
    bound: float  # L(y), in objective units
    lp_objective: float  # the LP relaxation's objective, in objective units
    y: np.ndarray  # the prices per row, in maximisation form and model units (0 on a parcel's own rows)


def coupling_rows(milp) -> np.ndarray:
    local = np.zeros(milp.n_rows, bool)
    for b in milp.blocks:
        if b.family in LOCAL_FAMILIES:
            local[b.start:b.start + b.size] = True
    return ~local


def price_pairs(bundle, sc) -> Prices | None:
    """Prices from the LP relaxation's duals; None if the LP cannot be solved."""
    m, pairs = bundle.milp, bundle.pairs
    got = lp_solution(m)
    if got is None:
        return None
    _, y, lp_obj = got
    s = 1.0 if m.sense == "maximize" else -1.0  # work in maximisation form
    y = s * y * coupling_rows(m)
    # a price only on a side that has a bound (tiny duals on unbounded sides are numerical noise)
    y = np.where((y > 0) & ~np.isfinite(m.row_upper), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(m.row_lower), 0.0, y)
    c = s * m.c - m.A.T @ y
    n = len(pairs)
    lo_u, hi_u = pairs.lo_m2 / bundle.floor_unit_m2, pairs.hi_m2 / bundle.floor_unit_m2
    v = c[:n] + np.maximum(c[n:2 * n] * lo_u, c[n:2 * n] * hi_u)
    aux = c[2 * n:]
    aux_gain = float(np.maximum(aux * m.col_lower[2 * n:], aux * m.col_upper[2 * n:]).sum())
    constant = float(np.where(y > 0, y * np.where(np.isfinite(m.row_upper), m.row_upper, 0.0),
                              y * np.where(np.isfinite(m.row_lower), m.row_lower, 0.0)).sum())
    must = sc.parcels["must_develop"].to_numpy(bool)
    best = np.where(must, -np.inf, 0.0)
    np.maximum.at(best, pairs.parcel, v)
    best = np.where(np.isfinite(best), best, 0.0)  # a must-develop parcel with no pair is caught before solving
    bound = float(best.sum()) + aux_gain + constant
    scale = m.obj_scale
    return Prices(v * scale, best * scale, s * bound * scale, lp_obj * scale, y)
