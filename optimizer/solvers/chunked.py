"""The Lagrangian engine over parcel chunks that never sit in one process together.

A scenario too large for one process is cut into contiguous parcel chunks; each chunk is a scenario of its own (its
parcels, every rule as it is: `optimizer.data.restrict_parcels`, or `optimizer.scenario.chunks.load_chunk` reading
only its records), loaded, built and held by one `ChunkModel`, on a Dask worker or in this process. All chunks'
models use the same floor and money units, and their coupling rules (budgets, demand, shares, sites, sub-area
mixes, metric totals, objective floors) are rescaled here to one scale, so that the whole scenario's coupling rows
are the sums of the chunks' rows (tests/test_chunk_model.py). The coordinator (`solve_chunks`) holds only the
multipliers, the rules' bounds and a few numbers per chunk and rule:

1. **Bound.** The dual of the coupling rules by the engine's own method (`lagrange.dual_ascent`), each evaluation
   the sum of the chunks' parts at the same multipliers, added in chunk order (the same numbers on any workers),
   started from the dual of a sample of every k-th parcel of every chunk on large scenarios. The chunks'
   Lagrangian maxima plus λ·b bound the whole scenario.
2. **Plan.** Dantzig-Wolfe's master LP (`Master`) over convex combinations of each chunk's priced choices (its
   exact choices at the dual's last multipliers, its smoothed choices at the best), with rounds of column
   generation (priced between the master's duals and the best multipliers so far, until the master's value is
   close to the bound), finds a fractional plan that meets every rule where its columns allow.
   Each rule's bounds are then apportioned among the chunks (`apportion`): a chunk's share is its use of the rule
   in that plan plus a part of the rule's slack (in proportion to its pairs, among the chunks that have a column
   in the rule; whole numbers for rules over whole counts such as sites). The shares of a rule add up to its
   bounds, so chunk plans that meet their shares meet every rule together. Each chunk solves its own model with
   its shares (`solvers.solve_bundle`, the engine warm from the multipliers), with FIRST_SHARE of the run's
   work: a chunk's solve is an engine run of its own.
3. **Reconciliation.** Each rule's unused share (a ≤ side) or surplus (a ≥ side) is moved to the chunks whose
   share binds, in proportion to their multipliers for it; those chunks solve again from their plan, which still
   meets its new shares, so no chunk's objective falls. Up to RECONCILE_ROUNDS rounds, while the objective rises.
   A chunk that cannot meet its shares leaves the run without a plan (the bound stands), and the message names
   the chunk; fewer, larger chunks then help.

The objective must be a sum over parcels (total output or weighted); output per land, neighbour rules and phases
are refused by the caller (optimizer.chunked).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from optimizer.errors import SolverFailed
from optimizer.solvers.base import SolveOptions, gap_closed, rel_gap
from optimizer.solvers.lagrange import DUAL_SAMPLE_MIN_PARCELS, DUAL_SAMPLE_PARCELS, NOMINAL_WORK_PER_S

# the run's work (SolveOptions.work_s, nominal seconds): the dual's evaluation budget is this share of it ...
DUAL_SHARE = 0.4
# ... and each chunk's first solve gets this share of it, each reconciliation round's solve this share over the
# rounds. Not divided among the chunks: a chunk's solve is an engine run of its own, whose fixed costs (the dual's
# polish, the repair's MILP) do not shrink with the chunk. When they shared the work, q1m's chunks of 250,000
# parcels stopped their polish after 4 evaluations (its budget), and three of their repairs ran to their time ceilings
# 0.07–0.52 % from their bounds (the plan 0.27 %); with 2/3 of it each (35 polish evaluations), every chunk reached
# its gap in 4–14 s (benchmarks/results/chunked-work-2026-12-03/). The cost: a chunk that never reaches its gap
# runs to its time ceiling (the default work is the time limit) where it used to stop on its work (docs: same
# options, same plan)
FIRST_SHARE = 2 / 3
RECONCILE_SHARE = 1 / 3
# ceilings on the clock (shares of the time limit, from the end of loading): the dual's and the master's end
DUAL_CEILING = 0.6
MASTER_CEILING = 0.7
RECONCILE_ROUNDS = 4
CHUNK_CEILING = 8.0  # a chunk solve's time limit: at most this many times its nominal seconds of work (one thread)
CHUNK_GAP_SHARE = 0.5  # each chunk's solve stops at this share of the run's gap (the shares cost the rest)
DUAL_TARGET_SHARE = 0.1  # the dual's own target: this share of the MIP gap (the engine's smoothing target)
MASTER_POINTS = 60  # the master LP's columns: each chunk's priced choice at the last this many multipliers
MASTER_ROUNDS = 30  # ... and at most this many rounds of column generation (one exact evaluation each) ...
# ... priced at this convex combination of the best multipliers so far and the master's duals (Wentges's
# smoothing; q1m in 4 chunks: the master's value 0.54 % below the bound after 30 rounds at its own duals, 0.02 %
# after 19 at 0.85 with the stop below) ...
MASTER_SMOOTHING = 0.85
MASTER_GAP_SHARE = 0.2  # ... until the master's value is within this share of the MIP gap of the best bound
SHARE_MARGIN = 1e-7  # each share this far (coupling rows' scale: largest coefficient 1) inside its side
SLACK_TOL = 1e-7  # a share within this (relative to max(1, |share|)) of its use binds


@dataclass(frozen=True)
class ChunkHeader:
    """What the coordinator learns of a chunk's model: its coupling rules' layout and natural-unit facts."""

    families: tuple  # (family, rows) of the coupling blocks, in order: the same for every chunk
    labels: tuple  # each coupling row's label (from the rules, the same for every chunk)
    lo_nat: np.ndarray  # bounds of the coupling rows in natural units (m², yuan, sites, ...)
    hi_nat: np.ndarray
    max_nat: np.ndarray  # largest |coefficient| of each coupling row in natural units (0: no column of this chunk)
    whole: np.ndarray  # per coupling row: its columns are choices with whole coefficients (sites)
    n_parcels: int
    n_pairs: int
    n_options: float  # Σ log(options + 1) over the chunk's parcels
    work: int  # pairs + coupling nonzeros (the dual's cost model)


class ChunkModel:
    """One chunk: its scenario, model and plan, held where it is evaluated (a Dask actor, or this process).

    `source`: a Scenario, or a picklable callable that loads it (so a worker reads only its own records)."""

    def __init__(self, source):
        self.source = source
        self.sc = None
        self.bundle = None
        self.rows = None  # coupling rows of the chunk's model
        self.x = None
        self.objective = np.nan
        self.times: dict = {}

    # -- building -------------------------------------------------------------------------------------------
    def prepare(self) -> dict:
        """Load the chunk and find its pairs; returns its own units and size. Scenario errors propagate."""
        from optimizer.model.build import model_units
        from optimizer.model.eligibility import eligible_pairs
        from optimizer.solution.explain import capacities, parcel_conflicts

        if self.sc is not None:  # loaded already (the run read its settings from this chunk)
            return self.prepared
        t = time.perf_counter()
        self.sc = self.source() if callable(self.source) else self.source
        self.times["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        self.pairs = eligible_pairs(self.sc)
        self.times["eligibility_s"] = time.perf_counter() - t
        fu, mu = model_units(self.sc, self.pairs) if len(self.pairs) else (1.0, 1.0)
        self.prepared = {"floor_unit": fu, "money_unit": mu, "n_parcels": int(self.sc.n_parcels),
                         "n_pairs": int(len(self.pairs)), "conflicts": parcel_conflicts(self.sc, self.pairs),
                         "capacity": capacities(self.sc, self.pairs)}
        return self.prepared

    def build(self, units: tuple[float, float]) -> ChunkHeader:
        from optimizer.model.build import build_model
        from optimizer.solvers.lagrange import DEFINITION_FAMILIES, LOCAL_FAMILIES

        t = time.perf_counter()
        self.bundle = b = build_model(self.sc, self.pairs, units=units)
        self.times["build_s"] = time.perf_counter() - t
        m = b.milp
        coupling = [blk for blk in m.blocks if blk.family not in LOCAL_FAMILIES + DEFINITION_FAMILIES]
        self.rows = rows = (np.concatenate([np.arange(k.start, k.start + k.size) for k in coupling])
                            if coupling else np.zeros(0, np.int64))
        nat = b.row_natural[rows]
        A = (sp.diags(nat) @ m.A[rows]).tocsr()
        absA = abs(A)
        max_nat = absA.max(axis=1).toarray().ravel() if A.shape[0] and A.shape[1] else np.zeros(len(rows))
        n = b.n_pairs
        on_x = np.asarray(absA[:, :n].sum(axis=1)).ravel()
        elsewhere = np.asarray(absA[:, n:].sum(axis=1)).ravel()
        frac = A[:, :n].copy()
        frac.data = np.abs(frac.data - np.round(frac.data))
        whole = (elsewhere == 0) & (np.asarray(frac.sum(axis=1)).ravel() <= 1e-9 * np.maximum(on_x, 1.0))
        p = self.pairs.parcel
        per_parcel = np.bincount(p, minlength=self.sc.n_parcels) if n else np.zeros(self.sc.n_parcels, int)
        n_options = float(np.log(per_parcel[per_parcel > 0] + 1.0).sum())
        return ChunkHeader(
            families=tuple((k.family, k.size) for k in coupling),
            labels=tuple(k.label(i) for k in coupling for i in range(k.size)),
            lo_nat=m.row_lower[rows] * nat, hi_nat=m.row_upper[rows] * nat, max_nat=max_nat, whole=whole,
            n_parcels=int(self.sc.n_parcels), n_pairs=int(n), n_options=n_options, work=int(n + A.nnz))

    def scale(self, natural: np.ndarray) -> None:
        """Put the coupling rows on the coordinator's scale (`natural`: natural units per unit of each row) and
        prepare the dual's evaluation."""
        from optimizer.solvers.lagrange import _split, make_blocks
        from optimizer.solvers.lagrange_dask import DualChunk

        b, m = self.bundle, self.bundle.milp
        d = np.ones(m.n_rows)
        d[self.rows] = b.row_natural[self.rows] / natural
        milp = replace(m, A=(sp.diags(d) @ m.A).tocsr(), row_lower=m.row_lower * d, row_upper=m.row_upper * d)
        self.bundle = replace(b, milp=milp, row_natural=b.row_natural / d)
        if b.n_pairs == 0:  # no parcel here may take any industry: the chunk adds nothing to any rule
            self.P = self.dual_chunk = None
            return
        P = _split(self.bundle)
        if not np.array_equal(P.rows, self.rows):
            raise SolverFailed("a chunk's coupling rules differ from the engine's (internal error)")
        self.P = P
        self.dual_chunk = DualChunk(blocks=make_blocks(P), A2T=P.A2T.tocsr(), A2=P.A2.tocsr())

    def sample(self, every: int) -> dict:
        """Keep every `every`-th parcel of the chunk (from its first) for a sample's dual (`evaluate(sample=True)`);
        returns the sample's size, Σ log(options + 1) and which coupling rows its columns reach."""
        from optimizer.solvers.lagrange import make_blocks, sample_problem
        from optimizer.solvers.lagrange_dask import DualChunk

        if self.P is None:
            self.sample_chunk = None
            return {"parcels": 0, "pairs": 0, "of": 0, "used": np.zeros(len(self.rows), bool), "n_options": 0.0}
        Q = sample_problem(self.P, every)
        self.sample_chunk = DualChunk(blocks=make_blocks(Q), A2T=Q.A2T.tocsr(), A2=Q.A2.tocsr())
        return {"parcels": len(Q.starts), "pairs": int(Q.n), "of": len(self.P.starts),
                "used": (np.diff(Q.A1.indptr) > 0) | (np.diff((Q.A2 @ Q.D).tocsr().indptr) > 0),
                "n_options": float(np.log(np.diff(np.r_[Q.starts, Q.n]) + 1.0).sum())}

    def evaluate(self, lam: np.ndarray, T: float, sample: bool = False) -> tuple[float, float, np.ndarray]:
        """(smoothed value, exact value, A·z̄) of the chunk's parcels (or of its sample) at multipliers λ and
        smoothing T."""
        chunk = self.sample_chunk if sample else self.dual_chunk
        return (0.0, 0.0, np.zeros(len(lam))) if chunk is None else chunk.evaluate(lam, T)

    def columns(self, lams: list, smoothed: list) -> tuple[np.ndarray, np.ndarray]:
        """The objective (model units, maximised) and the coupling rows' use of the chunk's priced choices: at each
        multiplier vector λ of `lams` its exact choice (each parcel its best option), at each (λ, T) of `smoothed`
        its smoothed choice. Convex combinations of these are plans of the chunk's LP relaxation."""
        from optimizer.solvers.lagrange import _exact_block, smoothed_block, sum_blocks

        ch = self.dual_chunk
        if ch is None:
            k = len(lams) + len(smoothed)
            return np.zeros(k), np.zeros((k, len(self.rows)))
        obj, use = [], []
        for lam in lams:
            lam2 = ch.A2T @ lam
            parts = [_exact_block(b, lam, lam2, False) for b in ch.blocks]
            val, _, az = sum_blocks([(v, 0.0, a, d) for v, a, d, _ in parts], ch.A2)
            obj.append(val + float(lam @ az))
            use.append(az)
        for lam, T in smoothed:
            lam2 = ch.A2T @ lam
            parts = [smoothed_block(b, lam, lam2, T, objective=True) for b in ch.blocks]
            _, _, az = sum_blocks([p[:4] for p in parts], ch.A2)
            obj.append(sum(p[4] for p in parts))
            use.append(az)
        return np.array(obj), np.array(use).reshape(len(obj), -1)

    # -- solving --------------------------------------------------------------------------------------------
    def solve(self, lo: np.ndarray, hi: np.ndarray, solver: str, opts: SolveOptions, warm: bool = False) -> dict:
        """Solve the chunk's model with its coupling rows' bounds set to [lo, hi] (its shares); keep the plan
        if it is the chunk's first or better than its last (a warm start from the last plan, which meets the new
        shares, is never worse). Returns the plan's objective, its use of each coupling row and the multipliers."""
        from optimizer.solvers import solve_bundle

        b, m = self.bundle, self.bundle.milp
        rl, ru = m.row_lower.copy(), m.row_upper.copy()
        rl[self.rows], ru[self.rows] = lo, hi
        trial = replace(b, milp=replace(m, row_lower=rl, row_upper=ru))
        o = replace(opts, warm_start=self.x if warm and self.x is not None else None)
        t = time.perf_counter()
        if b.n_pairs == 0:  # the empty plan, if the shares allow it (a chunk with no column gets shares of 0)
            from optimizer.solvers.base import SolveResult

            x = np.zeros(m.n_cols)
            ok = trial.milp.max_violation(x) <= 1e-9
            res = SolveResult("optimal" if ok else "infeasible", x if ok else None, 0.0 if ok else np.nan,
                              0.0 if ok else np.nan, 0.0 if ok else np.nan, 0.0, solver)
        else:
            res = solve_bundle(trial, solver, o)
        seconds = time.perf_counter() - t
        sign = 1.0 if m.sense == "maximize" else -1.0
        if res.x is not None and (self.x is None or not warm or sign * (res.objective - self.objective) >= 0):
            self.x, self.objective = res.x, res.objective
            self.bundle = trial  # the plan's model: its shares
        kept = res.x is not None or (warm and self.x is not None)
        return {"status": res.status if res.x is not None else ("kept" if kept else res.status),
                "has_plan": self.x is not None and kept, "objective": self.objective if kept else np.nan,
                "bound": res.bound, "usage": self.usage() if kept else None, "seconds": seconds,
                "dual": res.dual, "message": res.message,
                "stopped_by": sorted({str(ph.get("stopped_by")) for ph in res.phases})}

    def usage(self) -> np.ndarray:
        """The plan's use of each coupling row (on the coordinator's scale)."""
        return self.bundle.milp.A[self.rows] @ self.x

    # -- the plan -------------------------------------------------------------------------------------------
    def table(self):
        """The chunk's assignment table (parcel_id, industry_id, floor_area_m2, ...), as `landuse solve` writes."""
        from optimizer.solution.plan import decode

        return decode(self.sc, self.bundle, self.x)

    def totals(self):
        """The independent checker's per-parcel verdicts and rule totals for this chunk's plan."""
        from optimizer.solution.check import rule_totals

        return rule_totals(self.sc, self.table())

    def rules_only(self):
        """The chunk's scenario without parcels: every rule, industry and setting (for the checker's verdict)."""
        from optimizer.data import restrict_parcels

        return restrict_parcels(self.sc, [])

    def sense(self) -> str:
        return self.bundle.milp.sense

    def stats(self) -> dict:
        """Seconds of the chunk's loading and building, and the peak memory of the process holding it (MB)."""
        import resource

        return {**{k: round(v, 3) for k, v in self.times.items()},
                "process_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def gather(calls: list, timeout: float | None = None) -> list:
    """Results of calls on chunk models: values (in this process) or Dask actor futures, in order."""
    return [c.result(timeout=timeout) if hasattr(c, "result") else c for c in calls]


def apportion(L: np.ndarray, U: np.ndarray, use: np.ndarray, weight: np.ndarray, whole: np.ndarray,
              natural: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's share [lo, hi] of each rule (chunks × rules): its use plus its weight's part of the rule's
    slack (weights: chunks × rules, each rule's column summing to 1 where any chunk has a column in it, 0 for the
    chunks without one). The shares of a rule add up to its bounds, each a hair (SHARE_MARGIN) inside its side
    where the share's width allows, so that solver tolerances cannot add up over many chunks beyond the rule.
    On whole rows (natural units per unit in `natural`), each chunk's use is rounded to whole numbers adding up
    to a total within ⌈L⌉..⌊U⌋, and the whole slack of each side is handed out on top (largest remainders):
    lo ≤ the rounded use ≤ hi for every chunk, the shares adding up to ⌈L⌉ and ⌊U⌋."""
    S = use.sum(axis=0)
    active = weight > 0
    with np.errstate(invalid="ignore"):
        hi = np.where(np.isfinite(U), use + (U - S) * weight, np.inf)
        lo = np.where(np.isfinite(L), use + (L - S) * weight, -np.inf)
    roomy = (hi - lo > 4 * SHARE_MARGIN) & active
    hi = np.where(roomy & np.isfinite(hi), hi - SHARE_MARGIN, hi)
    lo = np.where(roomy & np.isfinite(lo), lo + SHARE_MARGIN, lo)
    for r in np.flatnonzero(whole):
        g, act = natural[r], active[:, r]
        if not act.any():
            continue
        top = np.floor(U[r] * g + 1e-9) if np.isfinite(U[r]) else np.inf
        bottom = np.ceil(L[r] * g - 1e-9) if np.isfinite(L[r]) else -np.inf
        t = np.where(act, use[:, r] * g, 0.0)
        total = float(np.clip(np.round(t.sum()), bottom, top))
        t = _whole_shares(t, total, act)
        w = weight[:, r]
        hi[:, r] = (t + (_whole_shares(w * (top - total), top - total, act) if np.isfinite(top) else np.inf)) / g
        lo[:, r] = (t - (_whole_shares(w * (total - bottom), total - bottom, act) if np.isfinite(bottom)
                         else np.inf)) / g
    return lo, hi


def _whole_shares(share: np.ndarray, total: float, active: np.ndarray) -> np.ndarray:
    """Whole numbers near `share` (≥ 0 where `share` is) adding up to `total`: the floors, then one more for the
    largest remainders, or one less for the smallest (among the active chunks; the others keep their share's
    floor)."""
    out = np.floor(share + 1e-9)
    left = int(round(total - out.sum()))
    rem = share - out
    if left > 0 and active.any():
        order = np.argsort(np.where(active, -rem, np.inf), kind="stable")
        for k in range(left):  # more than one unit each only if the active chunks are fewer than the units left
            out[order[k % int(active.sum())]] += 1.0
    elif left < 0:
        order = np.argsort(np.where(active & (out >= 1), rem, np.inf), kind="stable")
        for k in range(-left):
            out[order[k % max(int((active & (out >= 1)).sum()), 1)]] -= 1.0
    return out


@dataclass
class ChunkedResult:
    """The chunked engine's answer (scenario units)."""

    status: str  # "optimal", "feasible", "no_solution"
    objective: float
    bound: float
    gap: float
    solve_s: float
    chunk_objectives: list
    phases: list = field(default_factory=list)
    message: str = ""
    units: tuple = (1.0, 1.0)
    rules: list = field(default_factory=list)  # per coupling rule: label, bounds, use, multiplier (natural units)


@dataclass
class ChunkSet:
    """The chunks once built and scaled alike: what the coordinator keeps of them."""

    chunks: list
    heads: list  # ChunkHeader per chunk
    units: tuple  # (floor unit m², money unit yuan) of every chunk's model
    natural: np.ndarray  # natural units per unit of each coupling row, the same in every chunk
    L: np.ndarray  # the coupling rows' bounds on that scale
    U: np.ndarray
    whole: np.ndarray  # rows over whole counts (sites)
    sense: str
    timeout: float | None = None

    @property
    def n_pairs(self) -> np.ndarray:
        return np.array([h.n_pairs for h in self.heads], float)

    def evaluator(self, seen: list | None = None, sample: tuple | None = None):
        """The dual function of the whole scenario, `(μ, T) -> (smoothed value, gradient, exact value)` as
        `lagrange.dual_ascent` takes it: the chunks' parts at the same multipliers, added in chunk order, plus
        the rules' term. `seen` (a list) collects the last MASTER_POINTS multipliers evaluated. `sample`: (L, U)
        of the rules scaled to the chunks' samples (`ChunkModel.sample`), whose dual this is then."""
        chunks, timeout, m = self.chunks, self.timeout, len(self.L)
        L, U = (self.L, self.U) if sample is None else sample
        Lf, Uf = np.where(np.isfinite(L), L, 0.0), np.where(np.isfinite(U), U, 0.0)
        on_sample = sample is not None

        def evaluate(mu: np.ndarray, T: float):
            lam = mu[:m] - mu[m:]
            if seen is not None:
                seen.append(lam)
                del seen[:-MASTER_POINTS]
            parts = gather([c.evaluate(lam, T, on_sample) for c in chunks], timeout)
            sv, ev, az = parts[0]
            for s_, e, a in parts[1:]:
                sv += s_
                ev += e
                az = az + a
            const = float(Uf @ mu[:m] - Lf @ mu[m:])
            return sv + const, np.r_[Uf - az, -(Lf - az)], ev + const

        return evaluate


def build_chunks(chunks: list, timeout: float | None = None, units: tuple[float, float] | None = None) -> ChunkSet:
    """Load and check every chunk (the scenario's conflicts before solving, from all chunks' capacities), build
    their models with one pair of units (`units`, or else the median chunk's own) and put their coupling rows on
    one scale (each row's largest natural coefficient over all chunks: the whole model's)."""
    from optimizer.solution.explain import merged_precheck

    info = gather([c.prepare() for c in chunks], timeout)
    cap = info[0]["capacity"]
    for i in info[1:]:
        cap = cap + i["capacity"]
    conflicts = merged_precheck(gather([chunks[0].rules_only()], timeout)[0], [i["conflicts"] for i in info], cap)
    if conflicts:
        from optimizer.errors import InfeasibleScenario

        raise InfeasibleScenario(conflicts, "(found before solving)")
    some = [i for i in info if i["n_pairs"] > 0] or info  # the median chunk's units (powers of ten), among
    fu = sorted(i["floor_unit"] for i in some)[(len(some) - 1) // 2]  # the chunks with any pair
    mu_unit = sorted(i["money_unit"] for i in some)[(len(some) - 1) // 2]
    fu, mu_unit = (fu, mu_unit) if units is None else units
    heads: list[ChunkHeader] = gather([c.build((fu, mu_unit)) for c in chunks], timeout)
    for h in heads[1:]:
        if h.families != heads[0].families:
            raise SolverFailed("the chunks' models have different coupling rules (internal error)")
    h0 = heads[0]
    natural = np.max([h.max_nat for h in heads], axis=0) if len(h0.lo_nat) else np.zeros(0)
    natural = np.where(natural > 0, natural, 1.0)
    whole = (np.all([h.whole | (h.max_nat == 0) for h in heads], axis=0)
             & np.any([h.max_nat > 0 for h in heads], axis=0)) if len(natural) else np.zeros(0, bool)
    empty = ~np.any([h.max_nat > 0 for h in heads], axis=0) if len(natural) else np.zeros(0, bool)
    lo0, hi0 = h0.lo_nat, h0.hi_nat
    tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(lo0, posinf=0, neginf=0)),
                                            np.abs(np.nan_to_num(hi0, posinf=0, neginf=0))))
    out = np.flatnonzero(empty & ((lo0 > tol) | (hi0 < -tol)))
    if len(out):  # a rule no parcel can move, whose bounds exclude the empty sum
        from optimizer.errors import InfeasibleScenario

        raise InfeasibleScenario([f"{h0.labels[r]}: no eligible parcel counts towards it" for r in out[:10]],
                                 "(found before solving)")
    gather([c.scale(natural) for c in chunks], timeout)
    sense = gather([chunks[0].sense()], timeout)[0]
    return ChunkSet(chunks, heads, (fu, mu_unit), natural, h0.lo_nat / natural, h0.hi_nat / natural, whole, sense,
                    timeout)


def solve_chunks(chunks: list, opts: SolveOptions, solver: str = "auto", workers: int = 1,
                 timeout: float | None = None) -> ChunkedResult:
    """Bound and plan a scenario held as parcel chunks (ChunkModel objects, or Dask actors on them spread over
    `workers` workers), in the order of its parcels. See the module docstring."""
    from optimizer.solvers.lagrange import dual_ascent

    limit = float(opts.time_limit_s)
    work_s = opts.work_s
    phases: list[dict] = []
    C = len(chunks)
    t = time.perf_counter()
    cs = build_chunks(chunks)  # loading and building: not timed (each chunk's own data; no limit applies)
    cs.timeout = timeout  # ... the dual's evaluations are
    t0 = time.perf_counter()  # the solve's clock starts here

    def left() -> float:
        return limit - (time.perf_counter() - t0)

    heads, (fu, mu_unit), natural, L, U, whole = cs.heads, cs.units, cs.natural, cs.L, cs.U, cs.whole
    h0 = heads[0]
    n_pairs = cs.n_pairs
    phases.append({"phase": "chunks built", "stopped_by": "done", "chunks": C, "pairs": int(n_pairs.sum()),
                   "parcels": int(sum(h.n_parcels for h in heads)), "seconds": round(time.perf_counter() - t, 3)})
    m = len(L)
    seen: list[np.ndarray] = []  # the multipliers of the last evaluations (the master LP's columns)
    evaluate = cs.evaluator(seen)

    # 1. the bound: the dual from a sample's dual (every k-th parcel of every chunk, the rules scaled to its share)
    t = time.perf_counter()
    work = sum(h.work for h in heads)
    target = max(DUAL_TARGET_SHARE * opts.mip_gap, 1e-7)
    deadline = t0 + DUAL_CEILING * limit  # a ceiling: the evaluation budgets decide
    n_parcels = sum(h.n_parcels for h in heads)
    mu0, where = None, {}
    if n_parcels >= DUAL_SAMPLE_MIN_PARCELS:
        every = max(n_parcels // DUAL_SAMPLE_PARCELS, 2)
        got = gather([c.sample(every) for c in chunks], timeout)
        share = sum(g["parcels"] for g in got) / max(sum(g["of"] for g in got), 1)  # of the parcels with pairs
        used = np.any([g["used"] for g in got], axis=0)
        Ls, Us = np.where(used, L * share, -np.inf), np.where(used, U * share, np.inf)
        s_work = sum(g["pairs"] for g in got) + work * share
        ds = dual_ascent(SimpleNamespace(L=Ls, U=Us), target,
                         max_evals=max(int(DUAL_SHARE * work_s * NOMINAL_WORK_PER_S / max(s_work, 1)), 1),
                         deadline=deadline, evaluate=cs.evaluator(sample=(Ls, Us)),
                         n_options=sum(g["n_options"] for g in got))
        mu0 = ds.mu if ds.stopped_by == "converged" else None
        where = {"sample_parcels": sum(g["parcels"] for g in got), "sample_evaluations": ds.evaluations,
                 "sample_stopped_by": ds.stopped_by}
    budget = max(int(DUAL_SHARE * work_s * NOMINAL_WORK_PER_S / max(work, 1)), 1)
    header = SimpleNamespace(L=L, U=U)
    dual = dual_ascent(header, target, max_evals=budget, deadline=deadline, evaluate=evaluate,
                       n_options=sum(h.n_options for h in heads), mu0=mu0)
    sign = 1.0 if cs.sense == "maximize" else -1.0
    bound = sign * dual.bound * mu_unit
    phases.append({"phase": "dual over chunks", "stopped_by": dual.stopped_by, "evaluations": dual.evaluations,
                   **where, "seconds": round(time.perf_counter() - t, 3)})

    # 2. shares from the master LP's plan over the chunks' priced choices, and the chunks' first plans
    t = time.perf_counter()
    lams = [dual.mu[:m] - dual.mu[m:], *seen]
    T_last = dual.smoothing if np.isfinite(dual.smoothing) else 0.0
    smooth = [(lam, T_last * f) for lam in lams[:1] for f in (1.0, 0.3, 3.0)] if T_last > 0 else []
    cols = gather([c.columns(lams, smooth) for c in chunks], timeout)
    use, short, done = master_plan(chunks, cols, L, U, dual.mu, dual.bound, MASTER_ROUNDS,
                                   t0 + MASTER_CEILING * limit, timeout, MASTER_GAP_SHARE * opts.mip_gap)
    if np.isfinite(done["bound"]) and done["bound"] < dual.bound:  # the pricing's multipliers prove more
        bound = sign * done["bound"] * mu_unit
    phases.append({"phase": "master LP", "stopped_by": "done" if short <= 1e-9 else "rules_short",
                   "columns": done["columns"], "pricing_rounds": done["pricing_rounds"], "short": short,
                   "gap": done["gap"], "seconds": round(time.perf_counter() - t, 3)})
    has = np.array([h.max_nat > 0 for h in heads]).reshape(C, m)
    weight = has * n_pairs[:, None]
    tot = weight.sum(axis=0)
    weight = np.where(tot > 0, weight / np.where(tot > 0, tot, 1.0), 1.0 / C)
    lo, hi = apportion(L, U, use, weight, whole, natural)
    per_worker_rounds = -(-C // max(int(workers), 1))  # chunks each worker solves one after another

    def chunk_opts(work_share: float, time_share: float) -> SolveOptions:
        # a work limit always: `work_share` of the run's work for each chunk (the same plans on a busy machine and
        # on any number of workers while the chunks reach their gap or work first); the time limit, a ceiling, is
        # `time_share` of the time left, split among the chunks each worker solves in turn, and at most
        # CHUNK_CEILING times the work. A chunk that reaches neither its gap nor its work before that ceiling has a
        # plan that depends on the machine's speed and the placement (docs: same options, same plan)
        work = work_share * work_s
        each = min(max(time_share * left(), 0.1) / per_worker_rounds, CHUNK_CEILING * work)
        # one thread per chunk solve unless asked otherwise: the chunks are the parallelism (workers), and HiGHS's
        # search depends on its thread count, so the plans stay the same on any number of workers
        return replace(opts, time_limit_s=each, work_limit_s=work, mip_gap=CHUNK_GAP_SHARE * opts.mip_gap,
                       threads=opts.threads or 1,
                       dual_start=dual.mu, dual_workers=0,
                       dual_scheduler=None, warm_start=None, progress=None)

    t = time.perf_counter()
    o = chunk_opts(FIRST_SHARE, FIRST_SHARE)
    res = gather([c.solve(lo[i], hi[i], solver, o) for i, c in enumerate(chunks)], timeout)
    short = [i for i, r in enumerate(res) if not r["has_plan"] and r["status"] != "infeasible"]
    if short:  # out of work before a first plan (not proved impossible): once more, with the reconciliation's too
        o = chunk_opts(1.0, 1.0)
        again = gather([chunks[i].solve(lo[i], hi[i], solver, o) for i in short], timeout)
        for i, r in zip(short, again, strict=True):
            res[i] = r
    bad = [i for i, r in enumerate(res) if not r["has_plan"]]
    phases.append({"phase": "chunk plans", "stopped_by": "done" if not bad else "no_plan",
                   "chunk_status": [r["status"] for r in res], "chunk_objectives": [r["objective"] for r in res],
                   "chunk_bounds": [r["bound"] for r in res], "chunk_stopped_by": [r["stopped_by"] for r in res],
                   "chunk_seconds": [round(r["seconds"], 3) for r in res], "solved_again": [i + 1 for i in short],
                   "seconds": round(time.perf_counter() - t, 3)})
    if bad:
        msg = "; ".join(f"chunk {i + 1}: {res[i]['status']} ({res[i]['message']})" for i in bad[:5])
        return ChunkedResult("no_solution", np.nan, bound, np.nan, time.perf_counter() - t0,
                             [r["objective"] for r in res], phases,
                             f"no plan: chunks could not meet their shares of the rules ({msg}); try fewer, larger "
                             "chunks", (fu, mu_unit))

    # 3. reconciliation: unused shares and surpluses to the chunks whose shares bind
    objective = float(sum(r["objective"] for r in res))
    for rnd in range(1, RECONCILE_ROUNDS + 1):
        if gap_closed(objective, bound, opts):
            break
        if left() <= 0:  # the ceiling: the phases say so
            phases.append({"phase": f"reconcile {rnd}", "stopped_by": "time_limit", "seconds": 0.0})
            break
        t = time.perf_counter()
        use = np.array([r["usage"] for r in res]).reshape(C, m)
        mult = np.array([_multipliers(r["dual"], m) for r in res]).reshape(C, 2, m)
        new_lo, new_hi, moved = _reconcile(L, U, lo, hi, use, mult, weight)
        if not moved.any():
            break
        o = chunk_opts(RECONCILE_SHARE / RECONCILE_ROUNDS, 1.0 / (RECONCILE_ROUNDS - rnd + 1))
        calls = {i: chunks[i].solve(new_lo[i], new_hi[i], solver, o, warm=True) for i in np.flatnonzero(moved)}
        done = dict(zip(calls, gather(list(calls.values()), timeout), strict=True))
        for i, r in done.items():
            res[i] = r
        lo, hi = new_lo, new_hi
        before, objective = objective, float(sum(r["objective"] for r in res))
        phases.append({"phase": f"reconcile {rnd}", "stopped_by": "done", "chunks_resolved": int(moved.sum()),
                       "chunk_stopped_by": [r["stopped_by"] for r in done.values()], "gain": objective - before,
                       "seconds": round(time.perf_counter() - t, 3)})
        if not sign * (objective - before) > 1e-9 * max(1.0, abs(objective)):
            break
    use = np.array([r["usage"] for r in res]).reshape(C, m)
    gap = rel_gap(objective, bound)
    status = "optimal" if gap_closed(objective, bound, opts) else "feasible"
    rules = [{"rule": lab, "lower": lo_n, "upper": hi_n, "use": u, "multiplier_upper": mu_u, "multiplier_lower": mu_l}
             for lab, lo_n, hi_n, u, mu_u, mu_l in zip(
                 h0.labels, h0.lo_nat, h0.hi_nat, use.sum(axis=0) * natural,
                 dual.mu[:m] * mu_unit / natural, dual.mu[m:] * mu_unit / natural, strict=True)]
    return ChunkedResult(status, objective, bound, gap, time.perf_counter() - t0,
                         [float(r["objective"]) for r in res], phases,
                         f"dual over {C} chunks ({dual.evaluations} evaluations), shares of every rule, "
                         f"{len([p for p in phases if p['phase'].startswith('reconcile')])} reconciliation rounds",
                         (fu, mu_unit), rules)


class Master:
    """Dantzig-Wolfe's master LP over the chunks: one convex combination of priced choices per chunk
    (`ChunkModel.columns`), the coupling rules met where the columns allow (elastic rows whose slack costs more
    than any multiplier), the most objective. Its row duals are multipliers at which each chunk's exact choice is
    the column that improves it most (column generation: `price`)."""

    def __init__(self, L: np.ndarray, U: np.ndarray, C: int, price: float):
        import highspy

        from optimizer.solvers.highs import new_highs

        self.m, self.C = len(L), C
        self.h = h = new_highs(False)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        inf = highspy.kHighsInf
        lo = np.where(np.isfinite(L), L, -inf)
        hi = np.where(np.isfinite(U), U, inf)
        h.addRows(self.m, lo, hi, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        h.addRows(C, np.ones(C), np.ones(C), 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        eye = np.arange(self.m, dtype=np.int32)
        for sign in (1.0, -1.0):  # slack that raises, then lowers, each rule's activity
            h.addCols(self.m, np.full(self.m, -price), np.zeros(self.m), np.full(self.m, inf), self.m,
                      eye.copy(), eye.copy(), np.full(self.m, sign))
        self.chunk_of: list[int] = []
        self.use: list[np.ndarray] = []

    def add(self, c: int, obj: np.ndarray, use: np.ndarray) -> None:
        """Columns of chunk c: each a priced choice's objective and use of the rules."""
        for o, u in zip(obj, use, strict=True):
            nz = np.flatnonzero(u).astype(np.int32)
            self.h.addCol(float(o), 0.0, np.inf, len(nz) + 1, np.r_[nz, self.m + c].astype(np.int32),
                          np.r_[u[nz], 1.0])
            self.chunk_of.append(c)
            self.use.append(u)

    def solve(self) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """(each chunk's use of the rules, the rules' total shortfall, the rules' duals λ, the chunks' duals σ)."""
        import highspy

        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverFailed(f"the chunks' master LP ended with {self.h.modelStatusToString(self.h.getModelStatus())}")
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value, float)
        self.value = float(self.h.getInfo().objective_function_value)
        theta = x[2 * self.m:]
        use = np.zeros((self.C, self.m))
        if len(theta):
            np.add.at(use, np.asarray(self.chunk_of), theta[:, None] * np.asarray(self.use))
        y = np.asarray(sol.row_dual, float)
        return use, float(x[:2 * self.m].sum()), y[:self.m], y[self.m:]


def master_plan(chunks: list, cols: list, L: np.ndarray, U: np.ndarray, mu: np.ndarray, bound: float, rounds: int,
                deadline: float, timeout: float | None, tol: float = 0.0) -> tuple[np.ndarray, float, dict]:
    """Each chunk's use of the coupling rules in the master LP's plan (`Master`), after up to `rounds` rounds of
    column generation, stabilised (Wentges): the chunks' exact choices at multipliers between the master's duals
    and the best multipliers so far (at first the dual's `mu`, whose Lagrangian bound is `bound`) join it where
    they improve it. Stops once the master's value is within `tol` (relative) of the best bound, or no column
    improves it at its own duals. Returns (use: chunks × rules, the rules' shortfall in that plan: 0 when it meets
    every rule, what was done, with "bound": the best Lagrangian bound found, internal units)."""
    C = len(chunks)
    Lf, Uf = np.where(np.isfinite(L), L, 0.0), np.where(np.isfinite(U), U, 0.0)
    m = len(L)
    centre, best = mu[:m] - mu[m:], float(bound)  # the stability centre: the multipliers of the best bound
    M = Master(L, U, C, 1e3 * (1.0 + float(np.max(mu, initial=0.0))))
    for c, (obj, use) in enumerate(cols):
        M.add(c, obj, use)
    use, short, lam, sigma = M.solve()
    done, alpha = 0, MASTER_SMOOTHING
    for _ in range(rounds):
        if time.perf_counter() >= deadline or (short <= 1e-9 and np.isfinite(best)
                                               and best - M.value <= tol * abs(best)):
            break
        # multipliers only on the sides a rule has (HiGHS's duals can be a hair off their sign): any such λ gives a
        # valid bound, Σ each chunk's Lagrangian maximum + λ⁺·U − λ⁻·L
        lam = np.where(lam > 0, np.where(np.isfinite(U), lam, 0.0), np.where(np.isfinite(L), lam, 0.0))
        at = alpha * centre + (1.0 - alpha) * lam  # (on the same sides as both)
        got = gather([ch.columns([at], []) for ch in chunks], timeout)
        val = np.array([o[0] - float(at @ u[0]) for o, u in got])  # each chunk's Lagrangian maximum there
        here = float(val.sum() + Uf @ np.maximum(at, 0.0) - Lf @ np.maximum(-at, 0.0))
        if here < best:
            best, centre = here, at
        gain = np.array([o[0] - float(lam @ u[0]) for o, u in got]) - sigma  # reduced costs at the master's duals
        if gain.max() <= 1e-9 * max(1.0, float(np.abs([o[0] for o, _ in got]).max())):
            if alpha == 0.0:
                break  # no column improves the master: its plan is the LP optimum over these chunks
            alpha = 0.0  # a mispricing: the next round prices at the master's own duals
            continue
        alpha = MASTER_SMOOTHING
        for c, (obj, use_c) in enumerate(got):
            if gain[c] > 0:
                M.add(c, obj, use_c)
        use, short, lam, sigma = M.solve()
        done += 1
    return use, short, {"columns": len(M.chunk_of), "pricing_rounds": done, "bound": best,
                        "gap": (best - M.value) / max(abs(best), 1e-300) if np.isfinite(best) else None}


def _multipliers(dual, m: int) -> np.ndarray:
    """A chunk's (upper, lower) multipliers of the coupling rows, zeros when its solver gave none."""
    if dual is None or len(dual) != 2 * m:
        return np.zeros(2 * m)
    return np.maximum(np.nan_to_num(np.asarray(dual, float)), 0.0)


def _reconcile(L, U, lo, hi, use, mult, weight):
    """New shares: each chunk keeps its use as its share; a rule's unused part (≤ side) or surplus (≥ side) goes
    to the chunks whose share binds, in proportion to their multipliers for that side (equally where none has
    one). Returns (lo, hi, which chunks' shares changed). Every chunk's plan meets its new shares."""
    C, m = use.shape
    new_lo, new_hi = lo.copy(), hi.copy()
    tol = SLACK_TOL * np.maximum(1.0, np.abs(use))
    for bounds, share, sgn, k in ((U, new_hi, 1.0, 0), (L, new_lo, -1.0, 1)):
        fin = np.isfinite(bounds)
        binds = (sgn * (share - use) <= tol) & (weight > 0) & fin[None, :]
        spare = sgn * (bounds - use.sum(axis=0))  # ≥ 0 for a plan that meets the rule
        w = np.where(binds, mult[:, k, :], 0.0)
        none = w.sum(axis=0) <= 0
        w = np.where(none[None, :], binds.astype(float), w)
        tot = w.sum(axis=0)
        go = fin & (tot > 0) & (spare > 0)
        w = np.where(go[None, :], w / np.where(tot > 0, tot, 1.0), 0.0)
        share[:, go] = use[:, go] + sgn * spare[go][None, :] * w[:, go]
    grew = (new_hi > hi + 1e-12 * np.maximum(1.0, np.abs(hi))).any(axis=1)
    moved = grew | (new_lo < lo - 1e-12 * np.maximum(1.0, np.abs(lo))).any(axis=1)  # more room: solve again
    return new_lo, new_hi, moved


__all__ = ["ChunkHeader", "ChunkModel", "ChunkedResult", "apportion", "gather", "solve_chunks"]
