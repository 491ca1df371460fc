"""Shared fixtures and the hypothesis profiles (derandomised: the same examples on every run)."""

from __future__ import annotations

import pytest
from helpers import TINY
from hypothesis import HealthCheck, settings

from optimizer.solvers import BACKENDS, available_solvers

# Derandomised: the same examples on every run. Tests set their own (small) max_examples through
# helpers.examples(n); for a longer hunt run e.g. LANDUSE_HYPOTHESIS_SCALE=25 python -m pytest tests/test_bruteforce.py
settings.register_profile(
    "landuse", derandomize=True, database=None, deadline=None, max_examples=20, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("landuse")

SOLVERS = available_solvers()


XDIST_MAX_WORKERS = 4  # `-n auto` (pyproject's addopts): one worker per usable core, at most this many


def pytest_xdist_auto_num_workers(config):
    """Workers for `-n auto`: the cores this process may use (a container's share, not the host's), at most
    XDIST_MAX_WORKERS (each worker holds its own imports, notebook kernels and Dask clusters)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, XDIST_MAX_WORKERS))


def pytest_generate_tests(metafunc):
    """`backend` runs a test once per exact backend of the registry; one not installed here is a skip."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", [
            pytest.param(name, marks=pytest.mark.skipif(name not in SOLVERS, reason=f"{name} not available"))
            for name in BACKENDS
        ])


@pytest.fixture(scope="session")
def tiny():
    from optimizer.scenario import load_scenario

    return load_scenario(TINY)


@pytest.fixture(scope="session")
def tiny_result(tiny):
    from optimizer.pipeline import solve_scenario

    return solve_scenario(tiny, solver="highs", mip_gap=0.0)
