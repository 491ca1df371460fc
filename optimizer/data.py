"""The validated, read-only data model of a scenario. Nothing here reads files or knows a solver."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class AccessRule:
    industry: str
    node_type: str
    max_minutes: float = np.inf
    decay_per_min: float = 0.0


@dataclass(frozen=True)
class SubareaMix:
    """Bounds on an industry's floor in a sub-area: shares of the sub-area's developed floor, and/or absolute m².

    industry "" means all industries together (then only the absolute bounds apply).
    """

    subarea: str
    industry: str
    min_share: float = np.nan
    max_share: float = np.nan
    min_floor_m2: float = np.nan
    max_floor_m2: float = np.nan


@dataclass(frozen=True)
class SubareaAllow:
    subarea: str
    industries: tuple[str, ...]


@dataclass(frozen=True)
class MetricRule:
    metric: str
    min: float = np.nan
    max: float = np.nan
    industries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    total_budget_yuan: float = np.nan
    industry_budget_yuan: dict[str, float] = field(default_factory=dict)
    access_rules: tuple[AccessRule, ...] = ()
    subarea_mix: tuple[SubareaMix, ...] = ()
    subarea_allow: tuple[SubareaAllow, ...] = ()
    metric_rules: tuple[MetricRule, ...] = ()


OBJECTIVE_KINDS = ("total_output", "output_per_land", "weighted")
# KPIs a weighted objective may name (besides any metric of industries.csv), with the unit of one weight
WEIGHT_UNITS = {
    "output": "per yuan of output a year",
    "jobs": "per job",
    "developed_land": "per m² of developed parcel land",
    "floor": "per m² of floor",
    "cost": "per yuan of development cost",
}


def objective_text(kind: str, value) -> str:
    """An objective value with its unit, as a planner reads it."""
    if value is None or value != value:
        return "-"
    if kind == "output_per_land":
        return f"{value:,.1f} yuan per m² of developed land a year"
    if kind == "weighted":
        return f"{value:,.6g} (weighted sum of KPIs)"
    return f"{value / 1e9:,.3f} bn yuan a year"


def objective_unit(sc: Scenario) -> str:
    """The unit of the scenario's objective (and of what a rule is worth, or what forcing a use costs)."""
    kind = sc.objective.kind
    if kind == "output_per_land":
        return "yuan/m² of land a year"
    if kind == "weighted":
        return "objective units"
    if sc.phases:
        return f"discounted yuan over {sc.phases[0].start_year}–{sc.phases[-1].end_year}"
    return "yuan a year"


def gain_words(sc: Scenario, value: float) -> str:
    """A change of the objective in words and in its own unit: millions or billions of yuan when the objective is
    in yuan, else the figure itself (yuan per m² of land, objective units)."""
    unit = objective_unit(sc)
    if sc.objective.kind == "total_output":
        amount = f"{value / 1e9:,.1f} billion" if abs(value) >= 1e9 else f"{value / 1e6:,.1f} million"
        return f"{amount} {unit}"
    return f"{value:,.4g} {unit}"


def objective_words(sc: Scenario, value) -> str:
    """objective_text for a scenario: with phases, output is discounted over the horizon (not yuan a year)."""
    if sc.phases and value is not None and value == value and sc.objective.kind == "total_output":
        ph = sc.phases
        rate = sc.phasing.discount_rate
        return (f"{value / 1e9:,.3f} bn yuan over {ph[0].start_year}–{ph[-1].end_year}, discounted at {rate:.1%} a "
                f"year to {sc.phasing.base_year}")
    return objective_text(sc.objective.kind, value)


@dataclass(frozen=True)
class Objective:
    """What the plan maximises (or minimises).

    kind "total_output": output − cost_weight × cost (yuan a year). "output_per_land": that output divided by the
    developed parcel land (yuan per m² a year), a fractional programme. "weighted": Σ weight × KPI, the KPIs named
    in WEIGHT_UNITS or any metric. The floors (min_total_output_yuan, min_jobs, metric_min) are rules every plan
    must meet, whatever the kind.
    """

    sense: str = "maximize"  # or "minimize"
    cost_weight: float = 0.0
    kind: str = "total_output"
    weights: dict[str, float] = field(default_factory=dict)
    min_total_output_yuan: float = np.nan
    min_jobs: float = np.nan
    metric_min: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Phase:
    """One development phase: its years, its own budget and the targets the plan must reach by its end.

    Targets are cumulative (what stands at the end of the phase: existing uses not yet redeveloped plus what was
    built in this and earlier phases). `reference_output_yuan` is a published figure to compare the plan with,
    never a rule.
    """

    name: str
    start_year: int
    end_year: int
    budget_yuan: float = np.nan
    min_floor_m2: dict[str, float] = field(default_factory=dict)  # industry -> least floor by the phase's end
    max_floor_m2: dict[str, float] = field(default_factory=dict)
    min_share: dict[str, float] = field(default_factory=dict)  # industry -> share of all floor at the phase's end
    max_share: dict[str, float] = field(default_factory=dict)
    metric_min: dict[str, float] = field(default_factory=dict)  # metric (or jobs) -> least total at the phase's end
    metric_max: dict[str, float] = field(default_factory=dict)
    reference_output_yuan: float = np.nan


@dataclass(frozen=True)
class Phasing:
    """How phases are valued: output discounted yearly to `base_year` at `discount_rate`; a parcel developed in a
    phase produces from the phase's start, middle or end (`operating_from`) until the last phase's end."""

    discount_rate: float = 0.0
    operating_from: str = "mid"  # "start", "mid" or "end"
    base_year: int = 0  # 0: the first phase's start year
    caps_every_phase: bool = True  # industries' demand caps, share maxima and metric maxima hold at every phase end


@dataclass(frozen=True)
class SolverDefaults:
    name: str = "highs"
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int = 0  # 0 = solver's choice
    work_limit_s: float | None = None  # nominal seconds of work per solver call (SolveOptions.work_limit_s)


@dataclass(frozen=True)
class Network:
    nodes: pd.DataFrame  # node_id, type, name, x, y, x_m, y_m
    edges: pd.DataFrame  # from_node, to_node, speed_kmh, length_m, corridor
    crs: str = "EPSG:4326"
    access_speed_kmh: float = 12.0
    access_links: int = 3
    detour_factor: float = 1.3


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Frames are treated as read-only; positions (0..n-1) index parcels and industries.

    parcels: parcel_id, area_m2, zone, far_max, subarea, x, y, existing_use, dev_cost_per_m2, must_develop,
        x_m, y_m (projected metres, NaN without coordinates), _row (source row).
    industries: industry_id, name, output_per_m2, jobs_per_m2, allowed_zones, far_min, far_max, min_floor_m2,
        min_floor_total_m2, max_floor_total_m2, min_share, max_share, min_sites, max_sites, usable_share, color,
        and any `<metric>_per_m2` columns.
    compatibility: zone, industry_id (allowed pairs of zone and industry).
    pairs: parcel_id, industry_id, value_multiplier, cost_yuan, eligible (or None).
    access: minutes from each parcel to the nearest network node of each type (columns = types), or None.
    """

    name: str
    parcels: pd.DataFrame
    industries: pd.DataFrame
    compatibility: pd.DataFrame
    pairs: pd.DataFrame | None = None
    network: Network | None = None
    access: pd.DataFrame | None = None
    rules: Rules = field(default_factory=Rules)
    objective: Objective = field(default_factory=Objective)
    solver: SolverDefaults = field(default_factory=SolverDefaults)
    description: str = ""
    assumptions: tuple[str, ...] = ()
    total_area_km2: float = np.nan  # the zone's whole area (streets, water, green included), for KPIs
    folder: Path | None = None
    geometry: tuple | None = None  # shapely geometry per parcel (WGS84 lon/lat), or None
    subareas_path: Path | None = None
    basemap_path: Path | None = None
    files: dict[str, str] = field(default_factory=dict)  # role -> display name of the source file
    warnings: tuple[str, ...] = ()  # doubtful but accepted input (unused zone codes, far nodes...), one line each
    parcel_crs: str = ""  # the CRS a parcel layer was read in ("EPSG:4547", "GCJ-02"; "" for WGS84 GeoJSON or CSV)
    output_crs: str = ""  # also write the plan in this CRS (plan_crs.geojson); "" for WGS84 only
    phases: tuple[Phase, ...] = ()  # development phases in time order; () = one decision, no timing
    phasing: Phasing = field(default_factory=Phasing)
    neighbours: Neighbours | None = None  # the parcel adjacency graph and its rules (synergy, separation)

    @property
    def n_parcels(self) -> int:
        return len(self.parcels)

    @property
    def n_industries(self) -> int:
        return len(self.industries)

    @property
    def metrics(self) -> list[str]:
        """Names of per-m² metric columns (`jobs_per_m2` gives `jobs`, `teams_per_m2` gives `teams`...)."""
        return [c[: -len("_per_m2")] for c in self.industries.columns
                if c.endswith("_per_m2") and c not in ("output_per_m2",)]

    def industry_index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.industries["industry_id"])}

    def parcel_index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.parcels["parcel_id"])}


def restrict_parcels(sc: Scenario, positions) -> Scenario:
    """The scenario with only the parcels at `positions` (in that order), and every rule as it is: a chunk of a
    scenario too large for one process (optimizer.chunked). The pair table keeps the chosen parcels' rows, the
    access table and the geometry their positions. Rules that couple parcels with each other (neighbour rules)
    cannot be cut this way: a scenario with them is refused (ValueError).
    """
    from dataclasses import replace

    if sc.neighbours is not None:
        raise ValueError("a scenario with neighbour rules cannot be cut into parcel chunks")
    pos = np.asarray(positions, dtype=np.int64)
    parcels = sc.parcels.iloc[pos].reset_index(drop=True)
    pairs = sc.pairs
    if pairs is not None:
        pairs = pairs[pairs["parcel_id"].isin(parcels["parcel_id"])].reset_index(drop=True)
    access = None if sc.access is None else sc.access.iloc[pos].reset_index(drop=True)
    geometry = None if sc.geometry is None else tuple(sc.geometry[i] for i in pos)
    return replace(sc, parcels=parcels, pairs=pairs, access=access, geometry=geometry)


@dataclass(frozen=True)
class SeparationRule:
    """Industries a and b may not be neighbours (min_distance_m NaN) or not within min_distance_m metres.

    pairs: the parcel position pairs (a < b) this rule forbids to hold a and b together (the neighbour graph's,
    or the pairs within the distance), shape (m, 2)."""

    industry_a: str
    industry_b: str
    min_distance_m: float
    pairs: np.ndarray
    row: int = 0  # source row, for messages


@dataclass(frozen=True)
class Neighbours:
    """The parcel adjacency graph and the rules on it (docs/scenario-format.md, "Neighbours").

    pairs: int64 array (m, 2) of parcel positions, a < b, unique, sorted. source: "touch", "distance" or "file".
    synergy: industry_a, industry_b, bonus, basis ("pair": yuan a year per neighbouring pair; "m2": yuan a year
    per m² of the smaller floor), _row. Clusters are industries.csv's cluster_min_sites / cluster_min_floor_m2.
    """

    pairs: np.ndarray
    source: str = "file"
    distance_m: float = np.nan
    synergy: pd.DataFrame | None = None
    separation: tuple[SeparationRule, ...] = ()

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)
