"""A scenario cut into parcel chunks: each chunk's model, built with the whole scenario's units, has the same
coupling rules as the whole model, and its columns' coefficients in those rules (in natural units: m², yuan, sites)
are the whole model's columns of the same pairs. What the chunked engine (optimizer.chunked) relies on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer.data import restrict_parcels
from optimizer.model.build import build_model
from optimizer.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]

LOCAL = ("one_use", "floor_min", "floor_max", "total_floor", "subarea_floor")


def _coupling(bundle):
    m = bundle.milp
    rows = np.concatenate([np.arange(b.start, b.start + b.size) for b in m.blocks if b.family not in LOCAL])
    fams = [(b.family, b.size) for b in m.blocks if b.family not in LOCAL]
    A = sp.diags(bundle.row_natural[rows]) @ m.A[rows]
    n = bundle.n_pairs
    lo, hi = m.row_lower[rows] * bundle.row_natural[rows], m.row_upper[rows] * bundle.row_natural[rows]
    return fams, A[:, :n].tocsc(), A[:, n:2 * n].tocsc(), lo, hi


@pytest.mark.parametrize("cuts", [(0.5,), (0.2, 0.7)])
def test_chunk_models_add_up_to_the_whole_model(cuts):
    sc = load_scenario(REPO / "scenarios" / "qianhai")
    whole = build_model(sc)
    fams, Ax, Af, lo, hi = _coupling(whole)
    n = sc.n_parcels
    edges = [0, *(int(c * n) for c in cuts), n]
    xs, fs = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        part = restrict_parcels(sc, np.arange(a, b))
        assert list(part.parcels["parcel_id"]) == list(sc.parcels["parcel_id"][a:b])
        bundle = build_model(part, units=(whole.floor_unit_m2, whole.money_unit_yuan))
        f2, Ax2, Af2, lo2, hi2 = _coupling(bundle)
        assert f2 == fams
        np.testing.assert_allclose(lo2, lo, rtol=1e-12)
        np.testing.assert_allclose(hi2, hi, rtol=1e-12)
        xs.append(Ax2)
        fs.append(Af2)
    # the chunks' pairs, in chunk order, are the whole model's pairs in its order
    assert sum(x.shape[1] for x in xs) == whole.n_pairs
    np.testing.assert_allclose(sp.hstack(xs).toarray(), Ax.toarray(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sp.hstack(fs).toarray(), Af.toarray(), rtol=1e-12, atol=1e-9)


def test_restrict_parcels_refuses_neighbour_rules():
    from dataclasses import replace

    from optimizer.data import Neighbours

    sc = load_scenario(REPO / "scenarios" / "qianhai")
    with pytest.raises(ValueError, match="neighbour"):
        restrict_parcels(replace(sc, neighbours=Neighbours(np.zeros((0, 2), np.int64))), [0, 1])
