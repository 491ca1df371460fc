"""`landuse compare` and optimizer.compare: rows per scenario, sub-area rows, the figure, the printed table."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.compare import compare_scenarios, format_table, write_comparison
from optimizer.pipeline import solve_scenario

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "scenarios" / "tiny"
QIANHAI = REPO / "scenarios" / "qianhai"


def _variant(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the tiny scenario with its parcel table edited by `edit(df) -> df` and a new name."""
    d = tmp_path / name
    shutil.copytree(TINY, d)
    par = pd.read_csv(d / "parcels.csv", dtype=str)
    edit(par).to_csv(d / "parcels.csv", index=False)
    toml = (d / "scenario.toml").read_text(encoding="utf-8").replace('name = "tiny"', f'name = "{name}"')
    (d / "scenario.toml").write_text(toml, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def denser(tmp_path_factory) -> Path:
    """tiny with P2's FAR cap raised from 2 to 4 (more finance/IT floor possible)."""

    def edit(df):
        df.loc[df["parcel_id"] == "P2", "far_max"] = "4"
        return df

    return _variant(tmp_path_factory.mktemp("variants"), "tiny_denser", edit)


@pytest.fixture(scope="module")
def comparison(denser):
    return compare_scenarios([TINY, denser], solver="highs", mip_gap=0.0)


def test_one_row_per_scenario_with_the_runs_figures(comparison, denser):
    t = comparison.table
    assert list(t["scenario"]) == ["tiny", "tiny_denser"]
    for lab, folder in zip(t["scenario"], [TINY, denser], strict=True):
        r = solve_scenario(folder, solver="highs", mip_gap=0.0)
        row = t[t["scenario"] == lab].iloc[0]
        k = r.kpis
        assert row["status"] == "optimal"
        assert row["output_yuan"] == pytest.approx(k["total_output_yuan"])
        assert row["output_per_km2_all_land_yuan"] == pytest.approx(k["output_per_km2_all_land_yuan"])
        assert row["output_per_km2_developed_yuan"] == pytest.approx(k["output_per_km2_developed_yuan"])
        assert row["jobs"] == pytest.approx(k["jobs"])
        assert row["floor_area_m2"] == pytest.approx(k["floor_area_m2"])
        assert row["land_all_m2"] == pytest.approx(75000.0)
        assert row["land_developed_m2"] == pytest.approx(k["land_developed_m2"])
        assert row["gap"] == pytest.approx(0.0, abs=1e-9) and row["solve_s"] >= 0
        shares = row[[c for c in t.columns if c.startswith("land_share_")]]
        assert shares.sum() == pytest.approx(1.0)
        assert set(shares.index) == {"land_share_finance", "land_share_it", "land_share_factory"}
    assert t["output_yuan"].iloc[1] > t["output_yuan"].iloc[0]  # raising a FAR cap cannot lower the optimum


def test_subarea_rows(comparison):
    s = comparison.by_subarea
    assert set(zip(s["scenario"], s["subarea"], strict=True)) == {
        (a, b) for a in ("tiny", "tiny_denser") for b in ("core", "edge")
    }
    for lab in ("tiny", "tiny_denser"):
        total = comparison.table.set_index("scenario").loc[lab, "output_yuan"]
        assert s[s["scenario"] == lab]["output_yuan"].sum() == pytest.approx(total)


def test_write_comparison_files(comparison, tmp_path):
    import matplotlib.image as mpimg

    out = write_comparison(comparison, tmp_path / "cmp")
    assert sorted(p.name for p in out.iterdir()) == [
        ".landuse-output.json",  # the marker that makes the folder safe to replace later
        "comparison.csv",
        "comparison.png",
        "comparison_by_subarea.csv",
    ]
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv["scenario"]) == ["tiny", "tiny_denser"]
    assert csv["output_yuan"].to_numpy() == pytest.approx(comparison.table["output_yuan"].to_numpy())
    assert len(pd.read_csv(out / "comparison_by_subarea.csv")) == 4
    png = out / "comparison.png"
    assert png.stat().st_size > 30 * 1024
    img = mpimg.imread(png)
    assert img.shape[1] > 2 * img.shape[0] > 600  # four panels side by side


def test_printed_table_side_by_side(comparison):
    text = format_table(comparison)
    head = text.splitlines()[0]
    assert "tiny" in head and "tiny_denser" in head and "change" in head
    out0, out1 = comparison.table["output_yuan"]
    assert f"{out0 / 1e9:,.2f}" in text and f"{out1 / 1e9:,.2f}" in text
    assert "land Finance" in text and "land Next-generation IT" in text  # industries by name
    assert "per km² of zone" not in text  # tiny states no zone area: no row of blanks


def test_what_changed_lists_the_subareas_output(comparison):
    from optimizer.compare import what_changed

    lines = what_changed(comparison)
    subs = comparison.by_subarea.pivot(index="subarea", columns="scenario", values="output_yuan")
    moved = subs[(subs["tiny_denser"] - subs["tiny"]).abs() > 1e6]
    assert len(moved) > 0 and len(lines) == len(moved)  # same rules: only the sub-areas' output changed
    for k, r in moved.iterrows():
        assert f"{k}: {r['tiny'] / 1e9:,.1f} -> {r['tiny_denser'] / 1e9:,.1f} bn yuan a year" in lines


def test_cli_compare(denser, tmp_path, capsys):
    from optimizer.cli import main

    code = main(
        [
            "compare",
            str(TINY),
            str(denser),
            "--out",
            str(tmp_path / "c"),
            "--solver",
            "highs",
            "--mip-gap",
            "0",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "tiny_denser" in printed and "wrote" in printed
    assert (tmp_path / "c" / "comparison.png").is_file()


def test_same_names_get_distinct_labels(tmp_path):
    comp = compare_scenarios([TINY, TINY], solver="highs")
    assert comp.table["scenario"].nunique() == 2


def test_infeasible_scenario_gets_a_row_and_exit_code(tmp_path, capsys):
    from optimizer.cli import main

    bad = _variant(tmp_path, "tiny_bad", lambda df: df.assign(far_max="0.01"))  # P4 must develop: impossible
    code = main(["compare", str(TINY), str(bad), "--out", str(tmp_path / "c")])
    assert code == 5
    csv = pd.read_csv(tmp_path / "c" / "comparison.csv")
    assert list(csv["status"]) == ["optimal", "infeasible"]
    assert np.isnan(csv["output_yuan"].iloc[1]) and isinstance(csv["message"].iloc[1], str)
    assert "infeasible" in capsys.readouterr().out


def test_bad_input_fails_without_partial_output(tmp_path):
    from optimizer.errors import ScenarioError

    with pytest.raises(ScenarioError):
        compare_scenarios([TINY, tmp_path / "missing"])


@pytest.mark.slow
@pytest.mark.skipif(
    not (QIANHAI / "before" / "scenario.toml").is_file(), reason="qianhai scenario not generated"
)
def test_qianhai_before_after(tmp_path):
    comp = compare_scenarios([QIANHAI / "before", QIANHAI / "after"], time_limit_s=20)
    out = write_comparison(comp, tmp_path / "qh")
    t = pd.read_csv(out / "comparison.csv")
    assert len(t) == 2 and set(t["status"]) <= {"optimal", "feasible"}
    assert t["land_all_m2"].iloc[1] > 5 * t["land_all_m2"].iloc[0]  # the 2021 expansion: ~15 km² -> ~120 km²
    assert (out / "comparison.png").stat().st_size > 30 * 1024
    subs = pd.read_csv(out / "comparison_by_subarea.csv")
    assert subs.groupby("scenario")["subarea"].nunique().min() >= 4
    # the headline compares like with like: output per km² of each zone (14.92 and 120.56 km²)
    assert list(t["zone_area_km2"]) == [14.92, 120.56]
    assert t["output_per_km2_zone_yuan"].to_numpy() == pytest.approx(t["output_yuan"] / t["zone_area_km2"])
    text = format_table(comp)
    assert text.index("per km² of zone") < text.index("per km² parcel land")
    why = [line for line in text.splitlines() if line.strip().startswith("Why:")]
    assert len(why) == 1 and "new sub-areas" in why[0]
    assert "Qianwan" in text and "qianwan" not in text  # sub-areas by name
