"""Generate every data file of the Qianhai scenario (and its `before/` and `after/` variants).

Run from anywhere:  python scenarios/qianhai/generate.py
The script is deterministic (numpy default_rng(SEED)); running it twice writes identical files. It reads
nothing outside this folder: the district boundaries come from `source/districts_gcj02.geojson` (an unmodified
copy of five features of the public Aliyun DataV GeoAtlas extract of Shenzhen, in the GCJ-02 datum) and are
converted to WGS84 here.

What is real and what is estimated is listed in scenario.toml (`assumptions`) and README.md.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
SEED = 20230906  # the expansion plan was announced on 6 Sep 2021; any fixed number would do
DISTRICTS_SRC = HERE / "source" / "districts_gcj02.geojson"

# ----------------------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------------------

# Local plane: equirectangular around (LON0, LAT0) with WGS84 radii of curvature at LAT0. Used only to lay
# out blocks and to measure areas; over the ~35 km extent of the zone the area error is below 0.1%.
LON0, LAT0 = 113.85, 22.60
_A, _E2 = 6378137.0, 6.69437999014e-3
_W = math.sqrt(1.0 - _E2 * math.sin(math.radians(LAT0)) ** 2)
_N = _A / _W
_M = _A * (1.0 - _E2) / _W**3
KX = _N * math.cos(math.radians(LAT0)) * math.pi / 180.0  # metres per degree of longitude
KY = _M * math.pi / 180.0  # metres per degree of latitude


def ll_to_m(geom):
    """lon/lat geometry -> local metres."""
    return affinity.affine_transform(geom, [KX, 0, 0, KY, -KX * LON0, -KY * LAT0])


def m_to_ll(geom):
    """local metres -> lon/lat geometry."""
    return affinity.affine_transform(geom, [1 / KX, 0, 0, 1 / KY, LON0, LAT0])


def gcj02_offset(lon, lat):
    """Offset (dlon, dlat) in degrees that GCJ-02 adds to WGS84 coordinates.

    The published closed-form approximation of the GCJ-02 obfuscation (Krasovsky ellipsoid parameters and
    the trigonometric series of the public "eviltransform" family of descriptions). Used in reverse,
    WGS84 ~= GCJ-02 - offset(GCJ-02), accurate to about 1-2 m around Shenzhen.
    """
    a, ee = 6378245.0, 0.00669342162296594323
    x = np.asarray(lon, dtype=float) - 105.0
    y = np.asarray(lat, dtype=float) - 35.0
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    t_lat += (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    t_lon += (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0
    rad = np.radians(np.asarray(lat, dtype=float))
    magic = 1.0 - ee * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = t_lat * 180.0 / ((a * (1.0 - ee)) / (magic * sq) * np.pi)
    dlon = t_lon * 180.0 / (a / sq * np.cos(rad) * np.pi)
    return dlon, dlat


def gcj02_to_wgs84(geom):
    """Convert a GCJ-02 geometry to WGS84 (one-step inverse of the closed-form offset)."""

    def conv(coords):
        c = np.asarray(coords, dtype=float)
        dlon, dlat = gcj02_offset(c[:, 0], c[:, 1])
        return np.column_stack([c[:, 0] - dlon, c[:, 1] - dlat])

    return shapely.transform(geom, conv)


def polygons(geom):
    """List of Polygon parts of a geometry (drops lines/points)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for part in getattr(geom, "geoms", []) for g in polygons(part)]


def rounded(geom, nd=6):
    """Round coordinates to nd decimals (6 decimals of a degree ~ 0.1 m)."""
    return shapely.transform(geom, lambda c: np.round(c, nd))


# ----------------------------------------------------------------------------------------------------------
# Districts (basemap) and land
# ----------------------------------------------------------------------------------------------------------

DISTRICT_NAMES = {  # adcode -> (English name, Chinese name)
    440304: ("Futian", "福田区"),
    440305: ("Nanshan", "南山区"),
    440306: ("Bao'an", "宝安区"),
    440309: ("Longhua", "龙华区"),
    440311: ("Guangming", "光明区"),
}
SIMPLIFY_DEG = 0.0002  # ~20 m


def load_districts():
    src = json.loads(DISTRICTS_SRC.read_text(encoding="utf-8"))
    out = {}
    for f in src["features"]:
        code = f["properties"]["adcode"]
        if code not in DISTRICT_NAMES:
            continue
        g = gcj02_to_wgs84(shape(f["geometry"]))
        g = g.simplify(SIMPLIFY_DEG, preserve_topology=True)
        g = rounded(g)
        if not g.is_valid:
            g = g.buffer(0)
        out[code] = g
    return out


# ----------------------------------------------------------------------------------------------------------
# Sub-areas
# ----------------------------------------------------------------------------------------------------------
# Outline boxes (lon/lat, WGS84) at the real locations. Each box is clipped to land and cut against the
# sub-areas placed before it; then one side (`free`: N, S, E or W) is moved until the land area equals
# `target_km2`, so neighbouring sub-areas share edges. Status of the area figure: C = confirmed
# (facts.md), D = derived from confirmed figures, E = estimate.
SUBAREAS = [
    # id, display name, (lon_min, lat_min, lon_max, lat_max), free side, target km2, status
    ("guiwan", "Guiwan (Qianhai CBD)", (113.850, 22.5365, 113.915, 22.5530), "E", 3.90, "E"),
    ("bonded_port", "Qianhai Bay bonded port area", (113.850, 22.5150, 113.905, 22.5365), "E", 3.71, "E"),
    ("qianwan", "Qianwan", (113.850, 22.5150, 113.915, 22.5365), "E", 3.60, "E"),
    ("mawan", "Mawan", (113.850, 22.5000, 113.915, 22.5150), "E", 3.71, "E"),
    ("shekou", "Shekou with Dananshan/Xiaonanshan", (113.850, 22.4400, 113.950, 22.5000), "E", 22.0, "D/E"),
    ("baoan_center", "Bao'an Central District (Xin'an coastal core)", (113.850, 22.5530, 113.905, 22.6000), "N", 12.0, "E"),
    ("dachan_bay", "Dachan Bay port", (113.820, 22.5550, 113.900, 22.6000), "E", 8.0, "C (secondary)"),
    ("xixiang", "Xixiang", (113.840, 22.5550, 113.905, 22.6300), "N", 9.0, "E"),
    ("airport", "Airport and surroundings", (113.760, 22.5950, 113.836, 22.7000), "N", 24.0, "E"),
    ("ocean_city", "Ocean New City", (113.730, 22.6000, 113.800, 22.7200), "N", 7.44, "C"),
    ("convention_city", "Convention & Exhibition New City", (113.730, 22.6000, 113.808, 22.7800), "N", 22.8, "C"),
]
ORIGINAL = ["guiwan", "qianwan", "mawan", "bonded_port"]  # the 14.92 km2 before the 2021 expansion


def fit_area(bounds, free, allowed_m, target_m2):
    """Move the `free` side of the lon/lat box `bounds` until its land area (within allowed_m) is target_m2."""
    x0, y0, x1, y1 = bounds
    idx = {"W": 0, "S": 1, "E": 2, "N": 3}[free]
    grows_up = free in ("E", "N")
    lo, hi = (x0, x1) if free in ("E", "W") else (y0, y1)
    if not grows_up:
        lo, hi = hi, lo  # moving the W/S side outwards means decreasing it

    def clip(v):
        b = list(bounds)
        b[idx] = v
        return ll_to_m(box(*b)).intersection(allowed_m)

    if clip(hi).area < target_m2:
        raise RuntimeError(f"box {bounds} cannot reach {target_m2 / 1e6:.2f} km2")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if clip(mid).area < target_m2:
            lo = mid
        else:
            hi = mid
    parts = [p for p in polygons(clip(hi)) if p.area > 50_000]  # drop slivers
    return unary_union(parts)


def build_subareas(land_m):
    taken = Polygon()
    out = {}
    for sid, _name, bounds, free, target, _st in SUBAREAS:
        g = fit_area(bounds, free, land_m.difference(taken), target * 1e6)
        out[sid] = g
        taken = taken.union(g)
    return out


# ----------------------------------------------------------------------------------------------------------
# Parcels
# ----------------------------------------------------------------------------------------------------------
# Per sub-area: grid cell side range (m), street width (m), grid rotation (deg), zone mix
# [(zone, weight, (far_lo, far_hi))], cost factor on the zone base cost, character (existing use mix).
ZONE_COST = {  # development cost per m2 of floor, yuan (assumption): (low, high)
    "B2": (5500, 7500), "B1": (5000, 6800), "M0": (4200, 5600), "M1": (3300, 4300), "W1": (3000, 3900),
    "H23": (3000, 3600), "H24": (3400, 4400), "A21": (5800, 6600), "G1": (3000, 3000),
}
ZONE_USE = {
    "B2": ["vacant reclaimed land", "office (under construction)", "vacant reclaimed land", "temporary parking"],
    "B1": ["vacant reclaimed land", "low-rise commercial", "urban village", "temporary parking"],
    "M0": ["old industrial (low-rise factories)", "vacant land", "industrial park (1990s)"],
    "M1": ["old industrial (low-rise factories)", "industrial (in use)", "vacant land"],
    "W1": ["open storage yard", "warehouses (single storey)", "vacant reclaimed land"],
    "H23": ["container yard", "port back-up land"],
    "H24": ["airport landside", "cargo apron", "airport support buildings"],
    "A21": ["exhibition centre (Shenzhen World)"],
    "G1": ["park / green space"],
}
CORE = dict(cell=(100, 215), street=30)
PARCEL_CFG = {
    "guiwan": dict(CORE, angle=-28, cost=1.08,
                   zones=[("B2", 0.58, (8, 12)), ("B1", 0.22, (6, 9)), ("M0", 0.06, (4, 6)), ("G1", 0.14, (0.2, 0.2))]),
    "qianwan": dict(CORE, angle=-28, cost=1.05,
                    zones=[("B2", 0.45, (6, 10)), ("B1", 0.22, (5, 8)), ("M0", 0.18, (4, 6)), ("G1", 0.15, (0.2, 0.2))]),
    "bonded_port": dict(cell=(130, 280), street=30, angle=-28, cost=1.0,
                        zones=[("W1", 0.42, (2.0, 2.5)), ("B2", 0.25, (4, 8)), ("M0", 0.23, (3, 5)), ("G1", 0.10, (0.2, 0.2))]),
    "mawan": dict(CORE, angle=-28, cost=1.0,
                  zones=[("B2", 0.38, (5, 8)), ("B1", 0.22, (4, 7)), ("W1", 0.12, (1.5, 2.5)), ("M0", 0.13, (3, 5)),
                         ("G1", 0.15, (0.2, 0.2))]),
    "shekou": dict(cell=(105, 230), street=25, angle=-20, cost=0.98,
                   zones=[("B1", 0.27, (3, 6)), ("B2", 0.22, (4, 8)), ("M0", 0.22, (3, 6)), ("W1", 0.06, (1.5, 2.5)),
                          ("G1", 0.23, (0.2, 0.2))]),
    "baoan_center": dict(CORE, angle=-35, cost=1.0,
                         zones=[("B2", 0.47, (6, 10)), ("B1", 0.30, (4, 8)), ("M0", 0.08, (3, 5)), ("G1", 0.15, (0.2, 0.2))]),
    "xixiang": dict(cell=(110, 240), street=25, angle=-35, cost=0.92,
                    zones=[("M1", 0.33, (2, 4)), ("M0", 0.35, (3, 6)), ("B1", 0.16, (3, 5)), ("W1", 0.05, (1.5, 2.5)),
                           ("G1", 0.11, (0.2, 0.2))]),
    "dachan_bay": dict(cell=(330, 620), street=40, angle=-35, cost=0.95,
                       zones=[("H23", 0.45, (1.2, 1.8)), ("W1", 0.37, (1.5, 2.5)), ("B1", 0.08, (2, 4)),
                              ("G1", 0.10, (0.2, 0.2))]),
    "airport": dict(cell=(320, 640), street=40, angle=-22, cost=0.95,
                    zones=[("H24", 0.50, (0.7, 1.5)), ("W1", 0.22, (1.0, 2.0)), ("M1", 0.15, (1.5, 2.5)),
                           ("B1", 0.06, (2, 4)), ("G1", 0.07, (0.2, 0.2))]),
    "ocean_city": dict(cell=(115, 250), street=30, angle=-15, cost=0.95,
                       zones=[("M0", 0.36, (3, 5)), ("B2", 0.24, (4, 7)), ("B1", 0.15, (3, 6)), ("W1", 0.10, (1.5, 2.5)),
                              ("G1", 0.15, (0.2, 0.2))]),
    "convention_city": dict(cell=(115, 250), street=30, angle=-15, cost=0.95,
                            zones=[("B1", 0.26, (3, 6)), ("B2", 0.15, (4, 8)), ("M0", 0.25, (3, 5)), ("M1", 0.14, (2, 4)),
                                   ("W1", 0.05, (1.5, 2.5)), ("G1", 0.15, (0.2, 0.2))]),
}
MIN_PARCEL_M2 = 2500.0

# Special land inside sub-areas (lon/lat)
SZ_WORLD_SITE = (113.7715, 22.6925, 113.7795, 22.7085)  # Shenzhen World halls and forecourts, ~1.35 km2 (E)
AIRSIDE = [(113.7880, 22.6680), (113.8035, 22.6680), (113.8120, 22.6040), (113.7960, 22.6040)]  # runways (E)
DANANSHAN = (113.9045, 22.4935, 1100.0)  # hill park centre lon, lat and radius m (E)
ARP = (113.8108, 22.6394)
DACHAN_TERMINAL = (113.850, 22.570)


def grid_blocks(area_m, cell, street, angle, rng):
    """Blocks of a jittered rectangular grid (rotated by angle), clipped to area_m."""
    c = area_m.centroid
    rot = affinity.rotate(area_m, -angle, origin=c)
    minx, miny, maxx, maxy = rot.bounds

    def cuts(lo, hi):
        xs = [lo - rng.uniform(0, cell[1])]
        while xs[-1] < hi:
            xs.append(xs[-1] + rng.uniform(*cell))
        return xs

    xs, ys = cuts(minx, maxx), cuts(miny, maxy)
    out = []
    h = street / 2.0
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            b = box(xs[i] + h, ys[j] + h, xs[i + 1] - h, ys[j + 1] - h)
            if not b.intersects(rot):
                continue
            piece = b.intersection(rot)
            for p in polygons(piece):
                if p.area >= MIN_PARCEL_M2:
                    out.append(affinity.rotate(p, angle, origin=c))
    return out


def pick_zone(cfg, rng):
    zones = cfg["zones"]
    w = np.array([z[1] for z in zones])
    k = rng.choice(len(zones), p=w / w.sum())
    zone, _, (lo, hi) = zones[k]
    return zone, round(float(rng.uniform(lo, hi)), 1)


def build_parcels(subareas_m, rng):
    rows = []
    site_m = ll_to_m(box(*SZ_WORLD_SITE))
    airside_m = ll_to_m(Polygon(AIRSIDE))
    dananshan_m = ll_to_m(Point(DANANSHAN[0], DANANSHAN[1])).buffer(DANANSHAN[2])
    arp_m = ll_to_m(Point(*ARP))
    term_m = ll_to_m(Point(*DACHAN_TERMINAL))
    for sid, *_rest in SUBAREAS:
        cfg = PARCEL_CFG[sid]
        area = subareas_m[sid]
        blocks = []  # (polygon, forced zone or None, forced far or None, existing use or None)
        if sid == "convention_city":
            site = area.intersection(site_m)
            for b in grid_blocks(site, (420, 620), 40, 0, rng):
                blocks.append((b, "A21", 1.1, "exhibition centre (Shenzhen World)"))
            area = area.difference(site_m.buffer(20))
        for b in grid_blocks(area, cfg["cell"], cfg["street"], cfg["angle"], rng):
            blocks.append((b, None, None, None))
        for poly, zone, far, use in blocks:
            if zone is None:
                zone, far = pick_zone(cfg, rng)
                ctr = poly.centroid
                if sid == "airport" and airside_m.contains(ctr):
                    zone, far, use = "H24", 0.1, "airside (runways, taxiways, aprons)"
                elif sid == "airport" and zone == "H24" and ctr.distance(arp_m) < 2500:
                    use = "terminal area" if ctr.distance(arp_m) < 1500 else None
                elif sid == "shekou" and dananshan_m.contains(ctr):
                    zone, far, use = "G1", 0.2, "hill park (Dananshan)"
                elif sid == "dachan_bay" and ctr.distance(term_m) < 1700 and zone != "G1":
                    zone, far, use = "H23", round(float(rng.uniform(1.2, 1.8)), 1), "container terminal"
            if use is None:
                use = str(rng.choice(ZONE_USE[zone]))
            lo, hi = ZONE_COST[zone]
            cost = round(float(rng.uniform(lo, hi)) * cfg["cost"] / 10.0) * 10.0
            rows.append(dict(geometry=poly, zone=zone, far_max=far, subarea=sid, existing_use=use,
                             dev_cost_per_m2=cost))
    # ids, rounded lon/lat geometry, areas measured on the rounded polygons
    out = []
    counters: dict[str, int] = {}
    for r in rows:
        sid = r["subarea"]
        counters[sid] = counters.get(sid, 0) + 1
        g_ll = rounded(m_to_ll(r["geometry"]))
        if not g_ll.is_valid:
            g_ll = g_ll.buffer(0)
        r = dict(r)
        r["geometry"] = g_ll
        r["parcel_id"] = f"{PREFIX[sid]}{counters[sid]:04d}"
        r["area_m2"] = round(ll_to_m(g_ll).area, 1)
        out.append(r)
    df = pd.DataFrame(out)
    df = df[df["area_m2"] >= MIN_PARCEL_M2 * 0.9].reset_index(drop=True)
    df["must_develop"] = False
    cent_m = [ll_to_m(g).centroid for g in df["geometry"]]
    # existing uses that must stay developed: Shenzhen World, the airport terminal area, Dachan Bay terminal
    df.loc[df["zone"] == "A21", "must_develop"] = True
    d_arp = np.array([c.distance(arp_m) for c in cent_m])
    cand = df.index[(df["subarea"] == "airport") & (df["zone"] == "H24") & (df["far_max"] >= 0.7)]
    df.loc[cand[np.argsort(d_arp[cand])[:4]], "must_develop"] = True
    d_term = np.array([c.distance(term_m) for c in cent_m])
    cand = df.index[(df["subarea"] == "dachan_bay") & (df["zone"] == "H23")]
    df.loc[cand[np.argsort(d_term[cand])[:5]], "must_develop"] = True
    return df


PREFIX = {"guiwan": "GW", "qianwan": "QW", "mawan": "MW", "bonded_port": "BP", "shekou": "SK", "baoan_center": "BA",
          "xixiang": "XX", "dachan_bay": "DC", "airport": "AP", "ocean_city": "OC", "convention_city": "CC"}
