"""Benchmarks: a seeded synthetic city, the public OR-Library GAP instances, baselines and a timing harness.

Everything here goes through the normal pipeline (`build_scenario`, `eligible_pairs`, `build_model`,
`solve_scenario`), so a benchmark measures exactly what `landuse solve` runs. Heavy imports (pulp, matplotlib)
stay inside the functions that need them.
"""
