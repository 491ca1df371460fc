"""The `landuse` command line end to end: outputs, exit codes, time limits, atomic output folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from helpers import (
    REPO,
    TINY,
    TINY_OPTIMUM_YUAN,
    frames_from,
    industry,
    parcel,
    random_instance,
    write_scenario_folder,
)

from optimizer import cli
from optimizer.pipeline import solve_scenario
from optimizer.report import write as report_write
from optimizer.report.write import write_outputs, write_summary, write_tables
from optimizer.solvers import cbc

needs_cbc = pytest.mark.skipif(not cbc.available(), reason="CBC (pulp's bundled binary) is not available")
SUMMARY_KEYS = {"status", "objective", "bound", "gap", "solver", "build_s", "solve_s", "check", "kpis"}


def run_cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "optimizer.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def strict_json(path):
    def no_constant(name):
        raise ValueError(f"summary.json holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constant)


def check_tiny_outputs(out, solver):
    assert (out / "assignment.csv").is_file()
    assert (out / "summary.json").is_file()
    s = strict_json(out / "summary.json")
    assert SUMMARY_KEYS <= set(s)
    assert s["status"] == "optimal"
    assert s["solver"] == solver
    assert s["objective"] == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)
    assert s["bound"] == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)
    assert s["gap"] == pytest.approx(0.0, abs=1e-6)
    assert s["build_s"] >= 0 and s["solve_s"] >= 0
    assert s["check"]["passed"] is True and s["check"]["violations"] == []
    assert s["kpis"]["total_output_yuan"] == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)
    assert s["kpis"]["parcels_developed"] == 4 and s["kpis"]["parcels_total"] == 5
    # jobs by hand: 0.05 × 50,000 + 0.05 × 55,000 + 0.03 × 60,000 = 7,050
    assert s["kpis"]["jobs"] == pytest.approx(7_050.0)
    a = pd.read_csv(out / "assignment.csv")
    assert dict(zip(a["parcel_id"], a["industry_id"], strict=True)) == {"P1": "finance", "P2": "it", "P3": "factory", "P4": "it"}
    assert dict(zip(a["parcel_id"], a["floor_area_m2"], strict=True)) == pytest.approx(
        {"P1": 50_000, "P2": 40_000, "P3": 60_000, "P4": 15_000})
    assert a["output_yuan"].sum() == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)


def test_solve_tiny_with_highs(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("solve", TINY, "--out", out, "--solver", "highs")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "optimal with highs" in proc.stdout and "4.750 bn" in proc.stdout
    check_tiny_outputs(out, "highs")


@needs_cbc
def test_solve_tiny_with_cbc(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("solve", TINY, "--out", out, "--solver", "cbc", "--no-figures")
    assert proc.returncode == 0, proc.stderr
    check_tiny_outputs(out, "cbc")


def stale_writer(result, folder):
    (folder / "stale.txt").write_text("old run")


def test_solve_in_process_replaces_an_old_output_folder(tmp_path, tiny_result, capsys):
    out = tmp_path / "out"
    write_outputs(tiny_result, out, writers=[write_summary, stale_writer])  # an earlier output of the tool
    assert (out / "stale.txt").is_file()
    rc = cli.main(["solve", str(TINY), "--out", str(out), "--no-figures", "--mip-gap", "0"])
    assert rc == 0
    assert not (out / "stale.txt").exists()
    check_tiny_outputs(out, "highs")
    assert f"wrote {out}" in capsys.readouterr().out


def moderate_folder(tmp_path):
    config, frames = random_instance(11, n_parcels=150, n_industries=6)
    return write_scenario_folder(tmp_path / "moderate", config, frames)


@pytest.mark.parametrize("solver", ["highs", pytest.param("cbc", marks=needs_cbc)])
def test_time_limit_zero_never_crashes(tmp_path, solver):
    folder = moderate_folder(tmp_path)
    out = tmp_path / "out"
    proc = run_cli("solve", folder, "--out", out, "--solver", solver, "--time-limit", "0", "--no-figures")
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 5), proc.stderr
    s = strict_json(out / "summary.json")
    assert s["status"] in ("optimal", "feasible", "no_solution")
    if proc.returncode == 0:
        assert s["status"] in ("optimal", "feasible")
        assert s["check"]["passed"] is True
        assert (out / "assignment.csv").is_file()
    else:
        assert s["status"] == "no_solution"
        assert s["objective"] is None
        assert not (out / "assignment.csv").exists()


def test_infeasible_scenario_exit_code(tmp_path):
    frames = frames_from([parcel("P1", 1000, "B", 2, must_develop=True)], [industry("k", 10, "M", 1, 2)])
    folder = write_scenario_folder(tmp_path / "sc", {"scenario": {"name": "inf"}}, frames)
    out = tmp_path / "out"
    proc = run_cli("solve", folder, "--out", out, "--no-figures")
    assert proc.returncode == 3
    assert "parcel P1 must be developed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    proc = run_cli("validate", folder)
    assert proc.returncode == 3 and "parcel P1 must be developed" in proc.stdout


def test_bad_scenario_exit_code(tmp_path, capsys):
    frames = frames_from([parcel("P1", -1000, "B", 2)], [industry("k", 10, "B", 1, 2)])
    folder = write_scenario_folder(tmp_path / "sc", {"scenario": {"name": "bad"}}, frames)
    rc = cli.main(["solve", str(folder), "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "parcels.csv, row 2, field 'area_m2'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_solver_is_a_usage_error(tmp_path):
    proc = run_cli("solve", TINY, "--out", tmp_path / "out", "--solver", "gurobi")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr and "Traceback" not in proc.stderr


# --- atomic output folders ---------------------------------------------------------------------------------------
def boom(result, folder):
    (folder / "half.txt").write_text("half written")
    raise OSError("disk full")


def leftovers(parent, name):
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


def test_failed_write_leaves_no_folder(tmp_path, tiny_result):
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write_outputs(tiny_result, out, writers=[write_summary, boom, write_tables])
    assert not out.exists()
    assert leftovers(tmp_path, "out") == []


def test_failed_write_keeps_the_old_content(tmp_path, tiny_result):
    out = tmp_path / "out"
    write_outputs(tiny_result, out, writers=[write_summary, write_tables])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OSError):
        write_outputs(tiny_result, out, writers=[boom])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path, "out") == []


def test_cli_write_failure_midway_leaves_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(report_write, "write_tables", boom)  # default_writers looks the writers up by name
    out = tmp_path / "out"
    rc = cli.main(["solve", str(TINY), "--out", str(out), "--no-figures"])
    assert rc == 1
    assert "disk full" in capsys.readouterr().err
    assert not out.exists()
    assert leftovers(tmp_path, "out") == []


def test_unwritable_out_is_a_message_not_a_traceback(tmp_path, capsys):
    # regression: cli.main caught only LanduseError, so this ended in a FileExistsError traceback
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    rc = cli.main(["solve", str(TINY), "--out", str(blocker / "out"), "--no-figures"])
    assert rc == 2  # a refused --out is bad input
    err = capsys.readouterr().err
    assert err.startswith("landuse: error: output folder") and "file.txt" in err and "Traceback" not in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o077, 0o700)])
def test_output_folder_respects_umask(tmp_path, tiny_result, umask, mode):
    # regression: atomic_folder renamed a tempfile.mkdtemp folder (mode 0700) into place, ignoring the umask
    old = os.umask(umask)
    try:
        out = write_outputs(tiny_result, tmp_path / "out", writers=[write_summary])
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == mode


def test_solve_scenario_accepts_a_folder():
    result = solve_scenario(TINY, solver="highs")
    assert result.plan.objective == pytest.approx(TINY_OPTIMUM_YUAN, rel=1e-6)
    assert result.summary()["scenario"] == "tiny"
