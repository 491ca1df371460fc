"""Chunked loading (optimizer.scenario.chunks): scan_parcels streams the parcel file once, load_chunk reads a range of
its records; a chunk equals restrict_parcels(load_scenario(folder), range(a, b)), its errors are load_scenario's
(file, whole-file row number, field), and what only the whole file shows (duplicate ids, pair rows naming no
parcel, rules naming a sub-area no parcel has, network checks over every parcel) is found by the scan."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, TINY

from optimizer.data import restrict_parcels
from optimizer.errors import ScenarioError
from optimizer.scenario import chunks
from optimizer.scenario.chunks import chunk_ranges, load_chunk, scan_parcels
from optimizer.scenario.load import load_scenario

QIANHAI = REPO / "scenarios" / "qianhai"
NET = REPO / "tests" / "corpus" / "base" / "net"  # GeoJSON parcels in lon/lat, a pair table and a network


def _error(f, *args) -> str:
    with pytest.raises(ScenarioError) as info:
        f(*args)
    return str(info.value)


def _copy(src: Path, tmp_path: Path, name: str = "s") -> Path:
    d = tmp_path / name
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("before", "after", "source", "phased", "intensive"))
    return d


def assert_same(chunk, ref) -> None:
    """The contract: the chunk is the whole scenario restricted to the chunk's parcels."""
    pd.testing.assert_frame_equal(chunk.parcels, ref.parcels, check_exact=True)  # _row, x_m, y_m included
    for name in ("pairs", "access"):
        a, b = getattr(chunk, name), getattr(ref, name)
        assert (a is None) == (b is None), name
        if b is not None:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (chunk.geometry is None) == (ref.geometry is None)
    if ref.geometry is not None:
        assert [g.wkb for g in chunk.geometry] == [g.wkb for g in ref.geometry]
    pd.testing.assert_frame_equal(chunk.industries, ref.industries, check_exact=True)
    pd.testing.assert_frame_equal(chunk.compatibility, ref.compatibility, check_exact=True)
    assert chunk.rules == ref.rules
    assert chunk.objective == ref.objective
    assert chunk.files == ref.files and chunk.parcel_crs == ref.parcel_crs


# --- ranges ---------------------------------------------------------------------------------------------------
def test_chunk_ranges_cover_the_file_in_equal_parts():
    assert chunk_ranges(10, 4) == [(0, 3), (3, 6), (6, 10)]
    assert chunk_ranges(10, 10) == [(0, 10)] and chunk_ranges(1, 5) == [(0, 1)] and chunk_ranges(0, 5) == []
    for n, m in [(3330, 1000), (200_001, 65_536), (7, 1), (5, 2)]:
        r = chunk_ranges(n, m)
        sizes = [b - a for a, b in r]
        assert r[0][0] == 0 and r[-1][1] == n and all(r[i][1] == r[i + 1][0] for i in range(len(r) - 1))
        assert max(sizes) <= m and max(sizes) - min(sizes) <= 1 and len(r) == -(-n // m)
    with pytest.raises(ValueError):
        chunk_ranges(10, 0)


# --- the contract ---------------------------------------------------------------------------------------------
def _geoparquet(tmp: Path, crs: str | None = None) -> Path:
    gpd = pytest.importorskip("geopandas")
    pytest.importorskip("pyarrow")
    d = tmp / f"qh_parquet_{crs or 'wgs84'}"
    d.mkdir()
    for f in ("industries.csv", "subareas.geojson", "districts.geojson"):
        shutil.copy(QIANHAI / f, d / f)
    shutil.copytree(QIANHAI / "network", d / "network")
    layer = gpd.read_file(QIANHAI / "parcels.geojson")
    if crs:
        layer = layer.to_crs(crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer.to_parquet(d / "parcels.parquet", row_group_size=1000)  # 4 row groups
    toml = (QIANHAI / "scenario.toml").read_text(encoding="utf-8")
    (d / "scenario.toml").write_text(toml.replace('parcels = "parcels.geojson"', 'parcels = "parcels.parquet"'),
                                     encoding="utf-8")
    return d


@pytest.fixture(scope="module", params=["tiny", "qianhai", "net", "geoparquet"])
def scenario(request, tmp_path_factory):
    """(folder, whole scenario, scan): CSV parcels; GeoJSON parcels with a network; GeoJSON with pairs and a
    network; a GeoParquet layer in row groups of 1,000, scanned 700 records at a time."""
    folder = {"tiny": TINY, "qianhai": QIANHAI, "net": NET}.get(request.param)
    if folder is None:
        folder = _geoparquet(tmp_path_factory.mktemp("gp"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunks, "BATCH_RECORDS", 700)
        mp.setattr(chunks, "BLOCK_BYTES", 64)  # CSV: a few records a block
        scan = scan_parcels(folder)
    return folder, load_scenario(folder), scan


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_chunk_is_the_whole_scenario_restricted_to_its_parcels(scenario, parts, monkeypatch):
    folder, whole, scan = scenario
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    assert scan.n_records == whole.n_parcels
    assert scan.subareas == tuple(sorted(set(whole.parcels["subarea"])))
    ranges = chunk_ranges(scan.n_records, -(-scan.n_records // parts))
    assert len(ranges) == parts
    for a, b in ranges:
        assert_same(load_chunk(folder, a, b, scan), restrict_parcels(whole, range(a, b)))


def test_a_chunk_in_the_middle_of_the_file(scenario, monkeypatch):
    folder, whole, scan = scenario
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    n = scan.n_records
    a, b = n // 3, n // 3 + max(1, n // 4)
    sc = load_chunk(folder, a, b, scan)
    assert_same(sc, restrict_parcels(whole, range(a, b)))
    assert list(sc.parcels["_row"]) == list(whole.parcels["_row"][a:b])
    assert pickle.loads(pickle.dumps(scan)) == scan  # what a worker is sent


def test_a_chunk_leaves_out_the_whole_file_warnings():
    scan = scan_parcels(QIANHAI)
    whole = load_scenario(QIANHAI)
    assert any("allowed for no industry" in w for w in whole.warnings)
    assert not load_chunk(QIANHAI, 100, 200, scan).warnings
    assert scan.origin == (float(np.mean(whole.parcels["x"])), float(np.mean(whole.parcels["y"])))


def test_projected_layer_one_parcel_chunks(tmp_path):
    """A layer in EPSG:4547 (metres): a one-parcel chunk spans less than 360 m, which would look like degrees to
    the whole-layer check; that check is the scan's, so the chunk loads."""
    folder = _geoparquet(tmp_path, "EPSG:4547")
    whole, scan = load_scenario(folder), scan_parcels(folder)
    for i in (0, 1234, scan.n_records - 1):
        assert_same(load_chunk(folder, i, i + 1, scan), restrict_parcels(whole, [i]))


CSV_VARIANTS = {
    "blank lines": lambda ls: "\n".join([ls[0], "", ls[1], "   ", ls[2], "", "", ls[3], *ls[4:]]) + "\n\n",
    "CRLF and BOM": lambda ls: "\ufeff" + "\r\n".join(ls) + "\r\n",
    "blank lines before the header": lambda ls: "\n\n" + "\n".join(ls),
    "quoted line breaks": lambda ls: "\n".join([ls[0] + ",name_zh", ls[1] + ',"a\nb"', "", ls[2] + ',"x, ""y"""',
                                                ls[3] + ",z", *(x + ',""' for x in ls[4:])]) + "\n",
    "CR line ends": lambda ls: "\r".join(ls) + "\r",
}


@pytest.mark.parametrize("variant", CSV_VARIANTS)
def test_csv_rows_as_the_whole_file_numbers_them(tmp_path, monkeypatch, variant):
    folder = _copy(TINY, tmp_path)
    lines = (TINY / "parcels.csv").read_text(encoding="utf-8").splitlines()
    (folder / "parcels.csv").write_bytes(CSV_VARIANTS[variant](lines).encode("utf-8"))
    whole = load_scenario(folder)
    for block in (1, 40):  # a record (or less) a block; a few records a block
        monkeypatch.setattr(chunks, "BLOCK_BYTES", block)
        scan = scan_parcels(folder)
        for a in range(5):
            for b in range(a + 1, 6):
                assert_same(load_chunk(folder, a, b, scan), restrict_parcels(whole, range(a, b)))


def test_csv_pair_table_read_in_blocks(tmp_path, monkeypatch):
    """CSV parcels and a CSV pair table, both read a few records at a time; one chunk has no pair rows."""
    folder = _copy(TINY, tmp_path)
    (folder / "pairs.csv").write_text("parcel_id,industry_id,value_multiplier,eligible\n"
                                      "P1,finance,1.2,true\n\nP3,factory,0.9,true\n P1 ,it,1.1,false\n"
                                      "P2,it,1.0,true\n", encoding="utf-8")
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text().replace('industries = "industries.csv"',
                                             'industries = "industries.csv"\npairs = "pairs.csv"'))
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 16)
    whole, scan = load_scenario(folder), scan_parcels(folder)
    for a in range(5):
        for b in range(a + 1, 6):
            assert_same(load_chunk(folder, a, b, scan), restrict_parcels(whole, range(a, b)))
    assert list(load_chunk(folder, 0, 1, scan).pairs["_row"]) == [2, 5]
    assert len(load_chunk(folder, 3, 5, scan).pairs) == 0


# --- errors ---------------------------------------------------------------------------------------------------
def test_bad_number_in_chunk_two_is_the_whole_load_error(tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    folder = _copy(TINY, tmp_path)
    scan = scan_parcels(folder)
    (c1, c2), p = chunk_ranges(scan.n_records, 3), folder / "parcels.csv"
    p.write_text(p.read_text().replace("P4,10000,M1", "P4,1O000,M1"))  # row 5, in chunk 2 (same file size)
    msg = _error(load_scenario, folder)
    assert msg == "parcels.csv, row 5, field 'area_m2': not a number (got '1O000')"
    assert _error(load_chunk, folder, *c2, scan) == msg
    assert _error(scan_parcels, folder) == msg
    assert load_chunk(folder, *c1, scan).n_parcels == 2


def test_bad_value_of_a_geojson_feature_in_a_chunk(tmp_path):
    folder = _copy(QIANHAI, tmp_path)
    scan = scan_parcels(folder)
    doc = json.loads((folder / "parcels.geojson").read_text(encoding="utf-8"))
    doc["features"][2500]["properties"]["far_max"] = -1
    (folder / "parcels.geojson").write_text(json.dumps(doc), encoding="utf-8")
    msg = _error(load_scenario, folder)
    assert msg.startswith("parcels.geojson, feature 2501, field 'far_max'")
    scan = dataclasses.replace(scan, size=None)  # the file changed size, its records did not move
    assert _error(load_chunk, folder, 2000, 3000, scan) == msg
    assert _error(scan_parcels, folder) == msg
    assert load_chunk(folder, 0, 2000, scan).n_parcels == 2000


def test_duplicate_id_in_two_chunks_is_found_by_the_scan(tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    folder = _copy(TINY, tmp_path)
    p = folder / "parcels.csv"
    p.write_text(p.read_text().replace("P4,", "P1,"))  # rows 2 and 5
    msg = _error(load_scenario, folder)
    assert msg == "parcels.csv, row 5, field 'parcel_id': duplicate id 'P1' (also at row 2)"
    assert _error(scan_parcels, folder) == msg
    # each chunk alone holds no duplicate: only the scan of the whole file can tell
    (a, b), (c, d) = chunk_ranges(5, 3)
    scan = chunks.ParcelScan(folder=str(folder), n_records=5, subareas=("core", "edge"), origin=None, warnings=(),
                             n_pairs=0, file="parcels.csv", row_kind="row", format="csv", blocks=(), size=None)
    assert load_chunk(folder, a, b, scan).n_parcels + load_chunk(folder, c, d, scan).n_parcels == 5


def test_duplicate_id_in_a_geoparquet_layer(tmp_path, monkeypatch):
    gpd = pytest.importorskip("geopandas")
    folder = _geoparquet(tmp_path)
    layer = gpd.read_parquet(folder / "parcels.parquet")
    layer.loc[3000, "parcel_id"] = layer.loc[10, "parcel_id"]
    layer.to_parquet(folder / "parcels.parquet", row_group_size=1000)
    monkeypatch.setattr(chunks, "BATCH_RECORDS", 700)
    msg = _error(load_scenario, folder)
    assert "feature 3001, field 'parcel_id': duplicate id" in msg and "(also at feature 11)" in msg
    assert _error(scan_parcels, folder) == msg


def test_hash_collision_is_not_a_duplicate(tmp_path, monkeypatch):
    """Two ids with the same 64-bit hash: the scan reads both records again and finds them different."""
    folder = _copy(TINY, tmp_path)
    real = chunks._hash
    monkeypatch.setattr(chunks, "_hash", lambda ids: real(ids.replace({"P4": "P2"})))
    scan = scan_parcels(folder)
    assert scan.n_records == 5


def test_sub_area_rules_are_checked_against_the_whole_file(tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    folder = _copy(TINY, tmp_path)
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text() + '\n[[subarea_mix]]\nsubarea = "edge"\nmin_floor_m2 = 10.0\n')
    scan = scan_parcels(folder)
    first = load_chunk(folder, 0, 2, scan)  # P1, P2: both in sub-area core
    assert set(first.parcels["subarea"]) == {"core"} and first.rules.subarea_mix[0].subarea == "edge"
    toml.write_text(toml.read_text() + '\n[[subarea_mix]]\nsubarea = "edgy"\nmin_floor_m2 = 10.0\n')
    msg = _error(load_scenario, folder)
    assert msg == ("scenario.toml, field 'subarea_mix[2].subarea': unknown sub-area 'edgy' (no parcel has it) "
                   "(did you mean 'edge'?)")
    assert _error(scan_parcels, folder) == msg
    assert _error(load_chunk, folder, 2, 5, scan) == msg


@pytest.mark.parametrize("row, words", [("N10,finance,1,0,true", "unknown parcel 'N10' (did you mean 'N1'?)"),
                                        ("N2,financ,1,0,true", "unknown industry 'financ'")])
def test_pair_rows_naming_what_the_files_lack(tmp_path, monkeypatch, row, words):
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 32)
    folder = _copy(NET, tmp_path)
    p = folder / "pairs.csv"
    p.write_text(p.read_text() + row + "\n")
    msg = _error(load_scenario, folder)
    assert msg.startswith("pairs.csv, row 5, field ") and words in msg
    assert _error(scan_parcels, folder) == msg


def test_parcel_far_from_the_network_and_nodes_far_from_every_parcel(tmp_path):
    folder = _copy(NET, tmp_path, "parcel")
    doc = json.loads((folder / "parcels.geojson").read_text(encoding="utf-8"))
    ring = doc["features"][3]["geometry"]["coordinates"][0]
    doc["features"][3]["geometry"]["coordinates"][0] = [[x + 1.5, y] for x, y in ring]
    (folder / "parcels.geojson").write_text(json.dumps(doc), encoding="utf-8")
    msg = _error(load_scenario, folder)
    assert "feature 4, field 'x': parcel 'N4' is" in msg and "1 parcel(s) are that far" in msg
    assert _error(scan_parcels, folder) == msg

    folder = _copy(NET, tmp_path, "node")
    nodes = folder / "network" / "nodes.csv"
    nodes.write_text(nodes.read_text().replace("ap,airport,Airport,113.", "ap,airport,Airport,111."))
    far = [w for w in load_scenario(folder).warnings if "node 'ap'" in w]
    scan = scan_parcels(folder)
    assert far and scan.warnings == tuple(far)
    assert not load_chunk(folder, 0, 2, scan).warnings


def test_changed_file_and_neighbour_rules_are_refused(tmp_path):
    folder = _copy(TINY, tmp_path)
    scan = scan_parcels(folder)
    with (folder / "parcels.csv").open("a") as f:
        f.write("P6,1000,B2,2,core,0,0,false\n")
    assert "changed after scan_parcels" in _error(load_chunk, folder, 0, 2, scan)
    with pytest.raises(ValueError):
        load_chunk(folder, 3, 3, scan)
    assert "cannot be loaded in parcel chunks" in _error(scan_parcels, QIANHAI / "phased")


# --- bounded memory -------------------------------------------------------------------------------------------
def test_scan_of_200000_parcels_reads_in_blocks(tmp_path, monkeypatch):
    folder = _copy(TINY, tmp_path)
    tiny = pd.read_csv(TINY / "parcels.csv", dtype=str)
    n = 200_000
    big = tiny.iloc[np.arange(n) % len(tiny)].reset_index(drop=True)
    big["parcel_id"] = [f"Q{i:07d}" for i in range(n)]
    big.to_csv(folder / "parcels.csv", index=False)
    block = 256 << 10
    monkeypatch.setattr(chunks, "BLOCK_BYTES", block)
    parsed: list[int] = []

    def spy(raw, text, display, row_offset=0):
        parsed.append(len(raw))
        return real(raw, text, display, row_offset)

    real = chunks.parse_csv
    monkeypatch.setattr(chunks, "parse_csv", spy)
    scan = scan_parcels(folder)
    assert scan.n_records == n and scan.subareas == ("core", "edge")
    size = (folder / "parcels.csv").stat().st_size
    assert len(scan.blocks) >= size // block and len(parsed) >= size // block  # ~29 blocks, never the whole file
    assert max(parsed) <= 2 * block

    parsed.clear()
    a, b = 120_000, 130_000
    sc = load_chunk(folder, a, b, scan)
    assert len(parsed) <= 3  # read from the block that holds record a, not from the start
    assert list(sc.parcels["parcel_id"]) == list(big["parcel_id"][a:b])
    assert list(sc.parcels["_row"]) == list(range(a + 2, b + 2))
