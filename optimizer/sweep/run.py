"""Running a sweep on Dask: the scenario scattered once, one task per run, each finished run persisted at once."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.errors import InfeasibleScenario, LanduseError
from optimizer.sweep.spec import SweepSpec, apply_parameters, run_key

RESULT_COLUMNS = ["run", "key", "status", "objective", "bound", "gap", "output_yuan", "jobs", "developed_land_m2",
                  "floor_area_m2", "parcels_developed", "solve_s", "attempts", "error", "assignment"]
PART_GLOB = "run_*.csv"


def encode_assignment(v) -> str:
    return " ".join(str(int(i)) for i in v)


def decode_assignments(col: pd.Series, n: int) -> np.ndarray:
    """runs x parcels matrix of industry positions (-1 empty); runs without a plan are all -1."""
    out = np.full((len(col), n), -1, dtype=np.int32)
    for r, text in enumerate(col.fillna("").astype(str)):
        if text.strip():
            out[r] = np.array(text.split(), dtype=np.int32)
    return out


def run_task(sc: Scenario, run: int, key: str, params: dict, solver: dict) -> dict:
    """One run on a worker: apply the parameters, build, solve, check, measure; a compact record.

    Rule conflicts and other planned errors are results (status infeasible / error); anything unexpected is
    raised, so that Dask retries the task.
    """
    from threadpoolctl import threadpool_limits

    rec: dict = {"run": run, "key": key, **{f"p:{k}": v for k, v in params.items()}, "attempts": 1, "error": ""}
    t = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # a worker is one thread: so is its BLAS
        _run(sc, params, solver, rec)
    rec["solve_s"] = time.perf_counter() - t
    return rec


def _run(sc: Scenario, params: dict, solver: dict, rec: dict) -> None:
    import optimizer.pipeline as pipeline

    try:
        res = pipeline.solve_scenario(apply_parameters(sc, params), solver=solver.get("name"),
                                      time_limit_s=solver.get("time_limit_s"), mip_gap=solver.get("mip_gap"),
                                      threads=solver.get("threads", 1), work_limit_s=solver.get("work_limit_s"))
    except InfeasibleScenario as exc:
        rec.update(status="infeasible", error="; ".join(exc.conflicts)[:2000])
    except LanduseError as exc:
        rec.update(status=f"error:{type(exc).__name__}", error=str(exc)[:2000])
    else:
        rec["status"] = res.status
        if res.plan is not None:
            p, k = res.plan, res.kpis
            vec = np.full(sc.n_parcels, -1, dtype=np.int32)
            a = p.assignment
            vec[a["parcel_id"].map(sc.parcel_index()).to_numpy(int)] = \
                a["industry_id"].map(sc.industry_index()).to_numpy(int)
            rec.update(objective=p.objective, bound=p.bound, gap=p.gap, output_yuan=k["total_output_yuan"],
                       jobs=k["jobs"], developed_land_m2=k["land_developed_m2"], floor_area_m2=k["floor_area_m2"],
                       parcels_developed=k["parcels_developed"], assignment=encode_assignment(vec))
        else:
            rec["error"] = res.message


def write_part(folder: Path, rec: dict) -> None:
    """One run's record as runs/run_<key>.csv, written whole (temporary name, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{rec['key']}.{os.getpid()}.tmp"
    pd.DataFrame([rec]).to_csv(tmp, index=False)
    os.replace(tmp, folder / f"run_{rec['key']}.csv")


def read_parts(folders) -> dict[str, dict]:
    """key -> record of every readable part in the folders (a torn or unreadable part is simply redone)."""
    out: dict[str, dict] = {}
    for f in folders:
        if f is None or not Path(f).is_dir():
            continue
        for part in sorted(Path(f).glob(PART_GLOB)):
            with contextlib.suppress(Exception):
                rec = pd.read_csv(part, keep_default_na=True, dtype={"assignment": str, "key": str}).iloc[0].to_dict()
                if rec.get("key") == part.stem[4:]:
                    out[part.stem[4:]] = rec
    return out


class Progress:
    """A one-line progress report: done, failed, left, time to go."""

    def __init__(self, total: int, already: int, stream=None):
        self.total, self.done, self.failed, self.new = total, already, 0, 0
        self.t0 = time.perf_counter()
        self.stream = stream if stream is not None else sys.stderr

    def update(self, failed: bool) -> None:
        self.done += 1
        self.new += 1
        self.failed += int(failed)
        left = self.total - self.done
        el = time.perf_counter() - self.t0
        eta = el / self.new * left
        print(f"sweep: {self.done}/{self.total} done, {self.failed} failed, {left} left, "
              f"~{eta:,.0f} s to go", file=self.stream, flush=True)


def execute(sc: Scenario, spec: SweepSpec, runs: list[dict], client, parts: Path | None = None,
            previous: tuple = (), progress: Callable | None = None) -> pd.DataFrame:
    """Solve every run not already in `parts` or `previous` (folders of run parts) on the client; each
    finished run is written to `parts` as it arrives. A task that raises is retried once, then recorded as
    status "failed" with its error. Returns one row per run, in run order."""
    from distributed import as_completed

    keys = [run_key(r, spec.solver) for r in runs]
    have = read_parts((parts, *previous))
    records: dict[str, dict] = {k: have[k] for k in keys if k in have}
    todo = [i for i, k in enumerate(keys) if k not in records and keys.index(k) == i]
    if parts is not None:  # resumed records from an earlier output go into this one too
        for k, rec in records.items():
            if not (parts / f"run_{k}.csv").exists():
                write_part(parts, rec)
    prog = Progress(len(set(keys)), len(records))
    if todo:
        tag = uuid.uuid4().hex[:8]
        base = client.scatter(sc, broadcast=True, hash=False)
        futures = {client.submit(run_task, base, i, keys[i], runs[i], spec.solver, retries=1, pure=False,
                                 key=f"landuse-run-{keys[i]}-{tag}"): i for i in todo}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                if fut.status == "finished":
                    rec = fut.result()
                else:
                    exc = fut.exception()
                    rec = {"run": i, "key": keys[i], **{f"p:{k}": v for k, v in runs[i].items()},
                           "status": "failed", "attempts": 2,
                           "error": f"{type(exc).__name__}: {exc}"[:2000]}
                records[keys[i]] = rec
                if parts is not None:
                    write_part(parts, rec)
                prog.update(rec["status"] == "failed")
                if progress is not None:
                    progress(prog)
        finally:
            client.cancel(list(futures))
    rows = []
    for i, (r, k) in enumerate(zip(runs, keys, strict=True)):
        rec = dict(records[k])
        rec.update(run=i, key=k, **{f"p:{p}": v for p, v in r.items()})
        rows.append(rec)
    df = pd.DataFrame(rows)
    for c in RESULT_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    pcols = [f"p:{p}" for p in runs[0]] if runs else []
    df = df[["run", "key", *pcols, *RESULT_COLUMNS[2:]]]
    df["error"] = df["error"].fillna("").astype(str)
    df["assignment"] = df["assignment"].fillna("").astype(str).replace("nan", "")
    return df


# A local sweep cluster spends its cores on solves. Measured on 2 cores (benchmarks/results/sweep/report.md):
# Dask's defaults cost an idle cluster 10 % of a core (scheduler and nannies 4.4 %, each worker 2.9 %) and, while a
# run is solving, the worker's statistical profiler walks its stack every 10 ms holding the GIL; with these
# settings the idle cost is 1.7 %. Only the dashboard's profile and system pages lose detail.
LOCAL_CONFIG = {
    # one run per worker thread at a time, the rest queued on the scheduler: the worker that frees first takes
    # the next run (list scheduling), instead of a second run waiting on a worker behind a long one
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",  # event-loop health check (20 ms by default)
    "distributed.admin.system-monitor.interval": "2s",  # dashboard metrics (500 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # memory limits still enforced, checked every second
    # distributed sets MALLOC_TRIM_THRESHOLD_ in every worker it spawns; setting it switches off glibc's dynamic
    # mmap threshold, so each large numpy temporary is a fresh mmap, page-faulted in and unmapped again. Measured
    # on 11 Qianhai runs in one process: 44.4-44.7 s CPU with the variable, 39.9-40.9 s without (+10 %). None
    # leaves the workers with glibc's defaults (an explicit MALLOC_TRIM_THRESHOLD_ in the environment still wins).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def warm_worker() -> None:
    """Import the pipeline and HiGHS, as a process that solves serially has them before its first run."""
    import optimizer.pipeline  # noqa: F401
    import optimizer.solvers.highs as highs

    highs.available()


@contextlib.contextmanager
def local_client(workers: int | None = None, scheduler: str | None = None, processes: bool = True):
    """A Dask client: on `scheduler`, or on a LocalCluster of one single-threaded worker per core (configured by
    LOCAL_CONFIG, its workers warmed by warm_worker)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    n = workers or max(1, os.cpu_count() or 1)
    # one run per worker and one worker per core: BLAS and OpenMP pools of one thread, set before the worker
    # imports numpy (threads of their own would spin against the other workers' solves)
    single = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    extra = {"env": single} if processes else {}
    with dask.config.set(LOCAL_CONFIG), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=":0",
                         silence_logs=40, **extra) as cluster, Client(cluster) as client:
        client.run(warm_worker)
        yield client
