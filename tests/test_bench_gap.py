"""OR-Library GAP files: parsing (both layouts, clear errors), conversion to a scenario, published optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizer.bench.gap import gap_scenario, parse_gap, read_gap, reference_optima, solve_gap
from optimizer.errors import ScenarioError
from optimizer.pipeline import solve_scenario
from optimizer.solvers import available_solvers

GAP_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "gap"
OPTIMA = reference_optima(GAP_DIR / "README.md")
SOLVERS = [s for s in ("highs", "cbc") if s in available_solvers()]

# gap1.txt, problem 1, as printed in the file
GAP1_P1_FIRST_VALUES = [17, 21, 22, 18, 24, 15, 20, 18, 19, 18, 16, 22, 24, 24, 16]
GAP1_P1_CAPACITIES = [36, 34, 38, 27, 33]


def _single_problem_text(problem) -> str:
    """A single-problem file (no leading count) holding `problem`."""
    m, n = problem.values.shape
    lines = [f"{m} {n}"]
    lines += [" ".join(str(int(v)) for v in row) for row in problem.values]
    lines += [" ".join(str(int(v)) for v in row) for row in problem.resources]
    lines.append(" ".join(str(int(v)) for v in problem.capacities))
    return "\n".join(lines) + "\n"


def _gap_objective(problem, plan) -> tuple[float, np.ndarray]:
    """GAP objective and resource use per agent recomputed from the raw matrices and the assignment table."""
    agent = plan["industry_id"].str[1:].astype(int).to_numpy() - 1
    job = plan["parcel_id"].str[1:].astype(int).to_numpy() - 1
    used = np.bincount(agent, weights=problem.resources[agent, job], minlength=problem.n_agents)
    return float(problem.values[agent, job].sum()), used


def test_reference_table_has_all_120_optima():
    assert len(OPTIMA) == 120
    assert OPTIMA[("gap1.txt", 1, "max")] == 336 and OPTIMA[("gap1.txt", 1, "min")] == 261
    assert OPTIMA[("gap12.txt", 5, "max")] == 1446 and OPTIMA[("gap12.txt", 5, "min")] == 945


def test_parse_multi_problem_file():
    problems = read_gap(GAP_DIR / "gap1.txt")
    assert len(problems) == 5
    p = problems[0]
    assert p.values.shape == p.resources.shape == (5, 15)
    assert p.values[0].tolist() == GAP1_P1_FIRST_VALUES
    assert p.capacities.tolist() == GAP1_P1_CAPACITIES
    sizes = {f"gap{i}.txt": read_gap(GAP_DIR / f"gap{i}.txt")[0].values.shape for i in (5, 9, 12)}
    assert sizes == {"gap5.txt": (8, 24), "gap9.txt": (10, 30), "gap12.txt": (10, 60)}


def test_parse_single_problem_file_detects_missing_count(tmp_path):
    p1 = read_gap(GAP_DIR / "gap1.txt")[0]
    path = tmp_path / "single.txt"
    path.write_text(_single_problem_text(p1))
    (q,) = read_gap(path)
    assert np.array_equal(q.values, p1.values)
    assert np.array_equal(q.resources, p1.resources)
    assert np.array_equal(q.capacities, p1.capacities)


def test_conversion_maps_jobs_agents_values_and_capacities():
    p = read_gap(GAP_DIR / "gap1.txt")[0]
    sc = gap_scenario(p, "min")
    assert sc.n_parcels == 15 and sc.n_industries == 5
    assert sc.parcels["must_develop"].all()
    assert (sc.parcels["area_m2"] == 1).all() and (sc.parcels["far_max"] == 1).all()
    assert (sc.industries[["output_per_m2", "far_min", "far_max"]] == 1).all().all()
    assert sc.objective.sense == "minimize"
    assert sc.rules.industry_budget_yuan == {f"a{i + 1}": float(b) for i, b in enumerate(GAP1_P1_CAPACITIES)}
    pairs = sc.pairs.set_index(["industry_id", "parcel_id"])
    assert pairs.loc[("a1", "j2"), "value_multiplier"] == 21
    assert pairs.loc[("a2", "j1"), "cost_yuan"] == p.resources[1, 0]
    assert len(sc.pairs) == 75


@pytest.mark.parametrize("sense", ["max", "min"])
def test_plan_objective_is_the_gap_objective(sense):
    """The plan's yuan objective equals the GAP objective recomputed from the raw matrices; capacities hold."""
    p = read_gap(GAP_DIR / "gap1.txt")[0]
    res = solve_scenario(gap_scenario(p, sense), solver="highs", mip_gap=0.0, time_limit_s=60)
    table = res.plan.assignment
    assert sorted(table["parcel_id"]) == sorted(f"j{j + 1}" for j in range(15))  # every job exactly once
    objective, used = _gap_objective(p, table)
    assert objective == pytest.approx(res.plan.objective, abs=1e-6)
    assert objective == OPTIMA[("gap1.txt", 1, sense)]
    assert (used <= p.capacities + 1e-9).all()


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("file,problem", [("gap1.txt", 1), ("gap12.txt", 5)])
@pytest.mark.parametrize("sense", ["max", "min"])
def test_published_optima_sample(file, problem, sense, solver):
    (row,) = solve_gap(GAP_DIR / file, sense, time_limit=60, solver=solver, problems=[problem])
    assert row["status"] == "optimal"
    assert row["objective"] == OPTIMA[(file, problem, sense)]
    assert row["bound"] == pytest.approx(row["objective"], abs=0.5)
    assert (row["file"], row["problem"], row["sense"]) == (str(GAP_DIR / file), problem, sense)


def test_single_problem_file_solves_to_published_optimum(tmp_path):
    path = tmp_path / "c515-1.txt"
    path.write_text(_single_problem_text(read_gap(GAP_DIR / "gap1.txt")[0]))
    rows = solve_gap(path, "max") + solve_gap(path, "min")
    assert [(r["problem"], r["sense"], r["objective"]) for r in rows] == [(1, "max", 336), (1, "min", 261)]


def test_infeasible_problem_is_reported_not_raised(tmp_path):
    path = tmp_path / "tight.txt"
    path.write_text("1\n2 2\n1 1\n1 1\n5 5\n5 5\n4 4\n")  # every job needs 5 of a capacity of 4
    (row,) = solve_gap(path, "max")
    assert row["status"] == "infeasible" and row["objective"] is None


@pytest.mark.parametrize("text,words", [
    ("", ["no numbers"]),
    ("1\n2 3\n1 2 3\n4 5 6\n1 1 1\n", ["problem 1 of 1", "2 agents × 3 jobs", "needs 14 numbers", "only 9"]),
    ("2 3\n1 2 3\n4 5 6\n1 1 1\n2 2 2\n10 x 10\n", ["'x' is not a number", "line 6"]),
    ("1\n1 2\n1 2\n3 4\n5\n7 7\n", ["2 number(s) left over", "holds 1 problem"]),
    ("1\n0 2\n", ["positive integers"]),
    ("1\n1 2\n1 2\n3 4\n-5\n", ["capacity is negative"]),
])
def test_malformed_files_give_clear_messages(tmp_path, text, words):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        read_gap(path)
    msg = str(err.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg


def test_missing_file_and_bad_problem_number(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        read_gap(tmp_path / "nope.txt")
    with pytest.raises(ScenarioError, match="holds 5 problem"):
        solve_gap(GAP_DIR / "gap1.txt", problems=[6])


def test_parse_gap_text_directly():
    (p,) = parse_gap("1 2\n3 4\n1 1\n1\n")
    assert p.values.tolist() == [[3, 4]] and p.capacities.tolist() == [1]


@pytest.mark.slow
@pytest.mark.parametrize("sense", ["max", "min"])
def test_all_sixty_problems_match_published_optima(sense):
    mismatches = []
    for i in range(1, 13):
        for row in solve_gap(GAP_DIR / f"gap{i}.txt", sense, time_limit=120):
            want = OPTIMA[(f"gap{i}.txt", row["problem"], sense)]
            if row["status"] != "optimal" or row["objective"] != want:
                mismatches.append((i, row["problem"], row["objective"], want, row["status"]))
    assert not mismatches
