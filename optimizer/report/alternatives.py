"""Writing alternative plans (optimizer.analysis.alternatives puts them in `result.analysis`)."""

from __future__ import annotations

from dataclasses import replace

from optimizer.pipeline import RunResult


def write_alternatives(result: RunResult, folder) -> None:
    """alternatives/: alternatives.csv (how their figures differ) and alt_k/ with each plan's assignment and
    summary. Nothing when no alternatives were asked for."""
    from pathlib import Path

    from optimizer.report.write import write_summary, write_tables

    alts = result.analysis.get("alternatives")
    if alts is None or result.plan is None:
        return
    root = Path(folder) / "alternatives"
    root.mkdir()
    result.analysis["alternatives_table"].to_csv(root / "alternatives.csv", index=False, float_format="%.6g")
    for i, alt in enumerate(alts, start=1):
        sub = root / f"alt_{i}"
        sub.mkdir()
        write_summary(alt, sub)
        write_tables(replace(alt, analysis={}), sub)


def write_alternative_maps(result: RunResult, folder) -> None:
    """alternatives/alt_k/map_diff.png: where each alternative differs from the best plan."""
    from pathlib import Path

    from optimizer.report.maps import MapLayers, difference_map, figure_style, save_figure

    alts = result.analysis.get("alternatives")
    if not alts or result.plan is None:
        return
    layers = MapLayers(result.scenario)
    for i, alt in enumerate(alts, start=1):
        title = (f"Alternative {i}: {alt.analysis['differs_from'][0]} parcels differ, objective "
                 f"{alt.plan.objective / result.plan.objective - 1:+.2%} against the best")
        with figure_style():
            save_figure(difference_map(result, alt, title, layers), Path(folder) / "alternatives" / f"alt_{i}" /
                        "map_diff.png")
