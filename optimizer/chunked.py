"""A scenario solved in parcel chunks, so that its parcels never sit in one process together.

`landuse solve SCENARIO --chunk-parcels N [--dual-workers W | --dual-scheduler ADDRESS] --out DIR`:

    parcel file --scan (streamed)--> record ranges of at most N parcels
        each range, on a worker: load_chunk -> its scenario -> eligible pairs -> its model (ChunkModel)
    coordinator: the chunked engine (optimizer.solvers.chunked): bound, shares of every rule, chunk plans
        each chunk, on its worker: the checker's per-parcel verdicts and rule totals
    coordinator: totals added -> the checker's verdict on every rule; assignment.csv appended chunk by chunk,
        summary.json; written whole or not at all (optimizer.report.write)

The coordinator holds the rules, the multipliers, a few numbers per chunk and rule, and one chunk's plan table at
a time while writing. Without workers (`workers=0`, no scheduler) the chunks live in this process, one after the
other in memory: the same numbers, for tests and small runs. Maps, the HTML report and the planning answers need
the whole plan in one process and are not made here; `landuse solve` without --chunk-parcels makes them.

Refused (a clear error before any solve): output per land (a ratio, not a sum over chunks), neighbour rules and
phases (rules between parcels of different chunks, or over time).
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from optimizer.errors import ScenarioError
from optimizer.solvers.base import SolveOptions

CHUNK_OUTPUTS = ("assignment.csv", "summary.json")
RESULT_GRACE_S = 120.0  # past the time limit: how long to wait for a worker's answer (loading a chunk is not timed)


@dataclass
class ChunkedRun:
    """What a chunked solve found: the engine's result, the checker's report and the run's facts."""

    scenario: str
    folder: Path
    result: object  # optimizer.solvers.chunked.ChunkedResult
    check: object | None  # optimizer.solution.check.CheckReport (None: no plan)
    totals: object | None  # the plan's combined rule totals (optimizer.solution.check.PlanTotals)
    n_parcels: int
    ranges: list
    workers: int
    where: str
    timings: dict = field(default_factory=dict)
    chunks: list = field(default_factory=list)  # the chunk models (or actors): tables are fetched when writing
    solver: str = "auto"
    chunk_stats: list = field(default_factory=list)  # per chunk: load and build seconds, its process's peak MB
    warnings: tuple = ()  # the whole parcel file's warnings (from the scan), one line each

    @property
    def has_plan(self) -> bool:
        return self.result.status in ("optimal", "feasible")

    def summary(self) -> dict:
        r = self.result
        s = {"scenario": self.scenario, "status": r.status, "solver": f"{self.solver} over {len(self.ranges)} chunks",
             "objective": r.objective, "bound": r.bound, "gap": r.gap, "message": r.message,
             "parcels": self.n_parcels, "chunks": len(self.ranges), "chunk_ranges": [list(x) for x in self.ranges],
             "workers": self.workers, "where": self.where, "chunk_objectives": r.chunk_objectives,
             "timings": {k: round(v, 3) for k, v in self.timings.items()}, "phases": r.phases,
             "rules": r.rules, "chunk_stats": self.chunk_stats, "warnings": list(self.warnings),
             "not_made": "maps, report.html and the planning answers need the whole plan in one process: run "
                         "`landuse solve` without --chunk-parcels for them"}
        if self.check is not None:
            s["check"] = self.check.to_dict()
        t = self.totals
        if t is not None:  # the plan's totals as the checker counted them, over every chunk
            s["kpis"] = {"output_yuan": t.total_output, "development_cost_yuan": t.total_cost,
                         "floor_m2": t.total_floor, "developed_land_m2": t.developed_land, "jobs": t.jobs,
                         "floor_by_industry_m2": t.floor_by_industry, "sites_by_industry": t.sites_by_industry}
        return s


def solve_chunked(folder: str | Path, chunk_parcels: int, solver: str | None = None,
                  time_limit_s: float | None = None, mip_gap: float | None = None, threads: int | None = None,
                  workers: int = 0, scheduler: str | None = None, work_limit_s: float | None = None,
                  stack: contextlib.ExitStack | None = None) -> ChunkedRun:
    """Solve the scenario in `folder` in chunks of at most `chunk_parcels` parcels (see the module docstring).

    Solvers: "auto" (default) or "lagrange" for each chunk (or "highs"). `stack`: keeps the cluster and the
    chunks alive until it is closed (so that `write_chunked` can fetch the plan tables); without one, the caller
    must use the result before this function's cluster is gone, i.e. only in-process runs."""
    from optimizer.scenario.chunks import chunk_ranges, load_chunk, scan_parcels
    from optimizer.solvers.chunked import gather, solve_chunks

    folder = Path(folder)
    if int(chunk_parcels) < 1:
        raise ScenarioError("--chunk-parcels must be a whole number of parcels, at least 1")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    scan = scan_parcels(folder)
    timings["scan_s"] = time.perf_counter() - t
    ranges = chunk_ranges(scan.n_records, int(chunk_parcels))
    sources = [functools.partial(load_chunk, folder, a, b, scan) for a, b in ranges]
    own = stack is None
    stack = stack or contextlib.ExitStack()
    try:
        chunks, n_workers, where = _place(sources, workers, scheduler, stack, timings)
        # the scenario's settings, from its first chunk (every chunk has the same rules and settings)
        t = time.perf_counter()
        gather([chunks[0].prepare()])
        rules = gather([chunks[0].rules_only()])[0]
        _refuse(rules)
        d = rules.solver
        solver = solver or "auto"  # the engines are what chunks are for; the scenario's own choice is for one model
        opts = SolveOptions(time_limit_s=d.time_limit_s if time_limit_s is None else time_limit_s,
                            mip_gap=d.mip_gap if mip_gap is None else mip_gap,
                            threads=d.threads if threads is None else threads,
                            work_limit_s=d.work_limit_s if work_limit_s is None else work_limit_s)
        res = solve_chunks(chunks, opts, solver, workers=n_workers,
                           timeout=opts.time_limit_s + RESULT_GRACE_S)
        # the chunks' loading and building (the engine's first step, untimed by its limits), then the engine
        timings["build_s"] = time.perf_counter() - t - res.solve_s
        timings["solve_s"] = res.solve_s
        check = totals = None
        if res.status in ("optimal", "feasible"):
            from optimizer.solution.check import combine, verdict

            t = time.perf_counter()
            totals = combine(gather([c.totals() for c in chunks], opts.time_limit_s + RESULT_GRACE_S))
            check = verdict(rules, totals, res.objective)
            timings["check_s"] = time.perf_counter() - t
            if not check.passed:  # a plan that breaks a rule is never a result
                from optimizer.errors import CheckFailed

                raise CheckFailed(check.violations)
        run = ChunkedRun(rules.name, folder, res, check, totals, scan.n_records, ranges, n_workers, where, timings,
                         chunks, solver=solver, chunk_stats=gather([c.stats() for c in chunks], RESULT_GRACE_S),
                         warnings=tuple(scan.warnings))
    except BaseException:
        stack.close()
        raise
    if own and n_workers:
        stack.close()
    return run


def _refuse(sc) -> None:
    """The features a chunked run cannot hold, refused in the planner's terms."""
    why = []
    if sc.objective.kind == "output_per_land":
        why.append("its objective is output per land, a ratio over the whole plan")
    if sc.neighbours is not None:
        why.append("it has neighbour rules, which couple parcels of different chunks")
    if sc.phases:
        why.append("it has phases")
    if why:
        raise ScenarioError("this scenario cannot be solved in parcel chunks: " + "; ".join(why)
                            + ". Solve it without --chunk-parcels", file="scenario.toml")


def _place(sources: list, workers: int, scheduler: str | None, stack: contextlib.ExitStack, timings: dict):
    """The chunk models: in this process, or one Dask actor per chunk, chunk i on worker i mod W."""
    from optimizer.solvers.chunked import ChunkModel

    if not workers and not scheduler:
        return [ChunkModel(s) for s in sources], 1, "in process"
    from optimizer.solvers.lagrange_dask import START_TIMEOUT_S, _client

    t = time.perf_counter()
    client = _client(stack, int(workers), scheduler)
    names = sorted(client.scheduler_info()["workers"])
    if not names:
        from optimizer.errors import SolverUnavailable

        raise SolverUnavailable(f"the Dask scheduler at {scheduler} has no workers")
    futs = [client.submit(ChunkModel, s, workers=[names[i % len(names)]], allow_other_workers=False, actor=True,
                          pure=False) for i, s in enumerate(sources)]
    actors = [f.result(timeout=START_TIMEOUT_S) for f in futs]
    timings["start_s"] = time.perf_counter() - t
    return actors, min(len(names), len(sources)), scheduler or f"local cluster of {workers} workers"


def write_chunked(run: ChunkedRun, out: str | Path, force: bool = False, protect: tuple = ()) -> object:
    """assignment.csv (the chunks' plan tables appended in parcel order, one chunk in memory at a time) and
    summary.json, into `out` by the tool's output rules (whole or not at all; a run without a plan leaves an earlier
    output as it is). Returns the Staging."""
    import json

    from optimizer.report.write import _clean, _json_default, output_folder
    from optimizer.solvers.chunked import gather

    with output_folder(out, force=force, protect=(run.folder, *protect), expect=CHUNK_OUTPUTS,
                       keep_previous=not run.has_plan) as stage:
        if run.has_plan:
            path = stage.folder / "assignment.csv"
            for i, c in enumerate(run.chunks):
                table = gather([c.table()])[0]
                table.to_csv(path, mode="w" if i == 0 else "a", header=i == 0, index=False, float_format="%.6f")
        (stage.folder / "summary.json").write_text(
            json.dumps(_clean(run.summary()), indent=2, default=_json_default, ensure_ascii=False) + "\n",
            encoding="utf-8")
    return stage


__all__ = ["CHUNK_OUTPUTS", "ChunkedRun", "solve_chunked", "write_chunked"]
