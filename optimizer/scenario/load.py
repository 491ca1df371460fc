"""load_scenario(folder): scenario.toml + data files -> a validated Scenario, or a ScenarioError."""

from __future__ import annotations

import sys
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
from optimizer.scenario import schema
from optimizer.scenario.readers import ROW, read_csv_raw, read_geojson_raw, validate_frame

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOML = "scenario.toml"
DATA_ROLES = ("parcels", "industries", "compatibility", "pairs", "nodes", "edges", "subareas", "basemap")
SOLVER_NAMES = ("highs", "cbc", "lagrange", "auto")


def load_scenario(folder: str | Path) -> Scenario:
    """Read and validate the scenario folder `folder` (holding scenario.toml)."""
    folder = Path(folder)
    toml_path = folder / TOML
    if not folder.is_dir():
        raise ScenarioError("scenario folder not found", file=str(folder))
    if not toml_path.is_file():
        raise ScenarioError("file not found (a scenario folder needs a scenario.toml)", file=str(toml_path))
    try:
        config = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"unreadable TOML ({exc})", file=TOML) from None
    data = _section(config, "data")
    paths: dict[str, Path] = {}
    for role, rel in data.items():
        if role not in DATA_ROLES:
            raise ScenarioError(f"unknown data entry (expected one of {', '.join(DATA_ROLES)})",
                                file=TOML, field=f"data.{role}")
        paths[role] = _inside(folder, rel, f"data.{role}")
    for role in ("parcels", "industries"):
        if role not in paths:
            raise ScenarioError("required entry missing", file=TOML, field=f"data.{role}")
    if ("nodes" in paths) != ("edges" in paths):
        raise ScenarioError("a network needs both nodes and edges", file=TOML, field="data.nodes")

    frames: dict[str, pd.DataFrame] = {}
    geometry = None
    for role in ("parcels", "industries", "compatibility", "pairs", "nodes", "edges"):
        if role not in paths:
            continue
        path = paths[role]
        display = path.relative_to(folder.resolve()).as_posix()
        if not path.is_file():
            raise ScenarioError("file not found", file=display, field=None)
        if path.suffix.lower() in (".geojson", ".json"):
            if role != "parcels":
                raise ScenarioError("only parcels may be GeoJSON; use CSV", file=display)
            raw, geoms = read_geojson_raw(path, display)
            geometry = tuple(geoms)
            raw.attrs["row_kind"] = "feature"
        else:
            raw = read_csv_raw(path, display)
            raw.attrs["row_kind"] = "row"
        raw.attrs["display"] = display
        frames[role] = raw
    for role in ("subareas", "basemap"):
        if role in paths and not paths[role].is_file():
            raise ScenarioError("file not found", file=paths[role].relative_to(folder.resolve()).as_posix())
    return build_scenario(config, frames, folder=folder, geometry=geometry,
                          subareas_path=paths.get("subareas"), basemap_path=paths.get("basemap"))


def build_scenario(
    config: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    folder: Path | None = None,
    geometry: tuple | None = None,
    subareas_path: Path | None = None,
    basemap_path: Path | None = None,
) -> Scenario:
    """Validate in-memory tables (as read from files, or made by a generator) into a Scenario.

    `frames` maps roles (parcels, industries, compatibility, pairs, nodes, edges) to DataFrames whose cells may
    be text or numbers; `config` is the parsed scenario.toml.
    """
    def disp(role: str) -> str:
        f = frames[role]
        return f.attrs.get("display", f"{role}.csv")

    def kind(role: str) -> str:
        return frames[role].attrs.get("row_kind", "row")

    def prep(role: str) -> pd.DataFrame:
        """Cells as read: text from files; generators may pass numeric or bool columns, kept as they are."""
        df = frames[role]
        out = df.copy()
        for c in df.columns:
            if c != ROW and not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
                out[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
        out.attrs = dict(df.attrs)
        return out

    sc = _section(config, "scenario")
    name = str(sc.get("name") or (folder.name if folder else "scenario"))
    assumptions = sc.get("assumptions", [])
    if not isinstance(assumptions, list):
        raise ScenarioError("must be a list of strings", file=TOML, field="scenario.assumptions")

    parcels = validate_frame(prep("parcels"), disp("parcels"), schema.PARCEL_COLUMNS, row_kind=kind("parcels"),
                             unique="parcel_id", extra_ok=lambda c: c == "geometry")
    if len(parcels) == 0:
        raise ScenarioError("the parcel table is empty", file=disp("parcels"))
    bad = (parcels["area_m2"] <= 0).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ScenarioError("area must be greater than 0", file=disp("parcels"), row=int(parcels[ROW].iloc[i]),
                            field="area_m2", row_kind=kind("parcels"))
    if geometry is not None:
        cx = np.array([g.centroid.x if g is not None else np.nan for g in geometry])
        cy = np.array([g.centroid.y if g is not None else np.nan for g in geometry])
        parcels["x"] = np.where(np.isnan(parcels["x"]), cx, parcels["x"])
        parcels["y"] = np.where(np.isnan(parcels["y"]), cy, parcels["y"])

    industries = validate_frame(
        prep("industries"), disp("industries"), schema.INDUSTRY_COLUMNS, unique="industry_id",
        extra_ok=lambda c: c.endswith(schema.METRIC_SUFFIX) and c != "output_per_m2",
    )
    if len(industries) == 0:
        raise ScenarioError("the industry table is empty", file=disp("industries"))
    _check_min_le_max(industries, disp("industries"), [
        ("far_min", "far_max"), ("min_floor_total_m2", "max_floor_total_m2"), ("min_share", "max_share"),
        ("min_sites", "max_sites"),
    ])
    ind_ids = set(industries["industry_id"])

    if "compatibility" in frames:
        compat = validate_frame(prep("compatibility"), disp("compatibility"), schema.COMPAT_COLUMNS)
        unknown = ~compat["industry_id"].isin(ind_ids).to_numpy()
        if unknown.any():
            i = int(np.argmax(unknown))
            raise ScenarioError(f"unknown industry '{compat['industry_id'].iloc[i]}'", file=disp("compatibility"),
                                row=int(compat[ROW].iloc[i]), field="industry_id")
        compat = compat[["zone", "industry_id"]].drop_duplicates().reset_index(drop=True)
    else:
        no_zones = (industries["allowed_zones"] == "").to_numpy()
        if no_zones.any():
            i = int(np.argmax(no_zones))
            raise ScenarioError("no allowed zones (give allowed_zones or a compatibility file)",
                                file=disp("industries"), row=int(industries[ROW].iloc[i]), field="allowed_zones")
        zones = industries["allowed_zones"].str.split(";")
        compat = pd.DataFrame({"industry_id": industries["industry_id"].repeat(zones.str.len()).to_numpy(),
                               "zone": np.concatenate(zones.to_numpy()).astype(str)})
        compat["zone"] = compat["zone"].str.strip()
        compat = compat[compat["zone"] != ""][["zone", "industry_id"]].drop_duplicates().reset_index(drop=True)

    pairs = None
    if "pairs" in frames:
        pairs = validate_frame(prep("pairs"), disp("pairs"), schema.PAIR_COLUMNS)
        _check_refs(pairs, "parcel_id", set(parcels["parcel_id"]), disp("pairs"), "parcel")
        _check_refs(pairs, "industry_id", ind_ids, disp("pairs"), "industry")
        dup = pairs.duplicated(["parcel_id", "industry_id"]).to_numpy()
        if dup.any():
            i = int(np.argmax(dup))
            raise ScenarioError("duplicate (parcel_id, industry_id) pair", file=disp("pairs"),
                                row=int(pairs[ROW].iloc[i]), field="industry_id")

    rules = _rules(config, ind_ids, set(parcels["subarea"]), industries)
    objective = _objective(config)
    solver = _solver(config)

    network = None
    access = None
    if "nodes" in frames:
        net_cfg = _section(config, "network")
        crs = str(net_cfg.get("crs", "EPSG:4326"))
        if crs not in ("EPSG:4326", "local_m"):
            raise ScenarioError("crs must be 'EPSG:4326' or 'local_m'", file=TOML, field="network.crs")
        nodes = validate_frame(prep("nodes"), disp("nodes"), schema.NODE_COLUMNS, unique="node_id")
        edges = validate_frame(prep("edges"), disp("edges"), schema.EDGE_COLUMNS)
        node_ids = set(nodes["node_id"])
        _check_refs(edges, "from_node", node_ids, disp("edges"), "node")
        _check_refs(edges, "to_node", node_ids, disp("edges"), "node")
        nocoord = (parcels["x"].isna() | parcels["y"].isna()).to_numpy()
        if nocoord.any():
            i = int(np.argmax(nocoord))
            raise ScenarioError("a network needs parcel coordinates (x, y or geometry)", file=disp("parcels"),
                                row=int(parcels[ROW].iloc[i]), field="x", row_kind=kind("parcels"))
        from optimizer import network as netmod

        if crs == "EPSG:4326":
            lon0, lat0 = float(np.mean(parcels["x"])), float(np.mean(parcels["y"]))
            px, py = netmod.to_local_metres(parcels["x"].to_numpy(), parcels["y"].to_numpy(), lon0, lat0)
            nx_, ny_ = netmod.to_local_metres(nodes["x"].to_numpy(), nodes["y"].to_numpy(), lon0, lat0)
        else:
            px, py = parcels["x"].to_numpy(), parcels["y"].to_numpy()
            nx_, ny_ = nodes["x"].to_numpy(), nodes["y"].to_numpy()
        parcels["x_m"], parcels["y_m"] = px, py
        nodes["x_m"], nodes["y_m"] = nx_, ny_
        network = Network(
            nodes=nodes, edges=edges, crs=crs,
            access_speed_kmh=_num(net_cfg, "access_speed_kmh", 12.0, "network", lo=1e-9),
            access_links=int(_num(net_cfg, "access_links", 3, "network", lo=1)),
            detour_factor=_num(net_cfg, "detour_factor", 1.3, "network", lo=1.0),
        )
        try:
            access = netmod.access_times(
                np.column_stack([px, py]), nodes[["node_id", "type", "x_m", "y_m"]],
                edges[["from_node", "to_node", "speed_kmh", "length_m"]],
                network.access_speed_kmh, network.access_links, network.detour_factor,
            )
        except ValueError as exc:
            raise ScenarioError(str(exc), file=disp("edges")) from None
        types = set(nodes["type"])
        for i, r in enumerate(rules.access_rules):
            if r.node_type not in types:
                raise ScenarioError(f"no network node has type '{r.node_type}' (types: {', '.join(sorted(types))})",
                                    file=TOML, field=f"access_rules[{i + 1}].node_type")
    else:
        parcels["x_m"], parcels["y_m"] = parcels["x"], parcels["y"]
        if rules.access_rules:
            raise ScenarioError("access rules need a transport network (data.nodes and data.edges)",
                                file=TOML, field="access_rules")

    files = {role: frames[role].attrs.get("display", f"{role}.csv") for role in frames}
    return Scenario(
        name=name, parcels=parcels, industries=industries, compatibility=compat, pairs=pairs,
        network=network, access=access, rules=rules, objective=objective, solver=solver,
        description=str(sc.get("description", "")), assumptions=tuple(str(a) for a in assumptions),
        total_area_km2=_opt(sc, "total_area_km2", "scenario", lo=1e-12),
        folder=folder, geometry=geometry, subareas_path=subareas_path, basemap_path=basemap_path, files=files,
    )


# ---------------------------------------------------------------------------------------------------------
def _section(config: dict, key: str) -> dict:
    value = config.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError("must be a table", file=TOML, field=key)
    return value


def _inside(folder: Path, rel: Any, field: str) -> Path:
    if not isinstance(rel, str) or not rel:
        raise ScenarioError("must be a relative file path", file=TOML, field=field)
    base = folder.resolve()
    path = (base / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(base):
        raise ScenarioError(f"data path '{rel}' leaves the scenario folder", file=TOML, field=field)
    return path


def _num(cfg: dict, key: str, default: float, where: str, lo: float | None = None, hi: float | None = None) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ScenarioError("must be a number", file=TOML, field=f"{where}.{key}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"
        raise ScenarioError(f"must lie in {rng} (got {value:g})", file=TOML, field=f"{where}.{key}")
    return float(value)


def _opt(cfg: dict, key: str, where: str, lo: float | None = 0.0, hi: float | None = None) -> float:
    return _num(cfg, key, np.nan, where, lo, hi) if key in cfg else np.nan


def _check_refs(df: pd.DataFrame, col: str, known: set, display: str, what: str) -> None:
    unknown = ~df[col].isin(known).to_numpy()
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ScenarioError(f"unknown {what} '{df[col].iloc[i]}'", file=display, row=int(df[ROW].iloc[i]), field=col)


def _check_min_le_max(df: pd.DataFrame, display: str, pairs: list[tuple[str, str]]) -> None:
    for lo, hi in pairs:
        bad = (df[lo] > df[hi]).to_numpy()  # NaN compares False
        if bad.any():
            i = int(np.argmax(bad))
            raise ScenarioError(f"{lo} ({df[lo].iloc[i]:g}) is above {hi} ({df[hi].iloc[i]:g})", file=display,
                                row=int(df[ROW].iloc[i]), field=lo)


def _industry_ref(value: Any, known: set, field: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise ScenarioError(f"unknown industry '{value}'", file=TOML, field=field)
    return value


def _table_list(config: dict, key: str) -> list[dict]:
    value = config.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError("must be an array of tables ([[...]])", file=TOML, field=key)
    return value


def _rules(config: dict, ind_ids: set, subareas: set, industries: pd.DataFrame) -> Rules:
    rules_cfg = _section(config, "rules")
    for key in rules_cfg:
        if key not in ("total_budget_yuan", "industry_budget_yuan"):
            raise ScenarioError("unknown rule", file=TOML, field=f"rules.{key}")
    total = _opt(rules_cfg, "total_budget_yuan", "rules")
    ib_cfg = rules_cfg.get("industry_budget_yuan", {})
    if not isinstance(ib_cfg, dict):
        raise ScenarioError("must be a table of industry_id = yuan", file=TOML, field="rules.industry_budget_yuan")
    ind_budget = {}
    for k in ib_cfg:
        _industry_ref(k, ind_ids, f"rules.industry_budget_yuan.{k}")
        ind_budget[k] = _num(ib_cfg, k, 0.0, "rules.industry_budget_yuan", lo=0.0)

    access = []
    for i, r in enumerate(_table_list(config, "access_rules"), start=1):
        where = f"access_rules[{i}]"
        ind = _industry_ref(r.get("industry"), ind_ids, f"{where}.industry")
        if not isinstance(r.get("node_type"), str):
            raise ScenarioError("must name a node type", file=TOML, field=f"{where}.node_type")
        access.append(AccessRule(ind, r["node_type"], _num(r, "max_minutes", np.inf, where, lo=0.0)
                                 if "max_minutes" in r else np.inf,
                                 _num(r, "decay_per_min", 0.0, where, lo=0.0)))

    def subarea_ref(value: Any, field: str) -> str:
        if not isinstance(value, str) or value not in subareas:
            raise ScenarioError(f"unknown sub-area '{value}' (no parcel has it)", file=TOML, field=field)
        return value

    mix = []
    for i, r in enumerate(_table_list(config, "subarea_mix"), start=1):
        where = f"subarea_mix[{i}]"
        industry = "" if r.get("industry", "") in ("", "*") else _industry_ref(r.get("industry"), ind_ids,
                                                                                 f"{where}.industry")
        m = SubareaMix(subarea_ref(r.get("subarea"), f"{where}.subarea"), industry,
                       _opt(r, "min_share", where, 0.0, 1.0), _opt(r, "max_share", where, 0.0, 1.0),
                       _opt(r, "min_floor_m2", where), _opt(r, "max_floor_m2", where))
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
    for i, r in enumerate(_table_list(config, "subarea_allow"), start=1):
        where = f"subarea_allow[{i}]"
        inds = r.get("industries")
        if not isinstance(inds, list):
            raise ScenarioError("must be a list of industry ids", file=TOML, field=f"{where}.industries")
        allow.append(SubareaAllow(subarea_ref(r.get("subarea"), f"{where}.subarea"),
                                  tuple(_industry_ref(k, ind_ids, f"{where}.industries") for k in inds)))

    metrics = []
    for i, r in enumerate(_table_list(config, "metric_rules"), start=1):
        where = f"metric_rules[{i}]"
        metric = r.get("metric")
        if not isinstance(metric, str) or f"{metric}_per_m2" not in industries.columns:
            raise ScenarioError(f"unknown metric '{metric}' (industries.csv needs a column {metric}_per_m2)",
                                file=TOML, field=f"{where}.metric")
        inds = r.get("industries", [])
        if not isinstance(inds, list):
            raise ScenarioError("must be a list of industry ids", file=TOML, field=f"{where}.industries")
        m = MetricRule(metric, _opt(r, "min", where), _opt(r, "max", where),
                       tuple(_industry_ref(k, ind_ids, f"{where}.industries") for k in inds))
        if np.isnan(m.min) and np.isnan(m.max):
            raise ScenarioError("give min or max", file=TOML, field=where)
        if m.min > m.max:
            raise ScenarioError("min is above max", file=TOML, field=f"{where}.min")
        metrics.append(m)
    return Rules(total, ind_budget, tuple(access), tuple(mix), tuple(allow), tuple(metrics))


def _objective(config: dict) -> Objective:
    cfg = _section(config, "objective")
    sense = cfg.get("sense", "maximize")
    if sense not in ("maximize", "minimize"):
        raise ScenarioError("must be 'maximize' or 'minimize'", file=TOML, field="objective.sense")
    kind = cfg.get("kind", "total")
    if kind != "total":
        raise ScenarioError("only the 'total' objective is supported", file=TOML, field="objective.kind")
    return Objective(sense=sense, cost_weight=_num(cfg, "cost_weight", 0.0, "objective", lo=0.0))


def _solver(config: dict) -> SolverDefaults:
    cfg = _section(config, "solver")
    name = cfg.get("name", "highs")
    if name not in SOLVER_NAMES:
        raise ScenarioError(f"unknown solver '{name}' (choose {' or '.join(SOLVER_NAMES)})", file=TOML,
                            field="solver.name")
    return SolverDefaults(
        name=name,
        time_limit_s=_num(cfg, "time_limit_s", 60.0, "solver", lo=0.0),
        mip_gap=_num(cfg, "mip_gap", 1e-4, "solver", lo=0.0, hi=1.0),
        threads=int(_num(cfg, "threads", 0, "solver", lo=0)),
    )
