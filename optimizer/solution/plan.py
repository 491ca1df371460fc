"""Decode a solver's column vector into a plan: which industry on which parcel, with how much floor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.model.build import ModelBundle

ASSIGNMENT_COLUMNS = ["parcel_id", "industry_id", "subarea", "zone", "area_m2", "floor_area_m2", "far",
                      "output_yuan", "jobs", "action", "existing_industry", "existing_floor_m2"]
ACTIONS = ("new", "keep", "intensify", "convert")  # what the plan does on a parcel (docs: existing uses)


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


INT_TOL = 1e-6  # how far a binary choice may sit from 0 or 1
FLOOR_TOL_M2 = 1e-2  # floor an unchosen pair may carry (the checker's own floor tolerance)
# the solvers' feasibility tolerance on a row scaled to a largest coefficient of 1 (HiGHS's MIP default; CBC's is
# tighter): a pair's floor can pass its cap by this times the larger of the floor unit and the cap, in m²
SOLVER_FEAS_TOL = 1e-6


def decode(sc: Scenario, bundle: ModelBundle, x: np.ndarray) -> pd.DataFrame:
    """Assignment table from a column vector: chosen pairs (x > 0.5) with the solver's floor values.

    Floors are not snapped into their range, except where they pass it by no more than the solver's own
    feasibility tolerance on the pair's floor-link row (`snap_floors`); the independent checker judges the rest as
    the solver gave it, so a model that lets a floor pass its cap by more is still caught.
    """
    pairs = bundle.pairs
    n = len(pairs)
    chosen = np.flatnonzero(x[:n] > 0.5)
    floor = snap_floors(x[n + chosen] * bundle.floor_unit_m2, pairs.lo_m2[chosen], pairs.hi_m2[chosen],
                        bundle.floor_unit_m2)
    return assignment_table(sc, pairs.parcel[chosen], pairs.industry[chosen], floor,
                            pairs.value_per_m2[chosen], pairs.fixed_output[chosen],
                            None if pairs.phase is None else pairs.phase[chosen])


def snap_floors(floor_m2: np.ndarray, lo_m2: np.ndarray, hi_m2: np.ndarray, unit_m2: float) -> np.ndarray:
    """Chosen pairs' floors (m²) set to their cap or least floor where they pass it by no more than the solver's
    feasibility tolerance in m² (SOLVER_FEAS_TOL times the larger of the floor unit and the bound). With a floor
    unit of 10⁵ m², HiGHS gave 767.76 m² on a cap of 767.70 m²: within its tolerance, beyond the checker's 0.01 m²
    (which does not know the model's units)."""
    lo, hi = np.asarray(lo_m2, float), np.asarray(hi_m2, float)
    over = (floor_m2 > hi) & (floor_m2 <= hi + SOLVER_FEAS_TOL * np.maximum(unit_m2, np.abs(hi)))
    under = (floor_m2 < lo) & (floor_m2 >= lo - SOLVER_FEAS_TOL * np.maximum(unit_m2, np.abs(lo)))
    return np.where(over, hi, np.where(under, lo, floor_m2))


def raw_value_issues(sc: Scenario, bundle: ModelBundle, x: np.ndarray, limit: int = 20) -> list[str]:
    """What the assignment table cannot show about a solver's column vector: non-finite values, binary choices
    that are not 0 or 1, floor on pairs that were not chosen, values outside their column bounds."""
    m, pairs = bundle.milp, bundle.pairs
    n = len(pairs)
    if x is None or len(x) != m.n_cols:
        return [f"the solver returned {0 if x is None else len(x)} values for {m.n_cols} columns"]
    out: list[str] = []
    pid = sc.parcels["parcel_id"].to_numpy()
    kid = sc.industries["industry_id"].to_numpy()

    def name(e: int) -> str:
        return f"{kid[pairs.industry[e]]} on parcel {pid[pairs.parcel[e]]}"

    bad = np.flatnonzero(~np.isfinite(x))
    out += [f"column {j}: value {x[j]} is not a finite number" for j in bad[:limit]]
    xs, fs = x[:n], x[n:2 * n] * bundle.floor_unit_m2
    frac = np.flatnonzero(np.isfinite(xs) & (np.abs(xs - np.round(xs)) > INT_TOL))
    out += [f"the choice of {name(e)} is {xs[e]:.6g}, not 0 or 1" for e in frac[:limit]]
    stray = np.flatnonzero((xs <= 0.5) & (np.abs(fs) > FLOOR_TOL_M2))
    out += [f"{name(e)} was not chosen but has {fs[e]:,.3f} m² of floor" for e in stray[:limit]]
    tol = 1e-6 * np.maximum(1.0, np.abs(m.col_upper))
    outside = np.flatnonzero((x < m.col_lower - tol) | (x > m.col_upper + tol))
    out += [f"column {j}: value {x[j]:.9g} outside its bounds [{m.col_lower[j]:g}, {m.col_upper[j]:g}]"
            for j in outside[:limit] if np.isfinite(x[j])]
    return out


def assignment_table(sc: Scenario, p: np.ndarray, k: np.ndarray, floor_m2: np.ndarray,
                     value_per_m2: np.ndarray, output_fixed_yuan: np.ndarray | None = None,
                     phase: np.ndarray | None = None) -> pd.DataFrame:
    """The plan's rows; `output_fixed_yuan` is the per-choice output constant of kept existing uses (PairSet);
    `phase` the position of each row's phase (scenarios with phases): adds the columns phase and phase_year (the
    phase's first year, when the development is made)."""
    par, ind = sc.parcels, sc.industries
    area = par["area_m2"].to_numpy(float)[p]
    fixed = 0.0 if output_fixed_yuan is None else output_fixed_yuan
    df = pd.DataFrame({
        "parcel_id": par["parcel_id"].to_numpy()[p],
        "industry_id": ind["industry_id"].to_numpy()[k],
        "subarea": par["subarea"].to_numpy()[p],
        "zone": par["zone"].to_numpy()[p],
        "area_m2": area,
        "floor_area_m2": floor_m2,
        "far": floor_m2 / area,
        "output_yuan": value_per_m2 * floor_m2 + fixed,
        "jobs": ind["jobs_per_m2"].to_numpy(float)[k] * floor_m2,
    })
    if phase is not None:
        df["phase"] = np.array([ph.name for ph in sc.phases], dtype=object)[phase]
        df["phase_year"] = np.array([ph.start_year for ph in sc.phases])[phase]
    df = with_actions(sc, df)
    if sc.neighbours is not None and sc.neighbours.synergy is not None:  # each parcel's half of its pairs' synergy
        from optimizer.solution.check_neighbours import synergy_by_parcel

        df["synergy_yuan"] = synergy_by_parcel(sc, df).to_numpy()
    return df.sort_values("parcel_id", kind="stable").reset_index(drop=True)


def with_actions(sc: Scenario, df: pd.DataFrame) -> pd.DataFrame:
    """The table (parcel_id, industry_id, floor_area_m2, ...) with what the plan does on each parcel: `new`
    (greenfield), `keep` (the existing industry at its existing floor), `intensify` (the existing industry with
    more floor) or `convert` (another industry), beside the existing industry and floor."""
    par = sc.parcels.set_index("parcel_id")
    ex = (par["existing_industry"] if "existing_industry" in par else pd.Series("", index=par.index))
    ex = ex.reindex(df["parcel_id"]).fillna("").to_numpy(str)
    ex_floor = (par["existing_floor_m2"].reindex(df["parcel_id"]).fillna(0.0).to_numpy(float)
                if "existing_floor_m2" in par else np.zeros(len(df)))
    floor = df["floor_area_m2"].to_numpy(float)
    same = ex == df["industry_id"].to_numpy(str)
    grown = floor > ex_floor + FLOOR_TOL_M2 + 1e-9 * ex_floor
    action = np.where(ex == "", "new", np.where(~same, "convert", np.where(grown, "intensify", "keep")))
    return df.assign(action=action, existing_industry=ex, existing_floor_m2=np.where(ex == "", 0.0, ex_floor))
