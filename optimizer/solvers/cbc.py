"""CBC through PuLP's bundled binary (pulp 3.3.x ships it).

The model goes to CBC as an MPS file written by HiGHS's writer straight from the sparse matrices (no
per-variable Python objects). The wall-clock limit is CBC's own elapsed-time limit, enforced again here: past
it CBC gets an interrupt (it then writes its best plan) and, if it still runs, is killed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from optimizer.errors import SolverFailed, SolverUnavailable
from optimizer.model.milp import MILP
from optimizer.solvers.base import SolveOptions, SolveResult, rel_gap

NAME = "cbc"
GRACE_S = 5.0


def cbc_path() -> str | None:
    try:
        import pulp
    except ImportError:
        return None
    cmd = pulp.PULP_CBC_CMD(msg=False)
    return cmd.path if cmd.available() else None


def available() -> bool:
    return cbc_path() is not None


def solve(m: MILP, opts: SolveOptions) -> SolveResult:
    path = cbc_path()
    if path is None:
        raise SolverUnavailable("CBC is not available: install pulp 3.3.x (pip install 'pulp>=3.3,<4'), which "
                                "bundles the CBC binary, or put a 'cbc' executable on PATH")
    from optimizer.solvers.highs import new_highs, to_highs_lp

    flip = -1.0 if m.sense == "maximize" else 1.0  # CBC gets a minimisation
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="landuse-cbc-") as tmp:
        tmp = Path(tmp)
        mps, sol = tmp / "model.mps", tmp / "solution.txt"
        h = new_highs(False)
        h.passModel(to_highs_lp(replace(m, c=flip * m.c, sense="minimize")))
        h.writeModel(str(mps))
        cmd = [path, str(mps), "-timeMode", "elapsed", "-sec", f"{max(opts.time_limit_s, 0.0):g}",
               "-ratioGap", f"{opts.mip_gap:g}", "-randomSeed", "1"]
        if opts.mip_abs_gap > 0:
            cmd += ["-allowableGap", f"{opts.mip_abs_gap / m.obj_scale:g}"]
        if opts.threads:
            cmd += ["-threads", str(int(opts.threads))]
        if opts.warm_start is not None:
            start = tmp / "start.txt"
            _write_start(start, opts.warm_start, m)
            cmd += ["-mipStart", str(start)]
        result, out = _attempt(cmd, [], sol, m, flip, t0, opts.time_limit_s)
        left = opts.time_limit_s - (time.perf_counter() - t0)
        if result.status == "infeasible" and "pre-processing says infeasible" in out.lower() and left > 0:
            # CBC 2.10's preprocessing sometimes calls a feasible model infeasible: ask again without it
            cmd[cmd.index("-sec") + 1] = f"{left:g}"
            result, out = _attempt(cmd, ["-preprocess", "off"], sol, m, flip, t0, left)
        if opts.log:
            print(out)
        return replace(result, phases=({"phase": NAME, "stopped_by": _stopped_by(result, out),
                                         "seconds": round(time.perf_counter() - t0, 3)},))


def _stopped_by(result: SolveResult, out: str) -> str:
    """What stopped CBC, in the words of SolveResult.phases."""
    if result.status in ("optimal", "infeasible", "unbounded"):
        return result.status
    text = out.lower()
    if "stopped on time" in text or "time limit" in text or "ctrl-c" in text or "stopped by user" in text:
        return "time_limit"
    if "stopped on nodes" in text or "stopped on iterations" in text:
        return "node_limit"
    return "other"


def _attempt(cmd: list[str], extra: list[str], sol: Path, m: MILP, flip: float, t0: float, limit: float):
    sol.unlink(missing_ok=True)
    out, rc, overran = _run(cmd + extra + ["-solve", "-solu", str(sol)], sol.parent, limit)
    if overran and not sol.exists():
        # past its limit CBC was interrupted, then killed, before it wrote a plan: the limit, not a crash
        out += f"\nStopped on time by landuse: CBC still ran {GRACE_S:g} s past its {limit:g} s limit\n"
        return SolveResult("no_solution", None, np.nan, np.nan, np.nan, time.perf_counter() - t0, NAME,
                           message=f"CBC found no plan within its {limit:g} s limit (stopped past it)", log=out), out
    if (rc < 0 or rc >= 128) and not overran:
        # CBC 2.10.3 can crash while writing the solution of an infeasible model (output lost): ask for the
        # verdict alone, in the time left
        left = limit - (time.perf_counter() - t0)
        if left > 0:
            out, _, _ = _run(cmd + extra + ["-solve"], sol.parent, left)
            if "infeasible" in out.lower().split("continuous objective")[-1]:
                return SolveResult("infeasible", None, np.nan, np.nan, np.nan, time.perf_counter() - t0, NAME,
                                   message="CBC: problem infeasible", log=out), out
        raise SolverFailed(f"CBC crashed (exit code {rc}); last output: {out[-300:]}")
    return _read_result(sol, out, m, flip, time.perf_counter() - t0), out


def _run(cmd: list[str], cwd: Path, time_limit_s: float) -> tuple[str, int, bool]:
    """Run CBC; past the limit interrupt it (it then writes its best plan), and kill it if it still runs.
    Returns (output, exit code, whether it ran past its limit)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    overran = False
    try:
        out, _ = proc.communicate(timeout=time_limit_s + GRACE_S)
    except subprocess.TimeoutExpired:
        overran = True
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return out, proc.returncode, overran


def _write_start(path: Path, x: np.ndarray, m: MILP) -> None:
    lines = ["Stopped on iterations - objective value 0"]
    lines += [f"{i} c{i} {v:.12g} 0" for i, v in enumerate(x) if v != 0]
    path.write_text("\n".join(lines) + "\n")


def _number(pattern: str, text: str) -> float:
    hit = re.findall(pattern, text)
    return float(hit[-1]) if hit else np.nan


def _read_result(sol: Path, out: str, m: MILP, flip: float, solve_s: float) -> SolveResult:
    result_line = re.findall(r"Result - (.*)", out)
    result = result_line[-1].strip() if result_line else ""
    if "infeasible" in result.lower() or "infeasible" in out.lower().split("result -")[-1][:200]:
        return SolveResult("infeasible", None, np.nan, np.nan, np.nan, solve_s, NAME, message=result, log=out)
    if "unbounded" in result.lower():
        return SolveResult("unbounded", None, np.nan, np.nan, np.nan, solve_s, NAME, message=result, log=out)
    if not sol.exists():
        if result or "Stopped" in out or solve_s > 0:
            return SolveResult("no_solution", None, np.nan, np.nan, np.nan, solve_s, NAME,
                               message=result or "CBC stopped without a plan", log=out)
        raise SolverFailed(f"CBC failed: {out[-500:]}")
    text = sol.read_text().splitlines()
    if not text:
        raise SolverFailed(f"CBC wrote an empty solution file; last output: {out[-300:]}")
    head = text[0]
    if head.lower().startswith("infeasible") or "infeasible" in head.lower():
        return SolveResult("infeasible", None, np.nan, np.nan, np.nan, solve_s, NAME, message=head, log=out)
    x = np.zeros(m.n_cols)
    for line in text[1:]:
        parts = line.replace("**", " ").split()
        if len(parts) >= 3:
            x[int(parts[0])] = float(parts[2])
    frac = np.abs(x[m.integrality] - np.round(x[m.integrality]))
    if "no feasible solution" in (out + head).lower() or (frac > 1e-6).any():
        # CBC stopped before any integer plan and wrote its LP relaxation: that is not a plan
        return SolveResult("no_solution", None, np.nan, np.nan, np.nan, solve_s, NAME,
                           message=result or head or "CBC stopped without an integer plan", log=out)
    obj = float(m.c @ x) * m.obj_scale
    optimal = head.startswith("Optimal") or result.startswith("Optimal")
    lb = _number(r"Lower bound:\s*([-\d.eE+]+)", out)  # CBC prints its bound unless it closed the gap fully
    if np.isfinite(lb):
        bound = flip * lb * m.obj_scale
    elif optimal:
        bound = obj
    else:
        bound = np.nan
    gap = rel_gap(obj, bound) if np.isfinite(bound) else np.nan
    return SolveResult("optimal" if optimal else "feasible", x, obj, bound, gap, solve_s, NAME,
                       message=result or head, log=out)
