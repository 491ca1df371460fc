"""Infeasible scenarios are explained in the planner's terms: before solving (precheck) and after (diagnosis).

The base is scenarios/tiny rebuilt in code (capacities by hand: finance may use P1 (50,000 m² at FAR 5) and P2
(40,000 m² at FAR 2); it may use P1..P4; factory P3 (60,000 m²) and P4 (15,000 m²); P5 (zone G1) takes nothing).
"""

from __future__ import annotations

import pytest
from helpers import industry, make_scenario, parcel

from optimizer.errors import InfeasibleScenario
from optimizer.model import build_model, eligible_pairs
from optimizer.pipeline import solve_scenario
from optimizer.solution.explain import diagnose, elastic_model, precheck
from optimizer.solvers import SolveOptions, solve_milp


def tiny_parcels(**changes):
    rows = [parcel("P1", 10_000, "B2", 5, "core"), parcel("P2", 20_000, "B2", 2, "core"),
            parcel("P3", 30_000, "M1", 2, "edge"), parcel("P4", 10_000, "M1", 1.5, "edge", must_develop=True),
            parcel("P5", 5_000, "G1", 0.2, "core")]
    return [dict(r, **changes.get(r["parcel_id"], {})) for r in rows]


def tiny_industries(**changes):
    rows = [industry("finance", 50_000, "B2", 2, 6, max_floor_total_m2=50_000),
            industry("it", 30_000, "B2;M1", 1, 4, max_floor_total_m2=60_000),
            industry("factory", 10_000, "M1", 0.5, 2, min_floor_total_m2=20_000)]
    return [dict(r, **changes.get(r["industry_id"], {})) for r in rows]


MIX = "finance share of sub-area edge's floor at least 50.0%"


def conflicts_of(sc) -> list[str]:
    with pytest.raises(InfeasibleScenario) as exc:
        solve_scenario(sc, solver="highs")
    assert exc.value.conflicts
    assert all(c in str(exc.value) for c in exc.value.conflicts)
    return exc.value.conflicts


def test_feasible_tiny_has_no_conflicts():
    sc = make_scenario(tiny_parcels(), tiny_industries())
    assert precheck(sc, eligible_pairs(sc)) == []
    assert diagnose(build_model(sc)) is None  # the elastic model needs no slack: nothing conflicts
    assert solve_scenario(sc, solver="highs").check.passed


# --- before solving ------------------------------------------------------------------------------------------
def test_demand_above_eligible_capacity():
    # factory can hold 60,000 + 15,000 = 75,000 m²
    sc = make_scenario(tiny_parcels(), tiny_industries(factory={"min_floor_total_m2": 80_000}))
    conflicts = conflicts_of(sc)
    assert any("demand floor of factory (80,000 m²)" in c and "75,000 m² on 2 parcels" in c for c in conflicts)


def test_must_develop_parcel_without_eligible_industry():
    sc = make_scenario(tiny_parcels(P5={"must_develop": True}), tiny_industries())
    conflicts = conflicts_of(sc)
    assert any("parcel P5 must be developed" in c and "zone G1" in c for c in conflicts)


def test_min_sites_above_eligible_parcels():
    sc = make_scenario(tiny_parcels(), tiny_industries(finance={"min_sites": 3}))
    conflicts = conflicts_of(sc)
    assert any("finance needs at least 3 sites but only 2 parcels are eligible" in c for c in conflicts)


def test_sites_floor_above_demand_cap():
    # two finance sites need at least 2 × 10,000 (P1) + 2 × 20,000 (P2) = 60,000 m², above the cap 50,000
    sc = make_scenario(tiny_parcels(), tiny_industries(finance={"min_sites": 2}))
    conflicts = conflicts_of(sc)
    assert any("finance: 2 sites need at least 60,000 m² of floor, above its demand cap 50,000 m²" in c
               for c in conflicts)


def test_min_shares_above_one():
    sc = make_scenario(tiny_parcels(), tiny_industries(finance={"min_share": 0.6}, it={"min_share": 0.5}))
    conflicts = conflicts_of(sc)
    assert any("minimum shares of total floor add up to 110.0%" in c for c in conflicts)


def test_metric_minimum_out_of_reach():
    # teams only from it: 0.001/m² × it's floor cap per parcel (P1 at it's FAR 4: 40,000; P2 40,000; P3 60,000;
    # P4 15,000) = 155
    sc = make_scenario(tiny_parcels(), tiny_industries(it={"teams_per_m2": 0.001}, finance={"teams_per_m2": 0.0},
                                                       factory={"teams_per_m2": 0.0}),
                       {"metric_rules": [{"metric": "teams", "min": 200.0}]})
    conflicts = conflicts_of(sc)
    assert any("total teams must reach 200" in c and "at most 155" in c for c in conflicts)


def test_subarea_floor_above_what_its_parcels_hold():
    # edge: P3 holds at most 60,000 m² (FAR 2 × 30,000; it or factory), P4 15,000 (FAR 1.5): 75,000 together
    sc = make_scenario(tiny_parcels(), tiny_industries(),
                       {"subarea_mix": [{"subarea": "edge", "min_floor_m2": 80_000}]})
    conflicts = conflicts_of(sc)
    assert any("sub-area edge must hold at least 80,000 m² of floor" in c and "at most 75,000 m²" in c
               for c in conflicts)
    # 75,000 fits
    sc = make_scenario(tiny_parcels(), tiny_industries(), {"subarea_mix": [{"subarea": "edge", "min_floor_m2": 75_000}]})
    floor = solve_scenario(sc, solver="highs").plan.assignment.groupby("subarea")["floor_area_m2"].sum()
    assert floor["edge"] == pytest.approx(75_000)


def test_precheck_message_says_before_solving():
    sc = make_scenario(tiny_parcels(), tiny_industries(finance={"min_sites": 3}))
    with pytest.raises(InfeasibleScenario, match="found before solving"):
        solve_scenario(sc, solver="highs")


# --- after solving: the elastic diagnosis ----------------------------------------------------------------------
def test_budget_too_small_for_the_demand_floors():
    # shares 0.5 + 0.4 <= 1 and every floor fits the parcels, but the floors cost more than the budget:
    # finance ≥ 20,000 m² at 1,000 yuan/m² (2e7) and factory ≥ 20,000 m² at 500 yuan/m² (1e7) = 3e7 > 2e7
    par = [dict(p, dev_cost_per_m2=1000 if p["zone"] == "B2" else 500) for p in tiny_parcels()]
    inds = tiny_industries(finance={"min_share": 0.5, "min_floor_total_m2": 20_000}, factory={"min_share": 0.4})
    sc = make_scenario(par, inds, {"rules": {"total_budget_yuan": 2.0e7}})
    assert precheck(sc, eligible_pairs(sc)) == []  # not visible before solving
    conflicts = conflicts_of(sc)
    assert "total development budget ≤ 20,000,000 yuan" in conflicts
    with pytest.raises(InfeasibleScenario, match="proved that no plan satisfies all rules"):
        solve_scenario(sc, solver="highs")
    # with the budget the floors need, it solves
    assert solve_scenario(make_scenario(par, inds, {"rules": {"total_budget_yuan": 3.0e7}}), solver="highs")


def test_subarea_mix_impossible_because_of_a_must_develop_parcel():
    # edge holds only M1 parcels, where finance may not go; P4 must be developed, so edge has floor > 0 and
    # finance's share of it is 0 < 50 %
    sc = make_scenario(tiny_parcels(), tiny_industries(factory={"min_floor_total_m2": None}),
                       {"subarea_mix": [{"subarea": "edge", "industry": "finance", "min_share": 0.5}]})
    assert precheck(sc, eligible_pairs(sc)) == []
    assert conflicts_of(sc) == [MIX]
    # with factory's demand floor too (factory may only go to edge), both rules are named or the mix alone
    sc = make_scenario(tiny_parcels(), tiny_industries(),
                       {"subarea_mix": [{"subarea": "edge", "industry": "finance", "min_share": 0.5}]})
    assert precheck(sc, eligible_pairs(sc)) == []
    conflicts = conflicts_of(sc)
    assert MIX in conflicts
    # factory's demand floor (it can only go to edge) is the other rule that keeps edge from staying empty
    assert set(conflicts) <= {MIX, "demand bounds of factory: total floor ≥ 20,000 m²"}
    # without the must-develop parcel and factory's demand floor, leaving edge empty satisfies the rule
    sc = make_scenario(tiny_parcels(P4={"must_develop": False}), tiny_industries(factory={"min_floor_total_m2": None}),
                       {"subarea_mix": [{"subarea": "edge", "industry": "finance", "min_share": 0.5}]})
    result = solve_scenario(sc, solver="highs")
    assert not set(result.plan.assignment["subarea"]) & {"edge"}


def test_infeasible_with_cbc_is_diagnosed_too():
    from optimizer.solvers import available_solvers

    if "cbc" not in available_solvers():
        pytest.skip("CBC not available")
    sc = make_scenario(tiny_parcels(), tiny_industries(),
                       {"subarea_mix": [{"subarea": "edge", "industry": "finance", "min_share": 0.5}]})
    with pytest.raises(InfeasibleScenario) as exc:
        solve_scenario(sc, solver="cbc")
    assert MIX in exc.value.conflicts


def test_elastic_model_relaxes_only_coupling_rows():
    sc = make_scenario(tiny_parcels(), tiny_industries())
    bundle = build_model(sc)
    milp, rows, signs = elastic_model(bundle)
    families = {bundle.milp.block_of(int(r)).family for r in rows}
    assert "floor_max" not in families and "floor_min" not in families
    assert "demand" in families
    # the must-develop row of P4 may be relaxed downwards only
    one_use = [(int(r), s) for r, s in zip(rows, signs, strict=True) if bundle.milp.block_of(int(r)).family == "one_use"]
    assert [bundle.milp.row_label(r) for r, _ in one_use] == ["parcel P4: exactly one industry (must_develop)"]
    assert [s for _, s in one_use] == [1.0]
    res = solve_milp(milp, "highs", SolveOptions(mip_gap=1e-6))
    assert res.objective == pytest.approx(0.0, abs=1e-9)  # a feasible scenario needs no slack
