"""The Lagrangian engine's dual function evaluated over parcel chunks on dask.distributed.

The dual function of optimizer.solvers.lagrange (`_smoothed`) is a sum over parcels: each parcel's priced choice
depends on the multipliers only through its pairs' reduced costs r = c − Aᵀλ. The parcels are cut into contiguous
chunks; each chunk carries its pairs' objective, floor range, segments, `must` flags and its columns of the
coupling rows (A1ᵀ and Dᵀ rows, so that r is computed entry for entry as in process; the few auxiliary totals'
rows A2 ride along). A chunk is shipped once to a worker and held there by an actor; each evaluation sends λ and
the temperature and gets back, per chunk, two numbers (smoothed and exact dual value) and its share of A·z̄
(one number per coupling row). The standalone neighbour pair columns and the constant term are evaluated here
while the workers run. Sums are taken in chunk order, so a given chunking gives the same numbers on any workers;
they differ from the in-process sums only in the order in which the chunks' sums are added (with one chunk: not
at all).

Workers: `SolveOptions.dual_workers = N` starts N single-threaded worker processes and a scheduler as fresh
interpreters (`python -m dask spec`, distributed's SubprocessCluster), so nothing re-imports the caller's
`__main__` (a LocalCluster's `spawn` would re-run an unguarded user script); `dual_scheduler = ADDRESS` uses an
existing cluster, whose workers must be able to import `optimizer`, and never shuts it down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from optimizer.errors import SolverUnavailable
from optimizer.solvers.base import SolveOptions

MAX_CHUNK_PAIRS = 1_000_000  # more chunks than workers once a worker's share of pairs passes this (one message each)
START_TIMEOUT_S = 60  # the most seconds to wait for a local cluster's workers or a scheduler's answer
RESULT_GRACE_S = 5.0  # how long past the solve's time limit to wait for a worker's answer before giving up


@dataclass
class DualChunk:
    """One contiguous run of parcels: what a worker needs to evaluate its share of the dual function.

    Its parcels are cut into blocks as the in-process dual cuts a run of parcels (`lagrange.make_blocks`), and
    each block is evaluated by the same function (`lagrange.smoothed_block`) and added in the same order: one
    chunk of the whole problem gives the in-process numbers bit for bit.
    """

    blocks: list  # lagrange._Block, in parcel order
    A2T: sp.csr_matrix  # coupling rows on the auxiliary totals, transposed (auxiliary totals × m)
    A2: sp.csr_matrix

    @property
    def n_pairs(self) -> int:
        return sum(len(b.lo) for b in self.blocks)

    @property
    def n_parcels(self) -> int:
        return sum(len(b.starts) for b in self.blocks)

    def evaluate(self, lam: np.ndarray, T: float) -> tuple[float, float, np.ndarray]:
        """(smoothed value, exact value, A·z̄) of this chunk's parcels at λ and temperature T."""
        from optimizer.solvers.lagrange import smoothed_block, sum_blocks

        lam2 = self.A2T @ lam
        return sum_blocks([smoothed_block(b, lam, lam2, T) for b in self.blocks], self.A2)


def keep_freed_memory() -> bool:
    """Keep the memory that evaluations free in this process (glibc): large blocks from the heap (below 32 MB)
    and no trimming of the heap below 1 GB free.

    glibc adapts both thresholds to the largest block freed so far; in a fresh worker they stay small, so the
    temporaries of every evaluation were handed back to the system and page-faulted in anew (about 10,000 faults
    and half the CPU of an evaluation at 370,000 pairs). Returns whether the settings were applied.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 32 * 2 ** 20) and libc.mallopt(-1, 2 ** 30))  # M_MMAP_, M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        return False


class ChunkHolder:
    """A Dask actor on one worker: holds that worker's chunks and evaluates them on request (and counts the
    seconds and CPU seconds it spent doing so, to tell the evaluations' own cost from Dask's). It sets the
    worker's allocator to keep freed memory (keep_freed_memory)."""

    def __init__(self, chunks: list[DualChunk]):
        self.chunks = list(chunks)
        self.busy = [0.0, 0.0]
        keep_freed_memory()

    def evaluate(self, lam: np.ndarray, T: float) -> list[tuple[float, float, np.ndarray]]:
        t, c = time.perf_counter(), time.thread_time()
        out = [ch.evaluate(lam, T) for ch in self.chunks]
        self.busy[0] += time.perf_counter() - t
        self.busy[1] += time.thread_time() - c
        return out

    def stats(self) -> list[float]:
        return list(self.busy)


def chunk_bounds(starts: np.ndarray, n_pairs: int, n_chunks: int) -> np.ndarray:
    """Segment indices cutting the parcels into at most `n_chunks` contiguous runs of about equal pairs
    (each run at least one parcel): [0, ..., n_segments]."""
    n_seg = len(starts)
    n_chunks = max(1, min(int(n_chunks), n_seg))
    targets = n_pairs * np.arange(1, n_chunks) / n_chunks
    cuts = np.searchsorted(starts, targets, side="left")
    return np.unique(np.r_[0, np.clip(cuts, 1, max(n_seg - 1, 1)), n_seg]) if n_seg > 1 else np.array([0, n_seg])


def make_chunks(P, n_chunks: int) -> list[DualChunk]:
    """The problem's parcels as `n_chunks` (or fewer, never empty) DualChunks, in parcel order. Their blocks are
    views of the problem's arrays; shipping a chunk copies only its own entries."""
    from optimizer.solvers.lagrange import make_blocks

    bounds = chunk_bounds(P.starts, P.n, n_chunks)
    A2T, A2 = P.A2T.tocsr(), P.A2.tocsr()
    return [DualChunk(blocks=make_blocks(P, int(s0), int(s1)), A2T=A2T, A2=A2)
            for s0, s1 in zip(bounds[:-1], bounds[1:], strict=True)]


def default_chunks(n_pairs: int, n_workers: int) -> int:
    """One chunk per worker, more when a worker's share of pairs passes MAX_CHUNK_PAIRS."""
    per_worker = -(-max(n_pairs, 1) // max(n_workers, 1))
    return max(n_workers, 1) * max(1, -(-per_worker // MAX_CHUNK_PAIRS))


def _local_cluster(n_workers: int, folder: str):
    """A scheduler and `n_workers` single-threaded workers, each a fresh `python -m dask spec` process (no
    nanny, no dashboard, logs at ERROR) that imports this module as it starts: nothing imports the caller's
    `__main__`."""
    from distributed.deploy.subprocess import SubprocessCluster

    return SubprocessCluster(
        n_workers=n_workers, threads_per_worker=1, worker_class="distributed.Worker", dashboard_address=None,
        silence_logs=logging.ERROR,
        scheduler_kwargs={"dashboard_address": ":0", "scheduler_file": os.path.join(folder, "scheduler.json")},
        worker_kwargs={"dashboard_address": ":0", "preload": [__name__]})  # imported while the workers start


def _client(stack: contextlib.ExitStack, n_workers: int = 0, scheduler: str | None = None):
    """A client on `scheduler`, or on a local cluster of `n_workers` started here; both are closed with `stack`.
    Unreachable or not started: SolverUnavailable."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise SolverUnavailable("the dual on Dask workers needs dask.distributed: pip install 'dask[distributed]'"
                                ) from exc
    try:
        if scheduler:
            return stack.enter_context(Client(scheduler, timeout=f"{START_TIMEOUT_S}s"))
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="landuse-dual-"))
        cluster = stack.enter_context(_local_cluster(int(n_workers), folder))
        client = stack.enter_context(Client(cluster, timeout=f"{START_TIMEOUT_S}s"))
        client.wait_for_workers(int(n_workers), timeout=START_TIMEOUT_S)
        return client
    except (OSError, TimeoutError, RuntimeError) as exc:
        what = f"the Dask scheduler at {scheduler}" if scheduler else f"a local Dask cluster of {n_workers} workers"
        raise SolverUnavailable(f"the dual's chunks need {what}, which could not be reached or started: "
                                f"{exc}") from exc


_KEPT: dict[int, str] = {}  # worker count -> scheduler address of a local cluster held open by `kept_cluster`


@contextlib.contextmanager
def kept_cluster(n_workers: int):
    """Hold one local cluster of `n_workers` open for every engine solve inside the block (cluster-cut rounds,
    Dinkelbach steps): each ChunkedDual with `dual_workers = n_workers` joins it instead of starting its own.
    A no-op for 0 workers or when such a cluster is already held."""
    if not n_workers or n_workers in _KEPT:
        yield
        return
    with contextlib.ExitStack() as stack:
        client = _client(stack, n_workers)
        _KEPT[n_workers] = client.scheduler.address
        try:
            yield
        finally:
            _KEPT.pop(n_workers, None)


class ChunkedDual:
    """`lagrange._smoothed(P, μ, T)` evaluated over parcel chunks held by Dask workers.

    Callable as `(μ, T) -> (smoothed value, gradient, exact value)`, as `lagrange.dual_ascent(evaluate=...)`
    takes it. `info` (workers, chunks, scheduler) goes into the dual phase of SolveResult.phases; `timings` holds
    the seconds to start or reach the cluster and to ship the chunks (informational). Should a worker fail or not
    answer by the time limit, the evaluations go on in this process (the same function: the bound stands) and
    `info["lost"]` says why. `close()` releases what this object started: the actors and the client, and the
    local cluster if it started one.
    """

    def __init__(self, P, opts: SolveOptions, chunks: int | None = None):
        self.P = P
        self.m = len(P.L)
        self.info: dict = {}
        self.timings: dict = {}
        self._stack = contextlib.ExitStack()
        self._holders: list = []
        self._deadline = time.perf_counter() + float(opts.time_limit_s) + RESULT_GRACE_S
        try:
            self._start(opts, chunks)
        except BaseException:
            self.close()
            raise

    def _start(self, opts: SolveOptions, chunks: int | None) -> None:
        t0 = time.perf_counter()
        scheduler = opts.dual_scheduler
        kept = _KEPT.get(int(opts.dual_workers)) if not scheduler else None
        client = _client(self._stack, int(opts.dual_workers), scheduler or kept)
        where = scheduler or "local"
        self.client = client
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise SolverUnavailable(f"the Dask scheduler at {scheduler} has no workers")
        self.timings["start_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        parts = make_chunks(self.P, chunks or default_chunks(self.P.n, len(workers)))
        used = workers[:len(parts)]
        # chunk i on worker i mod W, each worker's chunks in order; results are put back in chunk order
        self._order = np.concatenate([np.arange(i, len(parts), len(used)) for i in range(len(used))])
        holders = []
        for i, w in enumerate(used):
            futs = client.scatter(parts[i::len(used)], workers=[w], hash=False)
            holders.append(client.submit(ChunkHolder, futs, workers=[w], allow_other_workers=False, actor=True,
                                         pure=False))
        self._holders = [h.result(timeout=START_TIMEOUT_S) for h in holders]
        self.timings["ship_s"] = time.perf_counter() - t0
        self.info = {"workers": len(used), "chunks": len(parts), "scheduler": where}

    def __call__(self, mu: np.ndarray, T: float):
        if not self._holders:  # the workers were lost: the same function in this process
            from optimizer.solvers.lagrange import _smoothed

            return _smoothed(self.P, mu, T)
        try:
            return self._chunked(mu, T)
        except Exception as exc:  # noqa: BLE001 - a lost worker, a timeout: the evaluations go on here
            self.info["lost"] = (f"a Dask worker holding dual chunks failed or did not answer "
                                 f"({type(exc).__name__}: {exc}); the dual went on in process")
            self.close()
            return self(mu, T)

    def _chunked(self, mu: np.ndarray, T: float):
        P, m = self.P, self.m
        lam = mu[:m] - mu[m:]
        pending = [h.evaluate(lam, T) for h in self._holders]
        const = float(P.Uf @ mu[:m] - P.Lf @ mu[m:])  # here, while the workers run
        if len(P.g):
            vg = (P.cg - P.A3T @ lam) * P.ug
            g_smooth = float(T * np.logaddexp(0.0, vg / T).sum())
            g_exact = float(np.maximum(vg, 0.0).sum())
            g_az = P.A3 @ (expit(vg / T) * P.ug)
        got = []
        for fut in pending:
            got.extend(fut.result(timeout=max(self._deadline - time.perf_counter(), 1.0)))
        results = [None] * len(got)
        for pos, res in zip(self._order, got, strict=True):
            results[pos] = res
        smooth_val, exact_val, az = results[0]
        for s, e, a in results[1:]:
            smooth_val += s
            exact_val += e
            az = az + a
        if len(P.g):
            smooth_val += g_smooth
            exact_val += g_exact
            az = az + g_az
        grad = np.r_[P.Uf - az, -(P.Lf - az)]
        return smooth_val + const, grad, exact_val + const

    def close(self) -> None:
        """Release the actors, the client and the local cluster this object started (never a cluster it joined)."""
        if self._holders:  # seconds and CPU seconds each worker spent in evaluations (informational)
            with contextlib.suppress(Exception):
                busy = [h.stats().result(timeout=10) for h in self._holders]
                self.timings["worker_busy_s"] = [round(b[0], 3) for b in busy]
                self.timings["worker_cpu_s"] = [round(b[1], 3) for b in busy]
        self._holders = []
        with contextlib.suppress(Exception):
            self._stack.close()
