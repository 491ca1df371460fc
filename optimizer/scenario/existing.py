"""Existing uses and locks of parcels, checked against the industries and the rules (bad input: exit code 2).

An existing use is an industry standing on a parcel with its floor (and optionally its output); `lock` keeps it
("industry": same industry, may intensify; "out": nothing changes). Locks that contradict other rules (a lock
with nothing to keep, locked floor above a demand cap) are infeasibilities, found before solving
(optimizer.solution.explain.precheck), not input errors.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from optimizer.data import Rules
from optimizer.scenario.checks import Source
from optimizer.scenario.readers import ROW
from optimizer.scenario.schema import LOCKS

REL_TOL = 1e-9


def check_existing(parcels: pd.DataFrame, src: Source, industries: pd.DataFrame, compat: pd.DataFrame,
                   rules: Rules, access: pd.DataFrame | None, pairs: pd.DataFrame | None) -> None:
    """Raise ScenarioError (file, row, field) for an unknown lock or existing industry, an existing floor that is
    missing or above the parcel's FAR cap, an existing output without an existing use, or a lock on a parcel whose
    existing industry the zoning, sub-area, access or pair rules exclude there."""
    rows = parcels[ROW].to_numpy()
    ex = parcels["existing_industry"].to_numpy(str)
    floor = parcels["existing_floor_m2"].to_numpy(float)
    lock = parcels["lock"].to_numpy(str)

    def fail(mask: np.ndarray, field: str, message) -> None:
        if mask.any():
            i = int(np.argmax(mask))
            raise src.error(message(i), row=int(rows[i]), field=field)

    fail(~np.isin(lock, LOCKS), "lock", lambda i: f"must be blank, 'industry' or 'out' (got '{lock[i]}')")
    known = industries["industry_id"].to_numpy(str)
    has = ex != ""
    fail(has & ~np.isin(ex, known), "existing_industry", lambda i: f"unknown industry '{ex[i]}'" + (
        f" (did you mean '{m[0]}'?)" if (m := difflib.get_close_matches(ex[i], list(known), n=1, cutoff=0.6)) else ""))
    fail(has & (floor <= 0), "existing_floor_m2",
         lambda i: f"the existing use {ex[i]} needs its floor (a number above 0, got {floor[i]:g})")
    fail(~has & (floor > 0), "existing_floor_m2",
         lambda i: f"existing floor {floor[i]:,.0f} m² without an existing_industry (give the industry, or leave "
                   "the floor blank)")
    fail(~has & parcels["existing_output_yuan"].notna().to_numpy(), "existing_output_yuan",
         lambda i: "existing output without an existing_industry")
    cap = parcels["far_max"].to_numpy(float) * parcels["area_m2"].to_numpy(float)
    fail(has & (floor > cap * (1 + REL_TOL)), "existing_floor_m2",
         lambda i: f"existing floor {floor[i]:,.0f} m² is above the parcel's FAR cap ({cap[i]:,.0f} m² = far_max "
                   f"{parcels['far_max'].iloc[i]:g} × {parcels['area_m2'].iloc[i]:,.0f} m²)")
    locked = np.flatnonzero(has & (lock != ""))
    if not len(locked):
        return
    why = np.full(len(parcels), "", dtype=object)
    allowed = set(zip(compat["zone"], compat["industry_id"], strict=True))
    zone = parcels["zone"].to_numpy(str)
    sub = parcels["subarea"].to_numpy(str)
    for i in locked:
        if (zone[i], ex[i]) not in allowed:
            why[i] = f"zone {zone[i]} does not allow {ex[i]}"
    for rule in rules.subarea_allow:
        for i in locked[(sub[locked] == rule.subarea) & ~np.isin(ex[locked], list(rule.industries))]:
            why[i] = why[i] or f"{ex[i]} may not locate in sub-area {rule.subarea}"
    for rule in rules.access_rules:
        if access is None or not np.isfinite(rule.max_minutes):
            continue
        minutes = access[rule.node_type].to_numpy(float)
        hit = locked[(ex[locked] == rule.industry) & ~(minutes[locked] <= rule.max_minutes)]
        for i in hit:
            why[i] = why[i] or (f"{ex[i]} is {minutes[i]:.1f} min from the nearest {rule.node_type} (limit "
                                f"{rule.max_minutes:g} min)")
    if pairs is not None and "eligible" in pairs:
        off = set(zip(pairs.loc[~pairs["eligible"].astype(bool), "parcel_id"],
                      pairs.loc[~pairs["eligible"].astype(bool), "industry_id"], strict=True))
        pid = parcels["parcel_id"].to_numpy(str)
        for i in locked:
            if (pid[i], ex[i]) in off:
                why[i] = why[i] or f"the pair table excludes {ex[i]} there"
    fail(why != "", "lock", lambda i: f"lock = '{lock[i]}' keeps {ex[i]}, which is not eligible on this parcel "
                                      f"({why[i]})")
