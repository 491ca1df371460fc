"""Knapsack Lagrangian bound and guided plan for assignment models whose rules are one knapsack per industry.

Why: on tight assignment models (the GAP; parcels each taking one industry under a budget per industry) the LP
bound that HiGHS and the Lagrangian engine prove is weak, and HiGHS's plans stay far from it. Relaxing the
one-use rows instead leaves one 0-1 knapsack per coupling row, solved exactly by dynamic programming over its
integer capacity: the bound is at least the LP bound (the knapsacks' convex hulls), and the knapsack choices
near the best multipliers show which industry each parcel takes in good plans. Parcels that the knapsacks give
the same industry most of the time are then fixed, and HiGHS solves the small model that is left. Before the
last HiGHS solve on the whole model, the knapsacks also prove which pairs no plan better than the best one found
can use (the bound with the pair forced in falls below it: `penalties`, `fixable`); those pairs leave the model.

Applies when (checked by `structure`): every column is a pair's choice or its floor, every pair has a fixed
floor, the rows other than one-use and floor links are ≤ rows with non-negative whole coefficients in their
natural units (yuan, m², sites), and each pair is in at most one of them. Deterministic: a fixed evaluation
budget and step rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

MAX_DP_CELLS = 20_000_000  # Σ over knapsacks of items × (capacity + 1) the dynamic programme may touch
EVALUATIONS = 400  # knapsack evaluations of the dual (deterministic work limit)
CORE_SHARE = 0.1  # a pair stays in the core model when the knapsacks chose it this often near the end
CORE_TOP = 2  # ... and every parcel keeps at least its this many most chosen pairs


@dataclass(frozen=True)
class Structure:
    """The knapsack form of a model: per pair its profit (maximised), parcel, knapsack and weight."""

    profit: np.ndarray  # sign × objective per pair (model units)
    parcel: np.ndarray  # parcel index per pair (dense 0..n_parcels-1)
    must: np.ndarray  # per parcel: exactly one pair (True) or at most one
    sack: np.ndarray  # knapsack per pair (-1: in none)
    weight: np.ndarray  # whole weight per pair in its knapsack
    capacity: np.ndarray  # whole capacity per knapsack
    sign: float
    obj_scale: float

    @property
    def whole_values(self) -> bool:
        """Every pair's objective is a whole number in scenario units (so is every plan's, and the optimum)."""
        whole = self.profit * self.obj_scale
        return bool(np.allclose(whole, np.round(whole), rtol=0, atol=1e-9))

    def sack_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The pairs in knapsacks, knapsack by knapsack (stable), and where each knapsack's run starts."""
        in_sack = self.sack >= 0
        order = np.flatnonzero(in_sack)[np.argsort(self.sack[in_sack], kind="stable")]
        return order, np.r_[0, np.cumsum(np.bincount(self.sack[in_sack], minlength=len(self.capacity)))]


@dataclass(frozen=True)
class LagrangeResult:
    bound: float  # in scenario units and sense (a lower bound when minimising)
    evaluations: int
    choice: np.ndarray  # per parcel: the pair the knapsacks chose most often near the end (-1: none)
    share: np.ndarray  # per parcel: how often that was (0..1)
    frequency: np.ndarray  # per pair: how often the knapsacks chose it near the end (0..1)
    prices: np.ndarray  # the best multipliers found (one per parcel), to continue from
    step: float = 2.0  # the step factor reached
    reduced: np.ndarray | None = None  # per pair: profit − price − the knapsack's LP price × weight (best first)
    stopped_by: str = "evaluation_limit"  # or "converged", or "time_limit" (the ceiling cut it: load-dependent)


def structure(bundle) -> Structure | None:
    """The knapsack form of the model, or None if it does not have one (see the module docstring)."""
    from optimizer.solvers.local_search import Neighbourhood

    m = bundle.milp
    n = bundle.n_pairs
    if n == 0 or m.n_cols != 2 * n or bundle.row_natural is None:
        return None
    pairs = bundle.pairs
    if not np.all(pairs.lo_m2 == pairs.hi_m2):
        return None
    nb = Neighbourhood(bundle)
    P = nb.P[:, :n].tocsr()
    fam = np.empty(m.n_rows, dtype=object)
    for b in m.blocks:
        fam[b.start:b.start + b.size] = b.family
    used = np.flatnonzero(np.diff(P.indptr))
    one = used[fam[used] == "one_use"]
    rest = used[fam[used] != "one_use"]
    if not np.isinf(m.row_lower[rest]).all() or not np.isfinite(m.row_upper[rest]).all():
        return None
    Pr = P[rest].tocsc()
    if Pr.nnz and (Pr.data < 0).any():
        return None
    per_pair = np.diff(Pr.indptr)
    if (per_pair > 1).any():
        return None
    Po = P[one].tocsc()
    if not (np.diff(Po.indptr) == 1).all() or not np.allclose(Po.data, 1.0):
        return None
    nat = bundle.row_natural[rest]
    w = Pr.copy()
    w.data = w.data * np.repeat(nat, 1)[Pr.indices]
    if not np.allclose(w.data, np.round(w.data), rtol=0, atol=1e-6):
        return None
    cap = np.floor(m.row_upper[rest] * nat + 1e-6)
    sack = np.full(n, -1, dtype=np.int64)
    weight = np.zeros(n, dtype=np.int64)
    has = per_pair == 1
    sack[has] = Pr.indices[Pr.indptr[:-1][has]]
    weight[has] = np.round(w.data[Pr.indptr[:-1][has]]).astype(np.int64)
    cap_i = np.maximum(cap, -1).astype(np.int64)
    if (cap_i < 0).any():
        return None
    cells = np.bincount(sack[has], minlength=len(rest)) * (np.minimum(cap_i, weight.sum()) + 1)
    if cells.sum() > MAX_DP_CELLS:
        return None
    parcel = Po.indices  # local one-use row = parcel
    must = m.row_lower[one] >= 1 - 1e-9
    return Structure(nb.sign * nb.g[:n], parcel.astype(np.int64), must, sack, weight, cap_i, nb.sign, m.obj_scale)


def _offer(dp: np.ndarray, e: np.ndarray, live: np.ndarray, val: np.ndarray, weight: np.ndarray,
           within: np.ndarray) -> np.ndarray:
    """One step of the 0-1 programme, all knapsacks at once: the value of each knapsack (row) at each weight
    (column) when item e[k] is taken on top of dp; −inf where it is not live, does not fit or is worth nothing."""
    p = np.where(live, val[e], -np.inf)
    src = np.arange(dp.shape[1])[None, :] - np.where(live, weight[e], 0)[:, None]
    ok = (src >= 0) & (p[:, None] > 0) & within
    return np.where(ok, dp[np.arange(dp.shape[0])[:, None], np.maximum(src, 0)] + p[:, None], -np.inf)


def _knapsacks(S: Structure, price: np.ndarray, caps: np.ndarray, order: np.ndarray, starts: np.ndarray):
    """max Σ (profit − price) x over each knapsack, exactly (0-1 dynamic programme, all knapsacks at once).

    Items are padded so that step t handles the t-th item of every knapsack. Returns the value per knapsack and
    the chosen pairs (bool per pair)."""
    K = len(caps)
    cmax = int(caps.max()) if K else 0
    counts = np.diff(starts)
    T = int(counts.max()) if K else 0
    val = S.profit - price[S.parcel]
    dp = np.where(np.arange(cmax + 1)[None, :] <= caps[:, None], 0.0, -np.inf)
    take = np.zeros((T, K, cmax + 1), dtype=bool)
    cols = np.arange(cmax + 1)
    rows = np.arange(K)
    within = cols[None, :] <= caps[:, None]
    for t in range(T):
        live = counts > t
        e = np.where(live, order[np.minimum(starts[:-1] + t, len(order) - 1)], 0)
        cand = _offer(dp, e, live, val, S.weight, within)
        better = cand > dp
        take[t] = better
        dp = np.where(better, cand, dp)
    best_c = np.argmax(dp, axis=1)
    value = dp[rows, best_c]
    chosen = np.zeros(len(S.profit), dtype=bool)
    c = best_c.copy()
    for t in range(T - 1, -1, -1):  # walk back
        live = counts > t
        tk = live & take[t, rows, c]
        e = order[starts[:-1][tk] + t]
        chosen[e] = True
        c[tk] -= S.weight[e]
    return value, chosen


def bound(S: Structure, evaluations: int = EVALUATIONS, upper: float | None = None, tail: int = 100,
          deadline: float | None = None, start: LagrangeResult | None = None) -> LagrangeResult:
    """Subgradient ascent on the one-use multipliers (Polyak steps towards `upper`, a known plan's value in
    scenario units if given, halved after 20 evaluations without progress). Every evaluation's value is a valid
    bound; the best is returned, with the knapsacks' most frequent choice per parcel over the last `tail`."""
    n_parcels = len(S.must)
    in_sack = S.sack >= 0
    order, starts = S.sack_order()
    free = np.flatnonzero(~in_sack)
    # start: each parcel's best profit (the relaxation with every pair free of its knapsack is then 0)
    price = np.full(n_parcels, -np.inf)
    np.maximum.at(price, S.parcel, S.profit)
    price = np.where(np.isfinite(price), price, 0.0)
    price = np.where(S.must, price, np.maximum(price, 0.0))
    step = 2.0
    if start is not None:
        price, step = start.prices.copy(), start.step
    best_price = price.copy()
    target = None if upper is None else S.sign * upper / S.obj_scale
    best, since = -np.inf, 0
    hits: list[np.ndarray] = []
    evals, why = 0, "evaluation_limit"
    import time

    for it in range(int(evaluations)):
        if deadline is not None and time.perf_counter() > deadline:  # a ceiling only
            why = "time_limit"
            break
        evals += 1
        sack_val, chosen = _knapsacks(S, price, S.capacity, order, starts)
        fv = S.profit[free] - price[S.parcel[free]]
        chosen[free] = fv > 0
        L = float(price.sum() + sack_val.sum() + np.maximum(fv, 0).sum())
        if L < best - 1e-12 * max(1.0, abs(best)) or not np.isfinite(best):
            best, since, best_price = L, 0, price.copy()
        else:
            since += 1
            if since >= 20:
                step, since = step / 2, 0
        if it >= evaluations - tail:
            hits.append(chosen.copy())
        counts = np.bincount(S.parcel[chosen], minlength=n_parcels)
        d = 1 - counts  # subgradient of L in the prices is (1 − how often the parcel is chosen)
        d = np.where(S.must | (price > 0) | (d < 0), d, 0)
        if not d.any():
            why = "converged"
            break
        gap = (L - target) if target is not None and target < L else 0.01 * max(abs(L), 1.0)
        price = price - step * gap / float(d @ d) * d
        price = np.where(S.must, price, np.maximum(price, 0.0))
        if step < 1e-6:
            why = "converged"
            break
    if evals == 0 and start is not None:
        return replace(start, evaluations=0, stopped_by=why)
    # the most frequent pair per parcel over the tail
    if hits:
        H = np.array(hits).mean(axis=0)
    else:
        H = np.zeros(len(S.profit))
    choice = np.full(n_parcels, -1, dtype=np.int64)
    share = np.zeros(n_parcels)
    order_p = np.lexsort((-H, S.parcel))
    first = np.r_[True, np.diff(S.parcel[order_p]) != 0]
    top = order_p[first]
    choice[S.parcel[top]] = np.where(H[top] > 0, top, -1)
    share[S.parcel[top]] = H[top]
    margin = 1e-9 * max(1.0, abs(best))  # floating-point sums
    value = S.sign * (best + margin) * S.obj_scale
    if S.whole_values:  # whole objective values: so is the optimum
        value = float(np.floor(value + 1e-6)) if S.sign > 0 else float(np.ceil(value - 1e-6))
    if start is not None and S.sign * (start.bound - value) < 0:  # the earlier bound was better
        value = start.bound
    return LagrangeResult(value, evals, choice, share, H, best_price, step, _reduced(S, best_price), why)


MAX_PENALTY_CELLS = 5_000_000  # items × knapsacks × (capacity + 1) of the tables `penalties` keeps


def penalties(S: Structure, price: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The relaxation's value L at `price` (model units, maximised) and, per pair, how much it falls when that
    pair is forced into the plan: L − penalty is an upper bound on every plan that uses the pair.

    Exact for the knapsacks: forcing item e (weight w) into knapsack k leaves the best of the other items in the
    capacity left, max over a of F(a) + B(c − w − a), with F the best value of the items before e within weight
    a and B that of the items after it (two dynamic programmes, all knapsacks at once). A pair in no knapsack
    falls by max(v, 0) − v. Relaxing more (the parcel's other pairs stay free) only weakens the bound, so it
    stays valid. None when the tables would pass MAX_PENALTY_CELLS.
    """
    in_sack = S.sack >= 0
    K = len(S.capacity)
    order, starts = S.sack_order()
    counts = np.diff(starts)
    T = int(counts.max()) if K else 0
    cmax = int(S.capacity.max()) if K else 0
    if T * K * (cmax + 1) > MAX_PENALTY_CELLS:
        return None
    val = S.profit - price[S.parcel]
    caps = S.capacity
    cols = np.arange(cmax + 1)
    rows = np.arange(K)
    within = cols[None, :] <= caps[:, None]
    items = np.where(counts[:, None] > np.arange(T)[None, :],
                     order[np.minimum(starts[:-1, None] + np.arange(T)[None, :], max(len(order) - 1, 0))], -1)

    def add(dp, t):  # dp with the t-th item of every knapsack on offer
        return np.maximum(dp, _offer(dp, np.maximum(items[:, t], 0), items[:, t] >= 0, val, S.weight, within))

    empty = np.where(within, 0.0, -np.inf)
    back = np.empty((T + 1, K, cmax + 1))  # back[t]: items t.. of each knapsack, within weight c
    back[T] = empty
    for t in range(T - 1, -1, -1):
        back[t] = add(back[t + 1], t)
    sack_val = back[0][rows, caps] if K else np.zeros(0)
    pen = np.zeros(len(S.profit))
    fwd = empty
    for t in range(T):
        e = items[:, t]
        live = e >= 0
        ee = np.maximum(e, 0)
        left = caps - np.where(live, S.weight[ee], 0)  # capacity left beside the forced item
        idx = left[:, None] - cols[None, :]
        pairs_ok = (idx >= 0) & within
        rest = np.where(pairs_ok, fwd + back[t + 1][rows[:, None], np.maximum(idx, 0)], -np.inf).max(axis=1)
        forced = val[ee] + rest
        pen[e[live]] = np.where(left[live] >= 0, sack_val[live] - forced[live], np.inf)
        fwd = add(fwd, t)
    free = ~in_sack
    fv = val[free]
    pen[free] = np.maximum(fv, 0.0) - fv
    L = float(price.sum() + sack_val.sum() + np.maximum(fv, 0.0).sum())
    return L, np.maximum(pen, 0.0)


def _thresholds(S: Structure, L: float, pen: np.ndarray) -> np.ndarray:
    """Per pair, the value (maximised, model units) that a plan must pass for the pair to be fixed out: a plan
    that uses it is worth at most L − penalty; with whole objective values a better plan is better by a whole
    unit; a small margin for floating-point sums."""
    step = 1.0 / S.obj_scale if S.whole_values else 0.0
    return L - pen + 1e-7 * max(1.0, abs(L)) - step


def fixable(S: Structure, price: np.ndarray, incumbent: float, keep_x: np.ndarray | None = None) -> np.ndarray | None:
    """Pairs that no plan strictly better than `incumbent` (an objective value in scenario units and sense) can
    use, by the bound `penalties` gives at `price`; never the pairs of the plan `keep_x`. None when the
    penalties are not computed (tables too large)."""
    got = penalties(S, price)
    if got is None:
        return None
    out = _thresholds(S, *got) < S.sign * incumbent / S.obj_scale
    if keep_x is not None:
        out &= ~(keep_x[:len(S.profit)] > 0.5)
    return out


def _reduced(S: Structure, price: np.ndarray) -> np.ndarray:
    """Lagrangian reduced profit of each pair: profit − its parcel's price − (its knapsack's LP price per unit of
    weight: the ratio of the item where the greedy fill by ratio meets the capacity) × weight."""
    val = S.profit - price[S.parcel]
    red = val.copy()
    for k in range(len(S.capacity)):  # a handful of knapsacks (industries)
        e = np.flatnonzero(S.sack == k)
        e = e[val[e] > 0]
        if not len(e):
            continue
        w = np.maximum(S.weight[e], 1e-12)
        o = np.argsort(-val[e] / w, kind="stable")
        fill = np.cumsum(S.weight[e][o])
        brk = int(np.searchsorted(fill, S.capacity[k], side="right"))
        rho = float(val[e][o][brk] / w[o][brk]) if brk < len(e) else 0.0
        ek = np.flatnonzero(S.sack == k)
        red[ek] = val[ek] - rho * S.weight[ek]
    return red


def core_model(bundle, S: Structure, lr: LagrangeResult, share: float = CORE_SHARE, top: int = CORE_TOP,
               keep_x: np.ndarray | None = None):
    """The MILP restricted to the core: the pairs the knapsacks chose at least `share` of the time near the end,
    every parcel's `top` most chosen pairs, and the pairs of the plan `keep_x` (so that it stays feasible)."""
    from dataclasses import replace

    m = bundle.milp
    n = bundle.n_pairs
    keep = lr.frequency >= max(share, 1e-12)
    o = np.lexsort((-lr.reduced, -lr.frequency, S.parcel))
    par = S.parcel[o]
    first = np.r_[0, np.flatnonzero(np.diff(par)) + 1]
    rank = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    keep[o[rank < top]] = True
    if keep_x is not None:
        keep |= keep_x[:n] > 0.5
    cu = m.col_upper.copy()
    cu[:n][~keep] = 0.0
    cu[n:2 * n][~keep] = 0.0
    return replace(m, col_upper=cu), int(keep.sum())


def fixed_model(bundle, S: Structure, lr: LagrangeResult, share: float = 0.7):
    """The MILP with every parcel whose knapsack choice reached `share` held to that pair (its other pairs'
    columns bounded to 0)."""
    from dataclasses import replace

    m = bundle.milp
    n = bundle.n_pairs
    dense = S.parcel
    sure = (lr.share >= share) & (lr.choice >= 0)
    keep = lr.choice[dense] == np.arange(n)
    off = sure[dense] & ~keep
    cu = m.col_upper.copy()
    cu[:n][off] = 0.0
    cu[n:2 * n][off] = 0.0
    return replace(m, col_upper=cu), int(sure.sum())


CYCLES = 2  # dual -> core model -> local search rounds before HiGHS takes the full model (fewer if no gain)
CORE_NODES = 500  # branch-and-bound nodes of each core model's HiGHS solve (a work limit, so the same plan on a
# busy machine; the time limit is only a ceiling)
LS_WORK = 2e7  # candidate moves of the local search after each core model (a work limit: ~2-3 s)
POLISH_WORK = 5e6  # ... and of each polish of a HiGHS plan
DUAL_TIME = 0.6  # the dual stops by this share of the time limit at the latest (a ceiling only: EVALUATIONS is
# the limit that decides on this machine, ~5 s idle and ~9 s under load 3 on d20200 with a 30 s limit)
LAST_WORK_SHARE = 0.5  # with SolveOptions.work_limit_s: the last HiGHS solve's work, this share of it


def solve(bundle, opts, S: Structure | None = None):
    """Knapsack-Lagrangian solve of an assignment model (see the module docstring for when it applies).

    Up to CYCLES rounds (another only while the core model was not solved to its optimum and the last round
    improved the plan) of: the knapsack dual (continued from the last multipliers, its steps aimed at the best
    plan so far), HiGHS on the core model those multipliers point to (the best plan's pairs included, so it is
    the warm start), local search on its plan. Then HiGHS on the full model less the pairs that no plan better
    than the best so far can use (`fixable`, from the knapsacks' bound at the best multipliers), warm-started,
    its plans polished as they come, until the time limit or the gap. Returns a SolveResult with the better of
    the two bounds.
    """
    import time
    from dataclasses import replace

    from optimizer.solvers import highs, local_search
    from optimizer.solvers.base import SolveResult, gap_closed, gap_target, rel_gap

    t0 = time.perf_counter()
    S = S or structure(bundle)
    m = bundle.milp
    s = S.sign
    limit = opts.time_limit_s
    nb = local_search.Neighbourhood(bundle)
    phases: list[dict] = []
    plan = {"x": None, "obj": np.nan}

    def left():
        return limit - (time.perf_counter() - t0)

    def offer(x, where):
        if x is None:
            return
        t = time.perf_counter()
        r = local_search.iterated(bundle, x, rounds=10, kick=3, chains=256, neighbourhood=nb, max_work=LS_WORK)
        if plan["x"] is None or s * (r.objective - plan["obj"]) > 1e-9 * max(1.0, abs(r.objective)):
            plan.update(x=r.x, obj=r.objective)
        phases.append({"phase": f"local search ({where})", "stopped_by": r.stopped_by, "moves": r.moves,
                       "seconds": round(time.perf_counter() - t, 3)})

    def done(obj, b):  # within the gap, or equal up to floating-point noise
        return gap_closed(obj, b, opts) or (np.isfinite(b) and rel_gap(obj, b) <= 1e-9)

    def closed():
        return plan["x"] is not None and done(plan["obj"], lb)

    def polish(x):
        r = local_search.improve(bundle, x, neighbourhood=nb, chains=256, max_work=POLISH_WORK)
        return r.x if r.improved else None

    lr, lb = None, np.nan
    for cycle in range(1, CYCLES + 1):
        t = time.perf_counter()
        lr = bound(S, EVALUATIONS if lr is None else EVALUATIONS // 2,
                   upper=plan["obj"] if plan["x"] is not None else None, deadline=t0 + DUAL_TIME * limit, start=lr)
        phases.append({"phase": f"knapsack dual {cycle}", "stopped_by": lr.stopped_by, "evaluations": lr.evaluations,
                       "seconds": round(time.perf_counter() - t, 3)})
        lb = lr.bound
        if plan["x"] is not None and s * (plan["obj"] - lb) > 1e-6 * max(1.0, abs(lb)):
            lb = np.nan  # a plan beats the bound: never report it (a guard; the relaxation is exact)
            break
        if closed() or left() <= 0:
            break
        core, size = core_model(bundle, S, lr, keep_x=plan["x"])
        r = highs.solve(core, replace(opts, time_limit_s=max(left(), 0.0), node_limit=CORE_NODES, work_limit_s=None,
                                      warm_start=plan["x"], stop_at_objective=lb))
        phases.extend({**p, "phase": f"highs (core {cycle})", "core_pairs": size} for p in r.phases)
        before = plan["obj"]
        offer(r.x, f"core {cycle}")
        if closed() or left() <= 0 or r.status in ("optimal", "infeasible") or (
                cycle > 1 and not s * (plan["obj"] - before) > 0):
            break  # another cycle only while the core is not solved and the cycles pay
    bound_h = np.nan
    if left() > 0 and not closed():
        target = gap_target(lb, opts, s > 0)
        last = m
        if plan["x"] is not None and lr is not None:  # the pairs no better plan can use leave HiGHS's model
            t = time.perf_counter()
            out = fixable(S, lr.prices, plan["obj"], keep_x=plan["x"])
            if out is not None:
                n = bundle.n_pairs
                cu = m.col_upper.copy()
                cu[:n][out] = 0.0
                cu[n:2 * n][out] = 0.0
                last = replace(m, col_upper=cu)
            phases.append({"phase": "reduced-cost fixing", "stopped_by": "done" if out is not None else "skipped",
                           "fixed_pairs": int(out.sum()) if out is not None else 0, "pairs": int(bundle.n_pairs),
                           "seconds": round(time.perf_counter() - t, 3)})
        # its plans include the incumbent, and the plans it leaves out are no better: its bound is the model's.
        # No restart: from the incumbent, HiGHS fixes columns at the root and restarts with a new root and cut
        # loop; without it e20100-s1 was proved optimal (11,557) in 29.6 s instead of 11,566 at 0.104 % in 30 s
        # (benchmarks/results/gap-restart-2026-12-03)
        work = None if opts.work_limit_s is None else LAST_WORK_SHARE * opts.work_limit_s
        r = highs.solve(last, replace(opts, time_limit_s=left(), warm_start=plan["x"], stop_at_objective=target,
                                      work_limit_s=work, restart=False), polish=polish)
        phases.extend({**p, "phase": "highs"} for p in r.phases)
        if r.status == "infeasible":
            return replace(r, solver="auto", solve_s=time.perf_counter() - t0, phases=tuple(phases))
        if r.x is not None and (plan["x"] is None or s * (r.objective - plan["obj"]) > 0):
            plan.update(x=r.x, obj=r.objective)
        bound_h = r.bound
    bounds = [b for b in (lb, bound_h) if np.isfinite(b)]
    best_bound = (min(bounds) if s > 0 else max(bounds)) if bounds else np.nan
    solve_s = time.perf_counter() - t0
    msg = (f"knapsack dual bound {lr.bound:,.6g} ({sum(p.get('evaluations', 0) for p in phases)} evaluations); "
           "plans by HiGHS on core models, local search and HiGHS on the full model")
    if plan["x"] is None:
        return SolveResult("no_solution", None, np.nan, best_bound, np.nan, solve_s, "auto", message=msg,
                           phases=tuple(phases))
    gap = rel_gap(plan["obj"], best_bound)
    status = "optimal" if done(plan["obj"], best_bound) else "feasible"
    return SolveResult(status, plan["x"], plan["obj"], best_bound, gap, solve_s, "auto", message=msg,
                       phases=tuple(phases))


__all__ = ["LagrangeResult", "Structure", "bound", "core_model", "fixable", "fixed_model", "penalties", "solve",
           "structure"]
