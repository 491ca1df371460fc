"""Explaining infeasible scenarios in the planner's terms.

`precheck` finds conflicts visible before solving (demand above what eligible parcels hold, a must-develop
parcel no industry may use...). `diagnose` finds the rules behind an infeasible model: it relaxes every coupling
rule with a penalised slack (an elastic model), minimises the total slack, and names the rules that had to give.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from optimizer.data import Scenario
from optimizer.model.build import ModelBundle
from optimizer.model.eligibility import PairSet


def precheck(sc: Scenario, pairs: PairSet) -> list[str]:
    """Conflicts that need no solver. Returns plain sentences; empty if none found."""
    return merged_precheck(sc, [parcel_conflicts(sc, pairs)], capacities(sc, pairs))


@dataclass
class Capacity:
    """What the eligible pairs of some parcels can hold, per rule, in sums that add over disjoint parcel sets
    (a scenario's parcel chunks, optimizer.solvers.chunked): `a + b` is the capacity of both."""

    floor_k: np.ndarray  # per industry: floor at the FAR caps of its eligible pairs
    sites_k: np.ndarray  # per industry: eligible parcels
    least_k: list  # per industry: its min_sites smallest least floors (empty where no site minimum) ...
    least_n: np.ndarray  # ... and how many that is at most (min_sites, or 0)
    best_floor: float  # Σ over parcels of the largest floor any pair allows
    subarea_k: np.ndarray  # per sub-area mix rule: what its eligible parcels hold (nan: no floor minimum)
    metric_best: np.ndarray  # per metric rule: the most its metric can reach
    locked_least_k: np.ndarray  # per industry: least floor its locked parcels keep
    locked_sites_k: np.ndarray  # per industry: locked parcels keeping it
    locked_names_k: list  # per industry: the first five such parcels, as "id (lock = ...)"

    def __add__(self, o: Capacity) -> Capacity:
        return Capacity(self.floor_k + o.floor_k, self.sites_k + o.sites_k,
                        [np.sort(np.r_[a, b])[:n] for a, b, n in zip(self.least_k, o.least_k, self.least_n,
                                                                        strict=True)], self.least_n,
                        self.best_floor + o.best_floor, self.subarea_k + o.subarea_k, self.metric_best + o.metric_best,
                        self.locked_least_k + o.locked_least_k, self.locked_sites_k + o.locked_sites_k,
                        [(a + b)[:5] for a, b in zip(self.locked_names_k, o.locked_names_k, strict=True)])


def capacities(sc: Scenario, pairs: PairSet) -> Capacity:
    """The capacities `precheck` compares with the rules, for the scenario's parcels."""
    par, ind = sc.parcels, sc.industries
    K = sc.n_industries
    floor_k = np.bincount(pairs.industry, weights=pairs.hi_m2, minlength=K)
    sites_k = np.bincount(pairs.industry, minlength=K)
    ms = ind["min_sites"].to_numpy(float)
    least_n = np.where(np.isfinite(ind["max_floor_total_m2"].to_numpy(float)) & np.isfinite(ms) & (ms > 0),
                       np.nan_to_num(ms), 0).astype(np.int64)
    least_k = [np.sort(pairs.lo_m2[pairs.industry == k])[:least_n[k]] for k in range(K)]
    best_cap = np.zeros(sc.n_parcels)
    np.maximum.at(best_cap, pairs.parcel, pairs.hi_m2)
    sub = par["subarea"].to_numpy(str)[pairs.parcel]
    kidx = sc.industry_index()
    subarea_k = np.full(len(sc.rules.subarea_mix), np.nan)
    for i, rule in enumerate(sc.rules.subarea_mix):
        if np.isfinite(rule.min_floor_m2):
            sel = sub == rule.subarea
            if rule.industry:
                sel &= pairs.industry == kidx[rule.industry]
                subarea_k[i] = pairs.hi_m2[sel].sum()
            else:
                best_s = np.zeros(sc.n_parcels)
                np.maximum.at(best_s, pairs.parcel[sel], pairs.hi_m2[sel])
                subarea_k[i] = best_s.sum()
    metric_best = np.zeros(len(sc.rules.metric_rules))
    for i, rule in enumerate(sc.rules.metric_rules):
        if np.isfinite(rule.min):
            from optimizer.model.build import _metric_rates

            rate = _metric_rates(sc, rule.metric, rule.industries)[pairs.industry]
            best = np.zeros(sc.n_parcels)
            np.maximum.at(best, pairs.parcel, rate * pairs.hi_m2)
            metric_best[i] = best.sum()
    locked_least, locked_sites, locked_names = np.zeros(K), np.zeros(K, np.int64), [[] for _ in range(K)]
    if "lock" in par and (par["lock"] != "").any():
        pid = par["parcel_id"].to_numpy(str)
        lock, ex = par["lock"].to_numpy(str), par["existing_industry"].to_numpy(str)
        locked = (lock != "")[pairs.parcel] & (ex != "")[pairs.parcel]  # the kept pair: a locked parcel's only one
        for k in np.unique(pairs.industry[locked]):
            sel = locked & (pairs.industry == k)
            locked_least[k] = float(pairs.lo_m2[sel].sum())
            locked_sites[k] = int(sel.sum())
            locked_names[k] = [f"{pid[p]} (lock = {lock[p]})" for p in pairs.parcel[sel][:5]]
    return Capacity(floor_k, sites_k, least_k, least_n, float(best_cap.sum()), subarea_k, metric_best, locked_least,
                    locked_sites, locked_names)


def parcel_conflicts(sc: Scenario, pairs: PairSet) -> tuple[list[str], list[str], list[str]]:
    """The conflicts of single parcels, at most ten of each kind: must-develop parcels no industry may use,
    lock = industry without an existing use, lock = out on a must-develop parcel."""
    par = sc.parcels
    has_pair = np.zeros(sc.n_parcels, bool)
    has_pair[pairs.parcel] = True
    must = par["must_develop"].to_numpy(bool)
    out = [f"parcel {par['parcel_id'].iloc[i]} must be developed, but no industry may locate there "
           f"(zone {par['zone'].iloc[i]}, sub-area {par['subarea'].iloc[i]}; zoning, access, admission "
           "and size rules exclude every industry)" for i in np.flatnonzero(must & ~has_pair)[:10]]
    keep: list[str] = []
    empty: list[str] = []
    if "lock" in par and (par["lock"] != "").any():
        pid = par["parcel_id"].to_numpy(str)
        lock, ex = par["lock"].to_numpy(str), par["existing_industry"].to_numpy(str)
        keep = [f"parcel {pid[i]}: lock = industry keeps its existing industry, but it has no existing_industry"
                for i in np.flatnonzero((lock == "industry") & (ex == ""))[:10]]
        empty = [f"parcel {pid[i]}: lock = out keeps it empty, but must_develop = true"
                 for i in np.flatnonzero((lock == "out") & (ex == "") & must)[:10]]
    return out, keep, empty


def merged_precheck(sc: Scenario, parcel_parts: list, cap: Capacity) -> list[str]:
    """`precheck` from the parts of disjoint parcel sets: each set's `parcel_conflicts` (in parcel order) and the
    sum of their `capacities`. `sc` supplies the rules and industries (its parcels are not read)."""
    ind = sc.industries
    kid = ind["industry_id"].to_numpy()
    out = [msg for part in parcel_parts for msg in part[0]][:10]
    for k in range(sc.n_industries):
        need = ind["min_floor_total_m2"].iloc[k]
        if np.isfinite(need) and need > cap.floor_k[k] * (1 + 1e-9):
            out.append(f"demand floor of {kid[k]} ({need:,.0f} m²) is above what its eligible parcels can hold "
                       f"({cap.floor_k[k]:,.0f} m² on {cap.sites_k[k]} parcels at their FAR caps)")
        ms = ind["min_sites"].iloc[k]
        if np.isfinite(ms) and ms > cap.sites_k[k]:
            out.append(f"{kid[k]} needs at least {int(ms)} sites but only {cap.sites_k[k]} parcels are eligible")
        hi_tot = ind["max_floor_total_m2"].iloc[k]
        if np.isfinite(hi_tot) and len(cap.least_k[k]) and np.isfinite(ms) and ms > 0:
            least = cap.least_k[k][: int(ms)].sum()
            if least > hi_tot * (1 + 1e-9):
                out.append(f"{kid[k]}: {int(ms)} sites need at least {least:,.0f} m² of floor, above its demand cap "
                           f"{hi_tot:,.0f} m²")
    # all demand floors together against the best capacity per parcel
    total_need = np.nansum(ind["min_floor_total_m2"].to_numpy(float))
    if total_need > cap.best_floor * (1 + 1e-9):
        out.append(f"the demand floors add up to {total_need:,.0f} m², more than all parcels can hold "
                   f"({cap.best_floor:,.0f} m²)")
    shares = np.nansum(ind["min_share"].to_numpy(float))
    if shares > 1 + 1e-9:
        out.append(f"the industries' minimum shares of total floor add up to {shares:.1%}, above 100%")
    for rule, held in zip(sc.rules.subarea_mix, cap.subarea_k, strict=True):
        if np.isfinite(rule.min_floor_m2) and rule.min_floor_m2 > held * (1 + 1e-9):
            out.append(f"sub-area {rule.subarea} must hold at least {rule.min_floor_m2:,.0f} m² of "
                       f"{rule.industry or 'floor'}, but its eligible parcels hold at most {held:,.0f} m²")
    for rule, best in zip(sc.rules.metric_rules, cap.metric_best, strict=True):
        if np.isfinite(rule.min) and rule.min > best * (1 + 1e-9):
            out.append(f"total {rule.metric} must reach {rule.min:,.6g}, but even every eligible parcel at its "
                       f"FAR cap gives at most {best:,.6g}")
    out += [msg for part in parcel_parts for msg in part[1]][:10] + [msg for part in parcel_parts for msg in part[2]][:10]
    for k in np.flatnonzero(cap.locked_sites_k > 0):
        names = ", ".join(cap.locked_names_k[k])
        n_locked = int(cap.locked_sites_k[k])
        more = f" and {n_locked - 5} more" if n_locked > 5 else ""
        least, hi = float(cap.locked_least_k[k]), ind["max_floor_total_m2"].iloc[k]
        if np.isfinite(hi) and least > hi * (1 + 1e-9):
            out.append(f"demand cap of {ind['industry_id'].iloc[k]} ({hi:,.0f} m²) is below the existing floor its "
                       f"locked parcels keep ({least:,.0f} m²: {names}{more})")
        sites = ind["max_sites"].iloc[k]
        if np.isfinite(sites) and n_locked > sites:
            out.append(f"{ind['industry_id'].iloc[k]} may have at most {int(sites)} sites, but {n_locked} "
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
