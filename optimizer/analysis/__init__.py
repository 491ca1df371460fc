"""Questions asked of a solved plan: what each rule is worth, why each parcel, alternatives, trade-offs.

Everything here sits above `optimizer.pipeline` and calls it (or the solver registry) rather than re-implementing
load → build → solve.
"""

from __future__ import annotations


def solve_like(result, bundle, opts):
    """Solve `bundle` (the run's model, changed by a question) the way the run was solved: the run's solver, and
    Dinkelbach's method when the objective is output per land (then the objective is the ratio)."""
    from optimizer.solvers import solve_bundle

    if result.scenario.objective.kind == "output_per_land" and bundle.denominator is not None:
        from optimizer.solvers import fractional

        return fractional.solve(bundle, lambda b, o: solve_bundle(b, result.solver, o), opts)
    return solve_bundle(bundle, result.solver, opts)


def linear_view(result):
    """(a model whose objective is linear around the run's plan, the divisor that turns its units into the
    objective's). For output per land: output − r*·land at the plan's ratio r*, whose changes divided by the plan's
    land D* are the ratio's changes to first order (d r = d(N − r*·D) / D* at the optimum)."""
    from dataclasses import replace

    bundle = result.bundle
    if result.scenario.objective.kind != "output_per_land" or bundle.denominator is None:
        return bundle, 1.0
    m, d = bundle.milp, bundle.denominator
    lam = result.plan.objective
    land = float(d @ result.x)
    lin = replace(bundle, milp=replace(m, c=m.c - lam * d / m.obj_scale), denominator=None)
    return lin, (land if land > 0 else 1.0)
