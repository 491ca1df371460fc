"""Input schema as data: one table of columns per input file (name, kind, required, default, range)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "text", "number", "int", "bool"
    required: bool = True
    default: object = None
    min: float | None = None
    max: float | None = None
    unit: str = ""
    doc: str = ""


NONE = np.nan  # "no bound"

PARCEL_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "text", doc="unique parcel id"),
    Column("area_m2", "number", min=0.0, unit="m2", doc="land area (> 0)"),
    Column("zone", "text", doc="land-use class code"),
    Column("far_max", "number", min=0.0, doc="plan floor-area-ratio cap"),
    Column("subarea", "text", doc="sub-area name"),
    Column("x", "number", required=False, default=NONE, doc="centroid x (lon or m)"),
    Column("y", "number", required=False, default=NONE, doc="centroid y (lat or m)"),
    Column("existing_use", "text", required=False, default=""),
    Column("dev_cost_per_m2", "number", required=False, default=0.0, min=0.0, unit="yuan/m2 floor"),
    Column("must_develop", "bool", required=False, default=False),
)

INDUSTRY_COLUMNS: tuple[Column, ...] = (
    Column("industry_id", "text"),
    Column("name", "text"),
    Column("output_per_m2", "number", min=0.0, unit="yuan/m2 floor/yr"),
    Column("jobs_per_m2", "number", min=0.0, unit="jobs/m2 floor"),
    Column("allowed_zones", "text", required=False, default=""),
    Column("far_min", "number", min=0.0),
    Column("far_max", "number", min=0.0),
    Column("min_floor_m2", "number", required=False, default=0.0, min=0.0, unit="m2"),
    Column("min_floor_total_m2", "number", required=False, default=NONE, min=0.0, unit="m2"),
    Column("max_floor_total_m2", "number", required=False, default=NONE, min=0.0, unit="m2"),
    Column("min_share", "number", required=False, default=NONE, min=0.0, max=1.0),
    Column("max_share", "number", required=False, default=NONE, min=0.0, max=1.0),
    Column("min_sites", "int", required=False, default=NONE, min=0.0),
    Column("max_sites", "int", required=False, default=NONE, min=0.0),
    Column("usable_share", "number", required=False, default=1.0, min=0.0, max=1.0),
    Column("color", "text", required=False, default=""),
)
METRIC_SUFFIX = "_per_m2"

PAIR_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "text"),
    Column("industry_id", "text"),
    Column("value_multiplier", "number", required=False, default=1.0, min=0.0),
    Column("cost_yuan", "number", required=False, default=0.0, min=0.0, unit="yuan"),
    Column("eligible", "bool", required=False, default=True),
)

COMPAT_COLUMNS: tuple[Column, ...] = (
    Column("zone", "text"),
    Column("industry_id", "text"),
)

NODE_COLUMNS: tuple[Column, ...] = (
    Column("node_id", "text"),
    Column("type", "text"),
    Column("name", "text", required=False, default=""),
    Column("x", "number"),
    Column("y", "number"),
)

EDGE_COLUMNS: tuple[Column, ...] = (
    Column("from_node", "text"),
    Column("to_node", "text"),
    Column("speed_kmh", "number", min=0.0, unit="km/h"),
    Column("length_m", "number", required=False, default=NONE, min=0.0, unit="m"),
    Column("corridor", "text", required=False, default=""),
)
