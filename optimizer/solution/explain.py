"""Explaining infeasible scenarios in the planner's terms.

`precheck` finds conflicts visible before solving (demand above what eligible parcels hold, a must-develop
parcel no industry may use...). `diagnose` finds the rules behind an infeasible model: it relaxes every coupling
rule with a penalised slack (an elastic model), minimises the total slack, and names the rules that had to give.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from optimizer.data import Scenario
from optimizer.model.build import ModelBundle
from optimizer.model.eligibility import PairSet


def precheck(sc: Scenario, pairs: PairSet) -> list[str]:
    """Conflicts that need no solver. Returns plain sentences; empty if none found."""
    out: list[str] = []
    par, ind = sc.parcels, sc.industries
    kid = ind["industry_id"].to_numpy()
    has_pair = np.zeros(sc.n_parcels, bool)
    has_pair[pairs.parcel] = True
    must = par["must_develop"].to_numpy(bool)
    for i in np.flatnonzero(must & ~has_pair)[:10]:
        out.append(f"parcel {par['parcel_id'].iloc[i]} must be developed, but no industry may locate there "
                   f"(zone {par['zone'].iloc[i]}, sub-area {par['subarea'].iloc[i]}; zoning, access, admission "
                   "and size rules exclude every industry)")
    cap_k = np.bincount(pairs.industry, weights=pairs.hi_m2, minlength=sc.n_industries)
    n_sites_k = np.bincount(pairs.industry, minlength=sc.n_industries)
    for k in range(sc.n_industries):
        need = ind["min_floor_total_m2"].iloc[k]
        if np.isfinite(need) and need > cap_k[k] * (1 + 1e-9):
            out.append(f"demand floor of {kid[k]} ({need:,.0f} m²) is above what its eligible parcels can hold "
                       f"({cap_k[k]:,.0f} m² on {n_sites_k[k]} parcels at their FAR caps)")
        ms = ind["min_sites"].iloc[k]
        if np.isfinite(ms) and ms > n_sites_k[k]:
            out.append(f"{kid[k]} needs at least {int(ms)} sites but only {n_sites_k[k]} parcels are eligible")
        hi_tot = ind["max_floor_total_m2"].iloc[k]
        lo_min = pairs.lo_m2[pairs.industry == k]
        if np.isfinite(hi_tot) and len(lo_min) and np.isfinite(ms) and ms > 0:
            least = np.sort(lo_min)[: int(ms)].sum()
            if least > hi_tot * (1 + 1e-9):
                out.append(f"{kid[k]}: {int(ms)} sites need at least {least:,.0f} m² of floor, above its demand cap "
                           f"{hi_tot:,.0f} m²")
    # all demand floors together against the best capacity per parcel
    best_cap = np.zeros(sc.n_parcels)
    np.maximum.at(best_cap, pairs.parcel, pairs.hi_m2)
    total_need = np.nansum(ind["min_floor_total_m2"].to_numpy(float))
    if total_need > best_cap.sum() * (1 + 1e-9):
        out.append(f"the demand floors add up to {total_need:,.0f} m², more than all parcels can hold "
                   f"({best_cap.sum():,.0f} m²)")
    shares = np.nansum(ind["min_share"].to_numpy(float))
    if shares > 1 + 1e-9:
        out.append(f"the industries' minimum shares of total floor add up to {shares:.1%}, above 100%")
    sub = par["subarea"].to_numpy(str)[pairs.parcel]
    kidx = sc.industry_index()
    for rule in sc.rules.subarea_mix:
        if np.isfinite(rule.min_floor_m2):
            sel = sub == rule.subarea
            if rule.industry:
                sel &= pairs.industry == kidx[rule.industry]
                cap = pairs.hi_m2[sel].sum()
            else:
                best_s = np.zeros(sc.n_parcels)
                np.maximum.at(best_s, pairs.parcel[sel], pairs.hi_m2[sel])
                cap = best_s.sum()
            if rule.min_floor_m2 > cap * (1 + 1e-9):
                out.append(f"sub-area {rule.subarea} must hold at least {rule.min_floor_m2:,.0f} m² of "
                           f"{rule.industry or 'floor'}, but its eligible parcels hold at most {cap:,.0f} m²")
    for rule in sc.rules.metric_rules:
        if np.isfinite(rule.min):
            from optimizer.model.build import _metric_rates

            rate = _metric_rates(sc, rule.metric, rule.industries)[pairs.industry]
            best = np.zeros(sc.n_parcels)
            np.maximum.at(best, pairs.parcel, rate * pairs.hi_m2)
            if rule.min > best.sum() * (1 + 1e-9):
                out.append(f"total {rule.metric} must reach {rule.min:,.6g}, but even every eligible parcel at its "
                           f"FAR cap gives at most {best.sum():,.6g}")
    return out + _lock_conflicts(sc, pairs)


def _lock_conflicts(sc: Scenario, pairs: PairSet) -> list[str]:
    """Locks that contradict other rules: a lock with no existing use to keep, a locked-out empty parcel that
    must be developed, locked existing uses whose floor or number exceed an industry's demand cap or site cap."""
    par = sc.parcels
    if "lock" not in par or not (par["lock"] != "").any():
        return []
    out: list[str] = []
    pid = par["parcel_id"].to_numpy(str)
    lock, ex = par["lock"].to_numpy(str), par["existing_industry"].to_numpy(str)
    for i in np.flatnonzero((lock == "industry") & (ex == ""))[:10]:
        out.append(f"parcel {pid[i]}: lock = industry keeps its existing industry, but it has no existing_industry")
    for i in np.flatnonzero((lock == "out") & (ex == "") & par["must_develop"].to_numpy(bool))[:10]:
        out.append(f"parcel {pid[i]}: lock = out keeps it empty, but must_develop = true")
    locked = (lock != "")[pairs.parcel] & (ex != "")[pairs.parcel]  # the kept pair is a locked parcel's only pair
    ind = sc.industries
    for k in np.unique(pairs.industry[locked]):
        sel = locked & (pairs.industry == k)
        names = ", ".join(f"{pid[p]} (lock = {lock[p]})" for p in pairs.parcel[sel][:5])
        more = f" and {sel.sum() - 5} more" if sel.sum() > 5 else ""
        least, cap = float(pairs.lo_m2[sel].sum()), ind["max_floor_total_m2"].iloc[k]
        if np.isfinite(cap) and least > cap * (1 + 1e-9):
            out.append(f"demand cap of {ind['industry_id'].iloc[k]} ({cap:,.0f} m²) is below the existing floor its "
                       f"locked parcels keep ({least:,.0f} m²: {names}{more})")
        sites = ind["max_sites"].iloc[k]
        if np.isfinite(sites) and sel.sum() > sites:
            out.append(f"{ind['industry_id'].iloc[k]} may have at most {int(sites)} sites, but {int(sel.sum())} "
                       f"locked parcels keep it ({names}{more})")
    return out


def elastic_model(bundle: ModelBundle):
    """The MILP with a slack column on each side of every coupling row, minimising total slack.

    Returns (milp, slack_rows, slack_sign): slack j relaxes row slack_rows[j] downwards (+1) or upwards (−1).
    """
    m = bundle.milp
    rows, signs = [], []
    for b in m.blocks:
        if not (b.elastic or b.family == "one_use"):
            continue
        r = np.arange(b.start, b.start + b.size)
        lo_fin = np.isfinite(m.row_lower[r])
        rows.append(r[lo_fin])
        signs.append(np.ones(lo_fin.sum()))
        if b.family != "one_use":
            up_fin = np.isfinite(m.row_upper[r])
            rows.append(r[up_fin])
            signs.append(-np.ones(up_fin.sum()))
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    signs = np.concatenate(signs) if signs else np.zeros(0)
    ns = len(rows)
    S = sp.csr_matrix((signs, (rows, np.arange(ns))), shape=(m.n_rows, ns))
    A = sp.hstack([m.A, S]).tocsr()
    milp = replace(
        m, A=A, c=np.concatenate([np.zeros(m.n_cols), np.ones(ns)]), sense="minimize",
        col_lower=np.concatenate([m.col_lower, np.zeros(ns)]),
        col_upper=np.concatenate([m.col_upper, np.full(ns, np.inf)]),
        integrality=np.concatenate([m.integrality, np.zeros(ns, bool)]), obj_scale=1.0,
    )
    return milp, rows, signs


def diagnose(bundle: ModelBundle, time_limit_s: float = 30.0) -> list[str] | None:
    """Names of the coupling rules that must be relaxed for any plan to exist.

    Empty if the elastic model could not be solved; None if it needed no slack at all (the model is feasible,
    so whoever called it infeasible was wrong). Always solved with HiGHS.
    """
    from optimizer.solvers import SolveOptions, solve_milp

    milp, rows, signs = elastic_model(bundle)
    res = solve_milp(milp, "highs", SolveOptions(time_limit_s=time_limit_s, mip_gap=1e-6))
    if not res.has_plan:
        return []
    slack = res.x[bundle.milp.n_cols:]
    used = np.flatnonzero(slack > 1e-6)
    if res.status == "optimal" and len(used) == 0:
        return None
    out = []
    for j in used[np.argsort(-slack[used])]:  # the rules that had to give most come first
        b = bundle.milp.block_of(int(rows[j]))
        out.append(b.label(int(rows[j]) - b.start))
    return out
