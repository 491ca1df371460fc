"""Scripts and notebooks get the same option checks as the command line (BadOption, exit code 2)."""

from __future__ import annotations

import pytest
from helpers import TINY

from optimizer.errors import BadOption
from optimizer.pipeline import solve_scenario


@pytest.mark.parametrize("kwargs, words", [
    ({"time_limit_s": float("nan")}, "time limit"), ({"time_limit_s": float("inf")}, "time limit"),
    ({"time_limit_s": -1.0}, "time limit"), ({"mip_gap": -1.0}, "MIP gap"), ({"mip_gap": 1.5}, "MIP gap"),
    ({"threads": 2.7}, "threads"), ({"threads": -5}, "threads"), ({"solver": "gurobi"}, "unknown solver"),
])
def test_bad_options_are_refused_before_solving(kwargs, words):
    with pytest.raises(BadOption, match=words) as err:
        solve_scenario(TINY, **kwargs)
    assert err.value.exit_code == 2


def test_good_options_solve():
    result = solve_scenario(TINY, solver="highs", time_limit_s=30, mip_gap=0.0, threads=1)
    assert result.status == "optimal" and result.check.passed
