"""Outputs: tables, summary, GeoJSON, maps, charts, HTML report. All written through `write_outputs`."""

from __future__ import annotations


def extra_writers() -> list:
    """Writers beyond the tables and summary (GeoJSON, maps, charts, report) that are available."""
    return []
