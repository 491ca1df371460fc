"""A primal heuristic for output per land: large-neighbourhood search on Dinkelbach's parametric MILP.

Near the best ratio λ*, P(λ) = max N − λ·D is subset-sum-like: the LP relaxation fills every demand cap, share
and sub-area minimum exactly with parcels at their full density (splitting a few parcels), while a plan must
fill them with whole parcels, and every m² of land it develops beyond what the floor needs costs λ. Many pairs
are equally good to the LP (the same industry on parcels of the same density), so the LP says which parcels are
in play but not which combination fits.

The search keeps a plan (the incumbent, ratio λ) and repeatedly re-decides part of it with a small MILP:

* each neighbourhood is one coupling rule (a demand cap, a share, a sub-area's floor, the budget...): the pairs
  it touches that the incumbent uses, plus the `margin` pairs of the rule that the LP prices best (the pair's
  output at its best floor minus λ per m² of land minus the LP's prices of the rules it uses), are free; the
  incumbent's other pairs stay chosen with their floor free within their density range (so every rule can
  still be rebalanced); every other pair is out;
* that MILP maximises N − λ·D from the incumbent (value 0): any plan of positive value has a better ratio and
  becomes the incumbent (λ moves up, and the same neighbourhood is tried again).

Repeatable: each restricted MILP stops at its gap or at a node limit (HiGHS `mip_max_nodes`, random_seed 0 and a
fixed thread count), neighbourhoods come in a fixed order and the search stops after a number of restricted
MILPs computed from the time limit at a nominal rate, never from measured speed. The time limit itself is a
hard ceiling, and a search it cuts says so ("stopped_by": "time_limit").

Every plan it returns is a plan of the full MILP (the restriction only fixes columns); its ratio is computed
from the full vector, so the bound of the ratio is untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from optimizer.solvers.base import SolveOptions, SolveResult

LOCAL_FAMILIES = ("one_use", "floor_min", "floor_max")
LAZY_FAMILIES = ("cluster_seed", "cluster_cut")  # rules completed by lazy cuts outside the MILP
NODE_LIMIT = 100  # branch-and-bound nodes of each restricted MILP
MARGIN = 120  # free pairs per neighbourhood beyond the incumbent's own in the rule
FIRST_MARGIN = 200  # the first neighbourhood: every pair the LP uses or prices within reach
FIRST_AIM = 0.005  # the first neighbourhood maximises N − λ·D at this much below the LP's best ratio
MAX_REPEATS = 2  # a neighbourhood that improved the plan is tried again at most this many times in a row
MAX_PASSES = 4  # passes over all neighbourhoods (the search stops earlier after a pass without improvement)
SUB_MIPS_PER_S = 2.0  # the budget of restricted MILPs: this many per second of the time limit (nominal) ...
MIN_SUB_MIPS = 8  # ... and at least this many
ABS_GAP = 1e-6  # a restricted MILP stops within this share of the plan's N (improvements below it are noise)


@dataclass(frozen=True)
class SearchResult:
    x: np.ndarray
    ratio: float
    sub_mips: int
    improvements: int
    stopped_by: str  # "converged", "work_limit", "time_limit" or "skipped"
    seconds: float


def lazy_rules(bundle) -> bool:
    """True when some rule is enforced by cuts added outside the MILP (a plan of the MILP may break it)."""
    return any(b.family in LAZY_FAMILIES and b.size for b in bundle.milp.blocks)


class RestrictedRatio:
    """The full MILP restricted to some pairs, for P(λ) on a neighbourhood of a plan.

    Columns: x for pairs 0..n−1, their floors f for n..2n−1, then auxiliary columns (kept whole)."""

    def __init__(self, bundle):
        m = bundle.milp
        self.m, self.d, self.n = m, bundle.denominator, bundle.n_pairs
        n = self.n
        self.A = m.A.tocsc()
        self.scale = m.obj_scale
        local = np.zeros(m.n_rows, bool)
        for b in m.blocks:
            if b.family in LOCAL_FAMILIES:
                local[b.start:b.start + b.size] = True
        self.local = local
        one_use = next((b for b in m.blocks if b.family == "one_use"), None)
        # the parcel (one-use row) of each pair: parcels are what a choice of pairs must not share; −1 for a pair in
        # no one-use row (per-parcel arrays get one spare last entry, which −1 indexes)
        self.group = np.full(n, -1)
        if one_use is not None:
            sub = self.A[one_use.start:one_use.start + one_use.size, :n].tocsc()
            has = np.diff(sub.indptr) > 0
            self.group[has] = sub.indices[sub.indptr[:-1][has]]
        coupling = np.flatnonzero(~local)
        Ac = m.A.tocsr()[coupling][:, :2 * n].tocsc()
        touch = (abs(Ac[:, :n]) + abs(Ac[:, n:])).tocsr()
        touch.eliminate_zeros()
        self.rules = []  # (row, pairs it touches), distinct pair sets in row order
        seen = set()
        for i, r in enumerate(coupling):
            pairs = touch.indices[touch.indptr[i]:touch.indptr[i + 1]]
            key = pairs.tobytes()
            if len(pairs) and key not in seen:
                seen.add(key)
                self.rules.append((int(r), np.sort(pairs)))
        self.aux = np.arange(2 * n, m.n_cols)

    def margins(self, z: np.ndarray, row_dual: np.ndarray, lam: float, lo_u: np.ndarray) -> np.ndarray:
        """Per pair: its LP-priced value at its best floor, N − λ·D minus the LP's prices of the rules it uses
        (0 for a pair the LP would take, negative for one it would not; model units)."""
        n, m = self.n, self.m
        y = np.where(self.local, 0.0, row_dual)
        cx = m.c[:n] - lam * self.d[:n] / self.scale - self.A[:, :n].T @ y
        cf = m.c[n:2 * n] - self.A[:, n:2 * n].T @ y
        hi = m.col_upper[n:2 * n]
        return cx + np.maximum(hi * cf, lo_u * cf)

    def ratio(self, x: np.ndarray) -> float:
        land = float(self.d @ x)
        return float(self.m.c @ x) * self.scale / land if land > 0 else 0.0

    def solve(self, free: np.ndarray, fixed: np.ndarray, lam: float, warm: np.ndarray, opts: SolveOptions,
              sub_solver: Callable[[object, SolveOptions], SolveResult]) -> np.ndarray | None:
        """P(λ) with the pairs `free` open, the pairs `fixed` chosen (floors free) and all others out; the plan
        as a full column vector, or None (no plan, or the restriction cannot meet a rule)."""
        m, n = self.m, self.n
        cols = np.r_[free, n + free, n + fixed, self.aux]
        shift = self.A[:, fixed] @ np.ones(len(fixed))
        lower, upper = m.row_lower - shift, m.row_upper - shift
        sub = self.A[:, cols].tocsr()
        keep = np.diff(sub.indptr) > 0
        tol = 1e-9
        if (lower[~keep] > tol).any() or (upper[~keep] < -tol).any():
            return None
        c = m.c - lam * self.d / self.scale
        rm = replace(m, c=c[cols], A=sub[keep], row_lower=lower[keep], row_upper=upper[keep],
                     col_lower=m.col_lower[cols], col_upper=m.col_upper[cols], integrality=m.integrality[cols],
                     blocks=(), col_names=None)
        res = sub_solver(rm, replace(opts, warm_start=warm[cols]))
        if not res.has_plan:
            return None
        x = np.zeros(m.n_cols)
        x[cols] = res.x
        x[fixed] = 1.0
        return x


def search(bundle, x0: np.ndarray, z_lp: np.ndarray, row_dual: np.ndarray, lam_lp: float, opts: SolveOptions,
           deadline: float, sub_solver: Callable[[object, SolveOptions], SolveResult],
           restricted: RestrictedRatio | None = None) -> SearchResult:
    """Improve the plan x0 (a plan of the full MILP) by the neighbourhoods of the module docstring.

    z_lp, row_dual: the LP relaxation's best-ratio point and its row duals at ratio lam_lp (they rank the
    pairs). sub_solver(milp, options) solves a restricted MILP. Returns the best plan found (x0 if none)."""
    t0 = time.perf_counter()
    R = restricted or RestrictedRatio(bundle)
    n = R.n
    x, lam = np.asarray(x0, float).copy(), R.ratio(x0)
    if lazy_rules(bundle):
        return SearchResult(x, lam, 0, 0, "skipped", time.perf_counter() - t0)
    lo_u = bundle.pairs.lo_m2 / bundle.floor_unit_m2
    g = R.margins(z_lp, row_dual, lam_lp, lo_u)
    in_lp = z_lp[:n] > 1e-9
    # best-priced first; the LP's own pairs before all others; ties by position (repeatable)
    order = np.lexsort((np.arange(n), -g, ~in_lp))
    rank = np.empty(n, int)
    rank[order] = np.arange(n)
    budget = max(MIN_SUB_MIPS, int(np.ceil(SUB_MIPS_PER_S * opts.work_s)))
    sub_opts = SolveOptions(mip_gap=1e-9, threads=opts.threads, node_limit=NODE_LIMIT, log=False)
    n_sub, n_better, stopped = 0, 0, "converged"
    must = _must_groups(R)

    def around(chosen: np.ndarray, inside: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
        """(free, fixed): `chosen` pairs outside `inside` stay chosen; those inside, the `margin` best-ranked
        other pairs inside on parcels not taken, and the pairs of must-develop parcels not taken are free."""
        fixed = chosen[~inside[chosen]]
        taken = np.zeros(len(must), bool)
        taken[R.group[fixed]] = True
        cand = inside & ~taken[R.group]
        cand[chosen] = False
        pick = np.flatnonzero(cand)
        pick = pick[np.argsort(rank[pick], kind="stable")[:margin]]
        free = np.union1d(np.union1d(chosen[inside[chosen]], pick), np.flatnonzero(must[R.group] & ~taken[R.group]))
        return free, fixed

    def attempt(free: np.ndarray, fixed: np.ndarray, aim: float) -> bool:
        nonlocal x, lam, n_sub, n_better, stopped
        if deadline - time.perf_counter() <= 0:
            stopped = "time_limit"
            return False
        n_sub += 1
        o = replace(sub_opts, time_limit_s=deadline - time.perf_counter(),
                    mip_abs_gap=ABS_GAP * lam * float(R.d @ x))
        new = R.solve(free, fixed, max(lam, aim), x, o, sub_solver)
        if new is None or not R.ratio(new) > lam * (1 + 1e-9):
            return False
        x, lam, n_better = new, R.ratio(new), n_better + 1
        return True

    aim = lam_lp * (1 - FIRST_AIM)
    everything = np.ones(n, bool)
    rules = [np.isin(np.arange(n), pairs) for _, pairs in R.rules]
    for npass in range(MAX_PASSES):
        better = False
        for k, (inside, margin) in enumerate([(everything, FIRST_MARGIN)] + [(r, MARGIN) for r in rules]):
            for _ in range(MAX_REPEATS):
                if n_sub >= budget:
                    stopped = "work_limit"
                    break
                # the very first restricted MILP aims just below the LP's ratio (from a plan far from it)
                target = aim if npass == 0 and k == 0 else 0.0
                if not attempt(*around(np.flatnonzero(x[:n] > 0.5), inside, margin), target):
                    break
                better = True
            if stopped != "converged":
                break
        if stopped != "converged" or not better:
            break
    return SearchResult(x, lam, n_sub, n_better, stopped, time.perf_counter() - t0)


def _must_groups(R: RestrictedRatio) -> np.ndarray:
    """Per parcel (one-use row): must it be developed (its row's lower bound is 1)?"""
    m = R.m
    one_use = next((b for b in m.blocks if b.family == "one_use"), None)
    size = max(int(R.group.max()) + 2, 1)
    must = np.zeros(size, bool)
    if one_use is not None:
        must[:one_use.size] = m.row_lower[one_use.start:one_use.start + one_use.size] > 0.5
    return must


__all__ = ["RestrictedRatio", "SearchResult", "lazy_rules", "search"]
