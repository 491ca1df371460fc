"""The canonical MILP against hand-computed columns and rows.

Two parcels × two industries:
  P1: 1,000 m² of land, zone B, FAR cap 3        office: 100 yuan/m², zones B,   FAR 1..4
  P2: 2,000 m² of land, zone M, FAR cap 2        works:   10 yuan/m², zones B;M, FAR 0.5..1
Eligible pairs (parcel-major): (P1, office) floor 1,000..3,000 m²; (P1, works) 500..1,000; (P2, works) 1,000..2,000.
(P2, office) is out: zone M does not allow office.

Rows are tested by evaluating them at hand-made column vectors (so that row scaling does not matter) and by
the labels of the rows that a broken vector violates.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import industry, make_scenario, parcel

from optimizer.model import build_model, eligible_pairs

P = [parcel("P1", 1000, "B", 3), parcel("P2", 2000, "M", 2)]
K = [industry("office", 100, "B", 1, 4, teams_per_m2=0.01), industry("works", 10, "B;M", 0.5, 1, teams_per_m2=0.0)]
PAIRS = [("P1", "office"), ("P1", "works"), ("P2", "works")]
LO = [1000.0, 500.0, 1000.0]
HI = [3000.0, 1000.0, 2000.0]


def small(industry_changes: dict | None = None, config: dict | None = None, parcels=None, **tables):
    inds = [dict(r, **(industry_changes or {}).get(r["industry_id"], {})) for r in K]
    return make_scenario(parcels or P, inds, config, **tables)


def pair_list(bundle, sc):
    pid, kid = sc.parcels["parcel_id"].to_numpy(), sc.industries["industry_id"].to_numpy()
    return list(zip(pid[bundle.pairs.parcel], kid[bundle.pairs.industry], strict=True))


def vector(bundle, sc, floors: dict, chosen: dict | None = None) -> np.ndarray:
    """Column vector: x = 1 and f = floor/unit for each (parcel, industry) in `floors` (x from `chosen` if given)."""
    pairs = pair_list(bundle, sc)
    n = len(pairs)
    x = np.zeros(bundle.milp.n_cols)
    for pk, floor in floors.items():
        e = pairs.index(pk)
        x[e] = 1.0 if chosen is None else chosen.get(pk, 1.0)
        x[n + e] = floor / bundle.floor_unit_m2
    return x


def violated(bundle, x, tol=1e-9) -> list[str]:
    m = bundle.milp
    act = m.A @ x
    bad = np.flatnonzero((act < m.row_lower - tol) | (act > m.row_upper + tol))
    return [m.row_label(int(r)) for r in bad]


def test_columns_only_for_eligible_pairs():
    sc = small()
    bundle = build_model(sc)
    assert pair_list(bundle, sc) == PAIRS
    assert ("P2", "office") not in pair_list(bundle, sc)
    assert bundle.n_pairs == 3
    m = bundle.milp
    assert m.n_cols == 6  # x and f per pair, no auxiliary totals without share rules
    assert m.integrality.tolist() == [True] * 3 + [False] * 3
    assert m.col_lower.tolist() == [0.0] * 6
    assert m.col_upper[:3].tolist() == [1.0] * 3


def test_floor_bounds():
    bundle = build_model(small())
    assert bundle.pairs.lo_m2.tolist() == pytest.approx(LO)
    assert bundle.pairs.hi_m2.tolist() == pytest.approx(HI)
    assert (bundle.milp.col_upper[3:] * bundle.floor_unit_m2).tolist() == pytest.approx(HI)
    assert np.log10(bundle.floor_unit_m2) == pytest.approx(round(np.log10(bundle.floor_unit_m2)))  # power of ten


def test_objective_coefficients_times_units_give_yuan():
    bundle = build_model(small())
    m = bundle.milp
    assert m.sense == "maximize"
    assert m.c[:3].tolist() == [0.0] * 3  # no fixed pair costs
    per_m2 = m.c[3:] * m.obj_scale / bundle.floor_unit_m2
    assert per_m2.tolist() == pytest.approx([100.0, 10.0, 10.0])
    # office 3,000 m² on P1 and works 2,000 m² on P2: 300,000 + 20,000 yuan
    x = vector(bundle, small(), {("P1", "office"): 3000, ("P2", "works"): 2000})
    assert float(m.c @ x) * m.obj_scale == pytest.approx(320_000.0)


def test_objective_with_cost_weight_and_pair_costs():
    sc = small(config={"objective": {"cost_weight": 0.5}},
               parcels=[parcel("P1", 1000, "B", 3, dev_cost_per_m2=40), parcel("P2", 2000, "M", 2)],
               pairs=[{"parcel_id": "P1", "industry_id": "office", "cost_yuan": 10_000, "value_multiplier": 2.0}])
    bundle = build_model(sc)
    x = vector(bundle, sc, {("P1", "office"): 3000, ("P2", "works"): 2000})
    # output 2 × 100 × 3,000 + 10 × 2,000 = 620,000; cost 40 × 3,000 + 10,000 = 130,000; 620,000 − 0.5 × 130,000
    assert float(bundle.milp.c @ x) * bundle.milp.obj_scale == pytest.approx(555_000.0)


def test_a_valid_plan_meets_every_row():
    sc = small()
    bundle = build_model(sc)
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 3000, ("P2", "works"): 2000})) == []
    assert violated(bundle, vector(bundle, sc, {("P1", "works"): 500})) == []
    assert violated(bundle, np.zeros(bundle.milp.n_cols)) == []


def test_rows_name_the_rules_a_broken_vector_violates():
    sc = small()
    bundle = build_model(sc)
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 3500})) == [
        "most floor (FAR cap) of office on parcel P1"]
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 500})) == ["least floor of office on parcel P1"]
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 2000, ("P1", "works"): 800})) == [
        "parcel P1: at most one industry"]
    # floor without choosing the pair
    assert violated(bundle, vector(bundle, sc, {("P2", "works"): 1500}, chosen={("P2", "works"): 0.0})) == [
        "most floor (FAR cap) of works on parcel P2"]


def test_row_families_and_labels():
    sc = small(
        {"office": {"min_share": 0.2, "max_sites": 1}, "works": {"max_floor_total_m2": 1500, "max_share": 0.9,
                                                               "min_sites": 1}},
        config={"rules": {"total_budget_yuan": 300_000.0, "industry_budget_yuan": {"office": 5000.0}},
                "subarea_mix": [{"subarea": "s1", "industry": "works", "min_share": 0.1}],
                "metric_rules": [{"metric": "teams", "min": 5.0}]},
        parcels=[parcel("P1", 1000, "B", 3, dev_cost_per_m2=100), parcel("P2", 2000, "M", 2, dev_cost_per_m2=50,
                                                                          must_develop=True)],
        pairs=[{"parcel_id": "P1", "industry_id": "office", "cost_yuan": 2000}],
    )
    bundle = build_model(sc)
    m = bundle.milp
    labels = {b.family: [b.label(i) for i in range(b.size)] for b in m.blocks}
    assert labels["one_use"] == ["parcel P1: at most one industry", "parcel P2: exactly one industry (must_develop)"]
    assert labels["floor_min"] == ["least floor of office on parcel P1", "least floor of works on parcel P1",
                                   "least floor of works on parcel P2"]
    assert labels["floor_max"][0] == "most floor (FAR cap) of office on parcel P1"
    assert labels["demand"] == ["demand bounds of works: total floor ≤ 1,500 m²"]
    assert labels["share_min"] == ["office share of all floor at least 20.0%"]
    assert labels["share_max"] == ["works share of all floor at most 90.0%"]
    assert sorted(labels["sites"]) == ["number of office sites in [0, 1]", "number of works sites in [1, inf]"]
    assert labels["budget_total"] == ["total development budget ≤ 300,000 yuan"]
    assert labels["budget_industry"] == ["budget of office over pair costs ≤ 5,000 yuan"]
    assert labels["subarea_mix"] == ["works share of sub-area s1's floor at least 10.0%"]
    assert labels["metric"] == ["total teams ≥ 5"]
    elastic = {b.family for b in m.blocks if b.elastic}
    assert {"demand", "share_min", "share_max", "sites", "budget_total", "budget_industry", "subarea_mix",
            "metric"} <= elastic
    assert not {"one_use", "floor_min", "floor_max"} & elastic
    # blocks tile the rows; row_label agrees with the blocks
    starts = sorted((b.start, b.size) for b in m.blocks)
    assert starts[0][0] == 0 and sum(s for _, s in starts) == m.n_rows
    assert all(a + s == b for (a, s), (b, _) in zip(starts, starts[1:], strict=False))
    for b in m.blocks:
        assert m.row_label(b.start) == b.label(0)


def test_demand_row_hand_computed():
    sc = small({"works": {"max_floor_total_m2": 1500}})
    bundle = build_model(sc)
    m = bundle.milp
    (block,) = [b for b in m.blocks if b.family == "demand"]
    row = m.A[block.start].toarray().ravel()
    n = bundle.n_pairs
    # only the f columns of works' pairs (1 and 2), with equal coefficients
    assert np.flatnonzero(row).tolist() == [n + 1, n + 2]
    assert row[n + 1] == pytest.approx(row[n + 2])
    assert m.row_upper[block.start] / row[n + 1] * bundle.floor_unit_m2 == pytest.approx(1500.0)
    assert m.row_lower[block.start] == -np.inf
    assert violated(bundle, vector(bundle, sc, {("P2", "works"): 2000})) == [
        "demand bounds of works: total floor ≤ 1,500 m²"]
    assert violated(bundle, vector(bundle, sc, {("P2", "works"): 1500})) == []


def test_budget_row_hand_computed():
    sc = small(config={"rules": {"total_budget_yuan": 300_000.0}},
               parcels=[parcel("P1", 1000, "B", 3, dev_cost_per_m2=100), parcel("P2", 2000, "M", 2, dev_cost_per_m2=50)],
               pairs=[{"parcel_id": "P1", "industry_id": "office", "cost_yuan": 2000}])
    bundle = build_model(sc)
    # 100 × 2,980 + 2,000 = 300,000: exactly on budget; 100 × 3,000 + 2,000 = 302,000: over
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 2980})) == []
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 3000})) == ["total development budget ≤ 300,000 yuan"]
    # works on P1 (1,000 m², 100,000) and P2 (2,000 m², 100,000): 200,000
    assert violated(bundle, vector(bundle, sc, {("P1", "works"): 1000, ("P2", "works"): 2000})) == []


def test_share_rows_hand_computed():
    sc = small({"office": {"min_share": 0.5}})
    bundle = build_model(sc)
    (block,) = [b for b in bundle.milp.blocks if b.family == "share_min"]
    # the share row holds office's f columns and one total-floor column: Σ f_office − 0.5 T ≥ 0
    row = bundle.milp.A[block.start].toarray().ravel()
    n = bundle.n_pairs
    assert np.flatnonzero(row[: 2 * n]).tolist() == [n + 0]
    assert bundle.milp.n_cols == 2 * n + 1
    (t,) = np.flatnonzero(row[2 * n:]) + 2 * n
    assert row[t] / row[n] == pytest.approx(-0.5)


def test_subarea_floor_rows_hand_computed():
    # all industries in s1 (both parcels) at least 2,500 m²; office in s1 at most 2,000 m²
    sc = small(config={"subarea_mix": [{"subarea": "s1", "industry": "*", "min_floor_m2": 2500},
                                       {"subarea": "s1", "industry": "office", "max_floor_m2": 2000}]})
    bundle = build_model(sc)
    labels = [b.label(i) for b in bundle.milp.blocks if b.family == "subarea_mix" for i in range(b.size)]
    assert labels == ["floor of all industries in sub-area s1 in [2,500, inf] m²",
                      "floor of office in sub-area s1 in [0, 2,000] m²"]
    assert bundle.milp.n_cols == 2 * bundle.n_pairs  # absolute bounds need no sub-area total column
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 2000, ("P2", "works"): 1000})) == []
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 1000, ("P2", "works"): 1000})) == [
        "floor of all industries in sub-area s1 in [2,500, inf] m²"]
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 3000, ("P2", "works"): 1000})) == [
        "floor of office in sub-area s1 in [0, 2,000] m²"]


def test_ineligible_pairs_have_no_column():
    sc = small({"works": {"min_floor_m2": 1500}},  # works on P1 holds at most 1,000 m²: too small
               pairs=[{"parcel_id": "P1", "industry_id": "office", "eligible": False}])
    assert pair_list(build_model(sc), sc) == [("P2", "works")]
    sc = small(config={"subarea_allow": [{"subarea": "s1", "industries": ["office"]}]})
    assert pair_list(build_model(sc), sc) == [("P1", "office")]


def test_eligibility_matches_the_zoning_rules_on_a_grid():
    sc = small(parcels=[parcel(f"Q{i}", 1000, z, 2) for i, z in enumerate(["B", "M", "X", "B", "M"])])
    pairs = eligible_pairs(sc)
    got = set(zip(pairs.parcel.tolist(), pairs.industry.tolist(), strict=True))
    zones = ["B", "M", "X", "B", "M"]
    allowed = {0: {"B"}, 1: {"B", "M"}}
    assert got == {(p, k) for p, z in enumerate(zones) for k in (0, 1) if z in allowed[k]}


def test_build_does_not_mutate_the_scenario():
    sc = small({"office": {"min_share": 0.2}}, config={"rules": {"total_budget_yuan": 1e6}})
    before = (sc.parcels.copy(), sc.industries.copy(), sc.compatibility.copy())
    build_model(sc)
    for a, b in zip(before, (sc.parcels, sc.industries, sc.compatibility), strict=True):
        assert a.equals(b)


def test_industry_without_eligible_parcel_but_with_a_rule():
    # regression: row scaling (np.maximum.reduceat over A.indptr[:-1]) raised IndexError on empty last rows;
    # works has a site cap but no parcel allows it; its sites row is empty and comes last
    sc = make_scenario([parcel("P1", 1000, "B", 2)],
                       [industry("office", 100, "B", 1, 2), industry("works", 10, "M", 1, 2, max_sites=2)])
    bundle = build_model(sc)
    assert bundle.n_pairs == 1
    assert violated(bundle, vector(bundle, sc, {("P1", "office"): 2000})) == []


@pytest.mark.parametrize("rule", [{"max_sites": 2}, {"max_floor_total_m2": 100.0}, "budget"])
def test_no_eligible_pair_but_a_rule_row(rule):
    # zone G allows nothing: no pair, no column; the rule still makes a row
    sc = make_scenario([parcel("P1", 1000, "G", 2)],
                       [industry("office", 100, "B", 1, 2, **(rule if isinstance(rule, dict) else {}))],
                       {"rules": {"total_budget_yuan": 1e6}} if rule == "budget" else None)
    bundle = build_model(sc)
    assert bundle.n_pairs == 0 and bundle.milp.n_cols == 0
