"""The independent checker catches each kind of broken plan, and passes the correct ones.

One in-code scenario (`rich`) carries every rule family; each test adds the rule it is about, shows that a
hand-made correct plan passes, then breaks that plan in one way and looks for the violation that names it.
All numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import industry, make_scenario, parcel, plan

from optimizer.pipeline import solve_scenario
from optimizer.solution import check_plan

# A1..A4 can be developed, A5 (zone G1) cannot. A4 must be developed.
PARCELS = [
    parcel("A1", 10_000, "B2", 4, "core", x=0, y=0, dev_cost_per_m2=1000),
    parcel("A2", 10_000, "B2", 3, "core", x=500, y=0, dev_cost_per_m2=1000),
    parcel("A3", 20_000, "M1", 2, "port", x=0, y=2000, dev_cost_per_m2=500),
    parcel("A4", 20_000, "M1", 2, "port", x=500, y=2000, dev_cost_per_m2=500, must_develop=True),
    parcel("A5", 5_000, "G1", 1, "core", x=250, y=1000),
]
INDUSTRIES = [
    industry("fin", 50_000, "B2", 1, 6, jobs_per_m2=0.05, teams_per_m2=0.0),
    industry("tech", 30_000, "B2;M1", 1, 4, jobs_per_m2=0.04, teams_per_m2=0.01, usable_share=0.8),
    industry("log", 10_000, "M1", 0.5, 2, jobs_per_m2=0.01, teams_per_m2=0.0),
]
# Caps: A1 fin 4*10,000 = 40,000; A2 tech 3*10,000 = 30,000; A3 log 2*20,000 = 40,000; A4 tech 2*20,000 = 40,000.
GOOD = [("A1", "fin", 40_000.0), ("A2", "tech", 30_000.0), ("A3", "log", 40_000.0), ("A4", "tech", 40_000.0)]
GOOD_OBJECTIVE = 40_000 * 50_000 + 70_000 * 30_000 + 40_000 * 10_000  # 4.5e9 yuan
GOOD_COST = 1000 * 40_000 + 1000 * 30_000 + 500 * 40_000 + 500 * 40_000  # 1.1e8 yuan
# Network for the access rule: metro M at (0, 0), junction J at (0, 2000), edge J-M 2 km at 6 km/h = 20 min;
# access links 1, at 12 km/h, detour 1: A2 is 500 m (2.5 min) from M; A4 is 500 m (2.5 min) from J, + 20 = 22.5 min.
NODES = [{"node_id": "M", "type": "metro", "x": 0, "y": 0}, {"node_id": "J", "type": "junction", "x": 0, "y": 2000}]
EDGES = [{"from_node": "J", "to_node": "M", "speed_kmh": 6}]
NETWORK = {"crs": "local_m", "access_speed_kmh": 12.0, "access_links": 1, "detour_factor": 1.0}


def rich(industry_changes: dict | None = None, config: dict | None = None, **tables):
    inds = [dict(r, **(industry_changes or {}).get(r["industry_id"], {})) for r in INDUSTRIES]
    return make_scenario(PARCELS, inds, config, **tables)


def replace_rows(rows, **changes):
    """GOOD with some parcels' (industry, floor) replaced; None drops the parcel."""
    out = []
    for p, k, f in rows:
        if p in changes:
            if changes[p] is None:
                continue
            k, f = changes[p]
        out.append((p, k, f))
    return out


def assert_catches(sc, good, broken, *words, only=True):
    ok = check_plan(sc, plan(*good))
    assert ok.passed, ok.violations
    assert ok.violations == []
    bad = check_plan(sc, plan(*broken))
    assert not bad.passed
    hits = [v for v in bad.violations if all(w in v for w in words)]
    assert hits, f"no violation with {words}: {bad.violations}"
    if only:
        assert len(bad.violations) == 1, bad.violations
    return bad


def test_correct_plan_passes_and_objective_is_recomputed():
    sc = rich()
    report = check_plan(sc, plan(*GOOD), objective=GOOD_OBJECTIVE)
    assert report.passed and report.violations == []
    assert report.objective == pytest.approx(4.5e9, rel=1e-12)


def test_objective_mismatch():
    sc = rich()
    report = check_plan(sc, plan(*GOOD), objective=GOOD_OBJECTIVE * 1.001)
    assert not report.passed
    assert len(report.violations) == 1
    assert "differs from the plan's recomputed value" in report.violations[0]
    assert "4.5e+09" in report.violations[0]


def test_objective_accounts_for_cost_weight():
    sc = rich(config={"objective": {"cost_weight": 2.0}})
    expected = GOOD_OBJECTIVE - 2.0 * GOOD_COST
    assert check_plan(sc, plan(*GOOD), objective=expected).passed
    assert not check_plan(sc, plan(*GOOD), objective=GOOD_OBJECTIVE).passed


def test_unknown_parcel():
    assert_catches(rich(), GOOD, GOOD + [("ZZ", "fin", 1000.0)], "unknown parcel 'ZZ'")


def test_unknown_industry():
    assert_catches(rich(), GOOD, replace_rows(GOOD, A2=("mining", 30_000.0)),
                   "unknown industry 'mining'", "A2")


def test_parcel_twice():
    assert_catches(rich(), GOOD, GOOD + [("A1", "tech", 10_000.0)], "parcel A1 has more than one industry")


def test_zone_not_allowed():
    # fin on A3 at FAR 1 respects every density rule; only zoning (M1 has no fin) is broken
    assert_catches(rich(), GOOD, replace_rows(GOOD, A3=("fin", 20_000.0)), "A3", "zone M1 does not allow fin")


def test_subarea_admission():
    sc = rich(config={"subarea_allow": [{"subarea": "port", "industries": ["log"]}]})
    good = replace_rows(GOOD, A4=("log", 40_000.0))
    assert_catches(sc, good, GOOD, "A4", "tech may not locate in sub-area port")


def test_access_rule():
    sc = rich(config={"network": NETWORK,
                      "access_rules": [{"industry": "tech", "node_type": "metro", "max_minutes": 10.0}]},
              nodes=NODES, edges=EDGES)
    assert sc.access["metro"].iloc[[1, 3]].tolist() == pytest.approx([2.5, 22.5])
    good = replace_rows(GOOD, A4=("log", 40_000.0))
    assert_catches(sc, good, GOOD, "A4", "tech is 22.5 min from the nearest metro", "limit 10 min")


def test_pair_table_exclusion():
    sc = rich(pairs=[{"parcel_id": "A2", "industry_id": "tech", "eligible": False}])
    good = replace_rows(GOOD, A2=("fin", 30_000.0))
    assert_catches(sc, good, GOOD, "A2", "the pair table excludes tech")


def test_far_cap_exceeded():
    assert_catches(rich(), GOOD, replace_rows(GOOD, A1=("fin", 41_000.0)), "A1", "exceeds the FAR cap",
                   "40,000.0 m²")


def test_far_cap_is_the_lower_of_parcel_and_industry():
    # tech's own cap (FAR 4) is above A2's (FAR 3): the parcel's cap binds
    assert_catches(rich(), GOOD, replace_rows(GOOD, A2=("tech", 31_000.0)), "A2", "exceeds the FAR cap",
                   "30,000.0 m²")


def test_below_far_min():
    # log far_min 0.5 on 20,000 m² of land: at least 10,000 m² of floor
    assert_catches(rich(), GOOD, replace_rows(GOOD, A3=("log", 9_000.0)), "A3", "below its least viable floor",
                   "10,000.0 m²")


def test_below_min_floor():
    sc = rich({"tech": {"min_floor_m2": 25_000}})
    # 24,000 m² on A2 is FAR 2.4, above tech's far_min 1, but below its smallest viable site
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("tech", 24_000.0)), "A2", "below its least viable floor",
                   "25,000.0 m²")


def test_non_positive_floor():
    bad = check_plan(rich(), plan(*replace_rows(GOOD, A1=("fin", 0.0))))
    assert not bad.passed
    assert any("A1" in v and "not a positive number" in v for v in bad.violations)
    bad = check_plan(rich(), plan(*replace_rows(GOOD, A1=("fin", np.nan))))
    assert any("A1" in v and "not a positive number" in v for v in bad.violations)


def test_must_develop_missing():
    assert_catches(rich(), GOOD, replace_rows(GOOD, A4=None), "parcel A4 must be developed but has no industry")


def test_demand_min():
    sc = rich({"tech": {"min_floor_total_m2": 70_000}})  # GOOD has exactly 70,000 m² of tech
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("tech", 29_000.0)), "tech: total floor 69,000 m²",
                   "below its demand floor 70,000 m²")


def test_demand_max():
    sc = rich({"fin": {"max_floor_total_m2": 40_000}})
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("fin", 30_000.0)), "fin: total floor 70,000 m²",
                   "above its demand cap 40,000 m²")


def test_share_min():
    sc = rich({"fin": {"min_share": 0.25}})  # GOOD: 40,000 / 150,000 = 26.67 %
    # 30,000 / 140,000 = 21.43 %
    assert_catches(sc, GOOD, replace_rows(GOOD, A1=("fin", 30_000.0)), "fin: share of all floor 21.4286%",
                   "below 25.0000%")


def test_share_max():
    sc = rich({"log": {"max_share": 0.3}})  # GOOD: 40,000 / 150,000 = 26.67 %
    # log on A3 and A4: 80,000 / 150,000 = 53.33 %
    assert_catches(sc, GOOD, replace_rows(GOOD, A4=("log", 40_000.0)), "log: share of all floor 53.3333%",
                   "above 30.0000%")


def test_sites_min():
    sc = rich({"tech": {"min_sites": 2}})
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=None), "tech: 1 sites, fewer than the required 2")


def test_sites_max():
    sc = rich({"log": {"max_sites": 1}})
    assert_catches(sc, GOOD, replace_rows(GOOD, A4=("log", 40_000.0)), "log: 2 sites, more than the allowed 1")


def test_total_budget():
    sc = rich(config={"rules": {"total_budget_yuan": 1.0e8}})
    good = replace_rows(GOOD, A3=("log", 20_000.0))  # 4e7 + 3e7 + 1e7 + 2e7 = 1.0e8 yuan: exactly on budget
    broken = replace_rows(GOOD, A3=("log", 30_000.0))  # 1.05e8 yuan
    assert_catches(sc, good, broken, "development cost 105,000,000 yuan exceeds the total budget 100,000,000 yuan")


def test_total_budget_counts_pair_costs():
    sc = rich(config={"rules": {"total_budget_yuan": 1.0e8}},
              pairs=[{"parcel_id": "A1", "industry_id": "fin", "cost_yuan": 5e6}])
    good = replace_rows(GOOD, A3=("log", 15_000.0))  # 1.0e8 - 2.5e6 + 5e6 = 1.025e8: over
    report = check_plan(sc, plan(*good))
    assert not report.passed
    assert any("development cost 102,500,000 yuan exceeds" in v for v in report.violations)
    assert check_plan(sc, plan(*replace_rows(GOOD, A3=("log", 10_000.0)))).passed  # 1.0e8 exactly


def test_industry_budget_over_pair_costs():
    sc = rich(config={"rules": {"industry_budget_yuan": {"tech": 5e6}}},
              pairs=[{"parcel_id": "A4", "industry_id": "tech", "cost_yuan": 5e6},
                     {"parcel_id": "A2", "industry_id": "tech", "cost_yuan": 3e6}])
    good = replace_rows(GOOD, A2=("fin", 30_000.0))  # tech only on A4: 5e6, on budget
    assert_catches(sc, good, GOOD, "tech: pair costs 8e+06 exceed its budget 5e+06")


def test_subarea_mix_min():
    sc = rich(config={"subarea_mix": [{"subarea": "port", "industry": "tech", "min_share": 0.5}]})
    # GOOD: port has 40,000 tech of 80,000 = 50 %; broken: 30,000 of 70,000 = 42.86 %
    assert_catches(sc, GOOD, replace_rows(GOOD, A4=("tech", 30_000.0)),
                   "sub-area port: tech has 42.8571% of the floor, below 50.0000%")


def test_subarea_mix_max():
    sc = rich(config={"subarea_mix": [{"subarea": "core", "industry": "fin", "max_share": 0.6}]})
    # GOOD: core has 40,000 fin of 70,000 = 57.14 %; broken: 40,000 of 50,000 = 80 %
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("tech", 10_000.0)),
                   "sub-area core: fin has 80.0000% of the floor, above 60.0000%")


def test_subarea_floor_min_all_industries():
    # GOOD: port holds 40,000 + 40,000 = 80,000 m² (all industries together); broken: 30,000 + 40,000
    sc = rich(config={"subarea_mix": [{"subarea": "port", "industry": "*", "min_floor_m2": 80_000}]})
    assert_catches(sc, GOOD, replace_rows(GOOD, A3=("log", 30_000.0)),
                   "sub-area port: all industries has 70,000 m² of floor, below 80,000 m²")


def test_subarea_floor_max_one_industry():
    sc = rich(config={"subarea_mix": [{"subarea": "core", "industry": "fin", "max_floor_m2": 40_000}]})
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("fin", 30_000.0)),
                   "sub-area core: fin has 70,000 m² of floor, above 40,000 m²")


def test_metric_rule_min():
    # teams = 0.01 per usable m² × usable share 0.8 × 70,000 m² of tech = 560
    sc = rich(config={"metric_rules": [{"metric": "teams", "min": 560.0}]})
    assert_catches(sc, GOOD, replace_rows(GOOD, A2=("tech", 20_000.0)),  # 60,000 × 0.008 = 480
                   "total teams 480 below the required 560")


def test_metric_rule_max_counts_only_listed_industries():
    sc = rich({"log": {"teams_per_m2": 1.0}},
              config={"metric_rules": [{"metric": "teams", "max": 600.0, "industries": ["tech"]}]})
    # log's teams do not count; tech on A3 too: 110,000 × 0.008 = 880
    assert_catches(sc, GOOD, replace_rows(GOOD, A3=("tech", 40_000.0)), "total teams 880 above the allowed 600")


def test_plan_without_floor_column():
    report = check_plan(rich(), pd.DataFrame({"parcel_id": ["A1"], "industry_id": ["fin"]}))
    assert not report.passed
    assert "plan lacks columns" in report.violations[0]


# --- plans from the solver, then broken ----------------------------------------------------------------------
def test_solved_tiny_plan_passes_and_breaks(tiny, tiny_result):
    good = tiny_result.plan.assignment
    assert check_plan(tiny, good, tiny_result.plan.objective).passed
    # more floor on P1 breaks its FAR cap (5 × 10,000) and finance's demand cap (50,000)
    broken = good.copy()
    broken.loc[broken["parcel_id"] == "P1", "floor_area_m2"] = 60_000.0
    report = check_plan(tiny, broken)
    assert not report.passed
    assert any("P1" in v and "exceeds the FAR cap" in v for v in report.violations)
    assert any("finance: total floor 60,000 m² above its demand cap 50,000 m²" in v for v in report.violations)
    # P4 must be developed
    report = check_plan(tiny, good[good["parcel_id"] != "P4"])
    assert report.violations == ["parcel P4 must be developed but has no industry"]
    # the factory's demand floor (20,000 m²)
    report = check_plan(tiny, good[good["industry_id"] != "factory"])
    assert any("factory: total floor 0 m² below its demand floor 20,000 m²" in v for v in report.violations)


def test_solved_rich_plan_passes_and_breaks():
    sc = rich({"tech": {"min_sites": 1, "max_share": 0.6}, "log": {"min_floor_total_m2": 20_000}},
              config={"rules": {"total_budget_yuan": 9.0e7},
                      "subarea_mix": [{"subarea": "port", "industry": "log", "min_share": 0.3}],
                      "metric_rules": [{"metric": "teams", "min": 100.0}]})
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    solved = result.plan.assignment
    assert result.check.passed
    assert check_plan(sc, solved, result.plan.objective).passed
    assert "A4" in set(solved["parcel_id"])
    # every floor 50 % up: over the FAR caps of the parcels built at their cap, and over budget
    broken = solved.assign(floor_area_m2=solved["floor_area_m2"] * 1.5)
    report = check_plan(sc, broken)
    assert not report.passed
    assert any("exceeds the total budget" in v for v in report.violations)
    # dropping the must-develop parcel
    report = check_plan(sc, solved[solved["parcel_id"] != "A4"])
    assert any("parcel A4 must be developed" in v for v in report.violations)
