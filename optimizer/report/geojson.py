"""The plan as GeoJSON (RFC 7946): every parcel, developed or not, with its industry and figures.

Coordinates are always WGS84 lon/lat in ``plan.geojson``. A scenario in local metres with no anchor on the
Earth cannot be placed honestly, so its parcels go to ``plan_local.geojson`` (same features, x/y in metres,
labelled ``"coordinates": "local metres"``) and no ``plan.geojson`` is written. Each parcel is identified by
its ``parcel_id`` property (the key of assignment.csv); there is no duplicate top-level feature ``id``.
``area_m2`` is the scenario's figure; ``geometry_area_m2`` is the polygon's own area on the WGS84 ellipsoid
(a local projection at the parcel, exact to about 1e-7 for parcels), so the two can be compared.

Also home of two helpers the maps and charts share: :func:`parcel_table` (every parcel joined with the plan)
and :func:`coordinate_system` (are the parcel coordinates lon/lat or local metres?).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.pipeline import RunResult

PLAN_COLUMNS = ["industry_id", "floor_area_m2", "far", "output_yuan", "jobs"]
EXISTING_COLUMNS = ["action", "existing_industry", "existing_floor_m2"]  # existing uses (solution.plan.with_actions)
PHASE_COLUMNS = ["phase", "phase_year"]  # scenarios with phases: when each parcel is developed
NEIGHBOUR_COLUMNS = ["synergy_yuan"]  # scenarios with synergy: each parcel's half of its pairs' bonus a year
PROPERTY_ORDER = [
    "parcel_id",
    "subarea",
    "zone",
    "area_m2",
    "geometry_area_m2",
    "developed",
    "industry_id",
    "industry",
    "floor_area_m2",
    "far",
    "output_yuan",
    "jobs",
    "far_max",
    "existing_use",
    "action",
    "existing_industry",
    "existing_floor_m2",
    "must_develop",
    "status",
    "runner_up",
    "forcing_cost_yuan",
    "forcing_cost_method",
    "reason",
]
EXPLAIN_COLUMNS = ["status", "runner_up", "forcing_cost_yuan", "forcing_cost_method", "reason"]


def coordinate_system(sc: Scenario) -> str:
    """ "lonlat" when parcel coordinates are WGS84 lon/lat, "local_m" when they are local metres.

    Polygon parcels are lon/lat by the scenario format; a network states its crs; otherwise plain x/y columns
    are taken as lon/lat only when every value lies in the lon/lat range.
    """
    if sc.network is not None:
        return "local_m" if sc.network.crs == "local_m" else "lonlat"
    if sc.geometry is not None and any(g is not None for g in sc.geometry):
        return "lonlat"
    x, y = sc.parcels["x"].to_numpy(float), sc.parcels["y"].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any() and (np.abs(x[ok]) <= 180).all() and (np.abs(y[ok]) <= 90).all():
        return "lonlat"
    return "local_m"


def parcel_table(result: RunResult) -> pd.DataFrame:
    """One row per parcel (scenario order) with the plan's industry, floor, FAR, output and jobs.

    Undeveloped parcels have an empty industry_id (None) and zero floor, FAR, output and jobs.
    """
    sc = result.scenario
    par = sc.parcels
    cols = ["parcel_id", "subarea", "zone", "area_m2", "far_max", "existing_use", "must_develop", "x", "y"]
    df = par[[c for c in cols if c in par.columns]].copy()
    if result.plan is not None and len(result.plan.assignment):
        a = result.plan.assignment
        plan = a[["parcel_id"] + PLAN_COLUMNS + [c for c in EXISTING_COLUMNS + PHASE_COLUMNS + NEIGHBOUR_COLUMNS
                                                 if c in a]]
        df = df.merge(plan, on="parcel_id", how="left", validate="one_to_one")
    else:
        for c in PLAN_COLUMNS:
            df[c] = np.nan
    if "action" not in df:
        df["action"] = None
    df["action"] = df["action"].astype(object).where(df["action"].notna(), None)  # empty parcel: no action
    df["developed"] = df["industry_id"].notna()
    df["industry_id"] = df["industry_id"].astype(object).where(df["developed"], None)
    names = dict(zip(sc.industries["industry_id"], sc.industries["name"], strict=True))
    df["industry"] = df["industry_id"].map(names).astype(object).where(df["developed"], None)
    for c in PLAN_COLUMNS[1:]:
        df[c] = df[c].astype(float).fillna(0.0)
    why = result.analysis.get("explain")
    if why is not None:  # why each parcel (optimizer.analysis.why), same parcel order
        df = df.merge(why[["parcel_id", *EXPLAIN_COLUMNS]], on="parcel_id", how="left", validate="one_to_one")
    return df.reset_index(drop=True)


LOCAL_NOTE = ("coordinates are the scenario's local x/y in metres with no anchor on the Earth; they are not "
              "WGS84 lon/lat, so this file is plan_local.geojson and there is no plan.geojson")


def geojson_name(sc: Scenario) -> str:
    """plan.geojson (WGS84 lon/lat, or no coordinates at all) or plan_local.geojson (local metres, no anchor)."""
    if coordinate_system(sc) == "lonlat":
        return "plan.geojson"
    xy = sc.parcels[["x", "y"]].to_numpy(float) if {"x", "y"} <= set(sc.parcels.columns) else np.empty((0, 2))
    return "plan_local.geojson" if np.isfinite(xy).all(axis=1).any() else "plan.geojson"


def _count(v) -> float | int | None:
    """A count (jobs): an integer when it is whole, else the number."""
    v = _num(v)
    return int(v) if v is not None and float(v).is_integer() else v


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _rfc7946_orient(g):
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 section 3.1.6)."""
    import shapely

    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.orient_polygons(g)
    from shapely.geometry import MultiPolygon, Polygon
    from shapely.geometry.polygon import orient

    if isinstance(g, Polygon):
        return orient(g, 1.0)
    if isinstance(g, MultiPolygon):
        return MultiPolygon([orient(p, 1.0) for p in g.geoms])
    return g


WGS84_A, WGS84_F = 6378137.0, 1 / 298.257223563


def lonlat_area_m2(g) -> float:
    """Area in m² of a lon/lat polygon: a local projection on the WGS84 ellipsoid at the polygon's centre
    (meridian and prime-vertical radii), exact to about 1e-7 for parcel-sized shapes."""
    import shapely

    if g is None or g.is_empty or g.area == 0:
        return 0.0
    c = g.centroid
    phi = np.radians(c.y)
    e2 = WGS84_F * (2 - WGS84_F)
    w = 1 - e2 * np.sin(phi) ** 2
    m = WGS84_A * (1 - e2) / w**1.5  # meridian radius of curvature
    n = WGS84_A / np.sqrt(w)  # prime-vertical radius of curvature
    kx, ky = np.radians(1) * n * np.cos(phi), np.radians(1) * m
    local = shapely.transform(g, lambda xy: np.column_stack([(xy[:, 0] - c.x) * kx, (xy[:, 1] - c.y) * ky]))
    return float(local.area)


def _geometry(sc: Scenario, i: int, x: float, y: float) -> dict | None:
    from shapely.geometry import mapping

    g = sc.geometry[i] if sc.geometry is not None else None
    if g is not None and not g.is_empty:
        return mapping(_rfc7946_orient(g))
    if np.isfinite(x) and np.isfinite(y):
        return {"type": "Point", "coordinates": [float(x), float(y)]}
    return None


def _existing(sc: Scenario, i: int, col: str):
    """The parcel's existing industry or floor, None on greenfield."""
    if "existing_industry" not in sc.parcels or not sc.parcels["existing_industry"].iloc[i]:
        return None
    v = sc.parcels[col].iloc[i]
    return str(v) if col == "existing_industry" else _num(v)


def plan_geojson(result: RunResult) -> dict:
    """The plan as a GeoJSON FeatureCollection (a dict ready for json.dump)."""
    sc = result.scenario
    df = parcel_table(result)
    lonlat = coordinate_system(sc) == "lonlat"
    feats = []
    for i, r in enumerate(df.itertuples(index=False)):
        g = sc.geometry[i] if sc.geometry is not None else None
        if g is None or g.is_empty:
            geo_area = None
        else:
            geo_area = round(lonlat_area_m2(g) if lonlat else float(g.area), 2)
        props = {
            "parcel_id": str(r.parcel_id),
            "subarea": str(r.subarea),
            "zone": str(r.zone),
            "area_m2": _num(r.area_m2),
            "geometry_area_m2": geo_area,
            "developed": bool(r.developed),
            "industry_id": r.industry_id,
            "industry": r.industry,
            "floor_area_m2": _num(r.floor_area_m2),
            "far": _num(r.far),
            "output_yuan": _num(r.output_yuan),
            "jobs": _count(r.jobs),
            "far_max": _num(r.far_max),
            "existing_use": str(getattr(r, "existing_use", "") or ""),
            "action": r.action,
            "existing_industry": _existing(sc, i, "existing_industry"),
            "existing_floor_m2": _existing(sc, i, "existing_floor_m2"),
            "must_develop": bool(getattr(r, "must_develop", False)),
        }
        if hasattr(r, "phase"):  # scenarios with phases: when the parcel is developed (None: not developed)
            props.update(phase=r.phase if isinstance(r.phase, str) else None,
                         phase_year=int(r.phase_year) if pd.notna(r.phase_year) else None)
        if hasattr(r, "synergy_yuan"):  # scenarios with synergy (None: not developed)
            props["synergy_yuan"] = _num(r.synergy_yuan) if pd.notna(r.synergy_yuan) else None
        if hasattr(r, "reason"):
            props.update(status=r.status, runner_up=r.runner_up or None, reason=r.reason,
                         forcing_cost_yuan=_num(r.forcing_cost_yuan) if pd.notna(r.forcing_cost_yuan) else None,
                         forcing_cost_method=r.forcing_cost_method or None)
        feats.append(
            {
                "type": "Feature",
                "geometry": _geometry(sc, i, float(r.x), float(r.y)),
                "properties": props,
            }
        )
    doc: dict = {"type": "FeatureCollection", "name": f"{sc.name} plan"}
    if geojson_name(sc) == "plan_local.geojson":
        doc["coordinates"] = "local metres"
        doc["crs_note"] = LOCAL_NOTE
    elif sc.geometry is None:
        doc["crs_note"] = "parcels are points at their centroids (the scenario has no parcel polygons)"
    doc["features"] = feats
    return doc


def write_geojson(result: RunResult, folder: Path) -> None:
    """plan.geojson (or plan_local.geojson, see the module): every parcel with its industry (none without a
    plan)."""
    if result.plan is None:
        return
    doc = plan_geojson(result)
    (Path(folder) / geojson_name(result.scenario)).write_text(
        json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8"
    )
