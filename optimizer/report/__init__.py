"""Outputs: tables, summary, GeoJSON, maps, charts, HTML report. All written through `write_outputs`."""

from __future__ import annotations


def extra_writers() -> list:
    """Writers beyond the tables and summary, in order: plan.geojson (and plan_crs.geojson), map.png, access.png,
    the charts, the interactive plan.html, and report.html last (it embeds the PNGs the others wrote into the same
    folder).

    Each is `(result, folder) -> None` and writes only what makes sense for the run (no plan: no GeoJSON or
    charts; no network: no access map). matplotlib is imported only when a figure is drawn.
    """
    from optimizer.report.alternatives import write_alternative_maps
    from optimizer.report.answers import write_frontier_chart
    from optimizer.report.charts import write_charts
    from optimizer.report.geojson import write_geojson
    from optimizer.report.geojson_crs import write_geojson_crs
    from optimizer.report.html import write_html
    from optimizer.report.interactive import write_plan_html
    from optimizer.report.maps import write_access_map, write_map
    from optimizer.report.phases import write_phase_outputs

    return [write_geojson, write_geojson_crs, write_map, write_access_map, write_charts, write_alternative_maps,
            write_frontier_chart, write_phase_outputs, write_plan_html, write_html]
