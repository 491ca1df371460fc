"""build_model(scenario) -> ModelBundle: the MILP plus what a decoder needs. One function per rule family.

Columns: x[e] (binary, pair e chosen) for e in 0..n-1, then f[e] (floor area of pair e, in floor units), then a
few auxiliary totals (all floor, floor per sub-area) that keep share rows sparse.
Floor is measured in `floor_unit_m2` and money in `money_unit_yuan`, powers of ten chosen from the data so that
coefficients sit near 1; every row is then divided by its largest coefficient.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.data import Scenario
from optimizer.model.eligibility import PairSet, eligible_pairs, must_be_developed
from optimizer.model.milp import MILP, RowBlock
from optimizer.model.neighbours import add_neighbour_rules
from optimizer.model.phasing import phase_rows

INF = np.inf


@dataclass(frozen=True)
class ModelBundle:
    """The MILP together with the pairs behind its columns and the units it uses."""

    milp: MILP
    pairs: PairSet
    floor_unit_m2: float
    money_unit_yuan: float
    build_s: float
    row_natural: np.ndarray | None = None  # per row: natural units (the block's unit) per unit of the scaled row
    denominator: np.ndarray | None = None  # output_per_land: developed land (m²) per unit of each column

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)


@dataclass
class _Rows:
    """Accumulates row blocks as COO triplets (local row, column, value) with bounds."""

    rows: list
    cols: list
    vals: list
    lower: list
    upper: list
    blocks: list
    n: int = 0
    n_base_cols: int = 0
    aux_upper: list | None = None
    natural: list | None = None  # per block: natural units per unscaled model unit, one value per row
    aux_cost: list | None = None  # (first auxiliary position, objective in model units) of new_cols blocks

    def new_cols(self, upper: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Many auxiliary columns at once (neighbour pair variables), with their objective in model units."""
        first = len(self.aux_upper)
        self.aux_upper.extend(np.asarray(upper, dtype=float).tolist())
        self.aux_cost = (self.aux_cost or []) + [(first, np.asarray(cost, dtype=float))]
        return self.n_base_cols + first + np.arange(len(upper))

    def new_col(self, upper: float) -> int:
        """An auxiliary continuous column (a total that several rows share), placed after x and f.

        Give it the finite upper bound that its definition implies (decomposition methods rely on it)."""
        self.aux_upper.append(upper)
        return self.n_base_cols + len(self.aux_upper) - 1

    def define_total(self, family: str, col: int, members: np.ndarray, label: str) -> None:
        """Row: col − Σ members = 0 (members are columns with coefficient 1)."""
        m = len(members)
        self.add(family, np.zeros(m + 1, dtype=np.int64), np.concatenate([[col], members]),
                 np.concatenate([[1.0], -np.ones(m)]), np.zeros(1), np.zeros(1), lambda i: label)

    def add(self, family: str, r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            label, elastic: bool = False, unit: str = "", natural: float = 1.0) -> None:
        """A block of rows; `natural` converts one unit of an (unscaled) row into its `unit` (e.g. the floor unit
        in m² for a floor row), so that slacks and marginal values can be told in the planner's units."""
        size = len(lo)
        if size == 0:
            return
        self.rows.append(np.asarray(r, dtype=np.int64) + self.n)
        self.cols.append(np.asarray(c, dtype=np.int64))
        self.vals.append(np.asarray(v, dtype=float))
        self.lower.append(np.asarray(lo, dtype=float))
        self.upper.append(np.asarray(hi, dtype=float))
        self.blocks.append(RowBlock(family, self.n, size, label, elastic, unit))
        self.natural.append(np.broadcast_to(np.asarray(natural, dtype=float), (size,)))
        self.n += size


def _pow10(values: np.ndarray) -> float:
    v = np.abs(values[np.isfinite(values) & (values != 0)])
    return float(10.0 ** np.round(np.log10(np.median(v)))) if len(v) else 1.0


def _fmt(v: float) -> str:
    """A bound as a planner reads it: whole numbers in full with thousands separators (60,000,000,000)."""
    if np.isfinite(v) and v == round(v) and abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:,.6g}"


def objective_coefficients(sc: Scenario, pairs: PairSet) -> tuple[np.ndarray, np.ndarray]:
    """The objective per pair in natural units: (per choice x, per m² of floor f).

    "total_output" and the numerator of "output_per_land": output − cost_weight × cost, in yuan a year.
    "weighted": Σ weight × KPI contribution (KPIs as compute_kpis measures them).
    """
    ob = sc.objective
    # with phases (optimizer.model.phasing), output is discounted over its years of operation and spending at
    # its phase's start; the other KPIs of a weighted objective are those of the end state
    phased = pairs.weight is not None
    out_f = pairs.weight * pairs.value_per_m2 if phased else pairs.value_per_m2
    out_x = pairs.weight * pairs.fixed_output + pairs.carry_yuan if phased else pairs.fixed_output
    disc = pairs.spend_discount if phased else 1.0
    if ob.kind != "weighted":
        w = ob.cost_weight
        return out_x - w * disc * pairs.fixed_cost, out_f - w * disc * pairs.cost_per_m2
    ind = sc.industries
    cx, cf = np.zeros(len(pairs)), np.zeros(len(pairs))
    for name, wt in ob.weights.items():
        if name == "output":
            cf += wt * out_f
            cx += wt * out_x
        elif name == "jobs":
            cf += wt * ind["jobs_per_m2"].to_numpy(float)[pairs.industry]
        elif name == "floor":
            cf += wt
        elif name == "developed_land":
            cx += wt * sc.parcels["area_m2"].to_numpy(float)[pairs.parcel]
        elif name == "cost":
            cf += wt * disc * pairs.cost_per_m2
            cx += wt * disc * pairs.fixed_cost
        else:  # a metric, on usable floor as the KPIs count it
            cf += wt * _metric_rates(sc, name, ())[pairs.industry]
    return cx, cf


def model_units(sc: Scenario, pairs: PairSet) -> tuple[float, float]:
    """(floor unit in m², money unit in yuan): powers of ten near the data's typical floor and objective values."""
    fu = _pow10(pairs.hi_m2)
    cx_nat, cf_nat = objective_coefficients(sc, pairs)
    return fu, _pow10(np.concatenate([cf_nat * fu, cx_nat]))


def build_model(sc: Scenario, pairs: PairSet | None = None, units: tuple[float, float] | None = None) -> ModelBundle:
    """Build the canonical MILP of a scenario (vectorised; no loop over parcels or pairs).

    For "output_per_land" the MILP's objective is the numerator (output) and `denominator` holds the developed
    land per column; solvers.fractional solves the ratio as a sequence of MILPs on this one model.
    `units`: (floor unit, money unit) to use instead of the data's own (`model_units`), e.g. one pair for all the
    parcel chunks of a large scenario (optimizer.chunked).
    """
    t0 = time.perf_counter()
    pairs = eligible_pairs(sc) if pairs is None else pairs
    n = len(pairs)
    fu, mu = model_units(sc, pairs) if units is None else (float(units[0]), float(units[1]))
    cx_nat, cf_nat = objective_coefficients(sc, pairs)
    val_per_unit = cf_nat * fu
    X = np.arange(n)  # x columns
    F = n + X  # f columns
    par, ind = sc.parcels, sc.industries
    pid = par["parcel_id"].to_numpy(str)
    kid = ind["industry_id"].to_numpy(str)
    R = _Rows([], [], [], [], [], [], n_base_cols=2 * n, aux_upper=[], natural=[])

    _one_use(R, sc, pairs, X, pid)
    _floor_link(R, pairs, X, F, fu, pid, kid)
    _demand(R, sc, pairs, F, fu, kid)
    _shares(R, sc, pairs, F, fu, kid)
    _sites(R, sc, pairs, X, kid)
    _budgets(R, sc, pairs, X, F, fu, mu, kid)
    _subarea_mix(R, sc, pairs, F, fu)
    _metrics(R, sc, pairs, F, fu)
    _objective_floors(R, sc, pairs, F, fu)
    phase_rows(R, sc, pairs, X, F, fu, mu, _metric_rates)
    add_neighbour_rules(R, sc, pairs, X, F, fu, mu)

    n_cols = 2 * n + len(R.aux_upper)
    if R.n:
        A = sp.csr_matrix((np.concatenate(R.vals), (np.concatenate(R.rows), np.concatenate(R.cols))),
                          shape=(R.n, n_cols))
        lower, upper = np.concatenate(R.lower), np.concatenate(R.upper)
        natural = np.concatenate(R.natural)
    else:
        A, lower, upper, natural = sp.csr_matrix((0, n_cols)), np.zeros(0), np.zeros(0), np.zeros(0)
    A.sum_duplicates()
    # row scaling: largest |coefficient| of each row becomes 1 (empty rows keep 1)
    if A.shape[0] and A.shape[1]:
        row_max = abs(A).max(axis=1).toarray().ravel()
    else:
        row_max = np.ones(A.shape[0])
    row_max[row_max == 0] = 1.0
    A = sp.diags(1.0 / row_max) @ A
    lower, upper = lower / row_max, upper / row_max

    n_aux = len(R.aux_upper)
    c_aux = np.zeros(n_aux)
    for first, cost in R.aux_cost or ():  # neighbour pair variables' synergy
        c_aux[first:first + len(cost)] = cost
    c = np.concatenate([cx_nat / mu, val_per_unit / mu, c_aux])
    milp = MILP(
        c=c, A=A.tocsr(), row_lower=lower, row_upper=upper,
        col_lower=np.zeros(n_cols),
        col_upper=np.concatenate([np.ones(n), pairs.hi_m2 / fu, np.array(R.aux_upper, dtype=float)]),
        integrality=np.concatenate([np.ones(n, bool), np.zeros(n + n_aux, bool)]),
        sense=sc.objective.sense, blocks=tuple(R.blocks), obj_scale=mu,
    )
    denominator = None
    if sc.objective.kind == "output_per_land":
        denominator = np.zeros(n_cols)
        denominator[:n] = sc.parcels["area_m2"].to_numpy(float)[pairs.parcel]
    return ModelBundle(milp, pairs, fu, mu, time.perf_counter() - t0, row_natural=natural * row_max,
                       denominator=denominator)


# --- rule families ------------------------------------------------------------------------------------------
def _one_use(R: _Rows, sc: Scenario, pairs: PairSet, X, pid) -> None:
    """At most one industry per parcel; exactly one where must_develop or where a use exists (it is kept,
    intensified or converted, never left empty)."""
    parcels_with, row_of_pair = np.unique(pairs.parcel, return_inverse=True)
    must = must_be_developed(sc)[parcels_with]
    lo = np.where(must, 1.0, -INF)
    ids = pid[parcels_with]
    R.add("one_use", row_of_pair, X, np.ones(len(X)), lo, np.ones(len(parcels_with)),
          lambda i: f"parcel {ids[i]}: {'exactly' if must[i] else 'at most'} one industry"
          + (" (must_develop)" if must[i] else ""), elastic=False)
    # must_develop parcels without any eligible pair are caught before solving (see model.precheck)


def _floor_link(R: _Rows, pairs: PairSet, X, F, fu, pid, kid) -> None:
    """lo·x ≤ f ≤ hi·x: a chosen pair's floor lies in its density range; an unchosen pair has none."""
    n = len(X)
    has_lo = np.flatnonzero(pairs.lo_m2 > 0)
    r = np.arange(len(has_lo))
    R.add("floor_min", np.concatenate([r, r]), np.concatenate([F[has_lo], X[has_lo]]),
          np.concatenate([np.ones(len(has_lo)), -pairs.lo_m2[has_lo] / fu]),
          np.zeros(len(has_lo)), np.full(len(has_lo), INF),
          lambda i: f"least floor of {kid[pairs.industry[has_lo[i]]]} on parcel {pid[pairs.parcel[has_lo[i]]]}",
          unit="m2", natural=fu)
    r = np.arange(n)
    R.add("floor_max", np.concatenate([r, r]), np.concatenate([F, X]),
          np.concatenate([np.ones(n), -pairs.hi_m2 / fu]), np.full(n, -INF), np.zeros(n),
          lambda i: f"most floor (FAR cap) of {kid[pairs.industry[i]]} on parcel {pid[pairs.parcel[i]]}",
          unit="m2", natural=fu)


def _industry_rows(pairs: PairSet, ks: np.ndarray):
    """Map pairs whose industry is in `ks` to a row number (position in ks)."""
    pos = np.full(pairs.n_industries, -1)
    pos[ks] = np.arange(len(ks))
    r = pos[pairs.industry]
    sel = np.flatnonzero(r >= 0)
    return sel, r[sel]


def _demand(R: _Rows, sc: Scenario, pairs: PairSet, F, fu, kid) -> None:
    lo = sc.industries["min_floor_total_m2"].to_numpy(float)
    hi = sc.industries["max_floor_total_m2"].to_numpy(float)
    ks = np.flatnonzero(~np.isnan(lo) | ~np.isnan(hi))
    sel, r = _industry_rows(pairs, ks)
    lo_k, hi_k = np.nan_to_num(lo[ks], nan=-INF), np.nan_to_num(hi[ks], nan=INF)

    def label(i: int) -> str:
        parts = []
        if np.isfinite(lo_k[i]):
            parts.append(f"≥ {_fmt(lo_k[i])} m²")
        if np.isfinite(hi_k[i]):
            parts.append(f"≤ {_fmt(hi_k[i])} m²")
        return f"demand bounds of {kid[ks[i]]}: total floor {' and '.join(parts)}"

    R.add("demand", r, F[sel], np.ones(len(sel)), lo_k / fu, hi_k / fu, label, elastic=True, unit="m2",
          natural=fu)


def _shares(R: _Rows, sc: Scenario, pairs: PairSet, F, fu, kid) -> None:
    """share_min·T ≤ Σf_k ≤ share_max·T, with T = Σf the total floor (one auxiliary column)."""
    s_min = sc.industries["min_share"].to_numpy(float)
    s_max = sc.industries["max_share"].to_numpy(float)
    if np.isnan(s_min).all() and np.isnan(s_max).all():
        return
    T = R.new_col(float(pairs.hi_m2.sum() / fu))
    R.define_total("total_floor", T, F, "definition of total floor")
    for s, family, lo, hi, word in ((s_min, "share_min", 0.0, INF, "at least"),
                                    (s_max, "share_max", -INF, 0.0, "at most")):
        ks = np.flatnonzero(~np.isnan(s))
        sel, r = _industry_rows(pairs, ks)
        R.add(family, np.concatenate([r, np.arange(len(ks))]), np.concatenate([F[sel], np.full(len(ks), T)]),
              np.concatenate([np.ones(len(sel)), -s[ks]]), np.full(len(ks), lo), np.full(len(ks), hi),
              lambda i, ks=ks, s=s, word=word: f"{kid[ks[i]]} share of all floor {word} {s[ks[i]]:.1%}",
              elastic=True, unit="m2", natural=fu)


def _sites(R: _Rows, sc: Scenario, pairs: PairSet, X, kid) -> None:
    lo = sc.industries["min_sites"].to_numpy(float)
    hi = sc.industries["max_sites"].to_numpy(float)
    ks = np.flatnonzero(~np.isnan(lo) | ~np.isnan(hi))
    sel, r = _industry_rows(pairs, ks)
    lo_k, hi_k = np.nan_to_num(lo[ks], nan=-INF), np.nan_to_num(hi[ks], nan=INF)
    R.add("sites", r, X[sel], np.ones(len(sel)), lo_k, hi_k,
          lambda i: f"number of {kid[ks[i]]} sites in [{_fmt(max(lo_k[i], 0))}, {_fmt(hi_k[i])}]", elastic=True,
          unit="sites")


def _budgets(R: _Rows, sc: Scenario, pairs: PairSet, X, F, fu, mu, kid) -> None:
    B = sc.rules.total_budget_yuan
    if np.isfinite(B):
        n = len(pairs)
        r = np.zeros(2 * n, dtype=np.int64)
        R.add("budget_total", r, np.concatenate([X, F]),
              np.concatenate([pairs.fixed_cost / mu, pairs.cost_per_m2 * fu / mu]),
              np.array([-INF]), np.array([B / mu]),
              lambda i: f"total development budget ≤ {_fmt(B)} yuan", elastic=True, unit="yuan", natural=mu)
    if sc.rules.industry_budget_yuan:
        kidx = sc.industry_index()
        names = list(sc.rules.industry_budget_yuan)
        ks = np.array([kidx[k] for k in names])
        caps = np.array([sc.rules.industry_budget_yuan[k] for k in names])
        sel, r = _industry_rows(pairs, ks)
        R.add("budget_industry", r, X[sel], pairs.cost_fixed_yuan[sel] / mu, np.full(len(ks), -INF), caps / mu,
              lambda i: f"budget of {names[i]} over pair costs ≤ {_fmt(caps[i])} yuan", elastic=True, unit="yuan",
              natural=mu)


def _subarea_mix(R: _Rows, sc: Scenario, pairs: PairSet, F, fu) -> None:
    """Per rule: Σ_{p∈s} f_{p,k} − share·S_s ≥ 0 (min) or ≤ 0 (max), with S_s the sub-area's total floor
    (an auxiliary column), and/or min_floor ≤ Σ_{p∈s} f_{p,k} ≤ max_floor."""
    rules = sc.rules.subarea_mix
    if not rules:
        return
    kidx = sc.industry_index()
    sub = sc.parcels["subarea"].to_numpy(str)[pairs.parcel]
    totals: dict[str, int] = {}
    for name in dict.fromkeys(r.subarea for r in rules if not (np.isnan(r.min_share) and np.isnan(r.max_share))):
        members = np.flatnonzero(sub == name)  # a handful of sub-areas, vectorised inside
        totals[name] = R.new_col(float(pairs.hi_m2[members].sum() / fu))
        R.define_total("subarea_floor", totals[name], F[members], f"definition of {name}'s total floor")
    rows, cols, vals, lo, hi, labels = [], [], [], [], [], []

    def add(c, v, lo_b, hi_b, label):
        rows.append(np.full(len(c), len(lo)))
        cols.append(c)
        vals.append(v)
        lo.append(lo_b)
        hi.append(hi_b)
        labels.append(label)

    for rule in rules:
        in_s = sub == rule.subarea
        own = np.flatnonzero(in_s & (pairs.industry == kidx[rule.industry])) if rule.industry else np.flatnonzero(in_s)
        what = rule.industry or "all industries"
        for share, lo_b, hi_b, word in ((rule.min_share, 0.0, INF, "at least"),
                                        (rule.max_share, -INF, 0.0, "at most")):
            if not np.isnan(share):
                add(np.concatenate([F[own], [totals[rule.subarea]]]), np.concatenate([np.ones(len(own)), [-share]]),
                    lo_b, hi_b, f"{what} share of sub-area {rule.subarea}'s floor {word} {share:.1%}")
        if not (np.isnan(rule.min_floor_m2) and np.isnan(rule.max_floor_m2)):
            lo_m2 = -INF if np.isnan(rule.min_floor_m2) else rule.min_floor_m2
            hi_m2 = INF if np.isnan(rule.max_floor_m2) else rule.max_floor_m2
            add(F[own], np.ones(len(own)), lo_m2 / fu, hi_m2 / fu,
                f"floor of {what} in sub-area {rule.subarea} in [{_fmt(max(lo_m2, 0))}, {_fmt(hi_m2)}] m²")
    R.add("subarea_mix", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.array(lo),
          np.array(hi), lambda i: labels[i], elastic=True, unit="m2", natural=fu)


def _metric_rates(sc: Scenario, metric: str, industries: tuple[str, ...]) -> np.ndarray:
    """Per-industry metric per m² of floor (rate per usable m² × usable share), zero outside `industries`."""
    ind = sc.industries
    rate = ind[f"{metric}_per_m2"].to_numpy(float) * ind["usable_share"].to_numpy(float)
    if industries:
        rate = np.where(np.isin(ind["industry_id"].to_numpy(str), list(industries)), rate, 0.0)
    return rate


def _metrics(R: _Rows, sc: Scenario, pairs: PairSet, F, fu) -> None:
    rules = sc.rules.metric_rules
    if not rules:
        return
    rows, cols, vals, lo, hi, labels = [], [], [], [], [], []
    for i, rule in enumerate(rules):
        rate = _metric_rates(sc, rule.metric, rule.industries)[pairs.industry] * fu
        nz = np.flatnonzero(rate)
        rows.append(np.full(len(nz), i))
        cols.append(F[nz])
        vals.append(rate[nz])
        lo.append(-INF if np.isnan(rule.min) else rule.min)
        hi.append(INF if np.isnan(rule.max) else rule.max)
        bounds = " and ".join(p for p in (f"≥ {_fmt(rule.min)}" if not np.isnan(rule.min) else "",
                                          f"≤ {_fmt(rule.max)}" if not np.isnan(rule.max) else "") if p)
        labels.append(f"total {rule.metric} {bounds}")
    R.add("metric", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.array(lo), np.array(hi),
          lambda i: labels[i], elastic=True, unit="metric")


def _objective_floors(R: _Rows, sc: Scenario, pairs: PairSet, F, fu) -> None:
    """The objective's floors: total output, jobs and metric totals every plan must reach (KPI definitions)."""
    ob = sc.objective
    floors = []  # (name, rate per m² of floor per pair, least total, unit)
    if np.isfinite(ob.min_total_output_yuan):
        floors.append(("output", pairs.value_per_m2, ob.min_total_output_yuan, "yuan"))
    if np.isfinite(ob.min_jobs):
        floors.append(("jobs", sc.industries["jobs_per_m2"].to_numpy(float)[pairs.industry], ob.min_jobs, "jobs"))
    for metric, least in ob.metric_min.items():
        floors.append((metric, _metric_rates(sc, metric, ())[pairs.industry], least, metric))
    X = F - len(pairs)
    for name, rate, least, unit in floors:
        nz = np.flatnonzero(rate)
        scale = _pow10(rate[nz] * fu) if len(nz) else 1.0  # the row in units near 1
        fx = np.flatnonzero(pairs.fixed_output) if name == "output" else np.zeros(0, np.int64)  # existing output
        R.add("objective_floor", np.zeros(len(nz) + len(fx), dtype=np.int64), np.r_[F[nz], X[fx]],
              np.r_[rate[nz] * fu, pairs.fixed_output[fx]] / scale,
              np.array([least / scale]), np.array([INF]),
              lambda i, name=name, least=least, unit=unit: f"objective floor: total {name} ≥ {_fmt(least)} {unit}",
              elastic=True, unit=unit, natural=scale)


def with_rows(bundle: ModelBundle, family: str, A_rows: sp.spmatrix, lower: np.ndarray, upper: np.ndarray,
              labels: list[str], unit: str = "") -> ModelBundle:
    """The model with a block of extra rows (e.g. a question asked of a plan) appended, scaled like the rest."""
    from dataclasses import replace

    m = bundle.milp
    A_rows = sp.csr_matrix(A_rows)
    row_max = abs(A_rows).max(axis=1).toarray().ravel() if A_rows.nnz else np.ones(A_rows.shape[0])
    row_max[row_max == 0] = 1.0
    scaled = sp.diags(1.0 / row_max) @ A_rows
    block = RowBlock(family, m.n_rows, A_rows.shape[0], lambda i: labels[i], False, unit)
    milp = replace(m, A=sp.vstack([m.A, scaled]).tocsr(),
                   row_lower=np.r_[m.row_lower, np.asarray(lower, float) / row_max],
                   row_upper=np.r_[m.row_upper, np.asarray(upper, float) / row_max], blocks=(*m.blocks, block))
    natural = bundle.row_natural if bundle.row_natural is not None else np.ones(m.n_rows)
    return replace(bundle, milp=milp, row_natural=np.r_[natural, row_max])
