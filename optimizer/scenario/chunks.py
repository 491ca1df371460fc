"""Chunked loading: a scenario whose parcel file is too large for one process, loaded a range of its records at a
time (one worker process per range)::

    scan = scan_parcels(folder)                          # one streaming pass over the parcel file
    for start, stop in chunk_ranges(scan.n_records, 1_000_000):
        sc = load_chunk(folder, start, stop, scan)       # in a worker: reads only these records

`load_chunk(folder, a, b, scan)` equals `restrict_parcels(load_scenario(folder), range(a, b))` (optimizer.data) in
its parcels (with the whole file's `_row`), pairs, access, geometry, industries, compatibility, rules and objective.
Both go through load_scenario and build_scenario (load.py): a chunk is read by `load_scenario(folder, part=...)`,
which reads the chunk's parcel records and pair rows instead of the whole files and validates them with the same
code; what only the whole file can tell comes from the ParcelScan.

Formats:
  - CSV (parcels and pairs): streamed. Read in blocks of about BLOCK_BYTES cut at record boundaries, each parsed
    with the header by readers.parse_csv (text cells, `_row` counted as in the whole file: blank lines count,
    quoted line breaks do not). The scan records where each block starts (byte offset, records, lines, parcels
    before it), so a chunk is read from the block that holds its first record. The pair table is streamed by the
    scan and by every chunk, which keeps the rows of its parcels.
  - GeoParquet: streamed, by row group and in batches of gis.PARQUET_BATCH rows (pyarrow); a chunk reads only the
    row groups that hold its records (the rows of the first one before the chunk are decoded and dropped). The
    scan reads BATCH_RECORDS records at a time.
  - GeoPackage, Shapefile, FlatGeobuf, File Geodatabase: BATCH_RECORDS records at a time with GDAL's skip_features
    and max_features (GDAL seeks where the driver can, else it reads past the features before).
  - GeoJSON: cannot be streamed; the scan and every chunk parse the whole document once (then keep the chunk's
    features), so memory grows with the whole file.

What is validated where:
  - scan_parcels: the parcel file read and every record checked as the parcel table is checked (columns, values,
    geometries and CRS; in blocks), then what only the whole file shows: parcel ids unique across the file (64-bit
    hashes of the ids, a match confirmed by reading the two records again; the error is load_scenario's, naming
    the second row), an empty parcel table, a projected layer whose coordinates look like degrees, pair rows
    naming a parcel the file does not have (the "did you mean" reads the parcel ids again) or an unknown industry,
    bad values in any pair row, and with a network: parcel coordinates (missing, out of range for the CRS, parcels
    far from every node), the axis-order and degrees-as-metres checks, nodes far from every parcel (errors, and
    warnings kept in ParcelScan.warnings) and the projection origin (the mean of all parcels' lon, lat) that every
    chunk uses. The other files (industries, compatibility, zones, network, rules against the sub-areas of the
    whole file, objective, phases) are validated once on a one-parcel chunk. A scenario with neighbour rules is
    refused (its rules couple parcels of different chunks). Checks that tie a parcel to other files (zone codes
    against a zones table, existing uses and locks) are load_chunk's.
  - load_chunk: the chunk as load_scenario validates the whole file: its records, its pair rows (those naming its
    parcels), every other file, rules that name a sub-area against `scan.subareas`, network access for its parcels
    (with the whole file's origin). Errors carry the whole file's row numbers, file and field names.

Warnings: a chunk's Scenario.warnings leave out those only the whole file can give: zones no industry may use
and allowed zones that match no parcel (checks.zone_warnings; neither the scan nor a chunk gives them) and network
nodes far from every parcel (in ParcelScan.warnings). Warnings about parcels (areas off their polygons, invalid
polygons, a declared CRS other than the file's) count the chunk's parcels only.

Differences from load_scenario: when a file has several errors, the scan or a chunk may report another one first;
messages that count the offending parcels (mixed geometry types) or decide on all values at once (x and y
"swapped" rather than "outside degrees") count or decide on the block or chunk at hand; a pair row naming an
unknown parcel whose id hash matches a known one (chance ~n·m/2⁶⁴) is not reported.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import difflib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.errors import ScenarioError
from optimizer.scenario import checks, gis, load, schema
from optimizer.scenario.checks import Source
from optimizer.scenario.config import TOML
from optimizer.scenario.readers import (
    ROW,
    _cells_per_record,
    decode_text,
    os_reason,
    parse_csv,
    read_geojson_raw,
    validate_frame,
)

__all__ = ["ParcelScan", "scan_parcels", "load_chunk", "chunk_ranges", "BLOCK_BYTES", "BATCH_RECORDS"]

BLOCK_BYTES = 8 << 20  # CSV bytes read at a time (a block ends at the last record boundary in it)
BATCH_RECORDS = 65_536  # records of a GIS layer read at a time by the scan
CHANGED = "the file changed after scan_parcels read it: scan it again"


@dataclass(frozen=True)
class ParcelScan:
    """What scan_parcels found in the whole parcel file: small and picklable, sent to every chunk's worker.

    n_records: parcel records in the file (chunk positions are 0-based record positions in file order).
    subareas: the sorted sub-area names of all parcels (rules naming a sub-area are checked against them).
    origin: lon, lat of the local-metres projection (the mean of all parcels' x, y) when the network is in
        EPSG:4326, else None.
    warnings: whole-file warnings a chunk leaves out (network nodes far from every parcel).
    n_pairs: rows of the pair table (0 without one).
    file, row_kind, format: the parcel file's name as messages give it, "row" or "feature", and its format
        ("csv", "geojson" or "gis").
    blocks: for a CSV, where each block of the scan starts: (byte offset, records, lines, parcels before it).
    size: the parcel file's size in bytes; a chunk of a file whose size changed since is an error (so is, for a
        CSV, a block start that is no longer a record boundary).
    """

    folder: str
    n_records: int
    subareas: tuple[str, ...]
    origin: tuple[float, float] | None
    warnings: tuple[str, ...]
    n_pairs: int
    file: str
    row_kind: str
    format: str
    blocks: tuple[tuple[int, int, int, int], ...]
    size: int | None


def chunk_ranges(n_records: int, max_records: int) -> list[tuple[int, int]]:
    """Contiguous ranges [start, stop) covering 0..n_records, as few as ranges of at most max_records allow,
    of equal sizes (differing by at most one record)."""
    if int(max_records) < 1:
        raise ValueError(f"max_records must be at least 1, got {max_records}")
    if n_records <= 0:
        return []
    k = -(-int(n_records) // int(max_records))
    edges = [i * int(n_records) // k for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def scan_parcels(folder: str | Path) -> ParcelScan:
    """Stream the scenario's parcel file once (bounded memory for CSV and GIS layers; GeoJSON is read whole) and
    validate it: see the module docstring for what is checked. Returns what load_chunk needs; raises
    ScenarioError as load_scenario does.

    Memory: besides a block of records (and GeoJSON, read whole), about 24 bytes per parcel at the peak (the ids'
    64-bit hashes, sorted); with a network 24 more (x, y, row) and 40 in the network checks at the end. Measured
    on a 1,000,000-parcel CSV city with a network (2026-12-03): 195 MB at the traced peak, imports included, and
    401 MB of resident memory; a chunked run's coordinator peaked at 584 MB there and at 1,429 MB with 3,000,000
    parcels in 12 chunks.
    """
    folder = Path(folder)
    part = _ScanPart()
    probe = load.load_scenario(folder, part=part)
    _refuse_neighbours(probe)
    part.check_pair_industries(probe)
    warnings = part.check_network(probe)
    pf = part.file
    return ParcelScan(folder=str(folder), n_records=part.n, subareas=tuple(sorted(part.subareas)),
                      origin=part.origin, warnings=warnings, n_pairs=part.n_pairs, file=part.display,
                      row_kind=part.row_kind, format=pf.kind, blocks=tuple(part.marks), size=_size(pf.path))


def load_chunk(folder: str | Path, start: int, stop: int, scan: ParcelScan) -> Scenario:
    """The scenario with only the parcel records [start, stop) of the parcel file (0-based positions in file
    order), read without the other records where the format allows, and validated as load_scenario validates the
    whole file (see the module docstring). Raises ScenarioError as load_scenario does, and ValueError for a range
    outside 0..scan.n_records."""
    if not 0 <= start < stop <= scan.n_records:
        raise ValueError(f"chunk [{start}, {stop}) is not a non-empty range of the {scan.n_records} parcel records")
    sc = load.load_scenario(Path(folder), part=_ChunkPart(scan, int(start), int(stop)))
    _refuse_neighbours(sc)
    if sc.pairs is not None and not len(sc.pairs) and scan.n_pairs:
        sc = dataclasses.replace(sc, pairs=_typed_like_rows(sc.pairs))
    return sc


# --- the parts load_scenario reads ----------------------------------------------------------------------------
class _ScanPart:
    """load_scenario's `part` for the scan: reading the parcels streams the whole file (blocks validated as the
    loader validates parcels, then the whole-file checks) and returns one record (a one-parcel chunk on which the
    other files are validated); reading the pairs streams them (values, parcels and industries named)."""

    def __init__(self):
        self.n = 0
        self.subareas: set[str] = set()
        self.origin: tuple[float, float] | None = None
        self.marks: list[tuple[int, int, int, int]] = []
        self.pending: ScenarioError | None = None  # a validation error, raised when build_scenario starts
        self.probe_ids: set[str] = set()
        self.pair_industries: dict[str, int] = {}
        self.pairs_display = "pairs.csv"
        self.xy: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.hashes = np.zeros(0, dtype=np.uint64)
        self.nocoord_probe = False
        self.n_pairs = 0

    @property
    def whole(self) -> _ScanPart:
        # load_scenario asks for it when it calls build_scenario: the parcels' validation errors are raised there,
        # after every file is read and within gis.layer_field_names, as the whole-file load raises them
        if self.pending is not None:
            raise self.pending
        return self

    def read(self, role: str, path: Path, display: str, cfg: dict, network_crs: str | None):
        if role == "parcels":
            return self._parcels(path, display, cfg, network_crs)
        if role == "pairs" and not _is_geojson(path):
            return self._pairs(path, display)
        return None

    # parcels
    def _parcels(self, path: Path, display: str, cfg: dict, network_crs: str | None):
        _refuse_neighbours(cfg=cfg)
        self.crs = cfg["network"]["crs"]
        self.network = cfg["data"].get("nodes") is not None
        self.file = pf = _ParcelFile(path, display, cfg["data"]["parcels"], network_crs)
        bounds: dict = {}
        hashes, xs, ys, rows = [], [], [], []
        last = None
        for mark, raw, geometry in pf.blocks(bounds):
            if mark is not None:
                self.marks.append(mark)
            last = (raw, geometry)
            if self.pending is not None or not len(raw):
                continue  # after an error: read on (a reading error elsewhere in the file comes first)
            try:
                parcels = load._parcels(_prep(raw), _source(raw, display), geometry, unique=False)
            except ScenarioError as exc:
                self.pending = exc
                continue
            hashes.append(_hash(parcels["parcel_id"]))
            self.subareas.update(parcels["subarea"].unique())
            if self.network:
                xs.append(parcels["x"].to_numpy(float, copy=True))
                ys.append(parcels["y"].to_numpy(float, copy=True))
                rows.append(parcels[ROW].to_numpy(np.int64, copy=True))
            self.n += len(parcels)
        self.attrs = dict(last[0].attrs)
        self.display, self.row_kind = self.attrs.get("display", display), self.attrs.get("row_kind", "row")
        gis.check_layer_extent(bounds)
        if self.pending is not None:
            return last
        if self.n == 0:  # the loader's "the parcel table is empty"
            self._defer(lambda: load._parcels(_prep(last[0]), _source(last[0], display), last[1]))
            return last
        self.hashes = np.concatenate(hashes)
        del hashes
        self._defer(self._duplicates)
        probe = 0
        if self.network and self.pending is None:
            x, y, r = np.concatenate(xs), np.concatenate(ys), np.concatenate(rows)
            self.xy = (x, y, r)
            nocoord = np.isnan(x) | np.isnan(y)
            if nocoord.any():  # the one-parcel chunk of the first such record raises the loader's error
                probe = int(np.argmax(nocoord))
                self.origin = (0.0, 0.0)
            elif self.crs == "EPSG:4326":
                self._defer(lambda: checks.check_lonlat(x, y, r, Source(self.display, self.row_kind)))
                self.origin = (float(np.mean(x)), float(np.mean(y)))  # as _network computes it, bit for bit
            else:
                self._defer(lambda: checks.check_metres(x, y, r, Source(self.display, self.row_kind),
                                                        declared=True))
        raw, geometry = pf.read(probe, probe + 1, self.marks)
        self.probe_ids = set(_ids(raw))
        self.nocoord_probe = self.network and self.xy is not None and bool(np.isnan(self.xy[0][probe])
                                                                           or np.isnan(self.xy[1][probe]))
        return raw, geometry

    def _defer(self, check) -> None:
        if self.pending is None:
            try:
                check()
            except ScenarioError as exc:
                self.pending = exc

    def _duplicates(self) -> None:
        """Raise the loader's duplicate-id error for the first record whose id an earlier record has."""
        order = np.argsort(self.hashes, kind="stable")
        self.hashes = hs = self.hashes[order]  # sorted, for the pairs
        later = np.flatnonzero(hs[1:] == hs[:-1]) + 1  # sorted positions with an equal hash before them
        if not len(later):
            return
        run_start = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]])
        starts = run_start[np.searchsorted(run_start, later, side="right") - 1]
        records: dict[int, tuple] = {}

        def record(pos: int) -> tuple:
            if pos not in records:
                raw, geometry = self.file.read(pos, pos + 1, self.marks)
                records[pos] = (raw, geometry, _ids(raw).iloc[0])
            return records[pos]

        for k in np.argsort(order[later], kind="stable"):  # candidates in file order
            p = int(order[later[k]])
            for q in sorted(int(i) for i in order[starts[k]:later[k]]):
                if record(q)[2] == record(p)[2]:  # a true duplicate, not a hash collision
                    (raw_q, geom_q, _), (raw_p, geom_p, _) = record(q), record(p)
                    both = pd.concat([raw_q, raw_p], ignore_index=True)
                    both.attrs = dict(raw_p.attrs)
                    geometry = None if geom_p is None else (*geom_q, *geom_p)
                    load._parcels(_prep(both), _source(both, self.display), geometry)  # raises the error
                    raise AssertionError(f"records {q} and {p} have the same id")

    # pairs
    def _pairs(self, path: Path, display: str):
        self.pairs_display = display
        pairs = _CsvFile(path, display)
        src = Source(display)
        known = self.hashes  # sorted by _duplicates
        keep, unknown = [], None
        for _, frame in pairs.blocks():
            if self.pending is not None:
                continue  # the parcels' error comes first; the file is read for its reading errors
            typed = validate_frame(_prep(frame), display, schema.PAIR_COLUMNS)
            self.n_pairs += len(typed)
            if unknown is None and len(typed):
                h = _hash(typed["parcel_id"])
                at = np.minimum(np.searchsorted(known, h), max(len(known) - 1, 0))
                missing = known[at] != h if len(known) else np.ones(len(h), dtype=bool)
                if missing.any():
                    unknown = typed.iloc[[int(np.argmax(missing))]]
            first = typed.drop_duplicates("industry_id")
            for value, row in zip(first["industry_id"], first[ROW], strict=True):
                self.pair_industries.setdefault(value, int(row))
            keep.append(_rows_of(frame, self.probe_ids))
        if unknown is not None:  # the loader's message, with its "did you mean" over every parcel id
            value = str(unknown["parcel_id"].iloc[0])
            best = self._closest_id(value)
            load._check_refs(unknown, "parcel_id", pd.Series([] if best is None else [best], dtype=object), src,
                             "parcel")
        out = pd.concat(keep, ignore_index=True) if keep else pd.DataFrame()
        out.attrs.update(display=display, row_kind="row")
        return out, None

    def _closest_id(self, value: str) -> str | None:
        """The parcel id difflib.get_close_matches(value, every id, n=1, cutoff=0.6) gives, read block by block."""
        best: tuple[float, str] | None = None
        for _, raw, _ in self.file.blocks({}):
            for x in difflib.get_close_matches(value, list(set(_ids(raw))), n=1, cutoff=0.6):
                cand = (difflib.SequenceMatcher(None, x, value).ratio(), x)
                best = cand if best is None or cand > best else best
        return None if best is None else best[1]

    def check_pair_industries(self, probe: Scenario) -> None:
        """Pair rows naming an unknown industry (the one-parcel chunk checked only its own rows)."""
        ids = set(probe.industries["industry_id"])
        bad = [(row, v) for v, row in self.pair_industries.items() if v not in ids]
        if bad:
            row, value = min(bad)
            load._check_refs(pd.DataFrame({"industry_id": [value], ROW: [row]}), "industry_id",
                             probe.industries["industry_id"], Source(self.pairs_display), "industry")

    # network
    def check_network(self, probe: Scenario) -> tuple[str, ...]:
        """The network checks that need every parcel (load._network, checks.check_far); returns the warnings."""
        assert not self.nocoord_probe, "the one-parcel chunk of a parcel without coordinates raises the error"
        if probe.network is None or self.xy is None:
            return ()
        x, y, rows = self.xy
        nodes = probe.network.nodes
        src_p, src_n = Source(self.display, self.row_kind), Source(probe.files["nodes"])
        thin = pd.DataFrame({"x": x, "y": y, ROW: rows})
        with gis.layer_field_names(self.attrs):
            if self.crs == "EPSG:4326":
                checks.check_axis_order(thin, nodes, src_n)
                from optimizer import network as netmod

                thin["x_m"], thin["y_m"] = netmod.to_local_metres(x, y, *self.origin)
            else:
                checks.check_local_metres(thin, nodes, src_p)
                thin["x_m"], thin["y_m"] = x, y
            thin["parcel_id"] = pd.Series(np.full(len(thin), "", dtype=object))
            try:
                checks.check_far(thin, src_p, nodes, src_n, nodes_far=False)
            except ScenarioError as exc:  # name the parcel: read its record, then the same check again
                if exc.file != src_p.display or exc.row is None or not (rows == exc.row).any():
                    raise
                pos = int(np.flatnonzero(rows == exc.row)[0])
                raw, _ = self.file.read(pos, pos + 1, self.marks)
                thin.loc[pos, "parcel_id"] = _ids(raw).iloc[0]
                checks.check_far(thin, src_p, nodes, src_n, nodes_far=False)
                raise
            return tuple(checks.check_far(thin, src_p, nodes, src_n, parcels_far=False))


class _ChunkPart:
    """load_scenario's `part` for one chunk: the parcel records [start, stop) and the pair rows of their parcels."""

    def __init__(self, scan: ParcelScan, start: int, stop: int):
        self.scan, self.start, self.stop = scan, start, stop
        self.ids: set[str] = set()

    @property
    def whole(self) -> ParcelScan:
        return self.scan

    def read(self, role: str, path: Path, display: str, cfg: dict, network_crs: str | None):
        if role == "parcels":
            _refuse_neighbours(cfg=cfg)
            pf = _ParcelFile(path, display, cfg["data"]["parcels"], network_crs)
            size = _size(path)
            if size is not None and self.scan.size is not None and size != self.scan.size:
                raise ScenarioError(CHANGED, file=display)
            raw, geometry = pf.read(self.start, self.stop, self.scan.blocks)
            self.ids = set(_ids(raw))
            return raw, geometry
        if role == "pairs" and not _is_geojson(path):
            keep = [_rows_of(frame, self.ids) for _, frame in _CsvFile(path, display).blocks()]
            out = pd.concat(keep, ignore_index=True)
            out.attrs.update(display=display, row_kind="row")
            return out, None
        return None


def _typed_like_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """A chunk's empty pair table with the column types of the whole file's: validate_frame fills a column the file
    does not have with its default, whose type (float for NaN, bool) an empty column does not get."""
    out = pairs.copy()
    for col in schema.PAIR_COLUMNS:
        want = pd.Series([col.default]).dtype
        if col.name in out.columns and out[col.name].dtype == np.dtype(object) and want != np.dtype(object):
            out[col.name] = out[col.name].astype(want)
    return out


def _refuse_neighbours(sc: Scenario | None = None, cfg: dict | None = None) -> None:
    """A scenario with a neighbour graph (before the files are read: [neighbours] in scenario.toml) is refused."""
    if (sc is not None and sc.neighbours is not None) or (cfg is not None and any(
            v is not None for v in (cfg.get("neighbours") or {}).values())):
        raise ScenarioError("a scenario with neighbour rules (adjacency, synergy, separation or cluster rules) cannot "
                            "be loaded in parcel chunks: its rules couple parcels of different chunks", file=TOML,
                            field="neighbours")


# --- the parcel file ------------------------------------------------------------------------------------------
class _ParcelFile:
    """The parcel file as load_scenario reads it (a CSV, a GeoJSON file, or a layer read by gis.read_parcels), by
    blocks (the scan) or by record range (a chunk). Frames come as the loader's reader gives them (with attrs)."""

    def __init__(self, path: Path, display: str, spec, network_crs: str | None):
        self.path, self.display, self.spec, self.network_crs = path, display, spec, network_crs
        self.layer = gis.is_layer(spec)
        suffix = path.suffix.lower()
        self.kind = "gis" if suffix in gis.GIS_FORMATS else "geojson" if _is_geojson(path) else "csv"
        self.csv = _CsvFile(path, display) if self.kind == "csv" else None

    def blocks(self, bounds: dict) -> Iterator[tuple[tuple | None, pd.DataFrame, tuple | None]]:
        """(CSV block start or None, records, geometries) for consecutive blocks of the whole file."""
        if self.kind == "csv":
            for mark, frame in self.csv.blocks():
                yield (mark, *self._csv(frame, bounds))
        elif self.kind == "geojson":
            yield (None, *self._geojson(None, bounds))
        else:
            start = 0
            while True:
                raw, geometry = self._layer((start, start + BATCH_RECORDS), bounds)
                yield None, raw, geometry
                if len(raw) < BATCH_RECORDS:
                    return
                start += len(raw)

    def read(self, start: int, stop: int, marks) -> tuple[pd.DataFrame, tuple | None]:
        """Records [start, stop) (`marks`: the scan's CSV block starts)."""
        if self.kind == "csv":
            return self._csv(self.csv.read(start, stop, marks), {})
        if self.kind == "geojson":
            return self._geojson((start, stop), {})
        return self._layer((start, stop), {})

    def _layer(self, records, bounds, csv_rows=None):
        return gis.read_parcels(self.path, self.display, self.spec, self.network_crs, records=records,
                                csv_rows=csv_rows, bounds=bounds)

    def _csv(self, frame: pd.DataFrame, bounds: dict):
        if self.layer:
            return self._layer(None, bounds, csv_rows=frame)
        frame.attrs.update(display=self.display, row_kind="row")
        return frame, None

    def _geojson(self, records, bounds: dict):
        if self.layer:
            return self._layer(records, bounds)
        raw, geoms = read_geojson_raw(self.path, self.display)
        if records is not None:
            raw, geoms = raw.iloc[slice(*records)].reset_index(drop=True), geoms[slice(*records)]
        raw.attrs.update(display=self.display, row_kind="feature")
        return raw, tuple(geoms)


# --- CSV in blocks --------------------------------------------------------------------------------------------
class _CsvFile:
    """A CSV file read in blocks of about BLOCK_BYTES, each cut at a record boundary and parsed with the header by
    readers.parse_csv: text cells and `_row` as read_csv_raw gives them for the whole file."""

    def __init__(self, path: Path, display: str):
        self.path, self.display = path, display
        with self._open() as f:
            self.header, self.header_records = self._find_header(f)
        self.header_lines = self.header.count(b"\n")
        self.first = (len(self.header), self.header_records, self.header_lines, 0)

    def _open(self):
        try:
            return open(self.path, "rb")  # noqa: SIM115 - closed by the callers' with
        except (OSError, ValueError) as exc:
            raise ScenarioError(os_reason(exc), file=self.display) from None

    def _find_header(self, f) -> tuple[bytes, int]:
        """The bytes up to the end of the header (the first record that is not blank) and the records in them."""
        buf, size = b"", BLOCK_BYTES
        while True:
            data = f.read(size)
            eof = len(data) < size
            buf += data
            ends = _record_ends(buf, eof, self.display)
            body = buf[: int(ends[-1])] if len(ends) else b""
            text = decode_text(body, self.display)
            cells = _cells_per_record(_no_bom(body), text) if text.strip() else np.zeros(0, dtype=int)
            if (cells > 0).any():
                at = int(np.argmax(cells > 0))
                return buf[: int(ends[at])], at + 1
            if eof:
                parse_csv(buf, decode_text(buf, self.display), self.display)  # the loader's error
                raise ScenarioError("the file is empty (a CSV file needs a header row)", file=self.display)
            size *= 2

    def blocks(self, mark: tuple[int, int, int, int] | None = None
               ) -> Iterator[tuple[tuple[int, int, int, int], pd.DataFrame]]:
        """(block start, rows) from `mark` (byte offset, records, lines, data rows before it; default: the first
        block) to the end of the file."""
        offset, records, lines, data = mark or self.first
        with self._open() as f:
            if offset:
                f.seek(offset - 1)
                if f.read(1) not in (b"\n", b"\r"):  # the scan's block starts at a record boundary
                    raise ScenarioError(CHANGED, file=self.display)
            f.seek(offset)
            carry, size = b"", BLOCK_BYTES
            while True:
                chunk = f.read(size)
                eof = len(chunk) < size
                buf = carry + chunk
                ends = _record_ends(buf, eof, self.display)
                if not eof and not len(ends):  # a record longer than a block
                    carry, size = buf, size * 2
                    continue
                cut = int(ends[-1]) if len(ends) else len(buf)
                block = buf[:cut]
                frame = self._parse(block, records, lines)
                yield (offset, records, lines, data), frame
                offset, records, lines, data = offset + cut, records + len(ends), lines + block.count(b"\n"), \
                    data + len(frame)
                if eof:
                    return
                carry, size = buf[cut:], BLOCK_BYTES

    def read(self, start: int, stop: int, marks) -> pd.DataFrame:
        """Data rows [start, stop), read from the block of `marks` that holds row `start`."""
        at = bisect.bisect_right([m[3] for m in marks], start) - 1
        parts = []
        for m, frame in self.blocks(marks[at] if marks and at >= 0 else None):
            lo, hi = start - m[3], stop - m[3]
            if hi > 0 and lo < len(frame):
                parts.append(frame.iloc[max(lo, 0):hi])
            if m[3] + len(frame) >= stop:
                break
        return pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0]

    def _parse(self, block: bytes, records: int, lines: int) -> pd.DataFrame:
        raw = self.header + block
        text = decode_text(raw, self.display, line_offset=lines - self.header_lines)
        return parse_csv(raw, text, self.display, row_offset=records - self.header_records)


def _record_ends(buf: bytes, eof: bool, display: str) -> np.ndarray:
    """Offsets just after each record of `buf` (which starts at a record boundary), records as the loader's CSV
    reader counts them (readers._cells_per_record): lines when nothing is quoted, else the csv module's records.
    Unless `eof`, a last record that may be cut off is left out."""
    if b'"' not in buf and buf.count(b"\r") == buf.count(b"\r\n") or b"\0" in buf:
        ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == ord("\n")) + 1
        if eof and buf and not buf.endswith(b"\n"):
            ends = np.append(ends, len(buf))
        return ends
    text = buf.decode("latin-1")  # one character per byte, so offsets are byte offsets; CSV syntax is ASCII
    at = [0]

    def lines():
        for line in io.StringIO(text, newline=""):
            at[0] += len(line)
            yield line

    try:
        ends = np.array([at[0] for _ in csv.reader(lines(), skipinitialspace=True)], dtype=np.int64)
    except csv.Error as exc:  # as parse_csv reports it
        raise ScenarioError(f"cannot read as CSV ({exc})", file=display) from None
    return ends if eof else ends[:-1]


def _no_bom(raw: bytes) -> bytes:
    return raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw


# --- helpers --------------------------------------------------------------------------------------------------
def _prep(df: pd.DataFrame) -> pd.DataFrame:
    """Cells as build_scenario's prep gives them: text (blank for missing), numeric and bool columns kept."""
    out = df.copy()
    for c in df.columns:
        if c != ROW and not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            out[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    out.attrs = dict(df.attrs)
    return out.rename(columns=str)


def _ids(raw: pd.DataFrame) -> pd.Series:
    """The parcel ids of raw rows as the loader validates them (text, stripped)."""
    if "parcel_id" not in raw.columns:
        return pd.Series([], dtype=object)
    return _prep(raw[["parcel_id"]])["parcel_id"].astype(str).str.strip().astype(object).reset_index(drop=True)


def _rows_of(pairs: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """The raw pair rows that name one of the parcels `ids` (none without a parcel_id column: the loader's
    missing-column error follows)."""
    if "parcel_id" not in pairs.columns:
        return pairs.iloc[:0]
    return pairs[_ids(pairs).isin(ids).to_numpy()]


def _hash(ids: pd.Series) -> np.ndarray:
    return pd.util.hash_array(ids.to_numpy(dtype=object))


def _source(raw: pd.DataFrame, display: str) -> Source:
    return Source(raw.attrs.get("display", display), raw.attrs.get("row_kind", "row"))


def _is_geojson(path: Path) -> bool:
    return path.suffix.lower() in (".geojson", ".json")


def _size(path: Path) -> int | None:
    try:
        return int(os.stat(path).st_size)
    except (OSError, ValueError):
        return None

