"""The pair table's own FAR cap and cost per m² of floor (values by parcel and industry), by hand, on every
backend, in the independent checker, and read from a CSV with blank cells."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import industry, make_scenario, parcel, plan

from optimizer.errors import ScenarioError
from optimizer.model.eligibility import eligible_pairs
from optimizer.pipeline import solve_scenario
from optimizer.scenario import load_scenario
from optimizer.solution import check_plan

BACKENDS = ["highs", "cbc", "lagrange", "auto"]
REPO = Path(__file__).resolve().parent.parent


def _one_parcel(budget: float | None = None, **pair):
    """P1 (10,000 m², FAR cap 4, 1,000 yuan/m² to build) for one industry (10,000 yuan/m², FAR cap 5)."""
    config = {"rules": {"total_budget_yuan": budget}} if budget is not None else {}
    return make_scenario([parcel("P1", 10_000, "B", 4, dev_cost_per_m2=1_000.0)],
                         [industry("fin", 10_000, "B", 0, 5)], config,
                         pairs=[{"parcel_id": "P1", "industry_id": "fin", **pair}])


@pytest.mark.parametrize("solver", BACKENDS)
def test_a_pairs_far_cap_binds_below_the_parcels(solver):
    sc = _one_parcel(far_max=2.0)  # 20,000 m² instead of the parcel's 40,000
    r = solve_scenario(sc, solver=solver, mip_gap=0.0)
    assert r.check.passed
    assert r.plan.assignment["floor_area_m2"].sum() == pytest.approx(20_000)
    assert r.plan.objective == pytest.approx(2e8)


@pytest.mark.parametrize("solver", BACKENDS)
def test_a_pairs_cost_per_m2_replaces_the_parcels_in_the_budget(solver):
    sc = _one_parcel(budget=45e6, cost_per_m2=3_000.0)  # 15,000 m² affordable (45,000 at the parcel's cost)
    r = solve_scenario(sc, solver=solver, mip_gap=0.0)
    assert r.check.passed
    assert r.plan.assignment["floor_area_m2"].sum() == pytest.approx(15_000)
    assert r.kpis["budget_used_yuan"] == pytest.approx(45e6)


def test_the_checker_reads_the_pair_values_from_the_rules():
    capped = _one_parcel(far_max=2.0)
    assert check_plan(capped, plan(("P1", "fin", 20_000))).passed
    bad = check_plan(capped, plan(("P1", "fin", 25_000)))
    assert not bad.passed and any("FAR cap" in v for v in bad.violations)
    costly = _one_parcel(budget=45e6, cost_per_m2=3_000.0)
    assert check_plan(costly, plan(("P1", "fin", 15_000))).passed
    assert not check_plan(costly, plan(("P1", "fin", 20_000))).passed  # 60 M yuan at the pair's cost


def test_blank_cells_keep_the_parcels_values(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(REPO / "scenarios/tiny", folder)
    base = solve_scenario(load_scenario(folder), solver="highs")
    (folder / "pairs.csv").write_text("parcel_id,industry_id,far_max,cost_per_m2\nP1,finance,,\nP2,it,1.0,\n")
    toml = (folder / "scenario.toml").read_text().replace('industries = "industries.csv"',
                                                         'industries = "industries.csv"\npairs = "pairs.csv"')
    (folder / "scenario.toml").write_text(toml)
    sc = load_scenario(folder)
    pairs = eligible_pairs(sc)
    most = {(sc.parcels["parcel_id"].iloc[p], sc.industries["industry_id"].iloc[k]): (hi, cost)
            for p, k, hi, cost in zip(pairs.parcel, pairs.industry, pairs.hi_m2, pairs.cost_per_m2, strict=True)}
    assert most[("P1", "finance")][0] == pytest.approx(5 * 10_000)  # blank: the parcel's FAR 5 (industry's 6)
    assert most[("P2", "it")][0] == pytest.approx(1.0 * 20_000)  # the pair's own FAR cap 1
    assert most[("P2", "finance")][0] == pytest.approx(2 * 20_000)  # not in the table
    assert {c for _, c in most.values()} == set(sc.parcels["dev_cost_per_m2"])  # blank cost: the parcel's
    r = solve_scenario(sc, solver="highs")
    assert r.check.passed
    assert r.plan.objective <= base.plan.objective + 1e-6  # a cap only takes away


def test_a_negative_pair_far_cap_names_the_file_row_and_field(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(REPO / "scenarios/tiny", folder)
    (folder / "pairs.csv").write_text("parcel_id,industry_id,far_max\nP1,finance,-1\n")
    toml = (folder / "scenario.toml").read_text().replace('industries = "industries.csv"',
                                                         'industries = "industries.csv"\npairs = "pairs.csv"')
    (folder / "scenario.toml").write_text(toml)
    with pytest.raises(ScenarioError) as e:
        load_scenario(folder)
    assert "pairs.csv" in str(e.value) and "far_max" in str(e.value)
