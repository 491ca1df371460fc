"""The one-way flow that the CLI, notebooks and benchmarks all call.

scenario folder -> Scenario -> eligible pairs (+ precheck) -> MILP -> solver -> plan -> check -> KPIs.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optimizer.data import Scenario
from optimizer.errors import BadOption, CheckFailed, InfeasibleScenario, SolverFailed
from optimizer.model import ModelBundle, build_model, eligible_pairs
from optimizer.scenario import load_scenario
from optimizer.solution import CheckReport, Plan, check_plan, compute_kpis, decode, raw_value_issues
from optimizer.solution.explain import diagnose, precheck
from optimizer.solvers import BACKENDS, ENGINES, SolveOptions, SolveResult, solve_bundle


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced. `plan` is None when no plan exists (infeasible, or none found in time)."""

    scenario: Scenario
    status: str
    plan: Plan | None
    check: CheckReport | None
    kpis: dict | None
    solver: str
    timings: dict = field(default_factory=dict)
    conflicts: list = field(default_factory=list)
    message: str = ""
    warnings: tuple[str, ...] = ()  # about this run (the scenario's own warnings are in scenario.warnings)
    phases: tuple[dict, ...] = ()  # what stopped each solver phase
    # what the analyses above the pipeline need to ask further questions of this plan
    bundle: ModelBundle | None = field(default=None, repr=False, compare=False)
    x: np.ndarray | None = field(default=None, repr=False, compare=False)
    options: SolveOptions | None = field(default=None, repr=False, compare=False)
    analysis: dict = field(default_factory=dict, repr=False, compare=False)  # tables of optimizer.analysis
    bound: float = np.nan  # the solver's proven bound when there is no plan (with a plan: plan.bound)
    dual: np.ndarray | None = field(default=None, repr=False, compare=False)  # the engine's multipliers, if it ran

    @property
    def all_warnings(self) -> list[str]:
        return [*getattr(self.scenario, "warnings", ()), *self.warnings]

    def summary(self) -> dict:
        p = self.plan
        return {
            "scenario": self.scenario.name,
            "status": self.status,
            "objective": _num(p.objective) if p else None,
            "bound": _num(p.bound) if p else _num(self.bound),
            "gap": _num(p.gap) if p else None,
            "solver": self.solver,
            "options": _options(self.options),
            "build_s": _num(self.timings.get("build_s")),
            "solve_s": _num(self.timings.get("solve_s")),
            "timings_s": {k: _num(v) for k, v in self.timings.items()},
            "message": self.message,
            "conflicts": list(self.conflicts),
            "warnings": self.all_warnings,
            "solver_phases": [dict(ph) for ph in self.phases],
            "check": self.check.to_dict() if self.check else {"passed": False, "violations": []},
            "kpis": self.kpis,
            "assumptions": list(self.scenario.assumptions),
        }


def _options(o: SolveOptions | None) -> dict | None:
    """The solve's options that decide its plan (summary.json): the same input and options give the same plan.
    (A `dual_start`, which only the analyses' re-solves and API callers pass, is not recorded.)"""
    if o is None:
        return None
    return {"time_limit_s": _num(o.time_limit_s), "mip_gap": _num(o.mip_gap), "threads": int(o.threads),
            "work_limit_s": _num(o.work_limit_s)}


def _num(v):
    return float(v) if v is not None and np.isfinite(v) else None


def check_options(solver: str, opts: SolveOptions) -> None:
    """The options the CLI validates, validated again for scripts and notebooks (BadOption, exit code 2)."""
    import math

    if solver not in BACKENDS + ENGINES:
        raise BadOption(f"unknown solver {solver!r} (choose {', '.join(BACKENDS + ENGINES)})")
    t, g, n = opts.time_limit_s, opts.mip_gap, opts.threads
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= 1e7:
        raise BadOption(f"time limit must be a finite number of seconds in [0, 1e7] (got {t!r})")
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or not 0 <= g <= 1:
        raise BadOption(f"MIP gap must be a number in [0, 1] (got {g!r})")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 1024:
        raise BadOption(f"threads must be a whole number in [0, 1024] (got {n!r})")
    wl = opts.work_limit_s
    if wl is not None:
        if isinstance(wl, bool) or not isinstance(wl, (int, float)) or not math.isfinite(wl) or not 0 <= wl <= 1e7:
            raise BadOption(f"work limit must be a finite number of nominal seconds in [0, 1e7] (got {wl!r})")
        if solver == "cbc":
            raise BadOption("a work limit needs solver highs, lagrange or auto: CBC stops on its time limit only")
    w, addr = opts.dual_workers, opts.dual_scheduler
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= w <= 1024:
        raise BadOption(f"dual workers must be a whole number in [0, 1024] (got {w!r})")
    if addr is not None and (not isinstance(addr, str) or not addr.strip()):
        raise BadOption(f"dual scheduler must be a Dask scheduler address such as tcp://host:8786 (got {addr!r})")
    if w and addr:
        raise BadOption("give dual workers (a local cluster) or a dual scheduler (an existing one), not both")
    if (w or addr) and solver not in ("lagrange", "auto"):
        raise BadOption(f"dual workers and a dual scheduler place the Lagrangian engine's dual; they need solver "
                        f"lagrange or auto, not {solver!r}")


def solve_scenario(
    scenario: Scenario | str | Path,
    solver: str | None = None,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    log: bool = False,
    progress=None,
    dual_workers: int = 0,
    dual_scheduler: str | None = None,
    work_limit_s: float | None = None,
    dual_start=None,
) -> RunResult:
    """Load (if given a folder), build, solve, decode, check and measure a scenario.

    `dual_workers` (a local cluster of that many processes) or `dual_scheduler` (an existing Dask cluster)
    evaluate the Lagrangian engine's dual over parcel chunks (solver lagrange or auto only); the planning answers
    asked of the result later re-solve in this process. `work_limit_s` (default: the scenario's `solver.work_limit_s`,
    else none) is nominal seconds of work for each solver call (SolveOptions.work_limit_s): the time limit is then
    a ceiling only, and the plan is the same on a busy or an idle machine unless the ceiling cuts a step.
    `dual_start` (RunResult.dual of a run of the same rules with a bound moved) starts the engine's dual from those
    multipliers (SolveOptions.dual_start).
    Raises InfeasibleScenario (with the conflicting rules) or CheckFailed; returns a RunResult otherwise, whose
    status is "optimal", "feasible" or "no_solution".
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    timings["load_s"] = time.perf_counter() - t
    d = sc.solver
    solver = solver or d.name
    opts = SolveOptions(
        time_limit_s=d.time_limit_s if time_limit_s is None else time_limit_s,
        mip_gap=d.mip_gap if mip_gap is None else mip_gap,
        threads=d.threads if threads is None else threads,
        log=log, progress=progress, dual_workers=dual_workers, dual_scheduler=dual_scheduler,
        # the scenario's work limit is a default for the backends that have one (CBC stops on its time limit only;
        # summary.json's options say what applied); a work limit asked of CBC explicitly is refused below
        work_limit_s=(d.work_limit_s if solver != "cbc" else None) if work_limit_s is None else work_limit_s,
        dual_start=dual_start,
    )
    check_options(solver, opts)
    t = time.perf_counter()
    pairs = eligible_pairs(sc)
    timings["eligibility_s"] = time.perf_counter() - t
    conflicts = precheck(sc, pairs)
    if conflicts:
        raise InfeasibleScenario(conflicts, "(found before solving)")
    bundle = build_model(sc, pairs)
    timings["build_s"] = bundle.build_s
    cuts = ClusterCuts(sc, solver)  # plain solve_bundle without cluster rules
    with _dual_cluster(opts, timings):
        if sc.objective.kind == "output_per_land":
            from optimizer.solvers import fractional

            res = fractional.solve(bundle, cuts.solve, opts)
        else:
            res = cuts.solve(bundle, opts)
    bundle = cuts.bundle or bundle  # with the cuts it added, so that a diagnosis or analysis sees them
    timings["solve_s"] = res.solve_s
    if res.status in ("infeasible", "unbounded"):
        if res.status == "unbounded":
            raise InfeasibleScenario(["the model is unbounded (a scenario rule is missing a bound)"])
        conflicts = diagnose(bundle, time_limit_s=max(opts.time_limit_s, 10.0))
        if conflicts is None:
            raise SolverFailed(f"{res.solver} reported the model infeasible, but HiGHS found a plan that meets every "
                               "rule; try another solver")
        raise InfeasibleScenario(conflicts or ["no single coupling rule explains it; check zoning and FAR data"],
                                 "(the solver proved that no plan satisfies all rules together)")
    if opts.dual_workers or opts.dual_scheduler:  # the analyses' many small re-solves stay in this process
        from dataclasses import replace

        opts = replace(opts, dual_workers=0, dual_scheduler=None)
    return finish(sc, bundle, res, timings, opts)


@contextmanager
def _dual_cluster(opts: SolveOptions, timings: dict):
    """With dual workers, one local Dask cluster held for every engine solve of this run (cluster-cut rounds,
    Dinkelbach steps) rather than one per solve; its start is timed as `dual_cluster_s`."""
    if not opts.dual_workers:
        yield
        return
    from optimizer.solvers.lagrange_dask import kept_cluster

    t = time.perf_counter()
    with kept_cluster(opts.dual_workers):
        timings["dual_cluster_s"] = time.perf_counter() - t
        yield


class ClusterCuts:
    """solve_bundle for scenarios with a neighbour graph (plain solve_bundle otherwise).

    Each solver's plan gets its synergy pair columns at their best values for its choices (a solver stopping at
    a gap may leave them slack: model.neighbours.tighten_pair_columns), its objective and gap updated to match.
    With cluster rules, the lazy cuts of optimizer.model.neighbours: solve; while a connected group of an
    industry's sites is below its cluster target, add the valid cut against it and solve again (warm-started
    from the last plan), within the one time limit. Every round's bound is valid (the cuts only remove plans
    that break the rule); a plan that still breaks it when time runs out is not returned (status no_solution)."""

    MAX_ROUNDS = 500

    def __init__(self, sc: Scenario, solver: str):
        from optimizer.model.neighbours import cluster_targets

        self.sc, self.solver, self.bundle = sc, solver, None
        self.active = sc.neighbours is not None
        self.clusters = self.active and bool(np.any(np.r_[cluster_targets(sc)] > 0))
        self.rounds = 0

    def _solve_once(self, bundle: ModelBundle, opts: SolveOptions) -> SolveResult:
        from dataclasses import replace

        from optimizer.model.neighbours import tighten_pair_columns
        from optimizer.solvers.base import rel_gap

        res = solve_bundle(bundle, self.solver, opts)
        if not res.has_plan:
            return res
        x = tighten_pair_columns(bundle, res.x)
        m = bundle.milp
        objective = res.objective + float(m.c @ (x - res.x)) * m.obj_scale
        return replace(res, x=x, objective=objective, gap=rel_gap(objective, res.bound))

    def _local(self, bundle: ModelBundle, res: SolveResult, opts: SolveOptions, left: float, bound: float):
        """The plan `res` changed only around its groups below their cluster target (lagrange.local_repair on
        the model with the cuts against them): (the new plan's result or None, the repair's phase entry)."""
        from dataclasses import replace

        from optimizer.model.neighbours import around_small_clusters, tighten_pair_columns
        from optimizer.solvers import lagrange
        from optimizer.solvers.base import gap_closed, gap_target, rel_gap

        t = time.perf_counter()
        m = bundle.milp
        sign = 1.0 if m.sense == "maximize" else -1.0
        stop_at = gap_target(bound, opts, sign > 0)
        parcels = around_small_clusters(self.sc, bundle, res.x, hops=LOCAL_REPAIR_HOPS)
        phase = {"phase": f"cluster repair {self.rounds}", "open_parcels": int(len(parcels))}
        try:
            x, sub, phase["open_parcels"] = lagrange.local_repair(bundle, res.x, parcels, opts, left, stop_at)
        except SolverFailed as exc:
            return None, {**phase, "stopped_by": "solver_failed", "message": str(exc),
                          "seconds": round(time.perf_counter() - t, 3)}
        phase["stopped_by"] = "infeasible_restriction" if sub is None else lagrange.repair_stop(sub)
        phase["seconds"] = round(time.perf_counter() - t, 3)
        if x is None:
            return None, phase
        x = tighten_pair_columns(bundle, x)
        obj = res.objective + float(m.c @ (x - res.x)) * m.obj_scale
        phase["gap"] = float(rel_gap(obj, bound))
        status = "optimal" if gap_closed(obj, bound, opts) else "feasible"
        return replace(res, status=status, x=x, objective=obj, bound=bound, gap=rel_gap(obj, bound),
                       phases=(phase,)), phase

    def solve(self, bundle: ModelBundle, opts: SolveOptions) -> SolveResult:
        from dataclasses import replace

        from optimizer.model.build import with_rows
        from optimizer.model.neighbours import cluster_cuts

        if not self.active:
            return solve_bundle(bundle, self.solver, opts)
        from optimizer.model.neighbours import drop_small_clusters
        from optimizer.solvers.base import gap_closed, rel_gap

        t0 = time.perf_counter()
        maximize = bundle.milp.sense == "maximize"
        res, phases, n_cuts = self._solve_once(bundle, opts), [], 0
        kept = None  # the best plan that meets the cluster rules: a round's plan with its small groups given up
        bound = res.bound
        for _ in range(self.MAX_ROUNDS if self.clusters else 0):
            phases += list(res.phases)
            if np.isfinite(res.bound):
                bound = res.bound  # each round's bound holds (its cuts are valid)
            if not res.has_plan:
                break
            M, lo, hi, labels = cluster_cuts(self.sc, bundle, res.x)
            if not len(labels):
                break  # this round's plan meets every rule
            x = drop_small_clusters(self.sc, bundle, res.x)
            if x is not None:
                m = bundle.milp
                obj = res.objective + float(m.c @ (x - res.x)) * m.obj_scale
                if kept is None or (obj > kept[1] if maximize else obj < kept[1]):
                    kept = (x, obj)
            self.rounds += 1
            n_cuts += len(labels)
            bundle = with_rows(bundle, "cluster_cut", M, lo, hi, labels, unit="sites")
            left = opts.time_limit_s - (time.perf_counter() - t0)
            if kept is not None and gap_closed(kept[1], bound, opts):
                res = None  # the plan with the small groups given up is within the gap of the bound
                break
            if left <= 0:
                res = replace(res, status="no_solution", x=None, objective=np.nan, gap=np.nan,
                              message=f"{res.message}; the time limit came before every cluster was large enough")
                break
            if self.solver in LOCAL_REPAIR_SOLVERS:  # first, change the plan only around its small groups
                local, phase = self._local(bundle, res, opts, left, bound)
                if local is not None:
                    res = local
                    continue
                phases.append(phase)
                left = opts.time_limit_s - (time.perf_counter() - t0)
            res = self._solve_once(bundle, replace(opts, time_limit_s=left,
                                                   warm_start=kept[0] if kept is not None else res.x))
        self.bundle = bundle
        done = f"{n_cuts} cluster cuts in {self.rounds} rounds"
        if kept is not None and (res is None or not res.has_plan or
                                 (res.objective < kept[1] if maximize else res.objective > kept[1])):
            x, obj = kept
            gap = rel_gap(obj, bound)
            base = res if res is not None else SolveResult("feasible", x, obj, bound, gap, 0.0, self.solver)
            return replace(base, status="optimal" if gap_closed(obj, bound, opts) else "feasible", x=x,
                           objective=obj, bound=bound, gap=gap, solve_s=time.perf_counter() - t0,
                           phases=tuple(phases), message=f"{base.message}; {done}; the best plan gives up the "
                                                         "groups below their cluster target")
        msg = f"{res.message}; {done}" if self.rounds else res.message
        return replace(res, solve_s=time.perf_counter() - t0, phases=tuple(phases) or res.phases, message=msg)


LOCAL_REPAIR_SOLVERS = ("auto", "lagrange")  # solvers whose cluster rounds first repair around the small groups
LOCAL_REPAIR_HOPS = 2  # ... opening the parcels this many neighbour steps around them

BOUND_TOL = 1e-6  # relative: a bound may sit this far on the wrong side of a plan (solver tolerances)


def finish(sc: Scenario, bundle: ModelBundle, res: SolveResult, timings: dict,
           options: SolveOptions | None = None) -> RunResult:
    """Decode, check and measure a solver answer.

    The checker judges the solver's values (floors are snapped only where they pass their range by no more than
    the solver's own tolerance: `solution.plan.snap_floors`); a proven bound that a checked plan beats is
    discarded with a warning, never reported as a gap.
    """
    phases = tuple(getattr(res, "phases", ()))
    if not res.has_plan:
        return RunResult(sc, "no_solution", None, None, None, res.solver, timings, message=res.message,
                         phases=phases, bundle=bundle, options=options,
                         bound=res.bound if np.isfinite(res.bound) else np.nan)  # what was proved stands
    t = time.perf_counter()
    table = decode(sc, bundle, res.x)
    report = check_plan(sc, table, res.objective)
    raw = raw_value_issues(sc, bundle, res.x)
    if raw:
        report = CheckReport(False, raw + report.violations, report.objective, report.n_checked_rules + 1)
    timings["check_s"] = time.perf_counter() - t
    if not report.passed:
        raise CheckFailed(report.violations)
    status, bound, gap, warnings = res.status, res.bound, res.gap, []
    if np.isfinite(bound):
        slack = (bound - res.objective) if sc.objective.sense == "maximize" else (res.objective - bound)
        if slack < -BOUND_TOL * max(1.0, abs(res.objective)):
            warnings.append(f"{res.solver}'s bound {bound:,.6g} is beaten by the checked plan's objective "
                            f"{res.objective:,.6g}: the bound is discarded and optimality is not claimed")
            status, bound, gap = "feasible", np.nan, np.nan
    kpis = compute_kpis(sc, table)
    plan = Plan(table, status, res.objective, bound, gap, res.solver, bundle.build_s, res.solve_s, res.message)
    return RunResult(sc, status, plan, report, kpis, res.solver, timings, message=res.message,
                     warnings=tuple(warnings), phases=phases, bundle=bundle, x=res.x, options=options, dual=res.dual)
