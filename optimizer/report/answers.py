"""Figures and writers of the planning answers that optimizer.analysis puts in `result.analysis`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.pipeline import RunResult

FRONTIER_UNITS = {"developed_land": "m²", "budget": "yuan", "floor": "m²", "jobs": "jobs", "output": "yuan a year"}
LOOSE_GAP = 0.01  # frontier points whose gap is above this are drawn hollow


def kpi_scale(name: str) -> tuple[float, str]:
    """How a frontier KPI is shown: (divide by, unit), e.g. developed land in km², output in bn yuan a year."""
    unit = FRONTIER_UNITS.get(name, name)
    if unit == "m²":
        return 1e6, "km²"
    if unit.startswith("yuan"):
        return 1e9, "bn " + unit
    return 1.0, unit


def frontier_text(table: pd.DataFrame, x: str, y: str) -> str:
    """The frontier table for the console, in the planner's units (km², bn yuan, %), levels from low to high."""
    (sx, xl), (sy, yl) = kpi_scale(x), kpi_scale(y)

    def num(values: pd.Series, scale: float) -> list[str]:
        return ["-" if not np.isfinite(v) else f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}" for v in values / scale]

    marks = np.where(table["knee"] & table["best_y_per_x"], "knee, most per x",
                     np.where(table["knee"], "knee", np.where(table["best_y_per_x"], "most per x", "")))
    view = pd.DataFrame({
        f"level ({xl})": num(table["epsilon"], sx), f"{x.replace('_', ' ')} ({xl})": num(table["x"], sx),
        f"{y} ({yl})": num(table["y"], sy), "status": table["status"],
        "gap": [f"{g:.2%}" if np.isfinite(g) else "-" for g in table["gap"]], "marks": marks,
        "monotone": np.where(table["monotone"], "yes", "NO")})
    return view.to_string(index=False)


def clock_cut(table: pd.DataFrame) -> list[int]:
    """The frontier points whose solve a time limit cut (stopped_by = time_limit)."""
    if "stopped_by" not in table:
        return []
    return [int(i) for i in table["point"][table["stopped_by"] == "time_limit"]]


def clock_note(table: pd.DataFrame) -> str:
    """Which points a time limit cut (their plans depend on the machine's speed and load), or that none was."""
    cut = clock_cut(table)
    if not cut:
        return "every point stopped on its gap or its work limits: the same curve on a busy or an idle machine"
    which = (f"all {len(cut)} points" if len(cut) == len(table) > 1 else
             f"point{'s' if len(cut) > 1 else ''} " + ", ".join(str(int(i)) for i in cut))
    one = len(cut) == 1
    return (f"note: {which} ran out of time before {'its' if one else 'their'} work limits (stopped_by in "
            "frontier.csv): this machine was slower or busier than they allow for; with a longer --time-limit or on "
            f"a quieter machine, {'its plan' if one else 'their plans'} may differ")


def frontier_figure(table: pd.DataFrame, x: str, y: str, title: str):
    from optimizer.report.maps import new_figure

    fig = new_figure(8.0, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    ok = table["y"].notna()
    (sx, xl), (sy, yl) = kpi_scale(x), kpi_scale(y)
    ax.plot(table.loc[ok, "x"] / sx, table.loc[ok, "y"] / sy, "-o", color="#0072b2", ms=4, lw=1.5,
            label="best plan for each level (ε-constraint)")
    bound = table["y_bound"] if "y_bound" in table else pd.Series(np.nan, index=table.index)
    proved = ok & bound.notna()
    if proved.any():  # the proven bound: no plan at that level does better, so the true curve lies in between
        ax.fill_between(table.loc[proved, "x"] / sx, table.loc[proved, "y"] / sy, bound[proved] / sy,
                        color="#0072b2", alpha=0.12, lw=0)
        ax.plot(table.loc[proved, "x"] / sx, bound[proved] / sy, "_", color="#0072b2", ms=10, mew=1.5,
                label="proven bound (the best plan lies between)")
    loose = ok & (table["gap"] > LOOSE_GAP) if "gap" in table else ok & False
    if loose.any():
        ax.plot(table.loc[loose, "x"] / sx, table.loc[loose, "y"] / sy, "o", mfc="white", mec="#0072b2", ms=7,
                label=f"gap above {LOOSE_GAP:.0%}: a plan found, not proved best")
    cur = table.attrs.get("current")
    if cur:
        ax.plot(cur[0] / sx, cur[1] / sy, "s", color="#d55e00", ms=8, label="the scenario's plan")
    knee = table[table["knee"]]
    if len(knee):
        ax.plot(knee["x"] / sx, knee["y"] / sy, "D", color="#009e73", ms=9, label="knee")
    best = table[table["best_y_per_x"]]
    if len(best):
        ax.plot(best["x"] / sx, best["y"] / sy, "*", color="#cc79a7", ms=14, label=f"most {y} per unit of {x.replace('_', ' ')}")
    ax.set_xlabel(f"{x.replace('_', ' ')} ({xl})")
    ax.set_ylabel(f"{y} ({yl})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def write_frontier_chart(result: RunResult, folder: Path) -> None:
    """frontier.png, when the run carries a frontier (landuse solve --frontier N)."""
    from optimizer.report.maps import figure_style, save_figure

    table = result.analysis.get("frontier")
    if table is None or result.plan is None:
        return
    x, y = table.attrs.get("axes", ("developed_land", "output"))
    with figure_style():
        save_figure(frontier_figure(table, x, y, f"{result.scenario.name}: best {y} for each level of "
                                                 f"{x.replace('_', ' ')}"), Path(folder) / "frontier.png")
