"""The checker in parcel chunks: rule_totals of each chunk (restrict_parcels), combined, judged by verdict, must
give the whole plan's CheckReport (the coupled rules judged on the sum of the chunks' totals)."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import REPO

from optimizer.data import MetricRule, SubareaMix, restrict_parcels
from optimizer.scenario.load import load_scenario
from optimizer.solution.check import (
    PlanTotals,
    check_plan,
    combine,
    objective_value,
    plan_values,
    rule_totals,
    verdict,
)

SEED = 20240611


@pytest.fixture(scope="module")
def qianhai():
    from optimizer.pipeline import solve_scenario

    sc = load_scenario(REPO / "scenarios" / "qianhai")
    result = solve_scenario(sc, solver="highs", time_limit_s=20)
    assert result.plan is not None
    return sc, result.plan.assignment, result.plan.objective


@pytest.fixture(scope="module")
def tiny_rich(tiny, tiny_result):
    """tiny with rules coupling parcels that its optimum meets: shares, sites, a sub-area mix, a metric, a budget
    (1,000 yuan per m² of floor) and the objective's floors."""
    ind = tiny.industries.set_index("industry_id")
    ind.loc["it", ["max_share", "min_sites"]] = [0.4, 2]
    ind.loc["finance", "max_sites"] = 1
    ind["teams_per_m2"] = ind.index.map({"finance": 0.001, "it": 0.002, "factory": 0.0})
    rules = replace(tiny.rules, total_budget_yuan=1.7e8,
                    subarea_mix=(SubareaMix("core", "finance", min_share=0.5), SubareaMix("edge", "", max_floor_m2=8e4)),
                    metric_rules=(MetricRule("teams", min=150.0), MetricRule("jobs", max=8000.0, industries=("it",))))
    objective = replace(tiny.objective, min_jobs=7000.0, min_total_output_yuan=4.7e9, metric_min={"teams": 150.0})
    sc = replace(tiny, industries=ind.reset_index(), rules=rules, objective=objective,
                 parcels=tiny.parcels.assign(dev_cost_per_m2=1000.0))
    plan = tiny_result.plan.assignment
    assert check_plan(sc, plan, tiny_result.plan.objective).passed
    return sc, plan, tiny_result.plan.objective


@pytest.fixture(params=["tiny", "qianhai"])
def case(request):
    return request.getfixturevalue("tiny_rich" if request.param == "tiny" else "qianhai")


def splits(n: int) -> dict[str, list[np.ndarray]]:
    perm = np.random.default_rng(SEED).permutation(n)
    return {"2 ranges": np.array_split(np.arange(n), 2), "3 ranges": np.array_split(np.arange(n), 3),
            "2 shuffled": np.array_split(perm, 2), "3 shuffled": np.array_split(perm, 3)}


def chunk_totals(sc, plan: pd.DataFrame, parts) -> list[PlanTotals]:
    out = []
    for pos in parts:
        chunk = restrict_parcels(sc, pos)
        out.append(rule_totals(chunk, plan[plan["parcel_id"].isin(chunk.parcels["parcel_id"])]))
    return out


def assert_chunks_agree(sc, plan: pd.DataFrame, objective=None):
    """Every split's combined verdict against check_plan on the whole plan; returns the whole plan's report."""
    whole = check_plan(sc, plan, objective)
    for name, parts in splits(sc.n_parcels).items():
        totals = chunk_totals(sc, plan, parts)
        # as the chunked coordinator judges: the combined totals against the scenario without its parcels
        for got in (verdict(sc, combine(totals), objective), verdict(sc, sum(totals), objective),
                    verdict(restrict_parcels(sc, []), combine(totals), objective)):
            assert got.passed == whole.passed, name
            assert sorted(got.violations) == sorted(whole.violations), name
            assert got.n_checked_rules == whole.n_checked_rules, name
            assert got.objective == pytest.approx(whole.objective, rel=1e-9, abs=1e-9), name
    return whole


def test_whole_plan_is_rule_totals_then_verdict(case):
    sc, plan, objective = case
    whole = check_plan(sc, plan, objective)
    assert whole.passed and whole.violations == []
    assert whole.objective == pytest.approx(objective, rel=1e-6)
    # one chunk holding every parcel: the same report, in the same order, bit for bit
    one = verdict(sc, combine([rule_totals(restrict_parcels(sc, np.arange(sc.n_parcels)), plan)]), objective)
    assert one == whole


def test_chunks_of_a_solved_plan_add_up(case):
    sc, plan, objective = case
    whole = assert_chunks_agree(sc, plan, objective)
    assert whole.passed
    totals = chunk_totals(sc, plan, splits(sc.n_parcels)["3 shuffled"])
    # the per-parcel rules are counted once per rule, not per chunk; the additive totals are sums
    combined = combine(totals)
    assert combined.n_parcel_rules == totals[0].n_parcel_rules == rule_totals(sc, plan).n_parcel_rules
    assert combined.total_floor == pytest.approx(float(plan["floor_area_m2"].sum()), rel=1e-12)
    assert sum(t.sites_by_industry[k] for t in totals for k in t.sites_by_industry) == len(plan)
    assert combined.total_cost == pytest.approx(rule_totals(sc, plan).total_cost, rel=1e-12)


def _first_with_max_share(sc) -> str:
    ind = sc.industries
    return str(ind.loc[np.isfinite(ind["max_share"].astype(float)), "industry_id"].iloc[0])


BREAKS = {
    # how the plan is broken -> a coupled rule's message it must produce
    "floors x1.5": ("above its demand cap", "exceeds the total budget"),
    "half the rows": ("below",),  # demand floors, sites, metric and objective floors
    "all floor to one industry": ("share of all floor", "sub-area"),
    "budget below the plan's cost": ("exceeds the total budget",),
}


@pytest.mark.parametrize("how", list(BREAKS))
def test_chunks_of_broken_plans_add_up(case, how):
    sc, plan, _ = case
    if how == "floors x1.5":
        plan = plan.assign(floor_area_m2=plan["floor_area_m2"] * 1.5)
    elif how == "half the rows":
        plan = plan.iloc[::2]
    elif how == "all floor to one industry":
        plan = plan.assign(industry_id=_first_with_max_share(sc))
    else:
        cost = rule_totals(sc, plan).total_cost
        assert cost > 0
        sc = replace(sc, rules=replace(sc.rules, total_budget_yuan=0.9 * cost))
    whole = assert_chunks_agree(sc, plan)
    assert not whole.passed and whole.violations
    coupled = [v for v in whole.violations if not v.startswith("parcel ")]
    for expected in BREAKS[how]:
        assert any(expected in v for v in coupled), (expected, coupled)
    if how == "budget below the plan's cost":
        assert [v for v in whole.violations if "total budget" in v] == whole.violations
        # no chunk alone is over the budget: only their sum is
        for t in chunk_totals(sc, plan, splits(sc.n_parcels)["3 ranges"]):
            assert not any("total budget" in v for v in verdict(sc, t).violations)


def test_chunks_of_a_plan_breaking_per_parcel_rules(tiny_rich):
    sc, plan, _ = tiny_rich
    bad = pd.DataFrame({"parcel_id": ["P1", "P2", "P2", "P3", "P5"],
                        "industry_id": ["finance", "it", "it", "finance", "nowhere"],
                        "floor_area_m2": [-5.0, 45_000.0, 45_000.0, 50_000.0, 100.0]})
    whole = assert_chunks_agree(sc, bad)
    for expected in ("not a positive number", "has more than one industry", "zone M1 does not allow finance",
                     "unknown industry 'nowhere'", "P4 must be developed", "exceeds the FAR cap"):
        assert any(expected in v for v in whole.violations), expected


def test_chunks_of_a_plan_without_floor_column(tiny_rich):
    sc, plan, _ = tiny_rich
    broken = plan.drop(columns="floor_area_m2")
    whole = check_plan(sc, broken)
    got = verdict(sc, combine(chunk_totals(sc, broken, splits(sc.n_parcels)["3 ranges"])))
    assert not got.passed and got.violations == whole.violations == ["plan lacks columns ['floor_area_m2']"]
    assert got.n_checked_rules == whole.n_checked_rules == 0


@pytest.mark.parametrize("kind", ["output_per_land", "weighted"])
def test_objective_kinds_add_up(case, kind):
    sc, plan, _ = case
    plain = check_plan(sc, plan).objective
    if kind == "output_per_land":
        ob = replace(sc.objective, kind=kind, cost_weight=0.1)
    else:
        ob = replace(sc.objective, kind=kind, weights={"output": 1.0, "jobs": 50_000.0, "floor": 10.0,
                                                        "developed_land": 5.0, "cost": -0.2, "teams": 1.0e6})
    sc = replace(sc, objective=ob)
    whole = assert_chunks_agree(sc, plan)
    assert np.isfinite(whole.objective) and whole.objective != pytest.approx(plain, rel=1e-3)
    assert whole.objective == pytest.approx(objective_value(sc, plan_values(sc, plan)), rel=1e-12)
    # the solver's objective compared on the combined totals: right and wrong
    assert assert_chunks_agree(sc, plan, whole.objective).passed
    wrong = assert_chunks_agree(sc, plan, whole.objective * 1.01 + 1.0)
    assert any("differs from the plan's recomputed value" in v for v in wrong.violations)


def test_totals_are_small_and_picklable(qianhai):
    sc, plan, objective = qianhai
    totals = chunk_totals(sc, plan, splits(sc.n_parcels)["3 shuffled"])
    back = [pickle.loads(pickle.dumps(t)) for t in totals]
    assert all(len(pickle.dumps(t)) < 20_000 for t in totals)
    assert verdict(sc, combine(back), objective) == verdict(sc, combine(totals), objective)


def test_phases_and_neighbours_refuse_chunks():
    sc = load_scenario(REPO / "scenarios" / "qianhai" / "phased")
    assert sc.phases and sc.neighbours is not None
    par = sc.parcels.iloc[:40]
    plan = pd.DataFrame({"parcel_id": par["parcel_id"], "industry_id": sc.industries["industry_id"].iloc[0],
                         "floor_area_m2": 1000.0, "phase": sc.phases[0].name})
    plan.loc[plan.index[0], "phase"] = "never"
    # a whole plan is still checked, phases and neighbour rules included
    whole = check_plan(sc, plan)
    assert f"parcel {par['parcel_id'].iloc[0]}: phase 'never' is not a phase of the scenario" in whole.violations
    totals = rule_totals(sc, plan)
    again = verdict(sc, totals)
    assert (again.passed, again.violations, again.n_checked_rules) == (whole.passed, whole.violations,
                                                                     whole.n_checked_rules)
    assert np.isnan(whole.objective) and np.isnan(again.objective)  # the unknown phase has no discount
    with pytest.raises(ValueError, match="phases and neighbour rules cannot be checked in parcel chunks"):
        totals + totals
    # phases alone
    no_nb = replace(sc, neighbours=None)
    parts = chunk_totals(no_nb, plan, np.array_split(np.arange(no_nb.n_parcels), 2))
    with pytest.raises(ValueError, match="with phases cannot be checked in parcel chunks"):
        combine(parts)
