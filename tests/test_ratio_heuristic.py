"""The neighbourhood search of output per land (optimizer.solvers.ratio_heuristic): its plans meet every rule (the
independent checker), never beat the brute-force best ratio, never fall below the plan it starts from, and are the
same on every run; CBC runs use CBC for the restricted MILPs; rules completed by lazy cuts switch it off."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from helpers import each_plan, random_instance, scenario_from, small_city

from optimizer.model import build_model
from optimizer.model.milp import RowBlock
from optimizer.pipeline import solve_scenario
from optimizer.solution import check_plan
from optimizer.solution.plan import decode
from optimizer.solvers import highs, ratio_heuristic, solve_bundle
from optimizer.solvers.base import SolveOptions
from optimizer.solvers.fractional import RelaxedRatio, _sub_solver

FLOOR = {"kind": "output_per_land", "min_total_output_yuan": 1.5e8}


def _medium(seed: int):
    config, frames = random_instance(seed, n_parcels=40)
    config["objective"] = {"kind": "output_per_land", "min_total_output_yuan": 2.0e8}
    return scenario_from(config, frames)


def _search(sc, solver: str = "highs", **kw):
    """The plan of most output (the ratio's start), the LP side and the search from that plan."""
    bundle = build_model(sc)
    opts = SolveOptions(time_limit_s=60, mip_gap=1e-6, threads=2)
    first = solve_bundle(bundle, solver, opts)
    assert first.has_plan
    relaxed = RelaxedRatio(bundle, 0.0)
    found = ratio_heuristic.search(bundle, first.x, relaxed.point, relaxed.row_dual, relaxed.lam, opts,
                                   time.perf_counter() + 120, kw.pop("sub_solver", _sub_solver(solver, opts)), **kw)
    return bundle, first, relaxed, found


def _ratio(bundle, x) -> float:
    return float(bundle.milp.c @ x) * bundle.milp.obj_scale / float(bundle.denominator @ x)


def _best_ratio(sc) -> float | None:
    floor = sc.objective.min_total_output_yuan
    ratios = [got[0] / land for _, land, got in each_plan(sc, lambda _combo, land: land > 0) if got[0] >= floor]
    return max(ratios, default=None)


def _assert_plan(sc, bundle, x):
    m = bundle.milp
    act = m.A @ x
    scale = np.maximum(1.0, np.abs(act))
    assert np.all(act >= m.row_lower - 1e-6 * scale) and np.all(act <= m.row_upper + 1e-6 * scale)
    assert np.all(np.abs(x[m.integrality] - np.round(x[m.integrality])) < 1e-6)
    report = check_plan(sc, decode(sc, bundle, x), objective=_ratio(bundle, x))
    assert report.passed, report.violations


@pytest.mark.parametrize("seed", range(6))
def test_search_plans_are_checked_and_between_the_start_and_the_brute_force_best(seed):
    sc = small_city(seed, n_parcels=7, objective=FLOOR)
    best = _best_ratio(sc)
    if best is None:
        pytest.skip("no plan meets the output floor")
    bundle, first, relaxed, found = _search(sc)
    _assert_plan(sc, bundle, found.x)
    assert found.ratio == pytest.approx(_ratio(bundle, found.x), rel=1e-12)
    assert found.ratio >= _ratio(bundle, first.x) * (1 - 1e-12)  # never worse than its start
    assert found.ratio <= best * (1 + 1e-9)  # never above the best plan there is
    assert found.ratio <= relaxed.bound * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(2))
def test_search_beats_or_matches_plain_dinkelbach_on_medium_instances(seed):
    """On 40 parcels: a checked plan, at least as good as the plain Dinkelbach loop's after the same first plan
    when that loop is given a node limit (its plan without the search), and the same plan on a second run."""
    sc = _medium(seed)
    bundle, first, relaxed, found = _search(sc)
    _assert_plan(sc, bundle, found.x)
    assert found.stopped_by in ("converged", "work_limit")
    m, d = bundle.milp, bundle.denominator
    x, lam = first.x, _ratio(bundle, first.x)
    for _ in range(20):  # Dinkelbach with the same node limit per round as a restricted MILP
        res = highs.solve(replace(m, c=m.c - lam * d / m.obj_scale),
                          SolveOptions(mip_gap=1e-9, threads=2, warm_start=x, node_limit=ratio_heuristic.NODE_LIMIT))
        if not (res.has_plan and _ratio(bundle, res.x) > lam * (1 + 1e-9)):
            break
        x, lam = res.x, _ratio(bundle, res.x)
    assert found.ratio >= min(lam, relaxed.bound) * (1 - 2e-3)
    again = _search(sc)[3]
    assert np.array_equal(again.x, found.x) and again.ratio == found.ratio


@pytest.mark.parametrize("solver", ["highs", "cbc", "lagrange", "auto"])
def test_every_backend_gets_a_checked_plan_at_the_brute_force_ratio(solver):
    from optimizer.solvers import available_solvers

    if solver not in available_solvers():
        pytest.skip(f"{solver} not available")
    sc = small_city(3, n_parcels=7, objective=FLOOR)
    best = _best_ratio(sc)
    result = solve_scenario(sc, solver=solver, mip_gap=1e-6)
    assert result.check.passed
    assert result.plan.objective == pytest.approx(best, rel=1e-5)
    assert result.plan.objective <= result.plan.bound * (1 + 1e-9)


def test_cbc_runs_solve_the_restricted_milps_with_cbc():
    from optimizer.solvers import available_solvers, cbc

    if "cbc" not in available_solvers():
        pytest.skip("cbc not available")
    assert _sub_solver("cbc", SolveOptions()) is cbc.solve
    seen = []

    def spy(m, o):
        seen.append(m.n_cols)
        return cbc.solve(m, o)

    sc = _medium(1)
    bundle, first, _, found = _search(sc, solver="cbc", sub_solver=spy)
    assert seen, "no restricted MILP was solved"
    _assert_plan(sc, bundle, found.x)
    assert found.ratio >= _ratio(bundle, first.x) * (1 - 1e-12)


def test_lazy_rules_switch_the_search_off():
    """A plan of the MILP may break a rule completed by lazy cuts (cluster sizes): the search then keeps its start."""
    sc = small_city(1, n_parcels=6, objective=FLOOR)
    bundle = build_model(sc)
    m = bundle.milp
    lazy = replace(bundle, milp=replace(m, blocks=(*m.blocks, RowBlock("cluster_seed", m.n_rows, 1, str))))
    assert ratio_heuristic.lazy_rules(lazy) and not ratio_heuristic.lazy_rules(bundle)
    first = solve_bundle(bundle, "highs", SolveOptions())
    relaxed = RelaxedRatio(bundle, 0.0)
    found = ratio_heuristic.search(lazy, first.x, relaxed.point, relaxed.row_dual, relaxed.lam, SolveOptions(),
                                   time.perf_counter() + 60, _sub_solver("highs", SolveOptions()))
    assert found.stopped_by == "skipped" and found.sub_mips == 0 and np.array_equal(found.x, first.x)


def test_the_time_limit_is_a_ceiling():
    sc = _medium(0)
    bundle = build_model(sc)
    first = solve_bundle(bundle, "highs", SolveOptions())
    relaxed = RelaxedRatio(bundle, 0.0)
    found = ratio_heuristic.search(bundle, first.x, relaxed.point, relaxed.row_dual, relaxed.lam, SolveOptions(),
                                   time.perf_counter() - 1.0, _sub_solver("highs", SolveOptions()))
    assert found.stopped_by == "time_limit" and found.sub_mips == 0 and np.array_equal(found.x, first.x)
