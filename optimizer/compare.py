"""`landuse compare`: solve several scenarios (e.g. before and after an expansion) and set them side by side.

Writes, whole or not at all, `comparison.csv` (one row per scenario), `comparison_by_subarea.csv` (one row per
scenario and sub-area) and `comparison.png`, and prints a side-by-side table. The same functions serve notebooks:
`compare_scenarios(...)` returns a :class:`Comparison`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy, pandas and the pipeline load on use, so that `landuse --help` stays fast
    import pandas as pd

    from optimizer.data import Scenario
    from optimizer.pipeline import RunResult

M2_PER_KM2 = 1e6
SUMMARY_COLUMNS = [
    "scenario",
    "status",
    "output_yuan",
    "zone_area_km2",
    "output_per_km2_zone_yuan",
    "output_per_km2_developed_yuan",
    "output_per_km2_all_land_yuan",
    "jobs",
    "floor_area_m2",
    "land_all_m2",
    "land_developed_m2",
    "parcels_developed",
    "parcels_total",
    "budget_used_yuan",
    "objective_yuan",
    "bound_yuan",
    "gap",
    "solve_s",
    "solver",
    "message",
]
SUBAREA_COLUMNS = [
    "scenario",
    "subarea",
    "land_m2",
    "developed_land_m2",
    "sites",
    "floor_m2",
    "output_yuan",
    "output_per_km2_yuan",
    "jobs",
]


@dataclass(frozen=True)
class Comparison:
    """Runs side by side. `results[i]` is None when scenario i was infeasible (its reason is in `table`)."""

    labels: list[str]
    results: list[RunResult | None]
    table: (
        pd.DataFrame
    )  # one row per scenario: SUMMARY_COLUMNS + land_share_<industry> + floor_share_<industry>
    by_subarea: pd.DataFrame  # SUBAREA_COLUMNS
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def all_have_plans(self) -> bool:
        return all(r is not None and r.plan is not None for r in self.results)


def _labels(names: list[str], folders: list[str]) -> list[str]:
    """Scenario names, made unique with their folder names (then a counter) where they clash."""
    out = list(names)
    for i, n in enumerate(names):
        if names.count(n) > 1:
            out[i] = f"{n} ({folders[i]})" if folders[i] else n
    counts = {n: out.count(n) for n in out}
    seen: dict[str, int] = {}
    for i, n in enumerate(list(out)):
        seen[n] = seen.get(n, 0) + 1
        if counts[n] > 1:
            out[i] = f"{n} #{seen[n]}"
    return out


def _f(v) -> float:
    import numpy as np

    return float(v) if v is not None and np.isfinite(v) else np.nan


def summary_row(label: str, result: RunResult | None, status: str = "", message: str = "") -> dict:
    """One comparison row; NaN figures when there is no plan."""
    import numpy as np

    row = dict.fromkeys(SUMMARY_COLUMNS, np.nan)
    row.update(
        scenario=label,
        status=status or (result.status if result else "infeasible"),
        solver=result.solver if result else "",
        message=message or (result.message if result else ""),
    )
    if result is None:
        return row
    row["solve_s"] = _f(result.timings.get("solve_s"))
    row["zone_area_km2"] = _f(result.scenario.total_area_km2)
    row["land_all_m2"] = float(result.scenario.parcels["area_m2"].sum())
    row["parcels_total"] = result.scenario.n_parcels
    p, k = result.plan, result.kpis
    if p is None or not k:
        return row
    row.update(
        output_yuan=k["total_output_yuan"],
        output_per_km2_zone_yuan=_f(k.get("output_per_km2_zone_yuan")),
        output_per_km2_all_land_yuan=k["output_per_km2_all_land_yuan"],
        output_per_km2_developed_yuan=k["output_per_km2_developed_yuan"],
        jobs=k["jobs"],
        floor_area_m2=k["floor_area_m2"],
        land_developed_m2=k["land_developed_m2"],
        parcels_developed=k["parcels_developed"],
        budget_used_yuan=k["budget_used_yuan"],
        objective_yuan=_f(p.objective),
        bound_yuan=_f(p.bound),
        gap=_f(p.gap),
    )
    for r in k["by_industry"]:
        row[f"land_share_{r['industry_id']}"] = r["land_share"]
        row[f"floor_share_{r['industry_id']}"] = r["floor_share"]
    return row


def comparison_tables(
    labels: Sequence[str],
    results: Sequence[RunResult | None],
    statuses: Sequence[str] | None = None,
    messages: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-scenario table, per-sub-area table) of runs."""
    import numpy as np
    import pandas as pd

    statuses = statuses or [""] * len(results)
    messages = messages or [""] * len(results)
    rows = [
        summary_row(lab, r, s, m) for lab, r, s, m in zip(labels, results, statuses, messages, strict=True)
    ]
    table = pd.DataFrame(rows)
    shares = sorted(c for c in table.columns if c.startswith(("land_share_", "floor_share_")))
    table = table[
        SUMMARY_COLUMNS
        + [c for c in shares if c.startswith("land_share_")]
        + [c for c in shares if c.startswith("floor_share_")]
    ]
    has_plan = table["output_yuan"].notna().to_numpy()
    for c in shares:  # an industry missing from a plan's scenario has share 0; a run without a plan has none
        table[c] = np.where(has_plan, table[c].fillna(0.0), np.nan)
    subs = []
    for lab, r in zip(labels, results, strict=True):
        if r is None or not r.kpis:
            continue
        for s in r.kpis["by_subarea"]:
            subs.append({"scenario": lab, **{c: s.get(c, np.nan) for c in SUBAREA_COLUMNS[1:]}})
    by_sub = pd.DataFrame(subs, columns=SUBAREA_COLUMNS)
    return table, by_sub


def compare_scenarios(
    scenarios: Sequence[str | Path | Scenario],
    solver: str | None = None,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    log: bool = False,
    progress=None,
) -> Comparison:
    """Solve each scenario (folder or Scenario) with `solve_scenario` and tabulate them side by side.

    An infeasible scenario gets a row with status "infeasible" and its conflicting rules; bad input
    (ScenarioError) and solver errors propagate.
    """
    from optimizer.data import Scenario
    from optimizer.errors import InfeasibleScenario
    from optimizer.pipeline import solve_scenario
    from optimizer.scenario import load_scenario

    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    labels = _labels([s.name for s in loaded], [s.folder.name if s.folder else "" for s in loaded])
    results: list[RunResult | None] = []
    statuses, messages, conflicts = [], [], {}
    for lab, sc in zip(labels, loaded, strict=True):
        if progress:
            progress(lab)
        try:
            r = solve_scenario(
                sc, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads, log=log
            )
            results.append(r)
            statuses.append(r.status)
            messages.append(r.message)
        except InfeasibleScenario as exc:
            results.append(None)
            statuses.append("infeasible")
            messages.append("; ".join(exc.conflicts))
            conflicts[lab] = list(exc.conflicts)
    labels, results, statuses, messages = _with_stages(labels, results, statuses, messages)
    table, by_sub = comparison_tables(labels, results, statuses, messages)
    return Comparison(labels, results, table, by_sub, conflicts)


def _with_stages(labels, results, statuses, messages):
    """A scenario with phases becomes one column per stage: its baseline (everything standing at the start kept
    as it is), what stands at the end of each phase, the last being the plan itself."""
    out = ([], [], [], [])
    for lab, r, st, msg in zip(labels, results, statuses, messages, strict=True):
        for item in (stage_results(lab, r) if r is not None and r.plan is not None and r.scenario.phases
                     else [(lab, r)]):
            out[0].append(item[0])
            out[1].append(item[1])
            out[2].append(st if item[1] is r else "stage")
            out[3].append(msg if item[1] is r else "")
    return out


def stage_results(label: str, result: RunResult) -> list[tuple[str, RunResult]]:
    """(label, run) per stage of a phased plan: "<label> baseline <first year>", "<label> <phase end year>", ...;
    the stages are the plan's result with the assignment standing then (no objective or gap of their own)."""
    from dataclasses import replace

    import numpy as np

    from optimizer.solution.check import plan_values
    from optimizer.solution.check_phases import standing
    from optimizer.solution.kpis import baseline_plan, compute_kpis

    sc = result.scenario
    plain = replace(sc, phases=())  # KPIs of a standing state, without the phase timing
    df = plan_values(sc, result.plan.assignment)
    states = [(f"{label} baseline {sc.phases[0].start_year}", baseline_plan(sc))]
    states += [(f"{label} {ph.end_year}", standing(sc, df, t)) for t, ph in enumerate(sc.phases[:-1])]
    out = []
    for lab, st in states:
        st = st[["parcel_id", "industry_id", "floor_area_m2"]].reset_index(drop=True)
        plan = replace(result.plan, assignment=st, objective=np.nan, bound=np.nan, gap=np.nan)
        out.append((lab, replace(result, plan=plan, kpis=compute_kpis(plain, st))))
    return [*out, (f"{label} {sc.phases[-1].end_year} (plan)", result)]


# ---------------------------------------------------------------------------------------------------------
# Figure, text, files
# ---------------------------------------------------------------------------------------------------------
def comparison_figure(comp: Comparison):
    """Side-by-side bars: output, output per km² (parcel land and developed), jobs, and the land-use mix."""
    import numpy as np
    from matplotlib.patches import Patch

    from optimizer.report.maps import industry_colors, new_figure, safe_text

    t = comp.table
    n = len(t)
    labels = [safe_text(s) for s in t["scenario"]]
    fig = new_figure(max(11.0, 2.2 * n + 8.0), 4.6)
    base = ["#9fb3c8", "#1f4e79", "#e08214", "#6a3d9a", "#2e7d32", "#8c564b"]
    x = np.arange(n)
    cols = [base[i % len(base)] for i in range(n)]

    def bars(ax, values, title, fmt):
        v = np.nan_to_num(np.asarray(values, dtype=float))
        ax.bar(x, v, color=cols, width=0.65)
        top = max(float(v.max()) if len(v) else 0.0, 1e-9)
        for xi, vi, raw in zip(x, v, values, strict=True):
            ax.text(
                xi,
                vi + 0.02 * top,
                "–" if not np.isfinite(raw) else fmt(raw),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_ylim(0, 1.18 * top)
        ax.set_xticks(x, labels, rotation=20 if n > 2 else 0, ha="right" if n > 2 else "center", fontsize=8)
        ax.set_title(title, fontsize=9.5, loc="left")
        ax.grid(axis="y", color="#e8e8e8", linewidth=0.7)
        ax.set_axisbelow(True)

    gs = fig.add_gridspec(1, 5, width_ratios=[1, 1.35, 1, 1.5, 0.02], wspace=0.45)
    bars(fig.add_subplot(gs[0]), t["output_yuan"] / 1e9, "output, bn yuan a year", lambda v: f"{v:,.1f}")
    ax = fig.add_subplot(gs[1])
    w = 0.38
    per_zone = t["output_per_km2_zone_yuan"].notna().any()
    for j, (col, lab, c) in enumerate(
        (
            ("output_per_km2_zone_yuan" if per_zone else "output_per_km2_all_land_yuan",
             "of the zone (all its land)" if per_zone else "of parcel land", "#7f9cb8"),
            ("output_per_km2_developed_yuan", "of developed land", "#1f4e79"),
        )
    ):
        v = np.nan_to_num(t[col].to_numpy(float) / 1e9)
        ax.bar(x + (j - 0.5) * w, v, width=w, color=c, label=lab)
        for xi, vi in zip(x, v, strict=True):
            ax.text(xi + (j - 0.5) * w, vi, f"{vi:,.1f}", ha="center", va="bottom", fontsize=7)
    top = max(float(np.nan_to_num(t["output_per_km2_developed_yuan"].to_numpy(float)).max()) / 1e9, 1e-9)
    ax.set_ylim(0, 1.2 * top)
    ax.set_xticks(x, labels, rotation=20 if n > 2 else 0, ha="right" if n > 2 else "center", fontsize=8)
    ax.set_title("output per km², bn yuan a year", fontsize=9.5, loc="left")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(axis="y", color="#e8e8e8", linewidth=0.7)
    ax.set_axisbelow(True)
    bars(fig.add_subplot(gs[2]), t["jobs"] / 1e3, "jobs, thousands", lambda v: f"{v:,.0f}")

    # land-use mix: stacked shares of developed land by industry
    ax = fig.add_subplot(gs[3])
    share_cols = [c for c in t.columns if c.startswith("land_share_")]
    ids = [c.removeprefix("land_share_") for c in share_cols]
    colors: dict[str, str] = {}
    names: dict[str, str] = {}
    for r in comp.results:
        if r is not None:
            colors.update({k: v for k, v in industry_colors(r.scenario).items() if k not in colors})
            names.update(
                {
                    k: n
                    for k, n in zip(
                        r.scenario.industries["industry_id"], r.scenario.industries["name"], strict=True
                    )
                    if k not in names
                }
            )
    bottom = np.zeros(n)
    used = []
    for k, c in zip(ids, share_cols, strict=True):
        v = np.nan_to_num(t[c].to_numpy(float))
        if v.sum() <= 0:
            continue
        ax.bar(
            x,
            v * 100,
            bottom=bottom * 100,
            color=colors.get(k, "#999999"),
            width=0.65,
            edgecolor="white",
            linewidth=0.4,
        )
        bottom += v
        used.append(k)
    ax.set_ylim(0, 100)
    ax.set_xticks(x, labels, rotation=20 if n > 2 else 0, ha="right" if n > 2 else "center", fontsize=8)
    ax.set_title("land-use mix, % of developed land", fontsize=9.5, loc="left")
    import textwrap

    ax.legend(
        [Patch(facecolor=colors.get(k, "#999999")) for k in reversed(used)],
        [textwrap.shorten(safe_text(names.get(k, k)) or k, 34, placeholder="…") for k in reversed(used)],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=7,
        frameon=False,
    )
    fig.suptitle(
        "What changes between the scenarios? " + " vs ".join(labels), x=0.01, ha="left", fontsize=12,
        fontweight="bold"
    )
    fig.subplots_adjust(left=0.05, right=0.86, bottom=0.18, top=0.84)
    return fig


def format_table(comp: Comparison) -> str:
    """A side-by-side text table (rows: figures; columns: scenarios), with the change between the first and
    last scenario."""
    import numpy as np

    t = comp.table
    rows = [
        ("status", lambda r: str(r["status"])),
        ("output, bn yuan/yr", lambda r: _fmt(r["output_yuan"], 1e9, "{:,.2f}")),
        ("  per km² of zone, bn", lambda r: _fmt(r["output_per_km2_zone_yuan"], 1e9, "{:,.2f}")),
        ("  per km² developed, bn", lambda r: _fmt(r["output_per_km2_developed_yuan"], 1e9, "{:,.2f}")),
        ("  per km² parcel land, bn", lambda r: _fmt(r["output_per_km2_all_land_yuan"], 1e9, "{:,.2f}")),
        ("zone, km²", lambda r: _fmt(r["zone_area_km2"], 1, "{:,.2f}")),
        ("jobs", lambda r: _fmt(r["jobs"], 1, "{:,.0f}")),
        ("floor, million m²", lambda r: _fmt(r["floor_area_m2"], 1e6, "{:,.2f}")),
        ("land, km²", lambda r: _fmt(r["land_all_m2"], 1e6, "{:,.2f}")),
        ("developed land, km²", lambda r: _fmt(r["land_developed_m2"], 1e6, "{:,.2f}")),
        ("parcels developed", lambda r: _fmt(r["parcels_developed"], 1, "{:,.0f}")),
        ("gap", lambda r: "–" if not np.isfinite(r["gap"]) else f"{r['gap']:.3%}"),
        ("solve, s", lambda r: _fmt(r["solve_s"], 1, "{:,.1f}")),
    ]
    share_cols = [c for c in t.columns if c.startswith("land_share_")]
    names = {}
    for res in comp.results:
        if res is not None:
            ind = res.scenario.industries
            names.update({k: n for k, n in zip(ind["industry_id"], ind["name"], strict=True) if n})
    for c in share_cols:
        if t[c].fillna(0).max() > 0:
            k = c.removeprefix("land_share_")
            label = f"land {names.get(k, k)}"
            label = label if len(label) <= 25 else label[:24] + "…"
            rows.append((label, lambda r, c=c: _fmt(r[c], 0.01, "{:.1f}%")))
    width = max(14, *(len(s) + 2 for s in t["scenario"]))
    head = f"{'':<26}" + "".join(f"{s:>{width}}" for s in t["scenario"])
    change = len(t) >= 2
    if change:
        head += f"{'change':>12}"
    lines = [head]
    numeric = {
        "output, bn yuan/yr": "output_yuan",
        "  per km² of zone, bn": "output_per_km2_zone_yuan",
        "  per km² developed, bn": "output_per_km2_developed_yuan",
        "  per km² parcel land, bn": "output_per_km2_all_land_yuan",
        "zone, km²": "zone_area_km2",
        "jobs": "jobs",
        "floor, million m²": "floor_area_m2",
        "land, km²": "land_all_m2",
        "developed land, km²": "land_developed_m2",
    }
    for name, fn in rows:
        if name.startswith(("  per km² of zone", "zone,")) and t[numeric[name]].isna().all():
            continue  # no scenario states its zone area
        line = f"{name[:25]:<26}" + "".join(f"{fn(r):>{width}}" for _, r in t.iterrows())
        if change and name in numeric:
            a, b = t[numeric[name]].iloc[0], t[numeric[name]].iloc[-1]
            line += f"{(f'{b / a - 1:+.0%}' if np.isfinite(a) and np.isfinite(b) and a else '–'):>12}"
        lines.append(line)
    if t["zone_area_km2"].notna().any():
        lines.append("(per km² of zone: the zone's whole area, streets and parks included; per km² of parcel "
                     "land differs in what each scenario counts as parcels)")
    changed = what_changed(comp)
    if changed:
        lines += ["", "What changed (first -> last):", *[f"  {c}" for c in changed]]
    return "\n".join(lines)


def what_changed(comp: Comparison) -> list[str]:
    """Short lines on what differs between the first and the last run: zone, budget, rules, the sub-areas'
    output (largest changes first), and one sentence on why the shared sub-areas' output moves."""
    import numpy as np

    a, b = comp.results[0], comp.results[-1]
    if len(comp.results) < 2 or a is None or b is None or not a.kpis or not b.kpis:
        return []
    la, lb = comp.labels[0], comp.labels[-1]
    sa, sb = a.scenario, b.scenario
    out = []
    if sa.total_area_km2 != sb.total_area_km2 and np.isfinite(sa.total_area_km2) and np.isfinite(sb.total_area_km2):
        out.append(f"zone: {sa.total_area_km2:,.2f} -> {sb.total_area_km2:,.2f} km²")
    ba, bb = sa.rules.total_budget_yuan, sb.rules.total_budget_yuan
    if not (ba == bb or (np.isnan(ba) and np.isnan(bb))):
        out.append(f"budget: {_fmt(ba, 1e9, '{:,.1f}')} -> {_fmt(bb, 1e9, '{:,.1f}')} bn yuan")
    kinds = {"access rules": "access_rules", "sub-area mix rules": "subarea_mix", "metric rules": "metric_rules"}
    for words, attr in kinds.items():
        na, nb = len(getattr(sa.rules, attr)), len(getattr(sb.rules, attr))
        if na != nb:
            out.append(f"{words}: {na} -> {nb}")
    na, nb = sa.n_parcels, sb.n_parcels
    if na != nb:
        out.append(f"parcels: {na:,} -> {nb:,}")
    from optimizer.report.html import display_names

    names = {**display_names(sa), **display_names(sb)}
    sub_a = {s["subarea"]: s["output_yuan"] for s in a.kpis["by_subarea"]}
    sub_b = {s["subarea"]: s["output_yuan"] for s in b.kpis["by_subarea"]}
    diffs = sorted(((sub_b.get(k, 0.0) - sub_a.get(k, 0.0), k) for k in set(sub_a) | set(sub_b)),
                   key=lambda d: -abs(d[0]))
    for d, k in diffs[:5]:
        if abs(d) < 1e6:
            continue
        tag = " (new)" if k not in sub_a else " (gone)" if k not in sub_b else ""
        out.append(f"{names.get(k, k)}{tag}: {sub_a.get(k, 0.0) / 1e9:,.1f} -> {sub_b.get(k, 0.0) / 1e9:,.1f} "
                   f"bn yuan a year")
    common = set(sub_a) & set(sub_b)
    new = set(sub_b) - set(sub_a)
    if common and new:
        ca, cb = sum(sub_a[k] for k in common), sum(sub_b[k] for k in common)
        caps = _at_cap(b)
        verb = "falls" if cb < ca else "rises"
        why = (f"the zone-wide demand caps ({caps} industries at their cap in {lb}) and the budget are now "
               f"shared with {len(new)} new sub-areas, which take {sum(sub_b[k] for k in new) / 1e9:,.1f} bn of "
               "the output") if cb < ca else (
               "the larger zone adds budget and sites the original sub-areas can use")
        out.append(f"Why: the sub-areas in both ({len(common)}) produce {ca / 1e9:,.1f} bn in {la} and "
                   f"{cb / 1e9:,.1f} bn in {lb}; their output {verb} because {why}.")
    return out


def _at_cap(result) -> int:
    """How many industries' floor reaches their max_floor_total_m2."""
    import numpy as np

    cap = result.scenario.industries.set_index("industry_id")["max_floor_total_m2"]
    n = 0
    for r in result.kpis["by_industry"]:
        c = float(cap.get(r["industry_id"], np.nan))
        n += bool(np.isfinite(c) and r["floor_m2"] >= c * (1 - 1e-6))
    return n


def _fmt(v, div: float, fmt: str) -> str:
    import numpy as np

    try:
        v = float(v)
    except (TypeError, ValueError):
        return "–"
    return fmt.format(v / div) if np.isfinite(v) else "–"


COMPARE_OUTPUTS = ("comparison.csv", "comparison_by_subarea.csv", "comparison.png")


def _compared_folders(comp: Comparison) -> tuple[Path, ...]:
    return tuple(Path(r.scenario.folder) for r in comp.results
                 if r is not None and getattr(r.scenario, "folder", None))


def _no_plan_within_limits(comp: Comparison) -> bool:
    """A run ended without a plan for want of time (not infeasibility, which is an answer in itself)."""
    return any(r is not None and r.plan is None for r in comp.results)


def write_comparison(comp: Comparison, out: str | Path, figures: bool = True, force: bool = False,
                     protect=None) -> Path:
    """Write comparison.csv, comparison_by_subarea.csv and comparison.png into `out`, whole or not at all.

    The folder rules are `optimizer.report.write`'s (new, empty or an earlier output; `force` writes beside
    other files, never over them); `protect` defaults to the compared scenarios' folders. When a run ended
    without a plan (time limit), an earlier output is left untouched.
    """
    _write_comparison(comp, out, figures, force, protect)
    return Path(out)


def _write_comparison(comp: Comparison, out: str | Path, figures: bool = True, force: bool = False,
                      protect=None):
    """write_comparison, returning the Staging (`kept_previous` tells whether an earlier output was kept)."""
    from optimizer.report.write import output_folder

    protect = tuple(protect) if protect is not None else _compared_folders(comp)
    with output_folder(out, force=force, protect=protect, expect=COMPARE_OUTPUTS,
                       keep_previous=_no_plan_within_limits(comp)) as stage:
        tmp = stage.folder
        comp.table.to_csv(tmp / "comparison.csv", index=False, float_format="%.6f")
        comp.by_subarea.to_csv(tmp / "comparison_by_subarea.csv", index=False, float_format="%.6f")
        if figures and comp.table["output_yuan"].notna().any():
            from optimizer.report.maps import figure_style, save_figure

            with figure_style():
                save_figure(comparison_figure(comp), tmp / "comparison.png")
    return stage


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------
def add_command(subparsers, solve_args) -> None:
    from optimizer.cli import out_args, path_arg

    p = subparsers.add_parser(
        "compare",
        help="solve several scenarios and compare them side by side",
        description="Solve each scenario and write comparison.csv, "
        "comparison_by_subarea.csv and comparison.png into --out.",
    )
    p.add_argument("scenarios", type=path_arg, nargs="+", metavar="SCENARIO_DIR", help="scenario folders")
    out_args(p)
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    solve_args(p)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from optimizer.cli import check_input_path, print_warnings, protected
    from optimizer.report.write import check_output_target

    for s in args.scenarios:
        check_input_path(s)
    protect = protected(args.scenarios)
    check_output_target(args.out, args.force, protect, COMPARE_OUTPUTS)  # refuse before solving, not after
    comp = compare_scenarios(
        args.scenarios,
        solver=args.solver,
        time_limit_s=args.time_limit,
        mip_gap=args.mip_gap,
        threads=args.threads,
        log=args.log,
        progress=lambda lab: print(f"solving {lab} ...", flush=True),
    )
    seen = set()
    for lab, r, st in zip(comp.labels, comp.results, comp.table["status"], strict=True):
        if r is not None and st != "stage" and id(r.scenario) not in seen:  # a phased run's stages: once
            seen.add(id(r.scenario))
            print_warnings(f"{lab}: {w}" for w in getattr(r, "all_warnings", ()))
    stage = _write_comparison(comp, args.out, figures=not args.no_figures, force=args.force,
                              protect=protect + _compared_folders(comp))
    print(format_table(comp))
    for lab, cs in comp.conflicts.items():
        print(f"{lab} is infeasible: these rules conflict\n" + "\n".join(f"  - {c}" for c in cs))
    if stage.kept_previous:
        print(f"a run has no plan: the earlier output in {args.out} was left untouched")
    else:
        print(f"wrote {args.out}")
    return 0 if comp.all_have_plans else 5
