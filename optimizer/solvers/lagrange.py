"""A structure-aware engine for large cities: Lagrangian relaxation of the few coupling rules, then repair.

The model's rows split into local ones (one use per parcel, floor within the chosen pair's density range) and a
few coupling ones (demand bounds, shares, sites, budgets, sub-area mixes, metric totals). Pricing the coupling
rows with multipliers λ splits the problem into independent per-parcel choices, solved for all parcels at once
with numpy. The multipliers minimise the dual function; it is piecewise linear, so it is smoothed (each max over
a parcel's options becomes a log-sum-exp at temperature T), minimised by L-BFGS-B, and T is lowered in steps.
Every evaluated point's exact dual value is a proven bound, and the best is kept; because each parcel's local
polytope is integral, the dual's optimum equals the LP bound, which is tight on this model family. With few
coupling rows, a trust-region cutting-plane method on the exact dual then polishes the multipliers
(`refine_dual`): the smoothed phase stops at the MIP gap above the optimum, and the repair depends on the prices.
A large model's smoothed dual starts from the dual of a sample of its parcels (`sample_dual`), at its last level.
Both work over blocks of whole parcels (`make_blocks`: their count depends on the model only), evaluated on
the engine's threads and added in block order, so the thread count never changes a number.

A plan is then recovered by a restricted MILP: parcels whose priced choice is clear keep it (after the polish,
their share of the fractional plan its LP duals give, rounded: `_rounded`), with their floor set at its side (a
few per coupling rule stay free, so rows can still be met: no column for a million settled parcels); the parcels
with the closest decisions stay open with their best few options, and rules the restriction could not meet get
the pairs that can, those giving up least priced value per unit first (`_cover`); HiGHS solves that model, with more parcels opened while the gap is above the
target. Should HiGHS prove a restriction infeasible (rules out of reach together though each is within reach
alone), the restriction's LP with its coupling rows made elastic prices the conflict, and the restriction is
widened where that pays most; should its own bound prove the target out of reach, the pairs left out are priced
at its LP's duals and the best added (column generation's pricing). Either widening goes on over LPs alone until
the restriction's LP could do, each elastic LP starting from the last one's basis (and the pricing LP of a
restriction whose elastic LP met every rule from that LP's basis, its own optimum), and then the MILP is solved
again, from the rounding of the last LP's optimum when it has one (`_repair`). A restriction of
ELASTIC_FIRST_MIN_OPEN open pairs or more starts with its elastic LP, before any MILP; one whose LP optimum is
short of the target is priced without a MILP.

Repeatable plans: no decision below the user's time limit looks at a clock. The dual stops on convergence
tolerances and on function-evaluation limits that depend only on the problem and the options (a fixed number
of L-BFGS-B iterations and evaluations per smoothing level, and a total evaluation budget computed from the time
limit, or from SolveOptions.work_limit_s when it is set, with a nominal cost per evaluation, never from measured
speed). Each restricted repair MILP stops at its gap, at the target objective, once its bound proves the target
out of reach, or at a node limit (HiGHS `mip_max_nodes`, random_seed 0 and a fixed thread count: HiGHS's MIP
search depends on the thread count but, for a given count, not on load); only the last repair, on the full model,
runs until its gap is closed. With work_limit_s, a share of that work also bounds each repair's cut rounds at its
root and the full-model repair's nodes (REPAIR_WORK_SHARE, FULL_REPAIR_WORK_SHARE). The time limit itself is a
hard ceiling: the phase it cuts says so in `SolveResult.phases` ("stopped_by": "time_limit"). The same scenario
and options thus give the same plan on an idle and on a busy machine; seconds in `phases` and messages are
informational.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from optimizer.errors import SolverFailed
from optimizer.model.build import ModelBundle
from optimizer.solvers.base import SolveOptions, SolveResult, gap_closed, gap_target, rel_gap

NAME = "lagrange"
LOCAL_FAMILIES = ("one_use", "floor_min", "floor_max")
DEFINITION_FAMILIES = ("total_floor", "subarea_floor")
CLUSTER_FAMILIES = ("cluster_seed", "cluster_floor", "cluster_ball", "cluster_cut")
NEIGHBOUR_FAMILIES = ("separation", *CLUSTER_FAMILIES)  # rows among neighbours that a repair must not break


def _family_rows(m, families: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(m.n_rows, bool)
    for b in m.blocks:
        if b.family in families:
            out[b.start:b.start + b.size] = True
    return out

# Deterministic work limits (see the module docstring). None of them is a share of the wall-clock.
DUAL_LEVEL_ITERATIONS = 500  # L-BFGS-B iterations per smoothing level
DUAL_LEVEL_EVALUATIONS = 1500  # function evaluations per smoothing level
DUAL_TIME_SHARE = 0.5  # the dual's evaluation budget: this share of the time limit ...
NOMINAL_WORK_PER_S = 2.0e7  # ... at this nominal speed (pairs + coupling nonzeros per s; ~1/5 of idle here)
# with SolveOptions.work_limit_s: HiGHS's work in each restricted repair and in the full-model repair, these shares
REPAIR_WORK_SHARE = 0.15
FULL_REPAIR_WORK_SHARE = 0.3
DUAL_FTOL_SHARE = 1e-2  # a level stops once an iteration improves the dual by less than this share of its target
RESUME_FTOL_FACTOR = 0.1  # ... and a dual resumed after a repair that left the gap open, this much less
REPAIR_NODE_LIMIT = 1000  # branch-and-bound nodes of each restricted repair (the full-model repair has none)
# HiGHS's MIP search depends on its thread count (not on load), so "threads = 0" (the solver's choice, which
# follows the machine's cores) becomes this fixed count inside the engine: the same plan on any machine.
ENGINE_THREADS = 2


def engine_threads(opts: SolveOptions) -> int:
    return int(opts.threads) if opts.threads else ENGINE_THREADS


@dataclass
class _Problem:
    """The bundle in internal maximisation form: per-parcel structure plus coupling rows over x and f only.

    Auxiliary totals (all floor, floor per sub-area) are substituted by their definitions, T = Σ f: keeping them
    as free columns would make the dual function needlessly steep. The coupling operator is applied as
    A1·z + A2·(D·z), never formed densely.
    """

    c: np.ndarray  # internal objective (maximise) over x and f
    n: int  # pairs
    lo_u: np.ndarray  # floor bounds of each pair in model units
    hi_u: np.ndarray
    starts: np.ndarray  # start of each parcel's pair segment (pairs are parcel-major)
    must: np.ndarray  # per segment: must develop
    aux: np.ndarray  # auxiliary column indices in the full model
    A1: sp.csr_matrix  # coupling rows on x and f
    A2: sp.csr_matrix  # coupling rows on the auxiliary columns
    D: sp.csr_matrix  # auxiliary column = D @ (x, f)
    L: np.ndarray
    U: np.ndarray
    rows: np.ndarray  # coupling rows' indices in the full model
    # standalone boxed columns (neighbour pair variables y, z of optimizer.model.neighbours): in no definition,
    # only in coupling rows (A3), each priced alone in the dual: max(0, c_g − λ·A3_g)·ub_g
    g: np.ndarray | None = None  # their indices in the full model
    cg: np.ndarray | None = None  # internal objective
    ug: np.ndarray | None = None  # upper bounds (lower bounds are 0)
    A3: sp.csr_matrix | None = None
    Anb: sp.csr_matrix | None = None  # neighbour rows (separation, cluster) on x only, with upper bounds Unb
    Unb: np.ndarray | None = None
    # phases: each (parcel, industry) has one pair per phase; `group` numbers those (None: every pair its own), so
    # that a repair keeps a parcel's best few industries with all their phases, not one industry's phases
    group: np.ndarray | None = None
    Acl: sp.csr_matrix | None = None  # cluster rows (any bounds) on x, on f (Aclf), with bounds Lcl, Ucl
    Aclf: sp.csr_matrix | None = None
    Lcl: np.ndarray | None = None
    Ucl: np.ndarray | None = None
    threads: int = 1  # threads that evaluate the dual's blocks (the numbers do not depend on it)

    def __post_init__(self):
        self.Lf = np.where(np.isfinite(self.L), self.L, 0.0)  # finite stand-ins (their multiplier side is 0)
        self.Uf = np.where(np.isfinite(self.U), self.U, 0.0)
        self.A1T, self.A2T, self.DT = self.A1.T.tocsr(), self.A2.T.tocsr(), self.D.T.tocsr()
        self.wd_u = self.hi_u - self.lo_u  # floor range widths
        self.seg_of_pair = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, self.n]))
        if self.g is None:
            self.g, self.cg, self.ug = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
            self.A3 = sp.csr_matrix((len(self.L), 0))
        self.A3T = self.A3.T.tocsr()

    def rmatvec(self, lam: np.ndarray) -> np.ndarray:
        return self.A1T @ lam + self.DT @ (self.A2T @ lam)

    def matvec(self, z: np.ndarray) -> np.ndarray:
        return self.A1 @ z + self.A2 @ (self.D @ z)


def _split(bundle: ModelBundle) -> _Problem:
    m = bundle.milp
    n = bundle.n_pairs
    sign = 1.0 if m.sense == "maximize" else -1.0
    role = np.zeros(m.n_rows, dtype=np.int8)  # 0 coupling, 1 local, 2 definition of an auxiliary total
    for b in m.blocks:
        if b.family in LOCAL_FAMILIES:
            role[b.start:b.start + b.size] = 1
        elif b.family in DEFINITION_FAMILIES:
            role[b.start:b.start + b.size] = 2
    aux = np.arange(2 * n, m.n_cols)
    A = m.A.tocsr()
    defs = np.flatnonzero(role == 2)
    Adef = A[defs]
    Aaux = Adef[:, aux].tocsr()  # one +coef per definition row
    aux_of_def = Aaux.indices[Aaux.indptr[:-1]] if len(defs) else np.zeros(0, int)
    coef = Aaux.data[Aaux.indptr[:-1]] if len(defs) else np.zeros(0)
    D = sp.csr_matrix((len(aux), 2 * n))
    if len(defs):
        # row d: coef·t_a + Σ a_j z_j = 0  ⇒  t_a = −Σ a_j z_j / coef
        Dd = sp.diags(-1.0 / coef) @ Adef[:, :2 * n]
        D = sp.csr_matrix((Dd.tocoo().data, (aux_of_def[Dd.tocoo().row], Dd.tocoo().col)), shape=(len(aux), 2 * n))
    rows = np.flatnonzero(role == 0)
    Ac = A[rows]
    p = bundle.pairs.parcel
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if n else np.zeros(0, int)
    one_use = next(b for b in m.blocks if b.family == "one_use")  # one row per parcel segment, in order
    must = m.row_lower[one_use.start:one_use.start + one_use.size] > 0.5
    c = sign * m.c
    defined = np.zeros(len(aux), bool)
    defined[aux_of_def] = True
    g = aux[~defined]  # standalone columns (neighbour pair variables)
    cg = c[g].copy()
    if len(aux) and np.any(c[aux[defined]]):
        c = c[:2 * n] + D.T @ np.where(defined, c[aux], 0.0)
    A2 = (Ac[:, aux] @ sp.diags(defined.astype(float))).tocsr()
    nb_rows = np.zeros(m.n_rows, bool)
    for b in m.blocks:
        if b.family in NEIGHBOUR_FAMILIES:
            nb_rows[b.start:b.start + b.size] = True
    cl = np.flatnonzero(nb_rows & _family_rows(m, CLUSTER_FAMILIES))
    nb_rows &= ~np.isfinite(m.row_lower)
    nb = np.flatnonzero(nb_rows)
    return _Problem(
        c=c[:2 * n].copy(), n=n, lo_u=bundle.pairs.lo_m2 / bundle.floor_unit_m2,
        hi_u=bundle.pairs.hi_m2 / bundle.floor_unit_m2, starts=starts, must=must, aux=aux,
        A1=Ac[:, :2 * n].tocsr(), A2=A2, D=D, L=m.row_lower[rows], U=m.row_upper[rows], rows=rows,
        g=g, cg=cg, ug=m.col_upper[g].copy(), A3=Ac[:, g].tocsr(), Anb=A[nb][:, :n].tocsr(), Unb=m.row_upper[nb],
        group=_groups(bundle),
        Acl=A[cl][:, :n].tocsr(), Aclf=A[cl][:, n:2 * n].tocsr(), Lcl=m.row_lower[cl], Ucl=m.row_upper[cl],
    )


BLOCK_PAIRS = 1 << 18  # the dual's per-pair arrays are worked in blocks of at most this many pairs (2 MB each) ...
BLOCK_MIN_PAIRS = 1 << 14  # ... and in four blocks or more once there are four times this many (work for threads)


def block_cuts(starts: np.ndarray, n_pairs: int) -> np.ndarray:
    """Segment indices [0, ..., n_segments] cutting parcels (each segment's first pair in `starts`, from 0) into
    runs of about equal pairs: ⌈pairs / BLOCK_PAIRS⌉ of them, at least four once there are 4 × BLOCK_MIN_PAIRS
    pairs, a multiple of four above one. Depends on the parcels only (never on threads or workers), so every
    machine adds the same partial sums in the same order."""
    n_seg = len(starts)
    k = max(-(-n_pairs // BLOCK_PAIRS), 1)
    if n_pairs >= 4 * BLOCK_MIN_PAIRS:
        k = max(k, 4)
    if k > 1:
        k = -(-k // 4) * 4
    k = min(k, max(n_seg, 1))
    if k == 1 or n_seg <= 1:
        return np.array([0, n_seg])
    cuts = np.searchsorted(starts, n_pairs * np.arange(1, k) / k, side="left")
    return np.unique(np.r_[0, np.clip(cuts, 1, n_seg - 1), n_seg])


def _rows(M: sp.csr_matrix, a: int, b: int) -> sp.csr_matrix:
    """Rows a..b of M sharing its entries (only the row pointers are new)."""
    ip = M.indptr[a:b + 1]
    return sp.csr_matrix((M.data[ip[0]:ip[-1]], M.indices[ip[0]:ip[-1]], ip - ip[0]), shape=(b - a, M.shape[1]),
                         copy=False)


COMPACT_X_SHARE = 4  # a block keeps its x columns in coupling rows apart when at most 1 in this many are


@dataclass
class _Block:
    """A run of whole parcels: what the dual's per-pair work needs of it, as views of the problem's arrays.

    Each block yields partial sums (dual values, A·z̄, D·z̄) that are added in block order. The in-process dual
    and the Dask chunks (optimizer.solvers.lagrange_dask) evaluate the same blocks the same way."""

    cx: np.ndarray  # objective on x and on f of the block's pairs
    cf: np.ndarray
    lo: np.ndarray  # floor range of each pair, model units: least and most floor, and the width between
    hi: np.ndarray
    wd: np.ndarray
    starts: np.ndarray  # each parcel's first pair, from 0
    must: np.ndarray  # per parcel: must develop
    seg: np.ndarray  # each pair's parcel, from 0
    Ax: sp.csr_matrix  # rows of A1ᵀ for the block's x and f columns (pairs × coupling rows)
    Af: sp.csr_matrix
    Dx: sp.csr_matrix  # rows of Dᵀ for the same columns (pairs × auxiliary totals)
    Df: sp.csr_matrix
    # when few x columns are in any coupling row or total (q1m: 4 % of them; most rules are on floor), those
    # columns (`xr`, positions in the block) and their rows of Ax and Dx: the products then skip the rest, which
    # add nothing (the same numbers to the last bit: each sum adds the same terms in the same order)
    xr: np.ndarray | None = None
    Axr: sp.csr_matrix | None = None
    Dxr: sp.csr_matrix | None = None
    none: np.ndarray | None = None  # per parcel, the value of developing nothing: 0, or −∞ where it must develop

    def __post_init__(self):
        if self.none is None:
            self.none = np.where(self.must, -np.inf, 0.0)
        if self.xr is None:
            xr = np.flatnonzero((np.diff(self.Ax.indptr) > 0) | (np.diff(self.Dx.indptr) > 0))
            if len(xr) * COMPACT_X_SHARE <= len(self.cx):
                self.xr, self.Axr, self.Dxr = xr, self.Ax[xr], self.Dx[xr]

    def reduced(self, lam: np.ndarray, lam2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reduced values on x and f, c − A1ᵀλ − Dᵀ(A2ᵀλ), with `lam2` = A2ᵀλ."""
        rf = self.cf - (self.Af @ lam + self.Df @ lam2)
        if self.xr is None:
            return self.cx - (self.Ax @ lam + self.Dx @ lam2), rf
        rx = self.cx.copy()
        rx[self.xr] = self.cx[self.xr] - (self.Axr @ lam + self.Dxr @ lam2)
        return rx, rf

    def coupled(self, zx: np.ndarray, zf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block's share of A1·z and of D·z."""
        if self.xr is None:
            return self.Ax.T @ zx + self.Af.T @ zf, self.Dx.T @ zx + self.Df.T @ zf
        zr = zx[self.xr]
        return self.Axr.T @ zr + self.Af.T @ zf, self.Dxr.T @ zr + self.Df.T @ zf


def make_blocks(P: _Problem, s0: int = 0, s1: int | None = None) -> list[_Block]:
    """Parcels s0..s1 (segments) as blocks cut by `block_cuts` over that run alone."""
    n = P.n
    s1 = len(P.starts) if s1 is None else s1
    pair_at = np.r_[P.starts, n]
    q0 = int(pair_at[s0])
    cuts = block_cuts(P.starts[s0:s1] - q0, int(pair_at[s1]) - q0) + s0
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        p0, p1 = int(pair_at[a]), int(pair_at[b])
        out.append(_Block(
            cx=P.c[p0:p1], cf=P.c[n + p0:n + p1], lo=P.lo_u[p0:p1], hi=P.hi_u[p0:p1], wd=P.wd_u[p0:p1],
            starts=(P.starts[a:b] - p0).astype(np.int64), must=P.must[a:b], seg=P.seg_of_pair[p0:p1] - a,
            Ax=_rows(P.A1T, p0, p1), Af=_rows(P.A1T, n + p0, n + p1),
            Dx=_rows(P.DT, p0, p1), Df=_rows(P.DT, n + p0, n + p1)))
    return out


def _blocks(P: _Problem) -> list[_Block]:
    """The problem's blocks (`make_blocks` over every parcel), built once per problem."""
    if getattr(P, "_block_list", None) is None:
        P._block_list = make_blocks(P)
    return P._block_list


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _over_blocks(P: _Problem, fn, blocks: list[_Block]) -> list:
    """fn over the blocks, in P.threads threads (numpy releases the GIL in its loops); results in block order."""
    threads = int(getattr(P, "threads", 1) or 1)
    if threads < 2 or len(blocks) < 2:
        return [fn(b) for b in blocks]
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="landuse-dual")
    return list(_POOLS[threads].map(fn, blocks))


def smoothed_block(b: _Block, lam: np.ndarray, lam2: np.ndarray, T: float, objective: bool = False):
    """One block's share of the smoothed dual: (smoothed value, exact value, A1·z̄, D·z̄), z̄ the smoothed choice
    (with `objective`, also c·z̄: the smoothed choice's objective, as a fifth value).

    Every max over a parcel's options (none, or a pair at its least or most floor) becomes T·logsumexp. A pair
    at reduced values (rx, rf) is worth rx + rf·lo + max(0, s) at its best floor, s = rf·width; the smooth max
    of its two floors adds T·log(1 + e^(−|s|/T)), and the weight on the most floor is the logistic of s/T.

    The logsumexp is shifted by each parcel's exact best (the exact dual's term, in float64), so that its
    exponentials all lie in [0, 2] and are taken in float32 (numpy's SIMD exp and log here; float64's are not,
    and were a third of an evaluation): the smoothed value is off by about 1e-7 × T a parcel and the gradient by
    1e-7 of each term, far below what L-BFGS-B's steps resolve. The exact value (the bound) is float64 throughout.
    """
    rx, rf = b.reduced(lam, lam2)
    s = rf * b.wd
    v_exact = rf * b.lo
    v_exact += rx
    v_exact += np.maximum(s, 0.0)
    best = np.maximum.reduceat(v_exact, b.starts)
    top = np.where(b.must, best, np.maximum(best, 0.0))  # each parcel's exact best, the logsumexp's shift
    exact_val = float(top.sum())
    with np.errstate(over="ignore"):  # float32 casts of exponents far below any float32's range: −inf, then 0
        ed = np.abs(s).astype(np.float32)
        ed *= np.float32(-1.0 / T)
        np.exp(ed, out=ed)  # e^(−|s|/T)
        e = v_exact - top[b.seg]
        e *= 1.0 / T
        e = e.astype(np.float32)
    e += np.log(ed + np.float32(1.0))  # + log(1 + e^(−|s|/T)): the two floors' smooth max, less the exact best
    np.exp(e, out=e)
    z_none = np.where(b.must, 0.0, np.exp(-np.maximum(top, 0.0) / T))  # top ≥ 0 where not must
    ssum = np.add.reduceat(e, b.starts, dtype=np.float64) + z_none
    smooth_val = exact_val + T * float(np.log(ssum).sum())
    w = e / ssum[b.seg]  # probability of each pair
    f = np.where(s >= 0.0, np.float32(1.0), ed)
    f /= np.float32(1.0) + ed  # weight on the most floor
    f = f * b.wd
    f += b.lo
    f *= w  # expected floor
    az, dz = b.coupled(w, f)
    if objective:
        return smooth_val, exact_val, az, dz, float(b.cx @ w + b.cf @ f)
    return smooth_val, exact_val, az, dz


def sum_blocks(parts: list, A2: sp.csr_matrix) -> tuple[float, float, np.ndarray]:
    """Blocks' (smoothed value, exact value, A1·z̄, D·z̄) added in order: (smoothed, exact, A·z̄)."""
    sv, ev, az, dz = parts[0]
    for s, e, a, d in parts[1:]:
        sv += s
        ev += e
        az = az + a
        dz = dz + d
    return sv, ev, az + A2 @ dz


def _smoothed(P: _Problem, mu: np.ndarray, T: float):
    """Entropy-smoothed dual function and its gradient at μ = (μ_up, μ_lo) ≥ 0, plus the exact dual value.

    Every max over a parcel's options becomes T·logsumexp (`smoothed_block`), so the function is smooth and
    L-BFGS-B can minimise it; the smoothing error is at most T·log(options) per parcel.
    """
    m = len(P.L)
    lam = mu[:m] - mu[m:]
    lam2 = P.A2T @ lam
    smooth_val, exact_val, az = sum_blocks(
        _over_blocks(P, lambda b: smoothed_block(b, lam, lam2, T), _blocks(P)), P.A2)
    const = float(P.Uf @ mu[:m] - P.Lf @ mu[m:])
    if len(P.g):  # standalone columns: max(0, r·ub), smoothed as T·log(1 + exp(r·ub/T))
        vg = (P.cg - P.A3T @ lam) * P.ug
        smooth_val += float(T * np.logaddexp(0.0, vg / T).sum())
        exact_val += float(np.maximum(vg, 0.0).sum())
        az = az + P.A3 @ (expit(vg / T) * P.ug)
    grad = np.r_[P.Uf - az, -(P.Lf - az)]
    return smooth_val + const, grad, exact_val + const



@dataclass
class DualResult:
    """What the dual phase proved and why it stopped."""

    bound: float  # best proven bound (internal maximisation form)
    mu: np.ndarray  # multipliers μ = (μ_up, μ_lo) at it
    evaluations: int
    stopped_by: str  # "converged" | "evaluation_limit" | "time_limit" | "infeasible"
    levels: int  # smoothing levels started
    # the polish's primal: weights θ over evaluated points and each point's choice per parcel (k × parcels, coded
    # as `_exact(..., picks=True)` returns them): Σ θ_j · choice_j is a fractional plan that meets the coupling
    # rows (None: not available)
    primal: tuple[np.ndarray, np.ndarray] | None = None
    smoothing: float = np.nan  # the last level's smoothing T (dual_ascent's `resume` goes on from it ...)
    last: np.ndarray | None = None  # ... and from the last iterate


def dual_evaluation_budget(P: _Problem, time_limit_s: float) -> int:
    """Function evaluations the dual may use: DUAL_TIME_SHARE of the time limit at the nominal speed.

    A cost model, not a measurement: it depends only on the problem's size and the options, so a busy machine
    gets the same budget (and the same dual) as an idle one.
    """
    work = P.n + P.A1.nnz + P.A2.nnz + P.D.nnz + P.A3.nnz
    if not np.isfinite(time_limit_s):
        return 2 ** 62
    return max(int(DUAL_TIME_SHARE * max(time_limit_s, 0.0) * NOMINAL_WORK_PER_S / max(work, 1)), 1)


def dual_ascent(P: _Problem, target_rel: float, max_evals: int | None = None, deadline: float = np.inf,
                progress=None, least: float = -np.inf, evaluate=None, resume: DualResult | None = None,
                ftol_share: float = DUAL_FTOL_SHARE, mu0: np.ndarray | None = None,
                n_options: float | None = None) -> DualResult:
    """Minimise the dual function over the multipliers by L-BFGS-B on a smoothing that is tightened in steps.

    Stops when the last level converges, on the evaluation limits (per level: DUAL_LEVEL_ITERATIONS
    iterations, DUAL_LEVEL_EVALUATIONS evaluations; in all: `max_evals`), once a proven bound falls below
    `least` (the least objective any plan can have: no plan exists), or at `deadline` (the user's time limit,
    on time.perf_counter(): the only clock read here).

    `evaluate(mu, T)` replaces `_smoothed(P, mu, T)` (same return values: smoothed value, its gradient, exact
    dual value), e.g. a sum over parcel chunks evaluated elsewhere; None evaluates in this process.

    `mu0`: start from these multipliers, at the last level's smoothing (e.g. a sample's dual, `sample_dual`).

    `n_options`: Σ log(options + 1) over the parcels, which sets the smoothing's start and end (default: from
    P.starts and P.n; given when the parcels are elsewhere, optimizer.solvers.chunked).

    `resume`: go on from where an earlier run stopped (its last level, last iterate and best bound; `max_evals`
    counts its evaluations too), e.g. with a smaller `ftol_share` (a level stops once an iteration improves the
    dual by less than ftol_share × target_rel, relative).
    """
    from scipy.optimize import minimize

    if evaluate is None:
        def evaluate(x, T):
            return _smoothed(P, x, T)

    m = len(P.L)
    # only the multipliers of finite row sides move (those of infinite sides stay 0): L-BFGS-B works on those
    # alone, its bounds all (0, +inf); with one-sided rows (separation, cluster) that is half its vector
    free = np.flatnonzero(np.r_[np.isfinite(P.U), np.isfinite(P.L)])
    bounds = [(0.0, None)] * len(free)

    def full(x: np.ndarray) -> np.ndarray:
        mu = np.zeros(2 * m)
        mu[free] = x
        return mu

    if resume is not None and resume.last is not None and np.isfinite(resume.smoothing):
        mu = resume.last
        best = {"val": resume.bound, "mu": resume.mu, "evals": resume.evaluations}
        T = T_final = resume.smoothing
    else:
        mu = np.zeros(2 * m)
        _, _, exact0 = evaluate(mu, 1.0)
        best = {"val": exact0, "mu": mu.copy(), "evals": 0}
        if m == 0 or not len(free):
            return DualResult(exact0, mu, 0, "converged", 0)
        n_opt = np.log(np.diff(np.r_[P.starts, P.n]) + 1.0).sum() if n_options is None else float(n_options)
        T = max(abs(exact0), 1e-9) * 1e-2 / max(n_opt, 1.0)
        T_final = max(abs(exact0), 1e-9) * target_rel / max(n_opt, 1.0)
        if mu0 is not None:  # a start near the optimum (a sample's dual): the last level at once
            mu = np.where(np.r_[np.isfinite(P.U), np.isfinite(P.L)], np.maximum(mu0, 0.0), 0.0)
            T = T_final
    max_evals = 2 ** 62 if max_evals is None else max(int(max_evals), 1)

    class _Stop(Exception):
        def __init__(self, why: str):
            self.why = why

    def fun(x, T):
        if best["evals"] >= max_evals:
            raise _Stop("evaluation_limit")
        if time.perf_counter() > deadline:
            raise _Stop("time_limit")
        mu_x = full(x)
        val, grad, exact = evaluate(mu_x, T)
        best["evals"] += 1
        if exact < best["val"]:
            best["val"], best["mu"] = exact, mu_x
            if progress is not None:
                progress(best["evals"], exact)
            if exact < least:
                raise _Stop("infeasible")
        return val, grad[free]

    # a loose target (≥ 0.1 %) needs no fine dual: stop each level once it improves by less than that
    ftol = target_rel * ftol_share if target_rel >= 1e-4 else 1e-12
    levels, stopped_by = 0, "converged"
    x = mu[free]
    while True:
        levels += 1
        try:
            res = minimize(fun, x, args=(T,), jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": DUAL_LEVEL_ITERATIONS, "maxfun": DUAL_LEVEL_EVALUATIONS,
                                    "ftol": ftol, "gtol": 1e-10})
            x = res.x
        except _Stop as stop:
            stopped_by = stop.why
            break
        if T <= T_final:
            # status 1: the level's iteration or evaluation limit; 0 and 2 (no further descent): converged
            stopped_by = "evaluation_limit" if res.status == 1 else "converged"
            break
        T = max(T / 10.0, T_final)
    return DualResult(best["val"], best["mu"], best["evals"], stopped_by, levels, smoothing=T, last=full(x))


# a model of this many parcels or more (with the polish to follow) starts its dual from the dual of a sample of
# about DUAL_SAMPLE_PARCELS of its parcels, every k-th, with the coupling rules' bounds scaled to the sample's share
DUAL_SAMPLE_MIN_PARCELS = 80_000
DUAL_SAMPLE_PARCELS = 20_000


def sample_problem(P: _Problem, every: int) -> _Problem:
    """Every `every`-th parcel of P (from the first) with all its pairs, and P's coupling rules with their bounds
    scaled by the share of parcels kept; a rule none of whose columns is kept is dropped (its bounds made
    infinite, so its multiplier stays 0). P must have no standalone columns (neighbour rules)."""
    seg = np.arange(0, len(P.starts), max(int(every), 1))
    lens = np.diff(np.r_[P.starts, P.n])[seg]
    starts = np.r_[0, np.cumsum(lens)[:-1]].astype(P.starts.dtype)
    pairs = np.repeat(P.starts[seg] - starts, lens) + np.arange(int(lens.sum()))
    cols = np.r_[pairs, P.n + pairs]
    share = len(seg) / max(len(P.starts), 1)
    A1, D = P.A1[:, cols].tocsr(), P.D[:, cols].tocsr()
    used = (np.diff(A1.indptr) > 0) | (np.diff((P.A2 @ D).tocsr().indptr) > 0)
    Q = _Problem(c=P.c[cols], n=len(pairs), lo_u=P.lo_u[pairs], hi_u=P.hi_u[pairs], starts=starts,
                 must=P.must[seg], aux=P.aux, A1=A1, A2=P.A2, D=D,
                 L=np.where(used, P.L * share, -np.inf), U=np.where(used, P.U * share, np.inf), rows=P.rows)
    Q.threads = P.threads
    return Q


def sample_dual(P: _Problem, target_rel: float, time_limit_s: float,
                deadline: float) -> tuple[np.ndarray | None, dict] | None:
    """The multipliers of the dual of a sample of P's parcels (`sample_problem`, about DUAL_SAMPLE_PARCELS of
    them), as a start for P's own dual: the prices of a few aggregate rules are nearly the same on a sample, and
    its evaluations cost a fraction of P's (q1m: its smoothed dual took 65 evaluations from zero, 3-10 from a
    sample's 84). Returns (multipliers, what was done); the multipliers are None when the sample's dual did not
    converge (a rule the sample cannot meet, say). None, with no sample taken, when P is too small, has neighbour
    rules, or gets no polish."""
    n_seg = len(P.starts)
    if n_seg < DUAL_SAMPLE_MIN_PARCELS or len(P.g) or not refines(P):
        return None
    every = max(n_seg // DUAL_SAMPLE_PARCELS, 2)
    Q = sample_problem(P, every)
    d = dual_ascent(Q, target_rel, dual_evaluation_budget(Q, time_limit_s), deadline, least=least_objective(Q))
    info = {"sample_parcels": len(Q.starts), "sample_evaluations": d.evaluations, "sample_stopped_by": d.stopped_by}
    return (d.mu if d.stopped_by == "converged" else None), info


def _exact_block(b: _Block, lam: np.ndarray, lam2: np.ndarray, picks: bool):
    """One block's share of the exact dual: (value, A1·z, D·z, each parcel's choice code or None)."""
    rx, rf = b.reduced(lam, lam2)
    s = rf * b.wd
    hi_side = s >= 0.0
    v = rf * b.lo
    v += rx
    v += np.maximum(s, 0.0)
    best = np.maximum.reduceat(v, b.starts)
    none = b.none
    val = float(np.maximum(best, none).sum())
    top = np.flatnonzero(v >= np.where(best >= none, best, np.inf)[b.seg])  # best pairs of developed parcels
    pick = top[np.r_[True, b.seg[top][1:] != b.seg[top][:-1]]] if len(top) else top  # first best pair per parcel
    zx = np.zeros(len(v))
    zx[pick] = 1.0
    zf = np.zeros(len(v))
    zf[pick] = np.where(hi_side[pick], b.hi[pick], b.lo[pick])
    code = None
    if picks:
        code = np.full(len(b.starts), -1, np.int32)
        code[b.seg[pick]] = 2 * (pick - b.starts[b.seg[pick]]) + hi_side[pick]
    az, dz = b.coupled(zx, zf)
    return val, az, dz, code


def _exact(P: _Problem, mu: np.ndarray, picks: bool = False):
    """The exact dual value at μ and a subgradient: each parcel at its best option under the prices (ties to the
    first pair), each standalone column at its upper bound where its reduced value is positive. With `picks`,
    also each parcel's choice as a code: 2 × the pair's position in its parcel + 1 if at its most floor, −1 none."""
    m = len(P.L)
    lam = mu[:m] - mu[m:]
    lam2 = P.A2T @ lam
    parts = _over_blocks(P, lambda b: _exact_block(b, lam, lam2, picks), _blocks(P))
    val, _, az = sum_blocks([(v, 0.0, a, d) for v, a, d, _ in parts], P.A2)
    if len(P.g):
        vg = (P.cg - P.A3T @ lam) * P.ug
        val += float(np.maximum(vg, 0.0).sum())
        az = az + P.A3 @ ((vg > 0) * P.ug)
    val += float(P.Uf @ mu[:m] - P.Lf @ mu[m:])
    g = np.r_[P.Uf - az, -(P.Lf - az)]
    return (val, g, np.concatenate([c for *_, c in parts])) if picks else (val, g)



REFINE_EVALUATIONS = 400  # exact evaluations of the cutting-plane refinement (a work limit, not a clock)
REFINE_MAX_MULTIPLIERS = 200  # above this many free multipliers cutting planes converge too slowly: no refinement
# below this many pairs the smoothed dual's repairs are quick and the polish cost more than it saved (Qianhai,
# 14,514 pairs: its planning answers' 7-9 re-solves took 46-54 s with the polish, 29-38 s without, load ~2)
REFINE_MIN_PAIRS = 50_000
PRIMAL_MEMORY_BYTES = 256e6  # the polish keeps the choices of at most this many bytes' worth of evaluated points
# the refinement stops once its model promises less than this share of the dual's target (a tenth of the MIP gap).
# Finer polish mostly bought prices that a repair could not widen its way out of: since repairs widen by pricing
# (and repairs stop where the gap test passes, `gap_target`), 1e-1 was as good or faster than 1e-2 on q50000,
# q100k, s100k, t50k, t200k at 0.1 % and q50000, t50k, s50k at 1 % (2026-12-02, session 9)
REFINE_TARGET_SHARE = 1e-1
REFINE_TIME_SHARE = 0.2  # its evaluation budget: this share of the time limit at NOMINAL_WORK_PER_S, ...
REFINE_LP_WORK = 1e5  # ... each evaluation costing the problem's work plus this for its cutting-plane LP


# when the polish follows, the smoothed dual stops at this share of the MIP gap (not a tenth of it): the polish's
# cutting planes finish the last part in fewer exact evaluations than the smoothing's last level takes
SMOOTH_TARGET_SHARE_POLISHED = 1.0


def refines(P: _Problem, min_pairs: int | None = None) -> bool:
    """Whether `refine_dual` polishes this problem's smoothed dual (at least `min_pairs` pairs, REFINE_MIN_PAIRS
    unless given; few enough free multipliers)."""
    free = np.r_[np.isfinite(P.U), np.isfinite(P.L)].sum()
    min_pairs = REFINE_MIN_PAIRS if min_pairs is None else min_pairs
    return bool(len(P.L)) and 0 < free <= REFINE_MAX_MULTIPLIERS and P.n >= min_pairs


def refine_evaluation_budget(P: _Problem, time_limit_s: float) -> int:
    """Exact evaluations the polish may use: REFINE_EVALUATIONS, or fewer under a short time limit (a cost model,
    like dual_evaluation_budget: the same on a busy machine, and leaving the repair its time)."""
    if not np.isfinite(time_limit_s):
        return REFINE_EVALUATIONS
    work = P.n + P.A1.nnz + P.A2.nnz + P.D.nnz + P.A3.nnz + REFINE_LP_WORK
    return max(min(REFINE_EVALUATIONS, int(REFINE_TIME_SHARE * max(time_limit_s, 0.0) * NOMINAL_WORK_PER_S / work)),
               1)


def refine_dual(P: _Problem, start: DualResult, target_rel: float, max_evals: int = REFINE_EVALUATIONS,
                deadline: float = np.inf, least: float = -np.inf, min_pairs: int = 0) -> DualResult:
    """Polish the smoothed dual's multipliers with a trust-region cutting-plane method on the exact dual.

    The smoothed L-BFGS-B phase gets near the optimum fast but slowly resolves its last part, and the plan
    depends on it: a restricted repair settles parcels by their margins at the final prices, which are only as
    good as the prices (at 100,000 parcels, prices 1e-4 off the optimum left a repair with 6,000 open parcels
    0.14 % short; polished, 0.004 %). There are few coupling rows, so a cutting-plane model (every exact
    evaluation gives a cut: value plus subgradient) over the multipliers, minimised by a small LP within a box
    around the best point, converges in a few hundred cheap exact evaluations. The box grows on the sides where a step
    reaches its edge and shrinks after a step that does not pay. Models with more than REFINE_MAX_MULTIPLIERS free
    multipliers (neighbour rules add a row per neighbouring pair), or fewer than `min_pairs` pairs (the engine passes
    REFINE_MIN_PAIRS), keep the smoothed phase's result. Stops when the model, with the solution strictly inside
    the box, promises less than `target_rel` of the value; on `max_evals`; at `deadline`; or once a proven bound
    falls below `least` (no plan exists). Every evaluated point's exact value is a proven bound.
    """
    m = len(P.L)
    pinned = np.r_[~np.isfinite(P.U), ~np.isfinite(P.L)]  # multipliers of infinite bounds stay 0
    if start.stopped_by in ("infeasible", "time_limit") or not refines(P, min_pairs):
        return start
    mu_c = start.mu.copy()
    f_c, g, code = _exact(P, mu_c, picks=True)
    cut_b = [f_c - g @ mu_c]
    codes = [code]  # each cut's primal choice (None once dropped for memory)
    keep_codes = max(int(PRIMAL_MEMORY_BYTES // max(4 * len(P.starts), 1)), 4)
    model = _CutModel(2 * m)
    model.add(g, cut_b[0])
    duals = None
    best_f, best_mu = min((f_c, mu_c), (start.bound, start.mu), key=lambda t: t[0])
    box = np.maximum(np.abs(mu_c), 1e-3 * max(float(np.abs(mu_c).max()), 1e-9))
    evals, stopped_by = 1, "evaluation_limit"
    while evals < max_evals:
        if time.perf_counter() > deadline:
            stopped_by = "time_limit"
            break
        lo = np.where(pinned, 0.0, np.maximum(0.0, mu_c - box))
        hi = np.where(pinned, 0.0, mu_c + box)
        solved = model.solve(lo, hi)
        if solved is None:  # the model LP failed (numerics): keep what is proven
            stopped_by, duals = "model_failed", None
            break
        x_lp, duals = solved
        mu_n, promise = x_lp[:2 * m], f_c - x_lp[-1]
        at_edge = ~pinned & (np.isclose(mu_n, hi) | ((lo > 0) & np.isclose(mu_n, lo)))
        edge = bool(at_edge.any())
        if promise <= target_rel * abs(f_c):
            if not edge:
                stopped_by = "converged"
                break
            # the model's minimum may lie outside the box: widen it where the minimiser sits on its edge (widening
            # it all way took 30-45 % more evaluations, each widened side shrinking back through rejected steps)
            box = np.where(at_edge, box * 4.0, box)
            continue
        f_n, g, code = _exact(P, mu_n, picks=True)
        evals += 1
        cut_b.append(f_n - g @ mu_n)
        model.add(g, cut_b[-1])
        codes.append(code)
        if len(codes) > keep_codes:
            codes[-keep_codes - 1] = None
        if f_n < best_f:
            best_f, best_mu = f_n, mu_n.copy()
            if best_f < least:
                stopped_by = "infeasible"
                break
        if f_c - f_n >= 0.1 * promise:  # a step that pays: move the centre, and widen the box if it was too small
            mu_c, f_c = mu_n, f_n
            if edge:
                box = np.where(at_edge, box * 2.0, box)
        else:
            box = box * 0.7
    return DualResult(best_f, best_mu, start.evaluations + evals, stopped_by, start.levels,
                      primal=_primal(duals, codes))


class _CutModel:
    """The polish's cutting-plane model, min t s.t. t ≥ f_j + g_j·(μ − μ_j) for every cut j, μ in a box: one
    HiGHS LP that keeps its basis, so each new cut or box is a few dual simplex steps from the last solve."""

    def __init__(self, n_mu: int):
        import highspy

        from optimizer.solvers.highs import new_highs

        self.n_mu = n_mu
        self.h = new_highs(False)
        inf = highspy.kHighsInf
        self.h.addVars(n_mu + 1, np.r_[np.zeros(n_mu), -inf], np.r_[np.zeros(n_mu), inf])
        self.h.changeColsCost(1, np.array([n_mu], np.int32), np.array([1.0]))
        self.cols = np.arange(n_mu, dtype=np.int32)

    def add(self, g: np.ndarray, b: float) -> None:
        """The cut g·μ − t ≤ −b."""
        import highspy

        nz = np.flatnonzero(g).astype(np.int32)
        self.h.addRow(-highspy.kHighsInf, -b, len(nz) + 1, np.r_[nz, self.n_mu].astype(np.int32),
                      np.r_[g[nz], -1.0])

    def solve(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's minimiser in the box [lo, hi] and the cuts' duals (≤ 0), or None if HiGHS fails."""
        import highspy

        self.h.changeColsBounds(self.n_mu, self.cols, lo, hi)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        return np.asarray(sol.col_value, float), np.asarray(sol.row_dual, float)


def _primal(duals: np.ndarray | None, codes: list) -> tuple[np.ndarray, np.ndarray] | None:
    """The cutting-plane model's LP duals are weights θ over the cuts (Σ θ = 1 when its solution is inside the
    box): Σ θ_j · (choice at point j) is then a fractional plan that meets the coupling rows as well as the
    model is converged. Returns (θ, choices) over the cuts with weight whose choices were kept, or None."""
    if duals is None or not len(duals):
        return None
    theta = np.maximum(-duals[:len(codes)], 0.0)
    use = [j for j in np.flatnonzero(theta > 1e-9) if codes[j] is not None]
    total = float(theta.sum())
    if not use or total <= 0 or theta[use].sum() < 0.5 * total:
        return None
    return theta[use] / theta[use].sum(), np.stack([codes[j] for j in use])


def _shortfall(P: _Problem, chosen: np.ndarray, most: np.ndarray) -> float:
    """How far a choice of pairs (at their most floor where `most`, else their least) is from meeting the coupling
    rows: the sum over rows of the violation, each relative to its bound."""
    act = P.matvec(np.r_[chosen.astype(float), chosen * np.where(most, P.hi_u, P.lo_u)])
    over = np.maximum(act - P.U, 0.0) / np.maximum(np.abs(P.Uf), 1.0)
    under = np.maximum(P.L - act, 0.0) / np.maximum(np.abs(P.Lf), 1.0)
    return float(over.sum() + under.sum())


GOLDEN = 0.6180339887498949  # parcel p draws u = frac(p × GOLDEN): evenly spread over [0, 1), the same every run


def _rounded(P: _Problem, primal: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """An integral plan from the polish's fractional one: parcel p takes the choice of the evaluated point j whose
    share of the cumulative weights holds u_p = frac(p × GOLDEN). Parcels that every weighted point agrees on keep
    that choice; tied parcels (whole industries tie on every parcel they share once the prices equalise their
    values, and the priced choice would give them all to one) are shared out in proportion to θ, so the rows'
    activities land near the fractional plan's, which meets them. Returns (chosen pair mask, at-most-floor mask).
    """
    theta, codes = primal
    n_seg = len(P.starts)
    cum = np.cumsum(theta)
    u = np.mod(np.arange(n_seg) * GOLDEN, 1.0) * cum[-1]
    which = np.minimum(np.searchsorted(cum, u, side="right"), len(theta) - 1)
    code = codes[which, np.arange(n_seg)]
    dev = np.flatnonzero(code >= 0)
    pair = P.starts[dev] + code[dev] // 2
    chosen, hi_side = np.zeros(P.n, bool), np.zeros(P.n, bool)
    chosen[pair] = True
    hi_side[pair] = code[dev] % 2 == 1
    return chosen, hi_side


def least_objective(P: _Problem) -> float:
    """The least objective (internal maximisation form) that any plan can have: each parcel at its worst
    option (a pair at its least or most floor, or none unless it must be developed). A proven dual bound below
    it means that no plan exists."""
    rx, rf = P.c[:P.n], P.c[P.n:2 * P.n]
    v = rx + np.minimum(rf * P.lo_u, rf * P.hi_u)
    worst = np.minimum.reduceat(v, P.starts)
    return float(np.where(P.must, worst, np.minimum(worst, 0.0)).sum() + np.minimum(P.cg * P.ug, 0.0).sum())


def _groups(bundle: ModelBundle) -> np.ndarray | None:
    """Per pair, the number of its (parcel, industry) when the model has phases (several pairs each), else None."""
    pairs = bundle.pairs
    if getattr(pairs, "phase", None) is None:
        return None
    return np.unique(pairs.parcel.astype(np.int64) * pairs.n_industries + pairs.industry, return_inverse=True)[1]


def _group_rank(P: _Problem, v: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per pair, the rank of its (parcel, industry) within its parcel by the group's best pair value (phases);
    the pair's own rank without phases."""
    if P.group is None:
        return rank
    n_g = int(P.group.max()) + 1 if len(P.group) else 0
    gbest = np.full(n_g, -np.inf)
    np.maximum.at(gbest, P.group, v)
    gseg = np.zeros(n_g, np.int64)
    gseg[P.group] = P.seg_of_pair
    order = np.lexsort((-gbest, gseg))  # groups by parcel, best first
    first = np.searchsorted(gseg[order], gseg[order], side="left")
    grank = np.empty(n_g, np.int64)
    grank[order] = np.arange(n_g) - first
    return grank[P.group]


def top_ranks(v: np.ndarray, starts: np.ndarray, seg: np.ndarray, k: int) -> np.ndarray:
    """Each pair's rank within its parcel by value, highest first and ties to the first pair (as a stable sort
    would rank them), for the k best of each parcel; every other pair gets k. A few passes over the pairs
    instead of a sort of all of them."""
    rank = np.full(len(v), k, np.int64)
    if not len(v):
        return rank
    left = v.astype(float, copy=True)
    for t in range(min(k, int(np.diff(np.r_[starts, len(v)]).max()))):
        best = np.maximum.reduceat(left, starts)
        at = np.flatnonzero((left == best[seg]) & (rank == k))
        first = at[np.r_[True, seg[at][1:] != seg[at][:-1]]] if len(at) else at  # the first best of each parcel
        rank[first] = t
        left[first] = -np.inf
    return rank


def _candidates(P: _Problem, mu: np.ndarray, n_free: int, top: int = 3, incumbent: np.ndarray | None = None,
                primal: tuple[np.ndarray, np.ndarray] | None = None):
    """Pairs kept for the repair MILP, from the exact per-parcel choices at the final prices.

    The `n_free` parcels whose decision is closest (smallest margin between their best and second-best option,
    "none" included) stay open with their `top` best pairs (with phases: their `top` best industries, each in
    every phase); every other parcel is settled at its priced choice:
    fixed to its best pair or left undeveloped, or, given the polish's `primal`, to its share of the fractional
    plan (`_rounded`). Returns (keep, fixed) masks over pairs and the settled floors (`_floor_values`).
    """
    m = len(P.L)
    r = P.c - P.rmatvec(mu[:m] - mu[m:])
    rx, rf = r[:P.n], r[P.n:2 * P.n]
    v = rx + np.maximum(rf * P.lo_u, rf * P.hi_u)
    seg = P.seg_of_pair
    rank = top_ranks(v, P.starts, seg, max(top, 2))  # within the parcel, by value (descending)
    best = np.maximum.reduceat(v, P.starts)
    second = np.full(len(P.starts), -np.inf)
    second[seg[rank == 1]] = v[rank == 1]
    none = np.where(P.must, -np.inf, 0.0)
    top1 = np.maximum(best, none)
    top2 = np.where(best >= none, np.maximum(second, none), best)
    margin = top1 - top2
    n_free = min(n_free, len(P.starts))
    free_seg = np.zeros(len(P.starts), bool)
    if n_free > 0:
        free_seg[np.argpartition(margin, n_free - 1)[:n_free]] = True
    develop = best >= none  # the priced choice: the best pair, or none
    chosen, side = (rank == 0) & develop[seg], None
    if primal is not None:  # the rounded fractional plan, where it comes closer to meeting the coupling rows
        rounded, most = _rounded(P, primal)
        if _shortfall(P, rounded, most) < _shortfall(P, chosen, rf > 0):
            chosen, side = rounded, most
    if P.Anb is not None and P.Anb.shape[0]:
        # parcels whose priced choices break a separation or cluster row among themselves stay open, with
        # every parcel in such a row (so that a neighbour can change, or the choice give way)
        settled = (chosen & ~free_seg[seg]).astype(float)
        broken = np.flatnonzero(P.Anb @ settled > P.Unb + 1e-9)
        if len(broken):
            cols = P.Anb[broken].indices
            free_seg[seg[cols]] = True
    near = np.zeros(P.n, bool)
    if P.Acl is not None and P.Acl.shape[0]:
        # cluster rows that the settled choices alone break (even at their largest floors): every pair in them
        # (the site and its industry on the parcels around it) stays open, so the group can form or give way
        settled = (chosen & ~free_seg[seg]).astype(float)
        act = P.Acl @ settled
        touched = np.flatnonzero((act > P.Ucl + 1e-9) | (act + P.Aclf @ (settled * P.hi_u) < P.Lcl - 1e-9))
        if len(touched):
            near[np.unique(P.Acl[touched].indices)] = True
            free_seg[seg[near]] = True
    inc = np.zeros(P.n, bool)
    if incumbent is not None:  # parcels where the incumbent plan differs stay open, so it stays a valid start
        inc = incumbent[:P.n] > 0.5
        differs = np.bincount(seg[inc != chosen], minlength=len(P.starts)) > 0
        free_seg |= differs
    # an open parcel keeps its `top` best industries (with phases: each with every phase it may be built in)
    grank = _group_rank(P, v, rank)
    keep = np.where(free_seg[seg], (grank < top) | inc | near | chosen, chosen)
    fixed = keep & ~free_seg[seg]
    fval = _floor_values(P, rf, mu, fixed, incumbent, side)
    extra = _cover(P, v, keep, fixed, fval)
    if extra.any():  # rules the restriction could not meet: open the parcels of the pairs that can meet them
        free_seg[seg[extra]] = True
        keep = np.where(free_seg[seg], (grank < top) | inc | near | extra | chosen, chosen)
        fixed = keep & ~free_seg[seg]
        fval = np.where(fixed, fval, np.nan)
    return keep, fixed, fval


FREE_FLOORS_BINDING = 64  # settled pairs per binding coupling rule whose floor a repair may still move ...
FREE_FLOORS_SLACK = 4  # ... and per rule that the prices leave slack
FLOOR_LOOP_ROWS = 2000  # up to this many coupling rules, _floor_values picks each rule's pairs in a loop over rules


def _floor_values(P: _Problem, rf: np.ndarray, mu: np.ndarray, fixed: np.ndarray,
                  incumbent: np.ndarray | None, side: np.ndarray | None = None) -> np.ndarray:
    """The floor of each settled pair in a restricted repair (NaN: left free within its range; every other pair).

    A settled pair's floor is set where the prices put it: its most floor if floor pays at the prices, its least
    if not (or where `side` says: True for the most floor; or the incumbent plan's floor where the incumbent uses that pair, so the incumbent stays a valid
    start). A repair then carries no column for it, which is what keeps it small at a million parcels. Only, for
    every coupling rule, the settled pairs in it whose floor is nearest to indifferent (least |reduced value| ×
    range) stay free, FREE_FLOORS_BINDING of them for a rule with a nonzero multiplier and FREE_FLOORS_SLACK for
    one without: the repair can still move each rule's activity continuously.
    """
    n = P.n
    most = rf > 0 if side is None else side
    fval = np.where(fixed, np.where(most, P.hi_u, P.lo_u), np.nan)
    if incumbent is not None:
        use = fixed & (incumbent[:n] > 0.5)
        fval[use] = incumbent[n:2 * n][use]
    movable = fixed & (P.hi_u > P.lo_u)
    if not movable.any() or not len(P.L):
        return fval
    Aeff = _effective(P)
    score = np.abs(rf) * (P.hi_u - P.lo_u)
    m = len(P.L)
    limit = np.where((mu[:m] > 0) | (mu[m:] > 0), FREE_FLOORS_BINDING, FREE_FLOORS_SLACK)
    if m <= FLOOR_LOOP_ROWS:  # few rules: each rule's least scores by a partial sort of its own entries
        for i in range(m):
            cols = Aeff.indices[Aeff.indptr[i]:Aeff.indptr[i + 1]]
            pairs = cols[cols >= n] - n
            pairs = pairs[movable[pairs]]
            if len(pairs) > limit[i]:  # the `limit` least scores, ties to the lower pair (as a stable sort)
                sc = score[pairs]
                pairs = pairs[sc <= np.partition(sc, limit[i] - 1)[limit[i] - 1]]
                pairs = pairs[np.argsort(score[pairs], kind="stable")[:limit[i]]]
            fval[pairs] = np.nan
        return fval
    # many rules (neighbour rows): one sort of every (rule, movable floor) entry by rule, then score
    row = np.repeat(np.arange(m), np.diff(Aeff.indptr))
    col = Aeff.indices
    on = col >= n
    row, pair = row[on], col[on] - n
    on = movable[pair]
    row, pair = row[on], pair[on]
    order = np.lexsort((score[pair], row))
    row_sorted = row[order]
    rank = np.arange(len(order)) - np.searchsorted(row_sorted, np.arange(m))[row_sorted]
    fval[pair[order][rank < limit[row_sorted]]] = np.nan
    return fval


def _effective(P: _Problem) -> sp.csr_matrix:
    """The coupling rows on x and f with the auxiliary totals substituted, A1 + A2·D (built once per problem).

    Added as transposes, whose rows (one per column) are short, and turned back into rows by one conversion,
    which leaves every row's columns in order: the same matrix to the last bit as A1 + A2·D with its indices
    sorted, where sorting a few dozen rows of millions of entries took 1.2 s of q1m's 2.6 s. The transposes are
    the ones the dual keeps (A1ᵀ, and Dᵀ·A2ᵀ from Dᵀ): q1m 1.8 -> 0.7 s, the same bits again."""
    if getattr(P, "Aeff", None) is None:
        P.Aeff = (P.A1T + P.DT @ P.A2T).T.tocsr()
        if not P.Aeff.has_sorted_indices:
            P.Aeff.sort_indices()
    return P.Aeff


ROW_RANGE_NNZ = 1 << 21  # entries per step of `row_ranges` (its temporaries: a few times this many numbers)


def row_ranges(A: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of A, the least and the most of A·z over lo ≤ z ≤ hi (bounds may be infinite).

    With every bound finite, two sparse products: A·z at the middle of the box, plus or minus |A| times its
    half-width (q1m's cover, 38 rules over 8.6 M columns: 1.1 s of gathers → two products and a copy of the
    values). Otherwise worked over runs of rows of about ROW_RANGE_NNZ entries, so a model of tens of millions of
    entries needs no copy of itself (as A.maximum(0) and A.minimum(0) would be)."""
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        mid, half = (lo + hi) * 0.5, (hi - lo) * 0.5  # (exact at a point and on [0, 1])
        absA = sp.csr_matrix((np.abs(A.data), A.indices, A.indptr), shape=A.shape, copy=False)
        centre, spread = A @ mid, absA @ half
        return centre - spread, centre + spread
    n_rows = A.shape[0]
    least, most = np.zeros(n_rows), np.zeros(n_rows)
    ip = A.indptr
    r0 = 0
    while r0 < n_rows:
        r1 = int(np.searchsorted(ip, int(ip[r0]) + ROW_RANGE_NNZ, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n_rows)
        e0, e1 = int(ip[r0]), int(ip[r1])
        d, j = A.data[e0:e1], A.indices[e0:e1]
        hj, lj = hi[j], lo[j]
        neg = d < 0
        up, down = np.where(neg, lj, hj), np.where(neg, hj, lj)
        with np.errstate(invalid="ignore"):  # 0 × ∞ of an explicit zero: set to 0 just below
            up *= d
            down *= d
        zero = d == 0
        if zero.any():
            up[zero] = down[zero] = 0.0
        full = np.flatnonzero(ip[r0 + 1:r1 + 1] > ip[r0:r1])  # rows with entries (reduceat needs them)
        if len(full):
            at = ip[r0:r1][full] - e0
            most[r0 + full] = np.add.reduceat(up, at)
            least[r0 + full] = np.add.reduceat(down, at)
        r0 = r1
    return least, most


COVER_MARGIN = 2.0  # open pairs worth this many times a rule's shortfall (a margin for the other rules' needs)


def leading(cand: np.ndarray, key: np.ndarray, weight: np.ndarray, need: float, first: int = 4096) -> np.ndarray:
    """The shortest run of `cand` (ascending pair numbers), ordered by `key` ascending with ties in `cand`'s order
    (a stable sort), whose `weight`s (≥ 0) add up to `need` or more, one past the last needed as `searchsorted`
    counts it; all of `cand` when they never do.

    The same pairs, in the same order and with the same running sums, as a stable sort of all of `cand`, but only
    the pairs below a partition point are sorted (`first`, then eight times more each time they fall short): a
    widening or a cover takes hundreds of pairs out of millions of candidates (q1m: 0.3-0.5 s a sort)."""
    k = first
    while k < len(cand):
        ck = key[cand]
        head = cand[ck < np.partition(ck, k)[k]]  # every pair ahead of the k-th in the full order, and no other
        order = head[np.argsort(key[head], kind="stable")]
        at = int(np.searchsorted(np.cumsum(weight[order]), need))
        if at < len(order):
            return order[:at + 1]
        k *= 8
    order = cand[np.argsort(key[cand], kind="stable")]
    return order[:int(np.searchsorted(np.cumsum(weight[order]), need)) + 1]


def _cover(P: _Problem, v: np.ndarray, keep: np.ndarray, fixed: np.ndarray, fval: np.ndarray) -> np.ndarray:
    """Pairs to add so that no coupling rule is out of reach of the restricted model: for a rule whose largest
    activity over the kept pairs (fixed ones at their floor range, open ones anywhere in theirs) is below its lower
    bound, the other pairs that add to it, those that give up least of their parcel's best priced value (v) per
    unit they could add first, until they could add COVER_MARGIN × the shortfall; for a rule whose least activity
    is above its upper bound, the fixed pairs that weigh on it most are reopened (their parcels then keep their
    best pairs). Settled pairs with a set floor (`fval` finite) count at that floor. Ranking by the value given up
    keeps the additions near the dual's choice, and sizing them by the shortfall keeps the repair small (opening
    every pair of a rule can leave HiGHS in presolve for minutes). (By value alone, q1m with prices that left an
    industry's demand minimum at 0 of its 322 units opened 36,000 parcels for it; per unit given up, 12,600.)
    Returns a mask over pairs."""
    n = P.n
    Aeff = _effective(P)
    set_floor = np.isfinite(fval)  # settled pairs whose floor is set (see _floor_values)
    lo_z = np.r_[fixed.astype(float), np.where(set_floor, fval, np.where(fixed, P.lo_u, 0.0))]
    hi_z = np.r_[keep.astype(float), np.where(set_floor, fval, np.where(keep, P.hi_u, 0.0))]
    amin, amax = row_ranges(Aeff, lo_z, hi_z)
    tol = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(P.L, posinf=0, neginf=0)))
    short = np.flatnonzero(np.isfinite(P.L) & (amax < P.L - tol))
    over = np.flatnonzero(np.isfinite(P.U) & (amin > P.U + tol))
    extra = np.zeros(n, bool)
    if len(short):
        # what taking a pair gives up: its parcel's best option at the prices (none included) less the pair's value;
        # pairs that give up nothing (ties at the dual's optimum) come largest first
        best = np.maximum(np.maximum.reduceat(v, P.starts), np.where(P.must, -np.inf, 0.0))
        loss = np.maximum(best[P.seg_of_pair] - v, 0.0)
        tie = 1e-9 * max(float(np.abs(best[np.isfinite(best)]).max(initial=0.0)), 1e-12)
    for i, need_more, need in [*((i, True, P.L[i] - amax[i]) for i in short),
                               *((i, False, amin[i] - P.U[i]) for i in over)]:
        row = Aeff.getrow(i)
        ax, af = np.zeros(n), np.zeros(n)  # the row's coefficients on each pair's x and f
        xs = row.indices < n
        ax[row.indices[xs]] = row.data[xs]
        af[row.indices[~xs] - n] = row.data[~xs]
        if need_more:  # pairs left out that could add to the row, least value given up per unit first
            gain = np.maximum(ax, 0.0) + np.maximum(af, 0.0) * P.hi_u
            cand = np.flatnonzero(~keep & (gain > 0))
            key = np.zeros(n)
            key[cand] = (loss[cand] + tie) / gain[cand]
        else:  # fixed pairs whose least contribution weighs on the row, least value given up per unit first
            # (by value alone, s50k's settled plan 9 % over a cap reopened 7,539 parcels of tiny weight on it)
            flo, fhi = np.where(set_floor, fval, P.lo_u), np.where(set_floor, fval, P.hi_u)
            gain = np.maximum(ax + np.where(af > 0, af * flo, af * fhi), 0.0)
            cand = np.flatnonzero(fixed & (gain > 0))
            key = np.zeros(n)
            key[cand] = v[cand] / gain[cand]
        extra[leading(cand, key, gain, COVER_MARGIN * need)] = True
    return extra


REPAIR_WIDEN_ROUNDS = 3  # a restriction proved infeasible or short is widened and solved again, this many times,
WIDEN_LP_ROUNDS = 6  # ... each time over up to this many LPs (elastic, or pricing) before its MILP is solved,
WIDEN_MARGIN = 4.0  # ... each LP adding pairs whose rates of lowering the violation add up to this many times it,
PRICE_MARGIN = 16.0  # ... or, short of the target, whose priced gains add up to this many times the shortfall,
WIDEN_GROWTH = 4.0  # ... and each widening this many times bolder than the last of its kind (t50k, q50000: one repair, not 3)
WIDEN_MAX_COLS = 400_000  # ... in restrictions of at most this many columns; larger ones go on to the next repair
# (q1m's first restriction, 21,195 open parcels: with a limit of 50,000 columns it went on to larger repairs and no
# plan in 300 s; widened over elastic LPs, a plan within 0.05 % in 178 s, 2026-12-02)
# a node-limited restriction with this many open pairs starts from its elastic LP (20,000 until session 11: from
# 1,000, t50k, q50000, s50k, q100k, s100k saved the 0.1-0.2 s in which HiGHS's MILP proved their first
# restriction infeasible, and s50k at 1 % a 7 s MILP; below it, the MILP is as quick)
ELASTIC_FIRST_MIN_OPEN = 1_000
ELASTIC_OBJECTIVE_WEIGHT = 1e-2  # the elastic LP's pair costs: at most this per unit, a unit of violation costs 1
# an elastic LP started from a narrower one's basis gets this many simplex iterations before it is solved from none:
# q1m's widenings by 5 and 17 pairs took 67 iterations from the basis (0.3 s) against 57,000 from none (9 s), but
# one by 382 pairs (a repair without the dual's refinement) took 13,500 iterations of 7 ms (95 s) against 83,000
# of 0.16 ms from none (13 s)
WARM_ELASTIC_ITERATIONS = 2000
ELASTIC_TOL = 1e-7  # an elastic LP's violation below this (relative to the row's bound) is no violation


def _repair(bundle: ModelBundle, P: _Problem, keep: np.ndarray, fixed_pair: np.ndarray, opts: SolveOptions,
            time_left: float, warm: np.ndarray | None, stop_at: float | None, node_limit: int | None = None,
            fval: np.ndarray | None = None, rounded_will_do: bool = False):
    """Solve the MILP restricted to the kept pairs (fixed pairs' x set to 1 and substituted out, and their floor
    too where `fval` sets it), within `node_limit` branch-and-bound nodes and the `time_left` of the user's limit.

    A large restriction of a model with neighbour columns starts from its LP (`_lp_rounding`); its rounded plan is
    returned as it is when it reaches `stop_at` or when `rounded_will_do` (the caller can still tighten the bound
    and would rather do that than search the restriction), else the MILP starts from it.

    Rules can be out of reach of the restriction together although each is within reach alone (a traffic cap and
    demand minimums, once the settled parcels have used most of the cap). When HiGHS proves the restriction
    infeasible, its LP with the coupling rows made elastic (`_elastic`) prices the conflict; the restriction is
    widened where that pays most (`_widen`) and solved again. A restriction with plans can still be short of the
    target: a node-limited search gives up once its bound proves that (`give_up_below`), and the pairs left out are
    priced at the restricted LP's duals (`_lp_prices`, column generation's pricing), the best added, and the wider
    restriction solved from the plan found. Between two MILP solves (REPAIR_WIDEN_ROUNDS + 1 at most), the
    widening goes on over LPs alone (`_Widening.over_lps`), up to WIDEN_LP_ROUNDS of them, until the restriction's
    LP could do; each widening WIDEN_GROWTH times bolder than the last; only restrictions of at most WIDEN_MAX_COLS
    columns, whose LPs are quick. Each elastic LP starts from the last one's basis, and when the last one meets
    every rule, the MILP starts by rounding its point, the restricted LP's optimum. A node-limited restriction of
    ELASTIC_FIRST_MIN_OPEN open pairs or more starts with its elastic LP, before any MILP.

    Returns (full column vector or None, the result of the restricted solve that gave it, or of the last one, or
    None if a rule is left without any column that could meet it). The result's first phase counts the pairs
    reopened or added (`widened` for infeasible restrictions, `priced` for short ones), when there were any.
    """
    t0 = time.perf_counter()
    counts = {"infeasible": 0, "short": 0}  # pairs reopened or added for each reason
    sign, scale = (1.0 if bundle.milp.sense == "maximize" else -1.0), bundle.milp.obj_scale
    best_x, best_res = None, None
    w = _Widening(bundle, P, opts, fval, node_limit, stop_at, rounded_will_do, sign, scale, keep, fixed_pair, warm, t0,
                  time_left)
    n_free = int((keep & ~fixed_pair).sum())
    if node_limit is not None and n_free >= ELASTIC_FIRST_MIN_OPEN:
        # a large restriction: its elastic LP first, which costs what the MILP's root LP costs and either gives that
        # LP's optimum (to round) or prices the conflict at once (q1m: its MILP proved it infeasible in 7 s first)
        w.built = _restricted_solve(bundle, P, w.keep, w.fixed, opts, time_left, warm, stop_at, node_limit, fval,
                                    rounded_will_do, build_only=True)[2]
        if w.built is not None and w.built.rm.n_cols <= WIDEN_MAX_COLS:
            w.adopt()
            counts["infeasible"] += w.over_lps("infeasible", 0.0)
    for round_ in range(REPAIR_WIDEN_ROUNDS + 1):
        # the restriction's LP optimum (the last elastic LP's point) can be short of the target already: then no
        # plan of it reaches the target, so its rounded plan is taken as it is (a start for the next MILP) and the
        # pairs left out are priced, instead of a MILP proving what the LP said (t200k: 0.5 s)
        short = _lp_short(w, stop_at, sign, scale) if round_ < REPAIR_WIDEN_ROUNDS else 0.0
        left = time_left - (time.perf_counter() - t0)
        x, res, built = _restricted_solve(bundle, P, w.keep, w.fixed, opts, left, w.warm, stop_at, node_limit, fval,
                                          rounded_will_do or short > 0, prebuilt=w.built, lp_x=w.lp_x)
        w.built, w.lp_x = built, None
        if x is not None and (best_x is None or _better(bundle.milp, x, best_x)):
            best_x, best_res = x, res
        if res is None or round_ == REPAIR_WIDEN_ROUNDS or built is None or built.rm.n_cols > WIDEN_MAX_COLS:
            break
        w.adopt()
        kind = "infeasible" if res.status == "infeasible" and not short else "short"
        # short: below the target although the restriction is searched out (its own bound proves it), or its LP
        lacks = (short or _lacks(res, built, stop_at, sign, scale)) if kind == "short" else 0.0
        if kind == "short" and lacks <= 0:
            break
        moved = w.over_lps(kind, lacks)
        if not moved:
            break
        counts[kind] += moved
        if kind == "short" and best_x is not None and (w.warm is None or _better(bundle.milp, best_x, w.warm)):
            w.warm = best_x  # still a plan of the wider restriction
    if best_x is not None:
        x, res = best_x, best_res
    if any(counts.values()) and res is not None:
        from dataclasses import replace

        first = res.phases[0] if res.phases else {"stopped_by": res.status}
        more = {k: v for k, v in (("widened", counts["infeasible"]), ("priced", counts["short"])) if v}
        res = replace(res, phases=({**first, **more}, *res.phases[1:]))
    return x, res


class _Widening:
    """`_repair`'s restriction as it widens: `keep`, `fixed`, the warm start, the restriction as last built (`built`,
    or None to build it again) and, when the last LP found it, a point of its LP's optimum (`lp_x`)."""

    def __init__(self, bundle, P, opts, fval, node_limit, stop_at, rounded_will_do, sign, scale, keep, fixed, warm,
                 t0, time_left):
        self.bundle, self.P, self.opts, self.fval, self.node_limit = bundle, P, opts, fval, node_limit
        self.stop_at, self.rounded_will_do, self.sign, self.scale = stop_at, rounded_will_do, sign, scale
        self.keep, self.fixed, self.warm, self.t0, self.time_left = keep, fixed, warm, t0, time_left
        # widenings so far of each kind: each is WIDEN_GROWTH times bolder than the last of its kind (a pricing
        # after three elastic widenings, 64 times bolder, opened 276,898 pairs at q1m)
        self.built, self.lp_x, self.steps = None, None, {"infeasible": 0, "short": 0}
        self.basis = None  # the basis of the last elastic LP, when it met every rule on `built` (`_lp_prices`)

    def adopt(self) -> None:
        """Take the pairs the last build opened for rows out of its reach (`_restricted_solve`) as its own."""
        self.keep, self.fixed = self.built.keep, self.built.fixed

    def over_lps(self, kind: str, lacks: float) -> int:
        """Widen on LPs alone, up to WIDEN_LP_ROUNDS of them, until the restriction's LP could do (a MILP solve
        costs several LPs): the elastic LP (`kind` "infeasible") until it meets every rule; or, short of the target
        by `lacks` (internal units), the pairs left out priced at the LP's duals (column generation) until the LP
        reaches the target by the margin the MILP lost to integrality. Each widening is WIDEN_GROWTH times bolder
        than the last. Returns the pairs freed or added."""
        P, sign, scale, stop_at = self.P, self.sign, self.scale, self.stop_at
        moved, lost, start = 0, 0.0, None
        for k in range(WIDEN_LP_ROUNDS):
            left = self.time_left - (time.perf_counter() - self.t0)
            if left <= 0:
                break
            if kind == "infeasible":
                elastic = _elastic(self.built, P, left, start)
                if elastic is None:
                    break  # HiGHS could not solve it
                if elastic.v == 0:
                    # the LP meets every rule (integrality may still fail): its optimum, and its basis an optimal
                    # one of the restricted LP
                    self.lp_x, self.basis = elastic.x, elastic.basis
                    break
                need, g, start = WIDEN_MARGIN * elastic.v, _effective(P).T @ elastic.y, elastic.basis
            else:
                priced = _lp_prices(self.built, P, sign, left, self.basis)
                self.basis = None  # (the next pricing LP's restriction is wider)
                if priced is None:
                    break
                y, lp_value, lp_point = priced
                short = sign * (stop_at - lp_value) / scale  # internal units; ≤ 0: the LP reaches the target
                if k == 0:
                    lost = max(lacks - short, 0.0)  # the LP's optimum over the MILP's bound: lost to integrality
                    short = lacks
                elif short + lost <= 0:
                    # the LP could do: the MILP starts by rounding its point (q1m: a MILP from no LP, 16 s at
                    # node 0, where this LP had taken 1.2 s)
                    self.lp_x = lp_point
                    break
                need, g = PRICE_MARGIN * (short + lost), P.c - _effective(P).T @ y
            bolder = WIDEN_GROWTH ** self.steps[kind]
            self.keep, self.fixed, more = _widen(P, self.keep, self.fixed, self.fval, need * bolder, g)
            self.steps[kind] += 1
            if not more:
                break
            moved += more
            self.built = _restricted_solve(self.bundle, P, self.keep, self.fixed, self.opts, left, self.warm, stop_at,
                                           self.node_limit, self.fval, self.rounded_will_do, build_only=True,
                                           widened=True)[2]  # (it widens self.built, which met the check)
            if self.built is None or self.built.rm.n_cols > WIDEN_MAX_COLS:
                self.built = None  # (the next solve builds it)
                break
            self.adopt()
        return moved


def _lacks(res: SolveResult, built, stop_at: float | None, sign: float, obj_scale: float) -> float:
    """How far (internal model units, > 0) a restricted solve's proven bound is short of the target `stop_at`:
    then no plan of the restriction reaches it, however long it is searched. 0 when the target is reachable, or
    unknown (no target, no finite bound)."""
    if stop_at is None or not np.isfinite(res.bound):
        return 0.0
    return max(sign * (stop_at - (res.bound + built.offset)) / obj_scale, 0.0)


def _lp_short(w: _Widening, stop_at: float | None, sign: float, obj_scale: float) -> float:
    """How far (internal model units, > 0) the restriction's LP optimum, when the widening holds a point of it
    (`w.lp_x`), is short of the target `stop_at`; 0 when it is not, or unknown."""
    if stop_at is None or w.lp_x is None or w.built is None:
        return 0.0
    value = float(w.built.rm.c @ w.lp_x) * w.built.rm.obj_scale + w.built.offset
    return max(sign * (stop_at - value) / obj_scale, 0.0)


class _Built(NamedTuple):
    """A restricted repair model as `_restricted_solve` built it."""

    rm: object  # the restricted MILP
    rows: np.ndarray  # the full model's row number of each of its rows
    offset: float  # its objective's constant (the fixed pairs' share), scenario units
    cols: np.ndarray  # the full model's column number of each of its columns
    keep: np.ndarray  # the pairs it keeps and fixes (the caller's, with those opened for rows out of reach)
    fixed: np.ndarray


def _restricted_solve(bundle: ModelBundle, P: _Problem, keep: np.ndarray, fixed_pair: np.ndarray,
                      opts: SolveOptions, time_left: float, warm: np.ndarray | None, stop_at: float | None,
                      node_limit: int | None, fval: np.ndarray | None, rounded_will_do: bool,
                      build_only: bool = False, prebuilt=None, lp_x: np.ndarray | None = None,
                      widened: bool = False):
    """One restricted model, built and solved (see `_repair`): (x or None, result or None, and the restriction as
    built (`_Built`, for `_elastic` and `_lp_prices`; None when a rule is out of its reach).

    `build_only`: (None, None, built), nothing solved. `prebuilt`: the `built` of this very restriction (of the same
    `fval`), solved without building it again; `lp_x`: a point of its LP's optimum (the
    last elastic LP's, `_elastic`), from which the solve starts by rounding (`_rounded_then_milp`). `widened`: the
    restriction widens one that met the reach check below (`_widen` only frees settled pairs and adds pairs, which
    widens every row's reach), so the check is skipped (0.5 s a build at q1m)."""
    from dataclasses import replace

    m = bundle.milp
    n = P.n
    fval = np.full(n, np.nan) if fval is None else fval
    if prebuilt is not None:
        rm, offset, cols, fixed_pair = prebuilt.rm, prebuilt.offset, prebuilt.cols, prebuilt.fixed
        fx = np.flatnonzero(fixed_pair)
        ff = np.flatnonzero(fixed_pair & np.isfinite(fval))
        return _solve_restriction(bundle, rm, cols, fx, ff, fval, offset, opts, time_left, warm, stop_at,
                                  node_limit, rounded_will_do, prebuilt, lp_x)
    A = m.A.tocsr()  # (no copy: the model's matrix is CSR; nothing here changes it)
    for _ in range(3):
        free = keep & ~fixed_pair
        fx = np.flatnonzero(fixed_pair)
        set_floor = fixed_pair & np.isfinite(fval)
        ff = np.flatnonzero(set_floor)  # fixed pairs whose floor is set: no column at all
        fv = np.flatnonzero(fixed_pair & ~set_floor)  # fixed pairs whose floor stays a column
        fr = np.flatnonzero(free)
        aux = _aux_in_use(A, P, np.r_[fr, n + fr, fx, n + fx])
        cols = np.r_[fr, n + fr, n + fv, aux]
        z_set = np.zeros(m.n_cols)  # fixed x = 1 and set floors move the rows' bounds
        z_set[fx] = 1.0
        z_set[n + ff] = fval[ff]
        sub = A[:, cols]
        sub.sort_indices()
        keep_row = np.diff(sub.indptr) > 0
        if widened:
            broken = np.zeros(m.n_rows, bool)
            break
        # rows that the kept columns cannot meet even at their bounds (a demand floor whose pairs were mostly
        # dropped, a separation or cluster row broken by fixed choices)
        lo_c, hi_c = m.col_lower.copy(), m.col_upper.copy()
        hi_c[:2 * n][np.r_[~keep, ~keep]] = 0.0
        lo_c[:n][fixed_pair] = 1.0
        lo_c[n:2 * n][fixed_pair] = P.lo_u[fixed_pair]
        lo_c[n + ff] = hi_c[n + ff] = fval[ff]
        rows, A_chk = _rows_that_can_break(P, m)
        least, most = row_ranges(A_chk, lo_c, hi_c)
        lo_r, up_r = m.row_lower[rows], m.row_upper[rows]
        broken = np.zeros(m.n_rows, bool)
        broken[rows] = (most < lo_r - 1e-7 * (1 + np.abs(lo_r))) | (least > up_r + 1e-7 * (1 + np.abs(up_r)))
        if not broken.any():
            break
        # open every pair in them, up to three times, before giving up
        hit = np.zeros(n, bool)
        in_rows = np.unique(A[np.flatnonzero(broken)].indices)
        in_rows = in_rows[in_rows < 2 * n]
        hit[np.where(in_rows < n, in_rows, in_rows - n)] = True  # x or f columns: their pairs
        if not (hit & (~keep | fixed_pair)).any():
            break
        keep, fixed_pair = keep | hit, fixed_pair & ~hit
    if broken.any():
        return None, None, None  # widen the candidate set
    # a row with no column left holds only constants: met by construction (checked above), so it goes too
    # a fixed pair's floor links now bind a single column: they become its bounds, so drop those rows
    single = np.diff(sub.indptr) == 1
    local = np.zeros(m.n_rows, bool)
    for b in m.blocks:
        if b.family in ("floor_min", "floor_max"):
            local[b.start:b.start + b.size] = True
    fv_link = np.zeros(m.n_rows, bool)
    fv_link[_link_rows(bundle, fv, P)] = True
    keep_row &= ~(single & local & fv_link)
    sub = sub[keep_row]
    kept = np.flatnonzero(keep_row)
    shift = A[kept] @ z_set  # the kept rows' constants (q1m: 0.26 s a build over every row of the model)
    lower, upper = m.row_lower[kept] - shift, m.row_upper[kept] - shift
    col_lower = np.r_[np.zeros(2 * len(fr)), P.lo_u[fv], np.zeros(len(aux))]
    col_upper = np.r_[np.ones(len(fr)), P.hi_u[fr], P.hi_u[fv], m.col_upper[aux]]
    integ = np.r_[np.ones(len(fr), bool), np.zeros(len(fr) + len(fv) + len(aux), bool)]
    offset = float(m.c[fx].sum() + m.c[n + ff] @ fval[ff]) * m.obj_scale
    rm = replace(m, c=m.c[cols], A=sub, row_lower=lower, row_upper=upper, col_lower=col_lower,
                 col_upper=col_upper, integrality=integ, blocks=())
    built = _Built(rm, kept, offset, cols, keep, fixed_pair)
    if build_only:
        return None, None, built
    rounding = node_limit is not None and len(fr) >= LP_ROUNDING_MIN_OPEN and _rounding_helps(P)
    lp_x = "solve" if rounding else None  # (its LP solved there)
    return _solve_restriction(bundle, rm, cols, fx, ff, fval, offset, opts, time_left, warm, stop_at, node_limit,
                              rounded_will_do, built, lp_x)


def _solve_restriction(bundle: ModelBundle, rm, cols: np.ndarray, fx: np.ndarray, ff: np.ndarray, fval: np.ndarray,
                       offset: float, opts: SolveOptions, time_left: float, warm: np.ndarray | None,
                       stop_at: float | None, node_limit: int | None, rounded_will_do: bool, built, lp_x):
    """`_restricted_solve`'s solve of a built restriction `rm` (its columns `cols` of the full model; fixed pairs
    `fx` at 1, those of them in `ff` with their floor at `fval`): HiGHS's MILP, or, when `lp_x` is "solve" or a
    point of the restriction's LP optimum, its LP rounded first (`_rounded_then_milp`)."""
    from optimizer.solvers import highs

    if time_left <= 0:  # the user's limit has passed: no HiGHS (q1m at 30 s: a solve given no time took 4.6 s more)
        return None, SolveResult("no_solution", None, np.nan, np.nan, np.nan, 0.0, "highs",
                                 message="the time limit was reached before the restriction was solved",
                                 phases=({"phase": "highs", "stopped_by": "time_limit", "nodes": 0,
                                          "seconds": 0.0},)), built
    m = bundle.milp
    n = len(fval)
    ws = warm[cols] if warm is not None else None
    target = None if stop_at is None else stop_at - offset
    sopts = SolveOptions(time_limit_s=max(time_left, 0.0), mip_gap=opts.mip_gap / 4, mip_abs_gap=opts.mip_abs_gap / 4,
                         threads=engine_threads(opts), log=opts.log, warm_start=ws, stop_at_objective=target,
                         node_limit=node_limit, give_up_below=None if node_limit is None else target,
                         # with the caller's work limit, a share of it stops the root's cut rounds (and the nodes of
                         # the full-model repair, which no node limit stops)
                         work_limit_s=None if opts.work_limit_s is None else
                         (REPAIR_WORK_SHARE if node_limit is not None else FULL_REPAIR_WORK_SHARE) * opts.work_limit_s)
    if lp_x is not None:
        n_int = int(rm.integrality.sum())  # the free pairs' x, the first columns
        res = _rounded_then_milp(rm, n_int, sopts, rounded_will_do, None if isinstance(lp_x, str) else lp_x)
    else:
        res = highs.solve_abandonable(rm, sopts)
    if not res.has_plan:
        return None, res, built
    x = np.zeros(m.n_cols)
    x[cols] = res.x
    x[fx] = 1.0
    x[n + ff] = fval[ff]
    return x, res, built


def _rows_that_can_break(P: _Problem, m) -> tuple[np.ndarray, sp.csr_matrix]:
    """The rows a restriction can leave out of reach, and the model's matrix on them (built once per problem):
    every row but the floor links (a kept pair's floor column spans its own range; a settled one's floor is
    set inside it) and the definitions of auxiliary totals (their total is a free column)."""
    if getattr(P, "chk", None) is None:
        safe = np.zeros(m.n_rows, bool)
        for b in m.blocks:
            if b.family in ("floor_min", "floor_max", *DEFINITION_FAMILIES):
                safe[b.start:b.start + b.size] = True
        rows = np.flatnonzero(~safe)
        A_chk = m.A.tocsr()[rows]
        A_chk.sort_indices()
        P.chk = (rows, A_chk)
    return P.chk


def _coupling_rows(P: _Problem, full_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coupling rules that a restriction kept, and their rows in it: (rule numbers i, restriction rows r)."""
    at = np.searchsorted(full_row, P.rows)
    inside = at < len(full_row)
    inside[inside] = full_row[at[inside]] == P.rows[inside]
    return np.flatnonzero(inside), at[inside]


class _Basis(NamedTuple):
    """An elastic LP's optimal basis (`_elastic`), for a later LP to start from (`_set_basis`)."""

    cols: np.ndarray  # the restriction's columns (full-model numbers) and their statuses
    col_status: np.ndarray
    rows: np.ndarray  # its rows (full-model numbers), their statuses and HiGHS's duals
    row_status: np.ndarray
    row_dual: np.ndarray
    slack: np.ndarray  # the elastic slacks' statuses, 2 × coupling rules (adding to each, taking from each)
    iterations: int  # the simplex iterations the LP took from no basis


def _lp_prices(built, P: _Problem, sign: float, time_left: float,
               start: _Basis | None = None) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The restricted model's LP: its duals y on P's coupling rows, in the internal maximisation form (0 for a
    rule the restriction dropped), at which a pair's column is worth P.c − Aeffᵀy per unit, the LP's own value of
    it; the LP's optimum (scenario units, with the restriction's constant); and its optimal point (the
    restriction's columns). None when HiGHS does not solve the LP to optimality within `time_left`.

    `start`: the basis of an elastic LP of this same restriction that met every rule, an optimal basis of this LP
    (see `_elastic`), from which HiGHS only confirms it (q1m: 0.2-0.8 s, against 1.3-9 s and up to 40,000
    iterations from no basis). A start that does not map (`_set_basis` without slacks), or that takes more than
    WARM_ELASTIC_ITERATIONS iterations, leaves the LP to be solved from no basis. (The basis of a narrower
    pricing LP did not pay: q1m's second pricing LP took 3,735 dual simplex iterations of 1.2 ms from it, without
    presolve, against 9,864 of 0.1 ms from none.)"""
    from dataclasses import replace

    import highspy

    from optimizer.solvers.highs import new_highs, to_highs_lp

    rm, full_row, offset = built.rm, built.rows, built.offset
    rule, r = _coupling_rows(P, full_row)
    if time_left <= 0:
        return None
    lp = replace(rm, integrality=np.zeros(rm.n_cols, bool))
    h = new_highs(False)
    h.setOptionValue("time_limit", float(time_left))
    h.passModel(to_highs_lp(lp))
    warm = start is not None and _set_basis(h, start, lp, built.cols, full_row, rule, slacks=False)
    if warm:
        h.setOptionValue("simplex_iteration_limit", int(min(start.iterations, WARM_ELASTIC_ITERATIONS)))
    t_lp = time.perf_counter()
    h.run()
    if warm and h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        left = time_left - (time.perf_counter() - t_lp)
        if left <= 0:
            return None
        h.clearSolver()  # the start did not pay: from no basis
        h.setOptionValue("simplex_iteration_limit", int(highspy.kHighsIInf))
        h.setOptionValue("time_limit", float(left))
        h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    y = np.zeros(len(P.L))
    # HiGHS's column duals are c − Aᵀy in either sense; the internal form maximises sign·c
    y[rule] = sign * np.asarray(sol.row_dual, float)[r]
    return y, h.getInfo().objective_function_value * rm.obj_scale + offset, np.asarray(sol.col_value)


class _Elastic(NamedTuple):
    v: float  # the kept coupling rules' total violation at the LP's optimum (0: the LP meets every rule)
    y: np.ndarray  # the LP's duals on P's coupling rows (0 for a rule the restriction dropped)
    x: np.ndarray  # the LP's point on the restriction's columns: when v is 0, a point of the restricted LP's optimum
    basis: _Basis


def _elastic(built, P: _Problem, time_left: float, start: _Basis | None = None) -> _Elastic | None:
    """The restricted model's LP with its coupling rows made elastic; None when HiGHS does not solve it.

    Each kept coupling row gets a column that may add to it and one that may take from it, at a cost of 1 per unit
    (rows are in units near 1); every other row and bound stays hard. With HiGHS's signs (column duals
    c − Aᵀy), moving a plan's activity by Δa changes the violation V at the rate −y·Δa.

    The pairs cost their own objective, at most ELASTIC_OBJECTIVE_WEIGHT per unit against the violation's 1: with
    no cost at all on them, dual simplex wanders among degenerate bases (q1m's first restriction: 40 s and 48,000
    iterations; 8 s with it). A point that meets every rule has V = 0 at any weight, so when the LP ends at V = 0 it
    meets every rule, and its point is the restricted LP's optimum (it is the best such point for the model's own
    objective): the repair rounds it (`_lp_rounding`) instead of solving that LP again. `start`: the basis of an
    earlier elastic LP of a narrower restriction (`_Elastic.basis`), from which this one starts (`_set_basis`);
    should that take more than WARM_ELASTIC_ITERATIONS simplex iterations (or more than the LP from no basis did),
    it is solved again from none."""
    from dataclasses import replace

    import highspy

    from optimizer.solvers.highs import new_highs, to_highs_lp

    rm, full_row, cols = built.rm, built.rows, built.cols
    rule, r = _coupling_rows(P, full_row)
    k = len(r)
    if not k or time_left <= 0:
        return None
    n_cols = rm.n_cols
    c = (1.0 if rm.sense == "minimize" else -1.0) * rm.c
    # (weighed against the pairs' largest cost, the same for every restriction of the problem)
    c = c * (ELASTIC_OBJECTIVE_WEIGHT / max(float(np.abs(P.c).max(initial=0.0)), 1e-300))
    lp = replace(rm, c=c, integrality=np.zeros(n_cols, bool), sense="minimize", obj_scale=1.0)
    h = new_highs(False)
    h.setOptionValue("time_limit", float(time_left))
    h.passModel(to_highs_lp(lp))
    # the slack columns, added to HiGHS's copy (no copy of the matrix here): +1 then −1 on each kept rule's row
    h.addCols(2 * k, np.ones(2 * k), np.zeros(2 * k), np.full(2 * k, highspy.kHighsInf), 2 * k,
              np.arange(2 * k, dtype=np.int32), np.r_[r, r].astype(np.int32), np.r_[np.ones(k), -np.ones(k)])
    cold_iterations = None
    if start is not None and _set_basis(h, start, lp, cols, full_row, rule):
        cold_iterations = start.iterations
        h.setOptionValue("simplex_iteration_limit", int(min(cold_iterations, WARM_ELASTIC_ITERATIONS)))
    t_lp = time.perf_counter()
    h.run()
    if cold_iterations is not None and h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        left = time_left - (time.perf_counter() - t_lp)
        if left <= 0:  # the limit has passed during the warm attempt: no LP from no basis
            return None
        h.clearSolver()  # the start did not pay: from no basis, within what is left of the time
        h.setOptionValue("simplex_iteration_limit", int(highspy.kHighsIInf))
        h.setOptionValue("time_limit", float(left))
        h.run()
        cold_iterations = None
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    x = np.asarray(sol.col_value, float)
    finite = lambda b: np.abs(np.where(np.isfinite(b), b, 0.0))  # noqa: E731
    scale = np.maximum(1.0, np.maximum(finite(rm.row_lower[r]), finite(rm.row_upper[r])))
    met = not np.any(x[n_cols:n_cols + k] + x[n_cols + k:] > ELASTIC_TOL * scale)
    y = np.zeros(len(P.L))
    y[rule] = np.asarray(sol.row_dual, float)[r]
    b = h.getBasis()
    st_c = np.array([int(v) for v in b.col_status], np.int8)
    st_r = np.array([int(v) for v in b.row_status], np.int8)
    slack = np.full((2, len(P.L)), int(highspy.HighsBasisStatus.kLower), np.int8)
    slack[0, rule], slack[1, rule] = st_c[n_cols:n_cols + k], st_c[n_cols + k:]
    if cold_iterations is None:
        cold_iterations = int(h.getInfo().simplex_iteration_count)
    return _Elastic(0.0 if met else float(x[n_cols:].sum()), y, x[:n_cols],
                    _Basis(cols, st_c[:n_cols], full_row, st_r, np.asarray(sol.row_dual, float), slack,
                           cold_iterations))


def _set_basis(h, start: _Basis, lp, cols: np.ndarray, full_row: np.ndarray, rule: np.ndarray,
               slacks: bool = True) -> bool:
    """Give HiGHS (holding `lp`, and its elastic slack columns when `slacks`) the basis `start` of an earlier LP of
    the same or a narrower restriction, mapped by the full model's column and row numbers. A widening only adds
    columns and rows (and moves row bounds): the new rows start basic, so that the old duals stay, and each new
    column at the bound its reduced cost at those duals prefers, so that the basis stays dual feasible and dual
    simplex goes on from it. Without `slacks` (the restricted LP itself, `_lp_prices`), the basis serves only when
    none of its slacks is basic and the restriction added no columns.
    Returns False, with nothing set, when the mapped basis does not have one basic per row."""
    import highspy

    n_full = max(int(cols.max(initial=-1)), int(start.cols.max(initial=-1))) + 1
    lower, basic, upper, zero = (int(highspy.HighsBasisStatus.kLower), int(highspy.HighsBasisStatus.kBasic),
                                 int(highspy.HighsBasisStatus.kUpper), int(highspy.HighsBasisStatus.kZero))
    at = np.full(n_full, -1, np.int8)
    at[start.cols] = start.col_status
    sc = at[cols]
    n_rows_full = max(int(full_row.max(initial=-1)), int(start.rows.max(initial=-1))) + 1
    at = np.full(n_rows_full, basic, np.int8)  # rows the widening added: basic
    at[start.rows] = start.row_status
    sr = at[full_row]
    dual = np.zeros(n_rows_full)
    dual[start.rows] = start.row_dual
    new = np.flatnonzero(sc < 0)  # columns the widening added: nonbasic, at the bound their reduced cost prefers
    if len(new) and not slacks:
        return False
    d = lp.c[new] - lp.A[:, new].T @ dual[full_row]
    lo_ok, up_ok = np.isfinite(lp.col_lower[new]), np.isfinite(lp.col_upper[new])
    sc[new] = np.where((d < 0) & up_ok, upper, np.where(lo_ok, lower, np.where(up_ok, upper, zero)))
    slack = np.r_[start.slack[0, rule], start.slack[1, rule]]
    if not slacks:  # the LP itself: the elastic's basis is its own only when no slack is basic
        if (slack == basic).any():
            return False
        slack = slack[:0]
    if int((sc == basic).sum() + (slack == basic).sum() + (sr == basic).sum()) != len(full_row):
        return False
    b = highspy.HighsBasis()
    status = highspy.HighsBasisStatus
    b.col_status = [status(int(v)) for v in np.r_[sc, slack]]
    b.row_status = [status(int(v)) for v in sr]
    b.valid = True
    return h.setBasis(b) == highspy.HighsStatus.kOk


def _widen(P: _Problem, keep: np.ndarray, fixed: np.ndarray, fval: np.ndarray | None, need: float,
           g: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """A wider restriction, where a unit of each pair's column (x, then f) would help at the rate g (over 2·n):

    - infeasible: g = Aeffᵀy at the elastic LP's duals y (`_elastic`), the rate at which the violation falls;
    - short of the target: g = c − Aeffᵀy at the restricted LP's duals (`_lp_prices`), the objective's gain.

    The settled pairs whose removal helps fastest are freed (the repair may then empty their parcel or move its
    floor), and pairs left out of settled or empty parcels whose arrival helps fastest are added (the parcel's
    settled pair freed with it), best rates first, until their rates add up to `need` (the caller's margin times
    the violation, or times the objective the restriction lacks: a first-order guess, as the rates fall while the
    restriction widens). Returns (keep, fixed, pairs freed or added); nothing when no pair helps."""
    n = P.n
    gx, gf = g[:n], g[n:2 * n]
    fval = np.full(n, np.nan) if fval is None else fval
    best = gx + np.maximum(gf * P.lo_u, gf * P.hi_u)  # a pair's column at its better floor
    seg = P.seg_of_pair
    n_seg = len(P.starts)
    # a settled pair as it stands: at its set floor, or at its better one where the floor is left free
    here = np.where(fixed, np.where(np.isfinite(fval), gx + gf * np.nan_to_num(fval), best), 0.0)
    settled_rate = np.zeros(n_seg)
    settled_rate[seg[fixed]] = here[fixed]  # each settled parcel's pair, as a column
    open_seg = np.bincount(seg[keep & ~fixed], minlength=n_seg) > 0
    # rates at which it helps: freeing a settled pair (its x from 1 to 0) ...
    free_rate = np.where(fixed, -here, -np.inf)
    # ... or adding a pair to a settled or empty parcel, at its better floor, in place of the parcel's pair
    add_rate = np.where(~keep & ~open_seg[seg], best - settled_rate[seg], -np.inf)
    rate = np.maximum(free_rate, add_rate)
    cand = np.flatnonzero(rate > 1e-12 * max(1.0, float(np.abs(g).max(initial=0.0))))
    if not len(cand):
        return keep, fixed, 0
    take = leading(cand, -rate, rate, need)
    add = np.zeros(n, bool)
    add[take[add_rate[take] >= free_rate[take]]] = True
    free = np.zeros(n, bool)
    free[take[free_rate[take] > add_rate[take]]] = True
    opened = np.zeros(n_seg, bool)
    opened[seg[add]] = True
    free |= fixed & opened[seg]
    return keep | add, fixed & ~free, int(add.sum() + free.sum())


LP_ROUNDING_MIN_OPEN = 5000  # restricted repairs with this many open pairs or more start from their LP (below)
LP_ROUNDING_TOL = 1e-6  # a binary within this of 0 or 1 in the LP's point is fixed there
ROUNDING_PRESOLVE_MIN_INT = 1000  # a rounding's MILP with fewer binaries left than this runs without presolve


def _rounding_helps(P: _Problem) -> bool:
    """Whether a large restricted repair starts from its LP (`_lp_rounding`): on models with neighbour pair
    columns. Their linking rows keep HiGHS's root cut loop going for minutes on a near-integral LP before its
    sub-MIP heuristics run (the neighbour city at 100,000 parcels: no plan for 80 s; the LP and the rounding
    take 18 s to a plan within 0.01 % of the restriction's LP)."""
    return len(P.g) > 0


def _better(m, a: np.ndarray, b: np.ndarray) -> bool:
    va, vb = float(m.c @ a), float(m.c @ b)
    return va > vb if m.sense == "maximize" else va < vb


def _rounded_then_milp(rm, n_int: int, o: SolveOptions, rounded_will_do: bool,
                       lp_x: np.ndarray | None = None) -> SolveResult:
    """A restricted repair from its LP (solved here, or its optimal point `lp_x` given): the rounded plan
    (`_lp_rounding`) when it reaches the target, or when `rounded_will_do`; else HiGHS's MILP on the restriction
    from it, keeping the better of the two plans. A rounding that fails, even with a HiGHS error, only means the
    MILP runs without that start."""
    from dataclasses import replace

    from optimizer.solvers import highs

    t0 = time.perf_counter()
    try:
        rounded = _lp_rounding(rm, n_int, o, lp_x)
    except SolverFailed as exc:
        rounded = SolveResult("no_solution", None, np.nan, np.nan, np.nan, time.perf_counter() - t0, "highs",
                              message=str(exc), phases=({"stopped_by": "rounding_failed"},))
    if rounded.status == "infeasible":
        return rounded  # the restriction's LP has no point: no plan in it, a wider one is needed
    stop = rounded.phases[0]["stopped_by"] if rounded.phases else "other"
    if rounded.has_plan and (rounded_will_do or stop in ("objective_target", "time_limit")):
        return rounded
    left = o.time_limit_s - (time.perf_counter() - t0)
    if left <= 0:
        return rounded
    ws = o.warm_start
    if rounded.has_plan and (ws is None or _better(rm, rounded.x, ws)):
        ws = rounded.x
    res = highs.solve_abandonable(rm, replace(o, time_limit_s=left, warm_start=ws))
    info = {k: v for k, v in (rounded.phases[0] if rounded.phases else {}).items() if k in ("lp_s", "rounded_open")}
    if rounded.has_plan and (not res.has_plan or _better(rm, rounded.x, res.x)):
        res = replace(res, status="feasible", x=rounded.x, objective=rounded.objective)
    return replace(res, phases=({**(res.phases[0] if res.phases else {"stopped_by": "other"}), **info},
                                *res.phases[1:]))


def _lp_rounding(rm, n_int: int, o: SolveOptions, lp_x: np.ndarray | None = None) -> SolveResult:
    """RENS on a restricted repair model `rm` (columns: its n_int binaries, then their floors, then the rest):
    solve its LP (or take `lp_x`, a point of its optimum already found), fix every binary the LP leaves at 0 or 1
    (and the floors of those at 0), and solve the MILP left over the fractional ones within the options' target,
    gap and node limit.

    Returns the LP's answer when it has no point (status "infeasible" when that is proved), else the small MILP's
    answer as a plan of `rm` (status "feasible", objective in scenario units without rm's offset; phases[0] says
    what stopped it: "objective_target" once the target is reached, "time_limit", else "rounded"), or, when the
    small MILP found no plan or the rounded binaries alone break a row, no plan with status "no_solution" and
    stop "rounding_failed" (a rounding can fail where the restriction has plans)."""
    from dataclasses import replace

    from optimizer.solvers import highs

    t0 = time.perf_counter()
    if lp_x is not None:
        lp = SolveResult("optimal", np.asarray(lp_x, float), float(rm.c @ lp_x) * rm.obj_scale, np.nan, 0.0, 0.0,
                         "highs")
    else:
        lp = highs.solve_abandonable(replace(rm, integrality=np.zeros(rm.n_cols, bool)),
                                     replace(o, warm_start=None, stop_at_objective=None, node_limit=None))
    if not lp.has_plan:
        return replace(lp, phases=({**(lp.phases[0] if lp.phases else {"stopped_by": "other"}),
                                    "lp_s": round(lp.solve_s, 3)},))
    v = lp.x[:n_int]
    one, zero = v >= 1 - LP_ROUNDING_TOL, v <= LP_ROUNDING_TOL
    val = np.zeros(rm.n_cols)
    val[:n_int][one] = 1.0
    drop = np.zeros(rm.n_cols, bool)
    drop[:n_int] = one | zero
    drop[n_int:2 * n_int] = zero  # a pair left out takes no floor
    keep = np.flatnonzero(~drop)
    shift = rm.A @ val
    sub = rm.A.tocsc()[:, keep].tocsr()
    has_col = np.diff(sub.indptr) > 0
    rows = np.flatnonzero(has_col)
    info = {"lp_s": round(lp.solve_s, 3), "rounded_open": int(n_int - (one | zero).sum())}
    # rows left without a column are met by the fixed values alone: check them (binaries moved by up to the
    # tolerance to 0 or 1 could break one), with the tolerance `_repair` uses for its own constants
    tol = 1e-7 * (1 + np.abs(shift))
    if np.any(~has_col & ((shift < rm.row_lower - tol) | (shift > rm.row_upper + tol))):
        return SolveResult("no_solution", None, np.nan, np.nan, np.nan, time.perf_counter() - t0, "highs",
                           message="the rounded binaries break a row", phases=({"stopped_by": "rounding_failed",
                                                                                 **info},))
    off = float(rm.c @ val) * rm.obj_scale
    # rows left with one column (the floor links of the pairs rounded to 1) become that column's bounds: HiGHS's
    # presolve would do the same, in seconds at q1m's 20,000 open parcels
    sub, lower, upper = sub[rows], (rm.row_lower - shift)[rows], (rm.row_upper - shift)[rows]
    col_lo, col_hi = rm.col_lower[keep].copy(), rm.col_upper[keep].copy()
    single = np.flatnonzero((np.diff(sub.indptr) == 1) & (np.abs(sub.data[sub.indptr[:-1].clip(max=sub.nnz - 1)])
                                                            > 1e-12))
    if len(single):
        j, a = sub.indices[sub.indptr[single]], sub.data[sub.indptr[single]]
        lo_j = np.where(a > 0, lower[single], upper[single]) / a  # ±inf stay infinite
        hi_j = np.where(a > 0, upper[single], lower[single]) / a
        np.maximum.at(col_lo, j, lo_j)
        np.minimum.at(col_hi, j, hi_j)
        crossed = col_lo > col_hi
        if np.any(col_lo > col_hi + 1e-9 * (1 + np.abs(col_hi))):
            return SolveResult("no_solution", None, np.nan, np.nan, np.nan, time.perf_counter() - t0, "highs",
                               message="the rounded binaries leave a floor no room",
                               phases=({"stopped_by": "rounding_failed", **info},))
        col_lo[crossed] = col_hi[crossed]
        rest = np.ones(len(rows), bool)
        rest[single] = False
        sub, lower, upper = sub[rest], lower[rest], upper[rest]
    red = replace(rm, c=rm.c[keep], A=sub, row_lower=lower, row_upper=upper, col_lower=col_lo, col_upper=col_hi,
                  integrality=rm.integrality[keep])
    left = o.time_limit_s - (time.perf_counter() - t0)
    target = None if o.stop_at_objective is None else o.stop_at_objective - off
    # the gap of the whole restriction, not of the small model's objective (which leaves the fixed part out)
    abs_gap = max(o.mip_abs_gap, o.mip_gap * abs(lp.objective)) if np.isfinite(lp.objective) else o.mip_abs_gap
    res = highs.solve_abandonable(red, replace(o, time_limit_s=max(left, 0.0), warm_start=None,
                                                stop_at_objective=target, mip_abs_gap=abs_gap, give_up_below=None,
                                                presolve=int(red.integrality.sum()) > ROUNDING_PRESOLVE_MIN_INT))
    if not res.has_plan:  # the rounding failed, which says nothing of the restriction itself
        return replace(res, status="no_solution", phases=({"stopped_by": "rounding_failed", **info},))
    x = val.copy()
    x[keep] = res.x
    obj = res.objective + off
    reached = o.stop_at_objective is not None and (obj >= o.stop_at_objective if rm.sense == "maximize"
                                                   else obj <= o.stop_at_objective)
    ph = dict(res.phases[0]) if res.phases else {}
    why = ph.get("stopped_by", "other")
    ph.update(info, stopped_by="objective_target" if reached else "time_limit" if why == "time_limit" else "rounded")
    return replace(res, status="feasible", x=x, objective=obj, bound=np.nan, gap=np.nan,
                   solve_s=time.perf_counter() - t0, phases=(ph,))


def local_repair(bundle: ModelBundle, x: np.ndarray, parcels: np.ndarray, opts: SolveOptions, time_left: float,
                 stop_at: float | None = None, node_limit: int | None = REPAIR_NODE_LIMIT):
    """A plan near the plan `x`, for a plan that a few rows added after it was found (cluster cuts) break: only
    the parcels around them need to change. Every pair of the given parcels (positions) is open, and so are the
    parcels of pairs that a rule out of reach needs (`_cover`); every other parcel keeps x's choice and floor,
    except, per coupling rule, the FREE_FLOORS_BINDING settled floors nearest to indifferent (`_floor_values`,
    every rule counted as binding). `stop_at` (scenario units and sense): stop at a plan this good.

    Returns (full column vector or None, the restricted solve's result or None, the open parcels' count)."""
    P = _split(bundle)
    n = P.n
    seg = P.seg_of_pair
    chosen = x[:n] > 0.5
    open_seg = np.zeros(len(P.starts), bool)
    open_seg[seg[np.isin(bundle.pairs.parcel, parcels)]] = True
    keep = chosen | open_seg[seg]
    fixed = chosen & ~open_seg[seg]
    rf = P.c[n:2 * n]
    fval = _floor_values(P, rf, np.ones(2 * len(P.L)), fixed, x)
    v = P.c[:n] + np.maximum(rf * P.lo_u, rf * P.hi_u)
    extra = _cover(P, v, keep, fixed, fval)
    if extra.any():  # a rule the kept plan cannot meet: open the parcels of the pairs that can meet it
        open_seg[seg[extra]] = True
        keep = chosen | open_seg[seg]
        fixed = chosen & ~open_seg[seg]
        fval = np.where(fixed, fval, np.nan)
    x_new, res = _repair(bundle, P, keep, fixed, opts, time_left, None, stop_at, node_limit=node_limit, fval=fval)
    return x_new, res, int(open_seg.sum())


def _aux_in_use(A: sp.csr_matrix, P: _Problem, pair_cols: np.ndarray) -> np.ndarray:
    """The auxiliary columns a restricted repair needs: every defined total, and the standalone pair columns
    (synergy y, z) whose rows touch a kept pair; the others only link dropped pairs and stay at 0."""
    if not len(P.g):
        return P.aux
    touch = np.zeros(A.shape[1])
    touch[pair_cols] = 1.0
    rows = (abs(A) @ touch) > 0
    used = (abs(A[:, P.g]).T @ rows.astype(float)) > 0
    return np.setdiff1d(P.aux, P.g[~used], assume_unique=True)


def _link_rows(bundle: ModelBundle, pairs: np.ndarray, P: _Problem | None = None) -> np.ndarray:
    """Rows of the floor_min / floor_max blocks that belong to the given pairs (the pairs' places among those with a
    least floor kept on `P` when given: 0.16 s a restriction at q1m)."""
    out = []
    n = bundle.n_pairs
    for b in bundle.milp.blocks:
        if b.family == "floor_max":  # one row per pair, in pair order
            out.append(b.start + pairs)
        elif b.family == "floor_min":  # rows only for pairs with a least floor, in pair order
            pos = getattr(P, "floor_min_pos", None)
            if pos is None:
                has_lo = np.flatnonzero(bundle.pairs.lo_m2 > 0)
                pos = np.full(n, -1)
                pos[has_lo] = np.arange(len(has_lo))
                if P is not None:
                    P.floor_min_pos = pos
            p = pos[pairs]
            out.append(b.start + p[p >= 0])
    return np.concatenate(out) if out else np.zeros(0, int)


def repair_schedule(n_seg: int) -> list[int]:
    """Parcels left open by each restricted repair: increasing, all below or at the number of parcels. The first
    leaves 1 % open: with restrictions widened where they lack (`_repair`), 2 % (as before) cost more than it gave
    (q100k 4.7 -> 3.2 s, q1m's repair 22.6 -> 18.3 s; s1m 23.3 -> 24.9 s, within the machine's drift)."""
    out: list[int] = []
    for k in (max(100, n_seg // 100), n_seg // 10, n_seg // 3):
        k = min(k, n_seg)
        if k > 0 and (not out or k > out[-1]):
            out.append(k)
    return out


def solve(bundle: ModelBundle, opts: SolveOptions, full_repair: bool = True) -> SolveResult:
    """Bound by Lagrangian relaxation, plan by restricted repairs; every phase on deterministic work limits,
    the wall-clock limit only as a hard ceiling (see the module docstring).

    `full_repair=False` leaves out the last repair (the full model with every pair open): the auto solver
    hands that step to HiGHS on the original model.

    BLAS runs single-threaded here: the dual's vectors are too short for threads to pay, and a threaded BLAS
    spinning beside HiGHS's or another process's threads made the engine 2–3× slower on two cores.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _solve(bundle, opts, full_repair)


def _solve(bundle: ModelBundle, opts: SolveOptions, full_repair: bool) -> SolveResult:
    from optimizer.solvers import highs

    t0 = time.perf_counter()
    deadline = t0 + opts.time_limit_s
    m = bundle.milp
    sign = 1.0 if m.sense == "maximize" else -1.0
    P = _split(bundle)
    P.threads = engine_threads(opts)
    if P.n == 0:  # nothing to decompose
        from dataclasses import replace

        return highs.solve(m, replace(opts, threads=engine_threads(opts)))
    target = max(opts.mip_gap / 10, 1e-7)
    # the smoothed dual's own target: coarser when the polish finishes the bound
    smooth_target = max(opts.mip_gap * SMOOTH_TARGET_SHARE_POLISHED, target) if refines(P) else target

    def prog(evals, v):
        if opts.progress is not None:
            opts.progress({"elapsed_s": time.perf_counter() - t0, "objective": np.nan,
                           "bound": sign * v * m.obj_scale, "gap": np.nan, "evaluations": evals})

    least = least_objective(P)
    scale = float(np.abs(P.c[:P.n]).sum() + np.abs(P.c[P.n:2 * P.n] * P.hi_u).sum() + np.abs(P.cg * P.ug).sum())
    if opts.dual_start is not None and len(opts.dual_start) == 2 * len(P.L):  # an earlier solve's multipliers
        # (any nonnegative multipliers give a valid bound: dual_ascent clips the start to them; NaN counts as 0)
        mu0, where = np.nan_to_num(np.asarray(opts.dual_start, float), nan=0.0, posinf=0.0), {"dual_start": True}
    else:  # a large model's dual starts from a sample's (in this process, also when the dual itself runs on Dask)
        sampled = sample_dual(P, smooth_target, opts.work_s, deadline)
        mu0, where = sampled if sampled is not None else (None, {})
    evaluator = None
    if opts.dual_scheduler or opts.dual_workers:  # the dual's sums over parcel chunks on dask.distributed
        from optimizer.solvers import lagrange_dask

        evaluator = lagrange_dask.ChunkedDual(P, opts)
    try:
        dual = dual_ascent(P, smooth_target, dual_evaluation_budget(P, opts.work_s), deadline, progress=prog,
                           least=least - 1e-6 * max(scale, 1.0), evaluate=evaluator, mu0=mu0)
    finally:
        if evaluator is not None:
            where = {**where, **evaluator.info}
            evaluator.close()
    phases = [{"phase": "dual", "stopped_by": dual.stopped_by, "evaluations": dual.evaluations,
               "levels": dual.levels, **where, "bound": sign * dual.bound * m.obj_scale,
               "seconds": round(time.perf_counter() - t0, 3)}]
    t_ref = time.perf_counter()
    smoothed = dual
    dual = refine_dual(P, smoothed, target * REFINE_TARGET_SHARE, refine_evaluation_budget(P, opts.work_s),
                       deadline=deadline, least=least - 1e-6 * max(scale, 1.0), min_pairs=REFINE_MIN_PAIRS)
    phases.append({"phase": "dual refinement", "stopped_by": "skipped" if dual is smoothed else dual.stopped_by,
                   "evaluations": dual.evaluations - smoothed.evaluations,
                   "seconds": round(time.perf_counter() - t_ref, 3)})
    bound, mu, primal = dual.bound, dual.mu, dual.primal
    if primal is not None:
        # settle parcels at whichever comes closer to meeting the coupling rows: the smoothed prices' choice (the
        # polished prices sit at the dual's optimum, where whole classes of parcels tie, and their choice is
        # often the worse one) or the polish's rounded fractional plan
        priced = _rounded(P, (np.ones(1), _exact(P, smoothed.mu, picks=True)[2][None, :]))
        if _shortfall(P, *priced) <= _shortfall(P, *_rounded(P, primal)):
            mu, primal = smoothed.mu, None
    dual_s = time.perf_counter() - t0
    best_possible = sign * bound * m.obj_scale  # the proven bound, in scenario units and sense
    stop_at = gap_target(best_possible, opts, sign > 0)
    x_best, obj_best, last = None, -np.inf, None
    proven_infeasible = False
    n_seg = len(P.starts)
    tries = [(k, 3) for k in repair_schedule(n_seg)] + ([(n_seg, P.n)] if full_repair else [])
    if dual.stopped_by == "infeasible":
        # the bound is below any plan's objective: no plan exists. HiGHS confirms it on the LP relaxation
        # (cheap when infeasible) before the answer is given; should it disagree, the repairs run as usual.
        proven_infeasible = _lp_infeasible(m, opts, deadline, phases)
        if proven_infeasible:
            tries = []
    resumable = dual is smoothed and dual.stopped_by == "converged"
    for i, (n_free, top) in enumerate(tries):
        if i > 0 and resumable and x_best is not None:
            # the last repair left the gap open: go on with the dual first, to a finer convergence. Its stop
            # rule (relative progress per iteration) can end a level while the bound still falls; a tighter
            # bound may close the gap without a larger repair, and its prices settle the next repair's parcels.
            # It runs in this process, also when the first dual ran on Dask workers (their cluster is closed)
            resumable = False
            t_res = time.perf_counter()
            more = dual_ascent(P, target, dual_evaluation_budget(P, opts.work_s), deadline, progress=prog,
                               least=least - 1e-6 * max(scale, 1.0), resume=dual,
                               ftol_share=DUAL_FTOL_SHARE * RESUME_FTOL_FACTOR)
            phases.append({"phase": "dual resumed", "stopped_by": more.stopped_by,
                           "evaluations": more.evaluations - dual.evaluations,
                           "bound": sign * min(more.bound, bound) * m.obj_scale,
                           "seconds": round(time.perf_counter() - t_res, 3)})
            if more.bound < bound:
                dual, bound, mu = more, more.bound, more.mu
                best_possible = sign * bound * m.obj_scale
                stop_at = gap_target(best_possible, opts, sign > 0)
                phases[-1]["gap"] = float(rel_gap(obj_best, bound))
                if gap_closed(obj_best * m.obj_scale, bound * m.obj_scale, opts):
                    break
        full = top >= P.n
        t_try = time.perf_counter()
        left = deadline - t_try
        entry = {"phase": f"repair {i + 1}", "open_parcels": n_free}
        if left <= 0:
            phases.append({**entry, "stopped_by": "time_limit", "seconds": 0.0})
            break
        keep, fixed, fval = _candidates(P, mu, n_free, top=top, incumbent=x_best, primal=primal)
        entry["open_parcels"] = int((np.bincount(P.seg_of_pair[keep & ~fixed], minlength=n_seg) > 0).sum())
        left = deadline - time.perf_counter()  # (after the candidates: 5 s at q1m, which the repair's clock missed)
        try:
            x, res = _repair(bundle, P, keep, fixed, opts, left, x_best, stop_at,
                             node_limit=None if full else REPAIR_NODE_LIMIT, fval=fval,
                             rounded_will_do=resumable and i + 1 < len(tries))  # the next try resumes the dual
        except SolverFailed as exc:  # HiGHS could not run: keep the bound and the best plan so far
            phases.append({**entry, "stopped_by": "solver_failed", "message": str(exc),
                           "seconds": round(time.perf_counter() - t_try, 3)})
            break
        last = res if res is not None else last
        why = "infeasible_restriction" if res is None else repair_stop(res)
        if full and why == "infeasible_restriction" and not fixed.any() and keep.all():
            why = "infeasible"  # the "restriction" was the whole model: no plan exists
            proven_infeasible = True
        entry.update(stopped_by=why, nodes=_nodes(res))
        if res is not None and res.phases:  # it started from its LP, rounded; it was widened where rules conflict
            entry.update({k: res.phases[0][k] for k in ("lp_s", "rounded_open", "widened", "priced")
                          if k in res.phases[0]})
        if x is not None:
            obj = float(P.c @ x[:2 * P.n] + P.cg @ x[P.g])
            if obj > obj_best:
                x_best, obj_best = x, obj
            entry["gap"] = float(rel_gap(obj_best, bound))
        phases.append({**entry, "seconds": round(time.perf_counter() - t_try, 3)})
        if why == "time_limit" or (x_best is not None and gap_closed(obj_best * m.obj_scale, bound * m.obj_scale,
                                                                     opts)):
            break
    solve_s = time.perf_counter() - t0
    n_tries = sum(ph["phase"].startswith("repair") for ph in phases)
    info = (f"dual bound from {dual.evaluations} evaluations ({dual.stopped_by.replace('_', ' ')}) in "
            f"{dual_s:.1f} s; plan from restricted repair ({n_tries} tries)")
    if proven_infeasible:
        return SolveResult("infeasible", None, np.nan, np.nan, np.nan, solve_s, NAME, phases=tuple(phases),
                           message="no plan satisfies all rules (proved: the model or its LP relaxation is "
                                   "infeasible)")
    if x_best is None:
        msg = "no plan found by the restricted repair" + (f" ({last.message})" if last is not None else "")
        return SolveResult("no_solution", None, np.nan, sign * bound * m.obj_scale, np.nan, solve_s, NAME,
                           message=msg, phases=tuple(phases), dual=dual.mu)
    gap = rel_gap(obj_best, bound)
    status = "optimal" if gap_closed(obj_best * m.obj_scale, bound * m.obj_scale, opts) else "feasible"
    return SolveResult(status, x_best, sign * obj_best * m.obj_scale, sign * bound * m.obj_scale, gap, solve_s,
                       NAME, message=info, phases=tuple(phases), dual=dual.mu)


def repair_stop(res: SolveResult) -> str:
    """A repair's HiGHS stop in the words of SolveResult.phases."""
    why = res.phases[0]["stopped_by"] if res.phases else "other"
    names = {"optimal": "gap_reached", "objective_target": "gap_reached",
             "infeasible": "infeasible_restriction"}
    return names.get(why, why)


def _nodes(res: SolveResult | None) -> int:
    return int(res.phases[0].get("nodes", 0)) if res is not None and res.phases else 0


def _lp_infeasible(m, opts: SolveOptions, deadline: float, phases: list) -> bool:
    """Whether the LP relaxation of the full model is infeasible (then so is the model); recorded as a phase.

    Only a proof counts: a stop at the time limit or anything but HiGHS's "infeasible" answers False."""
    from dataclasses import replace

    from optimizer.solvers import highs

    left = deadline - time.perf_counter()
    if left <= 0:
        phases.append({"phase": "lp relaxation", "stopped_by": "time_limit", "seconds": 0.0})
        return False
    lp = replace(m, integrality=np.zeros(m.n_cols, bool))
    res = highs.solve(lp, SolveOptions(time_limit_s=left, threads=engine_threads(opts), log=opts.log))
    ph = res.phases[0] if res.phases else {"stopped_by": "other", "seconds": res.solve_s}
    phases.append({"phase": "lp relaxation", "stopped_by": ph["stopped_by"], "seconds": ph["seconds"]})
    return res.status == "infeasible"
