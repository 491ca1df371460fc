"""Decode a solver's column vector into a plan: which industry on which parcel, with how much floor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.model.build import ModelBundle

ASSIGNMENT_COLUMNS = ["parcel_id", "industry_id", "subarea", "zone", "area_m2", "floor_area_m2", "far",
                      "output_yuan", "jobs"]


@dataclass(frozen=True)
class Plan:
    """An assignment table (one row per developed parcel) and the solve's figures."""

    assignment: pd.DataFrame
    status: str = ""
    objective: float = np.nan
    bound: float = np.nan
    gap: float = np.nan
    solver: str = ""
    build_s: float = np.nan
    solve_s: float = np.nan
    message: str = ""
    extra: dict = field(default_factory=dict)


def decode(sc: Scenario, bundle: ModelBundle, x: np.ndarray) -> pd.DataFrame:
    """Assignment table from a column vector: chosen pairs (x > 0.5) with floor snapped into their range."""
    pairs = bundle.pairs
    n = len(pairs)
    chosen = np.flatnonzero(x[:n] > 0.5)
    floor = np.clip(x[n + chosen] * bundle.floor_unit_m2, pairs.lo_m2[chosen], pairs.hi_m2[chosen])
    return assignment_table(sc, pairs.parcel[chosen], pairs.industry[chosen], floor,
                            pairs.value_per_m2[chosen])


def assignment_table(sc: Scenario, p: np.ndarray, k: np.ndarray, floor_m2: np.ndarray,
                     value_per_m2: np.ndarray) -> pd.DataFrame:
    par, ind = sc.parcels, sc.industries
    area = par["area_m2"].to_numpy(float)[p]
    df = pd.DataFrame({
        "parcel_id": par["parcel_id"].to_numpy()[p],
        "industry_id": ind["industry_id"].to_numpy()[k],
        "subarea": par["subarea"].to_numpy()[p],
        "zone": par["zone"].to_numpy()[p],
        "area_m2": area,
        "floor_area_m2": floor_m2,
        "far": floor_m2 / area,
        "output_yuan": value_per_m2 * floor_m2,
        "jobs": ind["jobs_per_m2"].to_numpy(float)[k] * floor_m2,
    })
    return df.sort_values("parcel_id", kind="stable").reset_index(drop=True)
