"""Input schema as data: the columns of each input file and the tables and keys of scenario.toml.

Every number has a plausible range (for any city in the world) so that no accepted input can overflow the model:
the largest objective coefficient is output_per_m2 × value_multiplier ≤ 1e7 × 1e4 yuan per m² of floor, the
largest floor of a site area_m2 × FAR ≤ 1e9 × 100 m², and every bound stays below 1e20 (a solver's "infinity").
docs/scenario-format.md lists the same ranges; tests/test_scenario_load.py checks that it names every key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONE = np.nan  # "no bound"

# ranges shared by several entries
MAX_AREA_M2 = 1e9  # land of one parcel: 1,000 km²
MAX_FAR = 100.0  # floor-area ratio (the densest towers reach about 30)
MAX_FLOOR_M2 = 1e11  # floor area: 100,000 km²
MAX_YUAN_PER_M2 = 1e7  # output or cost per m² of floor
MAX_YUAN = 1e16  # budgets, pair costs
MIN_SPEED_KMH = 0.1  # slower is a closed link: leave the edge out
MAX_SPEED_KMH = 1000.0
MAX_COORD = 1e7  # |x|, |y| in metres (`local_m`, or no CRS); EPSG:4326 takes lon in [-180, 180], lat in [-90, 90]
MAX_METRIC_PER_M2 = 1e6  # any further per-m² rate (teams, patents...)
MAX_METRIC_TOTAL = 1e18
ZH_DOC = "optional Chinese name, drawn beside the English one where a CJK font is installed"


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
    above: bool = False  # the value must be greater than `min` (not equal)


PARCEL_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "text", doc="unique parcel id"),
    Column("area_m2", "number", min=0.0, above=True, max=MAX_AREA_M2, unit="m2", doc="land area"),
    Column("zone", "text", doc="land-use class code"),
    Column("far_max", "number", min=0.0, max=MAX_FAR, doc="plan floor-area-ratio cap"),
    Column("subarea", "text", doc="sub-area name"),
    Column("x", "number", required=False, default=NONE, doc="centroid x (lon or m; range by CRS, see checks.py)"),
    Column("y", "number", required=False, default=NONE, doc="centroid y (lat or m; range by CRS, see checks.py)"),
    Column("existing_use", "text", required=False, default=""),
    Column("name_zh", "text", required=False, default="", doc=ZH_DOC),
    Column("dev_cost_per_m2", "number", required=False, default=0.0, min=0.0, max=MAX_YUAN_PER_M2,
           unit="yuan/m2 floor"),
    Column("must_develop", "bool", required=False, default=False),
    # existing uses and redevelopment (docs/scenario-format.md, "Existing uses and redevelopment")
    Column("existing_industry", "text", required=False, default="",
           doc="the industry_id of the use standing on the parcel (blank: greenfield)"),
    Column("existing_floor_m2", "number", required=False, default=0.0, min=0.0, max=MAX_FLOOR_M2, unit="m2",
           doc="floor of the existing use"),
    Column("existing_output_yuan", "number", required=False, default=NONE, min=0.0, max=MAX_YUAN, unit="yuan/yr",
           doc="output of the existing use a year (blank: existing floor × the industry's output per m² there)"),
    Column("lock", "text", required=False, default="",
           doc='"" | "industry" (keep the existing industry, may intensify) | "out" (nothing may change)'),
    Column("intensify_cost_per_m2", "number", required=False, default=NONE, min=0.0, max=MAX_YUAN_PER_M2,
           unit="yuan/m2 floor", doc="cost of each m² of floor added to the existing use (blank: construction cost)"),
    Column("demolition_cost_per_m2", "number", required=False, default=0.0, min=0.0, max=MAX_YUAN_PER_M2,
           unit="yuan/m2 floor", doc="cost per m² of existing floor removed when the parcel is converted"),
)
LOCKS = ("", "industry", "out")

INDUSTRY_COLUMNS: tuple[Column, ...] = (
    Column("industry_id", "text"),
    Column("name", "text"),
    Column("output_per_m2", "number", min=0.0, max=MAX_YUAN_PER_M2, unit="yuan/m2 floor/yr"),
    Column("jobs_per_m2", "number", min=0.0, max=10.0, unit="jobs/m2 floor"),
    Column("allowed_zones", "text", required=False, default=""),
    Column("far_min", "number", min=0.0, max=MAX_FAR),
    Column("far_max", "number", min=0.0, max=MAX_FAR),
    Column("min_floor_m2", "number", required=False, default=0.0, min=0.0, max=MAX_FLOOR_M2, unit="m2"),
    Column("min_floor_total_m2", "number", required=False, default=NONE, min=0.0, max=MAX_FLOOR_M2, unit="m2"),
    Column("max_floor_total_m2", "number", required=False, default=NONE, min=0.0, max=MAX_FLOOR_M2, unit="m2"),
    Column("min_share", "number", required=False, default=NONE, min=0.0, max=1.0),
    Column("max_share", "number", required=False, default=NONE, min=0.0, max=1.0),
    Column("min_sites", "int", required=False, default=NONE, min=0.0, max=1e9),
    Column("max_sites", "int", required=False, default=NONE, min=0.0, max=1e9),
    Column("usable_share", "number", required=False, default=1.0, min=0.0, max=1.0),
    Column("color", "text", required=False, default=""),
    Column("name_zh", "text", required=False, default="", doc=ZH_DOC),
    Column("cluster_min_sites", "int", required=False, default=NONE, min=1.0, max=1e9,
           doc="every connected group of the industry's sites has at least this many (needs [neighbours])"),
    Column("cluster_min_floor_m2", "number", required=False, default=NONE, min=0.0, max=MAX_FLOOR_M2, unit="m2",
           doc="every connected group of the industry's sites has at least this much floor"),
)
METRIC_SUFFIX = "_per_m2"
METRIC_COLUMN = Column("<metric>_per_m2", "number", required=False, default=0.0, min=0.0, max=MAX_METRIC_PER_M2)

PAIR_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "text"),
    Column("industry_id", "text"),
    Column("value_multiplier", "number", required=False, default=1.0, min=0.0, max=1e4),
    Column("cost_yuan", "number", required=False, default=0.0, min=0.0, max=MAX_YUAN, unit="yuan"),
    Column("eligible", "bool", required=False, default=True),
    Column("far_max", "number", required=False, default=NONE, min=0.0, max=MAX_FAR,
           doc="floor-area-ratio cap of this pair, below the parcel's and the industry's caps (blank: none)"),
    Column("cost_per_m2", "number", required=False, default=NONE, min=0.0, max=MAX_YUAN_PER_M2,
           unit="yuan/m2 floor", doc="development cost per m² of floor of this pair, in place of the parcel's "
                                     "dev_cost_per_m2 (blank: the parcel's)"),
)

COMPAT_COLUMNS: tuple[Column, ...] = (
    Column("zone", "text"),
    Column("industry_id", "text"),
)

ZONE_COLUMNS: tuple[Column, ...] = (
    Column("code", "text", doc="zone code as parcels, allowed_zones and compatibility use it"),
    Column("name", "text", required=False, default="", doc="display name"),
    Column("class", "text", required=False, default="", doc="broader class (commercial, industrial, green...)"),
)

NODE_COLUMNS: tuple[Column, ...] = (
    Column("node_id", "text"),
    Column("type", "text"),
    Column("name", "text", required=False, default=""),
    Column("name_zh", "text", required=False, default="", doc=ZH_DOC),
    Column("x", "number"),  # range by CRS (checks.py)
    Column("y", "number"),
)

EDGE_COLUMNS: tuple[Column, ...] = (
    Column("from_node", "text"),
    Column("to_node", "text"),
    Column("speed_kmh", "number", min=MIN_SPEED_KMH, max=MAX_SPEED_KMH, unit="km/h"),
    Column("length_m", "number", required=False, default=NONE, min=0.0, max=MAX_COORD, unit="m"),
    Column("corridor", "text", required=False, default=""),
)


# --- scenario.toml ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """One key of a scenario.toml table.

    kind: "text", "number", "int" (a TOML integer), "bool", "texts" (a list of text), "path" (a data file
    relative to the scenario folder) or "layer" (a path, or a table naming a GIS layer: optimizer.scenario.gis).
    A missing optional key takes `default`.
    """

    name: str
    kind: str
    required: bool = False
    default: object = None
    min: float | None = None
    max: float | None = None
    above: bool = False  # the value must be greater than `min`
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """A table of scenario.toml: `[name]` (kind "table"), `[[name]]` (kind "array", one entry per rule) or a
    table whose keys are free names (kind "map", e.g. industry ids) and whose values all follow `value`."""

    name: str
    kind: str = "table"
    keys: tuple[Key, ...] = ()
    value: Key | None = None
    required: bool = False
    doc: str = ""

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


DATA_PATHS = ("parcels", "industries", "compatibility", "pairs", "zones", "nodes", "edges", "subareas", "basemap")

TOML_TABLES: tuple[Table, ...] = (
    Table("scenario", required=True, keys=(
        Key("name", "text", required=True, doc="short name, used in outputs"),
        Key("description", "text", default=""),
        Key("assumptions", "texts", default=(), doc="which numbers are assumptions, one line each"),
        Key("total_area_km2", "number", default=NONE, min=0.0, above=True, max=1e6,
            doc="the zone's whole area (streets, water and green included), for KPIs"),
    )),
    Table("data", keys=(  # required by load_scenario, not by build_scenario (tables in memory)
        Key("parcels", "layer", required=True,
            doc=".csv, .geojson or a GIS layer; or a table { path, layer, crs, columns, defaults, output_crs }"),
        Key("industries", "path", required=True),
        Key("compatibility", "path", doc="long table zone,industry_id (replaces allowed_zones)"),
        Key("pairs", "path"),
        Key("zones", "path", doc="the zone codes in use (code,name,class), or a shipped table (gb50137, "
            "territorial2020): unknown codes become errors"),
        Key("nodes", "path", doc="transport network nodes (needs edges too)"),
        Key("edges", "path"),
        Key("subareas", "path", doc="sub-area outlines (GeoJSON), for maps"),
        Key("basemap", "path", doc="background boundaries (GeoJSON), for maps"),
    )),
    Table("objective", keys=(
        Key("sense", "text", default="maximize", choices=("maximize", "minimize")),
        Key("kind", "text", default="total_output", choices=("total_output", "output_per_land", "weighted", "total"),
            doc='"total" is the older name of "total_output"'),
        Key("cost_weight", "number", default=0.0, min=0.0, max=1e3, doc="yuan of objective per yuan of cost"),
        Key("min_total_output_yuan", "number", default=NONE, min=0.0, max=MAX_YUAN,
            doc="every plan produces at least this (yuan a year)"),
        Key("min_jobs", "number", default=NONE, min=0.0, max=1e10, doc="every plan gives at least this many jobs"),
    )),
    Table("objective.weights", kind="map", value=Key("<kpi>", "number", min=-1e9, max=1e9),
          doc="weighted objective: output, jobs, developed_land, floor, cost or a metric = weight per unit"),
    Table("objective.metric_min", kind="map", value=Key("<metric>", "number", min=0.0, max=MAX_METRIC_TOTAL),
          doc="every plan reaches at least this total of the metric"),
    Table("solver", keys=(
        Key("name", "text", default="highs", choices=("highs", "cbc", "lagrange", "auto")),
        Key("time_limit_s", "number", default=60.0, min=0.0, max=1e7),
        Key("mip_gap", "number", default=1e-4, min=0.0, max=1.0),
        Key("threads", "int", default=0, min=0, max=1024, doc="0 = the solver's choice"),
        Key("work_limit_s", "number", default=NONE, min=0.0, max=1e7,
            doc="nominal seconds of work per solver call: the same plan on a busy or an idle machine"),
    )),
    Table("rules", keys=(
        Key("total_budget_yuan", "number", default=NONE, min=0.0, max=MAX_YUAN),
    )),
    Table("rules.industry_budget_yuan", kind="map",
          value=Key("<industry_id>", "number", min=0.0, max=MAX_YUAN), doc="industry_id = yuan"),
    Table("network", keys=(
        Key("crs", "text", default="EPSG:4326", choices=("EPSG:4326", "local_m")),
        Key("access_speed_kmh", "number", default=12.0, min=MIN_SPEED_KMH, max=MAX_SPEED_KMH),
        Key("access_links", "int", default=3, min=1, max=100),
        Key("detour_factor", "number", default=1.3, min=1.0, max=10.0),
    )),
    Table("access_rules", kind="array", keys=(
        Key("industry", "text", required=True),
        Key("node_type", "text", required=True),
        Key("max_minutes", "number", default=np.inf, min=0.0, max=1e4),
        Key("decay_per_min", "number", default=0.0, min=0.0, max=10.0),
    )),
    Table("subarea_mix", kind="array", keys=(
        Key("subarea", "text", required=True),
        Key("industry", "text", default="", doc='an industry id; "" or "*" = all industries together'),
        Key("min_share", "number", default=NONE, min=0.0, max=1.0),
        Key("max_share", "number", default=NONE, min=0.0, max=1.0),
        Key("min_floor_m2", "number", default=NONE, min=0.0, max=MAX_FLOOR_M2),
        Key("max_floor_m2", "number", default=NONE, min=0.0, max=MAX_FLOOR_M2),
    )),
    Table("subarea_allow", kind="array", keys=(
        Key("subarea", "text", required=True),
        Key("industries", "texts", required=True),
    )),
    Table("metric_rules", kind="array", keys=(
        Key("metric", "text", required=True),
        Key("min", "number", default=NONE, min=0.0, max=MAX_METRIC_TOTAL),
        Key("max", "number", default=NONE, min=0.0, max=MAX_METRIC_TOTAL),
        Key("industries", "texts", default=()),
    )),
)
# phases: one [[phases]] entry per phase, in time order, each with optional target maps written as
# [phases.min_floor_m2] etc. right after its [[phases]] header (TOML attaches them to the last entry)
PHASE_MAPS = {
    "min_floor_m2": Key("<industry_id>", "number", min=0.0, max=MAX_FLOOR_M2),
    "max_floor_m2": Key("<industry_id>", "number", min=0.0, max=MAX_FLOOR_M2),
    "min_share": Key("<industry_id>", "number", min=0.0, max=1.0),
    "max_share": Key("<industry_id>", "number", min=0.0, max=1.0),
    "metric_min": Key("<metric>", "number", min=0.0, max=MAX_METRIC_TOTAL),
    "metric_max": Key("<metric>", "number", min=0.0, max=MAX_METRIC_TOTAL),
}
MAX_YEAR = 2500
TOML_TABLES += (
    Table("phasing", keys=(
        Key("discount_rate", "number", default=0.0, min=0.0, max=1.0, doc="yearly, e.g. 0.05"),
        Key("operating_from", "text", default="mid", choices=("start", "mid", "end"),
            doc="when in its phase a development starts producing"),
        Key("base_year", "int", default=0, min=0, max=MAX_YEAR, doc="year discounted to (0: first phase's start)"),
        Key("caps_every_phase", "bool", default=True,
            doc="industries' demand caps, share maxima and metric maxima hold at the end of every phase"),
    )),
    Table("phases", kind="array", keys=(
        Key("name", "text", required=True),
        Key("start_year", "int", required=True, min=1, max=MAX_YEAR),
        Key("end_year", "int", required=True, min=1, max=MAX_YEAR),
        Key("budget_yuan", "number", default=NONE, min=0.0, max=MAX_YUAN, doc="spending within this phase"),
        Key("reference_output_yuan", "number", default=NONE, min=0.0, max=MAX_YUAN,
            doc="a published output figure at the phase's end, compared with the plan (not a rule)"),
    )),
    *(Table(f"phases.{name}", kind="map", value=key) for name, key in PHASE_MAPS.items()),
)
# neighbours (docs/scenario-format.md, "Neighbours: synergy, separation, clusters")
MAX_DISTANCE_M = 1e6
TOML_TABLES += (
    Table("neighbours", keys=(
        Key("mode", "text", choices=("touch",), doc='"touch": parcels whose outlines share a boundary segment'),
        Key("distance_m", "number", min=0.0, max=MAX_DISTANCE_M,
            doc="parcels whose outlines (else centroids) lie within this many metres"),
        Key("file", "path", doc="adjacency table parcel_a,parcel_b (instead of mode or distance_m)"),
        Key("synergy", "path", doc="synergy table industry_a,industry_b,bonus,basis"),
        Key("separation", "path", doc="separation table industry_a,industry_b,min_distance_m"),
    )),
)
ADJACENCY_COLUMNS: tuple[Column, ...] = (
    Column("parcel_a", "text"),
    Column("parcel_b", "text"),
)
SYNERGY_BASES = ("pair", "m2")
SYNERGY_COLUMNS: tuple[Column, ...] = (
    Column("industry_a", "text"),
    Column("industry_b", "text"),
    Column("bonus", "number", min=-MAX_YUAN, max=MAX_YUAN,
           unit="yuan/yr per pair, or yuan/m2 of the smaller floor/yr", doc="negative: a penalty"),
    Column("basis", "text", required=False, default="pair", doc='"pair" or "m2"'),
)
SEPARATION_COLUMNS: tuple[Column, ...] = (
    Column("industry_a", "text"),
    Column("industry_b", "text"),
    Column("min_distance_m", "number", required=False, default=NONE, min=0.0, max=MAX_DISTANCE_M, unit="m",
           doc="blank: the two may not be neighbours; else not within this distance"),
)
TABLES: dict[str, Table] = {t.name: t for t in TOML_TABLES}

# parcels farther than max(FAR_PARCEL_M, the network's extent) from every node are errors; nodes farther than
# max(FAR_NODE_M, the parcels' extent) from every parcel are warnings, farther than max(FAR_NODE_ERROR_M, that
# extent) errors (extent: the diagonal of the bounding box)
FAR_PARCEL_M = 50_000.0
FAR_NODE_M = 100_000.0
FAR_NODE_ERROR_M = 1_000_000.0
MAX_WARNINGS_PER_KIND = 20
