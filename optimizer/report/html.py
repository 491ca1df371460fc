"""report.html: one self-contained page (figures embedded as base64 data URIs, inline CSS, no scripts).

Runs last among the writers: it embeds whichever PNGs the earlier writers put into the same folder.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from optimizer.data import gain_words, objective_unit
from optimizer.pipeline import RunResult
from optimizer.report.answers import clock_cut

FIGURES = (
    ("map.png", "Plan map: parcels coloured by assigned industry, sub-areas, transport network."),
    ("access.png", "Travel time from each parcel to the nearest node of key transport types."),
    ("floor_by_industry.png", "Floor area by industry, with demand floors and caps."),
    ("output_by_industry.png", "Value added by industry."),
    ("by_subarea.png", "Floor area by sub-area and industry, and output per km² of sub-area land."),
    ("carriers.png", "Metric totals (innovation carriers) against the scenario's minimums."),
)

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:#222;
margin:0;background:#f6f6f3;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:2px solid #e3e1da;padding-bottom:4px}
p.lead{color:#555;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{flex:1 1 170px;border:1px solid #e3e1da;border-radius:6px;padding:10px 12px;background:#fbfbf9}
.card .v{font-size:21px;font-weight:600}.card .l{font-size:12px;color:#666}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-weight:600;font-size:13px;color:#fff}
section.exec{background:#f3f7fb;border:1px solid #d6e2ee;border-radius:6px;padding:4px 18px 10px;margin:14px 0}
.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#ef6c00}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{padding:4px 8px;border-bottom:1px solid #ebe9e3;text-align:right}
th{background:#f1efe9;font-weight:600}td.t,th.t{text-align:left}
tr.total td{font-weight:600;border-top:2px solid #ccc}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
figure{margin:18px 0}figure img{max-width:100%;height:auto;border:1px solid #e3e1da}
iframe.plan-map{width:100%;height:640px;border:1px solid #e3e1da}
figcaption{font-size:12.5px;color:#666}
ul.tight li{margin:3px 0}.muted{color:#777;font-size:12.5px}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:3px 16px;margin:0}dl.kv dt{color:#666}dl.kv dd{margin:0}
h3{font-size:15px;margin:16px 0 4px}
@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
h2{break-after:avoid}figure,table,section.exec,.card{break-inside:avoid}
figure img{border:none;max-height:24cm}a{color:inherit;text-decoration:none}
section.exec{border-color:#999}.card{border-color:#999}iframe.plan-map{display:none}@page{margin:1.5cm}}
"""


_FILE_NOTES = {
    "plan.geojson": " (WGS84 lon/lat; opens in any GIS)",
    "plan_local.geojson": (" (the scenario's local x/y in metres with no anchor on the Earth, so there is no "
                           "plan.geojson: a GIS must be told the coordinate system)"),
}


def _e(v) -> str:
    return html.escape("" if v is None else str(v))


def _ok(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and bool(np.isfinite(v))


def _bn(v) -> str:
    return f"{v / 1e9:,.2f} bn" if _ok(v) else "–"


def _km2(v) -> str:
    return f"{v / 1e6:,.3f}" if _ok(v) else "–"


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="v">{value}</div><div class="l">{_e(label)}</div></div>'


def render_html(result: RunResult, folder: Path | None = None) -> str:
    """The report page as a string; embeds the PNGs found in `folder` (if given)."""
    sc = result.scenario
    s = result.summary()
    k = result.kpis or {}
    parts: list[str] = []
    add = parts.append
    add(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width,initial-scale=1'><title>{_e(sc.name)}: land-use plan</title>"
        f"<style>{CSS}</style></head><body><main>"
    )
    add(f"<h1>{_e(sc.name)}: land-use plan</h1>")
    if sc.description:
        add(f"<p class='lead'>{_e(sc.description)}</p>")
    add(executive_summary(result, folder))

    # solve status and check
    status_cls = {"optimal": "ok", "feasible": "warn"}.get(result.status, "bad")
    add("<h2>Solve</h2><dl class='kv'>")
    add(
        f"<dt>status</dt><dd><span class='badge {status_cls}'>{_e(result.status)}</span> "
        f"<span class='muted'>{_e(result.message)}</span></dd>"
    )
    add(f"<dt>solver</dt><dd>{_e(result.solver)}</dd>")
    from optimizer.data import objective_words

    kind = sc.objective.kind
    add(f"<dt>objective</dt><dd>{_e(kind.replace('_', ' '))}: {_e(objective_words(sc, s['objective']))}</dd>")
    add(f"<dt>best bound</dt><dd>{_e(objective_words(sc, s['bound']))}</dd>")
    gap = s["gap"]
    from optimizer.report.maps import fmt_gap

    add(f"<dt>gap</dt><dd>{'–' if gap is None else fmt_gap(gap)}</dd>")
    times = s.get("timings_s") or {}
    tline = ", ".join(f"{_e(n.removesuffix('_s'))} {v:.2f} s" for n, v in times.items() if v is not None)
    add(f"<dt>time</dt><dd>{tline or '–'}</dd>")
    add(f"<dt>parcels, industries</dt><dd>{sc.n_parcels:,} parcels, {sc.n_industries} industries</dd>")
    add("</dl>")
    chk = s["check"]
    if result.check is not None:
        badge = (
            "<span class='badge ok'>passed</span>"
            if chk["passed"]
            else "<span class='badge bad'>FAILED</span>"
        )
        add(
            f"<h2>Independent check</h2><p>{badge} {chk.get('rules_checked', 0)} rule families re-derived from the "
            f"scenario data; objective recomputed from the plan: "
            f"{_e(objective_words(sc, chk.get('objective_recomputed')))}.</p>"
        )
        if chk["violations"]:
            add("<ul class='tight'>" + "".join(f"<li>{_e(v)}</li>" for v in chk["violations"]) + "</ul>")
        else:
            add("<p class='muted'>No violations.</p>")
    if result.conflicts:
        add(
            "<h2>Conflicting rules</h2><ul class='tight'>"
            + "".join(f"<li>{_e(c)}</li>" for c in result.conflicts)
            + "</ul>"
        )

    # KPIs
    if result.plan is not None and k:
        add("<h2>Key figures</h2><div class='cards'>")
        add(_card(f"{k['total_output_yuan'] / 1e9:,.2f} bn", "value added, yuan per year"))
        if k.get("baseline_output_yuan"):  # existing uses: the baseline keeps everything as it is
            acts = k.get("actions") or {}
            add(_card(f"{k['baseline_output_yuan'] / 1e9:,.2f} bn", "baseline (everything kept), yuan per year"))
            add(_card(f"{k['gain_over_baseline_yuan'] / 1e9:+,.2f} bn", "gain over the baseline, yuan per year"))
            add(_card(" / ".join(str(acts.get(a, 0)) for a in ("keep", "intensify", "convert", "new")),
                      "parcels kept / intensified / converted / new"))
        if "clusters_by_industry" in k:  # a neighbour graph: synergy and clusters of each industry
            add(_card(f"{k['synergy_yuan'] / 1e9:,.3f} bn", "synergy between neighbours, yuan per year"))
            groups = k["clusters_by_industry"]
            ind = sc.industries.set_index("industry_id")
            ruled = [kk for kk in groups if any(c in ind and np.isfinite(float(ind.at[kk, c]))
                                                for c in ("cluster_min_sites", "cluster_min_floor_m2"))]
            shown = ruled or sorted(groups, key=lambda kk: -groups[kk])[:3]  # the industries with a cluster rule
            add(_card(", ".join(f"{_e(kk)} {groups[kk]}" for kk in shown) or "none",
                      f"connected groups of sites{' (industries with a cluster rule)' if ruled else ''}; all "
                      "industries in summary.json"))
        if k.get("output_per_km2_zone_yuan") is not None:
            add(_card(f"{k['output_per_km2_zone_yuan'] / 1e9:,.2f} bn",
                      f"yuan per km² of the zone ({k['zone_area_km2']:,.2f} km²)"))
        add(_card(f"{k['output_per_km2_all_land_yuan'] / 1e9:,.2f} bn", "yuan per km² of parcel land"))
        add(_card(f"{k['output_per_km2_developed_yuan'] / 1e9:,.2f} bn", "yuan per km² of developed land"))
        add(_card(f"{k['jobs']:,.0f}", "jobs"))
        add(_card(f"{k['floor_area_m2'] / 1e6:,.2f} M m²", "floor area"))
        add(
            _card(
                f"{k['land_developed_m2'] / 1e6:,.2f} / {k['land_all_m2'] / 1e6:,.2f} km²",
                "developed / all parcel land",
            )
        )
        add(_card(f"{int(k['parcels_developed']):,} / {int(k['parcels_total']):,}", "parcels developed / all"))
        lim = k.get("budget_limit_yuan")
        add(
            _card(
                f"{k['budget_used_yuan'] / 1e9:,.2f} bn" + (f" / {lim / 1e9:,.1f} bn" if _ok(lim) else ""),
                "development cost, yuan" + (" (used / budget)" if _ok(lim) else ""),
            )
        )
        for m, v in (k.get("metrics") or {}).items():
            add(_card(f"{round(v):,}", f"{m} a year"))
        add("</div>")
        add(_industry_table(result))
        add(_subarea_table(result))
        add(_phase_section(result, folder))
        add(_holding_back(result))
        add(_parcels_explained(result))
    else:
        add(f"<h2>No plan</h2><p>{_e(result.message or 'the solver found no plan within its limits')}</p>")

    # figures
    if folder is not None and (Path(folder) / "plan.html").is_file():
        # embedded by reference (an iframe of the file beside it), not inlined: the map's data is a few MB
        add("<h2>Interactive map</h2><iframe class='plan-map' src='plan.html' title='Interactive map of the plan' "
            "loading='lazy'></iframe><p><a id='interactive-map' href='plan.html'>Open the interactive map on its own "
            "(plan.html)</a>: pan, zoom, click a parcel for its figures and why it got its use; works offline.</p>")
    if folder is not None:
        figs = [(n, c) for n, c in FIGURES if (Path(folder) / n).is_file()]
        if figs:
            add("<h2>Figures</h2>")
            for name, caption in figs:
                add(
                    f"<figure><img alt='{_e(name)}' src='{_img(Path(folder) / name)}'>"
                    f"<figcaption>{_e(caption)} <span class='muted'>({_e(name)})</span></figcaption></figure>"
                )

    # assumptions, inputs, files
    if sc.assumptions:
        add(assumptions_html(sc))
    if sc.files:
        add(
            "<h2>Inputs</h2><p class='muted'>"
            + ", ".join(f"{_e(r)}: {_e(f)}" for r, f in sc.files.items())
            + (f"; folder {_e(sc.folder)}" if sc.folder else "")
            + "</p>"
        )
    if folder is not None:
        others = sorted(
            p.name
            for p in Path(folder).iterdir()
            if p.is_file() and p.suffix in (".csv", ".json", ".geojson")
        )
        if others:
            add(
                "<h2>Files beside this report</h2><ul class='tight'>"
                + "".join(f"<li><a href='{_e(n)}'>{_e(n)}</a>{_FILE_NOTES.get(n, '')}</li>" for n in others)
                + "</ul>"
            )
    add("</main></body></html>\n")
    return "".join(parts)


ASSUMPTION_GROUPS = (  # (heading, keywords); the first group whose keyword occurs takes the line
    ("Estimates and assumptions", ("assumption", "assumed", "estimate", "approximate", "schematic", "calibrat",
                                   "made up", "could not confirm", "order of magnitude", "tuned", "not official",
                                   "generated")),
    ("Derived from public figures", ("derived", "divided", "computed", "converted", "pro-rata")),
    ("Public figures", ("facts.md", "confirmed", "public", "official", "published", "statistic")),
)
README_SECTIONS = {"Public figures": "What is real", "Derived from public figures": "What is estimated",
                   "Estimates and assumptions": "What is estimated"}


def assumption_group(text: str) -> str:
    """Which group an assumption line belongs to, by keywords in its text ("Other notes" when none)."""
    low = text.lower()
    return next((g for g, words in ASSUMPTION_GROUPS if any(w in low for w in words)), "Other notes")


def _missing_docs(sc, texts) -> set[str]:
    """Documents (name.md, name.pdf) the assumptions cite that are not in the scenario folder or the repo."""
    import re

    names = {m for t in texts for m in re.findall(r"[\w.-]+\.(?:md|pdf|docx)\b", t)}
    roots = [Path(sc.folder)] if sc.folder else []
    roots += [r.parent for r in roots] + [r.parent.parent for r in roots]
    return {n for n in names if not any((r / n).is_file() for r in roots)}


def assumptions_html(sc) -> str:
    """The scenario's assumptions grouped (public figure, derived, estimate, other), citations of documents
    not in the repository replaced by the scenario README's section."""
    import re

    readme = Path(sc.folder) / "README.md" if sc.folder else None
    heads = ""
    if readme is not None and readme.is_file():
        heads = readme.read_text(encoding="utf-8", errors="replace")
    missing = _missing_docs(sc, sc.assumptions)
    groups: dict[str, list[str]] = {}
    for a in sc.assumptions:
        g = assumption_group(a)
        text = a
        for doc in missing:
            section = README_SECTIONS.get(g, "")
            where = (f"README.md (“{section}”)" if section and f"## {section}" in heads else "README.md") if heads \
                else "a document not in this repository"
            text = re.sub(re.escape(doc) + r"(?: s\.\s?[\d.]*\d)?", where, text)
        groups.setdefault(g, []).append(text)
    order = [g for g, _ in ASSUMPTION_GROUPS][::-1] + ["Other notes"]
    out = ["<h2>Assumptions</h2>"]
    if missing and heads:
        out.append(f"<p class='muted'>{_e(', '.join(sorted(missing)))} (the authors' research notes) are not in "
                   f"this repository; the scenario's {_e(Path(sc.folder).name)}/README.md lists what is real and what is "
                   "estimated.</p>")
    for g in order:
        if groups.get(g):
            out.append(f"<h3>{_e(g)} ({len(groups[g])})</h3><ul class='tight'>"
                       + "".join(f"<li>{_e(t)}</li>" for t in groups[g]) + "</ul>")
    return "".join(out)


def _industry_table(result: RunResult) -> str:
    from optimizer.report.maps import industry_colors

    rows = sorted(result.kpis["by_industry"], key=lambda r: -r["output_yuan"])
    colors = industry_colors(result.scenario)
    out = [
        "<h2>By industry</h2><table><tr><th class='t'>industry</th><th>sites</th><th>land km²</th>"
        "<th>floor km²</th><th>floor share</th><th>output bn yuan/yr</th><th>output share</th><th>jobs</th></tr>"
    ]
    total = sum(r["output_yuan"] for r in rows) or 1.0
    for r in rows:
        out.append(
            f"<tr><td class='t'><span class='sw' style='background:{colors.get(r['industry_id'], '#ccc')}'>"
            f"</span>{_e(r['name'])}</td>"
            f"<td>{int(r['sites']):,}</td><td>{_km2(r['land_m2'])}</td><td>{_km2(r['floor_m2'])}</td>"
            f"<td>{r['floor_share']:.1%}</td><td>{r['output_yuan'] / 1e9:,.2f}</td>"
            f"<td>{r['output_yuan'] / total:.1%}</td><td>{r['jobs']:,.0f}</td></tr>"
        )
    k = result.kpis
    out.append(
        f"<tr class='total'><td class='t'>total</td><td>{int(k['parcels_developed']):,}</td>"
        f"<td>{_km2(k['land_developed_m2'])}</td><td>{_km2(k['floor_area_m2'])}</td><td></td>"
        f"<td>{k['total_output_yuan'] / 1e9:,.2f}</td><td></td><td>{k['jobs']:,.0f}</td></tr></table>"
    )
    return "".join(out)


def _phase_section(result: RunResult, folder: Path | None) -> str:
    """Phases: what each phase builds and spends, and what stands at its end beside its published figure."""
    rows = (result.kpis or {}).get("phases")
    if not rows:
        return ""
    head = ("<h2>Phases</h2><p>Each parcel is developed at most once, in one phase, and keeps its use after "
            "(phases.csv). Output is what stands at the phase's end: existing uses not yet redeveloped plus "
            "everything built by then.</p><table><tr><th>phase</th><th>years</th><th>parcels developed</th>"
            "<th>floor built, km²</th><th>spending / budget, bn yuan</th><th>output at its end, bn yuan/yr</th>"
            "<th>published figure</th></tr>")
    body = []
    for r in rows:
        budget = f" / {_bn(r['budget_yuan'])}" if _ok(r["budget_yuan"]) else ""
        ref = (f"{_bn(r['reference_output_yuan'])} (plan {r['output_vs_reference']:+.1%})"
               if _ok(r["reference_output_yuan"]) else "–")
        body.append(f"<tr><td>{_e(r['phase'])}</td><td>{r['start_year']}–{r['end_year']}</td>"
                    f"<td>{r['parcels_developed']:,}</td><td>{r['floor_built_m2'] / 1e6:,.2f}</td>"
                    f"<td>{_bn(r['spending_yuan'])}{budget}</td><td>{_bn(r['output_at_end_yuan'])}</td>"
                    f"<td>{ref}</td></tr>")
    fig = ""
    if folder is not None and (Path(folder) / "phases.png").is_file():
        fig = (f"<figure><img alt='phases.png' src='{_img(Path(folder) / 'phases.png')}'><figcaption>When each "
               "parcel is developed, the output standing at each phase's end and each phase's spending "
               "<span class='muted'>(phases.png)</span></figcaption></figure>")
    return head + "".join(body) + "</table>" + fig


def _subarea_table(result: RunResult) -> str:
    rows = sorted(result.kpis["by_subarea"], key=lambda r: -r["output_yuan"])
    names = display_names(result.scenario)
    out = [
        "<h2>By sub-area</h2><table><tr><th class='t'>sub-area</th><th>land km²</th><th>developed km²</th>"
        "<th>sites</th><th>floor km²</th><th>output bn yuan/yr</th><th>bn yuan per km²</th><th>jobs</th></tr>"
    ]
    for r in rows:
        out.append(
            f"<tr><td class='t'>{_e(names.get(r['subarea'], r['subarea']))}</td><td>{_km2(r['land_m2'])}</td>"
            f"<td>{_km2(r['developed_land_m2'])}</td><td>{int(r['sites'])}</td><td>{_km2(r['floor_m2'])}</td>"
            f"<td>{r['output_yuan'] / 1e9:,.2f}</td><td>{r['output_per_km2_yuan'] / 1e9:,.2f}</td>"
            f"<td>{r['jobs']:,.0f}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def display_names(sc) -> dict[str, str]:
    """Industry and sub-area ids → the names a reader knows (industries.csv `name`, the sub-area file's `name`)."""
    from optimizer.report.charts import _subarea_labels

    names = {str(k): str(v) for k, v in zip(sc.industries["industry_id"], sc.industries["name"], strict=True) if v}
    names.update({k: v for k, v in _subarea_labels(sc).items() if v})
    return names


def humanize(text: str, names: dict[str, str]) -> str:
    """A rule label with every industry and sub-area id replaced by its name."""
    import re

    if not names:
        return text
    ids = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(i) for i in ids) + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(1)], text)


def reason_words(reason: str, subareas: dict[str, str]) -> str:
    """A parcel's reason (explain.csv) for the report: it names industries already, and sub-areas by id after
    "sub-area ", which become their names. (Replacing every id, as `humanize` does for rule labels, would also
    replace an id inside an industry's name: "maritime" in "Emerging maritime industries ...".)"""
    import re

    return re.sub(r"(?<=sub-area )([^\s,;]+)", lambda m: subareas.get(m.group(1), m.group(1)), reason)


def _step_words(step: float, unit: str) -> str:
    """A relaxation step in words: 600 million yuan, 10,000 m² of floor, 1 site, 1 percentage point."""
    if unit == "yuan":
        return f"{_sentence_bn(step)} yuan"
    if unit == "m2":
        return f"{step:,.0f} m² of floor"
    words = {"sites": "site", "share": "percentage point", "minutes": "minute"}
    if unit in words:
        return f"{step:,.6g} {words[unit]}" + ("" if step == 1 else "s")
    return f"{step:,.6g} {unit}"


def _sentence_bn(v: float) -> str:
    return f"{v / 1e9:,.1f} billion" if abs(v) >= 1e9 else f"{v / 1e6:,.0f} million"


def executive_summary(result: RunResult, folder: Path | None = None) -> str:
    """A one-minute read: the answer, what holds it back, the trade-off, how firm the choice of parcels is."""
    sc, k = result.scenario, result.kpis
    if result.plan is None or not k:
        return ("<section class='exec'><h2>In one minute</h2><p>No plan: "
                f"{_e(result.message or 'the solver found none within its limits')}.</p></section>")
    names = display_names(sc)
    land_all, land_dev = k["land_all_m2"], k["land_developed_m2"]
    zone = k.get("output_per_km2_zone_yuan")
    per_used = k["output_per_km2_developed_yuan"]
    paras = [
        f"The plan develops <b>{int(k['parcels_developed']):,}</b> of {int(k['parcels_total']):,} parcels — "
        f"<b>{land_dev / 1e6:,.2f} km²</b> of {land_all / 1e6:,.2f} km² of parcel land, leaving "
        f"{(land_all - land_dev) / 1e6:,.2f} km² in reserve — and produces <b>{_sentence_bn(k['total_output_yuan'])} "
        f"yuan a year</b>"
        + (f": {_sentence_bn(zone)} per km² of the zone's {k['zone_area_km2']:,.2f} km²" if zone is not None else "")
        + f" and {_sentence_bn(per_used)} per km² of the land it uses, with about {k['jobs']:,.0f} jobs."]
    gap = result.plan.gap
    firm = (f"No better plan exists within {gap:.2%}" if _ok(gap) and gap > 0 else
            "No better plan exists" if _ok(gap) else "Its distance from the best possible plan is not proven")
    checked = "it meets every rule of the scenario (independent check)" if result.check and result.check.passed \
        else "it was not checked"
    paras.append(f"{firm}; {checked}.")
    top = sorted((r for r in k["by_industry"] if r["sites"]), key=lambda r: -r["output_yuan"])[:3]
    if top:
        paras.append("The largest contributions come from " + ", ".join(
            f"{_e(names.get(r['industry_id'], r['industry_id']))} ({_sentence_bn(r['output_yuan'])})" for r in top)
            + ".")
    out = ["<section class='exec'><h2>In one minute</h2>"] + [f"<p>{p}</p>" for p in paras]
    worth = result.analysis.get("marginal_values")
    if worth is not None and not worth.empty:
        rows = worth[worth["binding"] & (worth["impact_of_step"].abs() > 0)]
        rows = rows.reindex(rows["impact_of_step"].abs().sort_values(ascending=False).index).head(5)
        if len(rows):
            items = "".join(
                f"<li>{_e(humanize(r['rule'], names))}: relaxing it by {_e(_step_words(r['step'], r['unit']))} "
                f"would add about {_e(gain_words(result.scenario, r['impact_of_step']))}</li>"
                for _, r in rows.iterrows())
            out.append(f"<p>What holds the plan back most:</p><ol class='tight'>{items}</ol>")
        else:
            out.append("<p>No single rule holds the plan back: relaxing any one a little gains nothing.</p>")
    alts = result.analysis.get("alternatives")
    if alts:
        diffs = [a.analysis["differs_from"][0] for a in alts]
        gaps = [a.plan.objective / result.plan.objective - 1 for a in alts]
        out.append(f"<p>{len(alts)} near-optimal alternative plans (within {max(abs(g) for g in gaps):.3%}) "
                   f"change {min(diffs)}–{max(diffs)} parcels: the choice of those parcels is a close call; the "
                   "rest of the plan holds.</p>")
    if folder is not None and (Path(folder) / "frontier.png").is_file():
        out.append(f"<figure><img alt='frontier' style='max-width:640px' src='{_img(Path(folder) / 'frontier.png')}'>"
                   "<figcaption>The "
                   "best output for each amount of developed land: where the curve flattens, more land buys little."
                   f"{_clock_caption(result.analysis.get('frontier'))}</figcaption></figure>")
    out.append("</section>")
    return "".join(out)


def _clock_caption(table) -> str:
    """A sentence for the frontier's caption when a time limit cut some of its points."""
    cut = [] if table is None else clock_cut(table)
    if not cut:
        return ""
    one = len(cut) == 1
    which = f"All {len(cut)} points" if len(cut) == len(table) > 1 else f"{len(cut)} of the {len(table)} points"
    return (f" {which} ran out of time before {'its' if one else 'their'} work limits: with more time or on a "
            f"quieter machine {'its plan' if one else 'their plans'} may differ.")


def _holding_back(result: RunResult) -> str:
    """What holds the plan back: the binding rules whose relaxation gains most (marginal_values.csv)."""
    t = result.analysis.get("marginal_values")
    if t is None or t.empty:
        return ""
    rows = t[t["binding"] & (t["impact_of_step"].abs() > 0)]
    rows = rows.reindex(rows["impact_of_step"].abs().sort_values(ascending=False).index).head(8)
    if rows.empty:
        return "<h2>What holds the plan back</h2><p>No rule binds: relaxing any one alone gains nothing.</p>"
    in_yuan = result.scenario.objective.kind == "total_output"  # else the objective's own unit, as it is
    gain_unit = ("million " if in_yuan else "") + objective_unit(result.scenario)
    head = (f"<tr><th class='t'>rule</th><th>relaxed by</th><th>gain, {_e(gain_unit)}</th>"
            "<th>worth per unit</th><th class='t'>how it was found</th></tr>")
    names = display_names(result.scenario)
    body = "".join(
        f"<tr><td class='t'>{_e(humanize(r['rule'], names))}</td><td>{_e(_step_words(r['step'], r['unit']))}</td>"
        f"<td>{r['impact_of_step'] / 1e6 if in_yuan else r['impact_of_step']:,{'.1f' if in_yuan else '.4g'}}</td>"
        f"<td>{r['marginal_value']:,.4g} {_e(r['marginal_unit'])}</td>"
        f"<td class='t'>{_e(r['method'])}</td></tr>" for _, r in rows.iterrows())
    return ("<h2>What holds the plan back</h2><p class='muted'>The rules that bind, ranked by what relaxing each by "
            "its step would add (1 % of its bound, one site, one percentage point or one minute). LP-dual figures "
            "keep the chosen parcels; re-solved figures let every parcel change. All rules: "
            "marginal_values.csv.</p><table>" + head + body + "</table>")


def _parcels_explained(result: RunResult) -> str:
    """How many parcels are developed, passed over or not eligible, and the closest calls (explain.csv)."""
    from optimizer.report.geojson import geojson_name

    t = result.analysis.get("explain")
    if t is None or t.empty:
        return ""
    counts = t["status"].value_counts()
    items = "".join(f"<li>{_e(k)}: {int(v):,} parcels</li>" for k, v in counts.items())
    close = t[t["forcing_cost_method"].str.startswith("re-solved")].sort_values("forcing_cost_yuan").head(5)
    from optimizer.report.charts import _subarea_labels

    subareas = _subarea_labels(result.scenario)
    rows = "".join(f"<tr><td class='t'>{_e(r['parcel_id'])}</td><td class='t'>{_e(reason_words(r['reason'], subareas))}"
                   "</td></tr>" for _, r in close.iterrows())
    table = ("<p>The closest calls (forcing the runner-up re-solved):</p><table><tr><th class='t'>parcel</th>"
             "<th class='t'>why</th></tr>" + rows + "</table>") if rows else ""
    return ("<h2>Why each parcel</h2><ul class='tight'>" + items + "</ul>" + table +
            "<p class='muted'>Every parcel's reason, runner-up and forcing cost: explain.csv and "
            f"{geojson_name(result.scenario)}.</p>")


def write_html(result: RunResult, folder: Path) -> None:
    """report.html (always written: without a plan it reports the status and why)."""
    (Path(folder) / "report.html").write_text(render_html(result, Path(folder)), encoding="utf-8")
