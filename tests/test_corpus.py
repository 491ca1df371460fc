"""A corpus of mutated scenarios (tests/corpus/cases.toml) run through `landuse validate` (or `solve`) in-process.

Each case copies a base scenario (scenarios/tiny, tests/corpus/base/net, or scenarios/qianhai without its
variants), applies its edits and checks the exit code and the words of the output. A case that expects exit 2
must name the file and a row, feature, field, line or scenario.toml key; no case may print a traceback.

Edits (one inline table each):
  {set = "a.b[2].c", value = ...}       set a scenario.toml key (indexes of [[arrays]] count from 1)
  {delete = "a.b"}                      delete a key or table
  {rename = "a.b", to = "c"}            rename a key in place
  {toml = "text"}                       append raw text to scenario.toml
  {file = F, row = R, column = C, value = V}   set a CSV cell (rows as in a spreadsheet; adds a missing column)
  {file = F, swap = [C1, C2]}           exchange two CSV columns
  {file = F, column = C, scale = k} / {file = F, column = C, add = d}   change a numeric CSV column
  {file = F, at = "features[2].geometry", json = "null"}   set a value inside a JSON file (indexes from 1)
  {file = F, coords = "swap" | "scale" | "shift", factor = k, by = [dx, dy], feature = n}   GeoJSON coordinates
  {file = F, write = T, encoding = E} / {file = F, parts = [[T, n], ...]}   replace a file (T repeated n times)
  {file = F, append = T}                append text to a file
  {file = F, remove = true} / {file = F, mkdir = true} / {file = F, symlink = TARGET}
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import REPO

from optimizer.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parent / "corpus"
BASES = {"tiny": REPO / "scenarios" / "tiny", "net": CORPUS / "base" / "net", "qianhai": REPO / "scenarios" / "qianhai"}
QIANHAI_SKIP = ("before", "after", "source", "generate.py", "README.md")
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
LOCATED = re.compile(r"(row|feature|line) \d+|field '|data\.\w+")


# --- a TOML writer for the edited scenario.toml -------------------------------------------------------------
def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(doc: dict) -> str:
    lines: list[str] = []

    def table(prefix: str, d: dict, header: str) -> None:
        plain = {k: v for k, v in d.items() if not _is_table(v) and not _is_array(v)}
        if header:
            lines.append(header)
        lines.extend(f"{json.dumps(k)} = {_value(v)}" for k, v in plain.items())
        for k, v in d.items():
            name = f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k)
            if _is_table(v):
                table(name, v, f"[{name}]")
            elif _is_array(v):
                for item in v:
                    table(name, item, f"[[{name}]]")

    table("", doc, "")
    return "\n".join(lines) + "\n"


def _is_table(v) -> bool:
    return isinstance(v, dict)


def _is_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


# --- edits ----------------------------------------------------------------------------------------------------
def _walk(doc, path: str, create: bool = False):
    """(container, last key or index) of a dotted path with [i] indexes counted from 1."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = doc
    for i, p in enumerate(parts[:-1]):
        if p.startswith("["):
            while create and len(node) < int(p[1:-1]):
                node.append({})
            node = node[int(p[1:-1]) - 1]
        else:
            if p not in node and create:
                node[p] = [] if parts[i + 1].startswith("[") else {}
            node = node[p]
    last = parts[-1]
    return node, int(last[1:-1]) - 1 if last.startswith("[") else last


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _coords(c, fn):
    if isinstance(c, list) and c and isinstance(c[0], (int, float)):
        return fn(c)
    return [_coords(x, fn) for x in c]


def apply_edit(folder: Path, edit: dict) -> None:
    toml_path = folder / "scenario.toml"
    if "set" in edit or "delete" in edit or "rename" in edit:
        doc = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        node, key = _walk(doc, edit.get("set") or edit.get("delete") or edit["rename"], create="set" in edit)
        if "set" in edit:
            node[key] = edit["value"]
        elif "delete" in edit:
            del node[key]
        else:
            node[edit["to"]] = node.pop(key)
        toml_path.write_text(to_toml(doc), encoding="utf-8")
        return
    if "toml" in edit:
        with toml_path.open("a", encoding="utf-8") as f:
            f.write("\n" + edit["toml"])
        return
    path = folder / edit["file"]
    if "row" in edit:
        df = _csv(path)
        if edit["column"] not in df.columns:
            df[edit["column"]] = ""
        df.loc[edit["row"] - 2, edit["column"]] = edit["value"]
        df.to_csv(path, index=False)
    elif "swap" in edit:
        df = _csv(path)
        a, b = edit["swap"]
        df[a], df[b] = df[b].copy(), df[a].copy()
        df.to_csv(path, index=False)
    elif "scale" in edit or "add" in edit:
        df = _csv(path)
        x = pd.to_numeric(df[edit["column"]])
        df[edit["column"]] = (x * edit["scale"] if "scale" in edit else x + edit["add"]).map(repr)
        df.to_csv(path, index=False)
    elif "at" in edit:
        doc = json.loads(path.read_text(encoding="utf-8"))
        node, key = _walk(doc, edit["at"], create=True)
        node[key] = json.loads(edit["json"])
        path.write_text(json.dumps(doc), encoding="utf-8")
    elif "coords" in edit:
        doc = json.loads(path.read_text(encoding="utf-8"))
        fn = {"swap": lambda c: [c[1], c[0], *c[2:]],
              "scale": lambda c: [v * edit.get("factor", 1.0) for v in c],
              "shift": lambda c: [c[0] + edit["by"][0], c[1] + edit["by"][1], *c[2:]]}[edit["coords"]]
        feats = doc["features"] if "feature" not in edit else [doc["features"][edit["feature"] - 1]]
        for f in feats:
            f["geometry"]["coordinates"] = _coords(f["geometry"]["coordinates"], fn)
        path.write_text(json.dumps(doc), encoding="utf-8")
    elif "write" in edit or "parts" in edit:
        text = edit["write"] if "write" in edit else "".join(t * n for t, n in edit["parts"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(edit.get("encoding", "utf-8")))
    elif "append" in edit:
        with path.open("a", encoding="utf-8") as f:
            f.write(edit["append"])
    elif "remove" in edit:
        path.unlink()
    elif "mkdir" in edit:
        path.mkdir(parents=True)
    elif "symlink" in edit:
        path.symlink_to(edit["symlink"])
    else:
        raise ValueError(f"unknown edit {edit}")


def make_case(tmp_path: Path, case: dict) -> Path:
    folder = tmp_path / "scenario"
    shutil.copytree(BASES[case["base"]], folder, ignore=shutil.ignore_patterns(*QIANHAI_SKIP))
    for edit in case.get("edits", []):
        apply_edit(folder, edit)
    return folder


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


# --- the corpus -------------------------------------------------------------------------------------------------
def test_corpus_is_large_and_names_are_unique():
    names = [c["name"] for c in CASES]
    assert len(names) >= 100 and len(set(names)) == len(names)
    assert {c["base"] for c in CASES} <= set(BASES)
    assert all(set(c) <= {"name", "base", "edits", "exit", "words", "absent", "command", "whole_file"} for c in CASES)


@pytest.mark.parametrize("base", sorted(BASES))
def test_bases_are_valid(tmp_path, capsys, base):
    code, out = run(["validate", str(make_case(tmp_path, {"base": base}))], capsys)
    assert code == 0, out
    assert "valid" in out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(tmp_path, capsys, case):
    folder = make_case(tmp_path, case)
    argv = ["validate", str(folder)]
    if case.get("command") == "solve":
        argv = ["solve", str(folder), "--out", str(tmp_path / "out"), "--no-figures", "--solver", "highs"]
    code, out = run(argv, capsys)
    assert "Traceback" not in out
    assert code == case["exit"], out
    for word in case.get("words", []):
        assert word in out, f"{word!r} not in:\n{out}"
    for word in case.get("absent", []):
        assert word not in out, f"{word!r} in:\n{out}"
    if code == 2:
        line = next(x for x in out.splitlines() if "error:" in x)
        assert re.search(r"error: [^,:]*[./][^,:]*[,:]", line), f"no file in: {line}"
        assert LOCATED.search(line) or case.get("whole_file"), f"no row, feature, field or key in: {line}"


def test_writer_round_trips_the_bases():
    for base in ("tiny", "net", "qianhai"):
        doc = tomllib.loads((BASES[base] / "scenario.toml").read_text(encoding="utf-8"))
        assert tomllib.loads(to_toml(doc)) == doc


def test_edit_helpers(tmp_path):
    folder = make_case(tmp_path, {"base": "tiny", "edits": [
        {"set": "access_rules[1].industry", "value": "it"},
        {"file": "parcels.csv", "row": 3, "column": "area_m2", "value": "7"},
    ]})
    doc = tomllib.loads((folder / "scenario.toml").read_text())
    assert doc["access_rules"] == [{"industry": "it"}]
    assert _csv(folder / "parcels.csv")["area_m2"].tolist()[1] == "7"
