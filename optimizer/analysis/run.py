"""The planning answers of one solved run, computed together within a time budget."""

from __future__ import annotations

import time
from dataclasses import replace

from optimizer.pipeline import RunResult

MAX_PAIRS = 200_000  # above this, the LP prices cost more than a planner waits for: analyses are opt-in


def analyse(result: RunResult, time_limit_s: float = 30.0) -> RunResult:
    """The run with `analysis` filled: "marginal_values" (what each rule is worth) and "explain" (why each
    parcel). About 60 % of the budget goes to confirming rule values by re-solves, most of the rest to re-solving
    the closest parcel decisions. A run without a plan is returned as it is."""
    from optimizer.analysis.why import explain_plan
    from optimizer.analysis.worth import rule_worth

    if result.plan is None or result.bundle is None:
        return result
    t0 = time.perf_counter()
    worth = rule_worth(result, time_limit_s=time_limit_s * 0.6)
    # the explanation's own LP and tables take a few seconds besides its re-solves: keep them inside the budget
    left = max(time_limit_s * 0.9 - (time.perf_counter() - t0), 0.0)
    why = explain_plan(result, resolve_s=left)
    timings = {**result.timings, "analysis_s": time.perf_counter() - t0}
    return replace(result, analysis={"marginal_values": worth, "explain": why}, timings=timings)
