"""Readers that remember where each value came from, so every error names file, row and field."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import ScenarioError
from optimizer.scenario.schema import Column

ROW = "_row"  # source row number kept beside the data, for cross-file error messages
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f"}


def read_csv_raw(path: Path, display: str) -> pd.DataFrame:
    """Read a CSV as text cells (no type guessing), with the spreadsheet row number in `_row`."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=display) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError(f"cannot read as CSV ({str(exc).strip().splitlines()[0]})", file=display) from None
    df.columns = [str(c).strip() for c in df.columns]
    df[ROW] = np.arange(2, len(df) + 2)
    return df


def read_geojson_raw(path: Path, display: str) -> tuple[pd.DataFrame, list]:
    """Read a GeoJSON FeatureCollection: properties as text cells, geometries as shapely objects."""
    from shapely.geometry import shape

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("file not found", file=display) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"not valid JSON ({exc})", file=display) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ScenarioError("expected a GeoJSON FeatureCollection", file=display)
    records, geoms = [], []
    for i, feat in enumerate(doc.get("features") or [], start=1):
        props = feat.get("properties") or {}
        records.append({k: "" if v is None else str(v) for k, v in props.items()})
        try:
            geoms.append(shape(feat["geometry"]) if feat.get("geometry") else None)
        except Exception as exc:  # shapely raises several types for bad geometry
            raise ScenarioError(f"bad geometry ({exc})", file=display, row=i, field="geometry",
                                row_kind="feature") from None
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df = df.fillna("")
    df[ROW] = np.arange(1, len(df) + 1)
    return df, geoms


def validate_frame(
    raw: pd.DataFrame,
    display: str,
    columns: Sequence[Column],
    extra_ok: Callable[[str], bool] | None = None,
    row_kind: str = "row",
    unique: str | None = None,
) -> pd.DataFrame:
    """Check columns, parse each to its kind, check ranges; returns typed columns plus `_row`.

    Extra columns are kept (parsed as numbers) when `extra_ok(name)` accepts them, rejected otherwise.
    """
    if ROW not in raw.columns:
        raw = raw.assign(**{ROW: np.arange(2, len(raw) + 2)})
    rows = raw[ROW].to_numpy()
    known = {c.name for c in columns}
    missing = [c.name for c in columns if c.required and c.name not in raw.columns]
    if missing:
        raise ScenarioError(f"missing required column(s): {', '.join(missing)}", file=display, field=missing[0])
    extras = [c for c in raw.columns if c not in known and c != ROW]
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
    for name in extras:
        out[name] = _parse(raw[name], Column(name, "number", required=False, default=0.0, min=0.0),
                           display, rows, row_kind)
    df = pd.DataFrame(out, index=raw.index)
    df[ROW] = rows
    if unique is not None and len(df):
        dup = df[unique].duplicated(keep="first").to_numpy()
        if dup.any():
            i = int(np.argmax(dup))
            raise ScenarioError(f"duplicate id '{df[unique].iloc[i]}'", file=display, row=int(rows[i]),
                                field=unique, row_kind=row_kind)
    return df.reset_index(drop=True)


def _fail(display, rows, mask, col, msg, series, row_kind):
    i = int(np.argmax(mask))
    value = series.iloc[i]
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
    values = series.to_numpy(dtype=float)
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
    if col.min is not None and (values < col.min).any():
        _fail(display, rows, values < col.min, col, f"must be at least {col.min:g}", text, row_kind)
    if col.max is not None and (values > col.max).any():
        _fail(display, rows, values > col.max, col, f"must be at most {col.max:g}", text, row_kind)
    if col.kind == "int":
        frac = ~np.isnan(values) & (values != np.round(values))
        if frac.any():
            _fail(display, rows, frac, col, "must be a whole number", text, row_kind)
    default = np.nan if col.default is None else float(col.default)
    values = np.where(blank, default, values)
    return pd.Series(values, index=text.index, dtype=float)
