"""Solver answer -> plan -> independent check, KPIs, infeasibility explanations."""

from optimizer.solution.check import CheckReport, check_plan
from optimizer.solution.kpis import compute_kpis
from optimizer.solution.plan import Plan, decode, raw_value_issues

__all__ = ["CheckReport", "Plan", "check_plan", "compute_kpis", "decode", "raw_value_issues"]
