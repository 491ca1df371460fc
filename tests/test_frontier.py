"""The trade-off frontier: each point the brute-force best under its ε, monotone, every point a checked plan."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, _solve_assignment, industry, make_scenario, pair_options, parcel

from optimizer.analysis.frontier import frontier
from optimizer.pipeline import solve_scenario


def _case(seed: int):
    rng = np.random.default_rng(seed)
    parcels = [parcel(f"P{i}", float(rng.integers(4, 20)) * 1_000, str(rng.choice(["B", "M"])),
                      float(rng.integers(2, 8)) / 2, dev_cost_per_m2=float(rng.choice([500, 1000])))
               for i in range(5)]
    industries = [industry("fin", float(rng.integers(30, 60)) * 1_000, "B", 1, 4,
                           max_floor_total_m2=float(rng.integers(15, 40)) * 1_000),
                  industry("lab", float(rng.integers(10, 30)) * 1_000, "B;M", 0.5, 3, min_floor_total_m2=5_000.0),
                  industry("fab", float(rng.integers(5, 15)) * 1_000, "M", 0.5, 2)]
    return make_scenario(parcels, industries, {"rules": {"total_budget_yuan": float(rng.integers(30, 90)) * 1e6}})


def _best_with_land_at_most(sc, cap_m2: float) -> float | None:
    """Brute force: the best total output over plans whose developed land is at most cap_m2."""
    par, ind = sc.parcels.to_dict("records"), sc.industries.to_dict("records")
    choices = [opts if p["must_develop"] else [None, *opts] for p, opts in zip(par, pair_options(sc), strict=True)]
    best = None
    for combo in itertools.product(*choices):
        land = sum(p["area_m2"] for p, o in zip(par, combo, strict=True) if o is not None)
        if land > cap_m2 * (1 + 1e-9):
            continue
        got = _solve_assignment(sc, par, ind, combo, True)
        if got is not None and (best is None or got[0] > best):
            best = got[0]
    return best


@pytest.mark.parametrize("seed", range(3))
def test_land_frontier_points_are_the_brute_force_optima(seed):
    sc = _case(seed)
    result = solve_scenario(sc, solver="highs", mip_gap=0.0)
    table, plans = frontier(result, "developed_land", "output", points=5)
    assert table["monotone"].all() and (table["status"] == "optimal").all()
    for _, row in table.iterrows():
        run = plans[int(row["point"])]
        assert run.check.passed
        assert row["x"] <= row["epsilon"] * (1 + 1e-9)
        assert row["y"] == pytest.approx(_best_with_land_at_most(sc, row["epsilon"]), rel=1e-6)
    assert table["y"].iloc[-1] == pytest.approx(result.kpis["total_output_yuan"], rel=1e-9)  # the loose end
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
