"""Questions asked of a solved plan: what each rule is worth, why each parcel, alternatives, trade-offs.

Everything here sits above `optimizer.pipeline` and calls it (or the solver registry) rather than re-implementing
load → build → solve.
"""

from __future__ import annotations


def resolve_options(result, ceiling_s: float, **changes):
    """The options of one re-solve that answers a question about the run (a rule relaxed, a parcel forced, an
    alternative asked for): the run's own options, with the run's amount of work fixed (its work limit, else its
    time limit, as nominal seconds: SolveOptions.work_limit_s) and `ceiling_s` as the time limit, a ceiling only.

    The work does not depend on how much of the analyses' time is left, so the answer is the same on a busy or an
    idle machine unless the ceiling is reached (a re-solve given the time left once drew its work budgets from
    that, and a rule's worth on Qianhai moved by 13 % beside three busy processes). CBC has no work limits: its
    re-solves stop on the clock."""
    from dataclasses import replace

    from optimizer.solvers import SolveOptions

    opts = result.options or SolveOptions()
    work = None if result.solver == "cbc" else opts.work_s
    changes = {"dual_start": None, **changes}  # multipliers only where the caller knows the rules are the run's
    return replace(opts, time_limit_s=ceiling_s, work_limit_s=work, progress=None, log=False, **changes)


CUT_BY_CLOCK = "cut by its time limit: may differ on a busy machine"  # said of a re-solve that the ceiling cut


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
