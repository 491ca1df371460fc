"""Neighbours: the adjacency graph, synergy, separation and clusters, end to end.

The brute force here enumerates every assignment of a tiny city and scores it from the rules as
docs/scenario-format.md states them (synergy per pair and per m² of the smaller floor, separation, cluster
groups by networkx), with the floors of each assignment set by a linear programme; it never reads the model.
"""

from __future__ import annotations

import itertools
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from helpers import industry, parcel, plan, write_text_files
from scipy.optimize import linprog

from optimizer import cli
from optimizer.errors import InfeasibleScenario, ScenarioError
from optimizer.pipeline import solve_scenario
from optimizer.scenario import build_scenario, load_scenario
from optimizer.solution import check_plan
from optimizer.solvers import available_solvers

SOLVERS = [s for s in ("highs", "cbc", "lagrange", "auto") if s in available_solvers()]
REL = 1e-6


# --- tiny cities ------------------------------------------------------------------------------------------
def city(seed: int, n: int = 5):
    """A seeded tiny city: n parcels, a random neighbour graph (adjacency table), three industries, random
    synergy (bonuses and penalties), a separation rule and cluster rules on some seeds."""
    rng = np.random.default_rng(seed)
    parcels = [parcel(f"P{i}", float(rng.integers(5, 20)) * 1000, str(rng.choice(["B", "M"])),
                      float(rng.integers(2, 7)) / 2, must_develop=bool(i == 0 and seed % 3 == 0))
               for i in range(n)]
    cap_a = float(rng.integers(10, 40)) * 1000
    inds = [industry("a", float(rng.integers(10, 40)) * 100, "B;M", 0.5, 3, max_floor_total_m2=cap_a),
            industry("b", float(rng.integers(10, 40)) * 100, "B", 0.5, 2),
            industry("c", float(rng.integers(10, 40)) * 100, "M", 0.5, 2)]
    if seed % 2 == 0:
        inds[1]["cluster_min_sites"] = 2
    if seed % 4 == 1:
        inds[0]["cluster_min_floor_m2"] = float(rng.integers(15, 30)) * 1000
    if seed % 4 == 3:
        inds[2]["cluster_min_sites"] = 3
    if seed % 8 == 5:
        inds[1]["cluster_min_floor_m2"] = float(rng.integers(10, 40)) * 1000
    edges = [(f"P{i}", f"P{j}") for i, j in itertools.combinations(range(n), 2) if rng.random() < 0.45]
    frames = {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(inds),
              "adjacency": pd.DataFrame(edges, columns=["parcel_a", "parcel_b"])}
    frames["synergy"] = pd.DataFrame([
        {"industry_a": "a", "industry_b": "b", "bonus": float(rng.integers(-20, 20)) * 1e6, "basis": "pair"},
        {"industry_a": "a", "industry_b": "a", "bonus": float(rng.integers(0, 3000)), "basis": "m2"},
        {"industry_a": "c", "industry_b": "b", "bonus": float(rng.integers(-5, 30)) * 1e6, "basis": "pair"},
        {"industry_a": "b", "industry_b": "b", "bonus": float(rng.integers(-30, 10)) * 1e6, "basis": "pair"},
    ])
    if seed % 3 != 1:
        frames["separation"] = pd.DataFrame([{"industry_a": "a", "industry_b": "c", "min_distance_m": np.nan}])
    return build_scenario({"scenario": {"name": f"city{seed}"}}, frames)


def brute_force(sc) -> tuple[float, list] | None:
    """Best objective over every assignment, from the rules (never the model): (objective, plan) or None."""
    par, ind = sc.parcels, sc.industries
    kid = ind["industry_id"].tolist()
    pid = par["parcel_id"].tolist()
    allowed = {k: set(z.split(";")) for k, z in zip(kid, ind["allowed_zones"], strict=True)}
    area = par["area_m2"].to_numpy(float)
    g = nx.Graph()
    g.add_nodes_from(range(len(pid)))
    g.add_edges_from(map(tuple, sc.neighbours.pairs))
    syn = {}
    for r in sc.neighbours.synergy.itertuples(index=False):
        key = (frozenset((r.industry_a, r.industry_b)), r.basis)
        syn[key] = syn.get(key, 0.0) + r.bonus
    options = []
    for i in range(len(pid)):
        opts = []
        for k, row in ind.iterrows():
            lo = max(row.far_min * area[i], row.min_floor_m2, 1.0)
            hi = min(par["far_max"].iloc[i], row.far_max) * area[i]
            if par["zone"].iloc[i] in allowed[row.industry_id] and hi >= lo:
                opts.append((k, lo, hi))
        options.append(opts if par["must_develop"].iloc[i] else [None, *opts])
    best = None
    for combo in itertools.product(*options):
        got = _score(sc, g, syn, kid, combo)
        if got is not None and (best is None or got[0] > best[0]):
            best = (got[0], [(pid[i], kid[o[0]], f) for (i, o), f in zip(
                [(i, o) for i, o in enumerate(combo) if o is not None], got[1], strict=True)])
    return best


def _score(sc, g, syn, kid, combo):
    ind = sc.industries
    k_of = {i: kid[o[0]] for i, o in enumerate(combo) if o is not None}
    for rule in sc.neighbours.separation:  # separation: no forbidden pair on neighbouring parcels
        for a, b in g.edges:
            if a in k_of and b in k_of and {k_of[a], k_of[b]} == {rule.industry_a, rule.industry_b} and (
                    k_of[a] != k_of[b] or rule.industry_a == rule.industry_b):
                return None
    chosen = [i for i in range(len(combo)) if combo[i] is not None]
    col = {i: j for j, i in enumerate(chosen)}
    const = 0.0
    m2_edges = []
    for a, b in g.edges:
        if a in k_of and b in k_of:
            key = frozenset((k_of[a], k_of[b]))
            const += syn.get((key, "pair"), 0.0)
            if syn.get((key, "m2"), 0.0):
                m2_edges.append((a, b, syn[(key, "m2")]))
    groups = []  # clusters: each connected group of an industry's sites
    for _, row in ind.iterrows():
        sites = [i for i in chosen if k_of[i] == row.industry_id]
        for comp in nx.connected_components(g.subgraph(sites)):
            if np.isfinite(row.cluster_min_sites) and len(comp) < row.cluster_min_sites:
                return None
            if np.isfinite(row.cluster_min_floor_m2):
                groups.append((sorted(comp), row.cluster_min_floor_m2))
    n, nz = len(chosen), len(m2_edges)
    if n == 0:
        return (0.0, [])
    c = np.zeros(n + nz)
    for i in chosen:
        c[col[i]] = ind["output_per_m2"].iloc[combo[i][0]]
    A, b = [], []
    for j, (p, q, bonus) in enumerate(m2_edges):  # z ≤ f_p, z ≤ f_q: z is the smaller floor
        c[n + j] = bonus
        for s in (p, q):
            row = np.zeros(n + nz)
            row[n + j], row[col[s]] = 1.0, -1.0
            A.append(row)
            b.append(0.0)
    for k, r in ind.iterrows():
        if np.isfinite(r.max_floor_total_m2):
            row = np.zeros(n + nz)
            row[[col[i] for i in chosen if combo[i][0] == k]] = 1.0
            A.append(row)
            b.append(r.max_floor_total_m2)
    for comp, least in groups:
        row = np.zeros(n + nz)
        row[[col[i] for i in comp]] = -1.0
        A.append(row)
        b.append(-least)
    bounds = [(combo[i][1], combo[i][2]) for i in chosen] + [(0, None)] * nz
    res = linprog(-c, A_ub=np.array(A) if A else None, b_ub=np.array(b) if b else None, bounds=bounds,
                  method="highs")
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(c @ res.x) + const, list(res.x[:n])


@pytest.mark.parametrize("seed", range(16))
def test_optimum_equals_brute_force(seed):
    sc = city(seed)
    best = brute_force(sc)
    for solver in SOLVERS:
        if best is None:
            with pytest.raises(InfeasibleScenario):
                solve_scenario(sc, solver=solver, mip_gap=0.0, time_limit_s=60)
            continue
        res = solve_scenario(sc, solver=solver, mip_gap=0.0, time_limit_s=60)
        assert res.check.passed, (solver, res.check.violations)
        assert res.plan.objective == pytest.approx(best[0], rel=REL, abs=1.0), (solver, best)


def test_engine_repairs_started_from_their_rounded_lp_reach_the_brute_force(monkeypatch):
    """The engine's repairs from the restriction's LP (RENS: binaries at 0 or 1 in the LP fixed there, the rest
    solved) give checked plans, and the engine still ends at the optimum. Large repairs only, normally: here
    every repair takes that path."""
    from optimizer.solvers import lagrange

    monkeypatch.setattr(lagrange, "LP_ROUNDING_MIN_OPEN", 1)
    rounded = 0
    for seed in range(16):
        sc = city(seed)
        best = brute_force(sc)
        if best is None:
            continue
        res = solve_scenario(sc, solver="lagrange", mip_gap=0.0, time_limit_s=60)
        assert res.check.passed, (seed, res.check.violations)
        assert res.plan.objective == pytest.approx(best[0], rel=REL, abs=1.0), (seed, best)
        rounded += sum("lp_s" in p for p in res.phases)
    assert rounded >= 8


def test_brute_force_plan_passes_the_checker():
    for seed in range(8):
        best = brute_force(city(seed))
        if best is not None:
            sc = city(seed)
            report = check_plan(sc, plan(*best[1]), best[0])
            assert report.passed, report.violations


def test_the_instances_exercise_every_family():
    """The seeds above are not trivial: synergy changes some optima, and clusters and separation bind."""
    bites = {"synergy": 0, "rules": 0}
    for seed in range(8):
        sc = city(seed)
        best = brute_force(sc)
        from dataclasses import replace

        free = replace(sc, neighbours=replace(sc.neighbours, separation=(), synergy=sc.neighbours.synergy.iloc[:0]),
                       industries=sc.industries.assign(cluster_min_sites=np.nan, cluster_min_floor_m2=np.nan))
        plain = brute_force(free)
        if best is None or plain is None or abs(best[0] - plain[0]) > 1:
            bites["synergy" if best is not None and plain is not None else "rules"] += 1
    assert bites["synergy"] >= 3


# --- clusters need cuts ----------------------------------------------------------------------------------------
def line_city(min_sites: float = 3, min_floor: float | None = None):
    """Six parcels in a row (P0-P1-...-P5), industry a worth most on the ends, b everywhere else."""
    parcels = [parcel(f"P{i}", 10000, "B", 2, x=100.0 * i, y=0.0) for i in range(6)]
    a = industry("a", 5000, "B", 1, 2, cluster_min_sites=min_sites)
    if min_floor is not None:
        a["cluster_min_floor_m2"] = min_floor
    a["max_floor_total_m2"] = 60_000
    inds = [a, industry("b", 2000, "B", 1, 2)]
    pairs = pd.DataFrame([{"parcel_id": f"P{i}", "industry_id": "a", "value_multiplier": m}
                          for i, m in enumerate([3.0, 0.5, 0.5, 0.5, 0.5, 3.0])])
    frames = {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(inds), "pairs": pairs}
    return build_scenario({"scenario": {"name": "line"}, "neighbours": {"distance_m": 150.0}}, frames)


@pytest.mark.parametrize("solver", SOLVERS)
def test_cluster_rule_is_exact_with_every_backend(solver):
    # a is worth 15,000/m² on the ends, 2,500 inside (b 2,000), at most 60,000 m² of a; groups of 3: the best
    # is P0-P1-P2 or P3-P4-P5 of a at 20,000 m² each (300 M + 2 × 50 M) + the other three as b (120 M) = 520 M
    # (both ends, 600 M + 50 M + 120 M, break the rule; all six of a at 10,000 m² each give 400 M)
    sc = line_city(3)
    res = solve_scenario(sc, solver=solver, mip_gap=0.0, time_limit_s=60)
    assert res.check.passed
    a = sorted(res.plan.assignment.query("industry_id == 'a'")["parcel_id"])
    assert a in (["P0", "P1", "P2"], ["P3", "P4", "P5"])
    assert res.plan.objective == pytest.approx(520e6, rel=REL)


@pytest.mark.parametrize("solver", SOLVERS)
def test_cluster_cuts_with_every_backend(solver):
    # groups of 5 (groups of one and two, and groups within one step of a site, are ruled out up front; a chain
    # of four by a lazy cut): an end at 20,000 m² (300 M) and four inner sites sharing a's other 40,000 m²
    # (100 M), + one b (40 M) = 440 M
    sc = line_city(5)
    res = solve_scenario(sc, solver=solver, mip_gap=0.0, time_limit_s=60)
    assert res.check.passed
    a = sorted(res.plan.assignment.query("industry_id == 'a'")["parcel_id"])
    assert a in (["P0", "P1", "P2", "P3", "P4"], ["P1", "P2", "P3", "P4", "P5"])
    assert res.plan.objective == pytest.approx(440e6, rel=REL)
    assert "cluster cuts" in res.message and res.bundle.milp.blocks[-1].family == "cluster_cut"


def test_cluster_floor_rule():
    # groups of a need 30,000 m²: an end alone holds 20,000, so each end takes a neighbour at its least floor:
    # P0-P1 and P4-P5 of a (2 × (300 M + 25 M), 60,000 m², a's cap) + P2, P3 as b (80 M) = 730 M
    sc = line_city(min_sites=np.nan, min_floor=30_000)
    res = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert sorted(res.plan.assignment.query("industry_id == 'a'")["parcel_id"]) == ["P0", "P1", "P4", "P5"]
    assert res.plan.objective == pytest.approx(730e6, rel=REL)
    summary = res.summary()
    assert summary["kpis"]["clusters_by_industry"]["a"] == 2


# --- the relaxation of synergy is tight on a pair of parcels ---------------------------------------------
@pytest.mark.parametrize("basis, bonus", [("pair", 2e6), ("m2", 200.0)])
def test_synergy_relaxation_cannot_count_a_site_twice(basis, bonus):
    """Two neighbouring parcels, industries a and b alike (10,000 m² each, 10 M a year), synergy a-a and a-b of
    2 M a pair (or 200 yuan per m² of the smaller floor). Every plan is worth at most 22 M: (a, a) or (a, b).
    Splitting both parcels half a, half b must not let the relaxation count p's a once with q's a and again with
    q's b (23 M with one row per synergy variable): the rows summed per side keep the LP at 22 M."""
    from dataclasses import replace

    from optimizer.model.build import build_model
    from optimizer.solvers import highs
    from optimizer.solvers.base import SolveOptions

    parcels = [parcel(f"P{i}", 10000, "B", 1, x=100.0 * i, y=0.0) for i in range(2)]
    inds = [industry("a", 1000, "B", 1, 1), industry("b", 1000, "B", 1, 1)]
    frames = {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(inds),
              "synergy": pd.DataFrame([{"industry_a": "a", "industry_b": "a", "bonus": bonus, "basis": basis},
                                       {"industry_a": "a", "industry_b": "b", "bonus": bonus, "basis": basis}])}
    sc = build_scenario({"scenario": {"name": "split"}, "neighbours": {"distance_m": 100.0}}, frames)
    m = build_model(sc).milp
    lp = highs.solve(replace(m, integrality=np.zeros(m.n_cols, bool)), SolveOptions(time_limit_s=30))
    assert lp.objective == pytest.approx(22e6, rel=REL)
    res = solve_scenario(sc, solver="highs", mip_gap=0.0)
    assert res.plan.objective == pytest.approx(22e6, rel=REL)
    assert res.check.passed


# --- the checker catches each broken rule family -------------------------------------------------------------
def checker_city():
    """Four parcels in a row; synergy a-b 1 M a pair, separation a-c, a in groups of at least 2 sites."""
    parcels = [parcel(f"P{i}", 10000, "B", 2, x=100.0 * i, y=0.0) for i in range(4)]
    inds = [industry("a", 1000, "B", 1, 2, cluster_min_sites=2), industry("b", 1000, "B", 1, 2),
            industry("c", 1000, "B", 1, 2)]
    frames = {"parcels": pd.DataFrame(parcels), "industries": pd.DataFrame(inds),
              "synergy": pd.DataFrame([{"industry_a": "b", "industry_b": "a", "bonus": 1e6, "basis": "pair"},
                                       {"industry_a": "b", "industry_b": "b", "bonus": 10, "basis": "m2"}]),
              "separation": pd.DataFrame([{"industry_a": "a", "industry_b": "c"}])}
    return build_scenario({"scenario": {"name": "checker"}, "neighbours": {"distance_m": 100.0}}, frames)


def test_checker_accepts_a_good_plan_with_its_synergy():
    sc = checker_city()
    good = plan(("P0", "a", 10000), ("P1", "a", 10000), ("P2", "b", 12000), ("P3", "b", 15000))
    # output 47,000 × 1,000 + synergy a-b (P1-P2) 1 M + b-b (P2-P3) 10 × 12,000
    report = check_plan(sc, good, 47e6 + 1e6 + 120_000)
    assert report.passed, report.violations


def test_checker_catches_misreported_synergy():
    sc = checker_city()
    good = plan(("P0", "a", 10000), ("P1", "a", 10000), ("P2", "b", 12000), ("P3", "b", 15000))
    report = check_plan(sc, good, 47e6 + 2e6 + 120_000)  # the a-b bonus counted twice
    assert not report.passed
    assert any("differs from the plan's recomputed value" in v for v in report.violations)


def test_checker_catches_a_separated_pair_next_to_each_other():
    sc = checker_city()
    bad = plan(("P0", "a", 10000), ("P1", "a", 10000), ("P2", "c", 10000))
    report = check_plan(sc, bad)
    assert [v for v in report.violations if v.startswith("separation")] == [
        "separation: a on P1 and c on P2 are neighbours (separation row 2)"]


def test_checker_catches_a_cluster_too_small():
    sc = checker_city()
    bad = plan(("P0", "a", 10000), ("P2", "b", 10000), ("P3", "a", 10000))
    report = check_plan(sc, bad)
    cl = [v for v in report.violations if v.startswith("cluster")]
    assert cl == ["cluster: a on P0 is a group of 1 site(s), fewer than 2",
                  "cluster: a on P3 is a group of 1 site(s), fewer than 2"]


# --- the adjacency graph -----------------------------------------------------------------------------------------
LON0, LAT0 = 113.9, 22.5
DEG_LAT = 1 / 110_574.0  # about one metre of latitude in degrees near 22.5° N
DEG_LON = 1 / (111_320.0 * np.cos(np.radians(LAT0)))


def squares_geojson(side_m: float = 100.0, gap_m: float = 0.0, cols: int = 3, rows: int = 2) -> str:
    """A grid of squares (row-major ids S00, S01, ...) as WGS84 GeoJSON, `gap_m` apart."""
    feats = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = c * (side_m + gap_m), r * (side_m + gap_m)
            ring = [(x0, y0), (x0 + side_m, y0), (x0 + side_m, y0 + side_m), (x0, y0 + side_m), (x0, y0)]
            coords = [[LON0 + x * DEG_LON, LAT0 + y * DEG_LAT] for x, y in ring]
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]},
                          "properties": {"parcel_id": f"S{r}{c}", "area_m2": side_m ** 2, "zone": "B",
                                         "far_max": 2, "subarea": "s"}})
    return json.dumps({"type": "FeatureCollection", "features": feats})


INDUSTRIES_CSV = "industry_id,name,output_per_m2,jobs_per_m2,allowed_zones,far_min,far_max\na,A,1000,0.01,B,1,2\n"


def squares_folder(tmp_path, neighbours: str, gap_m: float = 0.0, extra: dict | None = None):
    toml = ('[scenario]\nname = "squares"\n\n[data]\nparcels = "parcels.geojson"\nindustries = "industries.csv"\n\n'
            f"[neighbours]\n{neighbours}\n")
    return write_text_files(tmp_path / "sq", {"scenario.toml": toml, "parcels.geojson": squares_geojson(gap_m=gap_m),
                                              "industries.csv": INDUSTRIES_CSV, **(extra or {})})


def edges(sc) -> set[tuple[str, str]]:
    pid = sc.parcels["parcel_id"].to_numpy(str)
    return {(pid[a], pid[b]) for a, b in sc.neighbours.pairs}


ROOK = {("S00", "S01"), ("S01", "S02"), ("S10", "S11"), ("S11", "S12"), ("S00", "S10"), ("S01", "S11"),
        ("S02", "S12")}
DIAGONALS = {("S00", "S11"), ("S01", "S10"), ("S01", "S12"), ("S02", "S11")}


def test_touching_squares_share_edges_not_corners(tmp_path):
    sc = load_scenario(squares_folder(tmp_path, 'mode = "touch"'))
    assert edges(sc) == ROOK
    assert sc.neighbours.source == "touch"
    p = sc.neighbours.pairs
    assert p.dtype == np.int64 and (p[:, 0] < p[:, 1]).all() and len(np.unique(p, axis=0)) == len(p)


def test_outlines_within_a_distance(tmp_path):
    # squares 10 m apart: within 12 m only edge-to-edge neighbours (corners are 14.1 m apart), within 15 m also
    # the diagonals, and no square touches another
    assert edges(load_scenario(squares_folder(tmp_path / "a", "distance_m = 12", gap_m=10))) == ROOK
    assert edges(load_scenario(squares_folder(tmp_path / "b", "distance_m = 15", gap_m=10))) == ROOK | DIAGONALS
    assert edges(load_scenario(squares_folder(tmp_path / "c", 'mode = "touch"', gap_m=10))) == set()


def test_centroids_within_a_distance():
    parcels = [parcel(f"Q{r}{c}", 1000, "B", 2, x=100.0 * c, y=100.0 * r) for r in range(2) for c in range(3)]
    frames = {"parcels": pd.DataFrame(parcels),
              "industries": pd.DataFrame([industry("a", 1000, "B", 1, 2)])}

    def graph(d):
        sc = build_scenario({"scenario": {"name": "q"}, "neighbours": {"distance_m": d}}, frames)
        return {(a.replace("Q", "S"), b.replace("Q", "S")) for a, b in edges(sc)}

    assert graph(100.0) == ROOK
    assert graph(150.0) == ROOK | DIAGONALS
    assert graph(99.0) == set()


def test_adjacency_file_is_symmetric_and_deduplicated(tmp_path):
    folder = squares_folder(tmp_path, 'file = "adjacency.csv"', extra={
        "adjacency.csv": "parcel_a,parcel_b\nS00,S01\nS01,S00\nS12,S02\n"})
    assert edges(load_scenario(folder)) == {("S00", "S01"), ("S02", "S12")}


# --- bad input: exit 2 naming file, row and field -------------------------------------------------------------
BAD = [
    ('file = "adjacency.csv"', {"adjacency.csv": "parcel_a,parcel_b\nS00,S01\nS00,S99\n"},
     "adjacency.csv, row 3, field 'parcel_b'", "unknown parcel 'S99'"),
    ('file = "adjacency.csv"', {"adjacency.csv": "parcel_a,parcel_b\nS00,S00\n"},
     "adjacency.csv, row 2, field 'parcel_b'", "its own neighbour"),
    ('mode = "touch"\nsynergy = "synergy.csv"', {"synergy.csv": "industry_a,industry_b,bonus,basis\na,x,5,pair\n"},
     "synergy.csv, row 2, field 'industry_b'", "unknown industry 'x'"),
    ('mode = "touch"\nsynergy = "synergy.csv"', {"synergy.csv": "industry_a,industry_b,bonus,basis\na,a,lots,pair\n"},
     "synergy.csv, row 2, field 'bonus'", ""),
    ('mode = "touch"\nsynergy = "synergy.csv"', {"synergy.csv": "industry_a,industry_b,bonus,basis\na,a,5,floor\n"},
     "synergy.csv, row 2, field 'basis'", "basis must be 'pair'"),
    ('mode = "touch"\nsynergy = "synergy.csv"', {"synergy.csv": "industry_a,industry_b,bonus,basis\na,a,-5,m2\n"},
     "synergy.csv, row 2, field 'bonus'", 'basis = "pair"'),
    ('mode = "touch"\nsynergy = "synergy.csv"',
     {"synergy.csv": "industry_a,industry_b,bonus,basis\na,a,5,pair\na,a,6,pair\n"},
     "synergy.csv, row 3, field 'industry_b'", "duplicate synergy"),
    ('mode = "touch"\nseparation = "separation.csv"',
     {"separation.csv": "industry_a,industry_b,min_distance_m\na,zz,\n"},
     "separation.csv, row 2, field 'industry_b'", "unknown industry 'zz'"),
    ('mode = "touch"\nseparation = "separation.csv"',
     {"separation.csv": "industry_a,industry_b,min_distance_m\na,a,-5\n"},
     "separation.csv, row 2, field 'min_distance_m'", ""),
    ("distance_m = -3", {}, "scenario.toml, field 'neighbours.distance_m'", ""),
    ('mode = "touch"\nfile = "adjacency.csv"', {"adjacency.csv": "parcel_a,parcel_b\nS00,S01\n"},
     "scenario.toml, field 'neighbours.file'", "only one of mode, distance_m and file"),
    ('mode = "near"', {}, "scenario.toml, field 'neighbours.mode'", ""),
    ('synergy = "synergy.csv"', {"synergy.csv": "industry_a,industry_b,bonus,basis\na,a,5,pair\n"},
     "scenario.toml, field 'neighbours'", "need a neighbour graph"),
    ('mode = "touch"\nsynergy = "missing.csv"', {}, "missing.csv", "file not found"),
    ('mode = "touch"\ncolour = 3', {}, "scenario.toml, field 'neighbours.colour'", "unknown key"),
]


@pytest.mark.parametrize("toml, files, where, words", BAD)
def test_bad_neighbour_input_names_file_row_and_field(tmp_path, toml, files, where, words):
    folder = squares_folder(tmp_path, toml, extra=files)
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    assert where in str(err.value)
    assert words in str(err.value)


def test_cluster_rule_without_a_graph_is_bad_input(tmp_path, capsys):
    toml = '[scenario]\nname = "x"\n\n[data]\nparcels = "parcels.geojson"\nindustries = "industries.csv"\n'
    folder = write_text_files(tmp_path / "x", {
        "scenario.toml": toml, "parcels.geojson": squares_geojson(),
        "industries.csv": INDUSTRIES_CSV.replace("far_max\n", "far_max,cluster_min_sites\n").replace(",2\n", ",2,3\n")})
    assert cli.main(["validate", str(folder)]) == 2
    assert "industries.csv, row 2, field 'cluster_min_sites'" in capsys.readouterr().err


def test_touch_needs_outlines():
    frames = {"parcels": pd.DataFrame([parcel("P1", 1000, "B", 2, x=0.0, y=0.0)]),
              "industries": pd.DataFrame([industry("a", 1000, "B", 1, 2)])}
    with pytest.raises(ScenarioError, match="needs parcel outlines"):
        build_scenario({"scenario": {"name": "t"}, "neighbours": {"mode": "touch"}}, frames)


# --- end to end through the CLI ---------------------------------------------------------------------------------
def test_solve_writes_synergy_and_the_graph(tmp_path, capsys):
    folder = squares_folder(tmp_path, 'mode = "touch"\nsynergy = "synergy.csv"', extra={
        "synergy.csv": "industry_a,industry_b,bonus,basis\na,a,1000000,pair\n"})
    out = tmp_path / "out"
    assert cli.main(["solve", str(folder), "--out", str(out), "--no-analysis"]) == 0
    # every square is a at FAR 2 (20,000 m² × 1,000) = 120 M, + 7 neighbouring pairs × 1 M
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(127e6)
    assert summary["kpis"]["synergy_yuan"] == pytest.approx(7e6)
    assert summary["kpis"]["clusters_by_industry"] == {"a": 1}
    table = pd.read_csv(out / "assignment.csv")
    # S01 and S11 have three neighbours each, the corners two: half of each pair's bonus
    got = dict(zip(table["parcel_id"], table["synergy_yuan"], strict=True))
    assert got == pytest.approx({"S00": 1e6, "S01": 1.5e6, "S02": 1e6, "S10": 1e6, "S11": 1.5e6, "S12": 1e6})
    graph = pd.read_csv(out / "neighbours.csv")
    assert len(graph) == 7 and graph["synergy_yuan"].sum() == pytest.approx(7e6)
    geo = json.loads((out / "plan.geojson").read_text())
    assert {f["properties"]["parcel_id"]: f["properties"]["synergy_yuan"] for f in geo["features"]} == got


def test_a_floor_synergy_that_would_hurt_the_objective_is_refused():
    """A bonus per m² of the smaller floor under `sense = "minimize"` works against the objective, like a
    penalty when maximising: its minimum would need a binary per pair, so it is bad input naming the row."""
    from optimizer.model import build_model

    frames = {"parcels": pd.DataFrame([parcel(f"P{i}", 1000, "B", 2, x=100.0 * i, y=0.0) for i in range(2)]),
              "industries": pd.DataFrame([industry("a", 1000, "B", 1, 2)]),
              "synergy": pd.DataFrame([{"industry_a": "a", "industry_b": "a", "bonus": 5.0, "basis": "m2"}])}
    sc = build_scenario({"scenario": {"name": "m"}, "objective": {"sense": "minimize"},
                         "neighbours": {"distance_m": 100.0}}, frames)
    with pytest.raises(ScenarioError, match='basis = "pair"') as err:
        build_model(sc)
    assert err.value.row == 2 and err.value.field == "bonus"


def test_giving_up_small_groups_keeps_a_valid_plan():
    """The cut loop keeps a round's plan with its too-small groups given up (model.neighbours.drop_small_clusters):
    a at both ends of the line (two groups of one, target 3) becomes a plan without them that the checker
    passes, worth its output and synergy without those sites."""
    from optimizer.model import build_model
    from optimizer.model.neighbours import drop_small_clusters
    from optimizer.solution import decode

    sc = line_city(3)
    bundle = build_model(sc)
    pairs, n = bundle.pairs, bundle.n_pairs
    x = np.zeros(bundle.milp.n_cols)
    pid = sc.parcels["parcel_id"].to_numpy()
    kid = sc.industries["industry_id"].to_numpy()
    want = {"P0": "a", "P1": "b", "P2": "b", "P3": "b", "P4": "b", "P5": "a"}
    for e in range(n):
        if want[pid[pairs.parcel[e]]] == kid[pairs.industry[e]]:
            x[e], x[n + e] = 1.0, pairs.hi_m2[e] / bundle.floor_unit_m2
    assert not check_plan(sc, decode(sc, bundle, x)).passed  # two groups of one
    kept = drop_small_clusters(sc, bundle, x)
    table = decode(sc, bundle, kept)
    assert sorted(table["industry_id"]) == ["b"] * 4
    report = check_plan(sc, table, float(bundle.milp.c @ kept) * bundle.milp.obj_scale)
    assert report.passed, report.violations


def _line_plan(sc, bundle, want: dict) -> np.ndarray:
    """The column vector of a plan given as parcel -> industry, each site at its most floor."""
    pairs, n = bundle.pairs, bundle.n_pairs
    x = np.zeros(bundle.milp.n_cols)
    pid = sc.parcels["parcel_id"].to_numpy()
    kid = sc.industries["industry_id"].to_numpy()
    for e in range(n):
        if want.get(pid[pairs.parcel[e]]) == kid[pairs.industry[e]]:
            x[e], x[n + e] = 1.0, pairs.hi_m2[e] / bundle.floor_unit_m2
    return x


@pytest.mark.parametrize("hops, best", [(2, 520e6), (1, 240e6)])
def test_local_repair_changes_the_plan_only_around_its_small_groups(hops, best):
    """The cut rounds of lagrange and auto first mend a plan around its groups below target
    (model.neighbours.around_small_clusters, solvers.lagrange.local_repair). Line city, groups of 3, plan a on
    both ends (two groups of one): two steps around them reach every parcel, so the repair finds the optimum
    (520 M, see above); one step leaves P2 and P3 as b, where no group of three a fits: all b (6 × 40 M)."""
    from optimizer.model import build_model
    from optimizer.model.build import with_rows
    from optimizer.model.neighbours import around_small_clusters, cluster_cuts, tighten_pair_columns
    from optimizer.solution import decode
    from optimizer.solvers import SolveOptions
    from optimizer.solvers.lagrange import local_repair

    sc = line_city(3)
    bundle = build_model(sc)
    x = _line_plan(sc, bundle, {"P0": "a", "P1": "b", "P2": "b", "P3": "b", "P4": "b", "P5": "a"})
    near = around_small_clusters(sc, bundle, x, hops=hops)
    pid = sc.parcels["parcel_id"].to_numpy()
    assert sorted(pid[near]) == (sorted(pid) if hops == 2 else ["P0", "P1", "P4", "P5"])
    M, lo, hi, labels = cluster_cuts(sc, bundle, x)
    cut = with_rows(bundle, "cluster_cut", M, lo, hi, labels, unit="sites")
    y, res, n_open = local_repair(cut, x, near, SolveOptions(time_limit_s=30, mip_gap=0.0), 30.0)
    assert n_open == len(near) and res is not None
    y = tighten_pair_columns(cut, y)
    table = decode(sc, cut, y)
    objective = float(cut.milp.c @ y) * cut.milp.obj_scale
    report = check_plan(sc, table, objective)
    assert report.passed, report.violations
    assert objective == pytest.approx(best, rel=REL)
    kept = table.set_index("parcel_id")["industry_id"]
    if hops == 1:
        assert kept["P2"] == kept["P3"] == "b"  # outside the repair: as the plan had them
    assert around_small_clusters(sc, cut, y).size == 0
