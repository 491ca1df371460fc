"""A scenario solved in parcel chunks (`landuse solve --chunk-parcels`) against the same scenario solved whole
in one process, in the same run: time, bound, plan, gap, check, and the peak memory of every process.

    python benchmarks/chunked.py [--case q1m] [--chunk-parcels 250000] [--workers 1 2] [--time-limit 120]
                                 [--mip-gap 0.001] [--work-limit 60] [--out DIR] [--no-whole]

The case is a synthetic city (optimizer.bench.synthetic: "q1m" has the Qianhai rule families), written once as a
scenario folder of CSV files; every run then reads it from disk, each in its own process:
- whole: `solve_scenario(folder, solver="auto")` in one process (the baseline: the scenario in one process);
- chunks in process: the chunked engine with its chunks held one after another in the run's own process;
- chunks on W workers: the same on a local Dask cluster of W worker processes, one actor per chunk, each loading
  only its own records; the coordinator (the run's process) holds no parcel.
Peak memory is each process's maximum resident set (ru_maxrss): the run's process, and each worker's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _whole(folder: str, a: dict, q) -> None:
    from optimizer.pipeline import solve_scenario

    t0 = time.perf_counter()
    r = solve_scenario(folder, solver="auto", time_limit_s=a["time_limit"], mip_gap=a["mip_gap"],
                       work_limit_s=a["work_limit"])
    p = r.plan
    q.put({"run": "whole, one process", "status": r.status, "objective": p.objective if p else None,
           "bound": p.bound if p else None, "gap": p.gap if p else None, "solve_s": round(r.timings["solve_s"], 2),
           "seconds": round(time.perf_counter() - t0, 2), "check": None if r.check is None else r.check.passed,
           "peak_mb": _peak_mb(), "phases": [{k: v for k, v in ph.items() if k in ("phase", "stopped_by", "seconds")}
                                             for ph in r.phases]})


def _chunked(folder: str, a: dict, workers: int, q) -> None:
    import contextlib

    from optimizer.chunked import solve_chunked

    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        run = solve_chunked(folder, a["chunk_parcels"], time_limit_s=a["time_limit"], mip_gap=a["mip_gap"],
                            workers=workers, work_limit_s=a["work_limit"], stack=stack)
        r = run.result
        q.put({"run": f"chunks on {workers} workers" if workers else "chunks in process", "status": r.status,
               "objective": r.objective, "bound": r.bound, "gap": r.gap, "solve_s": round(run.timings["solve_s"], 2),
               "built_s": round(run.timings["build_s"], 2),
               "scan_s": round(run.timings["scan_s"], 2), "start_s": round(run.timings.get("start_s", 0.0), 2),
               "seconds": round(time.perf_counter() - t0, 2),
               "check": None if run.check is None else run.check.passed, "chunks": len(run.ranges),
               "peak_mb": _peak_mb(), "chunk_stats": run.chunk_stats,
               "phases": [{k: ([_finite(x) for x in v] if k in ("chunk_objectives", "chunk_bounds") else v)
                           for k, v in ph.items()} for ph in r.phases]})


def _finite(v) -> float | None:
    """A number for JSON: None where it is not finite (a chunk without a plan or a bound)."""
    v = float(v)
    return v if math.isfinite(v) else None


def _child(target, *args, limit: float) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    try:
        return q.get(timeout=limit * 4 + 600)
    except Exception as exc:  # noqa: BLE001 - a crashed or stuck child is a row, not a crash
        return {"run": str(args[-1]), "status": "error", "message": f"no answer ({type(exc).__name__})"}
    finally:
        p.join(30)
        if p.is_alive():
            p.kill()


def _row(r: dict) -> str:
    def f(v, spec):
        return "-" if v is None else format(v, spec)

    workers = [c["process_peak_mb"] for c in r.get("chunk_stats", [])]
    held = f"{max(workers):,.0f}" if workers and "workers" in r["run"] else "-"
    return (f"| {r['run']} | {r['status']} | {f(r.get('objective'), ',.0f')} | {f(r.get('bound'), ',.0f')} | "
            f"{f(None if r.get('gap') is None else 100 * r['gap'], '.3f')}% | {r.get('check')} | "
            f"{f(r.get('solve_s'), '.1f')} | {f(r.get('built_s'), '.1f')} | {f(r.get('seconds'), '.1f')} | "
            f"{f(r.get('peak_mb'), ',.0f')} | {held} |")


def main(argv: list[str] | None = None) -> int:
    from optimizer.bench.synthetic import write_city

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="q1m")
    ap.add_argument("--chunk-parcels", type=int, default=250_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--mip-gap", type=float, default=1e-3)
    ap.add_argument("--work-limit", type=float, default=60.0)
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-scenario baseline")
    ap.add_argument("--no-in-process", action="store_true", help="skip the chunks held in the run's process")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/chunked"))
    a = ap.parse_args(argv)
    opts = {"time_limit": a.time_limit, "mip_gap": a.mip_gap, "work_limit": a.work_limit,
            "chunk_parcels": a.chunk_parcels}
    command = "python benchmarks/chunked.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = [round(v, 2) for v in os.getloadavg()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="landuse-chunked-") as tmp:
        t = time.perf_counter()
        folder = str(write_city(a.case, Path(tmp) / a.case))
        write_s = round(time.perf_counter() - t, 1)
        size_mb = round(sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2 ** 20, 1)
        print(f"{a.case} written in {write_s} s ({size_mb} MB)", flush=True)
        runs = [] if a.no_whole else [(_whole, (folder, opts))]
        runs += [] if a.no_in_process else [(_chunked, (folder, opts, 0))]
        runs += [(_chunked, (folder, opts, w)) for w in a.workers]
        for target, args in runs:
            row = _child(target, *args, limit=a.time_limit)
            row["load_after"] = round(os.getloadavg()[0], 2)
            print("  " + json.dumps({k: row.get(k) for k in ("run", "status", "objective", "bound", "gap", "solve_s",
                                                          "seconds", "peak_mb")}), flush=True)
            rows.append(row)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"command": command, "date": started, "case": a.case, "written_mb": size_mb, "write_s": write_s,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "load_start": load_start,
              "load_end": [round(v, 2) for v in os.getloadavg()], "options": opts, "runs": rows}
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    lines = [f"# {a.case} in chunks of {a.chunk_parcels:,} parcels against the whole scenario in one process", "",
             f"`{command}`", "",
             f"Date {started}; {os.cpu_count()} cores, Python {platform.python_version()}; load average {load_start} "
             f"at the start and {result['load_end']} at the end. The scenario folder ({size_mb} MB of CSV) is "
             "read from disk by every run; each run in its own process. Seconds: solve (the engine, after loading "
             "and building: the run's time limit counts from there), the chunks' loading and building (in their "
             "processes, after the scan), and the whole run. Peak MB: the run's own process (for chunks on "
             "workers: the coordinator) and the largest worker.", "",
             "| run | status | objective | bound | gap | check | solve s | chunks loaded, built s | run s | "
             "peak MB (run) | peak MB (worker) |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [_row(r) for r in rows]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
