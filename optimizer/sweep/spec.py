"""Sweep specs (TOML): which parameters vary, how, and `with_parameter`, which applies one to a Scenario."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optimizer.data import Scenario
from optimizer.errors import ScenarioError

# industries.csv columns a sweep may vary: (low, high, integer)
INDUSTRY_COLUMNS = {
    "output_per_m2": (0.0, 1e7, False), "jobs_per_m2": (0.0, 10.0, False),
    "far_min": (0.0, 100.0, False), "far_max": (0.0, 100.0, False), "min_floor_m2": (0.0, 1e11, False),
    "min_floor_total_m2": (0.0, 1e11, False), "max_floor_total_m2": (0.0, 1e11, False),
    "min_share": (0.0, 1.0, False), "max_share": (0.0, 1.0, False), "min_sites": (0.0, 1e9, True),
    "max_sites": (0.0, 1e9, True), "usable_share": (0.0, 1.0, False),
}
PAIRED = (("far_min", "far_max"), ("min_floor_total_m2", "max_floor_total_m2"), ("min_share", "max_share"),
          ("min_sites", "max_sites"), ("min", "max"), ("min_floor_m2", "max_floor_m2"))
LIST_FIELDS = {  # rule lists of Rules: field -> (low, high)
    "subarea_mix": {"min_share": (0.0, 1.0), "max_share": (0.0, 1.0), "min_floor_m2": (0.0, 1e11),
                    "max_floor_m2": (0.0, 1e11)},
    "metric_rules": {"min": (0.0, 1e18), "max": (0.0, 1e18)},
    "access_rules": {"max_minutes": (0.0, 1e4), "decay_per_min": (0.0, 10.0)},
}
OBJECTIVE_FIELDS = {"min_total_output_yuan": (0.0, 1e16), "min_jobs": (0.0, 1e10), "cost_weight": (0.0, 1e3)}
DISTRIBUTIONS = {"uniform": ("low", "high"), "triangular": ("low", "mode", "high"), "normal": ("mean", "sd"),
                 "lognormal": ("median", "sigma")}
PARAM_KEYS = {"path", "start", "stop", "steps", "values", "distribution", "low", "high", "mode", "mean", "sd",
              "median", "sigma", "label"}
SOLVER_KEYS = {"name": str, "time_limit_s": float, "mip_gap": float, "threads": int, "work_limit_s": float}


class SpecError(ScenarioError):
    """A bad sweep spec: names the spec file and the key (exit code 2)."""


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


# --- applying one parameter ---------------------------------------------------------------------------------
def _bad(msg: str, file: str | None, key: str | None) -> SpecError:
    return SpecError(msg, file=file, field=key)


def _check_range(value, lo: float, hi: float, integer: bool, path: str, file, key) -> float:
    if not _is_num(value):
        raise _bad(f"{path} takes a finite number (got {value!r})", file, key)
    if integer and float(value) != int(value):
        raise _bad(f"{path} takes a whole number (got {value!r})", file, key)
    if not lo <= value <= hi:
        raise _bad(f"{path} = {value!r} is outside [{lo:g}, {hi:g}]", file, key)
    return float(value)


def _pair_check(values: dict, path: str, file, key) -> None:
    for a, b in PAIRED:
        va, vb = values.get(a, np.nan), values.get(b, np.nan)
        if _is_num(va) and _is_num(vb) and va > vb:
            raise _bad(f"{path}: {a} {va:g} would exceed {b} {vb:g}", file, key)


def base_value(sc: Scenario, path: str, file: str | None = None, key: str | None = None) -> float:
    """The scenario's own value at `path` (NaN where it sets none); SpecError for an unknown path."""
    parts = path.split(".")
    head = parts[0]
    if head == "rules" and parts[1:] == ["total_budget_yuan"]:
        return float(sc.rules.total_budget_yuan)
    if head == "rules" and len(parts) == 3 and parts[1] == "industry_budget_yuan":
        _industry_pos(sc, parts[2], path, file, key)
        return float(sc.rules.industry_budget_yuan.get(parts[2], np.nan))
    if head == "industries" and len(parts) == 3:
        i = _industry_pos(sc, parts[1], path, file, key)
        col = parts[2]
        if col not in INDUSTRY_COLUMNS and not (col.endswith("_per_m2") and col in sc.industries.columns):
            raise _bad(f"unknown industry column {col!r} in {path!r} (choose "
                       f"{', '.join(sorted(INDUSTRY_COLUMNS))} or a <metric>_per_m2 column)", file, key)
        return float(sc.industries[col].iloc[i]) if col in sc.industries.columns else np.nan
    if head in LIST_FIELDS and len(parts) == 3:
        entries = getattr(sc.rules, head)
        if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(entries):
            raise _bad(f"{path!r}: the scenario has {len(entries)} [[{head}]] entries (counted from 1)", file, key)
        if parts[2] not in LIST_FIELDS[head]:
            raise _bad(f"unknown field {parts[2]!r} in {path!r} (choose {', '.join(LIST_FIELDS[head])})", file, key)
        return float(getattr(entries[int(parts[1]) - 1], parts[2]))
    if head == "objective" and len(parts) == 2 and parts[1] in OBJECTIVE_FIELDS:
        return float(getattr(sc.objective, parts[1]))
    if head == "objective" and len(parts) == 3 and parts[1] in ("metric_min", "weights"):
        return float(getattr(sc.objective, parts[1]).get(parts[2], np.nan))
    raise _bad(f"unknown parameter path {path!r} (use rules.total_budget_yuan, rules.industry_budget_yuan.<id>, "
               "industries.<id>.<column>, subarea_mix.<i>.min_share, metric_rules.<i>.min, "
               "access_rules.<i>.max_minutes, objective.min_total_output_yuan, objective.min_jobs, "
               "objective.metric_min.<metric> or objective.weights.<kpi>)", file, key)


def _industry_pos(sc: Scenario, kid: str, path: str, file, key) -> int:
    idx = sc.industry_index()
    if kid not in idx:
        raise _bad(f"unknown industry {kid!r} in {path!r} (industries: {', '.join(idx)})", file, key)
    return idx[kid]


def with_parameter(sc: Scenario, path: str, value, file: str | None = None, key: str | None = None) -> Scenario:
    """A copy of the scenario with the value at `path` replaced (dataclasses.replace; frames copied, never
    changed in place). An unknown path, a wrong type or an out-of-range value is a SpecError."""
    base_value(sc, path, file, key)  # validates the path
    parts = path.split(".")
    head = parts[0]
    if head == "rules" and parts[1] == "total_budget_yuan":
        v = _check_range(value, 0.0, 1e16, False, path, file, key)
        return dataclasses.replace(sc, rules=dataclasses.replace(sc.rules, total_budget_yuan=v))
    if head == "rules":
        v = _check_range(value, 0.0, 1e16, False, path, file, key)
        budgets = {**sc.rules.industry_budget_yuan, parts[2]: v}
        return dataclasses.replace(sc, rules=dataclasses.replace(sc.rules, industry_budget_yuan=budgets))
    if head == "industries":
        i, col = sc.industry_index()[parts[1]], parts[2]
        lo, hi, integer = INDUSTRY_COLUMNS.get(col, (0.0, 1e6, False))
        v = _check_range(value, lo, hi, integer, path, file, key)
        ind = sc.industries.copy()
        if col not in ind.columns:
            ind[col] = np.nan
        ind[col] = ind[col].astype(float)
        ind.iloc[i, ind.columns.get_loc(col)] = v
        _pair_check(ind.iloc[i].to_dict(), path, file, key)
        return dataclasses.replace(sc, industries=ind)
    if head in LIST_FIELDS:
        j, name = int(parts[1]) - 1, parts[2]
        v = _check_range(value, *LIST_FIELDS[head][name], False, path, file, key)
        entries = list(getattr(sc.rules, head))
        entries[j] = dataclasses.replace(entries[j], **{name: v})
        _pair_check(dataclasses.asdict(entries[j]), path, file, key)
        return dataclasses.replace(sc, rules=dataclasses.replace(sc.rules, **{head: tuple(entries)}))
    if len(parts) == 2:
        v = _check_range(value, *OBJECTIVE_FIELDS[parts[1]], False, path, file, key)
        return dataclasses.replace(sc, objective=dataclasses.replace(sc.objective, **{parts[1]: v}))
    lo, hi = (0.0, 1e18) if parts[1] == "metric_min" else (-1e9, 1e9)
    v = _check_range(value, lo, hi, False, path, file, key)
    table = {**getattr(sc.objective, parts[1]), parts[2]: v}
    return dataclasses.replace(sc, objective=dataclasses.replace(sc.objective, **{parts[1]: table}))


def apply_parameters(sc: Scenario, params: dict, file: str | None = None, keys: dict | None = None) -> Scenario:
    """Every path -> value of a run applied in turn (NaN leaves the scenario's value)."""
    for path, v in params.items():
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            sc = with_parameter(sc, path, v, file, (keys or {}).get(path, path))
    return sc


# --- the spec -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    path: str
    key: str  # where the spec defines it, for messages: parameter[2]
    values: tuple[float, ...] = ()  # grid or list
    distribution: str = ""
    args: dict = field(default_factory=dict)
    low: float = -np.inf
    high: float = np.inf

    @property
    def is_grid(self) -> bool:
        return not self.distribution

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a, d = self.args, self.distribution
        if d == "uniform":
            x = rng.uniform(a["low"], a["high"], n)
        elif d == "triangular":
            x = rng.triangular(a["low"], a["mode"], a["high"], n)
        elif d == "normal":
            x = rng.normal(a["mean"], a["sd"], n)
        else:
            x = a["median"] * np.exp(rng.normal(0.0, a["sigma"], n))
        return np.clip(x, self.low, self.high)


@dataclass(frozen=True)
class SweepSpec:
    parameters: tuple[Parameter, ...]
    mode: str = "factorial"
    seed: int = 0
    core_share: float = 0.9
    solver: dict = field(default_factory=dict)
    file: str = "sweep spec"

    @property
    def grid(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.is_grid)

    @property
    def random(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if not p.is_grid)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec file (SpecError naming the file and key)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read it ({exc})", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"not valid TOML ({exc})", file=str(path)) from None
    return parse_spec(data, str(path))


def parse_spec(data: dict, file: str = "sweep spec") -> SweepSpec:
    """A SweepSpec from a parsed TOML dict."""
    for k in data:
        if k not in ("sweep", "solver", "parameter"):
            raise SpecError(f"unknown table {k!r} (choose [sweep], [solver], [[parameter]])", file=file, field=k)
    sw = data.get("sweep", {})
    for k in sw:
        if k not in ("mode", "seed", "core_share"):
            raise SpecError(f"unknown key {k!r} in [sweep] (mode, seed, core_share)", file=file, field=f"sweep.{k}")
    mode = sw.get("mode", "factorial")
    if mode not in ("factorial", "one_at_a_time"):
        raise SpecError(f"mode must be 'factorial' or 'one_at_a_time' (got {mode!r})", file=file, field="sweep.mode")
    seed = sw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"seed must be a whole number >= 0 (got {seed!r})", file=file, field="sweep.seed")
    core = sw.get("core_share", 0.9)
    if not _is_num(core) or not 0 < core <= 1:
        raise SpecError(f"core_share must be in (0, 1] (got {core!r})", file=file, field="sweep.core_share")
    solver = dict(data.get("solver", {}))
    for k, v in solver.items():
        want = SOLVER_KEYS.get(k)
        if want is None:
            raise SpecError(f"unknown key {k!r} in [solver] ({', '.join(SOLVER_KEYS)})", file=file,
                            field=f"solver.{k}")
        ok = isinstance(v, str) if want is str else (isinstance(v, int) and not isinstance(v, bool)) \
            if want is int else _is_num(v)
        if not ok:
            raise SpecError(f"solver.{k} has the wrong type ({v!r})", file=file, field=f"solver.{k}")
    plist = data.get("parameter", [])
    if not isinstance(plist, list) or not plist:
        raise SpecError("no [[parameter]] entries", file=file, field="parameter")
    params, seen = [], set()
    for i, entry in enumerate(plist, 1):
        params.append(_parameter(entry, f"parameter[{i}]", file))
        if params[-1].path in seen:
            raise SpecError(f"{params[-1].path!r} is given twice", file=file, field=f"parameter[{i}].path")
        seen.add(params[-1].path)
    return SweepSpec(tuple(params), mode, int(seed), float(core), solver, file)


def _parameter(e: dict, key: str, file: str) -> Parameter:
    if not isinstance(e, dict):
        raise SpecError("each [[parameter]] is a table", file=file, field=key)
    for k in e:
        if k not in PARAM_KEYS:
            raise SpecError(f"unknown key {k!r}", file=file, field=f"{key}.{k}")
    path = e.get("path")
    if not isinstance(path, str) or not path:
        raise SpecError("missing the parameter's path (e.g. path = \"rules.total_budget_yuan\")", file=file,
                        field=f"{key}.path")

    def num(k: str) -> float:
        if k not in e:
            raise SpecError(f"{path}: missing {k}", file=file, field=f"{key}.{k}")
        if not _is_num(e[k]):
            raise SpecError(f"{path}: {k} must be a finite number (got {e[k]!r})", file=file, field=f"{key}.{k}")
        return float(e[k])

    kinds = [k for k in ("values", "steps", "distribution") if k in e]
    if len(kinds) != 1:
        raise SpecError(f"{path}: give exactly one of values = [...], start/stop/steps or distribution",
                        file=file, field=key)
    if kinds[0] == "values":
        vals = e["values"]
        if not isinstance(vals, list) or not vals or not all(_is_num(v) for v in vals):
            raise SpecError(f"{path}: values must be a non-empty list of numbers", file=file, field=f"{key}.values")
        return Parameter(path, key, tuple(float(v) for v in vals))
    if kinds[0] == "steps":
        steps = e["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise SpecError(f"{path}: steps must be a whole number >= 1 (got {steps!r})", file=file,
                            field=f"{key}.steps")
        start, stop = num("start"), num("stop")
        return Parameter(path, key, tuple(np.linspace(start, stop, steps).tolist()))
    dist = e["distribution"]
    if dist not in DISTRIBUTIONS:
        raise SpecError(f"{path}: unknown distribution {dist!r} (choose {', '.join(DISTRIBUTIONS)})", file=file,
                        field=f"{key}.distribution")
    args = {k: num(k) for k in DISTRIBUTIONS[dist]}
    low = num("low") if "low" in e else -np.inf
    high = num("high") if "high" in e else np.inf
    if dist in ("uniform", "triangular") and not (args["low"] < args["high"]):
        raise SpecError(f"{path}: low must be below high", file=file, field=f"{key}.high")
    if dist == "triangular" and not args["low"] <= args["mode"] <= args["high"]:
        raise SpecError(f"{path}: mode must lie within [low, high]", file=file, field=f"{key}.mode")
    for k in ("sd", "sigma", "median"):
        if k in args and args[k] <= 0:
            raise SpecError(f"{path}: {k} must be > 0", file=file, field=f"{key}.{k}")
    if dist == "normal" and not (np.isfinite(low) and np.isfinite(high)) and not path.startswith("objective.weights"):
        raise SpecError(f"{path}: a normal distribution needs low and high bounds (values are clipped to them, "
                        "so that no draw leaves the parameter's range)", file=file, field=f"{key}.low")
    return Parameter(path, key, (), dist, args, low, high)


# --- the runs ---------------------------------------------------------------------------------------------------
def run_key(params: dict, solver: dict) -> str:
    """A short stable hash of a run's parameters and solver options (names its part file)."""
    text = json.dumps({"p": {k: float(v) for k, v in sorted(params.items())}, "s": solver}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def plan_runs(sc: Scenario, spec: SweepSpec, samples: int | None = None) -> list[dict]:
    """The runs, in order: each a dict path -> value. Grids: full factorial or one at a time around the base
    values; `samples`: that many draws of the distributions (seeded), grid parameters at their base."""
    for p in spec.parameters:
        base_value(sc, p.path, spec.file, f"{p.key}.path")
    if samples is not None:
        if not spec.random:
            raise SpecError("--samples needs parameters with a distribution", file=spec.file, field="parameter")
        rng = np.random.default_rng(spec.seed)
        draws = {p.path: p.sample(rng, samples) for p in spec.random}
        runs = [{k: float(v[i]) for k, v in draws.items()} for i in range(samples)]
    else:
        grid = spec.grid
        if not grid:
            raise SpecError("no grid or list parameters to sweep (give --samples N for distributions)",
                            file=spec.file, field="parameter")
        if spec.mode == "factorial":
            runs = [dict(zip([p.path for p in grid], combo, strict=True))
                    for combo in itertools.product(*[p.values for p in grid])]
        else:
            base = {p.path: base_value(sc, p.path) for p in grid}
            runs, seen = [dict(base)], {run_key(base, {})}
            for p in grid:
                for v in p.values:
                    r = {**base, p.path: v}
                    if run_key(r, {}) not in seen:
                        seen.add(run_key(r, {}))
                        runs.append(r)
    keys = {p.path: p.key for p in spec.parameters}
    for r in runs:  # every run's values checked before anything is solved
        apply_parameters(sc, r, spec.file, keys)
    return runs
