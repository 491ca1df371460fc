"""Why each parcel: forcing the runner-up costs what the explanation says; reasons for empty parcels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, brute_force, industry, make_scenario, parcel, small_city

from optimizer.analysis.pricing import price_pairs
from optimizer.analysis.why import UNDEVELOPED, explain_plan
from optimizer.model import build_model
from optimizer.pipeline import solve_scenario
from optimizer.scenario import load_scenario


def _forced(sc, parcel_id: str, option: str):
    """The scenario with parcel_id forced onto option, written as scenario rules (a pair table and must_develop),
    so that the brute force judges it independently of the model."""
    rows = [{"parcel_id": parcel_id, "industry_id": k, "eligible": option != UNDEVELOPED and k == option}
            for k in sc.industries["industry_id"]]
    pairs = pd.DataFrame(rows).assign(value_multiplier=1.0, cost_yuan=0.0)
    if sc.pairs is not None:
        keep = sc.pairs[sc.pairs["parcel_id"] != parcel_id]
        pairs = pd.concat([keep, pairs], ignore_index=True)
    par = sc.parcels.copy()
    par.loc[par["parcel_id"] == parcel_id, "must_develop"] = option != UNDEVELOPED
    return replace(sc, parcels=par, pairs=pairs)


def test_tiny_runner_up_costs_match_the_brute_force():
    """The README's hand-solved tiny scenario: each parcel's re-solved forcing cost is the brute-force optimum's
    loss when that parcel is forced onto its runner-up."""
    sc = load_scenario(TINY)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    df = explain_plan(result, resolve_s=60, close_calls=10).set_index("parcel_id")
    assert df.loc["P5", "status"] == "not eligible" and "zone G1 admits none" in df.loc["P5", "reason"]
    for pid in ("P1", "P2", "P3", "P4"):
        row = df.loc[pid]
        assert row["status"] == "developed" and row["forcing_cost_method"].startswith("re-solved")
        best = brute_force(_forced(sc, pid, row["runner_up"]))
        if best is None:
            assert np.isinf(row["forcing_cost_yuan"]) and "no plan could meet every rule" in row["reason"]
        else:
            assert row["forcing_cost_yuan"] == pytest.approx(result.plan.objective - best[0], rel=1e-6)
    # by hand: finance off P1 loses finance's 2.5 bn but IT (FAR 4 → 40,000 m², capped at 60,000 in all) gains
    assert df.loc["P1", "forcing_cost_yuan"] == pytest.approx(0.5e9)


@pytest.mark.parametrize("seed", range(5))
def test_forcing_cost_bounds_hold(seed):
    """Without re-solves every forcing cost is a lower bound: the brute force never finds forcing cheaper."""
    sc = small_city(seed)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    df = explain_plan(result, resolve_s=0.0)
    checked = 0
    for _, row in df[df["runner_up"] != ""].iterrows():
        assert row["forcing_cost_method"] == "lower bound (LP prices)"
        best = brute_force(_forced(sc, row["parcel_id"], row["runner_up"]))
        true_cost = np.inf if best is None else result.plan.objective - best[0]
        assert row["forcing_cost_yuan"] <= true_cost + 1e-6 * abs(result.plan.objective)
        checked += 1
    assert checked >= 3


def test_lagrangian_bound_equals_the_lp_bound():
    for sc in (load_scenario(TINY), small_city(0)):
        prices = price_pairs(build_model(sc), sc)
        assert prices.bound == pytest.approx(prices.lp_objective, rel=1e-9)


def test_reasons_name_the_access_limit_and_the_budget():
    """P1 next to the metro; P2 at the junction J, 20 min from the metro by the network (the finance limit is 12 min); the lab on P3 is eligible
    but the budget buys better output elsewhere."""
    parcels = [parcel("P1", 10_000, "B", 3, x=0, y=0, dev_cost_per_m2=1_000),
               parcel("P2", 10_000, "B", 3, x=0, y=4_000, dev_cost_per_m2=1_000),
               parcel("P3", 10_000, "M", 2, x=0, y=100, dev_cost_per_m2=4_000)]
    industries = [industry("fin", 50_000, "B", 1, 3), industry("lab", 3_000, "M", 1, 2)]
    nodes = [{"node_id": "M", "type": "metro", "x": 0, "y": 0}, {"node_id": "J", "type": "junction", "x": 0, "y": 4000}]
    config = {"network": {"crs": "local_m", "access_speed_kmh": 12.0, "access_links": 1, "detour_factor": 1.0},
              "access_rules": [{"industry": "fin", "node_type": "metro", "max_minutes": 12.0}],
              "rules": {"total_budget_yuan": 2.5e7}}  # fin takes 25,000 m² on P1: each yuan earns 50
    edges = [{"from_node": "J", "to_node": "M", "speed_kmh": 12}]  # 4 km at 12 km/h: 20 min
    sc = make_scenario(parcels, industries, config, nodes=nodes, edges=edges)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    df = explain_plan(result).set_index("parcel_id")
    assert df.loc["P1", "industry_id"] == "fin"
    assert df.loc["P2", "status"] == "not eligible"
    assert "Fin is 20.0 min from the nearest metro (limit 12 min)" in df.loc["P2", "reason"]
    assert df.loc["P3", "status"] == "eligible, not chosen"
    assert "total development budget" in df.loc["P3", "reason"]
    assert "0.75 yuan a year per yuan" in df.loc["P3", "reason"]  # 3,000 / 4,000
    assert "budget's last yuan earns 50.00" in df.loc["P3", "reason"]


# --- end to end: from a scenario folder to written answers ----------------------------------------------------
def test_solve_writes_the_planning_answers(tmp_path, capsys):
    import json

    from optimizer.cli import main

    out = tmp_path / "out"
    assert main(["solve", str(TINY), "--out", str(out), "--solver", "highs"]) == 0
    printed = capsys.readouterr().out
    assert "what holds the plan back most" in printed
    worth = pd.read_csv(out / "marginal_values.csv")
    assert {"rule", "binding", "marginal_value", "method"} <= set(worth.columns)
    why = pd.read_csv(out / "explain.csv", keep_default_na=False).set_index("parcel_id")
    assert why.loc["P1", "runner_up"] == "it" and float(why.loc["P1", "forcing_cost_yuan"]) == pytest.approx(5e8)
    doc = json.loads((out / "plan_local.geojson").read_text(encoding="utf-8"))
    props = {f["properties"]["parcel_id"]: f["properties"] for f in doc["features"]}
    assert props["P5"]["status"] == "not eligible" and "zone G1" in props["P5"]["reason"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "What holds the plan back" in html and "Why each parcel" in html
    out2 = tmp_path / "out2"
    assert main(["solve", str(TINY), "--out", str(out2), "--no-analysis", "--no-figures"]) == 0
    assert not (out2 / "explain.csv").exists() and not (out2 / "marginal_values.csv").exists()


def test_explain_command_in_plain_words(capsys):
    from optimizer.cli import main

    assert main(["explain", str(TINY), "--parcel", "P1", "--parcel", "P5", "--solver", "highs"]) == 0
    text = capsys.readouterr().out
    assert "parcel P1" in text and "next best: Next-generation IT, which would cost 0.500 bn yuan a year" in text
    assert "zone G1 admits none of the 3 industries" in text
    assert main(["explain", str(TINY), "--parcel", "P10"]) == 2
    assert "no parcel has id 'P10'" in capsys.readouterr().err


def test_a_built_parcel_is_never_explained_as_better_left_empty():
    """A parcel with an existing use is kept, intensified or converted, never emptied: its runner-up is another
    use (or none), never "(undeveloped)"; an empty parcel's runner-up may be."""
    sc = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "redevelopment")
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    df = explain_plan(result, resolve_s=60, close_calls=10).set_index("parcel_id")
    built = sc.parcels.loc[sc.parcels["existing_industry"] != "", "parcel_id"]
    assert len(built) >= 2
    assert (df.loc[built, "runner_up"] != UNDEVELOPED).all()
    assert (df.loc[built, "runner_up"] != df.loc[built, "industry_id"]).all()  # another use, not the same
    assert not df.loc[built, "reason"].str.contains("leaving it undeveloped").any()
    alone = df.loc[built][df.loc[built, "runner_up"] == ""]
    assert len(alone) >= 1 and alone["reason"].str.contains("locked|may not be left empty|nothing may change").all()
