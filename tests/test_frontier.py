"""The trade-off frontier: each point the brute-force best under its ε, monotone, every point a checked plan."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, each_plan, industry, make_scenario, parcel, small_city

from optimizer.analysis.frontier import frontier
from optimizer.pipeline import solve_scenario


def _best_with_land_at_most(sc, cap_m2: float) -> float | None:
    """Brute force: the best total output over plans whose developed land is at most cap_m2."""
    plans = each_plan(sc, lambda _combo, land: land <= cap_m2 * (1 + 1e-9))
    return max((got[0] for _, _, got in plans), default=None)


@pytest.mark.parametrize("seed", range(3))
def test_land_frontier_points_are_the_brute_force_optima(seed):
    sc = small_city(seed, n_parcels=5, lab_min_m2=5_000.0)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    table, plans = frontier(result, "developed_land", "output", points=5)
    assert table["monotone"].all() and (table["status"] == "optimal").all()
    for _, row in table.iterrows():
        run = plans[int(row["point"])]
        assert run.check.passed
        assert row["x"] <= row["epsilon"] * (1 + 1e-9)
        assert row["y"] == pytest.approx(_best_with_land_at_most(sc, row["epsilon"]), rel=1e-6)
    assert table["y"].iloc[-1] == pytest.approx(result.kpis["total_output_yuan"], rel=1e-9)  # the loose end
    least = min(land for _, land, _ in each_plan(sc))  # the tight end: the least land any plan needs
    assert table.attrs["far_end"] == pytest.approx((least, least), rel=1e-6)
    assert table["x"].iloc[0] == pytest.approx(least, rel=1e-6)
    assert table["knee"].sum() == 1 and table["best_y_per_x"].sum() == 1


def test_giving_kpi_frontier_falls():
    """Output against jobs held at least ε: the more jobs required, the less output (never more)."""
    sc = make_scenario([parcel("A", 10_000, "B", 3), parcel("B", 10_000, "B", 3)],
                       [industry("fin", 50_000, "B", 1, 3, jobs_per_m2=0.01),
                        industry("shop", 20_000, "B", 1, 3, jobs_per_m2=0.05)])
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    table, _ = frontier(result, "jobs", "output", points=3)
    assert table["monotone"].all()
    # by hand: fin on both gives 600 jobs and 3 bn; shop on both gives 3,000 jobs and 1.2 bn; halfway 1,800 jobs:
    # one of each, 2.1 bn
    assert table["x"].tolist() == pytest.approx([600, 1800, 3000])
    assert table["y"].tolist() == pytest.approx([3.0e9, 2.1e9, 1.2e9])


def test_frontier_command(tmp_path):
    from optimizer.cli import main

    out = tmp_path / "f"
    assert main(["frontier", str(TINY), "--out", str(out), "--points", "4", "--solver", "highs"]) == 0
    t = pd.read_csv(out / "frontier.csv")
    assert len(t) == 4 and t["monotone"].all()
    assert (out / "frontier.png").stat().st_size > 20_000
    assert any((out / "points").iterdir())
    assert main(["frontier", str(TINY), "--out", str(tmp_path / "g"), "--x", "land"]) == 2


def test_frontier_command_prints_the_table_in_planners_units(tmp_path, capsys):
    """The console table gives land in km², output in bn yuan a year and the gap in %, as frontier.png does."""
    from optimizer.cli import main

    assert main(["frontier", str(TINY), "--out", str(tmp_path / "f"), "--points", "3", "--solver", "highs",
                 "--no-figures"]) == 0
    out = capsys.readouterr().out
    t = pd.read_csv(tmp_path / "f" / "frontier.csv")
    header = next(line for line in out.splitlines() if "level (km²)" in line)
    assert "developed land (km²)" in header and "output (bn yuan a year)" in header and "gap" in header
    last = out.splitlines()[out.splitlines().index(header) + 3]
    assert f"{t['x'].iloc[-1] / 1e6:,.3f}" in last and f"{t['y'].iloc[-1] / 1e9:,.3f}" in last
    assert "0.00%" in last and "yes" in last


def test_solve_with_frontier_puts_it_in_the_report(tmp_path):
    from optimizer.cli import main

    out = tmp_path / "s"
    assert main(["solve", str(TINY), "--out", str(out), "--solver", "highs", "--frontier", "3", "--alternatives",
                 "1", "--min-diff", "1", "--within", "20"]) == 0
    assert len(pd.read_csv(out / "frontier.csv")) == 3 and (out / "frontier.png").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    summary = html[html.index("In one minute"):html.index("</section>")]
    assert "of 5 parcels" in summary and "4.8 billion yuan a year" in summary
    assert "near-optimal alternative" in summary and "alt='frontier'" in summary
    assert "finance" not in summary.replace("Finance", "")  # names, never ids


def test_every_frontier_solve_gets_the_same_work_whatever_the_clock(monkeypatch):
    """Each solve's work limit is a fixed part of the frontier's time, the same on a slow clock (a busy machine),
    so that the curve is too; the clock sets only each solve's ceiling, twice an equal share of the time left and
    never more than what is left (a frontier once took a twelfth more than its limit)."""
    import optimizer.analysis.frontier as fr

    result = solve_scenario(TINY, solver="highs", mip_gap=0.0)
    real_solve, real_clock = fr.solve_bundle, fr.time.perf_counter

    def run(slow_s: float):
        given, start = [], real_clock()

        def spy(model, solver, opts):
            given.append((opts.time_limit_s, opts.work_limit_s, real_clock() - start))
            return real_solve(model, solver, opts)

        reads = iter(range(10**9))  # each read of the clock: slow_s more seconds than really passed
        monkeypatch.setattr(fr, "solve_bundle", spy)
        monkeypatch.setattr(fr.time, "perf_counter", lambda: real_clock() + slow_s * next(reads))
        try:
            table, _ = frontier(result, "developed_land", "output", points=4, time_limit_s=12.0)
        finally:
            monkeypatch.setattr(fr.time, "perf_counter", real_clock)
        return table, given

    quick, given = run(0.0)
    assert len(given) == 6
    assert [w for _, w, _ in given] == [pytest.approx(fr.WORK_SHARE * 12.0 / 6)] * 6
    assert given[0][0] == pytest.approx(fr.CEILING_SHARES * 12.0 / 6, abs=0.05)
    assert all(ceiling <= 12.0 - spent + 0.05 for ceiling, _, spent in given)
    assert quick["seconds"].notna().all() and quick["check"].eq("passed").all()
    slow, given_slow = run(0.02)  # the whole process's clock runs fast: 20 ms more at each read
    assert [w for _, w, _ in given_slow] == [w for _, w, _ in given]
    assert [c for c, _, _ in given_slow][1:] < [c for c, _, _ in given][1:]  # only the ceilings follow the clock
    pd.testing.assert_frame_equal(slow[["x", "y", "status"]], quick[["x", "y", "status"]])


def test_the_frontier_figure_shows_each_points_bound(tmp_path):
    """frontier.png draws the proven bound beside each plan and marks the points whose gap is above 1 % hollow,
    so that the tight end of a curve solved to a loose gap is not read as the true trade-off."""
    from optimizer.report.answers import frontier_figure

    table = pd.DataFrame({"point": [0, 1, 2], "x": [1e6, 2e6, 3e6], "y": [1e9, 3e9, 4e9],
                          "y_bound": [2e9, 3.001e9, 4e9], "gap": [1.0, 3e-4, 0.0], "knee": [False, True, False],
                          "best_y_per_x": [False, True, False], "monotone": True})
    fig = frontier_figure(table, "developed_land", "output", "t")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "proven bound (the best plan lies between)" in labels
    hollow = [ln for ln in fig.axes[0].lines if ln.get_label().startswith("gap above 1%")]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [1.0]  # only the first point, in km²


def test_frontier_command_says_when_the_tight_end_is_not_proved(tmp_path, monkeypatch, capsys):
    """When the tight end's solve stopped short of its optimum, the console gives the x found and the bound
    (the curve's left end is then not the least land any plan needs)."""
    import optimizer.analysis.frontier as fr
    from optimizer.cli import main

    real = fr.frontier

    def loose_end(*a, **k):
        table, plans = real(*a, **k)
        table.attrs["far_end"] = (table["x"].iloc[0], 0.9 * table["x"].iloc[0])
        return table, plans

    monkeypatch.setattr(fr, "frontier", loose_end)
    assert main(["frontier", str(TINY), "--out", str(tmp_path / "f"), "--points", "3", "--solver", "highs",
                 "--no-figures"]) == 0
    out = capsys.readouterr().out
    least = pd.read_csv(tmp_path / "f" / "frontier.csv")["x"].iloc[0] / 1e6
    assert (f"note: the tight end is the least developed land found, {least:,.3f} km²; no plan needs less than "
            f"{0.9 * least:,.3f} km²") in out


def test_a_far_end_solve_that_stopped_short_is_said_not_drawn(monkeypatch):
    """When the far end's solve (the least land) stops short with a plan using more land than the best plan for
    output, no plan with less land is known: the frontier says so instead of running its levels backwards from
    that plan (where a tighter neighbour's plan breaks the next level)."""
    import optimizer.analysis.frontier as fr
    from optimizer.solvers import SolveOptions

    sc = small_city(4, n_parcels=5, lab_min_m2=5_000.0)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    cx = fr.kpi_coefficients(sc, result.bundle, "developed_land")
    most = fr.solve_bundle(fr._with_objective(sc, result.bundle, cx, "maximize"), "highs",
                           SolveOptions(mip_gap=0.0))
    assert most.objective > cx @ result.x * 1.2  # a plan with more land than the best plan for output
    real = fr.solve_bundle

    def short_far_end(model, solver, opts):
        if model.milp.sense == "minimize":  # the far end (least land): stopped short, at the most land
            return replace(most, status="feasible", bound=0.0, objective=float(cx @ most.x))
        return real(model, solver, opts)

    monkeypatch.setattr(fr, "solve_bundle", short_far_end)
    with pytest.raises(ValueError, match="no plan found with less developed_land than the best plan for output.*"
                                         "time limit was too short"):
        frontier(result, "developed_land", "output", points=4)


def test_the_loose_end_keeps_the_best_plan_for_y(monkeypatch):
    """The loose end's level is what the best plan for y uses, so that plan is a plan there: when the point's own
    solve finds nothing (its share of the time ran out), the point keeps it, not its tighter neighbour's plan
    (Qianhai: the curve ended 1.1 bn yuan below the scenario's plan)."""
    import optimizer.analysis.frontier as fr
    from optimizer.solvers.base import SolveResult

    result = solve_scenario(TINY, solver="highs", mip_gap=0.0)
    calls, real = [], fr.solve_bundle

    def nothing_at_the_loose_end(model, solver, opts):
        calls.append(1)
        if len(calls) == 2 + 4:  # the two ends, then the fourth and last point
            return SolveResult("no_solution", None, np.nan, np.nan, np.nan, 0.0, "highs")
        return real(model, solver, opts)

    monkeypatch.setattr(fr, "solve_bundle", nothing_at_the_loose_end)
    table, plans = frontier(result, "developed_land", "output", points=4)
    assert table["y"].iloc[-1] == pytest.approx(result.kpis["total_output_yuan"], rel=1e-9)
    assert table["y"].iloc[-2] < table["y"].iloc[-1] and plans[-1].check.passed
    assert table["status"].iloc[-1] == "feasible"


def test_the_frontier_says_which_points_the_clock_cut(tmp_path, monkeypatch, capsys):
    """A point whose solve had a step cut by its time ceiling is marked stopped_by = time_limit in frontier.csv,
    and the console and the report say that its plan may differ on a busier machine; a solved point is marked
    optimal, and a frontier with no point cut says it is the same on a busy or an idle machine."""
    import optimizer.analysis.frontier as fr
    from optimizer.cli import main

    assert main(["frontier", str(TINY), "--out", str(tmp_path / "a"), "--points", "3", "--solver", "highs",
                 "--no-figures"]) == 0
    assert pd.read_csv(tmp_path / "a" / "frontier.csv")["stopped_by"].eq("optimal").all()
    assert "the same curve on a busy or an idle machine" in capsys.readouterr().out

    real, calls = fr.solve_bundle, []

    def cut_at_the_second_point(model, solver, opts):
        res = real(model, solver, opts)
        calls.append(1)
        if len(calls) == 4:  # the far end, the start, then the points: the second point
            res = replace(res, status="feasible", phases=(*res.phases, {"phase": "highs", "stopped_by": "time_limit"}))
        return res

    monkeypatch.setattr(fr, "solve_bundle", cut_at_the_second_point)
    assert main(["frontier", str(TINY), "--out", str(tmp_path / "b"), "--points", "3", "--solver", "highs",
                 "--no-figures"]) == 0
    t = pd.read_csv(tmp_path / "b" / "frontier.csv")
    assert t["stopped_by"].tolist() == ["optimal", "time_limit", "optimal"]
    assert ("note: point 1 ran out of time before its work limits (stopped_by in frontier.csv): this machine was "
            "slower or busier than they allow for; with a longer --time-limit or on a quieter machine, its plan may "
            "differ") in capsys.readouterr().out

    calls.clear()
    out = tmp_path / "s"
    assert main(["solve", str(TINY), "--out", str(out), "--solver", "highs", "--frontier", "3"]) == 0
    assert "note: point 1 ran out of time before its work limits" in capsys.readouterr().out
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "1 of the 3 points ran out of time before its work limits: with more time or on a quieter machine its " \
           "plan may differ" in html
    from optimizer.report.html import _clock_caption

    every = pd.DataFrame({"point": [0, 1], "stopped_by": ["time_limit", "time_limit"]})
    assert _clock_caption(every) == " All 2 points ran out of time before their work limits: with more time or on " \
                                    "a quieter machine their plans may differ."
