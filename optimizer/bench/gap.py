"""OR-Library Generalised Assignment Problem (GAP) files as scenarios, solved through the normal pipeline.

A GAP has m agents and n jobs; every job goes to exactly one agent, agent i spends r[i][j] of its capacity b[i]
on job j and the objective sums c[i][j]. As a scenario: jobs are parcels (1 m², FAR cap 1, must be developed,
zone "J"), agents are industries (output 1 yuan per m², FAR exactly 1, so a chosen pair has exactly 1 m² of
floor), the pair table carries value_multiplier = c[i][j] and cost_yuan = r[i][j], and each agent's capacity is
its budget over pair costs (`rules.industry_budget_yuan`). The plan's output in yuan is then the GAP objective.

File format (whitespace-separated numbers): optionally the number of problems P, then per problem `m n`, the
m×n value matrix (agent-major), the m×n resource matrix and the m capacities. Files with P are "multi-problem"
(as OR-Library ships gap1–gap12); a file holding one problem may omit P.

`generate_gap` makes the harder, tight-capacity instances of the literature (types C, D, E; `landuse bench
gap-gen`), and `write_gap` writes any problem back in this format.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.errors import ScenarioError

SENSES = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}


@dataclass(frozen=True)
class GapProblem:
    """One GAP instance: values and resource use are (m agents × n jobs); capacities has length m."""

    values: np.ndarray
    resources: np.ndarray
    capacities: np.ndarray
    name: str = "gap"

    @property
    def n_agents(self) -> int:
        return self.values.shape[0]

    @property
    def n_jobs(self) -> int:
        return self.values.shape[1]


# --- parsing ------------------------------------------------------------------------------------------------
def _tokens(text: str, display: str) -> tuple[np.ndarray, np.ndarray]:
    """All numbers of the file, with the 1-based line of each."""
    vals, lines = [], []
    for ln, line in enumerate(text.splitlines(), start=1):
        for tok in line.split():
            try:
                vals.append(float(tok))
            except ValueError:
                raise ScenarioError(f"'{tok}' is not a number (a GAP file holds only numbers)", file=display,
                                    row=ln, row_kind="line") from None
            lines.append(ln)
    return np.array(vals, dtype=float), np.array(lines, dtype=np.int64)


def _walk(t: np.ndarray, start: int, n_problems: int) -> int | None:
    """Position after `n_problems` problems starting at `start`, or None if the sizes do not fit the file."""
    pos = start
    for _ in range(n_problems):
        if pos + 2 > len(t):
            return None
        m, n = t[pos], t[pos + 1]
        if m != int(m) or n != int(n) or m < 1 or n < 1:
            return None
        pos += 2 + 2 * int(m) * int(n) + int(m)
        if pos > len(t):
            return None
    return pos


def _layout(t: np.ndarray) -> tuple[int, int] | None:
    """(index of the first `m`, number of problems) if the numbers form a multi- or single-problem file."""
    if len(t) >= 1 and t[0] == int(t[0]) and t[0] >= 1 and _walk(t, 1, int(t[0])) == len(t):
        return 1, int(t[0])  # leading problem count (OR-Library's layout) takes precedence
    if _walk(t, 0, 1) == len(t):
        return 0, 1
    return None


def _explain_layout(t: np.ndarray, lines: np.ndarray, display: str) -> ScenarioError:
    """A precise message for a file that is neither layout: where the numbers run out or are left over."""
    if len(t) == 0:
        return ScenarioError("the file holds no numbers (expected a GAP instance)", file=display)
    multi = len(t) >= 1 and t[0] == int(t[0]) and t[0] >= 1
    start, count = (1, int(t[0])) if multi and len(t) > 1 else (0, 1)
    pos = start
    for p in range(1, count + 1):
        where = f"problem {p}" + (f" of {count}" if start else "")
        if pos + 2 > len(t):
            return ScenarioError(f"{where}: the file ends where the sizes 'm n' (agents, jobs) should be",
                                 file=display, row=int(lines[-1]), row_kind="line")
        m, n = t[pos], t[pos + 1]
        if m != int(m) or n != int(n) or m < 1 or n < 1:
            return ScenarioError(f"{where}: sizes 'm n' must be positive integers (got {m:g} {n:g})",
                                 file=display, row=int(lines[pos]), row_kind="line")
        m, n = int(m), int(n)
        need = 2 * m * n + m
        have = len(t) - pos - 2
        if have < need:
            return ScenarioError(
                f"{where} ({m} agents × {n} jobs) needs {need} numbers after its sizes ({m}×{n} values, {m}×{n} "
                f"resource uses, {m} capacities) but the file has only {have} more", file=display,
                row=int(lines[pos]), row_kind="line")
        pos += 2 + need
    extra = len(t) - pos
    hint = ("; a multi-problem file starts with the number of problems" if not start else
            f"; the first number says the file holds {count} problem(s)")
    return ScenarioError(f"{extra} number(s) left over after the last problem{hint}", file=display,
                         row=int(lines[pos]), row_kind="line")


def parse_gap(text: str, name: str = "gap") -> list[GapProblem]:
    """Parse the text of a GAP file (multi-problem with a leading count, or a single problem without it)."""
    t, lines = _tokens(text, name)
    layout = _layout(t)
    if layout is None:
        raise _explain_layout(t, lines, name)
    pos, count = layout
    out = []
    for _ in range(count):
        m, n = int(t[pos]), int(t[pos + 1])
        pos += 2
        c = t[pos: pos + m * n].reshape(m, n)
        pos += m * n
        r = t[pos: pos + m * n].reshape(m, n)
        pos += m * n
        b = t[pos: pos + m]
        pos += m
        for what, arr in (("value", c), ("resource use", r), ("capacity", b)):
            if (arr < 0).any():
                raise ScenarioError(f"problem {len(out) + 1}: a {what} is negative ({arr.min():g})", file=name)
        out.append(GapProblem(c, r, b, name=f"{Path(name).stem}-p{len(out) + 1}"))
    return out


def read_gap(path: str | Path) -> list[GapProblem]:
    """Read a GAP file; raises ScenarioError (file, line) when it is malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not a text file", file=str(path)) from None
    return parse_gap(text, str(path))


# --- generated tight-capacity instances ---------------------------------------------------------------------
GAP_TYPES = ("C", "D", "E")
GAP_SIZES = ((5, 100), (10, 100), (20, 100), (5, 200), (10, 200), (20, 200))  # the literature's m × n grid


def generate_gap(kind: str, m: int, n: int, seed: int | None = 0) -> GapProblem:
    """A Yagiura-style tight-capacity GAP instance (minimisation) of type C, D or E; seeded and vectorised.

    The classical definitions, as used by Yagiura, Ibaraki & Glover (INFORMS J. Comput. 16, 2004; EJOR 169,
    2006) for their C/D/E sets (types C and D from Chu & Beasley, EJOR 1997, as in OR-Library's gapc/gapd; type E
    from Laguna, Kelly, González-Velarde & Glover, EJOR 1995; instance page: yagiura/gap at Nagoya Univ.):

    - C: r_ij ~ U{5..25}, c_ij ~ U{10..50};
    - D: r_ij ~ U{1..100}, c_ij = 111 − r_ij + e_ij with e_ij ~ U{−10..10} (cost falls as use grows);
    - E: r_ij = 1 − 10·ln u (u ~ U(0,1]), c_ij = 1000 / r_ij − 10·v (v ~ U[0,1]);

    and in every type b_i = 0.8 · Σ_j r_ij / m (capacity at 80 % of the average load). All numbers are whole,
    as in the published files: type E's r and c are rounded down and the rare negative c (r above 100) is set
    to 0; capacities are rounded down. Types D and E are meant as minimisation problems (as maximisation they
    are trivial). Raises ValueError for an unknown type or sizes below 1.
    """
    kind = str(kind).upper()
    if kind not in GAP_TYPES:
        raise ValueError(f"unknown GAP type '{kind}' (choose {', '.join(GAP_TYPES)})")
    if int(m) != m or int(n) != n or m < 1 or n < 1:
        raise ValueError(f"agents and jobs must be whole numbers of at least 1 (got {m} × {n})")
    m, n = int(m), int(n)
    rng = np.random.default_rng(seed)
    if kind == "C":
        r = rng.integers(5, 26, size=(m, n))
        c = rng.integers(10, 51, size=(m, n))
    elif kind == "D":
        r = rng.integers(1, 101, size=(m, n))
        c = 111 - r + rng.integers(-10, 11, size=(m, n))
    else:
        u = 1.0 - rng.random((m, n))  # (0, 1]
        r = np.floor(1.0 - 10.0 * np.log(u))
        c = np.maximum(np.floor(1000.0 / r - 10.0 * rng.random((m, n))), 0.0)
    b = np.floor(0.8 * r.sum(axis=1) / m)
    tag = f"{kind.lower()}{m:02d}{n:03d}" + ("" if seed is None else f"-s{seed}")
    return GapProblem(c.astype(float), r.astype(float), b.astype(float), name=tag)


def gap_text(problems: list[GapProblem]) -> str:
    """OR-Library text of GAP problems (with the leading problem count, as OR-Library ships them)."""
    out = [str(len(problems))]
    for p in problems:
        out.append(f"{p.n_agents} {p.n_jobs}")
        out += [" ".join(_number_text(row)) for row in p.values]
        out += [" ".join(_number_text(row)) for row in p.resources]
        out.append(" ".join(_number_text(p.capacities)))
    return "\n".join(out) + "\n"


def write_gap(problems: list[GapProblem], path: str | Path) -> Path:
    """Write GAP problems as an OR-Library file (read back by `read_gap`)."""
    path = Path(path)
    path.write_text(gap_text(problems), encoding="utf-8")
    return path


# --- conversion ---------------------------------------------------------------------------------------------
def _number_text(a: np.ndarray) -> np.ndarray:
    """Exact text of numbers (integers without a decimal point)."""
    return np.where(a == np.round(a), np.round(a).astype(np.int64).astype(str), a.astype(str))


def gap_frames(problem: GapProblem, sense: str = "max") -> tuple[dict, dict[str, pd.DataFrame]]:
    """The scenario config and tables of a GAP problem (see the module docstring for the mapping)."""
    sense = _sense(sense)
    m, n = problem.n_agents, problem.n_jobs
    jobs = np.array([f"j{j + 1}" for j in range(n)])
    agents = np.array([f"a{i + 1}" for i in range(m)])
    parcels = pd.DataFrame({"parcel_id": jobs, "area_m2": 1, "zone": "J", "far_max": 1, "subarea": "all",
                            "must_develop": "true"})
    industries = pd.DataFrame({"industry_id": agents, "name": [f"agent {i + 1}" for i in range(m)],
                               "output_per_m2": 1, "jobs_per_m2": 0, "allowed_zones": "J", "far_min": 1,
                               "far_max": 1})
    pairs = pd.DataFrame({"parcel_id": np.tile(jobs, m), "industry_id": np.repeat(agents, n),
                          "value_multiplier": _number_text(problem.values.ravel()),
                          "cost_yuan": _number_text(problem.resources.ravel())})
    config = {
        "scenario": {"name": problem.name,
                     "description": f"GAP {problem.name} ({m} agents, {n} jobs) solved as a {sense}ation problem",
                     "assumptions": ["jobs are 1 m² parcels and agents are industries with output 1 yuan/m²; "
                                     "value = value_multiplier, resource use = pair cost, capacity = budget"]},
        "objective": {"sense": sense},
        "solver": {"mip_gap": 0.0},
        "rules": {"industry_budget_yuan": {a: float(b) for a, b in zip(agents, problem.capacities, strict=True)}},
    }
    frames = {"parcels": parcels, "industries": industries, "pairs": pairs}
    for role, df in frames.items():
        df.attrs["display"] = f"{problem.name}:{role}"
    return config, frames


def gap_scenario(problem: GapProblem, sense: str = "max") -> Scenario:
    """A GAP problem as a validated Scenario (through `build_scenario`, like any scenario folder)."""
    from optimizer.scenario.load import build_scenario

    config, frames = gap_frames(problem, sense)
    return build_scenario(config, frames)


def _sense(sense: str) -> str:
    try:
        return SENSES[sense]
    except KeyError:
        raise ValueError(f"unknown sense '{sense}' (choose max or min)") from None


# --- solving ------------------------------------------------------------------------------------------------
def solve_gap(file: str | Path, sense: str = "max", time_limit: float = 60.0, solver: str = "highs",
              mip_gap: float = 0.0, threads: int | None = None, problems: list[int] | None = None) -> list[dict]:
    """Solve every problem of a GAP file (or the 1-based `problems` among them) through `solve_scenario`.

    Returns one dict per problem: file, problem (1-based), sense ("max"/"min"), objective, bound, status,
    seconds (wall time of the whole pipeline run: eligibility, build, solve, check). An infeasible problem
    gives status "infeasible" and objective None.
    """
    from optimizer.errors import InfeasibleScenario
    from optimizer.pipeline import solve_scenario

    short = "max" if _sense(sense) == "maximize" else "min"
    rows = []
    all_problems = read_gap(file)
    for i in problems or []:
        if not 1 <= i <= len(all_problems):
            raise ScenarioError(f"the file holds {len(all_problems)} problem(s); there is no problem {i}",
                                file=str(file))
    for i, problem in enumerate(all_problems, start=1):
        if problems and i not in problems:
            continue
        sc = gap_scenario(problem, sense)
        t = time.perf_counter()
        try:
            res = solve_scenario(sc, solver=solver, time_limit_s=time_limit, mip_gap=mip_gap, threads=threads)
        except InfeasibleScenario:
            rows.append({"file": str(file), "problem": i, "sense": short, "objective": None, "bound": None,
                         "status": "infeasible", "seconds": time.perf_counter() - t})
            continue
        p = res.plan
        rows.append({
            "file": str(file), "problem": i, "sense": short,
            "objective": _clean(p.objective) if p else None,
            "bound": _clean(p.bound) if p else None,
            "status": res.status, "seconds": time.perf_counter() - t,
        })
    return rows


def _clean(v: float) -> float | None:
    if v is None or not np.isfinite(v):
        return None
    r = round(v)
    return float(r) if abs(v - r) < 1e-6 * max(1.0, abs(v)) else float(v)  # integral data, integral answer


def reference_optima(readme: str | Path) -> dict[tuple[str, int, str], float]:
    """Published optima from the table in benchmarks/gap/README.md: (file name, problem, "max"/"min") -> value."""
    out = {}
    row = re.compile(r"^\|\s*(\S+\.txt)\s*\|\s*(\d+)\s*\|[^|]*\|[^|]*\|[^|]*\|\s*([-\d.]+)\s*\|\s*([-\d.]+)\s*\|")
    for line in Path(readme).read_text(encoding="utf-8").splitlines():
        hit = row.match(line)
        if hit:
            out[(hit[1], int(hit[2]), "max")] = float(hit[3])
            out[(hit[1], int(hit[2]), "min")] = float(hit[4])
    return out
