"""What a sweep writes: sweep.csv, tornado and line charts, the robustness table and map, the robust core
(GeoJSON, WGS84), percentiles in uncertainty mode and a small HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import Scenario
from optimizer.sweep.run import decode_assignments
from optimizer.sweep.spec import SweepSpec

SWEEP_OUTPUTS = ("sweep.csv", "runs", "tornado.png", "lines", "robustness.csv", "robustness.png",
                 "robust_core.geojson", "percentiles.csv", "report.html")


def solved(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["assignment"].astype(str).str.strip() != ""]


def robustness(sc: Scenario, df: pd.DataFrame) -> pd.DataFrame:
    """Per parcel: share of solved runs in which it is developed, its most frequent industry and the share of
    runs giving it each industry (prob_<industry_id>)."""
    ok = solved(df)
    A = decode_assignments(ok["assignment"], sc.n_parcels)
    n_runs = max(len(A), 1)
    kids = sc.industries["industry_id"].to_numpy()
    counts = np.stack([(A == k).sum(axis=0) for k in range(len(kids))], axis=1) if len(kids) else \
        np.zeros((sc.n_parcels, 0))
    out = pd.DataFrame({"parcel_id": sc.parcels["parcel_id"].to_numpy(),
                        "subarea": sc.parcels["subarea"].to_numpy(),
                        "share_developed": (A >= 0).sum(axis=0) / n_runs})
    top = counts.argmax(axis=1)
    has = counts.max(axis=1) > 0
    out["top_industry"] = np.where(has, kids[top], "")
    out["top_industry_share"] = counts.max(axis=1) / n_runs
    for j, k in enumerate(kids):
        out[f"prob_{k}"] = counts[:, j] / n_runs
    return out


def around_base(df: pd.DataFrame, p: str, one_at_a_time: bool) -> pd.DataFrame:
    """The runs that show parameter p's effect: all of them, or (one at a time) those with every other
    parameter at its base value (run 0 is the base run)."""
    if not one_at_a_time or not len(df):
        return df
    others = [c for c in df.columns if c.startswith("p:") and c != f"p:{p}"]
    base = df.iloc[0]
    keep = np.ones(len(df), dtype=bool)
    for c in others:
        keep &= (df[c].astype(float) == float(base[c])) | (df[c].isna() & pd.isna(base[c]))
    return df[keep]


def tornado_table(df: pd.DataFrame, params: list[str], one_at_a_time: bool = False) -> pd.DataFrame:
    """Each parameter's effect on output: mean output of the runs at its lowest value against its highest
    (sampled parameters: bottom against top quarter of the draws; one at a time: the others at base)."""
    rows = []
    for p in params:
        ok = around_base(df[df["output_yuan"].notna()], p, one_at_a_time)
        col = ok[f"p:{p}"].astype(float)
        if col.nunique() < 2:
            continue
        if col.nunique() > 6:
            lo_mask, hi_mask = col <= col.quantile(0.25), col >= col.quantile(0.75)
        else:
            lo_mask, hi_mask = col == col.min(), col == col.max()
        rows.append({"parameter": p, "low_value": col[lo_mask].mean(), "high_value": col[hi_mask].mean(),
                     "output_at_low": ok.loc[lo_mask, "output_yuan"].mean(),
                     "output_at_high": ok.loc[hi_mask, "output_yuan"].mean()})
    t = pd.DataFrame(rows, columns=["parameter", "low_value", "high_value", "output_at_low", "output_at_high"])
    t["swing"] = (t["output_at_high"] - t["output_at_low"]).abs()
    return t.sort_values("swing", ascending=True).reset_index(drop=True)


def percentiles(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["output_yuan"].notna()]
    q = [5, 50, 95]
    return pd.DataFrame({"kpi": ["output_yuan", "jobs"],
                         **{f"p{p}": [np.percentile(ok[c], p) if len(ok) else np.nan for c in ("output_yuan", "jobs")]
                            for p in q}})


def core_geojson(sc: Scenario, rob: pd.DataFrame, share: float) -> dict:
    """Parcels developed in at least `share` of runs, as GeoJSON in WGS84 lon/lat. Scenarios in local metres
    have no WGS84 position: their features carry geometry null."""
    from shapely.geometry import mapping

    from optimizer.report.geojson import coordinate_system

    lonlat = coordinate_system(sc) == "lonlat"
    x, y = sc.parcels["x"].to_numpy(float), sc.parcels["y"].to_numpy(float)
    feats = []
    for i in np.flatnonzero(rob["share_developed"].to_numpy() >= share - 1e-12):
        g = sc.geometry[i] if sc.geometry is not None else None
        geom = None
        if lonlat and g is not None and not g.is_empty:
            geom = mapping(g)
        elif lonlat and np.isfinite(x[i]) and np.isfinite(y[i]):
            geom = {"type": "Point", "coordinates": [float(x[i]), float(y[i])]}
        r = rob.iloc[i]
        feats.append({"type": "Feature", "geometry": json.loads(json.dumps(geom)) if geom else None,
                      "properties": {"parcel_id": str(r["parcel_id"]), "share_developed": float(r["share_developed"]),
                                     "top_industry": str(r["top_industry"])}})
    return {"type": "FeatureCollection", "features": feats}


def _figures(sc: Scenario, df: pd.DataFrame, spec: SweepSpec, rob: pd.DataFrame, torn: pd.DataFrame,
             folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    oat = spec.mode == "one_at_a_time" and "samples" not in df.attrs
    if len(torn):
        fig, ax = plt.subplots(figsize=(8, 0.6 * len(torn) + 1.6))
        out = df["output_yuan"].astype(float)
        oat_base = oat and np.isfinite(out.iloc[0])
        base = (out.iloc[0] if oat_base else np.nanmean(out)) / 1e9
        for j, r in torn.iterrows():
            lo, hi = r["output_at_low"] / 1e9, r["output_at_high"] / 1e9
            ax.barh(j, lo - base, left=base, color="#4c72b0", label="low value" if j == 0 else None)
            ax.barh(j, hi - base, left=base, color="#dd8452", label="high value" if j == 0 else None)
        ax.set_yticks(range(len(torn)), torn["parameter"])
        ax.axvline(base, color="grey", lw=0.8)
        ax.set_xlabel("output, bn yuan a year")
        ax.set_title("Output at the low and high end of each parameter's range", fontsize=10)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "tornado.png", dpi=110)
        plt.close(fig)
        made.append("tornado.png")
    grid = [p for p in spec.grid if f"p:{p.path}" in df.columns and df[f"p:{p.path}"].nunique() > 1]
    if grid:
        (folder / "lines").mkdir(exist_ok=True)
        for p in grid:
            g = around_base(df[df["output_yuan"].notna()], p.path, oat).groupby(f"p:{p.path}")["output_yuan"].agg(["mean", "min", "max"])
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(g.index, g["mean"] / 1e9, marker="o", label="mean over the other parameters")
            ax.fill_between(g.index, g["min"] / 1e9, g["max"] / 1e9, alpha=0.2, label="range")
            ax.set_xlabel(p.path)
            ax.set_ylabel("output, bn yuan a year")
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(folder / "lines" / f"{p.path.replace('.', '_')}.png", dpi=110)
            plt.close(fig)
        made.append("lines")
    if sc.n_parcels and (sc.geometry is not None or np.isfinite(sc.parcels["x"].to_numpy(float)).any()):
        from optimizer.report.maps import MapLayers

        layers = MapLayers(sc)
        w, h = layers.map_size_in(8, 7)
        fig, ax = plt.subplots(figsize=(w + 1.2, h + 0.6))
        layers.setup_axes(ax)
        layers.draw_basemap(ax, labels=False)
        cmap = plt.get_cmap("viridis")
        colors = cmap(rob["share_developed"].to_numpy(float))
        layers.draw_parcels(ax, colors, edge="#555555", lw=0.2)
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
        fig.colorbar(sm, ax=ax, shrink=0.7, label="share of runs in which the parcel is developed")
        ax.set_title(f"{sc.name}: robustness over {len(solved(df))} runs")
        fig.savefig(folder / "robustness.png", dpi=110)
        plt.close(fig)
        made.append("robustness.png")
    return made


def write_outputs(sc: Scenario, df: pd.DataFrame, spec: SweepSpec, folder: Path, samples: int | None,
                  figures: bool = True) -> None:
    """Every sweep output into `folder` (the staging folder of optimizer.report.write.output_folder)."""
    df.drop(columns=["assignment"]).to_csv(folder / "sweep.csv", index=False, float_format="%.10g")
    rob = robustness(sc, df)
    rob.to_csv(folder / "robustness.csv", index=False, float_format="%.6g")
    core = core_geojson(sc, rob, spec.core_share)
    (folder / "robust_core.geojson").write_text(json.dumps(core), encoding="utf-8")
    params = [c[2:] for c in df.columns if c.startswith("p:")]
    torn = tornado_table(df, params, spec.mode == "one_at_a_time" and samples is None)
    pct = percentiles(df) if samples is not None else None
    if pct is not None:
        pct.to_csv(folder / "percentiles.csv", index=False, float_format="%.6g")
    if samples is not None:
        df.attrs["samples"] = samples
    made = _figures(sc, df, spec, rob, torn, folder) if figures else []
    counts = df["status"].value_counts().to_dict()
    parts = [f"<h1>Sweep of {html.escape(sc.name)}</h1>",
             f"<p>{len(df)} runs ({'uncertainty: ' + str(samples) + ' samples' if samples else spec.mode}): "
             + ", ".join(f"{html.escape(str(k))} {v}" for k, v in counts.items())
             + f". Robust core: {len(core['features'])} parcels developed in at least "
               f"{spec.core_share:.0%} of runs (robust_core.geojson).</p>"]
    if pct is not None:
        parts += ["<h2>Percentiles</h2>", pct.to_html(index=False, float_format=lambda v: f"{v:,.4g}")]
    if "tornado.png" in made:
        parts += ["<h2>Effect of each parameter</h2>", '<img src="tornado.png" alt="tornado chart">',
                  torn.to_html(index=False, float_format=lambda v: f"{v:,.4g}")]
    if "lines" in made:
        parts += ["<h2>Output along each grid parameter</h2>"] + [
            f'<img src="lines/{html.escape(p.name)}" alt="{html.escape(p.stem)}">'
            for p in sorted((folder / "lines").glob("*.png"))]
    if "robustness.png" in made:
        parts += ["<h2>Robustness</h2>", '<img src="robustness.png" alt="robustness map">']
    parts += ["<h2>Runs</h2>", df.drop(columns=["assignment", "key"]).to_html(
        index=False, float_format=lambda v: f"{v:,.6g}", na_rep="-")]
    (folder / "report.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>sweep</title><style>body{font-family:sans-serif;"
        "max-width:1100px;margin:auto}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px}img{max-width:100%}</style></head><body>" + "\n".join(parts) + "</body></html>",
        encoding="utf-8")
