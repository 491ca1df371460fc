"""Tests for optimizer.network: local projection and parcel-to-node-type travel times.

All expected times are worked out by hand in the comments (minutes = km / (km/h) * 60).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimizer.network import (
    access_times,
    far_points,
    great_circle_m,
    local_origin,
    lonlat_issue,
    to_local_metres,
)


def _haversine_m(lon1, lat1, lon2, lat2, r=6371008.8):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def _nodes(rows):
    return pd.DataFrame(rows, columns=["node_id", "type", "x_m", "y_m"])


def _edges(rows):
    return pd.DataFrame(rows, columns=["from_node", "to_node", "speed_kmh", "length_m"])


# A line network along the x axis (metres):
#   A(0) metro --60 km/h, blank length (1.0 km)--> B(1000) junction
#   B --30 km/h, length_m 2500 given--> C(3000) junction
#   C --60 km/h, blank length (3.0 km)--> D(6000) airport
#   E(0, 5000) seaport, not connected to anything
# Node-to-node times: A-B 1 min, B-C 5 min, C-D 3 min.
LINE_NODES = _nodes(
    [
        ("A", "metro", 0.0, 0.0),
        ("B", "junction", 1000.0, 0.0),
        ("C", "junction", 3000.0, 0.0),
        ("D", "airport", 6000.0, 0.0),
        ("E", "seaport", 0.0, 5000.0),
    ]
)
LINE_EDGES = _edges(
    [
        ("A", "B", 60.0, np.nan),
        ("C", "B", 30.0, 2500.0),  # written backwards: edges are two-way
        ("C", "D", 60.0, np.nan),
    ]
)


def test_line_network_one_link():
    # access at 6 km/h = 100 m/min, no detour
    parcels = np.array([[1000.0, 300.0], [5800.0, 0.0], [0.0, 4900.0]])
    t = access_times(parcels, LINE_NODES, LINE_EDGES, access_speed_kmh=6.0, access_links=1, detour_factor=1.0)
    assert list(t.columns) == ["airport", "junction", "metro", "seaport"]
    assert isinstance(t.index, pd.RangeIndex) and len(t) == 3
    # parcel 0 -> B (300 m, 3 min); metro via B-A: 3 + 1 = 4; airport via B-C-D: 3 + 5 + 3 = 11
    assert t.loc[0, "junction"] == pytest.approx(3.0)
    assert t.loc[0, "metro"] == pytest.approx(4.0)
    assert t.loc[0, "airport"] == pytest.approx(11.0)
    assert t.loc[0, "seaport"] == np.inf  # E is isolated and not linked
    # parcel 1 -> D (200 m, 2 min); airport 2; junction via D-C: 2 + 3 = 5; metro: 2 + 3 + 5 + 1 = 11
    assert t.loc[1, "airport"] == pytest.approx(2.0)
    assert t.loc[1, "junction"] == pytest.approx(5.0)
    assert t.loc[1, "metro"] == pytest.approx(11.0)
    # parcel 2 -> E (100 m, 1 min): the seaport is reachable, nothing else is
    assert t.loc[2, "seaport"] == pytest.approx(1.0)
    assert np.isinf(t.loc[2, ["airport", "junction", "metro"]].to_numpy(dtype=float)).all()


def test_detour_factor_scales_access_link_only():
    parcels = np.array([[1000.0, 300.0]])
    t = access_times(parcels, LINE_NODES, LINE_EDGES, access_speed_kmh=6.0, access_links=1, detour_factor=1.5)
    # link 300 m * 1.5 = 450 m -> 4.5 min; network part unchanged
    assert t.loc[0, "metro"] == pytest.approx(5.5)
    assert t.loc[0, "airport"] == pytest.approx(12.5)


def test_two_links_take_the_better_route():
    # J(0,0) junction -- 30 km/h, 10 km --> M(10000, 0) metro  : 20 min
    # M2(0, 1500) metro, isolated.  Parcel at (0, 500), access 6 km/h (100 m/min).
    nodes = _nodes([("J", "junction", 0.0, 0.0), ("M", "metro", 10000.0, 0.0), ("M2", "metro", 0.0, 1500.0)])
    edges = _edges([("J", "M", 30.0, np.nan)])
    p = np.array([[0.0, 500.0]])
    one = access_times(p, nodes, edges, 6.0, 1, 1.0)
    two = access_times(p, nodes, edges, 6.0, 2, 1.0)
    # one link: J at 500 m (5 min) + 20 min = 25
    assert one.loc[0, "metro"] == pytest.approx(25.0)
    # two links: J (5 + 20 = 25) or M2 directly at 1000 m (10 + 0 = 10) -> 10
    assert two.loc[0, "metro"] == pytest.approx(10.0)
    # asking for more links than nodes is fine
    many = access_times(p, nodes, edges, 6.0, 10, 1.0)
    assert many.loc[0, "metro"] == pytest.approx(10.0)


def test_nearest_of_type_via_multi_source():
    # M1(0) metro --60 km/h 4 km (4 min)-- J(4000) junction --60 km/h 6 km (6 min)-- M2(10000) metro
    # Q(4000, 0) seaport sits on J, joined by a zero-length edge.
    nodes = _nodes(
        [
            ("M1", "metro", 0.0, 0.0),
            ("J", "junction", 4000.0, 0.0),
            ("M2", "metro", 10000.0, 0.0),
            ("Q", "seaport", 4000.0, 0.0),
        ]
    )
    edges = _edges([("M1", "J", 60.0, np.nan), ("J", "M2", 60.0, np.nan), ("J", "Q", 60.0, np.nan)])
    p = np.array([[4000.0, 100.0], [9000.0, 0.0], [0.0, 0.0]])
    t = access_times(p, nodes, edges, access_speed_kmh=6.0, access_links=1, detour_factor=1.0)
    # parcel 0: 1 min to J (or Q); nearest metro is M1 (4 min) not M2 (6 min) -> 5
    assert t.loc[0, "metro"] == pytest.approx(5.0)
    assert t.loc[0, "seaport"] == pytest.approx(1.0)
    # parcel 1: nearest node M2 at 1 km (10 min) -> metro 10; seaport 10 + 6 = 16
    assert t.loc[1, "metro"] == pytest.approx(10.0)
    assert t.loc[1, "seaport"] == pytest.approx(16.0)
    # parcel 2 on M1: metro 0, junction 4, seaport 4
    assert t.loc[2, "metro"] == pytest.approx(0.0)
    assert t.loc[2, "junction"] == pytest.approx(4.0)
    assert t.loc[2, "seaport"] == pytest.approx(4.0)


def test_many_parcels_vectorised_matches_single():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1000, 7000, size=(500, 2))
    full = access_times(pts, LINE_NODES, LINE_EDGES, 12.0, 3, 1.3)
    assert full.shape == (500, 4)
    for i in (0, 17, 499):
        one = access_times(pts[i : i + 1], LINE_NODES, LINE_EDGES, 12.0, 3, 1.3)
        pd.testing.assert_series_equal(one.iloc[0], full.iloc[i], check_names=False)


def test_unknown_node_in_edges_raises():
    edges = _edges([("A", "B", 60.0, np.nan), ("B", "ZZ", 30.0, np.nan)])
    with pytest.raises(ValueError, match="unknown nodes: ZZ"):
        access_times(np.zeros((1, 2)), LINE_NODES, edges, 6.0, 1, 1.0)


def test_bad_speed_raises():
    edges = _edges([("A", "B", 0.0, np.nan)])
    with pytest.raises(ValueError, match="speed_kmh"):
        access_times(np.zeros((1, 2)), LINE_NODES, edges, 6.0, 1, 1.0)


def test_empty_edges_gives_link_only_times():
    t = access_times(np.array([[0.0, 200.0]]), LINE_NODES, _edges([]), 6.0, 1, 1.0)
    assert t.loc[0, "metro"] == pytest.approx(2.0)
    assert t.loc[0, "airport"] == np.inf


def test_projection_one_degree_latitude():
    x, y = to_local_metres(np.array([113.8, 113.8]), np.array([22.0, 23.0]), lon0=113.8, lat0=22.5)
    d = math.hypot(x[1] - x[0], y[1] - y[0])
    # a degree of latitude near 22.5 N is 110.76 km on WGS84 (about 111 km)
    assert d == pytest.approx(110_760, rel=0.001)
    assert abs(x[0]) < 1e-6 and abs(x[1]) < 1e-6


def test_projection_matches_haversine():
    # Shenzhen airport reference point -> Shekou Port station, about 19.9 km apart
    lon = np.array([113.8108, 113.9067, 113.7725, 113.9447])
    lat = np.array([22.6394, 22.4794, 22.7047, 22.5039])
    x, y = to_local_metres(lon, lat)
    for i, j in [(0, 1), (2, 3), (0, 3), (1, 2)]:
        d = math.hypot(x[i] - x[j], y[i] - y[j])
        h = _haversine_m(lon[i], lat[i], lon[j], lat[j])
        assert d == pytest.approx(h, rel=0.005)
    d01 = math.hypot(x[0] - x[1], y[0] - y[1])
    assert 19_000 < d01 < 21_000


def test_projection_origin_default_and_scalar_shape():
    lon = np.array([113.8, 113.9])
    lat = np.array([22.5, 22.7])
    assert local_origin(lon, lat) == pytest.approx((113.85, 22.6))
    x, y = to_local_metres(lon, lat)
    # origin is the mean, so the two points sit nearly symmetric about it (eastings differ by the
    # cos(latitude) change over 0.1 degree, about 0.15%)
    assert x[0] == pytest.approx(-x[1], rel=5e-3)
    assert y[0] == pytest.approx(-y[1], rel=1e-3)
    x0, y0 = to_local_metres(np.array([113.85]), np.array([22.6]), 113.85, 22.6)
    assert x0[0] == 0.0 and y0[0] == 0.0


# --- coordinate checks used by the loader ------------------------------------------------------------------------
@pytest.mark.parametrize("x, y, want", [
    ([113.9, -73.9], [22.5, 40.7], None),  # Shenzhen, New York
    ([180.0, -180.0], [90.0, -90.0], None),  # the limits are allowed
    ([113.9, np.nan], [22.5, np.nan], None),  # missing values are not judged
    ([22.5, 22.6], [113.9, 114.0], ("swapped", 0)),
    ([22.5, 40.7], [113.9, -73.9], ("swapped", 0)),
    ([113.9, 22.6], [22.5, 114.0], ("not_degrees", 1)),  # one row swapped: |x| > 90 elsewhere, not a clean swap
    ([820_000.0], [2_500_000.0], ("not_degrees", 0)),  # UTM metres
    ([0.0, 200.0], [0.0, 300.0], ("not_degrees", 1)),  # small local metres
])
def test_lonlat_issue(x, y, want):
    assert lonlat_issue(np.array(x), np.array(y)) == want


def test_great_circle_matches_haversine():
    lon = np.array([113.8108, 113.9067, -73.9857])
    lat = np.array([22.6394, 22.4794, 40.7484])
    d = great_circle_m(lon[0], lat[0], lon[1:], lat[1:])
    assert d[0] == pytest.approx(_haversine_m(lon[0], lat[0], lon[1], lat[1]), rel=1e-9)
    assert d[1] == pytest.approx(12_960_000, rel=0.01)  # Shenzhen - New York, about 12,960 km


def test_far_points_agrees_with_brute_force():
    rng = np.random.default_rng(3)
    anchors = rng.uniform(0, 20_000, (30, 2))  # a 20 km network: extent ~28 km, threshold 50 km
    points = np.vstack([rng.uniform(-100_000, 120_000, (2000, 2)), [[np.nan, 0.0]]])
    far, dist, limit = far_points(points, anchors, 50_000)
    assert limit == 50_000
    brute = np.sqrt(((points[:, None, :] - anchors[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    want = np.flatnonzero(~(brute <= 50_000))  # NaN counts as far
    assert far.tolist() == want.tolist()
    assert dist[:-1] == pytest.approx(brute[want[:-1]]) and np.isinf(dist[-1])


def test_far_points_threshold_grows_with_the_extent():
    anchors = np.array([[0.0, 0.0], [300_000.0, 400_000.0]])  # extent 500 km
    far, _, limit = far_points(np.array([[150_000.0, 200_000.0], [900_000.0, 400_000.0]]), anchors, 50_000)
    assert limit == 500_000 and far.tolist() == [1]
    assert far_points(np.zeros((0, 2)), anchors, 1.0)[0].tolist() == []


def test_infinite_edge_length_raises():
    with pytest.raises(ValueError, match="length_m"):
        access_times(np.zeros((1, 2)), LINE_NODES, _edges([("A", "B", 60.0, np.inf)]), 6.0, 1, 1.0)
