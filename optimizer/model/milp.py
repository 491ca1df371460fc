"""The canonical MILP: objective, one sparse constraint matrix with named row blocks, bounds, integrality.

Every solver backend reads only this; nothing here knows what a parcel is beyond the labels it carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class RowBlock:
    """A family of rows (one planning rule), with a function naming each row in the planner's terms."""

    family: str
    start: int
    size: int
    label: Callable[[int], str]  # local row index -> "demand floor of finance (≥ 120,000 m²)"
    elastic: bool = False  # a coupling rule that an infeasibility diagnosis may relax
    unit: str = ""  # the rule's natural unit ("m2", "yuan", "sites", a metric name...)


@dataclass(frozen=True)
class MILP:
    c: np.ndarray
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray  # bool per column
    sense: str  # "maximize" or "minimize"
    blocks: tuple[RowBlock, ...]
    obj_scale: float = 1.0  # objective in model units × obj_scale = objective in scenario units (yuan)
    col_names: tuple[str, ...] | None = None

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    def max_violation(self, x: np.ndarray) -> float:
        """The largest breach by the column vector `x` of a row's or a column's bounds, each relative to
        max(1, |bound|), or of integrality (0 when x is a plan of this model)."""
        x = np.asarray(x, float)
        if x.shape != (self.n_cols,) or not np.isfinite(x).all():
            return np.inf
        ax = self.A @ x

        def breach(v, lo, hi):
            return np.maximum(np.maximum(lo - v, 0.0) / np.maximum(1.0, np.abs(lo)),
                              np.maximum(v - hi, 0.0) / np.maximum(1.0, np.abs(hi)))

        worst = [breach(ax, self.row_lower, self.row_upper), breach(x, self.col_lower, self.col_upper),
                 np.abs(x - np.round(x))[self.integrality]]
        return float(max((w.max() for w in worst if len(w)), default=0.0))

    def row_label(self, row: int) -> str:
        for b in self.blocks:
            if b.start <= row < b.start + b.size:
                return b.label(row - b.start)
        raise IndexError(row)

    def block_of(self, row: int) -> RowBlock:
        for b in self.blocks:
            if b.start <= row < b.start + b.size:
                return b
        raise IndexError(row)
