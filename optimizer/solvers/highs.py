"""HiGHS in-process through highspy, fed the sparse matrices directly.

The wall-clock limit is enforced here: HiGHS runs in its own thread and is cancelled at the limit; the best
plan seen by the improving-solution callback is kept, so a stop during a long search still returns a plan.

Repeatability: HiGHS runs with random_seed 0, and its MIP search depends on no clock below the time limit
(its effort limits count LP iterations and nodes), so the same model, options and thread count give the same
plan whatever the machine load (checked: 4 busy processes on 2 cores change nothing; 1, 2 or 4 threads give
different searches). `SolveOptions.node_limit` is a deterministic work limit (mip_max_nodes), and so is
`SolveOptions.work_limit_s`: nominal seconds turned into a number of cut rounds at the root and of nodes
(`work_limits`). The root's cut loop has no limit of its own in HiGHS and can take most of a short solve (15 s of
rounds moving a bound by 0.01 % on a frontier point of Qianhai), so its rounds are counted where HiGHS checks its
limits, which it does once a round (the interrupt callback; the same count on an idle and on a busy machine,
checked with two busy loops on 2 cores). The result's `phases` says what stopped the solve.
"""

from __future__ import annotations

import struct
import threading
import time

import numpy as np

from optimizer.errors import SolverFailed, SolverUnavailable
from optimizer.model.milp import MILP
from optimizer.solvers.base import SolveOptions, SolveResult, rel_gap

NAME = "highs"
GRACE_S = 2.0  # after the limit, how long to wait for HiGHS to stop by itself before cancelling
# HiGHS's work at nominal speeds, in seconds per nonzero of the model, for SolveOptions.work_limit_s: presolve and
# the root LP (which no limit stops), one cut round at the root, one node of the tree. Measured here, 2 threads:
# presolve and root LP 3.5 s, a round 0.3-0.9 s on a 173,000-nonzero Qianhai frontier point; a round 0.013-0.034 s
# on 6,000-24,000-nonzero assignment models, a node 0.017 s at 24,000.
NOMINAL_ENTRY_S_PER_NZ = 2e-5
NOMINAL_ROUND_S_PER_NZ = 3e-6
NOMINAL_NODE_S_PER_NZ = 1e-6


def available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def to_highs_lp(m: MILP):
    """The MILP as a highspy HighsLp (column-wise sparse matrix)."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = m.n_cols
    lp.num_row_ = m.n_rows
    lp.col_cost_ = np.asarray(m.c, dtype=float)
    lp.col_lower_ = m.col_lower
    lp.col_upper_ = m.col_upper
    lp.row_lower_ = m.row_lower
    lp.row_upper_ = m.row_upper
    A = m.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = m.n_cols
    lp.a_matrix_.num_row_ = m.n_rows
    if m.integrality.any():
        lp.integrality_ = np.where(m.integrality, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
    lp.sense_ = highspy.ObjSense.kMaximize if m.sense == "maximize" else highspy.ObjSense.kMinimize
    return lp


_BANNER_DONE = False
# Threads of HiGHS's process-wide task scheduler, when a solve here set them; None: unknown (never set, or
# HiGHS's own default). HiGHS refuses to run (status "Not Set") when its "threads" option differs from the
# scheduler that an earlier solve in the process started, so a solve with another explicit count restarts it.
_SCHEDULER_THREADS: int | None = None


def new_highs(log: bool = False):
    """A Highs instance; the first one of the process is made with stdout muted (HiGHS prints a banner)."""
    import highspy

    global _BANNER_DONE
    if _BANNER_DONE or log:
        h = highspy.Highs()
    else:
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    _BANNER_DONE = True
    h.setOptionValue("output_flag", bool(log))
    return h


def entry_s(m: MILP) -> float:
    """Nominal seconds of HiGHS's presolve and root LP on this model (which no work limit stops)."""
    return NOMINAL_ENTRY_S_PER_NZ * max(int(m.A.nnz), 1)


def work_limits(m: MILP, work_s: float) -> tuple[int, int]:
    """(cut rounds at the root, nodes) that `work_s` nominal seconds of HiGHS buy on this model after its presolve
    and root LP, half of the rest each, and at least one of each (a solve always gets past its root LP).
    Deterministic: they depend on the model's size only."""
    nz = max(int(m.A.nnz), 1)
    half = 0.5 * max(float(work_s) - entry_s(m), 0.0)
    return (max(int(half / (NOMINAL_ROUND_S_PER_NZ * nz)), 1), max(int(half / (NOMINAL_NODE_S_PER_NZ * nz)), 1))


def solve(m: MILP, opts: SolveOptions, on_plan=None, polish=None) -> SolveResult:
    """Solve with HiGHS in this process. `on_plan(x, objective)` (optional) sees every improving plan.

    `polish(x) -> x' | None` (optional, e.g. optimizer.solvers.local_search) improves each plan HiGHS finds; a
    better plan is handed back to HiGHS as a user solution (so that it prunes with it) and is returned if HiGHS
    ends with nothing better. It runs inside HiGHS's callback, so its time counts against the limit.

    While an earlier solve in this process that ignored its cancel still holds highspy's one "running" lock, no
    solve can start here: the model then goes to a child process (`solve_isolated`, without `polish`).
    """
    if not available():
        raise SolverUnavailable("HiGHS is not installed: pip install highspy")
    import highspy

    if on_plan is None and earlier_solve_running():
        return solve_isolated(m, opts)

    global _SCHEDULER_THREADS
    t0 = time.perf_counter()
    node_limit, round_limit = opts.node_limit, None
    if opts.work_limit_s is not None and m.integrality.any():
        round_limit, nodes = work_limits(m, opts.work_limit_s)
        node_limit = nodes if node_limit is None else min(int(node_limit), nodes)
    h = new_highs(opts.log)
    h.passModel(to_highs_lp(m))
    h.setOptionValue("time_limit", float(max(opts.time_limit_s, 0.0)))
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    if opts.mip_abs_gap > 0:
        h.setOptionValue("mip_abs_gap", float(opts.mip_abs_gap / m.obj_scale))
    if opts.threads:
        h.setOptionValue("threads", int(opts.threads))
    h.setOptionValue("random_seed", 0)
    if not opts.presolve:
        h.setOptionValue("presolve", "off")
    if not opts.restart:
        h.setOptionValue("mip_allow_restart", False)
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(max(node_limit, 0)))
    if opts.warm_start is not None and m.integrality.any():
        h.setSolution(_solution(opts.warm_start))

    best: dict = {"x": None, "obj": np.nan, "target_hit": False, "given_up": False, "rounds": 0, "work_hit": False}
    lock = threading.Lock()
    is_mip = bool(m.integrality.any())
    better = (lambda a, b: a > b) if m.sense == "maximize" else (lambda a, b: a < b)
    polished: dict = {"x": None, "obj": np.nan, "pending": None, "count": 0}

    def on_improving(event):
        data_out = event.data_out
        x = np.array(data_out.mip_solution, dtype=float)
        with lock:
            best["x"], best["obj"] = x, data_out.objective_function_value
        if polish is not None:
            xp = polish(x)
            if xp is not None:
                obj_p = float(m.c @ xp)
                ref = polished["obj"] if polished["x"] is not None else data_out.objective_function_value
                if better(obj_p, ref) and better(obj_p, data_out.objective_function_value):
                    with lock:
                        polished.update(x=xp, obj=obj_p, pending=xp, count=polished["count"] + 1)
        value = data_out.objective_function_value * m.obj_scale
        if on_plan is not None:
            on_plan(x, value)
        if opts.progress is not None:
            bound = data_out.mip_dual_bound
            opts.progress({"elapsed_s": time.perf_counter() - t0, "objective": value,
                           "bound": bound * m.obj_scale, "gap": rel_gap(data_out.objective_function_value, bound)})
        target = opts.stop_at_objective
        if target is not None and ((value >= target) if m.sense == "maximize" else (value <= target)):
            best["target_hit"] = True
            h.cancelSolve()  # good enough: a bound found elsewhere already proves the gap

    def on_user_solution(event):  # hand HiGHS the polished plan
        with lock:
            xp, polished["pending"] = polished["pending"], None
        if xp is not None:
            event.data_in.setSolution(xp)

    def on_interrupt(event):  # HiGHS checks its limits (once a cut round at the root)
        out = event.data_out
        if round_limit is not None and out.mip_node_count <= 0 and np.isfinite(out.mip_dual_bound):  # past its LP
            best["rounds"] += 1
            if best["rounds"] >= round_limit:  # the root's work limit: stop where an idle machine would too
                best["work_hit"] = True
                event.interrupt()
                return
        if opts.give_up_below is None:
            return
        b = out.mip_dual_bound * m.obj_scale  # the bound proves the caller's objective out of reach: stop searching
        if np.isfinite(b) and ((b < opts.give_up_below) if m.sense == "maximize" else (b > opts.give_up_below)):
            best["given_up"] = True
            event.interrupt()

    if is_mip:
        h.cbMipImprovingSolution.subscribe(on_improving)
        if opts.give_up_below is not None or round_limit is not None:
            h.cbMipInterrupt.subscribe(on_interrupt)
        if polish is not None:
            h.cbMipUserSolution.subscribe(on_user_solution)
    h.HandleUserInterrupt = True
    h.HandleKeyboardInterrupt = True
    if h.is_solver_running():
        # highspy keeps one "running" lock for all instances: an earlier solve that ignored its cancel (stuck in
        # presolve) still holds it. Wait for it within this solve's own limit, then give up cleanly.
        waited = time.perf_counter()
        while h.is_solver_running() and time.perf_counter() - waited < max(opts.time_limit_s, 1.0):
            time.sleep(0.1)
        if h.is_solver_running():
            raise SolverFailed("an earlier HiGHS solve in this process is still running (it ignored its time "
                               "limit); start a new process")
    if opts.threads and _SCHEDULER_THREADS != int(opts.threads):
        highspy.Highs.resetGlobalScheduler(True)  # no solve is running (checked above)
        _SCHEDULER_THREADS = int(opts.threads)
    thread = h.startSolve()
    done, _ = h.wait(timeout=max(opts.time_limit_s, 0.0) + GRACE_S)
    cancelled = False
    if not done:
        cancelled = True
        h.cancelSolve()
        done, _ = h.wait(timeout=GRACE_S)
    solve_s = time.perf_counter() - t0
    if not done:
        # HiGHS did not stop (presolve ignores interrupts): use the best plan its callback has seen
        with lock:
            x, obj = best["x"], best["obj"]
        thread.join(0)
        phases = (_phase("time_limit", solve_s),)
        if x is None:
            return SolveResult("no_solution", None, np.nan, np.nan, np.nan, solve_s, NAME,
                               message=f"no plan found within the time limit of {opts.time_limit_s:g} s "
                                       "(HiGHS was still in presolve)", phases=phases)
        return SolveResult("feasible", x, obj * m.obj_scale, np.nan, np.nan, solve_s, NAME,
                           message="stopped at the time limit while HiGHS was busy; bound unknown",
                           phases=phases)

    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    info = h.getInfo()
    phases = (_phase(_stopped_by(status, ms, cancelled, best["target_hit"], best["given_up"], best["work_hit"],
                                 node_limit != opts.node_limit), solve_s,
                     nodes=int(info.mip_node_count) if is_mip else 0,
                     lp_iterations=int(info.simplex_iteration_count),
                     **({"root_rounds": best["rounds"]} if round_limit is not None else {})),)
    if is_mip:
        obj, bound = info.objective_function_value, info.mip_dual_bound
        has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    else:
        obj = info.objective_function_value
        bound = obj if status == ms.kOptimal else np.nan
        has_x = status == ms.kOptimal
    x = np.array(h.getSolution().col_value, dtype=float) if has_x else None
    if x is None and best["x"] is not None:
        x, obj = best["x"], best["obj"]
    if polished["x"] is not None and (x is None or better(polished["obj"], obj)):
        x, obj = polished["x"], polished["obj"]  # HiGHS ended on a worse plan than its polished one
    if polish is not None:
        phases = ({**phases[0], "polished_plans": polished["count"]},)
    msg = h.modelStatusToString(status)
    if status == ms.kModelEmpty:  # no columns at all (no eligible pair): the empty plan is the optimum
        x = np.zeros(m.n_cols)
        return SolveResult("optimal", x, 0.0, 0.0, 0.0, solve_s, NAME, message=msg, phases=phases)
    if status == ms.kOptimal:
        st = "optimal"
    elif status in (ms.kInfeasible,):
        return SolveResult("infeasible", None, np.nan, np.nan, np.nan, solve_s, NAME, message=msg,
                           phases=phases)
    elif status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
        st = "unbounded" if status == ms.kUnbounded else "infeasible"
        return SolveResult(st, None, np.nan, np.nan, np.nan, solve_s, NAME, message=msg, phases=phases)
    elif status in (ms.kTimeLimit, ms.kInterrupt, ms.kSolutionLimit, ms.kIterationLimit, ms.kObjectiveBound,
                    ms.kObjectiveTarget, ms.kNotset) or cancelled:
        st = "feasible" if x is not None else "no_solution"
    else:
        raise SolverFailed(f"HiGHS stopped with status '{msg}'")
    if x is None:
        return SolveResult("no_solution", None, np.nan, bound * m.obj_scale if np.isfinite(bound) else np.nan,
                           np.nan, solve_s, NAME, message=f"{msg}: no plan found", phases=phases)
    bound = bound if np.isfinite(bound) else np.nan
    gap = rel_gap(obj, bound)
    if st == "optimal" and not np.isfinite(gap):
        gap = 0.0
    return SolveResult(st, x, obj * m.obj_scale, bound * m.obj_scale, gap, solve_s, NAME, message=msg,
                       phases=phases)


def _stopped_by(status, ms, cancelled: bool, target_hit: bool, given_up: bool = False, work_hit: bool = False,
                work_limited: bool = False) -> str:
    """What stopped HiGHS, in the words of SolveResult.phases."""
    if cancelled or status == ms.kTimeLimit:
        return "time_limit"
    if given_up and status == ms.kInterrupt:
        return "bound_below_target"  # its bound proved the caller's target out of reach (give_up_below)
    if (work_hit and status == ms.kInterrupt) or (work_limited and status == ms.kSolutionLimit):
        return "work_limit"  # its cut rounds or nodes of SolveOptions.work_limit_s
    if target_hit and status != ms.kOptimal:
        return "objective_target"  # a plan within the gap of a bound proved elsewhere
    names = {ms.kOptimal: "optimal", ms.kModelEmpty: "optimal", ms.kInfeasible: "infeasible",
             ms.kUnbounded: "unbounded", ms.kUnboundedOrInfeasible: "infeasible",
             ms.kSolutionLimit: "node_limit", ms.kIterationLimit: "iteration_limit",
             ms.kInterrupt: "interrupted"}
    return names.get(status, "other")


def _phase(stopped_by: str, seconds: float, **work) -> dict:
    return {"phase": NAME, "stopped_by": stopped_by, **work, "seconds": round(float(seconds), 3)}


def _solution(x: np.ndarray):
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(x, dtype=float)
    sol.value_valid = True
    return sol


# --- a solve that can be abandoned ----------------------------------------------------------------------------
ISOLATE_COLS = 100_000  # models at least this large run where a stuck HiGHS can be abandoned (solve_isolated)
START_S = 60.0  # allowance for starting the child process and sending it the model
_FRAME = ">Q"  # each message: its length (8 bytes, big-endian), then the pickle


def solve_isolated(m: MILP, opts: SolveOptions, runner=None) -> SolveResult:
    """HiGHS in a child process that is killed if it does not stop in time.

    HiGHS's presolve ignores time limits and interrupts, and a stuck solve keeps highspy's one "running" lock,
    so that no later solve in the process can start. Here the child streams every improving plan as it finds
    it; past the time limit (plus a grace period) it is killed, and the best plan streamed is the answer, with
    no bound. The parent process stays able to solve.

    The child is a fresh interpreter started with `subprocess` (not `multiprocessing`, whose "spawn" re-runs
    the caller's main script, which a script without a main guard cannot survive, and whose "fork" copies
    HiGHS's threads and locks half-held); it reads the model on stdin and answers on a pipe of its own, so
    HiGHS's log may go to stdout. `runner` ("module:function", or a function) replaces `solve` in the child.
    """
    import os
    import pickle
    import queue
    import subprocess
    import sys
    import threading
    from dataclasses import replace

    t0 = time.perf_counter()
    spec = runner if isinstance(runner, str) or runner is None else f"{runner.__module__}:{runner.__qualname__}"
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", f"from optimizer.solvers.highs import _child_main; _child_main({write_fd})"],
            stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env)
    finally:
        os.close(write_fd)
    messages: queue.Queue = queue.Queue()

    def read_messages() -> None:  # frames from the child until its end of the pipe closes
        with os.fdopen(read_fd, "rb") as f:
            while True:
                head = f.read(8)
                if len(head) < 8:
                    break
                body = f.read(struct.unpack(_FRAME, head)[0])
                try:
                    messages.put(pickle.loads(body))
                except Exception as exc:  # noqa: BLE001 — a torn message: the child died while writing
                    messages.put(("error", f"unreadable message from the HiGHS process: {exc}"))
                    break
        messages.put(("closed",))

    threading.Thread(target=read_messages, daemon=True, name="highs-isolated-reader").start()
    payload = pickle.dumps((replace(m, blocks=()), replace(opts, progress=None), spec),  # blocks hold closures
                           protocol=pickle.HIGHEST_PROTOCOL)
    sender = threading.Thread(target=_send_model, args=(child, payload), daemon=True, name="highs-isolated-send")
    sender.start()
    deadline = t0 + START_S  # until the child says it has the model; then the limit and the grace
    best_x, best_obj, result, failure = None, np.nan, None, ""
    try:
        while result is None and not failure:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            try:
                kind, *data = messages.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if kind == "started":
                deadline = time.perf_counter() + max(opts.time_limit_s, 0.0) + 2 * GRACE_S
            elif kind == "plan":
                best_x, best_obj = data
                if opts.progress is not None:
                    opts.progress({"elapsed_s": time.perf_counter() - t0, "objective": best_obj, "bound": np.nan,
                                   "gap": np.nan})
            elif kind == "result":
                result = data[0]
            elif kind == "closed":
                try:
                    code = child.wait(5.0)
                except subprocess.TimeoutExpired:
                    code = None
                failure = f"the HiGHS process ended without an answer (exit code {code})"
            else:  # "error"
                failure = data[0]
    finally:  # on every way out (an answer, the limit, an error, Ctrl-C) the child does not outlive the call
        if child.poll() is None:
            child.kill()
        try:
            child.wait(5.0)
        except subprocess.TimeoutExpired:
            pass
    solve_s = time.perf_counter() - t0
    if result is not None:
        return replace(result, solve_s=solve_s)
    if failure.startswith("SolverFailed:"):
        raise SolverFailed(failure.split(":", 1)[1].strip())
    why = failure or (f"HiGHS did not stop within {opts.time_limit_s:g} s (stuck in presolve?); its process was "
                      "abandoned")
    phases = (_phase("abandoned" if not failure else "solver_failed", solve_s),)
    if best_x is None:
        return SolveResult("no_solution", None, np.nan, np.nan, np.nan, solve_s, NAME, message=why, phases=phases)
    return SolveResult("feasible", best_x, float(best_obj), np.nan, np.nan, solve_s, NAME,
                       message=f"{why}; the best plan it had sent is kept, bound unknown", phases=phases)


def _send_model(child, payload: bytes) -> None:
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except (BrokenPipeError, OSError):  # the child is gone: the reader reports it
        pass


def _child_main(fd: int) -> None:
    """The child's side: read (model, options, runner) on stdin, solve, send each improving plan and then the
    result (or the error) as frames on `fd`, and leave without waiting for HiGHS's threads."""
    import importlib
    import os
    import pickle
    import sys

    out = os.fdopen(fd, "wb")
    lock = threading.Lock()

    def send(msg) -> None:
        body = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        with lock:
            out.write(struct.pack(_FRAME, len(body)) + body)
            out.flush()

    code = 0
    try:
        m, opts, spec = pickle.loads(sys.stdin.buffer.read())
        runner = solve
        if spec is not None:
            module, name = spec.split(":")
            runner = importlib.import_module(module)
            for part in name.split("."):
                runner = getattr(runner, part)
        send(("started",))
        res = runner(m, opts, on_plan=lambda x, value: send(("plan", np.asarray(x, float), float(value))))
        send(("result", res))
    except BaseException as exc:  # noqa: BLE001 — anything the parent must hear about
        code = 1
        try:
            send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        try:
            out.close()
        except OSError:
            pass
        os._exit(code)  # a HiGHS thread that ignored its cancel must not keep this process alive


def earlier_solve_running() -> bool:
    """Whether a HiGHS solve in this process that ignored its cancel still holds highspy's one "running" lock
    (no later in-process solve can start until it lets go)."""
    return available() and bool(new_highs().is_solver_running())


def solve_abandonable(m: MILP, opts: SolveOptions) -> SolveResult:
    """`solve` for small models, `solve_isolated` from ISOLATE_COLS columns up."""
    return solve_isolated(m, opts) if m.n_cols >= ISOLATE_COLS else solve(m, opts)
