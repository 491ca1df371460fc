"""Property tests over the loaders: whatever the input, `load_scenario` returns a Scenario whose numbers are all
finite (or a documented "no bound") and within the schema's ranges, or raises ScenarioError: never another
exception.

Mutations: random cells in every CSV column (text, numbers, huge, nan, inf, empty, unicode, `$x$`), random
bytes in a CSV file, random keys and values in scenario.toml (unknown keys, wrong types, huge numbers), random
JSON structures in place of a GeoJSON document or any part of it, deep nesting, and random data paths.
Examples are derandomised (conftest.py); LANDUSE_HYPOTHESIS_SCALE=10 hunts longer.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from test_corpus import BASES, to_toml

from optimizer.data import Scenario
from optimizer.errors import ScenarioError
from optimizer.scenario import build_scenario, load_scenario, schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TINY, NET = BASES["tiny"], BASES["net"]
NET_CONFIG = tomllib.loads((NET / "scenario.toml").read_text(encoding="utf-8"))
TINY_CONFIG = tomllib.loads((TINY / "scenario.toml").read_text(encoding="utf-8"))
CSV_FILES = {  # base, file, columns (as in the schema, plus the metric column of the net base)
    "tiny parcels": (TINY, "parcels.csv", schema.PARCEL_COLUMNS),
    "tiny industries": (TINY, "industries.csv", schema.INDUSTRY_COLUMNS),
    "net industries": (NET, "industries.csv", (*schema.INDUSTRY_COLUMNS, schema.Column("teams_per_m2", "number"))),
    "net pairs": (NET, "pairs.csv", schema.PAIR_COLUMNS),
    "net nodes": (NET, "network/nodes.csv", schema.NODE_COLUMNS),
    "net edges": (NET, "network/edges.csv", schema.EDGE_COLUMNS),
}

# --- strategies -------------------------------------------------------------------------------------------------
SPECIAL_CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e308", "1e30", "1e16",
                 "-0", "0", "0.0", "1", "-1", "2.5", "1e-320", "$x$", "true", "false", "yes", "None", "null",
                 "NA", "#N/A", "１２", "٣", "B2", "b2", "P1", "finance", "metro", "\"", "'", ",", ";", "\n",
                 "\r\n", "\t", "a,b", "=1+1", "0x10", "1_000", "1,5", "10" * 400, "€", "🏙", "\u200b"]
cells = st.one_of(
    st.sampled_from(SPECIAL_CELLS),
    st.text(max_size=20),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
                         st.integers(min_value=-(10**30), max_value=10**30), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=30)
toml_scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=15),
    st.sampled_from(["", "maximize", "EPSG:4326", "local_m", "highs", "*", "finance", "metro", "core",
                     "parcels.csv", "../x.csv", "teams"]),
    st.dates(), st.datetimes(), st.times(),
)
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3), max_leaves=12)
KNOWN_KEYS = sorted({k.name for t in schema.TOML_TABLES for k in t.keys} | {t.name.split(".")[-1]
                                                                             for t in schema.TOML_TABLES})
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=12))


# --- the property ---------------------------------------------------------------------------------------------------
def loads_or_refuses(load) -> Scenario | None:
    """Call `load`; a ScenarioError is fine (None), any other exception fails the test."""
    try:
        sc = load()
    except ScenarioError as exc:
        assert exc.file, f"a ScenarioError without a file: {exc}"
        return None
    assert_numbers_in_range(sc)
    return sc


def _in(values: np.ndarray, lo: float | None, hi: float | None, above: bool = False, nan_ok: bool = True) -> bool:
    v = np.asarray(values, dtype=float)
    ok = np.isnan(v) if nan_ok else np.zeros(v.shape, dtype=bool)
    fine = np.isfinite(v)
    if lo is not None:
        fine &= v > lo if above else v >= lo
    if hi is not None:
        fine &= v <= hi
    return bool((ok | fine).all())


def assert_numbers_in_range(sc: Scenario) -> None:
    tables = [(sc.parcels, schema.PARCEL_COLUMNS), (sc.industries, schema.INDUSTRY_COLUMNS)]
    if sc.pairs is not None:
        tables.append((sc.pairs, schema.PAIR_COLUMNS))
    if sc.network is not None:
        tables += [(sc.network.nodes, schema.NODE_COLUMNS), (sc.network.edges, schema.EDGE_COLUMNS)]
    for df, columns in tables:
        for col in columns:
            if col.kind in ("number", "int"):
                nan_ok = not col.required or col.name in ("x", "y")
                assert _in(df[col.name], col.min, col.max, col.above, nan_ok), (col.name, df[col.name].tolist())
    for c in sc.industries.columns:
        if c.endswith("_per_m2") and c != "output_per_m2":
            assert _in(sc.industries[c], 0.0, schema.MAX_METRIC_PER_M2, nan_ok=False), c
    xy = sc.parcels[["x", "y"]].to_numpy(float)
    assert _in(xy, -schema.MAX_COORD, schema.MAX_COORD)
    if sc.network is not None:
        assert np.isfinite(sc.parcels[["x_m", "y_m"]].to_numpy(float)).all()
        assert np.isfinite(sc.network.nodes[["x_m", "y_m"]].to_numpy(float)).all()
        times = sc.access.to_numpy(float)
        assert not np.isnan(times).any() and (times >= 0).all()
        if sc.network.crs == "EPSG:4326":
            assert _in(xy[:, 0], -180, 180) and _in(xy[:, 1], -90, 90)
    r = sc.rules
    assert _in([r.total_budget_yuan, *r.industry_budget_yuan.values()], 0.0, schema.MAX_YUAN)
    for a in r.access_rules:
        assert (a.max_minutes == math.inf or 0 <= a.max_minutes <= 1e4) and 0 <= a.decay_per_min <= 10
    for m in r.subarea_mix:
        assert _in([m.min_share, m.max_share], 0, 1) and _in([m.min_floor_m2, m.max_floor_m2], 0, schema.MAX_FLOOR_M2)
    for m in r.metric_rules:
        assert _in([m.min, m.max], 0, schema.MAX_METRIC_TOTAL)
    assert 0 <= sc.objective.cost_weight <= 1e3 and sc.objective.sense in ("maximize", "minimize")
    assert 0 <= sc.solver.time_limit_s <= 1e7 and 0 <= sc.solver.mip_gap <= 1
    assert isinstance(sc.solver.threads, int) and 0 <= sc.solver.threads <= 1024
    assert _in([sc.total_area_km2], 0, 1e6, above=True)
    assert all(isinstance(w, str) for w in sc.warnings)


def copy_base(base: Path, tmp: str) -> Path:
    folder = Path(tmp) / "scenario"
    shutil.copytree(base, folder)
    return folder


# --- CSV cells -------------------------------------------------------------------------------------------------------
@settings(max_examples=examples(150))
@given(which=st.sampled_from(sorted(CSV_FILES)), data=st.data())
def test_random_csv_cells(which, data):
    base, name, columns = CSV_FILES[which]
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(base, tmp)
        df = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        for _ in range(data.draw(st.integers(1, 3))):
            col = data.draw(st.sampled_from([c.name for c in columns]))
            if col not in df.columns:
                df[col] = ""
            df.loc[data.draw(st.integers(0, len(df) - 1)), col] = data.draw(cells)
        df.to_csv(folder / name, index=False)
        loads_or_refuses(lambda: load_scenario(folder))


@settings(max_examples=examples(60))
@given(which=st.sampled_from(sorted(CSV_FILES)), data=st.data())
def test_random_bytes_in_a_csv_file(which, data):
    base, name, _ = CSV_FILES[which]
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(base, tmp)
        raw = (folder / name).read_bytes()
        at = data.draw(st.integers(0, len(raw)))
        cut = data.draw(st.integers(0, 8))
        raw = raw[:at] + data.draw(st.binary(max_size=12)) + raw[at + cut:]
        (folder / name).write_bytes(raw)
        loads_or_refuses(lambda: load_scenario(folder))


@settings(max_examples=examples(80))
@given(column=st.sampled_from([c.name for c in schema.PARCEL_COLUMNS if c.kind != "text"]),
       values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                                 st.integers(-(10**20), 10**20)), min_size=5, max_size=5))
def test_numeric_frames_from_a_generator(column, values):
    """build_scenario with a numeric (not text) column, as generators pass them."""
    parcels = pd.read_csv(TINY / "parcels.csv")
    industries = pd.read_csv(TINY / "industries.csv")
    parcels[column] = pd.Series(values, dtype=object if any(isinstance(v, bool) for v in values) else None)
    loads_or_refuses(lambda: build_scenario(copy.deepcopy(TINY_CONFIG), {"parcels": parcels,
                                                                          "industries": industries}))


# --- scenario.toml -------------------------------------------------------------------------------------------------
def _paths(doc, prefix=()):
    """Every (path, container) of a parsed TOML document, tables and arrays of tables included."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k), doc
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            if isinstance(v, dict):
                yield from _paths(v, (*prefix, i))


@st.composite
def mutated_configs(draw):
    """(base folder, its scenario.toml with 1-3 random mutations)."""
    base = draw(st.sampled_from([NET, TINY]))
    config = copy.deepcopy(NET_CONFIG if base == NET else TINY_CONFIG)
    for _ in range(draw(st.integers(1, 3))):
        spots = [(p, c) for p, c in _paths(config)]
        path, container = draw(st.sampled_from(spots))
        kind = draw(st.sampled_from(["set", "insert", "delete", "insert_top"]))
        if kind == "set":
            container[path[-1]] = draw(toml_values)
        elif kind == "delete":
            del container[path[-1]]
        elif kind == "insert_top":
            config[draw(keys)] = draw(toml_values)
        else:
            target = container[path[-1]]
            if isinstance(target, dict):
                target[draw(keys)] = draw(toml_values)
            else:
                container[draw(keys)] = draw(toml_values)
    return base, config


@settings(max_examples=examples(200))
@given(mutated=mutated_configs())
def test_random_toml(mutated):
    base, config = mutated
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(base, tmp)
        try:
            text = to_toml(config)
        except TypeError:
            return  # a value the writer cannot express
        (folder / "scenario.toml").write_text(text, encoding="utf-8")
        loads_or_refuses(lambda: load_scenario(folder))


@settings(max_examples=examples(100))
@given(mutated=mutated_configs())
def test_random_config_in_memory(mutated):
    _, config = mutated
    frames = {"parcels": pd.read_csv(TINY / "parcels.csv"), "industries": pd.read_csv(TINY / "industries.csv")}
    loads_or_refuses(lambda: build_scenario(config, frames))


@settings(max_examples=examples(10))
@given(depth=st.integers(50, 20_000), kind=st.sampled_from(["[", "{a = "]))
def test_deep_toml(depth, kind):
    closing = "]" if kind == "[" else "}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(TINY, tmp)
        (folder / "scenario.toml").write_text("x = " + kind * depth + ("1" if kind != "[" else "") + closing * depth)
        assert loads_or_refuses(lambda: load_scenario(folder)) is None


# --- GeoJSON ----------------------------------------------------------------------------------------------------------
NET_PARCELS = json.loads((NET / "parcels.geojson").read_text(encoding="utf-8"))
GEOJSON_SPOTS = ["", "features", "features[1]", "features[1].properties", "features[1].geometry",
                 "features[1].geometry.coordinates", "features[1].geometry.type", "features[2].properties.area_m2",
                 "features[2].properties.zone", "features[3].geometry.coordinates[1]",
                 "features[3].geometry.coordinates[1][1]", "type"]


def _set(doc, spot: str, value):
    if not spot:
        return value
    node = doc
    parts = spot.replace("[", ".[").split(".")
    for p in parts[:-1]:
        node = node[int(p[1:-1]) - 1] if p.startswith("[") else node[p]
    last = parts[-1]
    node[int(last[1:-1]) - 1 if last.startswith("[") else last] = value
    return doc


@settings(max_examples=examples(150))
@given(spot=st.sampled_from(GEOJSON_SPOTS), value=json_values)
def test_random_geojson(spot, value):
    doc = _set(copy.deepcopy(NET_PARCELS), spot, value)
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(NET, tmp)
        (folder / "parcels.geojson").write_text(json.dumps(doc), encoding="utf-8")
        loads_or_refuses(lambda: load_scenario(folder))


@settings(max_examples=examples(10))
@given(depth=st.integers(10, 200_000), inside=st.booleans())
def test_deep_geojson(depth, inside):
    text = "[" * depth + "]" * depth
    if inside:
        doc = copy.deepcopy(NET_PARCELS)
        doc["features"][0]["geometry"]["coordinates"] = "@"
        text = json.dumps(doc).replace('"@"', text)
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(NET, tmp)
        (folder / "parcels.geojson").write_text(text, encoding="utf-8")
        assert loads_or_refuses(lambda: load_scenario(folder)) is None


@settings(max_examples=examples(40))
@given(layer=st.sampled_from(["subareas.geojson"]), value=json_values)
def test_random_layer(layer, value):
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(NET, tmp)
        (folder / layer).write_text(json.dumps({"type": "FeatureCollection", "features": value}), encoding="utf-8")
        loads_or_refuses(lambda: load_scenario(folder))


# --- paths -------------------------------------------------------------------------------------------------------------
paths = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", ".", "..", "/", "//", "./parcels.csv", "parcels.csv/", "parcels.csv\0", "\0",
                     "../tiny/parcels.csv", "a/" * 2000, "x" * 5000 + ".csv", "network", "~/parcels.csv",
                     "scenario.toml", "C:\\parcels.csv", "parcels.CSV", "PARCELS.csv", "parcels.csv ", "*.csv"]),
    st.lists(st.sampled_from(["..", ".", "a", "network", "parcels.csv", "", "x" * 300]), max_size=6).map("/".join),
)


@settings(max_examples=examples(80))
@given(role=st.sampled_from(["parcels", "industries", "pairs", "compatibility", "zones", "subareas", "basemap"]),
       path=paths)
def test_random_paths(role, path):
    config = copy.deepcopy(TINY_CONFIG)
    config["data"][role] = path
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_base(TINY, tmp)
        (folder / "scenario.toml").write_text(to_toml(config), encoding="utf-8")
        loads_or_refuses(lambda: load_scenario(folder))


@pytest.mark.parametrize("target", ["loop", "dir", "unreadable"])
def test_special_files(tmp_path, monkeypatch, target):
    """A symbolic-link loop, a folder and a file that cannot be read (simulated: tests may run as root)."""
    folder = copy_base(TINY, str(tmp_path))
    config = copy.deepcopy(TINY_CONFIG)
    if target == "loop":
        (folder / "a.csv").symlink_to("b.csv")
        (folder / "b.csv").symlink_to("a.csv")
        config["data"]["pairs"] = "a.csv"
    elif target == "dir":
        (folder / "d.csv").mkdir()
        config["data"]["pairs"] = "d.csv"
    else:
        real = Path.read_bytes

        def denied(self):
            if self.name == "industries.csv":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    (folder / "scenario.toml").write_text(to_toml(config), encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder)
    words = {"loop": "symbolic link loop", "dir": "is a folder, not a file", "unreadable": "permission denied"}
    assert words[target] in str(exc.value)
    assert exc.value.file in ("a.csv", "d.csv", "industries.csv")


def test_dates_and_times_are_not_numbers():
    config = copy.deepcopy(TINY_CONFIG)
    config["solver"]["time_limit_s"] = dt.time(0, 1)
    frames = {"parcels": pd.read_csv(TINY / "parcels.csv"), "industries": pd.read_csv(TINY / "industries.csv")}
    with pytest.raises(ScenarioError, match="solver.time_limit_s.*must be a number"):
        build_scenario(config, frames)
