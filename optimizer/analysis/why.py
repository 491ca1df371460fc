"""Why each parcel: what it got and why, its runner-up and what forcing it would cost, or why it stays empty.

For every parcel: the chosen industry and its output; the runner-up (the best other option at the rules' prices,
"undeveloped" included) and a proven lower bound on what forcing it would cost (from the Lagrangian bound of
analysis.pricing), or the exact figure from a re-solve for the parcels asked about; for an undeveloped parcel the
reason: not eligible (the zone, the size, the sub-area rule, the access minutes against the limit, the pair
table), or eligible but outcompeted (its best value per yuan against the budget's marginal yuan, or the rule whose
price holds it back).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.analysis import CUT_BY_CLOCK, resolve_options, solve_like
from optimizer.analysis.pricing import price_pairs
from optimizer.model.eligibility import ACCESS, PAIR_TABLE, SIZE, SUBAREA, ZONE, must_be_developed, pair_grids
from optimizer.pipeline import RunResult
from optimizer.solvers.base import cut_by_clock

UNDEVELOPED = "(undeveloped)"
COLUMNS = ["parcel_id", "subarea", "zone", "area_m2", "status", "industry_id", "floor_area_m2", "output_yuan",
           "runner_up", "forcing_cost_yuan", "forcing_cost_method", "reason"]


def _bn(v: float) -> str:
    return f"{v / 1e9:,.3f} bn" if abs(v) >= 1e8 else f"{v / 1e6:,.2f} million"


def _cost_words(result: RunResult, v: float) -> str:
    """A forcing cost in the objective's units."""
    if result.scenario.objective.kind == "output_per_land":
        return f"{v:,.2f} yuan per m² of land a year"
    if result.scenario.objective.kind == "weighted":
        return f"{v:,.6g} (weighted objective)"
    if result.scenario.phases:
        from optimizer.data import objective_unit

        return f"{_bn(v)} {objective_unit(result.scenario)}"
    return f"{_bn(v)} yuan a year"


def explain_plan(result: RunResult, resolve_s: float = 30.0, parcels: tuple[str, ...] = (),
                 close_calls: int = 3) -> pd.DataFrame:
    """The explanation table (COLUMNS), one row per parcel in scenario order.

    Forcing costs are proven lower bounds from the LP prices; the `parcels` asked for and the `close_calls`
    closest calls (the developed parcels whose runner-up is nearest at those prices) get the exact figure from a
    re-solve with the runner-up forced (to the run's gap). `resolve_s` is a ceiling only: which parcels are
    re-solved depends on the plan, not on the machine's speed, unless the ceiling is reached.
    """
    deadline = time.perf_counter() + resolve_s
    from optimizer.analysis import linear_view

    sc, x = result.scenario, result.x
    if result.plan is None or result.bundle is None or x is None:
        return pd.DataFrame(columns=COLUMNS)
    bundle, div = linear_view(result)  # costs below are in the linear model's units, divided by div
    pairs, m = bundle.pairs, bundle.milp
    n, n_p = len(pairs), sc.n_parcels
    prices = price_pairs(bundle, sc)
    plan_value = float(m.c @ x) * m.obj_scale
    kid = sc.industries["industry_id"].to_numpy(str)
    par = sc.parcels
    chosen_pair = np.full(n_p, -1)
    ch = np.flatnonzero(x[:n] > 0.5)
    chosen_pair[pairs.parcel[ch]] = ch
    developed = chosen_pair >= 0
    has_pair = np.bincount(pairs.parcel, minlength=n_p) > 0

    table = result.plan.assignment.set_index("parcel_id")
    pid = par["parcel_id"].to_numpy(str)
    out = pd.DataFrame({"parcel_id": pid, "subarea": par["subarea"].to_numpy(str),
                        "zone": par["zone"].to_numpy(str), "area_m2": par["area_m2"].to_numpy(float)})
    out["status"] = np.where(developed, "developed", np.where(has_pair, "eligible, not chosen", "not eligible"))
    out["industry_id"] = table["industry_id"].reindex(pid).fillna("").to_numpy(str)
    out["floor_area_m2"] = table["floor_area_m2"].reindex(pid).fillna(0.0).to_numpy(float)
    out["output_yuan"] = table["output_yuan"].reindex(pid).fillna(0.0).to_numpy(float)

    runner, cost = np.full(n_p, "", dtype=object), np.full(n_p, np.nan)
    if prices is not None:
        v = prices.value
        gap = max(prices.bound - plan_value, 0.0) if m.sense == "maximize" else max(plan_value - prices.bound, 0.0)
        # best option other than the chosen one, per parcel ("none" = 0 unless must-develop)
        masked = v.copy()
        masked[chosen_pair[developed]] = -np.inf
        other = np.full(n_p, -np.inf)
        np.maximum.at(other, pairs.parcel, masked)
        order = np.lexsort((-masked, pairs.parcel))  # per parcel, its pairs from best to worst
        first = np.r_[True, pairs.parcel[order][1:] != pairs.parcel[order][:-1]]
        best_other_pair = np.full(n_p, -1)
        best_other_pair[pairs.parcel[order][first]] = order[first]
        must = must_be_developed(sc)  # must_develop or an existing use: leaving it empty is no option
        none_value = np.where(must, -np.inf, 0.0)
        # developed parcels: the runner-up is the better of the next industry and leaving it empty
        use_none = developed & ~must & (none_value >= other)
        runner = np.where(developed & ~use_none & (best_other_pair >= 0) & np.isfinite(other),
                          kid[pairs.industry[np.maximum(best_other_pair, 0)]], "")
        runner = np.where(use_none, UNDEVELOPED, runner)
        runner_value = np.where(use_none, 0.0, other)
        # undeveloped eligible parcels: the runner-up is their best industry
        und = ~developed & has_pair
        runner = np.where(und, kid[pairs.industry[np.maximum(best_other_pair, 0)]], runner)
        runner_value = np.where(und, other, runner_value)
        cost = np.maximum(prices.best - runner_value - gap, 0.0) / div
        cost = np.where(runner == "", np.nan, cost)
    out["runner_up"] = runner
    out["forcing_cost_yuan"] = cost
    out["forcing_cost_method"] = np.where(np.isfinite(cost), "lower bound (LP prices)", "")
    if prices is not None:
        margin = np.where(runner != "", prices.best - runner_value, np.inf)
        asked = [sc.parcel_index()[p] for p in parcels if p in sc.parcel_index()]
        close = [i for i in np.argsort(margin, kind="stable") if developed[i] and np.isfinite(margin[i])]
        for i in dict.fromkeys([*asked, *close[:close_calls]]):
            if runner[i] == "" or (i not in asked and time.perf_counter() > deadline):
                continue
            exact, gap, cut = force_cost(result, pid[i], str(runner[i]),
                                         time_limit_s=max(deadline - time.perf_counter(), 5.0))
            if np.isnan(exact):
                continue  # no plan in time: keep the bound
            out.loc[i, "forcing_cost_yuan"] = exact
            out.loc[i, "forcing_cost_method"] = (
                "re-solved: no plan meets every rule" if not np.isfinite(exact)
                else f"re-solved (gap {gap if np.isfinite(gap) else 0:.2%}" + (f"; {CUT_BY_CLOCK})" if cut else ")"))
    out["reason"] = _reasons(result, out, prices, chosen_pair)
    return out[COLUMNS]


def _reasons(result: RunResult, out: pd.DataFrame, prices, chosen_pair: np.ndarray) -> list[str]:
    sc, bundle = result.scenario, result.bundle
    pairs = bundle.pairs
    kid = sc.industries["industry_id"].to_numpy(str)
    names = dict(zip(sc.industries["industry_id"], sc.industries["name"], strict=True))
    reasons = [""] * len(out)
    status = out["status"].to_numpy(str)
    # developed: what it earns, and the runner-up
    cols = [out[c].to_numpy() for c in ("industry_id", "floor_area_m2", "area_m2", "output_yuan", "runner_up",
                                        "forcing_cost_yuan")]
    methods = out["forcing_cost_method"].to_numpy()
    lock = sc.parcels["lock"].fillna("").to_numpy(str) if "lock" in sc.parcels else np.full(len(out), "")
    phase = {}  # scenarios with phases: when each developed parcel is built
    if sc.phases and result.plan is not None and "phase" in result.plan.assignment:
        a = result.plan.assignment
        phase = dict(zip(a["parcel_id"], a["phase"], strict=True))
    pid = out["parcel_id"].to_numpy()
    for i in np.flatnonzero(status == "developed"):
        k, floor, area, output, runner, cost = (c[i] for c in cols)
        text = f"{names[k]} at FAR {floor / area:.2f}, {_bn(output)} yuan a year"
        if isinstance(phase.get(pid[i]), str) and phase[pid[i]]:
            text += f" from phase {phase[pid[i]]}"
        if not runner:  # no other option: say why
            text += ("; its use is locked (lock = industry)" if lock[i] == "industry" else
                     "; nothing may change here (lock = out)" if lock[i] == "out" else
                     "; no other use is allowed here and it may not be left empty")
        if runner:
            what = "leaving it undeveloped" if runner == UNDEVELOPED else names.get(runner, runner)
            if not np.isfinite(cost):
                text += f"; next best: {what}, but then no plan could meet every rule"
            elif str(methods[i]).startswith("re-solved"):
                text += f"; next best: {what}, which would cost {_cost_words(result, cost)}"
            else:
                text += f"; next best: {what}, which would cost at least {_cost_words(result, cost)}"
        reasons[i] = text
    # not eligible: the first rule that excludes each industry
    blocked = np.flatnonzero(status == "not eligible")
    if len(blocked):
        why = pair_grids(sc, with_reasons=True)["reason"]
        far = sc.parcels["far_max"].to_numpy(float)
        for i in blocked:
            reasons[i] = _not_eligible(sc, i, why[i], far[i], kid, names)
    # eligible, not chosen: outcompeted at the rules' prices
    idle = np.flatnonzero(status == "eligible, not chosen")
    if len(idle) and prices is not None:
        order = np.lexsort((-prices.value, pairs.parcel))
        first = np.r_[True, pairs.parcel[order][1:] != pairs.parcel[order][:-1]]
        best_pair = np.full(sc.n_parcels, -1)
        best_pair[pairs.parcel[order][first]] = order[first]
        e_idle = best_pair[idle]
        charges = _top_charges(bundle, prices.y, e_idle)
        for i, e, top in zip(idle, e_idle, charges, strict=True):
            k = kid[pairs.industry[e]]
            value = pairs.value_per_m2[e] * pairs.hi_m2[e]
            text = f"eligible; its best use, {names[k]} at its FAR cap, would earn {_bn(value)} yuan a year"
            if top:
                held = "; ".join(f"{label} ({_bn(c)})" for label, c in top)
                text += f", but it would take room worth more elsewhere under {held}"
                spend = pairs.cost_per_m2[e] * pairs.hi_m2[e] + pairs.cost_fixed_yuan[e]
                if top[0][0].startswith("total development budget") and spend > 0 and value / spend < top[0][1] / spend:
                    text += (f": it earns {value / spend:.2f} yuan a year per yuan of development cost where the "
                             f"budget's last yuan earns {top[0][1] / spend:.2f}")
            else:
                text += ", but other parcels use the rules' room better"
            reasons[i] = text
    return reasons


def _top_charges(bundle, y: np.ndarray, e: np.ndarray, top: int = 2) -> list[list[tuple[str, float]]]:
    """For each pair in `e` (at its FAR cap): the coupling rules that charge it most at the prices y, as
    (label, charge in objective units) — the value its room would have elsewhere."""
    m = bundle.milp
    n = bundle.n_pairs
    if len(e) == 0:
        return []
    hi_u = bundle.pairs.hi_m2[e] / bundle.floor_unit_m2
    A = m.A.tocsc()
    use = A[:, e] + A[:, n + e] @ sp.diags(hi_u)  # each row's use by the pair at its cap
    C = (sp.diags(y) @ use).tocsc() * m.obj_scale
    out = []
    for j in range(C.shape[1]):
        rows = C.indices[C.indptr[j]:C.indptr[j + 1]]
        vals = C.data[C.indptr[j]:C.indptr[j + 1]]
        keep = vals > 1e-9 * m.obj_scale
        rows, vals = rows[keep], vals[keep]
        pick = np.argsort(-vals)[:top]
        out.append([(m.block_of(int(rows[t])).label(int(rows[t]) - m.block_of(int(rows[t])).start), float(vals[t]))
                    for t in pick])
    return out


def _not_eligible(sc, i: int, codes: np.ndarray, far: float, kid, names) -> str:
    zone = sc.parcels["zone"].iloc[i]
    if (codes == ZONE).all():
        return f"not eligible: zone {zone} admits none of the {len(kid)} industries"
    parts = []
    for k in np.flatnonzero(codes != ZONE):
        c, name = int(codes[k]), names[kid[k]]
        if c == SIZE:
            parts.append(f"{name} needs more floor than the parcel's FAR cap {far:g} allows")
        elif c == SUBAREA:
            parts.append(f"{name} is not admitted in sub-area {sc.parcels['subarea'].iloc[i]}")
        elif c == PAIR_TABLE:
            parts.append(f"{name} is excluded by the pair table")
        elif c >= ACCESS:
            rule = sc.rules.access_rules[c - ACCESS]
            minutes = float(sc.access[rule.node_type].iloc[i])
            parts.append(f"{name} cannot reach any {rule.node_type}" if not np.isfinite(minutes) else
                         f"{name} is {minutes:.1f} min from the nearest {rule.node_type} "
                         f"(limit {rule.max_minutes:g} min)")
    return f"not eligible: in zone {zone}, " + "; ".join(parts)


def force_cost(result: RunResult, parcel_id: str, option: str,
               time_limit_s: float = 60.0) -> tuple[float, float, bool]:
    """Re-solve with the parcel forced onto `option` (an industry id, or UNDEVELOPED): (cost in objective units
    relative to the plan, the re-solve's gap, whether its time limit cut it: `cut_by_clock`). Raises ValueError
    if the option is not eligible there."""
    sc, bundle = result.scenario, result.bundle
    pairs, m = bundle.pairs, bundle.milp
    n = len(pairs)
    p = sc.parcel_index()[parcel_id]
    own = np.flatnonzero(pairs.parcel == p)
    lo, hi = m.col_lower.copy(), m.col_upper.copy()
    if option == UNDEVELOPED:
        hi[own] = 0.0
        hi[n + own] = 0.0
    else:
        k = sc.industry_index().get(option)
        e = own[pairs.industry[own] == k] if k is not None else own[:0]
        if len(e) == 0:
            raise ValueError(f"{option} is not eligible on parcel {parcel_id}")
        lo[e] = 1.0
    forced = replace(bundle, milp=replace(m, col_lower=lo, col_upper=hi))
    # the same rules, one parcel's columns bounded: the run's multipliers start the engine's dual
    res = solve_like(result, forced, resolve_options(result, time_limit_s, warm_start=None, dual_start=result.dual))
    if res.status == "infeasible":
        return np.inf, np.nan, False
    if not res.has_plan:  # no plan within the time limit: unknown
        return np.nan, np.nan, True
    sense = 1.0 if m.sense == "maximize" else -1.0
    # forcing only restricts the plan: a cost below zero means the re-solve beat the plan within the gaps
    return max(sense * (result.plan.objective - res.objective), 0.0), res.gap, cut_by_clock(res.status, res.phases)
