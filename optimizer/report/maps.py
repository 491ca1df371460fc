"""Planner's maps of a run: `map.png` (the plan) and `access.png` (travel time to key transport nodes).

Drawn with matplotlib's object API (no pyplot state, Agg canvas), all parcels of a layer in one collection, so a
5,000-parcel map renders in a few seconds. Works with or without parcel polygons (then squares of the parcel's
area at its x/y), with or without a network, sub-area outlines and a basemap.
"""

from __future__ import annotations

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


# ---------------------------------------------------------------------------------------------------------
# Map layers
# ---------------------------------------------------------------------------------------------------------
class MapLayers:
    """Everything a map of the scenario draws, prepared once."""

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
        self.node_labels: list = []
        self.area_labels: list = []
        self.extent = (
            x0 - pad / self.frame.m_per_x,
            y0 - pad / self.frame.m_per_y,
            x1 + pad / self.frame.m_per_x,
            y1 + pad / self.frame.m_per_y,
        )

    @property
    def size_m(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.extent
        return (x1 - x0) * self.frame.m_per_x, (y1 - y0) * self.frame.m_per_y

    def map_size_in(self, max_w: float, max_h: float) -> tuple[float, float]:
        w, h = self.size_m
        s = min(max_w / w, max_h / h)
        return w * s, h * s

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
        """District polygons: land filled light, boundaries grey (the coast shows as the land/sea edge)."""
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
        for name, g, _ in self.basemap:
            name = safe_text(name)
            part = g.intersection(view)
            if not name or part.is_empty or part.area < 0.02 * view.area:
                continue
            p = part.representative_point()
            ax.text(
                p.x,
                p.y,
                name.upper(),
                fontsize=8,
                color="#8d877a",
                style="italic",
                ha="center",
                va="center",
                zorder=2,
                alpha=0.9,
                path_effects=_halo(2),
            )

    def draw_parcels(
        self, ax, colors: np.ndarray, edge: str = "none", lw: float = 0.0, zorder: float = 3, **kw
    ):
        """All parcels in one PolyCollection; `colors` holds one RGBA row per parcel."""
        from matplotlib.collections import PolyCollection

        fc = colors[self.shapes.owner] if len(self.shapes.owner) else colors[:0]
        pc = PolyCollection(
            self.shapes.rings, facecolors=fc, edgecolors=edge, linewidths=lw, zorder=zorder, **kw
        )
        ax.add_collection(pc)
        return pc

    def draw_subareas(self, ax, labels: bool = True, names: dict | None = None) -> None:
        """Sub-area outlines (from the sub-area file) with labels; labels only without a file."""
        from matplotlib.collections import LineCollection

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
            spots = [(sid, _label_points(g, self.frame)) for sid, g, _ in self.subareas]
        else:
            par = self.sc.parcels
            w = par["area_m2"].to_numpy(float)
            ok = np.isfinite(par["x"].to_numpy(float)) & np.isfinite(par["y"].to_numpy(float))
            spots = []
            for sid, grp in par[ok].groupby("subarea", sort=False):
                ww = w[grp.index]
                spots.append(
                    (
                        sid,
                        [(float(np.average(grp["x"], weights=ww)), float(np.average(grp["y"], weights=ww)))],
                    )
                )
        if not labels:
            return
        names = names or {}
        renderer = ax.figure.canvas.get_renderer()
        ax.apply_aspect()
        taken: list = []
        for sid, candidates in spots:
            label = wrap_label(names.get(sid, sid))
            if not label:
                continue
            for j, (x, y) in enumerate(candidates):
                t = ax.text(
                    x,
                    y,
                    label,
                    fontsize=7.5,
                    fontweight="bold",
                    color="#222222",
                    ha="center",
                    va="center",
                    zorder=9,
                    linespacing=1.0,
                    path_effects=_halo(2.6),
                )
                bb = t.get_window_extent(renderer)
                if not any(bb.overlaps(o) for o in taken) or j == len(candidates) - 1:
                    taken.append(bb)
                    self.area_labels.append(t)
                    break
                t.remove()

    def draw_network(
        self,
        ax,
        node_types: list[str] | None = None,
        labels: bool = True,
        faint: bool = False,
        edges: bool = True,
    ) -> tuple[list, list]:
        """Corridors (edges) as lines and nodes by type; returns legend handles and labels."""
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
        for t in types:
            sel = nodes[nodes["type"] == t]
            if sel.empty:
                continue
            marker, size, color = NODE_STYLE.get(t, (next(other, "o"), 60, "#3d3d3d"))
            ax.scatter(
                sel["x"].astype(float),
                sel["y"].astype(float),
                marker=marker,
                s=size,
                c=color,
                edgecolors="white",
                linewidths=0.7,
                zorder=8 if t != "junction" else 7,
            )
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
            if labels and (t in MAJOR_NODE_TYPES or len(sel) <= 3 and t not in ("junction", "metro")):
                rank = MAJOR_NODE_TYPES.index(t) if t in MAJOR_NODE_TYPES else len(MAJOR_NODE_TYPES)
                for _, r in sel.iterrows():
                    name = short_name(r.get("name", ""))
                    if name:
                        self.node_labels.append((rank, float(r["x"]), float(r["y"]), name, color))
        return handles, texts

    def place_labels(self, ax, fixed: list | None = None) -> None:
        """Node names beside their markers, trying four positions each and dropping those that would overlap
        a label already placed (the most important node types first)."""
        if not self.node_labels:
            return
        fig = ax.figure
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()
        axbox = ax.get_window_extent(renderer)
        taken = [t.get_window_extent(renderer).expanded(1.05, 1.1) for t in (fixed or [])]
        offsets = [
            (6, 3, "left", "bottom"),
            (-6, 3, "right", "bottom"),
            (6, -3, "left", "top"),
            (-6, -3, "right", "top"),
        ]
        for _, x, y, name, color in sorted(self.node_labels, key=lambda r: r[0]):
            for dx, dy, ha, va in offsets:
                t = ax.annotate(
                    name,
                    (x, y),
                    xytext=(dx, dy),
                    textcoords="offset points",
                    ha=ha,
                    va=va,
                    fontsize=7,
                    color=color,
                    fontweight="bold",
                    zorder=10,
                    path_effects=_halo(2.2),
                    annotation_clip=True,
                )
                bb = t.get_window_extent(renderer)
                inside = axbox.x0 <= bb.x0 and bb.x1 <= axbox.x1 and axbox.y0 <= bb.y0 and bb.y1 <= axbox.y1
                if inside and not any(bb.overlaps(o) for o in taken):
                    taken.append(bb)
                    break
                t.remove()
        self.node_labels = []

    def draw_north_arrow(self, ax, x: float = 0.95, y: float = 0.95) -> None:
        ax.annotate(
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
        if not 0 < len(ids) <= max_parcels or not len(self.shapes.rings):
            return
        done = set()
        for ring, k in zip(self.shapes.rings, self.shapes.owner, strict=True):
            if k in done:
                continue
            done.add(k)
            cx, cy = ring[:-1].mean(axis=0) if len(ring) > 1 else ring[0]
            ax.text(cx, cy, safe_text(ids[k]), ha="center", va="center", fontsize=9, fontweight="bold",
                    color=INK, zorder=9, path_effects=_halo(2.5))

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
        ax.add_patch(
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
        for i, color in enumerate((INK, "white")):
            ax.add_patch(
                Rectangle(
                    (bx + i * seg, by), seg, h, facecolor=color, edgecolor=INK, linewidth=0.8, zorder=12
                )
            )
        unit, div = ("km", 1000.0) if nice >= 1000 else ("m", 1.0)
        for i in range(3):
            v = i * nice / 2 / div
            lab = f"{v:g}" + (f" {unit}" if i == 2 else "")
            ax.text(
                bx + i * seg, by + h * 1.6, lab, ha="center", va="bottom", fontsize=7.5, color=INK, zorder=12
            )


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


def wrap_label(name: str, width: int = 16, max_len: int = 26) -> str:
    import textwrap

    s = safe_text(name)
    if len(s) > max_len and " (" in s:
        s = s.split(" (")[0]
    return "\n".join(textwrap.wrap(s, width, break_long_words=False, break_on_hyphens=False)) or s


def _ordered_types(types: pd.Series) -> list[str]:
    """Node types, big ones drawn last (on top)."""
    uniq = list(dict.fromkeys(types.astype(str)))
    order = ["junction", "expressway", "metro", "rail", "border", "exhibition", "seaport", "port", "airport"]
    return sorted(uniq, key=lambda t: (order.index(t) if t in order else 4.5, t))


def subarea_names(layers: MapLayers) -> dict[str, str]:
    """Display names of sub-areas: the `name` property of the sub-area file, else the id."""
    return {sid: str(props.get("name", "") or "") or sid for sid, _, props in layers.subareas}


# ---------------------------------------------------------------------------------------------------------
# The plan map
# ---------------------------------------------------------------------------------------------------------
def plan_map(result: RunResult, layers: MapLayers | None = None):
    """The plan map as a matplotlib Figure: parcels by industry, sub-areas, basemap, network, legend, north
    arrow, scale bar, title with the headline KPI."""
    import textwrap

    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    sc = result.scenario
    layers = layers or MapLayers(sc)
    colors = industry_colors(sc)
    table = parcel_table(result)
    rgba = (
        np.array(
            [to_rgba(colors[k]) if isinstance(k, str) else to_rgba(UNDEVELOPED) for k in table["industry_id"]]
        )
        if len(table)
        else np.zeros((0, 4))
    )

    map_w, map_h = layers.map_size_in(9.5, 10.5)
    far_w = 0.5 * map_w if len(table) and table["developed"].any() else 0.0
    longest = max((len(textwrap.shorten(safe_text(n) or "", 40, placeholder="…"))
                   for n in sc.industries["name"]), default=20)
    leg_w = min(max(3.4, 0.075 * (longest + 14) + 0.6), 5.0)  # the legend column: name, "  (0.00 km²)", patch
    fig_w = map_w + leg_w + (far_w + 0.3 if far_w else 0.0)
    fig = new_figure(fig_w, map_h + 0.9)
    ax = fig.add_axes((0.2 / fig_w, 0.2 / (map_h + 0.9), map_w / fig_w, map_h / (map_h + 0.9)))
    if far_w:
        far_h = far_w * map_h / map_w
        far_panel(fig, layers, table, ((map_w + leg_w) / fig_w, (0.2 + map_h - far_h) / (map_h + 0.9),
                                       far_w / fig_w, far_h / (map_h + 0.9)))
    layers.setup_axes(ax)
    layers.draw_basemap(ax)
    layers.draw_parcels(
        ax, rgba, edge="white" if len(table) <= 600 else "none", lw=0.3 if len(table) <= 600 else 0
    )
    layers.draw_subareas(ax, names=subarea_names(layers))
    net_h, net_l = layers.draw_network(ax)
    layers.draw_parcel_ids(ax)
    layers.draw_north_arrow(ax)
    layers.draw_scale_bar(ax)

    # legends outside the map, right
    used = table["industry_id"].dropna().unique() if len(table) else []
    names = dict(zip(sc.industries["industry_id"], sc.industries["name"], strict=True))
    land = (
        table[table["developed"]].groupby("industry_id")["area_m2"].sum()
        if len(table)
        else pd.Series(dtype=float)
    )
    ind_h, ind_l = [], []
    for k in sc.industries["industry_id"]:
        if k in set(used):
            ind_h.append(Patch(facecolor=colors[k], edgecolor="none"))
            label = textwrap.shorten(safe_text(names.get(k, k)) or k, 40, placeholder="…")
            ind_l.append(f"{label}  ({land.get(k, 0.0) / 1e6:,.2f} km²)")
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


def difference_map(best: RunResult, alt: RunResult, title: str, layers: MapLayers | None = None):
    """A map of where `alt` differs from `best`: parcels that change industry, are newly developed or dropped."""
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
    layers.draw_subareas(ax, names=subarea_names(layers))
    layers.draw_scale_bar(ax)
    counts = {k: int((kind == k).sum()) for k in DIFF_COLORS}
    ax.legend([Patch(facecolor=c, edgecolor="none") for c in DIFF_COLORS.values()],
              [f"{k} ({counts[k]:,})" for k in DIFF_COLORS], title="Against the best plan (parcels)",
              loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, title_fontsize=9, alignment="left")
    ax.set_title(safe_text(title), loc="left", pad=8, fontsize=12)
    return fig
