"""The Lagrangian engine with BLAS single-threaded (as it runs) against BLAS with its default threads, in the
same run, on the same built models.

    python benchmarks/blas_threads.py [--cases qianhai s100k] [--repeats 3] [--busy N] [--json OUT]

Each case is built once; then, alternately, the engine solves it with the BLAS limit (the shipped behaviour)
and with the limit lifted (threadpoolctl's limit replaced by a no-op), `--repeats` times each; the medians and
their ratio are printed. A threaded BLAS on the dual's short vectors spins beside HiGHS and other processes:
`--busy N` keeps N other processes busy meanwhile (as another sweep worker or solve would).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _bundle(case: str):
    from optimizer.model import build_model
    from optimizer.scenario import load_scenario

    if case == "qianhai":
        return build_model(load_scenario(REPO / "scenarios/qianhai"))
    from optimizer.bench.synthetic import synthetic_city

    return build_model(synthetic_city(case))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["qianhai", "s100k"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", type=int, default=0, help="processes kept busy during the measurement")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    import multiprocessing as mp

    spinners = [mp.get_context("spawn").Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    import threadpoolctl

    from optimizer.bench.harness import write_figures_json
    from optimizer.solvers import SolveOptions, lagrange

    real = threadpoolctl.threadpool_limits
    rows = []
    for case in args.cases:
        bundle = _bundle(case)
        opts = SolveOptions(time_limit_s=300, mip_gap=1e-3, threads=2)
        times: dict[str, list[float]] = {"blas 1 thread": [], "blas default": []}
        objective = {}
        for _ in range(args.repeats):
            for label in times:
                threadpoolctl.threadpool_limits = real if label == "blas 1 thread" else (
                    lambda *a, **k: contextlib.nullcontext())
                try:
                    t = time.perf_counter()
                    res = lagrange.solve(bundle, opts)
                    times[label].append(time.perf_counter() - t)
                    objective[label] = res.objective
                finally:
                    threadpoolctl.threadpool_limits = real
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {"case": case, "pairs": bundle.n_pairs, "busy_processes": args.busy, **{f"{k} median s": round(v, 3) for k, v in med.items()},
               "speed-up": round(med["blas default"] / med["blas 1 thread"], 2),
               "same plan value": objective["blas 1 thread"] == objective["blas default"]}
        print(row)
        rows.append(row)
    for p in spinners:
        p.kill()
    if args.json:
        write_figures_json(args.json, rows)
    return 0


def _spin() -> None:
    while True:
        pass


if __name__ == "__main__":
    sys.exit(main())
