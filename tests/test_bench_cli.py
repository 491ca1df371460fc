"""`landuse bench ...` end to end, the harness's report, and the baselines (PuLP model, greedy, LP bound)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optimizer import cli
from optimizer.bench import baselines as bl
from optimizer.bench.gap import gap_scenario, read_gap
from optimizer.bench.harness import best_valid_bound, build_speed, quality_gap
from optimizer.bench.synthetic import synthetic_city
from optimizer.model import build_model, eligible_pairs
from optimizer.pipeline import solve_scenario
from optimizer.scenario import load_scenario
from optimizer.solvers import available_solvers

REPO = Path(__file__).resolve().parents[1]
GAP_DIR = REPO / "benchmarks" / "gap"
needs_cbc = pytest.mark.skipif("cbc" not in available_solvers(), reason="CBC not available")


@pytest.fixture(scope="module")
def city():
    sc = synthetic_city(120)
    pairs = eligible_pairs(sc)
    return sc, pairs, build_model(sc, pairs)


@pytest.fixture(scope="module")
def city_optimum(city):
    return solve_scenario(city[0], solver="highs", mip_gap=0.0, time_limit_s=60)


# --- bench gap ----------------------------------------------------------------------------------------------
def test_bench_gap_prints_rows_and_writes_json(tmp_path, capsys):
    out = tmp_path / "gap.json"
    code = cli.main(["bench", "gap", str(GAP_DIR / "gap1.txt"), "--sense", "min", "--problems", "1", "2",
                     "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["file", "problem", "sense", "objective", "bound", "status", "seconds"]
    rows = json.loads(out.read_text())
    assert [list(r) for r in rows] == [["file", "problem", "sense", "objective", "bound", "status", "seconds"]] * 2
    assert [(r["problem"], r["sense"], r["objective"], r["status"]) for r in rows] == [
        (1, "min", 261, "optimal"), (2, "min", 269, "optimal")]
    assert all(r["bound"] == pytest.approx(r["objective"], abs=0.5) and r["seconds"] > 0 for r in rows)


def test_bench_gap_verify_against_readme(tmp_path, capsys):
    code = cli.main(["bench", "gap", str(GAP_DIR / "gap1.txt"), "--sense", "both", "--problems", "3", "--verify"])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 of 2 match the published optima" in out
    # a wrong table makes the check fail with exit code 1
    fake = tmp_path / "README.md"
    fake.write_text("| gap1.txt | 3 | c515-3 | 5 | 15 | 340 | 256 |\n")
    code = cli.main(["bench", "gap", str(GAP_DIR / "gap1.txt"), "--sense", "max", "--problems", "3",
                     "--optima", str(fake)])
    assert code == 1
    assert "0 of 1 match" in capsys.readouterr().out


def test_bench_gap_malformed_file_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1\n2 3\n1 2 3\n")
    proc = subprocess.run([sys.executable, "-m", "optimizer.cli", "bench", "gap", str(bad)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.txt" in proc.stderr and "needs 14 numbers" in proc.stderr


# --- bench run ----------------------------------------------------------------------------------------------
def test_bench_run_writes_report_and_results(tmp_path, capsys):
    out = tmp_path / "res"
    code = cli.main(["bench", "run", "--sizes", "200", "--solvers", "highs", "nosuch", "--time-limit", "30",
                     "--mip-gap", "1e-3", "--out", str(out)])
    assert code == 1  # the unknown backend is an error row, not a crash
    res = json.loads((out / "results.json").read_text())
    assert res["machine"]["cpu_count"] >= 1 and res["versions"]["numpy"] and res["versions"]["highspy"]
    (size,) = res["sizes"]
    assert size["case"] == "n200" and size["n_parcels"] == 200 and size["n_pairs"] > 200
    assert {"generate", "load", "access", "eligibility", "build", "pulp_build", "greedy_density",
            "greedy_per_yuan", "lp", "solve:highs", "write:highs"} <= set(size["phases_s"])
    assert all(v > 0 for v in size["peak_mb"].values())
    highs = size["solvers"]["highs"]
    assert highs["status"] == "optimal" and highs["check_passed"]
    assert {"eligibility_s", "build_s", "solve_s", "check_s"} <= set(highs["timings_s"])
    assert 0 <= highs["gap_to_best_bound"] <= 1e-3 + 1e-9
    assert size["solvers"]["nosuch"]["status"] == "error" and "nosuch" in size["solvers"]["nosuch"]["message"]
    b = size["baselines"]
    assert b["build_speedup"] > 1 and b["pulp_build_s"] > 0
    assert b["lp"]["bound"] >= highs["objective"] - 1e-6 * abs(highs["objective"])
    for g in b["greedy"].values():
        assert g["feasible"] and g["objective"] <= size["best_bound"] and g["gap_to_best_bound"] >= 0
    report = (out / "report.md").read_text()
    for needle in ("## Backends", "| n200 | highs | optimal", "## Baselines", "CPUs", "numpy", "phases.png",
                   "gap_vs_time.png", "VmHWM"):
        assert needle in report, needle
    assert (out / "phases.png").stat().st_size > 1000 and (out / "gap_vs_time.png").stat().st_size > 1000
    assert "[n200]" in capsys.readouterr().out


def test_bench_run_rejects_unknown_size(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "run", "--sizes", "s7k"])
    assert exc.value.code == 2
    assert "unknown case 's7k'" in capsys.readouterr().err


def test_bench_generate_writes_a_loadable_folder(tmp_path, capsys):
    assert cli.main(["bench", "generate", "150", "--out", str(tmp_path / "c"), "--seed", "2"]) == 0
    sc = load_scenario(tmp_path / "c")
    assert sc.n_parcels == 150 and sc.network is not None and sc.rules.access_rules


def test_build_speed_cli(capsys):
    assert cli.main(["bench", "build-speed", "--parcels", "1500"]) == 0
    out = capsys.readouterr().out
    assert "our builder" in out and "idiomatic PuLP" in out and "faster" in out


def test_build_speed_numbers():
    """Both builders run the same number of times; the ratio is of their medians, the first runs' ratio beside."""
    r = build_speed(2000, 12, repeats=3)
    assert r["n_pairs"] > 2000 and r["repeats"] == 3
    assert len(r["ours_runs_s"]) == len(r["pulp_runs_s"]) == 3
    assert r["ours_build_s"] == pytest.approx(float(np.median(r["ours_runs_s"])))
    assert r["pulp_build_s"] == pytest.approx(float(np.median(r["pulp_runs_s"])))
    assert r["ratio"] == pytest.approx(r["pulp_build_s"] / r["ours_build_s"])
    assert r["first_run_ratio"] == pytest.approx(r["pulp_runs_s"][0] / r["ours_runs_s"][0])


# --- harness helpers ----------------------------------------------------------------------------------------
def test_best_bound_drops_invalid_and_widens_tolerance_bounds():
    runs = {"a": {"status": "feasible", "objective": 100.0, "bound": 104.0},
            "b": {"status": "optimal", "objective": 101.0, "bound": 101.0},  # within a 1% gap tolerance
            "c": {"status": "feasible", "objective": 99.0, "bound": 100.5}}  # beaten by b's plan: invalid
    bound, notes = best_valid_bound("maximize", runs, {"lp": {"bound": 110.0}}, mip_gap=0.01)
    assert bound == pytest.approx(102.01)
    assert any("c bound" in n and "not a valid bound" in n for n in notes)
    assert any(n.startswith("b reported its objective") for n in notes)
    bound, _ = best_valid_bound("maximize", runs, {}, mip_gap=0.0)
    assert bound == 101.0  # c's 100.5 is still beaten by b's plan
    assert quality_gap("maximize", 100.0, 102.0) == pytest.approx(0.02)
    assert quality_gap("minimize", 102.0, 100.0) == pytest.approx(2 / 102)
    assert quality_gap("maximize", None, 1.0) is None


# --- baselines ----------------------------------------------------------------------------------------------
def test_pulp_model_has_the_same_rows_and_optimum(city, city_optimum):
    sc, pairs, bundle = city
    pm = bl.pulp_model(sc, pairs)
    assert len(pm.x) == len(pm.f) == len(pairs)
    structural = sum(b.size for b in bundle.milp.blocks if b.family not in ("total_floor", "subarea_floor"))
    assert pm.n_constraints == structural
    got = bl.solve_pulp(pm, time_limit_s=60, mip_gap=0.0)
    assert got["status"] == "optimal"
    # unscaled (m², yuan) and solved by CBC: equal to a relative 1e-4, not to the last digit
    assert got["objective"] == pytest.approx(city_optimum.plan.objective, rel=1e-4)


def test_pulp_model_on_gap_reaches_the_published_optimum():
    sc = gap_scenario(read_gap(GAP_DIR / "gap1.txt")[1], "min")
    got = bl.solve_pulp(bl.pulp_model(sc, eligible_pairs(sc)), mip_gap=0.0)
    assert got["objective"] == pytest.approx(269)


@pytest.mark.parametrize("key", bl.GREEDY_KEYS)
def test_greedy_is_feasible_and_below_the_optimum(city, city_optimum, key):
    sc, pairs, _ = city
    g = bl.greedy_plan(sc, pairs, key)
    assert g.feasible, g.violations[:5]
    assert 0 < g.objective <= city_optimum.plan.objective * (1 + 1e-9)
    assert g.assignment["parcel_id"].is_unique
    assert g.objective == pytest.approx(g.assignment["output_yuan"].sum(), rel=1e-9)
    if key == "per_yuan":  # the budget binds in the synthetic city: ranking by output per yuan is near-optimal
        assert g.objective >= 0.95 * city_optimum.plan.objective


def test_greedy_unknown_key(city):
    with pytest.raises(ValueError, match="unknown greedy key"):
        bl.greedy_plan(city[0], city[1], "random")


def test_greedy_on_gap_assigns_every_job_within_capacity():
    p = read_gap(GAP_DIR / "gap1.txt")[0]
    g = bl.greedy_plan(gap_scenario(p, "max"), eligible_pairs(gap_scenario(p, "max")))
    if g.feasible:  # a greedy may paint itself into a corner; when it does not, it must be a real GAP answer
        assert len(g.assignment) == 15 and g.objective <= 336
    else:
        assert any("must be developed" in v for v in g.violations)


def test_lp_bound_is_a_valid_bound(city, city_optimum):
    _, _, bundle = city
    lp = bl.lp_bound(bundle)
    assert lp["status"] == "optimal"
    assert lp["bound"] >= city_optimum.plan.objective * (1 - 1e-9)
    assert lp["bound"] <= city_optimum.plan.objective * 1.05  # relaxation is not wildly loose on this city
    assert np.isfinite(lp["seconds"])


def test_run_size_in_process_without_baselines():
    from optimizer.bench.harness import run_size

    r = run_size(150, ["highs"], time_limit_s=30, mip_gap=1e-3, baselines=False, echo=lambda s: None, isolate=False)
    assert r["baselines"] == {} and r["solvers"]["highs"]["status"] == "optimal"
    assert r["best_bound"] >= r["solvers"]["highs"]["objective"]
    assert {"solve:highs", "write:highs"} <= set(r["phases_s"])


def test_case_help_matches_registry():
    from optimizer.bench.cli import CASE_HELP
    from optimizer.bench.synthetic import CASES

    assert CASE_HELP.startswith(", ".join(CASES) + " ")


def test_bench_commands_do_not_slow_down_help():
    code = "import sys; from optimizer import cli; cli.build_parser(); print('optimizer.bench.synthetic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout.strip() == "False"
