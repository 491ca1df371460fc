"""Planner's maps of a run: `map.png` (the plan) and `access.png` (travel time to key transport nodes).

Drawn with matplotlib's object API (no pyplot state, Agg canvas), all parcels of a layer in one collection, so a
5,000-parcel map renders in a few seconds. Works with or without parcel polygons (then squares of the parcel's
area at its x/y), with or without a network, sub-area outlines and a basemap.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.pipeline import RunResult
from optimizer.report.geojson import coordinate_system, parcel_table

DPI = 160
UNDEVELOPED = "#dddbd5"
LAND = "#f4f1ea"
SEA = "#cde2ef"
PLAIN_BACKGROUND = "#fbfbf9"
INK = "#2b2b2b"
# Tableau 10 without its grey (kept for "not developed"), then lighter companions
PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#a0cbe8",
    "#ffbe7d",
    "#8cd17d",
    "#b6992d",
    "#86bcb6",
    "#ff9d9a",
    "#d37295",
    "#d4a6c8",
    "#79706e",
    "#f1ce63",
    "#499894",
]
# corridor mode -> (keywords in the corridor name, colour, line width, legend label); first match wins
CORRIDOR_MODES = {
    "metro": (("metro", "subway", "mrt", "underground"), "#d62728", 1.6, "metro line"),
    "rail": (("rail", "intercity", "hsr", "high-speed", "high speed", "train"), "#6a3d9a", 1.6, "rail"),
    "expressway": (("expressway", "expwy", "motorway", "freeway", "highway"), "#e08214", 2.0, "expressway"),
    "road": (
        ("avenue", "road", "street", "boulevard", "connector", "passage", "bridge", "tunnel"),
        "#8f8f8f",
        1.0,
        "main road",
    ),
    "other": ((), "#b3b3b3", 0.7, "other link"),
}
NODE_STYLE = {  # type -> marker, size (pt²), colour
    "airport": ("^", 150, "#1d3557"),
    "seaport": ("s", 90, "#0b6e99"),
    "port": ("s", 90, "#0b6e99"),
    "rail": ("D", 70, "#6a3d9a"),
    "border": ("P", 110, "#b15928"),
    "metro": ("o", 22, "#d62728"),
    "expressway": ("h", 45, "#e08214"),
    "exhibition": ("*", 190, "#c51b7d"),
    "junction": (".", 8, "#6f6f6f"),
}
OTHER_MARKERS = ["v", "p", "X", "<", ">", "d", "8"]
MAJOR_NODE_TYPES = ("airport", "seaport", "port", "rail", "border", "exhibition")
ACCESS_PRIORITY = ("metro", "airport", "seaport", "port", "rail", "border", "exhibition", "expressway")
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)


# ---------------------------------------------------------------------------------------------------------
# Shared helpers (also used by charts.py)
# ---------------------------------------------------------------------------------------------------------
MIN_DELTA_E = 15.0  # CIE76 distance every two industry colours keep (about "clearly different" on a map)
_D65 = np.array([0.95047, 1.0, 1.08883])
_M_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                   [0.0193339, 0.1191920, 0.9503041]])


def srgb_to_lab(rgb) -> np.ndarray:
    """sRGB in 0-1 (shape (..., 3)) to CIE L*a*b* (D65)."""
    c = np.asarray(rgb, float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = lin @ _M_XYZ.T / _D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def lab_to_srgb(lab) -> np.ndarray:
    """CIE L*a*b* (D65) to sRGB 0-1, unclipped (values outside 0-1 are out of gamut)."""
    lab = np.asarray(lab, float)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    t = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65
    lin = t @ np.linalg.inv(_M_XYZ).T
    lin = np.maximum(lin, 0.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def delta_e(c1, c2) -> float:
    """CIE76 colour difference of two matplotlib colours."""
    from matplotlib.colors import to_rgb

    return float(np.linalg.norm(srgb_to_lab(to_rgb(c1)) - srgb_to_lab(to_rgb(c2))))


def _distinct(lab: np.ndarray, taken: list[np.ndarray]) -> np.ndarray:
    """The colour nearest `lab` (same hue family: lightness, chroma and a little hue) at least MIN_DELTA_E + 2
    from every colour in `taken`; `lab` itself when it already is."""
    if not taken or np.min(np.linalg.norm(np.array(taken) - lab, axis=1)) >= MIN_DELTA_E + 2:
        return lab
    L, a, b = lab
    h, ch = np.arctan2(b, a), np.hypot(a, b)
    best, best_d = lab, -1.0
    for dl in (0, 8, -8, 16, -16, 24, -24, 32, -32, 40, -40):
        for dh in (0, 12, -12, 24, -24, 36, -36):
            for kc in (1.0, 0.75, 1.3, 0.5):
                cand = np.array([L + dl, kc * ch * np.cos(h + np.radians(dh)), kc * ch * np.sin(h + np.radians(dh))])
                if not 15 <= cand[0] <= 92 or np.abs(lab_to_srgb(cand) - np.clip(lab_to_srgb(cand), 0, 1)).max() > 1e-3:
                    continue
                gap = float(np.min(np.linalg.norm(np.array(taken) - cand, axis=1)))
                if gap >= MIN_DELTA_E + 2:
                    return cand
                if gap > best_d:
                    best, best_d = cand, gap
    return best


def industry_colors(sc: Scenario) -> dict[str, str]:
    """Colour of each industry: its `color` column when valid, else the next palette colour; a colour too close
    (CIE76 ΔE < 17) to an earlier industry's is moved within its hue family (lightness, chroma, a little hue), so
    the scenario's sector families stay and every two industries can be told apart."""
    from matplotlib.colors import is_color_like, to_hex, to_rgb

    ids = list(sc.industries["industry_id"])
    given = {}
    if "color" in sc.industries.columns:
        for k, c in zip(ids, sc.industries["color"], strict=True):
            c = str(c).strip() if c is not None else ""
            if c and c.lower() != "nan" and is_color_like(c):
                given[k] = to_hex(c)
    free = [c for c in PALETTE if c not in given.values()]
    out, taken, j = {}, [], 0
    for k in ids:
        if k in given:
            c = given[k]
        else:
            c = free[j % len(free)] if free else PALETTE[j % len(PALETTE)]
            j += 1
        lab = _distinct(srgb_to_lab(to_rgb(c)), taken)
        taken.append(lab)
        out[k] = to_hex(np.clip(lab_to_srgb(lab), 0, 1))
    return out


@functools.lru_cache(maxsize=1)
def _fonts() -> tuple[tuple[str, ...], frozenset]:
    """Font families to use (a CJK fallback when one is installed) and the characters they can draw."""
    from matplotlib import font_manager, ft2font

    installed = {f.name for f in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans"] + [f for f in CJK_FONTS if f in installed][:1]
    chars: set[int] = set()
    for fam in families:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=fam), fallback_to_default=True)
            chars |= set(ft2font.FT2Font(path).get_charmap())
        except (OSError, RuntimeError, ValueError):
            continue
    return tuple(families), frozenset(chars)


def safe_text(text) -> str:
    """`text` without characters the available fonts cannot draw (e.g. Chinese without a CJK font)."""
    s = "" if text is None else str(text)
    chars = _fonts()[1]
    if not chars:
        return s
    kept = "".join(ch for ch in s if ord(ch) in chars or ch.isspace())
    return " ".join(kept.split())


def drawable_zh(name_zh) -> str:
    """A Chinese name when the fonts can draw every character of it, else "" (then maps show English only)."""
    zh = " ".join(str(name_zh if name_zh is not None else "").split())
    if not zh or zh.lower() == "nan" or safe_text(zh) != zh:
        return ""
    return zh


def bilingual(name, name_zh=None) -> str:
    """ "English 中文" where the scenario gives a Chinese name and a CJK font can draw it, else the English."""
    en, zh = safe_text(name), drawable_zh(name_zh)
    return f"{en} {zh}" if zh and en and zh not in en else en or zh


@contextmanager
def figure_style():
    """rc settings of every report figure (fonts with a CJK fallback when installed, quiet frames)."""
    import matplotlib

    with matplotlib.rc_context(
        {
            "font.family": list(_fonts()[0]),
            "font.size": 9,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.edgecolor": "#888888",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "savefig.facecolor": "white",
            "text.parse_math": False,  # names from the scenario are shown literally ("$x$" is not maths)
            "text.usetex": False,
        }
    ):
        yield


def new_figure(width_in: float, height_in: float):
    """A matplotlib Figure on an Agg canvas, without pyplot (no global state, safe in any backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15)


def fmt_bn(v: float) -> str:
    return f"{v / 1e9:,.2f} bn" if abs(v) >= 1e8 else f"{v / 1e6:,.1f} m"


def fmt_gap(gap: float) -> str:
    """A relative gap in percent with the digits that matter: 1.25%, 0.0053%, 0%."""
    pct = 100 * float(gap)
    if pct >= 0.1 or pct == 0:
        return f"{pct:.2f}%".replace(".00%", "%")
    return np.format_float_positional(pct, precision=2, fractional=False, trim="-") + "%"


def headline(result: RunResult) -> str:
    """One line of the run's key figures, for titles."""
    k = result.kpis
    if result.plan is None or not k:
        return f"no plan ({result.status}{': ' + result.message if result.message else ''})"
    gap = result.plan.gap
    gap_s = f", gap {fmt_gap(gap)}" if gap is not None and np.isfinite(gap) and gap > 0 else ""
    if k.get("output_per_km2_zone_yuan") is not None:
        per_km2 = f"{fmt_bn(k['output_per_km2_zone_yuan'])} yuan per km² of the zone"
    else:
        per_km2 = f"{fmt_bn(k['output_per_km2_all_land_yuan'])} yuan per km² of parcel land"
    return f"output {fmt_bn(k['total_output_yuan'])} yuan/yr · {per_km2} · {k['jobs']:,.0f} jobs · {result.status}{gap_s}"


# ---------------------------------------------------------------------------------------------------------
# Geometry: coordinate frame, parcel rings, optional layers
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapFrame:
    """How map units relate to metres: lon/lat degrees (scaled at the map's latitude) or local metres."""

    kind: str  # "lonlat" or "local_m"
    m_per_x: float
    m_per_y: float

    @property
    def aspect(self) -> float:
        return self.m_per_y / self.m_per_x


def map_frame(sc: Scenario, lat: float | None = None) -> MapFrame:
    kind = coordinate_system(sc)
    if kind == "lonlat":
        if lat is None:
            y = sc.parcels["y"].to_numpy(float)
            lat = float(np.nanmean(y)) if np.isfinite(y).any() else 0.0
        phi = math.radians(lat)
        # metres per degree of longitude and latitude on the WGS84 ellipsoid at latitude phi
        a, e2 = 6378137.0, 6.69437999014e-3
        w = math.sqrt(1.0 - e2 * math.sin(phi) ** 2)
        return MapFrame(
            "lonlat", a * math.cos(phi) / w * math.pi / 180.0, a * (1 - e2) / w**3 * math.pi / 180.0
        )
    return MapFrame("local_m", 1.0, 1.0)


@dataclass
class ParcelShapes:
    """Parcel outlines as coordinate arrays: rings[j] belongs to parcel owner[j]."""

    rings: list
    owner: np.ndarray
    bounds: tuple[float, float, float, float]


def parcel_shapes(sc: Scenario, frame: MapFrame) -> ParcelShapes:
    """Polygon exteriors of the parcels (one ring per polygon part); squares of the parcel's area at x/y for
    parcels without a polygon."""
    import shapely

    n = sc.n_parcels
    rings: list = []
    owner = np.zeros(0, dtype=int)
    has_poly = np.zeros(n, dtype=bool)
    if sc.geometry is not None:
        geoms = np.array(list(sc.geometry), dtype=object)
        parts, idx = shapely.get_parts(geoms, return_index=True)
        keep = shapely.get_type_id(parts) == 3  # Polygon
        parts, idx = parts[keep], idx[keep]
        if len(parts):
            coords, ci = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
            rings = np.split(coords, np.flatnonzero(np.diff(ci)) + 1)
            owner = idx.astype(int)
            has_poly[owner] = True
    x, y = sc.parcels["x"].to_numpy(float), sc.parcels["y"].to_numpy(float)
    sq = np.flatnonzero(~has_poly & np.isfinite(x) & np.isfinite(y))
    if len(sq):
        xs, ys = x[np.isfinite(x)], y[np.isfinite(y)]
        span_m = max((xs.max() - xs.min()) * frame.m_per_x, (ys.max() - ys.min()) * frame.m_per_y, 1.0)
        side_m = np.maximum(np.sqrt(sc.parcels["area_m2"].to_numpy(float)[sq]), 0.008 * span_m)
        hx, hy = side_m / 2 / frame.m_per_x, side_m / 2 / frame.m_per_y
        unit = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
        squares = (
            unit[None, :, :] * np.column_stack([hx, hy])[:, None, :]
            + np.column_stack([x[sq], y[sq]])[:, None, :]
        )
        rings = list(rings) + list(squares)
        owner = np.concatenate([owner, sq])
    if rings:
        allc = np.concatenate(rings)
        bounds = (
            float(allc[:, 0].min()),
            float(allc[:, 1].min()),
            float(allc[:, 0].max()),
            float(allc[:, 1].max()),
        )
    else:
        bounds = (0.0, 0.0, 1.0, 1.0)
    return ParcelShapes(rings, owner, bounds)


def read_layer(path: Path | None, key: str) -> list[tuple[str, object, dict]]:
    """Features of an optional GeoJSON layer as (label from property `key`, shapely geometry, properties).

    An unreadable or empty file gives an empty list: a missing background layer must not stop the outputs.
    """
    if path is None:
        return []
    from shapely.geometry import shape

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        out = []
        for f in doc.get("features") or []:
            if not f.get("geometry"):
                continue
            props = f.get("properties") or {}
            g = shape(f["geometry"])
            if not g.is_empty:
                out.append((str(props.get(key, props.get("name", "")) or ""), g, props))
        return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


SUBAREA_DASH = (0, (4, 2))


def subarea_lines(geoms) -> list[np.ndarray]:
    """Sub-area boundaries as lines, each shared edge once: two polygons' dashes drawn over one edge out of
    phase would look solid."""
    import shapely

    bounds = [g.boundary for g in geoms if g is not None and not g.is_empty]
    if not bounds:
        return []
    merged = shapely.line_merge(shapely.union_all(bounds))
    parts = getattr(merged, "geoms", [merged])
    return [np.asarray(p.coords)[:, :2] for p in parts if not p.is_empty]


def _geom_path(g):
    """A matplotlib Path of a (Multi)Polygon with its holes."""
    from matplotlib.path import Path as MplPath

    from optimizer.report.geojson import _rfc7946_orient

    g = _rfc7946_orient(g)
    polys = (
        [g] if g.geom_type == "Polygon" else [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"]
    )
    paths = []
    for p in polys:
        for ring in [p.exterior, *p.interiors]:
            c = np.asarray(ring.coords)
            if len(c) >= 3:
                paths.append(MplPath(c, closed=True))
    return MplPath.make_compound_path(*paths) if paths else None


def _label_points(g, frame: MapFrame) -> list[tuple[float, float]]:
    """Candidate label positions inside a polygon, best first: the visual centre of its largest part (pole of
    inaccessibility, in metric proportions), then interior grid points farthest from the boundary."""
    import shapely
    from shapely import affinity
    from shapely.ops import polylabel

    parts = (
        [g] if g.geom_type == "Polygon" else [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"]
    )
    if not parts:
        p = g.representative_point()
        return [(p.x, p.y)]
    big = affinity.scale(max(parts, key=lambda p: p.area), frame.m_per_x, frame.m_per_y, origin=(0, 0))
    try:
        c = polylabel(big, tolerance=max(big.length / 2000, 1e-9))
    except Exception:  # degenerate polygon
        c = big.representative_point()
    x0, y0, x1, y1 = big.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, 9)[1:-1], np.linspace(y0, y1, 9)[1:-1])
    pts = shapely.points(gx.ravel(), gy.ravel())
    inside = shapely.contains(big, pts)
    pts = pts[inside]
    depth = shapely.distance(big.exterior, pts)
    order = np.argsort(-depth)[:12]
    out = [(c.x, c.y)] + [(pts[i].x, pts[i].y) for i in order]
    return [(x / frame.m_per_x, y / frame.m_per_y) for x, y in out]


def _halo(width: float = 2.5):
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


NODE_LABEL_ORDER = ("airport", "seaport", "port", "border", "exhibition", "rail", "metro", "expressway")
LABEL_PAD_PX = 2.0  # room kept free around every label (its white halo), in pixels
# directions to try a label in, from its point: E, NE, SE, W, NW, SW, N, S
LABEL_DIRECTIONS = np.array([(1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1)], float)
ARROWS = "→↗↑↖←↙↓↘"  # by angle, counter-clockwise from east


@dataclass
class NodeLabel:
    """A transport node's name waiting to be placed beside its marker (or at the map edge, off the map)."""

    node_id: str
    x: float
    y: float
    text: str
    color: str
    size: float
    weight: str
    marker_pt: float  # radius of the node's marker, points
    rank: int


def candidate_boxes(px: float, py: float, w: float, h: float, radii) -> np.ndarray:
    """Boxes (x0, y0, x1, y1) of a w × h label beside the point (px, py), `r` away in each of the eight
    LABEL_DIRECTIONS for each r in `radii` (nearest first)."""
    r = np.repeat(np.asarray(radii, float), len(LABEL_DIRECTIONS))
    ux = np.tile(LABEL_DIRECTIONS[:, 0], len(radii))
    uy = np.tile(LABEL_DIRECTIONS[:, 1], len(radii))
    x0 = np.where(ux > 0, px + r, np.where(ux < 0, px - r - w, px - w / 2))
    y0 = np.where(uy > 0, py + r, np.where(uy < 0, py - r - h, py - h / 2))
    return np.column_stack([x0, y0, x0 + w, y0 + h])


def overlaps(boxes: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """(n, m) whether box i overlaps taken box j (boxes as rows x0, y0, x1, y1)."""
    b, t = np.asarray(boxes, float).reshape(-1, 4), np.asarray(taken, float).reshape(-1, 4)
    return ((b[:, None, 0] < t[None, :, 2]) & (b[:, None, 2] > t[None, :, 0])
            & (b[:, None, 1] < t[None, :, 3]) & (b[:, None, 3] > t[None, :, 1]))


def first_free(boxes: np.ndarray, area, taken: np.ndarray) -> int | None:
    """Index of the first box inside `area` (x0, y0, x1, y1) that overlaps none of `taken`, or None."""
    ok = ((boxes[:, 0] >= area[0]) & (boxes[:, 1] >= area[1]) & (boxes[:, 2] <= area[2])
          & (boxes[:, 3] <= area[3]))
    if len(taken):
        ok &= ~overlaps(boxes, taken).any(axis=1)
    hit = np.flatnonzero(ok)
    return int(hit[0]) if len(hit) else None


def _bbox_row(bb, pad: float = LABEL_PAD_PX) -> list[float]:
    return [bb.x0 - pad, bb.y0 - pad, bb.x1 + pad, bb.y1 + pad]


def fmt_distance(m: float) -> str:
    return f"{m / 1000:,.1f} km" if m >= 950 else f"{max(m, 10.0):,.0f} m"


# ---------------------------------------------------------------------------------------------------------
# Map layers
# ---------------------------------------------------------------------------------------------------------
class MapLayers:
    """Everything a map of the scenario draws, prepared once; `view(extent)` gives the same layers for an inset.

    Labels never overlap: sub-area names, then node names are placed where they cover no label, marker, north
    arrow or scale bar already on the same axes (`place_labels`, after everything else is drawn).
    """

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.frame = map_frame(sc)
        self.shapes = parcel_shapes(sc, self.frame)
        self.basemap = read_layer(sc.basemap_path, "name")
        self.subareas = read_layer(sc.subareas_path, "subarea")
        x0, y0, x1, y1 = self.shapes.bounds
        for _, g, _ in self.subareas:
            b = g.bounds
            x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        pad_x, pad_y = 0.04 * max(x1 - x0, 1e-9), 0.04 * max(y1 - y0, 1e-9)
        pad = max(pad_x * self.frame.m_per_x, pad_y * self.frame.m_per_y)  # same margin in metres both ways
        self.node_labels: list[NodeLabel] = []
        self.area_labels: list = []
        self.obstacles: dict = {}  # axes -> artists that labels must not cover (north arrow, scale bar, names)
        self.markers: dict = {}  # axes -> [(x array, y array, marker radius pt)] of the node markers drawn
        self.extent = (
            x0 - pad / self.frame.m_per_x,
            y0 - pad / self.frame.m_per_y,
            x1 + pad / self.frame.m_per_x,
            y1 + pad / self.frame.m_per_y,
        )

    def view(self, extent) -> MapLayers:
        """The same layers framed on `extent` (x0, y0, x1, y1 in map units), for an inset."""
        v = copy.copy(self)
        v.extent = tuple(float(e) for e in extent)
        v.node_labels, v.area_labels, v.obstacles, v.markers = [], [], {}, {}
        return v

    @property
    def size_m(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.extent
        return (x1 - x0) * self.frame.m_per_x, (y1 - y0) * self.frame.m_per_y

    def map_size_in(self, max_w: float, max_h: float) -> tuple[float, float]:
        w, h = self.size_m
        s = min(max_w / w, max_h / h)
        return w * s, h * s

    @functools.cached_property
    def ring_bounds(self) -> np.ndarray:
        """(n_rings, 4): x0, y0, x1, y1 of each ring of `shapes` in map units."""
        rings = self.shapes.rings
        if not len(rings):
            return np.zeros((0, 4))
        starts = np.r_[0, np.cumsum([len(r) for r in rings])[:-1]]
        c = np.concatenate(rings)
        return np.hstack([np.minimum.reduceat(c, starts), np.maximum.reduceat(c, starts)])

    @functools.cached_property
    def parcel_bounds(self) -> np.ndarray:
        """(n_parcels, 4): x0, y0, x1, y1 of each parcel's outline in map units (NaN without one)."""
        out = np.full((self.sc.n_parcels, 4), np.nan)
        rb, own = self.ring_bounds, self.shapes.owner
        if not len(rb):
            return out
        out[:, :2], out[:, 2:] = np.inf, -np.inf
        for k in range(2):
            np.minimum.at(out[:, k], own, rb[:, k])
            np.maximum.at(out[:, 2 + k], own, rb[:, 2 + k])
        out[~np.isfinite(out)] = np.nan
        return out

    # -- layers ---------------------------------------------------------------------------------------------
    def setup_axes(self, ax) -> None:
        x0, y0, x1, y1 = self.extent
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect(self.frame.aspect, adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(True)
            s.set_color("#9a9a9a")
            s.set_linewidth(0.8)
        ax.set_facecolor(SEA if self.basemap else PLAIN_BACKGROUND)

    def draw_basemap(self, ax, labels: bool = True) -> None:
        """District polygons: land filled light, boundaries grey (the coast shows as the land/sea edge), and
        their names ("English 中文" where the file has `name_zh` and a CJK font is installed)."""
        if not self.basemap:
            return
        from matplotlib.collections import PathCollection

        paths = [p for p in (_geom_path(g) for _, g, _ in self.basemap) if p is not None]
        ax.add_collection(PathCollection(paths, facecolor=LAND, edgecolor="#a29e94", linewidth=0.9, zorder=1))
        if not labels:
            return
        x0, y0, x1, y1 = self.extent
        from shapely.geometry import box

        view = box(x0, y0, x1, y1)
        for name, g, props in self.basemap:
            name = bilingual(safe_text(name).upper(), props.get("name_zh"))
            part = g.intersection(view)
            if not name or part.is_empty or part.area < 0.02 * view.area:
                continue
            p = part.representative_point()
            t = ax.text(p.x, p.y, name, fontsize=8, color="#8d877a", style="italic", ha="center", va="center",
                        zorder=2, alpha=0.9, path_effects=_halo(2))
            self.obstacles.setdefault(ax, []).append(t)

    def draw_parcels(
        self, ax, colors: np.ndarray, edge: str = "none", lw: float = 0.0, zorder: float = 3, **kw
    ):
        """All parcels in view in one PolyCollection; `colors` holds one RGBA row per parcel."""
        from matplotlib.collections import PolyCollection

        rb, (x0, y0, x1, y1) = self.ring_bounds, self.extent
        keep = np.flatnonzero((rb[:, 2] >= x0) & (rb[:, 0] <= x1) & (rb[:, 3] >= y0) & (rb[:, 1] <= y1))
        rings = self.shapes.rings if len(keep) == len(rb) else [self.shapes.rings[i] for i in keep]
        fc = colors[self.shapes.owner[keep]] if len(keep) else colors[:0]
        pc = PolyCollection(rings, facecolors=fc, edgecolors=edge, linewidths=lw, zorder=zorder, **kw)
        ax.add_collection(pc)
        return pc

    def _taken(self, ax, renderer, fixed=()) -> np.ndarray:
        """Boxes (display pixels, padded) that a new label must not cover on `ax`."""
        rows = [_bbox_row(a.get_window_extent(renderer)) for a in [*fixed, *self.obstacles.get(ax, [])]
                if a.get_figure() is not None]
        px = ax.figure.dpi / 72
        for xs, ys, r_pt in self.markers.get(ax, []):
            if len(xs):
                p = ax.transData.transform(np.column_stack([xs, ys]))
                r = r_pt * px
                rows += np.column_stack([p[:, 0] - r, p[:, 1] - r, p[:, 0] + r, p[:, 1] + r]).tolist()
        return np.array(rows, float).reshape(-1, 4)

    def draw_subareas(self, ax, labels: bool = True, names: dict | None = None, required: bool = True) -> None:
        """Sub-area outlines (from the sub-area file) with labels; labels only without a file.

        Each label goes to the first of its candidate spots (the visual centre of the part in view, then deep
        interior points) that stays inside the axes and covers no label or marker already there; when none
        does, a `required` label takes the least crowded spot and any other is left out (an inset's labels
        repeat the main map's)."""
        from matplotlib.collections import LineCollection
        from shapely.geometry import Point, box

        view = box(*self.extent)
        if self.subareas:
            ax.add_collection(
                LineCollection(
                    subarea_lines([g for _, g, _ in self.subareas]),
                    colors="#404040",
                    linewidths=1.1,
                    linestyles=SUBAREA_DASH,
                    zorder=5,
                )
            )
            spots = []
            for sid, g, props in self.subareas:
                part = g if g.within(view) else g.intersection(view)
                if not part.is_empty and part.area > 0:
                    spots.append((sid, _label_points(part, self.frame), props.get("name_zh")))
        else:
            par = self.sc.parcels
            w = par["area_m2"].to_numpy(float)
            ok = np.isfinite(par["x"].to_numpy(float)) & np.isfinite(par["y"].to_numpy(float))
            spots = []
            for sid, grp in par[ok].groupby("subarea", sort=False):
                ww = w[grp.index]
                xy = (float(np.average(grp["x"], weights=ww)), float(np.average(grp["y"], weights=ww)))
                if view.contains(Point(*xy)):
                    spots.append((sid, [xy], None))
        if not labels:
            return
        names = names or {}
        renderer = ax.figure.canvas.get_renderer()
        ax.apply_aspect()
        axb = ax.get_window_extent(renderer)
        area = (axb.x0 + 1, axb.y0 + 1, axb.x1 - 1, axb.y1 - 1)
        taken = self._taken(ax, renderer)
        for sid, candidates, zh in spots:
            label = wrap_label(names.get(sid, sid), name_zh=zh)
            if not label:
                continue
            t = ax.text(candidates[0][0], candidates[0][1], label, fontsize=7.5, fontweight="bold",
                        color="#222222", ha="center", va="center", zorder=9, linespacing=1.0,
                        path_effects=_halo(2.6))
            bb = t.get_window_extent(renderer)
            p = ax.transData.transform(np.asarray(candidates, float))
            hw, hh = bb.width / 2 + LABEL_PAD_PX, bb.height / 2 + LABEL_PAD_PX
            boxes = np.column_stack([p[:, 0] - hw, p[:, 1] - hh, p[:, 0] + hw, p[:, 1] + hh])
            i = first_free(boxes, area, taken)
            if i is None and required:
                crowd = overlaps(boxes, taken).sum(axis=1) if len(taken) else np.zeros(len(boxes))
                inside = ((boxes[:, 0] >= area[0]) & (boxes[:, 2] <= area[2]) & (boxes[:, 1] >= area[1])
                          & (boxes[:, 3] <= area[3]))
                i = int(np.lexsort((crowd, ~inside))[0])
            if i is None:
                t.remove()
                continue
            t.set_position(candidates[i])
            t.set_gid(f"subarea:{sid}")
            taken = np.vstack([taken, boxes[i]])
            self.area_labels.append(t)

    def draw_network(
        self,
        ax,
        node_types: list[str] | None = None,
        labels: bool = True,
        faint: bool = False,
        edges: bool = True,
        skip=None,
        offmap: bool = True,
    ) -> tuple[list, list]:
        """Corridors (edges) as lines and nodes by type; returns legend handles and labels.

        With `labels`, every named node is queued for `place_labels` ("English 中文" with `name_zh` and a CJK
        font): those in view beside their marker, those outside it (with `offmap`) at the map edge with an
        arrow and the distance; nodes inside the `skip` box (x0, y0, x1, y1: an inset's window) are left to
        the inset."""
        net = self.sc.network
        if net is None:
            return [], []
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        nodes = net.nodes
        xy = dict(
            zip(
                nodes["node_id"],
                zip(nodes["x"].astype(float), nodes["y"].astype(float), strict=True),
                strict=True,
            )
        )
        handles, texts = [], []
        if edges and len(net.edges):
            e = net.edges
            segs = np.array(
                [[xy[a], xy[b]] for a, b in zip(e["from_node"], e["to_node"], strict=True)], dtype=float
            )
            mode, planned = corridor_modes(e, nodes)
            for m, (_, color, lw, label) in CORRIDOR_MODES.items():
                for is_planned in (False, True):
                    sel = (mode == m) & (planned == is_planned)
                    if not sel.any():
                        continue
                    ax.add_collection(
                        LineCollection(
                            segs[sel],
                            colors=color,
                            linewidths=lw * (0.7 if faint else 1.0),
                            alpha=0.4 if faint else 0.9,
                            zorder=6 if m != "other" else 5.5,
                            capstyle="round",
                            linestyles=(0, (3, 1.5)) if is_planned else "solid",
                        )
                    )
                if (mode == m).any() and not faint:
                    handles.append(Line2D([], [], color=color, lw=lw))
                    texts.append(label)
            if planned.any() and not faint:
                handles.append(Line2D([], [], color="#555555", lw=1.4, ls=(0, (3, 1.5))))
                texts.append("planned link (dashed)")
        types = node_types if node_types is not None else _ordered_types(nodes["type"])
        other = iter(OTHER_MARKERS * 4)
        x0, y0, x1, y1 = self.extent
        zh = nodes["name_zh"] if "name_zh" in nodes.columns else pd.Series([""] * len(nodes), index=nodes.index)
        for t in types:
            sel = nodes[nodes["type"] == t]
            if sel.empty:
                continue
            marker, size, color = NODE_STYLE.get(t, (next(other, "o"), 60, "#3d3d3d"))
            sx, sy = sel["x"].to_numpy(float), sel["y"].to_numpy(float)
            ax.scatter(sx, sy, marker=marker, s=size, c=color, edgecolors="white", linewidths=0.7,
                       zorder=8 if t != "junction" else 7)
            r_pt = math.sqrt(size) / 2 + 0.35
            shown = (sx >= x0) & (sx <= x1) & (sy >= y0) & (sy <= y1)
            self.markers.setdefault(ax, []).append((sx[shown], sy[shown], r_pt))
            if t != "junction" or node_types is not None:
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker=marker,
                        ls="",
                        markerfacecolor=color,
                        markeredgecolor="white",
                        markersize=math.sqrt(size) * 0.9,
                    )
                )
                texts.append(f"{t} ({len(sel)})")
            if not labels:
                continue
            rank = NODE_LABEL_ORDER.index(t) if t in NODE_LABEL_ORDER else len(NODE_LABEL_ORDER)
            rank += 1 if t == "junction" else 0
            major = t in MAJOR_NODE_TYPES
            for k, (nid, name) in enumerate(zip(sel["node_id"], sel["name"], strict=True)):
                text = bilingual(short_name(name), zh.loc[sel.index[k]])
                if not text:
                    continue
                if skip is not None and skip[0] <= sx[k] <= skip[2] and skip[1] <= sy[k] <= skip[3]:
                    continue
                if not shown[k] and not offmap:
                    continue
                self.node_labels.append(NodeLabel(
                    str(nid), float(sx[k]), float(sy[k]), text,
                    "#555555" if t == "junction" else color, 7.0 if major else 6.5 if t != "junction" else 6.0,
                    "normal" if t == "junction" else "bold", r_pt, rank))
        return handles, texts

    def place_labels(self, ax, fixed: list | None = None) -> None:
        """Place the queued node names: each beside its marker in the first of eight directions, at growing
        distances (a thin leader line beyond the second), that stays inside the axes and covers no label,
        marker, north arrow or scale bar; a node off the map gets its name at the map edge towards it. The
        most important node types go first; a name that finds no free spot is left out rather than overlap."""
        from matplotlib.lines import Line2D

        labels, self.node_labels = self.node_labels, []
        if not labels:
            return
        fig = ax.figure
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()
        axb = ax.get_window_extent(renderer)
        area = (axb.x0 + 1, axb.y0 + 1, axb.x1 - 1, axb.y1 - 1)
        taken = self._taken(ax, renderer, fixed or [])
        px, pad = fig.dpi / 72, LABEL_PAD_PX
        to_data = ax.transData.inverted().transform
        for lab in sorted(labels, key=lambda r: (r.rank, r.text)):
            p = ax.transData.transform((lab.x, lab.y))
            inside = axb.x0 <= p[0] <= axb.x1 and axb.y0 <= p[1] <= axb.y1
            text = lab.text
            if not inside:
                c = np.array([(axb.x0 + axb.x1) / 2, (axb.y0 + axb.y1) / 2])
                v = p - c
                lim = np.where(v > 0, [area[2], area[3]], [area[0], area[1]])
                with np.errstate(divide="ignore", invalid="ignore"):
                    tt = np.where(v != 0, (lim - c) / v, np.inf)
                edge = c + min(tt.min(), 1.0) * v
                ex, ey = to_data(edge)
                dist = math.hypot((lab.x - ex) * self.frame.m_per_x, (lab.y - ey) * self.frame.m_per_y)
                arrow = ARROWS[round(math.atan2(v[1], v[0]) / (math.pi / 4)) % 8]
                text = f"{text} {arrow} {fmt_distance(dist)}"
            t = ax.text(lab.x, lab.y, text, fontsize=lab.size, color=lab.color, fontweight=lab.weight,
                        ha="left", va="bottom", zorder=10, path_effects=_halo(2.2))
            bb = t.get_window_extent(renderer)
            w, h = bb.width + 2 * pad, bb.height + 2 * pad
            if inside:
                r0 = (lab.marker_pt + 1.5) * px
                steps = np.array([0.0, 5.0, 12.0, 22.0, 36.0]) * px
                boxes = candidate_boxes(p[0], p[1], w, h, r0 + steps)
            else:  # along the map edge, nearest the direction of the node first
                tangent = np.array([-v[1], v[0]]) / max(float(np.hypot(*v)), 1e-9)
                shifts = np.array([0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8]) * h
                boxes = np.vstack([candidate_boxes(*(edge + s * tangent), w, h, [1.0]) for s in shifts])
            i = first_free(boxes, area, taken)
            if i is None:
                t.remove()
                continue
            b = boxes[i]
            taken = np.vstack([taken, b])
            t.set_position(to_data((b[0] + pad, b[1] + pad)))
            t.set_gid(f"node:{lab.node_id}")
            if inside and i >= 2 * len(LABEL_DIRECTIONS):  # far from its marker: a leader line
                q = np.clip(p, [b[0] + pad, b[1] + pad], [b[2] - pad, b[3] - pad])
                d = float(np.hypot(*(q - p)))
                start = p + (q - p) * min(lab.marker_pt * px / max(d, 1e-9), 1.0)
                (sx0, sy0), (sx1, sy1) = to_data(start), to_data(q)
                ax.add_line(Line2D([sx0, sx1], [sy0, sy1], lw=0.6, color=lab.color, alpha=0.8, zorder=9.5,
                                   solid_capstyle="round"))

    def draw_north_arrow(self, ax, x: float = 0.95, y: float = 0.95) -> None:
        a = ax.annotate(
            "N",
            xy=(x, y),
            xytext=(0, -34),
            xycoords="axes fraction",
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=11,
            fontweight="bold",
            color=INK,
            zorder=12,
            path_effects=_halo(2.5),
            arrowprops=dict(facecolor=INK, edgecolor="white", width=3.5, headwidth=11, headlength=10),
        )
        self.obstacles.setdefault(ax, []).append(a)

    def scale_bar_corner(self, box_w: float, box_h: float) -> tuple[float, float]:
        """Where the scale bar starts: the bottom corner (left, then right), else the top left, whose box covers
        the least parcel area (the north arrow holds the top right)."""
        x0, y0, x1, y1 = self.extent
        W, H = x1 - x0, y1 - y0
        fx = np.linspace(0.05, max(0.05, 0.97 - box_w / W), 7)
        fy = np.linspace(0.045, max(0.045, 0.95 - box_h / H), 7)
        spots = [(x0 + a * W, y0 + b * H) for b in fy for a in fx
                 if a in (fx[0], fx[-1]) or b in (fy[0], fy[-1])]  # along the map's edges
        spots = [p for p in spots if not (p[0] + box_w > x0 + 0.85 * W and p[1] + box_h > y0 + 0.8 * H)]
        rings = self.shapes.rings
        if not len(rings):
            return spots[0]
        bb = np.array([[r[:, 0].min(), r[:, 1].min(), r[:, 0].max(), r[:, 1].max()] for r in rings])

        def covered(bx: float, by: float) -> float:
            lx, ly = bx - 0.02 * W, by - 0.018 * H
            dx = np.clip(np.minimum(bb[:, 2], lx + box_w) - np.maximum(bb[:, 0], lx), 0, None)
            dy = np.clip(np.minimum(bb[:, 3], ly + box_h) - np.maximum(bb[:, 1], ly), 0, None)
            return float((dx * dy).sum())

        cover = np.array([covered(*p) for p in spots])
        if cover[0] <= 0:
            return spots[0]  # lower left when it is free
        return spots[int(np.argmin(cover))]

    def draw_parcel_ids(self, ax, max_parcels: int = 40) -> None:
        """Each parcel's id at its centre, on small scenarios (up to `max_parcels`)."""
        ids = self.sc.parcels["parcel_id"].astype(str).to_numpy()
        zh = self.sc.parcels["name_zh"].to_numpy() if "name_zh" in self.sc.parcels else [""] * len(ids)
        if not 0 < len(ids) <= max_parcels or not len(self.shapes.rings):
            return
        done = set()
        for ring, k in zip(self.shapes.rings, self.shapes.owner, strict=True):
            if k in done:
                continue
            done.add(k)
            cx, cy = ring[:-1].mean(axis=0) if len(ring) > 1 else ring[0]
            t = ax.text(cx, cy, bilingual(ids[k], zh[k]), ha="center", va="center", fontsize=9,
                        fontweight="bold", color=INK, zorder=9, path_effects=_halo(2.5))
            self.obstacles.setdefault(ax, []).append(t)

    def draw_scale_bar(self, ax, fraction: float = 0.22) -> None:
        """Scale bar in km (m below 1 km), sized to about `fraction` of the map's width, in the free corner."""
        from matplotlib.patches import Rectangle

        x0, y0, x1, y1 = self.extent
        width_m = (x1 - x0) * self.frame.m_per_x
        target = max(width_m * fraction, 1e-6)
        exp = 10 ** math.floor(math.log10(target))
        nice = max(m * exp for m in (1, 2, 5) if m * exp <= target)
        h = 0.012 * (y1 - y0)
        seg = nice / 2 / self.frame.m_per_x
        W, H = x1 - x0, y1 - y0
        bx, by = self.scale_bar_corner(2 * seg + 0.07 * W, 0.07 * H)
        back = ax.add_patch(
            Rectangle(
                (bx - 0.02 * W, by - 0.018 * H),
                2 * seg + 0.07 * W,
                0.07 * H,
                facecolor="white",
                edgecolor="none",
                alpha=0.8,
                zorder=11,
            )
        )
        self.obstacles.setdefault(ax, []).append(back)
        for i, color in enumerate((INK, "white")):
            ax.add_patch(
                Rectangle(
                    (bx + i * seg, by), seg, h, facecolor=color, edgecolor=INK, linewidth=0.8, zorder=12
                )
            )
        unit, div = ("km", 1000.0) if nice >= 1000 else ("m", 1.0)
        figures = []
        for i in range(3):
            v = i * nice / 2 / div
            lab = f"{v:g}" + (f" {unit}" if i == 2 else "")
            figures.append(ax.text(
                bx + i * seg, by + h * 1.6, lab, ha="center", va="bottom", fontsize=7.5, color=INK, zorder=12
            ))
        renderer = ax.figure.canvas.get_renderer()
        ax.apply_aspect()
        mid = figures[1].get_window_extent(renderer).expanded(1.2, 1.0)
        if any(mid.overlaps(t.get_window_extent(renderer)) for t in (figures[0], figures[2])):
            figures[1].remove()  # the middle figure only where there is room


def corridor_modes(edges: pd.DataFrame, nodes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Mode of each edge (metro, rail, expressway, road, other) from keywords of its corridor name, else from
    the types of its end nodes; and whether the corridor is marked planned."""
    name = (
        edges["corridor"].astype(str).str.lower()
        if "corridor" in edges.columns
        else pd.Series([""] * len(edges), index=edges.index)
    ).to_numpy()
    ntype = dict(zip(nodes["node_id"], nodes["type"].astype(str), strict=True))
    mode = np.empty(len(edges), dtype=object)
    for i, (n, a, b) in enumerate(zip(name, edges["from_node"], edges["to_node"], strict=True)):
        m = next((k for k, (words, *_) in CORRIDOR_MODES.items() if any(w in n for w in words)), None)
        if m is None:
            ta, tb = ntype.get(a), ntype.get(b)
            m = ta if ta == tb and ta in ("metro", "rail", "expressway") else "other"
        mode[i] = m
    planned = np.array(["planned" in n or "proposed" in n for n in name], dtype=bool)
    return mode, planned


def short_name(name) -> str:
    """A map label: the name without its bracketed remark, drawable with the available fonts."""
    s = safe_text(name)
    short = s.split(" (")[0].strip()
    return short or s


def wrap_label(name: str, width: int = 16, max_len: int = 26, name_zh=None) -> str:
    """A place label in lines of about `width` characters (a long name loses its bracketed remark), with the
    Chinese name after the English one when it can be drawn."""
    import textwrap

    s = safe_text(name)
    if len(s) > max_len and " (" in s:
        s = s.split(" (")[0]
    lines = textwrap.wrap(s, width, break_long_words=False, break_on_hyphens=False) or ([s] if s else [])
    zh = drawable_zh(name_zh)
    if zh and zh not in s:
        if lines and len(lines[-1]) + 1 + 2 * len(zh) <= width + 4:  # a CJK character is about two wide
            lines[-1] += " " + zh
        else:
            lines.append(zh)
    return "\n".join(lines)


def _ordered_types(types: pd.Series) -> list[str]:
    """Node types, big ones drawn last (on top)."""
    uniq = list(dict.fromkeys(types.astype(str)))
    order = ["junction", "expressway", "metro", "rail", "border", "exhibition", "seaport", "port", "airport"]
    return sorted(uniq, key=lambda t: (order.index(t) if t in order else 4.5, t))


def subarea_names(layers: MapLayers) -> dict[str, str]:
    """Display names of sub-areas: the `name` property of the sub-area file, else the id."""
    return {sid: str(props.get("name", "") or "") or sid for sid, _, props in layers.subareas}


# ---------------------------------------------------------------------------------------------------------
# The dense core: an inset where the plan's floor is concentrated
# ---------------------------------------------------------------------------------------------------------
INSET_EDGE = "#1a1a1a"
INSET_MIN_ZONE_M = 3000.0  # a zone narrower than this reads on one map at its own scale
INSET_MIN_SHARE = 0.15  # the window holds at least this share of the plan's floor
INSET_MIN_DENSITY = 3.0  # ... on a window at least this many times denser than the map as a whole
INSET_MIN_PARCELS = 5
INSET_MIN_ZOOM, INSET_SEARCH_ZOOM, INSET_MAX_ZOOM = 2.0, 4.0, 8.0
INSET_READABLE_PT = 12.0  # developed parcels this wide on the main map need no magnifying


@dataclass(frozen=True)
class DenseCore:
    """The inset's window (map units) and what it holds."""

    extent: tuple[float, float, float, float]
    floor_share: float
    parcels: int
    parcels_developed: int
    zoom: float


def dense_core(layers: MapLayers, table: pd.DataFrame, map_w_in: float, slot_w_in: float,
               slot_h_in: float) -> DenseCore | None:
    """Where the plan's developed floor is densest, as a window of the inset's shape (slot_w_in × slot_h_in
    inches next to a main map map_w_in wide), or None when an inset would not help.

    The window is found from the data: developed floor area weighted by its FAR (so that tall, tightly packed
    floor counts more than a low sprawling site of the same floor) summed on a grid of quarter-window cells,
    the window (4 × 4 cells, at INSET_SEARCH_ZOOM × the main map's scale) with the highest sum, then tightened
    to the outlines of its developed parcels. It is kept only when the plan is uneven enough to need it: the zone is
    at least INSET_MIN_ZONE_M wide, the window holds at least INSET_MIN_SHARE of the floor and
    INSET_MIN_PARCELS developed parcels on an area at least INSET_MIN_DENSITY times denser than the map, shows
    them at least INSET_MIN_ZOOM × larger, and they are smaller than INSET_READABLE_PT on the main map."""
    if not len(table) or not table["developed"].any() or min(slot_w_in, slot_h_in) <= 0:
        return None
    fr = layers.frame
    W, H = layers.size_m
    if max(W, H) < INSET_MIN_ZONE_M:
        return None
    floor = table["floor_area_m2"].to_numpy(float)
    x, y = table["x"].to_numpy(float) * fr.m_per_x, table["y"].to_numpy(float) * fr.m_per_y
    dev = table["developed"].to_numpy(bool) & np.isfinite(x) & np.isfinite(y) & (floor > 0)
    if dev.sum() < INSET_MIN_PARCELS:
        return None
    in_per_m = map_w_in / W
    aspect = slot_h_in / slot_w_in
    sw = slot_w_in / (INSET_SEARCH_ZOOM * in_per_m)
    sh = sw * aspect
    ex0, ey0 = layers.extent[0] * fr.m_per_x, layers.extent[1] * fr.m_per_y
    cx, cy = sw / 4, sh / 4
    nx, ny = max(int(math.ceil(W / cx)), 4), max(int(math.ceil(H / cy)), 4)
    far = table["far"].to_numpy(float)
    grid, _, _ = np.histogram2d(x[dev] - ex0, y[dev] - ey0, bins=[nx, ny], range=[[0, nx * cx], [0, ny * cy]],
                                weights=floor[dev] * far[dev])
    s = np.pad(grid.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    win = s[4:, 4:] - s[:-4, 4:] - s[4:, :-4] + s[:-4, :-4]  # floor in every 4 × 4-cell window
    i, j = np.unravel_index(int(np.argmax(win)), win.shape)
    wx0, wy0 = ex0 + i * cx, ey0 + j * cy
    inside = dev & (x >= wx0) & (x <= wx0 + sw) & (y >= wy0) & (y <= wy0 + sh)
    b = layers.parcel_bounds[inside] * [fr.m_per_x, fr.m_per_y, fr.m_per_x, fr.m_per_y]
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return None
    bx0, by0, bx1, by1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad = 0.06 * max(bx1 - bx0, by1 - by0)
    w = max(bx1 - bx0 + 2 * pad, (by1 - by0 + 2 * pad) / aspect, slot_w_in / (INSET_MAX_ZOOM * in_per_m))
    h = w * aspect
    wx0, wy0 = (bx0 + bx1 - w) / 2, (by0 + by1 - h) / 2
    inside = dev & (x >= wx0) & (x <= wx0 + w) & (y >= wy0) & (y <= wy0 + h)
    share = float(floor[inside].sum() / floor[dev].sum())
    density = share / max(w * h / (W * H), 1e-12)
    zoom = slot_w_in / (w * in_per_m)
    width_pt = float(np.median(np.sqrt(table["area_m2"].to_numpy(float)[inside]))) * in_per_m * 72 \
        if inside.any() else 0.0
    if (zoom < INSET_MIN_ZOOM or inside.sum() < INSET_MIN_PARCELS or share < INSET_MIN_SHARE
            or density < INSET_MIN_DENSITY or width_pt > INSET_READABLE_PT):
        return None
    extent = (wx0 / fr.m_per_x, wy0 / fr.m_per_y, (wx0 + w) / fr.m_per_x, (wy0 + h) / fr.m_per_y)
    return DenseCore(extent, share, int(inside.sum()), int(dev.sum()), float(zoom))


def draw_inset(fig, layers: MapLayers, core: DenseCore, rgba: np.ndarray, rect, main_ax) -> None:
    """The dense core magnified on its own axes (parcels, sub-areas, network with the names of the nodes in it,
    scale bar) and its window outlined on the main map."""
    from matplotlib.patches import Rectangle

    ax = fig.add_axes(rect)
    v = layers.view(core.extent)
    v.setup_axes(ax)
    for sp in ax.spines.values():
        sp.set_color(INSET_EDGE)
        sp.set_linewidth(1.5)
    v.draw_basemap(ax, labels=False)
    v.draw_parcels(ax, rgba, edge="white", lw=0.35)
    v.draw_scale_bar(ax, fraction=0.25)
    v.draw_subareas(ax, names=subarea_names(layers), required=False)
    v.draw_network(ax, offmap=False)
    v.place_labels(ax, fixed=v.area_labels)
    ax.set_title(f"Dense core, {core.zoom:.1f}× the map (boxed on it)\n{core.floor_share:.0%} of the floor area: "
                 f"{core.parcels} of {core.parcels_developed:,} developed parcels", loc="left", fontsize=9,
                 fontweight="bold", linespacing=1.3)
    x0, y0, x1, y1 = core.extent
    for color, lw in (("white", 3.2), (INSET_EDGE, 1.5)):
        box = main_ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor=color,
                                          linewidth=lw, zorder=8.5))
    box.set_gid("dense-core")
    layers.obstacles.setdefault(main_ax, []).append(box)  # the main map's names stay out of the window


# ---------------------------------------------------------------------------------------------------------
# The plan map
# ---------------------------------------------------------------------------------------------------------
def industry_rgba(sc: Scenario, industry_ids) -> np.ndarray:
    """One RGBA row per parcel: its industry's colour, UNDEVELOPED where it has none."""
    from matplotlib.colors import to_rgba_array

    colors = industry_colors(sc)
    keys = list(colors)
    table = to_rgba_array([colors[k] for k in keys] + [UNDEVELOPED])
    idx = pd.Series(industry_ids, dtype=object).map({k: i for i, k in enumerate(keys)})
    return table[idx.fillna(len(keys)).to_numpy(int)]


def plan_map(result: RunResult, layers: MapLayers | None = None):
    """The plan map as a matplotlib Figure: parcels by industry, sub-areas, basemap, network with every named
    node labelled once, legend, north arrow, scale bar, title with the headline KPI; a density (FAR) panel and,
    when the plan is concentrated, an inset of the dense core (`dense_core`)."""
    import textwrap

    from matplotlib.patches import Patch

    sc = result.scenario
    layers = layers or MapLayers(sc)
    colors = industry_colors(sc)
    table = parcel_table(result)
    rgba = industry_rgba(sc, table["industry_id"]) if len(table) else np.zeros((0, 4))
    names = dict(zip(sc.industries["industry_id"], sc.industries["name"], strict=True))
    names_zh = dict(zip(sc.industries["industry_id"], sc.industries["name_zh"], strict=True)) \
        if "name_zh" in sc.industries.columns else {}

    def legend_name(k) -> str:
        en = textwrap.shorten(safe_text(names.get(k, k)) or str(k), 40, placeholder="…")
        return bilingual(en, names_zh.get(k))

    map_w, map_h = layers.map_size_in(9.5, 10.5)
    fig_h = map_h + 0.9
    far_w = 0.5 * map_w if len(table) and table["developed"].any() else 0.0
    longest = max((len(legend_name(k)) + sum(ord(c) > 0x2E80 for c in legend_name(k))  # CJK: two wide
                   for k in sc.industries["industry_id"]), default=20)
    leg_w = min(max(3.4, 0.075 * (longest + 14) + 0.6), 5.6)  # the legend column: name, "  (0.00 km²)", patch
    fig_w = map_w + leg_w + (far_w + 0.3 if far_w else 0.0)
    core, inset_rect = None, None
    if far_w:
        far_h = far_w * map_h / map_w
        slot_w, slot_h = far_w, map_h - far_h - 1.35  # below the FAR panel, its colour bar and the inset title
        stacked = slot_h >= 2.2
        if not stacked:  # a wide map: the inset gets a column of its own
            slot_w, slot_h = min(far_w, 0.8 * map_h), map_h - 0.6
        core = dense_core(layers, table, map_w, slot_w, slot_h)
        if core is not None:
            x_in = map_w + leg_w if stacked else fig_w
            if not stacked:
                fig_w += slot_w + 0.3
            inset_rect = (x_in / fig_w, 0.2 / fig_h, slot_w / fig_w, slot_h / fig_h)
    fig = new_figure(fig_w, fig_h)
    ax = fig.add_axes((0.2 / fig_w, 0.2 / fig_h, map_w / fig_w, map_h / fig_h))
    if far_w:
        far_panel(fig, layers, table, ((map_w + leg_w) / fig_w, (0.2 + map_h - far_h) / fig_h,
                                       far_w / fig_w, far_h / fig_h))
    layers.setup_axes(ax)
    layers.draw_basemap(ax)
    layers.draw_parcels(
        ax, rgba, edge="white" if len(table) <= 600 else "none", lw=0.3 if len(table) <= 600 else 0
    )
    layers.draw_parcel_ids(ax)
    layers.draw_north_arrow(ax)
    layers.draw_scale_bar(ax)
    layers.draw_subareas(ax, names=subarea_names(layers))
    net_h, net_l = layers.draw_network(ax, skip=core.extent if core is not None else None)
    if core is not None:
        draw_inset(fig, layers, core, rgba, inset_rect, ax)

    # legends outside the map, right
    used = set(table["industry_id"].dropna().unique()) if len(table) else set()
    land = (
        table[table["developed"]].groupby("industry_id")["area_m2"].sum()
        if len(table)
        else pd.Series(dtype=float)
    )
    ind_h, ind_l = [], []
    for k in sc.industries["industry_id"]:
        if k in used:
            ind_h.append(Patch(facecolor=colors[k], edgecolor="none"))
            ind_l.append(f"{legend_name(k)}  ({land.get(k, 0.0) / 1e6:,.2f} km²)")
    ind_h.append(Patch(facecolor=UNDEVELOPED, edgecolor="none"))
    undeveloped_m2 = float(table.loc[~table["developed"], "area_m2"].sum()) if len(table) else 0.0
    ind_l.append(f"not developed  ({undeveloped_m2 / 1e6:,.2f} km²)")
    leg1 = ax.legend(
        ind_h,
        ind_l,
        title="Industry (land)",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        title_fontsize=9,
        alignment="left",
        handlelength=1.4,
    )
    ax.add_artist(leg1)
    leg1.set_clip_on(False)  # else add_artist clips it to the axes and savefig(bbox_inches="tight") drops it
    extra_h, extra_l = [], []
    if layers.subareas:
        from matplotlib.lines import Line2D

        extra_h.append(Line2D([], [], color="#404040", lw=1.1, ls=SUBAREA_DASH))
        extra_l.append("sub-area")
    if core is not None:
        extra_h.append(Patch(facecolor="none", edgecolor=INSET_EDGE, linewidth=1.5))
        extra_l.append("dense core (inset)")
    if layers.basemap:
        extra_h.append(Patch(facecolor=LAND, edgecolor="#a29e94"))
        extra_l.append("district (land)")
        extra_h.append(Patch(facecolor=SEA, edgecolor="none"))
        extra_l.append("water")
    if net_h or extra_h:
        ax.legend(
            net_h + extra_h,
            net_l + extra_l,
            title="Transport and boundaries",
            loc="lower left",
            bbox_to_anchor=(1.02, 0.0),
            fontsize=8,
            title_fontsize=9,
            alignment="left",
            handlelength=1.6,
        )
    layers.place_labels(ax, fixed=layers.area_labels)
    ax.set_title(f"{safe_text(sc.name) or 'scenario'}: land-use plan", loc="left", pad=20, fontsize=13)
    ax.text(
        0.0,
        1.012,
        safe_text(headline(result)),
        transform=ax.transAxes,
        fontsize=9,
        color="#444444",
        va="bottom",
        ha="left",
    )
    return fig


def far_bands(far_max: float) -> np.ndarray:
    """FAR class edges: 0, 1, 2, 3, 4, 6, 8, 10, 15 ... up to the highest FAR."""
    edges = [0.0, 1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 50]
    top = max(float(far_max), 1.0)
    return np.array([e for e in edges if e < top] + [next((e for e in edges if e >= top), top)])


def far_panel(fig, layers: MapLayers, table: pd.DataFrame, rect) -> None:
    """A small map of density: developed parcels by FAR (floor area / parcel area), the rest grey."""
    import matplotlib
    from matplotlib.colors import BoundaryNorm, to_rgba

    ax = fig.add_axes(rect)
    layers.setup_axes(ax)
    far = table["far"].to_numpy(float)
    dev = table["developed"].to_numpy(bool) & (far > 0)
    bands = far_bands(float(far[dev].max()) if dev.any() else 1.0)
    cmap = matplotlib.colormaps["YlOrRd"]
    norm = BoundaryNorm(bands, cmap.N)
    rgba = cmap(norm(np.where(dev, far, bands[0])))
    rgba[~dev] = to_rgba(UNDEVELOPED)
    layers.draw_basemap(ax, labels=False)
    layers.draw_parcels(ax, rgba)
    ax.set_title("Density: FAR of each developed parcel", loc="left", fontsize=10)
    fh = fig.get_figheight()
    cax = fig.add_axes((rect[0] + 0.05 * rect[2], rect[1] - 0.45 / fh, 0.9 * rect[2], 0.13 / fh))
    cb = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal",
                      ticks=bands)
    cb.ax.set_xticklabels([f"{v:g}" for v in bands])
    cb.ax.tick_params(labelsize=7.5)
    cb.set_label("FAR = floor area / parcel area (grey: not developed)", fontsize=8)


def write_map(result: RunResult, folder: Path) -> None:
    """map.png: the plan map (parcels grey with a 'no plan' title when there is no plan)."""
    with figure_style():
        fig = plan_map(result)
        save_figure(fig, Path(folder) / "map.png")


# ---------------------------------------------------------------------------------------------------------
# The access map
# ---------------------------------------------------------------------------------------------------------
def access_types(sc: Scenario, n: int = 3) -> list[str]:
    """Up to n node types to map travel time to: metro, airport, seaport first, then rule types, then others."""
    if sc.access is None or sc.network is None:
        return []
    have = [t for t in sc.access.columns if t != "junction"]
    ruled = [r.node_type for r in sc.rules.access_rules]
    order = [t for t in ACCESS_PRIORITY[:3] if t in have]
    order += [t for t in dict.fromkeys(ruled) if t in have and t not in order]
    order += [t for t in ACCESS_PRIORITY[3:] if t in have and t not in order]
    order += sorted(t for t in have if t not in order)
    return order[:n]


def access_bands(sc: Scenario, types: list[str]) -> np.ndarray:
    """One set of band edges (minutes) for every panel: the access rules' limits, filled with round steps up to
    the longest finite time shown (round steps within 2 minutes of a limit are dropped)."""
    limits = sorted({float(r.max_minutes) for r in sc.rules.access_rules
                     if r.node_type in types and np.isfinite(r.max_minutes) and r.max_minutes > 0})
    vals = np.concatenate([sc.access[t].to_numpy(float) for t in types]) if types else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    top = max(float(vals.max()) if len(vals) else 1.0, max(limits, default=0.0), 1.0)
    steps = time_bands(top)
    edges = [0.0, *limits]
    edges += [float(v) for v in steps[1:] if all(abs(v - lim) >= 2 for lim in limits)]
    return np.array(sorted(set(edges)))


def eligible_for_rules(result: RunResult, node_type: str) -> np.ndarray:
    """Per parcel: can it host an industry whose access rule names this node type (zone and time limit met)?"""
    sc = result.scenario
    inds = {r.industry for r in sc.rules.access_rules if r.node_type == node_type and np.isfinite(r.max_minutes)}
    out = np.zeros(sc.n_parcels, bool)
    if not inds:
        return out
    if result.bundle is not None:
        pairs = result.bundle.pairs
    else:
        from optimizer.model import eligible_pairs

        pairs = eligible_pairs(sc)
    ids = sc.industries["industry_id"].to_numpy()
    hit = np.isin(ids[pairs.industry], list(inds))
    out[pairs.parcel[hit]] = True
    return out


def access_map(result: RunResult, layers: MapLayers | None = None):
    """Travel time from each parcel to the nearest node of up to three key types, one panel each, on one time
    scale whose breaks include the access rules' limits; parcels that can host a ruled industry are outlined.
    None without a network."""
    sc = result.scenario
    types = access_types(sc)
    if not types:
        return None
    import matplotlib
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import BoundaryNorm

    from optimizer.report.html import display_names, humanize

    layers = layers or MapLayers(sc)
    n = len(types)
    pw, ph = layers.map_size_in(5.2, 7.8)
    cmap = matplotlib.colormaps["viridis_r"]
    bands = access_bands(sc, types)
    vmax_all = max((float(np.nanmax(np.where(np.isfinite(v := sc.access[t].to_numpy(float)), v, np.nan)))
                    for t in types if np.isfinite(sc.access[t].to_numpy(float)).any()), default=1.0)
    norm = BoundaryNorm(bands, cmap.N, extend="max" if vmax_all > bands[-1] else "neither")
    limits = sorted({float(r.max_minutes) for r in sc.rules.access_rules
                     if r.node_type in types and np.isfinite(r.max_minutes)})
    names = display_names(sc)
    notes, eligible = [], []
    for t in types:
        minutes = sc.access[t].to_numpy(float)
        finite = np.isfinite(minutes)
        ok = eligible_for_rules(result, t)
        eligible.append(ok)
        lo = float(minutes[finite].min()) if finite.any() else 0.0
        hi = float(minutes[finite].max()) if finite.any() else 0.0
        med = float(np.median(minutes[finite])) if finite.any() else float("nan")
        lines = [f"median {med:.1f} min, range {lo:.1f}-{hi:.1f} min"]
        ruled = [r for r in sc.rules.access_rules if r.node_type == t and np.isfinite(r.max_minutes)]
        for r in ruled[:4]:
            name = textwrap.shorten(humanize(r.industry, names), 40, placeholder="…")
            lines.append(f"rule: {name} within {r.max_minutes:g} min")
        if len(ruled) > 4:
            lines.append(f"… and {len(ruled) - 4} more rules (marginal_values.csv)")
        if ok.any():
            lines.append(f"outlined: {int(ok.sum()):,} parcels that can host a ruled industry (others faded)")
        if (~finite).any():
            lines.append(f"{int((~finite).sum()):,} parcels cannot reach one (grey)")
        notes.append("\n".join(lines))
    top_in = 0.75 + 0.16 * max(n.count("\n") + 1 for n in notes)
    fig = new_figure(n * (pw + 0.35) + 0.3, ph + 1.2 + top_in)
    fw, fh = fig.get_size_inches()
    for i, t in enumerate(types):
        ax = fig.add_axes(((0.2 + i * (pw + 0.35)) / fw, 1.2 / fh, pw / fw, ph / fh))
        layers.setup_axes(ax)
        layers.draw_basemap(ax, labels=False)
        minutes = sc.access[t].to_numpy(float)
        finite = np.isfinite(minutes)
        rgba = cmap(norm(np.where(finite, minutes, np.nanmax(np.r_[minutes[finite], 1.0]))))
        rgba[~finite] = (0.6, 0.6, 0.6, 1.0)
        ok = eligible[i]
        if ok.any():
            rgba[~ok, 3] = 0.4  # parcels no ruled industry can use are faded
        layers.draw_parcels(ax, rgba)
        if ok.any() and len(layers.shapes.owner):
            keep = ok[layers.shapes.owner]
            ax.add_collection(PolyCollection([r for r, k in zip(layers.shapes.rings, keep, strict=True) if k],
                                             facecolors="none", edgecolors="#1a1a1a", linewidths=0.35,
                                             zorder=4))
        layers.draw_subareas(ax, labels=False)
        layers.draw_network(ax, node_types=[t], labels=False, faint=True)
        layers.draw_north_arrow(ax, 0.9, 0.95)
        layers.draw_scale_bar(ax, fraction=0.3)
        note = notes[i]
        ax.text(0.0, 1.01, note, transform=ax.transAxes, fontsize=7.5, color="#444444", va="bottom")
        ax.set_title(
            f"Minutes to the nearest {t}", loc="left", fontsize=10.5, pad=6 + 9.6 * (note.count("\n") + 1)
        )
    cax = fig.add_axes((0.2 / fw + 0.15, 0.5 / fh, 0.7 - 0.4 / fw, 0.16 / fh))
    cb = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal",
                      ticks=bands)
    cb.ax.set_xticklabels([f"{v:g}" for v in bands])
    for tick, v in zip(cb.ax.get_xticklabels(), bands, strict=True):
        if v in limits:
            tick.set_fontweight("bold")
    for v in limits:
        cb.ax.axvline(v, color="#c0392b", lw=1.6)
    cb.set_label("minutes (one scale for every panel; red lines and bold ticks: the rules' time limits)", fontsize=8)
    cb.ax.tick_params(labelsize=7.5)
    fig.text(
        0.2 / fw,
        (ph + 1.2 + top_in - 0.4) / fh,
        f"Which parcels are within the rules' travel times? {safe_text(sc.name) or 'scenario'}",
        fontsize=13,
        fontweight="bold",
        va="bottom",
    )
    return fig


def time_bands(max_minutes: float) -> np.ndarray:
    """Band edges in minutes (0, step, 2 step, ...) covering max_minutes in at most 8 bands of a round step."""
    top = max(float(max_minutes), 1.0)
    step = next(s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480) if top / s <= 8 or s == 480)
    return np.arange(0.0, step * (math.ceil(top / step) + 0.5), step)[: max(2, math.ceil(top / step) + 1)]


def write_access_map(result: RunResult, folder: Path) -> None:
    """access.png: travel-time panels (skipped when the scenario has no network)."""
    with figure_style():
        fig = access_map(result)
        if fig is not None:
            save_figure(fig, Path(folder) / "access.png")


# ---------------------------------------------------------------------------------------------------------
# Where two plans differ
# ---------------------------------------------------------------------------------------------------------
DIFF_COLORS = {  # Okabe–Ito hues, told apart with any colour vision
    "same industry": "#d9d6cf",
    "another industry": "#e69f00",
    "developed only here": "#0072b2",
    "developed only in the best plan": "#cc79a7",
}


def difference_map(best: RunResult, alt: RunResult, title: str, layers: MapLayers | None = None,
                   base: str = "the best plan", here: str = "here"):
    """A map of where `alt` differs from `best`: parcels that change industry, are newly developed or dropped.
    `base` and `here` name `best` and `alt` in the legend ("the best plan" / "here", "the 60 bn plan" / "in the
    55 bn plan")."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    sc = best.scenario
    layers = layers or MapLayers(sc)
    a = parcel_table(best)["industry_id"].fillna("").to_numpy(str)
    b = parcel_table(alt)["industry_id"].fillna("").to_numpy(str)
    kind = np.where(a == b, "same industry", np.where((a != "") & (b != ""), "another industry",
                                                      np.where(b != "", "developed only here",
                                                               "developed only in the best plan")))
    kind = np.where((a == "") & (b == ""), "", kind)
    rgba = np.array([to_rgba(DIFF_COLORS[k]) if k else to_rgba(PLAIN_BACKGROUND) for k in kind]).reshape(-1, 4)
    map_w, map_h = layers.map_size_in(8.0, 9.0)
    fig = new_figure(map_w + 3.0, map_h + 0.9)
    ax = fig.add_axes((0.2 / (map_w + 3.0), 0.2 / (map_h + 0.9), map_w / (map_w + 3.0), map_h / (map_h + 0.9)))
    layers.setup_axes(ax)
    layers.draw_basemap(ax, labels=False)
    layers.draw_parcels(ax, rgba, edge="white" if len(kind) <= 600 else "none", lw=0.3 if len(kind) <= 600 else 0)
    layers.draw_scale_bar(ax)
    layers.draw_subareas(ax, names=subarea_names(layers))
    counts = {k: int((kind == k).sum()) for k in DIFF_COLORS}
    words = {k: k.replace("the best plan", base).replace("only here", f"only {here}") for k in DIFF_COLORS}
    ax.legend([Patch(facecolor=c, edgecolor="none") for c in DIFF_COLORS.values()],
              [f"{words[k]} ({counts[k]:,})" for k in DIFF_COLORS], title=f"Against {base} (parcels)",
              loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, title_fontsize=9, alignment="left")
    ax.set_title(safe_text(title), loc="left", pad=8, fontsize=12)
    return fig
