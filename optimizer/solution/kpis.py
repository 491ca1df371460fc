"""Key figures of a plan, in the planner's units (yuan, m², km², jobs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.solution.check import plan_values
from optimizer.solution.check_neighbours import neighbour_kpis

M2_PER_KM2 = 1e6


def _f(x) -> float:
    return float(x) if np.isfinite(x) else None  # JSON-friendly


def baseline_plan(sc: Scenario) -> pd.DataFrame:
    """Everything kept as it is: each existing use at its existing floor, greenfield parcels empty."""
    par = sc.parcels
    if "existing_industry" not in par:
        return pd.DataFrame(columns=["parcel_id", "industry_id", "floor_area_m2"])
    has = par["existing_industry"] != ""
    return pd.DataFrame({"parcel_id": par.loc[has, "parcel_id"], "industry_id": par.loc[has, "existing_industry"],
                         "floor_area_m2": par.loc[has, "existing_floor_m2"].astype(float)}).reset_index(drop=True)


def baseline_output_yuan(sc: Scenario) -> float:
    """The output a year of the baseline (everything kept as it is), by the format's rules (0 without existing
    uses)."""
    base = baseline_plan(sc)
    return float(plan_values(sc, base)["output_yuan"].sum()) if len(base) else 0.0


def action_counts(sc: Scenario, plan: pd.DataFrame) -> dict:
    """Parcels by what the plan does on them: new, keep, intensify, convert."""
    from optimizer.solution.plan import ACTIONS, with_actions

    got = plan["action"] if "action" in plan else with_actions(sc, plan)["action"]
    return {a: int((got == a).sum()) for a in ACTIONS}


def compute_kpis(sc: Scenario, plan: pd.DataFrame) -> dict:
    """Totals, output per km² (developed land and all land), and tables by industry and by sub-area."""
    df = plan_values(sc, plan)
    land_all = float(sc.parcels["area_m2"].sum())
    land_dev = float(df["area_m2"].sum())
    out = float(df["output_yuan"].sum())
    floor = float(df["floor_area_m2"].sum())
    jobs = float((df["jobs_per_m2"] * df["floor_area_m2"]).sum())
    spent = float(df["cost_total_yuan"].sum())

    ind = sc.industries[["industry_id", "name"]].set_index("industry_id")
    by_k = df.groupby("industry_id").agg(
        sites=("parcel_id", "count"), land_m2=("area_m2", "sum"), floor_m2=("floor_area_m2", "sum"),
        output_yuan=("output_yuan", "sum"))
    by_k["jobs"] = (df["jobs_per_m2"] * df["floor_area_m2"]).groupby(df["industry_id"]).sum()
    by_k = ind.join(by_k).fillna(0.0)
    by_k["land_share"] = by_k["land_m2"] / land_dev if land_dev else 0.0
    by_k["floor_share"] = by_k["floor_m2"] / floor if floor else 0.0

    sub_land = sc.parcels.groupby("subarea")["area_m2"].sum().rename("land_m2")
    by_s = df.groupby("subarea").agg(sites=("parcel_id", "count"), developed_land_m2=("area_m2", "sum"),
                                     floor_m2=("floor_area_m2", "sum"), output_yuan=("output_yuan", "sum"))
    by_s["jobs"] = (df["jobs_per_m2"] * df["floor_area_m2"]).groupby(df["subarea"]).sum()
    by_s = sub_land.to_frame().join(by_s).fillna(0.0)
    by_s["output_per_km2_yuan"] = by_s["output_yuan"] / (by_s["land_m2"] / M2_PER_KM2)

    metrics = {}
    for m in sc.metrics:
        if m == "jobs":
            continue
        metrics[m] = float((df[f"{m}_per_m2"] * df["usable_share"] * df["floor_area_m2"]).sum())

    baseline = baseline_output_yuan(sc)
    phased = {}
    if sc.phases:
        from optimizer.solution.check_phases import discounted

        d_out, d_cost = discounted(sc, df)
        phased = {"phases": phase_kpis(sc, plan, df), "discounted_output_yuan": d_out, "discounted_cost_yuan": d_cost,
                  "horizon": f"{sc.phases[0].start_year}–{sc.phases[-1].end_year}"}
    return {**phased,
        "total_output_yuan": out,
        "baseline_output_yuan": baseline,
        "gain_over_baseline_yuan": out - baseline,
        "actions": action_counts(sc, plan),
        "output_per_km2_developed_yuan": out / (land_dev / M2_PER_KM2) if land_dev else 0.0,
        "output_per_km2_all_land_yuan": out / (land_all / M2_PER_KM2),
        "zone_area_km2": _f(sc.total_area_km2),
        "output_per_km2_zone_yuan": _f(out / sc.total_area_km2) if np.isfinite(sc.total_area_km2) else None,
        "jobs": jobs,
        "floor_area_m2": floor,
        "land_all_m2": land_all,
        "land_developed_m2": land_dev,
        "parcels_developed": int(len(df)),
        "parcels_total": int(sc.n_parcels),
        "budget_used_yuan": spent,
        "budget_limit_yuan": _f(sc.rules.total_budget_yuan),
        "metrics": metrics,
        "by_industry": by_k.reset_index().to_dict(orient="records"),
        "by_subarea": by_s.reset_index().rename(columns={"index": "subarea"}).to_dict(orient="records"),
        **neighbour_kpis(sc, df),  # synergy and clusters per industry (scenarios with a neighbour graph)
    }


def phase_kpis(sc: Scenario, plan: pd.DataFrame, df: pd.DataFrame | None = None) -> list[dict]:
    """Per phase: what the plan builds in it (parcels, floor, spending against the phase budget) and what stands
    at its end (floor, yearly output, jobs, beside the phase's reference figure)."""
    from optimizer.solution.check_phases import phase_positions, standing

    df = plan_values(sc, plan) if df is None else df
    t_row = phase_positions(sc, df)
    rows = []
    # an existing use kept as it is carries the phase the solver gave it, but nothing is built or spent there
    kept = np.zeros(len(df), bool)
    if "kept" in df:
        floor_ex = df["existing_floor_m2"].fillna(0.0).to_numpy(float)
        kept = df["kept"].to_numpy(bool) & (df["floor_area_m2"].to_numpy(float) <= floor_ex + 1e-2 + 1e-9 * floor_ex)
    for t, ph in enumerate(sc.phases):
        built = df[(t_row == t) & ~kept]
        now = plan_values(sc, standing(sc, df, t))
        out = float(now["output_yuan"].sum())
        ref = ph.reference_output_yuan
        rows.append({
            "phase": ph.name, "start_year": ph.start_year, "end_year": ph.end_year,
            "parcels_developed": int(len(built)),
            "land_developed_m2": float(built["area_m2"].sum()),
            "floor_built_m2": float(built["floor_area_m2"].sum()),
            "spending_yuan": float(built["cost_total_yuan"].sum()),
            "budget_yuan": _f(ph.budget_yuan),
            "floor_at_end_m2": float(now["floor_area_m2"].sum()),
            "output_at_end_yuan": out,
            "jobs_at_end": float((now["jobs_per_m2"] * now["floor_area_m2"]).sum()),
            "reference_output_yuan": _f(ref),
            "output_vs_reference": _f(out / ref - 1.0) if np.isfinite(ref) and ref > 0 else None,
            "by_industry_floor_m2": {str(k): float(v) for k, v in
                                     now.groupby("industry_id")["floor_area_m2"].sum().items()},
        })
    return rows
