"""Parcel layers in GIS formats and any CRS (optimizer.scenario.gis, crs, zones): issue 12.

Each format round-trips the tiny and the Qianhai parcels; a layer in EPSG:4547 (CGCS2000 Gauss-Kruger) and one
in GCJ-02 give the WGS84 parcels within a metre; areas measured from the polygons match known areas; bad layers
are errors naming the file, layer and field (exit code 2, no traceback); shipped zone tables make unknown codes
errors through the same path as a zones.csv.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, TINY, TINY_OPTIMUM_YUAN

gpd = pytest.importorskip("geopandas")
pytest.importorskip("pyogrio")
pytest.importorskip("pyarrow")
import shapely  # noqa: E402

from optimizer.cli import main  # noqa: E402
from optimizer.errors import ScenarioError  # noqa: E402
from optimizer.pipeline import solve_scenario  # noqa: E402
from optimizer.scenario import crs as crsmod  # noqa: E402
from optimizer.scenario import gis, load_scenario, zones  # noqa: E402

QIANHAI = REPO / "scenarios" / "qianhai"
EASTING0, NORTHING0 = 500_000.0, 2_490_000.0  # EPSG:4547 (CM 114 E) near Shenzhen
# file name, layer name as the loader reports it, writer arguments
FORMATS = {
    "gpkg": ("parcels.gpkg", "dk", {"driver": "GPKG", "layer": "dk"}),
    "shp": ("parcels.shp", "parcels", {}),
    "parquet": ("parcels.parquet", "parcels", None),
    "fgb": ("parcels.fgb", "parcels", {"driver": "FlatGeobuf"}),
    "gdb": ("parcels.gdb", "dk", {"driver": "OpenFileGDB", "layer": "dk"}),
}
TINY_COLUMNS = {"parcel_id": "DKBH", "zone": "YDDM", "far_max": "RJL", "subarea": "PQ", "must_develop": "BXKF"}


def write_layer(gdf, folder: Path, fmt: str, keep_order: bool = True) -> str:
    """The layer in `fmt`; FlatGeobuf reorders features along its spatial index unless `keep_order`."""
    name, _, kw = FORMATS[fmt]
    if fmt == "fgb" and keep_order:
        kw = dict(kw, SPATIAL_INDEX="NO")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kw is None:
            gdf.to_parquet(folder / name)
        else:
            gdf.to_file(folder / name, **kw)
    return name


def spec_toml(path: str, layer: str | None = None, **keys) -> str:
    """`parcels = { ... }` as scenario.toml writes it."""
    parts = [f'path = "{path}"'] + ([f'layer = "{layer}"'] if layer else [])
    for k, v in keys.items():
        if isinstance(v, dict):
            v = "{ " + ", ".join(f"{a} = {json.dumps(b, ensure_ascii=False)}" for a, b in v.items()) + " }"
        else:
            v = json.dumps(v, ensure_ascii=False)
        parts.append(f"{k} = {v}")
    return "parcels = { " + ", ".join(parts) + " }"


def tiny_squares(crs: str = "EPSG:4547", area_field: bool = False):
    """The tiny parcels as squares of their areas around their x, y, in EPSG:4547 (or GCJ-02/WGS84 lon/lat)."""
    p = pd.read_csv(TINY / "parcels.csv")
    side = np.sqrt(p["area_m2"].to_numpy(float))
    cx, cy = EASTING0 + p["x"].to_numpy(float), NORTHING0 + p["y"].to_numpy(float)
    geoms = shapely.box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    data = {"DKBH": p["parcel_id"], "YDDM": p["zone"], "RJL": p["far_max"], "PQ": p["subarea"],
            "BXKF": p["must_develop"].astype(int), "OBJECTID": np.arange(1, len(p) + 1)}
    if area_field:
        data["MJ"] = p["area_m2"]
    g = gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4547")
    if crs != "EPSG:4547":
        g = g.to_crs("EPSG:4326")
        if crsmod.is_gcj02(crs):
            g = g.set_geometry(crsmod.geometries_from_wgs84(g.geometry.to_numpy(), crsmod.GCJ02))
    return g


def tiny_folder(tmp_path: Path, fmt: str, area_field: bool = False, **spec) -> Path:
    d = tmp_path / f"tiny_{fmt}"
    d.mkdir()
    name = write_layer(tiny_squares(area_field=area_field), d, fmt, keep_order=False)
    columns = dict(TINY_COLUMNS, **({"area_m2": "MJ"} if area_field else {}))
    return _tiny_here(d, name, FORMATS[fmt][1] if fmt in ("gpkg", "gdb") else None, columns, spec)


def _tiny_here(d: Path, name: str, layer: str | None, columns: dict, spec: dict) -> Path:
    """The tiny scenario in folder `d` with its parcels read from the layer file `name` there."""
    shutil.copy(TINY / "industries.csv", d / "industries.csv")
    toml = (TINY / "scenario.toml").read_text(encoding="utf-8")
    (d / "scenario.toml").write_text(toml.replace('parcels = "parcels.csv"',
                                                  spec_toml(name, layer, columns=columns, **spec)), encoding="utf-8")
    return d


def available(fmt: str) -> bool:
    """Can this GDAL write the format (the tests write their layers)?"""
    import pyogrio

    kw = FORMATS[fmt][2]
    return kw is None or "w" in pyogrio.list_drivers().get(kw.get("driver", "ESRI Shapefile"), "")


FMTS = [pytest.param(f, marks=pytest.mark.skipif(not available(f), reason=f"GDAL here cannot write {f}"))
        for f in FORMATS]


# --- round trips ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FMTS)
def test_tiny_round_trips_in_every_format(tmp_path, fmt):
    csv = load_scenario(TINY)
    sc = load_scenario(tiny_folder(tmp_path, fmt, area_field=True))
    assert sc.parcel_crs == "EPSG:4547"
    cols = ["parcel_id", "area_m2", "zone", "far_max", "subarea", "must_develop", "dev_cost_per_m2"]
    got = sc.parcels[cols].sort_values("parcel_id").reset_index(drop=True)  # FlatGeobuf keeps its index's order
    pd.testing.assert_frame_equal(got, csv.parcels[cols], check_exact=True)
    assert sc.geometry is not None and len(sc.geometry) == 5
    assert not sc.warnings[1:]  # only the G1 park's "allowed for no industry"
    r = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert r.status == "optimal" and r.check.passed
    assert r.plan.objective == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-9)


@pytest.mark.parametrize("fmt", ["gpkg", "parquet"])
def test_tiny_areas_from_polygons(tmp_path, fmt):
    sc = load_scenario(tiny_folder(tmp_path, fmt, area_field=False))
    known = pd.read_csv(TINY / "parcels.csv")["area_m2"].to_numpy(float)
    np.testing.assert_allclose(sc.parcels["area_m2"], known, rtol=1e-3)  # the requirement: 0.1 %
    np.testing.assert_allclose(sc.parcels["area_m2"], known, rtol=1e-6)  # near the central meridian: exact
    r = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert r.plan.objective == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)


def test_areas_match_geodesic_areas_anywhere():
    """The equal-area measure against pyproj's geodesic areas: parcels near and far from the projection's
    centre, in China and elsewhere, with holes and several parts."""
    from pyproj import Geod

    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(100, 125, 300), rng.uniform(18, 45, 300)
    size = rng.uniform(0.0005, 0.02, 300)
    geoms = list(shapely.box(lon, lat, lon + size, lat + size * 0.7))
    geoms[0] = geoms[0].difference(geoms[0].centroid.buffer(size[0] / 5))  # a hole
    geoms[1] = shapely.MultiPolygon([geoms[1], shapely.box(lon[1] + 0.1, lat[1], lon[1] + 0.11, lat[1] + 0.01)])
    geoms = np.array(geoms + [shapely.box(-74.0, 40.7, -73.99, 40.71)], dtype=object)
    ours = crsmod.equal_area_m2(geoms)
    geod = Geod(ellps="WGS84")
    truth = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in geoms])
    np.testing.assert_allclose(ours, truth, rtol=1e-6)


def qianhai_layer(crs: str = "EPSG:4326"):
    g = gpd.read_file(QIANHAI / "parcels.geojson")
    if crs == "EPSG:4326":
        return g
    if crsmod.is_gcj02(crs):
        return g.set_geometry(crsmod.geometries_from_wgs84(g.geometry.to_numpy(), crsmod.GCJ02))
    return g.to_crs(crs)


QIANHAI_COLUMNS = ["parcel_id", "area_m2", "zone", "far_max", "subarea", "x", "y", "existing_use",
                   "dev_cost_per_m2", "must_develop"]


@pytest.fixture(scope="module")
def qianhai_geojson():
    return load_scenario(QIANHAI)


def _qianhai_folder(tmp_path: Path, fmt: str, layer_gdf, **spec) -> Path:
    d = tmp_path / f"qh_{fmt}"
    d.mkdir()
    if fmt == "shp":  # Shapefile field names have at most 10 characters
        layer_gdf = layer_gdf.rename(columns={"dev_cost_per_m2": "dev_cost", "must_develop": "must_dev",
                                              "existing_use": "exist_use"})
        spec.setdefault("columns", {"dev_cost_per_m2": "dev_cost", "must_develop": "must_dev",
                                    "existing_use": "exist_use"})
    name = write_layer(layer_gdf, d, fmt)
    return _qianhai_here(d, name, FORMATS[fmt][1] if fmt in ("gpkg", "gdb") else None, spec)


def _qianhai_here(d: Path, name: str, layer: str | None, spec: dict) -> Path:
    for f in ("industries.csv", "subareas.geojson", "districts.geojson"):
        shutil.copy(QIANHAI / f, d / f)
    shutil.copytree(QIANHAI / "network", d / "network")
    toml = (QIANHAI / "scenario.toml").read_text(encoding="utf-8")
    (d / "scenario.toml").write_text(toml.replace('parcels = "parcels.geojson"', spec_toml(name, layer, **spec)),
                                     encoding="utf-8")
    return d


@pytest.mark.parametrize("fmt", FMTS)
def test_qianhai_parcels_round_trip_in_every_format(tmp_path, fmt, qianhai_geojson):
    sc = load_scenario(_qianhai_folder(tmp_path, fmt, qianhai_layer()))
    ref = qianhai_geojson
    if fmt == "gdb":  # a File Geodatabase stores coordinates on a grid (here 1e-9 degrees) and as MultiPolygons
        same = [c for c in QIANHAI_COLUMNS if c not in ("x", "y")]
        pd.testing.assert_frame_equal(sc.parcels[same], ref.parcels[same], check_exact=True)
        np.testing.assert_allclose(sc.parcels[["x", "y"]], ref.parcels[["x", "y"]], rtol=0, atol=1e-9)
        sym = shapely.symmetric_difference(np.array(sc.geometry), np.array(ref.geometry))
        assert shapely.area(sym).max() < 1e-14  # square degrees: about 1e-4 m²
        return
    pd.testing.assert_frame_equal(sc.parcels[QIANHAI_COLUMNS], ref.parcels[QIANHAI_COLUMNS], check_exact=True)
    pd.testing.assert_frame_equal(sc.access, ref.access, check_exact=True)
    assert all(a.equals_exact(b, 0) for a, b in zip(sc.geometry, ref.geometry, strict=True))
    from optimizer.model import build_model

    a, b = build_model(sc).milp, build_model(ref).milp
    assert np.array_equal(a.c, b.c) and (a.A != b.A).nnz == 0
    assert np.array_equal(a.row_lower, b.row_lower) and np.array_equal(a.row_upper, b.row_upper)
    assert np.array_equal(a.col_upper, b.col_upper)


@pytest.mark.slow
def test_qianhai_geoparquet_solves_to_the_geojson_objective(tmp_path, qianhai_geojson):
    """One solve of the layer scenario; its plan is a plan of the GeoJSON scenario with the same objective (the
    two models are identical, test above), so both scenarios have the same plans. (The plan need not be optimal:
    on a slow machine HiGHS can stop at the time limit with a plan, which is all this needs.)"""
    from optimizer.solution.check import check_plan

    sc = load_scenario(_qianhai_folder(tmp_path, "parquet", qianhai_layer()))
    r = solve_scenario(sc, solver="highs", time_limit_s=30)
    assert r.status in ("optimal", "feasible") and r.plan is not None and r.check.passed
    report = check_plan(qianhai_geojson, r.plan.assignment, r.plan.objective)
    assert report.passed, report.violations[:5]
    assert report.objective == pytest.approx(r.plan.objective, rel=1e-9)


@pytest.mark.parametrize("crs, fmt", [("EPSG:4547", "fgb"), ("EPSG:4547", "parquet"), ("GCJ-02", "gpkg")])
def test_projected_and_gcj02_layers_give_the_wgs84_parcels(tmp_path, crs, fmt, qianhai_geojson):
    layer = qianhai_layer(crs)
    if crsmod.is_gcj02(crs):
        layer = layer.set_crs("EPSG:4326", allow_override=True)  # web-map exports say WGS84; the scenario says GCJ-02
        folder = _qianhai_folder(tmp_path, fmt, layer, crs="GCJ-02")
    else:
        folder = _qianhai_folder(tmp_path, fmt, layer)
    sc = load_scenario(folder)
    ref = qianhai_geojson
    assert sc.parcel_crs == ("GCJ-02" if crs == "GCJ-02" else crs)
    same = [c for c in QIANHAI_COLUMNS if c not in ("x", "y")]
    pd.testing.assert_frame_equal(sc.parcels[same], ref.parcels[same], check_exact=True)
    lon0, lat0 = ref.parcels["x"].to_numpy(), ref.parcels["y"].to_numpy()
    x_m, y_m = crsmod.from_wgs84(sc.parcels["x"], sc.parcels["y"], crsmod.equal_area_crs(lon0.mean(), lat0.mean()))
    x0_m, y0_m = crsmod.from_wgs84(lon0, lat0, crsmod.equal_area_crs(lon0.mean(), lat0.mean()))
    assert np.hypot(x_m - x0_m, y_m - y0_m).max() < 1.0  # centroids within a metre
    v = shapely.get_coordinates(np.array(sc.geometry, dtype=object))
    v0 = shapely.get_coordinates(np.array(ref.geometry, dtype=object))
    assert v.shape == v0.shape and np.abs(v - v0).max() < 1e-5  # every vertex within about a metre
    np.testing.assert_allclose(sc.access.to_numpy(), ref.access.to_numpy(), atol=0.01)  # minutes


def test_qianhai_areas_from_polygons_match_the_stated_areas(tmp_path, qianhai_geojson):
    layer = qianhai_layer("EPSG:4547").drop(columns=["area_m2"])
    sc = load_scenario(_qianhai_folder(tmp_path, "parquet", layer))
    stated = qianhai_geojson.parcels["area_m2"].to_numpy()
    # the stated areas are the generator's, rounded, and off their own (simplified) polygons by up to ~0.1 %
    np.testing.assert_allclose(sc.parcels["area_m2"], stated, rtol=1.5e-3)
    assert abs(sc.parcels["area_m2"].sum() / stated.sum() - 1) < 1e-3


# --- the output in the input CRS --------------------------------------------------------------------------------
def test_plan_written_in_the_input_crs_too(tmp_path):
    from optimizer.report.geojson import plan_geojson
    from optimizer.report.geojson_crs import plan_geojson_in, write_geojson_crs

    sc = load_scenario(tiny_folder(tmp_path, "gpkg", output_crs="input"))
    assert sc.output_crs == "EPSG:4547"
    r = solve_scenario(sc, solver="highs", mip_gap=0.0)
    doc = plan_geojson_in(r, sc.output_crs)
    assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4547"
    squares = tiny_squares().geometry.to_numpy()
    for f, g in zip(doc["features"], squares, strict=True):
        got = shapely.geometry.shape(f["geometry"])
        assert got.symmetric_difference(g).area < 1e-3  # m², the original squares back
    wgs = plan_geojson(r)
    assert [f["properties"] for f in wgs["features"]] == [f["properties"] for f in doc["features"]]
    write_geojson_crs(r, tmp_path)
    back = gpd.read_file(tmp_path / "plan_crs.geojson")
    assert back.crs.to_epsg() == 4547 and len(back) == 5


def test_landuse_solve_writes_wgs84_and_the_input_crs(tmp_path, capsys):
    folder = tiny_folder(tmp_path, "parquet", output_crs="input")
    out = tmp_path / "out"
    assert main(["solve", str(folder), "--out", str(out), "--no-analysis", "--solver", "highs"]) == 0
    plan = gpd.read_file(out / "plan.geojson")
    assert plan.crs.to_epsg() == 4326
    b = plan.total_bounds
    assert 113.9 < b[0] < b[2] < 114.1 and 22.4 < b[1] < b[3] < 22.6  # lon/lat near Shenzhen
    assert gpd.read_file(out / "plan_crs.geojson").crs.to_epsg() == 4547
    manifest = json.loads((out / ".landuse-output.json").read_text(encoding="utf-8"))["manifest"]
    assert "plan_crs.geojson" in manifest


def test_gcj02_output(tmp_path):
    from optimizer.report.geojson_crs import plan_geojson_in

    sc = load_scenario(tiny_folder(tmp_path, "gpkg", output_crs="GCJ-02"))
    r = solve_scenario(sc, solver="highs", mip_gap=0.0)
    doc = plan_geojson_in(r, sc.output_crs)
    assert "crs" not in doc and "GCJ-02" in doc["crs_note"]
    lon, lat = shapely.geometry.shape(doc["features"][0]["geometry"]).centroid.coords[0]
    w_lon, w_lat = crsmod.gcj02_to_wgs84(lon, lat)
    assert abs(w_lon - sc.parcels["x"].iloc[0]) < 1e-7 and abs(w_lat - sc.parcels["y"].iloc[0]) < 1e-7


# --- column maps, defaults, CSV and GeoJSON in table form ---------------------------------------------------------
def test_plain_string_paths_keep_working():
    assert load_scenario(TINY).n_parcels == 5
    assert load_scenario(QIANHAI).geometry is not None


def test_a_gis_path_alone_reads_fields_named_like_the_columns(tmp_path):
    g = tiny_squares().rename(columns={v: k for k, v in TINY_COLUMNS.items()})
    d = tmp_path / "s"
    d.mkdir()
    write_layer(g, d, "parquet")
    shutil.copy(TINY / "industries.csv", d / "industries.csv")
    toml = (TINY / "scenario.toml").read_text(encoding="utf-8")
    (d / "scenario.toml").write_text(toml.replace('"parcels.csv"', '"parcels.parquet"'), encoding="utf-8")
    sc = load_scenario(d)
    assert sc.parcel_crs == "EPSG:4547" and "OBJECTID" not in sc.parcels.columns
    assert solve_scenario(sc, solver="highs", mip_gap=0.0).plan.objective == pytest.approx(TINY_OPTIMUM_YUAN)


def test_csv_with_a_column_map(tmp_path):
    p = pd.read_csv(TINY / "parcels.csv").rename(columns={"parcel_id": "地块编号", "zone": "用地代码",
                                                           "far_max": "容积率"})
    p["ignored"] = "x"
    d = tmp_path / "s"
    d.mkdir()
    p.to_csv(d / "dk.csv", index=False)
    _tiny_here(d, "dk.csv", None, {"parcel_id": "地块编号", "zone": "用地代码", "far_max": "容积率"}, {})
    sc = load_scenario(d)
    assert sc.parcels["parcel_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]
    assert solve_scenario(sc, solver="highs", mip_gap=0.0).plan.objective == pytest.approx(TINY_OPTIMUM_YUAN)


def test_defaults_fill_columns_the_layer_lacks(tmp_path):
    g = tiny_squares().drop(columns=["PQ"])
    d = tmp_path / "s"
    d.mkdir()
    write_layer(g, d, "fgb")
    cols = {k: v for k, v in TINY_COLUMNS.items() if k != "subarea"}
    _tiny_here(d, "parcels.fgb", None, cols, {"defaults": {"subarea": "all", "dev_cost_per_m2": 100}})
    sc = load_scenario(d)
    assert set(sc.parcels["subarea"]) == {"all"} and (sc.parcels["dev_cost_per_m2"] == 100).all()


def test_geojson_in_gcj02(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    g = tiny_squares(crs="GCJ-02")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.to_file(d / "dk.geojson", driver="GeoJSON")
    _tiny_here(d, "dk.geojson", None, TINY_COLUMNS, {"crs": "GCJ-02"})
    sc = load_scenario(d)
    ref = load_scenario(tiny_folder(tmp_path, "gpkg"))
    np.testing.assert_allclose(sc.parcels[["x", "y"]], ref.parcels[["x", "y"]], atol=1e-8)  # ~1 mm
    np.testing.assert_allclose(sc.parcels["area_m2"], ref.parcels["area_m2"], rtol=1e-6)


def test_area_field_checked_against_polygons(tmp_path):
    g = tiny_squares(area_field=True)
    g["MJ"] = g["MJ"] / 1e4  # hectares
    d = tmp_path / "s"
    d.mkdir()
    write_layer(g, d, "gpkg")
    _tiny_here(d, "parcels.gpkg", None, dict(TINY_COLUMNS, area_m2="MJ"), {})
    sc = load_scenario(d)
    warn = [w for w in sc.warnings if "field 'MJ'" in w]
    assert len(warn) == 1 and "5 parcel(s)" in warn[0] and "hectares" in warn[0], sc.warnings
    g["MJ"] = g.geometry.area * np.array([1.0, 1.0, 1.005, 1.02, 1.0])  # one within 1 %, one beyond
    write_layer(g, d, "gpkg")
    warn = [w for w in load_scenario(d).warnings if "field 'MJ'" in w]
    assert len(warn) == 1 and "1 parcel(s)" in warn[0] and "feature 4" in warn[0] and "+2.0%" in warn[0]


# --- bad layers: exit code 2, file, layer and field named, no traceback ---------------------------------------
def cli_error(folder: Path, capsys) -> str:
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("landuse: error: ")
    return err


def test_no_crs(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares().set_crs(None, allow_override=True), d, "shp")
    assert not (d / "parcels.prj").exists()
    _tiny_here(d, "parcels.shp", None, TINY_COLUMNS, {})
    err = cli_error(d, capsys)
    assert "parcels.shp, layer 'parcels', field 'geometry': the layer has no CRS" in err
    assert 'crs = "EPSG:4547"' in err
    _tiny_here(d, "parcels.shp", None, TINY_COLUMNS, {"crs": "EPSG:4547"})  # declared: fine
    assert load_scenario(d).parcel_crs == "EPSG:4547"


def test_mixed_geometry_types(tmp_path, capsys):
    g = tiny_squares()
    g.loc[3, "geometry"] = shapely.LineString([(EASTING0, NORTHING0), (EASTING0 + 100, NORTHING0)])
    d = tmp_path / "s"
    d.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.to_file(d / "parcels.gpkg", layer="dk", driver="GPKG", geometry_type="Unknown")
    _tiny_here(d, "parcels.gpkg", "dk", TINY_COLUMNS, {})
    err = cli_error(d, capsys)
    assert "parcels.gpkg, layer 'dk', feature 4, field 'geometry': mixed geometry types (1 LineString, 4 Polygon)" \
        in err


def test_missing_mapped_field(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares(), d, "gpkg")
    _tiny_here(d, "parcels.gpkg", "dk", dict(TINY_COLUMNS, far_max="RJL_MAX"), {})
    err = cli_error(d, capsys)
    assert "parcels.gpkg, layer 'dk', field 'RJL_MAX': no such field in the layer" in err
    assert "maps far_max to it" in err and "did you mean 'RJL'?" in err


def test_layer_that_does_not_exist(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares(), d, "gpkg")
    _tiny_here(d, "parcels.gpkg", "dk2", TINY_COLUMNS, {})
    err = cli_error(d, capsys)
    assert "parcels.gpkg" in err and "no layer 'dk2' in the file" in err and "its layers: dk" in err
    assert "did you mean 'dk'?" in err


def test_several_layers_need_a_name(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares(), d, "gpkg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny_squares().to_file(d / "parcels.gpkg", layer="roads", driver="GPKG")
    _tiny_here(d, "parcels.gpkg", None, TINY_COLUMNS, {})
    err = cli_error(d, capsys)
    assert "parcels.gpkg: the file holds 2 layers (dk, roads)" in err and 'layer = "dk"' in err


def test_bad_value_names_the_layers_field(tmp_path, capsys):
    g = tiny_squares()
    g.loc[1, "RJL"] = 150.0
    d = tmp_path / "s"
    d.mkdir()
    write_layer(g, d, "gpkg")
    _tiny_here(d, "parcels.gpkg", "dk", TINY_COLUMNS, {})
    err = cli_error(d, capsys)
    assert "parcels.gpkg, layer 'dk', feature 2, field 'RJL': must be at most 100" in err
    assert "field RJL is mapped to far_max" in err


def test_missing_column_suggests_a_map(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares().drop(columns=["PQ"]), d, "fgb")
    _tiny_here(d, "parcels.fgb", None, {k: v for k, v in TINY_COLUMNS.items() if k != "subarea"}, {})
    err = cli_error(d, capsys)
    assert "parcels.fgb, layer 'parcels', field 'subarea': missing required column(s) subarea" in err
    assert "defaults = { subarea = ... }" in err and "DKBH" in err


def test_declared_degrees_on_metres_and_unknown_crs(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    write_layer(tiny_squares(), d, "gpkg")
    _tiny_here(d, "parcels.gpkg", "dk", TINY_COLUMNS, {"crs": "EPSG:4326"})
    err = cli_error(d, capsys)
    assert "feature 1, field 'geometry': coordinates far outside degrees" in err
    _tiny_here(d, "parcels.gpkg", "dk", TINY_COLUMNS, {"crs": "EPSG:999999"})
    err = cli_error(d, capsys)
    assert "scenario.toml, field 'data.parcels.crs': unknown CRS 'EPSG:999999'" in err


@pytest.mark.parametrize("spec, field, words", [
    ('{ path = "p.gpkg", colums = { zone = "A" } }', "data.parcels.colums", "did you mean `columns`?"),
    ('{ layer = "dk" }', "data.parcels.path", "required key `path`"),
    ('{ path = "p.gpkg", columns = { zonee = "A" } }', "data.parcels.columns.zonee", "did you mean `zone`?"),
    ('{ path = "p.gpkg", columns = { zone = 3 } }', "data.parcels.columns.zone", "name of a field"),
    ('{ path = "p.gpkg", columns = { zone = "A" }, defaults = { zone = "B2" } }', "data.parcels.defaults.zone",
     "both mapped"),
    ("3", "data.parcels", "file path in quotes or a table"),
    ('{ path = "p.csv", crs = "EPSG:4547" }', "data.parcels.crs", "applies to layers with geometries"),
])
def test_bad_parcels_table(tmp_path, spec, field, words):
    (tmp_path / "p.csv").write_text((TINY / "parcels.csv").read_text())
    shutil.copy(TINY / "industries.csv", tmp_path / "industries.csv")
    (tmp_path / "scenario.toml").write_text(f'[scenario]\nname = "t"\n[data]\nparcels = {spec}\n'
                                            'industries = "industries.csv"\n')
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path)
    assert (exc.value.file, exc.value.field) == ("scenario.toml", field) and words in exc.value.message


def test_local_metres_network_with_a_layer(tmp_path):
    folder = tiny_folder(tmp_path, "gpkg")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    (folder / "scenario.toml").write_text(toml + '\n[network]\ncrs = "local_m"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder)
    assert (exc.value.file, exc.value.field) == ("scenario.toml", "network.crs")


def test_without_the_gis_extra(tmp_path, capsys, monkeypatch):
    folder = tiny_folder(tmp_path, "gpkg")
    monkeypatch.setitem(sys.modules, "pyogrio", None)  # import pyogrio now fails, as without the extra
    err = cli_error(folder, capsys)
    assert "parcels.gpkg: reading a GeoPackage file needs the optional GIS packages (pyogrio not installed)" in err
    assert 'pip install -e ".[gis]"' in err


# --- shipped zone tables ------------------------------------------------------------------------------------------
def _tiny_with_zones(tmp_path: Path, zones_value: str, edit=None) -> Path:
    d = tmp_path / "z"
    shutil.copytree(TINY, d)
    if edit:
        p = pd.read_csv(d / "parcels.csv", dtype=str)
        edit(p).to_csv(d / "parcels.csv", index=False)
    toml = (d / "scenario.toml").read_text(encoding="utf-8")
    (d / "scenario.toml").write_text(toml.replace('industries = "industries.csv"',
                                                  f'industries = "industries.csv"\nzones = "{zones_value}"'))
    return d


def test_gb50137_accepts_standard_codes_and_rejects_others(tmp_path):
    sc = load_scenario(_tiny_with_zones(tmp_path, "gb50137"))
    assert sc.files["zones"].startswith("gb50137, the built-in GB 50137-2011")
    assert solve_scenario(sc, solver="highs", mip_gap=0.0).plan.objective == pytest.approx(TINY_OPTIMUM_YUAN)

    def lower(p):
        p.loc[1, "zone"] = "b2"
        return p

    with pytest.raises(ScenarioError) as exc:
        load_scenario(_tiny_with_zones(tmp_path / "x", "gb50137", lower))
    e = exc.value
    assert (e.file, e.row, e.field) == ("parcels.csv", 3, "zone")
    assert "unknown zone code 'b2' (not in gb50137, the built-in GB 50137-2011" in e.message
    assert "did you mean B2?" in e.message


def test_territorial2020_codes(tmp_path):
    def codes(p):
        p["zone"] = p["zone"].map({"B2": "0902", "M1": "100101", "G1": "1401"})
        return p

    d = _tiny_with_zones(tmp_path, "territorial2020", codes)
    ind = pd.read_csv(d / "industries.csv", dtype=str)
    ind["allowed_zones"] = ind["allowed_zones"].str.replace("B2", "0902").str.replace("M1", "100101")
    ind.to_csv(d / "industries.csv", index=False)
    sc = load_scenario(d)
    assert solve_scenario(sc, solver="highs", mip_gap=0.0).plan.objective == pytest.approx(TINY_OPTIMUM_YUAN)
    ind.loc[0, "allowed_zones"] = "B2"  # a GB 50137 code in a territorial2020 scenario
    ind.to_csv(d / "industries.csv", index=False)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(d)
    assert (exc.value.file, exc.value.row, exc.value.field) == ("industries.csv", 2, "allowed_zones")


def test_zone_tables_are_well_formed():
    for name in zones.BUILTIN:
        t = zones.zone_table(name)
        assert tuple(t.columns) == zones.TABLE_COLUMNS and t["code"].is_unique
        assert set(t["parent"]) - {""} <= set(t["code"])
        assert (t["name_zh"] != "").all() and (t["name_en"] != "").all()
        templates = {k[0] for k in zones.TEMPLATE_INDUSTRIES}
        suggested = {k for s in t["industries"] for k in s.split(";") if k}
        assert suggested <= templates
        for code, parent in zip(t["code"], t["parent"], strict=True):  # a parent suggests all its children do
            if parent:
                kids = set(t.loc[t["code"] == code, "industries"].iloc[0].split(";")) - {""}
                assert kids <= set(t.loc[t["code"] == parent, "industries"].iloc[0].split(";")), (name, code)
    gb = zones.zone_table("gb50137").set_index("code")
    assert gb.loc["B2", "name_zh"] == "商务用地" and gb.loc["M1", "name_zh"] == "一类工业用地"
    assert gb.loc["H24", "name_zh"] == "机场用地"
    t20 = zones.zone_table("territorial2020").set_index("code")
    assert t20.loc["0902", "name_zh"] == "商务金融用地" and t20.loc["100101", "name_zh"] == "一类工业用地"
    assert "finance" in zones.suggested_industries("gb50137", ["B2", "M1"])


def test_docs_name_every_layer_key_and_zone_table():
    doc = (REPO / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    for key in gis.SPEC_KEYS:
        assert f"`{key}`" in doc, key
    for name in zones.BUILTIN:
        assert f'"{name}"' in doc, name
    for suffix in gis.GIS_FORMATS:
        assert f"`{suffix}`" in doc, suffix


def test_load_benchmark_runs_on_a_small_city(tmp_path, capsys):
    """benchmarks/gis_load.py end to end on 2,000 parcels: both formats give the same pairs and land."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gis_load", REPO / "benchmarks" / "gis_load.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "gis_load.json"
    assert bench.main(["--parcels", "2000", "--json", str(out), "--work", str(tmp_path / "work")]) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    gp, csv = rows
    assert (gp["format"], csv["format"]) == ("geoparquet", "csv") and gp["parcels"] == csv["parcels"] == 2000
    assert gp["eligible_pairs"] == csv["eligible_pairs"] and gp["land_km2"] == pytest.approx(csv["land_km2"])
    assert gp["parcel_crs"] == "EPSG:4547" and gp["peak_mb"] > 0
