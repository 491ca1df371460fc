"""Output per unit of land, exactly: Dinkelbach's parametric method on the one canonical model.

maximise N(z) / D(z) over the plans z, with N the output (the MILP's own objective) and D the developed land
(the bundle's `denominator`). For a ratio λ, P(λ) = max N(z) − λ·D(z) is an ordinary MILP on the same rows with
another objective, solved by whichever backend the run uses, warm-started from the best plan so far:

* a plan of P(λ) with a positive value has a ratio above λ: it becomes the new best and λ its ratio (Dinkelbach's
  step, superlinear when P(λ) is solved to optimality);
* when no plan beats λ, the bound U of P(λ) proves the ratio: every plan z with ratio r has
  (r − λ)·D(z) ≤ U, so r ≤ λ + U / D_min, where D_min is the least land any plan meeting the rules develops (the
  LP relaxation's minimum, or the smallest eligible parcel when no rule forces land). With U ≤ 0, λ is optimal.
* the LP relaxation's own best ratio (Dinkelbach on the LP, a few warm re-solves) bounds every plan from the
  start; the reported bound is the tighter of the two.

Near the best ratio, P(λ)'s bound falls slowly at λ itself: a plan of value 0 is always there, and HiGHS must
branch until its bound reaches the gap. Once the bound is within PROOF_WITHIN of the best ratio λ, a round asks
instead whether any plan reaches aim = λ·(1 + gap), just inside the gap asked for: P(aim) with no warm start,
stopped as soon as its bound falls below a small eps > 0 (no plan reaches aim + eps / least land, still inside
the gap: proved) or a plan worth at least eps appears (better than aim; eps rather than 0 because the empty plan
is worth exactly 0). After such a plan, one warm-started Dinkelbach round moves λ on from it before the next
proof round. Cut by the clock, a proof round still bounds the ratio by aim + U / least land. On Qianhai's
intensive scenario HiGHS's bound at 1.001·λ fell to 0.15 bn yuan in 180 s, at λ to 0.54 bn in 120 s (ad hoc,
2026-12-03). These rounds run HiGHS without its restart (SolveOptions.restart), whose second root LP ignored the
time limit there.

Between the LP and the first round, a neighbourhood search (optimizer.solvers.ratio_heuristic) improves the plan:
small restricted MILPs of P(λ) around it, guided by the LP's best-ratio point, within a deterministic work limit.
It only supplies plans (each a plan of the full MILP); the bound is the LP's and the rounds' as above.

P(λ)'s optimum tends to zero as λ approaches the best ratio, so its gap is set in absolute terms (mip_abs_gap):
small enough that U / D_min stays within the ratio gap asked for.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from optimizer.errors import SolverFailed
from optimizer.solvers import ratio_heuristic
from optimizer.solvers.base import SolveOptions, SolveResult, cut_by_clock, rel_gap

MAX_ROUNDS = 60
SEARCH = True  # the neighbourhood search between the LP and the rounds (False: the plain loop, for benchmarks)
ROUND_REL_GAP = 0.01  # relative gap of P(λ) while it is far from 0 (a step, not a proof)
PROOF_WITHIN = 0.01  # once the bound is within this share of the best ratio, rounds aim to prove the gap
PROOF_MARGIN = 1e-3  # ... at a ratio this share of the gap inside it


class RelaxedRatio:
    """The LP relaxation's side of the ratio, on one HiGHS instance re-solved from its last basis (each warm
    re-solve takes a fraction of the first):

    * `bound`: the most output per m² of land over the LP relaxation (Dinkelbach's method on the LP from `lam`,
      converging in a few re-solves), an upper bound on the ratio of every plan; NaN when an LP does not solve;
    * `least_land`: a lower bound on the developed land of any non-empty plan meeting the rules (the LP's
      minimum, or the smallest eligible parcel when no rule forces land);
    * `least_land_above(λ)`: the same among plans whose ratio is at least λ (the LP with N − λ·D ≥ 0 added).
    """

    def __init__(self, bundle, lam: float, time_limit_s: float = 30.0):
        from optimizer.solvers.highs import new_highs, to_highs_lp

        t0 = time.perf_counter()
        self._m, self._d, n = bundle.milp, bundle.denominator, bundle.n_pairs
        m, d = self._m, self._d
        self.smallest = float(d[:n][d[:n] > 0].min()) if np.any(d[:n] > 0) else 0.0
        self.least_land, self.bound, self.rounds = self.smallest, np.nan, 0
        # the LP's best-ratio point, its ratio and row duals (None until the LP's Dinkelbach converges)
        self.point: np.ndarray | None = None
        self.row_dual: np.ndarray | None = None
        self.lam = np.nan
        self._deadline = t0 + time_limit_s
        self._cols = np.arange(m.n_cols, dtype=np.int32)
        self._h = new_highs(False)
        self._ratio_row = False
        converged = None  # (λ, the LP's max of N − λ·D) once no LP point beats λ
        scale = m.obj_scale
        self._h.passModel(to_highs_lp(replace(m, c=m.c - lam * d / scale, integrality=np.zeros(m.n_cols, bool))))
        for _ in range(MAX_ROUNDS):  # Dinkelbach on the LP: λ ← ratio of the best LP point for N − λ·D
            self.rounds += 1
            z = self._run()
            if z is None:
                break
            land, out = float(d @ z), float(m.c @ z) * scale
            excess = out - lam * land  # max over the LP of N − λ·D
            if land <= 0 or excess <= 1e-9 * max(abs(lam) * land, 1.0):
                converged = (lam, max(excess, 0.0))
                self.point, self.lam = z, lam
                self.row_dual = np.asarray(self._h.getSolution().row_dual, float)
                break
            lam = out / land
            self._cost(m.c - lam * d / scale)
        z = self._least(np.inf) if self.rounds else None
        if z is not None:
            self.least_land = max(float(d @ z), self.smallest)
        if converged is not None and self.least_land > 0:
            # every LP point has N − λ·D ≤ excess, so its ratio is at most λ + excess / its land
            lam, excess = converged
            self.bound = lam + excess / self.least_land
        self.seconds = time.perf_counter() - t0

    def _cost(self, c: np.ndarray) -> None:
        self._h.changeColsCost(len(self._cols), self._cols, np.asarray(c, float))

    def _run(self) -> np.ndarray | None:
        import highspy

        left = self._deadline - time.perf_counter()
        if left <= 0:
            return None
        self._h.setOptionValue("time_limit", float(left))
        self._h.run()
        if self._h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self._h.getSolution().col_value, float)

    def _least(self, lam: float) -> np.ndarray | None:
        """The LP point of least land (with N − λ·D ≥ 0 when λ is finite)."""
        import highspy

        m, d = self._m, self._d
        if np.isfinite(lam):
            coef = m.c - lam * d / m.obj_scale
            if self._ratio_row:
                row = self._h.getNumRow() - 1
                self._h.deleteRows(1, np.array([row], dtype=np.int32))
            self._h.addRow(0.0, highspy.kHighsInf, len(self._cols), self._cols, coef)
            self._ratio_row = True
        self._cost(-d / max(self.smallest, 1.0))
        return self._run()

    def least_land_above(self, lam: float, deadline: float) -> float:
        """Least land of a plan with ratio ≥ lam (never below `least_land`); `least_land` when out of time."""
        self._deadline = deadline
        z = self._least(lam)
        return max(float(self._d @ z), self.least_land) if z is not None else self.least_land


def _sub_solver(solver: str, opts: SolveOptions):
    """The restricted MILPs of the neighbourhood search: CBC when the run uses CBC, else HiGHS in this process
    with a fixed thread count (its search then depends on no clock: see optimizer.solvers.lagrange)."""
    if solver == "cbc":
        from optimizer.solvers import cbc

        return cbc.solve
    from optimizer.solvers import highs
    from optimizer.solvers.lagrange import engine_threads

    return lambda m, o: highs.solve(m, replace(o, threads=engine_threads(opts)))


def _proof_solver(solver: str, bundle, backend, opts: SolveOptions):
    """The solver of the proof rounds: HiGHS on the whole MILP (highs.solve_abandonable: in a child process that
    can be abandoned from ISOLATE_COLS columns up), stopping as soon as its bound proves the aim out of reach
    (give_up_below) or it finds a plan that reaches it (stop_at_objective); the engine's dual and repair would
    only find plans below the aim. The run's own backend where that is CBC, or where rules are completed by
    cuts outside the MILP (a plan of the MILP alone may break them).
    None (classic rounds only) where the engine's rounds would do better than plain HiGHS on the whole model: a
    lagrange or auto run on a model of ISOLATE_COLS columns or more."""
    from optimizer.solvers import highs

    if solver == "cbc" or ratio_heuristic.lazy_rules(bundle):
        return backend
    if solver in ("lagrange", "auto") and bundle.milp.n_cols >= highs.ISOLATE_COLS:
        return None
    return lambda b, o: highs.solve_abandonable(b.milp, o)


def _stop(res: SolveResult) -> str:
    """What ended one MILP of the loop: its status, or "time_limit" where the clock cut one of its steps short of
    its gap (the analyses then say that the figure may differ on a busy machine)."""
    return "time_limit" if cut_by_clock(res.status, res.phases) else res.status


def solve(bundle, backend, opts: SolveOptions) -> SolveResult:
    """Maximise output / developed land. `backend(bundle, opts)` solves one linear MILP (highs, cbc, lagrange or
    auto). The result's objective is the ratio (yuan per m² a year), its bound the proven upper bound on it."""
    t0 = time.perf_counter()
    deadline = t0 + opts.time_limit_s
    m, d = bundle.milp, bundle.denominator
    scale = m.obj_scale

    def ratio(x: np.ndarray) -> float:
        land = float(d @ x)
        return float(m.c @ x) * scale / land if land > 0 else 0.0

    def bound_above(level: float, u: float) -> float:
        """The ratio bound from U, a bound on max N − level·D: a plan with ratio r > level has (r − level)·D ≤ U
        and at least the least land of plans with ratio ≥ level (none when U ≤ 0)."""
        return level if u <= 0 else level + u / relaxed.least_land_above(level, time.perf_counter() + 10.0)

    first = backend(bundle, replace(opts, time_limit_s=max(deadline - time.perf_counter(), 0.0)))
    phases = [{"phase": "ratio: the most output", "stopped_by": _stop(first), "seconds": round(first.solve_s, 3)}]
    if not first.has_plan:
        return replace(first, phases=tuple(phases), message=f"no plan to start the ratio from: {first.message}")
    x_best, lam = first.x, ratio(first.x)
    relaxed = RelaxedRatio(bundle, lam, time_limit_s=max(min(30.0, deadline - time.perf_counter()), 1.0))
    d_min = relaxed.least_land
    phases.append({"phase": "ratio: LP relaxation", "stopped_by": "converged" if np.isfinite(relaxed.bound)
                   else "no_bound", "rounds": relaxed.rounds, "seconds": round(relaxed.seconds, 3)})
    x_best, lam = first.x, ratio(first.x)
    bound, rounds = (relaxed.bound if np.isfinite(relaxed.bound) else np.inf), 0
    if SEARCH and relaxed.point is not None and not bound <= lam * (1 + opts.mip_gap):
        found = ratio_heuristic.search(bundle, x_best, relaxed.point, relaxed.row_dual, relaxed.lam, opts, deadline,
                                       _sub_solver(first.solver, opts))
        phases.append({"phase": "ratio: neighbourhood search", "stopped_by": found.stopped_by,
                       "restricted_milps": found.sub_mips, "improvements": found.improvements,
                       "ratio": found.ratio, "seconds": round(found.seconds, 3)})
        if found.ratio > lam:
            x_best, lam = found.x, found.ratio
    from optimizer.solvers.lagrange import engine_threads

    prove = _proof_solver(first.solver, bundle, backend, opts)
    step_next = False  # after a proof round found a plan: one warm-started Dinkelbach step from it first
    while rounds < MAX_ROUNDS:
        left = deadline - time.perf_counter()
        if left <= 0:
            phases.append({"phase": f"ratio round {rounds + 1}", "stopped_by": "time_limit", "seconds": 0.0})
            break
        if bound <= lam * (1 + opts.mip_gap):  # the LP's bound already proves the plan
            break
        rounds += 1
        if prove is not None and not step_next and opts.mip_gap > 0 and d_min > 0 and \
                bound <= lam * (1 + PROOF_WITHIN):
            # a proof round: is there a plan with a ratio of at least aim, just inside the gap asked for? It stops
            # at a plan worth eps (the empty plan is worth exactly 0) or once its bound is below eps: every plan
            # then has a ratio of at most aim + eps / d_min, still inside the gap
            aim = lam * (1 + opts.mip_gap * (1 - PROOF_MARGIN))
            eps = 0.5 * lam * opts.mip_gap * PROOF_MARGIN * d_min
            try:
                res = prove(replace(bundle, milp=replace(m, c=m.c - aim * d / scale)),
                            replace(opts, time_limit_s=left, warm_start=None, mip_gap=0.0, mip_abs_gap=0.0,
                                    stop_at_objective=eps, give_up_below=eps, restart=False, progress=None,
                                    threads=opts.threads if first.solver == "cbc" else engine_threads(opts)))
            except SolverFailed as exc:
                phases.append({"phase": f"ratio round {rounds}", "stopped_by": "solver_failed", "message": str(exc)})
                break
            stopped = _stop(res)
            if stopped != "time_limit" and res.phases:  # proved (bound_below_target) or reached (objective_target)
                stopped = res.phases[-1].get("stopped_by", stopped)
            phases.append({"phase": f"ratio round {rounds}", "stopped_by": stopped, "ratio": lam, "aim": aim,
                           "seconds": round(res.solve_s, 3)})
            if np.isfinite(res.bound):
                bound = min(bound, bound_above(aim, res.bound))
            if res.has_plan and float(d @ res.x) > 0 and ratio(res.x) > lam * (1 + 1e-12):
                x_best, lam = res.x, ratio(res.x)  # a better plan (above aim when it stopped on eps)
                step_next = True
                continue
            break
        after_proof, step_next = step_next, False
        # P(λ): the output minus λ per m² of land, to an absolute gap that keeps the ratio bound within target
        # far from the best ratio P(λ) is large and a loose relative gap finds a better plan fast; near it P(λ)
        # tends to 0 and the absolute gap decides
        try:
            res = backend(replace(bundle, milp=replace(m, c=m.c - lam * d / scale)),
                          replace(opts, time_limit_s=left, warm_start=x_best, mip_gap=ROUND_REL_GAP,
                                  mip_abs_gap=0.5 * opts.mip_gap * lam * d_min, progress=None, restart=False))
        except SolverFailed as exc:  # e.g. HiGHS stuck past its limit: keep the best plan and bound so far
            phases.append({"phase": f"ratio round {rounds}", "stopped_by": "solver_failed", "message": str(exc)})
            break
        phases.append({"phase": f"ratio round {rounds}", "stopped_by": _stop(res), "ratio": lam,
                       "seconds": round(res.solve_s, 3)})
        if np.isfinite(res.bound) and d_min > 0:
            bound = min(bound, bound_above(lam, res.bound))
        if res.has_plan and float(d @ res.x) > 0 and ratio(res.x) > lam * (1 + 1e-12):
            x_best, lam = res.x, ratio(res.x)  # Dinkelbach's step
            continue
        if after_proof:  # the step found nothing better: back to proving
            continue
        break
    bound = bound if np.isfinite(bound) else np.nan
    status = "optimal" if np.isfinite(bound) and rel_gap(lam, bound) <= opts.mip_gap else "feasible"
    gap = rel_gap(lam, bound)
    info = (f"output per m² of land by Dinkelbach's method: {rounds} round{'' if rounds == 1 else 's'}, least land "
            f"of a plan {d_min:,.0f} m²")
    return SolveResult(status, x_best, lam, bound, gap, time.perf_counter() - t0, first.solver, message=info,
                       phases=(*first.phases, *phases))
