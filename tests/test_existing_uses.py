"""Existing uses and redevelopment: keep, intensify, convert and locks, by hand, against the brute force, on
every backend, in the independent checker, as bad input and through `landuse solve` (docs/scenario-format.md,
"Existing uses and redevelopment")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, brute_force, industry, make_scenario, parcel, plan, write_scenario_folder

from optimizer import load_scenario, solve_scenario
from optimizer.errors import InfeasibleScenario, ScenarioError
from optimizer.solution import check_plan
from optimizer.solution.kpis import baseline_output_yuan

BACKENDS = ("highs", "cbc", "lagrange", "auto")
REDEVELOPMENT = REPO / "scenarios" / "redevelopment"


def one_parcel(existing: dict, far_max: float = 4.0, budget: float | None = None, **ind_kw) -> object:
    """One 10,000 m² B parcel with an existing use, finance (40,000 yuan/m², FAR 1-4) and IT (30,000, FAR 1-4)."""
    config = {"rules": {"total_budget_yuan": budget}} if budget is not None else {}
    return make_scenario(
        [parcel("P", 10_000, "B", far_max, dev_cost_per_m2=2_000, **existing)],
        [industry("fin", 40_000, "B", 1, 4, **ind_kw), industry("it", 30_000, "B", 1, 4)], config)


def solve(sc, solver: str = "highs"):
    result = solve_scenario(sc, solver=solver, time_limit_s=30, mip_gap=0.0)
    assert result.check.passed, result.check.violations
    return result


def row(result, pid: str = "P") -> pd.Series:
    a = result.plan.assignment
    return a[a["parcel_id"] == pid].iloc[0]


# --- by hand ----------------------------------------------------------------------------------------------
def test_intensify_when_added_floor_pays():
    """IT 20,000 m² stands on P (FAR cap 4: 40,000 m²). Intensifying to 40,000 m² costs 2,000 × 20,000 = 40 m yuan
    (only the added floor) and adds 30,000 × 20,000 = 600 m yuan; converting to finance would yield 1.6 bn but
    the budget of 50 m yuan cannot pay 2,000 × 40,000 = 80 m yuan of construction."""
    sc = one_parcel({"existing_industry": "it", "existing_floor_m2": 20_000}, budget=5e7)
    r = solve(sc)
    got = row(r)
    assert (got.industry_id, got.action) == ("it", "intensify")
    assert got.floor_area_m2 == pytest.approx(40_000)
    assert r.plan.objective == pytest.approx(1.2e9)
    assert r.kpis["baseline_output_yuan"] == pytest.approx(6e8)
    assert r.kpis["gain_over_baseline_yuan"] == pytest.approx(6e8)
    assert r.kpis["budget_used_yuan"] == pytest.approx(4e7)


def test_convert_when_budget_allows():
    """With 100 m yuan, finance at 40,000 m² (80 m yuan construction + 1,000 × 20,000 = 20 m yuan demolition)
    gives 1.6 bn, above IT intensified (1.2 bn): convert, and the existing output is lost, not added."""
    sc = one_parcel({"existing_industry": "it", "existing_floor_m2": 20_000, "demolition_cost_per_m2": 1_000},
                    budget=1e8)
    r = solve(sc)
    got = row(r)
    assert (got.industry_id, got.action, got.existing_industry) == ("fin", "convert", "it")
    assert r.plan.objective == pytest.approx(1.6e9)
    assert r.kpis["budget_used_yuan"] == pytest.approx(1e8)
    # with 40 m yuan, finance gets (40 m − 20 m demolition) / 2,000 = 10,000 m² (0.4 bn), IT intensified to
    # 40,000 m² (40 m yuan on the added floor) 1.2 bn: intensify
    r = solve(one_parcel({"existing_industry": "it", "existing_floor_m2": 20_000, "demolition_cost_per_m2": 1_000},
                         budget=4e7))
    assert row(r).action == "intensify" and r.plan.objective == pytest.approx(1.2e9)


def test_keep_when_nothing_pays():
    """No budget at all: the existing use stays exactly as it is; its given output (not floor × rate) counts."""
    sc = one_parcel({"existing_industry": "it", "existing_floor_m2": 20_000, "existing_output_yuan": 5e8}, budget=0.0)
    r = solve(sc)
    got = row(r)
    assert (got.action, got.floor_area_m2) == ("keep", pytest.approx(20_000))
    assert r.plan.objective == pytest.approx(5e8) and got.output_yuan == pytest.approx(5e8)
    assert r.kpis["gain_over_baseline_yuan"] == pytest.approx(0.0, abs=1e-3)


def test_intensify_cost_and_existing_output_are_used():
    """Existing output 5e8 on 20,000 m² of IT; added floor yields 30,000/m² and costs intensify_cost_per_m2 (3,000),
    not the parcel's 2,000: 20,000 more m² cost 60 m yuan, so a 59 m budget keeps it at 20,000 + 59e6 / 3,000."""
    sc = one_parcel({"existing_industry": "it", "existing_floor_m2": 20_000, "existing_output_yuan": 5e8,
                     "intensify_cost_per_m2": 3_000, "lock": "industry"}, budget=5.9e7)
    r = solve(sc)
    added = 5.9e7 / 3_000
    assert row(r).floor_area_m2 == pytest.approx(20_000 + added)
    assert r.plan.objective == pytest.approx(5e8 + 30_000 * added)


def test_lock_out_keeps_everything_as_it_is():
    sc = make_scenario(
        [parcel("P", 10_000, "B", 4, existing_industry="it", existing_floor_m2=20_000, lock="out"),
         parcel("Q", 10_000, "B", 4, lock="out")],
        [industry("fin", 40_000, "B", 1, 4), industry("it", 30_000, "B", 1, 4)])
    for solver in BACKENDS:
        r = solve(sc, solver)
        a = r.plan.assignment
        assert list(a["parcel_id"]) == ["P"], solver
        assert (a.iloc[0].industry_id, a.iloc[0].action) == ("it", "keep")
        assert a.iloc[0].floor_area_m2 == pytest.approx(20_000)


def test_non_conforming_use_may_stay_but_not_grow():
    """A factory on a B parcel (the zone no longer admits it) may stay at its floor, not intensify."""
    ps = [parcel("P", 10_000, "B", 4, existing_industry="fab", existing_floor_m2=8_000, existing_output_yuan=9e8)]
    inds = [industry("fin", 40_000, "B", 1, 4, max_floor_total_m2=0), industry("fab", 10_000, "M", 0.5, 2)]
    r = solve(make_scenario(ps, inds))
    got = row(r)
    assert (got.industry_id, got.action, got.floor_area_m2) == ("fab", "keep", pytest.approx(8_000))
    bad = check_plan(r.scenario, plan(("P", "fab", 9_000)))
    assert any("zone B does not allow fab" in v for v in bad.violations)


def test_existing_floor_counts_in_demand_rules():
    """Existing floor counts like any other: finance's cap of 30,000 m² with 20,000 m² kept on P leaves 10,000."""
    sc = make_scenario(
        [parcel("P", 10_000, "B", 4, existing_industry="fin", existing_floor_m2=20_000, lock="industry"),
         parcel("Q", 10_000, "B", 4)],
        [industry("fin", 40_000, "B", 1, 4, max_floor_total_m2=30_000), industry("it", 30_000, "B", 1, 4)])
    r = solve(sc)
    a = r.plan.assignment.set_index("parcel_id")
    assert a.loc["P", "industry_id"] == "fin" and a["floor_area_m2"][a["industry_id"] == "fin"].sum() == \
        pytest.approx(30_000)


# --- brute force and all backends ---------------------------------------------------------------------------
def redevelopment_city(seed: int, n_parcels: int = 5):
    """A seeded random city with existing uses (some locked, some non-conforming), costs and a binding budget."""
    rng = np.random.default_rng(seed)
    kinds = ["fin", "lab", "fab"]
    ps = []
    for i in range(n_parcels):
        area = float(rng.integers(4, 20)) * 1_000
        far = float(rng.integers(2, 9)) / 2
        p = parcel(f"P{i}", area, str(rng.choice(["B", "M"])), far, f"s{i % 2}",
                   dev_cost_per_m2=float(rng.choice([500, 1000, 2000])))
        if rng.random() < 0.7:
            p["existing_industry"] = str(rng.choice(kinds))
            p["existing_floor_m2"] = float(np.round(area * far * rng.uniform(0.2, 1.0)))
            if rng.random() < 0.4:
                p["existing_output_yuan"] = float(rng.integers(1, 40)) * 1e7
            p["demolition_cost_per_m2"] = float(rng.choice([0, 300, 800]))
            if rng.random() < 0.5:
                p["intensify_cost_per_m2"] = float(rng.choice([800, 1500, 3000]))
            if rng.random() < 0.2:
                p["lock"] = str(rng.choice(["industry", "out"]))
        elif rng.random() < 0.2:
            p["lock"] = "out"
        ps.append(p)
    inds = [industry("fin", float(rng.integers(30, 60)) * 1_000, "B", 1, 4,
                     max_floor_total_m2=float(rng.integers(30, 90)) * 1_000),
            industry("lab", float(rng.integers(10, 30)) * 1_000, "B;M", 0.5, 3),
            industry("fab", float(rng.integers(5, 15)) * 1_000, "M", 0.5, 2)]
    config = {"rules": {"total_budget_yuan": float(rng.integers(10, 80)) * 1e6},
              "objective": {"cost_weight": float(rng.choice([0.0, 0.5]))}}
    # a lock on an ineligible pair is bad input: drop such locks (the generator's choice, not the rule)
    for p in ps:
        if p.get("lock") and p.get("existing_industry"):
            zones = {"fin": "B", "lab": "BM", "fab": "M"}[p["existing_industry"]]
            if p["zone"] not in zones:
                p["lock"] = ""
    return make_scenario(ps, inds, config)


@pytest.mark.parametrize("seed", range(8))
def test_optimum_equals_brute_force(seed):
    sc = redevelopment_city(seed)
    best = brute_force(sc)
    try:
        r = solve_scenario(sc, solver="highs", time_limit_s=30, mip_gap=0.0)
    except InfeasibleScenario:
        assert best is None
        return
    assert best is not None
    assert r.check.passed, r.check.violations
    assert r.plan.objective == pytest.approx(best[0], rel=1e-6, abs=1.0)
    # the brute force's plan passes the independent checker with the same objective
    rep = check_plan(sc, plan(*best[1]), best[0])
    assert rep.passed, rep.violations


@pytest.mark.parametrize("seed", range(3))
def test_all_backends_agree(seed):
    sc = redevelopment_city(100 + seed, n_parcels=6)
    values = {}
    for solver in BACKENDS:
        try:
            r = solve_scenario(sc, solver=solver, time_limit_s=30, mip_gap=0.0)
        except InfeasibleScenario:
            values[solver] = None
            continue
        assert r.check.passed, (solver, r.check.violations)
        values[solver] = r.plan.objective
    ref = values["highs"]
    for v in values.values():
        assert (v is None) == (ref is None), values
        if ref is not None:
            assert v == pytest.approx(ref, rel=1e-5, abs=1.0), values


def test_output_per_land_counts_existing_parcels_as_developed():
    """Output per land: a kept parcel is developed land (the denominator), whatever it yields."""
    sc = make_scenario(
        [parcel("P", 10_000, "B", 4, existing_industry="it", existing_floor_m2=10_000, lock="out"),
         parcel("Q", 10_000, "B", 4)],
        [industry("fin", 40_000, "B", 1, 4), industry("it", 30_000, "B", 1, 4)],
        {"objective": {"kind": "output_per_land"}})
    for solver in ("highs", "lagrange"):
        r = solve(sc, solver)
        # Q with finance at FAR 4 lifts the ratio: (3e8 + 1.6e9) / 20,000 m² of land
        assert r.plan.objective == pytest.approx((3e8 + 1.6e9) / 20_000, rel=1e-6), solver


# --- the independent checker ---------------------------------------------------------------------------------
def checker_case(budget: float = 5e7):
    return make_scenario(
        [parcel("A", 10_000, "B", 4, dev_cost_per_m2=1_000, existing_industry="it", existing_floor_m2=20_000,
                lock="industry"),
         parcel("B", 10_000, "B", 4, dev_cost_per_m2=1_000, existing_industry="it", existing_floor_m2=20_000,
                lock="out"),
         parcel("C", 10_000, "B", 4, dev_cost_per_m2=1_000, existing_industry="it", existing_floor_m2=20_000,
                demolition_cost_per_m2=500),
         parcel("D", 10_000, "B", 4, dev_cost_per_m2=1_000)],
        [industry("fin", 40_000, "B", 1, 4), industry("it", 30_000, "B", 1, 4)],
        {"rules": {"total_budget_yuan": budget}})


def test_checker_passes_a_valid_plan_and_recomputes_costs():
    sc = checker_case()
    good = plan(("A", "it", 25_000), ("B", "it", 20_000), ("C", "fin", 20_000), ("D", "it", 10_000))
    # costs: A 5,000 added m² × 1,000; C demolition 20,000 × 500 + 20,000 × 1,000 construction; D 10,000 × 1,000
    rep = check_plan(sc, good, 30_000 * 25_000 + 30_000 * 20_000 + 40_000 * 20_000 + 30_000 * 10_000)
    assert rep.passed, rep.violations
    from optimizer.solution.kpis import compute_kpis
    assert compute_kpis(sc, good)["budget_used_yuan"] == pytest.approx(5e6 + 1e7 + 2e7 + 1e7)
    assert baseline_output_yuan(sc) == pytest.approx(3 * 30_000 * 20_000)


@pytest.mark.parametrize("rows, words", [
    ((("A", "fin", 20_000), ("B", "it", 20_000), ("C", "it", 20_000)), "lock = industry keeps"),
    ((("A", "it", 20_000), ("B", "it", 25_000), ("C", "it", 20_000)), "lock = out keeps it as it is"),
    ((("A", "it", 20_000), ("B", "it", 20_000), ("C", "fin", 39_000)), None),
    ((("A", "it", 20_000), ("B", "it", 20_000)), "removed without replacement"),
    ((("A", "it", 15_000), ("B", "it", 20_000), ("C", "it", 20_000)), "below its existing floor"),
    ((("A", "it", 20_000), ("B", "it", 20_000), ("C", "fin", 40_000)), "exceeds the total budget"),
])
def test_checker_catches_each_broken_rule(rows, words):
    """One violation per family: lock = industry, lock = out, removal, floor below the existing floor, the budget
    with demolition (C: 20,000 × 500 + 40,000 × 1,000 = 50 m yuan, over a 49 m budget; 39,000 m² fit in 50 m)."""
    sc = checker_case(4.9e7 if words and "budget" in words else 5e7)
    rep = check_plan(sc, plan(*rows))
    if words is None:  # a valid plan with a conversion inside the budget
        assert rep.passed, rep.violations
        return
    assert not rep.passed
    assert len(rep.violations) == 1 and words in rep.violations[0], rep.violations


def test_checker_catches_a_wrong_objective():
    """The objective includes the existing output: a solver that counted floor × rate only would be caught."""
    sc = make_scenario([parcel("P", 10_000, "B", 4, existing_industry="it", existing_floor_m2=20_000,
                               existing_output_yuan=1e9)],
                       [industry("it", 30_000, "B", 1, 4)])
    rep = check_plan(sc, plan(("P", "it", 20_000)), 30_000 * 20_000)
    assert not rep.passed and "recomputed value 1e+09" in rep.violations[0]
    assert check_plan(sc, plan(("P", "it", 25_000)), 1e9 + 30_000 * 5_000).passed


# --- bad input and contradictory locks -----------------------------------------------------------------------
def bad_parcels(**kw) -> dict:
    return parcel("P2", 10_000, "B", 2, **kw)


@pytest.mark.parametrize("kw, field, words", [
    ({"existing_industry": "finance", "existing_floor_m2": 100}, "existing_industry", "unknown industry 'finance'"),
    ({"existing_industry": "fin", "existing_floor_m2": 30_000}, "existing_floor_m2", "above the parcel's FAR cap"),
    ({"existing_industry": "fin"}, "existing_floor_m2", "needs its floor"),
    ({"existing_floor_m2": 100}, "existing_floor_m2", "without an existing_industry"),
    ({"existing_industry": "fab", "existing_floor_m2": 100, "lock": "industry"}, "lock",
     "zone B does not allow fab"),
    ({"existing_industry": "fin", "existing_floor_m2": 100, "lock": "keep"}, "lock", "must be blank"),
])
def test_bad_input_names_file_row_and_field(tmp_path, kw, field, words):
    ps = pd.DataFrame([parcel("P1", 10_000, "B", 2), bad_parcels(**kw)])
    inds = pd.DataFrame([industry("fin", 40_000, "B", 1, 4), industry("fab", 10_000, "M", 0.5, 2)])
    folder = write_scenario_folder(tmp_path / "s", {"scenario": {"name": "bad"}},
                                   {"parcels": ps, "industries": inds})
    with pytest.raises(ScenarioError) as e:
        load_scenario(folder)
    text = str(e.value)
    assert "parcels.csv" in text and "row 3" in text and f"field '{field}'" in text and words in text, text


@pytest.mark.parametrize("parcels, ind_kw, words", [
    ([parcel("P", 10_000, "B", 4, lock="industry")], {}, "lock = industry keeps its existing industry, but it has no"),
    ([parcel("P", 10_000, "B", 4, lock="out", must_develop=True)], {}, "lock = out keeps it empty, but must_develop"),
    ([parcel("P", 10_000, "B", 4, existing_industry="fin", existing_floor_m2=20_000, lock="out"),
      parcel("Q", 10_000, "B", 4, existing_industry="fin", existing_floor_m2=20_000, lock="industry")],
     {"max_floor_total_m2": 30_000}, "demand cap of fin (30,000 m²) is below the existing floor its locked parcels"),
])
def test_contradictory_locks_are_infeasible(parcels, ind_kw, words):
    sc = make_scenario(parcels, [industry("fin", 40_000, "B", 1, 4, **ind_kw)])
    with pytest.raises(InfeasibleScenario) as e:
        solve_scenario(sc, solver="highs", time_limit_s=10)
    assert any(words in c for c in e.value.conflicts), e.value.conflicts
    assert "lock" in " ".join(e.value.conflicts)


def test_greenfield_scenarios_are_unchanged():
    """Without existing uses nothing changes: tiny's optimum, a zero baseline, every parcel 'new'."""
    r = solve(load_scenario(REPO / "scenarios" / "tiny"))
    assert r.plan.objective == pytest.approx(4.75e9)
    assert r.kpis["baseline_output_yuan"] == 0.0
    assert set(r.plan.assignment["action"]) == {"new"}
# --- the scenario folder end to end ---------------------------------------------------------------------------
def test_redevelopment_scenario_by_hand():
    """scenarios/redevelopment/README.md works the optimum out by hand."""
    sc = load_scenario(REDEVELOPMENT)
    base = baseline_output_yuan(sc)
    for solver in BACKENDS:
        r = solve(sc, solver)
        a = r.plan.assignment.set_index("parcel_id")
        assert r.plan.objective == pytest.approx(EXPECTED_OBJECTIVE, rel=1e-6), solver
        assert dict(a["action"]) == EXPECTED_ACTIONS, solver
        assert r.kpis["baseline_output_yuan"] == pytest.approx(base) == pytest.approx(EXPECTED_BASELINE)


# scenarios/redevelopment/README.md by hand
EXPECTED_BASELINE = 1.5e9 + 1.2e8 + 3e8 + 6e8
EXPECTED_OBJECTIVE = 1.58e9 + 2.0e9 + 3e8 + 6e8 + 1.5e9
EXPECTED_ACTIONS = {"P1": "intensify", "P2": "convert", "P3": "keep", "P4": "keep", "P5": "new"}


def test_cli_solve_writes_actions_and_baseline(tmp_path):
    from optimizer.cli import main

    out = tmp_path / "out"
    assert main(["solve", str(REDEVELOPMENT), "--out", str(out), "--no-analysis"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kpis"]["baseline_output_yuan"] == pytest.approx(EXPECTED_BASELINE)
    assert summary["kpis"]["gain_over_baseline_yuan"] == pytest.approx(EXPECTED_OBJECTIVE - EXPECTED_BASELINE)
    a = pd.read_csv(out / "assignment.csv", keep_default_na=False)
    assert dict(zip(a["parcel_id"], a["action"], strict=True)) == EXPECTED_ACTIONS
    geo = out / ("plan.geojson" if (out / "plan.geojson").exists() else "plan_local.geojson")
    props = {f["properties"]["parcel_id"]: f["properties"] for f in json.loads(geo.read_text())["features"]}
    assert all(props[p]["action"] == act for p, act in EXPECTED_ACTIONS.items())
    assert "baseline" in (out / "report.html").read_text(encoding="utf-8").lower()
