"""Local search for assignment-shaped plans: shift, swap and ejection-chain moves that never break a row.

Why: on assignment-like models (the GAP, tight budgets per industry) a MIP solver's plans can stay a few tenths of
a percent from the bound for a long time, while cheap exchange moves (one parcel to another industry; two parcels
trading industries) close much of that. The search reads only the canonical MILP and the pairs behind its
columns, works on parcels whose every candidate pair has a fixed floor (floor lo == hi, so a choice fixes its
column values), and checks each move against every row it touches, vectorised over a batch of candidate moves.
Auxiliary totals defined by an equality row (total floor, a sub-area's floor) follow the moves; other auxiliary
columns stay as they are (a move that would break one of their rows is refused).

Deterministic: no clock in the decisions; `improve` is steepest ascent under a move budget, `iterated` kicks
with a seeded generator under a round budget. Used by `auto` (optimizer.solvers) on such models: the engine's
plan before HiGHS, HiGHS's plans as they come, and the core plans of optimizer.solvers.knapsack_lagrange.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

ROW_TOL = 1e-9  # rows are scaled to a largest coefficient of 1 (model.build), so an absolute tolerance works
SWAP_CAP = 400_000  # most swap candidates evaluated in one step (the first legs are then the most improving)
CHAIN_DEPTH = 3  # most shifts in one ejection chain


@dataclass(frozen=True)
class LocalSearchResult:
    """The improved plan (full column vector) and what the search did; objectives in scenario units."""

    x: np.ndarray
    objective: float
    start_objective: float
    moves: int  # moves applied (a swap counts once)
    steps: int  # candidate batches evaluated
    stopped_by: str  # "local_optimum", "move_limit", "work_limit", "round_limit" or "not_applicable"
    work: int = 0  # candidate moves evaluated

    @property
    def improved(self) -> bool:
        return self.moves > 0


class Neighbourhood:
    """The fixed part of the search: each pair as one column of row changes and one objective change.

    P[:, e] is what choosing pair e adds to every row (its x column, its floor column times its fixed floor, and
    the totals that follow them); pair index n is "no industry" (a zero column), so a parcel can also be emptied
    where its one-use row allows it.
    """

    def __init__(self, bundle):
        m = bundle.milp
        pairs = bundle.pairs
        n = bundle.n_pairs
        self.milp, self.n = m, n
        self.parcel = np.asarray(pairs.parcel, dtype=np.int64)
        self.industry = np.asarray(pairs.industry, dtype=np.int64)
        A = m.A.tocsc()
        floor = m.col_upper[n:2 * n].astype(float)
        fixed = np.asarray(pairs.lo_m2 == pairs.hi_m2) & np.isfinite(floor)
        # a parcel is movable when every pair it has is fixed-floor
        n_parcels = int(self.parcel.max()) + 1 if n else 0
        bad = np.bincount(self.parcel[~fixed], minlength=n_parcels) > 0
        self.movable_pair = ~bad[self.parcel] if n else np.zeros(0, bool)
        P = A[:, :n] + A[:, n:2 * n] @ sp.diags(floor)
        g = m.c[:n] + m.c[n:2 * n] * floor
        self.aux_cols, self.aux_delta = self._defined_totals(m, A, P, n)
        if len(self.aux_cols):
            P = P + A[:, self.aux_cols] @ self.aux_delta
            g = g + m.c[self.aux_cols] @ self.aux_delta
        P = sp.csc_matrix(P)
        P.data[np.abs(P.data) <= 1e-12] = 0.0  # a pair's own floor-link rows cancel
        P.eliminate_zeros()
        self.P = sp.hstack([P, sp.csc_matrix((m.n_rows, 1))]).tocsc()  # column n: no industry
        self.aux_delta = sp.hstack([self.aux_delta, sp.csc_matrix((len(self.aux_cols), 1))]).tocsc()
        self.g = np.r_[g, 0.0]
        self.sign = 1.0 if m.sense == "maximize" else -1.0
        self.lo, self.hi = m.row_lower, m.row_upper
        self.tol = ROW_TOL * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(self.lo), self.lo, 0.0)),
                                                        np.abs(np.where(np.isfinite(self.hi), self.hi, 0.0))))

    @staticmethod
    def _defined_totals(m, A, P, n):
        """Auxiliary columns T defined by an equality row a·T + Σ pair terms = rhs: T's change per pair."""
        n_aux = m.n_cols - 2 * n
        if n_aux == 0:
            return np.zeros(0, np.int64), sp.csr_matrix((0, n))
        aux = A[:, 2 * n:].tocsr()
        eq = np.flatnonzero((m.row_lower == m.row_upper) & (np.diff(aux.indptr) == 1))
        rows, cols, coef = [], [], []
        seen = set()
        for r in eq:  # one per auxiliary total (a handful)
            t = int(aux.indices[aux.indptr[r]])
            if t in seen:
                continue
            seen.add(t)
            rows.append(r)
            cols.append(t)
            coef.append(aux.data[aux.indptr[r]])
        if not rows:
            return np.zeros(0, np.int64), sp.csr_matrix((0, n))
        # dT_e = −P[r, e] / a_rT for the defining row r of T
        delta = sp.diags(-1.0 / np.array(coef)) @ sp.csr_matrix(P)[rows, :]
        return 2 * n + np.array(cols, dtype=np.int64), sp.csr_matrix(delta)


def improve(bundle, x: np.ndarray, max_moves: int | None = None, neighbourhood: Neighbourhood | None = None,
            chains: int = 0, viol0: np.ndarray | None = None, max_work: float | None = None) -> LocalSearchResult:
    """Steepest-ascent shift and swap moves from the feasible plan `x` until no move improves or the budget is
    spent. Every move keeps every row within its bounds (or no worse than in `x`); the result is never worse.

    `max_moves` defaults to four times the number of parcels; `max_work` (optional) caps the candidate moves
    evaluated in all (a deterministic work limit: about 10 million a second here). `chains` > 0 adds ejection
    chains of up to three
    shifts (parcel p to industry b, a parcel of b to c, a parcel of c to d), grown from the `chains` most
    improving first shifts and second links.
    """
    m = bundle.milp
    x = np.asarray(x, dtype=float)
    start = float(m.c @ x) * m.obj_scale
    nb = neighbourhood or Neighbourhood(bundle)
    n = nb.n
    if n == 0 or not nb.movable_pair.any():
        return LocalSearchResult(x.copy(), start, start, 0, 0, "not_applicable")
    cur, movable_parcel, opt_pair, opt_parcel = _state(x, nb)
    act = m.A @ x
    viol0 = _violation(act, nb.lo, nb.hi) if viol0 is None else viol0  # what x breaks (rounding): no worse
    budget = 4 * len(cur) if max_moves is None else int(max_moves)
    moves = steps = work = 0
    stopped = "local_optimum"
    P, g, s = nb.P, nb.g, nb.sign
    while True:
        if moves >= budget:
            stopped = "move_limit"
            break
        if max_work is not None and work >= max_work:
            stopped = "work_limit"
            break
        steps += 1
        live = opt_pair != cur[opt_parcel]
        k_pair, k_parcel = opt_pair[live], opt_parcel[live]
        k_from = cur[k_parcel]
        gain = s * (g[k_pair] - g[k_from])
        D = (P[:, k_pair] - P[:, k_from]).tocsc()
        ok = _feasible(D, act, nb, viol0)
        work += D.shape[1]
        best_shift = _argbest(gain, ok)
        best = (gain[best_shift], (best_shift,)) if best_shift is not None else (0.0, ())
        sw = _swaps(k_pair, k_parcel, k_from, gain, nb)
        if sw is not None:
            i1, i2 = sw
            work += len(i1)
            D2 = (D[:, i1] + D[:, i2]).tocsc()
            g2 = gain[i1] + gain[i2]
            ok2 = _feasible(D2, act, nb, viol0)
            b2 = _argbest(g2, ok2)
            if b2 is not None and g2[b2] > best[0] * (1 + 1e-12) + 1e-12:
                best = (g2[b2], (i1[b2], i2[b2]))
        if chains:
            ch, n_chains = _chains(D, gain, k_pair, k_parcel, k_from, nb, act, viol0, chains)
            work += n_chains
            if ch is not None and ch[0] > best[0] * (1 + 1e-12) + 1e-12:
                best = ch
        if best[0] <= 1e-9 * max(1.0, abs(start / m.obj_scale)) or not best[1]:
            break
        for k in best[1]:
            act = act + D[:, [k]].toarray().ravel()
            cur[k_parcel[k]] = k_pair[k]
        moves += 1
    xn = _plan(x, cur, nb, movable_parcel)
    full = m.A @ xn
    if (_violation(full, nb.lo, nb.hi) > np.maximum(nb.tol, viol0) + 1e-9).any():  # never trust drift
        return LocalSearchResult(x.copy(), start, start, 0, steps, "drift", work)
    obj = float(m.c @ xn) * m.obj_scale
    if s * (obj - start) < 0:
        return LocalSearchResult(x.copy(), start, start, 0, steps, stopped, work)
    return LocalSearchResult(xn, obj, start, moves, steps, stopped, work)


def _state(x: np.ndarray, nb: Neighbourhood):
    """Current pair per parcel (n: none), movable parcels, and the options (pair, parcel) a parcel can take:
    every fixed pair of a movable parcel and "none"."""
    n = nb.n
    chosen = np.flatnonzero(x[:n] > 0.5)
    n_parcels = int(nb.parcel.max()) + 1
    cur = np.full(n_parcels, n, dtype=np.int64)
    cur[nb.parcel[chosen]] = chosen
    movable_parcel = np.zeros(n_parcels, bool)
    movable_parcel[nb.parcel[nb.movable_pair]] = True
    mp = np.flatnonzero(movable_parcel)
    opt_pair = np.r_[np.flatnonzero(nb.movable_pair), np.full(len(mp), n)]
    opt_parcel = np.r_[nb.parcel[nb.movable_pair], mp]
    return cur, movable_parcel, opt_pair, opt_parcel


def iterated(bundle, x: np.ndarray, rounds: int = 50, kick: int = 3, chains: int = 256, seed: int = 0,
             neighbourhood: Neighbourhood | None = None, trace: list | None = None,
             max_work: float | None = None) -> LocalSearchResult:
    """Iterated local search: descend (shifts, swaps, ejection chains), then `rounds` times kick the plan with
    `kick` random feasible shifts or swaps and descend again, keeping the new plan when it is no worse.
    Deterministic (seeded kicks, a round budget, and `max_work` candidate moves in all if given); every plan on
    the way keeps every row."""
    m = bundle.milp
    nb = neighbourhood or Neighbourhood(bundle)
    viol0 = _violation(m.A @ np.asarray(x, float), nb.lo, nb.hi)
    best = improve(bundle, x, neighbourhood=nb, chains=chains, viol0=viol0, max_work=max_work)
    if best.stopped_by == "not_applicable":
        return best
    rng = np.random.default_rng(seed)
    cur_x, cur_obj, s = best.x, best.objective, nb.sign
    moves, steps, work = best.moves, best.steps, best.work
    for r in range(int(rounds)):
        if max_work is not None and work >= max_work:
            break
        kicked = _kick(bundle, cur_x, nb, viol0, rng, kick)
        res = improve(bundle, kicked, neighbourhood=nb, chains=chains, viol0=viol0,
                      max_work=None if max_work is None else max_work - work)
        steps += res.steps + kick
        work += res.work
        if s * (res.objective - cur_obj) >= -1e-9 * max(1.0, abs(cur_obj)):
            cur_x, cur_obj = res.x, res.objective
            if s * (cur_obj - best.objective) > 1e-9 * max(1.0, abs(cur_obj)):
                best = LocalSearchResult(cur_x, cur_obj, best.start_objective, moves + res.moves, steps,
                                         "round_limit", work)
        moves += res.moves
        if trace is not None:
            trace.append((r, res.objective, cur_obj, best.objective))
    stopped = "work_limit" if max_work is not None and work >= max_work else "round_limit"
    return LocalSearchResult(best.x, best.objective, best.start_objective, best.moves, steps, stopped, work)


def _kick(bundle, x, nb: Neighbourhood, viol0, rng, count: int) -> np.ndarray:
    """`count` random feasible shifts or swaps applied to x (whatever they cost)."""
    m = bundle.milp
    cur, movable_parcel, opt_pair, opt_parcel = _state(x, nb)
    act = m.A @ x
    for _ in range(count):
        live = opt_pair != cur[opt_parcel]
        k_pair, k_parcel = opt_pair[live], opt_parcel[live]
        k_from = cur[k_parcel]
        gain = nb.sign * (nb.g[k_pair] - nb.g[k_from])
        D = (nb.P[:, k_pair] - nb.P[:, k_from]).tocsc()
        ok1 = np.flatnonzero(_feasible(D, act, nb, viol0))
        sw = _swaps(k_pair, k_parcel, k_from, gain, nb)
        ok2 = np.zeros(0, np.int64)
        if sw is not None:
            ok2 = np.flatnonzero(_feasible((D[:, sw[0]] + D[:, sw[1]]).tocsc(), act, nb, viol0))
        total = len(ok1) + len(ok2)
        if total == 0:
            break
        pick = int(rng.integers(total))
        legs = (ok1[pick],) if pick < len(ok1) else (sw[0][ok2[pick - len(ok1)]], sw[1][ok2[pick - len(ok1)]])
        for k in legs:
            act = act + D[:, [k]].toarray().ravel()
            cur[k_parcel[k]] = k_pair[k]
    return _plan(x, cur, nb, movable_parcel)


def _violation(act, lo, hi):
    return np.maximum(np.maximum(act - hi, lo - act), 0.0)


def _feasible(D: sp.csc_matrix, act: np.ndarray, nb: Neighbourhood, viol0: np.ndarray) -> np.ndarray:
    """Per column of D: whether act + D[:, k] keeps every touched row within bounds (or no worse than viol0)."""
    rows = D.indices
    new = act[rows] + D.data
    v = np.maximum(np.maximum(new - nb.hi[rows], nb.lo[rows] - new), 0.0)
    bad = v > np.maximum(nb.tol[rows], viol0[rows])
    col = np.repeat(np.arange(D.shape[1]), np.diff(D.indptr))
    return np.bincount(col[bad], minlength=D.shape[1]) == 0


def _argbest(gain: np.ndarray, ok: np.ndarray) -> int | None:
    cand = np.flatnonzero(ok & (gain > 0))
    if not len(cand):
        return None
    return int(cand[np.argmax(gain[cand])])  # first of equals: deterministic


def _chains(D, gain, k_pair, k_parcel, k_from, nb: Neighbourhood, act, viol0, width: int):
    """The best improving feasible ejection chain of two or three shifts, as (gain, legs) or None, and how many
    chains were evaluated.

    A chain starts with one of the `width` most improving shifts into an industry (p: a -> b); its next link moves
    a parcel now in b elsewhere (q: b -> c), and a third link a parcel now in c (r: c -> d). Links never reuse a
    parcel. Each chain is checked against every row it touches."""
    real_to = k_pair < nb.n
    real_from = k_from < nb.n
    to_ind = np.where(real_to, nb.industry[np.minimum(k_pair, nb.n - 1)], -1)
    from_ind = np.where(real_from, nb.industry[np.minimum(k_from, nb.n - 1)], -2)
    order = np.argsort(from_ind, kind="stable")
    keys = from_ind[order]

    def links(prev_to):  # for each chain end (industry b), the options leaving b
        lo = np.searchsorted(keys, prev_to, side="left")
        hi = np.searchsorted(keys, prev_to, side="right")
        cnt = hi - lo
        src = np.repeat(np.arange(len(prev_to)), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        return src, order[np.repeat(lo, cnt) + offs]

    first = np.flatnonzero(real_to & real_from)
    if not len(first):
        return None, 0
    first = first[np.argsort(-gain[first], kind="stable")[:width]]
    best, evaluated = None, 0
    legs = first[:, None]
    for _depth in range(2, CHAIN_DEPTH + 1):
        src, nxt = links(to_ind[legs[:, -1]])
        if not len(nxt):
            break
        cand = np.column_stack([legs[src], nxt])
        parcels = k_parcel[cand]
        distinct = np.all(parcels[:, -1:] != parcels[:, :-1], axis=1)
        cand = cand[distinct]
        if not len(cand):
            break
        evaluated += len(cand)
        Dc = D[:, cand[:, 0]]
        for j in range(1, cand.shape[1]):
            Dc = Dc + D[:, cand[:, j]]
        Dc = Dc.tocsc()
        gc = gain[cand].sum(axis=1)
        ok = _feasible(Dc, act, nb, viol0)
        b = _argbest(gc, ok)
        if b is not None and (best is None or gc[b] > best[0] + 1e-12):
            best = (float(gc[b]), tuple(int(k) for k in cand[b]))
        legs = cand[np.argsort(-gc, kind="stable")[:width]]  # the most promising open chains grow a link
    return best, evaluated


def _swaps(k_pair, k_parcel, k_from, gain, nb: Neighbourhood):
    """Index pairs (i1, i2) of shift options that trade industries between two parcels: parcel p moves from
    industry a to b while parcel q moves from b to a (both real pairs)."""
    real = (k_pair < nb.n) & (k_from < nb.n)
    idx = np.flatnonzero(real)
    if len(idx) < 2:
        return None
    a = nb.industry[k_from[idx]]
    b = nb.industry[k_pair[idx]]
    n_ind = int(nb.industry.max()) + 1
    key_fwd = a * n_ind + b  # p: a -> b
    key_rev = b * n_ind + a  # q: b -> a wants key a*n+b reversed
    order = np.argsort(key_fwd, kind="stable")
    sorted_keys = key_fwd[order]
    lo = np.searchsorted(sorted_keys, key_rev, side="left")
    hi = np.searchsorted(sorted_keys, key_rev, side="right")
    counts = hi - lo
    first = (a < b)  # each unordered swap once: the leg that goes to the larger industry first
    if counts[first].sum() > SWAP_CAP:  # keep the most improving first legs
        cand = np.flatnonzero(first)
        keep = cand[np.argsort(-gain[idx[cand]], kind="stable")]
        cum = np.cumsum(counts[keep])
        first = np.zeros(len(idx), bool)
        first[keep[: max(1, int(np.searchsorted(cum, SWAP_CAP)))]] = True
    legs = np.flatnonzero(first & (counts > 0))
    if not len(legs):
        return None
    reps = counts[legs]
    i1 = np.repeat(legs, reps)
    offs = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    i2 = order[np.repeat(lo[legs], reps) + offs]
    i1, i2 = idx[i1], idx[i2]
    keep = k_parcel[i1] != k_parcel[i2]
    if not keep.any():
        return None
    return i1[keep], i2[keep]


def _plan(x: np.ndarray, cur: np.ndarray, nb: Neighbourhood, movable_parcel: np.ndarray) -> np.ndarray:
    """The column vector of the plan `cur` (x and floors of the movable parcels reset, followed totals moved)."""
    n = nb.n
    xn = x.copy()
    on = nb.movable_pair
    old_x = x[:n].copy()
    xn[:n][on] = 0.0
    xn[n:2 * n][on] = 0.0
    chosen = cur[movable_parcel]
    chosen = chosen[chosen < n]
    xn[chosen] = 1.0
    xn[n + chosen] = nb.milp.col_upper[n + chosen]
    if len(nb.aux_cols):
        change = np.zeros(n + 1)
        change[:n] = np.where(on, xn[:n] - np.round(old_x), 0.0)
        xn[nb.aux_cols] = x[nb.aux_cols] + nb.aux_delta @ change
    return xn

