"""Decoding a solver's column vector: floors that pass their cap by no more than the solver's own feasibility
tolerance are set to the cap; anything beyond is left for the independent checker to judge."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.bench.synthetic import synthetic_city
from optimizer.model.build import build_model
from optimizer.solution import check_plan
from optimizer.solution.plan import decode
from optimizer.solvers import solve_bundle
from optimizer.solvers.base import SolveOptions


@pytest.fixture(scope="module")
def solved():
    sc = synthetic_city("s1k")
    bundle = build_model(sc)
    res = solve_bundle(bundle, "highs", SolveOptions(time_limit_s=60, mip_gap=1e-3))
    assert res.x is not None
    return sc, bundle, res.x


def test_a_floor_within_the_solvers_tolerance_of_its_cap_is_the_cap(solved):
    sc, bundle, x = solved
    fu, n, hi = bundle.floor_unit_m2, bundle.n_pairs, bundle.pairs.hi_m2
    assert fu == 1e5  # the case: a floor unit far above the smallest caps (s1k's median cap is about 37,800 m²)
    at_cap = np.flatnonzero((x[:n] > 0.5) & (np.abs(x[n:2 * n] - hi / fu) <= 1e-12))
    e = at_cap[np.argmin(hi[at_cap])]
    y = x.copy()
    y[n + e] += 6e-7  # what HiGHS gave on a 767.7 m² cap: 0.06 m² over it, within its tolerance of 1e-6 · 10⁵ m²
    assert (y[n + e] * fu - hi[e]) > 0.05
    pid = sc.parcels["parcel_id"].to_numpy()[bundle.pairs.parcel[e]]
    plan = decode(sc, bundle, y)
    assert plan.set_index("parcel_id").loc[pid, "floor_area_m2"] == hi[e]
    assert check_plan(sc, plan).passed
    y[n + e] += 1e-4  # 10 m² over the cap: beyond the solver's tolerance, so the checker sees it
    plan = decode(sc, bundle, y)
    assert plan.set_index("parcel_id").loc[pid, "floor_area_m2"] > hi[e] + 10
    report = check_plan(sc, plan)
    assert not report.passed
    assert any(str(pid) in v for v in report.violations)


def test_snap_floors_moves_only_what_lies_within_the_solvers_tolerance_of_a_bound():
    from optimizer.solution.plan import snap_floors

    lo, hi = np.full(6, 400.0), np.full(6, 800.0)
    # with a floor unit of 10⁵ m² the solver's tolerance is 0.1 m² on either bound; with 1 m², 0.0008 m² on 800
    floor = np.array([800.05, 810.0, 399.95, 390.0, 600.0, 800.0])
    np.testing.assert_array_equal(snap_floors(floor, lo, hi, 1e5), [800.0, 810.0, 400.0, 390.0, 600.0, 800.0])
    np.testing.assert_array_equal(snap_floors(floor, lo, hi, 1.0), floor)
