"""landuse sweep: grids equal one-by-one solves, resume solves only missing runs, seeded samples repeat, bad
specs exit 2 naming the key, a failing task is retried once and then recorded, the local cluster hands out one
run per worker at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from helpers import TINY  # noqa: E402

import optimizer.pipeline as pipeline  # noqa: E402
from optimizer.cli import main  # noqa: E402
from optimizer.scenario import load_scenario  # noqa: E402
from optimizer.sweep import SpecError, parse_spec, plan_runs, sweep, with_parameter  # noqa: E402
from optimizer.sweep.spec import apply_parameters  # noqa: E402

GRID = {"solver": {"mip_gap": 0.0},
        "parameter": [{"path": "industries.finance.output_per_m2", "start": 20000, "stop": 60000, "steps": 4},
                      {"path": "industries.it.max_floor_total_m2", "values": [30000, 60000]}]}
SAMPLED = {"sweep": {"seed": 11}, "solver": {"mip_gap": 0.0},
           "parameter": [{"path": "industries.factory.output_per_m2", "distribution": "triangular",
                          "low": 5000, "mode": 10000, "high": 20000},
                         {"path": "industries.finance.output_per_m2", "distribution": "normal",
                          "mean": 50000, "sd": 8000, "low": 20000, "high": 80000}]}
SPEC_TOML = """[solver]
mip_gap = 0.0

[[parameter]]
path = "industries.finance.output_per_m2"
start = 20000
stop = 60000
steps = 4

[[parameter]]
path = "industries.it.max_floor_total_m2"
values = [30000, 60000]
"""


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                      silence_logs=40) as cl, Client(cl) as client:
        yield cl, client


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


@pytest.fixture
def solves(monkeypatch):
    """Count (and optionally break) pipeline.solve_scenario calls on the workers (threads of this process)."""
    calls: list[dict] = []
    lock = threading.Lock()
    real = pipeline.solve_scenario
    state = {"fail": None}

    def counting(sc, *a, **kw):
        with lock:
            calls.append({"finance": float(sc.industries.set_index("industry_id").loc["finance", "output_per_m2"])})
        if state["fail"] is not None:
            state["fail"](sc, calls)
        return real(sc, *a, **kw)

    monkeypatch.setattr(pipeline, "solve_scenario", counting)
    return calls, state


def test_grid_equals_one_by_one(cluster, tiny):
    df = sweep(tiny, GRID, client=cluster[1])
    assert len(df) == 8 and (df["status"] == "optimal").all()
    runs = plan_runs(tiny, parse_spec(GRID))
    for r, row in zip(runs, df.itertuples(index=False), strict=True):
        one = pipeline.solve_scenario(apply_parameters(tiny, r), mip_gap=0.0)
        assert row.objective == pytest.approx(one.plan.objective, rel=1e-9)
    # the compact assignment: industry position per parcel, -1 empty (P5 is parkland)
    assert df["assignment"].str.split().map(len).eq(tiny.n_parcels).all()
    assert df["assignment"].str.endswith("-1").all()


def test_the_specs_work_limit_reaches_every_run(cluster, tiny, monkeypatch):
    """[solver] work_limit_s: every run solves with it (the same plans however busy the workers are)."""
    seen: list = []
    real = pipeline.solve_scenario

    def spy(sc, *a, **kw):
        seen.append(kw.get("work_limit_s"))
        return real(sc, *a, **kw)

    monkeypatch.setattr(pipeline, "solve_scenario", spy)
    df = sweep(tiny, {**GRID, "solver": {"mip_gap": 0.0, "work_limit_s": 4.0}}, client=cluster[1])
    assert len(seen) == 8 and set(seen) == {4.0} and (df["status"] == "optimal").all()


def test_cli_resume_solves_only_missing_runs(cluster, tiny, solves, tmp_path, capsys):
    calls, _ = solves
    spec = tmp_path / "sweep.toml"
    spec.write_text(SPEC_TOML, encoding="utf-8")
    out = tmp_path / "out"
    args = ["sweep", str(TINY), "--spec", str(spec), "--out", str(out), "--scheduler", cluster[0].scheduler_address]
    assert main(args) == 0
    assert len(calls) == 8
    for name in ("sweep.csv", "tornado.png", "robustness.csv", "robustness.png", "robust_core.geojson",
                 "report.html", ".landuse-output.json"):
        assert (out / name).is_file(), name
    first = pd.read_csv(out / "sweep.csv")
    parts = sorted((out / "runs").glob("run_*.csv"))
    assert len(parts) == 8
    for p in parts[:3]:
        p.unlink()
    assert main([*args, "--resume"]) == 0
    assert len(calls) == 8 + 3
    again = pd.read_csv(out / "sweep.csv")
    assert len(list((out / "runs").glob("run_*.csv"))) == 8
    pd.testing.assert_series_equal(first["objective"], again["objective"])
    # an interrupted sweep: parts in the cache beside the output folder, no output yet
    out2 = tmp_path / "out2"
    cache = tmp_path / ".out2.sweep-runs"
    cache.mkdir()
    for p in sorted((out / "runs").glob("run_*.csv"))[:5]:
        (cache / p.name).write_bytes(p.read_bytes())
    n = len(calls)
    assert main(["sweep", str(TINY), "--spec", str(spec), "--out", str(out2), "--scheduler",
                 cluster[0].scheduler_address, "--resume"]) == 0
    assert len(calls) - n == 3
    assert not cache.exists() and len(pd.read_csv(out2 / "sweep.csv")) == 8
    # a cut spec (fewer runs) resumes from the earlier output with no solve at all
    spec.write_text(SPEC_TOML.replace("values = [30000, 60000]", "values = [30000]"), encoding="utf-8")
    n = len(calls)
    assert main([*args, "--resume"]) == 0
    assert len(calls) == n and len(pd.read_csv(out / "sweep.csv")) == 4
    assert "sweep:" in capsys.readouterr().err


def test_same_seed_same_samples_and_results(cluster, tiny, tmp_path):
    a = sweep(tiny, SAMPLED, client=cluster[1], samples=6)
    b = sweep(tiny, SAMPLED, client=cluster[1], samples=6)
    cols = [c for c in a.columns if c != "solve_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    c = sweep(tiny, {**SAMPLED, "sweep": {"seed": 12}}, client=cluster[1], samples=6)
    assert not np.allclose(a["p:industries.factory.output_per_m2"], c["p:industries.factory.output_per_m2"])
    fin = a["p:industries.finance.output_per_m2"]
    assert ((fin >= 20000) & (fin <= 80000)).all()
    # uncertainty outputs through the CLI: percentiles and per-parcel probabilities
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nseed = 3\n[[parameter]]\npath = "industries.factory.output_per_m2"\n'
                    'distribution = "uniform"\nlow = 5000\nhigh = 20000\n', encoding="utf-8")
    out = tmp_path / "u"
    assert main(["sweep", str(TINY), "--spec", str(spec), "--out", str(out), "--samples", "5", "--no-figures",
                 "--scheduler", cluster[0].scheduler_address]) == 0
    pct = pd.read_csv(out / "percentiles.csv").set_index("kpi")
    assert pct.loc["output_yuan", "p5"] <= pct.loc["output_yuan", "p50"] <= pct.loc["output_yuan", "p95"]
    rob = pd.read_csv(out / "robustness.csv")
    assert {"prob_finance", "prob_it", "prob_factory", "share_developed", "top_industry"} <= set(rob.columns)


@pytest.mark.parametrize("param, key", [
    ({"path": "industries.finanse.output_per_m2", "values": [1.0]}, "parameter[1].path"),
    ({"path": "rules.budget", "values": [1.0]}, "parameter[1].path"),
    ({"path": "industries.it.output_per_m2", "distribution": "uniform", "low": 1.0}, "parameter[1].high"),
    ({"path": "industries.it.output_per_m2", "distribution": "normal", "mean": 1.0, "sd": 1.0},
     "parameter[1].low"),
    ({"path": "industries.it.output_per_m2", "start": 1.0, "stop": 2.0, "steps": 0}, "parameter[1].steps"),
    ({"path": "industries.it.max_share", "values": [0.5, 1.5]}, "parameter[1]"),
    ({"path": "industries.it.output_per_m2", "values": ["high"]}, "parameter[1].values"),
])
def test_bad_spec_exits_2_naming_the_key(tmp_path, capsys, param, key):
    lines = ["[[parameter]]"] + [f"{k} = {_toml(v)}" for k, v in param.items()]
    spec = tmp_path / "bad.toml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["sweep", str(TINY), "--spec", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and f"'{key}" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def _toml(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def test_with_parameter_checks_and_copies(tiny):
    sc = with_parameter(tiny, "industries.it.output_per_m2", 1234.0)
    assert sc.industries.set_index("industry_id").loc["it", "output_per_m2"] == 1234.0
    assert tiny.industries.set_index("industry_id").loc["it", "output_per_m2"] == 30000.0
    assert with_parameter(tiny, "rules.total_budget_yuan", 1e9).rules.total_budget_yuan == 1e9
    assert with_parameter(tiny, "objective.min_total_output_yuan", 1e9).objective.min_total_output_yuan == 1e9
    for path, v in [("industries.it.output_per_m2", -1.0), ("industries.it.output_per_m2", True),
                    ("industries.it.min_sites", 1.5), ("subarea_mix.1.min_share", 0.5),
                    ("industries.it.far_min", 50.0)]:
        with pytest.raises(SpecError):
            with_parameter(tiny, path, v)


def test_failing_task_retried_once_then_recorded(cluster, tiny, solves):
    calls, state = solves
    flaky: set = set()

    def fail(sc, seen):
        fin = float(sc.industries.set_index("industry_id").loc["finance", "output_per_m2"])
        if fin == 20000.0:
            raise RuntimeError("boom on purpose")
        if fin == 60000.0 and fin not in flaky:
            flaky.add(fin)
            raise RuntimeError("once only")

    state["fail"] = fail
    df = sweep(tiny, GRID, client=cluster[1])
    assert len(df) == 8
    bad = df[df["p:industries.finance.output_per_m2"] == 20000.0]
    assert (bad["status"] == "failed").all() and bad["error"].str.contains("boom on purpose").all()
    assert sum(c["finance"] == 20000.0 for c in calls) == 4  # 2 runs x (first try + one retry)
    assert sum(c["finance"] == 60000.0 for c in calls) == 3  # one run failed once, then both solved
    assert (df.loc[df["p:industries.finance.output_per_m2"] != 20000.0, "status"] == "optimal").all()


def test_sweep_is_not_imported_by_the_package():
    import subprocess
    import sys

    code = ("import optimizer, optimizer.pipeline, optimizer.cli, sys; optimizer.cli.build_parser(); "
            "print('dask' in sys.modules or 'distributed' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(TINY).parents[1])
    assert r.stdout.strip() == "False"


def test_killing_a_worker_mid_sweep_still_gives_every_run(tiny):
    import os
    import signal

    from distributed import Client, LocalCluster

    from optimizer.sweep.run import execute

    spec = parse_spec({"solver": {"mip_gap": 0.0}, "parameter": [
        {"path": "industries.finance.output_per_m2", "start": 20000, "stop": 60000, "steps": 12},
        {"path": "industries.it.max_floor_total_m2", "values": [30000, 45000, 60000]}]})
    runs = plan_runs(tiny, spec)
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cl, Client(cl) as client:
        pids = sorted(client.run(os.getpid).values())

        def kill_one(prog):
            if not killed and prog.new == 2:
                os.kill(pids[0], signal.SIGKILL)  # a worker process this test started
                killed.append(pids[0])

        df = execute(tiny, spec, runs, client, progress=kill_one)
    assert killed and len(df) == len(runs) == 36
    assert (df["status"] == "optimal").all()


def test_local_cluster_hands_out_one_run_per_worker_and_keeps_its_cores_for_solving(monkeypatch):
    import os
    import sys

    import dask

    from optimizer.sweep.run import local_client

    # an earlier cluster with distributed's default config puts the variable into this process's environment,
    # which a worker would inherit
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dask.config.get("distributed.scheduler.worker-saturation")
    with local_client(1) as client:
        saturation = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION)
        seen = client.run(lambda: (dask.config.get("distributed.worker.profile.enabled"),
                                   "optimizer.pipeline" in sys.modules, "highspy" in sys.modules,
                                   os.environ.get("MALLOC_TRIM_THRESHOLD_")))
    assert saturation == 1.0
    # profiler off, pipeline imported, and glibc's dynamic mmap threshold left on (no MALLOC_TRIM_THRESHOLD_)
    assert list(seen.values()) == [(False, True, True, None)]
    assert dask.config.get("distributed.scheduler.worker-saturation") == before  # this process's config restored
