"""The independent checker's part for phases: recomputed year by year from the scenario's [[phases]] and the
plan's `phase` column, never from the model (which weighs pairs by optimizer.scenario.phases.operating_weights).

What stands at the end of a phase: every plan row developed in that phase or earlier, and the existing use of
every other parcel. The plan's yearly output is discounted over the years each development operates; an existing
use produces until its parcel's development begins to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.data import Scenario

REL_TOL = 1e-6
ABS_TOL_M2 = 1e-2
OWN_PHASE_SHARE = {"start": 1.0, "mid": 0.5, "end": 0.0}


def year_table(sc: Scenario) -> pd.DataFrame:
    """One row per year of the horizon: year, phase (position), discount factor."""
    rows = []
    for t, ph in enumerate(sc.phases):
        for y in range(ph.start_year, ph.end_year + 1):
            rows.append((y, t, (1.0 + sc.phasing.discount_rate) ** -(y - sc.phasing.base_year)))
    return pd.DataFrame(rows, columns=["year", "phase", "discount"])


def phase_positions(sc: Scenario, df: pd.DataFrame) -> np.ndarray:
    """Each plan row's phase position (−1 where the phase is missing or unknown)."""
    if "phase" not in df:
        return np.full(len(df), -1)
    names = {ph.name: t for t, ph in enumerate(sc.phases)}
    return df["phase"].map(names).fillna(-1).astype(int).to_numpy()


def discounted(sc: Scenario, df: pd.DataFrame) -> tuple[float, float]:
    """(discounted output over the horizon, discounted cost) of a plan joined by check.plan_values."""
    years = year_table(sc)
    own = OWN_PHASE_SHARE[sc.phasing.operating_from]
    t_row = phase_positions(sc, df)
    out_new = df["output_yuan"].to_numpy(float)
    ex_out = existing_output_by_parcel(sc)
    out_old = df["parcel_id"].map(ex_out).fillna(0.0).to_numpy(float)
    # operating share of each row in each year: 1 after its phase, `own` in it, 0 before
    yp = years["phase"].to_numpy()[None, :]
    op = np.where(yp > t_row[:, None], 1.0, np.where(yp == t_row[:, None], own, 0.0))
    d = years["discount"].to_numpy()[None, :]
    output = float((d * (op * out_new[:, None] + (1.0 - op) * out_old[:, None])).sum())
    # existing uses of parcels without a row stay for the whole horizon (a violation of their own if required)
    output += float(ex_out[~ex_out.index.isin(df["parcel_id"])].sum()) * float(years["discount"].sum())
    start_disc = {t: (1.0 + sc.phasing.discount_rate) ** -(ph.start_year - sc.phasing.base_year)
                  for t, ph in enumerate(sc.phases)}
    spend = np.array([start_disc.get(t, np.nan) for t in t_row])
    cost = float((df["cost_total_yuan"].to_numpy(float) * spend).sum())
    return output, cost


def existing_output_by_parcel(sc: Scenario) -> pd.Series:
    """Yearly output of each parcel's existing use (parcel_id -> yuan), valued as the format says: the existing
    output where given, else the existing industry's output per m² there × the existing floor."""
    from optimizer.solution.check import plan_values

    par = sc.parcels
    if "existing_industry" not in par:
        return pd.Series(dtype=float)
    has = par["existing_industry"].astype(str) != ""
    as_plan = pd.DataFrame({"parcel_id": par.loc[has, "parcel_id"], "industry_id": par.loc[has, "existing_industry"],
                            "floor_area_m2": par.loc[has, "existing_floor_m2"]})
    return plan_values(sc, as_plan).set_index("parcel_id")["output_yuan"]


def standing(sc: Scenario, df: pd.DataFrame, t: int) -> pd.DataFrame:
    """What stands at the end of phase t: industry_id and floor_area_m2 per parcel (plan rows built by then, and
    existing uses of the other parcels)."""
    t_row = phase_positions(sc, df)
    built = df.loc[(t_row >= 0) & (t_row <= t), ["parcel_id", "industry_id", "floor_area_m2"]]
    if "existing_industry" in sc.parcels:
        par = sc.parcels
        old = par.loc[(par["existing_industry"].astype(str) != "") & ~par["parcel_id"].isin(built["parcel_id"]),
                      ["parcel_id", "existing_industry", "existing_floor_m2"]]
        old = old.rename(columns={"existing_industry": "industry_id", "existing_floor_m2": "floor_area_m2"})
        built = pd.concat([built, old], ignore_index=True)
    return built


def phase_violations(sc: Scenario, df: pd.DataFrame) -> tuple[list[str], int]:
    """Each row's phase, each phase's budget and cumulative targets. Returns (violations, rules checked)."""
    v: list[str] = []
    n = 1
    t_row = phase_positions(sc, df)
    for pid, name in zip(df["parcel_id"].to_numpy()[t_row < 0],
                         (df["phase"] if "phase" in df else pd.Series([None] * len(df))).to_numpy()[t_row < 0],
                         strict=True):
        v.append(f"parcel {pid}: phase {name!r} is not a phase of the scenario")
    ind = sc.industries.set_index("industry_id")
    last = len(sc.phases) - 1
    for t, ph in enumerate(sc.phases):
        if sc.phasing.caps_every_phase and t < last:
            more, n_more = _caps_at(sc, df, t, ind)
            v += more
            n += n_more
        if np.isfinite(ph.budget_yuan):
            n += 1
            spent = float(df.loc[t_row == t, "cost_total_yuan"].sum())
            if spent > ph.budget_yuan * (1 + REL_TOL) + 1e-6:
                v.append(f"phase {ph.name}: spending {spent:,.0f} yuan exceeds its budget {ph.budget_yuan:,.0f} yuan")
        if not (ph.min_floor_m2 or ph.max_floor_m2 or ph.min_share or ph.max_share or ph.metric_min
                or ph.metric_max):
            continue
        now = standing(sc, df, t)
        by_k = now.groupby("industry_id")["floor_area_m2"].sum()
        total = float(now["floor_area_m2"].sum())
        tol = ABS_TOL_M2 + REL_TOL * total
        for k, least in ph.min_floor_m2.items():
            n += 1
            if by_k.get(k, 0.0) < least - ABS_TOL_M2 - REL_TOL * least:
                v.append(f"phase {ph.name}: floor of {k} at its end {by_k.get(k, 0.0):,.0f} m² below {least:,.0f} m²")
        for k, most in ph.max_floor_m2.items():
            n += 1
            if by_k.get(k, 0.0) > most + ABS_TOL_M2 + REL_TOL * most:
                v.append(f"phase {ph.name}: floor of {k} at its end {by_k.get(k, 0.0):,.0f} m² above {most:,.0f} m²")
        for k, s in ph.min_share.items():
            n += 1
            if by_k.get(k, 0.0) < s * total - tol:
                v.append(f"phase {ph.name}: {k} has {by_k.get(k, 0.0) / max(total, 1e-12):.4%} of the floor at its "
                         f"end, below {s:.4%}")
        for k, s in ph.max_share.items():
            n += 1
            if by_k.get(k, 0.0) > s * total + tol:
                v.append(f"phase {ph.name}: {k} has {by_k.get(k, 0.0) / max(total, 1e-12):.4%} of the floor at its "
                         f"end, above {s:.4%}")
        for m, bound in [*((m, ("min", b)) for m, b in ph.metric_min.items()),
                         *((m, ("max", b)) for m, b in ph.metric_max.items())]:
            n += 1
            rate = ind[f"{m}_per_m2"] * ind["usable_share"]
            got = float((now["industry_id"].map(rate).fillna(0.0) * now["floor_area_m2"]).sum())
            word, b = bound
            if word == "min" and got < b * (1 - REL_TOL) - 1e-9:
                v.append(f"phase {ph.name}: total {m} at its end {got:,.6g} below the required {b:,.6g}")
            if word == "max" and got > b * (1 + REL_TOL) + 1e-9:
                v.append(f"phase {ph.name}: total {m} at its end {got:,.6g} above the allowed {b:,.6g}")
    return v, n


def _caps_at(sc: Scenario, df: pd.DataFrame, t: int, ind: pd.DataFrame) -> tuple[list[str], int]:
    """The end state's maxima (demand caps, share maxima, metric maxima) on what stands at the end of phase t."""
    ph = sc.phases[t]
    now = standing(sc, df, t)
    by_k = now.groupby("industry_id")["floor_area_m2"].sum()
    total = float(now["floor_area_m2"].sum())
    v, n = [], 0
    for k, r in ind.iterrows():
        got = float(by_k.get(k, 0.0))
        if np.isfinite(r.max_floor_total_m2):
            n += 1
            if got > r.max_floor_total_m2 + ABS_TOL_M2 + REL_TOL * r.max_floor_total_m2:
                v.append(f"phase {ph.name}: floor of {k} at its end {got:,.0f} m² above its demand cap "
                         f"{r.max_floor_total_m2:,.0f} m²")
        if np.isfinite(r.max_share):
            n += 1
            if got > r.max_share * total + ABS_TOL_M2 + REL_TOL * total:
                v.append(f"phase {ph.name}: {k} has {got / max(total, 1e-12):.4%} of the floor at its end, above "
                         f"its share cap {r.max_share:.4%}")
    for rule in sc.rules.metric_rules:
        if not np.isfinite(rule.max):
            continue
        n += 1
        rate = ind[f"{rule.metric}_per_m2"] * ind["usable_share"]
        if rule.industries:
            rate = rate.where(rate.index.isin(rule.industries), 0.0)
        got = float((now["industry_id"].map(rate).fillna(0.0) * now["floor_area_m2"]).sum())
        if got > rule.max * (1 + REL_TOL) + 1e-9:
            v.append(f"phase {ph.name}: total {rule.metric} at its end {got:,.6g} above the allowed {rule.max:,.6g}")
    return v, n
