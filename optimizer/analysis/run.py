"""The planning answers of one solved run, computed together within a time budget."""

from __future__ import annotations

import time
from dataclasses import replace

from optimizer.pipeline import RunResult

MAX_PAIRS = 200_000  # above this, the LP prices cost more than a planner waits for: analyses are opt-in


def analyse(result: RunResult, time_limit_s: float = 60.0) -> RunResult:
    """The run with `analysis` filled: "marginal_values" (what each rule is worth) and "explain" (why each
    parcel): three rules and two access limits confirmed by re-solves, the three closest parcel decisions
    re-solved. `time_limit_s` is a ceiling: reaching it leaves the remaining figures as bounds or LP values. A run without a plan is returned as it is."""
    from optimizer.analysis.why import explain_plan
    from optimizer.analysis.worth import rule_worth

    if result.plan is None or result.bundle is None:
        return result
    t0 = time.perf_counter()
    # a fixed number of re-solves (3 rules, 2 access limits, 3 close calls), each doing the run's own work
    # (analysis.resolve_options), keeps the answers the same on a busy or an idle machine; the time limit is only
    # a ceiling
    worth = rule_worth(result, time_limit_s=time_limit_s * 0.6)
    left = max(time_limit_s * 0.9 - (time.perf_counter() - t0), 0.0)
    why = explain_plan(result, resolve_s=left)
    timings = {**result.timings, "analysis_s": time.perf_counter() - t0}
    return replace(result, analysis={"marginal_values": worth, "explain": why}, timings=timings)
