"""Test helpers: an in-code scenario factory, scenario-folder writers, random instances and a brute-force optimiser.

The brute force is written from the scenario's rules as docs/scenario-format.md states them (never from the
model matrices): it enumerates every assignment of an eligible industry (or none) to each parcel and, for each
assignment, solves the remaining linear programme in the floor areas with scipy.optimize.linprog.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from scipy.optimize import linprog

from optimizer.data import Scenario
from optimizer.scenario import build_scenario

SITE_FLOOR_M2 = 1.0  # the least floor of a developed site when far_min and min_floor_m2 are 0
REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "scenarios" / "tiny"
# scenarios/tiny by hand: finance 50,000 m² on P1 (FAR 5, its cap 50,000), it 40,000 on P2 (FAR 2) and 15,000 on
# P4 (FAR 1.5, must develop), factory 60,000 on P3 (FAR 2): 2.5e9 + 1.2e9 + 0.45e9 + 0.6e9 yuan
TINY_OPTIMUM_YUAN = 4.75e9


@contextlib.contextmanager
def local_dask_cluster(n_workers: int = 2):
    """A local Dask cluster of `n_workers` single-threaded workers, each a fresh process (as the package starts
    them); yields the scheduler's address, which tests join as an existing cluster."""
    from distributed import Client

    from optimizer.solvers import lagrange_dask

    with tempfile.TemporaryDirectory() as folder, lagrange_dask._local_cluster(n_workers, folder) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(n_workers, timeout=60)
        yield cluster.scheduler_address


def examples(n: int) -> int:
    """Hypothesis examples for a test: n, times LANDUSE_HYPOTHESIS_SCALE for a longer hunt."""
    return n * int(os.environ.get("LANDUSE_HYPOTHESIS_SCALE", "1"))


# --- the factory ------------------------------------------------------------------------------------------
def frames_from(parcels: list[dict], industries: list[dict], pairs: list[dict] | None = None,
                compatibility: list[dict] | None = None, nodes: list[dict] | None = None,
                edges: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    """Role -> DataFrame, as `build_scenario` takes them (cells may be numbers, text or NaN)."""
    frames = {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(industries)}
    for role, rows in (("pairs", pairs), ("compatibility", compatibility), ("nodes", nodes), ("edges", edges)):
        if rows is not None:
            frames[role] = pd.DataFrame(rows)
    return frames


def make_scenario(parcels: list[dict], industries: list[dict], config: dict | None = None,
                  **tables: list[dict] | None) -> Scenario:
    """A validated Scenario from lists of row dicts (parcels, industries, pairs, compatibility, nodes, edges)."""
    config = {"scenario": {"name": "test"}, **(config or {})}
    return build_scenario(config, frames_from(parcels, industries, **tables))


def parcel(pid: str, area_m2: float, zone: str, far_max: float, subarea: str = "s1", **kw) -> dict:
    return {"parcel_id": pid, "area_m2": area_m2, "zone": zone, "far_max": far_max, "subarea": subarea, **kw}


def industry(kid: str, output_per_m2: float, zones: str, far_min: float, far_max: float, **kw) -> dict:
    return {"industry_id": kid, "name": kid.title(), "output_per_m2": output_per_m2,
            "jobs_per_m2": kw.pop("jobs_per_m2", 0.01), "allowed_zones": zones, "far_min": far_min,
            "far_max": far_max, **kw}


def small_city(seed: int, n_parcels: int = 6, lab_cap: bool = False, lab_min_m2: float | None = None,
               objective: dict | None = None) -> Scenario:
    """A seeded random city small enough for the brute force: parcels in zones B and M with development costs,
    a capped high-value industry (fin, zone B), a flexible one (lab, B or M) and a low-value one (fab, M), and
    a total budget that usually binds."""
    rng = np.random.default_rng(seed)
    parcels = [parcel(f"P{i}", float(rng.integers(4, 30)) * 1_000, str(rng.choice(["B", "M"])),
                      float(rng.integers(2, 9)) / 2, f"s{i % 2}",
                      dev_cost_per_m2=float(rng.choice([500, 1000, 2000]))) for i in range(n_parcels)]
    lab = {"max_floor_total_m2": float(rng.integers(20, 60)) * 1_000} if lab_cap else {}
    if lab_min_m2 is not None:
        lab["min_floor_total_m2"] = lab_min_m2
    industries = [industry("fin", float(rng.integers(30, 60)) * 1_000, "B", 1, 4,
                           max_floor_total_m2=float(rng.integers(15, 60)) * 1_000),
                  industry("lab", float(rng.integers(10, 30)) * 1_000, "B;M", 0.5, 3, **lab),
                  industry("fab", float(rng.integers(5, 15)) * 1_000, "M", 0.5, 2)]
    config = {"rules": {"total_budget_yuan": float(rng.integers(30, 120)) * 1e6}}
    if objective:
        config["objective"] = objective
    return make_scenario(parcels, industries, config)


def plan(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """An assignment table from (parcel_id, industry_id, floor_area_m2) triples."""
    return pd.DataFrame(list(rows), columns=["parcel_id", "industry_id", "floor_area_m2"])


# --- scenario folders on disk ------------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def to_toml(config: dict) -> str:
    """A small TOML writer for the shapes scenario.toml uses (tables, sub-tables, arrays of tables)."""
    out: list[str] = []

    def table(prefix: str, d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)
                   and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        arrays = {k: v for k, v in d.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
        if prefix and (scalars or not (subs or arrays)):
            out.append(f"[{prefix}]")
        for k, v in scalars.items():
            out.append(f"{k} = {_toml_value(v)}")
        for k, v in subs.items():
            table(f"{prefix}.{k}" if prefix else k, v)
        for k, items in arrays.items():
            for item in items:
                out.append(f"[[{prefix + '.' if prefix else ''}{k}]]")
                for kk, vv in item.items():
                    out.append(f"{kk} = {_toml_value(vv)}")

    table("", config)
    return "\n".join(out) + "\n"


def write_scenario_folder(folder: Path, config: dict, frames: dict[str, pd.DataFrame]) -> Path:
    """Write frames as CSV files and config as scenario.toml (its [data] section is filled in)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for role, df in frames.items():
        name = f"{role}.csv"
        df.to_csv(folder / name, index=False)
        data[role] = name
    (folder / "scenario.toml").write_text(to_toml({**config, "data": data}), encoding="utf-8")
    return folder


def write_text_files(folder: Path, files: dict[str, str]) -> Path:
    folder = Path(folder)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


# --- the brute-force optimiser --------------------------------------------------------------------------------
def _nan(v: float) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def pair_options(sc: Scenario) -> list[list[tuple]]:
    """Per parcel, its eligible options (industry position, least floor, most floor, value/m², cost/m², pair cost,
    redevelopment cost, output constant).

    Read from the rules: zoning (compatibility), sub-area admission, access limits, the pair table (eligible,
    value multiplier, cost, own FAR cap and cost per m² of floor), FAR caps (parcel and industry), far_min and
    min_floor_m2. Existing uses (docs/scenario-format.md, "Existing uses and redevelopment"): the existing
    industry is kept from its existing floor (output: existing output + value × added floor; cost: intensify cost
    × added floor, no pair cost) up to its cap, or at exactly its floor when the rules exclude it or lock = out;
    another industry pays the demolition of the existing floor; a locked parcel has no other option.
    """
    par = sc.parcels.to_dict("records")
    ind = sc.industries.to_dict("records")
    allowed = set(zip(sc.compatibility["zone"], sc.compatibility["industry_id"], strict=True))
    pair_info: dict[tuple[str, str], dict] = {}
    if sc.pairs is not None:
        for r in sc.pairs.to_dict("records"):
            pair_info[(r["parcel_id"], r["industry_id"])] = r
    options: list[list[tuple]] = []
    for pi, p in enumerate(par):
        opts: list[tuple] = []
        ex, lock = p.get("existing_industry", ""), p.get("lock", "")
        ex_floor = p.get("existing_floor_m2", 0.0)
        for ki, k in enumerate(ind):
            kid = k["industry_id"]
            if lock and kid != ex:
                continue
            ok = (p["zone"], kid) in allowed
            ok &= not any(rule.subarea == p["subarea"] and kid not in rule.industries
                          for rule in sc.rules.subarea_allow)
            decay = 1.0
            for rule in sc.rules.access_rules:
                if rule.industry == kid:
                    minutes = float(sc.access[rule.node_type].iloc[pi])
                    ok &= minutes <= rule.max_minutes
                    decay *= math.exp(-rule.decay_per_min * minutes)
            info = pair_info.get((p["parcel_id"], kid), {})
            ok &= bool(info.get("eligible", True))
            if not ok and kid != ex:
                continue
            pair_far = info.get("far_max", math.nan)
            hi = min(p["far_max"], k["far_max"], math.inf if _nan(pair_far) else pair_far) * p["area_m2"]
            lo = max(k["far_min"] * p["area_m2"], k["min_floor_m2"])
            value = k["output_per_m2"] * info.get("value_multiplier", 1.0) * decay
            pair_cost_m2 = info.get("cost_per_m2", math.nan)
            cost_m2 = p["dev_cost_per_m2"] if _nan(pair_cost_m2) else pair_cost_m2
            if ex and kid == ex:  # keep (at least the existing floor) or intensify
                out = p["existing_output_yuan"]
                out = value * ex_floor if _nan(out) else out
                intensify = p["intensify_cost_per_m2"]
                intensify = cost_m2 if _nan(intensify) else intensify
                most = max(hi, ex_floor) if ok and lock != "out" else ex_floor
                opts.append((ki, ex_floor, most, value, intensify, 0.0, -intensify * ex_floor,
                             out - value * ex_floor))
                continue
            if hi <= 0 or lo > hi:
                continue
            lo = min(max(lo, SITE_FLOOR_M2), hi)  # a developed site has some floor, even with far_min = 0
            demolition = p["demolition_cost_per_m2"] * ex_floor if ex else 0.0
            opts.append((ki, lo, hi, value, cost_m2, info.get("cost_yuan", 0.0), demolition, 0.0))
        options.append(opts)
    return options


def _stays(p: dict) -> bool:
    """A parcel that may not be left empty: must_develop, or an existing use (kept, intensified or converted)."""
    return bool(p["must_develop"]) or bool(p.get("existing_industry", ""))


def brute_force(sc: Scenario) -> tuple[float, list] | None:
    """Best objective (yuan) over every assignment, with its plan [(parcel_id, industry_id, floor_m2)], or None.

    Each parcel takes one of its eligible options or stays empty (unless must_develop); the remaining rules
    (demand bounds, shares, sites, budgets, sub-area mix, metric rules) are checked per assignment, the
    floor areas by a linear programme.
    """
    par = sc.parcels.to_dict("records")
    ind = sc.industries.to_dict("records")
    maximize = sc.objective.sense == "maximize"
    choices = [opts if _stays(p) else [None, *opts] for p, opts in zip(par, pair_options(sc), strict=True)]
    best: tuple[float, list] | None = None
    for combo in itertools.product(*choices):
        got = _solve_assignment(sc, par, ind, combo, maximize)
        if got is not None and (best is None or (got[0] > best[0] if maximize else got[0] < best[0])):
            best = got
    return best


def each_plan(sc: Scenario, keep=None):
    """Every choice of an option (or none) per parcel that `keep(combo, land_m2)` accepts and the rules allow,
    as (combo, developed land m², (objective, plan)) with the floors set by _solve_assignment (most output)."""
    par = sc.parcels.to_dict("records")
    ind = sc.industries.to_dict("records")
    maximize = sc.objective.sense == "maximize"
    choices = [opts if _stays(p) else [None, *opts] for p, opts in zip(par, pair_options(sc), strict=True)]
    for combo in itertools.product(*choices):
        land = sum(p["area_m2"] for p, o in zip(par, combo, strict=True) if o is not None)
        if keep is not None and not keep(combo, land):
            continue
        got = _solve_assignment(sc, par, ind, combo, maximize)
        if got is not None:
            yield combo, land, got


def _solve_assignment(sc, par, ind, combo, maximize):
    """The floor-area LP of one fixed assignment: None if infeasible, else (objective, plan)."""
    chosen = [(pi, o) for pi, o in enumerate(combo) if o is not None]
    n, n_k = len(chosen), len(ind)
    kpos = {k["industry_id"]: i for i, k in enumerate(ind)}
    member = np.zeros((n_k, n))
    for j, (_, o) in enumerate(chosen):
        member[o[0], j] = 1.0
    lo = np.array([o[1] for _, o in chosen])
    hi = np.array([o[2] for _, o in chosen])
    # rules that do not depend on floor areas
    sites = member.sum(axis=1)
    pair_cost = member @ np.array([o[5] for _, o in chosen]) if n else np.zeros(n_k)
    for ki, k in enumerate(ind):
        if not _nan(k["min_sites"]) and sites[ki] < k["min_sites"]:
            return None
        if not _nan(k["max_sites"]) and sites[ki] > k["max_sites"]:
            return None
    for kid, cap in sc.rules.industry_budget_yuan.items():
        if pair_cost[kpos[kid]] > cap:
            return None

    A: list[np.ndarray] = []  # rows of A_ub @ f <= b_ub
    b: list[float] = []

    def le(coef, rhs) -> bool:
        """Add a row; False if even the floor bounds cannot meet it (a cheap necessary test)."""
        coef = np.asarray(coef, dtype=float)
        A.append(coef)
        b.append(float(rhs))
        least = float(np.where(coef > 0, coef * lo, coef * hi).sum()) if n else 0.0
        return least <= rhs + 1e-9 * max(1.0, abs(rhs))

    ok = True
    total = np.ones(n)
    for ki, k in enumerate(ind):
        if not _nan(k["min_floor_total_m2"]):
            ok &= le(-member[ki], -k["min_floor_total_m2"])
        if not _nan(k["max_floor_total_m2"]):
            ok &= le(member[ki], k["max_floor_total_m2"])
        if not _nan(k["min_share"]):
            ok &= le(k["min_share"] * total - member[ki], 0.0)
        if not _nan(k["max_share"]):
            ok &= le(member[ki] - k["max_share"] * total, 0.0)
    fixed_cost = sum(o[5] + (o[6] if len(o) > 6 else 0.0) for _, o in chosen)  # pair + redevelopment costs
    if np.isfinite(sc.rules.total_budget_yuan):
        ok &= le([o[4] for _, o in chosen], sc.rules.total_budget_yuan - fixed_cost)
    for rule in sc.rules.subarea_mix:
        in_sub = np.array([par[pi]["subarea"] == rule.subarea for pi, _ in chosen], dtype=float)
        own = in_sub * member[kpos[rule.industry]] if rule.industry else in_sub  # "" = all industries
        if not _nan(rule.min_share):
            ok &= le(rule.min_share * in_sub - own, 0.0)
        if not _nan(rule.max_share):
            ok &= le(own - rule.max_share * in_sub, 0.0)
        if not _nan(rule.min_floor_m2):
            ok &= le(-own, -rule.min_floor_m2)
        if not _nan(rule.max_floor_m2):
            ok &= le(own, rule.max_floor_m2)
    for rule in sc.rules.metric_rules:
        rate = np.array([ind[o[0]][f"{rule.metric}_per_m2"] * ind[o[0]]["usable_share"]
                         if not rule.industries or ind[o[0]]["industry_id"] in rule.industries else 0.0
                         for _, o in chosen])
        if not _nan(rule.min):
            ok &= le(-rate, -rule.min)
        if not _nan(rule.max):
            ok &= le(rate, rule.max)
    if not ok:
        return None

    w = sc.objective.cost_weight
    net = np.array([o[3] - w * o[4] for _, o in chosen])
    const = sum(o[7] if len(o) > 7 else 0.0 for _, o in chosen) - w * fixed_cost  # existing output kept
    if n == 0:
        return const, []
    res = linprog(-net if maximize else net, A_ub=np.array(A) if A else None, b_ub=np.array(b) if b else None,
                  bounds=list(zip(lo, hi, strict=True)), method="highs")
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(net @ res.x) + const, [(par[pi]["parcel_id"], ind[o[0]]["industry_id"], float(f))
                                        for (pi, o), f in zip(chosen, res.x, strict=True)]


# --- random instances ---------------------------------------------------------------------------------------
ZONES = ("B1", "B2", "M1", "W1")


@st.composite
def tiny_instances(draw, max_parcels: int = 5, max_industries: int = 3, rich: bool = True, loose: bool = False):
    """(config, frames) of a random instance small enough for the brute force.

    `rich` adds the optional rules; `loose` draws milder ones, so that larger instances are mostly feasible.
    """
    n_p = draw(st.integers(2, max_parcels))
    n_k = draw(st.integers(1, max_industries))
    n_sub = draw(st.integers(1, 2))
    parcels = []
    for i in range(n_p):
        parcels.append(parcel(
            f"P{i + 1}", draw(st.integers(2, 40)) * 500.0, draw(st.sampled_from(ZONES)),
            draw(st.integers(1, 10)) * 0.5, f"s{draw(st.integers(1, n_sub))}",
            dev_cost_per_m2=float(draw(st.sampled_from([0, 500, 1000, 2500]))) if rich else 0.0,
            must_develop=draw(st.integers(0, 7 if loose else 3)) == 0 if rich else False,
        ))
    industries = []
    for k in range(n_k):
        zones = draw(st.lists(st.sampled_from(ZONES), min_size=0, max_size=2, unique=True))
        zones = list(dict.fromkeys([draw(st.sampled_from(parcels))["zone"], *zones]))  # some parcel's zone
        far_min = draw(st.integers(0, 4)) * 0.5
        far_max = far_min + draw(st.integers(1, 8)) * 0.5
        row = industry(f"k{k + 1}", draw(st.integers(1, 50)) * 1000.0, ";".join(zones), far_min, far_max,
                       teams_per_m2=draw(st.sampled_from([0.0, 0.001, 0.004])),
                       usable_share=draw(st.sampled_from([1.0, 0.8])))
        if rich:
            row["min_floor_m2"] = draw(st.sampled_from([0.0, 0.0, 5000.0, 12000.0]))
            if draw(st.booleans()):
                lo = draw(st.sampled_from([np.nan, 5000.0] if loose else [np.nan, 5000.0, 20000.0]))
                hi = draw(st.sampled_from([np.nan, 15000.0, 30000.0, 60000.0]))
                if not (lo > hi):
                    row["min_floor_total_m2"], row["max_floor_total_m2"] = lo, hi
            if draw(st.integers(0, 3)) == 0:
                row["min_share"] = draw(st.sampled_from([0.1, 0.25, 0.4]))
            if draw(st.integers(0, 3)) == 0:
                row["max_share"] = draw(st.sampled_from([0.3, 0.5, 0.7]))
            if draw(st.integers(0, 3)) == 0:
                row["min_sites"] = draw(st.integers(0, 1 if loose else 2))
            if draw(st.integers(0, 3)) == 0:
                row["max_sites"] = draw(st.integers(1, 2))
        industries.append(row)
    if rich:  # min above max would be a bad input: order each pair
        for row in industries:
            for lo, hi in (("min_share", "max_share"), ("min_sites", "max_sites")):
                if lo in row and hi in row and row[lo] > row[hi]:
                    row[lo], row[hi] = row[hi], row[lo]
    config: dict = {"scenario": {"name": "random"}}
    frames_kw: dict = {}
    if rich:
        pairs = []
        for p in parcels:
            for row in industries:
                if draw(st.integers(0, 4)) == 0:
                    pairs.append({"parcel_id": p["parcel_id"], "industry_id": row["industry_id"],
                                  "value_multiplier": draw(st.sampled_from([0.5, 1.0, 1.5, 2.0])),
                                  "cost_yuan": draw(st.sampled_from([0.0, 1e6, 5e6])),
                                  "eligible": draw(st.integers(0, 5)) > 0,
                                  "far_max": draw(st.sampled_from([math.nan, math.nan, 0.5, 1.5])),
                                  "cost_per_m2": draw(st.sampled_from([math.nan, math.nan, 200.0, 3000.0]))})
        if pairs:
            frames_kw["pairs"] = pairs
        rules: dict = {}
        if draw(st.booleans()):
            rules["total_budget_yuan"] = float(draw(st.sampled_from([3e7, 8e7, 2e8] if loose else [0, 1e7, 3e7, 8e7, 2e8])))
        if pairs and draw(st.booleans()):
            rules["industry_budget_yuan"] = {industries[0]["industry_id"]: float(draw(st.sampled_from([0, 1e6, 5e6])))}
        if rules:
            config["rules"] = rules
        subs = sorted({p["subarea"] for p in parcels})
        if draw(st.integers(0, 2)) == 0:
            mix = {"subarea": draw(st.sampled_from(subs)), "industry": draw(st.sampled_from(industries))["industry_id"]}
            kind = draw(st.sampled_from(["min_share", "max_share", "min_floor_m2", "max_floor_m2"]))
            mix[kind] = draw(st.sampled_from({"min_share": [0.2, 0.5], "max_share": [0.3, 0.6],
                                              "min_floor_m2": [5000.0, 20000.0],
                                              "max_floor_m2": [0.0, 10000.0, 30000.0]}[kind]))
            if kind.endswith("floor_m2") and draw(st.booleans()):
                mix["industry"] = "*"  # all industries together
            config["subarea_mix"] = [mix]
        if draw(st.integers(0, 2)) == 0:
            config["metric_rules"] = [{"metric": "teams", "min": float(draw(st.sampled_from([10] if loose else [10, 50, 150])))}]
        if draw(st.integers(0, 4)) == 0:
            config["objective"] = {"sense": "maximize", "cost_weight": float(draw(st.sampled_from([0.5, 2.0])))}
        elif draw(st.integers(0, 6)) == 0:
            config["objective"] = {"sense": "minimize"}
    return config, frames_from(parcels, industries, **frames_kw)


def random_instance(seed: int, n_parcels: int = 30, n_industries: int = 4,
                    far_min_zero: bool = False) -> tuple[dict, dict[str, pd.DataFrame]]:
    """(config, frames) of a seeded medium instance with binding demand caps and a binding budget.

    far_min is drawn from 0.5..1 (or 0..1 with `far_min_zero`: sites whose least floor is the 1 m² minimum).
    """
    rng = np.random.default_rng(seed)
    zones = np.array(["B1", "B2", "M1", "M2"])
    area = rng.integers(4, 60, n_parcels) * 500.0
    far = rng.integers(2, 12, n_parcels) * 0.5
    parcels = pd.DataFrame({
        "parcel_id": [f"R{i:03d}" for i in range(n_parcels)],
        "area_m2": area,
        "zone": rng.choice(zones, n_parcels),
        "far_max": far,
        "subarea": rng.choice(["north", "south"], n_parcels),
        "dev_cost_per_m2": rng.integers(1, 6, n_parcels) * 500.0,
        "must_develop": rng.random(n_parcels) < 0.1,
    })
    industries = []
    for k in range(n_industries):
        z = rng.choice(zones, size=int(rng.integers(2, 4)), replace=False)
        far_min = float(rng.integers(0 if far_min_zero else 1, 3)) * 0.5
        industries.append(industry(f"ind{k}", float(rng.integers(5, 60)) * 1000.0, ";".join(z), far_min,
                                   far_min + float(rng.integers(2, 10)) * 0.5,
                                   min_floor_m2=float(rng.choice([0.0, 5000.0]))))
    ind = pd.DataFrame(industries)
    # binding demand caps: each industry at most ~ a fifth of all floor the parcels could hold
    cap_all = float((area * far).sum())
    ind["max_floor_total_m2"] = np.round(cap_all * rng.uniform(0.12, 0.25, n_industries), -3)
    budget = float(np.round((parcels["dev_cost_per_m2"] * area * far).sum() * 0.35, -6))
    config = {"scenario": {"name": f"random-{seed}"}, "rules": {"total_budget_yuan": budget}}
    return config, {"parcels": parcels, "industries": ind}


def scenario_from(config: dict, frames: dict[str, pd.DataFrame]) -> Scenario:
    return build_scenario(config, {k: v.copy() for k, v in frames.items()})


def on_a_busy_machine(run, loops: int = 2):
    """run() while `loops` other processes keep the CPU busy (each a Python busy loop), killed afterwards."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(loops)]
    try:
        time.sleep(0.2)
        return run()
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
