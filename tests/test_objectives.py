"""Objective kinds: output per land (Dinkelbach) against a brute force over every plan, the weighted sum by hand,
the objective floors, every backend, and the scenario.toml keys."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from helpers import TINY, each_plan, industry, make_scenario, parcel, plan, small_city

from optimizer.data import Objective
from optimizer.errors import ScenarioError
from optimizer.pipeline import solve_scenario
from optimizer.scenario import load_scenario
from optimizer.solution import check_plan

BACKENDS = ["highs", "cbc", "lagrange", "auto"]


def _case(seed: int, floor: float | None = None):
    objective = {"kind": "output_per_land"}
    if floor is not None:
        objective["min_total_output_yuan"] = floor
    return small_city(seed, objective=objective)


def _best_ratio(sc) -> float | None:
    """Brute force: the best output per m² of developed land over every non-empty plan meeting the rules (the
    most output of a choice of parcels gives its best ratio, since its land is fixed)."""
    floor = sc.objective.min_total_output_yuan
    ratios = [got[0] / land for _, land, got in each_plan(sc, lambda _combo, land: land > 0)
              if not (np.isfinite(floor) and got[0] < floor)]
    return max(ratios, default=None)


@pytest.mark.parametrize("seed", range(5))
def test_output_per_land_is_the_brute_force_best_ratio(seed):
    sc = _case(seed, floor=1.5e8)
    expected = _best_ratio(sc)
    if expected is None:
        pytest.skip("no plan meets the output floor")
    result = solve_scenario(sc, solver="highs", mip_gap=1e-6)
    assert result.check.passed and result.status == "optimal"
    assert result.plan.objective == pytest.approx(expected, rel=1e-6)
    assert result.plan.bound >= expected * (1 - 1e-9)  # a proven upper bound on the ratio
    assert result.plan.gap <= 1e-6
    k = result.kpis
    assert result.plan.objective == pytest.approx(k["total_output_yuan"] / k["land_developed_m2"], rel=1e-9)
    assert k["total_output_yuan"] >= 1.5e8 * (1 - 1e-9)


@pytest.mark.parametrize("solver", BACKENDS)
def test_every_backend_solves_the_ratio(solver):
    sc = _case(1, floor=1.5e8)
    expected = _best_ratio(sc)
    result = solve_scenario(sc, solver=solver, mip_gap=1e-6)
    assert result.check.passed
    assert result.plan.objective == pytest.approx(expected, rel=1e-5)


def test_without_a_floor_the_ratio_takes_the_single_best_parcel():
    """No floor: the best ratio is one parcel with the densest, most valuable use (the documented caveat)."""
    sc = make_scenario([parcel("A", 10_000, "B", 4), parcel("B", 50_000, "B", 2)],
                       [industry("fin", 50_000, "B", 1, 4)], {"objective": {"kind": "output_per_land"}})
    result = solve_scenario(sc, solver="highs")
    assert result.plan.assignment["parcel_id"].tolist() == ["A"]
    assert result.plan.objective == pytest.approx(4 * 50_000)  # FAR 4 × 50,000 yuan per m² of floor


def test_weighted_objective_by_hand():
    """fin: 50,000 yuan and 0.01 jobs per m² of floor; shop: 20,000 yuan and 0.05 jobs. At 1 yuan per yuan and
    1,000,000 yuan per job, shop's floor is worth 70,000 a m², fin's 60,000: shop wins; output alone, fin wins."""
    parcels = [parcel("A", 10_000, "B", 3)]
    industries = [industry("fin", 50_000, "B", 1, 3, jobs_per_m2=0.01),
                  industry("shop", 20_000, "B", 1, 3, jobs_per_m2=0.05)]
    weighted = make_scenario(parcels, industries,
                             {"objective": {"kind": "weighted", "weights": {"output": 1.0, "jobs": 1e6}}})
    for backend in BACKENDS:
        result = solve_scenario(weighted, solver=backend, mip_gap=0.0)
        assert result.plan.assignment["industry_id"].tolist() == ["shop"]
        assert result.plan.objective == pytest.approx(30_000 * 70_000)
        assert result.check.passed
    total = solve_scenario(make_scenario(parcels, industries), solver="highs")
    assert total.plan.assignment["industry_id"].tolist() == ["fin"]


def test_objective_floors_are_rules_the_checker_checks():
    sc = make_scenario([parcel("A", 10_000, "B", 3), parcel("B", 10_000, "B", 3)],
                       [industry("fin", 50_000, "B", 1, 3, jobs_per_m2=0.01)],
                       {"objective": {"kind": "output_per_land", "min_jobs": 400.0}})
    result = solve_scenario(sc, solver="highs")
    assert result.kpis["jobs"] >= 400 * (1 - 1e-9)  # 30,000 m² on one parcel gives 300 jobs: two are needed
    assert result.plan.assignment["parcel_id"].tolist() == ["A", "B"] or len(result.plan.assignment) == 2
    report = check_plan(sc, plan(("A", "fin", 30_000.0)))
    assert not report.passed and any("below the objective's floor" in v for v in report.violations)
    broken = replace(sc, objective=replace(sc.objective, kind="total_output"))
    assert check_plan(broken, plan(("A", "fin", 30_000.0)), objective=30_000 * 50_000.0).violations


def test_scenario_toml_keys(tmp_path):
    import shutil

    folder = tmp_path / "t"
    shutil.copytree(TINY, folder)
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("[objective]", '[objective]\nkind = "output_per_land"\n'
                                                "min_total_output_yuan = 3.0e9", 1), encoding="utf-8")
    sc = load_scenario(folder)
    assert sc.objective == Objective(kind="output_per_land", min_total_output_yuan=3.0e9,
                                     sense=sc.objective.sense, cost_weight=sc.objective.cost_weight)
    result = solve_scenario(sc, solver="highs")
    assert result.check.passed and result.kpis["total_output_yuan"] >= 3.0e9 * (1 - 1e-9)
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[objective.weights]\nlandd = 1.0\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="objective.weights"):
        load_scenario(folder)


def test_planning_answers_speak_the_ratio():
    """With output per land as the objective, rule values, forcing costs and alternatives are in yuan per m² of
    land a year, and agree with re-solving the changed scenario."""
    from optimizer.analysis.alternatives import alternative_plans
    from optimizer.analysis.why import explain_plan
    from optimizer.analysis.worth import rule_worth

    sc = _case(2, floor=1.5e8)
    result = solve_scenario(sc, solver="highs", mip_gap=1e-7)
    worth = rule_worth(result, confirm_top=3)
    budget = worth[worth["family"] == "budget_total"].iloc[0]
    assert budget["marginal_unit"] == "yuan/m² of land a year per yuan"
    if budget["method"].startswith("re-solve"):
        more = replace(sc, rules=replace(sc.rules, total_budget_yuan=sc.rules.total_budget_yuan + budget["step"]))
        again = solve_scenario(more, solver="highs", mip_gap=1e-7)
        assert budget["marginal_value"] == pytest.approx((again.plan.objective - result.plan.objective)
                                                         / budget["step"], rel=1e-4, abs=1e-9)
    why = explain_plan(result, resolve_s=30)
    solved = why[why["forcing_cost_method"].str.startswith("re-solved (")]
    assert len(solved) and (solved["forcing_cost_yuan"] >= -1e-6).all()
    assert "yuan per m² of land a year" in " ".join(solved["reason"])
    alts = alternative_plans(result, k=2, min_diff=1, within=0.2)
    for a in alts:
        assert a.check.passed and a.plan.objective >= result.plan.objective * 0.8 * (1 - 1e-9)
        assert a.plan.objective <= result.plan.objective * (1 + 1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_relaxed_ratio_bounds_every_plan(seed):
    """The LP side of the ratio: its bound is above every plan's ratio, its least land below every plan's land,
    and the least land of plans with ratio ≥ λ below the land of each such plan (brute force over every plan)."""
    from optimizer.model import build_model
    from optimizer.solvers.fractional import RelaxedRatio

    sc = _case(seed, floor=1.5e8)
    plans = [(got[0] / land, land) for _, land, got in each_plan(sc, lambda _combo, land: land > 0)
             if got[0] >= 1.5e8]
    if not plans:
        pytest.skip("no plan meets the output floor")
    relaxed = RelaxedRatio(build_model(sc), lam=0.0)
    assert np.isfinite(relaxed.bound)
    assert relaxed.bound >= max(r for r, _ in plans) * (1 - 1e-9)
    assert relaxed.least_land <= min(land for _, land in plans) * (1 + 1e-9)
    ratios = sorted(r for r, _ in plans)
    for lam in (ratios[0], ratios[len(ratios) // 2], ratios[-1]):
        above = relaxed.least_land_above(lam, deadline=time.perf_counter() + 10)
        assert above <= min(land for r, land in plans if r >= lam) * (1 + 1e-9)
        assert above >= relaxed.least_land


@pytest.mark.parametrize("solver", ["highs", "auto", "cbc"])
@pytest.mark.parametrize("seed", range(3))
def test_proof_rounds_bound_every_plan_and_prove_the_gap(monkeypatch, solver, seed):
    """Rounds that aim just inside the gap (from the first round on, here): each one's bound is above every plan's
    ratio (brute force), and a run that says "optimal" has a plan within the gap of the brute-force best."""
    from optimizer.solvers import fractional

    monkeypatch.setattr(fractional, "PROOF_WITHIN", np.inf)
    monkeypatch.setattr(fractional, "SEARCH", False)
    sc = _case(seed, floor=1.5e8)
    expected = _best_ratio(sc)
    if expected is None:
        pytest.skip("no plan meets the output floor")
    gap = 0.02
    result = solve_scenario(sc, solver=solver, mip_gap=gap)
    assert result.check.passed
    aimed = [p for p in result.phases if "aim" in p]
    assert aimed, result.phases
    assert all(p["aim"] > p["ratio"] for p in aimed)
    assert result.plan.bound >= expected * (1 - 1e-9)
    assert result.plan.objective <= expected * (1 + 1e-9)
    assert result.status == "optimal"
    assert result.plan.objective >= expected / (1 + gap) * (1 - 1e-9)


def test_the_ratio_rounds_run_highs_without_its_restart(monkeypatch):
    """HiGHS's restart stalled P(λ) on Qianhai (its second root LP ran 200 s past the limit): every round after the
    first solve asks HiGHS not to restart; the first solve, for the most output, keeps it."""
    from optimizer.solvers import fractional, highs

    monkeypatch.setattr(fractional, "SEARCH", False)
    seen = []
    real = highs.solve

    def spy(m, o, *args, **kw):
        seen.append(o.restart)
        return real(m, o, *args, **kw)

    monkeypatch.setattr(highs, "solve", spy)
    result = solve_scenario(_case(2, floor=1.5e8), solver="highs", mip_gap=1e-6)
    assert result.check.passed
    rounds = [p for p in result.phases if p["phase"].startswith("ratio round")]
    assert rounds and len(seen) >= 1 + len(rounds)
    assert seen[0] is True and not any(seen[1:])


@pytest.mark.parametrize("seed", range(3))
def test_proof_rounds_without_a_floor_where_the_empty_plan_is_worth_zero(monkeypatch, seed):
    """Without a floor the empty plan meets every rule and is worth exactly 0 at any aim: a proof round must not
    take it for a plan that reaches the aim, nor fail to prove because of it. (HiGHS ends these small models at
    its root, so the race behind this, a stop on the empty plan before a real one, is not forced here.)"""
    from optimizer.solvers import fractional

    monkeypatch.setattr(fractional, "PROOF_WITHIN", np.inf)
    monkeypatch.setattr(fractional, "SEARCH", False)
    sc = _case(seed)
    expected = _best_ratio(sc)
    gap = 0.02
    result = solve_scenario(sc, solver="highs", mip_gap=gap)
    assert result.check.passed and result.status == "optimal"
    assert [p for p in result.phases if "aim" in p]
    assert expected / (1 + gap) * (1 - 1e-9) <= result.plan.objective <= expected * (1 + 1e-9)
    assert result.plan.bound >= expected * (1 - 1e-9)


def test_a_proof_round_cut_by_the_clock_bounds_the_ratio_by_aim_plus_its_bound_over_the_least_land(monkeypatch):
    """A proof round that ends with a positive bound U on output − aim × land and no plan: the ratio's bound is
    aim + U / (least land of a plan at least aim good), between aim and aim + U / (least land of any plan), and
    above every plan's ratio (brute force)."""
    from optimizer.model import build_model
    from optimizer.solvers import fractional
    from optimizer.solvers.base import SolveResult
    from optimizer.solvers.fractional import RelaxedRatio

    sc = _case(0, floor=1.5e8)
    expected = _best_ratio(sc)
    plans = [(got[0], land) for _, land, got in each_plan(sc, lambda _combo, land: land > 0) if got[0] >= 1.5e8]
    bundle = build_model(sc)
    m, d = bundle.milp, bundle.denominator
    j = int(np.argmax(d))
    seen = {}

    def cut(b, o):
        """HiGHS stopped by the clock with no plan and a bound 1 yuan above the true optimum of P(aim)."""
        aim = (m.c[j] - b.milp.c[j]) * m.obj_scale / d[j]
        seen["u"] = max(max(out - aim * land for out, land in plans), 0.0) + 1.0
        return SolveResult("no_solution", None, np.nan, seen["u"], np.nan, 0.01, "highs",
                           phases=({"phase": "highs", "stopped_by": "time_limit", "seconds": 0.01},))

    monkeypatch.setattr(fractional, "PROOF_WITHIN", np.inf)
    monkeypatch.setattr(fractional, "SEARCH", False)
    monkeypatch.setattr(fractional, "_proof_solver", lambda *a: cut)
    result = solve_scenario(sc, solver="highs", mip_gap=1e-3)
    (aimed,) = [p for p in result.phases if "aim" in p]
    least = RelaxedRatio(bundle, 0.0).least_land
    assert aimed["stopped_by"] == "time_limit"
    assert aimed["aim"] < result.plan.bound <= aimed["aim"] + seen["u"] / least * (1 + 1e-9)
    assert result.plan.bound >= expected * (1 - 1e-9)
