"""Eligible (parcel, industry) pairs: zoning, sub-area admission, access, size and the pair table, as one mask.

Ineligible pairs never become model columns. Everything is vectorised over the parcel × industry grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    def __len__(self) -> int:
        return len(self.parcel)


# why a pair is not eligible: the first rule that excludes it (access rule i is ACCESS + i)
ELIGIBLE, ZONE, SIZE, SUBAREA, PAIR_TABLE, ACCESS = 0, 1, 2, 3, 4, 10


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

    def exclude(rows, cols, keep: np.ndarray, code: int) -> None:
        """mask[rows, cols] &= keep, remembering `code` where a pair is newly excluded."""
        if reason is not None:
            sub = reason[rows, cols]
            reason[rows, cols] = np.where(mask[rows, cols] & ~keep, code, sub)
        mask[rows, cols] &= keep

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
    out = {"mask": mask, "lo": lo, "hi": hi, "mult": mult, "cost": cost}
    if cost_m2 is not None:
        out["cost_m2"] = cost_m2
    if reason is not None:
        out["reason"] = reason
    return out


def eligible_pairs(sc: Scenario) -> PairSet:
    """The eligible pairs of a scenario, in parcel-major order."""
    g = pair_grids(sc)
    p, k = np.nonzero(g["mask"])
    lo, hi = g["lo"][p, k], g["hi"][p, k]
    lo = np.maximum(lo, MIN_SITE_FLOOR_M2)
    return PairSet(
        parcel=p.astype(np.int64),
        industry=k.astype(np.int64),
        lo_m2=np.minimum(lo, hi),
        hi_m2=hi,
        value_per_m2=sc.industries["output_per_m2"].to_numpy(float)[k] * g["mult"][p, k],
        cost_per_m2=g["cost_m2"][p, k] if "cost_m2" in g else sc.parcels["dev_cost_per_m2"].to_numpy(float)[p],
        cost_fixed_yuan=g["cost"][p, k],
        n_parcels=sc.n_parcels,
        n_industries=sc.n_industries,
    )
