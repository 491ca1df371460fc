"""Neighbour rule families: synergy (agglomeration bonus or penalty), separation (buffers) and clusters.

Everything works on PairSet *entries*: a (parcel, industry) pair may have several entries (one per phase), so
rows and pair variables are built over entries grouped by (parcel, industry), never assuming one entry per pair.
For neighbouring parcels p, q (an edge of Scenario.neighbours) and entries e1 of (p, a), e2 of (q, b):

* synergy per pair, bonus B yuan a year, counted as objective c = B·min(w_e1, w_e2) (w: PairSet.weight, 1 without
  phases): a continuous y ∈ [0, 1]; rewarded (c helps the objective) y ≤ x_e1, y ≤ x_e2; penalised
  y ≥ x_e1 + x_e2 − 1. With binary x both are exact (y = x_e1·x_e2 at any optimum).
* synergy per m² of the smaller floor (rewarded only): a continuous z ∈ [0, min(hi_e1, hi_e2)] with z ≤ f_e1,
  z ≤ f_e2 and z ≤ min(hi)·x_e for the entry whose own cap is the larger (the other side follows from
  f ≤ hi·x); z = min(f_e1, f_e2) at any optimum.
* the rewarded rows y ≤ x_e and z ≤ f_e are summed per side over the rules (`_SideRows`): one row per parcel,
  industry (and phase) and neighbour.
* separation: x_e1 + x_e2 ≤ 1 for every entry combination of a forbidden pair (neighbours, or within D metres).
* clusters (industry k, at least S sites or A m² of floor per connected group of k's sites): seed rows
  x_e ≤ Σ_{q ∈ N(p)} Σ_{e' of (q, k)} x_e' for every entry e of (p, k) when S ≥ 2 or e's own cap is below A; the
  remaining small groups are cut off lazily (`cluster_cuts`, called by the pipeline until none is left).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from optimizer.data import Scenario
from optimizer.errors import ScenarioError
from optimizer.model.eligibility import PairSet

INF = np.inf


class _Entries:
    """Entries grouped by (industry, parcel): for an industry k, the entries of (p, k) for any parcels p."""

    def __init__(self, pairs: PairSet):
        self.n_p = pairs.n_parcels
        key = pairs.industry.astype(np.int64) * self.n_p + pairs.parcel
        self.order = np.argsort(key, kind="stable")
        self.key_sorted = key[self.order]
        self._per_k: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, k: int, parcels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, count) into `order` of the entries of (p, k) for each p in `parcels`."""
        if k not in self._per_k:  # per industry, a start and a count per parcel (a table lookup, no search)
            k0 = np.int64(k) * self.n_p
            lo, hi = np.searchsorted(self.key_sorted, [k0, k0 + self.n_p])
            cnt = np.bincount(self.key_sorted[lo:hi] - k0, minlength=self.n_p)
            self._per_k[k] = (lo + np.cumsum(cnt) - cnt, cnt)
        start, cnt = self._per_k[k]
        parcels = np.asarray(parcels, np.int64)
        return start[parcels], cnt[parcels]

    def combos(self, ka: int, kb: int, u: np.ndarray, v: np.ndarray):
        """Every entry combination (e1 of (u, ka), e2 of (v, kb)) over the edges (u, v), vectorised.

        Returns (e1, e2, edge) with `edge` the position of the edge each combination comes from."""
        sa, na = self.of(ka, u)
        sb, nb = self.of(kb, v)
        cnt = na * nb
        edge = np.repeat(np.arange(len(u)), cnt)
        if len(edge) == 0:
            z = np.zeros(0, np.int64)
            return z, z, z
        within = np.arange(len(edge)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        i, j = within // nb[edge], within % nb[edge]
        return self.order[sa[edge] + i], self.order[sb[edge] + j], edge


def _directed(edges: np.ndarray, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edges (a < b) as directed (u, v): both ways for two different industries, one way for the same one."""
    a, b = edges[:, 0], edges[:, 1]
    return (a, b) if same else (np.r_[a, b], np.r_[b, a])


class _SideRows:
    """The rewarded synergy rows, aggregated per side: for a parcel p with industry a (by the end of phase t) and a
    neighbour q, Σ_b v(a on p, b on q) ≤ Σ_{e of (p, a), phase(e) ≤ t} (f_e, or x_e for a per-pair bonus), one row
    over every pair variable v of p's side (every rule (a, b); the two bases kept apart).

    Valid because q carries at most one industry: of the variables in the sum, only the one whose b is q's
    industry can be positive (and each rule (a, b) has one variable per edge and direction: the loader refuses a
    rule given twice, as a,b and b,a). It replaces v ≤ Σ f_e (or x_e) per variable and is much tighter: a
    relaxation that splits q between industries b and b' can no longer count p's floor once with each of them
    (on Qianhai's phased scenario the LP bound fell from 0.21 % to 0.04 % above the best plan).
    """

    def __init__(self, n_p: int, n_k: int, n_t: int):
        self.radix = (n_p, n_k, n_t)
        self.var_cols, self.var_keys, self.ent_keys, self.ents = [], [], [], []

    def key(self, p, k, t, q) -> np.ndarray:
        """(side, neighbour) as two integer columns: (p·n_k + k)·n_t + t, and q."""
        n_p, n_k, n_t = self.radix
        side = (np.asarray(p, np.int64) * n_k + np.asarray(k, np.int64)) * n_t + np.asarray(t, np.int64)
        return np.c_[side, np.asarray(q, np.int64)]

    def add(self, cols: np.ndarray, p: np.ndarray, k: int, t: int, q: np.ndarray, member: np.ndarray,
            entries: np.ndarray) -> None:
        """Variables `cols` (one per edge p–q) on p's side (industry k, phase t); p's entries in their row:
        `entries`, each belonging to the variable at position `member`."""
        key = self.key(p, k, t, q)
        self.var_cols.append(np.asarray(cols, np.int64))
        self.var_keys.append(key)
        self.ent_keys.append(key[member])
        self.ents.append(np.asarray(entries, np.int64))

    def emit(self, R, family: str, entry_cols: np.ndarray, label, **unit) -> None:
        """One row per distinct side: Σ v − Σ entry_cols[e] ≤ 0. `label(p, k, t, q)` names a row."""
        if not self.var_cols:
            return
        vk, vc = np.concatenate(self.var_keys), np.concatenate(self.var_cols)
        ek, ee = np.concatenate(self.ent_keys), np.concatenate(self.ents)
        both = np.r_[vk, ek]
        n_p, n_k, n_t = self.radix
        if n_p * n_k * n_t * n_p < 2 ** 62:  # one integer per key: a 1-d sort
            keys, inv = np.unique(both[:, 0] * n_p + both[:, 1], return_inverse=True)
            keys = np.c_[keys // n_p, keys % n_p]
        else:
            keys, inv = np.unique(both, axis=0, return_inverse=True)
        inv = inv.ravel()
        rv, re_ = inv[:len(vk)], inv[len(vk):]
        ent = np.unique(re_ * np.int64(len(entry_cols)) + ee)  # each entry once a row
        ent = np.c_[ent // len(entry_cols), ent % len(entry_cols)]
        q = keys[:, 1]
        t = keys[:, 0] % n_t
        k = (keys[:, 0] // n_t) % n_k
        p = keys[:, 0] // (n_t * n_k)
        R.add(family, np.r_[rv, ent[:, 0]], np.r_[vc, entry_cols[ent[:, 1]]],
              np.r_[np.ones(len(vc)), -np.ones(len(ent))], np.full(len(keys), -INF), np.zeros(len(keys)),
              lambda i: label(int(p[i]), int(k[i]), int(t[i]), int(q[i])), **unit)


def synergy_factor(sc: Scenario) -> float:
    """Objective units per yuan of synergy: 1 (output), or the weight of output in a weighted objective."""
    ob = sc.objective
    return float(ob.weights.get("output", 0.0)) if ob.kind == "weighted" else 1.0


def add_neighbour_rules(R, sc: Scenario, pairs: PairSet, X: np.ndarray, F: np.ndarray, fu: float,
                        mu: float) -> None:
    """Every neighbour rule family of the scenario into the row accumulator (build._Rows)."""
    nb = sc.neighbours
    if nb is None or len(pairs) == 0:
        return
    ent = _Entries(pairs)
    kidx = sc.industry_index()
    pid = sc.parcels["parcel_id"].to_numpy(str)
    kid = sc.industries["industry_id"].to_numpy(str)
    if nb.synergy is not None and len(nb.synergy) and len(nb.pairs):
        _synergy(R, sc, pairs, ent, X, F, fu, mu, kidx, pid, kid)
    if nb.separation:
        _separation(R, sc, pairs, ent, X, kidx, pid, kid)
    _cluster_seeds(R, sc, pairs, ent, X, pid, kid, fu)


def _synergy(R, sc, pairs, ent, X, F, fu, mu, kidx, pid, kid) -> None:
    nb = sc.neighbours
    factor = synergy_factor(sc)
    if factor == 0.0:
        return
    if getattr(pairs, "phase", None) is not None:
        return _synergy_phased(R, sc, pairs, ent, X, F, fu, mu, kidx, pid, kid, factor)
    up = 1.0 if sc.objective.sense == "maximize" else -1.0
    w = getattr(pairs, "weight", None)
    e1s, e2s, coefs, per_m2, rule_of = [], [], [], [], []
    for r, (a, b, bonus, basis) in enumerate(zip(nb.synergy["industry_a"], nb.synergy["industry_b"],
                                                 nb.synergy["bonus"].to_numpy(float), nb.synergy["basis"],
                                                 strict=True)):
        if bonus == 0:
            continue
        u, v = _directed(nb.pairs, a == b)
        e1, e2, _ = ent.combos(kidx[a], kidx[b], u, v)
        c = np.full(len(e1), bonus * factor)
        if w is not None:
            c = c * np.minimum(w[e1], w[e2])
        if basis == "m2" and up * bonus * factor < 0:
            raise ScenarioError("a synergy per m² of the smaller floor must help the objective (a bonus when "
                                "maximising): give this penalty as basis = \"pair\"",
                                file=sc.files.get("synergy", "synergy.csv"),
                                row=int(nb.synergy["_row"].iloc[r]), field="bonus")
        e1s.append(e1)
        e2s.append(e2)
        coefs.append(c)
        per_m2.append(np.full(len(e1), basis == "m2"))
        rule_of.append(np.full(len(e1), r))
    if not e1s:
        return
    e1, e2, coef = np.concatenate(e1s), np.concatenate(e2s), np.concatenate(coefs)
    m2, rule = np.concatenate(per_m2), np.concatenate(rule_of)
    keep = coef != 0
    e1, e2, coef, m2, rule = e1[keep], e2[keep], coef[keep], m2[keep], rule[keep]
    syn = nb.synergy

    def label(kind: str, e1, e2, rule):
        def f(i: int) -> str:
            return (f"synergy {kind} of {kid[pairs.industry[e1[i]]]} on {pid[pairs.parcel[e1[i]]]} and "
                    f"{kid[pairs.industry[e2[i]]]} on {pid[pairs.parcel[e2[i]]]} "
                    f"({syn['bonus'].iloc[rule[i]]:,.6g} yuan/{'m²' if syn['basis'].iloc[rule[i]] == 'm2' else 'pair'})")
        return f

    # per pair
    sel = np.flatnonzero(~m2)
    if len(sel):
        a1, a2, c, rl = e1[sel], e2[sel], coef[sel], rule[sel]
        good = up * c > 0
        Y = R.new_cols(np.ones(len(sel)), c / mu)
        g = np.flatnonzero(good)
        if len(g):  # Σ y ≤ x_e per side (y ≤ x_e1, y ≤ x_e2, aggregated: _SideRows)
            _side_rows(pairs, Y[g], a1[g], a2[g]).emit(R, "synergy_link", X, _side_label(sc, "site", pid, kid))
        b = np.flatnonzero(~good)
        if len(b):  # y ≥ x_e1 + x_e2 − 1
            r = np.arange(len(b))
            R.add("synergy_link", np.r_[r, r, r], np.r_[Y[b], X[a1[b]], X[a2[b]]],
                  np.r_[np.ones(len(b)), -np.ones(2 * len(b))], np.full(len(b), -1.0), np.full(len(b), INF),
                  label("penalty", a1[b], a2[b], rl[b]))
    # per m² of the smaller floor
    sel = np.flatnonzero(m2)
    if len(sel):
        a1, a2, c, rl = e1[sel], e2[sel], coef[sel], rule[sel]
        h1, h2 = pairs.hi_m2[a1] / fu, pairs.hi_m2[a2] / fu
        hmin = np.minimum(h1, h2)
        Z = R.new_cols(hmin, c * fu / mu)
        # Σ z ≤ f_e per side (z ≤ f_e1, z ≤ f_e2, aggregated: _SideRows)
        _side_rows(pairs, Z, a1, a2).emit(R, "synergy_floor", F, _side_label(sc, "floor", pid, kid),
                                          unit="m2", natural=fu)
        big = np.where(h1 > h2, a1, a2)  # z ≤ min(hi)·x on the side whose own cap is larger
        t = np.flatnonzero(h1 != h2)
        if len(t):
            r = np.arange(len(t))
            R.add("synergy_floor", np.r_[r, r], np.r_[Z[t], X[big[t]]], np.r_[np.ones(len(t)), -hmin[t]],
                  np.full(len(t), -INF), np.zeros(len(t)), label("cap", a1[t], a2[t], rl[t]), unit="m2",
                  natural=fu)


def _synergy_phased(R, sc, pairs, ent, X, F, fu, mu, kidx, pid, kid, factor: float) -> None:
    """Synergy with phases, one variable per (neighbouring pair, rule, phase t) instead of one per pair of
    entries: s_t = "both sites stand by the end of phase t", with

        s_t ≤ Σ_{e of (p, a), phase(e) ≤ t} x_e,   s_t ≤ Σ_{e of (q, b), phase(e) ≤ t} x_e      (per pair)
        z_t ≤ Σ_{e of (p, a), phase(e) ≤ t} f_e,   z_t ≤ Σ_{e of (q, b), phase(e) ≤ t} f_e      (per m²)

    (summed per side over the rules: `_SideRows`; z_t ≤ min(hi)·Σ x on the side whose cap is larger) and
    objective bonus·(W_t − W_{t+1}) per unit, W_t the discounted operating years of a development made in phase
    t (W_T = 0). If both stand from phase t* on,
    s_t = 1 for t ≥ t* and the terms telescope to bonus·W_{t*} = bonus·min(w_e1, w_e2): the same objective as
    one variable per entry pair, with T instead of T² variables per pair and at least as tight a relaxation.
    A penalty per pair takes s_t ≥ Σ x_e1 + Σ x_e2 − 1 (both cumulative sums are 0 or 1: one use per parcel).
    """
    from optimizer.scenario.phases import operating_weights

    nb = sc.neighbours
    T = len(sc.phases)
    W = operating_weights(sc.phases, sc.phasing)[0]
    dW = W - np.r_[W[1:], 0.0]  # ≥ 0: the weight of "both stand by the end of t"
    up = 1.0 if sc.objective.sense == "maximize" else -1.0
    syn = nb.synergy
    phase = pairs.phase
    floor_sides = _SideRows(pairs.n_parcels, pairs.n_industries, T)
    site_sides = _SideRows(pairs.n_parcels, pairs.n_industries, T)
    for r, (a, b, bonus, basis) in enumerate(zip(syn["industry_a"], syn["industry_b"], syn["bonus"].to_numpy(float),
                                                 syn["basis"], strict=True)):
        if bonus == 0:
            continue
        if basis == "m2" and up * bonus * factor < 0:
            raise ScenarioError("a synergy per m² of the smaller floor must help the objective (a bonus when "
                                "maximising): give this penalty as basis = \"pair\"",
                                file=sc.files.get("synergy", "synergy.csv"), row=int(syn["_row"].iloc[r]),
                                field="bonus")
        u, v = _directed(nb.pairs, a == b)
        sa, na = ent.of(kidx[a], u)
        sb, nbb = ent.of(kidx[b], v)
        ok = np.flatnonzero((na > 0) & (nbb > 0))  # both sites may carry the industries
        if not len(ok):
            continue
        m = len(ok)

        def members(start, count, t, ok=ok, m=m):
            """(variable position, entry) for the entries of each kept edge's side with phase ≤ t."""
            cnt = count[ok]
            edge = np.repeat(np.arange(m), cnt)
            e = ent.order[np.repeat(start[ok], cnt) + (np.arange(len(edge)) - np.repeat(np.cumsum(cnt) - cnt, cnt))]
            keep = phase[e] <= t
            return edge[keep], e[keep]

        good = up * bonus * factor > 0
        per_m2 = basis == "m2"
        words = f"({bonus:,.6g} yuan/{'m²' if per_m2 else 'pair'})"
        for t in range(T):
            c = bonus * factor * dW[t]
            if c == 0:
                continue
            e1_edge, e1 = members(sa, na, t)
            e2_edge, e2 = members(sb, nbb, t)
            hi1 = np.zeros(m)
            hi2 = np.zeros(m)
            np.maximum.at(hi1, e1_edge, pairs.hi_m2[e1] / fu)
            np.maximum.at(hi2, e2_edge, pairs.hi_m2[e2] / fu)
            hmin = np.minimum(hi1, hi2)
            Z = R.new_cols(hmin if per_m2 else np.ones(m), np.full(m, (c * fu if per_m2 else c) / mu))
            pu, pv = pid[u[ok]], pid[v[ok]]
            ph = sc.phases[t].name

            def label(kind, pu=pu, pv=pv, ph=ph, a=a, b=b, words=words):
                return lambda i: (f"synergy {kind} of {a} on {pu[i]} and {b} on {pv[i]}, both standing by the end "
                                  f"of {ph} {words}")
            if per_m2 or good:  # z ≤ Σ (f or x) of each side, aggregated per side over the rules (_SideRows)
                side = floor_sides if per_m2 else site_sides
                side.add(Z, u[ok], kidx[a], t, v[ok], e1_edge, e1)
                side.add(Z, v[ok], kidx[b], t, u[ok], e2_edge, e2)
                if per_m2:  # z ≤ min(hi)·Σ x on the side whose own cap is larger
                    big1 = hi1 > hi2
                    sel1, sel2 = big1[e1_edge], ~big1[e2_edge]
                    rows = np.r_[np.arange(m), e1_edge[sel1], e2_edge[sel2]]
                    R.add("synergy_floor", rows, np.r_[Z, X[e1[sel1]], X[e2[sel2]]],
                          np.r_[np.ones(m), -hmin[e1_edge[sel1]], -hmin[e2_edge[sel2]]], np.full(m, -INF),
                          np.zeros(m), label("cap"), unit="m2", natural=fu)
            else:  # a penalty per pair: s ≥ Σ x_e1 + Σ x_e2 − 1
                rows = np.r_[np.arange(m), e1_edge, e2_edge]
                R.add("synergy_link", rows, np.r_[Z, X[e1], X[e2]],
                      np.r_[np.ones(m), -np.ones(len(e1) + len(e2))], np.full(m, -1.0), np.full(m, INF),
                      label("penalty"))
    site_sides.emit(R, "synergy_link", X, _side_label(sc, "site", pid, kid))
    floor_sides.emit(R, "synergy_floor", F, _side_label(sc, "floor", pid, kid), unit="m2", natural=fu)


def _side_rows(pairs: PairSet, cols: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> _SideRows:
    """The side rows of pair variables `cols` over entry pairs (e1, e2) (no phases: one entry per side)."""
    rows = _SideRows(pairs.n_parcels, pairs.n_industries, 1)
    p1, p2 = pairs.parcel[e1], pairs.parcel[e2]
    i = np.arange(len(cols))
    rows.add(cols, p1, pairs.industry[e1], 0, p2, i, e1)
    rows.add(cols, p2, pairs.industry[e2], 0, p1, i, e2)
    return rows


def _side_label(sc: Scenario, what: str, pid: np.ndarray, kid: np.ndarray):
    """Names a side row of _SideRows: the site or floor of industry k on parcel p that its synergy pairs with the
    neighbour q share (by the end of phase t, with phases)."""
    phases = getattr(sc, "phases", None) or ()

    def label(p: int, k: int, t: int, q: int) -> str:
        when = f" by the end of {phases[t].name}" if phases else ""
        return (f"synergy {'floor' if what == 'floor' else 'link'}: the {what} of {kid[k]} on {pid[p]}{when}, "
                f"shared by its synergy pairs with the neighbour {pid[q]}")
    return label


def _separation(R, sc, pairs, ent, X, kidx, pid, kid) -> None:
    e1s, e2s, rules = [], [], []
    for r, rule in enumerate(sc.neighbours.separation):
        u, v = _directed(rule.pairs, rule.industry_a == rule.industry_b)
        e1, e2, _ = ent.combos(kidx[rule.industry_a], kidx[rule.industry_b], u, v)
        e1s.append(e1)
        e2s.append(e2)
        rules.append(np.full(len(e1), r))
    e1, e2, rl = np.concatenate(e1s), np.concatenate(e2s), np.concatenate(rules)
    if len(e1) == 0:
        return
    lo, hi = np.minimum(e1, e2), np.maximum(e1, e2)
    _, first = np.unique(lo * np.int64(hi.max() + 1) + hi, return_index=True)
    first = np.sort(first)
    e1, e2, rl = lo[first], hi[first], rl[first]
    seps = sc.neighbours.separation
    par_of, ind_of = pairs.parcel, pairs.industry

    def label(i: int) -> str:
        rule = seps[rl[i]]
        how = "neighbours" if np.isnan(rule.min_distance_m) else f"within {rule.min_distance_m:,.6g} m"
        return (f"separation: {kid[ind_of[e1[i]]]} on {pid[par_of[e1[i]]]} and {kid[ind_of[e2[i]]]} on "
                f"{pid[par_of[e2[i]]]} may not be {how}")

    r = np.arange(len(e1))
    R.add("separation", np.r_[r, r], np.r_[X[e1], X[e2]], np.ones(2 * len(e1)), np.full(len(e1), -INF),
          np.ones(len(e1)), label, elastic=True, unit="sites")


def cluster_targets(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per industry: least sites (0: none) and least floor m² (0: none) of each connected group."""
    ind = sc.industries
    if "cluster_min_sites" not in ind:
        z = np.zeros(len(ind))
        return z, z
    return (np.nan_to_num(ind["cluster_min_sites"].to_numpy(float), nan=0.0),
            np.nan_to_num(ind["cluster_min_floor_m2"].to_numpy(float), nan=0.0))


def _adjacency(edges: np.ndarray, n_p: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of the symmetric neighbour graph over parcel positions."""
    src = np.r_[edges[:, 0], edges[:, 1]]
    dst = np.r_[edges[:, 1], edges[:, 0]]
    order = np.argsort(src, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(src, minlength=n_p))]
    return indptr, dst[order]


def _around(adj, row: np.ndarray, parcel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, neighbour parcel) for each (row, parcel): the parcel's neighbours, repeated per row."""
    indptr, indices = adj
    deg = indptr[parcel + 1] - indptr[parcel]
    r = np.repeat(row, deg)
    within = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
    return r, indices[np.repeat(indptr[parcel], deg) + within]


def _expand(ent: _Entries, k: int, row: np.ndarray, parcel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, entry) for each (row, parcel): the entries of (parcel, k)."""
    st, cnt = ent.of(k, parcel)
    r = np.repeat(row, cnt)
    within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return r, ent.order[np.repeat(st, cnt) + within]


def _cluster_seeds(R, sc, pairs, ent, X, pid, kid, fu) -> None:
    """The groups of one and of two sites that cannot stand alone, ruled out up front (the lazy cuts of
    `cluster_cuts` for every group of one or two sites): for a single chosen entry e of (p, k), or a pair e1, e2
    of (p, k), (q, k) on neighbouring p, q, with N the parcels next to the group (outside it):
      count (the group is too small, or even at its caps below A): Σ x_group − Σ_{N} x ≤ |group| − 1;
      floor (else, with A > 0):  Σ f_group − A·Σ x_group + A·Σ_{N} x ≥ A·(1 − |group|).
    """
    if sc.neighbours is None:
        return
    S, A = cluster_targets(sc)
    ks = np.flatnonzero((S >= 2) | (A > 0))
    if len(ks) == 0:
        return
    edges = sc.neighbours.pairs
    adj = _adjacency(edges, sc.n_parcels)
    count = {"r": [], "c": [], "v": [], "size": [], "lab": []}
    floor = {"r": [], "c": [], "v": [], "size": [], "lab": []}
    F0 = len(pairs)  # f columns follow the x columns

    def add(book, members: list[np.ndarray], nbr_row, nbr_entry, a: float, kind: str):
        m = len(members[0])
        base = sum(len(b) for b in book["size"])
        rows = base + np.arange(m)
        if kind == "count":
            for e in members:
                book["r"].append(rows)
                book["c"].append(X[e])
                book["v"].append(np.ones(m))
            book["r"].append(base + nbr_row)
            book["c"].append(X[nbr_entry])
            book["v"].append(-np.ones(len(nbr_row)))
        else:
            for e in members:
                book["r"] += [rows, rows]
                book["c"] += [F0 + e, X[e]]
                book["v"] += [np.ones(m), np.full(m, -a)]
            book["r"].append(base + nbr_row)
            book["c"].append(X[nbr_entry])
            book["v"].append(np.full(len(nbr_row), a))
        book["size"].append(np.full(m, len(members), dtype=float) if kind == "count" else
                            np.full(m, a * (1 - len(members))))
        book["lab"].append(np.column_stack([members[0], members[-1] if len(members) > 1 else members[0]]))

    for k in ks:  # a handful of industries, each vectorised
        a_u = A[k] / fu  # the rows are in floor units, like f
        own = np.flatnonzero(pairs.industry == k)
        alone = (S[k] >= 2) | (pairs.hi_m2[own] < A[k] * (1 - 1e-9))
        for sel, book in ((own[alone], count), (own[~alone & (A[k] > 0)], floor)):
            if len(sel):
                nr, nparcel = _around(adj, np.arange(len(sel)), pairs.parcel[sel])
                r, e = _expand(ent, k, nr, nparcel)
                add(book, [sel], r, e, a_u, "count" if book is count else "floor")
        if not (S[k] >= 3 or A[k] > 0):
            continue
        e1, e2, _ = ent.combos(k, k, edges[:, 0], edges[:, 1])
        if len(e1) == 0:
            continue
        p1, p2 = pairs.parcel[e1], pairs.parcel[e2]
        i = np.arange(len(e1))
        ra, na = _around(adj, i, p1)
        rb, nb = _around(adj, i, p2)
        r, q = np.r_[ra, rb], np.r_[na, nb]
        keep = (q != p1[r]) & (q != p2[r])
        key = np.unique(r[keep] * np.int64(sc.n_parcels) + q[keep])
        r, q = key // sc.n_parcels, key % sc.n_parcels
        two = (S[k] >= 3) | (pairs.hi_m2[e1] + pairs.hi_m2[e2] < A[k] * (1 - 1e-9))
        for mask, book in ((two, count), (~two & (A[k] > 0), floor)):
            idx = np.flatnonzero(mask)
            if len(idx):
                pos = np.full(len(e1), -1)
                pos[idx] = np.arange(len(idx))
                hit = pos[r] >= 0
                rr, ee = _expand(ent, k, pos[r[hit]], q[hit])
                add(book, [e1[idx], e2[idx]], rr, ee, a_u, "count" if book is count else "floor")

    _cluster_balls(R, sc, pairs, ent, X, pid, kid, fu, adj, S, A, ks)
    for book, family, lo_hi in ((count, "cluster_seed", "count"), (floor, "cluster_floor", "floor")):
        if not book["size"]:
            continue
        size = np.concatenate(book["size"])
        lab = np.concatenate(book["lab"])
        n = len(size)

        def label(i: int, lab=lab, kind=lo_hi) -> str:
            e, f = lab[i]
            k = pairs.industry[e]
            group = pid[pairs.parcel[e]] + ("" if e == f else f" and {pid[pairs.parcel[f]]}")
            need = " and ".join(x for x in (f"{S[k]:.0f} sites" if S[k] >= 2 else "",
                                            f"{A[k]:,.0f} m² of floor" if A[k] > 0 else "") if x)
            alone = "more floor or a" if kind == "floor" else "a"
            return f"cluster of {kid[k]}: {group} alone needs {alone} {kid[k]} neighbour (groups of {need})"

        if lo_hi == "count":
            lo, hi = np.full(n, -INF), size - 1.0
        else:
            lo, hi = size, np.full(n, INF)
        R.add(family, np.concatenate(book["r"]), np.concatenate(book["c"]), np.concatenate(book["v"]), lo, hi,
              label, elastic=True, unit="sites" if lo_hi == "count" else "m2",
              natural=1.0 if lo_hi == "count" else fu)


def _cluster_balls(R, sc, pairs, ent, X, pid, kid, fu, adj, S, A, ks) -> None:
    """Per chosen entry e of (p, k): unless a site two steps away (N2(p)) is chosen too, p's group lies within p
    and its neighbours N(p), so it must reach the target there:
      count:  (S − 1)·x_e − Σ_{N(p)} x − (S − 1)·Σ_{N2(p)} x ≤ 0      (S ≥ 3)
      floor:  f_e + Σ_{N(p)} f − A·x_e + A·Σ_{N2(p)} x ≥ 0             (A > 0)
    Both hold for every plan meeting the rule (a chosen site two steps away makes them slack)."""
    n_p = np.int64(sc.n_parcels)
    F0 = len(pairs)
    for k in ks:
        if not (S[k] >= 3 or A[k] > 0):
            continue
        own = np.flatnonzero(pairs.industry == k)
        if len(own) == 0:
            continue
        p = pairs.parcel[own]
        i = np.arange(len(own))
        r1, n1 = _around(adj, i, p)  # N(p)
        r2, n2 = _around(adj, r1, n1)  # neighbours of neighbours
        near = np.unique(np.r_[i * n_p + p, r1 * n_p + n1])
        far = np.unique(r2 * n_p + n2)
        far = far[~np.isin(far, near, assume_unique=True)]  # N2(p): two steps, not p nor N(p)
        er1, e1 = _expand(ent, k, r1, n1)
        er2, e2 = _expand(ent, k, far // n_p, far % n_p)
        m = len(own)
        for kind, on in (("count", S[k] >= 3), ("floor", A[k] > 0)):
            if not on:
                continue
            if kind == "count":
                s1 = S[k] - 1.0
                rows = np.r_[i, er1, er2]
                cols = np.r_[X[own], X[e1], X[e2]]
                vals = np.r_[np.full(m, s1), -np.ones(len(e1)), np.full(len(e2), -s1)]
                lo, hi = np.full(m, -INF), np.zeros(m)
            else:
                a = A[k] / fu
                rows = np.r_[i, i, er1, er2]
                cols = np.r_[F0 + own, X[own], F0 + e1, X[e2]]
                vals = np.r_[np.ones(m), np.full(m, -a), np.ones(len(e1)), np.full(len(e2), a)]
                lo, hi = np.zeros(m), np.full(m, INF)

            def label(j: int, own=own, k=k, kind=kind) -> str:
                need = f"{S[k]:.0f} sites" if kind == "count" else f"{A[k]:,.0f} m² of floor"
                return (f"cluster of {kid[k]} around {pid[pairs.parcel[own[j]]]}: with no {kid[k]} site two steps "
                        f"away, it and its neighbours hold {need}")

            R.add("cluster_ball", rows, cols, vals, lo, hi, label, elastic=True,
                  unit="sites" if kind == "count" else "m2", natural=1.0 if kind == "count" else fu)


# --- lazy cluster cuts ----------------------------------------------------------------------------------------
def small_clusters(sc: Scenario, parcel: np.ndarray, industry: np.ndarray, floor_m2: np.ndarray,
                   tol_m2: float = 1e-2) -> list[tuple[int, np.ndarray, float]]:
    """Connected groups of an industry's sites below its cluster targets, from a plan's sites (parcel and
    industry positions, floor). Returns (industry, parcel positions of the group, its floor)."""
    from scipy.sparse.csgraph import connected_components

    nb = sc.neighbours
    if nb is None:
        return []
    S, A = cluster_targets(sc)
    out = []
    n_p = sc.n_parcels
    for k in np.flatnonzero((S >= 2) | (A > 0)):
        sel = industry == k
        sites = parcel[sel]
        if len(sites) == 0:
            continue
        is_site = np.zeros(n_p, bool)
        is_site[sites] = True
        e = nb.pairs[is_site[nb.pairs[:, 0]] & is_site[nb.pairs[:, 1]]]
        pos = np.full(n_p, -1)
        pos[sites] = np.arange(len(sites))
        g = sp.coo_matrix((np.ones(len(e)), (pos[e[:, 0]], pos[e[:, 1]])), shape=(len(sites), len(sites)))
        _, comp = connected_components(g, directed=False)
        size = np.bincount(comp)
        fl = np.bincount(comp, weights=floor_m2[sel])
        bad = np.flatnonzero((size < S[k]) | (fl < A[k] - tol_m2 - 1e-6 * A[k]))
        order = np.argsort(comp, kind="stable")
        starts = np.r_[0, np.cumsum(size)]
        for c in bad:
            out.append((int(k), np.sort(sites[order[starts[c]:starts[c + 1]]]), float(fl[c])))
    return out


def around_small_clusters(sc: Scenario, bundle, x: np.ndarray, hops: int = 2) -> np.ndarray:
    """Parcel positions of a plan's groups below their cluster target and of the parcels within `hops` steps of
    them in the neighbour graph: where the plan has to change to meet the rule (grow the group, join it to
    another, or move it)."""
    pairs = bundle.pairs
    n = len(pairs)
    chosen = np.flatnonzero(x[:n] > 0.5)
    groups = small_clusters(sc, pairs.parcel[chosen], pairs.industry[chosen], x[n + chosen] * bundle.floor_unit_m2)
    if not groups:
        return np.zeros(0, np.int64)
    near = np.zeros(sc.n_parcels, bool)
    near[np.concatenate([C for _, C, _ in groups])] = True
    nb = sc.neighbours.pairs
    for _ in range(hops):
        ring = near.copy()
        near[nb[ring[nb[:, 0]], 1]] = True
        near[nb[ring[nb[:, 1]], 0]] = True
    return np.flatnonzero(near)


def cluster_cuts(sc: Scenario, bundle, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, list[str]]:
    """Valid cuts against the groups of a solution that are too small (empty matrix if none).

    For a group C of industry k's sites with neighbours N(C) (parcels outside C next to it), s_p = Σ_{e of (p, k)}
    x_e (0 or 1: at most one entry per parcel is chosen):
      sites:  Σ_{p∈C} s_p − Σ_{q∈N(C)} s_q ≤ |C| − 1  (C alone, all chosen, cannot stand: |C| < S or even its
              largest floor is below A);
      floor:  Σ_{p∈C} f_{p,k} − A·Σ_{p∈C} s_p + A·Σ_{q∈N(C)} s_q ≥ A·(1 − |C|)  (C alone needs floor A).
    Both hold for every plan meeting the cluster rule, and the solution violates the one added for its group.
    """
    pairs = bundle.pairs
    n = len(pairs)
    fu = bundle.floor_unit_m2
    chosen = np.flatnonzero(x[:n] > 0.5)
    groups = small_clusters(sc, pairs.parcel[chosen], pairs.industry[chosen], x[n + chosen] * fu)
    n_cols = bundle.milp.n_cols
    if not groups:
        return sp.csr_matrix((0, n_cols)), np.zeros(0), np.zeros(0), []
    S, A = cluster_targets(sc)
    ent = _Entries(pairs)
    nb = sc.neighbours.pairs
    pid = sc.parcels["parcel_id"].to_numpy(str)
    kid = sc.industries["industry_id"].to_numpy(str)
    rows, cols, vals, lo, hi, labels = [], [], [], [], [], []
    in_c = np.zeros(sc.n_parcels, bool)
    for i, (k, C, fl) in enumerate(groups):  # one row per small group (few per round)
        in_c[:] = False
        in_c[C] = True
        touch = in_c[nb[:, 0]] ^ in_c[nb[:, 1]]
        N = np.unique(np.where(in_c[nb[touch, 0]], nb[touch, 1], nb[touch, 0]))
        eC = _entries_of(ent, k, C)
        eN = _entries_of(ent, k, N)
        cap_c = _best_floor(pairs, eC, C)
        by_sites = len(C) < S[k] or cap_c < A[k] * (1 - 1e-9)
        if by_sites:
            c = np.r_[eC, eN]
            v = np.r_[np.ones(len(eC)), -np.ones(len(eN))]
            lo.append(-INF)
            hi.append(len(C) - 1.0)
            why = f"{len(C)} sites" if len(C) < S[k] else f"at most {cap_c:,.0f} m² of floor"
        else:
            a = A[k] / fu
            c = np.r_[n + eC, eC, eN]
            v = np.r_[np.ones(len(eC)), -a * np.ones(len(eC)), a * np.ones(len(eN))]
            lo.append(a * (1.0 - len(C)))
            hi.append(INF)
            why = f"{fl:,.0f} m² of floor"
        rows.append(np.full(len(c), i))
        cols.append(c)
        vals.append(v)
        names = ", ".join(pid[C[:5]]) + (f" and {len(C) - 5} more" if len(C) > 5 else "")
        target = f"{S[k]:.0f} sites" if S[k] >= 2 else ""
        target += (" and " if target and A[k] > 0 else "") + (f"{A[k]:,.0f} m²" if A[k] > 0 else "")
        labels.append(f"cluster cut: {kid[k]} on {names} ({why}) needs a {kid[k]} neighbour to reach {target}")
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(groups), n_cols))
    return M, np.array(lo), np.array(hi), labels


def _entries_of(ent: _Entries, k: int, parcels: np.ndarray) -> np.ndarray:
    s, c = ent.of(k, parcels)
    idx = np.repeat(s, c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c))
    return ent.order[idx]


def _best_floor(pairs: PairSet, entries: np.ndarray, parcels: np.ndarray) -> float:
    """The most floor the group's parcels can hold together (per parcel its largest entry)."""
    if len(entries) == 0:
        return 0.0
    best = np.zeros(pairs.n_parcels)
    np.maximum.at(best, pairs.parcel[entries], pairs.hi_m2[entries])
    return float(best[parcels].sum())


# --- a solver's plan, with its pair columns at their best values ---------------------------------------------
def tighten_pair_columns(bundle, x: np.ndarray) -> np.ndarray:
    """The column vector with each synergy pair column (y, z) moved to its best value given the plan's choices
    and floors (its linking rows' limits and its bounds): y = x_e1·x_e2 and z = min(f_e1, f_e2) where that helps
    the objective. A solver that stops at a gap may leave them slack, which would understate the plan's value;
    feasibility is kept (the pair columns appear only in the linking rows).

    A side row (_SideRows) holds several pair columns; for a plan only the one towards the neighbour's industry
    may be positive, so each column first takes its limit as if alone in the row, and a row that would then be
    exceeded (a plan with stray fractional floors) has its rewarded columns scaled down to fit."""
    m = bundle.milp
    n2 = 2 * bundle.n_pairs
    rows = np.zeros(m.n_rows, bool)
    for b in m.blocks:
        if b.family in ("synergy_link", "synergy_floor"):
            rows[b.start:b.start + b.size] = True
    if not rows.any() or x is None:
        return x
    sel = np.flatnonzero(rows)
    M = m.A[sel].tocsr()
    lo_r, hi_r = m.row_lower[sel], m.row_upper[sel]
    C = M.tocoo()
    aux = C.col >= n2
    r_aux, g, a = C.row[aux], C.col[aux], C.data[aux]
    x0 = x.copy()
    x0[n2:] = 0.0
    base = M @ x0  # each row without its pair columns
    rest = base[r_aux]
    with np.errstate(invalid="ignore", divide="ignore"):
        up = np.where(a > 0, (hi_r[r_aux] - rest) / a, (lo_r[r_aux] - rest) / a)  # the column's limits, alone
        down = np.where(a > 0, (lo_r[r_aux] - rest) / a, (hi_r[r_aux] - rest) / a)
    cols = np.unique(g)
    ub, lb = m.col_upper.copy(), m.col_lower.copy()
    np.minimum.at(ub, g, np.nan_to_num(up, nan=np.inf))
    np.maximum.at(lb, g, np.nan_to_num(down, nan=-np.inf))
    lb[cols] = np.minimum(np.maximum(lb[cols], m.col_lower[cols]), m.col_upper[cols])
    ub[cols] = np.maximum(np.minimum(ub[cols], m.col_upper[cols]), lb[cols])
    gain = m.c if m.sense == "maximize" else -m.c
    out = x.copy()
    out[cols] = np.where(gain[cols] > 0, ub[cols], np.where(gain[cols] < 0, lb[cols], x[cols]))
    # rows holding several rewarded columns (a > 0, an upper side): scale them down where their sum exceeds it
    rew = (gain[g] > 0) & (a > 0)
    used = np.zeros(len(sel))
    np.add.at(used, r_aux[rew], a[rew] * out[g[rew]])
    room = hi_r - base
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(used > np.maximum(room, 0.0) + 1e-12, np.maximum(room, 0.0) / used, 1.0)
    shrink = np.ones(m.n_cols)
    np.minimum.at(shrink, g[rew], factor[r_aux[rew]])
    out[cols] *= shrink[cols]
    return out


def drop_small_clusters(sc: Scenario, bundle, x: np.ndarray) -> np.ndarray | None:
    """The plan with every group that is below its industry's cluster target given up (those sites left
    undeveloped, synergy columns re-set), if that plan meets every row of the model; else None.

    Giving up a whole group (a connected component of an industry's sites) leaves every other group as it is,
    so the result breaks no cluster rule; it is a valid plan to keep while cuts are added (and a warm start)."""
    pairs = bundle.pairs
    n = len(pairs)
    chosen = np.flatnonzero(x[:n] > 0.5)
    groups = small_clusters(sc, pairs.parcel[chosen], pairs.industry[chosen],
                            x[n + chosen] * bundle.floor_unit_m2)
    if not groups:
        return x
    drop = np.zeros(sc.n_parcels * sc.n_industries, bool)
    for k, C, _ in groups:
        drop[k * sc.n_parcels + C] = True
    gone = chosen[drop[pairs.industry[chosen] * sc.n_parcels + pairs.parcel[chosen]]]
    out = x.copy()
    out[gone] = 0.0
    out[n + gone] = 0.0
    out = tighten_pair_columns(bundle, out)
    m = bundle.milp
    act = m.A @ out
    tol = 1e-6 * (1.0 + np.abs(act))
    if np.any(act < m.row_lower - tol) or np.any(act > m.row_upper + tol):
        return None
    return out
