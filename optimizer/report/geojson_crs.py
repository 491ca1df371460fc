"""plan_crs.geojson: the plan in the parcel layer's own CRS (or another), written when the scenario asks for it
(`[data] parcels = { ..., output_crs = "input" }`); plan.geojson stays WGS84 whatever the input.

The features and properties are those of plan.geojson; only the coordinates differ. RFC 7946 knows only
WGS84, so the file names its CRS the way GDAL and QGIS read it (the GeoJSON 2008 `crs` member with an OGC URN);
GCJ-02, which has no code, is said in `crs_note`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from optimizer.pipeline import RunResult

NAME = "plan_crs.geojson"


def plan_geojson_in(result: RunResult, crs_text: str) -> dict:
    """plan.geojson's document with every geometry transformed from WGS84 to `crs_text` (one call for all)."""
    from shapely.geometry import mapping, shape

    from optimizer.report.geojson import plan_geojson
    from optimizer.scenario import crs as crsmod

    doc = plan_geojson(result)
    crs = crsmod.GCJ02 if crsmod.is_gcj02(crs_text) else crsmod.resolve_crs(crs_text)
    feats = doc["features"]
    at = [i for i, f in enumerate(feats) if f["geometry"] is not None]
    geoms = np.array([shape(feats[i]["geometry"]) for i in at], dtype=object)
    moved = crsmod.geometries_from_wgs84(geoms, crs) if len(geoms) else geoms
    for i, g in zip(at, moved, strict=True):
        feats[i]["geometry"] = mapping(g)
    label = crsmod.crs_label(crs)
    doc["name"] = f"{result.scenario.name} plan ({label})"
    if isinstance(crs, str):
        doc["crs_note"] = "GCJ-02 lon/lat (the datum of Chinese web maps), not WGS84; plan.geojson is WGS84"
    else:
        auth = crs.to_authority(min_confidence=90)
        if auth:
            doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{auth[0]}::{auth[1]}"}}
        doc["crs_note"] = f"coordinates in {label} ({crs.name}), not WGS84; plan.geojson is WGS84"
    doc["features"] = feats
    return {k: doc[k] for k in ("type", "name", "crs", "crs_note", "features") if k in doc}


def write_geojson_crs(result: RunResult, folder: Path) -> None:
    """plan_crs.geojson when the scenario names an output CRS and the run has a plan."""
    crs_text = getattr(result.scenario, "output_crs", "")
    if result.plan is None or not crs_text or result.scenario.geometry is None:
        return
    (Path(folder) / NAME).write_text(json.dumps(plan_geojson_in(result, crs_text), ensure_ascii=False,
                                                allow_nan=False), encoding="utf-8")
