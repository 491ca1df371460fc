"""landuse-optimizer: which industry on which parcel, how dense, to produce the most output per unit of land.

The one-way flow, callable from scripts and notebooks::

    from optimizer import load_scenario, solve_scenario, write_outputs
    sc = load_scenario("scenarios/tiny")
    result = solve_scenario(sc, solver="highs")
    write_outputs(result, "out/tiny")
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "build_model", "check_plan", "compute_kpis", "load_scenario", "solve_scenario",
           "write_outputs"]


def __getattr__(name: str):  # lazy, so that `import optimizer` and `landuse --help` stay fast
    if name == "load_scenario":
        from optimizer.scenario import load_scenario
        return load_scenario
    if name == "build_model":
        from optimizer.model import build_model
        return build_model
    if name == "solve_scenario":
        from optimizer.pipeline import solve_scenario
        return solve_scenario
    if name == "check_plan":
        from optimizer.solution import check_plan
        return check_plan
    if name == "compute_kpis":
        from optimizer.solution import compute_kpis
        return compute_kpis
    if name == "write_outputs":
        from optimizer.report.write import write_outputs
        return write_outputs
    raise AttributeError(name)
