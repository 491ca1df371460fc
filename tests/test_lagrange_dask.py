"""The Lagrangian engine's dual over parcel chunks on dask.distributed (optimizer.solvers.lagrange_dask): the same
numbers as in process, the same bound and a checked plan, the CLI options and their misuse."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, TINY_OPTIMUM_YUAN, local_dask_cluster

pytest.importorskip("distributed")

from optimizer import cli  # noqa: E402
from optimizer.bench.synthetic import Case, city_frames  # noqa: E402
from optimizer.errors import BadOption, SolverUnavailable  # noqa: E402
from optimizer.model import build_model, eligible_pairs  # noqa: E402
from optimizer.pipeline import solve_scenario  # noqa: E402
from optimizer.scenario import build_scenario  # noqa: E402
from optimizer.solvers import lagrange, lagrange_dask  # noqa: E402
from optimizer.solvers.base import SolveOptions  # noqa: E402

REL = 1e-9


def _city(n: int, neighbours: bool):
    """A seeded synthetic city of n parcels; with neighbours: synergy (standalone pair columns) and a separation."""
    config, frames = city_frames(Case(f"n{n}", n, 12, seed=3))
    if neighbours:
        par = frames["parcels"]
        side = float(max(par["x"].max(), par["y"].max()))
        config["neighbours"] = {"distance_m": round(float(np.sqrt(5.0 * side ** 2 / (np.pi * n))), 1)}
        ids = list(frames["industries"]["industry_id"])
        frames["synergy"] = pd.DataFrame([(ids[0], ids[1], 2.0e6, "pair"), (ids[0], ids[0], 800.0, "m2"),
                                          (ids[2], ids[3], -3.0e6, "pair")],
                                         columns=["industry_a", "industry_b", "bonus", "basis"])
        frames["separation"] = pd.DataFrame([(ids[1], ids[3], np.nan)],
                                            columns=["industry_a", "industry_b", "min_distance_m"])
    return build_scenario(config, frames)


@pytest.fixture(scope="module")
def scheduler():
    """One local cluster of 2 workers for the module, its address (the tests join it as an existing cluster)."""
    with local_dask_cluster(2) as address:
        yield address


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "neighbours"])
def problem(request):
    sc = _city(800, request.param)
    P = lagrange._split(build_model(sc, eligible_pairs(sc)))
    assert (len(P.g) > 0) == request.param  # the neighbour case has standalone pair columns
    return P


def _random_mu(P, rng, scale):
    m = len(P.L)
    mu = np.abs(rng.normal(0, scale, 2 * m))
    mu[:m][~np.isfinite(P.U)] = 0
    mu[m:][~np.isfinite(P.L)] = 0
    return mu


@pytest.mark.parametrize("chunks", [1, 3, 4])
def test_chunked_dual_equals_in_process(problem, scheduler, chunks):
    P = problem
    ev = lagrange_dask.ChunkedDual(P, SolveOptions(dual_scheduler=scheduler), chunks=chunks)
    try:
        assert ev.info == {"workers": min(2, chunks), "chunks": chunks, "scheduler": scheduler}
        rng = np.random.default_rng(chunks)
        _, _, exact0 = lagrange._smoothed(P, np.zeros(2 * len(P.L)), 1.0)
        for T in (abs(exact0) * 1e-2, 1.0, 1e-4):
            for scale in (0.0, 0.1, 1.0):
                mu = _random_mu(P, rng, scale)
                val, grad, exact = lagrange._smoothed(P, mu, T)
                cval, cgrad, cexact = ev(mu, T)
                assert cval == pytest.approx(val, rel=REL)
                assert cexact == pytest.approx(exact, rel=REL)
                assert np.abs(cgrad - grad).max() <= REL * max(np.abs(grad).max(), 1.0)
                if chunks == 1:  # the same additions in the same order: bit for bit
                    assert (cval, cexact) == (val, exact) and np.array_equal(cgrad, grad)
    finally:
        ev.close()


def test_chunks_cover_every_parcel_once(problem):
    P = problem
    parts = lagrange_dask.make_chunks(P, 5)
    assert len(parts) == 5
    assert sum(c.n_pairs for c in parts) == P.n
    assert sum(c.n_parcels for c in parts) == len(P.starts)
    blocks = [b for c in parts for b in c.blocks]
    assert all(b.starts[0] == 0 and len(b.cx) == len(b.cf) == len(b.lo) == b.Ax.shape[0] for b in blocks)
    assert np.array_equal(np.concatenate([b.cx for b in blocks]), P.c[:P.n])  # in parcel order, each once
    many = lagrange_dask.make_chunks(P, 10 ** 9)  # at most one chunk per parcel, never an empty one
    assert len(many) <= len(P.starts) and all(c.n_parcels >= 1 for c in many)
    assert sum(c.n_pairs for c in many) == P.n


class _LostWorker:
    def evaluate(self, lam, T):
        raise OSError("connection closed")


def test_a_lost_worker_leaves_the_evaluations_in_process(problem, scheduler):
    P = problem
    ev = lagrange_dask.ChunkedDual(P, SolveOptions(dual_scheduler=scheduler), chunks=2)
    mu = _random_mu(P, np.random.default_rng(5), 0.3)
    first = ev(mu, 0.5)
    ev._holders[1] = _LostWorker()
    again = ev(mu, 0.5)
    assert "OSError: connection closed" in ev.info["lost"] and not ev._holders
    for a, b in zip(first, again, strict=True):
        assert np.allclose(a, b, rtol=REL, atol=0)
    ev.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_keep_freed_memory(scheduler):
    from distributed import Client

    with Client(scheduler, timeout="10s") as c:
        assert all(c.run(lagrange_dask.keep_freed_memory).values())


def test_a_joined_cluster_is_left_running(problem, scheduler):
    from distributed import Client

    lagrange_dask.ChunkedDual(problem, SolveOptions(dual_scheduler=scheduler)).close()
    with Client(scheduler, timeout="10s") as c:
        assert len(c.scheduler_info()["workers"]) == 2


def test_unreachable_scheduler_is_solver_unavailable(problem, monkeypatch):
    monkeypatch.setattr(lagrange_dask, "START_TIMEOUT_S", 1)
    with pytest.raises(SolverUnavailable, match="tcp://127.0.0.1:9"):
        lagrange_dask.ChunkedDual(problem, SolveOptions(dual_scheduler="tcp://127.0.0.1:9"))


@pytest.fixture(scope="module")
def city3000():
    return _city(3000, False)


def test_dual_phase_on_chunks_gives_the_in_process_bound(city3000, scheduler):
    P = lagrange._split(build_model(city3000, eligible_pairs(city3000)))
    budget = lagrange.dual_evaluation_budget(P, 120.0)
    alone = lagrange.dual_ascent(P, 1e-4, budget)
    for chunks in (1, 2, 3):
        ev = lagrange_dask.ChunkedDual(P, SolveOptions(dual_scheduler=scheduler), chunks=chunks)
        try:
            spread = lagrange.dual_ascent(P, 1e-4, budget, evaluate=ev)
        finally:
            ev.close()
        assert spread.bound == pytest.approx(alone.bound, rel=REL)
        assert (spread.evaluations, spread.levels, spread.stopped_by) == \
            (alone.evaluations, alone.levels, alone.stopped_by)
        if chunks == 1:  # the same numbers bit for bit, so the same iterates
            assert spread.bound == alone.bound and np.array_equal(spread.mu, alone.mu)


# The engine polishes the dual's multipliers in process after the dual phase; from multipliers that differ in
# the last bits that polish can take another path, so the whole engine's bounds agree to this (measured: 9e-8).
ENGINE_REL = 1e-6


def test_engine_on_two_workers_gives_the_in_process_bound_and_a_checked_plan(city3000):
    alone = solve_scenario(city3000, solver="lagrange", mip_gap=1e-3, time_limit_s=120)
    spread = solve_scenario(city3000, solver="lagrange", mip_gap=1e-3, time_limit_s=120, dual_workers=2)
    assert spread.check.passed and spread.plan.gap <= 1e-3
    assert spread.plan.bound == pytest.approx(alone.plan.bound, rel=ENGINE_REL)
    dual = spread.phases[0]
    assert dual["phase"] == "dual" and dual["workers"] == 2 and dual["scheduler"] == "local"
    assert dual["evaluations"] == alone.phases[0]["evaluations"]
    assert spread.options.dual_workers == 0  # the planning answers re-solve in process
    # the run held one cluster (started before the solve's clock), which the engine's solve joined, then closed it
    assert spread.timings["dual_cluster_s"] > 0 and not lagrange_dask._KEPT


def test_cli_dual_workers_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["solve", str(TINY), "--out", str(out), "--solver", "lagrange", "--dual-workers", "2",
                   "--no-figures", "--no-analysis", "--mip-gap", "0"])
    assert rc == 0, capsys.readouterr().err
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["check"]["passed"] and s["objective"] == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)
    dual = s["solver_phases"][0]
    assert dual["phase"] == "dual" and dual["workers"] == 2 and dual["scheduler"] == "local"


@pytest.mark.parametrize("args, words", [
    (["--solver", "highs", "--dual-workers", "2"], "need solver lagrange or auto, not 'highs'"),
    (["--dual-workers", "2"], "need solver lagrange or auto"),  # tiny's own solver is highs
    (["--solver", "auto", "--dual-workers", "2", "--dual-scheduler", "tcp://h:1"], "not allowed with"),
    (["--solver", "lagrange", "--dual-workers", "0"], "from 1 to 1024"),
    (["--solver", "lagrange", "--dual-scheduler", " "], "Dask scheduler address"),
])
def test_bad_dual_options_exit_2(tmp_path, capsys, args, words):
    try:
        rc = cli.main(["solve", str(TINY), "--out", str(tmp_path / "out"), "--no-figures", *args])
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_check_options_refuses_dual_placement_for_other_solvers():
    with pytest.raises(BadOption, match="lagrange or auto"):
        solve_scenario(TINY, solver="cbc", dual_workers=2)
