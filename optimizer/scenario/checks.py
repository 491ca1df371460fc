"""Cross-checks between files: zone codes and coordinates.

Zone codes: parcel zones that no industry may use and allowed zones that match no parcel are warnings (a
case-only or spacing mismatch says "did you mean"); with a zones file, a code it does not list is an error.
Coordinates: checked against the declared CRS (lon/lat in range, not swapped, not metres) and against each other
(parcels near the network), then projected to local metres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer import network as netmod
from optimizer.errors import ScenarioError
from optimizer.scenario.readers import ROW
from optimizer.scenario.schema import (
    FAR_NODE_ERROR_M,
    FAR_NODE_M,
    FAR_PARCEL_M,
    MAX_COORD,
    MAX_WARNINGS_PER_KIND,
)


class Source:
    """Where a table came from: display name and row kind, for messages."""

    def __init__(self, display: str, row_kind: str = "row"):
        self.display = display
        self.row_kind = row_kind

    def where(self, row: int | None = None, field: str | None = None) -> str:
        parts = [self.display]
        if row is not None:
            parts.append(f"{self.row_kind} {row}")
        if field:
            parts.append(f"field '{field}'")
        return ", ".join(parts)

    def error(self, message: str, row: int | None = None, field: str | None = None) -> ScenarioError:
        return ScenarioError(message, file=self.display, row=row, field=field, row_kind=self.row_kind)


# --- zones --------------------------------------------------------------------------------------------------
def _norm(codes: pd.Series) -> pd.Series:
    """Codes compared loosely: upper case, without spaces, dots, dashes and underscores."""
    return codes.astype(str).str.upper().str.replace(r"[\s._\-]", "", regex=True)


def _did_you_mean(code: str, candidates: pd.Series) -> str:
    """' (did you mean B2?)' when `code` differs from a candidate only in case or spacing."""
    cand = pd.Series(sorted(set(candidates)), dtype=object)
    hit = cand[(_norm(cand) == _norm(pd.Series([code])).iloc[0]).to_numpy() & (cand != code).to_numpy()]
    return f" (did you mean {hit.iloc[0]}?)" if len(hit) else ""


def check_zone_codes(codes: pd.DataFrame, codes_src: Source,
                     tables: list[tuple[pd.Series, np.ndarray, Source, str]]) -> None:
    """With a zones file: every code of each (codes, rows, source, field) must be listed in it."""
    known = set(codes["code"])
    for values, rows, src, field in tables:
        unknown = ~values.isin(known).to_numpy()
        if unknown.any():
            i = int(np.argmax(unknown))
            code = str(values.iloc[i])
            raise src.error(f"unknown zone code '{code}' (not in {codes_src.display})"
                            f"{_did_you_mean(code, codes['code'])}", row=int(rows[i]), field=field)


def zone_warnings(parcels: pd.DataFrame, parcels_src: Source, compat: pd.DataFrame, compat_src: Source,
                  compat_field: str) -> list[str]:
    """Parcel zones no industry may use, and allowed zones (compatibility) that match no parcel."""
    out: list[str] = []
    allowed = set(compat["zone"])
    stats = (parcels.groupby("zone", sort=False).agg(n=("area_m2", "size"), area=("area_m2", "sum"), first=(ROW, "first")))
    unused = stats[~stats.index.isin(allowed)]
    for code, r in unused.head(MAX_WARNINGS_PER_KIND).iterrows():
        n = int(r["n"])
        out.append(f"{parcels_src.where(field='zone')}: zone '{code}' ({n} parcel{'s' if n != 1 else ''}, "
                   f"{r['area'] / 1e6:,.3f} km², first at {parcels_src.row_kind} {int(r['first'])}) is allowed for "
                   f"no industry, so these parcels stay empty{_did_you_mean(str(code), compat['zone'])}")
    if len(unused) > MAX_WARNINGS_PER_KIND:
        out.append(f"{parcels_src.display}: ... and {len(unused) - MAX_WARNINGS_PER_KIND} more zones allowed for no "
                   "industry")
    present = set(stats.index)
    orphan = compat[~compat["zone"].isin(present)].drop_duplicates("zone")
    for _, r in orphan.head(MAX_WARNINGS_PER_KIND).iterrows():
        out.append(f"{compat_src.where(int(r[ROW]), compat_field)}: zone '{r['zone']}' (industry "
                   f"{r['industry_id']}) matches no parcel's zone{_did_you_mean(str(r['zone']), parcels['zone'])}")
    if len(orphan) > MAX_WARNINGS_PER_KIND:
        out.append(f"{compat_src.display}: ... and {len(orphan) - MAX_WARNINGS_PER_KIND} more allowed zones that "
                   "match no parcel")
    return out


# --- coordinates ----------------------------------------------------------------------------------------------
CRS_HINT = {"EPSG:4326": 'network.crs = "EPSG:4326"', "local_m": 'network.crs = "local_m"'}


def check_lonlat(x: np.ndarray, y: np.ndarray, rows: np.ndarray, src: Source) -> None:
    """x, y of one table as longitude, latitude (EPSG:4326)."""
    issue = netmod.lonlat_issue(x, y)
    if issue is None:
        return
    kind, i = issue
    got = f"x = {x[i]:.6g}, y = {y[i]:.6g}"
    if kind == "swapped":
        raise src.error(f"x and y look swapped (x is longitude, y latitude): {got}", row=int(rows[i]), field="y")
    field = "x" if abs(x[i]) > 180 else "y"
    raise src.error(f"{got} is far outside degrees (network.crs is EPSG:4326: x is longitude in [-180, 180], y "
                    f"latitude in [-90, 90]); for coordinates in metres set {CRS_HINT['local_m']}",
                    row=int(rows[i]), field=field)


def check_metres(x: np.ndarray, y: np.ndarray, rows: np.ndarray, src: Source, declared: bool) -> None:
    """x, y of one table in metres (network.crs = "local_m", or no network): |x|, |y| <= MAX_COORD."""
    with np.errstate(invalid="ignore"):
        big = (np.abs(x) > MAX_COORD) | (np.abs(y) > MAX_COORD)
    if big.any():
        i = int(np.argmax(big))
        field = "x" if abs(x[i]) > MAX_COORD else "y"
        crs = " (network.crs is local_m)" if declared else ""
        raise src.error(f"{field} = {(x if field == 'x' else y)[i]:.6g} is more than {MAX_COORD / 1e3:,.0f} km from "
                        f"the origin: coordinates in metres{crs} must lie in [-{MAX_COORD:g}, {MAX_COORD:g}]",
                        row=int(rows[i]), field=field)


def check_axis_order(parcels: pd.DataFrame, nodes: pd.DataFrame, nodes_src: Source) -> None:
    """Parcels and nodes both in range but with x and y in different orders (lon/lat)."""
    px, py = np.nanmedian(parcels["x"]), np.nanmedian(parcels["y"])
    nx, ny = np.nanmedian(nodes["x"]), np.nanmedian(nodes["y"])
    if abs(nx) > 90 or abs(ny) > 180:
        return  # the swapped nodes would not be valid degrees
    as_is = float(netmod.great_circle_m(px, py, nx, ny))
    swapped = float(netmod.great_circle_m(px, py, ny, nx))
    if as_is > FAR_PARCEL_M and swapped < min(FAR_PARCEL_M, as_is / 10):
        raise nodes_src.error(
            f"x and y look swapped (x is longitude, y latitude) in this file or in the parcels: the nodes' centre "
            f"(x {nx:.4f}, y {ny:.4f}) is {as_is / 1000:,.0f} km from the parcels' centre (x {px:.4f}, y {py:.4f}), "
            f"but {swapped / 1000:,.1f} km with x and y exchanged", row=int(nodes[ROW].iloc[0]), field="x")


def check_local_metres(parcels: pd.DataFrame, nodes: pd.DataFrame, parcels_src: Source) -> None:
    """Degrees given where metres are declared: every point within a few metres of each other."""
    x = np.concatenate([parcels["x"].to_numpy(float), nodes["x"].to_numpy(float)])
    y = np.concatenate([parcels["y"].to_numpy(float), nodes["y"].to_numpy(float)])
    extent = max(np.nanmax(x) - np.nanmin(x), np.nanmax(y) - np.nanmin(y))
    if netmod.lonlat_issue(x, y) is None and 0 < extent < 10.0:
        raise parcels_src.error(
            f"coordinates look like degrees: network.crs is local_m (metres) but all parcels and nodes lie within "
            f"{extent:.4g} m of each other; for longitude and latitude set {CRS_HINT['EPSG:4326']}",
            row=int(parcels[ROW].iloc[0]), field="x")


def check_far(parcels: pd.DataFrame, parcels_src: Source, nodes: pd.DataFrame, nodes_src: Source, *,
              parcels_far: bool = True, nodes_far: bool = True) -> list[str]:
    """Parcels far from every node are errors; nodes far from every parcel are warnings (x_m, y_m set).

    `parcels_far`, `nodes_far`: make each of the two checks (chunked loading checks the nodes against the whole
    parcel file, optimizer.scenario.chunks)."""
    p_xy = parcels[["x_m", "y_m"]].to_numpy(float)
    n_xy = nodes[["x_m", "y_m"]].to_numpy(float)
    lost = ~np.isfinite(n_xy).all(axis=1)
    if lost.any():
        i = int(np.argmax(lost))
        raise nodes_src.error("the node lies on the other side of the Earth from the parcels: check its coordinates",
                              row=int(nodes[ROW].iloc[i]), field="x")
    far, dist, limit = netmod.far_points(p_xy, n_xy, FAR_PARCEL_M) if parcels_far else ([], None, None)
    if len(far):
        i = int(far[0])
        raise parcels_src.error(
            f"parcel '{parcels['parcel_id'].iloc[i]}' is {_km(dist[0])} from the nearest network node (limit: "
            f"{limit / 1000:,.0f} km, the larger of {FAR_PARCEL_M / 1000:.0f} km and the network's extent); "
            f"{len(far)} parcel(s) are that far: check their coordinates and network.crs",
            row=int(parcels[ROW].iloc[i]), field="x")
    if not nodes_far:
        return []
    far, dist, limit = netmod.far_points(n_xy, p_xy, FAR_NODE_M)
    absurd = dist > max(FAR_NODE_ERROR_M, limit)
    if absurd.any():
        i = int(far[np.argmax(absurd)])
        raise nodes_src.error(
            f"node '{nodes['node_id'].iloc[i]}' is {_km(dist[np.argmax(absurd)])} from the nearest parcel (more than "
            f"{max(FAR_NODE_ERROR_M, limit) / 1000:,.0f} km): check its coordinates and network.crs",
            row=int(nodes[ROW].iloc[i]), field="x")
    out = [f"{nodes_src.where(int(nodes[ROW].iloc[i]), 'x')}: node '{nodes['node_id'].iloc[i]}' is {_km(d)} from the "
           f"nearest parcel (more than {limit / 1000:,.0f} km): check its coordinates"
           for i, d in zip(far[:MAX_WARNINGS_PER_KIND], dist[:MAX_WARNINGS_PER_KIND], strict=True)]
    if len(far) > MAX_WARNINGS_PER_KIND:
        out.append(f"{nodes_src.display}: ... and {len(far) - MAX_WARNINGS_PER_KIND} more nodes far from every "
                   "parcel")
    return out


def _km(d: float) -> str:
    return "an undefined distance (the other side of the Earth)" if not np.isfinite(d) else f"{d / 1000:,.1f} km"

