"""Shared solver options and the neutral result every backend returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "no_solution")


@dataclass(frozen=True)
class SolveOptions:
    """One set of options that every backend translates into its own."""

    time_limit_s: float = 60.0  # wall-clock limit, enforced by the backend even where the solver ignores it
    mip_gap: float = 1e-4  # relative gap at which to stop
    threads: int = 0  # 0 = solver's choice
    log: bool = False  # echo the solver's log
    warm_start: np.ndarray | None = field(default=None, repr=False)  # full column vector of a feasible plan
    progress: object = None  # callable(dict(elapsed_s, objective, bound, gap)) on improvements, or None
    stop_at_objective: float | None = None  # stop once a plan this good is found (scenario units, e.g. yuan)
    node_limit: int | None = None  # deterministic work limit of a MIP search: branch-and-bound nodes (HiGHS)
    # give up once the search's own bound proves that no plan reaches this objective (scenario units; HiGHS only):
    # the caller, a restricted repair, would rather widen the restriction than search it out
    give_up_below: float | None = None
    mip_abs_gap: float = 0.0  # absolute gap at which to stop as well (scenario units), for objectives near 0
    # HiGHS's presolve (HiGHS only): off for the engine's small sub-MILPs, where it can take seconds on a model
    # whose search takes a fraction of one (a rounding's few binaries among 20,000 floor columns: 3 s against 0.7 s)
    presolve: bool = True
    # HiGHS's restart (HiGHS only): after fixing many columns at the root it presolves again and solves a new root
    # LP, which on HiGHS 1.16 can ignore the time limit: on Qianhai's output-per-land model, P(λ) warm-started
    # from the best plan restarted after 2 s and its new root LP ran to 219 s under a 20 s limit (without the
    # restart the root took 1.6 s and branch-and-bound went on). Off for the ratio's rounds (the HiGHS solves they
    # make; the Lagrangian engine's own repairs inside a round keep it) and the tight-GAP method's last solve
    restart: bool = True
    # the Lagrangian engine's dual evaluated over parcel chunks on dask.distributed (optimizer.solvers.lagrange_dask):
    # a scheduler address, or a number of local worker processes (0 and None: in this process)
    dual_scheduler: str | None = None
    dual_workers: int = 0
    # nominal seconds of work: every work limit of the solve (the engine's evaluation budgets, HiGHS's cut rounds
    # and nodes) is computed from it, at nominal speeds, and the time limit is then a ceiling only: the same plan
    # on a busy or an idle machine unless the ceiling cuts a step, which the result's phases then say. None: the
    # engines compute their budgets from the time limit, and HiGHS runs until it (the default)
    work_limit_s: float | None = None
    # the Lagrangian engine's multipliers to start its dual from (SolveResult.dual of an earlier solve of the same
    # model with a bound or a rule changed, e.g. the analyses' re-solves): the dual then starts at its finest
    # smoothing, in a few hundred evaluations instead of a thousand or more. It must list the same coupling rules
    # in the same order (checked by their number only: one of another length is ignored); any start still gives
    # a valid bound (negative and NaN entries count as 0), a start from another model only a slower dual
    dual_start: np.ndarray | None = field(default=None, repr=False)

    @property
    def work_s(self) -> float:
        """The seconds the solve's work limits are computed from: work_limit_s, or else the time limit."""
        return self.time_limit_s if self.work_limit_s is None else self.work_limit_s


@dataclass(frozen=True)
class SolveResult:
    """A backend's answer, in scenario units (objective and bound in yuan)."""

    status: str  # one of STATUSES
    x: np.ndarray | None  # column values, or None if no plan
    objective: float
    bound: float
    gap: float
    solve_s: float
    solver: str
    message: str = ""
    log: str = ""
    # what stopped each phase, in order: {"phase": "dual" | "repair 1" | ... | "highs" | "cbc",
    # "stopped_by": ..., work counts (evaluations, nodes, ...), "seconds" (informational only)
    phases: tuple[dict, ...] = ()
    dual: np.ndarray | None = field(default=None, repr=False)  # the engine's best multipliers (SolveOptions.dual_start)

    @property
    def has_plan(self) -> bool:
        return self.x is not None


def cut_by_clock(status: str, phases) -> bool:
    """Whether a solve that did not reach its gap had a step cut by its time limit (with work limits, the only way
    the clock decides a plan): its plan then depends on the machine's speed and load."""
    return status != "optimal" and any(p.get("stopped_by") == "time_limit" for p in phases)


def rel_gap(objective: float, bound: float) -> float:
    """|objective − bound| / max(|objective|, tiny); NaN without both numbers."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return np.nan
    return abs(bound - objective) / max(abs(objective), 1e-9)


def gap_closed(objective: float, bound: float, opts: SolveOptions) -> bool:
    """The stop test of every backend: the relative gap within mip_gap, or the absolute one within mip_abs_gap."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return False
    return rel_gap(objective, bound) <= opts.mip_gap or abs(bound - objective) <= opts.mip_abs_gap


GAP_TARGET_MARGIN = 1e-9  # gap_target aims this share of the gap inside it, so that roundoff cannot undo the stop


def gap_target(bound: float, opts: SolveOptions, maximize: bool) -> float | None:
    """The least good objective whose plan closes the gap to `bound` by `gap_closed` (scenario units and sense):
    a solve told to stop at it stops exactly where the caller's gap test passes. The relative gap is measured
    against the objective, not the bound, so a maximum B is closed from B / (1 + g) (B ≥ 0) or B / (1 − g)
    (B < 0), not from B·(1 − g), which leaves a plan g²·B short of the test. None without a finite bound."""
    if not np.isfinite(bound):
        return None
    g = opts.mip_gap * (1 - GAP_TARGET_MARGIN)
    b = bound if maximize else -bound  # as a maximum
    rel = b / (1 + g) if b >= 0 else (b / (1 - g) if g < 1 else -np.inf)
    t = min(rel, b - opts.mip_abs_gap * (1 - GAP_TARGET_MARGIN))
    return t if maximize else -t
