"""The parcel adjacency graph and its rules: [neighbours] in scenario.toml, adjacency.csv, synergy.csv,
separation.csv, and the cluster columns of industries.csv.

The graph comes from one of three sources: `mode = "touch"` (parcel outlines that share a boundary segment),
`distance_m = D` (outlines within D metres, or centroids within D metres when the scenario has no outlines) or
`file = "adjacency.csv"` (a table parcel_a,parcel_b). Geometric queries run in local metres (the projection of
optimizer.network, centred on the parcels) on a spatial index: shapely's STRtree for outlines, a k-d tree for
centroids; no Python loop per parcel or pair, so a million parcels take seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.data import Neighbours, SeparationRule
from optimizer.errors import ScenarioError
from optimizer.scenario import schema
from optimizer.scenario.checks import Source
from optimizer.scenario.config import TOML
from optimizer.scenario.readers import ROW, read_csv_raw, validate_frame

ROLES = {"file": "adjacency", "synergy": "synergy", "separation": "separation"}  # [neighbours] key -> frame role
TOUCH_TOL_M = 1e-3  # a shared boundary shorter than this (a corner) does not make two parcels neighbours


def read_frames(folder: Path, cfg: dict[str, Any], inside) -> dict[str, pd.DataFrame]:
    """The CSV files named in [neighbours], as raw text frames keyed by role (adjacency, synergy, separation).

    `inside(folder, rel, field)` resolves a path within the scenario folder (load._inside)."""
    out = {}
    for key, role in ROLES.items():
        rel = cfg["neighbours"].get(key)
        if rel is None:
            continue
        path, display = inside(folder, rel, f"neighbours.{key}")
        raw = read_csv_raw(path, display)
        raw.attrs["display"] = display
        raw.attrs["row_kind"] = "row"
        out[role] = raw
    return out


def build_neighbours(cfg: dict[str, Any], frames: dict[str, pd.DataFrame], prep, src: dict[str, Source],
                     parcels: pd.DataFrame, industries: pd.DataFrame, geometry: tuple | None,
                     lonlat: bool) -> Neighbours | None:
    """The validated graph and rules, or None when the scenario has none.

    `frames` may hold "adjacency", "synergy" and "separation" tables (read by read_frames, or made in memory by
    a generator); `prep(role)` turns a frame's cells into text as build_scenario does; `src` maps roles to their
    sources (for messages). `lonlat`: the parcels' x, y are degrees (and x_m, y_m are not metres)."""
    nb = cfg.get("neighbours") or {}
    ind_src = src.get("industries") or Source("industries.csv")
    clusters = industries[["cluster_min_sites", "cluster_min_floor_m2"]].notna().to_numpy()
    sources = [k for k in ("mode", "distance_m", "file") if nb.get(k) is not None]
    if "file" not in sources and "adjacency" in frames:
        sources.append("file")
    if not sources:
        if "synergy" in frames or "separation" in frames or nb.get("synergy") or nb.get("separation"):
            raise ScenarioError("synergy and separation rules need a neighbour graph: give mode = \"touch\", "
                                "distance_m or file", file=TOML, field="neighbours")
        if clusters.any():
            i, j = np.argwhere(clusters)[0]
            raise ind_src.error("a cluster rule needs a neighbour graph: add [neighbours] to scenario.toml with "
                                "mode = \"touch\", distance_m or file", row=int(industries[ROW].iloc[i]),
                                field=("cluster_min_sites", "cluster_min_floor_m2")[j])
        return None
    if len(sources) > 1:
        raise ScenarioError(f"give only one of mode, distance_m and file (got {' and '.join(sources)})", file=TOML,
                            field=f"neighbours.{sources[1]}")
    geo = _Geometry(parcels, geometry, lonlat, src.get("parcels") or Source("parcels.csv"))
    kind = sources[0]
    if kind == "mode":
        if geometry is None:
            raise ScenarioError('mode = "touch" needs parcel outlines (parcels as GeoJSON or a GIS layer); use '
                                "distance_m (centroid distance) or file", file=TOML, field="neighbours.mode")
        pairs, distance = geo.touching(), np.nan
    elif kind == "distance_m":
        distance = float(nb["distance_m"])
        pairs = geo.within(distance, "neighbours.distance_m")
    else:
        if "adjacency" not in frames:
            raise ScenarioError("no adjacency table", file=TOML, field="neighbours.file")
        pairs, distance = _adjacency(prep("adjacency"), _src(frames["adjacency"], "adjacency.csv"), parcels), np.nan
    kids = set(industries["industry_id"])
    synergy = None
    if "synergy" in frames:
        synergy = _synergy(prep("synergy"), _src(frames["synergy"], "synergy.csv"), kids)
    separation: tuple[SeparationRule, ...] = ()
    if "separation" in frames:
        separation = _separation(prep("separation"), _src(frames["separation"], "separation.csv"), kids, pairs,
                                 geo)
    return Neighbours(pairs=pairs, source={"mode": "touch", "distance_m": "distance", "file": "file"}[kind],
                      distance_m=distance, synergy=synergy, separation=separation)


def _src(frame: pd.DataFrame, default: str) -> Source:
    return Source(frame.attrs.get("display", default), frame.attrs.get("row_kind", "row"))


# --- graph ----------------------------------------------------------------------------------------------------
def normalise_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs (a, b) as an int64 array (m, 2) with a < b, without self pairs or duplicates, sorted."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi = lo[keep], hi[keep]
    if len(lo) == 0:
        return np.zeros((0, 2), np.int64)
    base = np.int64(hi.max()) + 1
    key = np.unique(lo * base + hi)  # sorted by (a, b)
    return np.column_stack([key // base, key % base])


class _Geometry:
    """The parcels in local metres: outlines (when the scenario has them) and centroids."""

    def __init__(self, parcels: pd.DataFrame, geometry: tuple | None, lonlat: bool, src: Source):
        self.parcels, self.geometry, self.src = parcels, geometry, src
        self.lonlat = lonlat or geometry is not None  # outlines are WGS84, so are centroids filled from them
        self._xy = None
        self._geoms = None

    def _origin(self):
        from optimizer.network import local_origin

        return local_origin(self.parcels["x"].to_numpy(float), self.parcels["y"].to_numpy(float))

    def xy(self, field: str) -> np.ndarray:
        if self._xy is None:
            from optimizer.network import to_local_metres

            if self.lonlat:
                x, y = self.parcels["x"].to_numpy(float), self.parcels["y"].to_numpy(float)
                bad = ~(np.isfinite(x) & np.isfinite(y))
                if not bad.all():
                    lon0, lat0 = self._origin()
                    x, y = to_local_metres(np.where(bad, lon0, x), np.where(bad, lat0, y), lon0, lat0)
                    x, y = np.where(bad, np.nan, x), np.where(bad, np.nan, y)
            else:
                x, y = self.parcels["x_m"].to_numpy(float), self.parcels["y_m"].to_numpy(float)
            bad = ~(np.isfinite(x) & np.isfinite(y))
            if bad.any():
                i = int(np.argmax(bad))
                raise self.src.error(
                    f"a neighbour distance ({field}) needs every parcel's coordinates (x and y, or an outline)",
                    row=int(self.parcels[ROW].iloc[i]), field="x")
            self._xy = np.column_stack([x, y])
        return self._xy

    def outlines(self) -> np.ndarray:
        """Outlines in local metres (a parcel without one: its centroid as a point)."""
        if self._geoms is None:
            import shapely

            from optimizer.network import to_local_metres

            lon0, lat0 = self._origin()
            g = np.array(self.geometry, dtype=object)
            missing = np.array([v is None for v in g], bool)
            if missing.any():
                xy = self.parcels[["x", "y"]].to_numpy(float)[missing]
                g[missing] = shapely.points(xy)

            def project(c: np.ndarray) -> np.ndarray:
                return np.column_stack(to_local_metres(c[:, 0], c[:, 1], lon0, lat0))

            self._geoms = shapely.transform(g, project)
        return self._geoms

    def touching(self) -> np.ndarray:
        """Pairs whose outlines share a boundary segment (rook contiguity; a shared corner alone does not count,
        an overlap does)."""
        import shapely

        geoms = self.outlines()
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        if len(i):
            inter = shapely.intersection(geoms[i], geoms[j])
            shared = shapely.length(inter) > TOUCH_TOL_M
            i, j = i[shared], j[shared]
        return normalise_pairs(i, j)

    def within(self, distance_m: float, field: str) -> np.ndarray:
        """Pairs whose outlines (else centroids) lie within `distance_m` metres of each other."""
        if self.geometry is not None:
            import shapely

            geoms = self.outlines()
            tree = shapely.STRtree(geoms)
            i, j = tree.query(geoms, predicate="dwithin", distance=distance_m)
            keep = i < j
            return normalise_pairs(i[keep], j[keep])
        from scipy.spatial import cKDTree

        xy = self.xy(field)
        pairs = cKDTree(xy).query_pairs(distance_m, output_type="ndarray")
        return normalise_pairs(pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros((0, 2), np.int64)


# --- tables ---------------------------------------------------------------------------------------------------
def _unknown(df: pd.DataFrame, col: str, known, src: Source, what: str) -> None:
    from optimizer.scenario.load import _check_refs

    _check_refs(df, col, pd.Series(sorted(known)), src, what)


def _adjacency(raw: pd.DataFrame, src: Source, parcels: pd.DataFrame) -> np.ndarray:
    df = validate_frame(raw, src.display, schema.ADJACENCY_COLUMNS)
    ids = parcels["parcel_id"]
    _unknown(df, "parcel_a", ids, src, "parcel")
    _unknown(df, "parcel_b", ids, src, "parcel")
    same = (df["parcel_a"] == df["parcel_b"]).to_numpy()
    if same.any():
        i = int(np.argmax(same))
        raise src.error(f"a parcel cannot be its own neighbour ('{df['parcel_a'].iloc[i]}')",
                        row=int(df[ROW].iloc[i]), field="parcel_b")
    pos = pd.Index(ids)
    return normalise_pairs(pos.get_indexer(df["parcel_a"]), pos.get_indexer(df["parcel_b"]))


def _synergy(raw: pd.DataFrame, src: Source, kids: set) -> pd.DataFrame:
    df = validate_frame(raw, src.display, schema.SYNERGY_COLUMNS)
    _unknown(df, "industry_a", kids, src, "industry")
    _unknown(df, "industry_b", kids, src, "industry")
    df["basis"] = df["basis"].str.strip().replace("", "pair")
    bad = ~df["basis"].isin(schema.SYNERGY_BASES).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise src.error(f"basis must be 'pair' (yuan a year per neighbouring pair) or 'm2' (yuan a year per m² of "
                        f"the smaller floor) (got '{df['basis'].iloc[i]}')", row=int(df[ROW].iloc[i]), field="basis")
    neg = ((df["basis"] == "m2") & (df["bonus"] < 0)).to_numpy()
    if neg.any():
        i = int(np.argmax(neg))
        raise src.error("a penalty per m² of the smaller floor is not supported (its minimum would need a binary "
                        "variable per pair): give it as basis = \"pair\"", row=int(df[ROW].iloc[i]), field="bonus")
    a, b = df["industry_a"].to_numpy(str), df["industry_b"].to_numpy(str)
    first = np.where(a <= b, a, b)
    key = pd.DataFrame({"a": first, "b": np.where(a <= b, b, a), "basis": df["basis"].to_numpy(str)})
    dup = key.duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise src.error(f"duplicate synergy of {a[i]} and {b[i]} on basis '{key['basis'].iloc[i]}' (the table is "
                        "symmetric: a,b and b,a are the same pair)", row=int(df[ROW].iloc[i]), field="industry_b")
    return df.reset_index(drop=True)


def _separation(raw: pd.DataFrame, src: Source, kids: set, graph: np.ndarray,
                geo: _Geometry) -> tuple[SeparationRule, ...]:
    df = validate_frame(raw, src.display, schema.SEPARATION_COLUMNS)
    _unknown(df, "industry_a", kids, src, "industry")
    _unknown(df, "industry_b", kids, src, "industry")
    rules = []
    cache: dict[float, np.ndarray] = {}
    for a, b, d, row in zip(df["industry_a"], df["industry_b"], df["min_distance_m"].to_numpy(float), df[ROW],
                            strict=True):  # one per rule (a handful), each query vectorised
        if np.isnan(d):
            pairs = graph
        else:
            if d not in cache:
                cache[d] = geo.within(float(d), f"min_distance_m of {src.display}, row {row}")
            pairs = cache[d]
        rules.append(SeparationRule(str(a), str(b), float(d), pairs, int(row)))
    return tuple(rules)
