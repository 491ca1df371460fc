"""Charts of a plan: floor and output by industry, floor by sub-area, innovation-carrier metrics vs their rules.

Each `*_chart(result)` returns a matplotlib Figure (or None when it has nothing to show); `write_charts` saves
them as PNGs. Nothing is written without a plan.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.pipeline import RunResult
from optimizer.report.maps import figure_style, fmt_bn, industry_colors, new_figure, safe_text, save_figure

BAR_EDGE = "white"
RULE_COLOR = "#c0392b"


def _names(result: RunResult) -> dict[str, str]:
    ind = result.scenario.industries
    return {
        k: textwrap.shorten(safe_text(n) or k, 38, placeholder="…")
        for k, n in zip(ind["industry_id"], ind["name"], strict=True)
    }


def _by_industry(result: RunResult) -> pd.DataFrame:
    df = pd.DataFrame(result.kpis["by_industry"])
    ind = result.scenario.industries.set_index("industry_id")
    df["min_floor_total_m2"] = df["industry_id"].map(ind["min_floor_total_m2"])
    df["max_floor_total_m2"] = df["industry_id"].map(ind["max_floor_total_m2"])
    return df


def _barh_figure(n_rows: int, width: float = 8.5):
    fig = new_figure(width, max(2.2, 0.32 * n_rows + 1.3))
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.7)
    ax.set_axisbelow(True)
    return fig, ax


NO_LIMIT = 1e11  # caps at or above this (m² of floor, or a metric count) mean "no cap"


def count_text(v: float) -> str:
    """A count for people: a whole number with thousands separators."""
    return f"{round(float(v)):,}"


def floor_chart(result: RunResult):
    """Floor area by industry (million m²): the value at each bar's end, each demand floor and cap on the axis."""
    if result.plan is None or not result.kpis:
        return None
    from matplotlib.lines import Line2D

    df = _by_industry(result).sort_values("floor_m2")
    colors, names = industry_colors(result.scenario), _names(result)
    fig, ax = _barh_figure(len(df))
    y = np.arange(len(df))
    ax.barh(
        y, df["floor_m2"] / 1e6, color=[colors[k] for k in df["industry_id"]], edgecolor=BAR_EDGE, height=0.72
    )
    ax.set_yticks(y, [names[k] for k in df["industry_id"]])
    lo = df["min_floor_total_m2"].to_numpy(float)
    hi = df["max_floor_total_m2"].to_numpy(float)
    marks = np.r_[df["floor_m2"].to_numpy(float), lo[np.isfinite(lo)], hi[np.isfinite(hi) & (hi < NO_LIMIT)]]
    right = max(float(marks.max()), 1.0) / 1e6
    pad = 0.012 * right
    for yi, (f, a, b) in enumerate(zip(df["floor_m2"] / 1e6, lo / 1e6, hi / 1e6, strict=True)):
        if np.isfinite(a) and a > 0:
            ax.plot([a] * 2, [yi - 0.42, yi + 0.42], color=RULE_COLOR, lw=1.6, ls=(0, (2, 1)), zorder=3)
        if np.isfinite(b) and b * 1e6 < NO_LIMIT:
            ax.plot([b] * 2, [yi - 0.42, yi + 0.42], color="#222222", lw=1.6, zorder=3)
        at_cap = np.isfinite(b) and abs(b - f) <= 1e-6 * max(b, 1e-9)
        ax.text(f + pad, yi, f"{f:,.2f}" + (" (at cap)" if at_cap else ""), va="center", fontsize=7.5,
                color="#333333", zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                                                  "alpha": 0.8})
    ax.legend(
        [Line2D([], [], color=RULE_COLOR, lw=1.6, ls=(0, (2, 1))), Line2D([], [], color="#222222", lw=1.6)],
        ["demand floor: at least this much", "demand cap: at most this much"],
        loc="lower right",
        fontsize=7.5,
    )
    ax.set_xlabel("floor area built, million m²")
    ax.set_title(
        f"How much floor does each industry get? {safe_text(result.scenario.name)}: "
        f"{result.kpis['floor_area_m2'] / 1e6:,.2f} million m² in all",
        loc="left",
    )
    ax.set_xlim(0, 1.16 * right)
    return fig


def output_chart(result: RunResult):
    """Value added by industry (bn yuan per year) with its share of the total."""
    if result.plan is None or not result.kpis:
        return None
    df = _by_industry(result).sort_values("output_yuan")
    colors, names = industry_colors(result.scenario), _names(result)
    total = float(df["output_yuan"].sum())
    fig, ax = _barh_figure(len(df))
    y = np.arange(len(df))
    ax.barh(
        y,
        df["output_yuan"] / 1e9,
        color=[colors[k] for k in df["industry_id"]],
        edgecolor=BAR_EDGE,
        height=0.72,
    )
    ax.set_yticks(y, [names[k] for k in df["industry_id"]])
    top = max(total, 1.0) / 1e9
    for yi, v in enumerate(df["output_yuan"]):
        share = v / total if total else 0.0
        pct = f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"
        ax.text(
            v / 1e9 + 0.005 * top, yi, f"{v / 1e9:,.2f} ({pct})", va="center", fontsize=7.5, color="#333333"
        )
    ax.set_xlim(0, 1.18 * max(float(df["output_yuan"].max()), 1.0) / 1e9)
    ax.set_xlabel("value added, bn yuan per year")
    ax.set_title(
        f"Which industries produce the output? {safe_text(result.scenario.name)}: {fmt_bn(total)} yuan a year",
        loc="left",
    )
    return fig


def subarea_chart(result: RunResult):
    """Floor by industry stacked per sub-area (left) and output per km² of sub-area land (right)."""
    if result.plan is None or not result.kpis:
        return None
    from matplotlib.patches import Patch

    a = result.plan.assignment
    sc = result.scenario
    subs = pd.DataFrame(result.kpis["by_subarea"]).set_index("subarea")
    pivot = a.pivot_table(
        index="subarea", columns="industry_id", values="floor_area_m2", aggfunc="sum", fill_value=0.0
    ).reindex(subs.index, fill_value=0.0)
    order = pivot.sum(axis=1).sort_values().index
    pivot, subs = pivot.loc[order], subs.loc[order]
    inds = [k for k in sc.industries["industry_id"] if k in pivot.columns and pivot[k].sum() > 0]
    colors, names = industry_colors(sc), _names(result)
    n = len(pivot)
    fig = new_figure(11.5, max(2.6, 0.38 * n + 1.8))
    ax = fig.add_axes((0.17, 0.1 + 0.9 / fig.get_figheight(), 0.47, 0.8 - 0.9 / fig.get_figheight()))
    ax2 = fig.add_axes(
        (0.67, 0.1 + 0.9 / fig.get_figheight(), 0.16, 0.8 - 0.9 / fig.get_figheight()), sharey=ax
    )
    y = np.arange(n)
    left = np.zeros(n)
    for k in inds:
        v = pivot[k].to_numpy(float) / 1e6
        ax.barh(y, v, left=left, color=colors[k], edgecolor=BAR_EDGE, linewidth=0.4, height=0.72)
        left += v
    for yi, v in enumerate(left):
        ax.text(v + 0.01 * max(left.max(), 1e-9), yi, f"{v:,.2f}", va="center", fontsize=7.5, color="#333333")
    labels = _subarea_labels(sc)
    ax.set_yticks(y, [labels.get(s, safe_text(s)) for s in pivot.index])
    ax.set_xlabel("floor area built, million m²")
    ax.set_xlim(0, 1.15 * max(left.max(), 1e-9))
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.set_title(f"Where is the floor built? {safe_text(sc.name)}, by sub-area and industry", loc="left")
    dens = subs["output_per_km2_yuan"].to_numpy(float) / 1e9
    ax2.barh(y, dens, color="#5f6b73", height=0.72)
    for yi, v in enumerate(dens):
        ax2.text(
            v + 0.01 * max(dens.max(), 1e-9), yi, f"{v:,.2f}", va="center", fontsize=7.5, color="#333333"
        )
    ax2.set_xlim(0, 1.3 * max(dens.max(), 1e-9))
    ax2.set_xlabel("bn yuan a year per km² of sub-area land")
    ax2.tick_params(labelleft=False)
    ax2.grid(axis="x", color="#e5e5e5", linewidth=0.7)
    ax2.set_axisbelow(True)
    ax2.set_title("output density", loc="left", fontsize=9.5)
    ax.legend(
        [Patch(facecolor=colors[k]) for k in inds],
        [names[k] for k in inds],
        loc="upper left",
        bbox_to_anchor=(1.42, 1.0),
        fontsize=7.5,
        title="industry",
        title_fontsize=8.5,
    )
    return fig


def _subarea_labels(sc) -> dict[str, str]:
    """Sub-area display names (the sub-area file's `name`, shortened) or the ids."""
    from optimizer.report.maps import read_layer

    out = {}
    for sid, _, props in read_layer(sc.subareas_path, "subarea"):
        name = safe_text(props.get("name", "")) if props.get("name") else ""
        out[sid] = textwrap.shorten(name, 34, placeholder="…") if name else safe_text(sid)
    return out


def metric_totals(result: RunResult) -> list[dict]:
    """For each metric rule: the plan's total (rate x usable share x floor, over the rule's industries), its
    contribution by industry, and the rule's min and max."""
    from optimizer.solution.check import plan_values

    sc = result.scenario
    if result.plan is None or not sc.rules.metric_rules:
        return []
    df = plan_values(sc, result.plan.assignment)
    out = []
    for rule in sc.rules.metric_rules:
        col = f"{rule.metric}_per_m2"
        inds = list(rule.industries) or [
            k for k, r in zip(sc.industries["industry_id"], sc.industries[col], strict=True) if r
        ]
        sel = df[df["industry_id"].isin(inds)]
        contrib = (sel[col] * sel["usable_share"] * sel["floor_area_m2"]).groupby(sel["industry_id"]).sum()
        contrib = contrib.reindex(inds, fill_value=0.0)
        out.append(
            {
                "metric": rule.metric,
                "total": float(contrib.sum()),
                "min": rule.min,
                "max": rule.max,
                "by_industry": {k: float(v) for k, v in contrib.items()},
            }
        )
    return out


def carriers_chart(result: RunResult):
    """Each metric rule's total (stacked by industry) against its minimum and maximum; None without rules."""
    rows = metric_totals(result)
    if not rows:
        return None
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    colors, names = industry_colors(result.scenario), _names(result)
    n = len(rows)
    fig = new_figure(max(6.5, 2.3 * n + 0.8), 4.8)
    inds = list(dict.fromkeys(k for r in rows for k, v in r["by_industry"].items()))
    for i, r in enumerate(rows):
        ax = fig.add_subplot(1, n, i + 1)
        bottom = 0.0
        for k in inds:
            v = r["by_industry"].get(k, 0.0)
            ax.bar([0], [v], bottom=bottom, color=colors[k], edgecolor=BAR_EDGE, width=0.6)
            bottom += v
        lo, hi = r["min"], r["max"]
        top = max(bottom, lo if np.isfinite(lo) else 0.0, 1e-9)
        if np.isfinite(lo):
            ax.axhline(lo, color=RULE_COLOR, lw=1.6, ls=(0, (3, 1.5)))
        if np.isfinite(hi) and hi < NO_LIMIT:
            ax.axhline(hi, color="#222222", lw=1.6)
            top = max(top, hi)
        ok = (not np.isfinite(lo) or bottom >= lo * (1 - 1e-6)) and (
            not np.isfinite(hi) or bottom <= hi * (1 + 1e-6)
        )
        ax.text(
            0,
            bottom + 0.02 * top,
            count_text(bottom),
            ha="center",
            va="bottom",
            fontsize=8.5,
            fontweight="bold",
            color="#1e7b34" if ok else RULE_COLOR,
        )
        ax.set_ylim(0, 1.2 * top)
        ax.set_xlim(-0.7, 0.7)
        ax.set_xticks([])
        sub = f"at least {count_text(lo)}" if np.isfinite(lo) else ""
        if np.isfinite(hi) and hi < NO_LIMIT:
            sub += (", " if sub else "") + f"at most {count_text(hi)}"
        ax.set_title(f"{safe_text(r['metric'])} a year\n{sub}", fontsize=9.5)
        ax.set_ylabel(f"{safe_text(r['metric'])} per year", fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.7)
        ax.set_axisbelow(True)
    handles = [Patch(facecolor=colors[k]) for k in inds] + [
        Line2D([], [], color=RULE_COLOR, lw=1.6, ls=(0, (3, 1.5)))
    ]
    labels = [names[k] for k in inds] + ["the rule's minimum"]
    if any(np.isfinite(r["max"]) and r["max"] < NO_LIMIT for r in rows):
        handles.append(Line2D([], [], color="#222222", lw=1.6))
        labels.append("the rule's maximum")
    fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.1), fontsize=7.5, ncol=min(len(labels), 3)
    )
    fig.suptitle(
        f"Do the innovation carriers meet their yearly targets? {safe_text(result.scenario.name)} "
        "(counts a year from the plan's usable floor)",
        x=0.02,
        ha="left",
        fontsize=11,
        fontweight="bold",
    )
    fig.subplots_adjust(wspace=0.75, top=0.8, bottom=0.12, left=0.1, right=0.98)
    return fig


CHARTS = (
    ("floor_by_industry.png", floor_chart),
    ("output_by_industry.png", output_chart),
    ("by_subarea.png", subarea_chart),
    ("carriers.png", carriers_chart),
)


def write_charts(result: RunResult, folder: Path) -> None:
    """floor_by_industry.png, output_by_industry.png, by_subarea.png, carriers.png (each when it applies)."""
    if result.plan is None or not result.kpis:
        return
    with figure_style():
        for name, make in CHARTS:
            fig = make(result)
            if fig is not None:
                save_figure(fig, Path(folder) / name)
