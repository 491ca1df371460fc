"""What each rule is worth: hand-computed marginal values, and agreement with re-solving the relaxed scenario."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from helpers import industry, make_scenario, parcel, random_instance, scenario_from, small_city

from optimizer.analysis.worth import DUAL, RESOLVE, rule_worth
from optimizer.pipeline import solve_scenario


def _row(df, family: str, contains: str = ""):
    sel = df[(df["family"] == family) & df["rule"].str.contains(contains, regex=False)]
    assert len(sel) == 1, df[["rule", "family"]]
    return sel.iloc[0]


def test_budget_worth_by_hand():
    """One industry at 5,000 yuan/m² of floor costing 1,000 yuan/m²: each yuan of budget buys 5 yuan of output.

    Budget 3e7 yuan → 30,000 m² of floor, on parcel A (cap 40,000 m²): output 1.5e8 yuan.
    """
    sc = make_scenario([parcel("A", 10_000, "B", 4, dev_cost_per_m2=1_000),
                        parcel("B", 10_000, "B", 4, dev_cost_per_m2=1_000)],
                       [industry("lab", 5_000, "B", 0, 4)], {"rules": {"total_budget_yuan": 3.0e7}})
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert result.plan.objective == pytest.approx(1.5e8)
    df = rule_worth(result, confirm_top=0)
    row = _row(df, "budget_total")
    assert row["binding"] and row["method"] == DUAL
    assert row["marginal_value"] == pytest.approx(5.0)
    assert row["marginal_unit"] == "yuan a year per yuan"
    df = rule_worth(result, confirm_top=1)
    row = _row(df, "budget_total")
    assert row["method"].startswith(RESOLVE) and row["step"] == pytest.approx(3.0e5)
    assert row["marginal_value"] == pytest.approx(5.0)


def test_demand_cap_worth_and_slack_by_hand():
    """Finance (50,000 yuan/m²) capped at 20,000 m² on a parcel that could hold 30,000: one more m² of cap is worth
    50,000 yuan. The shop industry's cap (100,000 m²) is slack by 100,000 m² (shop is not built)."""
    sc = make_scenario([parcel("P", 10_000, "B", 3)],
                       [industry("fin", 50_000, "B", 1, 3, max_floor_total_m2=20_000),
                        industry("shop", 20_000, "B", 1, 3, max_floor_total_m2=100_000)])
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert result.plan.objective == pytest.approx(1.0e9)
    df = rule_worth(result)
    fin = _row(df, "demand", "fin")
    assert fin["binding"] and fin["marginal_value"] == pytest.approx(50_000)
    assert fin["method"].startswith(RESOLVE)
    shop = _row(df, "demand", "shop")
    assert not shop["binding"] and shop["slack"] == pytest.approx(100_000) and shop["marginal_value"] == 0.0
    assert list(df["rule"])[0] == fin["rule"]  # the rule that holds the plan back most comes first


def _relaxed_scenario(sc, row):
    """The scenario with the row's rule relaxed by its step, built from the scenario's own fields."""
    if row["family"] == "budget_total":
        return replace(sc, rules=replace(sc.rules, total_budget_yuan=sc.rules.total_budget_yuan + row["step"]))
    if row["family"] == "demand":
        kid = row["rule"].split("demand bounds of ")[1].split(":")[0]
        ind = sc.industries.copy()
        col = "max_floor_total_m2" if row["side"] == "max" else "min_floor_total_m2"
        delta = row["step"] if row["side"] == "max" else -row["step"]
        ind.loc[ind["industry_id"] == kid, col] += delta
        return replace(sc, industries=ind)
    raise AssertionError(row["family"])


@pytest.mark.parametrize("seed", range(6))
def test_resolved_marginal_values_agree_with_relaxing_the_scenario(seed):
    sc = small_city(seed, n_parcels=8, lab_cap=True)
    base = solve_scenario(sc, solver="highs", mip_gap=0.0)
    df = rule_worth(base, confirm_top=10)
    checked = 0
    for _, row in df[df["method"].str.startswith(RESOLVE)].iterrows():
        again = solve_scenario(_relaxed_scenario(sc, row), solver="highs", mip_gap=0.0)
        assert again.check.passed
        expected = (again.plan.objective - base.plan.objective) / row["step"]
        assert row["marginal_value"] == pytest.approx(expected, rel=1e-6, abs=1e-6 * abs(base.plan.objective)
                                                      / row["step"])
        checked += 1
    assert checked >= 1


def test_share_rule_worth_per_percentage_point():
    """fin may hold at most 50 % of all floor. Parcel A could hold 40,000 m² of fin, parcel B holds lab at FAR 2
    (20,000 m²), so fin is held to 20,000 m². At 51 %, fin may take 0.51 / 0.49 × 20,000 = 20,816 m²: one
    percentage point is worth 816 m² × 50,000 yuan = 40.8 million yuan."""
    sc = make_scenario([parcel("A", 10_000, "B", 4), parcel("B", 10_000, "B", 2)],
                       [industry("fin", 50_000, "B", 1, 4, max_share=0.5), industry("lab", 20_000, "B", 1, 2)])
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert result.plan.objective == pytest.approx(20_000 * 50_000 + 20_000 * 20_000)
    df = rule_worth(result, confirm_top=5)
    row = _row(df, "share_max", "fin")
    assert row["unit"] == "share" and row["bound"] == pytest.approx(0.5) and row["value"] == pytest.approx(0.5)
    assert row["binding"] and row["method"].startswith(RESOLVE) and row["step"] == 1.0
    assert row["marginal_value"] == pytest.approx((0.51 / 0.49 - 1) * 20_000 * 50_000, rel=1e-6)
    again = replace(sc, industries=sc.industries.assign(max_share=[0.51, np.nan]))
    expected = solve_scenario(again, solver="highs", mip_gap=0.0).plan.objective - result.plan.objective
    assert row["marginal_value"] == pytest.approx(expected, rel=1e-6)


def test_what_holds_the_plan_back_is_said_in_the_objectives_own_unit():
    """Finance (50,000 yuan/m² of floor) capped at 20,000 m² of floor on one 10,000 m² parcel (FAR 3).

    Most output: relaxing the cap by its step (1 %, 200 m²) adds 200 × 50,000 = 10 million yuan a year.
    Most output per m² of land: the plan builds 20,000 m² on 10,000 m² (100,000 yuan/m² of land); 200 m² more
    adds 200 × 50,000 / 10,000 = 1,000 yuan/m² of land a year, which is not millions of yuan.
    """
    from optimizer.analysis.worth import holding_back
    from optimizer.report.html import _holding_back, render_html

    rules = [parcel("P", 10_000, "B", 3)], [industry("fin", 50_000, "B", 1, 3, max_floor_total_m2=20_000)]
    total = solve_scenario(make_scenario(*rules), solver="highs", mip_gap=0.0)
    line, = holding_back(rule_worth(total, confirm_top=1), total.scenario)
    assert "gains 10.0 million yuan a year" in line, line

    ratio = solve_scenario(make_scenario(*rules, {"objective": {"kind": "output_per_land"}}), solver="highs",
                           mip_gap=0.0)
    assert ratio.plan.objective == pytest.approx(100_000)
    ratio.analysis["marginal_values"] = rule_worth(ratio, confirm_top=1)
    line, = holding_back(ratio.analysis["marginal_values"], ratio.scenario)
    assert "gains 1,000 yuan/m² of land a year" in line, line
    assert "million" not in line
    html = _holding_back(ratio)
    assert "gain, yuan/m² of land a year" in html and "<td>1,000</td>" in html, html
    page = render_html(ratio)  # the checker's recomputed objective too is a ratio, not billions of yuan
    assert "objective recomputed from the plan: 100,000.0 yuan per m² of developed land a year" in page


class _SlowEngineClock:
    """time.perf_counter for the engine only: each reading one second later than the last (a slow machine)."""

    def __init__(self):
        self.calls = 0

    def perf_counter(self) -> float:
        self.calls += 1
        return time.perf_counter() + self.calls

    def __getattr__(self, name):  # the rest of the time module as it is
        return getattr(time, name)


def test_a_resolve_cut_by_its_time_limit_says_so(monkeypatch):
    """A re-solve that its ceiling cut (its figure then follows the machine's speed) is marked in the method."""
    from optimizer.analysis import CUT_BY_CLOCK
    from optimizer.solvers import lagrange

    r = solve_scenario(scenario_from(*random_instance(3, n_parcels=120, n_industries=5)), solver="lagrange",
                       mip_gap=1e-4)
    plain = rule_worth(r, confirm_top=1, confirm_access=0, time_limit_s=20.0)
    assert plain["method"].str.startswith("re-solve").sum() == 1
    assert not plain["method"].str.contains(CUT_BY_CLOCK, regex=False).any()
    monkeypatch.setattr(lagrange, "time", _SlowEngineClock())
    cut = rule_worth(r, confirm_top=1, confirm_access=0, time_limit_s=20.0)
    resolved = cut[cut["method"].str.startswith("re-solve")]
    assert len(resolved) == 1 and resolved["method"].iloc[0].endswith(f"({CUT_BY_CLOCK})")
    assert resolved["rule"].iloc[0] == plain[plain["method"].str.startswith("re-solve")]["rule"].iloc[0]
