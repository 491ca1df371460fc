"""One truth for the model and the checker: the edge cases where they once disagreed, raw solver values, bounds.

Each test builds its case by hand, so the expected numbers come from the scenario's rules, not from the model.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, brute_force, industry, make_scenario, parcel, plan

from optimizer.errors import CheckFailed
from optimizer.model import build_model, eligible_pairs
from optimizer.pipeline import finish, solve_scenario
from optimizer.scenario import load_scenario
from optimizer.solution import check_plan
from optimizer.solvers import SolveOptions, solve_bundle

REL = 1e-6


def _island_scenario():
    """Metro M and junction J joined by an edge; seaport S on an island (no edge), far from every parcel.

    One access link per parcel: P1 at M, P2 at J. No parcel reaches the seaport, so `fin` (with an output decay
    per minute to the nearest seaport and no limit) is infinitely far from it: worth nothing.
    fin must still take 10,000 m² in total (its demand floor).
    """
    parcels = [parcel("P1", 10_000, "B", 3, x=0, y=0), parcel("P2", 10_000, "B", 3, x=0, y=3000)]
    industries = [industry("fin", 50_000, "B", 1, 3, min_floor_total_m2=10_000),
                  industry("shop", 20_000, "B", 1, 2)]
    nodes = [{"node_id": "M", "type": "metro", "x": 0, "y": 0},
             {"node_id": "J", "type": "junction", "x": 0, "y": 3000},
             {"node_id": "S", "type": "seaport", "x": 40_000, "y": 0}]
    edges = [{"from_node": "J", "to_node": "M", "speed_kmh": 30}]
    config = {"network": {"crs": "local_m", "access_speed_kmh": 12.0, "access_links": 1, "detour_factor": 1.0},
              "access_rules": [{"industry": "fin", "node_type": "seaport", "decay_per_min": 0.05}]}
    return make_scenario(parcels, industries, config, nodes=nodes, edges=edges)


@pytest.mark.parametrize("solver", ["highs", "cbc", "lagrange"])
def test_decay_rule_for_a_parcel_that_reaches_no_node_of_its_type(solver):
    sc = _island_scenario()
    assert np.isinf(sc.access["seaport"]).all()
    pairs = eligible_pairs(sc)
    fin = pairs.industry == sc.industry_index()["fin"]
    assert fin.sum() == 2 and (pairs.value_per_m2[fin] == 0).all()  # eligible, but worth nothing
    result = solve_scenario(sc, solver=solver, mip_gap=0.0)
    assert result.check.passed, result.check.violations
    # by hand: fin must take 10,000 m² (FAR 1 on one parcel) and earns nothing; shop takes the other parcel at
    # FAR 2: 20,000 m² × 20,000 yuan = 4.0e8
    assert result.plan.objective == pytest.approx(4.0e8, rel=REL)
    assert brute_force(sc)[0] == pytest.approx(4.0e8, rel=REL)
    got = result.plan.assignment.set_index("industry_id")["floor_area_m2"]
    assert 10_000 * (1 - REL) <= got["fin"] <= 30_000 * (1 + REL)  # any fin floor earns nothing
    assert check_plan(sc, result.plan.assignment, result.plan.objective).objective == pytest.approx(4.0e8, rel=REL)


def _one_parcel(area_m2: float, far_max: float):
    return make_scenario([parcel("A", area_m2, "B", far_max)], [industry("lab", 10_000, "B", 0.0, 4.0)])


def test_checker_enforces_the_least_floor_of_a_developed_site():
    sc = _one_parcel(1_000, 2.0)  # far_min 0: the least floor is the format's 1 m²
    assert not check_plan(sc, plan(("A", "lab", 0.5))).passed
    assert any("least viable floor" in v for v in check_plan(sc, plan(("A", "lab", 0.5))).violations)
    assert check_plan(sc, plan(("A", "lab", 1.0))).passed
    assert eligible_pairs(sc).lo_m2.tolist() == [1.0]  # the model's least floor is the same


def test_a_site_whose_cap_is_below_one_square_metre_may_use_its_whole_cap():
    sc = _one_parcel(0.5, 1.0)  # cap 0.5 m²
    assert eligible_pairs(sc).lo_m2.tolist() == [0.5]
    assert check_plan(sc, plan(("A", "lab", 0.5))).passed
    result = solve_scenario(sc, solver="highs")
    assert result.check.passed and result.plan.assignment["floor_area_m2"].tolist() == pytest.approx([0.5])


def test_checker_rejects_non_finite_objectives():
    sc = _one_parcel(1_000, 2.0)
    report = check_plan(sc, plan(("A", "lab", 2_000.0)), objective=math.inf)
    assert not report.passed and any("not a finite number" in v for v in report.violations)
    report = check_plan(sc, plan(("A", "lab", 2_000.0)), objective=2.0e7)
    assert report.passed and report.objective == pytest.approx(2.0e7)


# --- raw solver values ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_solved():
    sc = load_scenario(TINY)
    bundle = build_model(sc)
    res = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0))
    assert res.status == "optimal"
    return sc, bundle, res


def _pair(bundle, sc, pid: str, kid: str) -> int:
    p, k = sc.parcel_index()[pid], sc.industry_index()[kid]
    return int(np.flatnonzero((bundle.pairs.parcel == p) & (bundle.pairs.industry == k))[0])


def test_finish_accepts_the_solver_answer(tiny_solved):
    sc, bundle, res = tiny_solved
    run = finish(sc, bundle, res, {})
    assert run.check.passed and run.status == "optimal" and not run.warnings


def test_floor_on_an_unchosen_pair_is_caught(tiny_solved):
    sc, bundle, res = tiny_solved
    x = res.x.copy()
    e = _pair(bundle, sc, "P1", "it")  # P1 holds finance; IT is not chosen there
    assert x[e] < 0.5
    x[bundle.n_pairs + e] = 100.0 / bundle.floor_unit_m2
    with pytest.raises(CheckFailed, match="it on parcel P1 was not chosen but has 100.000 m² of floor"):
        finish(sc, bundle, replace(res, x=x), {})


def test_fractional_choice_is_caught(tiny_solved):
    sc, bundle, res = tiny_solved
    x = res.x.copy()
    e = _pair(bundle, sc, "P1", "finance")
    x[e] = 0.7
    with pytest.raises(CheckFailed, match="finance on parcel P1 is 0.7, not 0 or 1"):
        finish(sc, bundle, replace(res, x=x), {})


def test_floor_above_the_cap_is_judged_before_any_snapping(tiny_solved):
    """Decoding once clipped floors into their range, so the checker never saw an overshoot."""
    sc, bundle, res = tiny_solved
    x = res.x.copy()
    e = _pair(bundle, sc, "P1", "finance")
    x[bundle.n_pairs + e] *= 1.001  # 50,050 m² where the cap is 50,000
    with pytest.raises(CheckFailed, match="exceeds the FAR cap"):
        finish(sc, bundle, replace(res, x=x), {})


def test_a_bound_beaten_by_the_checked_plan_is_flagged(tiny_solved):
    sc, bundle, res = tiny_solved
    wrong = replace(res, bound=res.objective * 0.99, gap=0.01)
    run = finish(sc, bundle, wrong, {})
    assert run.check.passed
    assert run.status == "feasible" and math.isnan(run.plan.bound) and math.isnan(run.plan.gap)
    summary = run.summary()
    assert summary["bound"] is None and summary["gap"] is None
    assert any("is beaten by the checked plan" in w for w in summary["warnings"])
    # a bound equal to the objective within solver tolerance is fine
    run = finish(sc, bundle, replace(res, bound=res.objective * (1 - 1e-9)), {})
    assert run.status == "optimal" and not run.warnings


# --- text from the scenario is shown literally in figures ----------------------------------------------------
def test_names_with_maths_markup_are_drawn_literally(tmp_path):
    from optimizer.report.write import write_outputs

    folder = tmp_path / "sc"
    shutil.copytree(TINY, folder)
    ind = pd.read_csv(folder / "industries.csv", dtype=str, keep_default_na=False)
    ind["name"] = ["$x^$ finance", r"IT $\frac{1}{", "factory $$"]
    ind.to_csv(folder / "industries.csv", index=False)
    par = pd.read_csv(folder / "parcels.csv", dtype=str, keep_default_na=False)
    par["subarea"] = par["subarea"].str.cat(["$a$"] * len(par), sep=" ")
    par.to_csv(folder / "parcels.csv", index=False)
    result = solve_scenario(folder, solver="highs")
    out = write_outputs(result, tmp_path / "out")
    assert (out / "map.png").stat().st_size > 0 and (out / "report.html").is_file()
    assert "$x^$ finance" in (out / "report.html").read_text(encoding="utf-8")
