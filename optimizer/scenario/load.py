"""load_scenario(folder): scenario.toml + data files -> a validated Scenario, or a ScenarioError.

The order of the checks: scenario.toml against its schema (config.py: every table and key known, types and
ranges), the data files read (readers.py: paths, encodings, CSV/GeoJSON structure), each table against its
columns (schema.py), references between files, then zone codes and coordinates (checks.py) and access times.
"""

from __future__ import annotations

import difflib
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.data import (
    AccessRule,
    MetricRule,
    Network,
    Objective,
    Rules,
    Scenario,
    SolverDefaults,
    SubareaAllow,
    SubareaMix,
)
from optimizer.errors import ScenarioError
from optimizer.scenario import checks, gis, neighbours, schema, zones
from optimizer.scenario.checks import Source
from optimizer.scenario.config import TOML, check_config
from optimizer.scenario.existing import check_existing
from optimizer.scenario.phases import read_phases
from optimizer.scenario.readers import (
    ROW,
    os_reason,
    parse_geojson,
    read_csv_raw,
    read_geojson_raw,
    read_json,
    read_toml,
    validate_frame,
)

TABLE_ROLES = ("parcels", "industries", "compatibility", "pairs", "zones", "nodes", "edges")
LAYER_ROLES = ("subareas", "basemap")  # GeoJSON outlines for maps: checked here, drawn by the report


def load_scenario(folder: str | Path, *, part: Any = None) -> Scenario:
    """Read and validate the scenario folder `folder` (holding scenario.toml).

    `part`: one chunk of the parcel file (optimizer.scenario.chunks). `part.read(role, path, display, cfg,
    network_crs)` returns (frame, geometry) for a file it reads itself (the chunk's parcel records, the pair rows
    of its parcels), None for the others; `part.whole` stands for the whole parcel file (build_scenario).
    """
    folder = Path(folder)
    toml_path = folder / TOML
    try:
        if not folder.is_dir():
            raise ScenarioError("scenario folder not found", file=str(folder))
        if not toml_path.is_file():
            raise ScenarioError("file not found (a scenario folder needs a scenario.toml)", file=str(toml_path))
    except (OSError, ValueError) as exc:
        raise ScenarioError(os_reason(exc), file=str(folder)) from None
    config = read_toml(toml_path, TOML)
    cfg = check_config(config)
    if "data" not in config:
        raise ScenarioError("required table [data] is missing (it names the data files)", file=TOML, field="data")
    paths = {role: _inside(folder, gis.spec_path(rel), f"data.{role}") for role, rel in cfg["data"].items()
             if rel is not None}
    if ("nodes" in paths) != ("edges" in paths):
        raise ScenarioError("a network needs both nodes and edges", file=TOML,
                            field="data.nodes" if "nodes" not in paths else "data.edges")

    frames: dict[str, pd.DataFrame] = {}
    geometry = None
    for role in (*TABLE_ROLES, *LAYER_ROLES):
        if role not in paths:
            continue
        path, display = paths[role]
        with _named_by(role):
            got = None if part is None else part.read(role, path, display, cfg,
                                                      cfg["network"]["crs"] if "network" in config else None)
            if got is not None:
                raw = got[0]
                geometry = got[1] if role == "parcels" else geometry
            elif role in LAYER_ROLES:
                parse_geojson(read_json(path, display), display)
                continue
            elif role == "parcels" and gis.is_layer(cfg["data"]["parcels"]):  # GIS formats, column map, any CRS
                raw, geometry = gis.read_parcels(path, display, cfg["data"]["parcels"],
                                                 cfg["network"]["crs"] if "network" in config else None)
            elif role == "zones" and zones.is_builtin(cfg["data"]["zones"]):  # a shipped zone table
                raw = zones.zones_frame(cfg["data"]["zones"])
            elif path.suffix.lower() in (".geojson", ".json"):
                if role != "parcels":
                    raise ScenarioError("only parcels may be GeoJSON; use CSV", file=display)
                raw, geoms = read_geojson_raw(path, display)
                geometry = tuple(geoms)
                raw.attrs["row_kind"] = "feature"
            else:
                raw = read_csv_raw(path, display)
                raw.attrs["row_kind"] = "row"
        raw.attrs.setdefault("display", display)
        frames[role] = raw
    frames.update(neighbours.read_frames(folder, cfg, _inside))  # adjacency, synergy, separation tables
    with gis.layer_field_names(frames["parcels"].attrs):  # errors name a mapped layer field by its own name
        sc = build_scenario(config, frames, folder=folder, geometry=geometry,
                            subareas_path=paths["subareas"][0] if "subareas" in paths else None,
                            basemap_path=paths["basemap"][0] if "basemap" in paths else None,
                            whole=None if part is None else part.whole)
    return gis.warnings_in_field_names(sc, frames["parcels"].attrs)


@contextmanager
def _named_by(role: str):
    """An error about a whole file (no row, no field) also names the scenario.toml key that names the file."""
    try:
        yield
    except ScenarioError as exc:
        if exc.row is None and exc.field is None and exc.file:
            raise ScenarioError(f"{exc.message} (named by data.{role} in {TOML})", file=exc.file) from None
        raise


def build_scenario(
    config: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    folder: Path | None = None,
    geometry: tuple | None = None,
    subareas_path: Path | None = None,
    basemap_path: Path | None = None,
    whole: Any = None,
) -> Scenario:
    """Validate in-memory tables (as read from files, or made by a generator) into a Scenario.

    `frames` maps roles (parcels, industries, compatibility, pairs, zones, nodes, edges) to DataFrames whose cells
    may be text or numbers; `config` is the parsed scenario.toml (its [data] table is not needed here).

    `whole` (chunked loading, optimizer.scenario.chunks): the parcels are a chunk of a larger parcel file, and
    `whole` tells what the whole file holds: `subareas` (rules that name a sub-area are checked against them) and
    `origin` (lon, lat of the local-metres projection: the whole file's mean; None for local_m). What only the
    whole file can tell is left out: the zone warnings, and the network's axis-order, degrees-as-metres and
    nodes-far-from-every-parcel checks.
    """
    cfg = check_config(config)
    for role in ("parcels", "industries"):
        if role not in frames:
            raise ScenarioError(f"no {role} table", file=f"{role}.csv")
    if ("nodes" in frames) != ("edges" in frames):
        raise ScenarioError("a network needs both nodes and edges", file=TOML, field="data.nodes")
    src = {role: Source(df.attrs.get("display", f"{role}.csv"), df.attrs.get("row_kind", "row"))
           for role, df in frames.items()}

    def prep(role: str) -> pd.DataFrame:
        """Cells as read: text from files; generators may pass numeric or bool columns, kept as they are."""
        df = frames[role]
        out = df.copy()
        for c in df.columns:
            if c != ROW and not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
                out[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
        return out.rename(columns=str)

    notes: list[str] = list(frames["parcels"].attrs.get("notes", ()))  # e.g. a layer's areas off their polygons
    parcels = _parcels(prep("parcels"), src["parcels"], geometry)
    industries = validate_frame(prep("industries"), src["industries"].display, schema.INDUSTRY_COLUMNS,
                                unique="industry_id", extra=schema.METRIC_COLUMN,
                                extra_ok=lambda c: c.endswith(schema.METRIC_SUFFIX) and c != "output_per_m2")
    _not_empty(industries, src["industries"], "industry")
    _check_min_le_max(industries, src["industries"], [
        ("far_min", "far_max"), ("min_floor_total_m2", "max_floor_total_m2"), ("min_share", "max_share"),
        ("min_sites", "max_sites"),
    ])

    compat, compat_src, compat_field = _compatibility(frames, prep, src, industries)
    if "zones" in frames:
        zones = validate_frame(prep("zones"), src["zones"].display, schema.ZONE_COLUMNS, unique="code")
        _not_empty(zones, src["zones"], "zone")
        checks.check_zone_codes(zones, src["zones"], [
            (parcels["zone"], parcels[ROW].to_numpy(), src["parcels"], "zone"),
            (compat["zone"], compat[ROW].to_numpy(), compat_src, compat_field),
        ])
    if whole is None:
        notes += checks.zone_warnings(parcels, src["parcels"], compat, compat_src, compat_field)
    compat = compat[["zone", "industry_id"]].drop_duplicates().reset_index(drop=True)
    pairs = _pairs(prep("pairs"), src["pairs"], parcels, industries) if "pairs" in frames else None

    subareas = set(parcels["subarea"].unique()) if whole is None else set(whole.subareas)
    rules = _rules(cfg, set(industries["industry_id"]), subareas, industries)
    network, access = None, None
    if "nodes" in frames:
        network, access = _network(cfg, prep("nodes"), prep("edges"), src, parcels, rules, notes, whole=whole)
    else:
        _without_network(cfg, "network" in config, parcels, src["parcels"], rules, notes)
    check_existing(parcels, src["parcels"], industries, compat, rules, access, pairs)
    lonlat = "nodes" not in frames and "network" in config and cfg["network"]["crs"] == "EPSG:4326"
    graph = neighbours.build_neighbours(cfg, frames, prep, src, parcels, industries, geometry, lonlat)

    objective = _objective(cfg, industries)
    phases, phasing = read_phases(config, cfg, industries, objective.kind)
    sc = cfg["scenario"]
    sol = cfg["solver"]
    return Scenario(
        name=sc["name"], parcels=parcels, industries=industries, compatibility=compat, pairs=pairs,
        network=network, access=access, rules=rules,
        objective=objective, phases=phases, phasing=phasing,
        solver=SolverDefaults(name=sol["name"], time_limit_s=sol["time_limit_s"], mip_gap=sol["mip_gap"],
                              threads=sol["threads"],
                              work_limit_s=None if np.isnan(sol["work_limit_s"]) else float(sol["work_limit_s"])),
        description=sc["description"], assumptions=sc["assumptions"], total_area_km2=sc["total_area_km2"],
        folder=folder, geometry=geometry, subareas_path=subareas_path, basemap_path=basemap_path,
        files={role: s.display for role, s in src.items()}, warnings=tuple(notes),
        parcel_crs=frames["parcels"].attrs.get("crs", ""), output_crs=frames["parcels"].attrs.get("output_crs", ""),
        neighbours=graph,
    )


def _objective(cfg: dict, industries: pd.DataFrame) -> Objective:
    """[objective] with its weights and floors checked against the KPIs and metrics the scenario has."""
    from optimizer.data import WEIGHT_UNITS

    obj = cfg["objective"]
    kind = "total_output" if obj["kind"] == "total" else obj["kind"]
    metrics = [c[: -len("_per_m2")] for c in industries.columns
               if c.endswith("_per_m2") and c != "output_per_m2"]
    weights, metric_min = cfg["objective.weights"], cfg["objective.metric_min"]
    for name in weights:
        if name not in WEIGHT_UNITS and name not in metrics:
            raise ScenarioError(f"unknown KPI (choose {', '.join([*WEIGHT_UNITS, *metrics])})", file=TOML,
                                field=f"objective.weights.{name}")
    for name in metric_min:
        if name not in metrics or name == "jobs":
            have = ", ".join(m for m in metrics if m != "jobs") or "none"
            raise ScenarioError(f"unknown metric (industries.csv has: {have}; jobs take objective.min_jobs)",
                                file=TOML, field=f"objective.metric_min.{name}")
    if kind == "weighted" and not weights:
        raise ScenarioError('a weighted objective needs [objective.weights], e.g. output = 1.0, jobs = 50000',
                            file=TOML, field="objective.weights")
    if kind != "weighted" and weights:
        raise ScenarioError('weights apply only to kind = "weighted"', file=TOML, field="objective.weights")
    if kind == "output_per_land" and obj["sense"] != "maximize":
        raise ScenarioError("output per land is maximised: sense must be 'maximize'", file=TOML,
                            field="objective.sense")
    return Objective(sense=obj["sense"], cost_weight=obj["cost_weight"], kind=kind, weights=dict(weights),
                     min_total_output_yuan=obj["min_total_output_yuan"], min_jobs=obj["min_jobs"],
                     metric_min=dict(metric_min))


# --- tables ---------------------------------------------------------------------------------------------------
def _parcels(raw: pd.DataFrame, src: Source, geometry: tuple | None, unique: bool = True) -> pd.DataFrame:
    """`unique`: check that parcel ids are unique (a scan of a parcel file in blocks checks them across blocks)."""
    _not_empty(raw, src, "parcel")
    parcels = validate_frame(raw, src.display, schema.PARCEL_COLUMNS, row_kind=src.row_kind,
                             unique="parcel_id" if unique else None, extra_ok=lambda c: c == "geometry")
    if geometry is not None:
        import shapely

        if len(geometry) != len(parcels):
            raise src.error(f"{len(geometry)} geometries for {len(parcels)} parcels")
        with warnings.catch_warnings():  # degenerate polygons: GEOS falls back to a line or point centroid
            warnings.simplefilter("ignore")
            centroid = shapely.centroid(np.array(geometry, dtype=object))  # None -> NaN
        for axis, get in (("x", shapely.get_x), ("y", shapely.get_y)):
            parcels[axis] = np.where(np.isnan(parcels[axis]), get(centroid), parcels[axis])
        no_place = np.array([g is None for g in geometry]) & (parcels["x"].isna() | parcels["y"].isna()).to_numpy()
        if no_place.any():
            i = int(np.argmax(no_place))
            raise src.error("no geometry and no x, y properties: a parcel needs a Polygon or MultiPolygon, or x and y",
                            row=int(parcels[ROW].iloc[i]), field="geometry")
    return parcels


def _compatibility(frames: dict[str, pd.DataFrame], prep, src: dict[str, Source],
                   industries: pd.DataFrame) -> tuple[pd.DataFrame, Source, str]:
    """The long table (zone, industry_id, _row) from the compatibility file or else from allowed_zones, with the
    source and field its rows point at."""
    if "compatibility" not in frames:
        return _allowed_zones(industries, src["industries"]), src["industries"], "allowed_zones"
    compat = validate_frame(prep("compatibility"), src["compatibility"].display, schema.COMPAT_COLUMNS)
    _not_empty(compat, src["compatibility"], "compatibility")
    _check_refs(compat, "industry_id", industries["industry_id"], src["compatibility"], "industry")
    return compat, src["compatibility"], "zone"


def _allowed_zones(industries: pd.DataFrame, src: Source) -> pd.DataFrame:
    """The long table (zone, industry_id, _row) from the `;`-separated allowed_zones of industries."""
    no_zones = (industries["allowed_zones"].str.replace(";", "").str.strip() == "").to_numpy()
    if no_zones.any():
        i = int(np.argmax(no_zones))
        raise src.error("no allowed zones (give allowed_zones or a compatibility file)",
                        row=int(industries[ROW].iloc[i]), field="allowed_zones")
    zones = industries["allowed_zones"].str.split(";")
    n = zones.str.len().to_numpy()
    compat = pd.DataFrame({"zone": np.concatenate(zones.to_numpy()).astype(str),
                           "industry_id": industries["industry_id"].to_numpy().repeat(n),
                           ROW: industries[ROW].to_numpy().repeat(n)})
    compat["zone"] = compat["zone"].str.strip()
    return compat[compat["zone"] != ""].reset_index(drop=True)


def _pairs(raw: pd.DataFrame, src: Source, parcels: pd.DataFrame, industries: pd.DataFrame) -> pd.DataFrame:
    pairs = validate_frame(raw, src.display, schema.PAIR_COLUMNS)
    _check_refs(pairs, "parcel_id", parcels["parcel_id"], src, "parcel")
    _check_refs(pairs, "industry_id", industries["industry_id"], src, "industry")
    dup = pairs.duplicated(["parcel_id", "industry_id"]).to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise src.error("duplicate (parcel_id, industry_id) pair", row=int(pairs[ROW].iloc[i]), field="industry_id")
    return pairs


def _not_empty(df: pd.DataFrame, src: Source, what: str) -> None:
    if len(df) == 0:
        raise src.error(f"the {what} table is empty")


def _check_refs(df: pd.DataFrame, col: str, known: pd.Series, src: Source, what: str) -> None:
    unknown = ~df[col].isin(known).to_numpy()
    if unknown.any():
        i = int(np.argmax(unknown))
        value = str(df[col].iloc[i])
        raise src.error(f"unknown {what} '{value}'{_suggest(value, known)}", row=int(df[ROW].iloc[i]), field=col)


def _suggest(value: Any, known) -> str:
    close = difflib.get_close_matches(str(value), sorted(set(map(str, known))), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_min_le_max(df: pd.DataFrame, src: Source, pairs: list[tuple[str, str]]) -> None:
    for lo, hi in pairs:
        bad = (df[lo] > df[hi]).to_numpy()  # NaN compares False
        if bad.any():
            i = int(np.argmax(bad))
            raise src.error(f"{lo} ({df[lo].iloc[i]:g}) is above {hi} ({df[hi].iloc[i]:g})",
                            row=int(df[ROW].iloc[i]), field=lo)


def _inside(folder: Path, rel: str, field: str) -> tuple[Path, str]:
    """The data file `rel` (relative to the folder, staying inside it) and its display name."""
    if "\0" in rel:
        raise ScenarioError("the path contains a NUL character", file=TOML, field=field)
    display = Path(os.path.normpath(rel)).as_posix()
    try:
        base = folder.resolve()
        path = (base / rel).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ScenarioError(f"{os_reason(exc)} (named by {field} in {TOML})", file=display) from None
    if Path(rel).is_absolute() or not path.is_relative_to(base):
        raise ScenarioError(f"data path '{rel}' leaves the scenario folder", file=TOML, field=field)
    return path, display


# --- rules ----------------------------------------------------------------------------------------------------
def _industry_ref(value: str, known: set, field: str) -> str:
    if value not in known:
        raise ScenarioError(f"unknown industry '{value}'{_suggest(value, known)}", file=TOML, field=field)
    return value


def _rules(cfg: dict[str, Any], ind_ids: set, subareas: set, industries: pd.DataFrame) -> Rules:
    ind_budget = {_industry_ref(k, ind_ids, f"rules.industry_budget_yuan.{k}"): v
                  for k, v in cfg["rules.industry_budget_yuan"].items()}

    access = []
    for i, r in enumerate(cfg["access_rules"], start=1):
        where = f"access_rules[{i}]"
        industry = _industry_ref(r["industry"], ind_ids, f"{where}.industry")
        if r["max_minutes"] == np.inf and r["decay_per_min"] == 0.0:
            raise ScenarioError("give max_minutes or decay_per_min (a rule with neither has no effect)", file=TOML,
                                field=where)
        access.append(AccessRule(industry, r["node_type"], r["max_minutes"], r["decay_per_min"]))

    def subarea_ref(value: str, field: str) -> str:
        if value not in subareas:
            raise ScenarioError(f"unknown sub-area '{value}' (no parcel has it){_suggest(value, subareas)}",
                                file=TOML, field=field)
        return value

    mix = []
    for i, r in enumerate(cfg["subarea_mix"], start=1):
        where = f"subarea_mix[{i}]"
        industry = "" if r["industry"] in ("", "*") else _industry_ref(r["industry"], ind_ids, f"{where}.industry")
        m = SubareaMix(subarea_ref(r["subarea"], f"{where}.subarea"), industry, r["min_share"], r["max_share"],
                       r["min_floor_m2"], r["max_floor_m2"])
        if all(np.isnan(v) for v in (m.min_share, m.max_share, m.min_floor_m2, m.max_floor_m2)):
            raise ScenarioError("give min_share, max_share, min_floor_m2 or max_floor_m2", file=TOML, field=where)
        if not industry and not (np.isnan(m.min_share) and np.isnan(m.max_share)):
            raise ScenarioError("shares need an industry (a rule for all industries takes min_floor_m2 / "
                                "max_floor_m2)", file=TOML, field=f"{where}.industry")
        if m.min_share > m.max_share:
            raise ScenarioError("min_share is above max_share", file=TOML, field=f"{where}.min_share")
        if m.min_floor_m2 > m.max_floor_m2:
            raise ScenarioError("min_floor_m2 is above max_floor_m2", file=TOML, field=f"{where}.min_floor_m2")
        mix.append(m)

    allow = []
    for i, r in enumerate(cfg["subarea_allow"], start=1):
        where = f"subarea_allow[{i}]"
        allow.append(SubareaAllow(subarea_ref(r["subarea"], f"{where}.subarea"),
                                  tuple(_industry_ref(k, ind_ids, f"{where}.industries") for k in r["industries"])))

    metrics = []
    metric_names = [c[: -len(schema.METRIC_SUFFIX)] for c in industries.columns if c.endswith(schema.METRIC_SUFFIX)
                    and c != "output_per_m2"]
    for i, r in enumerate(cfg["metric_rules"], start=1):
        where = f"metric_rules[{i}]"
        if r["metric"] not in metric_names:
            raise ScenarioError(f"unknown metric '{r['metric']}' (industries.csv needs a column "
                                f"{r['metric']}_per_m2){_suggest(r['metric'], metric_names)}", file=TOML,
                                field=f"{where}.metric")
        m = MetricRule(r["metric"], r["min"], r["max"],
                       tuple(_industry_ref(k, ind_ids, f"{where}.industries") for k in r["industries"]))
        if np.isnan(m.min) and np.isnan(m.max):
            raise ScenarioError("give min or max", file=TOML, field=where)
        if m.min > m.max:
            raise ScenarioError("min is above max", file=TOML, field=f"{where}.min")
        metrics.append(m)
    return Rules(cfg["rules"]["total_budget_yuan"], ind_budget, tuple(access), tuple(mix), tuple(allow),
                 tuple(metrics))


# --- network --------------------------------------------------------------------------------------------------
def _without_network(cfg: dict[str, Any], has_table: bool, parcels: pd.DataFrame, src: Source, rules: Rules,
                     notes: list[str]) -> None:
    """No nodes: no access rules; parcel x, y checked against [network] crs if given (else as metres)."""
    if rules.access_rules:
        raise ScenarioError("access rules need a transport network (data.nodes and data.edges)", file=TOML,
                            field="access_rules")
    px, py, rows = parcels["x"].to_numpy(float), parcels["y"].to_numpy(float), parcels[ROW].to_numpy()
    if has_table and cfg["network"]["crs"] == "EPSG:4326":
        checks.check_lonlat(px, py, rows, src)
    else:
        checks.check_metres(px, py, rows, src, declared=has_table)
    if has_table:
        notes.append(f"{TOML}, [network]: has no effect without data.nodes and data.edges (only its crs is used, "
                     "to check the parcels' x and y)")
    parcels["x_m"], parcels["y_m"] = parcels["x"], parcels["y"]


def _network(cfg: dict[str, Any], raw_nodes: pd.DataFrame, raw_edges: pd.DataFrame, src: dict[str, Source],
             parcels: pd.DataFrame, rules: Rules, notes: list[str], whole: Any = None) -> tuple[Network, pd.DataFrame]:
    """Nodes and edges validated, coordinates checked and projected (parcels get x_m, y_m), access times.

    `whole`: the parcels are a chunk of the file `whole` scanned (build_scenario): its origin is used and the
    checks that need every parcel are left to it."""
    from optimizer import network as netmod

    net = cfg["network"]
    crs = net["crs"]
    nodes = validate_frame(raw_nodes, src["nodes"].display, schema.NODE_COLUMNS, unique="node_id")
    _not_empty(nodes, src["nodes"], "node")
    edges = validate_frame(raw_edges, src["edges"].display, schema.EDGE_COLUMNS)
    _check_refs(edges, "from_node", nodes["node_id"], src["edges"], "node")
    _check_refs(edges, "to_node", nodes["node_id"], src["edges"], "node")
    nocoord = (parcels["x"].isna() | parcels["y"].isna()).to_numpy()
    if nocoord.any():
        i = int(np.argmax(nocoord))
        raise src["parcels"].error("a network needs parcel coordinates (x, y or geometry)",
                                   row=int(parcels[ROW].iloc[i]), field="x")
    px, py = parcels["x"].to_numpy(float), parcels["y"].to_numpy(float)
    nx_, ny_ = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
    if crs == "EPSG:4326":
        checks.check_lonlat(px, py, parcels[ROW].to_numpy(), src["parcels"])
        checks.check_lonlat(nx_, ny_, nodes[ROW].to_numpy(), src["nodes"])
        if whole is None:
            checks.check_axis_order(parcels, nodes, src["nodes"])
        lon0, lat0 = (float(np.mean(px)), float(np.mean(py))) if whole is None else whole.origin
        px, py = netmod.to_local_metres(px, py, lon0, lat0)
        nx_, ny_ = netmod.to_local_metres(nx_, ny_, lon0, lat0)
    else:
        checks.check_metres(px, py, parcels[ROW].to_numpy(), src["parcels"], declared=True)
        checks.check_metres(nx_, ny_, nodes[ROW].to_numpy(), src["nodes"], declared=True)
        if whole is None:
            checks.check_local_metres(parcels, nodes, src["parcels"])
    parcels["x_m"], parcels["y_m"] = px, py
    nodes["x_m"], nodes["y_m"] = nx_, ny_
    notes += checks.check_far(parcels, src["parcels"], nodes, src["nodes"], nodes_far=whole is None)
    network = Network(nodes=nodes, edges=edges, crs=crs, access_speed_kmh=net["access_speed_kmh"],
                      access_links=net["access_links"], detour_factor=net["detour_factor"])
    try:
        access = netmod.access_times(
            np.column_stack([px, py]), nodes[["node_id", "type", "x_m", "y_m"]],
            edges[["from_node", "to_node", "speed_kmh", "length_m"]],
            network.access_speed_kmh, network.access_links, network.detour_factor,
        )
    except ValueError as exc:
        raise ScenarioError(str(exc), file=src["edges"].display) from None
    types = set(nodes["type"])
    for i, r in enumerate(rules.access_rules, start=1):
        if r.node_type not in types:
            raise ScenarioError(f"no network node has type '{r.node_type}' (types: {', '.join(sorted(types))})"
                                f"{_suggest(r.node_type, types)}", file=TOML, field=f"access_rules[{i}].node_type")
    return network, access
