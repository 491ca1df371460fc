"""The Lagrangian engine's dual in process against the same dual over parcel chunks on 1 and 2 local Dask workers
(optimizer.solvers.lagrange_dask), in the same run, with the bound each proves.

    python benchmarks/lagrange_dask.py [--sizes s100k s1m] [--repeat 1] [--quiet-wait 120] [--gap 0.001]
                                       [--time-limit 300] [--solve-sizes s100k] [--out DIR] [--render]

For each synthetic city (optimizer.bench.synthetic, as `landuse bench run` builds it): the model is built once,
then the dual phase of the engine (`lagrange.dual_ascent`, with the target and evaluation budget `lagrange._solve`
gives it) runs in process, in process over the chunks that 2 workers get (no Dask: what chunking alone does), on
1 worker and on 2 workers, one after the other (with --repeat, again in the reverse order, and so on). The
clusters are started and the chunks shipped before the dual's clock starts (both timed apart); every mode also
times 20 evaluations at the dual's final multipliers. Each measurement first waits (up to --quiet-wait s) until
other processes use under QUIET_CORES cores, then records the load average, the CPU other processes used
meanwhile (benchmarks/sweep_speed.py's Load) and the CPU our own processes used (client, scheduler and
workers). For the sizes in --solve-sizes, the whole engine (`solve_bundle(..., "lagrange")`, cluster start
included) also runs in process and with dual_workers=2, and its plan is checked. Writes results.json and
report.md (the tables, then notes.md from the same folder when there is one: the reading, written by hand;
`--render` writes report.md again from results.json and notes.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
MODES = ("in process", "1 worker", "2 workers")  # the whole-engine runs


QUIET_CORES = 0.25  # a measurement starts once other processes use less than this over QUIET_WINDOW_S ...
QUIET_WINDOW_S = 2.0
QUIET_WAIT_S = [120.0]  # ... or after this many seconds of waiting (--quiet-wait), and the row says so


def wait_quiet() -> dict:
    """Wait until the machine is quiet (other processes under QUIET_CORES) or QUIET_WAIT_S has passed."""
    t0 = time.perf_counter()
    while True:
        load = _load()
        time.sleep(QUIET_WINDOW_S)
        others = load.stop()["others_cores"]
        if others < QUIET_CORES or time.perf_counter() - t0 > QUIET_WAIT_S[0]:
            return {"waited_s": round(time.perf_counter() - t0, 1), "quiet_start": others < QUIET_CORES}


def _load(extra=()):
    import psutil
    from sweep_speed import Load

    me = psutil.Process()
    return Load([me, *me.children(recursive=True), *extra])


class LocalChunks:
    """The chunked evaluation without Dask: the same DualChunks evaluated one after another in this process
    (separates what chunking itself does, e.g. to cache use, from what the workers add)."""

    def __init__(self, P, n_chunks: int):
        from optimizer.solvers import lagrange_dask

        self.P, self.parts = P, lagrange_dask.make_chunks(P, n_chunks)
        self.info = {"chunks": len(self.parts)}

    def __call__(self, mu, T):
        P, m = self.P, len(self.P.L)
        lam = mu[:m] - mu[m:]
        res = [c.evaluate(lam, T) for c in self.parts]
        val, exact, az = res[0]
        for v, e, a in res[1:]:
            val, exact, az = val + v, exact + e, az + a
        assert not len(P.g)  # the synthetic city has no neighbour pair columns
        const = float(P.Uf @ mu[:m] - P.Lf @ mu[m:])
        return val + const, np.r_[P.Uf - az, -(P.Lf - az)], exact + const


def dual_run(P, opts, mode: str, target: float, budget: int) -> dict:
    """One dual phase in `mode`: "in process", "in process, K chunks", "1 worker" or "2 workers" (a fresh local
    cluster, started and shipped to before the dual's clock starts)."""
    from optimizer.solvers import lagrange, lagrange_dask

    row = {"mode": mode}
    ev = None
    try:
        if mode.endswith("chunks"):
            ev = LocalChunks(P, int(mode.split()[-2]))
        elif mode != "in process":
            t0 = time.perf_counter()
            ev = lagrange_dask.ChunkedDual(P, replace(opts, dual_workers=int(mode.split()[0])))
            row.update(setup_s=round(time.perf_counter() - t0, 2), start_s=round(ev.timings["start_s"], 2),
                       ship_s=round(ev.timings["ship_s"], 2))
        if ev is not None:
            row.update(ev.info)
        row.update(wait_quiet())
        load = _load()
        t0 = time.perf_counter()
        res = lagrange.dual_ascent(P, target, budget, evaluate=ev)
        row.update(dual_s=round(time.perf_counter() - t0, 3), **load.stop())
        row.update(bound=res.bound, evaluations=res.evaluations, stopped_by=res.stopped_by, levels=res.levels)
        row["cpu_ms_per_eval"] = round(row["own_cpu_s"] / max(res.evaluations, 1) * 1e3, 1)
        f = ev if ev is not None else (lambda mu, T: lagrange._smoothed(P, mu, T))
        t0 = time.perf_counter()
        for _ in range(20):
            f(res.mu, 1.0)
        row["eval_ms"] = round((time.perf_counter() - t0) / 20 * 1e3, 2)
        row["mu"] = res.mu
    finally:
        if isinstance(ev, lagrange_dask.ChunkedDual):
            ev.close()
            row.update({k: v for k, v in ev.timings.items() if k.startswith("worker_")})
    return row


def solve_run(sc, bundle, opts, workers: int) -> dict:
    """The whole engine, cluster start included, and the independent check of its plan."""
    from optimizer.pipeline import finish
    from optimizer.solvers import solve_bundle

    quiet = wait_quiet()
    load = _load()
    t0 = time.perf_counter()
    res = solve_bundle(bundle, "lagrange", replace(opts, dual_workers=workers))
    row = {"mode": MODES[workers], "solve_s": round(time.perf_counter() - t0, 2), **load.stop(), **quiet,
           "status": res.status, "objective": res.objective, "bound": res.bound, "gap": res.gap,
           "dual": res.phases[0] if res.phases else {}}
    if res.has_plan:
        run = finish(sc, bundle, res, {})
        row["check_passed"] = bool(run.check.passed)
    return row


def code_state() -> dict:
    """The commit measured and the engine files with changes not yet committed (others edit them meanwhile)."""
    import subprocess

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": git("status", "--porcelain", "--", "optimizer/solvers").splitlines()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["s100k"])
    ap.add_argument("--solve-sizes", nargs="*", default=["s100k"])
    ap.add_argument("--repeat", type=int, default=1, help="run the dual modes this many times (forward, backward)")
    ap.add_argument("--quiet-wait", type=float, default=QUIET_WAIT_S[0],
                    help="the most seconds to wait before each measurement for other processes to use under "
                         f"{QUIET_CORES} cores (default %(default)s)")
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lagrange_dask")
    ap.add_argument("--render", action="store_true",
                    help="only write report.md again from OUT/results.json and OUT/notes.md (no measurement)")
    args = ap.parse_args(argv)
    QUIET_WAIT_S[0] = args.quiet_wait
    if args.render:
        write_report(json.loads((args.out / "results.json").read_text(encoding="utf-8")), args.out)
        return 0

    from optimizer.bench.harness import machine_info, package_versions
    from optimizer.bench.synthetic import synthetic_city
    from optimizer.model import build_model, eligible_pairs
    from optimizer.solvers import lagrange
    from optimizer.solvers.base import SolveOptions

    command = "python benchmarks/lagrange_dask.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    print(command, started, flush=True)
    opts = SolveOptions(time_limit_s=args.time_limit, mip_gap=args.gap)
    cases = []
    for size in args.sizes:
        t0 = time.perf_counter()
        sc = synthetic_city(size)
        bundle = build_model(sc, eligible_pairs(sc))
        P = lagrange._split(bundle)
        case = {"case": size, "parcels": len(P.starts), "pairs": P.n, "coupling_rows": len(P.L),
                "build_s": round(time.perf_counter() - t0, 1)}
        target = max(args.gap / 10, 1e-7)
        budget = lagrange.dual_evaluation_budget(P, args.time_limit)
        case.update(target=target, evaluation_budget=budget)
        print(case, flush=True)
        from optimizer.solvers.lagrange_dask import default_chunks

        modes = ["in process", f"in process, {default_chunks(P.n, 2)} chunks", "1 worker", "2 workers"]
        rows = []
        for rep in range(args.repeat):  # forward, then backward: the machine's load drifts
            for mode in (modes if rep % 2 == 0 else modes[::-1]):
                row = dual_run(P, opts, mode, target, budget)
                row["repetition"] = rep + 1
                print({k: v for k, v in row.items() if k != "mu"}, flush=True)
                rows.append(row)
        base = rows[0]
        for row in rows:
            row["bound_rel_diff"] = abs(row["bound"] - base["bound"]) / max(abs(base["bound"]), 1e-12)
            row["mu_max_diff"] = float(np.abs(row["mu"] - base["mu"]).max())
        for row in rows:
            row.pop("mu")
        case["dual"] = rows
        if size in args.solve_sizes:
            solves = []
            for workers in (0, 2):
                row = solve_run(sc, bundle, opts, workers)
                print(row, flush=True)
                solves.append(row)
            for row in solves:
                row["bound_rel_diff"] = abs(row["bound"] - solves[0]["bound"]) / max(abs(solves[0]["bound"]), 1e-12)
            case["solve"] = solves
        cases.append(case)
        del sc, bundle, P
    ended = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    started["code"] = code_state()
    results = {"command": command, "started": started, "ended": ended, "machine": machine_info(),
               "packages": package_versions(), "gap": args.gap, "time_limit_s": args.time_limit,
               "quiet_wait_s": args.quiet_wait, "cases": cases}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    write_report(results, args.out)
    return 0


def write_report(results: dict, out: Path) -> None:
    notes = out / "notes.md"
    (out / "report.md").write_text(report(results) + ("\n" + notes.read_text(encoding="utf-8")
                                                      if notes.is_file() else ""), encoding="utf-8")
    print(f"wrote {out / 'report.md'}")


def report(r: dict) -> str:
    """The measured tables; the discussion is written beside them by hand (see the 'Reading' section)."""
    lines = ["# The engine's dual over parcel chunks on Dask (issue 13, part 4): in process against 1 and 2 workers",
             "", f"`{r['command']}`", "",
             f"Started {r['started']['date']} (load average {', '.join(map(str, r['started']['loadavg']))}), "
             f"ended {r['ended']['date']} (load average {', '.join(map(str, r['ended']['loadavg']))}); "
             f"{r['machine'].get('cpu_count')} cores, {r['machine'].get('memory_gb')} GB; gap target "
             f"{r['gap']:g} (dual target {r['gap'] / 10:g}), time limit {r['time_limit_s']:g} s. Code: commit "
             f"{r['started'].get('code', {}).get('commit')}, with uncommitted changes (by others, at the end of the "
             f"run) in: {', '.join(x[3:] for x in r['started'].get('code', {}).get('uncommitted', [])) or 'none'}.",
             "",
             f"Each measurement waited (up to {r.get('quiet_wait_s', QUIET_WAIT_S[0]):g} s) for other processes to "
             f"use under {QUIET_CORES} cores; \"others' cores\" is what they used during it, \"(busy)\" marks one "
             "that started on a busy machine.", ""]
    for c in r["cases"]:
        lines += [f"## {c['case']}: {c['parcels']:,} parcels, {c['pairs']:,} pairs, {c['coupling_rows']} coupling rows",
                  "", "Dual phase (`dual_ascent`; a cluster is started and the chunks shipped before its clock):", "",
                  "| rep. | mode | chunks | start + ship s | dual s | evaluations | ms per evaluation | of which in "
                  "the busiest worker | CPU ms per evaluation (all our processes) | bound | rel. diff. to the first | "
                  "others' cores | load avg (start, end) |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for d in c["dual"]:
            setup = f"{d['start_s']} + {d['ship_s']}" if "start_s" in d else "-"
            busy = "-"
            if d.get("worker_busy_s"):  # over the dual's evaluations and the 20 timed ones
                busy = round(max(d["worker_busy_s"]) / (d["evaluations"] + 20) * 1e3, 1)
            lines.append(f"| {d.get('repetition', 1)} | {d['mode']} | {d.get('chunks', '-')} | {setup} | "
                         f"{d['dual_s']} | {d['evaluations']} | {d['eval_ms']} | {busy} | {d['cpu_ms_per_eval']} | "
                         f"{d['bound']:.15g} | {d['bound_rel_diff']:.1e} | {d['others_cores']}{'' if d.get('quiet_start', True) else ' (busy)'} | "
                         f"{d['loadavg'][0]}, {d['loadavg'][1]} |")
        if "solve" in c:
            lines += ["", "Whole engine (`solve_bundle(..., 'lagrange')`, cluster start included), plan checked:", "",
                      "| mode | solve s | dual phase s | status | gap | bound | rel. diff. | check | others' cores | "
                      "load avg |", "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |"]
            for s in c["solve"]:
                lines.append(f"| {s['mode']} | {s['solve_s']} | {s['dual'].get('seconds')} | {s['status']} | "
                             f"{s['gap']:.3%} | {s['bound']:.15g} | {s['bound_rel_diff']:.1e} | "
                             f"{'passed' if s.get('check_passed') else 'FAILED'} | {s['others_cores']}{'' if s.get('quiet_start', True) else ' (busy)'} | "
                             f"{s['loadavg'][0]}, {s['loadavg'][1]} |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
