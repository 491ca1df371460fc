"""map.png as a planner reads it: every transport node named once, no two names on top of each other, nothing
off the canvas, Chinese names beside English ones where a CJK font can draw them (and English alone where it
cannot), and an inset of the dense core only when the plan needs one.

Scenarios: the in-code geo scenario of test_report (two of its named nodes lie off the map), the bundled
Qianhai (its dense core, Bao'an centre / Guiwan, is small against the 120 km² zone) and tiny (five parcels, no
inset), plus synthetic fake plans for the inset's choice of window.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
from test_report import REPO, TINY, _square, geo_result, geo_scenario  # noqa: F401  (shared fixtures)

from optimizer.pipeline import RunResult, solve_scenario
from optimizer.report import maps
from optimizer.report.maps import (
    MapLayers,
    bilingual,
    candidate_boxes,
    dense_core,
    figure_style,
    first_free,
    overlaps,
    plan_map,
    short_name,
)
from optimizer.scenario import build_scenario, load_scenario
from optimizer.solution import Plan, compute_kpis

QIANHAI = REPO / "scenarios" / "qianhai"
CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def qianhai_result():
    return solve_scenario(load_scenario(QIANHAI), time_limit_s=60)


@pytest.fixture
def no_cjk_font(monkeypatch):
    """The fonts as on a machine without any CJK font: the fallback path, whatever is installed here."""
    monkeypatch.setattr(maps, "CJK_FONTS", ())
    maps._fonts.cache_clear()
    yield
    maps._fonts.cache_clear()


def _drawn(result):
    with figure_style():
        fig = plan_map(result)
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
    return fig, renderer


def _texts(fig, prefix: str):
    return [t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith(prefix) and t.get_visible()]


def _named_nodes(sc) -> dict[str, str]:
    nodes = sc.network.nodes
    zh = nodes["name_zh"] if "name_zh" in nodes else [""] * len(nodes)
    out = {}
    for nid, name, z in zip(nodes["node_id"], nodes["name"], zh, strict=True):
        text = bilingual(short_name(name), z)
        if text:
            out[str(nid)] = text
    return out


def assert_labels_readable(fig, renderer, sc) -> None:
    """Every named node labelled exactly once; node, sub-area and district names never overlap one another
    and stay inside their axes and the canvas."""
    named = _named_nodes(sc)
    node_texts = _texts(fig, "node:")
    ids = [t.get_gid()[5:] for t in node_texts]
    assert sorted(ids) == sorted(named), (sorted(set(named) - set(ids)), sorted(set(ids) - set(named)))
    for t in node_texts:
        assert t.get_text().startswith(named[t.get_gid()[5:]]), t.get_text()
    for nid, text in named.items():  # the node's label text is on exactly one node label
        assert sum(t.get_gid() == f"node:{nid}" and t.get_text().startswith(text) for t in node_texts) == 1
    area_texts = _texts(fig, "subarea:")
    canvas = fig.bbox
    boxes = []
    for t in node_texts + area_texts:
        e = t.get_window_extent(renderer)
        ax = t.axes.bbox
        assert canvas.x0 <= e.x0 and e.x1 <= canvas.x1 and canvas.y0 <= e.y0 and e.y1 <= canvas.y1, t.get_text()
        assert ax.x0 - 1 <= e.x0 and e.x1 <= ax.x1 + 1 and ax.y0 - 1 <= e.y0 and e.y1 <= ax.y1 + 1, t.get_text()
        boxes.append((t, e))
    for (a, ea), (b, eb) in itertools.combinations(boxes, 2):
        if a.axes is b.axes:
            assert not ea.overlaps(eb), f"{a.get_text()!r} overlaps {b.get_text()!r}"


# --- placing labels ----------------------------------------------------------------------------------------
def test_candidate_boxes_ring_the_point_nearest_first():
    boxes = candidate_boxes(100.0, 50.0, 40.0, 10.0, [5.0, 20.0])
    assert boxes.shape == (16, 4)
    assert boxes[0].tolist() == [105.0, 45.0, 145.0, 55.0]  # east, centred vertically
    assert boxes[3].tolist() == [55.0, 45.0, 95.0, 55.0]  # west
    assert boxes[6].tolist() == [80.0, 55.0, 120.0, 65.0]  # north, centred horizontally
    assert (boxes[8:, 0] - boxes[:8, 0])[0] == 15.0  # the second ring is farther
    inside = [0.0, 0.0, 200.0, 100.0]
    assert first_free(boxes, inside, np.zeros((0, 4))) == 0
    assert first_free(boxes, inside, boxes[:1]) == 1  # east taken: the next direction
    assert first_free(boxes, [0.0, 0.0, 120.0, 100.0], np.zeros((0, 4))) == 3  # east runs off the area
    assert first_free(boxes, inside, np.array([[0.0, 0.0, 200.0, 100.0]])) is None
    assert overlaps(boxes[:1], boxes[1:2]).shape == (1, 1)


def test_geo_map_names_every_node_once_off_map_ones_at_the_edge(geo_result):  # noqa: F811
    fig, renderer = _drawn(geo_result)
    assert_labels_readable(fig, renderer, geo_result.scenario)
    texts = {t.get_gid(): t.get_text() for t in _texts(fig, "node:")}
    # the airport (3.6 km away) and the port lie off the map: named at the edge, with a direction and a distance
    assert re.fullmatch(r"Test Airport [↗→↑] \d+\.\d km", texts["node:ap"]), texts["node:ap"]
    assert re.fullmatch(r"Test Port [↙←↓] \d+ m", texts["node:sp"]), texts["node:sp"]
    assert texts["node:m1"] == "Central station"
    assert not [ax for ax in fig.axes if ax.get_title(loc="left").startswith("Dense core")]  # 1 km across


def test_qianhai_map_names_every_node_once_with_an_inset_of_the_dense_core(qianhai_result):
    sc = qianhai_result.scenario
    fig, renderer = _drawn(qianhai_result)
    assert_labels_readable(fig, renderer, sc)
    assert len(_texts(fig, "node:")) == len(sc.network.nodes)  # every Qianhai node has a name
    inset = [ax for ax in fig.axes if ax.get_title(loc="left").startswith("Dense core")]
    assert len(inset) == 1
    x0, x1 = inset[0].get_xlim()
    y0, y1 = inset[0].get_ylim()
    main = fig.axes[0]
    boxes = [p for p in main.patches if p.get_gid() == "dense-core"]
    assert len(boxes) == 1  # the window is outlined on the main map
    bx, by = boxes[0].get_xy()
    assert (bx, by, bx + boxes[0].get_width(), by + boxes[0].get_height()) == pytest.approx((x0, y0, x1, y1))
    # the nodes in the window are named in the inset, the others on the main map
    for t in _texts(fig, "node:"):
        row = sc.network.nodes.set_index("node_id").loc[t.get_gid()[5:]]
        in_window = x0 <= row["x"] <= x1 and y0 <= row["y"] <= y1
        assert (t.axes is inset[0]) == in_window, t.get_text()
    # the inset holds the densest floor: Bao'an centre and the CBD (Guiwan)
    table = maps.parcel_table(qianhai_result)
    dev = table[table["developed"]]
    held = dev[(dev["x"] >= x0) & (dev["x"] <= x1) & (dev["y"] >= y0) & (dev["y"] <= y1)]
    assert {"guiwan", "baoan_center"} <= set(held["subarea"])
    assert held["far"].median() > 2 * dev["far"].median()
    legend = [t.get_text() for lg in main.findobj(lambda a: a.__class__.__name__ == "Legend")
              for t in lg.get_texts()]
    assert "dense core (inset)" in legend


def test_tiny_map_has_no_inset_and_its_labels_stay_clear():
    result = solve_scenario(TINY, solver="highs", mip_gap=0.0)
    fig, _ = _drawn(result)
    assert len(fig.axes) == 3  # the map, the density panel and its colour bar
    layers = MapLayers(result.scenario)
    assert dense_core(layers, maps.parcel_table(result), 9.0, 4.0, 4.0) is None  # a 300 m zone


# --- the dense core from the data --------------------------------------------------------------------------
def _fake_city(cluster_xy_m: tuple[float, float], seed: int = 3) -> RunResult:
    """A 20 × 20 km grid of 1,600 parcels; 60 developed at FAR 1 spread everywhere, and 40 small ones at FAR 8
    packed around `cluster_xy_m`."""
    rng = np.random.default_rng(seed)
    rows, geoms = [], []
    for i in range(1600):
        col, row = i % 40, i // 40
        rows.append({"parcel_id": f"S{i:04d}", "area_m2": 250.0 ** 2, "zone": "B2", "far_max": 10,
                     "subarea": "all"})
        geoms.append(_square(col * 500.0, row * 500.0, 250.0))
    cx, cy = cluster_xy_m
    for i in range(40):
        x, y = cx + rng.uniform(-600, 600), cy + rng.uniform(-600, 600)
        rows.append({"parcel_id": f"C{i:02d}", "area_m2": 60.0 ** 2, "zone": "B2", "far_max": 10, "subarea": "all"})
        geoms.append(_square(x, y, 60.0))
    industries = pd.DataFrame([{"industry_id": "office", "name": "Office", "output_per_m2": 1e4,
                                "jobs_per_m2": 0.05, "allowed_zones": "B2", "far_min": 1, "far_max": 10}])
    sc = build_scenario({"scenario": {"name": "fake city"}}, {"parcels": pd.DataFrame(rows),
                                                             "industries": industries}, geometry=tuple(geoms))
    spread = rng.choice(1600, 60, replace=False)
    dev = np.r_[spread, np.arange(1600, 1640)]
    far = np.r_[np.ones(60), np.full(40, 8.0)]
    par = sc.parcels.iloc[dev]
    a = pd.DataFrame({"parcel_id": par["parcel_id"].to_numpy(), "industry_id": "office",
                      "subarea": "all", "zone": "B2", "area_m2": par["area_m2"].to_numpy(),
                      "floor_area_m2": par["area_m2"].to_numpy() * far, "far": far})
    a["output_yuan"], a["jobs"] = a["floor_area_m2"] * 1e4, a["floor_area_m2"] * 0.05
    return RunResult(sc, "feasible", Plan(a, "feasible", 1.0, 1.0, 0.0), None, compute_kpis(sc, a), "highs")


@pytest.mark.parametrize("where", [(4000.0, 15000.0), (15500.0, 3000.0)])
def test_dense_core_window_follows_the_cluster(where):
    result = _fake_city(where)
    layers = MapLayers(result.scenario)
    table = maps.parcel_table(result)
    core = dense_core(layers, table, 9.5, 3.5, 4.0)
    assert core is not None
    fr = layers.frame
    x0, y0, x1, y1 = core.extent
    cluster = table[table["parcel_id"].str.startswith("C")]
    assert ((cluster["x"] >= x0) & (cluster["x"] <= x1) & (cluster["y"] >= y0) & (cluster["y"] <= y1)).all()
    w_m, h_m = (x1 - x0) * fr.m_per_x, (y1 - y0) * fr.m_per_y
    assert h_m / w_m == pytest.approx(4.0 / 3.5)  # the inset's shape
    assert w_m < 4000 and core.zoom >= maps.INSET_MIN_ZOOM and core.floor_share > 0.2


def test_no_dense_core_when_the_plan_is_spread_out():
    result = _fake_city((4000.0, 15000.0))
    a = result.plan.assignment
    spread = a[~a["parcel_id"].str.startswith("C")]  # only the parcels spread over the whole city
    sc = result.scenario
    even = RunResult(sc, "feasible", Plan(spread, "feasible", 1.0, 1.0, 0.0), None, compute_kpis(sc, spread), "highs")
    assert dense_core(MapLayers(sc), maps.parcel_table(even), 9.5, 3.5, 4.0) is None
    fig, _ = _drawn(even)
    assert not [ax for ax in fig.axes if ax.get_title(loc="left").startswith("Dense core")]


# --- Chinese names -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zh_result(geo_result, tmp_path_factory):  # noqa: F811
    """The geo run with Chinese names on its industries, one node and its sub-areas."""
    sc = geo_result.scenario
    zh_ind = {"finance": "金融", "it": "新一代信息技术", "incubator": "孵化器", "factory": "智能装备"}
    industries = sc.industries.assign(name_zh=sc.industries["industry_id"].map(zh_ind))
    nodes = sc.network.nodes.assign(name_zh=np.where(sc.network.nodes["node_id"] == "m1", "中心站", ""))
    doc = json.loads(sc.subareas_path.read_text(encoding="utf-8"))
    for f, zh in zip(doc["features"], ("核心区", "工业区"), strict=True):
        f["properties"]["name_zh"] = zh
    path = tmp_path_factory.mktemp("zh") / "subareas.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    sc = dataclasses.replace(sc, industries=industries, subareas_path=path,
                             network=dataclasses.replace(sc.network, nodes=nodes))
    return dataclasses.replace(geo_result, scenario=sc)


def _all_text(fig) -> str:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for lg in ax.findobj(lambda a: a.__class__.__name__ == "Legend") for t in lg.get_texts()]
    return "\n".join(out)


def test_chinese_names_beside_english_when_a_cjk_font_is_installed(zh_result):
    has_cjk = len(maps._fonts()[0]) > 1  # this machine's fonts; the test below covers the other case
    fig, renderer = _drawn(zh_result)
    text = _all_text(fig)
    assert_labels_readable(fig, renderer, zh_result.scenario)
    if has_cjk:
        assert bilingual("Finance", "金融") == "Finance 金融"
        assert "Finance 金融" in text and "Central station 中心站" in text and "核心区" in text
        assert "福田区".upper() in text  # the basemap's Chinese-only district name is drawable too
    else:
        assert bilingual("Finance", "金融") == "Finance" and not CJK.search(text)


def test_english_alone_without_a_cjk_font(zh_result, no_cjk_font):
    assert maps._fonts()[0] == ("DejaVu Sans",)
    assert bilingual("Finance", "金融") == "Finance" and bilingual("", "金融") == ""
    fig, renderer = _drawn(zh_result)  # pytest turns a "Glyph missing" warning into an error
    text = _all_text(fig)
    assert not CJK.search(text), CJK.findall(text)
    assert "Finance  (" in text and "Central station" in text
    assert_labels_readable(fig, renderer, zh_result.scenario)


def test_qianhai_names_in_chinese():
    sc = load_scenario(QIANHAI)
    assert (sc.industries["name_zh"].str.len() > 0).all()
    assert dict(zip(sc.industries["industry_id"], sc.industries["name_zh"], strict=True))["finance"] == "金融"
    layers = MapLayers(sc)
    zh = {sid: props.get("name_zh") for sid, _, props in layers.subareas}
    assert set(zh) == set(sc.parcels["subarea"]) and all(zh.values())
    assert zh["baoan_center"] == "宝安中心区" and zh["convention_city"] == "会展新城" and zh["ocean_city"] == "海洋新城"
