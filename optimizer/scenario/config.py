"""scenario.toml checked against the schema (schema.TOML_TABLES): every table and key known, types and ranges.

An unknown table or key is an error that names the key path and the closest valid key, so a misspelt
`[[access_rule]]` or `max_minute` can no longer be ignored silently.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any

from optimizer.errors import ScenarioError
from optimizer.scenario.schema import TOML_TABLES, Key, Table

TOML = "scenario.toml"
CLOSE = 0.75  # difflib similarity of a "did you mean" suggestion (access_rule/access_rules 0.96, roads/nodes 0.6)
TOP_LEVEL = tuple(dict.fromkeys(t.name.split(".")[0] for t in TOML_TABLES))


def check_config(config: Any) -> dict[str, Any]:
    """The parsed scenario.toml with every value checked and every default filled in.

    Returns {table name: values}: a dict per [table], a list of dicts per [[array]] and a dict per map table
    ("rules.industry_budget_yuan"). A table that is absent is {} (or []) with its defaults, never missing.
    """
    if not isinstance(config, dict):
        raise ScenarioError("must be a TOML document of tables", file=TOML)
    for key in config:
        if key not in TOP_LEVEL:
            raise _unknown(key, TOP_LEVEL, key, "at the top level")
    out: dict[str, Any] = {}
    for table in TOML_TABLES:
        parent, _, child = table.name.partition(".")
        raw = config.get(parent)
        if child:
            raw = raw.get(child) if isinstance(raw, dict) else None
        if raw is None:
            if table.required:
                raise ScenarioError(f"required table [{table.name}] is missing", file=TOML, field=table.name)
            out[table.name] = [] if table.kind == "array" else {} if table.kind == "map" else {
                k.name: k.default for k in table.keys}
        else:
            out[table.name] = _check_table(table, raw)
    return out


def _check_table(table: Table, raw: Any) -> Any:
    if table.kind == "array":
        if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
            raise ScenarioError(f"must be an array of tables: write each entry as [[{table.name}]]", file=TOML,
                                field=table.name)
        return [_check_keys(table, entry, f"{table.name}[{i}]") for i, entry in enumerate(raw, start=1)]
    if not isinstance(raw, dict):
        raise ScenarioError(f"must be a table: write [{table.name}] and its keys below it", file=TOML,
                            field=table.name)
    if table.kind == "map":
        return {str(k): check_value(table.value, v, f"{table.name}.{k}") for k, v in raw.items()}
    return _check_keys(table, raw, table.name)


def _check_keys(table: Table, raw: dict, where: str) -> dict[str, Any]:
    subtables = [t.name.split(".", 1)[1] for t in TOML_TABLES if t.name.startswith(table.name + ".")]
    known = [k.name for k in table.keys] + subtables
    for name in raw:
        if name not in known:
            raise _unknown(name, known, f"{where}.{name}", f"in [{table.name}]" if table.kind == "table"
                           else f"in [[{table.name}]]")
    out = {}
    for key in table.keys:
        if key.name in raw:
            out[key.name] = check_value(key, raw[key.name], f"{where}.{key.name}")
        elif key.required:
            raise ScenarioError(f"required key `{key.name}` is missing", file=TOML, field=f"{where}.{key.name}")
        else:
            out[key.name] = key.default
    return out


def check_value(key: Key, value: Any, field: str) -> Any:
    """One value of the kind `key` declares, in its range; returns it as float, int, str or tuple of str."""
    def fail(msg: str):
        raise ScenarioError(f"{msg} (got {_show(value)})", file=TOML, field=field)

    if key.kind == "layer":  # a path, or a table naming a GIS layer and how to read it
        from optimizer.scenario.gis import check_layer_spec

        return check_layer_spec(value, field)
    if key.kind in ("text", "path"):
        if not isinstance(value, str):
            fail("must be text in quotes" if key.kind == "text" else "must be a file path in quotes")
        if key.required and not value.strip():
            fail("must not be empty")
        if key.choices and value not in key.choices:
            close = difflib.get_close_matches(value, key.choices, n=1, cutoff=CLOSE)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ScenarioError(f"must be {_either(key.choices)} (got {_show(value)}{hint})", file=TOML, field=field)
        return value
    if key.kind == "texts":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            fail("must be a list of text in quotes, e.g. [\"a\", \"b\"]")
        return tuple(value)
    if key.kind == "bool":
        if not isinstance(value, bool):
            fail("must be true or false")
        return value
    # numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail("must be a number" if key.kind == "number" else "must be a whole number (an integer)")
    if key.kind == "int" and not isinstance(value, numbers.Integral):
        fail("must be a whole number (an integer such as 3, without a decimal point)")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond the range of floats
        finite = False
    if not finite:
        fail("must be a finite number")
    low = key.min is not None and (value <= key.min if key.above else value < key.min)
    if low or (key.max is not None and value > key.max):
        if key.above:
            rng = f"greater than {key.min:g}" + (f" and at most {key.max:g}" if key.max is not None else "")
            fail(f"must be {rng}")
        fail(f"must lie in [{'' if key.min is None else f'{key.min:g}'}, {'' if key.max is None else f'{key.max:g}'}]")
    return int(value) if key.kind == "int" else float(value)


def _unknown(name: str, known: list | tuple, field: str, where: str) -> ScenarioError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=CLOSE)
    homes = [f"[[{t.name}]]" if t.kind == "array" else f"[{t.name}]" for t in TOML_TABLES if t.key(name)]
    homes += [f"[{t.name.rsplit('.', 1)[0]}]" for t in TOML_TABLES if t.name.endswith("." + name)]
    if close:
        hint = f"did you mean `{close[0]}`?"
    elif homes:
        hint = f"`{name}` belongs in {homes[0]}"
    else:
        hint = f"known: {', '.join(known)}"
    return ScenarioError(f"unknown key `{name}` {where} ({hint})", file=TOML, field=field)


def _either(choices: tuple[str, ...]) -> str:
    quoted = [f"'{c}'" for c in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + (value if len(value) <= 60 else value[:57] + "...") + "'"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, numbers.Real):
        if isinstance(value, numbers.Integral):
            return str(int(value)) if abs(int(value)) < 10**40 else "a huge integer"
        return f"{float(value):g}"
    return type(value).__name__
