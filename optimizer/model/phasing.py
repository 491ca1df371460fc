"""Phased development in the model: one column pair per (parcel, industry, phase), and the per-phase rules.

A parcel is developed at most once over the horizon (its one-use row spans all its phases), so a development is
irreversible: it keeps its industry and floor in every later phase. The rules of the scenario's [rules] and of
industries.csv hold for the end state (the last phase's end); each phase adds its own budget (spending within the
phase) and cumulative targets (what stands at the phase's end: existing uses not yet redeveloped plus everything
built in this and earlier phases).

Objective: each yearly output term is weighted by its discounted years of operation (`operating_weights`); an
existing use produces until the phase in which it is replaced (`carry_yuan`).

Cumulative floor of industry k at the end of phase t, for the rows here (x, f the columns, t_e the phase of e):
    floor_k(t) = Σ_{p existing k} floor_p  +  Σ_{e: t_e ≤ t, k_e = k} f_e  −  Σ_{e: t_e ≤ t, p_e existing k} floor_p·x_e
Shares and metric targets are linear combinations of these, so every per-phase row is one `_add_cumulative` row.
With `caps_every_phase` (the default) the end state's maxima (industries' demand caps and share maxima, metric
rule maxima) are also rows at every earlier phase end: a demand cap is never exceeded on the way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimizer.data import Scenario
from optimizer.model.eligibility import PairSet, existing_uses
from optimizer.scenario.phases import operating_weights

INF = np.inf


def expand_pairs(sc: Scenario, pairs: PairSet) -> PairSet:
    """Each pair once per phase (parcel-major order kept: parcel, then pair, then phase), with its weights."""
    T = len(sc.phases)
    n = len(pairs)
    rep = np.repeat(np.arange(n), T)
    phase = np.tile(np.arange(T), n)
    W, W_full, spend = operating_weights(sc.phases, sc.phasing)
    arrays = {}
    for name in ("parcel", "industry", "lo_m2", "hi_m2", "value_per_m2", "cost_per_m2", "cost_fixed_yuan",
                 "output_fixed_yuan", "redevelop_yuan"):
        v = getattr(pairs, name)
        arrays[name] = None if v is None else v[rep]
    carry = np.zeros(n * T)
    ex = existing_uses(sc)
    if ex is not None:
        ex_out = existing_output(sc, pairs)[arrays["parcel"]]
        carry = (W_full - W[phase]) * ex_out
    return replace(pairs, **arrays, phase=phase, weight=W[phase], carry_yuan=carry, spend_discount=spend[phase])


def existing_output(sc: Scenario, pairs: PairSet) -> np.ndarray:
    """Per parcel: the yearly output of its existing use (0 for greenfield), as the keep pair values it."""
    out = np.zeros(sc.n_parcels)
    ex = existing_uses(sc)
    if ex is None:
        return out
    keep = np.flatnonzero(ex.industry[pairs.parcel] == pairs.industry)
    p = pairs.parcel[keep]
    out[p] = pairs.fixed_output[keep] + pairs.value_per_m2[keep] * ex.floor_m2[p]
    return out


def phase_rows(R, sc: Scenario, pairs: PairSet, X: np.ndarray, F: np.ndarray, fu: float, mu: float,
               metric_rates) -> None:
    """Each phase's budget and its cumulative floor, share and metric targets (see the module docstring)."""
    if pairs.phase is None:
        return
    _phase_budgets(R, sc, pairs, X, F, fu, mu)
    kid = sc.industries["industry_id"].to_numpy(str)
    kidx = sc.industry_index()
    n_k = len(kid)
    ex = existing_uses(sc)
    ex_k = ex.industry if ex is not None else np.full(sc.n_parcels, -1)
    ex_floor = np.where(ex_k >= 0, ex.floor_m2, 0.0) if ex is not None else np.zeros(sc.n_parcels)
    ctx = (pairs, X, F, fu, ex_k, ex_floor)

    floor_rows, metric_rows = [], []  # (phase, per-industry vector a, lo, hi, label)
    for t, ph in enumerate(sc.phases):
        for k, v in ph.min_floor_m2.items():
            floor_rows.append((t, _unit(n_k, kidx[k]), v, INF, f"{ph.name}: floor of {k} ≥ {v:,.0f} m² by "
                                                              f"{ph.end_year}"))
        for k, v in ph.max_floor_m2.items():
            floor_rows.append((t, _unit(n_k, kidx[k]), -INF, v, f"{ph.name}: floor of {k} ≤ {v:,.0f} m² by "
                                                               f"{ph.end_year}"))
        for k, s in ph.min_share.items():
            floor_rows.append((t, _unit(n_k, kidx[k]) - s, 0.0, INF, f"{ph.name}: {k} share of all floor ≥ {s:.1%}"
                                                                    f" by {ph.end_year}"))
        for k, s in ph.max_share.items():
            floor_rows.append((t, _unit(n_k, kidx[k]) - s, -INF, 0.0, f"{ph.name}: {k} share of all floor ≤ {s:.1%}"
                                                                     f" by {ph.end_year}"))
        for m, v in ph.metric_min.items():
            metric_rows.append((t, metric_rates(sc, m, ()), v, INF, f"{ph.name}: total {m} ≥ {v:,.6g} by "
                                                                    f"{ph.end_year}"))
        for m, v in ph.metric_max.items():
            metric_rows.append((t, metric_rates(sc, m, ()), -INF, v, f"{ph.name}: total {m} ≤ {v:,.6g} by "
                                                                     f"{ph.end_year}"))
    if sc.phasing.caps_every_phase:  # maxima of the end state hold at every earlier phase end too
        cap = sc.industries["max_floor_total_m2"].to_numpy(float)
        s_max = sc.industries["max_share"].to_numpy(float)
        for t, ph in enumerate(sc.phases[:-1]):
            for k in np.flatnonzero(np.isfinite(cap)):
                floor_rows.append((t, _unit(n_k, k), -INF, cap[k], f"{ph.name}: floor of {kid[k]} ≤ its demand cap "
                                                                   f"{cap[k]:,.0f} m² by {ph.end_year}"))
            for k in np.flatnonzero(np.isfinite(s_max)):
                floor_rows.append((t, _unit(n_k, k) - s_max[k], -INF, 0.0, f"{ph.name}: {kid[k]} share of all floor "
                                                                         f"≤ {s_max[k]:.1%} by {ph.end_year}"))
            for rule in sc.rules.metric_rules:
                if np.isfinite(rule.max):
                    metric_rows.append((t, metric_rates(sc, rule.metric, rule.industries), -INF, rule.max,
                                        f"{ph.name}: total {rule.metric} ≤ {rule.max:,.6g} by {ph.end_year}"))
    _add_cumulative(R, "phase_floor", floor_rows, ctx, scale=fu, unit="m2")
    _add_cumulative(R, "phase_metric", metric_rows, ctx, scale=1.0, unit="metric")


def _unit(n: int, k: int) -> np.ndarray:
    a = np.zeros(n)
    a[k] = 1.0
    return a


def _add_cumulative(R, family: str, rows: list, ctx, scale: float, unit: str) -> None:
    """Rows lo ≤ Σ_k a_k floor_k(t) ≤ hi, in units of `scale` (fu for floor rows, 1 for metrics)."""
    if not rows:
        return
    pairs, X, F, fu, ex_k, ex_floor = ctx
    rr, cc, vv, lo, hi, labels = [], [], [], [], [], []
    has_ex = ex_k >= 0
    for i, (t, a, lo_b, hi_b, label) in enumerate(rows):
        sel = np.flatnonzero(pairs.phase <= t)
        af = a[pairs.industry[sel]]
        p = pairs.parcel[sel]
        ax = np.where(has_ex[p], a[np.maximum(ex_k[p], 0)] * ex_floor[p], 0.0)
        const = float((a[ex_k[has_ex]] * ex_floor[has_ex]).sum())
        nz_f, nz_x = np.flatnonzero(af), np.flatnonzero(ax)
        rr.append(np.full(len(nz_f) + len(nz_x), i))
        cc.append(np.concatenate([F[sel[nz_f]], X[sel[nz_x]]]))
        vv.append(np.concatenate([af[nz_f] * fu, -ax[nz_x]]) / scale)
        lo.append((lo_b - const) / scale)
        hi.append((hi_b - const) / scale)
        labels.append(label)
    R.add(family, np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), np.array(lo), np.array(hi),
          lambda i: labels[i], elastic=True, unit=unit, natural=scale)


def _phase_budgets(R, sc: Scenario, pairs: PairSet, X, F, fu, mu) -> None:
    budgets = np.array([ph.budget_yuan for ph in sc.phases])
    ts = np.flatnonzero(np.isfinite(budgets))
    if not len(ts):
        return
    pos = np.full(len(sc.phases), -1)
    pos[ts] = np.arange(len(ts))
    r = pos[pairs.phase]
    sel = np.flatnonzero(r >= 0)
    names = [sc.phases[t].name for t in ts]
    caps = budgets[ts]
    R.add("phase_budget", np.concatenate([r[sel], r[sel]]), np.concatenate([X[sel], F[sel]]),
          np.concatenate([pairs.fixed_cost[sel] / mu, pairs.cost_per_m2[sel] * fu / mu]),
          np.full(len(ts), -INF), caps / mu,
          lambda i: f"budget of phase {names[i]} ≤ {caps[i]:,.0f} yuan", elastic=True, unit="yuan", natural=mu)
