"""Standard zone tables shipped with the package, and the industry templates they suggest.

`[data] zones = "gb50137"` (or "territorial2020") in scenario.toml takes the zone codes from a table in
`optimizer/scenario/zone_tables/` instead of a zones.csv of the scenario; the loader then checks every parcel
zone, `allowed_zones` code and compatibility zone against it exactly as it checks a zones.csv (unknown codes
are errors, see checks.check_zone_codes).

- ``gb50137``: GB 50137-2011 城市用地分类与规划建设用地标准 (Code for classification of urban land use and
  planning standards of development land): the urban development-land classes R, A, B, M, W, S, U, G with their
  sub-classes, and the town-and-country classes H and E.
- ``territorial2020``: 国土空间调查、规划、用途管制用地用海分类指南（试行） (2020): the national
  territorial-space classification of land and sea use, first to third level (01 耕地 ... 24 其他海域).

Each table has the columns code, level, parent, name_zh, name_en, class and industries: the ids of the
generic industry templates (:data:`TEMPLATE_INDUSTRIES`) a zone usually admits, a suggestion that
`landuse init` turns into `allowed_zones` of its industries template.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

BUILTIN: dict[str, str] = {
    "gb50137": "GB 50137-2011 table of land-use classes",
    "territorial2020": "2020 territorial-space classification (用地用海分类指南)",
}
TABLE_COLUMNS = ("code", "level", "parent", "name_zh", "name_en", "class", "industries")

# generic industries that the zone tables suggest: id, name, name_zh, output_per_m2 (yuan per m² of floor a
# year), jobs_per_m2, far_min, far_max. The figures are placeholders of the right order of magnitude for a
# Chinese city; `landuse init` writes them for the planner to replace with local figures.
TEMPLATE_INDUSTRIES: tuple[tuple, ...] = (
    ("commerce", "Retail, catering and hotels", "商业零售与住宿餐饮", 8000.0, 0.03, 1.0, 6.0),
    ("office", "Business services and offices", "商务办公", 20000.0, 0.045, 2.0, 10.0),
    ("finance", "Finance and insurance", "金融保险", 50000.0, 0.045, 3.0, 12.0),
    ("leisure", "Recreation and fitness", "娱乐康体", 5000.0, 0.02, 0.5, 4.0),
    ("culture_exhibition", "Culture and exhibitions", "文化会展", 3000.0, 0.01, 0.5, 3.0),
    ("research", "Research and development", "科研与研发", 15000.0, 0.03, 1.5, 6.0),
    ("light_industry", "Light, clean manufacturing", "一类工业（轻型制造）", 10000.0, 0.02, 1.0, 4.0),
    ("manufacturing", "General manufacturing", "二类工业（一般制造）", 6000.0, 0.015, 0.8, 3.0),
    ("heavy_industry", "Heavy industry", "三类工业（重工业）", 4000.0, 0.008, 0.5, 2.0),
    ("logistics", "Logistics and warehousing", "物流仓储", 2500.0, 0.006, 0.5, 3.0),
    ("aviation", "Airport and aviation services", "航空服务", 6000.0, 0.015, 0.3, 2.0),
)


def is_builtin(name: str | None) -> bool:
    """True when `name` (the value of data.zones) names a shipped table rather than a file."""
    return isinstance(name, str) and name.strip().lower() in BUILTIN


@cache
def _read(name: str) -> pd.DataFrame:
    ref = resources.files("optimizer.scenario").joinpath("zone_tables", f"{name}.csv")
    with ref.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def zone_table(name: str) -> pd.DataFrame:
    """The whole shipped table `name` (gb50137, territorial2020), every column as text."""
    key = name.strip().lower()
    if key not in BUILTIN:
        raise KeyError(f"no built-in zone table {name!r} (tables: {', '.join(BUILTIN)})")
    return _read(key).copy()


def display_name(name: str) -> str:
    """How errors name a shipped table: "gb50137, the built-in GB 50137-2011 table of land-use classes"."""
    key = name.strip().lower()
    return f"{key}, the built-in {BUILTIN[key]}"


def zones_frame(name: str) -> pd.DataFrame:
    """The shipped table as the loader's zones table (code, name, class, `_row` as in its CSV), ready for the
    same checks as a scenario's zones.csv."""
    t = zone_table(name)
    out = pd.DataFrame({"code": t["code"], "name": t["name_en"] + " " + t["name_zh"], "class": t["class"]})
    out["_row"] = range(2, len(out) + 2)
    out.attrs["display"] = display_name(name)
    out.attrs["row_kind"] = "row"
    return out


def suggested_industries(name: str, codes) -> dict[str, list[str]]:
    """Template industry id -> the zone codes among `codes` that the table suggests for it (table order)."""
    t = zone_table(name)
    t = t[t["code"].isin(set(codes))]
    out: dict[str, list[str]] = {}
    for code, inds in zip(t["code"], t["industries"], strict=True):
        for k in filter(None, inds.split(";")):
            out.setdefault(k, []).append(code)
    return out


def match_table(codes) -> tuple[str | None, dict[str, float]]:
    """The shipped table that lists every code of `codes` (None if none does), and the share of the distinct
    codes each table lists."""
    distinct = {str(c).strip() for c in codes if str(c).strip()}
    shares = {name: (len(distinct & set(zone_table(name)["code"])) / len(distinct) if distinct else 0.0)
              for name in BUILTIN}
    full = [name for name, s in shares.items() if s == 1.0]
    return (full[0] if full else None), shares
