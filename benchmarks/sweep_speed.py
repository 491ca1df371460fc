"""Sweep speed on Dask against solving the same runs one after another in one process, in the same run.

    python benchmarks/sweep_speed.py [--runs 64] [--json OUT]

Qianhai: a factorial sweep (budget × finance output per m²) of --runs runs at a 0.1 % gap, solved serially in
this process (the baseline) and then by `optimizer.sweep.sweep` on local clusters of 1 and 2 workers. Tiny: the
same count of runs, to measure the per-task overhead of the cluster. Targets (issue 10): 2 workers in at most
0.6 × the serial time; overhead at most 0.3 s per task on tiny.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SOLVER = {"name": "auto", "time_limit_s": 60, "mip_gap": 0.001, "threads": 1}


def spec_for(sc, runs: int, solver: dict) -> dict:
    """A factorial grid of `runs` runs (a square): budget × the first industry's output per m² (±20 %)."""
    side = int(round(np.sqrt(runs)))
    kid = sc.industries["industry_id"].iloc[0]
    out = float(sc.industries["output_per_m2"].iloc[0])
    budget = sc.rules.total_budget_yuan
    params = [{"path": f"industries.{kid}.output_per_m2", "start": 0.8 * out, "stop": 1.2 * out, "steps": side}]
    if np.isfinite(budget):
        params.append({"path": "rules.total_budget_yuan", "start": 0.8 * budget, "stop": 1.2 * budget,
                       "steps": side})
    else:  # no budget: vary the first industry's demand cap instead
        cap = float(sc.industries["max_floor_total_m2"].iloc[0])
        params.append({"path": f"industries.{kid}.max_floor_total_m2", "start": 0.8 * cap, "stop": 1.2 * cap,
                       "steps": side})
    return {"solver": solver, "parameter": params}


def serial(sc, spec) -> tuple[float, int]:
    """The baseline: the same runs solved one after another in this process."""
    from threadpoolctl import threadpool_limits

    from optimizer.pipeline import solve_scenario
    from optimizer.sweep import as_spec
    from optimizer.sweep.spec import apply_parameters, plan_runs

    runs = plan_runs(sc, as_spec(spec))
    o = spec["solver"]
    t = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as a sweep worker runs: the same work, one thread
        for run in runs:
            solve_scenario(apply_parameters(sc, run), solver=o["name"], time_limit_s=o["time_limit_s"],
                           mip_gap=o["mip_gap"], threads=o["threads"])
    return time.perf_counter() - t, len(runs)


def on_dask(sc, spec, workers: int) -> tuple[float, int]:
    from optimizer.sweep import sweep
    from optimizer.sweep.run import local_client

    with local_client(workers) as client:
        t = time.perf_counter()
        df = sweep(sc, spec, client=client)
        return time.perf_counter() - t, int((df["status"] == "optimal").sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from optimizer.scenario import load_scenario

    rows = {}
    solvers = {"tiny": {"name": "highs", "time_limit_s": 30, "mip_gap": 0.0, "threads": 1}, "qianhai": SOLVER}
    for name, solver in solvers.items():
        sc = load_scenario(REPO / "scenarios" / name)
        spec = spec_for(sc, args.runs, solver)
        base, n = serial(sc, spec)
        one, ok1 = on_dask(sc, spec, 1)
        two, ok2 = on_dask(sc, spec, 2)
        rows[name] = {"runs": n, "serial_s": base, "dask_1_worker_s": one, "dask_2_workers_s": two,
                      "ratio_2_workers": two / base, "overhead_per_task_s": (one - base) / n,
                      "optimal": [ok1, ok2]}
        print(name, json.dumps(rows[name]))
    met_speed = rows["qianhai"]["ratio_2_workers"] <= 0.6
    met_overhead = rows["tiny"]["overhead_per_task_s"] <= 0.3
    print(f"requirement 2 workers ≤ 0.6 × serial on Qianhai: {'met' if met_speed else 'NOT met'} "
          f"({rows['qianhai']['ratio_2_workers']:.2f})")
    print(f"requirement overhead ≤ 0.3 s per task on tiny: {'met' if met_overhead else 'NOT met'} "
          f"({rows['tiny']['overhead_per_task_s']:.3f} s)")
    if args.json:
        from optimizer.bench.harness import write_figures_json

        write_figures_json(args.json, rows)
    return 0 if met_speed and met_overhead else 1


if __name__ == "__main__":
    sys.exit(main())
