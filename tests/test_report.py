"""Outputs of a run: plan.geojson, map.png, access.png, charts, report.html.

Checked on real outcomes: the files exist and are real images of a sensible size, the GeoJSON round-trips and
carries the plan, the report holds the KPI numbers and the embedded figures. Scenarios: an in-code one with
parcel polygons, a lon/lat network, sub-area and basemap files; the tiny folder (CSV points in metres, no
network); a points-only scenario with a local-metre network; a run without a plan.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.pipeline import RunResult, solve_scenario
from optimizer.report.write import write_outputs
from optimizer.scenario import build_scenario, load_scenario

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "scenarios" / "tiny"
PNGS = (
    "map.png",
    "access.png",
    "floor_by_industry.png",
    "output_by_industry.png",
    "by_subarea.png",
    "carriers.png",
)

LON0, LAT0 = 113.90, 22.52
M_PER_DEG_LAT = 110_760.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


# --- in-code scenarios -------------------------------------------------------------------------------------
def _square(x_m: float, y_m: float, side_m: float):
    from shapely.geometry import box

    x0, y0 = LON0 + x_m / M_PER_DEG_LON, LAT0 + y_m / M_PER_DEG_LAT
    return box(x0, y0, x0 + side_m / M_PER_DEG_LON, y0 + side_m / M_PER_DEG_LAT)


def _write_fc(path: Path, features: list[tuple[dict, object]]) -> Path:
    from shapely.geometry import mapping

    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": p, "geometry": mapping(g)} for p, g in features
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


INDUSTRIES = [
    {
        "industry_id": "finance",
        "name": "Finance",
        "output_per_m2": 50000,
        "jobs_per_m2": 0.05,
        "allowed_zones": "B2",
        "far_min": 2,
        "far_max": 6,
        "color": "#1f4e9e",
        "teams_per_m2": 0,
    },
    {
        "industry_id": "it",
        "name": "Next-generation IT",
        "output_per_m2": 30000,
        "jobs_per_m2": 0.04,
        "allowed_zones": "B2;M1",
        "far_min": 1,
        "far_max": 4,
        "color": "not-a-colour",
        "teams_per_m2": 0,
    },
    {
        "industry_id": "incubator",
        "name": "Incubator",
        "output_per_m2": 7000,
        "jobs_per_m2": 0.03,
        "allowed_zones": "B2;M1",
        "far_min": 1,
        "far_max": 3,
        "usable_share": 0.7,
        "teams_per_m2": 0.01,
        "max_floor_total_m2": 40000,
    },
    {
        "industry_id": "factory",
        "name": "Smart equipment",
        "output_per_m2": 10000,
        "jobs_per_m2": 0.03,
        "allowed_zones": "M1",
        "far_min": 0.5,
        "far_max": 2,
        "min_floor_total_m2": 20000,
    },
]


@pytest.fixture(scope="module")
def geo_scenario(tmp_path_factory):
    """12 square parcels (lon/lat polygons) in two sub-areas, a small typed network with corridors, sub-area
    outlines and a basemap (one name in Chinese, which the default fonts cannot draw)."""
    d = tmp_path_factory.mktemp("geo")
    rows, geoms = [], []
    for i in range(12):
        col, row = i % 4, i // 4
        side = 120.0 + 15 * (i % 3)
        rows.append(
            {
                "parcel_id": f"P{i:02d}",
                "area_m2": round(side * side, 1),
                "zone": "B2" if col < 2 else "M1",
                "far_max": 5 if col < 2 else 2,
                "subarea": "core" if col < 2 else "works",
                "existing_use": "vacant",
            }
        )
        geoms.append(_square(col * 200.0, row * 200.0, side))
    nodes = [
        {
            "node_id": "m1",
            "type": "metro",
            "name": "Central station",
            "x": LON0 + 150 / M_PER_DEG_LON,
            "y": LAT0 + 250 / M_PER_DEG_LAT,
        },
        {
            "node_id": "m2",
            "type": "metro",
            "name": "East station",
            "x": LON0 + 700 / M_PER_DEG_LON,
            "y": LAT0 + 250 / M_PER_DEG_LAT,
        },
        {
            "node_id": "ap",
            "type": "airport",
            "name": "Test Airport",
            "x": LON0 + 3000 / M_PER_DEG_LON,
            "y": LAT0 + 2000 / M_PER_DEG_LAT,
        },
        {
            "node_id": "sp",
            "type": "seaport",
            "name": "Test Port (container terminal)",
            "x": LON0 - 400 / M_PER_DEG_LON,
            "y": LAT0 - 300 / M_PER_DEG_LAT,
        },
        {
            "node_id": "j1",
            "type": "junction",
            "name": "",
            "x": LON0 + 900 / M_PER_DEG_LON,
            "y": LAT0 + 900 / M_PER_DEG_LAT,
        },
    ]
    edges = [
        {"from_node": "m1", "to_node": "m2", "speed_kmh": 35, "length_m": "", "corridor": "Metro Line 1"},
        {
            "from_node": "m2",
            "to_node": "j1",
            "speed_kmh": 60,
            "length_m": "",
            "corridor": "Riverside Expressway",
        },
        {
            "from_node": "j1",
            "to_node": "ap",
            "speed_kmh": 60,
            "length_m": "",
            "corridor": "Airport link (planned)",
        },
        {"from_node": "m1", "to_node": "sp", "speed_kmh": 30, "length_m": "", "corridor": "Port Avenue"},
    ]
    sub_core = _square(-30, -30, 420).union(_square(-30, 370, 230))
    sub_works = _square(380, -30, 440).union(_square(380, 380, 240))
    subareas = _write_fc(
        d / "subareas.geojson",
        [
            ({"subarea": "core", "name": "Core (CBD)"}, sub_core),
            ({"subarea": "works", "name": "Works"}, sub_works),
        ],
    )
    basemap = _write_fc(
        d / "districts.geojson",
        [({"name": "福田区"}, _square(-800, -800, 1600)), ({"name": "Harbour"}, _square(800, -800, 3000))],
    )
    config = {
        "scenario": {"name": "geo test", "assumptions": ["Everything here is made up for a test."]},
        "network": {"crs": "EPSG:4326"},
        "access_rules": [{"industry": "finance", "node_type": "metro", "max_minutes": 30.0}],
        "metric_rules": [{"metric": "teams", "min": 50.0, "industries": ["incubator"]}],
    }
    frames = {
        "parcels": pd.DataFrame(rows),
        "industries": pd.DataFrame(INDUSTRIES),
        "nodes": pd.DataFrame(nodes),
        "edges": pd.DataFrame(edges),
    }
    return build_scenario(config, frames, geometry=tuple(geoms), subareas_path=subareas, basemap_path=basemap)


@pytest.fixture(scope="module")
def geo_result(geo_scenario):
    return solve_scenario(geo_scenario, solver="highs", mip_gap=0.0)


@pytest.fixture(scope="module")
def geo_out(geo_result, tmp_path_factory):
    return write_outputs(geo_result, tmp_path_factory.mktemp("geo_out") / "run")


@pytest.fixture(scope="module")
def tiny_out(tmp_path_factory):
    result = solve_scenario(TINY, solver="highs", mip_gap=0.0)
    return result, write_outputs(result, tmp_path_factory.mktemp("tiny_out") / "run")


def assert_png(path: Path, min_kb: float = 15.0, min_px: int = 300) -> np.ndarray:
    import matplotlib.image as mpimg

    assert path.is_file(), f"{path.name} was not written"
    assert path.stat().st_size > min_kb * 1024, f"{path.name} is only {path.stat().st_size} bytes"
    img = mpimg.imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) >= min_px, f"{path.name} is {img.shape}"
    assert img[..., :3].std() > 0.05, f"{path.name} looks blank"
    return img


# --- the full set of outputs ------------------------------------------------------------------------------
def test_all_outputs_written_as_real_images(geo_result, geo_out):
    assert geo_result.plan is not None and geo_result.check.passed
    for name in PNGS:
        assert_png(geo_out / name, min_kb=60 if name in ("map.png", "access.png") else 15)
    for name in ("summary.json", "assignment.csv", "plan.geojson", "report.html"):
        assert (geo_out / name).is_file()
    assert not list(geo_out.parent.glob(".run.tmp-*")), "the temporary folder was left behind"


def test_map_is_wider_than_tall_with_legend(geo_out):
    img = assert_png(geo_out / "map.png", min_kb=60, min_px=800)
    assert img.shape[1] > img.shape[0] * 0.8  # map plus a legend column on the right


def test_access_map_has_three_panels(geo_out):
    img = assert_png(geo_out / "access.png", min_kb=60)
    assert img.shape[1] > 2 * img.shape[0]  # metro, airport, seaport side by side


# --- GeoJSON ---------------------------------------------------------------------------------------------
def test_geojson_every_parcel_with_plan_industries(geo_scenario, geo_result, geo_out):
    from shapely.geometry import shape

    doc = json.loads((geo_out / "plan.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946 has no crs member
    assert "crs_note" not in doc  # polygons in lon/lat
    feats = doc["features"]
    assert len(feats) == geo_scenario.n_parcels
    assert [f["properties"]["parcel_id"] for f in feats] == list(geo_scenario.parcels["parcel_id"])
    plan = geo_result.plan.assignment.set_index("parcel_id")
    names = dict(zip(geo_scenario.industries["industry_id"], geo_scenario.industries["name"], strict=True))
    n_dev = 0
    for f in feats:
        p = f["properties"]
        assert set(p) >= {
            "parcel_id",
            "subarea",
            "zone",
            "area_m2",
            "industry_id",
            "industry",
            "floor_area_m2",
            "far",
            "output_yuan",
            "jobs",
        }
        g = shape(f["geometry"])
        assert g.geom_type == "Polygon" and g.is_valid and g.exterior.is_ccw  # RFC 7946 winding
        lon, lat = g.centroid.x, g.centroid.y
        assert abs(lon - LON0) < 0.05 and abs(lat - LAT0) < 0.05
        pid = p["parcel_id"]
        if pid in plan.index:
            n_dev += 1
            r = plan.loc[pid]
            assert p["industry_id"] == r["industry_id"] and p["industry"] == names[r["industry_id"]]
            assert p["floor_area_m2"] == pytest.approx(r["floor_area_m2"])
            assert p["output_yuan"] == pytest.approx(r["output_yuan"])
            assert p["jobs"] == pytest.approx(r["jobs"])
            assert p["far"] == pytest.approx(r["far"])
        else:
            assert p["industry_id"] is None and p["industry"] is None
            assert p["floor_area_m2"] == 0 and p["output_yuan"] == 0
    assert n_dev == len(plan) > 0


def test_geojson_local_metres_go_to_plan_local_only(tiny_out):
    from shapely.geometry import shape

    result, out = tiny_out
    assert not (out / "plan.geojson").exists()  # local metres with no anchor are not lon/lat
    doc = json.loads((out / "plan_local.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == result.scenario.n_parcels == 5
    assert doc["coordinates"] == "local metres" and "plan_local.geojson" in doc["crs_note"]
    for f, (_, r) in zip(doc["features"], result.scenario.parcels.iterrows(), strict=True):
        g = shape(f["geometry"])
        assert g.geom_type == "Point" and (g.x, g.y) == (r["x"], r["y"])
        assert "id" not in f  # the parcel's id is the parcel_id property, not duplicated
        jobs = f["properties"]["jobs"]
        assert isinstance(jobs, int) or not float(jobs).is_integer()  # whole counts written as integers
    dev = {f["properties"]["parcel_id"]: f["properties"]["industry_id"] for f in doc["features"]}
    assert dev == {
        **dict.fromkeys(result.scenario.parcels["parcel_id"]),
        **dict(zip(result.plan.assignment["parcel_id"], result.plan.assignment["industry_id"], strict=True)),
    }
    assert "plan_local.geojson" in (out / "report.html").read_text(encoding="utf-8")


def test_geojson_opens_in_geopandas_wgs84_with_matching_areas(geo_scenario, geo_out):
    import geopandas as gpd

    gdf = gpd.read_file(geo_out / "plan.geojson")
    assert len(gdf) == 12 and gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert list(gdf["parcel_id"]) == list(geo_scenario.parcels["parcel_id"])
    lcea = gdf.to_crs("+proj=cea +lon_0=114 +lat_ts=22.5 +datum=WGS84 +units=m").area  # equal-area
    assert np.allclose(gdf["geometry_area_m2"], lcea, rtol=1e-4)
    sc_area = geo_scenario.parcels["area_m2"].to_numpy(float)
    assert np.allclose(gdf["area_m2"], sc_area)  # area_m2 stays the scenario's figure


# --- report.html -----------------------------------------------------------------------------------------
def test_html_holds_kpis_check_and_embedded_figures(geo_result, geo_out):
    page = (geo_out / "report.html").read_text(encoding="utf-8")
    k = geo_result.kpis
    assert f"{k['total_output_yuan'] / 1e9:,.2f} bn" in page
    assert f"{k['output_per_km2_all_land_yuan'] / 1e9:,.2f} bn" in page
    assert f"{k['jobs']:,.0f}" in page
    assert "passed" in page and "Everything here is made up for a test." in page
    assert page.count("data:image/png;base64,") == len(PNGS)
    assert "<script" not in page.lower() and "src='http" not in page and 'src="http' not in page
    for name in ("Finance", "Core (CBD)", "Works"):  # names, not ids
        assert name in page
    assert ">core<" not in page and ">works<" not in page
    assert "@media print" in page
    # the embedded images decode to the PNGs written beside the report
    import base64
    import re

    blobs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert base64.b64decode(blobs[0]) == (geo_out / "map.png").read_bytes()


# --- scenarios without network, polygons or plan ---------------------------------------------------------
def test_tiny_without_network_or_metric_rules(tiny_out):
    result, out = tiny_out
    assert_png(out / "map.png", min_kb=20)
    for name in ("floor_by_industry.png", "output_by_industry.png", "by_subarea.png"):
        assert_png(out / name)
    assert not (out / "access.png").exists()  # no network
    assert not (out / "carriers.png").exists()  # no metric rules
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4


def test_points_with_local_metre_network(tmp_path):
    """No polygons, x/y in metres, a network in local_m: the map draws squares, access.png still comes."""
    parcels = [
        {
            "parcel_id": f"Q{i}",
            "area_m2": 8000 + 1000 * i,
            "zone": "B2",
            "far_max": 4,
            "subarea": "a" if i < 3 else "b",
            "x": 300.0 * i,
            "y": 150.0 * (i % 2),
        }
        for i in range(6)
    ]
    nodes = [
        {"node_id": "s1", "type": "metro", "name": "S1", "x": 0, "y": 0},
        {"node_id": "s2", "type": "rail", "name": "Central rail", "x": 1500, "y": 0},
    ]
    edges = [{"from_node": "s1", "to_node": "s2", "speed_kmh": 40, "length_m": "", "corridor": ""}]
    sc = build_scenario(
        {"scenario": {"name": "points"}, "network": {"crs": "local_m"}},
        {
            "parcels": pd.DataFrame(parcels),
            "industries": pd.DataFrame(INDUSTRIES[:2]),
            "nodes": pd.DataFrame(nodes),
            "edges": pd.DataFrame(edges),
        },
    )
    result = solve_scenario(sc, solver="highs")
    out = write_outputs(result, tmp_path / "run")
    assert_png(out / "map.png", min_kb=20)
    img = assert_png(out / "access.png", min_kb=20)
    assert img.shape[1] > 1.3 * img.shape[0]  # metro and rail panels
    assert not (out / "plan.geojson").exists()
    doc = json.loads((out / "plan_local.geojson").read_text(encoding="utf-8"))
    assert "crs_note" in doc and len(doc["features"]) == 6


def test_parcels_without_any_coordinates(tmp_path):
    """No polygons and no x/y: the map has nothing to place but is still written; GeoJSON geometry is null."""
    parcels = [
        {"parcel_id": f"R{i}", "area_m2": 5000, "zone": "B2", "far_max": 3, "subarea": "z"} for i in range(3)
    ]
    sc = build_scenario(
        {"scenario": {"name": "nowhere"}},
        {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(INDUSTRIES[:2])},
    )
    out = write_outputs(solve_scenario(sc, solver="highs"), tmp_path / "run")
    assert (out / "map.png").is_file() and (out / "report.html").is_file()
    doc = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    assert [f["geometry"] for f in doc["features"]] == [None, None, None]


def test_no_plan_writes_only_what_makes_sense(geo_scenario, tmp_path):
    result = RunResult(
        geo_scenario,
        "no_solution",
        None,
        None,
        None,
        "highs",
        {"solve_s": 1.0},
        message="time limit reached before any plan was found",
    )
    out = write_outputs(result, tmp_path / "run")
    names = {p.name for p in out.iterdir()}
    assert {"summary.json", "map.png", "access.png", "report.html"} <= names
    assert not names & {"plan.geojson", "assignment.csv", "floor_by_industry.png", "carriers.png"}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "no_solution" in page and "time limit reached" in page


# --- helpers ---------------------------------------------------------------------------------------------
def test_industry_colours_given_invalid_and_palette(geo_scenario):
    from optimizer.report.maps import UNDEVELOPED, industry_colors

    c = industry_colors(geo_scenario)
    assert c["finance"] == "#1f4e9e"  # from the color column
    assert c["it"] != "not-a-colour" and c["it"].startswith("#")  # invalid: palette instead
    assert len(set(c.values())) == len(c) and UNDEVELOPED not in c.values()


def test_access_types_prefer_metro_airport_seaport(geo_scenario):
    from optimizer.report.maps import access_types

    assert access_types(geo_scenario) == ["metro", "airport", "seaport"]


def test_corridor_modes_from_names_and_end_nodes(geo_scenario):
    from optimizer.report.maps import corridor_modes

    mode, planned = corridor_modes(geo_scenario.network.edges, geo_scenario.network.nodes)
    assert list(mode) == ["metro", "expressway", "other", "road"]
    assert list(planned) == [False, False, True, False]


def test_scale_bar_distance_matches_latitude(geo_scenario):
    from optimizer.report.maps import map_frame

    f = map_frame(geo_scenario)
    assert f.kind == "lonlat"
    assert f.m_per_x == pytest.approx(M_PER_DEG_LON, rel=3e-3)
    assert f.m_per_y == pytest.approx(M_PER_DEG_LAT, rel=3e-3)


# --- speed and the command line --------------------------------------------------------------------------
def test_map_of_5000_parcels_renders_in_seconds(tmp_path):
    """A 5,000-parcel map (polygons, fake plan, no solve) in a few seconds."""
    from optimizer.report.maps import write_map
    from optimizer.solution import Plan, compute_kpis

    n = 5000
    rng = np.random.default_rng(7)
    rows, geoms = [], []
    for i in range(n):
        col, row = i % 80, i // 80
        side = float(rng.uniform(60, 110))
        rows.append(
            {
                "parcel_id": f"P{i:05d}",
                "area_m2": side * side,
                "zone": "B2",
                "far_max": 4,
                "subarea": f"s{col // 20}{row // 20}",
            }
        )
        geoms.append(_square(col * 130.0, row * 130.0, side))
    sc = build_scenario(
        {"scenario": {"name": "big"}},
        {"parcels": pd.DataFrame(rows), "industries": pd.DataFrame(INDUSTRIES[:3])},
        geometry=tuple(geoms),
    )
    dev = sc.parcels.sample(frac=0.6, random_state=1)
    kinds = np.array(["finance", "it", "incubator"])[rng.integers(0, 3, len(dev))]
    a = pd.DataFrame(
        {
            "parcel_id": dev["parcel_id"].to_numpy(),
            "industry_id": kinds,
            "subarea": dev["subarea"].to_numpy(),
            "zone": "B2",
            "area_m2": dev["area_m2"].to_numpy(),
            "floor_area_m2": 2 * dev["area_m2"].to_numpy(),
        }
    )
    a["far"] = 2.0
    a["output_yuan"] = a["floor_area_m2"] * 1e4
    a["jobs"] = a["floor_area_m2"] * 0.03
    result = RunResult(sc, "feasible", Plan(a, "feasible", 1.0, 1.0, 0.0), None, compute_kpis(sc, a), "highs")
    write_map(result, tmp_path)  # warm-up: fonts and matplotlib imports
    t = time.perf_counter()
    write_map(result, tmp_path)
    elapsed = time.perf_counter() - t
    assert_png(tmp_path / "map.png", min_kb=50, min_px=800)
    assert elapsed < 10.0, f"5,000-parcel map took {elapsed:.1f} s"


def test_cli_solve_tiny_end_to_end(tmp_path):
    out = tmp_path / "tiny_run"
    proc = subprocess.run(
        [sys.executable, "-m", "optimizer.cli", "solve", str(TINY), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    for name in ("map.png", "floor_by_industry.png", "output_by_industry.png", "by_subarea.png"):
        assert_png(out / name)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"{summary['kpis']['total_output_yuan'] / 1e9:,.2f} bn" in page
    doc = json.loads((out / "plan_local.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == len(load_scenario(TINY).parcels)
    assert "plan_local.geojson, not plan.geojson" in proc.stdout


def test_cli_no_figures_skips_extra_outputs(tmp_path):
    from optimizer.cli import main

    assert main(["solve", str(TINY), "--out", str(tmp_path / "r"), "--no-figures"]) == 0
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert "summary.json" in names and not names & {"map.png", "report.html", "plan.geojson"}


# --- figures a planner can read ----------------------------------------------------------------------------
def _figures(result):
    from optimizer.report.charts import CHARTS
    from optimizer.report.maps import access_map, plan_map

    return {"map": plan_map(result), "access": access_map(result),
            **{name: make(result) for name, make in CHARTS}}


def test_no_label_outside_its_plot(geo_result, tiny_out):
    """Labels placed in data coordinates (bar values, parcel ids, place names) stay inside their axes: a value
    past the axis end or a name off the map edge would be cut or run into the legend."""
    from optimizer.report.maps import figure_style

    with figure_style():
        for result in (geo_result, tiny_out[0]):
            for name, fig in _figures(result).items():
                if fig is None:
                    continue
                r = fig.canvas.get_renderer()
                fig.draw(r)
                n = 0
                for ax in fig.axes:
                    box = ax.bbox
                    for t in ax.texts:
                        if not t.get_text().strip() or not t.get_visible() or t.get_transform() != ax.transData:
                            continue
                        n += 1
                        e = t.get_window_extent(r)
                        assert (e.x0 >= box.x0 - 1 and e.x1 <= box.x1 + 1 and e.y0 >= box.y0 - 1
                                and e.y1 <= box.y1 + 1), f"{name}: {t.get_text()!r} at {e} outside {box}"
                assert n > 0 or name in ("access",), name


def test_map_legend_lists_exactly_the_industries_in_the_plan(geo_result):
    from optimizer.report.maps import figure_style, plan_map

    with figure_style():
        fig = plan_map(geo_result)
    legend = next(lg for ax in fig.axes for lg in ax.findobj(lambda a: a.__class__.__name__ == "Legend")
                  if lg.get_title().get_text().startswith("Industry"))
    shown = {t.get_text().split("  (")[0] for t in legend.get_texts()} - {"not developed"}
    ind = geo_result.scenario.industries.set_index("industry_id")["name"]
    assert shown == {ind[k] for k in geo_result.plan.assignment["industry_id"].unique()}


def test_industry_colours_differ_by_a_minimum_perceptual_distance():
    import itertools

    from optimizer.report.maps import MIN_DELTA_E, delta_e, industry_colors, srgb_to_lab

    assert np.allclose(srgb_to_lab([1.0, 1.0, 1.0]), [100, 0, 0], atol=0.05)
    assert np.allclose(srgb_to_lab([1.0, 0.0, 0.0]), [53.24, 80.09, 67.20], atol=0.05)
    sc = load_scenario(REPO / "scenarios" / "qianhai")
    given = dict(zip(sc.industries["industry_id"], sc.industries["color"], strict=True))
    assert delta_e(given["finance"], given["maritime"]) < MIN_DELTA_E  # the blues the data gives are too close
    c = industry_colors(sc)
    worst = min(delta_e(c[a], c[b]) for a, b in itertools.combinations(c, 2))
    assert worst >= MIN_DELTA_E and len(c) == 16
    assert delta_e(c["finance"], given["finance"]) < 1  # the first of a family keeps its colour


def test_floor_chart_values_at_bar_ends_and_every_limit_on_the_axis(geo_result):
    from matplotlib.patches import Rectangle

    from optimizer.report.charts import floor_chart
    from optimizer.report.maps import figure_style

    with figure_style():
        fig = floor_chart(geo_result)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0.5]
    texts = [t for t in ax.texts if t.get_text()[:1].isdigit()]
    assert len(bars) == len(texts) > 0
    for b, t in zip(bars, texts, strict=True):
        assert t.get_position()[0] == pytest.approx(b.get_width(), abs=0.02 * ax.get_xlim()[1])
        assert float(t.get_text().split()[0]) == pytest.approx(b.get_width(), abs=0.006)
    ind = geo_result.scenario.industries
    limits = pd.concat([ind["min_floor_total_m2"], ind["max_floor_total_m2"]]).dropna() / 1e6
    assert (limits < ax.get_xlim()[1]).all()
    assert "million m²" in ax.get_xlabel() and "?" in ax.get_title(loc="left")


def test_carrier_counts_printed_as_whole_numbers_per_year(geo_result):
    from optimizer.report.charts import carriers_chart
    from optimizer.report.maps import figure_style

    with figure_style():
        fig = carriers_chart(geo_result)
    values = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text()]
    assert values and all(v.replace(",", "").isdigit() for v in values)
    assert all("a year" in ax.get_title() and "per year" in ax.get_ylabel() for ax in fig.axes)


def test_access_map_one_scale_with_the_rules_limits(geo_scenario):
    from optimizer.report.maps import access_bands, access_types

    bands = access_bands(geo_scenario, access_types(geo_scenario))
    assert 30.0 in bands and bands[0] == 0 and (np.diff(bands) > 0).all()
    longest = max(np.nanmax(geo_scenario.access[t].to_numpy(float)) for t in access_types(geo_scenario))
    assert bands[-1] >= longest


def test_gap_printed_with_the_digits_that_matter():
    from optimizer.report.maps import fmt_gap

    assert fmt_gap(0.000053) == "0.0053%" and fmt_gap(0.0125) == "1.25%" and fmt_gap(0.0) == "0%"


def test_assumptions_grouped_with_readme_pointers_and_counts_as_integers(tmp_path):
    from optimizer.report.html import assumption_group, render_html

    assert assumption_group("Zone areas confirmed (facts.md s.1.1)") == "Public figures"
    assert assumption_group("Rates = counts divided by floor (derived)") == "Derived from public figures"
    assert assumption_group("Caps are assumptions (facts.md could NOT confirm)") == "Estimates and assumptions"
    assert assumption_group("Solver settings") == "Other notes"
    sc = load_scenario(REPO / "scenarios" / "qianhai")
    result = solve_scenario(sc, time_limit_s=30)
    page = render_html(result)
    body = page[page.index("<h2>Assumptions</h2>"):]
    body = body[:body.index("<h2>", 5)]
    assert body.count("<li>") == len(sc.assumptions)
    assert "<h3>Public figures" in body and "<h3>Estimates and assumptions" in body
    assert "facts.md s." not in body and "README.md (“What is real”)" in body
    k = result.kpis
    assert f"<b>{int(k['parcels_developed']):,}</b> of {int(k['parcels_total']):,} parcels" in page
    assert ".0 / " not in page and "baoan_center" not in page
    for m, v in k["metrics"].items():
        assert f"{round(v):,}</div><div class=\"l\">{m} a year" in page


def test_access_outlines_the_parcels_a_ruled_industry_can_use(geo_result):
    from optimizer.report.maps import eligible_for_rules

    sc = geo_result.scenario
    pairs = geo_result.bundle.pairs
    fin = sc.industries["industry_id"].to_numpy()[pairs.industry] == "finance"  # the one metro rule
    ok = eligible_for_rules(geo_result, "metro")
    assert set(np.flatnonzero(ok)) == set(pairs.parcel[fin])
    near = (sc.access["metro"].to_numpy(float) <= 30) & (sc.parcels["zone"] == "B2").to_numpy()
    assert ok.any() and not ok.all() and not (ok & ~near).any()  # within the rule's 30 min, in a finance zone
    assert not eligible_for_rules(geo_result, "airport").any()  # no rule names the airport


def test_subarea_edges_drawn_once():
    from shapely.geometry import box

    from optimizer.report.maps import subarea_lines

    lines = subarea_lines([box(0, 0, 1, 1), box(1, 0, 2, 1)])  # one shared edge
    length = sum(float(np.hypot(*np.diff(c, axis=0).T).sum()) for c in lines)
    assert length == pytest.approx(7.0)  # 6 outer + the shared edge once, not twice


def test_a_parcels_reason_keeps_industry_names_and_names_its_sub_area():
    """The report's closest calls once showed "next best: Emerging Emerging maritime industries (shipping &
    Emerging maritime ...": the industry id `maritime` replaced inside its own name. A reason names industries
    already; only a sub-area id after "sub-area " becomes its name."""
    from optimizer.report.html import reason_words

    subareas = {"guiwan": "Guiwan (Qianhai CBD)", "maritime": "a sub-area that shares an id"}
    runner_up = ("Business & professional services at FAR 6.60, 1.004 bn yuan a year; next best: Emerging maritime "
                 "industries (shipping & maritime services), which would cost 0.00 million yuan a year")
    assert reason_words(runner_up, subareas) == runner_up
    assert reason_words("not eligible: in zone B1, Finance is not admitted in sub-area guiwan; Aerospace is not "
                        "admitted in sub-area guiwan", subareas) == (
        "not eligible: in zone B1, Finance is not admitted in sub-area Guiwan (Qianhai CBD); Aerospace is not "
        "admitted in sub-area Guiwan (Qianhai CBD)")
    assert reason_words("Finance is not admitted in sub-area unknown_one", subareas).endswith("sub-area unknown_one")
