"""``plan.html``: an interactive map of the plan that works offline (one file, no tile server, no library).

Parcels coloured by industry (the colours of map.png); a legend that is also the layer list: one checkbox per
industry (with its colour and parcel count) and one for parcels left undeveloped, one for the network's lines
(coloured by corridor mode, as on map.png) and one for its nodes (by type), and the zone/district and sub-area
outlines from the scenario's basemap and sub-area files as the base layer. Pan by dragging, zoom with the mouse
wheel, click a parcel for its figures (and, when the run has the planning answers, why it got its use) or a
transport node for its name, type and the access rules that use it. Names are "English 中文" where the scenario
gives Chinese names.

The viewer is a few dozen lines of plain JavaScript drawing SVG; the data is inlined as JSON (coordinates
rounded to 6 decimals, about 0.1 m) and every scenario text reaches the page only through ``textContent`` or
``setAttribute``, never as markup. Only WGS84 lon/lat scenarios get the file: a scenario in local metres has no
place on the Earth, so it is skipped (its parcels are in ``plan_local.geojson`` and ``map.png``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.pipeline import RunResult
from optimizer.report.geojson import coordinate_system, parcel_table

UNDEVELOPED_KEY = "_undeveloped"


def _r(v: float) -> float:
    return round(float(v), 6)


def _rings(g) -> list:
    """Polygon or MultiPolygon → list of rings (exteriors and holes) of [lon, lat] rounded to 6 decimals."""
    polys = list(getattr(g, "geoms", [g]))
    out = []
    for p in polys:
        if p.geom_type != "Polygon" or p.is_empty:
            continue
        for ring in [p.exterior, *p.interiors]:
            out.append([[_r(x), _r(y)] for x, y in ring.coords[:-1]])
    return out


def _lines(g) -> list:
    """Outline of a polygon layer feature (or a line) as lists of [lon, lat]."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return _rings(g)
    parts = list(getattr(g, "geoms", [g]))
    return [[[_r(x), _r(y)] for x, y in p.coords] for p in parts if p.geom_type == "LineString"]


def _square(x: float, y: float, area_m2: float) -> list:
    """A parcel without a polygon: a square of its area at its lon/lat point."""
    half = math.sqrt(max(float(area_m2), 1.0)) / 2
    dy = half / 110_760.0
    dx = half / (111_320.0 * max(math.cos(math.radians(y)), 1e-6))
    return [[[_r(x - dx), _r(y - dy)], [_r(x + dx), _r(y - dy)], [_r(x + dx), _r(y + dy)], [_r(x - dx), _r(y + dy)]]]


def _fmt(v, digits: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f):
        return "—"
    return f"{f:,.{digits}f}"


def _zh(v) -> str:
    s = " ".join(str(v if v is not None else "").split())
    return "" if s.lower() == "nan" else s


def _both(name, zh) -> str:
    """ "English 中文" (the browser draws both), or whichever is given."""
    en, z = str(name or "").strip(), _zh(zh)
    return f"{en} {z}" if en and z and z not in en else en or z


def map_data(result: RunResult) -> dict | None:
    """The page's data (a dict ready for json.dumps), or None when the scenario is not in WGS84 lon/lat.

    layers: one per industry (plus "not developed") with its colour and parcel count, in the legend's order;
    parcels: rings, layer, a table of figures and, with the planning answers, why it got its use; nodes and
    edges of the network coloured as on map.png (edges by corridor mode, nodes by type), each node with what it
    is and the access rules that use its type."""
    from optimizer.report.maps import (
        CORRIDOR_MODES,
        NODE_STYLE,
        UNDEVELOPED,
        access_types,
        corridor_modes,
        headline,
        industry_colors,
        read_layer,
    )

    sc = result.scenario
    if coordinate_system(sc) != "lonlat":
        return None
    df = parcel_table(result)
    colors = industry_colors(sc)
    ind = sc.industries
    zh = ind["name_zh"] if "name_zh" in ind.columns else [""] * len(ind)
    ind_name = {str(k): _both(n, z) for k, n, z in zip(ind["industry_id"], ind["name"], zh, strict=True)}
    layer_of = np.where(df["developed"].to_numpy(bool), df["industry_id"].astype(str).to_numpy(), UNDEVELOPED_KEY)
    counts = pd.Series(layer_of).value_counts()
    layers = [{"key": k, "name": n, "color": colors.get(k, "#888888"), "count": int(counts.get(k, 0))}
              for k, n in ind_name.items()]
    layers.append({"key": UNDEVELOPED_KEY, "name": "not developed", "color": UNDEVELOPED,
                   "count": int(counts.get(UNDEVELOPED_KEY, 0))})
    sub_layer = read_layer(sc.subareas_path, "subarea")
    sub_name = {sid: _both(props.get("name") or sid, props.get("name_zh")) for sid, _, props in sub_layer}
    types = access_types(sc, n=len(sc.access.columns)) if sc.access is not None else []
    minutes = {t: sc.access[t].to_numpy(float) for t in types}  # arrays: no pandas lookup per parcel
    explain = "reason" in df.columns
    ex_ind = sc.parcels["existing_industry"].fillna("").to_numpy(str) if "existing_industry" in sc.parcels \
        else np.full(len(df), "")
    ex_floor = sc.parcels["existing_floor_m2"].to_numpy(float) if "existing_floor_m2" in sc.parcels \
        else np.zeros(len(df))
    parcels = []
    for i, r in enumerate(df.itertuples(index=False)):
        g = sc.geometry[i] if sc.geometry is not None else None
        if g is not None and not g.is_empty:
            rings = _rings(g)
        elif np.isfinite(float(r.x)) and np.isfinite(float(r.y)):
            rings = _square(float(r.x), float(r.y), r.area_m2)
        else:
            rings = []
        if not rings:
            continue
        info = [["industry", ind_name.get(str(r.industry_id), str(r.industry)) if r.developed else "not developed"]]
        if r.developed:
            info += [["floor m²", _fmt(r.floor_area_m2)], ["FAR", _fmt(r.far, 2)],
                     ["output yuan a year", _fmt(r.output_yuan)]]
        if ex_ind[i]:  # existing uses: what the plan does with the building that stands there
            info.append(["action", f"{r.action or 'keep'} (existing: {ind_name.get(ex_ind[i], ex_ind[i])}, "
                                   f"{_fmt(ex_floor[i])} m²)"])
        info += [["zone", str(r.zone)], ["sub-area", sub_name.get(str(r.subarea), str(r.subarea))],
                 ["land m²", _fmt(r.area_m2)]]
        for t in types:
            info.append([f"minutes to {t}", _fmt(minutes[t][i], 1)])
        item = {"id": str(r.parcel_id), "layer": str(layer_of[i]), "rings": rings, "info": info}
        if explain:
            why = str(r.reason) if isinstance(r.reason, str) else ""
            method = str(r.forcing_cost_method) if isinstance(r.forcing_cost_method, str) else ""
            if why:
                item["why"] = why + (f" (cost of the next best: {method})" if method else "")
        parcels.append(item)
    outlines = []
    for kind, path, key in (("zones", sc.basemap_path, "name"), ("subareas", sc.subareas_path, "subarea")):
        for label, g, props in read_layer(path, key):
            name = _both(props.get("name") or label, props.get("name_zh"))
            outlines.append({"kind": kind, "name": name, "lines": _lines(g)})
    nodes, edges, modes, node_types = [], [], [], []
    net = sc.network
    if net is not None:
        names = {str(k): str(v) for k, v in ind_name.items()}
        rules: dict[str, list[str]] = {}
        for rule in sc.rules.access_rules:
            if np.isfinite(rule.max_minutes):
                rules.setdefault(rule.node_type, []).append(
                    f"{names.get(rule.industry, rule.industry)} within {rule.max_minutes:g} min")
        nzh = net.nodes["name_zh"] if "name_zh" in net.nodes.columns else [""] * len(net.nodes)
        pos = {}
        for n, z in zip(net.nodes.itertuples(index=False), nzh, strict=True):
            if not (np.isfinite(float(n.x)) and np.isfinite(float(n.y))):
                continue
            pos[n.node_id] = (_r(n.x), _r(n.y))
            t = str(n.type)
            info = [["type", t], ["id", str(n.node_id)]]
            info += [["access rule", text] for text in rules.get(t, [])]
            nodes.append({"id": str(n.node_id), "type": t, "name": _both(n.name, z) or str(n.node_id),
                          "xy": list(pos[n.node_id]), "color": NODE_STYLE.get(t, ("", 0, "#3d3d3d"))[2],
                          "info": info})
        here: dict[tuple, list] = {}
        for nd in nodes:  # nodes at one place (a metro and a rail station) draw on top of each other
            here.setdefault(tuple(nd["xy"]), []).append(nd)
        for group in here.values():
            for nd in group:
                nd["info"] += [["also here", f"{o['name']} ({o['type']})"] for o in group if o is not nd]
        for t, k in pd.Series([nd["type"] for nd in nodes], dtype=object).value_counts(sort=False).items():
            node_types.append({"type": str(t), "count": int(k), "color": NODE_STYLE.get(t, ("", 0, "#3d3d3d"))[2]})
        mode, planned = corridor_modes(net.edges, net.nodes)
        for e, m, pl in zip(net.edges.itertuples(index=False), mode, planned, strict=True):
            if e.from_node in pos and e.to_node in pos:
                edges.append({"a": list(pos[e.from_node]), "b": list(pos[e.to_node]),
                              "name": str(getattr(e, "corridor", "") or ""), "color": CORRIDOR_MODES[m][1],
                              "planned": bool(pl)})
        modes = [{"label": CORRIDOR_MODES[m][3], "color": CORRIDOR_MODES[m][1]}
                 for m in CORRIDOR_MODES if (mode == m).any()]
    return {"title": str(sc.name), "subtitle": headline(result), "layers": layers, "parcels": parcels,
            "outlines": outlines, "nodes": nodes, "edges": edges, "modes": modes, "node_types": node_types}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Plan map</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html,body{margin:0;height:100%;font:13px system-ui,sans-serif;color:#2b2b2b}
#map{position:absolute;left:0;top:0;right:300px;bottom:0;background:#f4f1ea;cursor:grab}
#map svg{width:100%;height:100%;display:block}
#side{position:absolute;top:0;right:0;width:284px;bottom:0;overflow:auto;padding:8px;border-left:1px solid #ccc}
#side h3{margin:4px 0}#side h4{margin:10px 0 4px;font-size:13px}
#side label{display:block;margin:2px 0}
.sw{display:inline-block;width:12px;height:12px;margin:0 5px 0 2px;vertical-align:-2px;border:1px solid #777}
.ln{display:inline-block;width:16px;height:0;margin:0 5px 3px 2px;vertical-align:middle;border-top:3px solid}
.dot{display:inline-block;width:9px;height:9px;margin:0 6px 0 4px;border-radius:50%;vertical-align:-1px;
 border:1px solid #fff;box-shadow:0 0 0 1px #999}
.n{color:#666}
.key{margin-left:22px;font-size:12px}
#popup{position:absolute;display:none;background:#fff;border:1px solid #888;padding:6px 8px;max-width:340px;
 box-shadow:0 2px 6px rgba(0,0,0,.3);pointer-events:auto}
#popup h4{margin:0 18px 4px 0;font-size:13px}
#popup table{border-collapse:collapse}#popup td{padding:1px 4px;vertical-align:top}
#popup .why{margin-top:6px;padding-top:4px;border-top:1px solid #ddd;font-size:12px;line-height:1.35}
#popup .x{float:right;cursor:pointer;margin-left:8px}
.muted{color:#666;font-size:12px}
</style></head><body>
<div id="map"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg><div id="popup"></div></div>
<div id="side"><h3 id="title"></h3><div class="muted" id="subtitle"></div>
<h4>Industries (parcels) &mdash; tick to show</h4><div id="legend"></div>
<h4>Transport network</h4><div id="network-legend"></div>
<h4>Base layer</h4><div id="base-legend"></div>
<p class="muted">Drag to pan, mouse wheel to zoom, click a parcel or a transport node for its figures. WGS84
lon/lat drawn in a local equirectangular projection; base layer: the scenario's zone and sub-area outlines (no
tiles, works offline).</p></div>
<script id="plan-data" type="application/json">__DATA__</script>
<script>
(function(){
"use strict";
var D=JSON.parse(document.getElementById("plan-data").textContent);
var NS="http://www.w3.org/2000/svg", svg=document.getElementById("svg"), pop=document.getElementById("popup");
document.getElementById("title").textContent=D.title;
document.getElementById("subtitle").textContent=D.subtitle;
var lon0=0,lat0=0,n=0;
D.parcels.forEach(function(p){p.rings[0].forEach(function(c){lon0+=c[0];lat0+=c[1];n++;});});
lon0/=Math.max(n,1);lat0/=Math.max(n,1);
var kx=111320*Math.cos(lat0*Math.PI/180), ky=110760;
function P(c){return [(c[0]-lon0)*kx,-(c[1]-lat0)*ky];}
function path(rings,close){var d="";rings.forEach(function(r){r.forEach(function(c,i){var q=P(c);
 d+=(i?"L":"M")+q[0].toFixed(1)+" "+q[1].toFixed(1);});if(close)d+="Z";});return d;}
function el(tag,attrs,parent){var e=document.createElementNS(NS,tag);
 for(var k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
function html(tag,cls,text,parent){var e=document.createElement(tag);if(cls)e.className=cls;
 if(text!==null&&text!==undefined)e.textContent=text;if(parent)parent.appendChild(e);return e;}
var world=el("g",{},svg), groups={};
function group(key){var g=el("g",{"data-layer":key},world);groups[key]=g;return g;}
var gz=group("zones"), gs=group("subareas");
D.outlines.forEach(function(o){var g=o.kind==="zones"?gz:gs;
 var e=el("path",{d:path(o.lines,false),fill:"none",stroke:o.kind==="zones"?"#9a9a9a":"#555",
  "stroke-width":o.kind==="zones"?1.5:1,"stroke-dasharray":o.kind==="zones"?"":"4 2",
  "vector-effect":"non-scaling-stroke"},g);el("title",{},e).textContent=o.name;});
var color={};
D.layers.forEach(function(l){group(l.key);color[l.key]=l.color;});
var x0=1e18,y0=1e18,x1=-1e18,y1=-1e18;
D.parcels.forEach(function(p){
 var e=el("path",{d:path(p.rings,true),fill:color[p.layer]||"#888","fill-rule":"evenodd",stroke:"#fff",
  "stroke-width":0.5,"vector-effect":"non-scaling-stroke","data-parcel":p.id},groups[p.layer]);
 e.addEventListener("click",function(ev){if(!moved)show("Parcel "+p.id,p.id,p.info,p.why,ev);});
 p.rings[0].forEach(function(c){var q=P(c);x0=Math.min(x0,q[0]);y0=Math.min(y0,q[1]);
  x1=Math.max(x1,q[0]);y1=Math.max(y1,q[1]);});});
var gl=group("network-lines"), gn=group("network-nodes");
D.edges.forEach(function(e){var a=P(e.a),b=P(e.b);var l=el("line",{x1:a[0],y1:a[1],x2:b[0],y2:b[1],
 stroke:e.color,"stroke-width":1.6,"stroke-dasharray":e.planned?"5 3":"","vector-effect":"non-scaling-stroke"},gl);
 el("title",{},l).textContent=e.name;});
var nodeDots=[];
D.nodes.forEach(function(nd){var q=P(nd.xy);var c=el("circle",{cx:q[0],cy:q[1],r:4,fill:nd.color,stroke:"#fff",
 "stroke-width":1,"vector-effect":"non-scaling-stroke","data-node":nd.id,cursor:"pointer"},gn);nodeDots.push(c);
 el("title",{},c).textContent=nd.name+" ("+nd.type+")";
 c.addEventListener("click",function(ev){ev.stopPropagation();if(!moved)show(nd.name,"node:"+nd.id,nd.info,null,ev);});});
window.planParcelCount=D.parcels.length;
function toggle(parent,key,label,swatch,count){var lab=html("label","",null,parent),cb=document.createElement("input");
 cb.type="checkbox";cb.checked=true;cb.setAttribute("data-toggle",key);lab.setAttribute("data-legend",key);
 cb.addEventListener("change",function(){groups[key].style.display=cb.checked?"":"none";});
 lab.appendChild(cb);if(swatch)lab.appendChild(swatch);html("span","name",label,lab);
 if(count!==undefined)html("span","n"," ("+count+")",lab);return lab;}
function swatch(cls,css){var s=html("span",cls,null,null);for(var k in css)s.style[k]=css[k];return s;}
var lg=document.getElementById("legend");
D.layers.forEach(function(l){toggle(lg,l.key,l.name,swatch("sw",{background:l.color}),l.count);});
var nl=document.getElementById("network-legend");
if(D.edges.length){toggle(nl,"network-lines","lines",null,D.edges.length);
 D.modes.forEach(function(m){var k=html("div","key",null,nl);k.appendChild(swatch("ln",{borderColor:m.color}));
  html("span","",m.label,k);});}
if(D.nodes.length){toggle(nl,"network-nodes","nodes (click one for its name)",null,D.nodes.length);
 D.node_types.forEach(function(t){var k=html("div","key",null,nl);k.appendChild(swatch("dot",{background:t.color}));
  html("span","",t.type+" ("+t.count+")",k);});}
if(!D.edges.length&&!D.nodes.length)html("div","muted","no network in this scenario",nl);
var bl=document.getElementById("base-legend");
toggle(bl,"subareas","sub-area outlines",swatch("ln",{borderColor:"#555",borderTopStyle:"dashed"}));
toggle(bl,"zones","zone and districts",swatch("ln",{borderColor:"#9a9a9a"}));
if(x0>x1){x0=-500;y0=-500;x1=500;y1=500;}
var pad=0.05*Math.max(x1-x0,y1-y0,1), vb=[x0-pad,y0-pad,x1-x0+2*pad,y1-y0+2*pad];
function apply(){svg.setAttribute("viewBox",vb.join(" "));var s=scale();
 nodeDots.forEach(function(c){c.setAttribute("r",4*s);});}
function scale(){return Math.max(vb[2]/Math.max(svg.clientWidth,1),vb[3]/Math.max(svg.clientHeight,1));}
svg.setAttribute("preserveAspectRatio","xMidYMid meet");apply();
svg.addEventListener("wheel",function(ev){ev.preventDefault();var r=svg.getBoundingClientRect(),s=scale();
 var cx=vb[0]+vb[2]/2+(ev.clientX-r.left-r.width/2)*s, cy=vb[1]+vb[3]/2+(ev.clientY-r.top-r.height/2)*s;
 var f=ev.deltaY>0?1.2:1/1.2;vb=[cx-(cx-vb[0])*f,cy-(cy-vb[1])*f,vb[2]*f,vb[3]*f];apply();},{passive:false});
var drag=null,moved=false;
svg.addEventListener("mousedown",function(ev){drag=[ev.clientX,ev.clientY,vb[0],vb[1]];moved=false;});
window.addEventListener("mousemove",function(ev){if(!drag)return;var dx=ev.clientX-drag[0],dy=ev.clientY-drag[1];
 if(Math.abs(dx)+Math.abs(dy)>3)moved=true;if(moved){var s=scale();vb[0]=drag[2]-dx*s;vb[1]=drag[3]-dy*s;apply();}});
window.addEventListener("mouseup",function(){drag=null;});
function show(title,key,info,why,ev){while(pop.firstChild)pop.removeChild(pop.firstChild);
 var x=html("span","x","\u00d7",pop);x.addEventListener("click",function(){pop.style.display="none";});
 html("h4","",title,pop);
 var t=html("table","",null,pop);info.forEach(function(kv){var tr=t.insertRow();
  tr.insertCell().textContent=kv[0];tr.insertCell().textContent=kv[1];});
 if(why){var w=html("div","why",null,pop);html("b","","Why: ",w);html("span","",why,w);}
 var r=document.getElementById("map").getBoundingClientRect();
 pop.style.left=Math.max(0,Math.min(ev.clientX-r.left+8,r.width-350))+"px";
 pop.style.top=Math.max(0,Math.min(ev.clientY-r.top+8,r.height-60))+"px";
 pop.style.display="block";pop.setAttribute("data-popup",key);}
})();
</script></body></html>
"""


def render_plan_html(result: RunResult) -> str | None:
    """The page, or None without a plan or when the scenario is not in WGS84 lon/lat (or has no parcels)."""
    if result.plan is None:
        return None
    data = map_data(result)
    if data is None or not data["parcels"]:
        return None
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # inside <script>, "</" and "<!--" must not appear; \\u003c is the same character to JSON.parse
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return PAGE.replace("__DATA__", text)


def write_plan_html(result: RunResult, folder: Path) -> None:
    """plan.html beside the other outputs; skipped (nothing written) for local-metre scenarios."""
    page = render_plan_html(result)
    if page is not None:
        (Path(folder) / "plan.html").write_text(page, encoding="utf-8")
