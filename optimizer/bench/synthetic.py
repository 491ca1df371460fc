"""A seeded synthetic city of any size, for benchmarks: parcels, industries, a small transport network, rules.

Everything is drawn with numpy in whole arrays (no loop over parcels), so a million parcels take seconds, and
the tables go through `build_scenario` like any scenario folder. The city is a square in local metres:

* parcels: land area lognormal (median 1.6 ha) clipped to 0.5–8 ha, placed uniformly; zone drawn from a mix
  that depends on location (business B2 near the centre, port land H23 along the west coast near the
  seaports, airport land H24 around the airport, industry M1 and logistics W1 towards the edge, green G1
  everywhere); plan FAR cap and development cost per m² of floor drawn per zone;
* sub-areas: a grid of districts `Drrcc`;
* network: a grid of nodes (metro stations in the centre, junctions elsewhere, one airport, a few seaports on
  the coast) joined to their grid neighbours, so access rules (finance near metro, aviation near the airport,
  port services near a seaport) cut pairs and decay output;
* rules that bind: demand caps on high-value industries (10–30 % of what their zones could hold), demand floors
  on low-value ones, a total budget of 30 % of the cost of building every parcel out, share bounds and one
  sub-area mix rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario

ZONES = ("B1", "B2", "M0", "M1", "W1", "A21", "H23", "H24", "G1")
# zone -> (FAR cap low, high, development cost yuan per m² of floor)
ZONE_FAR = {"B1": (2.0, 5.0, 5000.0), "B2": (3.0, 8.0, 6500.0), "M0": (2.0, 4.5, 4000.0),
            "M1": (1.0, 2.5, 3000.0), "W1": (1.0, 2.0, 2500.0), "A21": (1.0, 3.0, 4500.0),
            "H23": (0.5, 1.5, 3000.0), "H24": (0.5, 1.5, 3200.0), "G1": (0.1, 0.3, 800.0)}

# id, name, output yuan per m² floor per year, jobs per m² floor, zones, far_min, far_max, min_floor_m2, colour.
# Ordered so that the first 12 already cover every zone.
CATALOGUE = (
    ("finance", "Finance and insurance", 60000, 0.060, "B2;B1", 3.0, 10.0, 0, "#1f77b4"),
    ("it", "Software and IT services", 30000, 0.070, "B2;M0", 2.0, 8.0, 0, "#ff7f0e"),
    ("rnd", "R&D and design", 25000, 0.060, "M0;B2", 1.5, 6.0, 0, "#2ca02c"),
    ("electronics", "Electronics manufacturing", 15000, 0.040, "M1;M0", 1.0, 4.0, 5000, "#d62728"),
    ("equipment", "Advanced equipment", 12000, 0.030, "M1", 0.8, 3.0, 8000, "#9467bd"),
    ("logistics", "Logistics and warehousing", 5000, 0.010, "W1;H23;H24", 0.5, 2.5, 5000, "#8c564b"),
    ("port_services", "Port and shipping services", 9000, 0.020, "H23;W1", 0.5, 2.0, 0, "#e377c2"),
    ("aviation", "Aviation services", 11000, 0.020, "H24", 0.5, 2.0, 0, "#7f7f7f"),
    ("retail", "Retail and hospitality", 14000, 0.050, "B1", 1.0, 5.0, 0, "#bcbd22"),
    ("exhibition", "Exhibition and conference", 8000, 0.020, "A21;B1", 0.5, 3.0, 20000, "#17becf"),
    ("leisure", "Parks and leisure", 500, 0.002, "G1", 0.05, 0.3, 0, "#98df8a"),
    ("biotech", "Biomedicine", 22000, 0.040, "M0;M1", 1.5, 5.0, 0, "#aec7e8"),
    ("hq", "Corporate headquarters", 45000, 0.050, "B2", 3.0, 10.0, 10000, "#ffbb78"),
    ("ecommerce", "E-commerce and trade", 16000, 0.040, "W1;B1;B2", 1.0, 5.0, 0, "#ff9896"),
    ("culture", "Culture and media", 10000, 0.040, "A21;B1;B2", 0.5, 4.0, 0, "#c5b0d5"),
    ("leasing", "Financial leasing", 40000, 0.030, "B2", 2.0, 8.0, 0, "#c49c94"),
    ("datacenter", "Data centres", 20000, 0.005, "M1;M0", 1.0, 3.0, 10000, "#f7b6d2"),
    ("education", "Education and training", 6000, 0.030, "A21", 0.5, 3.0, 0, "#c7c7c7"),
    ("newenergy", "New-energy vehicles", 13000, 0.030, "M1", 0.8, 3.0, 10000, "#dbdb8d"),
    ("incubator", "Start-up incubators", 12000, 0.080, "M0;B2;B1", 1.0, 5.0, 0, "#9edae5"),
)
MAX_INDUSTRIES = len(CATALOGUE)

# industry -> (node type, max minutes, output decay per minute)
ACCESS = {"finance": ("metro", 15.0, 0.01), "hq": ("metro", 12.0, 0.01), "it": ("metro", 25.0, 0.005),
          "exhibition": ("metro", 30.0, 0.0), "aviation": ("airport", 30.0, 0.005),
          "port_services": ("seaport", 30.0, 0.005), "logistics": ("seaport", np.inf, 0.002)}

MEAN_LOG_AREA = np.log(16000.0)  # median parcel 1.6 ha
SIGMA_LOG_AREA = 0.6
AREA_RANGE_M2 = (5000.0, 80000.0)
LAND_SHARE = 0.6  # share of the city square in parcels (the rest is roads, water...)
BUDGET_SHARE = 0.30  # total budget = this share of the cost of building every parcel out


@dataclass(frozen=True)
class Case:
    """A benchmark size: parcels, industries, seed and instance family ("city" or "tight", see FAMILIES)."""

    name: str
    n_parcels: int
    n_industries: int
    seed: int = 0
    family: str = "city"


FAMILIES = {
    "city": "the synthetic city above: demand caps on high-value uses, a few floors, the budget binding",
    "tight": "the same city made hard for decompositions: zoning widened (each industry in two more zones), "
             "output densities over two orders of magnitude, demand "
             "minimums on three industries in four (half of what the budget can build), a traffic cap (trips "
             "per m² of floor, a metric rule) binding beside the budget, 60 % of zone-compatible pairs excluded "
             "by the pair table and the rest with their own FAR caps and costs per m²",
    "qianhai": "the synthetic city with the Qianhai scenario's rule families switched on: innovation carriers "
               "(R&D, IT, and culture and media spaces in the incubators' role, with a usable share of their floor, "
               "a least floor per site and teams and patents per m² of usable floor), carrier totals every plan "
               "must reach (metric rules), a least "
               "productive floor in ten districts and an R&D share in ten others (sub-area mixes), beside the "
               "city's shares, demand bounds and budget",
}


CASES: dict[str, Case] = {
    "s1k": Case("s1k", 1_000, 12),
    "s10k": Case("s10k", 10_000, 14),
    "s50k": Case("s50k", 50_000, 16),
    "s100k": Case("s100k", 100_000, 18),
    "s1m": Case("s1m", 1_000_000, 20),
    "t10k": Case("t10k", 10_000, 12, family="tight"),
    "t50k": Case("t50k", 50_000, 12, family="tight"),
    "t200k": Case("t200k", 200_000, 12, family="tight"),
    "t1m": Case("t1m", 1_000_000, 12, family="tight"),
    "q100k": Case("q100k", 100_000, 18, family="qianhai"),
    "q1m": Case("q1m", 1_000_000, 20, family="qianhai"),
}


def resolve_case(case: str | Case | int, n_industries: int | None = None, seed: int | None = None) -> Case:
    """A Case from a name in CASES, a Case, or a number of parcels (`"2500"` or 2500, 12 industries)."""
    if isinstance(case, Case):
        c = case
    elif isinstance(case, (int, np.integer)) or (isinstance(case, str) and case.isdigit()):
        n = int(case)
        c = Case(f"n{n}", n, 12)
    elif isinstance(case, str) and case.startswith("t") and case[1:].isdigit():  # "t2500": the tight family
        c = Case(case, int(case[1:]), 12, family="tight")
    elif isinstance(case, str) and case.startswith("q") and case[1:].isdigit():  # "q2500": the Qianhai rules
        c = Case(case, int(case[1:]), 18, family="qianhai")
    elif case in CASES:
        c = CASES[case]
    else:
        raise ValueError(f"unknown case '{case}' (choose one of {', '.join(CASES)}, a number of parcels, or "
                         "t<number> for the tight family)")
    if n_industries is not None or seed is not None:
        c = Case(c.name, c.n_parcels, c.n_industries if n_industries is None else n_industries,
                 c.seed if seed is None else seed, c.family)
    if c.family not in FAMILIES:
        raise ValueError(f"unknown instance family '{c.family}' (choose one of {', '.join(FAMILIES)})")
    if not 1 <= c.n_industries <= MAX_INDUSTRIES:
        raise ValueError(f"n_industries must lie in 1..{MAX_INDUSTRIES} (got {c.n_industries})")
    if c.n_parcels < 1:
        raise ValueError(f"n_parcels must be at least 1 (got {c.n_parcels})")
    return c


def _ids(prefix: str, n: int) -> np.ndarray:
    """`prefix` + zero-padded 0..n-1, built from digit arrays (no Python loop; 1M ids in a few ms)."""
    width = len(str(max(n - 1, 0)))
    digits = (np.arange(n, dtype=np.int64)[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10
    codes = np.empty((n, len(prefix) + width), dtype=np.uint8)
    codes[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    codes[:, len(prefix):] = digits + ord("0")
    return codes.view(f"S{codes.shape[1]}").ravel().astype(str)


def _network(side_m: float, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grid of nodes about 1.5 km apart (4–80 a side): metro in the centre, one airport, seaports on the coast."""
    g = int(np.clip(round(side_m / 1500.0), 4, 80))
    step = side_m / g
    ii, jj = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    x = (jj.ravel() + 0.5) * step
    y = (ii.ravel() + 0.5) * step
    n = g * g
    d_centre = np.hypot(x - side_m / 2, y - side_m / 2) / (side_m / 2)
    types = np.where(rng.random(n) < 0.9 * np.exp(-2.0 * d_centre), "metro", "junction").astype(object)
    airport = int(np.argmin(np.hypot(x - 0.85 * side_m, y - 0.15 * side_m)))
    types[airport] = "airport"
    coast = np.flatnonzero(jj.ravel() == 0)  # western column of the grid
    n_ports = int(np.clip(g // 8, 1, 4))
    ports = coast[np.linspace(0, len(coast) - 1, n_ports + 2)[1:-1].round().astype(int)]
    types[ports] = "seaport"
    ids = _ids("N", n)
    names = np.where(types == "junction", "", types + " " + ids.astype(str)).astype(object)
    nodes = pd.DataFrame({"node_id": ids, "type": types, "name": names, "x": x, "y": y})
    idx = (ii * g + jj)
    right = np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])
    up = np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])
    e = np.vstack([right, up])
    ring = np.maximum(d_centre[e[:, 0]], d_centre[e[:, 1]])
    speed = np.where(ring > 0.6, 60.0, 35.0) * rng.uniform(0.9, 1.1, len(e))  # faster roads at the edge
    edges = pd.DataFrame({"from_node": ids[e[:, 0]], "to_node": ids[e[:, 1]], "speed_kmh": speed.round(1),
                          "length_m": ""})
    return nodes, edges


def city_frames(case: str | Case | int, n_industries: int | None = None,
                seed: int | None = None) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The scenario config (as parsed from scenario.toml) and tables of a synthetic city.

    Same case and seed give the same tables, bit for bit.
    """
    c = resolve_case(case, n_industries, seed)
    rng = np.random.default_rng([c.seed, c.n_parcels, c.n_industries])
    n = c.n_parcels

    # parcels: area, location, zone, FAR cap, cost
    area = np.exp(rng.normal(MEAN_LOG_AREA, SIGMA_LOG_AREA, n)).clip(*AREA_RANGE_M2).round(1)
    side = float(np.sqrt(area.sum() / LAND_SHARE))
    px, py = rng.uniform(0, side, n), rng.uniform(0, side, n)
    nodes, edges = _network(side, rng)
    airport = nodes.loc[nodes["type"] == "airport", ["x", "y"]].to_numpy()[0]
    ports = nodes.loc[nodes["type"] == "seaport", ["x", "y"]].to_numpy()
    d_centre = np.hypot(px - side / 2, py - side / 2) / (side / 2)  # 0 centre .. ~1.4 corner
    d_coast = px / side
    d_airport = np.hypot(px - airport[0], py - airport[1]) / side
    d_port = np.min(np.hypot(px[:, None] - ports[None, :, 0], py[:, None] - ports[None, :, 1]), axis=1) / side
    weights = (  # one column per zone, in ZONES order
        np.full(n, 0.14),  # B1
        0.45 * np.exp(-3.0 * d_centre),  # B2
        0.14 + 0.10 * d_centre,  # M0
        0.05 + 0.25 * np.minimum(d_centre, 1.2),  # M1
        0.04 + 0.20 * np.exp(-4.0 * np.minimum(d_coast, d_airport)),  # W1
        np.full(n, 0.06),  # A21
        0.60 * np.exp(-12.0 * d_port),  # H23
        0.60 * np.exp(-12.0 * d_airport),  # H24
        np.full(n, 0.12),  # G1
    )
    u = rng.random(n) * sum(weights)  # inverse CDF, one zone column at a time
    zi = np.zeros(n, dtype=np.int64)
    running = np.zeros(n)
    for wz in weights[:-1]:
        running += wz
        zi += u > running
    zone = np.array(ZONES, dtype=object)[zi]
    far_lo, far_hi, cost = (np.array([ZONE_FAR[z][i] for z in ZONES]) for i in range(3))
    far = (far_lo[zi] + (far_hi[zi] - far_lo[zi]) * rng.random(n)).round(2)
    dev_cost = (cost[zi] * np.exp(rng.normal(0.0, 0.2, n))).round(0)
    k_side = int(np.clip(round(np.sqrt(n) / 10), 2, 40))
    row = np.minimum((py / side * k_side).astype(int), k_side - 1)
    col = np.minimum((px / side * k_side).astype(int), k_side - 1)
    names = np.array([f"D{r:02d}{q:02d}" for r in range(k_side) for q in range(k_side)], dtype=object)
    district = names[row * k_side + col]
    must = (np.isin(zi, [0, 1])) & (rng.random(n) < 0.02)
    existing = np.array(["low-density", "vacant"], dtype=object)[(rng.random(n) < 0.3).astype(np.int64)]
    parcels = pd.DataFrame({
        "parcel_id": _ids("P", n), "area_m2": area, "zone": zone, "far_max": far, "subarea": district,
        "x": px.round(1), "y": py.round(1), "existing_use": existing, "dev_cost_per_m2": dev_cost,
        "must_develop": must,
    })

    # industries, with demand bounds from what their zones could hold
    cat = CATALOGUE[: c.n_industries]
    ind = pd.DataFrame(cat, columns=["industry_id", "name", "output_per_m2", "jobs_per_m2", "allowed_zones",
                                     "far_min", "far_max", "min_floor_m2", "color"])
    zone_ok = np.array([[z in a.split(";") for a in ind["allowed_zones"]] for z in ZONES])  # zones × industries
    cap_floor = np.zeros(len(ind))
    best_floor = np.zeros(n)
    for k in range(len(ind)):  # one vectorised pass per industry (at most 20)
        ok = zone_ok[zi, k]
        floor = np.minimum(far, ind["far_max"].iloc[k]) * area
        ok &= floor >= np.maximum(ind["far_min"].iloc[k] * area, ind["min_floor_m2"].iloc[k])
        cap_floor[k] = floor[ok].sum()
        best_floor = np.where(ok, np.maximum(best_floor, floor), best_floor)
    out = ind["output_per_m2"].to_numpy(float)
    hard_access = np.array([k in ACCESS and np.isfinite(ACCESS[k][1]) for k in ind["industry_id"]])
    hi_frac = rng.uniform(0.10, 0.30, len(ind))
    lo_frac = rng.uniform(0.03, 0.08, len(ind))
    ind["min_floor_total_m2"] = np.where((out < 10000) & ~hard_access & (cap_floor > 0),
                                         (lo_frac * cap_floor).round(-2), np.nan)
    ind["max_floor_total_m2"] = np.where(out >= 20000, np.maximum(hi_frac * cap_floor, 1e4).round(-2), np.nan)
    ind["min_share"] = np.where(ind["industry_id"] == "rnd", 0.05, np.nan)
    ind["max_share"] = np.select([ind["industry_id"] == "finance", ind["industry_id"] == "logistics"],
                                 [0.25, 0.15], np.nan)
    ind["max_sites"] = np.where(ind["industry_id"] == "exhibition", max(2, n // 500), np.nan)
    ind = ind[["industry_id", "name", "output_per_m2", "jobs_per_m2", "allowed_zones", "far_min", "far_max",
               "min_floor_m2", "min_floor_total_m2", "max_floor_total_m2", "min_share", "max_share", "max_sites",
               "color"]]
    ind = ind.astype(object).where(ind.notna(), "")  # blank cell = no bound

    budget = float(BUDGET_SHARE * (best_floor * dev_cost).sum())
    present = set(ind["industry_id"])
    access_rules = []
    for k, (node_type, minutes, decay) in ACCESS.items():
        if k in present:
            rule = {"industry": k, "node_type": node_type, "decay_per_min": decay}
            if np.isfinite(minutes):
                rule["max_minutes"] = minutes
            access_rules.append(rule)
    centre = f"D{k_side // 2:02d}{k_side // 2:02d}"
    config = {
        "scenario": {
            "name": c.name,
            "description": f"Synthetic city: {n:,} parcels, {len(ind)} industries, {k_side}×{k_side} districts, "
                           f"{len(nodes)} network nodes (seed {c.seed}).",
            "assumptions": ["Every number is synthetic (drawn from a seeded generator) for benchmarking only."],
        },
        "objective": {"sense": "maximize"},
        "solver": {"name": "highs", "time_limit_s": 60, "mip_gap": 1e-4},
        "rules": {"total_budget_yuan": round(budget, -3)},
        "network": {"crs": "local_m", "access_speed_kmh": 12.0, "access_links": 3, "detour_factor": 1.3},
        "access_rules": access_rules,
    }
    if "finance" in present and centre in set(district):
        config["subarea_mix"] = [{"subarea": centre, "industry": "finance", "max_share": 0.6}]
    frames = {"parcels": parcels, "industries": ind, "nodes": nodes, "edges": edges}
    if c.family == "tight":
        _tighten(config, frames, zi, zone_ok, rng)
    elif c.family == "qianhai":
        _qianhai_rules(config, frames, cap_floor, rng)
    return config, frames


# carriers of the "qianhai" family: industry -> (usable share, least floor per site m², teams and patents per m² of
# usable floor); rates of the Qianhai scenario's carriers (scenarios/qianhai: incubators 10 teams per 700 m²).
# Culture and media spaces stand in for its incubators: a carrier of modest output whose teams the totals need.
CARRIERS = {"rnd": (0.75, 6000.0, 0.002, 0.0010), "it": (0.70, 3000.0, 0.004, 0.0005),
            "culture": (0.60, 1000.0, 0.014, 0.0002)}
CARRIER_SPACE_SHARE = 0.05  # carrier totals: the capped carriers full, plus this share of what uncapped ones could hold
DISTRICT_RULES = 10  # districts with a least productive floor, and as many others with an R&D share
DISTRICT_MIN_SHARE = 0.45  # a district's least productive floor: this share of the floor its parcels could hold


def _qianhai_rules(config: dict, frames: dict, cap_floor: np.ndarray, rng) -> None:
    """The "qianhai" family (FAMILIES): carriers, carrier totals and sub-area mixes added in place, in whole
    arrays."""
    par, ind = frames["parcels"], frames["industries"]
    config["scenario"]["description"] += " Qianhai rule families: " + FAMILIES["qianhai"] + "."
    kid = ind["industry_id"].to_numpy(object)
    usable = np.ones(len(ind))
    teams, patents = np.zeros(len(ind)), np.zeros(len(ind))
    least = pd.to_numeric(ind["min_floor_m2"]).to_numpy(float)
    for j, k in enumerate(kid):
        if k in CARRIERS:
            usable[j], site, teams[j], patents[j] = CARRIERS[k]
            least[j] = max(least[j], site)
    ind["min_floor_m2"] = least
    ind["usable_share"] = usable
    ind["teams_per_m2"], ind["patents_per_m2"] = teams, patents
    cap = pd.to_numeric(ind["max_floor_total_m2"], errors="coerce").to_numpy(float)
    held = np.where(np.isnan(cap), CARRIER_SPACE_SHARE * cap_floor, np.fmin(cap_floor, cap)) * usable
    config["metric_rules"] = [{"metric": "teams", "min": round(float(teams @ held), 0)},
                              {"metric": "patents", "min": round(float(patents @ held), 0)}]
    # sub-area mixes: a least floor of every productive use in DISTRICT_RULES districts, an R&D share in as many
    present = np.unique(par["subarea"].to_numpy(object))
    order = rng.permutation(len(present))
    k = min(DISTRICT_RULES, len(present) // 2)
    floor_at = (par["area_m2"].to_numpy(float) * par["far_max"].to_numpy(float))
    held_by = pd.Series(floor_at).groupby(par["subarea"].to_numpy(object)).sum()
    mixes = list(config.get("subarea_mix", []))
    for d in present[order[:k]]:
        mixes.append({"subarea": str(d), "industry": "*",
                      "min_floor_m2": round(DISTRICT_MIN_SHARE * float(held_by[d]), -2)})
    if "rnd" in set(kid):
        for d in present[order[k:2 * k]]:
            mixes.append({"subarea": str(d), "industry": "rnd", "min_share": 0.05})
    config["subarea_mix"] = mixes


def _tighten(config: dict, frames: dict, zi: np.ndarray, zone_ok: np.ndarray, rng) -> None:
    """The "tight" family (FAMILIES): the city's tables changed in place, all in whole arrays."""
    par, ind = frames["parcels"], frames["industries"]
    n, n_k = len(par), len(ind)
    config["scenario"]["description"] += " Tight family: " + FAMILIES["tight"] + "."
    par["must_develop"] = False  # the pair table may leave a parcel without any use
    # output densities over two orders of magnitude
    out = ind["output_per_m2"].to_numpy(float) * 10.0 ** rng.uniform(-1.0, 1.0, n_k)
    ind["output_per_m2"] = out.round(0)
    # wider zoning (each industry allowed in two more zones, parks excepted), so that parcels have choices
    extra = rng.random(zone_ok.shape).argsort(axis=0) < 2
    extra[list(ZONES).index("G1")] = False
    zone_ok = zone_ok | extra
    ind["allowed_zones"] = [";".join(z for z, ok in zip(ZONES, zone_ok[:, j], strict=True) if ok) for j in range(n_k)]
    # the pair table: 60 % of zone-compatible pairs out, the rest with their own FAR caps and costs
    p, k = np.nonzero(zone_ok[zi])
    keep = rng.random(len(p)) < 0.4
    p, k = p[keep], k[keep]
    area = par["area_m2"].to_numpy(float)[p]
    ind_far_lo = pd.to_numeric(ind["far_min"]).to_numpy(float)[k]
    ind_far_hi = pd.to_numeric(ind["far_max"]).to_numpy(float)[k]
    far_cap = np.minimum(par["far_max"].to_numpy(float)[p], ind_far_hi)
    own_far = (far_cap * rng.uniform(0.5, 1.0, len(p))).round(2)
    own_far = np.where(rng.random(len(p)) < 0.5, np.maximum(own_far, ind_far_lo), far_cap)
    cost_m2 = (par["dev_cost_per_m2"].to_numpy(float)[p] * np.exp(rng.normal(0.0, 0.3, len(p)))).round(0)
    excluded = np.ones((n, n_k), bool)
    excluded[p, k] = False
    xp, xk = np.nonzero(zone_ok[zi] & excluded)
    pid, kid = par["parcel_id"].to_numpy(object), ind["industry_id"].to_numpy(object)
    frames["pairs"] = pd.DataFrame({
        "parcel_id": np.r_[pid[p], pid[xp]], "industry_id": np.r_[kid[k], kid[xk]],
        "eligible": np.r_[np.ones(len(p), bool), np.zeros(len(xp), bool)],
        "far_max": np.r_[own_far, np.full(len(xp), np.nan)], "cost_per_m2": np.r_[cost_m2, np.full(len(xp), np.nan)],
    })
    # what each industry could build on its pairs, and what the budget can build at their mean cost
    floor = own_far * area
    least = np.maximum(ind_far_lo * area, pd.to_numeric(ind["min_floor_m2"]).to_numpy(float)[k])
    usable = floor >= least
    cap = np.bincount(k[usable], floor[usable], minlength=n_k)
    affordable = config["rules"]["total_budget_yuan"] / float(np.mean(cost_m2)) if len(p) else 0.0
    # demand minimums on three industries in four: half of what the budget builds, shared by capacity, and at
    # most a fifth of what each could hold; maxima stay above them
    with_min = (rng.random(n_k) < 0.75) & (cap > 0)
    share = np.where(with_min, cap, 0.0) / max(float(np.where(with_min, cap, 0.0).sum()), 1.0)
    lo = np.minimum(0.5 * affordable * share, 0.2 * cap).round(-2)
    ind["min_floor_total_m2"] = np.where(with_min & (lo > 0), lo, np.nan)
    old_max = pd.to_numeric(ind["max_floor_total_m2"], errors="coerce").to_numpy(float)
    ind["max_floor_total_m2"] = np.where(np.isnan(old_max), np.nan, np.fmax(old_max, 2.0 * np.nan_to_num(lo)))
    ind["min_share"], ind["max_share"], ind["max_sites"] = np.nan, np.nan, np.nan
    # a traffic cap: trips per m² of floor, at most 1.45 × the trips of the minimums
    trips = pd.to_numeric(ind["jobs_per_m2"]).to_numpy(float) * rng.uniform(0.8, 2.0, n_k)
    ind["trips_per_m2"] = trips.round(4)
    need = float(np.nansum(ind["min_floor_total_m2"].to_numpy(float) * ind["trips_per_m2"].to_numpy(float)))
    config["metric_rules"] = [{"metric": "trips", "max": round(1.45 * need + 1.0, 0)}]
    config.pop("subarea_mix", None)
    for col in ("min_floor_total_m2", "max_floor_total_m2", "min_share", "max_share", "max_sites"):
        ind[col] = ind[col].astype(object).where(ind[col].notna(), "")


def synthetic_city(case: str | Case | int, n_industries: int | None = None, seed: int | None = None) -> Scenario:
    """A validated synthetic-city Scenario (see the module docstring); `case` is a name in CASES or a size."""
    from optimizer.scenario.load import build_scenario

    config, frames = city_frames(case, n_industries, seed)
    return build_scenario(config, frames)


# --- writing a scenario folder ------------------------------------------------------------------------------
FILES = {"parcels": "parcels.csv", "industries": "industries.csv", "nodes": "network/nodes.csv",
         "edges": "network/edges.csv", "pairs": "pairs.csv", "compatibility": "compatibility.csv"}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(config: dict) -> str:
    """TOML text of a config made of tables, arrays of tables and plain values (enough for scenario.toml)."""
    lines: list[str] = []

    def table(prefix: str, d: dict, array: bool = False) -> None:
        plain = {k: v for k, v in d.items() if not isinstance(v, dict)
                 and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in plain.items())
        lines.append("")
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}", v)

    for key, value in config.items():
        if isinstance(value, dict):
            table(key, value)
        elif isinstance(value, list) and all(isinstance(x, dict) for x in value):
            for item in value:
                table(key, item, array=True)
        else:
            raise TypeError(f"top-level entry '{key}' must be a table or an array of tables")
    return "\n".join(lines)


def write_scenario_folder(config: dict, frames: dict[str, pd.DataFrame], folder: str | Path) -> Path:
    """Write tables and scenario.toml into `folder` so that `load_scenario(folder)` reads the same scenario."""
    folder = Path(folder)
    data = {}
    for role, df in frames.items():
        rel = FILES[role]
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        df.drop(columns=["_row"], errors="ignore").to_csv(folder / rel, index=False)
        data[role] = rel
    cfg = {"scenario": config.get("scenario", {}), "data": data}
    cfg.update({k: v for k, v in config.items() if k not in ("scenario", "data")})
    (folder / "scenario.toml").write_text(to_toml(cfg), encoding="utf-8")
    return folder


def write_city(case: str | Case | int, folder: str | Path, n_industries: int | None = None,
               seed: int | None = None) -> Path:
    """Write a synthetic city as a scenario folder (CSV tables + scenario.toml)."""
    config, frames = city_frames(case, n_industries, seed)
    return write_scenario_folder(config, frames, folder)
