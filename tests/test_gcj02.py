"""GCJ-02 <-> WGS84 (optimizer.scenario.crs): the published closed-form offset and its iterative inverse.

Reference points: the WGS84/GCJ-02 pairs published with the eviltransform library's tests (Shanghai, Shenzhen,
Beijing; googollee/eviltransform, go/transform_test.go), each computed with the published transformation.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.scenario import crs

# (WGS84 lat, lon, GCJ-02 lat, lon)
REFERENCE = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    """Great-circle distance in metres (a sphere of 6,371 km is ample for millimetres)."""
    la, lb = np.radians(lat_a), np.radians(lat_b)
    dl = np.radians(np.asarray(lon_b) - np.asarray(lon_a))
    h = np.sin((lb - la) / 2) ** 2 + np.cos(la) * np.cos(lb) * np.sin(dl / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(h))


@pytest.mark.parametrize("w_lat, w_lon, g_lat, g_lon", REFERENCE)
def test_forward_matches_published_points(w_lat, w_lon, g_lat, g_lon):
    lon, lat = crs.wgs84_to_gcj02(w_lon, w_lat)
    assert abs(lon - g_lon) < 1e-9 and abs(lat - g_lat) < 1e-9
    assert metres(lon, lat, g_lon, g_lat) < 1e-3


@pytest.mark.parametrize("w_lat, w_lon, g_lat, g_lon", REFERENCE)
def test_inverse_recovers_published_wgs84(w_lat, w_lon, g_lat, g_lon):
    lon, lat = crs.gcj02_to_wgs84(g_lon, g_lat)
    assert metres(lon, lat, w_lon, w_lat) < 0.01  # the one-step inverse is off by 1-2 m; this one by < 1 cm


def test_round_trip_below_a_metre_across_china():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(73.0, 135.0, 20_000), rng.uniform(18.0, 53.5, 20_000)
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    shift = metres(lon, lat, g_lon, g_lat)
    assert shift.max() < 1_500 and np.median(shift) > 100  # the offset is hundreds of metres
    back_lon, back_lat = crs.gcj02_to_wgs84(g_lon, g_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 1.0
    assert metres(lon, lat, back_lon, back_lat).max() < 1e-3  # in fact well below a millimetre
    # and the other way round: GCJ-02 -> WGS84 -> GCJ-02
    w_lon, w_lat = crs.gcj02_to_wgs84(lon, lat)
    again_lon, again_lat = crs.wgs84_to_gcj02(w_lon, w_lat)
    assert metres(lon, lat, again_lon, again_lat).max() < 1e-3


def test_outside_china_is_unchanged():
    lon, lat = np.array([2.35, -74.0, 151.2, 72.0]), np.array([48.86, 40.7, -33.9, 30.0])
    for f in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84):
        out_lon, out_lat = f(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


def test_shenzhen_offset_is_the_known_size():
    # Qianhai: a GCJ-02 point lies about half a kilometre from the WGS84 one, to the east and a little south
    lon, lat = crs.wgs84_to_gcj02(113.90, 22.52)
    d = metres(113.90, 22.52, lon, lat)
    assert 400 < d < 700 and lon > 113.90 and lat < 22.52


def test_names_of_gcj02():
    assert all(crs.is_gcj02(s) for s in ("GCJ-02", "gcj02", "GCJ_02", " gcj-02 "))
    assert not crs.is_gcj02("EPSG:4326") and not crs.is_gcj02(None)


def test_vectorised_and_nan_safe():
    lon = np.array([113.9, np.nan, 114.1])
    lat = np.array([22.5, 22.5, np.nan])
    out_lon, out_lat = crs.gcj02_to_wgs84(lon, lat)
    assert np.isfinite(out_lon[0]) and np.isnan(out_lon[1]) and np.isnan(out_lat[2])
