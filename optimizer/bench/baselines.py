"""Baselines that the harness runs beside the real pipeline.

* `pulp_model`: the same MILP written idiomatically in PuLP (one LpVariable per pair, `lpSum` rows per rule
  family), from the Scenario and its eligible PairSet: the yardstick for our vectorised builder's speed, and
  optionally solved by PuLP's CBC.
* `greedy_plan`: a constructive heuristic (parcels by output density, demand caps and budgets respected as it
  goes), checked by the independent checker like any plan.
* `lp_bound`: the LP relaxation of the canonical MILP (integrality dropped), solved by HiGHS: a valid bound.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.model.build import ModelBundle
from optimizer.model.eligibility import PairSet

INF = np.inf


# --- (a) the idiomatic PuLP model ---------------------------------------------------------------------------
@dataclass
class PulpModel:
    """A PuLP problem with its variables (x[e] binary and f[e] floor m², e = pair position) and build time."""

    problem: object
    x: list
    f: list
    build_s: float
    n_constraints: int


def pulp_model(sc: Scenario, pairs: PairSet) -> PulpModel:
    """Build the scenario's MILP the way a PuLP user would: one variable per pair, one `lpSum` per rule row.

    Units are the scenario's own (m² of floor, yuan). Rule families: one use per parcel, floor link (density
    range), demand bounds, shares of total floor, numbers of sites, budgets (total and per industry),
    sub-area mix and metric totals — the same rules `build_model` writes.
    """
    import pulp

    t0 = time.perf_counter()
    par, ind = sc.parcels, sc.industries
    sense = pulp.LpMaximize if sc.objective.sense == "maximize" else pulp.LpMinimize
    prob = pulp.LpProblem("landuse", sense)
    n = len(pairs)
    pp, kk = pairs.parcel.tolist(), pairs.industry.tolist()
    lo, hi = pairs.lo_m2.tolist(), pairs.hi_m2.tolist()
    x = [pulp.LpVariable(f"x_{e}", cat=pulp.LpBinary) for e in range(n)]
    f = [pulp.LpVariable(f"f_{e}", lowBound=0, upBound=hi[e]) for e in range(n)]

    w = sc.objective.cost_weight
    val = pairs.value_per_m2.tolist()
    cpm = pairs.cost_per_m2.tolist()
    fixed = pairs.cost_fixed_yuan.tolist()
    prob += pulp.lpSum((val[e] - w * cpm[e]) * f[e] - w * fixed[e] * x[e] for e in range(n))

    by_parcel: dict[int, list[int]] = defaultdict(list)
    by_industry: dict[int, list[int]] = defaultdict(list)
    for e in range(n):
        by_parcel[pp[e]].append(e)
        by_industry[kk[e]].append(e)

    # one use per parcel
    must = par["must_develop"].tolist()
    for p, es in by_parcel.items():
        row = pulp.lpSum(x[e] for e in es)
        prob += (row == 1) if must[p] else (row <= 1), f"one_use_{p}"
    # floor link: lo·x ≤ f ≤ hi·x
    for e in range(n):
        prob += f[e] <= hi[e] * x[e], f"floor_max_{e}"
        if lo[e] > 0:
            prob += f[e] >= lo[e] * x[e], f"floor_min_{e}"
    # demand bounds
    for k in range(len(ind)):
        lo_k, hi_k = ind["min_floor_total_m2"].iloc[k], ind["max_floor_total_m2"].iloc[k]
        total_k = pulp.lpSum(f[e] for e in by_industry.get(k, []))
        if np.isfinite(lo_k):
            prob += total_k >= lo_k, f"demand_min_{k}"
        if np.isfinite(hi_k):
            prob += total_k <= hi_k, f"demand_max_{k}"
    # shares of total floor
    s_min, s_max = ind["min_share"].to_numpy(float), ind["max_share"].to_numpy(float)
    if np.isfinite(s_min).any() or np.isfinite(s_max).any():
        total = pulp.lpSum(f)
        for k in range(len(ind)):
            total_k = pulp.lpSum(f[e] for e in by_industry.get(k, []))
            if np.isfinite(s_min[k]):
                prob += total_k >= s_min[k] * total, f"share_min_{k}"
            if np.isfinite(s_max[k]):
                prob += total_k <= s_max[k] * total, f"share_max_{k}"
    # numbers of sites
    for k in range(len(ind)):
        lo_k, hi_k = ind["min_sites"].iloc[k], ind["max_sites"].iloc[k]
        sites = pulp.lpSum(x[e] for e in by_industry.get(k, []))
        if np.isfinite(lo_k):
            prob += sites >= lo_k, f"sites_min_{k}"
        if np.isfinite(hi_k):
            prob += sites <= hi_k, f"sites_max_{k}"
    # budgets
    B = sc.rules.total_budget_yuan
    if np.isfinite(B):
        prob += pulp.lpSum(cpm[e] * f[e] + fixed[e] * x[e] for e in range(n)) <= B, "budget_total"
    kidx = sc.industry_index()
    for name, cap in sc.rules.industry_budget_yuan.items():
        prob += pulp.lpSum(fixed[e] * x[e] for e in by_industry.get(kidx[name], [])) <= cap, f"budget_{name}"
    # sub-area mix
    sub = par["subarea"].tolist()
    for i, rule in enumerate(sc.rules.subarea_mix):
        k = kidx[rule.industry]
        in_sub = [e for e in range(n) if sub[pp[e]] == rule.subarea]
        own = pulp.lpSum(f[e] for e in in_sub if kk[e] == k)
        tot = pulp.lpSum(f[e] for e in in_sub)
        if np.isfinite(rule.min_share):
            prob += own >= rule.min_share * tot, f"subarea_mix_min_{i}"
        if np.isfinite(rule.max_share):
            prob += own <= rule.max_share * tot, f"subarea_mix_max_{i}"
    # metric totals
    for i, rule in enumerate(sc.rules.metric_rules):
        rate = ind[f"{rule.metric}_per_m2"].to_numpy(float) * ind["usable_share"].to_numpy(float)
        if rule.industries:
            rate = np.where(ind["industry_id"].isin(rule.industries).to_numpy(), rate, 0.0)
        expr = pulp.lpSum(rate[kk[e]] * f[e] for e in range(n) if rate[kk[e]] != 0)
        if np.isfinite(rule.min):
            prob += expr >= rule.min, f"metric_min_{i}"
        if np.isfinite(rule.max):
            prob += expr <= rule.max, f"metric_max_{i}"
    return PulpModel(prob, x, f, time.perf_counter() - t0, len(prob.constraints))


def solve_pulp(model: PulpModel, time_limit_s: float = 60.0, mip_gap: float = 1e-4) -> dict:
    """Solve the PuLP model with PuLP's bundled CBC; returns status, objective (yuan) and seconds."""
    import pulp

    t0 = time.perf_counter()
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=mip_gap)
    model.problem.solve(solver)
    status = pulp.LpStatus[model.problem.status]
    obj = pulp.value(model.problem.objective)
    return {"status": status.lower(), "objective": None if obj is None else float(obj),
            "seconds": time.perf_counter() - t0}


# --- (b) greedy heuristic -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GreedyResult:
    """A greedy plan (assignment table), its objective (yuan), the independent check, and its time."""

    assignment: pd.DataFrame
    objective: float
    seconds: float
    feasible: bool
    violations: list = field(default_factory=list)


GREEDY_KEYS = ("density", "per_yuan")


def greedy_plan(sc: Scenario, pairs: PairSet, key: str = "density", rounds: int = 3) -> GreedyResult:
    """Assign parcels greedily by output density and check the plan with the independent checker.

    Pairs are taken best first by `key`: "density" ranks by objective per m² of land at full density (value per
    m² of floor × FAR cap), "per_yuan" by objective per yuan of development cost (the better order when the
    total budget binds rather than land; pairs without cost come first). First, must-develop parcels and demand floors are served, then every parcel gets its best pair that still
    fits its industry's demand cap and site count, the total budget and the industry's budget (floor is cut
    to what fits, down to the pair's least floor). A repair pass then trims industries above their largest
    share of all floor, and the budget this frees is filled again by the other industries (up to `rounds`
    fill-and-trim passes). Sub-area mix, minimum shares and metric rules are not steered: the checker reports
    them if broken (`feasible` False).
    """
    from optimizer.solution.check import check_plan
    from optimizer.solution.plan import assignment_table

    t0 = time.perf_counter()
    ind = sc.industries
    n_k = sc.n_industries
    maximize = sc.objective.sense == "maximize"
    w = sc.objective.cost_weight
    unit = pairs.value_per_m2 - w * pairs.cost_per_m2  # objective per m² of floor
    area = sc.parcels["area_m2"].to_numpy(float)[pairs.parcel]
    full = unit * pairs.hi_m2 - w * pairs.cost_fixed_yuan  # objective of the pair at full density
    if key == "density":
        score = full / area
    elif key == "per_yuan":
        cost = pairs.cost_per_m2 * pairs.hi_m2 + pairs.cost_fixed_yuan
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(cost > 0, full / cost, np.sign(full) * INF)
    else:
        raise ValueError(f"unknown greedy key '{key}' (choose one of {', '.join(GREEDY_KEYS)})")
    if not maximize:
        score = -score
    order = np.argsort(-score, kind="stable")

    cap = np.nan_to_num(ind["max_floor_total_m2"].to_numpy(float), nan=INF)
    need = np.nan_to_num(ind["min_floor_total_m2"].to_numpy(float), nan=0.0)
    max_sites = np.nan_to_num(ind["max_sites"].to_numpy(float), nan=INF)
    budget0 = sc.rules.total_budget_yuan if np.isfinite(sc.rules.total_budget_yuan) else INF
    kbudget0 = np.full(n_k, INF)
    for name, b in sc.rules.industry_budget_yuan.items():
        kbudget0[sc.industry_index()[name]] = b
    P, K = pairs.parcel.tolist(), pairs.industry.tolist()
    LO, HI = pairs.lo_m2.tolist(), pairs.hi_m2.tolist()
    CPM, FIX = pairs.cost_per_m2.tolist(), pairs.cost_fixed_yuan.tolist()
    plan: dict[int, float] = {}  # pair -> floor m²
    closed = np.zeros(n_k, dtype=bool)  # industries trimmed to their largest share: not refilled
    st: dict = {}

    def reset_state() -> None:
        chosen = np.fromiter(plan, dtype=np.int64, count=len(plan))
        floors = np.fromiter(plan.values(), dtype=float, count=len(plan))
        k = pairs.industry[chosen]
        st["used"] = np.zeros(sc.n_parcels, dtype=bool)
        st["used"][pairs.parcel[chosen]] = True
        # (np.bincount of an empty array is integer, whatever the weights: cast)
        st["floor_k"] = np.bincount(k, weights=floors, minlength=n_k).astype(float)
        st["sites_left"] = max_sites - np.bincount(k, minlength=n_k)
        st["kbudget"] = kbudget0 - np.bincount(k, weights=pairs.cost_fixed_yuan[chosen], minlength=n_k).astype(float)
        st["budget"] = budget0 - float((pairs.cost_per_m2[chosen] * floors + pairs.cost_fixed_yuan[chosen]).sum())

    def take(e: int) -> None:
        p, k = P[e], K[e]
        used, floor_k, sites_left, kbudget = st["used"], st["floor_k"], st["sites_left"], st["kbudget"]
        if used[p] or closed[k] or sites_left[k] < 1 or FIX[e] > kbudget[k] + 1e-9:
            return
        room = min(HI[e], cap[k] - floor_k[k])
        if CPM[e] > 0:
            room = min(room, (st["budget"] - FIX[e]) / CPM[e])
        elif FIX[e] > st["budget"]:
            return
        if room < LO[e] * (1 - 1e-12) or room <= 0:
            return
        used[p] = True
        sites_left[k] -= 1
        floor_k[k] += room
        kbudget[k] -= FIX[e]
        st["budget"] -= CPM[e] * room + FIX[e]
        plan[e] = room

    reset_state()
    must = sc.parcels["must_develop"].to_numpy(bool)
    for e in order[must[pairs.parcel[order]]].tolist():  # must-develop parcels, best pair that fits
        take(e)
    for k in np.flatnonzero(need > 0):  # demand floors, best sites of the industry first
        for e in order[pairs.industry[order] == k].tolist():
            if st["floor_k"][k] >= need[k]:
                break
            take(e)
    rest = order[score[order] > 0].tolist() if maximize else []
    for _ in range(max(rounds, 1)):
        for e in rest:
            take(e)
        trimmed = _trim_max_shares(sc, pairs, plan, score)
        if not trimmed:
            break
        closed[trimmed] = True
        reset_state()

    chosen_a = np.fromiter(plan, dtype=np.int64, count=len(plan))
    floor_a = np.fromiter(plan.values(), dtype=float, count=len(plan))
    table = assignment_table(sc, pairs.parcel[chosen_a], pairs.industry[chosen_a], floor_a,
                             pairs.value_per_m2[chosen_a])
    objective = float((unit[chosen_a] * floor_a).sum() - w * pairs.cost_fixed_yuan[chosen_a].sum())
    report = check_plan(sc, table, objective)
    return GreedyResult(table, objective, time.perf_counter() - t0, report.passed, report.violations)


def _trim_max_shares(sc: Scenario, pairs: PairSet, plan: dict[int, float], score: np.ndarray) -> list[int]:
    """Cut the floor of industries above their largest share, worst sites first (down to least floor, else
    dropped; must-develop parcels keep at least their least floor). Edits `plan`; returns the industries cut."""
    s_max = sc.industries["max_share"].to_numpy(float)
    must = sc.parcels["must_develop"].to_numpy(bool)
    trimmed = []
    for k in np.flatnonzero(np.isfinite(s_max)):
        total = sum(plan.values())
        mine = sorted((e for e in plan if pairs.industry[e] == k), key=lambda e: score[e])
        own = sum(plan[e] for e in mine)
        if own <= s_max[k] * total * (1 + 1e-9):
            continue
        trimmed.append(int(k))
        target = s_max[k] * (total - own) / (1 - s_max[k]) if s_max[k] < 1 else own
        excess = (own - target) * (1 + 1e-9)
        for e in mine:
            if excess <= 0:
                break
            lo = pairs.lo_m2[e]
            cut = min(excess, plan[e] - lo)
            if cut < excess and not must[pairs.parcel[e]]:  # least floor is not enough: drop the site
                cut = plan[e]
            if cut >= plan[e]:
                del plan[e]
            else:
                plan[e] -= cut
            excess -= cut
    return trimmed


# --- (c) LP relaxation bound --------------------------------------------------------------------------------
def lp_bound(bundle: ModelBundle, time_limit_s: float = 60.0) -> dict:
    """The LP relaxation of the canonical MILP (HiGHS, integrality dropped): bound (yuan), status, seconds.

    Runs HiGHS in this thread (`run`, HiGHS's own time limit) rather than through the cancellable backend, so a
    relaxation that overruns its limit cannot leave a solver thread running behind the benchmark.
    """
    import highspy

    from optimizer.solvers.highs import new_highs, to_highs_lp

    t0 = time.perf_counter()
    relaxed = replace(bundle.milp, integrality=np.zeros(bundle.milp.n_cols, dtype=bool))
    h = new_highs(False)
    h.passModel(to_highs_lp(relaxed))
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.0)))
    h.run()
    status = h.getModelStatus()
    seconds = time.perf_counter() - t0
    if status == highspy.HighsModelStatus.kOptimal:
        return {"bound": float(h.getInfo().objective_function_value * relaxed.obj_scale), "status": "optimal",
                "seconds": seconds}
    return {"bound": None, "status": h.modelStatusToString(status).lower(), "seconds": seconds}
