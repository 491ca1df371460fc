"""Scenario files -> validated data model."""

from optimizer.scenario.load import build_scenario, load_scenario

__all__ = ["build_scenario", "load_scenario"]
