"""Coordinate reference systems of parcel layers: any CRS pyproj knows, plus GCJ-02, all brought to WGS84.

* GCJ-02 (the datum of Chinese web maps) is not a CRS pyproj knows: it is WGS84 lon/lat with a published
  closed-form offset of a few hundred metres inside China. :func:`wgs84_to_gcj02` is that offset;
  :func:`gcj02_to_wgs84` inverts it by fixed-point iteration to a millimetre (the common one-step inverse is
  off by 1-2 m). Outside China's bounding box the offset is zero, as in the published transformation.
* :func:`to_wgs84` and :func:`from_wgs84` transform coordinate arrays (pyproj on arrays, never a Python loop
  per point); :func:`geometries_to_wgs84` does the same to a whole array of shapely geometries.
* :func:`equal_area_m2` measures polygons in a Lambert azimuthal equal-area projection centred on the layer, so
  an area is exact on the WGS84 ellipsoid wherever the layer lies.

pyproj is imported inside the functions that need it (the optional `gis` extra); GCJ-02 needs only numpy.
"""

from __future__ import annotations

import numpy as np

GCJ02 = "GCJ-02"
WGS84 = "EPSG:4326"
_GCJ_NAMES = {"GCJ-02", "GCJ02", "GCJ_02", "GCJ 02", "MARS"}
# Krasovsky 1940 ellipsoid, as the published GCJ-02 offset uses it
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# the published transformation leaves points outside this box unchanged
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)


def is_gcj02(text: str | None) -> bool:
    """True for "GCJ-02" (also written GCJ02, gcj-02...)."""
    return isinstance(text, str) and text.strip().upper() in _GCJ_NAMES


# --- GCJ-02 ---------------------------------------------------------------------------------------------------
def in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Where the GCJ-02 offset applies (the published transformation's bounding box of China)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1]) & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1])


def _offset_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (degrees of lon, lat) at WGS84 (lon, lat); zero outside China."""
    x, y = lon - 105.0, lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
             + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
             + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
             + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
             + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0)
    rad = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sq) * pi)
    d_lon = d_lon * 180.0 / (_GCJ_A / sq * np.cos(rad) * pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat (degrees, arrays) to GCJ-02 lon/lat: the published closed-form offset."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    d_lon, d_lat = _offset_deg(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat, tol_deg: float = 1e-11, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat (degrees, arrays) to WGS84: the WGS84 point whose GCJ-02 offset lands on the input.

    Fixed-point iteration w <- g - offset(w) from w = g - offset(g); the offset changes by about 1e-5 of a
    step per step, so a few iterations reach `tol_deg` (1e-11 degrees is about a micrometre).
    """
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        d_lon, d_lat = _offset_deg(w_lon, w_lat)
        n_lon, n_lat = g_lon - d_lon, g_lat - d_lat
        step = np.maximum(np.abs(n_lon - w_lon), np.abs(n_lat - w_lat))
        w_lon, w_lat = n_lon, n_lat
        if not np.any(step > tol_deg):  # NaN input stays NaN and does not hold the loop
            break
    return w_lon, w_lat


# --- any CRS --------------------------------------------------------------------------------------------------
def resolve_crs(text: str):
    """A pyproj CRS from user text ("EPSG:4547", WKT, PROJ string, a name); ValueError with pyproj's reason."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def crs_label(crs) -> str:
    """A short name of a CRS: "GCJ-02", "EPSG:4547", else its name."""
    if isinstance(crs, str) and is_gcj02(crs):
        return GCJ02
    auth = crs.to_authority(min_confidence=90)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


def is_wgs84(crs) -> bool:
    """True when coordinates in `crs` are already WGS84 lon/lat (EPSG:4326 or OGC:CRS84)."""
    if isinstance(crs, str):
        return False
    from pyproj import CRS

    return crs.is_geographic and crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)


def _transformer(src, dst):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def to_wgs84(x, y, crs) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in `crs` (a pyproj CRS, or "GCJ-02" for GCJ-02 lon/lat) to WGS84 lon/lat, as arrays."""
    return _convert(x, y, crs, to_wgs=True)


def from_wgs84(lon, lat, crs) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat to `crs` (a pyproj CRS, or "GCJ-02"), as arrays."""
    return _convert(lon, lat, crs, to_wgs=False)


def _convert(a, b, crs, to_wgs: bool) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if isinstance(crs, str):  # "GCJ-02"
        return gcj02_to_wgs84(a, b) if to_wgs else wgs84_to_gcj02(a, b)
    if is_wgs84(crs):
        return a, b
    u, v = _transformer(*((crs, WGS84) if to_wgs else (WGS84, crs))).transform(a, b)
    return np.asarray(u, dtype=float), np.asarray(v, dtype=float)


def _transform_geoms(geoms: np.ndarray, fn) -> np.ndarray:
    import shapely

    def xy(coords: np.ndarray) -> np.ndarray:
        a, b = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([a, b])

    return shapely.transform(np.asarray(geoms, dtype=object), xy)


def geometries_to_wgs84(geoms: np.ndarray, crs) -> np.ndarray:
    """Every vertex of an array of shapely geometries from `crs` to WGS84 lon/lat (one call for all)."""
    if not isinstance(crs, str) and is_wgs84(crs):
        return np.asarray(geoms, dtype=object)
    return _transform_geoms(geoms, lambda x, y: to_wgs84(x, y, crs))


def geometries_from_wgs84(geoms: np.ndarray, crs) -> np.ndarray:
    """Every vertex of an array of WGS84 shapely geometries to `crs` (one call for all)."""
    if not isinstance(crs, str) and is_wgs84(crs):
        return np.asarray(geoms, dtype=object)
    return _transform_geoms(geoms, lambda x, y: from_wgs84(x, y, crs))


def equal_area_crs(lon0: float, lat0: float):
    """A Lambert azimuthal equal-area projection on the WGS84 ellipsoid centred at (lon0, lat0)."""
    from pyproj import CRS

    return CRS.from_proj4(f"+proj=laea +lat_0={lat0:.8f} +lon_0={lon0:.8f} +x_0=0 +y_0=0 +ellps=WGS84 "
                          "+units=m +no_defs")


def equal_area_m2(geoms_lonlat: np.ndarray, coords: np.ndarray | None = None,
                  index: np.ndarray | None = None) -> np.ndarray:
    """Area in m² of each WGS84 lon/lat geometry, in an equal-area projection centred on the whole array (0 for
    a missing geometry).

    Polygons without holes (nearly every parcel) are measured by the shoelace formula on their projected
    vertices, without building projected geometries; the rest through shapely. `coords`, `index`: the
    vertices as shapely.get_coordinates(geoms_lonlat, return_index=True) gives them, if the caller has them.
    """
    import shapely

    geoms = np.asarray(geoms_lonlat, dtype=object)
    n = len(geoms)
    if n == 0:
        return np.zeros(0)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    if not np.isfinite([x0, y0, x1, y1]).all():
        return np.zeros(n)
    laea = _transformer(WGS84, equal_area_crs((x0 + x1) / 2, (y0 + y1) / 2))
    types = shapely.get_type_id(geoms)
    simple = (types == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    area = np.zeros(n)
    if simple.any():
        if coords is None or index is None:
            coords, index = shapely.get_coordinates(geoms, return_index=True)
        keep = simple[index]
        x, y = laea.transform(coords[keep, 0], coords[keep, 1])
        area[simple] = 0.0
        np.put(area, *_shoelace(np.asarray(x), np.asarray(y), index[keep]))
    rest = ~simple & (types >= 0)
    if rest.any():
        def project(c: np.ndarray) -> np.ndarray:
            a, b = laea.transform(c[:, 0], c[:, 1])
            return np.column_stack([a, b])

        area[rest] = shapely.area(shapely.transform(geoms[rest], project))
    return np.where(np.isnan(area), 0.0, area)


def _shoelace(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Areas of closed rings given vertex by vertex (`index`: the ring of each vertex, rings contiguous):
    (ring ids, areas). Coordinates are taken relative to each ring's first vertex, to keep the digits."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    sizes = np.diff(np.r_[starts, len(x)])
    dx, dy = x - np.repeat(x[starts], sizes), y - np.repeat(y[starts], sizes)
    cross = np.empty(len(x))
    cross[:-1] = dx[:-1] * dy[1:] - dx[1:] * dy[:-1]
    cross[np.r_[starts[1:] - 1, len(x) - 1]] = 0.0  # a ring's last vertex does not pair with the next ring
    return index[starts], 0.5 * np.abs(np.add.reduceat(cross, starts))
