"""The Lagrangian engine against a baseline revision of itself, same cases, same run (issue 13, repair at scale).

    git worktree add /tmp/baseline <rev>          # the code to compare against
    python benchmarks/engine_repair.py --baseline /tmp/baseline --cases s100k t50k s1m --json OUT.json

(`--current PATH`, a checkout of the code to measure, keeps edits to this tree out of a running measurement.)

Each (case, code) solve runs in its own process (the city generated there, `lagrange` with the given gap and
time limit), alternating baseline and current so that load falls on both alike; every row records the engine's
phases (what stopped each, work counts, seconds), the plan's gap to the proven bound, the checker's verdict,
the process's peak RSS and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
from optimizer.bench.synthetic import synthetic_city
from optimizer.pipeline import solve_scenario
case, limit, gap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
sc = synthetic_city(case)
t0 = time.perf_counter()
r = solve_scenario(sc, solver="lagrange", time_limit_s=limit, mip_gap=gap)
row = {"status": r.status, "seconds": round(time.perf_counter() - t0, 2),
       "solve_s": round(r.timings.get("solve_s", float("nan")), 2),
       "objective": r.plan.objective if r.plan else None, "gap": r.plan.gap if r.plan else None,
       "check": bool(r.check and r.check.passed), "pairs": int(r.bundle.n_pairs),
       "phases": [dict(p) for p in r.phases],
       "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
print("ROW " + json.dumps(row, default=float))
"""


def run(tree: Path, case: str, limit: float, gap: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load0 = os.getloadavg()[0]
    p = subprocess.run([sys.executable, "-c", CHILD, case, str(limit), str(gap)], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=limit * 3 + 300)
    rows = [ln[4:] for ln in p.stdout.splitlines() if ln.startswith("ROW ")]
    row = json.loads(rows[-1]) if rows else {"status": "error", "message": p.stderr[-500:]}
    return {**row, "load_start": round(load0, 2), "load_end": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="a checkout of the baseline revision")
    ap.add_argument("--current", type=Path, default=ROOT, help="a checkout of the code to measure (default: this tree)")
    ap.add_argument("--cases", nargs="+", default=["s100k", "t50k", "s1m"])
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/engine-repair/results.json")
    args = ap.parse_args(argv)
    rev = lambda tree: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,  # noqa: E731
                                      text=True).stdout.strip()
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": platform.platform(), "cpus": os.cpu_count(),
           "command": "python " + " ".join(["benchmarks/engine_repair.py", *(argv or sys.argv[1:])]),
           "baseline": rev(args.baseline), "current": rev(args.current), "gap": args.gap, "time_limit_s": args.time_limit,
           "rows": []}
    for case in args.cases:
        for name, tree in (("baseline", args.baseline), ("current", args.current)):
            row = {"case": case, "code": name, **run(tree, case, args.time_limit, args.gap)}
            print(json.dumps({k: row.get(k) for k in ("case", "code", "status", "solve_s", "gap", "check",
                                                       "load_start", "load_end")}), flush=True)
            out["rows"].append(row)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
