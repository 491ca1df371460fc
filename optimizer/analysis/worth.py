"""What each rule is worth: binding or slack, the slack, and the objective gained per unit of relaxation.

Two methods, named in every row of the table:

* "LP dual, choices fixed": the plan's binary choices are fixed and the floor areas re-optimised as a linear
  programme; the row duals of that LP give the objective gained per unit of each rule. Cheap, exact for small
  changes that keep the same parcels, but an integer programme can respond to a relaxation by choosing other
  parcels, which the dual cannot see.
* "re-solve": the rule is relaxed by a stated step and the whole MILP solved again (warm-started from the plan,
  same solver and gap); (objective after − objective before) / step. Used to confirm the rules that matter most,
  and for access limits, which are not rows of the model (they decide which pairs exist).

Relaxing means raising a cap or a "most" bound and lowering a floor or a "least" bound. Values are in the
objective's units (yuan a year for total output) per unit of the rule (yuan of budget, m² of floor, a site, a
percentage point of a share, a minute of an access limit).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.analysis import CUT_BY_CLOCK, resolve_options, solve_like
from optimizer.data import Scenario, gain_words
from optimizer.pipeline import RunResult
from optimizer.solvers import SolveOptions
from optimizer.solvers.base import cut_by_clock

DUAL = "LP dual, choices fixed"
RESOLVE = "re-solve"
COLUMNS = ["rule", "family", "side", "unit", "bound", "value", "slack", "binding", "marginal_value",
           "marginal_unit", "method", "step", "impact_of_step", "uncertainty"]
UNIT_WORDS = {"m2": "m² of floor", "yuan": "yuan", "sites": "site", "share": "percentage point of share",
              "minutes": "minute"}


def _fixed_lp_duals(bundle, x: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Row duals (d objective / d active bound, model units) of the LP with the integer columns fixed at x."""
    from optimizer.analysis.pricing import lp_solution

    m = bundle.milp
    xi = np.round(x)
    fixed = replace(m, col_lower=np.where(m.integrality, xi, m.col_lower),
                    col_upper=np.where(m.integrality, xi, m.col_upper))
    got = lp_solution(fixed)
    return None if got is None else (got[1], got[2])


def _amount(v: float, unit: str) -> str:
    """A step as a planner reads it: 600,000,000 (yuan) or 10,000 (m²) in full, small or odd values as they are."""
    return f"{v:,.0f}" if unit in ("yuan", "m2") and abs(v) >= 100 else f"{v:,.6g}"


def _unit_word(unit: str) -> str:
    return UNIT_WORDS.get(unit, unit)


def rule_rows(result: RunResult) -> pd.DataFrame:
    """One row per bound of every coupling rule (and every access limit), with the fixed-choice LP duals."""
    from optimizer.analysis import linear_view

    (bundle, div), x, sc = linear_view(result), result.x, result.scenario
    m = bundle.milp
    n = bundle.n_pairs
    sense = 1.0 if m.sense == "maximize" else -1.0
    got = _fixed_lp_duals(bundle, x)
    duals = got[0] if got is not None else np.full(m.n_rows, np.nan)
    act = m.A @ x
    A = m.A.tocsr()
    out = []
    for b in m.blocks:
        if not b.elastic:
            continue
        for r in range(b.start, b.start + b.size):
            nat = bundle.row_natural[r]
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            vals = A.data[A.indptr[r]:A.indptr[r + 1]]
            aux = cols >= 2 * n
            share = bool(aux.any()) and b.family != "total_floor"
            for side, bound in (("min", m.row_lower[r]), ("max", m.row_upper[r])):
                if not np.isfinite(bound):
                    continue
                relax = 1.0 if side == "max" else -1.0  # direction in which the bound moves when relaxed
                per_row_unit = sense * relax * duals[r] * m.obj_scale / div  # objective per unit of the row
                if share:  # Σ f_k − s·T ≥ 0 (or ≤): one percentage point of s moves the row by T/100
                    s = -float(vals[aux][0]) * nat / bundle.floor_unit_m2
                    total_m2 = float(x[cols[aux][0]]) * bundle.floor_unit_m2
                    own = (act[r] * nat + s * total_m2)
                    value = own / total_m2 if total_m2 > 0 else 0.0
                    slack_pp = (value - s) * 100 if side == "min" else (s - value) * 100
                    row_per_pp = total_m2 / 100 / nat
                    out.append(dict(rule=b.label(r - b.start), family=b.family, side=side, unit="share",
                                    bound=s, value=value, slack=slack_pp,
                                    binding=abs(slack_pp) <= 1e-6 * 100 + 1e-9,
                                    marginal_value=per_row_unit * row_per_pp, _row=r, _share=True))
                else:
                    bnat, vnat = bound * nat, act[r] * nat
                    slack = (vnat - bnat) if side == "min" else (bnat - vnat)
                    tol = 1e-6 * max(abs(bnat), 1.0)
                    out.append(dict(rule=b.label(r - b.start), family=b.family, side=side, unit=b.unit,
                                    bound=bnat, value=vnat, slack=slack, binding=slack <= tol,
                                    marginal_value=per_row_unit / nat, _row=r, _share=False))
    for i, rule in enumerate(sc.rules.access_rules):
        if not np.isfinite(rule.max_minutes):
            continue
        kidx = sc.industry_index()[rule.industry]
        chosen = np.flatnonzero(x[:n] > 0.5)
        minutes = sc.access[rule.node_type].to_numpy(float)
        used = minutes[bundle.pairs.parcel[chosen[bundle.pairs.industry[chosen] == kidx]]]
        worst = float(used.max()) if len(used) else np.nan
        admits = (minutes > rule.max_minutes) & (minutes <= rule.max_minutes + 1.0)
        out.append(dict(rule=f"{rule.industry} within {rule.max_minutes:g} min of the nearest {rule.node_type}",
                        family="access", side="max", unit="minutes", bound=rule.max_minutes, value=worst,
                        slack=rule.max_minutes - worst if np.isfinite(worst) else rule.max_minutes,
                        # binding when a one-minute relaxation would admit more parcels
                        binding=bool(admits.any()), _admits=int(admits.sum()),
                        marginal_value=np.nan, _row=-1, _share=False, _access=i))
    df = pd.DataFrame(out)
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    df["method"] = np.where(df["family"] == "access", "", DUAL if got is not None else "")
    df["marginal_value"] = df["marginal_value"].where(df["binding"] | (df["family"] == "access"), 0.0)
    return df


def _step(row: pd.Series, step_rel: float) -> float:
    """The relaxation step in the rule's unit: `step_rel` of the bound, at least one whole site, one percentage
    point of a share, one minute of an access limit."""
    if row["unit"] in ("share", "minutes", "sites"):
        return 1.0
    return max(step_rel * abs(row["bound"]), 1e-9 * max(abs(row["value"]), 1.0)) or 1.0


def _relaxed_bundle(bundle, row: pd.Series, step: float):
    """The model with one rule relaxed by `step` (in the rule's unit)."""
    m = bundle.milp
    r = int(row["_row"])
    nat = bundle.row_natural[r]
    if row["_share"]:
        A = m.A.tocsr(copy=True)
        lo_i, hi_i = A.indptr[r], A.indptr[r + 1]
        aux = A.indices[lo_i:hi_i] >= 2 * bundle.n_pairs
        s_new = row["bound"] + (-step if row["side"] == "min" else step) / 100
        A.data[lo_i:hi_i][aux] = -max(s_new, 0.0) * bundle.floor_unit_m2 / nat
        return replace(bundle, milp=replace(m, A=A))
    lower, upper = m.row_lower.copy(), m.row_upper.copy()
    if row["side"] == "max":
        upper[r] += step / nat
    else:
        lower[r] -= step / nat
    return replace(bundle, milp=replace(m, row_lower=lower, row_upper=upper))


def rule_worth(result: RunResult, confirm_top: int = 3, confirm_access: int = 2, time_limit_s: float = 60.0,
               step_rel: float = 0.01) -> pd.DataFrame:
    """The marginal-values table of a solved run (columns COLUMNS), most valuable rules first.

    The `confirm_top` binding rules with the largest dual impact, and the `confirm_access` binding access limits
    that one more minute would open to most parcels, are re-solved with the rule relaxed by a step (`step_rel` of
    its bound, or one site / percentage point / minute); the re-solved figure then replaces the dual one and the
    method says so. Which rules are re-solved depends only on the plan, so the table is the same on a busy or an
    idle machine; `time_limit_s` is a ceiling only (rules left when it is reached say "not computed").
    """
    if result.plan is None or result.bundle is None or result.x is None:
        return pd.DataFrame(columns=COLUMNS)
    df = rule_rows(result)
    if df.empty:
        return df
    df["step"] = [_step(r, step_rel) for _, r in df.iterrows()]
    df["impact_of_step"] = df["marginal_value"] * df["step"]
    df["uncertainty"] = np.nan
    opts = result.options or SolveOptions()
    base = result.plan.objective
    sense = 1.0 if result.bundle.milp.sense == "maximize" else -1.0
    deadline = time.perf_counter() + time_limit_s
    ranked = df[df["binding"] & (df["family"] != "access")].sort_values("impact_of_step", ascending=False,
                                                                          key=np.abs)
    access = df[(df["family"] == "access") & df["binding"]]
    if len(access):
        access = access.sort_values("_admits", ascending=False, kind="stable")
    todo = list(ranked.index[:confirm_top]) + list(access.index[:confirm_access])
    for i in todo:
        left = deadline - time.perf_counter()
        if left < 0.5:
            break
        row = df.loc[i]
        step = float(row["step"])
        per_try = min(left, max(opts.time_limit_s, 1.0))
        if row["family"] == "access":
            got = _resolve_access(result, int(row["_access"]), step, per_try)
        else:
            got = _resolve_row(result, row, step, per_try)
        if got is None:
            continue
        obj, gap, cut = got
        # the plan stays feasible when a rule is relaxed: a re-solve that found worse (stopped by its limit or
        # gap) still proves the relaxed optimum is at least the plan's
        obj = max(obj, base) if sense > 0 else min(obj, base)
        df.loc[i, "marginal_value"] = sense * (obj - base) / step
        df.loc[i, "impact_of_step"] = sense * (obj - base)
        df.loc[i, "method"] = (f"{RESOLVE}, {'+' if row['side'] == 'max' else '−'}{_amount(step, row['unit'])} "
                               f"{_unit_word(row['unit'])}" + (f" ({CUT_BY_CLOCK})" if cut else ""))
        plan_gap = result.plan.gap if np.isfinite(result.plan.gap) else 0.0
        df.loc[i, "uncertainty"] = (abs(obj) * (gap if np.isfinite(gap) else 0.0) + abs(base) * plan_gap) / step
    df["marginal_unit"] = [f"{_objective_unit(result)} per {_unit_word(u)}" for u in df["unit"]]
    df.loc[df["method"] == "", "method"] = "not computed"
    df = df.sort_values(["binding", "impact_of_step"], ascending=[False, False], key=_abs_if_numeric)
    return df[COLUMNS].reset_index(drop=True)


def _abs_if_numeric(s: pd.Series) -> pd.Series:
    return s.abs().fillna(-1.0) if s.dtype.kind == "f" else s


def _objective_unit(result: RunResult) -> str:
    from optimizer.data import objective_unit

    return objective_unit(result.scenario)


def _resolve_row(result: RunResult, row: pd.Series, step: float, time_limit_s: float):
    bundle = _relaxed_bundle(result.bundle, row, step)
    # the same rules with one bound moved: the plan and the run's multipliers are where the re-solve starts
    res = solve_like(result, bundle, resolve_options(result, time_limit_s, warm_start=result.x,
                                                     dual_start=result.dual))
    if not res.has_plan:
        return None
    return (float(res.objective), float(res.gap) if res.gap is not None else np.nan,
            cut_by_clock(res.status, res.phases))


def _resolve_access(result: RunResult, i: int, step: float, time_limit_s: float):
    """Re-solve with access limit i raised by `step` minutes, through the pipeline (so the plan is checked)."""
    from optimizer.pipeline import solve_scenario

    sc = result.scenario
    rules = list(sc.rules.access_rules)
    rules[i] = replace(rules[i], max_minutes=rules[i].max_minutes + step)
    relaxed = replace(sc, rules=replace(sc.rules, access_rules=tuple(rules)))
    o = resolve_options(result, time_limit_s)
    try:  # more pairs, the same rules: the run's multipliers start the engine's dual
        got = solve_scenario(relaxed, solver=result.solver, time_limit_s=o.time_limit_s, mip_gap=o.mip_gap,
                             threads=o.threads, work_limit_s=o.work_limit_s, dual_start=result.dual)
    except Exception:  # noqa: BLE001 - a failed confirmation leaves the row as "not computed"
        return None
    if got.plan is None:
        return None
    return (float(got.plan.objective), float(got.plan.gap) if np.isfinite(got.plan.gap) else np.nan,
            cut_by_clock(got.status, got.phases))


def holding_back(table: pd.DataFrame, scenario: Scenario, n: int = 5) -> list[str]:
    """The `n` binding rules whose relaxation by their step gains most, in plain words (gains in the unit of the
    scenario's objective)."""
    if table is None or table.empty:
        return []
    rows = table[table["binding"] & (table["impact_of_step"].abs() > 0)]
    rows = rows.reindex(rows["impact_of_step"].abs().sort_values(ascending=False).index).head(n)
    out = []
    for _, r in rows.iterrows():
        step = f"{_amount(r['step'], r['unit'])} {_unit_word(r['unit'])}" + (
            "s" if r["step"] != 1 and r["unit"] in ("sites", "share", "minutes") else "")
        out.append(f"{r['rule']}: relaxing it by {step} gains {gain_words(scenario, r['impact_of_step'])} "
                   f"({r['marginal_value']:,.4g} {r['marginal_unit']}; {r['method']})")
    return out
