"""Every kind of bad scenario input is a ScenarioError that names file, row and field.

Each case writes a small scenario folder to tmp_path (CSV rows count like a spreadsheet: the header is row 1,
the first data row is row 2) and changes one thing in it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from helpers import REPO, write_text_files

from optimizer.errors import ScenarioError
from optimizer.scenario import load_scenario

TOML = """[scenario]
name = "base"

[data]
parcels = "parcels.csv"
industries = "industries.csv"
"""
PARCELS = """parcel_id,area_m2,zone,far_max,subarea,must_develop
P1,10000,B2,5,core,false
P2,20000,B2,2,core,false
P3,30000,M1,2,edge,true
"""
INDUSTRIES = """industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max,min_floor_total_m2,max_floor_total_m2,min_share,max_share,min_sites
finance,Finance,50000,0.05,B2,2,6,,50000,,,
it,IT,30000,0.05,B2;M1,1,4,,,,,
factory,Factory,10000,0.03,M1,0.5,2,20000,,,,
"""
BASE = {"scenario.toml": TOML, "parcels.csv": PARCELS, "industries.csv": INDUSTRIES}


def set_cell(text: str, row: int, column: str, value: str) -> str:
    """The CSV text with one cell changed (row counted like a spreadsheet: the header is row 1)."""
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df.loc[row - 2, column] = value
    return df.to_csv(index=False)


def drop_column(text: str, column: str) -> str:
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return df.drop(columns=[column]).to_csv(index=False)


def add_column(text: str, column: str, value: str) -> str:
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df[column] = value
    return df.to_csv(index=False)


def folder(tmp_path, files: dict[str, str] | None = None):
    """A scenario folder: BASE with some files replaced or added."""
    write_text_files(tmp_path, {**BASE, **(files or {})})
    return tmp_path


def load_error(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    return exc.value


def test_base_folder_is_valid(tmp_path):
    sc = load_scenario(folder(tmp_path))
    assert sc.n_parcels == 3 and sc.n_industries == 3


# (case, files to change, file, row, field, words in the message)
CSV_CASES = [
    ("missing column", {"parcels.csv": drop_column(PARCELS, "zone")}, "parcels.csv", None, "zone",
     "missing required column"),
    ("missing industry column", {"industries.csv": drop_column(INDUSTRIES, "output_per_m2")}, "industries.csv", None,
     "output_per_m2", "missing required column"),
    ("unknown column", {"parcels.csv": add_column(PARCELS, "colour", "red")}, "parcels.csv", None, "colour",
     "unknown column"),
    ("non-numeric value", {"parcels.csv": set_cell(PARCELS, 3, "area_m2", "abc")}, "parcels.csv", 3, "area_m2",
     "not a number (got 'abc')"),
    ("negative area", {"parcels.csv": set_cell(PARCELS, 4, "area_m2", "-5")}, "parcels.csv", 4, "area_m2",
     "greater than 0"),
    ("empty area", {"parcels.csv": set_cell(PARCELS, 2, "area_m2", "")}, "parcels.csv", 2, "area_m2",
     "empty value"),
    ("NaN area", {"parcels.csv": set_cell(PARCELS, 3, "area_m2", "NaN")}, "parcels.csv", 3, "area_m2",
     "not a number"),
    ("zero area", {"parcels.csv": set_cell(PARCELS, 4, "area_m2", "0")}, "parcels.csv", 4, "area_m2",
     "greater than 0"),
    ("infinite FAR", {"parcels.csv": set_cell(PARCELS, 2, "far_max", "inf")}, "parcels.csv", 2, "far_max",
     "finite"),
    ("empty zone", {"parcels.csv": set_cell(PARCELS, 3, "zone", "")}, "parcels.csv", 3, "zone", "empty value"),
    ("duplicate parcel id", {"parcels.csv": set_cell(PARCELS, 4, "parcel_id", "P1")}, "parcels.csv", 4, "parcel_id",
     "duplicate id 'P1'"),
    ("duplicate industry id", {"industries.csv": set_cell(INDUSTRIES, 3, "industry_id", "finance")},
     "industries.csv", 3, "industry_id", "duplicate id 'finance'"),
    ("bad bool", {"parcels.csv": set_cell(PARCELS, 3, "must_develop", "maybe")}, "parcels.csv", 3, "must_develop",
     "expected true/false"),
    ("far_min above far_max", {"industries.csv": set_cell(INDUSTRIES, 2, "far_min", "7")}, "industries.csv", 2,
     "far_min", "above far_max"),
    ("min floor total above max", {"industries.csv": set_cell(INDUSTRIES, 2, "min_floor_total_m2", "60000")},
     "industries.csv", 2, "min_floor_total_m2", "above max_floor_total_m2"),
    ("min share above max", {"industries.csv": set_cell(set_cell(INDUSTRIES, 3, "min_share", "0.5"), 3,
                                                        "max_share", "0.3")},
     "industries.csv", 3, "min_share", "above max_share"),
    ("share above one", {"industries.csv": set_cell(INDUSTRIES, 4, "max_share", "1.5")}, "industries.csv", 4,
     "max_share", "at most 1"),
    ("fractional sites", {"industries.csv": set_cell(INDUSTRIES, 2, "min_sites", "1.5")}, "industries.csv", 2,
     "min_sites", "whole number"),
    ("no allowed zones", {"industries.csv": set_cell(INDUSTRIES, 4, "allowed_zones", "")}, "industries.csv", 4,
     "allowed_zones", "no allowed zones"),
    ("non-numeric output", {"industries.csv": set_cell(INDUSTRIES, 3, "output_per_m2", "lots")}, "industries.csv",
     3, "output_per_m2", "not a number"),
]


@pytest.mark.parametrize("case, files, file, row, field, words", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_csv_errors_name_file_row_and_field(tmp_path, case, files, file, row, field, words):
    exc = load_error(folder(tmp_path, files))
    assert (exc.file, exc.row, exc.field) == (file, row, field)
    assert words in str(exc)
    where = f"{file}, row {row}, field '{field}'" if row is not None else f"{file}, field '{field}'"
    assert str(exc).startswith(where)


WITH_COMPAT = TOML + 'compatibility = "compatibility.csv"\n'
WITH_PAIRS = TOML + 'pairs = "pairs.csv"\n'
REF_CASES = [
    ("unknown industry in compatibility", {"scenario.toml": WITH_COMPAT,
                                           "compatibility.csv": "zone,industry_id\nB2,finance\nM1,mining\n"},
     "compatibility.csv", 3, "industry_id", "unknown industry 'mining'"),
    ("unknown industry in pairs", {"scenario.toml": WITH_PAIRS,
                                   "pairs.csv": "parcel_id,industry_id,value_multiplier\nP1,finance,1.2\nP2,mining,1\n"},
     "pairs.csv", 3, "industry_id", "unknown industry 'mining'"),
    ("unknown parcel in pairs", {"scenario.toml": WITH_PAIRS,
                                 "pairs.csv": "parcel_id,industry_id,cost_yuan\nP9,finance,100\n"},
     "pairs.csv", 2, "parcel_id", "unknown parcel 'P9'"),
    ("duplicate pair", {"scenario.toml": WITH_PAIRS,
                        "pairs.csv": "parcel_id,industry_id,eligible\nP1,finance,true\nP2,it,no\nP1,finance,false\n"},
     "pairs.csv", 4, "industry_id", "duplicate (parcel_id, industry_id) pair"),
    ("bad bool in pairs", {"scenario.toml": WITH_PAIRS, "pairs.csv": "parcel_id,industry_id,eligible\nP1,finance,sure\n"},
     "pairs.csv", 2, "eligible", "expected true/false"),
    ("negative pair cost", {"scenario.toml": WITH_PAIRS, "pairs.csv": "parcel_id,industry_id,cost_yuan\nP1,it,-1\n"},
     "pairs.csv", 2, "cost_yuan", "at least 0"),
]


@pytest.mark.parametrize("case, files, file, row, field, words", REF_CASES, ids=[c[0] for c in REF_CASES])
def test_cross_file_references(tmp_path, case, files, file, row, field, words):
    exc = load_error(folder(tmp_path, files))
    assert (exc.file, exc.row, exc.field) == (file, row, field)
    assert words in str(exc)


def test_zone_without_parcels_is_fine(tmp_path):
    # zones are free codes: an industry may allow a zone that no parcel has
    sc = load_scenario(folder(tmp_path, {"industries.csv": set_cell(INDUSTRIES, 3, "allowed_zones", "B2;M1;Z9")}))
    assert ("Z9", "it") in set(zip(sc.compatibility["zone"], sc.compatibility["industry_id"], strict=True))


TOML_CASES = [
    ("unknown sub-area in mix", '[[subarea_mix]]\nsubarea = "harbour"\nindustry = "it"\nmin_share = 0.2\n',
     "subarea_mix[1].subarea", "unknown sub-area 'harbour'"),
    ("unknown industry in mix", '[[subarea_mix]]\nsubarea = "core"\nindustry = "mining"\nmin_share = 0.2\n',
     "subarea_mix[1].industry", "unknown industry 'mining'"),
    ("mix min above max", '[[subarea_mix]]\nsubarea = "core"\nindustry = "it"\nmin_share = 0.6\nmax_share = 0.2\n',
     "subarea_mix[1].min_share", "min_share is above max_share"),
    ("mix floor min above max", '[[subarea_mix]]\nsubarea = "core"\nmin_floor_m2 = 5e4\nmax_floor_m2 = 1e4\n',
     "subarea_mix[1].min_floor_m2", "min_floor_m2 is above max_floor_m2"),
    ("mix share without industry", '[[subarea_mix]]\nsubarea = "core"\nindustry = "*"\nmin_share = 0.2\n',
     "subarea_mix[1].industry", "shares need an industry"),
    ("unknown industry in admission", '[[subarea_allow]]\nsubarea = "core"\nindustries = ["it", "mining"]\n',
     "subarea_allow[1].industries", "unknown industry 'mining'"),
    ("unknown sub-area in admission", '[[subarea_allow]]\nsubarea = "moon"\nindustries = ["it"]\n',
     "subarea_allow[1].subarea", "unknown sub-area 'moon'"),
    ("unknown industry budget", '[rules.industry_budget_yuan]\nmining = 1e6\n',
     "rules.industry_budget_yuan.mining", "unknown industry 'mining'"),
    ("unknown rule", '[rules]\ntotal_budget = 1e9\n', "rules.total_budget",
     "unknown key `total_budget` in [rules] (did you mean `total_budget_yuan`?)"),
    ("negative budget", '[rules]\ntotal_budget_yuan = -1.0\n', "rules.total_budget_yuan", "must lie in"),
    ("budget not a number", '[rules]\ntotal_budget_yuan = "lots"\n', "rules.total_budget_yuan", "must be a number"),
    ("access rule without network", '[[access_rules]]\nindustry = "it"\nnode_type = "metro"\nmax_minutes = 10.0\n',
     "access_rules", "need a transport network"),
    ("unknown industry in access rule", '[[access_rules]]\nindustry = "mining"\nnode_type = "metro"\n',
     "access_rules[1].industry", "unknown industry 'mining'"),
    ("unknown metric", '[[metric_rules]]\nmetric = "patents"\nmin = 5.0\n', "metric_rules[1].metric",
     "unknown metric 'patents'"),
    ("metric rule without bounds", '[[metric_rules]]\nmetric = "jobs"\n', "metric_rules[1]", "give min or max"),
    ("objective sense", '[objective]\nsense = "maximise"\n', "objective.sense", "must be 'maximize' or 'minimize'"),
    ("solver name", '[solver]\nname = "gurobi"\n', "solver.name",
     "must be 'highs', 'cbc', 'lagrange' or 'auto' (got 'gurobi')"),
    ("mip gap above one", '[solver]\nmip_gap = 2.0\n', "solver.mip_gap", "must lie in"),
    ("unknown data entry", 'roads = "roads.csv"\n', "data.roads", "unknown key `roads` in [data] (known: "),
]


@pytest.mark.parametrize("case, extra, field, words", TOML_CASES, ids=[c[0] for c in TOML_CASES])
def test_scenario_toml_errors(tmp_path, case, extra, field, words):
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML + extra}))
    assert (exc.file, exc.row, exc.field) == ("scenario.toml", None, field)
    assert words in str(exc)
    assert str(exc).startswith(f"scenario.toml, field '{field}'")


@pytest.mark.parametrize("path", ["../x.csv", "sub/../../x.csv", "/etc/hosts"])
def test_data_path_outside_the_folder(tmp_path, path):
    (tmp_path / "x.csv").write_text(PARCELS)
    inner = tmp_path / "scenario"
    exc = load_error(folder(inner, {"scenario.toml": TOML.replace('"parcels.csv"', json.dumps(path))}))
    assert (exc.file, exc.row, exc.field) == ("scenario.toml", None, "data.parcels")
    assert "leaves the scenario folder" in str(exc)


def test_missing_data_file(tmp_path):
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML.replace('"industries.csv"', '"nope.csv"')}))
    assert (exc.file, exc.row, exc.field) == ("nope.csv", None, None)
    assert "file not found" in str(exc)


def test_missing_required_data_entry(tmp_path):
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML.replace('industries = "industries.csv"\n', "")}))
    assert (exc.file, exc.row, exc.field) == ("scenario.toml", None, "data.industries")


def test_network_needs_nodes_and_edges(tmp_path):
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML + 'nodes = "nodes.csv"\n'}))
    assert (exc.file, exc.field) == ("scenario.toml", "data.edges")


def test_missing_scenario_toml(tmp_path):
    (tmp_path / "parcels.csv").write_text(PARCELS)
    exc = load_error(tmp_path)
    assert exc.file.endswith("scenario.toml") and "file not found" in str(exc)


def test_missing_folder(tmp_path):
    exc = load_error(tmp_path / "nowhere")
    assert "scenario folder not found" in str(exc)


def test_empty_parcel_table(tmp_path):
    exc = load_error(folder(tmp_path, {"parcels.csv": PARCELS.splitlines()[0] + "\n"}))
    assert (exc.file, exc.row, exc.field) == ("parcels.csv", None, None)
    assert "the parcel table is empty" in str(exc)


def test_empty_parcel_file(tmp_path):
    exc = load_error(folder(tmp_path, {"parcels.csv": ""}))
    assert (exc.file, exc.row, exc.field) == ("parcels.csv", None, None)
    assert "the file is empty" in str(exc)


def test_unreadable_toml(tmp_path):
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML + "[rules\ntotal_budget_yuan = 1\n"}))
    assert (exc.file, exc.row, exc.field) == ("scenario.toml", None, None)
    assert "unreadable TOML" in str(exc)


def test_geojson_errors_count_features(tmp_path):
    def feature(pid, area):
        ring = [[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]]
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"parcel_id": pid, "area_m2": area, "zone": "B2", "far_max": 2, "subarea": "core"}}

    doc = {"type": "FeatureCollection", "features": [feature("G1", 1000), feature("G2", "big")]}
    exc = load_error(folder(tmp_path, {"scenario.toml": TOML.replace("parcels.csv", "parcels.geojson"),
                                       "parcels.geojson": json.dumps(doc)}))
    assert (exc.file, exc.row, exc.field) == ("parcels.geojson", 2, "area_m2")
    assert str(exc).startswith("parcels.geojson, feature 2, field 'area_m2'")


# --- through the CLI ---------------------------------------------------------------------------------------------
def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "optimizer.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=120)


def test_cli_validate_broken_folder(tmp_path):
    broken = folder(tmp_path, {"parcels.csv": set_cell(PARCELS, 3, "area_m2", "abc")})
    proc = run_cli("validate", broken)
    assert proc.returncode == 2
    assert "parcels.csv, row 3, field 'area_m2': not a number (got 'abc')" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_validate_broken_toml(tmp_path):
    proc = run_cli("validate", folder(tmp_path, {"scenario.toml": TOML + '[solver]\nname = "gurobi"\n'}))
    assert proc.returncode == 2
    assert "scenario.toml, field 'solver.name'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_validate_good_folder(tmp_path):
    proc = run_cli("validate", folder(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "3 parcels, 3 industries" in proc.stdout and "valid" in proc.stdout
