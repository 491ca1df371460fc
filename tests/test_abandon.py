"""A stuck HiGHS never costs the plan or the bound: large solves run in a child process that is abandoned past
the time limit, and the engines keep what they proved when HiGHS fails."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import isolation_runners as runners
import numpy as np
import pytest
import scipy.sparse as sp
from helpers import TINY

from optimizer.errors import SolverFailed
from optimizer.model import build_model
from optimizer.scenario import load_scenario
from optimizer.solvers import SolveOptions, highs, lagrange, solve_bundle


@pytest.fixture(scope="module")
def bundle():
    return build_model(load_scenario(TINY))


def _alive() -> list:
    """Child interpreters of this process still running (the isolated solves' children are killed)."""
    import psutil

    return [p for p in psutil.Process().children() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            and "_child_main" in " ".join(p.cmdline())]


def test_isolated_solve_gives_the_in_process_answer(bundle):
    opts = SolveOptions(time_limit_s=30, mip_gap=0.0)
    here, there = highs.solve(bundle.milp, opts), highs.solve_isolated(bundle.milp, opts)
    assert there.status == here.status == "optimal"
    assert there.objective == pytest.approx(here.objective, rel=1e-9)
    assert np.allclose(there.x, here.x)
    assert not _alive()


def test_a_stuck_solve_is_abandoned_with_the_plan_it_sent(bundle):
    t = time.perf_counter()
    res = highs.solve_isolated(bundle.milp, SolveOptions(time_limit_s=0.5), runner=runners.plan_then_hang)
    took = time.perf_counter() - t
    assert took < 0.5 + 2 * highs.GRACE_S + 15  # the limit, the grace and the child's start, not an hour
    assert res.status == "feasible" and np.isnan(res.bound)
    assert np.array_equal(res.x, bundle.milp.col_lower)
    assert res.phases[0]["stopped_by"] == "abandoned" and "abandoned" in res.message
    assert not _alive()  # the child was killed
    # and this process can still solve
    assert highs.solve(bundle.milp, SolveOptions(time_limit_s=30)).status == "optimal"


def test_a_stuck_solve_without_a_plan_is_no_solution(bundle):
    res = highs.solve_isolated(bundle.milp, SolveOptions(time_limit_s=0.2), runner=runners.hang)
    assert res.status == "no_solution" and res.x is None
    assert not _alive()


def test_a_failing_or_crashing_child_is_reported(bundle):
    with pytest.raises(SolverFailed, match="still running"):
        highs.solve_isolated(bundle.milp, SolveOptions(time_limit_s=5), runner=runners.fail)
    res = highs.solve_isolated(bundle.milp, SolveOptions(time_limit_s=5), runner=runners.crash)
    assert res.status == "no_solution" and "exit code 3" in res.message
    assert res.phases[0]["stopped_by"] == "solver_failed"


def _busy_highs():
    """A HiGHS solve running in this process on a hard multi-dimensional knapsack, holding highspy's one
    running lock as a solve that ignored its cancel would (for 8 s: its limit; a cancel takes it 20 s here)."""
    import highspy

    rng = np.random.default_rng(0)
    W = rng.integers(20, 100, (6, 80)).astype(float)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 80, 6
    lp.col_cost_ = -(W.mean(0) + rng.integers(-10, 10, 80))
    lp.col_lower_, lp.col_upper_ = np.zeros(80), np.ones(80)
    lp.row_lower_, lp.row_upper_ = np.full(6, -highspy.kHighsInf), W.sum(1) / 2
    A = sp.csc_matrix(W)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * 80
    h = highs.new_highs(False)
    h.passModel(lp)
    h.setOptionValue("time_limit", 8.0)
    h.startSolve()
    return h


def test_a_solve_beside_a_stuck_one_runs_in_a_child_process(bundle):
    """A solve that finds highspy's lock held by an earlier, still running solve does not wait for it (and fail
    if it goes on): it runs in a child process and gives the answer it would have given here."""
    here = highs.solve(bundle.milp, SolveOptions(time_limit_s=30, mip_gap=0.0))
    busy = _busy_highs()
    try:
        assert highs.earlier_solve_running()
        res = highs.solve(bundle.milp, SolveOptions(time_limit_s=30, mip_gap=0.0))
        assert busy.is_solver_running()  # it was still running all along: this solve did not wait for it
    finally:
        waited = time.perf_counter()
        while highs.earlier_solve_running() and time.perf_counter() - waited < 60:  # HiGHS lets go after a while
            busy.wait(timeout=1)
    assert res.status == "optimal" and res.objective == pytest.approx(here.objective, rel=1e-9)
    assert not _alive()
    assert not highs.earlier_solve_running()  # the lock let go: the later tests here solve in process


def test_large_models_go_to_the_isolated_solve(bundle, monkeypatch):
    seen = []
    monkeypatch.setattr(highs, "solve_isolated", lambda m, o: seen.append(m.n_cols) or highs.solve(m, o))
    monkeypatch.setattr(highs, "ISOLATE_COLS", bundle.milp.n_cols)
    solve_bundle(bundle, "highs", SolveOptions(time_limit_s=30))
    assert seen == [bundle.milp.n_cols]


def test_the_engine_keeps_its_bound_when_the_repair_fails(bundle, monkeypatch):
    def failing(*_a, **_k):
        raise SolverFailed("an earlier HiGHS solve in this process is still running")

    good = lagrange.solve(bundle, SolveOptions(time_limit_s=30, mip_gap=0.0))
    monkeypatch.setattr(highs, "solve_abandonable", failing)
    res = lagrange.solve(bundle, SolveOptions(time_limit_s=30, mip_gap=0.0))
    assert res.status == "no_solution" and res.x is None
    # the proven bound survives: the dual's, before any repair (the good run's dual may go on after its first
    # repair and end tighter)
    assert res.bound == pytest.approx(good.phases[0]["bound"], rel=1e-9)
    assert res.bound >= good.bound * (1 - 1e-9)
    assert any(p.get("stopped_by") == "solver_failed" for p in res.phases)


def test_auto_keeps_the_engine_plan_when_highs_fails(bundle, monkeypatch):
    import optimizer.solvers as solvers

    def failing(*_a, **_k):
        raise SolverFailed("an earlier HiGHS solve in this process is still running")

    engine = lagrange.solve(bundle, SolveOptions(time_limit_s=30, mip_gap=0.0), full_repair=False)
    loose = replace(engine, status="feasible", bound=engine.objective * 1.01)  # leaves work for HiGHS
    monkeypatch.setattr(lagrange, "solve", lambda *_a, **_k: loose)
    monkeypatch.setattr(solvers, "solve_milp", failing)
    res = solve_bundle(bundle, "auto", SolveOptions(time_limit_s=30, mip_gap=1e-4))
    assert res.has_plan and res.objective == pytest.approx(engine.objective, rel=1e-12)
    assert res.bound == pytest.approx(loose.bound, rel=1e-12)
    assert res.phases[-1]["stopped_by"] == "solver_failed" and "HiGHS failed" in res.message


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """The child is a fresh interpreter, not multiprocessing's spawn: a user's script that solves at its top
    level (no `if __name__ == "__main__":`) is not re-run by the isolated solve."""
    import subprocess
    import sys

    script = tmp_path / "plan.py"
    script.write_text(
        "import optimizer.solvers.highs as h\n"
        "from optimizer.pipeline import solve_scenario\n"
        "h.ISOLATE_COLS = 1\n"
        f"r = solve_scenario({str(TINY)!r}, solver='highs')\n"
        "print('SOLVED', r.status, r.phases[0]['stopped_by'])\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("SOLVED") == 1 and "SOLVED optimal optimal" in out.stdout


def test_a_run_without_a_plan_reports_the_bound_it_proved(bundle, monkeypatch, capsys, tmp_path):
    """solve_scenario and the console keep the engine's bound when every repair failed."""
    from optimizer.cli import main
    from optimizer.pipeline import solve_scenario

    good = lagrange.solve(bundle, SolveOptions(time_limit_s=30, mip_gap=0.0))

    def failing(*_a, **_k):
        raise SolverFailed("an earlier HiGHS solve in this process is still running")

    monkeypatch.setattr(highs, "solve_abandonable", failing)
    r = solve_scenario(TINY, solver="lagrange", mip_gap=0.0)
    assert r.plan is None and r.status == "no_solution"
    assert r.summary()["bound"] == pytest.approx(good.phases[0]["bound"], rel=1e-9)  # the dual's, as above
    main(["solve", str(TINY), "--solver", "lagrange", "--no-figures", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "no plan" in out and "bound -" not in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["bound"] == pytest.approx(good.phases[0]["bound"], rel=1e-9)


def test_an_interrupted_caller_leaves_no_child_behind(bundle):
    """Ctrl-C (or any error) in the caller while the child works: the child is killed on the way out."""

    def interrupt(_progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        highs.solve_isolated(bundle.milp, SolveOptions(time_limit_s=60, progress=interrupt),
                             runner=runners.plan_then_hang)
    assert not _alive()
