"""The Lagrangian engine and the auto solver against HiGHS's proven optimum; the rules added with them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import industry, make_scenario, parcel, random_instance, scenario_from

from optimizer.errors import InfeasibleScenario, ScenarioError
from optimizer.model import build_model
from optimizer.pipeline import solve_scenario
from optimizer.solution import check_plan, decode
from optimizer.solvers import SolveOptions, lagrange, solve_bundle


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_lagrange_bound_and_plan_bracket_the_optimum(seed):
    sc = scenario_from(*random_instance(seed, n_parcels=60, n_industries=5))
    bundle = build_model(sc)
    exact = solve_bundle(bundle, "highs", SolveOptions(time_limit_s=60, mip_gap=0.0))
    assert exact.status == "optimal"
    res = solve_bundle(bundle, "lagrange", SolveOptions(time_limit_s=30, mip_gap=1e-3))
    assert res.has_plan
    tol = 1e-6 * abs(exact.objective)
    assert res.bound >= exact.objective - tol  # a proven upper bound of a maximisation
    assert res.objective <= exact.objective + tol  # a real plan cannot beat the optimum
    assert res.gap == pytest.approx((res.bound - res.objective) / abs(res.objective), rel=1e-9)
    report = check_plan(sc, decode(sc, bundle, res.x), res.objective)
    assert report.passed, report.violations


@pytest.mark.parametrize("seed", [5, 6])
def test_auto_reaches_the_requested_gap(seed):
    sc = scenario_from(*random_instance(seed, n_parcels=80, n_industries=4))
    exact = solve_scenario(sc, solver="highs", mip_gap=0.0, time_limit_s=60)
    auto = solve_scenario(sc, solver="auto", mip_gap=1e-3, time_limit_s=60)
    assert auto.check.passed
    assert auto.plan.objective >= exact.plan.objective * (1 - 1e-3) - 1e-6
    assert auto.plan.gap <= 1e-3 + 1e-12


def test_lagrange_minimisation_tiny_gap_instance():
    # a small assignment in the minimise sense: every parcel must be developed, each industry has a budget
    parcels = [parcel(f"J{j}", 1.0, "J", 1.0, must_develop=True) for j in range(6)]
    inds = [industry(f"A{i}", 1.0, "J", 1.0, 1.0) for i in range(3)]
    rng = np.random.default_rng(0)
    pairs = [{"parcel_id": f"J{j}", "industry_id": f"A{i}", "value_multiplier": float(rng.integers(5, 30)),
              "cost_yuan": float(rng.integers(1, 10))} for j in range(6) for i in range(3)]
    config = {"objective": {"sense": "minimize"},
              "rules": {"industry_budget_yuan": {"A0": 15.0, "A1": 15.0, "A2": 15.0}}}
    sc = make_scenario(parcels, inds, config, pairs=pairs)
    exact = solve_scenario(sc, solver="highs", mip_gap=0.0)
    lag = solve_scenario(sc, solver="lagrange", mip_gap=0.0, time_limit_s=20)
    assert lag.check.passed
    assert lag.plan.bound <= exact.plan.objective + 1e-6  # a lower bound of a minimisation
    assert lag.plan.objective >= exact.plan.objective - 1e-6


def test_dual_function_is_a_bound_at_any_prices():
    sc = scenario_from(*random_instance(9, n_parcels=40, n_industries=4))
    bundle = build_model(sc)
    opt = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0)).objective / bundle.milp.obj_scale
    P = lagrange._split(bundle)
    rng = np.random.default_rng(0)
    m = len(P.L)
    for _ in range(20):
        mu = np.abs(rng.normal(0, 1, 2 * m))
        mu[:m][~np.isfinite(P.U)] = 0
        mu[m:][~np.isfinite(P.L)] = 0
        _, grad, exact = lagrange._smoothed(P, mu, 0.01)
        assert exact >= opt - 1e-9 * abs(opt)


def _random_prices(seed: int, n_parcels: int, n_industries: int, rng_seed: int):
    """A random instance's problem and random multipliers on its finite row sides: (P, m, μ)."""
    sc = scenario_from(*random_instance(seed, n_parcels=n_parcels, n_industries=n_industries))
    P = lagrange._split(build_model(sc))
    m = len(P.L)
    mu = np.abs(np.random.default_rng(rng_seed).normal(0, 0.2, 2 * m))
    mu[:m][~np.isfinite(P.U)] = 0
    mu[m:][~np.isfinite(P.L)] = 0
    return P, m, mu


def test_smoothed_gradient_matches_finite_differences():
    P, m, mu = _random_prices(11, 25, 3, 1)
    f0, g0, _ = lagrange._smoothed(P, mu, 0.05)
    # the smoothing's exponentials are float32: the value carries about 1e-7 × T of noise per parcel, so the step
    # must stand well above it (at 1e-6 the differences were 0.8 % off; at 1e-3, 3.5e-5)
    h = 1e-3
    for i in np.flatnonzero(np.r_[np.isfinite(P.U), np.isfinite(P.L)]):
        e = np.zeros(2 * m)
        e[i] = h
        fd = (lagrange._smoothed(P, mu + e, 0.05)[0] - lagrange._smoothed(P, mu - e, 0.05)[0]) / (2 * h)
        assert fd == pytest.approx(g0[i], rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("T", [0.05, 1e-3])
def test_smoothed_value_is_each_parcels_logsumexp(T):
    """The smoothed dual, recomputed from its definition in float64: per parcel, T·logsumexp over its options
    (nothing, unless it must develop; each pair at its least and at its most floor) at the reduced values; plus
    the multipliers' constant. The engine takes its exponentials in float32, within about 1e-7 × T a parcel."""
    from scipy.special import logsumexp

    P, m, mu = _random_prices(12, 40, 4, 2)
    lam = mu[:m] - mu[m:]
    r = P.c - P.rmatvec(lam)
    rx, rf = r[:P.n], r[P.n:]
    ref = float(P.Uf @ mu[:m] - P.Lf @ mu[m:])
    ends = np.r_[P.starts[1:], P.n]
    for k, (a, b) in enumerate(zip(P.starts, ends, strict=True)):
        options = np.r_[rx[a:b] + rf[a:b] * P.lo_u[a:b], rx[a:b] + rf[a:b] * P.hi_u[a:b], [] if P.must[k] else [0.0]]
        ref += T * logsumexp(options / T)
    val, _, exact = lagrange._smoothed(P, mu, T)
    assert val == pytest.approx(ref, abs=1e-6 * T * len(P.starts))
    assert exact <= val <= exact + T * np.log(3 * np.diff(np.r_[P.starts, P.n]) + 1).sum() + 1e-9


# --- infeasible scenarios: the engines say "infeasible" (not "no plan"), so the pipeline explains the conflict ---
def _budget_below_the_demand_floors(budget: float = 2.0e7):
    """Every floor fits the parcels, but the floors cost more than the budget: finance ≥ 20,000 m² on B2 at
    1,000 yuan/m² (2e7) and factory (its share at least 40 %) on M1 at 500 yuan/m² (at least 1e7): 3e7 > 2e7.
    Invisible before solving; the LP relaxation is infeasible already."""
    parcels = [parcel("P1", 10_000, "B2", 5, "core", dev_cost_per_m2=1000),
               parcel("P2", 20_000, "B2", 2, "core", dev_cost_per_m2=1000),
               parcel("P3", 30_000, "M1", 2, "edge", dev_cost_per_m2=500),
               parcel("P4", 10_000, "M1", 1.5, "edge", dev_cost_per_m2=500, must_develop=True)]
    inds = [industry("finance", 50_000, "B2", 2, 6, max_floor_total_m2=50_000, min_floor_total_m2=20_000,
                     min_share=0.5),
            industry("it", 30_000, "B2;M1", 1, 4, max_floor_total_m2=60_000),
            industry("factory", 10_000, "M1", 0.5, 2, min_floor_total_m2=20_000, min_share=0.4)]
    return make_scenario(parcels, inds, {"rules": {"total_budget_yuan": budget}})


def _one_parcel_two_small_demands():
    """P1 must be developed; a and b each need at least 1,000 m² there but may have at most 500 m² in all.
    The LP relaxation is feasible (half of each: 500 m² apiece); no plan is."""
    return make_scenario([parcel("P1", 1000, "B", 2, must_develop=True)],
                         [industry("a", 100, "B", 1, 2, max_floor_total_m2=500),
                          industry("b", 90, "B", 1, 2, max_floor_total_m2=500)])


@pytest.mark.parametrize("solver", ["lagrange", "auto"])
def test_engine_explains_an_infeasible_scenario(solver):
    with pytest.raises(InfeasibleScenario, match="proved that no plan satisfies all rules") as info:
        solve_scenario(_budget_below_the_demand_floors(), solver=solver)
    assert [c for c in info.value.conflicts if c.startswith("total development budget ≤ ")] == \
        info.value.conflicts  # the budget, and it alone
    # the same scenario with the budget its floors need is solved, not called infeasible
    res = solve_scenario(_budget_below_the_demand_floors(3.0e7), solver=solver, mip_gap=1e-4)
    assert res.check.passed and res.status == "optimal"


@pytest.mark.parametrize("solver", ["lagrange", "auto"])
def test_engine_explains_an_integer_infeasible_scenario(solver):
    sc = _one_parcel_two_small_demands()
    res = solve_bundle(build_model(sc), solver, SolveOptions(time_limit_s=30))
    assert res.status == "infeasible" and not res.has_plan
    assert res.phases[0]["phase"] == "dual"
    assert any(p["stopped_by"] == "infeasible" for p in res.phases)
    with pytest.raises(InfeasibleScenario) as info:
        solve_scenario(sc, solver=solver)
    assert any("demand bounds of" in c or "parcel P1" in c for c in info.value.conflicts)


def test_dual_bound_below_every_plan_proves_infeasibility():
    P = lagrange._split(build_model(_budget_below_the_demand_floors()))
    least = lagrange.least_objective(P)
    res = lagrange.dual_ascent(P, 1e-5, least=least)
    assert res.stopped_by == "infeasible" and res.bound < least
    feasible = lagrange._split(build_model(_budget_below_the_demand_floors(3.0e7)))
    res = lagrange.dual_ascent(feasible, 1e-5, least=lagrange.least_objective(feasible))
    assert res.stopped_by == "converged"


def test_engine_phases_say_what_stopped_each_step():
    sc = scenario_from(*random_instance(2, n_parcels=60, n_industries=5))
    res = solve_bundle(build_model(sc), "lagrange", SolveOptions(time_limit_s=60, mip_gap=1e-3))
    dual, refinement, *repairs = res.phases
    assert dual["phase"] == "dual" and dual["stopped_by"] in ("converged", "evaluation_limit")
    assert dual["evaluations"] > 0 and dual["seconds"] >= 0
    assert refinement["phase"] == "dual refinement" and refinement["stopped_by"] in ("converged", "evaluation_limit", "skipped")
    assert repairs and all(p["phase"] == f"repair {i + 1}" for i, p in enumerate(repairs))
    assert all(p["stopped_by"] in ("gap_reached", "node_limit", "infeasible_restriction") for p in repairs)
    assert all(p["open_parcels"] >= 1 for p in repairs)
    assert repairs[-1]["stopped_by"] == "gap_reached" and repairs[-1]["gap"] == pytest.approx(res.gap)


# --- sub-area absolute floor bounds and the zone-area KPI ----------------------------------------------------
def _two_subareas(extra_rules: list[dict]):
    parcels = [parcel("A1", 10000, "B2", 4, "core", dev_cost_per_m2=5000),
               parcel("A2", 10000, "B2", 4, "core", dev_cost_per_m2=5000),
               parcel("B1", 10000, "B2", 4, "edge", dev_cost_per_m2=1000),
               parcel("B2", 10000, "B2", 4, "edge", dev_cost_per_m2=1000)]
    inds = [industry("office", 20000, "B2", 1, 4)]
    config = {"scenario": {"name": "two", "total_area_km2": 0.1},
              "rules": {"total_budget_yuan": 1.0e8}, "subarea_mix": extra_rules}
    return make_scenario(parcels, inds, config)


def test_subarea_min_floor_moves_development_into_the_core():
    # by hand: the 1e8 yuan budget builds the edge to its FAR caps (2 × 40,000 m² at 1,000 yuan = 8e7); the 2e7
    # left cannot buy a core site (at least FAR 1 = 10,000 m² at 5,000 yuan = 5e7): 80,000 m² × 20,000 yuan
    free = solve_scenario(_two_subareas([]), solver="highs", mip_gap=0.0)
    by_sub = free.plan.assignment.groupby("subarea")["floor_area_m2"].sum()
    assert "core" not in by_sub.index and by_sub["edge"] == pytest.approx(80000)
    assert free.plan.objective == pytest.approx(80000 * 20000, rel=1e-9)
    # with at least 10,000 m² in the core (5e7), the other 5e7 builds 50,000 m² at the edge: 60,000 m² in all
    ruled = solve_scenario(_two_subareas([{"subarea": "core", "min_floor_m2": 10000.0}]), solver="highs",
                           mip_gap=0.0)
    by_sub = ruled.plan.assignment.groupby("subarea")["floor_area_m2"].sum()
    assert by_sub["core"] == pytest.approx(10000)
    assert ruled.plan.objective == pytest.approx(60000 * 20000, rel=1e-9)
    assert ruled.check.passed


def test_subarea_max_floor_and_checker_violation():
    sc = _two_subareas([{"subarea": "edge", "industry": "office", "max_floor_m2": 30000.0}])
    res = solve_scenario(sc, solver="highs", mip_gap=0.0)
    edge = res.plan.assignment.query("subarea == 'edge'")["floor_area_m2"].sum()
    assert edge <= 30000 + 1e-6
    broken = res.plan.assignment[["parcel_id", "industry_id", "floor_area_m2"]].copy()
    broken.loc[broken["parcel_id"].str.startswith("B"), "floor_area_m2"] = 35000.0
    report = check_plan(sc, broken)
    assert not report.passed
    assert any("edge" in v and "above 30,000" in v for v in report.violations)


def test_subarea_min_floor_above_capacity_is_explained_before_solving():
    sc = _two_subareas([{"subarea": "core", "min_floor_m2": 1.0e6}])
    with pytest.raises(InfeasibleScenario) as info:
        solve_scenario(sc, solver="highs")
    assert any("core" in c and "1,000,000" in c for c in info.value.conflicts)


def test_share_rule_without_industry_is_rejected():
    with pytest.raises(ScenarioError) as info:
        _two_subareas([{"subarea": "core", "min_share": 0.2}])
    assert info.value.field == "subarea_mix[1].industry"


def test_zone_area_kpi():
    res = solve_scenario(_two_subareas([]), solver="highs", mip_gap=0.0)
    k = res.kpis
    assert k["zone_area_km2"] == pytest.approx(0.1)
    assert k["output_per_km2_zone_yuan"] == pytest.approx(k["total_output_yuan"] / 0.1)
    assert k["output_per_km2_all_land_yuan"] == pytest.approx(k["total_output_yuan"] / 0.04)


# --- tied industries: the polish's primal shares tied parcels out ---------------------------------------------
def _tied_industries(n: int = 200):
    """Two industries with the same value and cost on n identical parcels, each with a demand floor of a quarter
    of what the budget builds: at the optimal prices they tie on every parcel, so the priced choice (ties to the
    first pair) gives every parcel to one of them and the other's floor to none."""
    parcels = [parcel(f"P{i:03d}", 1000, "B", 2, dev_cost_per_m2=1000) for i in range(n)]
    inds = [industry("a", 10_000, "B", 1, 2, min_floor_total_m2=0.25 * 0.6 * n * 2000),
            industry("b", 10_000, "B", 1, 2, min_floor_total_m2=0.25 * 0.6 * n * 2000)]
    return make_scenario(parcels, inds, {"rules": {"total_budget_yuan": 0.6 * n * 2000 * 1000}})


def test_polished_primal_shares_tied_parcels_out():
    sc = _tied_industries()
    bundle = build_model(sc)
    P = lagrange._split(bundle)
    dual = lagrange.refine_dual(P, lagrange.dual_ascent(P, 1e-4), 1e-7)
    assert dual.primal is not None
    theta, codes = dual.primal
    assert theta.sum() == pytest.approx(1.0) and codes.shape[1] == len(P.starts)
    _, g = lagrange._exact(P, dual.mu)
    m = len(P.L)
    floor_rows = np.isfinite(P.L)
    priced = P.Uf[floor_rows] - g[:m][floor_rows]  # activity of the demand floors under the priced choice
    assert priced.min() < 0.5 * P.L[floor_rows].min()  # one industry gets (almost) nothing
    chosen, most = lagrange._rounded(P, dual.primal)
    z = np.r_[chosen.astype(float), chosen * np.where(most, P.hi_u, P.lo_u)]
    act = P.matvec(z)[floor_rows]
    assert np.all(act >= 0.9 * P.L[floor_rows])  # shared out: each floor nearly met before any repair


def test_engine_plan_on_tied_industries_matches_highs():
    sc = _tied_industries()
    engine = solve_scenario(sc, solver="lagrange", mip_gap=1e-4)
    exact = solve_scenario(sc, solver="highs", mip_gap=1e-6)
    assert engine.check.passed and exact.check.passed
    assert engine.plan.objective == pytest.approx(exact.plan.objective, rel=2e-4)
    repairs = [p for p in engine.phases if p["phase"].startswith("repair")]
    assert repairs[0]["stopped_by"] == "gap_reached"  # the first, smallest repair already finds it


def test_dual_in_blocks_equals_the_dual_in_one_block(monkeypatch):
    """The dual's per-pair work goes in blocks of whole parcels (memory, threads); any block size gives the same
    value, gradient and choices, and any thread count the same bits."""
    sc = scenario_from(*random_instance(5, n_parcels=80, n_industries=6))
    rng = np.random.default_rng(0)
    whole = lagrange._split(build_model(sc))
    m = len(whole.L)
    for _ in range(3):
        mu = np.abs(rng.normal(size=2 * m)) * rng.choice([0.0, 1e-3, 1.0], size=2 * m)
        T = float(rng.choice([1e-4, 1e-2]))
        monkeypatch.setattr(lagrange, "BLOCK_PAIRS", 1 << 30)
        whole._block_list = None
        one = lagrange._smoothed(whole, mu, T), lagrange._exact(whole, mu, picks=True)
        monkeypatch.setattr(lagrange, "BLOCK_PAIRS", 7)  # most blocks a parcel or two
        whole._block_list = None
        assert len(lagrange._blocks(whole)) > 10
        many = lagrange._smoothed(whole, mu, T), lagrange._exact(whole, mu, picks=True)
        whole.threads = 2  # the same blocks in two threads: the same numbers, bit for bit
        threaded = lagrange._smoothed(whole, mu, T), lagrange._exact(whole, mu, picks=True)
        whole.threads = 1
        assert threaded[0][0] == many[0][0] and threaded[0][2] == many[0][2] and threaded[1][0] == many[1][0]
        assert np.array_equal(threaded[0][1], many[0][1]) and np.array_equal(threaded[1][1], many[1][1])
        np.testing.assert_array_equal(threaded[1][2], many[1][2])
        (sv1, g1, ev1), (xv1, xg1, code1) = one
        (sv2, g2, ev2), (xv2, xg2, code2) = many
        assert sv2 == pytest.approx(sv1, rel=1e-12) and ev2 == pytest.approx(ev1, rel=1e-12)
        np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-9)
        assert xv2 == pytest.approx(xv1, rel=1e-12)
        np.testing.assert_allclose(xg2, xg1, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(code2, code1)


def test_blocks_that_keep_their_few_coupled_x_columns_apart_give_the_same_bits(monkeypatch):
    """On the Qianhai-like city most coupling rules are on floor: a block keeps its few x columns that are in a
    coupling row (sites, carriers) apart (`COMPACT_X_SHARE`) and its products skip the rest. The smoothed and
    the exact dual give the same numbers to the last bit as with every x column in the products."""
    from optimizer.bench.synthetic import synthetic_city

    P = lagrange._split(build_model(synthetic_city("q3000")))
    m = len(P.L)
    rng = np.random.default_rng(3)
    mus = [np.abs(rng.normal(size=2 * m)) * rng.choice([0.0, 1e-3, 1.0], size=2 * m) for _ in range(3)]
    got = {}
    for share in (lagrange.COMPACT_X_SHARE, 1 << 62):  # (the second: no block keeps them apart)
        monkeypatch.setattr(lagrange, "COMPACT_X_SHARE", share)
        P._block_list = None
        got[share] = [b.xr is not None for b in lagrange._blocks(P)], [
            (lagrange._smoothed(P, mu, 1e-3), lagrange._exact(P, mu, picks=True)) for mu in mus]
    (apart, a), (whole, b) = got.values()
    assert all(apart) and not any(whole)
    for ((sv1, g1, ev1), (xv1, xg1, c1)), ((sv2, g2, ev2), (xv2, xg2, c2)) in zip(a, b, strict=True):
        assert (sv1, ev1, xv1) == (sv2, ev2, xv2)
        for u, w in ((g1, g2), (xg1, xg2), (c1, c2)):
            np.testing.assert_array_equal(u, w)


def test_effective_coupling_rows_are_a1_plus_a2_d_to_the_last_bit():
    """`_effective` builds A1 + A2·D from the transposes the dual keeps; it is the matrix scipy's own product and
    sum give, entry for entry and bit for bit, with its indices sorted."""
    from optimizer.bench.synthetic import synthetic_city

    for sc in (synthetic_city("q3000"), scenario_from(*random_instance(7, n_parcels=60, n_industries=5))):
        P = lagrange._split(build_model(sc))
        want = (P.A1 + P.A2 @ P.D).tocsr()
        want.sort_indices()
        got = lagrange._effective(P)
        assert got.has_sorted_indices and got.shape == want.shape
        for f in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(got, f), getattr(want, f))


def test_resumed_dual_goes_on_from_where_it_stopped():
    """dual_ascent(resume=...) continues the last level from the last iterate (the engine does so after a repair
    that left the gap open): it keeps the earlier evaluations and best bound, never returns a worse bound, and
    every bound it returns still holds (at or above the optimum of this maximisation)."""
    sc = scenario_from(*random_instance(9, n_parcels=40, n_industries=4))
    bundle = build_model(sc)
    opt = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0)).objective / bundle.milp.obj_scale
    P = lagrange._split(bundle)
    first = lagrange.dual_ascent(P, 1e-2)
    assert first.stopped_by == "converged" and np.isfinite(first.smoothing) and first.last is not None
    more = lagrange.dual_ascent(P, 1e-2, resume=first, ftol_share=1e-4)
    assert more.evaluations > first.evaluations
    assert opt - 1e-9 * abs(opt) <= more.bound <= first.bound
    _, _, at_mu = lagrange._smoothed(P, more.mu, more.smoothing)
    assert at_mu == pytest.approx(more.bound, rel=1e-12)  # the bound is the exact dual at the returned prices
    capped = lagrange.dual_ascent(P, 1e-2, max_evals=first.evaluations, resume=first, ftol_share=1e-4)
    assert capped.evaluations == first.evaluations and capped.stopped_by == "evaluation_limit"
    assert capped.bound == first.bound


# --- a repair's LP rounding ----------------------------------------------------------------------------------
def _odd_cycle_milp(x4_cost: float):
    """Binaries x1..x4 (then four floor columns fixed at 0): at most one of x1, x2, x3 (a triangle),
    x1 + x2 + x3 + x4 ≥ 1.5, maximise x1 + x2 + x3 − x4_cost·x4. Every plan needs x4 = 1 and one of the three."""
    import scipy.sparse as sp

    from optimizer.model.milp import MILP

    A = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 1, 1]], float))
    A = sp.hstack([A, sp.csr_matrix((4, 4))]).tocsr()
    return MILP(c=np.r_[1.0, 1.0, 1.0, -x4_cost, np.zeros(4)], A=A, row_lower=np.r_[-np.inf, -np.inf, -np.inf, 1.5],
                row_upper=np.r_[1.0, 1.0, 1.0, np.inf], col_lower=np.zeros(8), col_upper=np.r_[np.ones(4), np.zeros(4)],
                integrality=np.r_[np.ones(4, bool), np.zeros(4, bool)], sense="maximize", blocks=())


def test_lp_rounding_that_fails_does_not_call_the_restriction_infeasible():
    """The LP takes x1 = x2 = x3 = ½ and x4 = 0; fixing x4 at 0 leaves no plan, but the model has plans: the
    rounding must say it failed (so that the repair goes on to the MILP), never "infeasible"."""
    m = _odd_cycle_milp(10.0)
    res = lagrange._lp_rounding(m, 4, SolveOptions(time_limit_s=10))
    assert not res.has_plan and res.status == "no_solution"
    assert res.phases[0]["stopped_by"] == "rounding_failed" and res.phases[0]["rounded_open"] == 3


def test_lp_rounding_keeps_the_lp_integral_part_and_solves_the_rest():
    """With x4 worth 0.1 the LP takes x4 = 1 and the triangle half each (1.6); the rounding fixes x4 = 1 and
    solves the triangle: one of the three, objective 1.1 (the model's optimum), the target reached."""
    m = _odd_cycle_milp(-0.1)
    res = lagrange._lp_rounding(m, 4, SolveOptions(time_limit_s=10, stop_at_objective=1.05))
    assert res.has_plan and res.objective == pytest.approx(1.1)
    assert res.x[3] == pytest.approx(1.0) and res.x[:3].sum() == pytest.approx(1.0)
    assert res.phases[0]["stopped_by"] == "objective_target"


def test_a_failed_rounding_hands_the_restriction_to_the_milp(monkeypatch):
    """Rounding fails on the odd cycle with x4 dear (see above): the MILP on the restriction still finds the
    optimum (x4 and one of the three: 1 − 10); and so it does when the rounding's HiGHS call itself fails."""
    m = _odd_cycle_milp(10.0)
    o = SolveOptions(time_limit_s=10)
    res = lagrange._rounded_then_milp(m, 4, o, rounded_will_do=True)
    assert res.has_plan and res.objective == pytest.approx(-9.0)
    assert res.phases[0]["rounded_open"] == 3 and "lp_s" in res.phases[0]

    def broken(*a, **k):
        raise lagrange.SolverFailed("HiGHS could not run")
    monkeypatch.setattr(lagrange, "_lp_rounding", broken)
    res = lagrange._rounded_then_milp(m, 4, o, rounded_will_do=True)
    assert res.has_plan and res.objective == pytest.approx(-9.0)


def test_row_ranges_are_the_least_and_most_of_each_row(monkeypatch):
    """row_ranges (the repair's and the cover's reach of each row) against the dense sums, in runs of a few rows,
    with infinite bounds, explicit zeros and empty rows."""
    rng = np.random.default_rng(3)
    A = sp.random(40, 30, density=0.3, random_state=4, format="csr")
    A.data = rng.normal(size=A.nnz)
    A.data[:5] = 0.0  # explicit zeros: they add nothing, even against an infinite bound
    A = sp.vstack([A, sp.csr_matrix((3, 30))]).tocsr()  # empty rows
    lo, hi = -rng.random(30), rng.random(30)
    lo[3], hi[7] = -np.inf, np.inf
    monkeypatch.setattr(lagrange, "ROW_RANGE_NNZ", 17)
    least, most = lagrange.row_ranges(A, lo, hi)
    D = A.toarray()
    with np.errstate(invalid="ignore"):
        want_most = np.nansum(np.where(D > 0, D * hi, np.where(D < 0, D * lo, 0.0)), axis=1)
        want_least = np.nansum(np.where(D > 0, D * lo, np.where(D < 0, D * hi, 0.0)), axis=1)
    np.testing.assert_allclose(most, want_most, rtol=1e-12)
    np.testing.assert_allclose(least, want_least, rtol=1e-12)
    assert np.isinf(most).any() and np.isinf(least).any() and (most[-3:] == 0).all()
    # every bound finite (the cover's case: two sparse products), some columns fixed at a point
    lo[3], hi[7] = -1.0, 2.0
    hi[:4] = lo[:4]
    least, most = lagrange.row_ranges(A, lo, hi)
    want_most = np.where(D > 0, D * hi, D * lo).sum(axis=1)
    want_least = np.where(D > 0, D * lo, D * hi).sum(axis=1)
    np.testing.assert_allclose(most, want_most, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(least, want_least, rtol=1e-12, atol=1e-12)
    assert (least <= most).all() and (most[-3:] == 0).all()


def test_leading_is_the_prefix_of_a_stable_sort():
    """leading (the pairs a widening or a cover takes) against the prefix of a stable sort of every candidate by
    key, cut where the running weights reach the need: with many tied keys, needs met after a few, many or none
    of the candidates, and partition points that fall short several times."""
    rng = np.random.default_rng(8)
    n = 5000
    key = rng.integers(0, 40, n).astype(float)  # ties everywhere
    weight = rng.random(n)
    cand = np.flatnonzero(rng.random(n) < 0.7)
    order = cand[np.argsort(key[cand], kind="stable")]
    running = np.cumsum(weight[order])
    for need in (0.0, 0.3, 5.0, 200.0, running[-1] * 0.999, running[-1] * 2):
        want = order[:int(np.searchsorted(running, need)) + 1]
        for first in (1, 3, 64, 4096):
            got = lagrange.leading(cand, key, weight, need, first=first)
            np.testing.assert_array_equal(got, want)
    assert len(lagrange.leading(cand, key, weight, running[-1] * 2)) == len(cand)
    assert len(lagrange.leading(cand[:0], key, weight, 1.0)) == 0


def test_top_ranks_rank_as_a_stable_sort_within_each_parcel():
    """top_ranks against a stable sort of each parcel's values (ties to the first pair), with many ties."""
    rng = np.random.default_rng(5)
    lens = rng.integers(1, 7, 300)
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    seg = np.repeat(np.arange(len(lens)), lens)
    v = rng.integers(0, 4, len(seg)).astype(float)  # few values: ties everywhere
    v[:3] = -np.inf
    full = np.empty(len(v), np.int64)
    for s0, k in zip(starts, lens, strict=True):
        full[s0 + np.argsort(-v[s0:s0 + k], kind="stable")] = np.arange(k)
    for k in (1, 2, 3, 10):
        np.testing.assert_array_equal(lagrange.top_ranks(v, starts, seg, k), np.minimum(full, k))


def test_floor_values_free_each_rules_nearest_to_indifferent_settled_floors(monkeypatch):
    """_floor_values leaves free, per coupling rule, the FREE_FLOORS_* settled movable pairs in it of least
    |reduced value| × range (ties to the lower pair); its loop over rules and its one-sort path agree with that."""
    sc = scenario_from(*random_instance(11, n_parcels=120, n_industries=6))
    P = lagrange._split(build_model(sc))
    rng = np.random.default_rng(2)
    m, n = len(P.L), P.n
    monkeypatch.setattr(lagrange, "FREE_FLOORS_BINDING", 5)
    monkeypatch.setattr(lagrange, "FREE_FLOORS_SLACK", 2)
    for _ in range(3):
        fixed = rng.random(n) < 0.7
        rf = np.round(rng.normal(size=n), 1)  # rounded: ties in the scores
        mu = np.where(rng.random(2 * m) < 0.5, 0.0, rng.random(2 * m))
        Aeff = (P.A1 + P.A2 @ P.D).toarray()
        score = np.abs(rf) * (P.hi_u - P.lo_u)
        want = np.where(fixed, np.where(rf > 0, P.hi_u, P.lo_u), np.nan)
        for i in range(m):
            pairs = np.flatnonzero((Aeff[i, n:] != 0) & fixed & (P.hi_u > P.lo_u))
            limit = 5 if (mu[i] > 0 or mu[m + i] > 0) else 2
            want[pairs[np.argsort(score[pairs], kind="stable")[:limit]]] = np.nan
        assert np.isnan(want[fixed]).any()
        P.Aeff = None
        loop = lagrange._floor_values(P, rf, mu, fixed, None)
        monkeypatch.setattr(lagrange, "FLOOR_LOOP_ROWS", 0)
        sort = lagrange._floor_values(P, rf, mu, fixed, None)
        monkeypatch.setattr(lagrange, "FLOOR_LOOP_ROWS", 2000)
        np.testing.assert_array_equal(loop, want)
        np.testing.assert_array_equal(sort, want)


def _three_parcels_under_a_trips_cap(industries, trips_max):
    """Three 10,000 m² parcels (FAR up to 4) in zone B, the given industries, a traffic cap: (scenario, bundle,
    P, each pair's parcel id, each pair's industry id)."""
    sc = make_scenario(
        [parcel("P0", 10_000, "B", 4), parcel("P1", 10_000, "B", 4), parcel("P2", 10_000, "B", 4)],
        industries, {"metric_rules": [{"metric": "trips", "max": trips_max}]})
    bundle = build_model(sc)
    pid = np.asarray(sc.parcels.parcel_id)[bundle.pairs.parcel]
    kid = np.asarray(sc.industries.industry_id)[bundle.pairs.industry]
    return sc, bundle, lagrange._split(bundle), pid, kid


def _busy_beside_quiet():
    """Rules within a restriction's reach alone but not together: two parcels settled on the busy industry at their
    most floor (80,000 trips of the cap's 81,000) leave too little for the quiet one's demand minimum on the third
    parcel. Returns (scenario, bundle, P, keep, the settled pairs, their floors)."""
    sc, bundle, P, pid, kid = _three_parcels_under_a_trips_cap(
        [industry("busy", 10_000, "B", 1, 4, trips_per_m2=1.0),
         industry("quiet", 2_000, "B", 1, 4, trips_per_m2=0.1, min_floor_total_m2=30_000)], 81_000)
    busy = (kid == "busy") & np.isin(pid, ["P0", "P1"])
    keep = busy | ((kid == "quiet") & (pid == "P2"))
    return sc, bundle, P, keep, busy, np.where(busy, P.hi_u, np.nan)


def _busy_beside_quiet_widened():
    """`_busy_beside_quiet`'s restriction, its elastic LP, and the restriction widened by every pair that helps at
    that LP's duals: (bundle, P, fval, opts, the elastic LP, the wider keep and fixed masks, the pairs moved)."""
    sc, bundle, P, keep, busy, fval = _busy_beside_quiet()
    opts = SolveOptions(time_limit_s=30)
    first = lagrange._restricted_solve(bundle, P, keep, busy, opts, 30, None, None, 1000, fval, False,
                                       build_only=True)[2]
    elastic = lagrange._elastic(first, P, 30)
    keep2, fixed2, more = lagrange._widen(P, keep, busy, fval, 1e9, lagrange._effective(P).T @ elastic.y)
    return bundle, P, fval, opts, elastic, keep2, fixed2, more


def test_a_restriction_whose_rules_conflict_is_widened_where_its_elastic_lp_prices_the_conflict(monkeypatch):
    """Each rule is within the restriction's reach alone, but not together: two parcels settled on the busy
    industry at their most floor leave the traffic cap too little for the demand minimum of the quiet one. HiGHS
    proves the restriction infeasible; the elastic LP's duals free a settled pair, and the widened restriction
    gives a plan that passes the checker: the busy floor cut back to make room, as in the model's optimum."""
    sc, bundle, P, keep, busy, fval = _busy_beside_quiet()
    opts = SolveOptions(time_limit_s=30, mip_gap=1e-6)
    monkeypatch.setattr(lagrange, "REPAIR_WIDEN_ROUNDS", 0)
    _, res = lagrange._repair(bundle, P, keep, busy, opts, 30, None, None, node_limit=1000, fval=fval)
    assert res is not None and res.status == "infeasible"  # the restriction as the candidates left it
    monkeypatch.undo()
    x, res = lagrange._repair(bundle, P, keep, busy, opts, 30, None, None, node_limit=1000, fval=fval)
    assert x is not None and res.phases[0]["widened"] >= 1
    plan = decode(sc, bundle, x)
    assert check_plan(sc, plan).passed
    floor = plan.groupby("industry_id").floor_area_m2.sum()
    # the whole model's optimum: quiet fills P2 (4,000 trips), busy takes the other 77,000 trips on P0 and P1
    assert floor["quiet"] == pytest.approx(40_000, rel=1e-6) and floor["busy"] == pytest.approx(77_000, rel=1e-6)
    exact = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0))
    assert float(bundle.milp.c @ x) * bundle.milp.obj_scale == pytest.approx(exact.objective, rel=1e-9)


def _rich_beside_poor():
    """A restriction with plans, none of which reaches the target: two parcels settled on the poor industry at
    their least floor, only the third open (to the rich one), under a binding traffic cap. Returns (scenario,
    bundle, P, keep, the settled pairs, their floors, HiGHS's exact result, options, the target)."""
    from optimizer.solvers.base import gap_target

    sc, bundle, P, pid, kid = _three_parcels_under_a_trips_cap(
        [industry("rich", 10_000, "B", 1, 4, trips_per_m2=1.0),
         industry("poor", 2_000, "B", 1, 4, trips_per_m2=0.5)], 90_000)
    poor = (kid == "poor") & np.isin(pid, ["P0", "P1"])
    keep = poor | ((kid == "rich") & (pid == "P2"))
    fval = np.where(poor, P.lo_u, np.nan)
    exact = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0))
    opts = SolveOptions(time_limit_s=30, mip_gap=1e-6)
    stop_at = gap_target(exact.objective, opts, True)
    return sc, bundle, P, keep, poor, fval, exact, opts, stop_at


def test_a_restriction_short_of_the_target_is_widened_where_its_lp_prices_the_pairs_left_out(monkeypatch):
    """The restriction has plans, but none reaches the target: two parcels settled on the poor industry, only
    the third open (to the rich one), under a binding traffic cap. HiGHS gives up once its bound proves that
    (`give_up_below`); the restricted LP's duals price the pairs left out (rich on the settled parcels, at the
    cap's price), the widened restriction reaches the whole model's optimum, and the plan passes the checker."""
    sc, bundle, P, keep, poor, fval, exact, opts, stop_at = _rich_beside_poor()
    monkeypatch.setattr(lagrange, "REPAIR_WIDEN_ROUNDS", 0)
    x0, res = lagrange._repair(bundle, P, keep, poor, opts, 30, None, stop_at, node_limit=1000, fval=fval)
    assert x0 is not None and res.objective + 1.0 < stop_at  # a plan, short of the target
    monkeypatch.undo()
    x, res = lagrange._repair(bundle, P, keep, poor, opts, 30, None, stop_at, node_limit=1000, fval=fval)
    assert x is not None and res.phases[0]["priced"] >= 1 and "widened" not in res.phases[0]
    plan = decode(sc, bundle, x)
    assert check_plan(sc, plan).passed
    assert float(bundle.milp.c @ x) * bundle.milp.obj_scale == pytest.approx(exact.objective, rel=1e-6)
    floor = plan.groupby("industry_id").floor_area_m2.sum()
    assert floor.get("rich", 0.0) > 40_000  # rich moved onto a settled parcel


def test_a_large_restriction_starts_from_its_elastic_lp_and_rounds_its_optimum(monkeypatch):
    """The conflicting restriction above, counted as large (`ELASTIC_FIRST_MIN_OPEN`): no MILP on the restriction
    as the candidates left it; the elastic LP widens it, its last point (which meets every rule) is the restricted
    LP's optimum, and the rounding of that point gives the whole model's optimum, checked."""
    from optimizer.solvers import highs

    sc, bundle, P, keep, busy, fval = _busy_beside_quiet()
    solved = []
    real = highs.solve_abandonable
    monkeypatch.setattr(highs, "solve_abandonable", lambda m, o: solved.append(int(m.integrality.sum())) or real(m, o))
    monkeypatch.setattr(lagrange, "ELASTIC_FIRST_MIN_OPEN", 1)
    opts = SolveOptions(time_limit_s=30, mip_gap=1e-6)
    x, res = lagrange._repair(bundle, P, keep, busy, opts, 30, None, None, node_limit=1000, fval=fval)
    assert x is not None and res.phases[0]["widened"] >= 1
    assert res.phases[0]["lp_s"] == 0.0 and "rounded_open" in res.phases[0]  # rounded from the elastic LP's point
    assert solved[0] == res.phases[0]["rounded_open"]  # HiGHS's first MILP: the rounding's, none before it
    assert check_plan(sc, decode(sc, bundle, x)).passed
    exact = solve_bundle(bundle, "highs", SolveOptions(mip_gap=0.0))
    assert float(bundle.milp.c @ x) * bundle.milp.obj_scale == pytest.approx(exact.objective, rel=1e-9)


def test_an_elastic_lp_started_from_a_narrower_ones_basis_ends_where_one_from_no_basis_does(monkeypatch):
    """The conflicting restriction's elastic LP, widened once: solved again from the first LP's basis (mapped onto
    the wider restriction, accepted by HiGHS) and from none, it ends at the same violation; and at violation 0 its
    point is the restricted LP's optimum, as HiGHS solves that LP."""
    from dataclasses import replace

    from optimizer.solvers import highs

    sc, bundle, P, keep, busy, fval = _busy_beside_quiet()
    opts = SolveOptions(time_limit_s=30)

    def build(keep, fixed):
        return lagrange._restricted_solve(bundle, P, keep, fixed, opts, 30, None, None, 1000, fval, False,
                                          build_only=True)[2]
    first = lagrange._elastic(build(keep, busy), P, 30)
    assert first is not None and first.v > 0
    set_ok = []
    real = lagrange._set_basis
    monkeypatch.setattr(lagrange, "_set_basis", lambda *a: set_ok.append(real(*a)) or set_ok[-1])
    for need in (first.v * lagrange.WIDEN_MARGIN, 1e9):  # a little wider, then every pair that helps
        keep2, fixed2, more = lagrange._widen(P, keep, busy, fval, need, lagrange._effective(P).T @ first.y)
        assert more > 0
        built = build(keep2, fixed2)
        warm, cold = lagrange._elastic(built, P, 30, first.basis), lagrange._elastic(built, P, 30)
        assert set_ok[-1] is True
        assert warm.v == pytest.approx(cold.v, rel=1e-9, abs=1e-9)
    assert cold.v == 0.0 and warm.v == 0.0
    rm = built.rm
    lp = highs.solve(replace(rm, integrality=np.zeros(rm.n_cols, bool)), SolveOptions(time_limit_s=30))
    assert float(rm.c @ warm.x) == pytest.approx(float(rm.c @ lp.x), rel=1e-9)


def test_a_pricing_lp_starts_from_the_basis_of_the_elastic_lp_that_met_every_rule(monkeypatch):
    """The conflicting restriction, widened until its elastic LP meets every rule: that LP's basis is an optimal
    one of the restricted LP, so the pricing LP started from it (HiGHS accepts it) takes no simplex iteration and
    gives the duals, optimum and point that it gives from no basis. A basis of a narrower restriction (which
    lacks columns) is not taken: that LP is solved from none."""
    import highspy

    bundle, P, fval, opts, narrow, keep2, fixed2, _ = _busy_beside_quiet_widened()
    built = lagrange._restricted_solve(bundle, P, keep2, fixed2, opts, 30, None, None, 1000, fval, False,
                                       build_only=True)[2]
    met = lagrange._elastic(built, P, 30)
    assert met.v == 0.0
    set_ok, iterations = [], []
    real_set, real_run = lagrange._set_basis, highspy.Highs.run

    def run(h):
        status = real_run(h)
        iterations.append(h.getInfo().simplex_iteration_count)
        return status
    monkeypatch.setattr(lagrange, "_set_basis", lambda *a, **k: set_ok.append(real_set(*a, **k)) or set_ok[-1])
    monkeypatch.setattr(highspy.Highs, "run", run)
    warm = lagrange._lp_prices(built, P, 1.0, 30, met.basis)
    assert set_ok == [True] and iterations == [0]
    cold = lagrange._lp_prices(built, P, 1.0, 30)
    assert iterations[-1] > 0
    np.testing.assert_allclose(warm[0], cold[0], rtol=1e-9, atol=1e-9)
    assert warm[1] == pytest.approx(cold[1], rel=1e-12)
    np.testing.assert_allclose(warm[2], cold[2], atol=1e-9)
    again = lagrange._lp_prices(built, P, 1.0, 30, narrow.basis)  # (a narrower restriction's: not taken)
    assert set_ok[-1] is False and iterations[-1] > 0 and again[1] == pytest.approx(cold[1], rel=1e-12)


def test_lp_rounding_from_a_given_lp_point_turns_the_rounded_pairs_floor_links_into_bounds(monkeypatch):
    """Binaries y1, y2 with floors f1 ∈ [y1, 4·y1], f2 ∈ [y2, 4·y2], f1 + f2 ≤ 5; maximise 3·f1 + f2 − 2·y2. The LP
    takes y1 = 1, f1 = 4 and y2 = ¼, f2 = 1 (11.5). Rounded from that point, given: y1 stays 1, and its floor links,
    left with f1 alone, become f1's bounds (the MILP left has no single-column row); its optimum, y2 = 0, is the
    model's (12), as from the LP solved in the rounding itself."""
    from optimizer.model.milp import MILP
    from optimizer.solvers import highs

    A = sp.csr_matrix(np.array([[-4, 0, 1, 0], [-1, 0, 1, 0], [0, -4, 0, 1], [0, -1, 0, 1], [0, 0, 1, 1]], float))
    m = MILP(c=np.r_[0.0, -2.0, 3.0, 1.0], A=A, row_lower=np.r_[-np.inf, 0, -np.inf, 0, -np.inf],
             row_upper=np.r_[0, np.inf, 0, np.inf, 5.0], col_lower=np.zeros(4), col_upper=np.r_[1, 1, 4, 4.0],
             integrality=np.r_[True, True, False, False], sense="maximize", blocks=())
    from dataclasses import replace
    lp = highs.solve(replace(m, integrality=np.zeros(4, bool)), SolveOptions(time_limit_s=10))
    np.testing.assert_allclose(lp.x, [1.0, 0.25, 4.0, 1.0], atol=1e-9)
    rows_left = []
    real = highs.solve_abandonable
    monkeypatch.setattr(highs, "solve_abandonable",
                        lambda mm, o: (rows_left.append(np.diff(mm.A.tocsr().indptr)) if mm.integrality.sum() == 1
                                       else None) or real(mm, o))
    given = lagrange._lp_rounding(m, 2, SolveOptions(time_limit_s=10), lp_x=lp.x)
    solved = lagrange._lp_rounding(m, 2, SolveOptions(time_limit_s=10))
    for res in (given, solved):
        assert res.has_plan and res.objective == pytest.approx(12.0)
        np.testing.assert_allclose(res.x, [1.0, 0.0, 4.0, 0.0], atol=1e-9)
    assert given.phases[0]["lp_s"] == 0.0 and given.phases[0]["rounded_open"] == 1
    assert rows_left and all((r > 1).all() for r in rows_left)


def test_a_widened_restriction_built_without_the_reach_check_is_the_one_built_with_it():
    """`_widen` only frees settled pairs and adds pairs, so a restriction that met the reach check still does once
    widened: built with the check skipped (`widened=True`), it is the restriction built with it, row for row."""
    bundle, P, fval, opts, _, keep2, fixed2, more = _busy_beside_quiet_widened()
    assert more > 0
    built = [lagrange._restricted_solve(bundle, P, keep2, fixed2, opts, 30, None, None, 1000, fval, False,
                                        build_only=True, widened=w)[2] for w in (False, True)]
    a, b = built
    np.testing.assert_array_equal(a.cols, b.cols)
    np.testing.assert_array_equal(a.rows, b.rows)
    assert (a.rm.A != b.rm.A).nnz == 0 and a.offset == b.offset
    for f in ("row_lower", "row_upper", "col_lower", "col_upper", "c"):
        np.testing.assert_array_equal(getattr(a.rm, f), getattr(b.rm, f))


def test_cover_reopens_the_settled_pairs_that_give_up_least_value_per_unit_of_an_exceeded_cap():
    """Settled plans over a cap: the busy industry on P0 (40,000 trips) and the quiet one on P1 and P2 (4,000 each)
    against a cap of 30,000. Reopening busy gives up twice the value of one quiet parcel but relieves the cap ten
    times as much: the cover reopens busy alone, where ranking by value alone reopened all three."""
    sc, bundle, P, pid, kid = _three_parcels_under_a_trips_cap(
        [industry("busy", 10_000, "B", 1, 4, trips_per_m2=1.0),
         industry("quiet", 2_000, "B", 1, 4, trips_per_m2=0.1)], 30_000)
    settled = ((kid == "busy") & (pid == "P0")) | ((kid == "quiet") & np.isin(pid, ["P1", "P2"]))
    fval = np.where(settled, P.hi_u, np.nan)
    v = np.where(kid == "busy", 2.0, 1.0)
    extra = lagrange._cover(P, v, settled, settled, fval)
    assert list(np.flatnonzero(extra)) == list(np.flatnonzero((kid == "busy") & (pid == "P0")))


def test_cover_adds_the_pairs_that_give_up_least_value_per_unit_of_a_minimum_left_short():
    """A settled plan with none of a demand minimum's industry (q, 12,000 m² asked): on P0 (40,000 m² of floor at
    most) q ties with the parcel's settled choice, on P1 (40,000 m²) it gives up 4 of the parcel's value, on the
    small P2 (10,000 m²) 3, although there it is worth most. The cover needs q pairs that could add twice the
    shortfall (COVER_MARGIN): P0's alone, which gives up nothing; ranked by value alone, it took P2's and P0's."""
    sc = make_scenario(
        [parcel("P0", 10_000, "B", 4), parcel("P1", 10_000, "B", 4), parcel("P2", 2_500, "B", 4)],
        [industry("a", 10_000, "B", 1, 4), industry("q", 2_000, "B", 1, 4, min_floor_total_m2=12_000)], {})
    bundle = build_model(sc)
    P = lagrange._split(bundle)
    pid = np.asarray(sc.parcels.parcel_id)[bundle.pairs.parcel]
    kid = np.asarray(sc.industries.industry_id)[bundle.pairs.industry]
    assert lagrange.COVER_MARGIN == 2.0
    settled = kid == "a"
    fval = np.where(settled, P.hi_u, np.nan)
    v = np.select([settled & (pid == "P2"), settled, pid == "P0", pid == "P1"], [9.0, 5.0, 5.0, 1.0], 6.0)
    extra = lagrange._cover(P, v, settled, settled, fval)
    assert list(np.flatnonzero(extra)) == list(np.flatnonzero((kid == "q") & (pid == "P0")))


def test_a_restriction_whose_lp_is_short_of_the_target_is_priced_without_searching_it(monkeypatch):
    """The rich/poor restriction above, counted as large (`ELASTIC_FIRST_MIN_OPEN`): its elastic LP meets every
    rule, and its optimum is already short of the target. Its rounded plan is kept, but no MILP searches the
    restriction; the pairs left out are priced at once and the widened restriction reaches the model's optimum."""
    from optimizer.solvers import highs
    sc, bundle, P, keep, poor, fval, exact, opts, stop_at = _rich_beside_poor()
    solved = []
    real = highs.solve_abandonable
    monkeypatch.setattr(highs, "solve_abandonable", lambda m, o: solved.append(m.n_cols) or real(m, o))
    monkeypatch.setattr(lagrange, "ELASTIC_FIRST_MIN_OPEN", 1)
    restriction = lagrange._restricted_solve(bundle, P, keep, poor, opts, 30, None, stop_at, 1000, fval, False,
                                             build_only=True)[2]
    x, res = lagrange._repair(bundle, P, keep, poor, opts, 30, None, stop_at, node_limit=1000, fval=fval)
    assert x is not None and res.phases[0]["priced"] >= 1
    assert restriction.rm.n_cols not in solved  # no MILP over the restriction as the candidates left it
    assert check_plan(sc, decode(sc, bundle, x)).passed
    assert float(bundle.milp.c @ x) * bundle.milp.obj_scale == pytest.approx(exact.objective, rel=1e-6)


def test_sample_problem_keeps_every_kth_parcel_and_scales_the_rules():
    """A sample keeps every k-th parcel with all its pairs (their objective, floors and coupling columns), the
    coupling rules with bounds scaled by the share of parcels kept, and drops (bounds made infinite) a rule none of
    whose columns it keeps."""
    sc = scenario_from(*random_instance(13, n_parcels=60, n_industries=4))
    P = lagrange._split(build_model(sc))
    Q = lagrange.sample_problem(P, 3)
    kept = np.arange(0, len(P.starts), 3)
    assert len(Q.starts) == len(kept) and np.array_equal(Q.must, P.must[kept])
    pairs = np.flatnonzero(np.isin(P.seg_of_pair, kept))
    assert Q.n == len(pairs)
    np.testing.assert_array_equal(Q.c, P.c[np.r_[pairs, P.n + pairs]])
    np.testing.assert_array_equal(Q.hi_u, P.hi_u[pairs])
    np.testing.assert_array_equal(Q.seg_of_pair, np.searchsorted(kept, P.seg_of_pair[pairs]))
    np.testing.assert_array_equal(Q.A1.toarray(), P.A1[:, np.r_[pairs, P.n + pairs]].toarray())
    share = len(kept) / len(P.starts)
    used = np.asarray((np.abs(Q.A1) + np.abs(Q.A2 @ Q.D)).sum(axis=1)).ravel() > 0
    assert used.any()
    np.testing.assert_allclose(Q.L[used], P.L[used] * share)
    np.testing.assert_allclose(Q.U[used], P.U[used] * share)
    assert np.all(np.isneginf(Q.L[~used])) and np.all(np.isposinf(Q.U[~used]))


def test_a_large_models_dual_starts_from_a_samples_and_proves_the_same_bound(monkeypatch):
    """Counted as large, a city's dual starts from the dual of a sample of its parcels: fewer evaluations of the
    whole model than from zero, and, after the polish, a bound and a checked plan within the gap of those from
    zero."""
    from optimizer.bench.synthetic import synthetic_city

    sc = synthetic_city("q3000")
    bundle = build_model(sc)
    opts = SolveOptions(time_limit_s=120, mip_gap=1e-3)
    monkeypatch.setattr(lagrange, "REFINE_MIN_PAIRS", 1000)
    plain = solve_bundle(bundle, "lagrange", opts)
    monkeypatch.setattr(lagrange, "DUAL_SAMPLE_MIN_PARCELS", 2000)
    monkeypatch.setattr(lagrange, "DUAL_SAMPLE_PARCELS", 500)
    sampled = solve_bundle(bundle, "lagrange", opts)
    d0, d1 = plain.phases[0], sampled.phases[0]
    assert "sample_parcels" not in d0 and d1["sample_parcels"] == 500 and d1["sample_stopped_by"] == "converged"
    assert d1["evaluations"] < d0["evaluations"]
    assert sampled.bound == pytest.approx(plain.bound, rel=1e-3)
    assert sampled.gap <= 1e-3 and plain.gap <= 1e-3
    assert check_plan(sc, decode(sc, bundle, sampled.x), sampled.objective).passed


def test_a_restriction_reached_past_the_time_limit_is_not_solved(monkeypatch):
    """Once the user's limit has passed, a repair's restricted solve starts no HiGHS (its process and presolve
    took seconds past a 30 s limit at q1m) and says that the time limit stopped it."""
    from optimizer.solvers import highs

    def no_highs(*a, **k):
        raise AssertionError("HiGHS started past the time limit")

    monkeypatch.setattr(highs, "solve_abandonable", no_highs)
    monkeypatch.setattr(lagrange, "_rounded_then_milp", no_highs)
    bundle = build_model(scenario_from(*random_instance(2, n_parcels=8, n_industries=3)))
    m = bundle.milp
    x, res, _ = lagrange._solve_restriction(
        bundle, m, np.arange(m.n_cols), np.zeros(0, int), np.zeros(0, int), np.full(bundle.n_pairs, np.nan), 0.0,
        SolveOptions(time_limit_s=10), 0.0, None, None, lagrange.REPAIR_NODE_LIMIT, False, None, "solve")
    assert x is None and not res.has_plan and lagrange.repair_stop(res) == "time_limit"


@pytest.mark.parametrize("seed", [3, 7])
def test_a_dual_started_from_an_earlier_solves_multipliers_is_shorter_and_proves_as_much(seed):
    """SolveOptions.dual_start: the re-solve of a model with one rule's bound moved (as the analyses re-solve)
    starts its dual from the first solve's multipliers. Fewer evaluations, a bound that still brackets HiGHS's
    optimum with the plan, and a start of the wrong length is ignored (the same bits as no start)."""
    from dataclasses import replace

    bundle = build_model(scenario_from(*random_instance(seed, n_parcels=150, n_industries=5)))
    opts = SolveOptions(time_limit_s=60, mip_gap=1e-4)
    first = solve_bundle(bundle, "lagrange", opts)
    assert first.dual is not None and first.dual.shape == (2 * len(lagrange._split(bundle).L),)
    m = bundle.milp
    row = int(np.flatnonzero(np.isfinite(m.row_upper) & (m.row_lower == -np.inf))[-1])  # a cap: loosen it by 5 %
    upper = m.row_upper.copy()
    upper[row] += 0.05 * max(abs(upper[row]), 1.0)
    moved = replace(bundle, milp=replace(m, row_upper=upper))
    cold = solve_bundle(moved, "lagrange", opts)
    warm = solve_bundle(moved, "lagrange", replace(opts, dual_start=first.dual))
    assert warm.phases[0].get("dual_start") and not cold.phases[0].get("dual_start")
    assert warm.phases[0]["evaluations"] < 0.6 * cold.phases[0]["evaluations"]
    exact = solve_bundle(moved, "highs", SolveOptions(time_limit_s=60, mip_gap=0.0))
    assert exact.status == "optimal"
    tol = 1e-6 * abs(exact.objective)
    for res in (cold, warm):
        assert res.has_plan and res.gap <= 1e-4 + 1e-12
        assert res.objective <= exact.objective + tol <= res.bound + 2 * tol
    wrong = solve_bundle(moved, "lagrange", replace(opts, dual_start=np.ones(len(first.dual) + 1)))
    assert wrong.bound == cold.bound and np.array_equal(wrong.x, cold.x)
    # a start of the right length but far from the optimum (negative, huge, NaN entries) still proves a bound
    bad = first.dual.copy()
    bad[::3], bad[1::3], bad[2::5] = -1.0, 1e6, np.nan
    odd = solve_bundle(moved, "lagrange", replace(opts, dual_start=bad))
    assert odd.phases[0].get("dual_start") and np.isfinite(odd.bound)
    assert odd.bound >= exact.objective - tol
    assert not odd.has_plan or odd.objective <= exact.objective + tol
