"""`landuse init PARCEL_LAYER --out SCENARIO`: a scenario folder scaffolded from a parcel layer.

It reads the layer (GeoPackage, Shapefile, GeoParquet, FlatGeobuf, File Geodatabase or GeoJSON), finds the
fields that hold the parcel id, the zone code, the FAR cap, the area and the sub-area by their names (English,
Chinese such as 地块编号 / 用地代码 / 容积率, or pinyin abbreviations such as DKBH / YDDM / RJL) and by their
contents, matches the zone codes against the shipped zone tables (GB 50137-2011, the 2020 territorial-space
classification), and writes:

- the layer itself (copied unchanged: the scenario folder holds every file it names);
- scenario.toml, commented, reading the layer through a column map of its own field names;
- industries.csv, template industries the zone table suggests for the layer's codes, with placeholder figures;
- init_report.md: what was found, how, and what is left for the planner to decide.

The folder is written by the same rules as every output (optimizer.report.write): whole or not at all, a new or
empty folder or an earlier scaffold, never over files the tool did not write; an earlier scaffold that was
edited since is refused too, so that `init` never throws away a planner's edits.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.errors import OutputRefused, ScenarioError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

INIT_OUTPUTS = ("scenario.toml", "industries.csv", "init_report.md", ".landuse-init.json")
REPORT = "init_report.md"
HASHES = ".landuse-init.json"  # sha256 of every file init wrote: an edited scaffold is never replaced
# candidate field names per parcel column, normalised (upper case, no spaces, underscores, dashes, dots or units
# in brackets), most specific first: English, Chinese, pinyin initials (DKBH = 地块编号, YDDM = 用地代码...)
NAMES: dict[str, tuple[str, ...]] = {
    "parcel_id": ("PARCELID", "PARCEL", "DKBH", "地块编号", "DKDM", "地块代码", "地块编码", "DKBM", "地块号", "DKH",
                  "DKID", "ZDBH", "宗地编号", "ZDDM", "宗地代码", "BSM", "标识码", "PID", "ID", "编号", "BH"),
    "zone": ("ZONE", "ZONECODE", "YDDM", "用地代码", "用地性质代码", "YDXZDM", "规划用地代码", "GHYDDM", "用地编码",
             "YDBM", "DLBM", "地类编码", "地类代码", "DLDM", "YDXZ", "用地性质", "规划用地性质", "GHYDXZ", "YDLX",
             "用地类型", "YDLB", "用地类别", "用地分类", "YDFL", "LANDUSE", "LANDUSECODE", "LUCODE", "ZONING"),
    "far_max": ("FARMAX", "FAR", "RJL", "容积率", "容积率上限", "RJLSX", "规划容积率", "GHRJL", "最大容积率", "PLOTRATIO",
                "MAXFAR"),
    "area_m2": ("AREAM2", "YDMJ", "用地面积", "DKMJ", "地块面积", "MJ", "面积", "AREA", "SHAPEAREA"),
    "subarea": ("SUBAREA", "PQ", "片区", "PQMC", "片区名称", "FQ", "分区", "GLDY", "管理单元", "DY", "单元", "JD", "JDMC",
                "街道", "街道名称", "XZQ", "XZQMC", "行政区", "行政区名称", "DISTRICT"),
    "existing_use": ("EXISTINGUSE", "XZYD", "现状用地", "XZYT", "现状用途", "XZDL", "现状地类"),
    "dev_cost_per_m2": ("DEVCOSTPERM2",),
    "must_develop": ("MUSTDEVELOP",),
}
WHY = {"name": "by its name", "content": "by its contents (no field has a known name)", "default": "a default",
       "polygons": "measured from the polygons (equal-area projection)"}


def normalise(name: str) -> str:
    """A field name compared loosely: brackets (units) dropped, upper case, letters, digits and CJK only."""
    name = re.sub(r"[(（\[【].*?[)）\]】]", "", str(name))
    return re.sub(r"[^0-9A-Za-z\u3400-\u9fff]", "", name).upper()


@dataclass
class Detection:
    """What init decided: column -> (field, how), the CRS, the zone table, and what it could not decide."""

    columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    defaults: dict[str, object] = field(default_factory=dict)
    crs: str = ""  # as declared in scenario.toml ("" = the file's own)
    crs_found: str = ""  # the file's CRS, for the report
    zone_table: str | None = None
    zone_shares: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was found
    undecided: list[str] = field(default_factory=list)  # what the planner must decide


# --- detecting fields -----------------------------------------------------------------------------------------
def _numbers(s: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(s):
        return np.full(len(s), np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _by_name(fields: list[str], column: str) -> list[str]:
    """The layer's fields that carry a known name of `column`, best first."""
    norm = {f: normalise(f) for f in fields}
    out = []
    for cand in NAMES[column]:
        out += [f for f in fields if norm[f] == cand and f not in out]
    return out


def _plausible(column: str, s: pd.Series) -> bool:
    """The values of `s` can be `column`'s: mostly present, unique ids, FARs in 0-100, positive areas."""
    import numpy as np

    present = s.notna() & (s.astype(str).str.strip() != "")
    if len(s) and present.mean() < 0.9:
        return False
    if column == "parcel_id":
        return bool(s[present].astype(str).is_unique)
    if column == "far_max":
        v = _numbers(s)
        ok = np.isfinite(v)
        return ok.mean() >= 0.9 and bool(((v[ok] >= 0) & (v[ok] <= 100)).all())
    if column == "area_m2":
        v = _numbers(s)
        return np.isfinite(v).mean() >= 0.9 and bool((v[np.isfinite(v)] > 0).all())
    return True


def _zone_share(s: pd.Series) -> float:
    from optimizer.scenario import gis, zones

    codes = gis._as_text(s)
    return max(zones.match_table(codes.unique())[1].values())


def detect_columns(frame: pd.DataFrame, fields: list[str], area_from_polygons: np.ndarray | None) -> Detection:
    """Which field holds which parcel column (by name, then by contents), with the reasons."""
    import numpy as np
    import pandas as pd

    det = Detection()
    used: set[str] = set()
    for column in NAMES:
        cands = [f for f in _by_name(fields, column) if f not in used and _plausible(column, frame[f])]
        if column == "zone" and len(cands) > 1:  # the field whose values are standard codes, if one is
            cands.sort(key=lambda f: -_zone_share(frame[f]))
        if column == "area_m2" and cands and area_from_polygons is not None:
            cands = [f for f in cands if _area_matches(frame[f], area_from_polygons, det, f)]
        if cands:
            det.columns[column] = (cands[0], "name")
            used.add(cands[0])
    if "parcel_id" not in det.columns:  # contents: the first text field whose values are unique
        for f in fields:
            if f not in used and not pd.api.types.is_float_dtype(frame[f]) and _plausible("parcel_id", frame[f]):
                det.columns["parcel_id"] = (f, "content")
                used.add(f)
                break
    if "zone" not in det.columns:  # contents: the field whose values are most often standard codes
        best = max(((f, _zone_share(frame[f])) for f in fields if f not in used), key=lambda t: t[1],
                   default=(None, 0.0))
        if best[0] is not None and best[1] >= 0.8:
            det.columns["zone"] = (best[0], "content")
            used.add(best[0])
    if "far_max" not in det.columns:
        cands = [f for f in fields if f not in used and pd.api.types.is_numeric_dtype(frame[f])
                 and not pd.api.types.is_bool_dtype(frame[f]) and _plausible("far_max", frame[f])
                 and np.nanmax(_numbers(frame[f]), initial=0) <= 30 and not _integers(frame[f])]
        if len(cands) == 1:
            det.columns["far_max"] = (cands[0], "content")
    return det


def _integers(s: pd.Series) -> bool:
    import numpy as np

    v = _numbers(s)
    v = v[np.isfinite(v)]
    return bool(len(v)) and bool((v == np.round(v)).all())


def _area_matches(s: pd.Series, area: np.ndarray, det: Detection, name: str) -> bool:
    """A field of areas in m² within 1 % of the polygons' (median); a note when it is in hectares or mu."""
    import numpy as np

    from optimizer.scenario import gis

    v = _numbers(s)
    ok = np.isfinite(v) & (area > 0)
    if not ok.any():
        return False
    ratio = float(np.median(v[ok] / area[ok]))
    if abs(ratio - 1) <= gis.AREA_TOLERANCE:
        return True
    unit = ("hectares (公顷)" if abs(ratio / 1e-4 - 1) < 0.02 else "mu (亩)" if abs(ratio * 666.667 - 1) < 0.02
            else f"{ratio:.4g} × the polygons' area")
    det.notes.append(f"field `{name}` looks like an area in {unit}, not m²: areas are measured from the polygons "
                     "instead")
    return False


# --- the scaffold -------------------------------------------------------------------------------------------
def _toml(value) -> str:
    """A TOML value (strings as basic strings; JSON's escapes are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _inline(d: dict) -> str:
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in d.items()) + " }"


def _layer_files(path: Path) -> list[Path]:
    """The files that make up the layer: a Shapefile's sidecars (.shx, .dbf, .prj, .cpg...) too."""
    if path.suffix.lower() == ".shp":
        stem = path.name[: -len(path.suffix)]
        return sorted(p for p in path.parent.iterdir() if p.is_file() and p.name[: len(stem) + 1] == stem + "."
                      and p.name[len(stem) + 1:].count(".") <= 1)
    return [path]


def _industries(det: Detection, codes: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Template industries for the zone codes present (from the zone table's suggestions), and notes."""
    import pandas as pd

    from optimizer.scenario import zones

    counts = codes.value_counts()
    table = det.zone_table or (max(det.zone_shares, key=det.zone_shares.get) if det.zone_shares
                               and max(det.zone_shares.values()) >= 0.5 else None)
    suggested = zones.suggested_industries(table, counts.index) if table else {}
    rows, notes = [], []
    for kid, name, name_zh, out, jobs, far_min, far_max in zones.TEMPLATE_INDUSTRIES:
        if kid in suggested:
            rows.append({"industry_id": kid, "name": name, "name_zh": name_zh, "output_per_m2": out,
                         "jobs_per_m2": jobs, "allowed_zones": ";".join(suggested[kid]), "far_min": far_min,
                         "far_max": far_max})
    if not rows:
        top = str(counts.index[0]) if len(counts) else "B2"
        rows.append({"industry_id": "example", "name": "Example industry (replace)", "name_zh": "示例产业",
                     "output_per_m2": 10000.0, "jobs_per_m2": 0.02, "allowed_zones": top, "far_min": 0.5,
                     "far_max": 6.0})
        notes.append(f"no standard zone table fits the codes, so industries.csv has one example industry on the "
                     f"commonest zone '{top}': list your industries and the zones each may use")
    return pd.DataFrame(rows), notes


def _scenario_toml(name: str, layer_rel: str, source, det: Detection, n: int, crs_label: str) -> str:
    from optimizer.scenario import zones

    spec: dict = {"path": layer_rel}
    if source.layer is not None and Path(layer_rel).suffix.lower() in (".gpkg", ".gdb"):
        spec["layer"] = source.layer
    if det.crs:
        spec["crs"] = det.crs
    columns = {col: f for col, (f, how) in det.columns.items() if f != col}
    lines = [
        f"# Scaffolded by `landuse init` from {layer_rel} ({n:,} parcels, {crs_label or 'no CRS'}) on "
        f"{dt.date.today().isoformat()}.",
        f"# Read {REPORT} first: what was detected and what is left for you to decide.",
        "# Format: docs/scenario-format.md. Check with `landuse validate FOLDER`; solve with",
        "# `landuse solve FOLDER --out out/run1`.",
        "",
        "[scenario]",
        f"name = {_toml(name)}",
        f"description = {_toml(f'Parcels of {layer_rel}, scaffolded by landuse init: industries and rules to be completed.')}",
        "assumptions = [",
        '    "industries.csv holds template industries with placeholder figures (output, jobs, FAR ranges): replace '
        'them with local figures.",',
        "]",
        "",
        "[data]",
        "# the parcel layer as it is: `columns` maps a parcel column to the layer's own field name; fields that are",
        "# neither mapped nor named like a parcel column are left out",
    ]
    if not det.crs and not crs_label:
        lines.append('# the layer has no CRS: declare it, e.g. add crs = "EPSG:4547" (or "GCJ-02") to the table below')
    if "area_m2" not in det.columns:
        lines.append("# area_m2 is measured from the polygons (equal-area projection): the layer has no area field in m²")
    if det.defaults:
        lines.append(f"# defaults: {', '.join(det.defaults)} for every parcel (the layer has no such field; see "
                     f"{REPORT})")
    parts = [f"path = {_toml(spec['path'])}"] + [f"{k} = {_toml(v)}" for k, v in spec.items() if k != "path"]
    if columns:
        parts.append(f"columns = {_inline(columns)}")
    if det.defaults:
        parts.append(f"defaults = {_inline(det.defaults)}")
    lines.append("parcels = { " + ", ".join(parts) + " }")
    lines.append('industries = "industries.csv"')
    if det.zone_table:
        lines.append(f"# every zone code of the layer is in the {zones.BUILTIN[det.zone_table]}: an unknown code is"
                     " an error")
        lines.append(f"zones = {_toml(det.zone_table)}")
    else:
        lines.append('# zones = "gb50137"   # or "territorial2020": makes unknown zone codes errors (see '
                     f"{REPORT})")
    lines += [
        "",
        "[objective]",
        'sense = "maximize"',
        'kind = "total_output"             # or "output_per_land", "weighted"',
        "",
        "[solver]",
        'name = "highs"',
        "time_limit_s = 60",
        "",
        "# [rules]",
        "# total_budget_yuan = 5.0e9         # development cost (dev_cost_per_m2 x floor) + pair costs",
        "",
    ]
    return "\n".join(lines)


def _report(layer_rel: str, source, det: Detection, n: int, crs_label: str, industries: pd.DataFrame) -> str:
    from optimizer.scenario import zones

    out = [f"# landuse init: {layer_rel}", "",
           f"{n:,} parcels{f', layer `{source.layer}`' if source.layer else ''}, CRS {crs_label or 'none'}.", "",
           "## Parcel columns", "", "| column | from | how |", "| --- | --- | --- |"]
    for col in ("parcel_id", "zone", "far_max", "area_m2", "subarea", "existing_use", "dev_cost_per_m2",
                "must_develop"):
        if col in det.columns:
            f, how = det.columns[col]
            out.append(f"| {col} | `{f}` | {WHY[how]} |")
        elif col in det.defaults:
            out.append(f"| {col} | {_toml(det.defaults[col])} for every parcel | {WHY['default']} |")
        elif col == "area_m2":
            out.append(f"| {col} | the polygons | {WHY['polygons']} |")
        else:
            out.append(f"| {col} | - | not found (optional) |" if col not in ("parcel_id", "zone", "far_max")
                       else f"| {col} | - | **not found** |")
    out += ["", "## Zone codes", ""]
    shares = ", ".join(f"{k}: {v:.0%}" for k, v in det.zone_shares.items())
    if det.zone_table:
        out.append(f"Every code is in the {zones.BUILTIN[det.zone_table]} ({shares} of the distinct codes): "
                   f'`zones = "{det.zone_table}"`, so an unknown code is an error.')
    else:
        out.append(f"No shipped zone table lists every code ({shares} of the distinct codes), so zone codes are "
                   "free text (unknown ones are only warnings).")
    out += ["", "## Industries", "",
            f"industries.csv holds {len(industries)} template industr{'y' if len(industries) == 1 else 'ies'} with "
            "placeholder figures; `allowed_zones` is the zone table's suggestion for the codes in this layer:", ""]
    out += [f"- `{r.industry_id}` ({r.name}): {r.allowed_zones.replace(';', ', ')}" for r in industries.itertuples()]
    if det.notes:
        out += ["", "## Found", ""] + [f"- {n_}" for n_ in det.notes]
    out += ["", "## Left for you to decide", ""]
    out += [f"- {u}" for u in det.undecided]
    out += ["- the industries, their figures (output, jobs, FAR range, demand) and which zones each may use",
            "- the rules: budget, demand bounds, access (a transport network: data.nodes and data.edges), sub-area mixes",
            "", "Then: `landuse validate FOLDER` and `landuse solve FOLDER --out out/run1`.", ""]
    return "\n".join(out)


def _digests(folder: Path, names) -> dict[str, str]:
    """sha256 of each file (of each file inside a folder such as a .gdb), by path relative to `folder`."""
    import hashlib

    out = {}
    for name in names:
        p = folder / name
        for f in sorted([p] if p.is_file() else (q for q in p.rglob("*") if q.is_file())):
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            out[f.relative_to(folder).as_posix()] = h.hexdigest()
    return out


def _check_not_edited(out: Path) -> None:
    """Refuse to replace an earlier scaffold whose files changed since `landuse init` wrote them."""
    from optimizer.report.write import read_marker

    try:
        info = read_marker(out)
    except ValueError:
        return  # check_output_target says what is wrong with it
    if not info or HASHES not in info["manifest"]:
        return  # not a scaffold: the output rules alone apply
    try:
        before = json.loads((out / HASHES).read_text(encoding="utf-8"))["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        before = {}
    now = _digests(out, [n for n in info["manifest"] if n != HASHES and (out / n).exists()])
    edited = sorted(n for n in set(before) | set(now) if before.get(n) != now.get(n))
    if edited or not before:
        what = ", ".join(edited[:3]) + (", ..." if len(edited) > 3 else "") if edited else HASHES
        raise OutputRefused(str(out), f"it is an earlier scaffold whose {what} changed since landuse init wrote it",
                            "choose a new folder (init never replaces a planner's edits)")


@dataclass
class InitResult:
    folder: Path
    detection: Detection
    n_parcels: int
    layer_file: str


def init_scenario(layer_path: str | Path, out: str | Path, layer: str | None = None, crs: str | None = None,
                  encoding: str | None = None, name: str | None = None, force: bool = False) -> InitResult:
    """Scaffold a scenario folder `out` from the parcel layer `layer_path` (see the module docstring)."""
    import pandas as pd

    from optimizer.report.write import output_folder, resolve_path
    from optimizer.scenario import crs as crsmod
    from optimizer.scenario import gis, zones

    layer_path = Path(layer_path)
    display = layer_path.name
    source = gis.read_source(layer_path, display, layer=layer, encoding=encoding)
    if source.geoms is None:
        raise ScenarioError("the file has no geometries", file=display)
    det = Detection(crs=crs or "")
    spec = gis.LayerSpec(path=str(layer_path), layer=layer, crs=crs, encoding=encoding)
    notes: list[str] = []
    area = None
    try:
        geoms, src_crs, _ = gis._to_wgs84(source, spec, notes)
        area = crsmod.equal_area_m2(geoms)
        det.crs_found = crsmod.crs_label(src_crs)
    except ScenarioError as exc:
        if "no CRS" not in exc.message:
            raise
        det.undecided.append("the CRS: the layer has none; add `crs = \"EPSG:....\"` (or \"GCJ-02\") to "
                             "data.parcels in scenario.toml (areas cannot be measured without it)")
    det.notes += notes
    found = detect_columns(source.frame, source.fields, area)
    det.columns, det.notes = found.columns, det.notes + found.notes
    if "subarea" not in det.columns:
        det.defaults["subarea"] = "all"
        det.undecided.append('sub-areas: no field found, so every parcel is in sub-area "all" '
                             '(data.parcels.defaults); map a district or planning-unit field with '
                             'columns = { subarea = "FIELD" } for sub-area rules and maps')
    for col, what in (("parcel_id", "the parcel id"), ("zone", "the zone code"), ("far_max", "the FAR cap")):
        if col not in det.columns:
            det.undecided.append(f"{what} ({col}): no field found; map one in scenario.toml with "
                                 f'columns = {{ {col} = "FIELD" }} (the fields: {", ".join(source.fields)})')
    for col, (f, how) in det.columns.items():
        if how == "content":
            det.undecided.append(f"{col} was taken from `{f}` by its contents only: check it")
    codes = gis._as_text(source.frame[det.columns["zone"][0]]) if "zone" in det.columns else pd.Series([], dtype=str)
    if len(codes):
        det.zone_table, det.zone_shares = zones.match_table(codes.unique())
        if det.zone_table is None:
            best = max(det.zone_shares, key=det.zone_shares.get)
            unknown = sorted(set(codes.str.strip()) - set(zones.zone_table(best)["code"]))
            det.undecided.append(f"zone codes: {len(unknown)} code(s) are in no shipped table (e.g. "
                                 f"{', '.join(unknown[:8])}); use a zones.csv of your codes, or fix them")
    industries, ind_notes = _industries(det, codes)
    det.undecided += ind_notes

    files = _layer_files(layer_path)
    layer_rel = layer_path.name
    ascii_name = [re.sub(r"[^0-9A-Za-z_\-]+", "_", s).strip("_") for s in (source.layer or "", layer_path.stem)]
    sc_name = name or next((s for s in ascii_name if s), "scenario")
    crs_label = det.crs or det.crs_found
    target = resolve_path(out)
    if target.is_dir():
        _check_not_edited(target)
    with output_folder(out, force=force, protect=(layer_path.resolve().parent,),
                       expect=(*INIT_OUTPUTS, *(f.name for f in files))) as stage:
        for f in files:
            if f.is_dir():
                shutil.copytree(f, stage.folder / f.name)
            else:
                shutil.copy2(f, stage.folder / f.name)
        (stage.folder / "scenario.toml").write_text(
            _scenario_toml(sc_name, layer_rel, source, det, len(source.frame), crs_label), encoding="utf-8")
        industries.to_csv(stage.folder / "industries.csv", index=False)
        (stage.folder / REPORT).write_text(
            _report(layer_rel, source, det, len(source.frame), crs_label, industries), encoding="utf-8")
        written = [*(f.name for f in files), "scenario.toml", "industries.csv", REPORT]
        (stage.folder / HASHES).write_text(json.dumps({"sha256": _digests(stage.folder, written)}, indent=1) + "\n",
                                           encoding="utf-8")
    return InitResult(Path(out), det, len(source.frame), layer_rel)


# --- the command ----------------------------------------------------------------------------------------------
def add_command(sub, solve_args) -> None:
    from optimizer.cli import out_args, path_arg

    p = sub.add_parser("init", help="scaffold a scenario folder from a parcel layer (GIS file)")
    p.add_argument("layer", type=path_arg, metavar="PARCEL_LAYER",
                   help="the parcel layer: .gpkg, .shp, .parquet, .fgb, .gdb or .geojson")
    out_args(p, help="the scenario folder to write: new, empty or an earlier unedited scaffold")
    p.add_argument("--layer", dest="layer_name", default=None, metavar="NAME",
                   help="the layer to read, in a file with several (GeoPackage, File Geodatabase)")
    p.add_argument("--crs", default=None, help="the layer's CRS when the file has none or a wrong one "
                   "(e.g. EPSG:4547, or GCJ-02)")
    p.add_argument("--encoding", default=None, help="text encoding of a Shapefile without .cpg (e.g. GBK)")
    p.add_argument("--name", default=None, help="the scenario's name (default: the layer's)")
    p.set_defaults(func=cmd_init)


def cmd_init(args) -> int:
    from optimizer.cli import check_input_path

    check_input_path(args.layer, "parcel layer")
    if not os.path.lexists(args.layer):
        raise ScenarioError("file not found", file=str(args.layer))
    r = init_scenario(args.layer, args.out, layer=args.layer_name, crs=args.crs, encoding=args.encoding,
                      name=args.name, force=args.force)
    det = r.detection
    print(f"wrote {args.out}: {r.n_parcels:,} parcels from {r.layer_file}")
    for col, (f, how) in det.columns.items():
        print(f"  {col:<16} <- {f} ({WHY[how]})")
    for col, v in det.defaults.items():
        print(f"  {col:<16} = {v!r} for every parcel (no field found)")
    if det.zone_table:
        from optimizer.scenario.zones import BUILTIN

        print(f"  zones            = {det.zone_table} ({BUILTIN[det.zone_table]})")
    if det.undecided:
        print(f"left for you to decide (see {Path(args.out) / REPORT}):")
        for u in det.undecided:
            print(f"  - {u}")
    from optimizer.scenario import load_scenario

    try:
        sc = load_scenario(args.out)
    except ScenarioError as exc:
        print(f"landuse validate will say: {exc}")
        return 0
    print(f"landuse validate: {sc.n_parcels:,} parcels, {sc.n_industries} industries, "
          f"{sc.parcels['area_m2'].sum() / 1e6:,.2f} km² of land: valid")
    return 0
