"""plan.html, the interactive offline map: its inlined data, escaping, and a real headless Chromium.

The browser tests drive Debian's `chromium` with `chromium-driver` through Selenium; they skip only when no
Chromium or driver can be found on this machine (.ci/run installs them).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

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
    assert {"floor m²", "FAR", "output yuan", "minutes to metro"} <= labels
    if "explain" in geo_result.analysis:
        assert "reason" in labels
    report = (geo_out / "report.html").read_text(encoding="utf-8")
    assert "href='plan.html'" in report


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
