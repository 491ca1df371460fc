"""The engine over parcel chunks (optimizer.solvers.chunked), in this process: its dual function is the whole
model's, its bound holds, its plan meets every rule of the whole scenario (the independent checker on the chunks'
plans put together), and its shares of the rules add up to the rules' bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.bench.synthetic import synthetic_city
from optimizer.data import restrict_parcels
from optimizer.errors import InfeasibleScenario
from optimizer.pipeline import solve_scenario
from optimizer.solution.check import check_plan
from optimizer.solution.explain import precheck
from optimizer.solvers.base import SolveOptions
from optimizer.solvers.chunked import (
    SHARE_MARGIN,
    ChunkModel,
    _reconcile,
    apportion,
    build_chunks,
    solve_chunks,
)


def _chunks(sc, cuts):
    n = sc.n_parcels
    edges = [0, *(int(c * n) for c in cuts), n]
    return [ChunkModel(restrict_parcels(sc, np.arange(a, b))) for a, b in zip(edges[:-1], edges[1:], strict=True)]


@pytest.fixture(scope="module")
def city():
    return synthetic_city("q2000")  # the Qianhai rule families: sub-area mixes, carriers, shares, metric totals


def test_the_chunks_dual_function_is_the_whole_models(city):
    whole = build_chunks([ChunkModel(city)])
    parts = build_chunks(_chunks(city, (0.3, 0.55, 0.8)), units=whole.units)
    np.testing.assert_allclose(parts.natural, whole.natural, rtol=1e-12)  # one scale: the whole model's
    np.testing.assert_allclose(parts.L, whole.L, rtol=1e-12)
    np.testing.assert_allclose(parts.U, whole.U, rtol=1e-12)
    f_whole, f_parts = whole.evaluator(), parts.evaluator()
    rng = np.random.default_rng(3)
    m = len(whole.L)
    for T in (1e-2, 1e-5):
        mu = rng.exponential(0.05, 2 * m) * (rng.random(2 * m) < 0.5)
        mu = np.where(np.r_[np.isfinite(whole.U), np.isfinite(whole.L)], mu, 0.0)
        a, b = f_whole(mu, T), f_parts(mu, T)
        assert a[0] == pytest.approx(b[0], rel=1e-9)
        assert a[2] == pytest.approx(b[2], rel=1e-9)  # the exact dual value: the bound at μ
        np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-9 * np.abs(a[1]).max())


def test_chunked_plan_meets_every_rule_and_the_bound_holds():
    sc = synthetic_city("s1k")
    best = solve_scenario(sc, solver="highs", time_limit_s=60, mip_gap=0.0)
    assert best.status == "optimal"
    chunks = _chunks(sc, (0.5,))
    r = solve_chunks(chunks, SolveOptions(time_limit_s=20, mip_gap=1e-3), "auto")
    assert r.status in ("optimal", "feasible")
    opt = best.plan.objective
    assert r.bound >= opt * (1 - 1e-9)  # a valid bound of the whole scenario
    assert r.objective <= opt * (1 + 1e-9)
    assert r.gap == pytest.approx((r.bound - r.objective) / abs(r.objective), rel=1e-6)
    plan = pd.concat([c.table() for c in chunks], ignore_index=True)
    report = check_plan(sc, plan, r.objective)  # the whole scenario's rules, from its data
    assert report.passed, report.violations[:5]
    assert report.objective == pytest.approx(sum(r.chunk_objectives), rel=1e-9)
    assert r.objective >= opt * (1 - 0.02)  # shares cost little on a loosely coupled city


def test_precheck_over_chunks_is_the_whole_precheck(city):
    from dataclasses import replace

    ind = city.industries.copy()
    ind.loc[0, "min_floor_total_m2"] = 1e12  # more than every parcel can hold
    ind.loc[1, "min_sites"] = 10 ** 7
    sc = replace(city, industries=ind)
    from optimizer.model.eligibility import eligible_pairs

    expected = precheck(sc, eligible_pairs(sc))
    assert len(expected) >= 2
    with pytest.raises(InfeasibleScenario) as exc:
        build_chunks(_chunks(sc, (0.4,)))
    assert exc.value.conflicts == expected


def test_shares_add_up_to_the_rules():
    rng = np.random.default_rng(0)
    C, m = 4, 6
    use = rng.random((C, m)) * 10
    L = np.array([-np.inf, 5.0, 3.0, -np.inf, 0.0, 12.0])
    U = np.array([30.0, np.inf, 40.0, 7.0, 0.0, 25.0])
    weight = rng.random((C, m))
    weight[2, 1] = use[2, 1] = 0.0  # a chunk without a column in rule 1 (so its use is 0)
    weight /= weight.sum(axis=0)
    whole = np.array([False, True, False, True, False, False])
    natural = np.array([1.0, 1.0, 2.0, 0.5, 1.0, 1.0])
    lo, hi = apportion(L, U, use, weight, whole, natural)
    fin_u, fin_l = np.isfinite(U), np.isfinite(L)
    # the shares add up to the bounds, each a hair inside (so that solver tolerances cannot add up beyond them)
    gap_u = U[fin_u & ~whole] - hi[:, fin_u & ~whole].sum(axis=0)
    gap_l = lo[:, fin_l & ~whole].sum(axis=0) - L[fin_l & ~whole]
    assert np.all(gap_u >= -1e-12) and np.all(gap_u <= C * SHARE_MARGIN + 1e-12)
    assert np.all(gap_l >= -1e-12) and np.all(gap_l <= C * SHARE_MARGIN + 1e-12)
    assert np.all(lo <= hi)
    assert np.all(np.isinf(hi[:, ~fin_u])) and np.all(np.isinf(lo[:, ~fin_l]))
    # whole rules: whole numbers in natural units adding up to ⌊U⌋ and ⌈L⌉
    assert hi[:, 3].sum() * natural[3] == np.floor(U[3] * natural[3])
    np.testing.assert_array_equal(hi[:, 3] * natural[3], np.round(hi[:, 3] * natural[3]))
    assert lo[:, 1].sum() == np.ceil(L[1])
    np.testing.assert_array_equal(lo[:, 1], np.round(lo[:, 1]))
    assert lo[2, 1] == 0  # no share of a rule it has no column in


def test_reconciliation_keeps_every_plan_within_its_share():
    rng = np.random.default_rng(1)
    C, m = 3, 4
    use = rng.random((C, m)) * 5
    U = use.sum(axis=0) + np.array([3.0, 0.0, 1.0, np.inf])
    L = use.sum(axis=0) - np.array([2.0, 1.0, np.inf, 0.5])
    hi = use + np.array([[0.0, 0, 0.5, 0], [1.0, 0, 0.0, 0], [2.0, 0, 0.5, 0]])
    hi[:, 3] = np.inf
    lo = use - np.array([[0.0, 1.0, 0, 0.5], [1.0, 0.0, 0, 0.0], [1.0, 0.0, 0, 0.0]])
    lo[:, 2] = -np.inf
    mult = np.zeros((C, 2, m))
    mult[0, 0, 0] = 2.0  # chunk 0's cap binds and is worth something
    weight = np.full((C, m), 1.0 / C)
    new_lo, new_hi, moved = _reconcile(L, U, lo, hi, use, mult, weight)
    assert np.all(new_lo <= use + 1e-12) and np.all(use <= new_hi + 1e-12)  # every plan stays within its share
    fin = np.isfinite(U)
    np.testing.assert_allclose(new_hi[:, fin].sum(axis=0), U[fin])  # the whole rule is handed out
    assert new_hi[0, 0] == pytest.approx(use[0, 0] + 3.0)  # ... to the chunk whose binding share is worth most
    assert moved[0] and moved[1]  # chunk 1's ≥ share of rule 1 binds: it gets the surplus


@pytest.mark.parametrize("L, U, use, w", [
    (5.0, 5.0, [2.5, 2.5], [0.5, 0.5]),  # an exact count, split evenly
    (18.0, 21.0, [5.0, 5.5, 9.0], [0.53, 0.02, 0.45]),
    (0.0, 7.0, [3.4, 3.4, 0.2], [0.4, 0.4, 0.2]),
    (4.0, np.inf, [1.2, 0.9, 2.5], [0.3, 0.3, 0.4]),
])
def test_whole_shares_keep_each_chunk_within_both_sides(L, U, use, w):
    use, w = np.array(use)[:, None], np.array(w)[:, None]
    lo, hi = apportion(np.array([L]), np.array([U]), use, w, np.array([True]), np.array([1.0]))
    assert np.all(lo <= hi)  # a chunk's own share is never empty
    np.testing.assert_array_equal(lo, np.round(lo))
    assert lo.sum() == np.ceil(L)
    if np.isfinite(U):
        np.testing.assert_array_equal(hi, np.round(hi))
        assert hi.sum() == np.floor(U)
    rounded = np.clip(np.round(use), lo, hi)
    assert np.all(np.abs(rounded - use) < 1.0 + 1e-9)  # each share holds the chunk's use, rounded


def test_a_minimising_scenario_gets_a_valid_bound_and_a_checked_plan():
    from dataclasses import replace

    sc = synthetic_city("s1k")
    sc = replace(sc, objective=replace(sc.objective, sense="minimize", kind="weighted", weights={"cost": 1.0},
                                       min_total_output_yuan=2e11))  # the least cost of a given output
    best = solve_scenario(sc, solver="highs", time_limit_s=60, mip_gap=0.0)
    assert best.status == "optimal"
    chunks = _chunks(sc, (0.25, 0.5, 0.75))
    r = solve_chunks(chunks, SolveOptions(time_limit_s=20, mip_gap=1e-3), "auto")
    opt = best.plan.objective
    assert r.bound <= opt * (1 + 1e-9) and r.objective >= opt * (1 - 1e-9)  # bound below, plan above
    plan = pd.concat([c.table() for c in chunks], ignore_index=True)
    report = check_plan(sc, plan, r.objective)
    assert report.passed, report.violations[:5]
    # each chunk with the work of an engine run of its own closes its gap (with the work divided among the chunks,
    # one chunk stopped on its work limit and the plan ended 0.52 % above the optimum)
    assert r.status == "optimal" and r.objective <= opt * (1 + 1e-3)


def test_a_chunk_where_no_industry_may_go_adds_nothing():
    from dataclasses import replace

    sc = synthetic_city("s1k")
    par = sc.parcels.copy()
    par.loc[par.index >= 600, "far_max"] = 0.0  # the last 400 parcels: no floor allowed
    sc = replace(sc, parcels=par.assign(must_develop=False))
    chunks = _chunks(sc, (0.6,))
    r = solve_chunks(chunks, SolveOptions(time_limit_s=20, mip_gap=1e-3), "auto")
    assert r.status in ("optimal", "feasible")
    assert r.chunk_objectives[1] == 0.0 and len(chunks[1].table()) == 0
    plan = pd.concat([c.table() for c in chunks], ignore_index=True)
    assert check_plan(sc, plan, r.objective).passed


def test_a_rule_no_parcel_can_move_is_an_infeasible_scenario():
    from dataclasses import replace

    sc = synthetic_city("s1k")
    sc = replace(sc, objective=replace(sc.objective, min_jobs=1e9),
                 industries=sc.industries.assign(jobs_per_m2=0.0))
    with pytest.raises(InfeasibleScenario) as exc:
        build_chunks(_chunks(sc, (0.5,)))
    assert any("total jobs" in c and "no eligible parcel" in c for c in exc.value.conflicts)


def test_the_smoothed_master_closes_what_its_own_duals_leave(city, monkeypatch):
    """Column generation priced between the master's duals and the best multipliers (Wentges) gets the master's
    value much closer to the bound in the same rounds than pricing at the master's own duals, from a rough dual."""
    import time
    from types import SimpleNamespace

    from optimizer.solvers import chunked
    from optimizer.solvers.lagrange import dual_ascent

    chunks = _chunks(city, (0.25, 0.5, 0.75))
    cs = build_chunks(chunks)
    seen: list = []
    dual = dual_ascent(SimpleNamespace(L=cs.L, U=cs.U), 1e-4, max_evals=15, evaluate=cs.evaluator(seen),
                       n_options=sum(h.n_options for h in cs.heads))
    lams = [dual.mu[:len(cs.L)] - dual.mu[len(cs.L):], *seen]
    gaps, smoothing = {}, chunked.MASTER_SMOOTHING
    for alpha in (smoothing, 0.0):
        monkeypatch.setattr(chunked, "MASTER_SMOOTHING", alpha)
        cols = chunked.gather([c.columns(lams, []) for c in chunks])
        use, short, done = chunked.master_plan(chunks, cols, cs.L, cs.U, dual.mu, dual.bound, 30,
                                               time.perf_counter() + 300, None)
        assert short <= 1e-9 and done["bound"] <= dual.bound  # every rule met; the bound only tightens
        np.testing.assert_allclose(use.sum(axis=0), np.clip(use.sum(axis=0), cs.L, cs.U), rtol=1e-9, atol=1e-7)
        gaps[alpha] = done["gap"]
    assert 0.0 <= gaps[smoothing] < 0.5 * gaps[0.0]


def test_the_master_reaches_the_bound_and_the_plan_the_gap():
    """The master LP's column generation, priced between its duals and the best multipliers, ends with its value
    within its share of the gap of the bound (Lagrangian duality: the master's optimum is the dual's minimum), and
    the chunks' plans, each solved with the work of a run of its own, close the run's gap."""
    from optimizer.solvers.chunked import MASTER_GAP_SHARE

    sc = synthetic_city("q20000")
    r = solve_chunks(_chunks(sc, (0.25, 0.5, 0.75)), SolveOptions(time_limit_s=60, mip_gap=1e-3), "auto")
    master = next(p for p in r.phases if p["phase"] == "master LP")
    assert master["short"] <= 1e-9  # its plan meets every rule
    assert 0.0 <= master["gap"] <= MASTER_GAP_SHARE * 1e-3
    assert r.status == "optimal" and r.gap <= 1e-3
