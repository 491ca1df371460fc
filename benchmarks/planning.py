"""Speed of the planning answers on the Qianhai scenarios, each case against plain HiGHS in the same run.

    python benchmarks/planning.py [--time-limit S] [--points N] [--cases ratio,frontier,analysis] [--repeat K]
                                  [--busy N] [--json OUT]

Cases (each in its own process, since a stuck HiGHS presolve cannot be abandoned inside one):
  ratio      scenarios/qianhai/intensive: output per m² of land by Dinkelbach's method to a 0.1 % ratio gap,
             with `auto` and with plain `highs` running the same loop (and plain `highs` without the neighbourhood
             search, the loop as it was before it), each with the target's time (the solve
             limited so that the whole call ends within 30 s) and with --time-limit S (what more time buys).
  frontier   scenarios/qianhai: an N-point frontier of output against developed land within the target's
             time (a budget of 55 s for the points), with every point's gap; target ≤ 60 s.
  analysis   scenarios/qianhai: marginal values and explanations after the solve; target ≤ 30 s.
Each prints wall-clock seconds, status and gap; the requirement lines say met or NOT met. --repeat K runs the
ratio case's target-time pair (auto, plain HiGHS) K times (the machine's load varies; the plans should not), and
each row records the load average before it ran and the ratio phases (the neighbourhood search's work).
--busy N runs each frontier and the analysis again beside N busy processes and says whether every point, every
rule's worth and every parcel's forcing cost is the same ("same_as_quiet", and how many differ: "differing"; the
standard: the same input and options give the same plan on a busy or an idle machine).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"ratio": 30.0, "frontier": 60.0, "analysis": 30.0}
RATIO_LIMIT = 27.0  # the solve's limit in the 30 s case: loading, building and checking take the rest
RATIO_SOLVERS = ("auto", "highs", "highs:no-search")
FRONTIER_BUDGET = 55.0  # the points' time budget in the 60 s case (the first solve is not counted)


def _ratio(solver: str, limit: float, out) -> None:
    from optimizer.pipeline import solve_scenario
    from optimizer.solvers import fractional

    search = not solver.endswith(":no-search")  # "highs:no-search": the loop without the neighbourhood search
    solver = solver.split(":")[0]
    fractional.SEARCH = search
    t = time.perf_counter()
    r = solve_scenario(REPO / "scenarios/qianhai/intensive", solver=solver, time_limit_s=limit, mip_gap=1e-3)
    out.put({"case": "ratio", "solver": solver if search else f"{solver}:no-search", "limit_s": limit, "seconds": time.perf_counter() - t, "status": r.status,
             "ratio": r.plan.objective if r.plan else None, "bound": r.plan.bound if r.plan else None,
             "gap": r.plan.gap if r.plan else None, "rounds": sum("round" in p.get("phase", "") for p in r.phases),
             "phases": [p for p in r.phases if p.get("phase", "").startswith("ratio")]})


def _frontier(solver: str, limit: float, points: int, out) -> None:
    from optimizer.analysis.frontier import frontier
    from optimizer.pipeline import solve_scenario

    r = solve_scenario(REPO / "scenarios/qianhai", solver=solver, time_limit_s=limit, mip_gap=1e-3)
    t = time.perf_counter()
    table, _ = frontier(r, "developed_land", "output", points, time_limit_s=limit)
    out.put({"case": "frontier", "solver": solver, "limit_s": limit, "seconds": time.perf_counter() - t,
             "points": points, "solved": int(table["y"].notna().sum()), "max_gap": float(table["gap"].max()),
             "median_gap": float(table["gap"].median()), "gaps": [round(float(g), 5) for g in table["gap"]],
             "monotone": bool(table["monotone"].all()), "x": [float(v) for v in table["x"]],
             "y": [float(v) for v in table["y"]], "stopped_by": [str(v) for v in table.get("stopped_by", [])]})


def _points_differing(a: dict, b: dict) -> int | None:
    """How many frontier points differ in x or y between two rows (NaN equal to NaN); None without both."""
    if a.get("x") is None or b.get("x") is None or len(a["x"]) != len(b["x"]):
        return None

    def same(u, v):
        return u == v or (u != u and v != v)

    return sum(not (same(x1, x2) and same(y1, y2))
               for x1, x2, y1, y2 in zip(a["x"], b["x"], a["y"], b["y"], strict=True))


def _busy(n: int):
    """n processes that keep the CPU busy, until killed."""
    import subprocess

    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _analysis(solver: str, limit: float, out) -> None:
    from optimizer.analysis.run import analyse
    from optimizer.pipeline import solve_scenario

    r = solve_scenario(REPO / "scenarios/qianhai", solver=solver, time_limit_s=limit)
    t = time.perf_counter()
    a = analyse(r, time_limit_s=30.0)
    worth, why = a.analysis["marginal_values"], a.analysis["explain"]
    confirmed = worth[worth["method"].str.startswith("re-solve")]
    forced = why[why["forcing_cost_method"].str.startswith("re-solved")]
    out.put({"case": "analysis", "solver": solver, "seconds": time.perf_counter() - t,
             "rules": len(worth), "re_solved": len(confirmed), "parcels_explained": len(why),
             # every rule's worth and every parcel's forcing cost, exactly: a busy run is compared with these
             "worth": {str(k): repr(float(v)) for k, v in zip(worth["rule"], worth["marginal_value"], strict=True)},
             "forcing": {str(k): repr(float(v)) for k, v in zip(why["parcel_id"], why["forcing_cost_yuan"],
                                                                strict=True)},
             "re_solved_rules": {str(k): repr(float(v)) for k, v in zip(confirmed["rule"],
                                                                         confirmed["marginal_value"], strict=True)},
             "re_solved_parcels": {str(k): repr(float(v)) for k, v in zip(forced["parcel_id"],
                                                                           forced["forcing_cost_yuan"], strict=True)}})


def _figures_differing(a: dict, b: dict) -> int | None:
    """How many rules' worths and parcels' forcing costs differ between two analysis rows; None without both."""
    if "worth" not in a or "worth" not in b:
        return None
    return sum(a[k].get(name) != b[k].get(name) for k in ("worth", "forcing") for name in {*a[k], *b[k]})


def _again_when_busy(case, n: int, differing, quiet: dict, *args, timeout: float) -> dict:
    """The case run again beside n busy processes, with how many of its figures differ from the quiet run's."""
    loops = _busy(n)
    try:
        row = _run(case, *args, timeout=timeout)
    finally:
        for p in loops:
            p.kill()
            p.wait()
    differ = differing(row, quiet)
    row = {**row, "busy_loops": n, "same_as_quiet": differ == 0, "differing": differ}
    print(json.dumps(row), flush=True)
    return row


def run(case, *args, timeout: float) -> dict:
    row = _run(case, *args, timeout=timeout)
    print(json.dumps(row), flush=True)  # as it comes: a long run that dies still leaves its rows
    return row


def _child(case, args, q, dump_after: float) -> None:
    """The case in a child process; the stacks of all its threads go to stderr if it is still running after
    `dump_after` seconds (then it is killed: the log says where it hung)."""
    import faulthandler

    faulthandler.dump_traceback_later(dump_after)
    case(*args, q)


def _run(case, *args, timeout: float) -> dict:
    q = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=_child, args=(case, args, q, max(timeout - 5.0, 1.0)))
    load = os.getloadavg()[0]
    p.start()
    # the row is read before the child is joined: a child whose row is larger than the pipe's buffer (the
    # analysis's figures) exits only once it has been read
    end, row, died = time.monotonic() + timeout, None, False
    while row is None and time.monotonic() < end and not died:
        died = not p.is_alive()  # one more look at the queue after the child has gone
        try:
            row = q.get(timeout=1.0)
        except queue.Empty:
            pass
    p.join(5.0)
    if p.is_alive():
        p.kill()
        p.join()
    if row is None:
        return {"case": case.__name__.strip("_"), "solver": args[0], "status": "failed" if died else "killed",
                "seconds": None if died else timeout, "load_before": round(load, 2)}
    return {**row, "load_before": round(load, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--cases", default="ratio,frontier,analysis")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--busy", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from optimizer.bench.harness import write_figures_json

    cases = set(args.cases.split(","))
    rows = []
    if "ratio" in cases:
        # auto and plain HiGHS side by side, so both see the same load; plain HiGHS also without the search
        for _ in range(args.repeat):
            for solver in RATIO_SOLVERS:
                rows.append(run(_ratio, solver, RATIO_LIMIT, timeout=RATIO_LIMIT + 120))
        for solver in RATIO_SOLVERS:
            rows.append(run(_ratio, solver, args.time_limit, timeout=args.time_limit + 120))
    if "frontier" in cases:
        for solver in ("auto", "highs"):
            rows.append(run(_frontier, solver, FRONTIER_BUDGET, args.points, timeout=3 * FRONTIER_BUDGET + 120))
            if args.busy:
                rows.append(_again_when_busy(_frontier, args.busy, _points_differing, rows[-1], solver,
                                             FRONTIER_BUDGET, args.points, timeout=3 * FRONTIER_BUDGET + 120))
    if "analysis" in cases:
        rows.append(run(_analysis, "auto", args.time_limit, timeout=args.time_limit + 120))
        if args.busy:
            rows.append(_again_when_busy(_analysis, args.busy, _figures_differing, rows[-1], "auto",
                                         args.time_limit, timeout=args.time_limit + 120))
    ok = True
    for case, target in TARGETS.items():
        if case not in cases:
            continue
        got = [r for r in rows if r["case"] == case and r["solver"] == "auto"
               and r.get("limit_s") in (None, RATIO_LIMIT, FRONTIER_BUDGET)]
        met = bool(got) and all(g.get("seconds", 1e9) <= target and (
            case != "ratio" or (g.get("gap") is not None and g["gap"] <= 1e-3)) for g in got)
        ok &= met
        print(f"requirement {case} with auto ≤ {target:g} s{' at a 0.1 % ratio gap' if case == 'ratio' else ''}: "
              f"{'met' if met else 'NOT met'}")
    if args.json:
        write_figures_json(args.json, rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
