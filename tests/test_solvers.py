"""One behaviour suite run against every available backend, and HiGHS against CBC.

A backend that is not installed is skipped (see conftest.pytest_generate_tests); CBC-only comparisons skip when
`optimizer.solvers.cbc.available()` is False.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import TINY_OPTIMUM_YUAN, industry, make_scenario, parcel, random_instance, scenario_from

from optimizer.errors import InfeasibleScenario, SolverUnavailable
from optimizer.model import build_model
from optimizer.model.milp import MILP
from optimizer.pipeline import solve_scenario
from optimizer.solution import check_plan
from optimizer.solvers import SolveOptions, cbc, solve_milp

needs_cbc = pytest.mark.skipif(not cbc.available(), reason="CBC (pulp's bundled binary) is not available")
REL = 1e-6


def hand_milp(sense="maximize", extra_rows=()):
    """Binaries a, b, c and a continuous z in [0, 2.5]:
    max 3a + 2b + 4c + z  s.t.  2a + 3b + 4c <= 5,  a + z <= 3.
    By hand: {a, b} is the best fitting pair (5), and z = 2 with a = 1: 7. The LP relaxation is higher (c = 0.75...).
    """
    rows = [[2, 3, 4, 0], [1, 0, 0, 1], *[r[0] for r in extra_rows]]
    lo = [-np.inf, -np.inf, *[r[1] for r in extra_rows]]
    hi = [5, 3, *[r[2] for r in extra_rows]]
    return MILP(c=np.array([3.0, 2.0, 4.0, 1.0]), A=sp.csr_matrix(np.array(rows, dtype=float)),
                row_lower=np.array(lo, float), row_upper=np.array(hi, float), col_lower=np.zeros(4),
                col_upper=np.array([1, 1, 1, 2.5]), integrality=np.array([True, True, True, False]),
                sense=sense, blocks=(), obj_scale=2.0)


def test_hand_milp_maximize(backend):
    res = solve_milp(hand_milp(), backend, SolveOptions(mip_gap=0.0))
    assert res.status == "optimal"
    assert res.solver == backend
    assert res.x == pytest.approx([1, 1, 0, 2], abs=1e-6)
    assert res.objective == pytest.approx(2 * 7.0)  # obj_scale 2
    assert res.bound == pytest.approx(2 * 7.0, rel=1e-6)
    assert res.gap == pytest.approx(0.0, abs=1e-6)


def test_hand_milp_minimize(backend):
    # min 3a + 2b + 4c + z with a + b + c >= 1: b alone, 2
    res = solve_milp(hand_milp("minimize", extra_rows=[([1, 1, 1, 0], 1, np.inf)]), backend, SolveOptions(mip_gap=0))
    assert res.status == "optimal"
    assert res.x == pytest.approx([0, 1, 0, 0], abs=1e-6)
    assert res.objective == pytest.approx(4.0)


def test_hand_milp_infeasible(backend):
    # three binaries cannot sum to 3 within the weight limit 5
    res = solve_milp(hand_milp(extra_rows=[([1, 1, 1, 0], 3, np.inf)]), backend, SolveOptions(mip_gap=0))
    assert res.status == "infeasible"
    assert not res.has_plan


def test_phases_say_what_stopped_the_backend(backend):
    res = solve_milp(hand_milp(), backend, SolveOptions(mip_gap=0.0))
    assert [(p["phase"], p["stopped_by"]) for p in res.phases] == [(backend, "optimal")]
    assert res.phases[0]["seconds"] >= 0
    res = solve_milp(hand_milp(extra_rows=[([1, 1, 1, 0], 3, np.inf)]), backend, SolveOptions(mip_gap=0))
    assert [(p["phase"], p["stopped_by"]) for p in res.phases] == [(backend, "infeasible")]


def test_highs_node_limit_is_reported():
    sc = scenario_from(*moderate_instance())
    res = solve_milp(build_model(sc).milp, "highs", SolveOptions(mip_gap=0.0, node_limit=0))
    assert res.phases[0]["stopped_by"] in ("node_limit", "optimal")
    if res.phases[0]["stopped_by"] == "node_limit":
        assert res.status in ("feasible", "no_solution")


def test_highs_thread_counts_can_change_within_a_process(tiny):
    # regression: HiGHS refuses to run ("Not Set") when its threads option differs from the process-wide
    # scheduler an earlier solve started, which became a silent "no plan"
    m = build_model(tiny).milp
    for threads in (3, 2, 0, 1):
        res = solve_milp(m, "highs", SolveOptions(mip_gap=0.0, threads=threads))
        assert res.status == "optimal" and res.objective == pytest.approx(TINY_OPTIMUM_YUAN, rel=REL)


def test_unknown_solver():
    with pytest.raises(SolverUnavailable, match="unknown solver 'gurobi'"):
        solve_milp(hand_milp(), "gurobi")


def test_tiny_optimum(backend, tiny):
    result = solve_scenario(tiny, solver=backend, mip_gap=0.0)
    assert result.status == "optimal"
    assert result.solver == backend
    assert result.plan.objective == pytest.approx(TINY_OPTIMUM_YUAN, rel=REL)
    assert result.check.passed
    got = result.plan.assignment.set_index("parcel_id")
    assert got["industry_id"].to_dict() == {"P1": "finance", "P2": "it", "P3": "factory", "P4": "it"}
    assert got["floor_area_m2"].to_dict() == pytest.approx({"P1": 50_000, "P2": 40_000, "P3": 60_000, "P4": 15_000})


def test_solve_is_repeatable(backend, tiny):
    a = solve_scenario(tiny, solver=backend, mip_gap=0.0)
    b = solve_scenario(tiny, solver=backend, mip_gap=0.0)
    assert a.plan.objective == b.plan.objective
    assert a.plan.assignment.equals(b.plan.assignment)


def test_infeasible_scenario_raises(backend):
    # P1 must be developed; office would need 1,000 m² but its demand cap is 500 m²
    sc = make_scenario([parcel("P1", 1000, "B", 2, must_develop=True)],
                       [industry("office", 100, "B", 1, 2, max_floor_total_m2=500)])
    with pytest.raises(InfeasibleScenario) as exc:
        solve_scenario(sc, solver=backend)
    assert exc.value.conflicts


def test_warm_start_keeps_the_optimum(backend, tiny):
    bundle = build_model(tiny)
    first = solve_milp(bundle.milp, "highs", SolveOptions(mip_gap=0.0))
    again = solve_milp(bundle.milp, backend, SolveOptions(mip_gap=0.0, warm_start=first.x))
    assert again.objective == pytest.approx(first.objective, rel=REL)


@pytest.mark.parametrize("engine", ["lagrange", "auto"])
@pytest.mark.parametrize("engine_finds", ["nothing", "a worse plan"])
def test_engines_never_lose_a_warm_start(engine, engine_finds, tiny, monkeypatch):
    """A warm start is a plan in hand: an engine that finds none, or a worse one, in its time returns it (a
    frontier point kept no plan when its engine found none, though its neighbour's plan was feasible there)."""
    from dataclasses import replace

    from optimizer.solvers import lagrange, solve_bundle
    from optimizer.solvers.base import SolveResult

    bundle = build_model(tiny)
    best = solve_milp(bundle.milp, "highs", SolveOptions(mip_gap=0.0))
    worst = solve_milp(replace(bundle.milp, sense="minimize"), "highs", SolveOptions(mip_gap=0.0)).x
    assert bundle.milp.max_violation(worst) < 1e-9 and bundle.milp.max_violation(best.x) < 1e-9
    found = (SolveResult("no_solution", None, np.nan, best.objective * 1.01, np.nan, 0.1, "lagrange") if
             engine_finds == "nothing" else
             SolveResult("feasible", worst, float(bundle.milp.c @ worst) * bundle.milp.obj_scale,
                         best.objective * 1.01, 1.0, 0.1, "lagrange"))
    monkeypatch.setattr(lagrange, "solve", lambda *_a, **_k: found)
    opts = SolveOptions(mip_gap=0.05, time_limit_s=30)
    res = solve_bundle(bundle, engine, replace(opts, warm_start=best.x))
    assert res.has_plan and res.objective == pytest.approx(best.objective, rel=1e-9)
    assert res.status == "optimal" and res.bound == pytest.approx(best.objective * 1.01, rel=1e-9)
    assert any(p.get("phase") == "warm start" for p in res.phases)
    # a warm start that breaks a rule is not a plan: the engine's answer stands
    broken = best.x * 3
    assert bundle.milp.max_violation(broken) > 1e-6
    res = solve_bundle(bundle, "lagrange", replace(opts, warm_start=broken))
    assert res.has_plan == (engine_finds != "nothing") and not any(p.get("phase") == "warm start"
                                                                   for p in res.phases)


@needs_cbc
def test_highs_and_cbc_agree_on_tiny(tiny):
    h = solve_scenario(tiny, solver="highs", mip_gap=0.0)
    c = solve_scenario(tiny, solver="cbc", mip_gap=0.0)
    assert h.plan.objective == pytest.approx(c.plan.objective, rel=REL)
    assert h.check.passed and c.check.passed


@needs_cbc
@pytest.mark.parametrize("seed", [1, 2, 4])
def test_highs_and_cbc_agree_on_random_instances(seed):
    config, frames = random_instance(seed, n_parcels=30, n_industries=4)
    sc = scenario_from(config, frames)
    h = solve_scenario(sc, solver="highs", mip_gap=0.0, time_limit_s=60)
    c = solve_scenario(sc, solver="cbc", mip_gap=0.0, time_limit_s=60)
    assert h.status == c.status == "optimal"
    assert h.plan.objective == pytest.approx(c.plan.objective, rel=REL)
    for r in (h, c):
        assert r.check.passed
        assert check_plan(sc, r.plan.assignment, r.plan.objective).passed
    # the instance is meant to be constrained: the budget is spent and some demand cap binds
    assert h.kpis["budget_used_yuan"] == pytest.approx(sc.rules.total_budget_yuan, rel=1e-6)
    floor = h.plan.assignment.groupby("industry_id")["floor_area_m2"].sum()
    caps = sc.industries.set_index("industry_id")["max_floor_total_m2"]
    assert any(abs(floor.get(k, 0.0) - cap) < 1.0 for k, cap in caps.items())


def moderate_instance():
    config, frames = random_instance(11, n_parcels=150, n_industries=6)
    return config, frames


def test_time_limit_zero_gives_a_plan_or_no_solution(backend):
    # regression: CBC stopped on time before any integer plan used to hand its LP relaxation on as a plan
    sc = scenario_from(*moderate_instance())
    result = solve_scenario(sc, solver=backend, time_limit_s=0.0)
    assert result.status in ("optimal", "feasible", "no_solution")
    if result.status == "no_solution":
        assert result.plan is None and result.check is None
    else:
        assert result.check.passed


@needs_cbc
def test_cbc_time_stop_without_integer_solution_is_no_solution():
    # regression: cbc._read_result reported 'feasible' with a fractional x (the LP relaxation CBC writes)
    sc = scenario_from(*moderate_instance())
    bundle = build_model(sc)
    res = solve_milp(bundle.milp, "cbc", SolveOptions(time_limit_s=0.0, mip_gap=0.0))
    if res.has_plan:
        xi = res.x[bundle.milp.integrality]
        assert np.abs(xi - np.round(xi)).max() < 1e-6, "a plan with fractional binaries"
    else:
        assert res.status == "no_solution"


def test_cbc_that_outruns_its_limit_is_a_time_limit_not_a_crash(tmp_path, monkeypatch):
    """A CBC that ignores its limit and the interrupt is killed: the answer is "no plan within the limit"
    (stopped by the time limit), after one run, never a crash report after a second run of the whole limit."""
    import time

    runs = tmp_path / "runs.txt"
    fake = tmp_path / "cbc"
    fake.write_text(f"#!/bin/sh\ntrap '' INT\necho run >> {runs}\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr(cbc, "cbc_path", lambda: str(fake))
    monkeypatch.setattr(cbc, "GRACE_S", 0.3)
    bundle = build_model(scenario_from(*random_instance(1, n_parcels=10, n_industries=3)))
    t0 = time.perf_counter()
    res = solve_milp(bundle.milp, "cbc", SolveOptions(time_limit_s=0.5))
    assert time.perf_counter() - t0 < 5.0
    assert res.status == "no_solution" and not res.has_plan
    assert res.phases[0]["stopped_by"] == "time_limit" and "limit" in res.message
    assert runs.read_text().split() == ["run"]


def test_short_time_limit_plan_is_valid(backend):
    sc = scenario_from(*moderate_instance())
    result = solve_scenario(sc, solver=backend, time_limit_s=0.5)
    assert result.status in ("optimal", "feasible", "no_solution")
    if result.plan is not None:
        assert result.check.passed
        assert result.plan.objective <= result.plan.bound * (1 + 1e-6) or not np.isfinite(result.plan.bound)


def test_no_eligible_pair_gives_an_empty_plan(backend):
    # regression: a model without columns made HiGHS return model status 'Empty', which became SolverFailed
    sc = make_scenario([parcel("P1", 1000, "G1", 2)], [industry("office", 100, "B", 1, 2)])
    result = solve_scenario(sc, solver=backend)
    assert result.status == "optimal"
    assert result.plan.objective == pytest.approx(0.0)
    assert result.plan.assignment.empty
    assert result.check.passed


# --- zero-floor sites (regression: with far_min = 0 the model allowed x = 1 with f = 0, which the checker rejects,
# so solve_scenario raised CheckFailed) ------------------------------------------------------------------------------
def test_zero_floor_site_is_infeasible(backend):
    # one site of office is required but office's demand cap is 0 m²: a site needs some floor, so no plan exists
    sc = make_scenario([parcel("P1", 1000, "B", 2)],
                       [industry("office", 100, "B", 0, 2, min_sites=1, max_floor_total_m2=0)])
    with pytest.raises(InfeasibleScenario):
        solve_scenario(sc, solver=backend)


def test_must_develop_with_a_loss_gets_some_floor(backend):
    # net value −1,000 yuan/m² (output 1,000, cost 2,000 at weight 1): the least loss is the smallest site
    sc = make_scenario([parcel("P1", 1000, "B", 2, dev_cost_per_m2=2000, must_develop=True)],
                       [industry("a", 1000, "B", 0, 2)], {"objective": {"cost_weight": 1.0}})
    result = solve_scenario(sc, solver=backend, mip_gap=0.0)
    assert result.check.passed
    (floor,) = result.plan.assignment["floor_area_m2"]
    assert 0 < floor <= 1.0 + 1e-6
    assert result.plan.objective == pytest.approx(-1000.0 * floor, rel=1e-6)


def test_zero_share_rule_leaves_the_site_empty(backend):
    # a's share of s1 may be at most 30 %, but a is the only industry there: a cannot be placed at all
    sc = make_scenario([parcel("P1", 1000, "B", 2)], [industry("a", 1000, "B", 0, 2)],
                       {"subarea_mix": [{"subarea": "s1", "industry": "a", "max_share": 0.3}]})
    result = solve_scenario(sc, solver=backend, mip_gap=0.0)
    assert result.check.passed
    assert result.plan.assignment.empty


def test_zero_floor_sites_on_a_random_instance(backend):
    sc = scenario_from(*random_instance(0, n_parcels=30, n_industries=4, far_min_zero=True))
    result = solve_scenario(sc, solver=backend, mip_gap=0.0, time_limit_s=60)
    assert result.check.passed
    assert (result.plan.assignment["floor_area_m2"] > 0).all()


def test_shares_with_must_develop_parcels(backend):
    """Three must-develop parcels of 1,000 m² (all uses 1,000 yuan/m²):
    P1 (B1, FAR cap 1) takes k1 (FAR 1..1.5: exactly 1,000 m²) or k2 (FAR 0.1..0.5: 100..500 m²);
    P3, P5 (B2, FAR cap 0.5) take k3 (100..500 m² each).
    k1 on P1 would be 1,000 of at most 2,000 m² = 50 % > its 30 % cap, so P1 takes k2 (500 m²; 33 % >= 10 %):
    1,500 m², 1.5e6 yuan.
    """
    # (CBC 2.10.3's preprocessing calls this feasible model infeasible; the backend asks again without it)
    sc = make_scenario([parcel("P1", 1000, "B1", 1, must_develop=True), parcel("P3", 1000, "B2", 0.5, must_develop=True),
                        parcel("P5", 1000, "B2", 0.5, must_develop=True)],
                       [industry("k1", 1000, "B1", 1, 1.5, max_share=0.3),
                        industry("k2", 1000, "B1", 0.1, 0.5, min_share=0.1),
                        industry("k3", 1000, "B2", 0.1, 0.5)])
    result = solve_scenario(sc, solver=backend, mip_gap=0.0)
    assert result.plan.objective == pytest.approx(1.5e6, rel=REL)
    assert result.plan.assignment["industry_id"].tolist() == ["k2", "k3", "k3"]


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("bound", [1234.5, -987.25, 3.0e13, -2.5e-3])
@pytest.mark.parametrize("gap,abs_gap", [(1e-2, 0.0), (1e-3, 0.0), (1e-4, 5.0), (0.3, 0.0)])
def test_gap_target_is_where_the_gap_test_starts_to_pass(maximize, bound, gap, abs_gap):
    """A solve told to stop at gap_target must stop at a plan that gap_closed accepts, and no plan short of it
    (by more than roundoff) may pass: the engine's repairs stop at that objective and then ask gap_closed."""
    from optimizer.solvers.base import gap_closed, gap_target

    opts = SolveOptions(mip_gap=gap, mip_abs_gap=abs_gap)
    t = gap_target(bound, opts, maximize)
    worse = -1.0 if maximize else 1.0  # the direction of worse plans
    assert gap_closed(t, bound, opts)
    assert worse * (t - bound) >= 0  # never beyond the bound
    step = 1e-6 * max(abs(bound - t), 1e-12)
    assert not gap_closed(t + worse * step, bound, opts)
    assert gap_target(np.nan, opts, maximize) is None
