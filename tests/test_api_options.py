"""Scripts and notebooks get the same option checks as the command line (BadOption, exit code 2)."""

from __future__ import annotations

import pytest
from helpers import TINY

from optimizer.errors import BadOption
from optimizer.pipeline import solve_scenario


@pytest.mark.parametrize("kwargs, words", [
    ({"time_limit_s": float("nan")}, "time limit"), ({"time_limit_s": float("inf")}, "time limit"),
    ({"time_limit_s": -1.0}, "time limit"), ({"mip_gap": -1.0}, "MIP gap"), ({"mip_gap": 1.5}, "MIP gap"),
    ({"threads": 2.7}, "threads"), ({"threads": -5}, "threads"), ({"solver": "gurobi"}, "unknown solver"),
    ({"work_limit_s": -1.0}, "work limit"), ({"work_limit_s": float("inf")}, "work limit"),
    ({"work_limit_s": 5.0, "solver": "cbc"}, "CBC stops on its time limit only"),
])
def test_bad_options_are_refused_before_solving(kwargs, words):
    with pytest.raises(BadOption, match=words) as err:
        solve_scenario(TINY, **kwargs)
    assert err.value.exit_code == 2


def test_good_options_solve():
    result = solve_scenario(TINY, solver="highs", time_limit_s=30, mip_gap=0.0, threads=1)
    assert result.status == "optimal" and result.check.passed


def test_a_work_limit_comes_from_the_flag_or_the_scenario_and_is_recorded(tmp_path, capsys):
    """--work-limit (else the scenario's solver.work_limit_s) reaches every solver call, is recorded in
    summary.json's options, and a bad value in scenario.toml names the file and the key."""
    import json
    import shutil

    from optimizer.cli import main

    assert main(["solve", str(TINY), "--out", str(tmp_path / "a"), "--solver", "auto", "--work-limit", "7",
                 "--no-figures", "--no-analysis"]) == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    assert summary["options"]["work_limit_s"] == 7.0 and summary["check"]["passed"]
    plain = solve_scenario(TINY, solver="highs")
    assert plain.options.work_limit_s is None and plain.summary()["options"]["work_limit_s"] is None

    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    assert "[solver]" in text
    toml.write_text(text.replace("[solver]", "[solver]\nwork_limit_s = 3.5"), encoding="utf-8")
    got = solve_scenario(folder, solver="highs")
    assert got.options.work_limit_s == 3.5 and got.check.passed
    assert solve_scenario(folder, solver="highs", work_limit_s=9.0).options.work_limit_s == 9.0  # the flag wins
    assert solve_scenario(folder, solver="cbc").options.work_limit_s is None  # a default CBC has no use for
    toml.write_text(text.replace("[solver]", "[solver]\nwork_limit_s = -2"), encoding="utf-8")
    capsys.readouterr()
    assert main(["solve", str(folder), "--out", str(tmp_path / "b"), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "scenario.toml" in err and "solver.work_limit_s" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()
