"""Scenario -> eligible pairs -> canonical MILP."""

from optimizer.model.build import ModelBundle, build_model
from optimizer.model.eligibility import PairSet, eligible_pairs
from optimizer.model.milp import MILP, RowBlock

__all__ = ["MILP", "ModelBundle", "PairSet", "RowBlock", "build_model", "eligible_pairs"]
