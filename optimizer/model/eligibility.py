"""Eligible (parcel, industry) pairs: zoning, sub-area admission, access, size and the pair table, as one mask.

Ineligible pairs never become model columns. Everything is vectorised over the parcel × industry grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.data import Scenario

REL_TOL = 1e-9
MIN_SITE_FLOOR_M2 = 1.0  # a developed site has some floor: with far_min = 0 its least floor is this, not 0


@dataclass(frozen=True)
class PairSet:
    """Eligible pairs with their per-pair data (arrays of equal length, one entry per pair)."""

    parcel: np.ndarray  # parcel position
    industry: np.ndarray  # industry position
    lo_m2: np.ndarray  # least floor area if the pair is chosen
    hi_m2: np.ndarray  # most floor area if the pair is chosen
    value_per_m2: np.ndarray  # output per m² of floor (industry output × pair multiplier × access decay)
    cost_per_m2: np.ndarray  # development cost per m² of floor (the pair table's, else the parcel's)
    cost_fixed_yuan: np.ndarray  # one-off pair cost (pair table)
    n_parcels: int
    n_industries: int
    # existing uses (zero without them): per-choice output constant (existing output − value × existing floor, on
    # the pair that keeps the existing industry) and per-choice redevelopment cost (demolition of the existing
    # floor on a conversion; −intensify cost × existing floor on the kept pair, whose cost_per_m2 is the intensify
    # cost, so that only added floor is paid). Outside the pair table's costs (and its industry budgets).
    output_fixed_yuan: np.ndarray | None = None
    redevelop_yuan: np.ndarray | None = None
    # phases (None without them; optimizer.model.phasing): each (parcel, industry) pair appears once per phase in
    # which it may be developed. phase: the phase's position; weight: discounted years of output of a development
    # made in that phase (multiplies the yearly output terms of the objective); carry_yuan: discounted output of
    # the parcel's existing use in the years before that phase's development replaces it; spend_discount: the
    # discount factor of money spent in that phase.
    phase: np.ndarray | None = None
    weight: np.ndarray | None = None
    carry_yuan: np.ndarray | None = None
    spend_discount: np.ndarray | None = None

    @property
    def fixed_output(self) -> np.ndarray:
        return np.zeros(len(self.parcel)) if self.output_fixed_yuan is None else self.output_fixed_yuan

    @property
    def fixed_cost(self) -> np.ndarray:
        """Per-choice cost in the total budget and the objective: pair cost + redevelopment cost."""
        return self.cost_fixed_yuan if self.redevelop_yuan is None else self.cost_fixed_yuan + self.redevelop_yuan

    def __len__(self) -> int:
        return len(self.parcel)


def must_be_developed(sc: Scenario) -> np.ndarray:
    """Per parcel: whether every plan develops it (must_develop, or an existing use, which is kept, intensified
    or converted but never left empty)."""
    must = sc.parcels["must_develop"].to_numpy(bool)
    if "existing_industry" in sc.parcels:
        must = must | (sc.parcels["existing_industry"].to_numpy(str) != "")
    return must


# why a pair is not eligible: the first rule that excludes it (access rule i is ACCESS + i)
ELIGIBLE, ZONE, SIZE, SUBAREA, PAIR_TABLE, LOCK, ACCESS = 0, 1, 2, 3, 4, 5, 10


@dataclass(frozen=True)
class Existing:
    """Per parcel: existing industry position (−1 greenfield), floor, output (NaN: default), lock, costs."""

    industry: np.ndarray
    floor_m2: np.ndarray
    output_yuan: np.ndarray
    lock: np.ndarray
    intensify_per_m2: np.ndarray  # NaN: the pair's construction cost per m²
    demolition_per_m2: np.ndarray


def existing_uses(sc: Scenario) -> Existing | None:
    """The parcels' existing uses and locks, or None when the scenario has neither."""
    par = sc.parcels
    if "existing_industry" not in par:
        return None
    ex = par["existing_industry"].to_numpy(str)
    lock = par["lock"].to_numpy(str)
    if not ((ex != "").any() or (lock != "").any()):
        return None
    k = pd.Series(ex).map(sc.industry_index()).fillna(-1).to_numpy(np.int64)
    return Existing(k, par["existing_floor_m2"].to_numpy(float), par["existing_output_yuan"].to_numpy(float), lock,
                    par["intensify_cost_per_m2"].to_numpy(float), par["demolition_cost_per_m2"].to_numpy(float))


def pair_grids(sc: Scenario, with_reasons: bool = False) -> dict[str, np.ndarray]:
    """Parcel × industry grids: eligibility mask, floor bounds, value multiplier, pair cost, access decay; with
    `with_reasons`, also "reason": the first rule that excludes each pair (ELIGIBLE, ZONE, SIZE, ...)."""
    par, ind = sc.parcels, sc.industries
    n_p, n_k = len(par), len(ind)
    area = par["area_m2"].to_numpy(float)
    # zoning: zone codes × industries
    zone_codes, zone_idx = np.unique(par["zone"].to_numpy(str), return_inverse=True)
    kidx = sc.industry_index()
    compat = np.zeros((len(zone_codes), n_k), dtype=bool)
    zpos = {z: i for i, z in enumerate(zone_codes)}
    ci = sc.compatibility["zone"].map(zpos)
    ok = ci.notna().to_numpy()
    compat[ci[ok].astype(int).to_numpy(), sc.compatibility["industry_id"].map(kidx)[ok].astype(int).to_numpy()] = True
    mask = compat[zone_idx]
    reason = np.where(mask, ELIGIBLE, ZONE).astype(np.int16) if with_reasons else None
    ex = existing_uses(sc)
    rules_ok = mask.copy() if ex is not None else None  # eligible by every rule but the size (for existing uses)

    def exclude(rows, cols, keep: np.ndarray, code: int) -> None:
        """mask[rows, cols] &= keep, remembering `code` where a pair is newly excluded."""
        if reason is not None:
            sub = reason[rows, cols]
            reason[rows, cols] = np.where(mask[rows, cols] & ~keep, code, sub)
        mask[rows, cols] &= keep
        if rules_ok is not None and code != SIZE:
            rules_ok[rows, cols] &= keep

    hi = np.minimum(par["far_max"].to_numpy(float)[:, None], ind["far_max"].to_numpy(float)[None, :]) * area[:, None]
    lo = np.maximum(ind["far_min"].to_numpy(float)[None, :] * area[:, None], ind["min_floor_m2"].to_numpy(float)[None, :])
    has_pairs = sc.pairs is not None and len(sc.pairs)
    if has_pairs:
        pp = sc.pairs["parcel_id"].map(sc.parcel_index()).to_numpy(int)
        kk = sc.pairs["industry_id"].map(kidx).to_numpy(int)
        if "far_max" in sc.pairs:  # a pair's own FAR cap, below the parcel's and the industry's
            far = sc.pairs["far_max"].to_numpy(float)
            has = ~np.isnan(far)
            hi[pp[has], kk[has]] = np.minimum(hi[pp[has], kk[has]], far[has] * area[pp[has]])
    exclude(slice(None), slice(None), (hi > 0) & (hi >= lo * (1 - REL_TOL)), SIZE)

    subarea = par["subarea"].to_numpy(str)
    for rule in sc.rules.subarea_allow:
        allowed = np.isin(ind["industry_id"].to_numpy(str), list(rule.industries))
        rows = np.flatnonzero(subarea == rule.subarea)
        exclude(rows, slice(None), np.broadcast_to(allowed[None, :], (len(rows), n_k)), SUBAREA)

    mult = np.ones((n_p, n_k))
    for i, rule in enumerate(sc.rules.access_rules):
        k = kidx[rule.industry]
        minutes = sc.access[rule.node_type].to_numpy(float)
        exclude(slice(None), k, minutes <= rule.max_minutes, ACCESS + i)
        if rule.decay_per_min > 0:  # a parcel that reaches no node of the type is infinitely far: multiplier 0
            mult[:, k] *= np.exp(-rule.decay_per_min * minutes)

    cost = np.zeros((n_p, n_k))
    cost_m2 = None  # per m² of floor, where the pair table gives its own (else the parcel's dev_cost_per_m2)
    if has_pairs:
        mult[pp, kk] *= sc.pairs["value_multiplier"].to_numpy(float)
        cost[pp, kk] = sc.pairs["cost_yuan"].to_numpy(float)
        exclude(pp, kk, sc.pairs["eligible"].to_numpy(bool), PAIR_TABLE)
        if "cost_per_m2" in sc.pairs and sc.pairs["cost_per_m2"].notna().any():
            own = sc.pairs["cost_per_m2"].to_numpy(float)
            has = ~np.isnan(own)
            cost_m2 = np.repeat(par["dev_cost_per_m2"].to_numpy(float)[:, None], n_k, axis=1)
            cost_m2[pp[has], kk[has]] = own[has]
    if ex is not None:
        _existing(ex, mask, lo, hi, rules_ok, reason, exclude)
    out = {"mask": mask, "lo": lo, "hi": hi, "mult": mult, "cost": cost}
    if cost_m2 is not None:
        out["cost_m2"] = cost_m2
    if reason is not None:
        out["reason"] = reason
    return out


def _existing(ex: Existing, mask, lo, hi, rules_ok, reason, exclude) -> None:
    """Existing uses in the grids: a locked parcel loses every other pair; the pair that keeps the existing
    industry is always there, from its existing floor up to the FAR cap (intensify), or at exactly that floor where
    the rules no longer admit the use there (a non-conforming use may stay as it is) or where lock = "out"."""
    n_k = mask.shape[1]
    pe = np.flatnonzero(ex.industry >= 0)
    ke, floor = ex.industry[pe], ex.floor_m2[pe]
    grow = rules_ok[pe, ke] & (ex.lock[pe] != "out")
    locked = np.flatnonzero(ex.lock != "")
    exclude(locked, slice(None), np.zeros((len(locked), n_k), bool), LOCK)
    mask[pe, ke] = True
    if reason is not None:
        reason[pe, ke] = ELIGIBLE
    hi[pe, ke] = np.where(grow, np.maximum(hi[pe, ke], floor), floor)
    lo[pe, ke] = floor


def eligible_pairs(sc: Scenario) -> PairSet:
    """The eligible pairs of a scenario, in parcel-major order."""
    g = pair_grids(sc)
    p, k = np.nonzero(g["mask"])
    lo, hi = g["lo"][p, k], g["hi"][p, k]
    lo = np.maximum(lo, MIN_SITE_FLOOR_M2)
    value = sc.industries["output_per_m2"].to_numpy(float)[k] * g["mult"][p, k]
    cost_m2 = g["cost_m2"][p, k] if "cost_m2" in g else sc.parcels["dev_cost_per_m2"].to_numpy(float)[p]
    fixed = g["cost"][p, k]
    out_fixed = redevelop = None
    ex = existing_uses(sc)
    if ex is not None:  # keep / intensify / convert (docs/scenario-format.md, "Existing uses and redevelopment")
        e, floor = ex.industry[p], ex.floor_m2[p]
        keep = e == k
        floor = np.where(e >= 0, floor, 0.0)
        intensify = np.where(np.isnan(ex.intensify_per_m2[p]), cost_m2, ex.intensify_per_m2[p])
        output = np.where(np.isnan(ex.output_yuan[p]), value * floor, ex.output_yuan[p])
        out_fixed = np.where(keep, output - value * floor, 0.0)
        redevelop = np.where(keep, -intensify * floor, ex.demolition_per_m2[p] * floor)
        cost_m2 = np.where(keep, intensify, cost_m2)
        fixed = np.where(keep, 0.0, fixed)
    pairs = PairSet(
        parcel=p.astype(np.int64),
        industry=k.astype(np.int64),
        lo_m2=np.minimum(lo, hi),
        hi_m2=hi,
        value_per_m2=value,
        cost_per_m2=cost_m2,
        cost_fixed_yuan=fixed,
        n_parcels=sc.n_parcels,
        n_industries=sc.n_industries,
        output_fixed_yuan=out_fixed,
        redevelop_yuan=redevelop,
    )
    if sc.phases:
        from optimizer.model.phasing import expand_pairs

        return expand_pairs(sc, pairs)
    return pairs
