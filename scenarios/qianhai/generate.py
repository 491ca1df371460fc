"""Generate every data file of the Qianhai scenario (and its `before/`, `after/` and `intensive/` variants).

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
# Outline boxes (lon/lat, WGS84) at the real locations. Each box is clipped to land (or to its parent block)
# and cut against the sub-areas placed before it; then one side (`free`: N, S, E or W) is moved until the land
# area equals `target_km2`, so that neighbouring sub-areas share edges. The original zone is first laid out
# as one 14.92 km2 block (east edge fixed on Yueliangwan Avenue, ~113.905 E; the west edge set by the area,
# which keeps it near the real Qianhai Bay shore rather than the coarse district coastline) and then cut into
# its units. Status of the area figure: C = confirmed (facts.md), D = derived from confirmed figures,
# E = estimate.
QIANHAI_BLOCK = ((113.850, 22.5000, 113.905, 22.5540), "W", 14.92)
SUBAREAS = [
    # id, display name, parent, (lon_min, lat_min, lon_max, lat_max), free side, target km2, status
    ("guiwan", "Guiwan (Qianhai CBD)", "qianhai", (113.850, 22.5000, 113.905, 22.5540), "S", 3.90, "E"),
    ("mawan", "Mawan", "qianhai", (113.850, 22.5000, 113.905, 22.5540), "N", 3.71, "E"),
    (
        "bonded_port",
        "Qianhai Bay bonded port area",
        "qianhai",
        (113.850, 22.5000, 113.905, 22.5540),
        "E",
        3.71,
        "E",
    ),
    ("qianwan", "Qianwan", "qianhai", (113.850, 22.5000, 113.905, 22.5540), "W", 3.60, "E"),
    (
        "shekou",
        "Shekou with Dananshan/Xiaonanshan",
        "land",
        (113.872, 22.4400, 113.940, 22.5020),
        "S",
        22.98,
        "D",
    ),
    (
        "dachan_bay",
        "Dachan Bay port",
        "land",
        (113.820, 22.5540, 113.900, 22.6000),
        "E",
        8.0,
        "C (secondary)",
    ),
    (
        "baoan_center",
        "Bao'an Central District (Xin'an coastal core)",
        "land",
        (113.850, 22.5540, 113.905, 22.6000),
        "N",
        7.0,
        "C",
    ),
    ("xixiang", "Xixiang (Bihai)", "land", (113.840, 22.5540, 113.905, 22.6500), "N", 8.0, "C (secondary)"),
    ("airport", "Airport and surroundings", "land", (113.770, 22.5980, 113.828, 22.7000), "N", 29.42, "D"),
    ("ocean_city", "Ocean New City", "land", (113.730, 22.6000, 113.795, 22.7500), "N", 7.44, "C"),
    (
        "convention_city",
        "Convention & Exhibition New City",
        "land",
        (113.730, 22.6720, 113.802, 22.7800),
        "N",
        22.8,
        "C",
    ),
]
ORIGINAL = ["guiwan", "qianwan", "mawan", "bonded_port"]  # the 14.92 km2 before the 2021 expansion
SUBAREA_NAMES_ZH = {  # the public Chinese names (facts.md s.1.2 and the district plans)
    "guiwan": "桂湾",
    "mawan": "妈湾",
    "bonded_port": "前海湾保税港区",
    "qianwan": "前湾",
    "shekou": "蛇口及大小南山",
    "dachan_bay": "大铲湾",
    "baoan_center": "宝安中心区",
    "xixiang": "西乡（碧海）",
    "airport": "机场及周边",
    "ocean_city": "海洋新城",
    "convention_city": "会展新城",
}


def fit_area(bounds, free, allowed_m, target_m2):
    """Move the `free` side of the lon/lat box `bounds` until its area within allowed_m is target_m2."""
    x0, y0, x1, y1 = bounds
    idx = {"W": 0, "S": 1, "E": 2, "N": 3}[free]
    lo, hi = (x0, x1) if free in ("E", "W") else (y0, y1)
    if free in ("W", "S"):
        lo, hi = hi, lo  # moving the W/S side outwards means decreasing it

    def clip(v):
        b = list(bounds)
        b[idx] = v
        return ll_to_m(box(*b)).intersection(allowed_m)

    if clip(hi).area < target_m2 * (1 - 1e-9):
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
    """Sub-area outlines in local metres, keyed by sub-area id (in SUBAREAS order)."""
    qb, qfree, qtarget = QIANHAI_BLOCK
    parents = {"land": land_m, "qianhai": fit_area(qb, qfree, land_m, qtarget * 1e6)}
    taken = Polygon()
    out = {}
    for sid, _name, parent, bounds, free, target, _st in SUBAREAS:
        allowed = parents[parent].difference(taken)
        if sid == "qianwan":  # the remainder of the original zone
            g = unary_union([p for p in polygons(allowed) if p.area > 50_000])
        else:
            g = fit_area(bounds, free, allowed, target * 1e6)
        out[sid] = g
        taken = taken.union(g)
    return out


# ----------------------------------------------------------------------------------------------------------
# Parcels
# ----------------------------------------------------------------------------------------------------------
# Per sub-area: grid cell side range (m), street width (m), grid rotation (deg), zone mix
# [(zone, weight, (far_lo, far_hi))], cost factor on the zone base cost, character (existing use mix).
ZONE_COST = {  # development cost per m2 of floor, yuan (assumption): (low, high)
    "B2": (5500, 7500),
    "B1": (5000, 6800),
    "M0": (4200, 5600),
    "M1": (3300, 4300),
    "W1": (3000, 3900),
    "H23": (3000, 3600),
    "H24": (3400, 4400),
    "A21": (5800, 6600),
    "G1": (3000, 3000),
}
ZONE_USE = {
    "B2": [
        "vacant reclaimed land",
        "office (under construction)",
        "vacant reclaimed land",
        "temporary parking",
    ],
    "B1": ["vacant reclaimed land", "low-rise commercial", "urban village", "temporary parking"],
    "M0": ["old industrial (low-rise factories)", "vacant land", "industrial park (1990s)"],
    "M1": ["old industrial (low-rise factories)", "industrial (in use)", "vacant land"],
    "W1": ["open storage yard", "warehouses (single storey)", "vacant reclaimed land"],
    "H23": ["container yard", "port back-up land"],
    "H24": ["airport landside", "cargo apron", "airport support buildings"],
    "A21": ["exhibition centre (Shenzhen World)"],
    "G1": ["park / green space"],
}
CORE = dict(cell=(95, 200), street=30)
PARCEL_CFG = {
    "guiwan": dict(
        CORE,
        angle=-28,
        cost=1.08,
        zones=[("B2", 0.58, (8, 12)), ("B1", 0.22, (6, 9)), ("M0", 0.06, (4, 6)), ("G1", 0.14, (0.2, 0.2))],
    ),
    "qianwan": dict(
        CORE,
        angle=-28,
        cost=1.05,
        zones=[("B2", 0.45, (6, 10)), ("B1", 0.22, (5, 8)), ("M0", 0.18, (4, 6)), ("G1", 0.15, (0.2, 0.2))],
    ),
    "bonded_port": dict(
        cell=(130, 280),
        street=30,
        angle=-28,
        cost=1.0,
        zones=[
            ("W1", 0.42, (2.0, 2.5)),
            ("B2", 0.25, (4, 8)),
            ("M0", 0.23, (3, 5)),
            ("G1", 0.10, (0.2, 0.2)),
        ],
    ),
    "mawan": dict(
        CORE,
        angle=-28,
        cost=1.0,
        zones=[
            ("B2", 0.38, (5, 8)),
            ("B1", 0.22, (4, 7)),
            ("W1", 0.12, (1.5, 2.5)),
            ("M0", 0.13, (3, 5)),
            ("G1", 0.15, (0.2, 0.2)),
        ],
    ),
    "shekou": dict(
        cell=(100, 215),
        street=25,
        angle=-20,
        cost=0.98,
        zones=[
            ("B1", 0.27, (3, 6)),
            ("B2", 0.22, (4, 8)),
            ("M0", 0.22, (3, 6)),
            ("W1", 0.06, (1.5, 2.5)),
            ("G1", 0.23, (0.2, 0.2)),
        ],
    ),
    "baoan_center": dict(
        CORE,
        angle=-35,
        cost=1.0,
        zones=[("B2", 0.47, (6, 10)), ("B1", 0.30, (4, 8)), ("M0", 0.08, (3, 5)), ("G1", 0.15, (0.2, 0.2))],
    ),
    "xixiang": dict(
        cell=(100, 220),
        street=25,
        angle=-35,
        cost=0.92,
        zones=[
            ("M1", 0.33, (2, 4)),
            ("M0", 0.35, (3, 6)),
            ("B1", 0.16, (3, 5)),
            ("W1", 0.05, (1.5, 2.5)),
            ("G1", 0.11, (0.2, 0.2)),
        ],
    ),
    "dachan_bay": dict(
        cell=(330, 620),
        street=40,
        angle=-35,
        cost=0.95,
        zones=[
            ("H23", 0.45, (1.2, 1.8)),
            ("W1", 0.37, (1.5, 2.5)),
            ("B1", 0.08, (2, 4)),
            ("G1", 0.10, (0.2, 0.2)),
        ],
    ),
    "airport": dict(
        cell=(320, 640),
        street=40,
        angle=-22,
        cost=0.95,
        zones=[
            ("H24", 0.50, (0.7, 1.5)),
            ("W1", 0.22, (1.0, 2.0)),
            ("M1", 0.15, (1.5, 2.5)),
            ("B1", 0.06, (2, 4)),
            ("G1", 0.07, (0.2, 0.2)),
        ],
    ),
    "ocean_city": dict(
        cell=(115, 250),
        street=30,
        angle=-15,
        cost=0.95,
        zones=[
            ("M0", 0.36, (3, 5)),
            ("B2", 0.24, (4, 7)),
            ("B1", 0.15, (3, 6)),
            ("W1", 0.10, (1.5, 2.5)),
            ("G1", 0.15, (0.2, 0.2)),
        ],
    ),
    "convention_city": dict(
        cell=(115, 250),
        street=30,
        angle=-15,
        cost=0.95,
        zones=[
            ("B1", 0.26, (3, 6)),
            ("B2", 0.15, (4, 8)),
            ("M0", 0.25, (3, 5)),
            ("M1", 0.14, (2, 4)),
            ("W1", 0.05, (1.5, 2.5)),
            ("G1", 0.15, (0.2, 0.2)),
        ],
    ),
}
MIN_PARCEL_M2 = 2500.0

# Special land inside sub-areas (lon/lat)
SZ_WORLD_SITE = (113.7710, 22.6900, 113.7790, 22.7060)  # Shenzhen World halls and forecourts, ~1.35 km2 (E)
AIRSIDE = [(113.7880, 22.6680), (113.8035, 22.6680), (113.8120, 22.6040), (113.7960, 22.6040)]  # runways (E)
DANANSHAN = (113.9045, 22.4935, 1100.0)  # hill park centre lon, lat and radius m (E)
ARP = (113.8108, 22.6394)
# Dachan Bay container terminal as given in facts.md s.2 (22.57 N, 113.85 E, marked E). With this model's
# coarse coastline that point falls ~1 km inside Xixiang, so it is used only as the anchor of the terminal
# zoning: dachan_bay parcels within 1.7 km of it become the container terminal (9 parcels, ~1.22 km2, cf. the
# 112 ha of phase I). The seaport node `s_dachan` sits at the centroid of those parcels (see NODES and
# check_network), inside the dachan_bay sub-area.
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
            x0, y0, x1, y1 = site.bounds
            nx, ny, gap = 2, 4, 20.0  # halls in 2 x 4 blocks separated by 40 m internal roads
            for i in range(nx):
                for j in range(ny):
                    cell = box(
                        x0 + (x1 - x0) * i / nx + gap,
                        y0 + (y1 - y0) * j / ny + gap,
                        x0 + (x1 - x0) * (i + 1) / nx - gap,
                        y0 + (y1 - y0) * (j + 1) / ny - gap,
                    )
                    for b in polygons(cell.intersection(site)):
                        if b.area >= MIN_PARCEL_M2:
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
            rows.append(
                dict(
                    geometry=poly, zone=zone, far_max=far, subarea=sid, existing_use=use, dev_cost_per_m2=cost
                )
            )
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


PREFIX = {
    "guiwan": "GW",
    "qianwan": "QW",
    "mawan": "MW",
    "bonded_port": "BP",
    "shekou": "SK",
    "baoan_center": "BA",
    "xixiang": "XX",
    "dachan_bay": "DC",
    "airport": "AP",
    "ocean_city": "OC",
    "convention_city": "CC",
}


# ----------------------------------------------------------------------------------------------------------
# Transport network (WGS84). Status: C = coordinates from facts.md marked confirmed, E = approximate.
# ----------------------------------------------------------------------------------------------------------
NODES = [
    # node_id, type, name, lon, lat, status
    ("apt_terminal", "airport", "Shenzhen Bao'an Int'l Airport (reference point)", 113.8108, 22.6394, "C"),
    ("m_airport", "metro", "Airport station (Line 11, under T3)", 113.8089, 22.6264, "C"),
    ("r_airport", "rail", "Shenzhen Airport (GZ-SZ intercity, under T3)", 113.8089, 22.6264, "C"),
    ("m_airport_north", "metro", "Airport North (Lines 11/20)", 113.7930, 22.6540, "C"),
    ("r_airport_north", "rail", "Shenzhen Airport North (GZ-SZ intercity)", 113.7925, 22.6539, "C"),
    ("m_airport_east", "metro", "Airport East (Lines 1/12)", 113.8176, 22.6501, "C"),
    ("r_airport_east", "rail", "Shenzhen Airport East HSR (planned, SZ-Jiangmen)", 113.8200, 22.6400, "E"),
    ("m_szworld_north", "metro", "Shenzhen World North (Lines 12/20)", 113.7725, 22.7047, "C"),
    ("m_szworld", "metro", "Shenzhen World (Lines 12/20)", 113.7750, 22.6980, "E"),
    ("e_szworld", "exhibition", "Shenzhen World (convention & exhibition centre)", 113.7750, 22.6980, "E"),
    ("m_cec", "metro", "Convention & Exhibition City (Line 20)", 113.7680, 22.7180, "E"),
    ("m_qianhaiwan", "metro", "Qianhai Bay (Lines 1/5/11)", 113.8930, 22.5370, "E"),
    (
        "r_qianhai",
        "rail",
        "Qianhai hub (planned HK-SZ western rail link / intercity)",
        113.8930,
        22.5370,
        "E",
    ),
    ("m_qianwan", "metro", "Qianwan (Lines 5/9)", 113.8954, 22.5218, "C"),
    ("m_baoan_center", "metro", "Bao'an Center (Lines 1/5)", 113.8820, 22.5560, "E"),
    ("m_shekou_port", "metro", "Shekou Port (Line 2)", 113.9067, 22.4794, "C"),
    ("m_sea_world", "metro", "Sea World (Lines 2/12)", 113.9150, 22.4850, "C"),
    ("s_cruise", "seaport", "Shekou Cruise Center (Prince Bay)", 113.9136, 22.4685, "C"),
    # centroid of the generated terminal parcels (check_network verifies it), not the facts.md point
    ("s_dachan", "seaport", "Dachan Bay container terminal", 113.8370, 22.5693, "E"),
    ("s_mawan", "seaport", "Mawan port area", 113.8800, 22.5000, "E"),
    ("s_chiwan", "seaport", "Shekou/Chiwan container terminals", 113.8900, 22.4700, "E"),
    ("b_szbay", "border", "Shenzhen Bay Port (border control)", 113.9447, 22.5039, "C"),
    (
        "x_szlink",
        "expressway",
        "Shenzhen-Zhongshan Link landing (airport interchange)",
        113.7900,
        22.6200,
        "E",
    ),
    (
        "x_dachan_toll",
        "expressway",
        "Dachan Bay toll gate (Guangshen Riverside Expwy)",
        113.8620,
        22.5880,
        "E",
    ),
    ("j_nantou", "junction", "Nantou", 113.9180, 22.5450, "E"),
    ("j_houhai", "junction", "Houhai", 113.9350, 22.5150, "E"),
    ("j_guiwan", "junction", "Guiwan west (Linhai Ave)", 113.8840, 22.5460, "E"),
    ("j_bonded", "junction", "Bonded port gate", 113.8850, 22.5250, "E"),
    ("j_mawan", "junction", "Mawan (Yueliangwan Ave)", 113.8920, 22.5070, "E"),
    ("j_chiwan", "junction", "Chiwan", 113.8850, 22.4800, "E"),
    ("j_shekou", "junction", "Shekou centre", 113.9200, 22.4920, "E"),
    ("j_dananshan", "junction", "Dananshan west", 113.8950, 22.4930, "E"),
    ("j_baoan_w", "junction", "Bao'an coastal (Bihai)", 113.8680, 22.5600, "E"),
    ("j_baoan_n", "junction", "Xin'an north", 113.8900, 22.5700, "E"),
    ("j_xixiang", "junction", "Xixiang", 113.8780, 22.5750, "E"),
    ("j_xixiang_e", "junction", "Xixiang east (Bao'an Ave)", 113.9000, 22.5800, "E"),
    ("j_dachan_gate", "junction", "Dachan Bay port gate (Xixiang)", 113.8500, 22.5700, "E"),
    ("j_hangcheng", "junction", "Hangcheng", 113.8350, 22.6150, "E"),
    ("j_airport_s", "junction", "Airport south", 113.8150, 22.6060, "E"),
    ("j_airport_w", "junction", "Airport west (runway 3 side)", 113.7900, 22.6380, "E"),
    ("j_fuhai", "junction", "Fuhai", 113.7950, 22.6750, "E"),
    ("j_ocean", "junction", "Ocean New City", 113.7700, 22.6650, "E"),
    ("j_ocean_e", "junction", "Ocean New City east", 113.7880, 22.6600, "E"),
    ("j_conv_e", "junction", "Convention city east", 113.7950, 22.7000, "E"),
    ("j_conv_s", "junction", "Convention Bay", 113.7620, 22.6900, "E"),
    ("j_conv_n", "junction", "Convention city north", 113.7850, 22.7150, "E"),
]

M1, M5, M11, M12, M20, M2, M9 = 35.0, 35.0, 60.0, 35.0, 45.0, 35.0, 35.0
EXPWY, AVENUE, RAIL, TRANSFER = 60.0, 30.0, 80.0, 15.0
EDGES = [
    # from, to, speed_kmh, length_m (None = straight line), corridor
    # metro
    ("m_qianhaiwan", "m_baoan_center", M1, None, "Metro Line 1"),
    ("m_baoan_center", "j_xixiang", M1, None, "Metro Line 1"),
    ("j_xixiang", "j_hangcheng", M1, None, "Metro Line 1"),
    ("j_hangcheng", "m_airport_east", M1, None, "Metro Line 1"),
    ("m_baoan_center", "m_qianhaiwan", M5, None, "Metro Line 5"),
    ("m_qianhaiwan", "m_qianwan", M5, None, "Metro Line 5"),
    ("m_qianwan", "j_mawan", M5, None, "Metro Line 5"),
    ("j_mawan", "j_dananshan", M5, None, "Metro Line 5"),
    ("j_dananshan", "j_chiwan", M5, None, "Metro Line 5"),
    ("j_nantou", "m_qianhaiwan", M11, None, "Metro Line 11"),
    ("m_qianhaiwan", "j_baoan_w", M11, None, "Metro Line 11"),
    ("j_baoan_w", "x_dachan_toll", M11, None, "Metro Line 11"),
    ("x_dachan_toll", "m_airport", M11, None, "Metro Line 11"),
    ("m_airport", "m_airport_north", M11, None, "Metro Line 11"),
    ("m_sea_world", "j_shekou", M12, None, "Metro Line 12"),
    ("j_shekou", "j_nantou", M12, None, "Metro Line 12"),
    ("j_nantou", "j_baoan_n", M12, None, "Metro Line 12"),
    ("j_baoan_n", "j_xixiang_e", M12, None, "Metro Line 12"),
    ("j_xixiang_e", "j_hangcheng", M12, None, "Metro Line 12"),
    ("j_hangcheng", "m_airport_east", M12, None, "Metro Line 12"),
    ("m_airport_east", "j_fuhai", M12, None, "Metro Line 12"),
    ("j_fuhai", "m_szworld", M12, None, "Metro Line 12"),
    ("m_szworld", "m_szworld_north", M12, None, "Metro Line 12"),
    ("m_airport_north", "j_ocean_e", M20, None, "Metro Line 20"),
    ("j_ocean_e", "m_szworld", M20, None, "Metro Line 20"),
    ("m_szworld", "m_szworld_north", M20, None, "Metro Line 20"),
    ("m_szworld_north", "m_cec", M20, None, "Metro Line 20"),
    ("j_chiwan", "m_shekou_port", M2, None, "Metro Line 2"),
    ("m_shekou_port", "m_sea_world", M2, None, "Metro Line 2"),
    ("m_sea_world", "j_houhai", M2, None, "Metro Line 2"),
    ("m_qianwan", "j_nantou", M9, None, "Metro Line 9"),
    # rail
    ("r_airport", "r_airport_north", RAIL, None, "GZ-SZ intercity"),
    ("r_qianhai", "r_airport_east", RAIL, None, "Airport-Qianhai intercity (planned)"),
    ("r_airport_east", "r_airport", RAIL, None, "Airport-Qianhai intercity (planned)"),
    ("r_qianhai", "b_szbay", RAIL, None, "HK-SZ western rail link (planned)"),
    # interchanges between nodes at the same place (zero or short walking links)
    ("m_qianhaiwan", "r_qianhai", TRANSFER, None, "interchange"),
    ("m_airport", "r_airport", TRANSFER, None, "interchange"),
    ("m_airport_north", "r_airport_north", TRANSFER, None, "interchange"),
    ("m_airport_east", "r_airport_east", TRANSFER, None, "interchange"),
    ("m_szworld", "e_szworld", TRANSFER, None, "interchange"),
    ("apt_terminal", "m_airport", TRANSFER, None, "terminal link"),
    ("apt_terminal", "m_airport_east", TRANSFER, None, "terminal link"),
    # expressways
    ("b_szbay", "j_houhai", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_houhai", "j_nantou", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_nantou", "j_baoan_w", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_baoan_w", "x_dachan_toll", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("x_dachan_toll", "j_airport_s", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_airport_s", "x_szlink", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("x_szlink", "j_airport_w", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_airport_w", "j_ocean", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_ocean", "j_conv_s", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("j_conv_s", "j_conv_n", EXPWY, None, "Guangshen Riverside Expressway (S3)"),
    ("x_dachan_toll", "j_mawan", EXPWY, 8050.0, "Mawan cross-sea passage"),
    ("b_szbay", "j_shekou", EXPWY, None, "Shekou connector (approx.)"),
    ("j_hangcheng", "j_airport_s", EXPWY, None, "Airport expressway"),
    # main avenues
    ("s_chiwan", "j_chiwan", AVENUE, None, "Shekou main avenues"),
    ("s_cruise", "m_shekou_port", AVENUE, None, "Shekou main avenues"),
    ("s_cruise", "j_shekou", AVENUE, None, "Shekou main avenues"),
    ("m_shekou_port", "j_shekou", AVENUE, None, "Shekou main avenues"),
    ("j_shekou", "j_houhai", AVENUE, None, "Shekou main avenues"),
    ("j_dananshan", "j_shekou", AVENUE, None, "Nanhai Avenue"),
    ("s_mawan", "j_mawan", AVENUE, None, "Mawan Avenue"),
    ("s_mawan", "j_dananshan", AVENUE, None, "Mawan Avenue"),
    ("j_mawan", "j_bonded", AVENUE, None, "Yueliangwan Avenue"),
    ("j_bonded", "m_qianwan", AVENUE, None, "Qianhai main avenues"),
    ("j_bonded", "j_guiwan", AVENUE, None, "Linhai Avenue"),
    ("j_guiwan", "m_qianhaiwan", AVENUE, None, "Qianhai main avenues"),
    ("j_guiwan", "j_baoan_w", AVENUE, None, "Linhai Avenue"),
    ("m_qianhaiwan", "j_nantou", AVENUE, None, "Qianhai main avenues"),
    ("m_baoan_center", "j_baoan_w", AVENUE, None, "Bao'an main avenues"),
    ("m_baoan_center", "j_baoan_n", AVENUE, None, "Bao'an main avenues"),
    ("s_dachan", "j_dachan_gate", AVENUE, None, "Dachan Bay port road"),
    ("j_baoan_w", "j_dachan_gate", AVENUE, None, "Dachan Bay port road"),
    ("j_dachan_gate", "x_dachan_toll", AVENUE, None, "Dachan Bay port road"),
    ("j_baoan_n", "j_xixiang", AVENUE, None, "Bao'an Avenue"),
    ("j_xixiang", "x_dachan_toll", AVENUE, None, "Bao'an main avenues"),
    ("j_xixiang", "j_xixiang_e", AVENUE, None, "Bao'an main avenues"),
    ("j_xixiang_e", "j_hangcheng", AVENUE, None, "Bao'an Avenue"),
    ("j_airport_s", "m_airport", AVENUE, None, "Airport main avenues"),
    ("x_szlink", "m_airport", AVENUE, None, "Airport main avenues"),
    ("j_airport_w", "m_airport_north", AVENUE, None, "Airport main avenues"),
    ("m_airport_north", "apt_terminal", AVENUE, None, "Airport main avenues"),
    ("m_airport_east", "j_fuhai", AVENUE, None, "Fuhai main avenues"),
    ("m_airport_north", "j_ocean_e", AVENUE, None, "Fuhai main avenues"),
    ("j_ocean_e", "j_fuhai", AVENUE, None, "Fuhai main avenues"),
    ("j_ocean", "j_ocean_e", AVENUE, None, "Fuhai main avenues"),
    ("j_ocean", "m_szworld", AVENUE, None, "Fuhai main avenues"),
    ("j_conv_s", "m_szworld", AVENUE, None, "Convention city main avenues"),
    ("j_fuhai", "j_conv_e", AVENUE, None, "Convention city main avenues"),
    ("j_conv_e", "m_szworld_north", AVENUE, None, "Convention city main avenues"),
    ("j_conv_e", "j_conv_n", AVENUE, None, "Convention city main avenues"),
    ("j_conv_n", "m_cec", AVENUE, None, "Convention city main avenues"),
    ("m_szworld_north", "j_conv_s", AVENUE, None, "Convention city main avenues"),
]


# ----------------------------------------------------------------------------------------------------------
# Industries
# ----------------------------------------------------------------------------------------------------------
# Output (value added, yuan per m2 of floor per year), jobs per m2 and FAR ranges: central values of
# industry-intensity.md section 6 (exhibition uses value added ~2,500 instead of the 5,000 revenue figure).
# Demand caps/floors (max/min_floor_total_m2) are assumptions, set so that the optimum lands at roughly
# 1.5-2.8 bn yuan of value added per km2 of zone land (see CALIBRATION in scenario.toml).
# Innovation-carrier metric rates = the brief's Table 1 minimum counts / minimum usable area
# (min operating area x usable share): e.g. incubator teams 10 / (1,000 x 0.70) = 0.01429 per m2.
CARRIERS = {  # id: (name, min_floor_m2, usable_share, teams, patents, financed, graduates)
    "carrier_space": ("Entrepreneurship space (maker space)", 300, 0.60, 10, 0, 0, 0),
    "incubator": ("Incubator", 1000, 0.70, 10, 10, 2, 0),
    "accelerator": ("Accelerator", 6000, 0.75, 15, 15, 3, 3),
    "sci_park": ("S&T industrial park", 20000, 0.75, 50, 40, 5, 10),
}
INDUSTRIES = [
    # id, name, output, jobs, zones, far_min, far_max, min_floor_m2, min_total, max_total, min_share, max_share,
    # min_sites, max_sites, color
    (
        "finance",
        "Finance",
        70000,
        0.045,
        "B2",
        6,
        12,
        20000,
        None,
        1_000_000,
        None,
        0.25,
        None,
        None,
        "#1f4e9e",
    ),
    (
        "leasing",
        '"Bonded +" financial leasing',
        70000,
        0.040,
        "B2",
        6,
        12,
        10000,
        None,
        250_000,
        None,
        None,
        None,
        None,
        "#3d85c6",
    ),
    (
        "business_services",
        "Business & professional services",
        20000,
        0.045,
        "B1;B2",
        4,
        10,
        10000,
        None,
        1_300_000,
        None,
        None,
        None,
        None,
        "#6fa8dc",
    ),
    (
        "maritime",
        "Emerging maritime industries (shipping & maritime services)",
        35000,
        0.045,
        "B2;B1",
        4,
        10,
        10000,
        250_000,
        450_000,
        None,
        None,
        None,
        None,
        "#0b5394",
    ),
    (
        "next_gen_it",
        "Next-generation information technology",
        40000,
        0.050,
        "M0;B2;B1",
        3,
        8,
        10000,
        None,
        700_000,
        None,
        None,
        None,
        None,
        "#8e7cc3",
    ),
    (
        "rnd",
        "Research & development",
        20000,
        0.040,
        "M0;B1",
        2.5,
        6,
        5000,
        None,
        900_000,
        None,
        None,
        None,
        None,
        "#a64d79",
    ),
    (
        "smart_equipment",
        "Smart equipment (advanced manufacturing)",
        12000,
        0.030,
        "M1;M0",
        2,
        4,
        10000,
        500_000,
        1_500_000,
        None,
        None,
        None,
        None,
        "#b45f06",
    ),
    (
        "aerospace",
        "Aerospace",
        14000,
        0.028,
        "M1;M0",
        1,
        2,
        10000,
        200_000,
        600_000,
        None,
        None,
        None,
        None,
        "#e69138",
    ),
    (
        "airport_services",
        "High-end airport services & air logistics",
        6000,
        0.015,
        "H24;W1",
        0.7,
        1.5,
        10000,
        1_200_000,
        2_500_000,
        None,
        None,
        None,
        None,
        "#cc0000",
    ),
    (
        "supply_chain",
        "Supply chain & modern logistics",
        4000,
        0.012,
        "W1;H23",
        1.0,
        2.5,
        10000,
        2_500_000,
        5_000_000,
        None,
        None,
        None,
        None,
        "#7f6000",
    ),
    (
        "ecommerce",
        "Cross-border e-commerce",
        9000,
        0.022,
        "W1;M0",
        1.5,
        4,
        5000,
        300_000,
        1_000_000,
        None,
        None,
        None,
        None,
        "#bf9000",
    ),
    (
        "exhibition",
        "Exhibition & trade",
        2500,
        0.003,
        "A21;B1",
        0.8,
        1.5,
        20000,
        1_000_000,
        2_000_000,
        None,
        None,
        None,
        None,
        "#ff00ff",
    ),
]
CARRIER_ZONES = {
    "carrier_space": "B1;B2;M0",
    "incubator": "B1;B2;M0",
    "accelerator": "M0;B1;B2",
    "sci_park": "M0;M1",
}
CARRIER_CAPS = {"carrier_space": 60_000, "incubator": 200_000, "accelerator": 300_000, "sci_park": 700_000}
CARRIER_COLORS = {
    "carrier_space": "#93c47d",
    "incubator": "#6aa84f",
    "accelerator": "#38761d",
    "sci_park": "#274e13",
}
CARRIER_SITES = {"carrier_space": 2, "incubator": 3, "accelerator": 2, "sci_park": 1}
INDUSTRY_NAMES_ZH = {  # the brief's industries by their usual Chinese names
    "finance": "金融",
    "leasing": "“保税+”融资租赁",
    "business_services": "商务与专业服务",
    "maritime": "新兴海洋产业",
    "next_gen_it": "新一代信息技术",
    "rnd": "研发",
    "smart_equipment": "智能装备",
    "aerospace": "航空航天",
    "airport_services": "高端临空服务与航空物流",
    "supply_chain": "供应链与现代物流",
    "ecommerce": "跨境电商",
    "exhibition": "会展",
    "carrier_space": "众创空间",
    "incubator": "孵化器",
    "accelerator": "加速器",
    "sci_park": "科技产业园",
}


def industries_table() -> pd.DataFrame:
    cols = [
        "industry_id",
        "name",
        "output_per_m2",
        "jobs_per_m2",
        "allowed_zones",
        "far_min",
        "far_max",
        "min_floor_m2",
        "min_floor_total_m2",
        "max_floor_total_m2",
        "min_share",
        "max_share",
        "min_sites",
        "max_sites",
        "usable_share",
        "color",
        "teams_per_m2",
        "patents_per_m2",
        "financed_per_m2",
        "graduates_per_m2",
    ]
    rows = []
    for r in INDUSTRIES:
        rows.append(list(r[:13]) + [r[13], 1.0, r[14], 0.0, 0.0, 0.0, 0.0])
    for cid, (name, min_floor, usable, teams, patents, financed, grads) in CARRIERS.items():
        usable_min = min_floor * usable
        rows.append(
            [
                cid,
                name,
                7000,
                0.030,
                CARRIER_ZONES[cid],
                2,
                6,
                min_floor,
                None,
                CARRIER_CAPS[cid],
                None,
                None,
                CARRIER_SITES[cid],
                None,
                usable,
                CARRIER_COLORS[cid],
                round(teams / usable_min, 6),
                round(patents / usable_min, 6),
                round(financed / usable_min, 6),
                round(grads / usable_min, 6),
            ]
        )
    df = pd.DataFrame(rows, columns=cols)
    df.insert(2, "name_zh", df["industry_id"].map(INDUSTRY_NAMES_ZH))
    for c in ("min_sites", "max_sites"):
        df[c] = df[c].astype("Int64")
    return df


# ----------------------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------------------
def write_geojson(path: Path, features: list[dict]) -> None:
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def feature(geom, props: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def geom_json(geom):
    return rounded(geom)


def write_csv(path: Path, df: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, str) for x in v) and sum(len(x) for x in v) > 80:
            return "[\n" + "".join(f"    {toml_value(x)},\n" for x in v) + "]"
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def toml_text(doc: dict, header: str) -> str:
    """Serialise {table: {key: value}} / {array_table: [dict, ...]} (one level of nesting)."""
    lines = [header.rstrip(), ""]
    for name, body in doc.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{name}]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in item.items() if not isinstance(v, dict)]
                lines.append("")
                for sk, sv in item.items():  # sub-tables of this entry ([phases.min_floor_m2] after [[phases]])
                    if isinstance(sv, dict):
                        lines.append(f"[{name}.{sk}]")
                        lines += [f"{k} = {toml_value(v)}" for k, v in sv.items()]
                        lines.append("")
        else:
            lines.append(f"[{name}]")
            sub = {k: v for k, v in body.items() if isinstance(v, dict)}
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items() if not isinstance(v, dict)]
            lines.append("")
            for sk, sv in sub.items():
                lines.append(f"[{name}.{sk}]")
                lines += [f"{k} = {toml_value(v)}" for k, v in sv.items()]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------------------------------------
# Scenario rules
# ----------------------------------------------------------------------------------------------------------
NETWORK = {"crs": "EPSG:4326", "access_speed_kmh": 12.0, "access_links": 3, "detour_factor": 1.3}
SOLVER = {"name": "auto", "time_limit_s": 60, "mip_gap": 0.0001, "threads": 2}
BUDGET_AFTER = 60.0e9
BUDGET_BEFORE = 45.0e9
# Location premium of office uses (assumption): output x exp(-decay x minutes to the nearest metro station),
# i.e. about -3%/min for finance and leasing, -2%/min for business services and maritime services, -1.5%/min
# for IT. Maritime keeps its seaport rule and gets a second, decay-only rule towards the metro.
DECAY = {"finance": 0.03, "leasing": 0.03, "business_services": 0.02, "maritime": 0.02, "next_gen_it": 0.015}
ACCESS_RULES = [  # industry, node type, max minutes (None = no limit), decay per minute (None = none)
    ("airport_services", "airport", 15.0, None),
    ("aerospace", "airport", 25.0, None),
    ("supply_chain", "seaport", 20.0, None),
    ("maritime", "seaport", 20.0, None),
    ("maritime", "metro", None, DECAY["maritime"]),
    ("finance", "metro", 12.0, DECAY["finance"]),
    ("leasing", "metro", 12.0, DECAY["leasing"]),
    ("business_services", "metro", 15.0, DECAY["business_services"]),
    ("exhibition", "exhibition", 12.0, None),
    ("next_gen_it", "metro", 15.0, DECAY["next_gen_it"]),
    ("carrier_space", "metro", 10.0, None),
    ("incubator", "metro", 10.0, None),
    ("accelerator", "metro", 10.0, None),
    ("sci_park", "metro", 15.0, None),
]
SUBAREA_MIX = [  # subarea, industry, min_share, max_share (None = no bound)
    ("guiwan", "finance", 0.30, None),
    ("qianwan", "business_services", 0.15, None),
    ("bonded_port", "supply_chain", 0.35, None),
    ("mawan", "maritime", 0.10, None),
    ("shekou", "maritime", 0.05, None),
    ("baoan_center", "business_services", 0.20, None),
    ("xixiang", "smart_equipment", 0.25, None),
    ("xixiang", "next_gen_it", 0.15, None),
    ("dachan_bay", "supply_chain", 0.50, None),
    ("ocean_city", "maritime", 0.15, None),
    ("airport", "airport_services", 0.50, None),
    ("convention_city", "exhibition", 0.20, None),
]
# Development minimums (all industries together, m2 of floor; assumptions): the plans put the CBD and the
# other planned cores on these sub-areas, so the optimiser may not leave them empty. Orders of magnitude from
# facts.md s.1.2 (2012 plan: 12 M m2 of office on ~15 km2, 0.8 M m2 per km2), scaled to this model, which holds
# only the new productive floor of its 16 industries (~15 M m2 on the whole 120.56 km2). See the assumption
# "Sub-area development minimums" below. The before variant keeps those of its four sub-areas.
SUBAREA_MIN_FLOOR = {
    "guiwan": 1_200_000,
    "qianwan": 800_000,
    "baoan_center": 800_000,
    "mawan": 500_000,
    "bonded_port": 500_000,
}
BONDED_ALLOW = [
    "supply_chain",
    "leasing",
    "rnd",
    "exhibition",
    "ecommerce",
    "carrier_space",
    "incubator",
    "accelerator",
    "sci_park",
]
CARRIER_IDS = list(CARRIERS)
METRIC_RULES = [
    ("teams", 1000.0, CARRIER_IDS),
    ("patents", 300.0, CARRIER_IDS),
    ("financed", 50.0, CARRIER_IDS),
    ("graduates", 20.0, CARRIER_IDS),
]
# `before`: the same demand on the original 14.92 km2 only. Demand floors that the original zone cannot host
# (no airport, exhibition, heavy-industry or container-port land) are dropped; the rest is unchanged.
BEFORE_MIN_TOTAL = {"supply_chain": 500_000, "maritime": 300_000}
BEFORE_MIX = [
    ("guiwan", "finance", 0.30, None),
    ("qianwan", "business_services", 0.15, None),
    ("bonded_port", "supply_chain", 0.35, None),
    ("mawan", "maritime", 0.10, None),
]
ZONE_AREA_KM2 = {"after": 120.56, "before": 14.92, "intensive": 120.56, "phased": 120.56}  # total_area_km2 (facts.md s.1.1)
# `intensive`: the expanded zone, maximising value added per m2 of developed land (the brief's "intensive use")
# while producing at least the whole zone's 2021 value added (facts.md s.3, status C)
GDP_2021_YUAN = 175.57e9
GDP_2025_YUAN = 331.81e9  # facts.md s.3, status C: the check of the first phase (never an input)

# `phased` (qianhai_2035): the expanded zone as it stood in 2021 (existing uses), developed in three phases to 2035.
# Existing industry and floor area ratio by the parcel's `existing_use` description (assumptions), only in the
# sub-areas that were built up in 2021; the reserve (Convention & Exhibition New City apart from Shenzhen World,
# Ocean New City, Dachan Bay back-up land) is greenfield whatever its description.
EXISTING_BY_USE = {
    "old industrial (low-rise factories)": ("smart_equipment", 1.2),
    "industrial park (1990s)": ("next_gen_it", 2.0),
    "industrial (in use)": ("smart_equipment", 1.8),
    "low-rise commercial": ("business_services", 1.5),
    "warehouses (single storey)": ("supply_chain", 0.8),
    "open storage yard": ("supply_chain", 0.2),
    "container yard": ("supply_chain", 0.3),
    "container terminal": ("supply_chain", 0.4),
    "airport support buildings": ("airport_services", 0.8),
    "airport landside": ("airport_services", 0.7),
    "terminal area": ("airport_services", 1.0),
    "cargo apron": ("airport_services", 0.2),
    "exhibition centre (Shenzhen World)": ("exhibition", 1.08),
}
BUILT_UP_2021 = ("baoan_center", "shekou", "xixiang", "airport", "guiwan", "qianwan", "mawan", "bonded_port")
LOCKED_USES = ("exhibition centre (Shenzhen World)", "terminal area", "container terminal")  # lock = industry
DEMOLITION_COST_PER_M2 = 3_000.0  # demolition, relocation and compensation per m2 of existing floor (assumption)
PHASES = [  # name, first year, last year, budget (yuan), reference output at the phase's end (yuan a year)
    ("2021-2025", 2021, 2025, 60.0e9, GDP_2025_YUAN),
    ("2026-2030", 2026, 2030, 60.0e9, None),
    ("2031-2035", 2031, 2035, 60.0e9, None),
]
PHASING = {"discount_rate": 0.08, "operating_from": "mid", "base_year": 2021}
DEMAND_GROWTH_2035 = 2.0  # new demand to 2035 = 2 x the main scenario's caps, on top of the existing floor
# Neighbours of the phased variant (assumptions, docs "Neighbours"): parcels within 45 m (the generated streets are
# 25-40 m wide) are neighbours. Synergy in yuan a year per m2 of the smaller floor of two neighbouring sites, at the
# calibrated coefficients' scale (finance ~34,000 yuan per m2 a year): the finance and business-services core in
# Guiwan/Qianwan, the bonded port's "1 + 4" chain (supply chain leading; leasing, e-commerce, exhibition, R&D
# supporting), the airport's double hub (airport services with aerospace) and IT with R&D.
NEIGHBOUR_DISTANCE_M = 30.0
SYNERGY = [  # industry_a, industry_b, yuan a year per m2 of the smaller floor
    ("finance", "finance", 1_500.0),
    ("finance", "business_services", 1_000.0),
    ("finance", "leasing", 1_000.0),
    ("supply_chain", "leasing", 400.0),
    ("supply_chain", "ecommerce", 400.0),
    ("airport_services", "aerospace", 400.0),
]
# left out to keep the solve within minutes (each rule adds a variable per neighbouring pair and phase, and the
# relaxation of synergy is weak): supply_chain with exhibition and with R&D (the chain's other two supporting
# links), next_gen_it with R&D; 45 m neighbours (all parcels across a street) doubled the pairs
SEPARATION = [  # industry_a, industry_b, least distance in metres (None: not neighbours)
    ("supply_chain", "finance", 300.0),  # logistics yards kept away from the finance towers
    ("airport_services", "finance", None),
    ("smart_equipment", "finance", None),
]
CLUSTERS = {"finance": 2, "aerospace": 2}  # cluster_min_sites: no lone finance tower, no lone aerospace plant


def existing_state(parcels: pd.DataFrame, industries: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """The phased variant's existing uses: columns existing_industry, existing_floor_m2, existing_output_yuan,
    lock and demolition_cost_per_m2, with existing output calibrated to the zone's 2021 GDP. Returns the table
    and the calibration factor (GDP / the coefficients' output of the existing floor)."""
    mapped = parcels["existing_use"].map({k: v[0] for k, v in EXISTING_BY_USE.items()})
    far = parcels["existing_use"].map({k: v[1] for k, v in EXISTING_BY_USE.items()})
    built = parcels["subarea"].isin(BUILT_UP_2021) | (parcels["zone"] == "A21")
    has = mapped.notna() & built & (parcels["far_max"] > 0.1)
    floor = (np.minimum(far, 0.95 * parcels["far_max"]) * parcels["area_m2"]).round(0)
    rate = mapped.map(industries.set_index("industry_id")["output_per_m2"])
    default = (rate * floor).where(has, 0.0)
    exact = GDP_2021_YUAN / float(default.sum())
    out = pd.DataFrame({
        "existing_industry": mapped.where(has, ""),
        "existing_floor_m2": floor.where(has),
        "existing_output_yuan": (default * exact).round(0).where(has),
        "lock": np.where(has & parcels["existing_use"].isin(LOCKED_USES), "industry", ""),
        "demolition_cost_per_m2": np.where(has, DEMOLITION_COST_PER_M2, np.nan),
    }, index=parcels.index)
    return out, round(exact, 4)

DESCRIPTION = (
    "Qianhai Shenzhen-Hong Kong Modern Service Industry Cooperation Zone after the 2021 expansion "
    "(120.56 km2): where to put the brief's industries and innovation carriers, and how densely, to maximise "
    "value added within demand, budget, access and sub-area role rules."
)
ASSUMPTIONS = [
    # geography
    "District boundaries (districts.geojson, basemap and land mask) are the public Aliyun DataV GeoAtlas extract "
    "of Shenzhen (GCJ-02), converted to WGS84 with the published closed-form GCJ-02 approximation (one-step "
    "inverse, ~1-2 m) and simplified to ~20 m. The extract's coastline is coarse (up to ~1 km off around Qianhai "
    "Bay); sub-areas and parcels are clipped to it, so 'on land' means on land in this extract.",
    "Sub-area outlines are generated boxes at the real locations, clipped to land and sized to the target areas; "
    "they are NOT official boundaries (no official per-area boundaries or figures were found).",
    "Confirmed areas (facts.md): original zone 14.92 km2; expanded zone 120.56 km2; Convention & Exhibition New "
    "City 22.8 km2; Ocean New City 7.44 km2; Bao'an Centre coastal core 7 km2 of planned land.",
    "Secondary-source areas: Dachan Bay 8 km2 and Bihai 8 km2 (ba500.org, 'gongli' read as km2); Xixiang is "
    "modelled as the Bihai part of Bao'an Central District.",
    "Derived areas: Shekou with Dananshan/Xiaonanshan 22.98 km2 = 37.9 (Qianhai-Shekou plan) - 14.92; airport "
    "area 29.42 km2 = 120.56 minus all other sub-areas (facts.md rough split gives 29-30).",
    "Estimated split of the original 14.92 km2: Guiwan 3.90, Qianwan 3.60, Mawan 3.71 and the bonded port "
    "3.71 km2 (the often-quoted but unconfirmed bonded-zone figure); the bonded port is carved out of the "
    "Qianwan unit, so Guiwan + Qianwan + Mawan (with the bonded port) = 14.92 km2.",
    "Parcels are a generated street grid (street gaps 25-40 m) clipped to the sub-areas: blocks of about 1-5 ha "
    "in urban areas and 10-40 ha at the port and airport; ~20-25% of each sub-area is street. Shapes, zoning "
    "codes and FAR caps of individual parcels are synthetic (seeded), not the statutory plans.",
    "Zoning mix by sub-area character (GB 50137-2011 codes): B2/B1 in Guiwan, Qianwan, Bao'an Centre; M0/M1 in "
    "Xixiang; H23/W1 at Dachan Bay; H24 at the airport (runway strip zoned H24 with FAR 0.1, i.e. unbuildable); "
    "A21 for the Shenzhen World site (~1.3 km2 modelled; 1.21-1.48 km2 in sources); W1/B2/M0 in the bonded "
    "port; G1 parks (no industry may use them; kept for the map and the land budget).",
    "Parcel FAR caps (estimates consistent with industry-intensity.md s.4): office B2 6-12 in Guiwan (land-sale "
    "average 7.3, a 9.3 parcel), 4-10 elsewhere; B1 3-9; M0 3-6; M1 1.5-4; W1 1.0-2.5; H23 1.2-1.8; H24 "
    "landside 0.7-1.5 (cargo station 0.71); A21 1.1 (Shenzhen World 1.08).",
    "dev_cost_per_m2 (yuan per m2 of floor, construction plus servicing, excluding land premium) is an "
    "assumption: 3,000-3,900 for W1/H23, 3,300-4,400 for M1/H24, 4,200-5,600 for M0, 5,000-7,500 for B1/B2, "
    "x1.05-1.08 in Guiwan/Qianwan and x0.92-0.98 in the outer areas.",
    "must_develop parcels (existing uses that stay): the Shenzhen World site (A21), the four landside H24 "
    "parcels nearest the airport reference point, and the five H23 parcels nearest the Dachan Bay terminal.",
    # industries
    "output_per_m2 (value added, yuan per m2 floor per year) and jobs_per_m2 are the central values of "
    "industry-intensity.md s.6 (mostly estimates built from HK/Shanghai per-worker value added); exhibition "
    "uses value added 2,500 (not the 5,300 revenue per m2).",
    "Industry FAR ranges are the s.6 ranges; carriers 2-6. The four innovation carriers share the s.6 carrier "
    "coefficients (7,000 yuan, 0.030 jobs per m2).",
    "Innovation-carrier minimum floor (300/1,000/6,000/20,000 m2) and usable shares (0.60/0.70/0.75) are the "
    "paper's Table 1 thresholds, which facts.md could NOT confirm from a public source; the 0.75 usable share "
    "of the S&T park is an assumption (the table gives none).",
    "Carrier metric rates (teams/patents/financed/graduates per m2 of usable floor) = Table 1 minimum counts "
    "divided by the minimum usable area (min floor x usable share), e.g. incubator teams 10/700 = 0.0143. "
    "They are capacities assumed to scale linearly with floor.",
    "Demand caps (max_floor_total_m2) and floors (min_floor_total_m2) are assumptions chosen for calibration "
    "(see next line) and kept in proportion with the plans: office-type demand (finance, leasing, business "
    "services, maritime, IT) ~3.7 M m2, well below the 12 M m2 of office in the 2012 plan for 15 km2 or the "
    "25-26 M m2 of productive floor in the 2017 plan for 37.9 km2 (the rest of those plans is commerce, "
    "housing and floor already built).",
    "CALIBRATION: with these caps, the 60 bn yuan budget, the location premium, the sub-area minimums and the "
    "other rules, the optimum is about 240.1 bn yuan of value added a year, i.e. 1.99 bn per km2 of the "
    "120.56 km2 zone (KPI output_per_km2_zone_yuan; 2.69 bn per km2 of parcel land), within the zone's 2021 "
    "(1.46) to 2025 (2.75) GDP per km2 (facts.md s.3). Caps and the budget, not per-m2 coefficients, were "
    "tuned; they were left unchanged when the location premium and the minimums were added (the optimum fell "
    "from ~251 to ~240 bn, still inside the band). The budget binds, so low-value uses compete for it. The "
    "before variant gives ~209.5 bn, 14.0 bn per km2 of its 14.92 km2, between the 2012 plan's targets for the "
    "original zone (10 bn per km2 by 2020, 16.7 by 2030; facts.md s.3).",
    "Zone area for KPIs: [scenario] total_area_km2 = 120.56 (before: 14.92), the confirmed zone areas "
    "(facts.md s.1.1). Parcel land (89.25 km2, G1 parks included) is ~74% of it: streets and slivers below "
    "the minimum parcel size are not parcels, so output per km2 of zone is below output per km2 of parcel land.",
    "Budget: total_budget_yuan 60 bn of development cost (after); the before variant has 45 bn. Order of "
    "magnitude only: fixed-asset investment in the zone was >700 bn over 2021-25 (facts.md), most of it "
    "outside this model's scope (housing, infrastructure, land).",
    # network
    "Network node coordinates: WGS84 from facts.md s.2; rows marked E there (Qianhai Bay, Bao'an Center, "
    "Shenzhen World, Convention & Exhibition City, Dachan Bay, Mawan, Chiwan, SZ-Zhongshan landing, Airport East "
    "HSR) are approximate. Junction nodes and corridor alignments are schematic (estimates).",
    "Dachan Bay: the facts.md point of the container terminal (22.57 N, 113.85 E, marked E) falls ~1.3 km "
    "inside Xixiang with this model's coarse coastline, so it only anchors the terminal zoning (dachan_bay "
    "parcels within 1.7 km of it: 9 parcels, ~1.22 km2, cf. 112 ha of phase I). The seaport node sits at the "
    "centroid of those parcels (22.5693 N, 113.8370 E), inside the dachan_bay sub-area; a schematic junction "
    "'Dachan Bay port gate' at the old point links the port road to Bao'an coastal and the Dachan Bay toll gate.",
    "Edge speeds are assumptions: metro 35 km/h (lines 1, 2, 5, 9, 12), 45 km/h (line 20), 60 km/h (line 11, "
    "airport express; 120 km/h top speed); rail 80 km/h; expressways 60 km/h; main avenues 30 km/h; "
    "interchanges 15 km/h. Lengths are straight lines except the Mawan cross-sea passage (8.05 km, confirmed).",
    "Planned links are included as if built (HK-SZ western rail link, Airport-Qianhai intercity, Airport East "
    "HSR, line 20 phase 2 is not modelled).",
    "Access rules: airport services within 15 min of the airport node, aerospace 25; supply chain and maritime "
    "within 20 min of a seaport node; finance and leasing within 12 min of a metro station, business services "
    "15; exhibition within 12 min of Shenzhen World; next-generation IT within 15 min of a metro station; "
    "entrepreneurship spaces, incubators and accelerators within 10 min and S&T parks within 15 min of a metro "
    "station (start-ups depend on transit and city services). Access links: 12 km/h, 3 nearest nodes, detour 1.3.",
    "Location premium (assumption, not calibrated on Qianhai data): output per m2 of the office uses falls with "
    "the access time to the nearest metro station, multiplier exp(-decay x minutes): finance and leasing 0.03 "
    "per min, business services and maritime services 0.02, next-generation IT 0.015 (maritime keeps its "
    "20-min seaport limit and gets a second, decay-only rule towards the metro). One minute of access is "
    "~150 m at 12 km/h with detour 1.3, so roughly -1 to -2% per 100 m; a finance site 5 min from a station "
    "yields 14% less than one next to it. Without it output per m2 was the same everywhere and the budget "
    "went to the cheaper outer areas.",
    "Sub-area development minimums (subarea_mix min_floor_m2 without an industry; assumptions): Guiwan (the "
    "CBD) 1.2 M m2, Qianwan 0.8, Bao'an Centre 0.8, Mawan 0.5 and the bonded port 0.5 M m2 of productive "
    "floor (3.8 M m2; the before variant keeps the four in the original zone, 3.0 M m2). Order of magnitude "
    "from facts.md s.1.2: the 2012 plan put 26 M m2 of GFA, 12 M of it office, on ~15 km2 (0.8 M m2 of office "
    "per km2); this model holds only the new productive floor of its 16 industries (~15 M m2 on all 120.56 "
    "km2), so the minimums are 14-38% of each sub-area's pro-rata 2012-plan office (Guiwan 1.2 of 3.1 M m2, "
    "Qianwan 0.8 of 2.9, Mawan and bonded port 0.5 of 3.0, Bao'an Centre 0.8 of 5.6), highest in the CBD. "
    "They make the plan develop the planned cores at all (a share rule holds trivially in an empty sub-area); "
    "all five bind at the optimum and together take ~19.5 bn of the 60 bn budget.",
    "Sub-area roles (subarea_mix) follow the brief's table; the shares are assumptions. The bonded port admits "
    "only the 'one leading + four supporting' industries plus the innovation carriers.",
    "Carrier totals required (metric_rules): at least 1,000 teams, 300 patents, 50 financed firms and 20 "
    "graduates per year across the four carrier types (assumption, cf. the E-hub's 788 HK start-ups by 2024).",
    "Office-type demand caps: finance 1.0, leasing 0.25, business services 1.3, maritime 0.45, IT 0.7 M m2 of "
    "floor (about 3.7 M m2); with the other caps the zone can absorb ~17 M m2 of productive floor.",
]


def scenario_doc(variant: str, calibration: float = np.nan) -> dict:
    before = variant == "before"
    name = "qianhai_before" if before else "qianhai"
    desc = DESCRIPTION
    assumptions = list(ASSUMPTIONS)
    if before:
        desc = (
            "Qianhai Cooperation Zone before the 2021 expansion (original 14.92 km2: Guiwan, Qianwan, Mawan "
            "and the bonded port), with the same industries, demand caps and rules where they apply."
        )
        assumptions.insert(
            0,
            "BEFORE variant: only the original 14.92 km2 (guiwan, qianwan, mawan, bonded_port). "
            "Same per-m2 coefficients and demand caps as the expanded zone; demand floors "
            "for uses the original zone cannot host (airport, exhibition, manufacturing) "
            "are dropped; budget 45 bn yuan; the sub-area development minimums of its four sub-areas apply "
            "(Guiwan 1.2, Qianwan 0.8, Mawan 0.5, bonded port 0.5 M m2); total_area_km2 = 14.92.",
        )
    objective = {"sense": "maximize", "cost_weight": 0.0}
    if variant == "intensive":
        name = "qianhai_intensive"
        desc = (
            "Qianhai Cooperation Zone after the 2021 expansion, planned for intensive land use: the most value "
            "added per m2 of developed land, while producing at least the whole zone's 2021 value added."
        )
        assumptions.insert(
            0,
            "INTENSIVE variant: the expanded zone with every rule of the main scenario, but the objective is value "
            "added per m2 of developed parcel land (objective.kind = output_per_land), with a floor of 175.57 bn "
            "yuan a year, the zone's 2021 GDP (facts.md s.3, status C). The floor is an assumption about what the "
            "zone must at least produce; this model counts only the new productive floor of its 16 industries, "
            "so the comparison with GDP is one of magnitude.",
        )
        objective = {"sense": "maximize", "kind": "output_per_land", "cost_weight": 0.0,
                     "min_total_output_yuan": GDP_2021_YUAN}
    if variant == "phased":
        name = "qianhai_2035"
        desc = (
            "Qianhai Cooperation Zone from its 2021 state to 2035: which built-up parcels to keep, intensify or "
            "convert and which reserve land to develop, in which five-year phase, for the most discounted value added."
        )
        assumptions[0:0] = phased_assumptions(calibration)
    mix = BEFORE_MIX if before else SUBAREA_MIX
    keep = ORIGINAL if before else [s[0] for s in SUBAREAS]
    mins = [(s, v) for s, v in SUBAREA_MIN_FLOOR.items() if s in keep]
    doc = {
        "scenario": {
            "name": name,
            "description": desc,
            "total_area_km2": ZONE_AREA_KM2[variant],
            "assumptions": assumptions,
        },
        "data": {
            "parcels": "parcels.geojson",
            "industries": "industries.csv",
            "nodes": "network/nodes.csv",
            "edges": "network/edges.csv",
            "subareas": "subareas.geojson",
            "basemap": "districts.geojson",
        },
        "objective": objective,
        "solver": dict(SOLVER),
        "rules": {"total_budget_yuan": BUDGET_BEFORE if before else BUDGET_AFTER},
        "network": dict(NETWORK),
        "access_rules": [
            {
                "industry": i,
                "node_type": t,
                **({"max_minutes": m} if m is not None else {}),
                **({"decay_per_min": d} if d is not None else {}),
            }
            for i, t, m, d in ACCESS_RULES
        ],
        "subarea_mix": [
            {
                "subarea": s,
                "industry": i,
                **({"min_share": lo} if lo is not None else {}),
                **({"max_share": hi} if hi is not None else {}),
            }
            for s, i, lo, hi in mix
        ]
        + [{"subarea": s, "min_floor_m2": float(v)} for s, v in mins],
        "subarea_allow": [{"subarea": "bonded_port", "industries": BONDED_ALLOW}],
        "metric_rules": [{"metric": m, "min": v, "industries": ids} for m, v, ids in METRIC_RULES],
    }
    if variant == "phased":
        del doc["rules"]  # the phases' budgets instead of one total
        # a harder model than the main scenario's (three phases, neighbour synergy): 0.1 % in the same 60 s (README)
        doc["solver"].update(mip_gap=0.001)
        doc["neighbours"] = {"distance_m": NEIGHBOUR_DISTANCE_M, "synergy": "synergy.csv",
                             "separation": "separation.csv"}
        doc["phasing"] = dict(PHASING)
        doc["phases"] = [{"name": n, "start_year": a, "end_year": b, "budget_yuan": budget,
                          **({"reference_output_yuan": ref} if ref else {})} for n, a, b, budget, ref in PHASES]
    return doc


def phased_assumptions(calibration: float) -> list[str]:
    uses = "; ".join(f"{u} -> {k} at FAR {f:g}" for u, (k, f) in EXISTING_BY_USE.items())
    return [
        "PHASED variant (qianhai_2035): the expanded zone as it stood in 2021, developed in three five-year "
        "phases to 2035. Every rule of the main scenario holds for the 2035 end state; existing floor counts in "
        "them like new floor.",
        "Existing uses (assumptions): parcels in the sub-areas built up by 2021 (Bao'an Centre, Shekou, Xixiang, "
        "the airport, Guiwan, Qianwan, Mawan, the bonded port) carry the industry and floor area ratio of their "
        f"generated existing_use description ({uses}; capped at 95% of the parcel's FAR cap). Urban villages, "
        "vacant land, parking, parks and offices under construction are greenfield. The Convention & Exhibition "
        "New City (but the Shenzhen World site, opened 2019), Ocean New City and Dachan Bay's back-up land are "
        "the greenfield reserve.",
        "CALIBRATION to the zone's 2021 GDP, 175.57 bn yuan (facts.md s.3, status C): every industry's "
        f"output_per_m2 is the main scenario's x {calibration:.3f}, the factor that makes the existing floor "
        "produce the 2021 GDP (existing_output_yuan = that rate x the existing floor, before access decay). With "
        "the main scenario's coefficients the 2021 floor would produce about twice the 2021 GDP: they are "
        "estimates for new, fully let floor (industry-intensity.md), and the zone's floor is partly old or "
        "vacant. New floor is valued with the same scaled rates.",
        "Locks (lock = industry): the Shenzhen World halls, the airport terminal area and the Dachan Bay container "
        "terminal keep their industry (they may intensify).",
        f"Redevelopment: demolition, relocation and compensation cost {DEMOLITION_COST_PER_M2:,.0f} yuan per m2 of "
        "existing floor on a conversion (assumption); intensifying pays the construction cost of the added floor.",
        "Phases 2021-2025, 2026-2030, 2031-2035 with 60 bn yuan of development budget each (assumption: the main "
        "scenario's one-off 60 bn per five years); discount rate 8% a year to 2021 (assumption, the social discount "
        "rate of China's construction-project appraisal parameters); a development produces from the middle of "
        "its phase. The 2025 GDP, 331.81 bn yuan (facts.md s.3, status C), is compared with the plan's output "
        "at the end of the first phase (reference_output_yuan), never used as a rule.",
        f"Demand caps (max_floor_total_m2) are the existing floor of the industry plus {DEMAND_GROWTH_2035:g} x the "
        "main scenario's caps (new demand to 2035, assumption).",
        f"Neighbours (assumptions): parcels within {NEIGHBOUR_DISTANCE_M:g} m of each other (the generated streets "
        "are 25-40 m wide, so most parcels across a narrow street). Synergy per m2 of the smaller floor of two "
        "neighbouring sites, yuan a year (synergy.csv): "
        + ", ".join(f"{a}-{b} {v:,.0f}" for a, b, v in SYNERGY) + " - the finance and business-services core, "
        "two links of the bonded port's 'one leading + four supporting' chain (the links with exhibition and R&D "
        "are left out, as is IT with R&D, to keep the solve within minutes), the airport's double hub. Separation "
        "(separation.csv): supply chain (logistics yards) not within 300 m of finance; airport services and smart "
        "equipment not next to finance. Clusters: finance and aerospace sites come in connected groups of at least "
        "2 (cluster_min_sites). All values are assumptions, not estimates from Qianhai data.",
    ]


TOML_HEADER = """# Qianhai flagship scenario. GENERATED by generate.py (seed {seed}); edit the script, not this file.
# Format: docs/scenario-format.md. What is real and what is estimated: `assumptions` below and README.md."""


def write_variant(
    folder: Path,
    variant: str,
    parcels: pd.DataFrame,
    subareas_ll: dict,
    districts: dict,
    industries: pd.DataFrame,
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    existing: pd.DataFrame | None = None,
    calibration: float = np.nan,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network").mkdir(exist_ok=True)
    keep = ORIGINAL if variant == "before" else [s[0] for s in SUBAREAS]
    p = parcels[parcels["subarea"].isin(keep)]
    cols = [
        "parcel_id",
        "area_m2",
        "zone",
        "far_max",
        "subarea",
        "existing_use",
        "dev_cost_per_m2",
        "must_develop",
    ]
    feats = []
    for i, r in p.iterrows():
        props = {c: r[c] for c in cols}
        props["area_m2"] = float(props["area_m2"])
        props["far_max"] = float(props["far_max"])
        props["dev_cost_per_m2"] = float(props["dev_cost_per_m2"])
        props["must_develop"] = bool(props["must_develop"])
        if existing is not None:
            e = existing.loc[i]
            props["existing_industry"] = e["existing_industry"]
            if e["existing_industry"]:
                props.update(existing_floor_m2=float(e["existing_floor_m2"]),
                             existing_output_yuan=float(e["existing_output_yuan"]), lock=e["lock"],
                             demolition_cost_per_m2=float(e["demolition_cost_per_m2"]))
        feats.append(feature(r["geometry"], props))
    write_geojson(folder / "parcels.geojson", feats)
    sub_feats = []
    for sid, name, _parent, _b, _f, _t, status in SUBAREAS:
        if sid not in keep:
            continue
        g = subareas_ll[sid]
        sub_feats.append(
            feature(
                g,
                {
                    "subarea": sid,
                    "name": name,
                    "name_zh": SUBAREA_NAMES_ZH[sid],
                    "area_km2": round(ll_to_m(g).area / 1e6, 3),
                    "area_status": status,
                },
            )
        )
    write_geojson(folder / "subareas.geojson", sub_feats)
    d_feats = [
        feature(g, {"name": DISTRICT_NAMES[c][0], "name_zh": DISTRICT_NAMES[c][1], "adcode": c})
        for c, g in districts.items()
    ]
    write_geojson(folder / "districts.geojson", d_feats)
    ind = industries.copy()
    if variant == "before":
        ind["min_floor_total_m2"] = ind["industry_id"].map(BEFORE_MIN_TOTAL)
    if existing is not None:  # coefficients calibrated on 2021; caps: the existing floor plus new demand to 2035
        ind["output_per_m2"] = (ind["output_per_m2"] * calibration).round(0)
        standing = existing.groupby("existing_industry")["existing_floor_m2"].sum()
        ind["max_floor_total_m2"] = (ind["industry_id"].map(standing).fillna(0.0)
                                     + DEMAND_GROWTH_2035 * ind["max_floor_total_m2"]).round(0)
        ind["cluster_min_sites"] = ind["industry_id"].map(CLUSTERS).astype("Int64")
    write_csv(folder / "industries.csv", ind)
    if variant == "phased":
        write_csv(folder / "synergy.csv", pd.DataFrame(
            [(a, b, v, "m2") for a, b, v in SYNERGY], columns=["industry_a", "industry_b", "bonus", "basis"]))
        write_csv(folder / "separation.csv", pd.DataFrame(
            SEPARATION, columns=["industry_a", "industry_b", "min_distance_m"]))
    write_csv(folder / "network" / "nodes.csv", nodes)
    write_csv(folder / "network" / "edges.csv", edges)
    text = toml_text(scenario_doc(variant, calibration), TOML_HEADER.format(seed=SEED))
    (folder / "scenario.toml").write_text(text, encoding="utf-8")


def check_network(nodes: pd.DataFrame, parcels: pd.DataFrame, subareas_m: dict) -> None:
    """The Dachan Bay seaport node must sit on the generated terminal, inside the dachan_bay sub-area."""
    row = nodes.set_index("node_id").loc["s_dachan"]
    node_m = ll_to_m(Point(row["x"], row["y"]))
    if not subareas_m["dachan_bay"].contains(node_m):
        raise RuntimeError("node s_dachan is outside the dachan_bay sub-area")
    term = parcels[(parcels["subarea"] == "dachan_bay") & (parcels["existing_use"] == "container terminal")]
    centre = ll_to_m(unary_union(list(term["geometry"]))).centroid
    if node_m.distance(centre) > 100.0:
        raise RuntimeError(
            f"node s_dachan is {node_m.distance(centre):.0f} m from the terminal parcels' centroid"
        )


def main() -> None:
    rng = np.random.default_rng(SEED)
    districts = load_districts()
    land_ll = unary_union([max(polygons(districts[c]), key=lambda g: g.area) for c in (440305, 440306)])
    land_m = ll_to_m(land_ll).buffer(-2.0)  # 2 m inside the coast and the outer boundary: robust to rounding
    subareas_m = build_subareas(land_m)
    subareas_ll = {k: rounded(m_to_ll(g)) for k, g in subareas_m.items()}
    parcels = build_parcels(subareas_m, rng)
    industries = industries_table()
    nodes = pd.DataFrame(
        [(n, t, nm, x, y) for n, t, nm, x, y, _s in NODES], columns=["node_id", "type", "name", "x", "y"]
    )
    edges = pd.DataFrame(EDGES, columns=["from_node", "to_node", "speed_kmh", "length_m", "corridor"])
    check_network(nodes, parcels, subareas_m)
    write_variant(HERE, "after", parcels, subareas_ll, districts, industries, nodes, edges)
    write_variant(HERE / "after", "after", parcels, subareas_ll, districts, industries, nodes, edges)
    write_variant(HERE / "before", "before", parcels, subareas_ll, districts, industries, nodes, edges)
    write_variant(HERE / "intensive", "intensive", parcels, subareas_ll, districts, industries, nodes, edges)
    existing, factor = existing_state(parcels, industries)
    write_variant(HERE / "phased", "phased", parcels, subareas_ll, districts, industries, nodes, edges, existing,
                  factor)
    summary = parcels.groupby("subarea").agg(
        parcels=("parcel_id", "size"), parcel_land_km2=("area_m2", "sum")
    )
    summary["parcel_land_km2"] = (summary["parcel_land_km2"] / 1e6).round(3)
    summary["subarea_km2"] = [round(subareas_m[s].area / 1e6, 3) for s in summary.index]
    print(summary.to_string())
    print(
        f"total: {len(parcels)} parcels, sub-areas {sum(g.area for g in subareas_m.values()) / 1e6:.2f} km2"
    )


if __name__ == "__main__":
    main()
