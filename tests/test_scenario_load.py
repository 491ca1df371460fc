"""Loading good scenarios: types, defaults, compatibility, pairs, GeoJSON parcels, networks, immutability."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from helpers import (
    REPO,
    TINY,
    frames_from,
    industry,
    make_scenario,
    parcel,
    write_scenario_folder,
    write_text_files,
)

from optimizer.errors import ScenarioError
from optimizer.scenario import build_scenario, load_scenario, schema
from optimizer.scenario.config import check_config


def test_tiny_loads_with_types_and_rows(tiny):
    assert tiny.name == "tiny"
    assert tiny.n_parcels == 5 and tiny.n_industries == 3
    par = tiny.parcels
    assert par["parcel_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]
    assert par["area_m2"].tolist() == [10_000, 20_000, 30_000, 10_000, 5_000]
    assert par["must_develop"].dtype == bool
    assert par["must_develop"].tolist() == [False, False, False, True, False]
    assert par["dev_cost_per_m2"].tolist() == [0.0] * 5  # default
    assert par["_row"].tolist() == [2, 3, 4, 5, 6]  # spreadsheet rows
    ind = tiny.industries.set_index("industry_id")
    assert ind.loc["factory", "min_floor_total_m2"] == 20_000
    assert np.isnan(ind.loc["factory", "max_floor_total_m2"])
    assert ind["usable_share"].tolist() == [1.0, 1.0, 1.0]  # default
    assert ind["min_floor_m2"].tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(ind["min_share"]).all() and np.isnan(ind["max_sites"]).all()
    assert tiny.metrics == ["jobs"]


def test_tiny_compatibility_from_allowed_zones(tiny):
    got = set(zip(tiny.compatibility["zone"], tiny.compatibility["industry_id"], strict=True))
    assert got == {("B2", "finance"), ("B2", "it"), ("M1", "it"), ("M1", "factory")}


def test_tiny_toml_sections(tiny):
    assert tiny.solver.name == "highs"
    assert tiny.solver.time_limit_s == 30.0
    assert tiny.solver.mip_gap == 0.0
    assert tiny.objective.sense == "maximize" and tiny.objective.cost_weight == 0.0
    assert np.isnan(tiny.rules.total_budget_yuan)
    assert tiny.assumptions == ("All figures are made up for a hand-checkable example.",)
    assert tiny.files == {"parcels": "parcels.csv", "industries": "industries.csv"}
    assert tiny.network is None and tiny.access is None


def test_scenario_is_frozen(tiny):
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.name = "other"


def test_files_and_in_memory_frames_give_the_same_scenario():
    from_files = load_scenario(TINY)
    frames = {"parcels": pd.read_csv(TINY / "parcels.csv"), "industries": pd.read_csv(TINY / "industries.csv")}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    config = tomllib.loads((TINY / "scenario.toml").read_text())
    in_memory = build_scenario(config, frames)
    cols = ["parcel_id", "area_m2", "zone", "far_max", "subarea", "must_develop", "dev_cost_per_m2"]
    pd.testing.assert_frame_equal(from_files.parcels[cols], in_memory.parcels[cols])
    pd.testing.assert_frame_equal(from_files.industries.drop(columns="_row"),
                                  in_memory.industries.drop(columns="_row"))


def test_build_scenario_does_not_mutate_its_frames():
    frames = frames_from([parcel("P1", 1000, "B", 2, must_develop="yes")], [industry("k", 10, "B", 1, 2)])
    before = {k: v.copy() for k, v in frames.items()}
    build_scenario({"scenario": {"name": "x"}}, frames)
    for k in frames:
        pd.testing.assert_frame_equal(frames[k], before[k])


@pytest.mark.parametrize("word, value", [("true", True), ("YES", True), ("1", True), ("y", True), ("false", False),
                                          ("No", False), ("0", False), ("", False)])
def test_bool_words(word, value):
    sc = make_scenario([parcel("P1", 1000, "B", 2, must_develop=word)], [industry("k", 10, "B", 1, 2)])
    assert bool(sc.parcels["must_develop"].iloc[0]) is value


def test_whitespace_is_stripped(tmp_path):
    write_text_files(tmp_path, {
        "scenario.toml": '[scenario]\nname = "ws"\n[data]\nparcels = "p.csv"\nindustries = "i.csv"\n',
        "p.csv": "parcel_id, area_m2, zone, far_max, subarea\n P1 , 1000 , B2 , 2 , core \n",
        "i.csv": "industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max\n"
                 "k,K,10,0.1, B2 ; M1 ,1,2\n",
    })
    sc = load_scenario(tmp_path)
    assert sc.parcels["parcel_id"].tolist() == ["P1"]
    assert sc.parcels["area_m2"].tolist() == [1000.0]
    assert set(sc.compatibility["zone"]) == {"B2", "M1"}


def test_compatibility_file_replaces_allowed_zones():
    sc = make_scenario([parcel("P1", 1000, "B", 2), parcel("P2", 1000, "M", 2)],
                       [industry("a", 10, "", 1, 2), industry("b", 10, "", 1, 2)],
                       compatibility=[{"zone": "B", "industry_id": "a"}, {"zone": "M", "industry_id": "a"},
                                      {"zone": "M", "industry_id": "b"}, {"zone": "M", "industry_id": "b"}])
    assert sorted(zip(sc.compatibility["zone"], sc.compatibility["industry_id"], strict=True)) == [("B", "a"), ("M", "a"),
                                                                                      ("M", "b")]


def test_pair_defaults():
    sc = make_scenario([parcel("P1", 1000, "B", 2)], [industry("a", 10, "B", 1, 2)],
                       pairs=[{"parcel_id": "P1", "industry_id": "a"}])
    row = sc.pairs.iloc[0]
    assert (row["value_multiplier"], row["cost_yuan"], bool(row["eligible"])) == (1.0, 0.0, True)


def test_metric_columns_and_optional_bounds():
    sc = make_scenario([parcel("P1", 1000, "B", 2)],
                       [industry("a", 10, "B", 1, 2, teams_per_m2=0.01, patents_per_m2=0.0, min_sites=1,
                                 max_share=0.5, usable_share=0.7)],
                       {"metric_rules": [{"metric": "teams", "min": 1.0, "industries": ["a"]}]})
    assert set(sc.metrics) == {"jobs", "teams", "patents"}
    r = sc.industries.iloc[0]
    assert (r["min_sites"], r["max_share"], r["usable_share"]) == (1.0, 0.5, 0.7)
    (rule,) = sc.rules.metric_rules
    assert (rule.metric, rule.min, rule.industries) == ("teams", 1.0, ("a",))
    assert np.isnan(rule.max)


def test_rules_from_toml():
    sc = make_scenario(
        [parcel("P1", 1000, "B", 2, "core"), parcel("P2", 1000, "B", 2, "port")],
        [industry("a", 10, "B", 1, 2), industry("b", 10, "B", 1, 2)],
        {"rules": {"total_budget_yuan": 5e9, "industry_budget_yuan": {"b": 2e8}},
         "subarea_mix": [{"subarea": "port", "industry": "a", "min_share": 0.35}],
         "subarea_allow": [{"subarea": "core", "industries": ["a"]}],
         "objective": {"sense": "minimize", "cost_weight": 0.5},
         "solver": {"name": "cbc", "time_limit_s": 5, "mip_gap": 0.01, "threads": 2}})
    assert sc.rules.total_budget_yuan == 5e9
    assert sc.rules.industry_budget_yuan == {"b": 2e8}
    (mix,) = sc.rules.subarea_mix
    assert (mix.subarea, mix.industry, mix.min_share) == ("port", "a", 0.35) and np.isnan(mix.max_share)
    assert sc.rules.subarea_allow[0].industries == ("a",)
    assert (sc.objective.sense, sc.objective.cost_weight) == ("minimize", 0.5)
    assert (sc.solver.name, sc.solver.time_limit_s, sc.solver.mip_gap, sc.solver.threads) == ("cbc", 5.0, 0.01, 2)


def test_geojson_parcels_take_the_polygon_centroid(tmp_path):
    def square(pid, x0, y0, side):
        ring = [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"parcel_id": pid, "area_m2": 10_000, "zone": "B2", "far_max": 2, "subarea": "core",
                               "must_develop": pid == "G2"}}

    doc = {"type": "FeatureCollection", "features": [square("G1", 114.0, 22.5, 0.001), square("G2", 114.01, 22.5, 0.002)]}
    write_text_files(tmp_path, {
        "scenario.toml": '[scenario]\nname = "geo"\n[data]\nparcels = "parcels.geojson"\nindustries = "i.csv"\n',
        "parcels.geojson": json.dumps(doc),
        "i.csv": "industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max\nk,K,10,0.1,B2,1,2\n",
    })
    sc = load_scenario(tmp_path)
    assert sc.parcels["x"].tolist() == pytest.approx([114.0005, 114.011])
    assert sc.parcels["y"].tolist() == pytest.approx([22.5005, 22.501])
    assert sc.parcels["must_develop"].tolist() == [False, True]
    assert len(sc.geometry) == 2 and sc.geometry[0].geom_type == "Polygon"
    assert sc.parcels["_row"].tolist() == [1, 2]  # features count from 1


def test_local_metre_network_access_times():
    # metro M at (0, 0), junction J at (3000, 0), edge J-M 3 km at 36 km/h = 5 min;
    # access at 12 km/h (200 m/min), detour 1.5, 1 link: P1 (0, 400): 600 m -> 3 min;
    # P2 (3000, 800): 1200 m to J -> 6 min, + 5 = 11 min to a metro, 6 to a junction
    sc = make_scenario(
        [parcel("P1", 1000, "B", 2, x=0, y=400), parcel("P2", 1000, "B", 2, x=3000, y=800)],
        [industry("k", 10, "B", 1, 2)],
        {"network": {"crs": "local_m", "access_speed_kmh": 12.0, "access_links": 1, "detour_factor": 1.5}},
        nodes=[{"node_id": "M", "type": "metro", "x": 0, "y": 0}, {"node_id": "J", "type": "junction", "x": 3000, "y": 0}],
        edges=[{"from_node": "M", "to_node": "J", "speed_kmh": 36}])
    assert sc.access["metro"].tolist() == pytest.approx([3.0, 11.0])
    assert sc.access["junction"].tolist() == pytest.approx([3.0 + 5.0, 6.0])
    assert sc.parcels["x_m"].tolist() == [0.0, 3000.0]


def test_lon_lat_network_access_times(tmp_path):
    # a parcel 0.009° north of a metro station at 22.5° N: about 997 m (1° of latitude ≈ 110.75 km there);
    # with detour 1.3 at 12 km/h: 997 × 1.3 / 200 m/min ≈ 6.48 min
    config = {"scenario": {"name": "ll"}, "network": {"crs": "EPSG:4326", "access_links": 1}}
    frames = frames_from([parcel("P1", 1000, "B", 2, x=114.0, y=22.509), parcel("P2", 1000, "B", 2, x=114.0, y=22.5)],
                         [industry("k", 10, "B", 1, 2)],
                         nodes=[{"node_id": "M", "type": "metro", "x": 114.0, "y": 22.5}],
                         edges=[{"from_node": "M", "to_node": "M", "speed_kmh": 30}])
    sc = load_scenario(write_scenario_folder(tmp_path, config, frames))
    dist_m = 0.009 * math.pi / 180 * 6_371_000
    assert sc.access["metro"].tolist() == pytest.approx([dist_m * 1.3 / 200.0, 0.0], rel=5e-3, abs=1e-9)


# --- strict schema, cross-checks and warnings ----------------------------------------------------------------------
def test_tiny_warns_about_its_park(tiny):
    assert tiny.warnings == ("parcels.csv, field 'zone': zone 'G1' (1 parcel, 0.005 km², first at row 6) is allowed "
                             "for no industry, so these parcels stay empty",)


@pytest.mark.parametrize("variant", ["", "before", "after"])
def test_qianhai_variants_load_with_their_numbers(variant):
    sc = load_scenario(REPO / "scenarios" / "qianhai" / variant)
    n = 603 if variant == "before" else 3330
    assert sc.n_parcels == n and sc.n_industries == 16
    assert len(sc.rules.access_rules) == 14 and sc.network.crs == "EPSG:4326"
    assert sc.solver.name == "auto" and sc.solver.threads == 2
    assert sc.rules.total_budget_yuan == (45e9 if variant == "before" else 60e9)
    assert all("matches no parcel" in w or "zone 'G1'" in w for w in sc.warnings)


def test_config_defaults_fill_every_key():
    cfg = check_config({"scenario": {"name": "x"}})
    work = cfg["solver"].pop("work_limit_s")
    assert cfg["solver"] == {"name": "highs", "time_limit_s": 60.0, "mip_gap": 1e-4, "threads": 0}
    assert np.isnan(work)  # none: the time limit alone
    assert cfg["access_rules"] == [] and cfg["rules.industry_budget_yuan"] == {}
    assert np.isnan(cfg["rules"]["total_budget_yuan"])


@pytest.mark.parametrize("config, field, words", [
    ({"access_rule": []}, "access_rule", "did you mean `access_rules`?"),
    ({"solver": {"threads": 2.7}}, "solver.threads", "whole number"),
    ({"solver": {"threads": np.int64(2)}}, None, None),  # numpy integers from generators are integers
    ({"network": {"access_links": True}}, "network.access_links", "got true"),
    ({"objective": {"cost_weight": 10**400}}, "objective.cost_weight", "finite"),
    ({"metric_rules": [{"metric": "jobs", "min": 1.0, "maxx": 2.0}]}, "metric_rules[1].maxx", "did you mean `max`?"),
])
def test_in_memory_configs_are_checked_too(config, field, words):
    frames = frames_from([parcel("P1", 1000, "B", 2)], [industry("k", 10, "B", 1, 2)])
    if field is None:
        build_scenario({"scenario": {"name": "x"}, **config}, frames)
        return
    with pytest.raises(ScenarioError) as exc:
        build_scenario({"scenario": {"name": "x"}, **config}, frames)
    assert (exc.value.file, exc.value.field) == ("scenario.toml", field)
    assert words in str(exc.value)


def test_zones_file_and_compatibility_columns(tmp_path):
    write_text_files(tmp_path, {
        "scenario.toml": '[scenario]\nname = "z"\n[data]\nparcels = "p.csv"\nindustries = "i.csv"\nzones = "z.csv"\n',
        "p.csv": "parcel_id,area_m2,zone,far_max,subarea\nP1,1000,B2,2,core\nP2,1000,G1,0.2,core\n",
        "i.csv": "industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max\nk,K,10,0.1,B2;B1,1,2\n",
        "z.csv": "code,name,class\nB1,Commercial,business\nB2,Offices,business\nG1,Park,green\n",
    })
    sc = load_scenario(tmp_path)
    assert list(sc.compatibility.columns) == ["zone", "industry_id"]
    assert sc.files["zones"] == "z.csv"
    assert [w.split(":")[1].split("(")[0].strip() for w in sc.warnings] == ["zone 'G1'", "zone 'B1'"]


def test_blank_lines_and_byte_order_mark(tmp_path):
    write_text_files(tmp_path, {
        "scenario.toml": '[scenario]\nname = "b"\n[data]\nparcels = "p.csv"\nindustries = "i.csv"\n',
        "p.csv": "\ufeffparcel_id,area_m2,zone,far_max,subarea\r\nP1,1000,B2,2,core\r\n\r\n  \r\nP2,1000,B2,2,core\r\n",
        "i.csv": 'industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max\nk,"K, ""the"" one",10,0.1,B2,1,2\n',
    })
    sc = load_scenario(tmp_path)
    assert sc.parcels["parcel_id"].tolist() == ["P1", "P2"]
    assert sc.parcels["_row"].tolist() == [2, 5]  # the blank lines are rows 3 and 4
    assert sc.industries["name"].tolist() == ['K, "the" one']


def test_docs_name_every_key_and_column():
    doc = (REPO / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    for table in schema.TOML_TABLES:
        assert f"[{table.name}]" in doc or f"`{table.name}." in doc, table.name
        for key in table.keys:
            assert f"{table.name}.{key.name}" in doc or f"{table.name}[i].{key.name}" in doc \
                or f", `{key.name}`" in doc, f"{table.name}.{key.name}"
    for columns in (schema.PARCEL_COLUMNS, schema.INDUSTRY_COLUMNS, schema.PAIR_COLUMNS, schema.ZONE_COLUMNS,
                    schema.NODE_COLUMNS, schema.EDGE_COLUMNS):
        for col in columns:
            assert col.name in doc, col.name
