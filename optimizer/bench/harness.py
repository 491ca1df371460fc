"""The benchmark harness: synthetic cities of growing size, every phase timed, every backend, baselines.

For each size: generate the tables, validate them into a Scenario (`build_scenario`, which also computes access
times; those are timed again on their own), find eligible pairs, build the MILP, run the baselines (the same
model in idiomatic PuLP, two greedy plans, the LP relaxation), then solve with each backend through the normal
pipeline (`solve_scenario`: eligibility, build, solve, decode + independent check) and write the plan's tables.
Plan quality is the gap to the best bound any method proved.

Peak memory is the process's peak resident set size (VmHWM from /proc/self/status, reset before each phase by
writing 5 to /proc/self/clear_refs); where that reset is not possible it falls back to
`resource.getrusage(RUSAGE_SELF).ru_maxrss`, a peak since the process started. CBC runs as a child process, so
its memory is reported apart: the peak RSS (VmHWM) of child processes, sampled every 50 ms during the solve.
"""

from __future__ import annotations

import datetime as dt
import gc
import glob
import json
import os
import platform
import resource
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from optimizer.bench.synthetic import city_frames, resolve_case

DEFAULT_SIZES = ("s1k", "s10k")
BENCH_OUTPUTS = ("results.json", "report.md", "phases.png", "gap_vs_time.png", "plans")
PULP_MAX_PAIRS = 600_000  # above this the PuLP baseline (about 1 kB per variable) is skipped
VERSIONED = ("numpy", "scipy", "pandas", "highspy", "pulp", "networkx")


# --- measuring ----------------------------------------------------------------------------------------------
class Meter:
    """Wall time and peak RSS per phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self.can_reset = _reset_peak()
        self.method = ("VmHWM (peak RSS of this process, reset before each phase via /proc/self/clear_refs)"
                       if self.can_reset else
                       "resource.getrusage(RUSAGE_SELF).ru_maxrss (peak RSS since the process started; "
                       "cannot be reset per phase here)")

    @contextmanager
    def phase(self, name: str):
        _reset_peak()
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
            self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), peak_rss_mb())


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (VmHWM; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if platform.system() != "Darwin" else rss / 2**20


class ChildPeak:
    """Samples the peak RSS (VmHWM) of this process's child processes (CBC) every `every_s` seconds, in a thread.

    A child that lives shorter than one sampling interval may be missed (then `peak_mb` stays None). Linux only.
    """

    def __init__(self, every_s: float = 0.05) -> None:
        self.every_s = every_s
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        if os.path.isdir(f"/proc/{os.getpid()}/task"):
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            kids = []
            for f in glob.glob(f"/proc/{me}/task/*/children"):
                try:
                    with open(f) as fh:
                        kids += fh.read().split()
                except OSError:
                    pass
            for pid in kids:
                try:
                    with open(f"/proc/{pid}/status") as fh:
                        for line in fh:
                            if line.startswith("VmHWM:"):
                                mb = int(line.split()[1]) / 1024.0
                                self.peak_mb = mb if self.peak_mb is None else max(self.peak_mb, mb)
                                break
                except (OSError, ValueError, IndexError):
                    pass
            self._stop.wait(self.every_s)


def machine_info() -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def package_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_figures_json(path, rows) -> None:
    """A benchmark script's figures as JSON, with the machine, package versions, date and command that made them."""
    import sys
    import time

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine_info(), "packages": package_versions(),
                                "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), "rows": rows},
                               indent=2), encoding="utf-8")


def _num(v):
    return float(v) if v is not None and np.isfinite(v) else None


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


# --- one size -----------------------------------------------------------------------------------------------
def run_size(case, solvers: list[str], time_limit_s: float = 120.0, mip_gap: float = 1e-4,
             threads: int | None = None, baselines: bool = True, pulp_max_pairs: int = PULP_MAX_PAIRS,
             plans_dir: Path | None = None, echo=print, isolate: bool = True) -> dict:
    """Benchmark one synthetic city; returns a JSON-ready dict (see `run_benchmark`).

    With `isolate`, each backend solves in a fresh process (the same seeded city, regenerated there): its peak
    memory is its own, and a solver thread that outlives its time limit cannot slow or block what follows.
    """
    from optimizer import network as netmod
    from optimizer.bench import baselines as bl
    from optimizer.model import build_model, eligible_pairs
    from optimizer.scenario.load import build_scenario

    c = resolve_case(case)
    meter = Meter()
    load_before = _loadavg()
    echo(f"[{c.name}] {c.n_parcels:,} parcels, {c.n_industries} industries")
    with meter.phase("generate"):
        config, frames = city_frames(c)
    with meter.phase("load"):
        sc = build_scenario(config, frames)
    del frames
    with meter.phase("access"):  # already inside "load"; timed again on its own
        net = sc.network
        netmod.access_times(sc.parcels[["x_m", "y_m"]].to_numpy(float),
                            net.nodes[["node_id", "type", "x_m", "y_m"]],
                            net.edges[["from_node", "to_node", "speed_kmh", "length_m"]],
                            net.access_speed_kmh, net.access_links, net.detour_factor)
    with meter.phase("eligibility"):
        pairs = eligible_pairs(sc)
    with meter.phase("build"):
        bundle = build_model(sc, pairs)
    m = bundle.milp
    out: dict = {
        "case": c.name, "n_parcels": c.n_parcels, "n_industries": c.n_industries, "seed": c.seed,
        "n_pairs": len(pairs), "n_rows": int(m.n_rows), "n_cols": int(m.n_cols), "nnz": int(m.A.nnz),
        "sense": sc.objective.sense,
    }
    echo(f"  {len(pairs):,} eligible pairs; MILP {m.n_rows:,} rows × {m.n_cols:,} columns, {m.A.nnz:,} nonzeros; "
         f"build {meter.seconds['build']:.3f} s")

    base: dict = {}
    if baselines:
        if len(pairs) <= pulp_max_pairs:
            with meter.phase("pulp_build"):
                pm = bl.pulp_model(sc, pairs)
            base["pulp_build_s"] = pm.build_s
            base["pulp_constraints"] = pm.n_constraints
            base["build_speedup"] = pm.build_s / max(bundle.build_s, 1e-9)
            echo(f"  PuLP build {pm.build_s:.2f} s (ours {bundle.build_s:.3f} s: {base['build_speedup']:.0f}× faster)")
            del pm
            gc.collect()
        else:
            base["pulp_skipped"] = f"more than {pulp_max_pairs:,} pairs"
        base["greedy"] = {}
        for key in bl.GREEDY_KEYS:
            with meter.phase(f"greedy_{key}"):
                g = bl.greedy_plan(sc, pairs, key)
            base["greedy"][key] = {"objective": g.objective, "seconds": g.seconds, "feasible": g.feasible,
                                   "violations": len(g.violations), "first_violations": g.violations[:3]}
            echo(f"  greedy ({key}) {g.objective / 1e9:,.2f} bn in {g.seconds:.2f} s "
                 f"({'feasible' if g.feasible else 'INFEASIBLE'})")
        with meter.phase("lp"):
            lp = bl.lp_bound(bundle, time_limit_s)
        base["lp"] = lp
        echo(f"  LP relaxation {lp['status']}" + (f" {lp['bound'] / 1e9:,.2f} bn" if lp["bound"] is not None else "")
             + f" in {lp['seconds']:.2f} s")
    del bundle, pairs
    gc.collect()

    runs: dict = {}
    for name in solvers:
        if isolate:
            row = _solve_isolated(c, name, time_limit_s, mip_gap, threads, plans_dir)
        else:
            row = solve_one(sc, c.name, name, time_limit_s, mip_gap, threads, plans_dir)
        for key in ("solve", "write"):
            if f"{key}_phase_s" in row:
                meter.seconds[f"{key}:{name}"] = row.pop(f"{key}_phase_s")
        if row.get("peak_mb") is not None:
            meter.peak_mb[f"solve:{name}"] = row["peak_mb"]
        runs[name] = row
        if row["status"] == "error":
            echo(f"  {name}: error: {row['message']}")
        else:
            obj, t = row.get("objective"), row.get("timings_s") or {}
            echo(f"  {name}: {row['status']}" + (f" {obj / 1e9:,.2f} bn" if obj is not None else "")
                 + f", solve {t.get('solve_s') or 0:.2f} s, check {t.get('check_s') or 0:.2f} s")
        gc.collect()

    best_bound, rejected = best_valid_bound(out["sense"], runs, base, mip_gap)
    out["best_bound"] = best_bound
    out["rejected_bounds"] = rejected
    for row in runs.values():
        row["gap_to_best_bound"] = quality_gap(out["sense"], row.get("objective"), best_bound)
    for g in base.get("greedy", {}).values():
        g["gap_to_best_bound"] = quality_gap(out["sense"], g["objective"], best_bound)
    out["load_avg_1min"] = {"start": load_before, "end": _loadavg()}  # other work on the machine skews times
    out["phases_s"] = {k: v for k, v in meter.seconds.items()}
    out["peak_mb"] = {k: round(v, 1) for k, v in meter.peak_mb.items()}
    out["baselines"] = base
    out["solvers"] = runs
    for msg in rejected:
        echo(f"  note: {msg}")
    return out


def solve_one(sc, case_name: str, name: str, time_limit_s: float, mip_gap: float, threads: int | None,
              plans_dir: Path | None = None) -> dict:
    """Solve a scenario with one backend through `solve_scenario`, write the plan's tables; a JSON-ready row.

    Any exception becomes an error row (one backend's failure must not end a benchmark).
    """
    from optimizer.errors import LanduseError
    from optimizer.pipeline import solve_scenario
    from optimizer.report.write import write_outputs

    trajectory: list = []

    def progress(ev):
        trajectory.append({k: _num(ev.get(k)) for k in ("elapsed_s", "objective", "bound", "gap")})

    row: dict = {"solver": name}
    kids = ChildPeak()
    _reset_peak()
    t = time.perf_counter()
    try:
        with kids:
            res = solve_scenario(sc, solver=name, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads,
                                 progress=progress)
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else ""
        if not isinstance(exc, LanduseError):
            msg = f"{type(exc).__module__}.{type(exc).__name__}: {msg}"
        row.update(status="error", message=msg, wall_s=time.perf_counter() - t, peak_mb=peak_rss_mb())
        return row
    row["solve_phase_s"] = row["wall_s"] = time.perf_counter() - t
    row["peak_mb"] = peak_rss_mb()
    p = res.plan
    row.update(status=res.status, message=res.message,
               objective=_num(p.objective) if p else None, bound=_num(p.bound) if p else None,
               solver_gap=_num(p.gap) if p else None,
               timings_s={k: _num(v) for k, v in res.timings.items()}, trajectory=trajectory,
               check_passed=bool(res.check.passed) if res.check else None)
    if kids.peak_mb is not None:
        row["child_peak_mb"] = kids.peak_mb
    if p is not None:
        folder = (Path(plans_dir) / f"{case_name}-{name}") if plans_dir else Path(tempfile.mkdtemp()) / "plan"
        t = time.perf_counter()
        write_outputs(res, folder, figures=False)
        row["write_phase_s"] = row["write_s"] = time.perf_counter() - t
        if plans_dir is None:
            shutil.rmtree(folder.parent, ignore_errors=True)
    return row


def _child_main(conn, case, name, time_limit_s, mip_gap, threads, plans_dir) -> None:
    """Entry point of an isolated solve: regenerate the (seeded) city, solve, send the row back."""
    try:
        from optimizer.scenario.load import build_scenario

        config, frames = city_frames(case)
        sc = build_scenario(config, frames)
        del frames
        gc.collect()
        conn.send(solve_one(sc, case.name, name, time_limit_s, mip_gap, threads, plans_dir))
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent
        conn.send({"solver": name, "status": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def _solve_isolated(case, name: str, time_limit_s: float, mip_gap: float, threads: int | None,
                    plans_dir: Path | None) -> dict:
    """`solve_one` in a fresh spawned process; killed if it outlives its time limit by far."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(send, case, name, time_limit_s, mip_gap, threads, plans_dir),
                       daemon=True)
    proc.start()
    send.close()
    deadline = 3 * time_limit_s + 600.0  # generation, load, diagnosis of an infeasible model, writing
    row = None
    try:
        if recv.poll(deadline):
            row = recv.recv()
    except EOFError:
        row = None
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if row is None:
        row = {"solver": name, "status": "error",
               "message": f"the isolated solve process returned nothing (exit code {proc.exitcode})"}
    return row


def best_valid_bound(sense: str, runs: dict, base: dict, mip_gap: float = 0.0) -> tuple[float | None, list[str]]:
    """Tightest bound proved by any method, with notes on the bounds set aside.

    A bound beaten by a checked plan is invalid and dropped. A backend that stops "optimal" within a nonzero
    gap tolerance but reports its own objective as the bound has proved only objective ± mip_gap·|objective|;
    that weaker bound is used instead.
    """
    maximize = sense == "maximize"
    objs = [r["objective"] for r in runs.values() if r.get("objective") is not None]
    objs += [g["objective"] for g in base.get("greedy", {}).values() if g.get("feasible")]
    best_obj = (max(objs) if maximize else min(objs)) if objs else None
    notes, cands = [], []
    for name, r in runs.items():
        b, obj = r.get("bound"), r.get("objective")
        if b is None:
            continue
        if r.get("status") == "optimal" and obj is not None and b == obj and mip_gap > 0:
            b = obj + (1 if maximize else -1) * mip_gap * abs(obj)
            notes.append(f"{name} reported its objective as the bound although it stops within a gap of "
                         f"{mip_gap:g}; taken as {b:,.6g}")
        cands.append((f"{name} bound", b))
    if base.get("lp", {}).get("bound") is not None:
        cands.append(("LP relaxation", base["lp"]["bound"]))
    valid = []
    for label, b in cands:
        tol = 1e-9 * max(1.0, abs(b))
        if best_obj is not None and ((maximize and b < best_obj - tol) or (not maximize and b > best_obj + tol)):
            notes.append(f"{label} {b:,.6g} is not a valid bound: a checked plan reaches {best_obj:,.6g}")
        else:
            valid.append(b)
    if not valid:
        return None, notes
    return (min(valid) if maximize else max(valid)), notes


def quality_gap(sense: str, objective, bound) -> float | None:
    """Relative distance from a plan's objective to the best bound (0 = proven optimal)."""
    if objective is None or bound is None:
        return None
    diff = (bound - objective) if sense == "maximize" else (objective - bound)
    return max(diff, 0.0) / max(abs(objective), 1e-9)


# --- a whole run --------------------------------------------------------------------------------------------
def run_benchmark(sizes=DEFAULT_SIZES, solvers: list[str] | None = None, time_limit_s: float = 120.0,
                  mip_gap: float = 1e-4, threads: int | None = None, out: str | Path | None = None,
                  baselines: bool = True, pulp_max_pairs: int = PULP_MAX_PAIRS, keep_plans: bool = False,
                  echo=print, isolate: bool = True, force: bool = False) -> dict:
    """Run every size with every solver; write results.json, report.md and plots into `out` (if given).

    `solvers` defaults to `optimizer.solvers.available_solvers()`; any other name is passed through to the
    pipeline as is (an unknown one shows up as an error row, not a crash). `out` follows the output-folder
    rules of `optimizer.report.write` (new, empty or an earlier output; `force` writes beside other files): it
    is written whole at the end; if a later size fails, the sizes done are kept where no earlier output was.
    """
    from optimizer.report.write import output_folder
    from optimizer.solvers import available_solvers

    solvers = list(dict.fromkeys(solvers or available_solvers()))
    sizes = [str(s) for s in sizes]
    for s in sizes:
        resolve_case(s)  # fail early on an unknown size
    settings = {"sizes": sizes, "solvers": solvers, "time_limit_s": time_limit_s, "mip_gap": mip_gap,
                "threads": threads, "baselines": baselines, "pulp_max_pairs": pulp_max_pairs,
                "isolated_solves": isolate}
    if not out:
        return _run_sizes(sizes, solvers, settings, None, keep_plans, echo)
    with output_folder(out, force=force, expect=BENCH_OUTPUTS, keep_partial=True) as stage:
        return _run_sizes(sizes, solvers, settings, stage.folder, keep_plans, echo)


def _run_sizes(sizes: list[str], solvers: list[str], settings: dict, out: Path | None, keep_plans: bool,
               echo) -> dict:
    """The sizes of `run_benchmark` in turn; results.json after each size (so that a failure keeps them)."""
    time_limit_s, mip_gap, threads = settings["time_limit_s"], settings["mip_gap"], settings["threads"]
    baselines, pulp_max_pairs, isolate = settings["baselines"], settings["pulp_max_pairs"], settings["isolated_solves"]
    results = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(), "versions": package_versions(),
        "settings": settings,
        "memory_method": Meter().method,
        "sizes": [],
    }
    for s in sizes:
        plans = (out / "plans") if (out and keep_plans) else None
        results["sizes"].append(run_size(s, solvers, time_limit_s, mip_gap, threads, baselines, pulp_max_pairs,
                                         plans, echo, isolate))
        if out:
            write_results(results, out)  # keep what is done if a later size fails
    if out:
        write_results(results, out)
        write_report(results, out)
    return results


def _clean(o):
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def write_results(results: dict, out: Path) -> Path:
    path = Path(out) / "results.json"
    path.write_text(json.dumps(_clean(results), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- report -------------------------------------------------------------------------------------------------
PHASE_ORDER = ("generate", "load", "access", "eligibility", "build", "pulp_build", "greedy_density",
               "greedy_per_yuan", "lp")


def _s(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _bn(v) -> str:
    return "–" if v is None else f"{v / 1e9:,.3f}"


def _pct(v) -> str:
    return "–" if v is None else f"{v:.4%}"


def write_report(results: dict, out: str | Path) -> Path:
    """report.md with tables and two plots (phase times vs size; gap vs time)."""
    out = Path(out)
    figs = write_plots(results, out)
    mach, ver, st = results["machine"], results["versions"], results["settings"]
    L = ["# Benchmark report", "",
         f"- date: {results['date']}",
         f"- machine: {mach.get('cpu_model', mach.get('processor') or mach.get('machine'))}, "
         f"{mach['cpu_count']} CPUs, {mach.get('memory_gb', '?')} GB RAM; {mach['platform']}; Python {mach['python']}",
         "- packages: " + ", ".join(f"{k} {v}" for k, v in ver.items() if v),
         f"- settings: sizes {', '.join(st['sizes'])}; solvers {', '.join(st['solvers'])}; time limit "
         f"{st['time_limit_s']:g} s; MIP gap {st['mip_gap']:g}; threads {st['threads'] or 'solver default'}",
         f"- peak memory: {results['memory_method']}"
         + ("; each backend solves in its own fresh process (the seeded city regenerated there), whose peak is "
            "reported" if st.get("isolated_solves") else "; backends solve in the benchmark process")
         + "; a solver running as a child process (CBC) adds its own peak RSS (VmHWM sampled every 50 ms), "
         "shown as '+child'",
         "- gap to best bound = |best bound − objective| / |objective|, the best bound being the tightest valid one "
         "proved by any backend or the LP relaxation.", ""]

    L += ["## Sizes", "",
          "Load average = the machine's 1-minute load at the start and end of the size (above the CPU count, other "
          "work was competing for the CPUs and times are inflated).", "",
          "| case | parcels | industries | eligible pairs | rows | columns | nonzeros | load average |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results["sizes"]:
        la = r.get("load_avg_1min") or {}
        L.append(f"| {r['case']} | {r['n_parcels']:,} | {r['n_industries']} | {r['n_pairs']:,} | {r['n_rows']:,} | "
                 f"{r['n_cols']:,} | {r['nnz']:,} | {la.get('start', '–')} → {la.get('end', '–')} |")

    L += ["", "## Time per phase (seconds) and peak RSS (MB)", "",
          "`load` validates the tables and computes access times; `access` re-times the access computation alone.", "",
          "| case | " + " | ".join(PHASE_ORDER) + " |", "| --- |" + " ---: |" * len(PHASE_ORDER)]
    for r in results["sizes"]:
        L.append(f"| {r['case']} | " + " | ".join(
            f"{_s(r['phases_s'].get(p), 3)} ({_s(r['peak_mb'].get(p), 0)})" if p in r["phases_s"] else "–"
            for p in PHASE_ORDER) + " |")

    L += ["", "## Backends", "",
          "| case | solver | status | objective (bn yuan) | solver bound | gap to best bound | eligibility s | build s | "
          "solve s | check s | write s | peak RSS MB |",
          "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results["sizes"]:
        for name, s in r["solvers"].items():
            t = s.get("timings_s", {})
            peak = _s(s.get("peak_mb"), 0) + (f" (+child {s['child_peak_mb']:,.0f})" if s.get("child_peak_mb") else "")
            L.append(f"| {r['case']} | {name} | {s['status']} | {_bn(s.get('objective'))} | {_bn(s.get('bound'))} | "
                     f"{_pct(s.get('gap_to_best_bound'))} | {_s(t.get('eligibility_s'), 3)} | {_s(t.get('build_s'), 3)} | "
                     f"{_s(t.get('solve_s'))} | {_s(t.get('check_s'))} | {_s(s.get('write_s'))} | {peak} |")
    notes = [(r["case"], n, s["message"]) for r in results["sizes"] for n, s in r["solvers"].items()
             if s["status"] not in ("optimal",) and s.get("message")]
    for case, n, msg in notes:
        L.append(f"\n- {case} / {n}: {msg}")

    L += ["", "## Baselines", "",
          "Greedy plans rank pairs by output density (objective per m² of land at full FAR) or by objective per yuan "
          "of development cost; both are checked by the independent checker.", "",
          "| case | our build s | PuLP build s | speed-up | greedy density (bn yuan) | gap | greedy per yuan "
          "(bn yuan) | gap | greedy s | LP bound (bn yuan) | LP s | best bound (bn yuan) |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def greedy_cells(g: dict | None) -> str:
        if not g:
            return "– | –"
        obj = _bn(g["objective"]) + ("" if g["feasible"] else f" (infeasible: {g['violations']} violations)")
        return f"{obj} | {_pct(g.get('gap_to_best_bound'))}"

    for r in results["sizes"]:
        b = r["baselines"]
        g, lp = b.get("greedy", {}), b.get("lp", {})
        secs = " / ".join(_s(v.get("seconds")) for v in g.values()) or "–"
        L.append(f"| {r['case']} | {_s(r['phases_s'].get('build'), 3)} | {_s(b.get('pulp_build_s'))} | "
                 f"{_s(b.get('build_speedup'), 0)}× | {greedy_cells(g.get('density'))} | "
                 f"{greedy_cells(g.get('per_yuan'))} | {secs} | {_bn(lp.get('bound'))} | {_s(lp.get('seconds'))} | "
                 f"{_bn(r.get('best_bound'))} |")
    for r in results["sizes"]:
        for msg in r.get("rejected_bounds", []):
            L.append(f"\n- {r['case']}: {msg}")
        if r["baselines"].get("pulp_skipped"):
            L.append(f"\n- {r['case']}: PuLP baseline skipped ({r['baselines']['pulp_skipped']})")

    L += ["", "## Plots", ""] + [f"![{name}]({name})" for name in figs] + [""]
    path = out / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path


def write_plots(results: dict, out: Path) -> list[str]:
    """phases.png (time per phase and backend vs size) and gap_vs_time.png; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    if not sizes:
        return []
    n = [r["n_parcels"] for r in sizes]
    names = []

    fig, ax = plt.subplots(figsize=(8, 5))
    for p in PHASE_ORDER:
        ys = [r["phases_s"].get(p) for r in sizes]
        if any(y is not None for y in ys):
            ax.plot(n, [np.nan if y is None else max(y, 1e-4) for y in ys], marker="o", label=p)
    solvers = list(dict.fromkeys(k for r in sizes for k in r["solvers"]))
    solver_colors = plt.get_cmap("Dark2")
    for i, s in enumerate(solvers):
        ys = [r["solvers"].get(s, {}).get("timings_s", {}).get("solve_s") for r in sizes]
        ax.plot(n, [np.nan if y is None else max(y, 1e-4) for y in ys], marker="s", lw=2.5, ls="--",
                color=solver_colors(i % 8), label=f"solve: {s}")
    ax.set(xscale="log", yscale="log", xlabel="parcels", ylabel="seconds",
           title="Time per phase and backend vs size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "phases.png", dpi=110)
    plt.close(fig)
    names.append("phases.png")

    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
    for ax, r in zip(axes[0], sizes, strict=True):
        bb, sense = r.get("best_bound"), r["sense"]
        for i, (s, row) in enumerate(r["solvers"].items()):
            color = f"C{i}"
            traj = [(e["elapsed_s"], quality_gap(sense, e["objective"], bb)) for e in row.get("trajectory", [])
                    if e.get("objective") is not None and e.get("elapsed_s") is not None]
            traj = [(t, g) for t, g in traj if g is not None]
            if traj:
                ax.step([t for t, _ in traj], [max(g, 1e-7) for _, g in traj], where="post", color=color, alpha=0.7)
            g = row.get("gap_to_best_bound")
            t = (row.get("timings_s") or {}).get("solve_s")
            if g is not None and t is not None:
                ax.plot([t], [max(g, 1e-7)], marker="o", color=color, ls="", label=f"{s} ({row['status']})")
            elif t is not None:
                ax.plot([t], [1.0], marker="x", color=color, ls="", label=f"{s} ({row['status']})")
        for key, marker in (("density", "^"), ("per_yuan", "v")):
            gr = r["baselines"].get("greedy", {}).get(key)
            if gr and gr.get("gap_to_best_bound") is not None:
                ax.plot([gr["seconds"]], [max(gr["gap_to_best_bound"], 1e-7)], marker=marker, color="k", ls="",
                        label=f"greedy {key}" + ("" if gr["feasible"] else " (infeasible)"))
        ax.set(xscale="log", yscale="log", xlabel="seconds", ylabel="gap to best bound",
               title=f"{r['case']} ({r['n_parcels']:,} parcels)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gap_vs_time.png", dpi=110)
    plt.close(fig)
    names.append("gap_vs_time.png")
    return names


# --- build speed --------------------------------------------------------------------------------------------
def build_speed(n_parcels: int = 50_000, n_industries: int = 12, seed: int = 0, repeats: int = 3) -> dict:
    """Time our builder against the idiomatic PuLP model on the same scenario and eligible pairs, like with like.

    Both builders run `repeats` times, alternately (ours, PuLP, ours, PuLP, ...), so that a machine's drift falls
    on both alike; the ratio is the median PuLP build over our median build, and the first (cold) runs are
    compared too (`first_run_ratio`). Eligibility is timed separately, being shared by both.
    """
    from optimizer.bench.baselines import pulp_model
    from optimizer.bench.synthetic import Case, synthetic_city
    from optimizer.model import build_model, eligible_pairs

    t = time.perf_counter()
    sc = synthetic_city(Case(f"n{n_parcels}", n_parcels, n_industries, seed))
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    pairs = eligible_pairs(sc)
    elig_s = time.perf_counter() - t
    ours, pulp, n_constraints = [], [], 0
    for _ in range(max(repeats, 1)):
        ours.append(build_model(sc, pairs).build_s)
        pm = pulp_model(sc, pairs)
        pulp.append(pm.build_s)
        n_constraints = pm.n_constraints
        del pm
        gc.collect()
    med_ours, med_pulp = float(np.median(ours)), float(np.median(pulp))
    return {"n_parcels": n_parcels, "n_industries": n_industries, "n_pairs": len(pairs), "generate_s": gen_s,
            "eligibility_s": elig_s, "repeats": len(ours), "ours_build_s": med_ours, "ours_first_build_s": ours[0],
            "ours_runs_s": ours, "pulp_build_s": med_pulp, "pulp_first_build_s": pulp[0], "pulp_runs_s": pulp,
            "ratio": med_pulp / max(med_ours, 1e-9), "first_run_ratio": pulp[0] / max(ours[0], 1e-9),
            "pulp_constraints": n_constraints}
