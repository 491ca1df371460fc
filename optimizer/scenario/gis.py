"""Parcel layers as planning offices keep them: GeoPackage, Shapefile, GeoParquet, FlatGeobuf or File Geodatabase,
in any CRS, with the layer's own field names.

In scenario.toml, `[data] parcels` is a path, or a table that says how to read the layer::

    parcels = { path = "parcels.gpkg", layer = "dk", crs = "EPSG:4547",
                columns = { parcel_id = "DKBH", zone = "YDDM", far_max = "RJL" },
                defaults = { subarea = "all" }, output_crs = "input" }

`columns` maps a parcel column (docs/scenario-format.md) to the layer's field, so the source file is used
unchanged; fields that are neither mapped nor named like a parcel column are left out. `defaults` gives a
value for every parcel of a column the layer does not have. `crs` declares the coordinates' CRS (any CRS that
pyproj knows, or "GCJ-02"), overriding the file's; a layer without a CRS needs it. Geometries are brought to
WGS84 lon/lat (all the rest of the pipeline works in it); `area_m2`, when the layer has no area field, is the
polygon's area in an equal-area projection, and a given area is checked against it (a warning beyond 1 %).
`output_crs` ("input" or a CRS) also writes the plan in that CRS (plan_crs.geojson).

Everything is vectorised over the layer: one read, one CRS transform of all vertices, one area computation.
The GIS packages (pyogrio, geopandas, pyarrow, pyproj: the `gis` extra) are imported only when a layer is read;
without them a layer is a ScenarioError saying how to install them.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import ScenarioError
from optimizer.scenario import crs as crsmod
from optimizer.scenario.schema import PARCEL_COLUMNS

TOML = "scenario.toml"
INSTALL_HINT = 'pip install -e ".[gis]"'
GIS_FORMATS = {".gpkg": "GeoPackage", ".shp": "Shapefile", ".parquet": "GeoParquet", ".geoparquet": "GeoParquet",
               ".fgb": "FlatGeobuf", ".gdb": "File Geodatabase"}
SPEC_KEYS = ("path", "layer", "crs", "columns", "defaults", "output_crs", "encoding")
AREA_TOLERANCE = 0.01  # a given area_m2 more than 1 % from the polygon's area is a warning
PARCEL_NAMES = tuple(c.name for c in PARCEL_COLUMNS)
TEXT_COLUMNS = tuple(c.name for c in PARCEL_COLUMNS if c.kind == "text")
FROM_GEOMETRY = ("x", "y")  # a layer's parcels are placed by their polygons' centroids
POLYGON_TYPES = {3: "Polygon", 6: "MultiPolygon"}
TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}


# --- the [data] parcels table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    """How to read the parcels: `[data] parcels` as a table (see the module docstring)."""

    path: str
    layer: str | None = None
    crs: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # parcel column -> the layer's field
    defaults: dict[str, Any] = field(default_factory=dict)  # parcel column -> value for every parcel
    output_crs: str | None = None
    encoding: str | None = None


def check_layer_spec(value: Any, where: str = "data.parcels") -> str | LayerSpec:
    """`[data] parcels` checked: a path (kept as text) or a table (a LayerSpec); a ScenarioError naming the key
    otherwise. Nothing is read here (that needs the file and perhaps the gis extra)."""
    if isinstance(value, str):
        if not value.strip():
            raise ScenarioError("must not be empty (got '')", file=TOML, field=where)
        return value
    if not isinstance(value, dict):
        raise ScenarioError('must be a file path in quotes or a table such as { path = "parcels.gpkg", layer = '
                            '"dk", columns = { parcel_id = "DKBH" } }', file=TOML, field=where)
    for key in value:
        if key not in SPEC_KEYS:
            raise ScenarioError(f"unknown key `{key}` in {where}{_hint(key, SPEC_KEYS)}", file=TOML,
                                field=f"{where}.{key}")
    if "path" not in value:
        raise ScenarioError("required key `path` is missing (the layer's file)", file=TOML, field=f"{where}.path")

    def text(key: str) -> str | None:
        v = value.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            raise ScenarioError(f"must be text in quotes, not empty (got {_show(v)})", file=TOML,
                                field=f"{where}.{key}")
        return v

    columns = value.get("columns", {})
    if not isinstance(columns, dict):
        raise ScenarioError('must be a table such as { parcel_id = "DKBH", zone = "YDDM" }', file=TOML,
                            field=f"{where}.columns")
    for col, src in columns.items():
        if col not in PARCEL_NAMES:
            raise ScenarioError(f"unknown parcel column `{col}`{_hint(col, PARCEL_NAMES)} (columns: "
                                f"{', '.join(PARCEL_NAMES)})", file=TOML, field=f"{where}.columns.{col}")
        if not isinstance(src, str) or not src.strip():
            raise ScenarioError(f"must be the name of a field of the layer, in quotes (got {_show(src)})",
                                file=TOML, field=f"{where}.columns.{col}")
    defaults = value.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ScenarioError('must be a table such as { subarea = "all", far_max = 2.0 }', file=TOML,
                            field=f"{where}.defaults")
    for col, v in defaults.items():
        if col not in PARCEL_NAMES or col == "parcel_id":
            names = [n for n in PARCEL_NAMES if n != "parcel_id"]
            raise ScenarioError(f"unknown parcel column `{col}`{_hint(col, names)} (a default may be given for: "
                                f"{', '.join(names)})", file=TOML, field=f"{where}.defaults.{col}")
        if col in columns:
            raise ScenarioError(f"`{col}` is both mapped (columns) and given a default: keep one", file=TOML,
                                field=f"{where}.defaults.{col}")
        if not isinstance(v, (str, int, float, bool)):
            raise ScenarioError(f"must be text, a number or true/false (got {_show(v)})", file=TOML,
                                field=f"{where}.defaults.{col}")
    return LayerSpec(path=text("path"), layer=text("layer"), crs=text("crs"), columns=dict(columns),
                     defaults=dict(defaults), output_crs=text("output_crs"), encoding=text("encoding"))


def spec_path(spec: str | LayerSpec) -> str:
    return spec.path if isinstance(spec, LayerSpec) else spec


def is_layer(spec: str | LayerSpec) -> bool:
    """True when the parcels are read here: a table, or a path in a GIS format."""
    return isinstance(spec, LayerSpec) or Path(spec).suffix.lower() in GIS_FORMATS


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _show(v: Any) -> str:
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "a list"
    return str(v)


# --- reading ------------------------------------------------------------------------------------------------
@dataclass
class _Source:
    """What a reader found: the fields as the file has them, geometries (or None), the CRS, where it came from."""

    frame: pd.DataFrame
    geoms: np.ndarray | None
    crs: Any  # pyproj CRS, None (no CRS in the file)
    display: str
    row_kind: str
    fields: list[str]
    geographic_default: bool = False  # GeoJSON: WGS84 by RFC 7946
    layer: str | None = None  # the layer's name in a GIS file


def read_parcels(path: Path, display: str, spec: str | LayerSpec, network_crs: str | None = None, *,
                 records: tuple[int, int] | None = None, csv_rows: pd.DataFrame | None = None,
                 bounds: dict | None = None) -> tuple[pd.DataFrame, tuple | None]:
    """The parcels table (parcel columns as the loader validates them, `_row`) and WGS84 geometries.

    The frame's attrs carry: display, row_kind, fields (parcel column -> the layer's field, for messages),
    notes (warnings), crs (the source CRS's name) and output_crs. `network_crs`: [network] crs, if given.

    A part of the layer (chunked loading, optimizer.scenario.chunks): `records` = (start, stop) reads only those
    records, 0-based in file order (GeoParquet: the row groups that hold them; other GIS formats: GDAL's
    skip_features and max_features; GeoJSON and CSV: the whole file, then cut), with `_row` numbered as in the
    whole file; `csv_rows` gives a CSV's rows already read (with their `_row`). `bounds` (a dict) collects the
    bounds of the coordinates over calls instead of checking that a projected layer's coordinates do not look like
    degrees: check_layer_extent(bounds) checks the whole layer once all its parts are read.
    """
    spec = spec if isinstance(spec, LayerSpec) else LayerSpec(path=spec)
    suffix = path.suffix.lower()
    cut = slice(None) if records is None else slice(*records)
    if suffix in GIS_FORMATS:
        src = _read_gis(path, display, spec, GIS_FORMATS[suffix], records=records)
    elif suffix in (".geojson", ".json"):
        from optimizer.scenario.readers import read_geojson_raw

        raw, geoms = read_geojson_raw(path, display)
        if records is not None:
            raw, geoms = raw.iloc[cut].reset_index(drop=True), geoms[cut]
        src = _Source(raw, np.array(geoms, dtype=object), None, display, "feature",
                      [c for c in raw.columns if c != "_row"], geographic_default=True)
    else:
        from optimizer.scenario.readers import read_csv_raw

        if csv_rows is not None:
            raw = csv_rows
        else:
            raw = read_csv_raw(path, display)
            if records is not None:
                raw = raw.iloc[cut].reset_index(drop=True)
        src = _Source(raw, None, None, display, "row", [c for c in raw.columns if c != "_row"])
    notes: list[str] = []
    frame = _map_columns(src, spec)
    geometry, crs = None, None
    if src.geoms is not None:
        if network_crs == "local_m":
            raise ScenarioError('a parcel layer is read into WGS84 lon/lat, so network.crs must be "EPSG:4326" '
                                "(network nodes in lon/lat)", file=TOML, field="network.crs")
        geoms, crs, vertices = _to_wgs84(src, spec, notes, bounds)
        _area(frame, geoms, src, spec, notes, vertices)
        geometry = tuple(geoms)
    elif spec.crs or spec.output_crs:
        key = "crs" if spec.crs else "output_crs"
        raise ScenarioError(f"`{key}` applies to layers with geometries; a CSV file's x and y follow "
                            "[network] crs", file=TOML, field=f"data.parcels.{key}")
    frame.attrs.update(display=src.display, row_kind=src.row_kind, notes=notes,
                       fields={c: f for c, f in spec.columns.items() if c != f},
                       crs="" if crs is None else crsmod.crs_label(crs),
                       output_crs=_output_crs(spec, crs))
    return frame, geometry


def _require(display: str, what: str, *modules: str) -> None:
    import importlib

    missing = []
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            missing.append(m)
    if missing:
        raise ScenarioError(f"reading {what} needs the optional GIS packages ({', '.join(missing)} not installed): "
                            f"{INSTALL_HINT}", file=display)


def read_source(path: Path, display: str, layer: str | None = None, encoding: str | None = None) -> _Source:
    """Every field and geometry of a layer (GIS formats or GeoJSON) as the file has them, for `landuse init`."""
    spec = LayerSpec(path=str(path), layer=layer, encoding=encoding)
    suffix = path.suffix.lower()
    if suffix in GIS_FORMATS:
        return _read_gis(path, display, spec, GIS_FORMATS[suffix], all_fields=True)
    if suffix in (".geojson", ".json"):
        from optimizer.scenario.readers import read_geojson_raw

        raw, geoms = read_geojson_raw(path, display)
        return _Source(raw, np.array(geoms, dtype=object), None, display, "feature",
                       [c for c in raw.columns if c != "_row"], geographic_default=True)
    raise ScenarioError(f"not a parcel layer: give a {', '.join(sorted(set(GIS_FORMATS)))} or .geojson file",
                        file=display)


def _read_gis(path: Path, display: str, spec: LayerSpec, fmt: str, all_fields: bool = False,
              records: tuple[int, int] | None = None) -> _Source:
    from optimizer.scenario.readers import os_reason

    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        raise ScenarioError(os_reason(exc), file=display) from None
    if fmt == "GeoParquet":
        _require(display, f"a {fmt} file", "pyarrow", "geopandas", "pyproj")
        return _read_parquet(path, display, spec, all_fields, records)
    _require(display, f"a {fmt} file", "pyogrio", "geopandas", "pyproj")
    import pyogrio

    try:
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # noqa: BLE001 - GDAL's many errors for a file it cannot open
        raise ScenarioError(f"cannot read as {fmt} ({_gdal(exc)})", file=display) from None
    if spec.layer is None:
        if len(layers) != 1:
            raise ScenarioError(f"the file holds {len(layers)} layers ({_listing(layers)}): name one in scenario.toml, "
                                f'e.g. parcels = {{ path = "{spec.path}", layer = "{layers[0] if layers else "..."}" }}',
                                file=display)
        name = layers[0]
    elif spec.layer not in layers:
        close = difflib.get_close_matches(spec.layer, layers, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ScenarioError(f"no layer '{spec.layer}' in the file ({hint}its layers: {_listing(layers)})",
                            file=display, field="data.parcels.layer")
    else:
        name = spec.layer
    shown = f"{display}, layer '{name}'"
    try:
        info = pyogrio.read_info(path, layer=name, encoding=spec.encoding)
    except Exception as exc:  # noqa: BLE001
        raise ScenarioError(f"cannot read the layer ({_gdal(exc)})", file=shown) from None
    if not info.get("geometry_type"):
        raise ScenarioError("the layer has no geometries: parcels need Polygon or MultiPolygon features",
                            file=shown, field="geometry")
    fields = [str(f) for f in info["fields"]]
    wanted = fields if all_fields else _fields_to_read(fields, spec, shown)
    try:
        import pyarrow  # noqa: F401

        arrow = True
    except ImportError:
        arrow = False
    # a part: GDAL seeks to the first feature where the driver can (else it reads past the ones before)
    part = {} if records is None else {"skip_features": records[0], "max_features": max(records[1] - records[0], 1)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, layer=name, columns=wanted, encoding=spec.encoding, use_arrow=arrow,
                                         **part)
    except Exception as exc:  # noqa: BLE001
        raise ScenarioError(f"cannot read the layer ({_gdal(exc)})", file=shown) from None
    if records is not None and records[1] <= records[0]:
        gdf = gdf.iloc[:0]
    return _from_geodataframe(gdf, shown, fields, name, first_row=1 if records is None else records[0] + 1)


def _read_parquet(path: Path, display: str, spec: LayerSpec, all_fields: bool = False,
                  records: tuple[int, int] | None = None) -> _Source:
    import pyarrow.parquet as pq

    name = path.name[: -len(path.suffix)]
    if spec.layer is not None and spec.layer != name:
        raise ScenarioError(f"no layer '{spec.layer}' in the file (a GeoParquet file holds one layer, '{name}', "
                            "named after the file: leave out `layer`)", file=display, field="data.parcels.layer")
    shown = f"{display}, layer '{name}'"
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors for a file that is not Parquet
        raise ScenarioError(f"cannot read as GeoParquet ({str(exc).splitlines()[0][:200]})", file=shown) from None
    if b"geo" not in (schema.metadata or {}):
        raise ScenarioError("not a GeoParquet file (a Parquet file without 'geo' metadata): write it with "
                            "geopandas (GeoDataFrame.to_parquet) or GDAL", file=shown)
    import json

    geo = json.loads(schema.metadata[b"geo"])
    geom_cols = set(geo.get("columns", {}))
    fields = [n for n in schema.names if n not in geom_cols]
    wanted = fields if all_fields else _fields_to_read(fields, spec, shown)
    import geopandas as gpd

    columns = [*wanted, geo.get("primary_column", "geometry")]
    try:
        if records is None:
            gdf = gpd.read_parquet(path, columns=columns)
        else:
            gdf = _parquet_records(path, columns, *records)
    except Exception as exc:  # noqa: BLE001
        raise ScenarioError(f"cannot read as GeoParquet ({str(exc).splitlines()[0][:200]})", file=shown) from None
    return _from_geodataframe(gdf, shown, fields, None, first_row=1 if records is None else records[0] + 1)


PARQUET_BATCH = 65_536  # rows decoded at a time when a GeoParquet file is read in parts


def _parquet_records(path: Path, columns: list[str], start: int, stop: int):
    """Records [start, stop) of a GeoParquet file as a GeoDataFrame: only the row groups that hold them are read,
    in batches (the rows of those groups before `start` are decoded and dropped, not kept)."""
    import io

    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    groups, first, at = [], 0, 0
    for i in range(pf.num_row_groups):
        n = pf.metadata.row_group(i).num_rows
        if at + n > start and at < stop:
            first = at if not groups else first
            groups.append(i)
        at += n
    kept, at = [], first
    if groups:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH, row_groups=groups, columns=columns,
                                     use_pandas_metadata=False):
            lo, hi = max(start - at, 0), min(stop - at, batch.num_rows)
            if hi > lo:
                kept.append(batch.slice(lo, hi - lo))
            at += batch.num_rows
            if at >= stop:
                break
    whole = pf.schema_arrow
    meta = {k: v for k, v in (whole.metadata or {}).items() if k != b"pandas"}  # its index is the whole file's
    schema = pa.schema([whole.field(c) for c in columns], metadata=meta)
    table = pa.Table.from_batches(kept, schema=schema) if kept else schema.empty_table()
    buf = io.BytesIO()  # geopandas decodes the geometries and the CRS from the GeoParquet metadata
    pq.write_table(table, buf)
    buf.seek(0)
    return gpd.read_parquet(buf)


def _from_geodataframe(gdf, shown: str, fields: list[str], layer: str | None, first_row: int = 1) -> _Source:
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["_row"] = np.arange(first_row, first_row + len(frame))
    return _Source(frame, geoms, gdf.crs, shown, "feature", fields, layer=layer)


def _fields_to_read(fields: list[str], spec: LayerSpec, shown: str) -> list[str]:
    """The layer's fields the parcels need: the mapped ones (each must exist) and those named like a column."""
    for col, src in spec.columns.items():
        if src not in fields:
            close = difflib.get_close_matches(src, fields, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ScenarioError(f"no such field in the layer ({hint}data.parcels.columns in {TOML} maps {col} to it; "
                                f"the layer's fields: {_listing(fields)})", file=shown, field=src)
    mapped = set(spec.columns)
    wanted = list(dict.fromkeys([*spec.columns.values(),
                                 *(f for f in fields if f in PARCEL_NAMES and f not in mapped)]))
    return wanted


def _listing(names: list[str], n: int = 25) -> str:
    shown = ", ".join(names[:n]) or "none"
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _gdal(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# --- columns --------------------------------------------------------------------------------------------------
def _map_columns(src: _Source, spec: LayerSpec) -> pd.DataFrame:
    """The parcel columns from the source fields: mapped, named like a column, or defaults."""
    if src.geoms is not None:
        for col in FROM_GEOMETRY:
            if col in spec.columns or col in spec.defaults:
                raise ScenarioError(f"`{col}` comes from the polygons (their centroids) for a layer with geometries",
                                    file=TOML, field=f"data.parcels.{'columns' if col in spec.columns else 'defaults'}"
                                                     f".{col}")
    if src.geoms is None:  # CSV: a mapped field must be there too
        _fields_to_read(src.fields, spec, src.display)
    out: dict[str, Any] = {}
    n = len(src.frame)
    for col in PARCEL_NAMES:
        if src.geoms is not None and col in FROM_GEOMETRY:
            continue
        if col in spec.columns:
            out[col] = src.frame[spec.columns[col]]
        elif col in spec.defaults:
            out[col] = _constant(spec.defaults[col], n)
        elif col in src.frame.columns:
            out[col] = src.frame[col]
    frame = pd.DataFrame(out, index=src.frame.index)
    for col in TEXT_COLUMNS:
        if col in frame.columns:
            frame[col] = _as_text(frame[col])
    from_polygons = ("area_m2",) if src.geoms is not None else ()  # measured when the layer has no area field
    missing = [c.name for c in PARCEL_COLUMNS if c.required and c.name not in frame.columns
               and c.name not in from_polygons]
    if missing:
        col = missing[0]
        raise ScenarioError(
            f"missing required column(s) {', '.join(missing)}: the layer has no field named {col}; map one in "
            f'{TOML} with data.parcels.columns = {{ {col} = "FIELD" }}'
            + (f', or give data.parcels.defaults = {{ {col} = ... }}' if col != "parcel_id" else "")
            + f" (the layer's fields: {_listing(src.fields)})", file=src.display, field=col)
    frame["_row"] = src.frame["_row"].to_numpy()
    return frame.reset_index(drop=True)


def _constant(value: Any, n: int) -> pd.Series:
    if isinstance(value, bool):
        return pd.Series(np.full(n, value, dtype=bool))
    if isinstance(value, (int, float)):
        return pd.Series(np.full(n, float(value)))
    return pd.Series(np.full(n, str(value), dtype=object))


def _as_text(s: pd.Series) -> pd.Series:
    """A text column from a field of any type: whole numbers without '.0' (codes stored as numbers), nulls
    blank."""
    if pd.api.types.is_bool_dtype(s):
        return pd.Series(np.where(s.to_numpy(), "true", "false"), index=s.index, dtype=object)
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (np.abs(v) < 2**53)
        whole[whole] = v[whole] == np.round(v[whole])
        ints = np.where(whole, v, 0).astype(np.int64).astype(str).astype(object)
        other = s.astype(str).to_numpy(dtype=object)
        return pd.Series(np.where(whole, ints, np.where(np.isnan(v), "", other)), index=s.index, dtype=object)
    return s.astype(object).where(s.notna(), "")


# --- geometry and CRS ---------------------------------------------------------------------------------------
def _source_crs(src: _Source, spec: LayerSpec, notes: list[str]):
    """The CRS of the source coordinates: declared, else the file's, else (GeoJSON) WGS84."""
    if spec.crs is not None:
        if crsmod.is_gcj02(spec.crs):
            if src.crs is not None and not src.crs.is_geographic:
                raise ScenarioError(f"crs = \"GCJ-02\" declares GCJ-02 lon/lat, but the file's CRS is projected "
                                    f"({crsmod.crs_label(src.crs)})", file=TOML, field="data.parcels.crs")
            return crsmod.GCJ02
        try:
            declared = crsmod.resolve_crs(spec.crs)
        except ValueError as exc:
            raise ScenarioError(f"unknown CRS '{spec.crs}' ({exc}); give a CRS that pyproj knows, e.g. "
                                '"EPSG:4547", or "GCJ-02"', file=TOML, field="data.parcels.crs") from None
        if src.crs is not None and not declared.equals(src.crs, ignore_axis_order=True):
            notes.append(f"{src.display}: the declared crs {crsmod.crs_label(declared)} (data.parcels.crs) is used, "
                         f"not the file's {crsmod.crs_label(src.crs)}")
        return declared
    if src.crs is not None:
        return src.crs
    if src.geographic_default:
        return crsmod.resolve_crs("EPSG:4326")
    raise ScenarioError(f"the layer has no CRS (no coordinate reference system in the file, e.g. a Shapefile "
                        f"without its .prj): declare it in {TOML}, e.g. parcels = {{ path = \"...\", crs = "
                        f'"EPSG:4547" }}', file=src.display, field="geometry")


def _to_wgs84(src: _Source, spec: LayerSpec, notes: list[str],
              bounds: dict | None = None) -> tuple[np.ndarray, Any, tuple]:
    """WGS84 geometries (every vertex transformed in one call), the source CRS, and the WGS84 vertices with the
    feature of each (for the areas). `bounds`: see read_parcels."""
    import shapely

    geoms = src.geoms
    rows = src.frame["_row"].to_numpy()
    _check_types(geoms, src, allow_null=src.geographic_default)
    crs = _source_crs(src, spec, notes)
    has = shapely.get_type_id(geoms) >= 0  # GeoJSON may have null geometries (with x, y properties)
    coords, index = shapely.get_coordinates(geoms[has], return_index=True)
    if len(coords):
        at = np.flatnonzero(has)
        geographic = isinstance(crs, str) or crs.is_geographic
        outside = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        if geographic and outside.any():
            i = int(at[index[np.argmax(outside)]])
            raise ScenarioError(f"coordinates far outside degrees ({coords[np.argmax(outside), 0]:.6g}, "
                                f"{coords[np.argmax(outside), 1]:.6g}) in a lon/lat CRS "
                                f"({crsmod.crs_label(crs)}): for metres declare the projected CRS, e.g. crs = "
                                '"EPSG:4547"', file=src.display, row=int(rows[i]), field="geometry",
                                row_kind=src.row_kind)
        lo, hi, n = coords.min(axis=0), coords.max(axis=0), len(coords)
        if bounds is None:
            _check_not_degrees(lo, hi, bool(outside.any()), n, crs, src.display)
        else:  # a part of the layer: the whole layer's bounds are checked by check_layer_extent
            if bounds:
                lo, hi, n = np.minimum(lo, bounds["lo"]), np.maximum(hi, bounds["hi"]), n + bounds["n"]
            bounds.update(lo=lo, hi=hi, n=n, outside=bool(outside.any()) or bounds.get("outside", False), crs=crs,
                          display=src.display)
        if isinstance(crs, str) and not crsmod.in_china(coords[:, 0], coords[:, 1]).all():
            notes.append(f"{src.display}: some coordinates lie outside China, where GCJ-02 equals WGS84; they are "
                         "kept as they are")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyproj's inf for points outside a projection's domain: checked below
        lon, lat = crsmod.to_wgs84(coords[:, 0], coords[:, 1], crs)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(has)[index[np.argmax(bad)]])
        raise ScenarioError(f"a vertex does not transform from {crsmod.crs_label(crs)} to WGS84 lon/lat (outside "
                            "the CRS's area of use?): check the declared crs", file=src.display, row=int(rows[i]),
                            field="geometry", row_kind=src.row_kind)
    out = geoms.copy()
    if isinstance(crs, str) or not crsmod.is_wgs84(crs):  # WGS84 in: the geometries stay as they are
        out[has] = shapely.set_coordinates(geoms[has], np.column_stack([lon, lat]))
    at = np.flatnonzero(has)
    return out, crs, (np.column_stack([lon, lat]), at[index])


def _check_not_degrees(lo: np.ndarray, hi: np.ndarray, outside: bool, n: int, crs, display: str) -> None:
    """Coordinates in a projected CRS (n vertices within bounds lo, hi) that look like degrees."""
    geographic = isinstance(crs, str) or crs.is_geographic
    extent = max(hi[0] - lo[0], hi[1] - lo[1])
    if not geographic and not outside and extent < 360.0 and n > 4:
        raise ScenarioError(f"the coordinates look like degrees (all within {extent:.4g} units of each other) "
                            f"but the CRS is projected ({crsmod.crs_label(crs)}, metres): for lon/lat declare "
                            'crs = "EPSG:4326" (or "GCJ-02")', file=display, field="geometry")


def check_layer_extent(bounds: dict) -> None:
    """The check left out of the parts of a layer read with `bounds` (read_parcels), on the whole layer's."""
    if bounds:
        _check_not_degrees(bounds["lo"], bounds["hi"], bounds["outside"], bounds["n"], bounds["crs"],
                           bounds["display"])


def _check_types(geoms: np.ndarray, src: _Source, allow_null: bool) -> None:
    """Polygons and MultiPolygons only, none missing or empty (GeoJSON: null allowed, the loader wants x, y)."""
    import shapely

    rows = src.frame["_row"].to_numpy()
    types = shapely.get_type_id(geoms)
    empty = (types < 0) | shapely.is_empty(geoms)
    if allow_null:
        empty &= types >= 0
    if empty.any():
        i = int(np.argmax(empty))
        raise ScenarioError("no geometry (null or empty): every parcel of a layer needs its polygon",
                            file=src.display, row=int(rows[i]), field="geometry", row_kind=src.row_kind)
    present = types[types >= 0]
    other = (types >= 0) & ~np.isin(types, list(POLYGON_TYPES))
    if other.any():
        ids, counts = np.unique(present, return_counts=True)
        kinds = ", ".join(f"{c:,} {TYPE_NAMES.get(int(t), t)}" for t, c in zip(ids, counts, strict=True))
        i = int(np.argmax(other))
        first = TYPE_NAMES.get(int(types[i]), str(types[i]))
        if np.isin(present, list(POLYGON_TYPES)).any():
            msg = (f"mixed geometry types ({kinds}): a parcel layer holds only Polygon or MultiPolygon features "
                   f"(the first {first} is here)")
        else:
            msg = f"the layer holds {kinds} features: parcels need Polygon or MultiPolygon geometries"
        raise ScenarioError(msg, file=src.display, row=int(rows[i]), field="geometry", row_kind=src.row_kind)


def _area(frame: pd.DataFrame, geoms: np.ndarray, src: _Source, spec: LayerSpec, notes: list[str],
          vertices: tuple | None = None) -> None:
    """area_m2 from the polygons (equal-area projection) when the layer has none; else a check of the given."""
    import shapely

    has = shapely.get_type_id(geoms) >= 0
    area = crsmod.equal_area_m2(geoms, *(vertices or (None, None)))
    area[~has] = np.nan
    invalid = has.copy()
    invalid[has] = ~shapely.is_valid(geoms[has])
    rows = frame["_row"].to_numpy()
    if invalid.any():
        i = int(np.argmax(invalid))
        notes.append(f"{src.display}, {src.row_kind} {int(rows[i])}, field 'geometry': {int(invalid.sum()):,} "
                     "invalid polygon(s) (self-intersecting or badly nested rings, first here); their areas and "
                     "centroids may be wrong")
    if "area_m2" not in frame.columns:
        if not has.all():
            i = int(np.argmin(has))
            raise ScenarioError("no geometry and no area_m2: a parcel needs its polygon or an area",
                                file=src.display, row=int(rows[i]), field="geometry", row_kind=src.row_kind)
        frame["area_m2"] = area
        return
    given = pd.to_numeric(frame["area_m2"], errors="coerce").to_numpy(dtype=float)
    ok = has & np.isfinite(given) & (area > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok, given / area, 1.0)
    off = ok & (np.abs(ratio - 1.0) > AREA_TOLERANCE)
    if off.any():
        i = int(np.argmax(np.where(off, np.abs(ratio - 1.0), -1.0)))
        name = spec.columns.get("area_m2", "area_m2")
        unit = ""
        med = float(np.median(ratio[off]))
        if abs(med / 1e-4 - 1) < 0.02:
            unit = "; the field looks like hectares (公顷), not m²"
        elif abs(med * 666.667 / 1.0 - 1) < 0.02:
            unit = "; the field looks like mu (亩), not m²"
        notes.append(f"{src.display}, field '{name}': {int(off.sum()):,} parcel(s) differ from their polygon's "
                     f"area by more than {AREA_TOLERANCE:.0%} (largest at {src.row_kind} {int(rows[i])}: "
                     f"{given[i]:,.1f} given, {area[i]:,.1f} m² from the polygon, {ratio[i] - 1:+.1%}){unit}; "
                     "the given areas are used")


def _output_crs(spec: LayerSpec, crs) -> str:
    """The CRS to also write the plan in ("" for none), as text resolve_crs reads back (or "GCJ-02")."""
    if spec.output_crs is None:
        return ""
    if spec.output_crs.strip().lower() == "input":
        if crs is None:
            raise ScenarioError('output_crs = "input" needs a layer with a CRS', file=TOML,
                                field="data.parcels.output_crs")
        return crsmod.GCJ02 if isinstance(crs, str) else crs.to_string()
    if crsmod.is_gcj02(spec.output_crs):
        return crsmod.GCJ02
    try:
        return crsmod.resolve_crs(spec.output_crs).to_string()
    except ValueError as exc:
        raise ScenarioError(f"unknown CRS '{spec.output_crs}' ({exc})", file=TOML,
                            field="data.parcels.output_crs") from None


# --- messages in the layer's own field names ----------------------------------------------------------------
@contextmanager
def layer_field_names(attrs: dict) -> Iterator[None]:
    """An error about a mapped parcel column names the layer's field (and the column it is mapped to)."""
    try:
        yield
    except ScenarioError as exc:
        fields = attrs.get("fields") or {}
        if exc.file == attrs.get("display") and exc.field in fields:
            raise ScenarioError(f"{exc.message} (field {fields[exc.field]} is mapped to {exc.field})", file=exc.file,
                                row=exc.row, field=fields[exc.field],
                                row_kind=attrs.get("row_kind", "row")) from None
        raise


def warnings_in_field_names(sc, attrs: dict):
    """The scenario with its warnings about mapped parcel columns naming the layer's fields."""
    import dataclasses
    import re

    fields = attrs.get("fields") or {}
    if not fields or not sc.warnings:
        return sc
    where = re.escape(attrs.get("display", ""))
    lines = []
    for line in sc.warnings:
        for col, name in fields.items():
            line = re.sub(f"^({where}(?:, [a-z]+ \\d+)?), field '{re.escape(col)}'",
                          lambda m, name=name: f"{m.group(1)}, field '{name}'", line)
        lines.append(line)
    return dataclasses.replace(sc, warnings=tuple(lines))
