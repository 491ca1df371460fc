"""The independent checker: re-derives every rule from the scenario data and the plan, never from the model.

Written separately from the model builder on purpose (pandas joins over the assignment table instead of
sparse rows), so that a builder or solver bug shows up as a violation here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import WEIGHT_UNITS, Scenario

ABS_TOL_M2 = 1e-2  # floor area tolerance in m²
REL_TOL = 1e-6
SITE_FLOOR_M2 = 1.0  # the format's rule: a developed site has at least 1 m² of floor (or its whole cap if less)


@dataclass(frozen=True)
class CheckReport:
    passed: bool
    violations: list[str] = field(default_factory=list)
    objective: float = np.nan  # recomputed from the plan, in yuan
    n_checked_rules: int = 0

    def to_dict(self) -> dict:
        return {"passed": self.passed, "violations": list(self.violations),
                "objective_recomputed": self.objective, "rules_checked": self.n_checked_rules}


def _tol(bound: float) -> float:
    return ABS_TOL_M2 + REL_TOL * abs(bound)


def plan_values(sc: Scenario, plan: pd.DataFrame) -> pd.DataFrame:
    """Join the plan (parcel_id, industry_id, floor_area_m2) with parcel, industry and pair data."""
    par = sc.parcels.drop(columns=["_row"], errors="ignore").rename(columns={"far_max": "parcel_far_max"})
    ind = sc.industries.drop(columns=["_row"], errors="ignore").rename(
        columns={"far_max": "industry_far_max", "far_min": "industry_far_min", "name": "industry_name"})
    keep = ["parcel_id", "industry_id", "floor_area_m2", *(["phase"] if "phase" in plan else [])]
    df = plan[keep].merge(par, on="parcel_id", how="left", indicator="_par")
    df = df.merge(ind, on="industry_id", how="left", indicator="_ind")
    pair_cols = ["value_multiplier", "cost_yuan", "eligible", "far_max", "cost_per_m2"]
    if sc.pairs is not None:
        got = [c for c in pair_cols if c in sc.pairs]
        df = df.merge(sc.pairs[["parcel_id", "industry_id", *got]].rename(
            columns={"far_max": "pair_far_max", "cost_per_m2": "pair_cost_per_m2"}),
            on=["parcel_id", "industry_id"], how="left")
    for c in ("value_multiplier", "cost_yuan", "eligible", "pair_far_max", "pair_cost_per_m2"):
        if c not in df:
            df[c] = np.nan
    df["value_multiplier"] = df["value_multiplier"].fillna(1.0)
    df["cost_yuan"] = df["cost_yuan"].fillna(0.0)
    df["eligible"] = df["eligible"].fillna(True).astype(bool)
    df["pair_far_max"] = df["pair_far_max"].fillna(np.inf)  # no pair cap: the parcel's and industry's rule
    # the pair's own cost per m² of floor where the pair table gives one, else the parcel's
    df["cost_per_m2_floor"] = df["pair_cost_per_m2"].fillna(df["dev_cost_per_m2"])
    decay = np.ones(len(df))
    if sc.access is not None and len(df):
        pos = np.maximum(pd.Index(sc.parcels["parcel_id"]).get_indexer(df["parcel_id"]), 0)  # unknown ids: 0
        for rule in sc.rules.access_rules:
            if rule.decay_per_min > 0:
                minutes = sc.access[rule.node_type].to_numpy(float)[pos]
                hit = (df["industry_id"] == rule.industry).to_numpy()
                decay[hit] *= np.exp(-rule.decay_per_min * minutes[hit])
    df["output_yuan"] = df["output_per_m2"] * df["value_multiplier"] * decay * df["floor_area_m2"]
    df["cost_total_yuan"] = df["cost_per_m2_floor"] * df["floor_area_m2"] + df["cost_yuan"]
    if "existing_industry" in df:
        _existing_values(df, df["output_per_m2"] * df["value_multiplier"] * decay)
    return df


def _existing_values(df: pd.DataFrame, rate: pd.Series) -> None:
    """Output and cost of parcels with an existing use, from the format's rules: the existing industry kept keeps
    its existing output and pays the intensify cost on added floor only (no pair cost); another industry pays the
    demolition of the existing floor besides its own construction."""
    ex = df["existing_industry"].fillna("").astype(str)
    floor_ex = df["existing_floor_m2"].fillna(0.0)
    kept = (ex != "") & (ex == df["industry_id"])
    converted = (ex != "") & ~kept
    added = df["floor_area_m2"] - floor_ex
    existing_output = df["existing_output_yuan"].fillna(rate * floor_ex)
    df["kept"] = kept
    df["output_yuan"] = df["output_yuan"].where(~kept, existing_output + rate * added)
    intensify = df["intensify_cost_per_m2"].fillna(df["cost_per_m2_floor"])
    df["cost_yuan"] = df["cost_yuan"].where(~kept, 0.0)
    df["cost_total_yuan"] = (df["cost_total_yuan"].where(~kept, intensify * added)
                             + (df["demolition_cost_per_m2"] * floor_ex).where(converted, 0.0))


def objective_value(sc: Scenario, df: pd.DataFrame) -> float:
    """The scenario's objective for a plan joined by `plan_values`, from the format's definitions.

    total_output: output − cost_weight × cost (yuan a year); output_per_land: that divided by the developed
    parcel land (yuan per m² a year; 0 for a plan that develops nothing); weighted: Σ weight × KPI.
    """
    ob = sc.objective
    output, cost = float(df["output_yuan"].sum()), float(df["cost_total_yuan"].sum())
    if sc.phases:  # output discounted over its years of operation, cost at its phase's start (check_phases)
        from optimizer.solution.check_phases import discounted

        output, cost = discounted(sc, df)
    if ob.kind not in ("output_per_land", "weighted"):
        return _objective_of(sc, output, cost, np.nan)
    land = float(df["area_m2"].sum())
    if ob.kind != "weighted":
        return _objective_of(sc, output, cost, land)
    floor = df["floor_area_m2"]
    return _objective_of(sc, output, cost, land, float(floor.sum()), float((df["jobs_per_m2"] * floor).sum()),
                         {name: _metric_total(df, name) for name in ob.weights if name not in WEIGHT_UNITS})


def _objective_of(sc: Scenario, output: float, cost: float, land: float, floor: float = np.nan,
                  jobs: float = np.nan, metrics: dict[str, float] | None = None) -> float:
    """The objective from a plan's totals: output and cost (discounted with phases), developed land, and for a
    weighted objective the floor, jobs and the totals of the metrics its weights name."""
    ob = sc.objective
    if ob.kind == "output_per_land":
        return (output - ob.cost_weight * cost) / land if land > 0 else 0.0
    if ob.kind != "weighted":
        return output - ob.cost_weight * cost
    kpi = {"output": output, "cost": cost, "floor": floor, "developed_land": land, "jobs": jobs}
    total = 0.0
    for name, wt in ob.weights.items():
        value = kpi[name] if name in kpi else (metrics or {})[name]
        total += wt * value
    return total


def _metric_total(df: pd.DataFrame, metric: str) -> float:
    """A metric's plan total on usable floor, as metric rules, the objective's floors and weights count it."""
    return float((df[f"{metric}_per_m2"] * df["usable_share"] * df["floor_area_m2"]).sum())


@dataclass(frozen=True)
class PlanTotals:
    """What the checker needs of a plan (or of one parcel chunk of it, `restrict_parcels`) to judge every rule.

    `violations` are the per-parcel rules' messages (identities, zoning, sub-area admission, access, pair table,
    density, must_develop, existing uses), in rule-family order; `n_parcel_rules` how many per-parcel rule families
    were checked (a property of the scenario, not of the parcels: the same in every chunk). Everything else is an
    additive total over the plan's rows, judged by `verdict` against the rules that couple parcels: the totals of
    disjoint chunks add up (`combine`, `+`) to those of the whole plan. Plain floats and dicts, so small and
    picklable.

    Phases and neighbour rules are not additive over parcels: the totals of such a scenario carry those rules'
    messages and counts and the objective's discounted output and cost and synergy, judged as a whole plan only;
    combining them raises ValueError (`whole_plan_only` says why).
    """

    violations: list[str] = field(default_factory=list)
    n_parcel_rules: int = 0
    malformed: bool = False  # the plan lacks columns: `violations` says which, nothing else was checked
    floor_by_industry: dict[str, float] = field(default_factory=dict)  # every industry of the scenario
    sites_by_industry: dict[str, int] = field(default_factory=dict)
    pair_cost_by_industry: dict[str, float] = field(default_factory=dict)
    total_floor: float = 0.0  # m²
    total_cost: float = 0.0  # development cost, yuan (the total budget's)
    total_output: float = 0.0  # output, yuan a year (undiscounted: the objective's floor)
    developed_land: float = 0.0  # Σ area_m2 of the developed parcels (of the plan's rows)
    jobs: float = 0.0
    metric_rule_totals: tuple[float, ...] = ()  # one per sc.rules.metric_rules, as that rule counts it
    metric_totals: dict[str, float] = field(default_factory=dict)  # objective.metric_min's and weights' metrics
    floor_by_subarea: dict = field(default_factory=dict)
    floor_by_subarea_industry: dict = field(default_factory=dict)  # (subarea, industry) -> m²
    # not additive over parcel chunks (phases, neighbour rules): a whole plan's only
    whole_plan_only: str = ""  # why these totals cannot be combined, "" when they can
    objective_output: float = 0.0  # the objective's output and cost: discounted with phases, else the totals'
    objective_cost: float = 0.0
    phase_violations: list[str] = field(default_factory=list)
    n_phase_rules: int = 0
    neighbour_violations: list[str] = field(default_factory=list)
    n_neighbour_rules: int = 0
    objective_synergy: float = 0.0  # what synergy adds to the objective (neighbour rules only)

    def __add__(self, other: PlanTotals) -> PlanTotals:
        if not isinstance(other, PlanTotals):
            return NotImplemented
        return combine([self, other])

    def __radd__(self, other) -> PlanTotals:  # sum(totals_list)
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


def _add_dicts(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def combine(totals_list) -> PlanTotals:
    """The totals of disjoint parcel chunks of one plan added up: per-parcel messages concatenated in chunk order,
    the per-parcel rule count once, every total summed. One element is returned as it is. Raises ValueError for
    the totals of a scenario with phases or neighbour rules, or of chunks checking different numbers of rules."""
    items = list(totals_list)
    if not items:
        raise ValueError("no plan totals to combine")
    if len(items) == 1:
        return items[0]
    for t in items:
        if t.whole_plan_only:
            raise ValueError(f"{t.whole_plan_only} cannot be checked in parcel chunks")
    if len({t.n_parcel_rules for t in items if not t.malformed}) > 1:
        raise ValueError("the chunks' totals check different per-parcel rules: not chunks of one scenario")
    if any(t.malformed for t in items):  # as for a whole plan: the missing columns only, once
        msgs = list(dict.fromkeys(m for t in items if t.malformed for m in t.violations))
        return PlanTotals(violations=msgs, malformed=True)
    if len({len(t.metric_rule_totals) for t in items}) > 1:
        raise ValueError("the chunks' totals check different metric rules: not chunks of one scenario")
    first, out = items[0], {}
    for name in ("floor_by_industry", "sites_by_industry", "pair_cost_by_industry", "metric_totals",
                 "floor_by_subarea", "floor_by_subarea_industry"):
        acc = getattr(first, name)
        for t in items[1:]:
            acc = _add_dicts(acc, getattr(t, name))
        out[name] = acc
    for name in ("total_floor", "total_cost", "total_output", "developed_land", "jobs", "objective_output",
                 "objective_cost"):
        acc = getattr(first, name)
        for t in items[1:]:
            acc = acc + getattr(t, name)
        out[name] = acc
    rule_totals_ = list(first.metric_rule_totals)
    for t in items[1:]:
        rule_totals_ = [a + b for a, b in zip(rule_totals_, t.metric_rule_totals, strict=True)]
    return PlanTotals(violations=[m for t in items for m in t.violations], n_parcel_rules=first.n_parcel_rules,
                      metric_rule_totals=tuple(rule_totals_), **out)


def check_plan(sc: Scenario, plan: pd.DataFrame, objective: float | None = None) -> CheckReport:
    """Check a plan (columns parcel_id, industry_id, floor_area_m2) against every rule of the scenario."""
    return verdict(sc, rule_totals(sc, plan), objective)


def rule_totals(sc: Scenario, plan: pd.DataFrame) -> PlanTotals:
    """Check the per-parcel rules of a plan (or of one parcel chunk: `sc` restricted to the chunk's parcels, `plan`
    its rows) and sum what the rules coupling parcels and the objective need (`PlanTotals`)."""
    v: list[str] = []
    n_rules = 0
    need = {"parcel_id", "industry_id", "floor_area_m2"}
    if not need <= set(plan.columns):
        return PlanTotals(violations=[f"plan lacks columns {sorted(need - set(plan.columns))}"], malformed=True)
    df = plan_values(sc, plan)
    floor = df["floor_area_m2"].to_numpy(float)

    # identities
    n_rules += 1
    for _, r in df[df["_par"] == "left_only"].iterrows():
        v.append(f"unknown parcel '{r.parcel_id}'")
    for _, r in df[df["_ind"] == "left_only"].iterrows():
        v.append(f"unknown industry '{r.industry_id}' on parcel {r.parcel_id}")
    for pid in df.loc[df["parcel_id"].duplicated(), "parcel_id"].unique():
        v.append(f"parcel {pid} has more than one industry")
    bad_floor = ~np.isfinite(floor) | (floor <= 0)
    for _, r in df[bad_floor].iterrows():
        v.append(f"parcel {r.parcel_id}: floor area {r.floor_area_m2} is not a positive number")
    df = df[(df["_par"] == "both") & (df["_ind"] == "both")].copy()
    floor = df["floor_area_m2"].to_numpy(float)
    pos = pd.Index(sc.parcels["parcel_id"]).get_indexer(df["parcel_id"])  # parcel positions, once
    has_existing = "kept" in df
    kept = df["kept"].to_numpy(bool) if has_existing else np.zeros(len(df), bool)
    floor_ex = df["existing_floor_m2"].fillna(0.0).to_numpy(float) if has_existing else np.zeros(len(df))
    # an existing use kept as it is may stand where the rules no longer admit it (a non-conforming use)
    as_is = kept & (floor <= floor_ex + ABS_TOL_M2 + REL_TOL * floor_ex)

    # zoning
    n_rules += 1
    allowed = set(zip(sc.compatibility["zone"], sc.compatibility["industry_id"], strict=False))
    ok_zone = np.array([(z, k) in allowed for z, k in zip(df["zone"], df["industry_id"], strict=False)], dtype=bool)
    ok_zone |= as_is
    for _, r in df[~ok_zone].iterrows():
        v.append(f"parcel {r.parcel_id}: zone {r.zone} does not allow {r.industry_id}")
    # sub-area admission
    for rule in sc.rules.subarea_allow:
        n_rules += 1
        bad = (df["subarea"] == rule.subarea) & ~df["industry_id"].isin(rule.industries) & ~as_is
        for _, r in df[bad].iterrows():
            v.append(f"parcel {r.parcel_id}: {r.industry_id} may not locate in sub-area {rule.subarea}")
    # access
    for rule in sc.rules.access_rules:
        n_rules += 1
        hit = (df["industry_id"] == rule.industry).to_numpy()
        if hit.any() and np.isfinite(rule.max_minutes):
            minutes = sc.access[rule.node_type].to_numpy(float)[pos[hit]]
            far = (minutes > rule.max_minutes + 1e-9) & ~as_is[hit]
            for pid, t in zip(df["parcel_id"].to_numpy()[hit][far], minutes[far], strict=True):
                v.append(f"parcel {pid}: {rule.industry} is {t:.1f} min from the nearest {rule.node_type} "
                         f"(limit {rule.max_minutes:g} min)")
    # pair table exclusions
    n_rules += 1
    for _, r in df[~df["eligible"] & ~as_is].iterrows():
        v.append(f"parcel {r.parcel_id}: the pair table excludes {r.industry_id}")
    # density
    n_rules += 1
    area = df["area_m2"].to_numpy(float)
    cap = np.minimum.reduce([df["parcel_far_max"].to_numpy(float), df["industry_far_max"].to_numpy(float),
                             df["pair_far_max"].to_numpy(float)]) * area
    least = np.maximum(df["industry_far_min"].to_numpy(float) * area, df["min_floor_m2"].to_numpy(float))
    least = np.minimum(np.maximum(least, SITE_FLOOR_M2), cap)
    cap = np.where(kept, np.maximum(cap, floor_ex), cap)  # an existing use keeps at least its existing floor
    least = np.where(kept, 0.0, least)  # its floor against the existing floor: _existing_violations
    tol_cap = ABS_TOL_M2 + REL_TOL * np.abs(cap)
    tol_least = ABS_TOL_M2 + REL_TOL * np.abs(least)
    pids, kids = df["parcel_id"].to_numpy(), df["industry_id"].to_numpy()
    for i in np.flatnonzero(floor > cap + tol_cap):
        v.append(f"parcel {pids[i]}: floor {floor[i]:,.1f} m² of {kids[i]} exceeds the FAR cap ({cap[i]:,.1f} m²)")
    for i in np.flatnonzero(floor < least - tol_least):
        v.append(f"parcel {pids[i]}: floor {floor[i]:,.1f} m² of {kids[i]} is below its least viable floor "
                 f"({least[i]:,.1f} m²)")
    # must develop
    n_rules += 1
    must = sc.parcels.loc[sc.parcels["must_develop"], "parcel_id"]
    for pid in must[~must.isin(df["parcel_id"])]:
        v.append(f"parcel {pid} must be developed but has no industry")
    if "existing_industry" in sc.parcels:
        n_rules += 1
        v += _existing_violations(sc, df)

    # the additive totals of the coupled rules and the objective
    ind = sc.industries.set_index("industry_id")
    by_k = df.groupby("industry_id").agg(floor=("floor_area_m2", "sum"), sites=("parcel_id", "count"),
                                         pair_cost=("cost_yuan", "sum"))
    by_k = by_k.reindex(ind.index, fill_value=0.0)
    ob = sc.objective
    metrics = list(ob.metric_min)
    if ob.kind == "weighted":
        metrics += [name for name in ob.weights if name not in WEIGHT_UNITS and name not in metrics]
    metric_rule_totals = []
    for rule in sc.rules.metric_rules:
        rate = df[f"{rule.metric}_per_m2"] * df["usable_share"]
        if rule.industries:
            rate = rate.where(df["industry_id"].isin(rule.industries), 0.0)
        metric_rule_totals.append(float((rate * df["floor_area_m2"]).sum()))
    output, cost = float(df["output_yuan"].sum()), float(df["cost_total_yuan"].sum())
    land = float(df["area_m2"].sum())
    totals = dict(
        violations=v, n_parcel_rules=n_rules,
        floor_by_industry={k: float(x) for k, x in by_k["floor"].items()},
        sites_by_industry={k: int(x) for k, x in by_k["sites"].items()},
        pair_cost_by_industry={k: float(x) for k, x in by_k["pair_cost"].items()},
        total_floor=float(floor.sum()), total_cost=cost, total_output=output, developed_land=land,
        jobs=float((df["jobs_per_m2"] * df["floor_area_m2"]).sum()),
        metric_rule_totals=tuple(metric_rule_totals),
        metric_totals={m: _metric_total(df, m) for m in metrics},
        floor_by_subarea={s: float(x) for s, x in df.groupby("subarea")["floor_area_m2"].sum().items()},
        floor_by_subarea_industry={key: float(x) for key, x in
                                   df.groupby(["subarea", "industry_id"])["floor_area_m2"].sum().items()},
        objective_output=output, objective_cost=cost,
    )
    why = []
    if sc.phases:
        from optimizer.solution.check_phases import discounted, phase_violations

        why.append("phases")
        totals["phase_violations"], totals["n_phase_rules"] = phase_violations(sc, df)
        totals["objective_output"], totals["objective_cost"] = discounted(sc, df)
    if sc.neighbours is not None:  # separation, clusters and the synergy term (check_neighbours)
        from optimizer.solution.check_neighbours import neighbour_violations, objective_synergy

        why.append("neighbour rules")
        totals["neighbour_violations"], totals["n_neighbour_rules"] = neighbour_violations(sc, df)
        totals["objective_synergy"] = objective_synergy(sc, df, land)
    return PlanTotals(whole_plan_only=f"a scenario with {' and '.join(why)}" if why else "", **totals)


def verdict(sc: Scenario, totals: PlanTotals, objective: float | None = None) -> CheckReport:
    """Judge a plan's totals (`rule_totals` of the whole plan, or `combine` of its parcel chunks' totals) against
    the rules coupling parcels, recompute the objective from them and compare it with the solver's."""
    if totals.malformed:
        return CheckReport(False, list(totals.violations))
    v = list(totals.violations)
    n_rules = totals.n_parcel_rules

    # per-industry totals
    ind = sc.industries.set_index("industry_id")
    total_floor = totals.total_floor
    for k, r in ind.iterrows():
        floor_k = totals.floor_by_industry.get(k, 0.0)
        sites_k = totals.sites_by_industry.get(k, 0)
        if np.isfinite(r.min_floor_total_m2):
            n_rules += 1
            if floor_k < r.min_floor_total_m2 - _tol(r.min_floor_total_m2):
                v.append(f"{k}: total floor {floor_k:,.0f} m² below its demand floor {r.min_floor_total_m2:,.0f} m²")
        if np.isfinite(r.max_floor_total_m2):
            n_rules += 1
            if floor_k > r.max_floor_total_m2 + _tol(r.max_floor_total_m2):
                v.append(f"{k}: total floor {floor_k:,.0f} m² above its demand cap {r.max_floor_total_m2:,.0f} m²")
        if np.isfinite(r.min_share):
            n_rules += 1
            if floor_k < r.min_share * total_floor - _tol(total_floor):
                v.append(f"{k}: share of all floor {floor_k / max(total_floor, 1e-12):.4%} below {r.min_share:.4%}")
        if np.isfinite(r.max_share):
            n_rules += 1
            if floor_k > r.max_share * total_floor + _tol(total_floor):
                v.append(f"{k}: share of all floor {floor_k / max(total_floor, 1e-12):.4%} above {r.max_share:.4%}")
        if np.isfinite(r.min_sites):
            n_rules += 1
            if sites_k < r.min_sites:
                v.append(f"{k}: {int(sites_k)} sites, fewer than the required {int(r.min_sites)}")
        if np.isfinite(r.max_sites):
            n_rules += 1
            if sites_k > r.max_sites:
                v.append(f"{k}: {int(sites_k)} sites, more than the allowed {int(r.max_sites)}")

    # budgets
    B = sc.rules.total_budget_yuan
    if np.isfinite(B):
        n_rules += 1
        spent = totals.total_cost
        if spent > B * (1 + REL_TOL) + 1e-6:
            v.append(f"development cost {spent:,.0f} yuan exceeds the total budget {B:,.0f} yuan")
    for k, cap_k in sc.rules.industry_budget_yuan.items():
        n_rules += 1
        spent = float(totals.pair_cost_by_industry.get(k, 0.0))
        if spent > cap_k * (1 + REL_TOL) + 1e-6:
            v.append(f"{k}: pair costs {spent:,.6g} exceed its budget {cap_k:,.6g}")

    # sub-area mix
    for rule in sc.rules.subarea_mix:
        n_rules += 1
        tot = float(totals.floor_by_subarea.get(rule.subarea, 0.0))
        if rule.industry:
            own = float(totals.floor_by_subarea_industry.get((rule.subarea, rule.industry), 0.0))
        else:
            own = tot
        what = rule.industry or "all industries"
        if np.isfinite(rule.min_share) and own < rule.min_share * tot - _tol(tot):
            v.append(f"sub-area {rule.subarea}: {what} has {own / max(tot, 1e-12):.4%} of the floor, "
                     f"below {rule.min_share:.4%}")
        if np.isfinite(rule.max_share) and own > rule.max_share * tot + _tol(tot):
            v.append(f"sub-area {rule.subarea}: {what} has {own / max(tot, 1e-12):.4%} of the floor, "
                     f"above {rule.max_share:.4%}")
        if np.isfinite(rule.min_floor_m2) and own < rule.min_floor_m2 - _tol(rule.min_floor_m2):
            v.append(f"sub-area {rule.subarea}: {what} has {own:,.0f} m² of floor, below {rule.min_floor_m2:,.0f} m²")
        if np.isfinite(rule.max_floor_m2) and own > rule.max_floor_m2 + _tol(rule.max_floor_m2):
            v.append(f"sub-area {rule.subarea}: {what} has {own:,.0f} m² of floor, above {rule.max_floor_m2:,.0f} m²")

    # metric totals
    for rule, total in zip(sc.rules.metric_rules, totals.metric_rule_totals, strict=True):
        n_rules += 1
        if np.isfinite(rule.min) and total < rule.min * (1 - REL_TOL) - 1e-9:
            v.append(f"total {rule.metric} {total:,.6g} below the required {rule.min:,.6g}")
        if np.isfinite(rule.max) and total > rule.max * (1 + REL_TOL) + 1e-9:
            v.append(f"total {rule.metric} {total:,.6g} above the allowed {rule.max:,.6g}")

    # the objective's floors
    ob = sc.objective
    floors = [("output", totals.total_output, ob.min_total_output_yuan, "yuan"),
              ("jobs", totals.jobs, ob.min_jobs, "jobs")]
    floors += [(m, totals.metric_totals[m], least, m) for m, least in ob.metric_min.items()]
    for name, total, least, unit in floors:
        if np.isfinite(least):
            n_rules += 1
            if total < least * (1 - REL_TOL) - 1e-9:
                v.append(f"total {name} {total:,.6g} {unit} is below the objective's floor {least:,.6g} {unit}")

    if sc.phases:
        v += totals.phase_violations
        n_rules += totals.n_phase_rules

    recomputed = _objective_of(sc, totals.objective_output, totals.objective_cost, totals.developed_land,
                               total_floor, totals.jobs, totals.metric_totals)
    if sc.neighbours is not None:  # separation, clusters and the synergy term (check_neighbours)
        v += totals.neighbour_violations
        n_rules += totals.n_neighbour_rules
        recomputed += totals.objective_synergy
    if not np.isfinite(recomputed):
        v.append(f"the plan's objective is not a finite number ({recomputed})")
    if objective is not None and not np.isfinite(objective):
        v.append(f"the solver's objective is not a finite number ({objective})")
    elif objective is not None and np.isfinite(recomputed):
        n_rules += 1
        if abs(recomputed - objective) > 1e-6 * max(1.0, abs(recomputed)) + 1e-6:
            v.append(f"the solver's objective {objective:,.6g} differs from the plan's recomputed value "
                     f"{recomputed:,.6g}")
    return CheckReport(not v, v, recomputed, n_rules)


def _existing_violations(sc: Scenario, df: pd.DataFrame) -> list[str]:
    """Existing uses and locks: an existing use is kept (at least its floor), intensified or converted, never
    removed without replacement; lock = industry keeps the existing industry; lock = out changes nothing."""
    out: list[str] = []
    par = sc.parcels
    got = df.drop_duplicates("parcel_id").set_index("parcel_id")[["industry_id", "floor_area_m2"]]
    plan = got.reindex(par["parcel_id"])
    ex = par["existing_industry"].to_numpy(str)
    ex_floor = par["existing_floor_m2"].to_numpy(float)
    lock = par["lock"].to_numpy(str)
    pid = par["parcel_id"].to_numpy(str)
    k = plan["industry_id"].fillna("").to_numpy(str)
    f = plan["floor_area_m2"].fillna(0.0).to_numpy(float)
    tol = ABS_TOL_M2 + REL_TOL * ex_floor
    for i in np.flatnonzero((ex != "") & (k == "")):
        out.append(f"parcel {pid[i]}: its existing use {ex[i]} ({ex_floor[i]:,.0f} m²) is removed without replacement")
    for i in np.flatnonzero((ex != "") & (k == ex) & (f < ex_floor - tol)):
        out.append(f"parcel {pid[i]}: {ex[i]} is kept with {f[i]:,.1f} m², below its existing floor "
                   f"{ex_floor[i]:,.1f} m²")
    for i in np.flatnonzero((lock == "industry") & (k != ex)):
        out.append(f"parcel {pid[i]}: lock = industry keeps {ex[i] or 'no existing use'}, but the plan gives it "
                   f"{k[i] or 'nothing'}")
    changed = (k != ex) | (np.abs(f - np.where(ex != "", ex_floor, 0.0)) > tol)
    for i in np.flatnonzero((lock == "out") & changed):
        was = f"{ex[i]} with {ex_floor[i]:,.1f} m²" if ex[i] else "empty"
        now = f"{k[i]} with {f[i]:,.1f} m²" if k[i] else "empty"
        out.append(f"parcel {pid[i]}: lock = out keeps it as it is ({was}), but the plan makes it {now}")
    return out
