"""Readers that remember where each value came from, so every error names file, row and field.

Files are read as bytes and checked before they are parsed: an unreadable path (missing, a folder, no
permission, a symbolic-link loop, a name too long, a NUL byte), text that is not UTF-8 (a UTF-8 byte-order mark is
accepted), a CSV file that is empty or ragged or has duplicate or blank header names, and a malformed TOML or
GeoJSON document are each a ScenarioError naming the file, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import ScenarioError
from optimizer.scenario.schema import MAX_COORD, Column

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROW = "_row"  # source row number kept beside the data, for cross-file error messages
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f"}
_OS_REASONS = {
    errno.ENOENT: "file not found",
    errno.ENOTDIR: "file not found (a part of the path is not a folder)",
    errno.EISDIR: "is a folder, not a file",
    errno.EACCES: "permission denied: the file cannot be read",
    errno.EPERM: "permission denied: the file cannot be read",
    errno.ELOOP: "symbolic link loop",
    errno.ENAMETOOLONG: "file name too long",
}


# --- bytes and text -----------------------------------------------------------------------------------------
def os_reason(exc: BaseException) -> str:
    """A planner's words for why a path cannot be used."""
    if isinstance(exc, ValueError):  # "embedded null byte"
        return "the path contains a NUL character"
    if isinstance(exc, RuntimeError):  # Path.resolve() on Python 3.11: "Symlink loop from ..."
        return "symbolic link loop"
    code = getattr(exc, "errno", None)
    return _OS_REASONS.get(code, f"cannot read the file ({getattr(exc, 'strerror', None) or exc})")


def read_bytes(path: Path, display: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (OSError, ValueError) as exc:
        raise ScenarioError(os_reason(exc), file=display) from None


def decode_text(raw: bytes, display: str, line_offset: int = 0) -> str:
    """UTF-8 text (a leading byte-order mark dropped); anything else is a ScenarioError with the line.

    `line_offset`: lines of the file before `raw` (a part of a file read in blocks), added to the line reported."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ScenarioError("the file is UTF-16 text; save it as UTF-8", file=display)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1 + line_offset
        raise ScenarioError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as UTF-8",
                            file=display) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1 + line_offset
        raise ScenarioError(f"contains a NUL character (line {line}): not a text file", file=display)
    return text


def read_toml(path: Path, display: str) -> dict[str, Any]:
    return _parse_text(path, display, tomllib.loads, tomllib.TOMLDecodeError, "unreadable TOML")


# --- CSV ----------------------------------------------------------------------------------------------------
def read_csv_raw(path: Path, display: str) -> pd.DataFrame:
    """Read a CSV as text cells (no type guessing), with the spreadsheet row number in `_row`."""
    raw = read_bytes(path, display)
    return parse_csv(raw, decode_text(raw, display), display)


def parse_csv(raw: bytes, text: str, display: str, row_offset: int = 0) -> pd.DataFrame:
    """CSV text -> text cells and `_row` (blank lines count as rows, as in a spreadsheet, and are skipped).

    `row_offset`: for the header followed by a block of a file's records (a file read in blocks), the records of
    the file between its header and the block, added to the row numbers of the block's records."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not text.strip():
        raise ScenarioError("the file is empty (a CSV file needs a header row)", file=display)
    try:
        cells = _cells_per_record(raw, text)
    except csv.Error as exc:
        raise ScenarioError(f"cannot read as CSV ({exc})", file=display) from None
    header_at = int(np.argmax(cells > 0))
    names = _header(text, display)
    n_cols = len(names)
    rows = np.arange(1, len(cells) + 1)
    data = (rows > header_at + 1) & (cells > 0)
    if row_offset:
        rows = np.where(rows > header_at + 1, rows + row_offset, rows)
    ragged = data & (cells != n_cols)
    if ragged.any():
        i = int(np.argmax(ragged))
        raise ScenarioError(f"ragged row: {cells[i]} cells, the header has {n_cols}", file=display, row=int(rows[i]))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                         index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise ScenarioError(f"cannot read as CSV ({str(exc).strip().splitlines()[0]})", file=display) from None
    df.columns = names
    df[ROW] = rows[data] if len(df) == int(data.sum()) else np.arange(2, len(df) + 2) + row_offset
    return df


def _header(text: str, display: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    names = next(r for r in reader if r and any(c.strip() for c in r))
    names = [c.strip() for c in names]
    for j, name in enumerate(names):
        if not name:
            raise ScenarioError(f"column {j + 1} of the header has no name", file=display, row=1)
        if name in names[:j]:
            raise ScenarioError(f"duplicate column name '{name}' (columns {names.index(name) + 1} and {j + 1})",
                                file=display, field=name)
        if name == ROW:
            raise ScenarioError(f"'{ROW}' is not a column name of any input", file=display, field=name)
    return names


def _cells_per_record(raw: bytes, text: str) -> np.ndarray:
    """Number of cells of each record (0 for a blank line). Vectorised on the bytes when nothing is quoted."""
    plain = b'"' not in raw and raw.count(b"\r") == raw.count(b"\r\n")
    if plain:
        buf = np.frombuffer(raw, dtype=np.uint8)
        ends = np.flatnonzero(buf == ord("\n"))
        if len(buf) and buf[-1] != ord("\n"):
            ends = np.append(ends, len(buf))
        starts = np.concatenate([[0], ends[:-1] + 1])
        commas = np.flatnonzero(buf == ord(","))
        cells = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
        single = np.flatnonzero(cells == 1)
        if len(single) <= 10_000:  # blank or whitespace-only lines (few, unless the file has one column)
            for i in single:
                if not raw[starts[i]:ends[i]].strip():
                    cells[i] = 0
            return cells
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    return np.fromiter((0 if len(r) <= 1 and not "".join(r).strip() else len(r) for r in reader), dtype=np.int64)


# --- JSON / GeoJSON -----------------------------------------------------------------------------------------
def read_json(path: Path, display: str) -> Any:
    return _parse_text(path, display, json.loads, json.JSONDecodeError, "not valid JSON")


def _parse_text(path: Path, display: str, loads, decode_error: type[Exception], what: str) -> Any:
    """A text file parsed by `loads`; any failure (syntax, nesting too deep, an out-of-range value such as a
    date or an integer of thousands of digits) becomes a ScenarioError naming the file."""
    text = decode_text(read_bytes(path, display), display)
    try:
        return loads(text)
    except RecursionError:
        raise ScenarioError(f"{what} (nested too deeply)", file=display) from None
    except (decode_error, ValueError) as exc:
        raise ScenarioError(f"{what} ({exc})", file=display) from None


POLYGONS = ("Polygon", "MultiPolygon")


def read_geojson_raw(path: Path, display: str) -> tuple[pd.DataFrame, list]:
    """Read a GeoJSON FeatureCollection: properties as text cells, geometries as shapely (Multi)Polygons."""
    return parse_geojson(read_json(path, display), display)


def parse_geojson(doc: Any, display: str, types: tuple[str, ...] = POLYGONS) -> tuple[pd.DataFrame, list]:
    """A parsed GeoJSON document -> (properties as text cells with `_row` = feature number, geometries or None)."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ScenarioError("expected a GeoJSON FeatureCollection (an object with \"type\": \"FeatureCollection\")",
                            file=display)
    features = doc.get("features", [])
    if not isinstance(features, list):
        raise ScenarioError("'features' must be a list of Feature objects", file=display, field="features")
    records, geoms = [], []
    for i, feat in enumerate(features, start=1):
        records.append(_properties(feat, display, i))
        geoms.append(_geometry(feat.get("geometry"), display, i, types))
    _check_coordinates(geoms, display)
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df = df.fillna("")
    df[ROW] = np.arange(1, len(df) + 1)
    return df, geoms


def _properties(feat: Any, display: str, i: int) -> dict[str, str]:
    def fail(msg: str, field: str | None = None):
        raise ScenarioError(msg, file=display, row=i, field=field, row_kind="feature")

    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        fail("not a GeoJSON Feature (an object with \"type\": \"Feature\")")
    props = feat.get("properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        fail(f"'properties' must be an object, not {_json_kind(props)}", "properties")
    out = {}
    for k, v in props.items():
        if isinstance(v, (dict, list)):
            fail(f"must be text, a number or true/false, not {_json_kind(v)}", k)
        if k == ROW:
            fail(f"'{ROW}' is not a property name of any input", k)
        out[k] = "" if v is None else str(v)
    return out


def _geometry(g: Any, display: str, i: int, types: tuple[str, ...]):
    from shapely.geometry import shape

    def fail(msg: str):
        raise ScenarioError(msg, file=display, row=i, field="geometry", row_kind="feature")

    if g is None:
        return None
    if not isinstance(g, dict):
        fail(f"must be a GeoJSON geometry object or null, not {_json_kind(g)}")
    if g.get("type") not in types:
        fail(f"must be a {' or '.join(types)} (got {json.dumps(g.get('type'))[:40]})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            geom = shape(g)
    except Exception as exc:  # noqa: BLE001 - shapely raises many types (and RecursionError) for bad input
        fail(f"bad geometry ({type(exc).__name__}: {str(exc)[:120]})")
    if geom.is_empty:
        fail("empty geometry (no coordinates)")
    return geom


def _check_coordinates(geoms: list, display: str) -> None:
    """Every vertex finite and within ±MAX_COORD (vectorised over all geometries)."""
    import shapely

    coords, index = shapely.get_coordinates(np.array(geoms, dtype=object), return_index=True)
    for bad, msg in ((~np.isfinite(coords).all(axis=1), "a coordinate is not a finite number"),
                     ((np.abs(coords) > MAX_COORD).any(axis=1), f"a coordinate lies beyond ±{MAX_COORD:g}")):
        if bad.any():
            i = int(index[np.argmax(bad)])
            raise ScenarioError(msg, file=display, row=i + 1, field="geometry", row_kind="feature")


def _json_kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(v), type(v).__name__)


# --- tables -------------------------------------------------------------------------------------------------
def validate_frame(
    raw: pd.DataFrame,
    display: str,
    columns: Sequence[Column],
    extra_ok: Callable[[str], bool] | None = None,
    row_kind: str = "row",
    unique: str | None = None,
    extra: Column | None = None,
) -> pd.DataFrame:
    """Check columns, parse each to its kind, check ranges; returns typed columns plus `_row`.

    Extra columns are kept (parsed as `extra`, default: numbers >= 0) when `extra_ok(name)` accepts them,
    rejected otherwise.
    """
    if ROW not in raw.columns:
        raw = raw.assign(**{ROW: np.arange(2, len(raw) + 2)})
    rows = raw[ROW].to_numpy()
    known = {c.name for c in columns}
    names = [str(c) for c in raw.columns if c != ROW]
    missing = [c.name for c in columns if c.required and c.name not in raw.columns]
    if missing:
        raise ScenarioError(f"missing required column(s): {', '.join(missing)}", file=display, field=missing[0])
    extras = [c for c in names if c not in known]
    bad = [c for c in extras if not (extra_ok and extra_ok(c))]
    if bad:
        raise ScenarioError(
            f"unknown column(s): {', '.join(bad)} (expected: {', '.join(c.name for c in columns)})",
            file=display, field=bad[0],
        )
    out = {}
    for col in columns:
        if col.name in raw.columns:
            out[col.name] = _parse(raw[col.name], col, display, rows, row_kind)
        else:
            out[col.name] = pd.Series([col.default] * len(raw), index=raw.index)
    base = extra or Column("", "number", required=False, default=0.0, min=0.0)
    for name in extras:
        out[name] = _parse(raw[name], Column(name, base.kind, required=False, default=base.default, min=base.min,
                                             max=base.max), display, rows, row_kind)
    df = pd.DataFrame(out, index=raw.index)
    df[ROW] = rows
    if unique is not None and len(df):
        dup = df[unique].duplicated(keep="first").to_numpy()
        if dup.any():
            i = int(np.argmax(dup))
            first = int(rows[int(np.argmax((df[unique] == df[unique].iloc[i]).to_numpy()))])
            raise ScenarioError(f"duplicate id '{df[unique].iloc[i]}' (also at {row_kind} {first})", file=display,
                                row=int(rows[i]), field=unique, row_kind=row_kind)
    return df.reset_index(drop=True)


def _fail(display, rows, mask, col, msg, series, row_kind):
    i = int(np.argmax(mask))
    value = str(series.iloc[i])
    if len(value) > 60:
        value = value[:57] + "..."
    raise ScenarioError(f"{msg} (got '{value}')", file=display, row=int(rows[i]), field=col.name, row_kind=row_kind)


def _parse(series: pd.Series, col: Column, display: str, rows: np.ndarray, row_kind: str) -> pd.Series:
    if col.kind in ("number", "int", "bool") and (pd.api.types.is_numeric_dtype(series)
                                                  or pd.api.types.is_bool_dtype(series)):
        return _parse_numeric(series, col, display, rows, row_kind)
    text = series.astype(str).str.strip()
    blank = (text == "").to_numpy()
    if col.kind == "text":
        if col.required and blank.any():
            _fail(display, rows, blank, col, "empty value", text, row_kind)
        return text.where(~blank, col.default if col.default is not None else "")
    if col.kind == "bool":
        low = text.str.lower()
        is_true = low.isin(TRUE_WORDS).to_numpy()
        is_false = low.isin(FALSE_WORDS).to_numpy()
        bad = ~(is_true | is_false | blank)
        if bad.any():
            _fail(display, rows, bad, col, "expected true/false", text, row_kind)
        if col.required and blank.any():
            _fail(display, rows, blank, col, "empty value", text, row_kind)
        return pd.Series(np.where(blank, bool(col.default), is_true), index=series.index, dtype=bool)
    values = pd.to_numeric(text.where(~blank, None), errors="coerce").to_numpy(dtype=float)
    nonnum = ~blank & np.isnan(values)
    if nonnum.any():
        _fail(display, rows, nonnum, col, "not a number", text, row_kind)
    return _check_numbers(values, blank, series, col, display, rows, row_kind)


def _parse_numeric(series: pd.Series, col: Column, display: str, rows: np.ndarray, row_kind: str) -> pd.Series:
    """Fast path for columns a generator passes as numbers or booleans (no text round trip)."""
    try:
        values = series.to_numpy(dtype=float)
    except (TypeError, ValueError, OverflowError):  # e.g. nullable columns or huge integers
        values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy(dtype=float)
    blank = np.isnan(values)
    if col.kind == "bool":
        bad = ~blank & (values != 0) & (values != 1)
        if bad.any():
            _fail(display, rows, bad, col, "expected true/false", series, row_kind)
        if col.required and blank.any():
            _fail(display, rows, blank, col, "empty value", series, row_kind)
        return pd.Series(np.where(blank, bool(col.default), values == 1), index=series.index, dtype=bool)
    return _check_numbers(values, blank, series, col, display, rows, row_kind)


def _check_numbers(values: np.ndarray, blank: np.ndarray, text: pd.Series, col: Column, display: str,
                   rows: np.ndarray, row_kind: str) -> pd.Series:
    if col.required and blank.any():
        _fail(display, rows, blank, col, "empty value", text, row_kind)
    if np.isinf(values).any():
        _fail(display, rows, np.isinf(values), col, "not a finite number", text, row_kind)
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            low = values <= col.min if col.above else values < col.min
            if low.any():
                word = "greater than" if col.above else "at least"
                _fail(display, rows, low, col, f"must be {word} {col.min:g}", text, row_kind)
        if col.max is not None and (values > col.max).any():
            _fail(display, rows, values > col.max, col, f"must be at most {col.max:g}", text, row_kind)
    if col.kind == "int":
        frac = ~np.isnan(values) & (values != np.round(values))
        if frac.any():
            _fail(display, rows, frac, col, "must be a whole number", text, row_kind)
    default = np.nan if col.default is None else float(col.default)
    values = np.where(blank, default, values)
    return pd.Series(values, index=text.index, dtype=float)
