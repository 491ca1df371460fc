"""`landuse init PARCEL_LAYER --out SCENARIO` (optimizer/init.py): a scenario folder from a parcel layer.

Synthetic layers with Chinese field names, pinyin abbreviations or neither; the scaffold must validate, say
what it could not decide, and obey the output-folder rules (optimizer.report.write).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

gpd = pytest.importorskip("geopandas")
pytest.importorskip("pyogrio")
pytest.importorskip("pyarrow")
import shapely  # noqa: E402

from optimizer.cli import main  # noqa: E402
from optimizer.init import detect_columns, init_scenario, normalise  # noqa: E402
from optimizer.pipeline import solve_scenario  # noqa: E402
from optimizer.scenario import load_scenario  # noqa: E402

N = 60
GB_CODES = ["B1", "B2", "B21", "M1", "M2", "W1", "G1", "R2", "A35", "S4"]


def layer(fields: dict[str, str], n: int = N, codes=GB_CODES, crs: str | None = "EPSG:4547", seed: int = 1,
          area_unit: float = 1.0):
    """A grid of 80 m × 60 m parcels near Shenzhen (EPSG:4547), with the fields named as `fields` says
    (id, zone, far, area, subarea, existing) plus a layer's usual extras."""
    rng = np.random.default_rng(seed)
    x = 500_000 + (np.arange(n) % 10) * 100.0
    y = 2_490_000 + (np.arange(n) // 10) * 100.0
    geoms = shapely.box(x, y, x + 80, y + 60)
    data = {}
    values = {"id": [f"DK-{i:04d}" for i in range(n)], "zone": rng.choice(codes, n),
              "far": rng.uniform(0.8, 8.0, n).round(2), "area": np.full(n, 4800.0 * area_unit),
              "subarea": rng.choice(["南山", "宝安", "前海"], n), "existing": rng.choice(["空地", "厂房"], n)}
    for key, name in fields.items():
        data[name] = values[key]
    data["OBJECTID"] = np.arange(1, n + 1)
    data["Shape_Leng"] = np.full(n, 280.0)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def write(gdf, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".parquet":
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, **kw)
    return path


CHINESE = {"id": "地块编号", "zone": "用地代码", "far": "容积率", "area": "用地面积", "subarea": "街道",
           "existing": "现状用地"}
PINYIN = {"id": "DKBH", "zone": "YDDM", "far": "RJL", "area": "YDMJ", "subarea": "JDMC"}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_chinese_field_names_give_a_scenario_that_validates(tmp_path, capsys, suffix):
    src = write(layer(CHINESE), tmp_path / "src" / f"规划地块{suffix}", **({"layer": "地块"} if suffix == ".gpkg"
                                                                         else {}))
    out = tmp_path / "scenario"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    assert "parcel_id        <- 地块编号 (by its name)" in stdout and "far_max          <- 容积率" in stdout
    assert "landuse validate: 60 parcels" in stdout and "valid" in stdout
    names = {p.name for p in out.iterdir()}
    assert {"scenario.toml", "industries.csv", "init_report.md", src.name, ".landuse-output.json"} <= names
    toml = (out / "scenario.toml").read_text(encoding="utf-8")
    assert 'columns = { parcel_id = "地块编号", zone = "用地代码", far_max = "容积率", area_m2 = "用地面积", ' \
           'subarea = "街道", existing_use = "现状用地" }' in toml
    assert 'zones = "gb50137"' in toml and toml.count("\n#") >= 5  # commented
    code, stdout, err = run(["validate", str(out)], capsys)
    assert code == 0 and stdout.rstrip().endswith("valid"), err
    sc = load_scenario(out)
    assert sc.n_parcels == N and sc.parcel_crs == "EPSG:4547"
    np.testing.assert_allclose(sc.parcels["area_m2"], 4800.0)
    assert set(sc.parcels["subarea"]) == {"南山", "宝安", "前海"}
    ind = pd.read_csv(out / "industries.csv")
    assert {"finance", "office", "commerce", "light_industry", "manufacturing", "logistics", "research"} \
        <= set(ind["industry_id"])
    assert ind.set_index("industry_id").loc["finance", "allowed_zones"] == "B2;B21"
    r = solve_scenario(sc, solver="highs", time_limit_s=30)
    assert r.status == "optimal" and r.check.passed and r.plan.objective > 0


def test_pinyin_shapefile_in_hectares(tmp_path, capsys):
    src = write(layer(PINYIN, area_unit=1e-4), tmp_path / "src" / "dk.shp", encoding="UTF-8")
    out = tmp_path / "s"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    assert {"dk.shp", "dk.shx", "dk.dbf", "dk.prj", "dk.cpg"} <= {p.name for p in out.iterdir()}
    report = (out / "init_report.md").read_text(encoding="utf-8")
    assert "`YDMJ` looks like an area in hectares (公顷)" in report
    assert "| area_m2 | the polygons | measured from the polygons" in report
    toml = (out / "scenario.toml").read_text(encoding="utf-8")
    assert 'columns = { parcel_id = "DKBH", zone = "YDDM", far_max = "RJL", subarea = "JDMC" }' in toml
    assert "layer =" not in toml  # a Shapefile has one layer
    sc = load_scenario(out)
    np.testing.assert_allclose(sc.parcels["area_m2"], 4800.0, rtol=1e-6)


def test_territorial_codes_and_no_subarea(tmp_path, capsys):
    codes = ["0901", "0902", "100101", "100102", "1101", "1401", "0701"]
    src = write(layer({k: v for k, v in PINYIN.items() if k != "subarea"}, codes=codes), tmp_path / "dk.fgb",
                driver="FlatGeobuf")
    out = tmp_path / "s"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    toml = (out / "scenario.toml").read_text(encoding="utf-8")
    assert 'zones = "territorial2020"' in toml and 'defaults = { subarea = "all" }' in toml
    report = (out / "init_report.md").read_text(encoding="utf-8")
    assert 'every parcel is in sub-area "all"' in report
    ind = pd.read_csv(out / "industries.csv", dtype=str).set_index("industry_id")
    assert ind.loc["finance", "allowed_zones"] == "0902" and ind.loc["logistics", "allowed_zones"] == "1101"
    assert run(["validate", str(out)], capsys)[0] == 0


def test_codes_in_no_table_are_reported(tmp_path, capsys):
    src = write(layer(CHINESE, codes=["B2", "M0", "B1", "XX9"]), tmp_path / "dk.gpkg", layer="dk")
    out = tmp_path / "s"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    toml = (out / "scenario.toml").read_text(encoding="utf-8")
    assert '\nzones = ' not in toml and '# zones = "gb50137"' in toml
    report = (out / "init_report.md").read_text(encoding="utf-8")
    assert "2 code(s) are in no shipped table (e.g. M0, XX9)" in report
    assert run(["validate", str(out)], capsys)[0] == 0


def test_no_crs_is_left_to_decide(tmp_path, capsys):
    src = write(layer(PINYIN, crs=None), tmp_path / "dk.shp", encoding="UTF-8")  # a Shapefile without .prj
    out = tmp_path / "s"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    assert "the CRS: the layer has none" in stdout
    assert "landuse validate will say:" in stdout and "the layer has no CRS" in stdout
    code, _, err = run(["validate", str(out)], capsys)
    assert code == 2 and "no CRS" in err and "Traceback" not in err
    out2 = tmp_path / "s2"
    assert run(["init", str(src), "--out", str(out2), "--crs", "EPSG:4547"], capsys)[0] == 0
    assert 'crs = "EPSG:4547"' in (out2 / "scenario.toml").read_text(encoding="utf-8")
    assert run(["validate", str(out2)], capsys)[0] == 0


def test_fields_found_by_contents_are_flagged(tmp_path, capsys):
    g = layer({"id": "F1", "zone": "F2", "far": "F3", "subarea": "F4"})
    src = write(g, tmp_path / "dk.gpkg", layer="dk")
    out = tmp_path / "s"
    code, stdout, err = run(["init", str(src), "--out", str(out)], capsys)
    assert code == 0, err
    assert "parcel_id        <- F1 (by its contents" in stdout and "zone             <- F2 (by its contents" in stdout
    assert "far_max          <- F3 (by its contents" in stdout
    assert "parcel_id was taken from `F1` by its contents only: check it" in stdout


def test_detection_by_name_and_content():
    assert normalise("用地面积（㎡）") == "用地面积" and normalise("far_max") == "FARMAX" and normalise("Dk-Bh") == "DKBH"
    frame = pd.DataFrame({"OBJECTID": [1, 2, 3], "宗地代码": ["a", "b", "c"], "DLBM": ["0901", "0902", "1401"],
                          "GHRJL": [2.5, 3.0, 0.2], "XZQMC": ["x", "x", "y"]})
    det = detect_columns(frame, list(frame.columns), None)
    assert {c: f for c, (f, _) in det.columns.items()} == {"parcel_id": "宗地代码", "zone": "DLBM", "far_max": "GHRJL",
                                                          "subarea": "XZQMC"}
    # two zone-like fields: the one of standard codes wins
    frame = pd.DataFrame({"YDXZ": ["商务", "商业", "工业"], "YDDM": ["B2", "B1", "M1"], "ID": ["1", "2", "3"]})
    det = detect_columns(frame, list(frame.columns), None)
    assert det.columns["zone"] == ("YDDM", "name")
    # FAR out of range or ids not unique are not taken
    frame = pd.DataFrame({"RJL": [2.0, 300.0, 1.0], "DKBH": ["a", "a", "b"]})
    det = detect_columns(frame, list(frame.columns), None)
    assert "far_max" not in det.columns and "parcel_id" not in det.columns


# --- the output-folder rules ----------------------------------------------------------------------------------
def test_output_folder_rules(tmp_path, capsys):
    src = write(layer(CHINESE), tmp_path / "src" / "dk.gpkg", layer="dk")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run(["init", str(src), "--out", str(mine)], capsys)
    assert code == 2 and "not an earlier landuse output" in err and "Traceback" not in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    # --force puts the scaffold beside the user's file and keeps it
    assert run(["init", str(src), "--out", str(mine), "--force"], capsys)[0] == 0
    assert (mine / "notes.txt").read_text() == "keep me" and (mine / "scenario.toml").is_file()
    # the layer's own folder (or one above it) is never an output
    code, _, err = run(["init", str(src), "--out", str(src.parent)], capsys)
    assert code == 2 and "scenario folder" in err
    assert run(["init", str(src), "--out", str(tmp_path)], capsys)[0] == 2
    # an earlier, unedited scaffold is replaced whole; an edited one is refused
    out = tmp_path / "s"
    assert run(["init", str(src), "--out", str(out)], capsys)[0] == 0
    first = (out / "scenario.toml").read_text(encoding="utf-8")
    assert run(["init", str(src), "--out", str(out), "--name", "again"], capsys)[0] == 0
    assert (out / "scenario.toml").read_text(encoding="utf-8") != first  # replaced
    for edited in ("scenario.toml", "dk.gpkg"):  # the planner's edits, to the scenario or to the layer's copy
        before = (out / edited).read_bytes()
        (out / edited).write_bytes(before + b"\n# my edits\n")
        code, _, err = run(["init", str(src), "--out", str(out)], capsys)
        assert code == 2 and f"whose {edited} changed since landuse init wrote it" in err
        assert (out / edited).read_bytes() == before + b"\n# my edits\n"
        (out / edited).write_bytes(before)
    manifest = json.loads((out / ".landuse-output.json").read_text())["manifest"]
    assert ".landuse-init.json" in manifest and "dk.gpkg" in manifest


def test_bad_layer_paths(tmp_path, capsys):
    code, _, err = run(["init", str(tmp_path / "none.gpkg"), "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "none.gpkg: file not found" in err
    src = write(layer(CHINESE), tmp_path / "dk.gpkg", layer="dk")
    code, _, err = run(["init", str(src), "--out", str(tmp_path / "s"), "--layer", "dkk"], capsys)
    assert code == 2 and "no layer 'dkk' in the file" in err and "did you mean 'dk'?" in err
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    code, _, err = run(["init", str(tmp_path / "t.csv"), "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "not a parcel layer" in err
    assert not (tmp_path / "s").exists()


def test_python_api(tmp_path):
    src = write(layer(PINYIN), tmp_path / "dk.parquet")
    r = init_scenario(src, tmp_path / "s", name="demo")
    assert r.n_parcels == N and r.detection.zone_table == "gb50137"
    assert load_scenario(tmp_path / "s").name == "demo"
