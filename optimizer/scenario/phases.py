"""[phasing] and [[phases]] of scenario.toml -> Phase and Phasing, checked (bad input: exit code 2).

Each [[phases]] entry may carry target maps written right after it ([phases.min_floor_m2] and so on); TOML
attaches those to the last [[phases]] entry, so they arrive here as keys of the raw entry and are checked here
against the industries and metrics of the scenario.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from optimizer.data import Phase, Phasing
from optimizer.errors import ScenarioError
from optimizer.scenario.config import TOML, check_value
from optimizer.scenario.schema import METRIC_SUFFIX, PHASE_MAPS

INDUSTRY_MAPS = ("min_floor_m2", "max_floor_m2", "min_share", "max_share")


def read_phases(config: dict[str, Any], cfg: dict[str, Any], industries: pd.DataFrame,
                objective_kind: str) -> tuple[tuple[Phase, ...], Phasing]:
    """The phases in time order and how they are valued. Raises ScenarioError naming the key at fault."""
    entries = cfg["phases"]
    pc = cfg["phasing"]
    if not entries:
        if "phasing" in config:
            raise ScenarioError("[phasing] without any [[phases]] (add [[phases]] entries, or remove [phasing])",
                                file=TOML, field="phasing")
        return (), Phasing()
    if objective_kind == "output_per_land":
        raise ScenarioError('phases value output over time: use kind = "total_output" or "weighted" with phases',
                            file=TOML, field="objective.kind")
    raw_entries = config.get("phases", [])
    known_ind = list(industries["industry_id"].astype(str))
    metrics = [c[: -len(METRIC_SUFFIX)] for c in industries.columns
               if c.endswith(METRIC_SUFFIX) and c != "output_per_m2"]
    phases: list[Phase] = []
    names: set[str] = set()
    for i, (e, raw) in enumerate(zip(entries, raw_entries, strict=True), start=1):
        where = f"phases[{i}]"
        if e["name"] in names:
            raise ScenarioError(f"phase name '{e['name']}' is used twice", file=TOML, field=f"{where}.name")
        names.add(e["name"])
        if e["end_year"] < e["start_year"]:
            raise ScenarioError(f"end_year {e['end_year']} is before start_year {e['start_year']}", file=TOML,
                                field=f"{where}.end_year")
        if phases and e["start_year"] != phases[-1].end_year + 1:
            order = "out of order" if e["start_year"] <= phases[-1].end_year else "not contiguous"
            raise ScenarioError(f"phases {order}: phase '{e['name']}' starts in {e['start_year']}, but the previous "
                                f"phase '{phases[-1].name}' ends in {phases[-1].end_year}; list phases in time order, "
                                f"each starting the year after the previous one ends ({phases[-1].end_year + 1})",
                                file=TOML, field=f"{where}.start_year")
        maps: dict[str, dict[str, float]] = {}
        for name, key in PHASE_MAPS.items():
            value = raw.get(name, {})
            field = f"{where}.{name}"
            if not isinstance(value, dict):
                raise ScenarioError(f"must be a table: write [phases.{name}] under the phase's [[phases]]",
                                    file=TOML, field=field)
            known = known_ind if name in INDUSTRY_MAPS else metrics
            what = "industry" if name in INDUSTRY_MAPS else "metric"
            checked = {}
            for k, v in value.items():
                if k not in known:
                    close = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
                    hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known) or 'none'})"
                    raise ScenarioError(f"unknown {what} '{k}'{hint}", file=TOML, field=f"{field}.{k}")
                checked[str(k)] = check_value(key, v, f"{field}.{k}")
            maps[name] = checked
        for lo, hi in (("min_floor_m2", "max_floor_m2"), ("min_share", "max_share"), ("metric_min", "metric_max")):
            for k in maps[lo].keys() & maps[hi].keys():
                if maps[lo][k] > maps[hi][k]:
                    raise ScenarioError(f"{lo} of {k} ({maps[lo][k]:,.6g}) is above its {hi} ({maps[hi][k]:,.6g})",
                                        file=TOML, field=f"{where}.{lo}.{k}")
        phases.append(Phase(e["name"], e["start_year"], e["end_year"], e["budget_yuan"], maps["min_floor_m2"],
                            maps["max_floor_m2"], maps["min_share"], maps["max_share"], maps["metric_min"],
                            maps["metric_max"], e["reference_output_yuan"]))
    base = pc["base_year"] or phases[0].start_year
    if base > phases[-1].end_year:
        raise ScenarioError(f"base_year {base} is after the last phase ends ({phases[-1].end_year})", file=TOML,
                            field="phasing.base_year")
    return tuple(phases), Phasing(pc["discount_rate"], pc["operating_from"], int(base), pc["caps_every_phase"])


def operating_weights(phases: tuple[Phase, ...], phasing: Phasing) -> tuple[np.ndarray, float, np.ndarray]:
    """Per phase t: the discounted years of output of a development made in t (until the last phase's end), the
    discounted years of the whole horizon (what an existing use that stays produces), and the discount factor of
    money spent in t (at the phase's start year).

    A year y weighs (1 + r)^−(y − base_year); the build phase counts fully ("start"), half ("mid") or not ("end").
    """
    r = phasing.discount_rate
    own = {"start": 1.0, "mid": 0.5, "end": 0.0}[phasing.operating_from]
    per_phase = np.array([sum((1.0 + r) ** -(y - phasing.base_year) for y in range(p.start_year, p.end_year + 1))
                          for p in phases])
    later = np.concatenate([np.cumsum(per_phase[::-1])[::-1][1:], [0.0]])  # the phases after t
    spend = np.array([(1.0 + r) ** -(p.start_year - phasing.base_year) for p in phases])
    return own * per_phase + later, float(per_phase.sum()), spend
