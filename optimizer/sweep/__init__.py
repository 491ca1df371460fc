"""Scenario sweeps and uncertainty on Dask (the only package that imports dask).

`sweep(scenario, spec, client=None)` solves one run per parameter combination (or per sample) and returns one
row per run; `landuse sweep` (optimizer.sweep.cli) adds resumable run parts, charts, maps and a report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.data import Scenario
from optimizer.sweep.spec import SpecError, SweepSpec, load_spec, parse_spec, plan_runs, with_parameter

__all__ = ["SpecError", "SweepSpec", "load_spec", "parse_spec", "plan_runs", "sweep", "with_parameter"]


def as_spec(spec: SweepSpec | dict | str | Path) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def sweep(scenario: Scenario | str | Path, spec: SweepSpec | dict | str | Path, client=None,
          samples: int | None = None, parts: str | Path | None = None, resume: bool = False) -> pd.DataFrame:
    """Solve every run of the spec (or `samples` draws of its distributions) on a Dask client and return
    one row per run: its parameters (`p:<path>`), status, objective, bound, gap, KPIs, error and the
    assignment (industry position per parcel, -1 empty, space-separated).

    Without `client`, a LocalCluster with one worker process per core is started and closed. `parts`: a folder
    where each finished run is written at once; with `resume`, runs already there are not solved again.
    """
    from optimizer.scenario import load_scenario
    from optimizer.sweep.run import execute, local_client

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sp = as_spec(spec)
    runs = plan_runs(sc, sp, samples)
    parts = Path(parts) if parts is not None else None
    if parts is not None and not resume and parts.is_dir():
        for p in parts.glob("run_*.csv"):
            p.unlink()
    if client is not None:
        return execute(sc, sp, runs, client, parts)
    with local_client() as c:
        return execute(sc, sp, runs, c, parts)
