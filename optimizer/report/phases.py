"""Outputs of a phased plan: phases.csv (one row per phase) and phases.png (a map coloured by the phase in which
each parcel is developed, beside the output standing at each phase's end and each phase's spending)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.pipeline import RunResult

PHASE_TABLE_COLUMNS = ["phase", "start_year", "end_year", "parcels_developed", "land_developed_m2", "floor_built_m2",
                       "spending_yuan", "budget_yuan", "floor_at_end_m2", "output_at_end_yuan", "jobs_at_end",
                       "reference_output_yuan", "output_vs_reference"]
# ordered and distinct on a light map: dark blue (earliest), teal, orange, red, purple, olive (more are cycled)
PHASE_COLORS = ("#253494", "#1d9fa8", "#f0861e", "#c51b3a", "#7b4fa0", "#8a8a2e")
EXISTING_COLOR = "#8c8c8c"  # an existing use the plan keeps as it is
EMPTY_COLOR = "#eeeeee"


def phase_table(result: RunResult) -> pd.DataFrame | None:
    rows = (result.kpis or {}).get("phases")
    if not rows:
        return None
    return pd.DataFrame(rows)[PHASE_TABLE_COLUMNS]


def phase_colors(n: int) -> list[str]:
    return [PHASE_COLORS[i % len(PHASE_COLORS)] for i in range(n)]


def phase_figure(result: RunResult):
    """Map by phase (left) and, per phase, the yearly output standing at its end with the baseline and any
    reference figure, and its spending against its budget (right)."""
    from matplotlib.patches import Patch

    from optimizer.report.geojson import parcel_table
    from optimizer.report.maps import MapLayers, fmt_bn, new_figure, safe_text

    sc = result.scenario
    table = phase_table(result)
    names = [ph.name for ph in sc.phases]
    colors = phase_colors(len(names))
    parcels = parcel_table(result)
    rgba_of = {n: c for n, c in zip(names, colors, strict=True)}
    from matplotlib.colors import to_rgba

    kept = parcels["action"].to_numpy(object) == "keep"
    phase = parcels["phase"].to_numpy(object) if "phase" in parcels else np.full(len(parcels), None)
    fc = np.array([to_rgba(EXISTING_COLOR) if k else to_rgba(rgba_of[p]) if isinstance(p, str) and p in rgba_of
                   else to_rgba(EMPTY_COLOR) for p, k in zip(phase, kept, strict=True)]).reshape(-1, 4)

    layers = MapLayers(sc)
    map_w, map_h = layers.map_size_in(7.0, 8.0)
    fig_w, fig_h = map_w + 6.6, max(map_h, 6.4) + 1.6
    fig = new_figure(fig_w, fig_h)
    ax = fig.add_axes((0.2 / fig_w, 1.1 / fig_h, map_w / fig_w, map_h / fig_h))
    layers.setup_axes(ax)
    layers.draw_basemap(ax)
    layers.draw_parcels(ax, fc, edge="white" if len(parcels) <= 600 else "none", lw=0.3 if len(parcels) <= 600 else 0)
    layers.draw_north_arrow(ax)
    layers.draw_scale_bar(ax)
    handles = [Patch(facecolor=c, label=safe_text(n) if str(ph.start_year) in n
                     else f"{safe_text(n)} ({ph.start_year}–{ph.end_year})")
               for n, c, ph in zip(names, colors, sc.phases, strict=True)]
    if kept.any():
        handles.append(Patch(facecolor=EXISTING_COLOR, label="existing use kept as it is"))
    handles.append(Patch(facecolor=EMPTY_COLOR, edgecolor="#bbbbbb", label="not developed"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3, fontsize=8, frameon=False,
              title="developed in phase", title_fontsize=8, alignment="left")
    ax.set_title("When each parcel is developed", fontsize=11, loc="left")

    x0 = (map_w + 1.2) / fig_w
    w = 5.0 / fig_w
    top = fig.add_axes((x0, 0.56, w, 0.36))
    bot = fig.add_axes((x0, 0.1, w, 0.32))
    pos = np.arange(len(table))
    out = table["output_at_end_yuan"].to_numpy(float) / 1e9
    top.bar(pos, out, color=colors, width=0.6)
    for i, v in enumerate(out):
        top.annotate(fmt_bn(v * 1e9), (i, v), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                     textcoords="offset points")
    base = (result.kpis or {}).get("baseline_output_yuan") or 0.0
    if base > 0:
        top.axhline(base / 1e9, color=EXISTING_COLOR, ls="--", lw=1)
        top.annotate("baseline (everything kept)", (len(table) - 0.5, base / 1e9), ha="right", va="bottom",
                     fontsize=7, color="#555555")
    ref = table["reference_output_yuan"].to_numpy(float)
    has_ref = np.isfinite(ref)
    if has_ref.any():
        top.scatter(pos[has_ref], ref[has_ref] / 1e9, marker="D", color="#d62728", zorder=5,
                    label="published figure (a check, not a rule)")
        top.legend(loc="upper left", fontsize=7, frameon=False)
    top.set_ylim(0, 1.2 * max(np.nanmax(np.r_[out, ref / 1e9, base / 1e9]), 1e-9))
    top.set_xticks(pos, [safe_text(n) for n in names], fontsize=8)
    top.set_ylabel("bn yuan a year", fontsize=8)
    top.set_title("Output standing at each phase's end", fontsize=10, loc="left")
    spend = table["spending_yuan"].to_numpy(float) / 1e9
    budget = table["budget_yuan"].to_numpy(float) / 1e9
    bot.bar(pos, spend, color=colors, width=0.6, label="spending")
    has_b = np.isfinite(budget)
    if has_b.any():
        bot.scatter(pos[has_b], budget[has_b], marker="_", s=900, color="black", zorder=5, label="phase budget")
        bot.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7, frameon=False,
                   markerscale=0.3)
        bot.set_ylim(0, 1.12 * max(np.nanmax(budget), spend.max(), 1e-9))
    bot.set_xticks(pos, [safe_text(n) for n in names], fontsize=8)
    bot.set_ylabel("bn yuan", fontsize=8)
    bot.set_title("Spending in each phase", fontsize=10, loc="left")
    for a in (top, bot):
        a.set_xlim(-0.6, len(table) - 0.4)
        a.spines[["top", "right"]].set_visible(False)
        a.tick_params(labelsize=8)
    return fig


def write_phase_outputs(result: RunResult, folder: Path) -> None:
    """phases.csv and phases.png, for a plan of a scenario with phases."""
    if result.plan is None or not result.scenario.phases:
        return
    table = phase_table(result)
    if table is None:
        return
    table.to_csv(Path(folder) / "phases.csv", index=False, float_format="%.6f")
    from optimizer.report.maps import figure_style, save_figure

    with figure_style():
        fig = phase_figure(result)
        save_figure(fig, Path(folder) / "phases.png")
