"""The synthetic-city generator: seeded, vectorised, valid through build_scenario, rules that bite."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from optimizer.bench.synthetic import (
    CASES,
    ZONES,
    Case,
    city_frames,
    resolve_case,
    synthetic_city,
    to_toml,
    write_city,
)
from optimizer.model import eligible_pairs
from optimizer.pipeline import solve_scenario
from optimizer.scenario import load_scenario


@pytest.fixture(scope="module")
def s1k():
    return synthetic_city("s1k")


def test_case_registry():
    assert list(CASES) == ["s1k", "s10k", "s50k", "s100k", "s1m", "t10k", "t50k", "t200k", "t1m", "q100k", "q1m"]
    assert [c.n_parcels for c in CASES.values()] == [1_000, 10_000, 50_000, 100_000, 1_000_000,
                                                     10_000, 50_000, 200_000, 1_000_000, 100_000, 1_000_000]
    assert all(12 <= c.n_industries <= 20 for c in CASES.values())
    assert {c.family for c in CASES.values()} == {"city", "tight", "qianhai"}
    assert resolve_case("2500") == Case("n2500", 2500, 12)
    assert resolve_case("t2500") == Case("t2500", 2500, 12, family="tight")
    assert resolve_case("q2500") == Case("q2500", 2500, 18, family="qianhai")
    assert resolve_case("t10k", seed=2) == Case("t10k", 10_000, 12, seed=2, family="tight")
    assert resolve_case("s10k", seed=3).seed == 3
    with pytest.raises(ValueError, match="unknown case"):
        resolve_case("s2k")
    with pytest.raises(ValueError, match="n_industries"):
        resolve_case("s1k", n_industries=21)


def test_same_seed_same_tables_other_seed_other_tables():
    a_cfg, a = city_frames(500)
    b_cfg, b = city_frames(500)
    assert a_cfg == b_cfg
    for role in a:
        pd.testing.assert_frame_equal(a[role], b[role])
    _, c = city_frames(500, seed=1)
    assert not a["parcels"]["area_m2"].equals(c["parcels"]["area_m2"])


def test_s1k_is_a_valid_city(s1k):
    par, ind = s1k.parcels, s1k.industries
    assert s1k.n_parcels == 1000 and s1k.n_industries == 12
    assert par["parcel_id"].is_unique and par["parcel_id"].iloc[0] == "P000"
    assert set(par["zone"]) == set(ZONES)  # the full zoning mix
    assert par["area_m2"].between(5000, 80000).all()
    assert par["area_m2"].median() == pytest.approx(16000, rel=0.15)
    far = par.groupby("zone")["far_max"].agg(["min", "max"])
    assert far.loc["B2", "min"] >= 3.0 and far.loc["G1", "max"] <= 0.3 and far.loc["M1", "max"] <= 2.5
    assert par["subarea"].nunique() == 9  # 3×3 grid of districts
    assert (par["dev_cost_per_m2"] > 0).all()
    # every zone has an industry that may use it
    assert {z for zs in ind["allowed_zones"] for z in zs.split(";")} >= set(ZONES)
    # network with the node types the access rules use
    types = set(s1k.network.nodes["type"])
    assert {"metro", "airport", "seaport"} <= types
    assert {r.node_type for r in s1k.rules.access_rules} <= types
    assert s1k.access is not None and len(s1k.access) == 1000


def test_access_rules_remove_pairs(s1k):
    pairs = eligible_pairs(s1k)
    kidx = s1k.industry_index()
    zone_ok = s1k.parcels["zone"].isin(["B2", "B1"]).to_numpy()  # finance's zones
    finance = np.zeros(s1k.n_parcels, bool)
    finance[pairs.parcel[pairs.industry == kidx["finance"]]] = True
    metro = s1k.access["metro"].to_numpy()
    assert finance.sum() < zone_ok.sum()  # access (≤ 15 min to a metro station) cuts some B1/B2 parcels
    assert (metro[finance] <= 15.0).all()
    assert (finance <= zone_ok).all()


def test_rules_bind_in_the_optimum():
    """Budget and some demand caps are tight at the optimum; the plan passes the independent check."""
    sc = synthetic_city(400)
    res = solve_scenario(sc, solver="highs", mip_gap=1e-3, time_limit_s=30)
    assert res.check.passed
    k = res.kpis
    assert k["budget_used_yuan"] >= 0.995 * sc.rules.total_budget_yuan
    floor = {r["industry_id"]: r["floor_m2"] for r in k["by_industry"]}
    caps = sc.industries.set_index("industry_id")["max_floor_total_m2"].dropna()
    assert any(floor[i] >= 0.99 * cap for i, cap in caps.items())
    mins = sc.industries.set_index("industry_id")["min_floor_total_m2"].dropna()
    assert len(mins) >= 1 and all(floor[i] >= 0.999 * v for i, v in mins.items())


def test_write_city_folder_loads_back_identically(tmp_path):
    write_city(300, tmp_path / "city")
    loaded = load_scenario(tmp_path / "city")
    direct = synthetic_city(300)
    cols = ["parcel_id", "area_m2", "zone", "far_max", "subarea", "x", "y", "dev_cost_per_m2", "must_develop"]
    pd.testing.assert_frame_equal(loaded.parcels[cols], direct.parcels[cols])
    pd.testing.assert_frame_equal(loaded.industries.drop(columns="_row"), direct.industries.drop(columns="_row"))
    assert loaded.rules == direct.rules
    assert len(eligible_pairs(loaded)) == len(eligible_pairs(direct))
    np.testing.assert_allclose(loaded.access.to_numpy(), direct.access.to_numpy())


def test_to_toml_round_trips():
    import tomllib

    cfg = {"scenario": {"name": "x", "assumptions": ["a \"quoted\" one"]}, "rules": {"total_budget_yuan": 1.5e9,
           "industry_budget_yuan": {"a": 2.0}}, "access_rules": [{"industry": "a", "node_type": "metro",
                                                                  "max_minutes": 12.0}]}
    assert tomllib.loads(to_toml(cfg)) == cfg


def test_generation_is_vectorised():
    t = time.perf_counter()
    _, frames = city_frames("s100k")
    assert time.perf_counter() - t < 3.0
    assert len(frames["parcels"]) == 100_000


@pytest.mark.slow
def test_million_parcels_generate_in_seconds():
    t = time.perf_counter()
    _, frames = city_frames("s1m")
    assert time.perf_counter() - t < 10.0
    assert len(frames["parcels"]) == 1_000_000 and frames["parcels"]["parcel_id"].is_unique


def test_the_tight_family_binds_what_it_says():
    """The tight family: wide output densities, a pair table (60 % of pairs out, own FAR caps and costs),
    demand minimums on most industries, and the budget and the traffic cap both binding at the optimum; the
    same case gives the same tables; every backend agrees on a small one."""
    cfg, frames = city_frames("t2000")
    cfg2, frames2 = city_frames("t2000")
    assert cfg == cfg2 and all(frames[r].equals(frames2[r]) for r in frames)
    pairs = frames["pairs"]
    assert 0.5 < 1 - pairs["eligible"].mean() < 0.7  # 60 % of zone-compatible pairs excluded
    kept = pairs[pairs["eligible"]]
    assert kept["far_max"].notna().all() and kept["cost_per_m2"].notna().all()
    sc = synthetic_city("t2000")
    out = sc.industries["output_per_m2"]
    assert out.max() / out.min() > 20  # densities over more than an order of magnitude
    with_min = sc.industries["min_floor_total_m2"].notna()
    assert with_min.mean() >= 0.5
    r = solve_scenario(sc, solver="highs", mip_gap=1e-4)
    assert r.check.passed and r.status == "optimal"
    assert r.kpis["budget_used_yuan"] >= 0.99 * sc.rules.total_budget_yuan  # the budget binds
    (trips,) = [m for m in sc.rules.metric_rules if m.metric == "trips"]
    assert r.kpis["metrics"]["trips"] >= 0.99 * trips.max  # and the traffic cap beside it
    floor = r.plan.assignment.groupby("industry_id")["floor_area_m2"].sum()
    mins = sc.industries.set_index("industry_id")["min_floor_total_m2"].dropna()
    binding = (floor.reindex(mins.index).fillna(0) <= mins * 1.001).mean()
    assert binding >= 0.5  # most demand minimums bind
    for solver in ("lagrange", "auto", "cbc"):
        other = solve_scenario(sc, solver=solver, mip_gap=1e-4, time_limit_s=60)
        assert other.check.passed
        assert other.plan.objective == pytest.approx(r.plan.objective, rel=2e-4)


def test_the_qianhai_family_switches_on_the_qianhai_rules_and_binds_them():
    """The qianhai family: carriers (usable share, least floor per site, teams and patents per m²), carrier
    totals, district minimums and R&D shares; at the optimum the plan sits on district minimums and on both
    carrier totals; the same case gives the same tables; every backend agrees on a small one."""
    cfg, frames = city_frames("q1000")
    cfg2, frames2 = city_frames("q1000")
    assert cfg == cfg2 and all(frames[r].equals(frames2[r]) for r in frames)
    sc = synthetic_city("q1000")
    ind = sc.industries.set_index("industry_id")
    assert (ind.loc[["rnd", "it", "culture"], "usable_share"] < 1).all()
    assert (ind.loc[["rnd", "it", "culture"], "min_floor_m2"] >= 1000).all()
    assert {m.metric for m in sc.rules.metric_rules} == {"teams", "patents"}
    mixes = cfg["subarea_mix"]
    k = min(10, frames["parcels"]["subarea"].nunique() // 2)  # ten districts each (at most half of them)
    assert sum("min_floor_m2" in x for x in mixes) == k and sum(x.get("industry") == "rnd" for x in mixes) == k
    r = solve_scenario(sc, solver="highs", mip_gap=1e-4)
    assert r.check.passed and r.status == "optimal"
    for rule in sc.rules.metric_rules:  # both carrier totals within 0.5 % of their minimum
        assert (1 - 1e-9) * rule.min <= r.kpis["metrics"][rule.metric] <= 1.005 * rule.min
    plan = r.plan.assignment
    district = plan["parcel_id"].map(sc.parcels.set_index("parcel_id")["subarea"])
    by_district = plan["floor_area_m2"].groupby(district.to_numpy()).sum()
    sitting = [by_district.get(x["subarea"], 0.0) <= 1.001 * x["min_floor_m2"] for x in mixes if "min_floor_m2" in x]
    assert sum(sitting) >= 3  # several district minimums bind
    for solver in ("lagrange", "auto", "cbc"):
        other = solve_scenario(sc, solver=solver, mip_gap=1e-4, time_limit_s=60)
        assert other.check.passed
        assert other.plan.objective == pytest.approx(r.plan.objective, rel=2e-4)
