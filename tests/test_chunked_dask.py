"""The chunked engine with its chunks on Dask workers (one actor per chunk, each loading and holding its parcels)
gives the same bound and plan as with the chunks in this process, and the plan meets every rule of the whole
scenario."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from helpers import local_dask_cluster

from optimizer.bench.synthetic import synthetic_city
from optimizer.chunked import _place
from optimizer.data import restrict_parcels
from optimizer.solution.check import check_plan
from optimizer.solvers.base import SolveOptions
from optimizer.solvers.chunked import gather, solve_chunks

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    with local_dask_cluster(2) as address:
        yield address


def test_chunks_on_two_workers_give_the_in_process_bound_and_plan(scheduler):
    sc = synthetic_city("q3000")
    edges = np.linspace(0, sc.n_parcels, 4).astype(int)
    sources = [restrict_parcels(sc, np.arange(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    opts = SolveOptions(time_limit_s=60, mip_gap=1e-3, threads=1, work_limit_s=10)
    with contextlib.ExitStack() as stack:
        here, _, _ = _place(sources, 0, None, stack, {})
        local = solve_chunks(here, opts, "auto")
        actors, n_workers, where = _place(sources, 0, scheduler, stack, {})
        assert n_workers == 2 and where == scheduler
        spread = solve_chunks(actors, opts, "auto", workers=n_workers)
        tables = [gather([a.table()])[0] for a in actors]
    assert local.status in ("optimal", "feasible"), local.message
    assert spread.status in ("optimal", "feasible"), spread.message
    assert spread.bound == pytest.approx(local.bound, rel=1e-9)
    assert spread.objective == pytest.approx(local.objective, rel=1e-9)  # work limits: the same plans
    assert spread.status in ("optimal", "feasible")
    plan = pd.concat(tables, ignore_index=True)
    report = check_plan(sc, plan, spread.objective)
    assert report.passed, report.violations[:5]
