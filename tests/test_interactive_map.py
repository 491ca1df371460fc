"""plan.html, the interactive offline map: its inlined data, escaping, and a real headless Chromium.

The browser tests drive Debian's `chromium` with `chromium-driver` through Selenium; they skip only when no
Chromium or driver can be found on this machine (.ci/run installs them).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
from test_report import TINY, geo_out, geo_result, geo_scenario  # noqa: F401  (shared fixtures)

from optimizer.pipeline import solve_scenario
from optimizer.report.interactive import UNDEVELOPED_KEY, render_plan_html
from optimizer.report.maps import UNDEVELOPED, industry_colors
from optimizer.report.write import write_outputs


def page_data(text: str) -> dict:
    m = re.search(r'<script id="plan-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no inlined plan data"
    return json.loads(m.group(1))


def test_plan_html_written_with_every_parcel_and_colours(geo_result, geo_out):  # noqa: F811
    path = geo_out / "plan.html"
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text and "<script src" not in text  # nothing fetched from a network
    data = page_data(text)
    sc = geo_result.scenario
    assert [p["id"] for p in data["parcels"]] == list(sc.parcels["parcel_id"].astype(str))
    colors = industry_colors(sc)
    layer_color = {ly["key"]: ly["color"] for ly in data["layers"]}
    assert layer_color[UNDEVELOPED_KEY] == UNDEVELOPED
    for k, c in colors.items():
        assert layer_color[k] == c
    plan = geo_result.plan.assignment.set_index("parcel_id")["industry_id"]
    for p in data["parcels"]:
        assert p["layer"] == (plan[p["id"]] if p["id"] in plan.index else UNDEVELOPED_KEY)
        lon, lat = p["rings"][0][0]
        assert 113 < lon < 115 and 22 < lat < 23
        assert all(len(str(v).split(".")[-1]) <= 6 for v in (lon, lat))
    kinds = {o["kind"] for o in data["outlines"]}
    assert kinds == {"zones", "subareas"}
    assert len(data["nodes"]) == len(sc.network.nodes) and len(data["edges"]) == len(sc.network.edges)
    labels = {kv[0] for p in data["parcels"] for kv in p["info"]}
    assert {"industry", "floor m²", "FAR", "output yuan a year", "sub-area", "minutes to metro"} <= labels
    assert all("why" not in p for p in data["parcels"])  # no planning answers in this run
    report = (geo_out / "report.html").read_text(encoding="utf-8")
    assert "href='plan.html'" in report


def test_legend_counts_and_network_styles(geo_result, geo_out):  # noqa: F811
    from optimizer.report.maps import CORRIDOR_MODES, NODE_STYLE

    data = page_data((geo_out / "plan.html").read_text(encoding="utf-8"))
    plan = geo_result.plan.assignment
    counts = {ly["key"]: ly["count"] for ly in data["layers"]}
    ids = geo_result.scenario.industries["industry_id"]
    assert counts == {**{k: int((plan["industry_id"] == k).sum()) for k in ids},
                      UNDEVELOPED_KEY: len(geo_result.scenario.parcels) - len(plan)}
    by_id = {n["id"]: n for n in data["nodes"]}
    assert by_id["m1"]["name"] == "Central station" and by_id["m1"]["color"] == NODE_STYLE["metro"][2]
    assert ["access rule", "Finance within 30 min"] in by_id["m1"]["info"]
    assert by_id["j1"]["name"] == "j1"  # a node without a name is called by its id
    assert {e["color"] for e in data["edges"]} <= {m[1] for m in CORRIDOR_MODES.values()}
    assert [e["planned"] for e in data["edges"]] == [False, False, True, False]
    assert {t["type"]: t["count"] for t in data["node_types"]} == {"metro": 2, "airport": 1, "seaport": 1,
                                                                  "junction": 1}
    assert "output" in data["subtitle"] and "jobs" in data["subtitle"]


def test_chinese_names_in_the_page(geo_result):  # noqa: F811
    sc = geo_result.scenario
    sc = dataclasses.replace(sc, industries=sc.industries.assign(
        name_zh=np.where(sc.industries["industry_id"] == "finance", "金融", "")))
    data = page_data(render_plan_html(dataclasses.replace(geo_result, scenario=sc)))
    names = {ly["key"]: ly["name"] for ly in data["layers"]}
    assert names["finance"] == "Finance 金融" and names["it"] == "Next-generation IT"


def test_scenario_text_is_escaped(geo_result):  # noqa: F811
    evil = "</script><img src=x onerror=alert(1)>"
    sc = dataclasses.replace(geo_result.scenario, name=evil)
    text = render_plan_html(dataclasses.replace(geo_result, scenario=sc))
    assert evil not in text and "<img" not in text
    assert page_data(text)["title"] == evil
    assert "innerHTML" not in text


def test_local_metre_scenario_gets_no_plan_html(tmp_path):
    result = solve_scenario(TINY, solver="highs", mip_gap=0.0)
    out = write_outputs(result, tmp_path / "run")
    assert (out / "report.html").is_file() and not (out / "plan.html").exists()
    assert "plan.html" not in (out / "report.html").read_text(encoding="utf-8")


# --- a real browser -----------------------------------------------------------------------------------------
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary, driver = _chromium(), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("no Chromium or chromedriver on this machine (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,800"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    b = webdriver.Chrome(options=opts, service=Service(driver))
    yield b
    b.quit()


def test_page_runs_in_chromium(browser, geo_result, geo_out):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get((geo_out / "plan.html").as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    n = len(geo_result.scenario.parcels)
    assert browser.execute_script("return window.planParcelCount") == n
    assert browser.execute_script("return document.querySelectorAll('[data-parcel]').length") == n
    popup = browser.find_element(By.ID, "popup")
    assert not popup.is_displayed()
    for pid in ("P05", "P10"):
        browser.find_element(By.CSS_SELECTOR, f"[data-parcel='{pid}']").click()
        assert popup.is_displayed()
        assert popup.get_attribute("data-popup") == pid
        assert pid in popup.text.split()
    # toggling a layer hides its parcels
    first = geo_result.plan.assignment["industry_id"].iloc[0]
    shown = browser.execute_script(
        f"return document.querySelectorAll('[data-layer=\"{first}\"] [data-parcel]').length")
    assert shown >= 1
    browser.find_element(By.CSS_SELECTOR, f"[data-toggle='{first}']").click()
    el = browser.find_element(By.CSS_SELECTOR, f"[data-layer='{first}'] [data-parcel]")
    assert not el.is_displayed()
    # the wheel zooms: the viewBox shrinks around the cursor
    before = browser.execute_script("return document.getElementById('svg').getAttribute('viewBox')")
    browser.execute_script("document.getElementById('svg').dispatchEvent(new WheelEvent('wheel', "
                           "{deltaY: -100, clientX: 300, clientY: 300, bubbles: true, cancelable: true}))")
    after = browser.execute_script("return document.getElementById('svg').getAttribute('viewBox')")
    assert float(after.split()[2]) < float(before.split()[2])
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def _severe(browser) -> list:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


VISIBLE = """return Array.from(document.querySelectorAll(arguments[0])).filter(function(e){
  var r=e.getBoundingClientRect();return r.width>0||r.height>0;}).map(function(e){
  return e.getAttribute('data-parcel')||e.getAttribute('data-node')||e.tagName;});"""


def test_toggles_hide_exactly_their_layer(browser, geo_result, geo_out):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get((geo_out / "plan.html").as_uri())
    plan = geo_result.plan.assignment.set_index("parcel_id")["industry_id"]
    every = set(geo_result.scenario.parcels["parcel_id"])
    assert set(browser.execute_script(VISIBLE, "[data-parcel]")) == every
    # the legend is the layer list: each industry's colour and count beside its checkbox
    data = page_data((geo_out / "plan.html").read_text(encoding="utf-8"))
    for ly in data["layers"]:
        row = browser.find_element(By.CSS_SELECTOR, f"[data-legend='{ly['key']}']")
        assert row.text == f"{ly['name']} ({ly['count']})"
        sw = row.find_element(By.CSS_SELECTOR, ".sw").value_of_css_property("background-color")
        assert sw == "rgba({}, {}, {}, 1)".format(*(int(ly["color"][i:i + 2], 16) for i in (1, 3, 5)))
    for industry in plan.unique():
        box = browser.find_element(By.CSS_SELECTOR, f"[data-toggle='{industry}']")
        box.click()
        shown = set(browser.execute_script(VISIBLE, "[data-parcel]"))
        assert shown == every - set(plan.index[plan == industry]), industry
        box.click()
        assert set(browser.execute_script(VISIBLE, "[data-parcel]")) == every
    # the network: lines and nodes each have their own checkbox
    n_lines, n_nodes = len(geo_result.scenario.network.edges), len(geo_result.scenario.network.nodes)
    assert len(browser.execute_script(VISIBLE, "[data-layer='network-lines'] line")) == n_lines
    browser.find_element(By.CSS_SELECTOR, "[data-toggle='network-lines']").click()
    assert browser.execute_script(VISIBLE, "[data-layer='network-lines'] line") == []
    assert len(browser.execute_script(VISIBLE, "[data-node]")) == n_nodes
    browser.find_element(By.CSS_SELECTOR, "[data-toggle='network-nodes']").click()
    assert browser.execute_script(VISIBLE, "[data-node]") == []
    assert set(browser.execute_script(VISIBLE, "[data-parcel]")) == every
    assert not _severe(browser)


def test_node_popup_names_the_node(browser, geo_result, geo_out):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get((geo_out / "plan.html").as_uri())
    popup = browser.find_element(By.ID, "popup")
    browser.find_element(By.CSS_SELECTOR, "[data-node='m1']").click()
    assert popup.is_displayed() and popup.get_attribute("data-popup") == "node:m1"
    assert "Central station" in popup.text and "metro" in popup.text
    assert "Finance within 30 min" in popup.text  # the access rule that uses the node's type
    browser.find_element(By.CSS_SELECTOR, "[data-node='m2']").click()
    assert popup.get_attribute("data-popup") == "node:m2" and "East station" in popup.text
    browser.find_element(By.CSS_SELECTOR, "#popup .x").click()
    assert not popup.is_displayed()
    assert not _severe(browser)


def test_parcel_popup_says_why(browser, geo_result, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    from optimizer.analysis.run import analyse

    answered = analyse(geo_result, time_limit_s=20)
    why = answered.analysis["explain"].set_index("parcel_id")
    page = tmp_path / "plan.html"
    page.write_text(render_plan_html(answered), encoding="utf-8")
    browser.get(page.as_uri())
    popup = browser.find_element(By.ID, "popup")
    for pid in ("P05", "P03"):
        browser.find_element(By.CSS_SELECTOR, f"[data-parcel='{pid}']").click()
        assert popup.get_attribute("data-popup") == pid
        text = popup.find_element(By.CSS_SELECTOR, ".why").text
        assert text.startswith("Why: " + why.loc[pid, "reason"])
        assert why.loc[pid, "forcing_cost_method"] in text
    assert not _severe(browser)


def test_report_embeds_the_interactive_map(browser, geo_result, geo_out):  # noqa: F811
    """report.html shows plan.html in a frame (the map loads inside the report, every parcel drawn)."""
    from selenium.webdriver.common.by import By

    html = (geo_out / "report.html").read_text(encoding="utf-8")
    assert "<iframe class='plan-map' src='plan.html'" in html
    browser.get((geo_out / "report.html").as_uri())
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.plan-map")
    browser.execute_script("arguments[0].scrollIntoView()", frame)
    browser.switch_to.frame(frame)
    try:
        import time

        for _ in range(50):  # the frame loads lazily once scrolled into view
            if browser.execute_script("return window.planParcelCount || 0"):
                break
            time.sleep(0.1)
        assert browser.execute_script("return window.planParcelCount") == len(geo_result.scenario.parcels)
    finally:
        browser.switch_to.default_content()
    assert not _severe(browser)


def test_parcel_popup_says_what_happens_to_an_existing_use(geo_scenario, tmp_path):  # noqa: F811
    """A parcel with an existing use shows the plan's action and what stands there today."""
    from dataclasses import replace

    from optimizer.pipeline import solve_scenario

    first = geo_scenario.compatibility.iloc[0]
    par = geo_scenario.parcels.copy()
    at = par.index[par["zone"] == first["zone"]][0]
    par.loc[at, ["existing_industry", "existing_floor_m2"]] = [first["industry_id"], 1000.0]
    sc = replace(geo_scenario, parcels=par)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    out = write_outputs(result, tmp_path / "run")
    data = page_data((out / "plan.html").read_text(encoding="utf-8"))
    pid = par.loc[at, "parcel_id"]
    (item,) = [p for p in data["parcels"] if p["id"] == pid]
    action = dict(map(tuple, item["info"]))["action"]
    planned = result.plan.assignment.set_index("parcel_id").loc[pid, "action"]
    assert action.startswith(planned) and "existing:" in action and "1,000 m²" in action
    others = [p for p in data["parcels"] if p["id"] != pid]
    assert not any("action" in dict(map(tuple, p["info"])) for p in others)  # greenfield: no action row
