"""`landuse solve --chunk-parcels N` end to end: a scenario folder read in chunks, solved, checked over every
chunk, written whole; the plan it writes meets every rule of the whole scenario; what it cannot do is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from optimizer.bench.synthetic import write_city
from optimizer.cli import main
from optimizer.scenario.load import load_scenario
from optimizer.solution.check import check_plan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return write_city("q1500", tmp_path_factory.mktemp("city") / "city")


def _written(out: Path) -> tuple[dict, pd.DataFrame]:
    return (json.loads((out / "summary.json").read_text(encoding="utf-8")),
            pd.read_csv(out / "assignment.csv", dtype={"parcel_id": str, "industry_id": str}))


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "two-workers"])
def test_chunked_solve_writes_a_plan_that_meets_every_rule(city, tmp_path, capsys, workers):
    out = tmp_path / "out"
    args = ["solve", str(city), "--chunk-parcels", "600", "--time-limit", "60", "--mip-gap", "0.005",
            "--work-limit", "12", "--out", str(out)]
    assert main(args + (["--dual-workers", str(workers)] if workers else [])) == 0
    printed = capsys.readouterr().out
    assert "over 3 chunks" in printed and "check: passed" in printed
    summary, plan = _written(out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["assignment.csv", "summary.json"]
    assert summary["chunks"] == 3 and summary["parcels"] == 1500
    assert summary["chunk_ranges"] == [[0, 500], [500, 1000], [1000, 1500]]
    assert summary["status"] in ("optimal", "feasible") and summary["check"]["passed"]
    assert summary["bound"] >= summary["objective"] > 0
    sc = load_scenario(city)  # the whole scenario, in one process: its rules judge the written plan
    report = check_plan(sc, plan, summary["objective"])
    assert report.passed, report.violations[:5]
    assert plan["parcel_id"].is_unique
    assert report.objective == pytest.approx(sum(summary["chunk_objectives"]), rel=1e-6)


def test_chunked_runs_agree_in_process_and_on_workers(tmp_path):
    sums = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        args = ["solve", str(REPO / "scenarios" / "tiny"), "--chunk-parcels", "2", "--time-limit", "30",
                "--work-limit", "5", "--out", str(out)]
        assert main(args + (["--dual-workers", str(workers)] if workers else [])) == 0
        sums.append(_written(out))
    (a, plan_a), (b, plan_b) = sums
    assert a["bound"] == pytest.approx(b["bound"], rel=1e-9)
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-9)
    pd.testing.assert_frame_equal(plan_a, plan_b)


@pytest.mark.parametrize("extra, words", [
    (["--alternatives", "2"], "--alternatives cannot be used with --chunk-parcels"),
    (["--frontier", "3"], "--frontier cannot be used with --chunk-parcels"),
    (["--solver", "cbc"], "--solver cbc cannot be used"),
])
def test_options_a_chunked_run_cannot_honour_are_refused(tmp_path, capsys, extra, words):
    out = tmp_path / "out"
    assert main(["solve", str(REPO / "scenarios" / "tiny"), "--chunk-parcels", "2", "--out", str(out)] + extra) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_output_per_land_is_refused_before_solving(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["solve", str(REPO / "scenarios" / "qianhai" / "intensive"), "--chunk-parcels", "1000",
                 "--out", str(out)])
    assert code == 2
    assert "cannot be solved in parcel chunks" in capsys.readouterr().err
    assert not out.exists()


def test_bad_chunk_size_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(REPO / "scenarios" / "tiny"), "--chunk-parcels", "0", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--chunk-parcels" in capsys.readouterr().err


def test_an_earlier_output_is_replaced_whole_and_foreign_files_are_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code = main(["solve", str(REPO / "scenarios" / "tiny"), "--chunk-parcels", "2", "--out", str(out)])
    assert code == 2  # a folder holding someone else's file is refused, and left as it was
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
