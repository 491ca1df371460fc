"""The independent checker's part for neighbours: synergy recomputed, separation and clusters verified, from the
scenario's tables (synergy.csv, separation.csv, industries.csv) and the plan alone, never from the model.

The graph is the scenario's own (Scenario.neighbours, built by the loader); everything else is pandas joins over
the plan's neighbouring pairs and networkx components, written apart from optimizer.model.neighbours.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from optimizer.data import Scenario

ABS_TOL_M2 = 1e-2
REL_TOL = 1e-6


def plan_edges(sc: Scenario, plan: pd.DataFrame, pairs: np.ndarray) -> pd.DataFrame:
    """The parcel pairs (given as positions) whose parcels are both developed, with their industries and floors:
    parcel_a, parcel_b, industry_a, industry_b, floor_a_m2, floor_b_m2 (and phase_a, phase_b with phases)."""
    pid = sc.parcels["parcel_id"].to_numpy(str)
    e = pd.DataFrame({"parcel_a": pid[pairs[:, 0]], "parcel_b": pid[pairs[:, 1]]}) if len(pairs) else \
        pd.DataFrame({"parcel_a": pd.Series(dtype=str), "parcel_b": pd.Series(dtype=str)})
    cols = ["parcel_id", "industry_id", "floor_area_m2", *(["phase"] if "phase" in plan else [])]
    site = plan[cols].drop_duplicates("parcel_id")
    for side in ("a", "b"):
        e = e.merge(site.rename(columns={"parcel_id": f"parcel_{side}", "industry_id": f"industry_{side}",
                                         "floor_area_m2": f"floor_{side}_m2", "phase": f"phase_{side}"}),
                    on=f"parcel_{side}", how="inner")
    return e


def synergy_by_pair(sc: Scenario, plan: pd.DataFrame) -> pd.DataFrame:
    """Every neighbouring pair of developed parcels that earns synergy, with `synergy_yuan` (a year: per pair
    bonus plus per-m² bonus × the smaller floor) and `joint_years` (discounted years both operate; 1 without
    phases)."""
    nb = sc.neighbours
    empty = pd.DataFrame(columns=["parcel_a", "parcel_b", "industry_a", "industry_b", "synergy_yuan",
                                  "joint_years"])
    if nb is None or nb.synergy is None or not len(nb.synergy) or not len(plan):
        return empty
    e = plan_edges(sc, plan, nb.pairs)
    if not len(e):
        return empty
    syn = nb.synergy
    lo = np.where(syn["industry_a"] <= syn["industry_b"], syn["industry_a"], syn["industry_b"])
    hi = np.where(syn["industry_a"] <= syn["industry_b"], syn["industry_b"], syn["industry_a"])
    rules = pd.DataFrame({"k1": lo, "k2": hi, "basis": syn["basis"].to_numpy(), "bonus": syn["bonus"].to_numpy()})
    per_pair = rules[rules["basis"] == "pair"].groupby(["k1", "k2"])["bonus"].sum().rename("per_pair")
    per_m2 = rules[rules["basis"] == "m2"].groupby(["k1", "k2"])["bonus"].sum().rename("per_m2")
    a, b = e["industry_a"].to_numpy(str), e["industry_b"].to_numpy(str)
    e["k1"], e["k2"] = np.where(a <= b, a, b), np.where(a <= b, b, a)
    e = e.merge(per_pair, left_on=["k1", "k2"], right_index=True, how="left")
    e = e.merge(per_m2, left_on=["k1", "k2"], right_index=True, how="left")
    smaller = np.minimum(e["floor_a_m2"].to_numpy(float), e["floor_b_m2"].to_numpy(float))
    e["synergy_yuan"] = e["per_pair"].fillna(0.0) + e["per_m2"].fillna(0.0) * smaller
    e["joint_years"] = _joint_years(sc, e)
    e = e[e["synergy_yuan"] != 0]
    return e[[*empty.columns]].reset_index(drop=True)


def _joint_years(sc: Scenario, e: pd.DataFrame) -> np.ndarray:
    """Discounted years in which both parcels of each pair operate (1 without phases): per year, the smaller of
    the two operating shares (1 after a development's phase, its own-phase share in it, 0 before)."""
    if not sc.phases or "phase_a" not in e:
        return np.ones(len(e))
    from optimizer.solution.check_phases import OWN_PHASE_SHARE, year_table

    years = year_table(sc)
    names = {ph.name: t for t, ph in enumerate(sc.phases)}
    own = OWN_PHASE_SHARE[sc.phasing.operating_from]
    yp, d = years["phase"].to_numpy()[None, :], years["discount"].to_numpy()[None, :]
    shares = []
    for col in ("phase_a", "phase_b"):
        t = e[col].map(names).fillna(len(sc.phases)).to_numpy(int)[:, None]
        shares.append(np.where(yp > t, 1.0, np.where(yp == t, own, 0.0)))
    return (d * np.minimum(*shares)).sum(axis=1)


def synergy_total(sc: Scenario, plan: pd.DataFrame) -> float:
    """The plan's synergy in objective terms before the objective's own weight (yuan; discounted with phases)."""
    by = synergy_by_pair(sc, plan)
    return float((by["synergy_yuan"] * by["joint_years"]).sum()) if len(by) else 0.0


def synergy_by_parcel(sc: Scenario, plan: pd.DataFrame) -> pd.Series:
    """Per developed parcel: half of the yearly synergy of each of its pairs (parcel_id -> yuan a year)."""
    by = synergy_by_pair(sc, plan)
    half = by["synergy_yuan"] / 2.0
    s = pd.concat([pd.Series(half.to_numpy(), index=by["parcel_a"].to_numpy()),
                   pd.Series(half.to_numpy(), index=by["parcel_b"].to_numpy())])
    return s.groupby(level=0).sum().reindex(plan["parcel_id"].to_numpy(), fill_value=0.0)


def objective_synergy(sc: Scenario, plan: pd.DataFrame, land_m2: float) -> float:
    """What synergy adds to the scenario's objective: + synergy (total_output), + synergy / developed land
    (output_per_land), + weight of output × synergy (weighted)."""
    total = synergy_total(sc, plan)
    ob = sc.objective
    if ob.kind == "weighted":
        return float(ob.weights.get("output", 0.0)) * total
    if ob.kind == "output_per_land":
        return total / land_m2 if land_m2 > 0 else 0.0
    return total


def clusters(sc: Scenario, plan: pd.DataFrame) -> pd.DataFrame:
    """Every connected group of each industry's sites (in the neighbour graph): industry_id, cluster (1, 2, ...
    per industry, largest first), sites, floor_m2, parcels (';'-joined ids)."""
    cols = ["industry_id", "cluster", "sites", "floor_m2", "parcels"]
    nb = sc.neighbours
    if nb is None or not len(plan):
        return pd.DataFrame(columns=cols)
    e = plan_edges(sc, plan, nb.pairs)
    e = e[e["industry_a"] == e["industry_b"]]
    site = plan.drop_duplicates("parcel_id")
    floor = dict(zip(site["parcel_id"], site["floor_area_m2"].astype(float), strict=True))
    rows = []
    for k, sites in plan.groupby("industry_id")["parcel_id"]:
        g = nx.Graph()
        g.add_nodes_from(sites)
        own = e[e["industry_a"] == k]
        g.add_edges_from(zip(own["parcel_a"], own["parcel_b"], strict=True))
        comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c[0]))
        for i, c in enumerate(comps, start=1):
            rows.append((k, i, len(c), float(sum(floor[p] for p in c)), ";".join(c)))
    return pd.DataFrame(rows, columns=cols)


def neighbour_violations(sc: Scenario, plan: pd.DataFrame) -> tuple[list[str], int]:
    """Broken separation and cluster rules of a plan (parcel_id, industry_id, floor_area_m2), and how many rules
    were checked."""
    nb = sc.neighbours
    if nb is None:
        return [], 0
    out: list[str] = []
    n_rules = 0
    for rule in nb.separation:
        n_rules += 1
        e = plan_edges(sc, plan, rule.pairs)
        hit = ((e["industry_a"] == rule.industry_a) & (e["industry_b"] == rule.industry_b)) | (
            (e["industry_a"] == rule.industry_b) & (e["industry_b"] == rule.industry_a))
        how = "neighbours" if np.isnan(rule.min_distance_m) else f"within {rule.min_distance_m:,.6g} m"
        for r in e[hit].itertuples(index=False):
            out.append(f"separation: {r.industry_a} on {r.parcel_a} and {r.industry_b} on {r.parcel_b} are {how} "
                       f"(separation row {rule.row})")
    ind = sc.industries.set_index("industry_id")
    targets = {k: (r.cluster_min_sites, r.cluster_min_floor_m2) for k, r in ind.iterrows()
               if np.isfinite(r.cluster_min_sites) or np.isfinite(r.cluster_min_floor_m2)}
    if targets:
        groups = clusters(sc, plan)
        for k, (s_min, a_min) in targets.items():
            n_rules += 1
            for r in groups[groups["industry_id"] == k].itertuples(index=False):
                if np.isfinite(s_min) and r.sites < s_min:
                    out.append(f"cluster: {k} on {r.parcels} is a group of {r.sites} site(s), fewer than "
                               f"{s_min:.0f}")
                if np.isfinite(a_min) and r.floor_m2 < a_min - ABS_TOL_M2 - REL_TOL * a_min:
                    out.append(f"cluster: {k} on {r.parcels} has {r.floor_m2:,.1f} m² of floor, below "
                               f"{a_min:,.0f} m²")
    return out, n_rules


def neighbour_kpis(sc: Scenario, plan: pd.DataFrame) -> dict:
    """The plan's synergy (yuan a year) and its number of clusters per industry (connected groups of sites),
    for KPIs; {} without a neighbour graph."""
    if sc.neighbours is None:
        return {}
    by = synergy_by_pair(sc, plan)
    groups = clusters(sc, plan)
    return {"synergy_yuan": float(by["synergy_yuan"].sum()) if len(by) else 0.0,
            "neighbour_pairs": int(sc.neighbours.n_pairs),
            "clusters_by_industry": {str(k): int(v) for k, v in groups.groupby("industry_id").size().items()}}


def neighbours_table(sc: Scenario, plan: pd.DataFrame) -> pd.DataFrame:
    """The neighbour graph written with the plan: parcel_a, parcel_b, industry_a, industry_b (blank where a
    parcel is not developed), synergy_yuan (a year)."""
    pid = sc.parcels["parcel_id"].to_numpy(str)
    p = sc.neighbours.pairs
    out = pd.DataFrame({"parcel_a": pid[p[:, 0]], "parcel_b": pid[p[:, 1]]})
    k = plan.drop_duplicates("parcel_id").set_index("parcel_id")["industry_id"]
    out["industry_a"] = out["parcel_a"].map(k).fillna("")
    out["industry_b"] = out["parcel_b"].map(k).fillna("")
    by = synergy_by_pair(sc, plan)
    s = by.set_index(["parcel_a", "parcel_b"])["synergy_yuan"] if len(by) else pd.Series(dtype=float)
    idx = pd.MultiIndex.from_frame(out[["parcel_a", "parcel_b"]])
    out["synergy_yuan"] = s.reindex(idx).fillna(0.0).to_numpy() if len(s) else 0.0
    return out
