"""``plan.html``: an interactive map of the plan that works offline (one file, no tile server, no library).

Parcels coloured by industry (the colours of map.png), one toggleable layer per industry and one for parcels
left undeveloped, the transport network (nodes and edges) and the zone/district and sub-area outlines from the
scenario's basemap and sub-area files as the base layer. Pan by dragging, zoom with the mouse wheel, click a
parcel for its figures (and, when the run has the "explain" analysis, why it got its use).

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


def map_data(result: RunResult) -> dict | None:
    """The page's data (a dict ready for json.dumps), or None when the scenario is not in WGS84 lon/lat."""
    from optimizer.report.maps import access_types, industry_colors, read_layer

    sc = result.scenario
    if coordinate_system(sc) != "lonlat":
        return None
    df = parcel_table(result)
    colors = industry_colors(sc)
    from optimizer.report.maps import UNDEVELOPED

    layers = [{"key": str(k), "name": str(n), "color": colors.get(str(k), "#888888")}
              for k, n in zip(sc.industries["industry_id"], sc.industries["name"], strict=True)]
    layers.append({"key": UNDEVELOPED_KEY, "name": "not developed", "color": UNDEVELOPED})
    types = access_types(sc, n=len(sc.access.columns)) if sc.access is not None else []
    explain = "reason" in df.columns
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
        info = [["parcel", str(r.parcel_id)], ["industry", str(r.industry) if r.developed else "not developed"]]
        if r.developed:
            info += [["floor m²", _fmt(r.floor_area_m2)], ["FAR", _fmt(r.far, 2)],
                     ["output yuan", _fmt(r.output_yuan)]]
        info += [["zone", str(r.zone)], ["sub-area", str(r.subarea)], ["area m²", _fmt(r.area_m2)]]
        for t in types:
            info.append([f"minutes to {t}", _fmt(sc.access[t].iloc[i], 1)])
        if explain:
            for label, col in (("reason", "reason"), ("runner-up", "runner_up"),
                               ("forcing cost yuan", "forcing_cost_yuan")):
                v = getattr(r, col)
                if v is None or (isinstance(v, float) and not np.isfinite(v)) or v == "":
                    continue
                info.append([label, _fmt(v) if col == "forcing_cost_yuan" else str(v)])
        parcels.append({"id": str(r.parcel_id), "layer": str(r.industry_id) if r.developed else UNDEVELOPED_KEY,
                        "rings": rings, "info": info})
    outlines = []
    for kind, path, key in (("zones", sc.basemap_path, "name"), ("subareas", sc.subareas_path, "subarea")):
        for label, g, _ in read_layer(path, key):
            outlines.append({"kind": kind, "name": label, "lines": _lines(g)})
    nodes, edges = [], []
    net = sc.network
    if net is not None:
        pos = {}
        for n in net.nodes.itertuples(index=False):
            if np.isfinite(float(n.x)) and np.isfinite(float(n.y)):
                pos[n.node_id] = (_r(n.x), _r(n.y))
                nodes.append({"id": str(n.node_id), "type": str(n.type), "name": str(n.name or ""),
                              "xy": list(pos[n.node_id])})
        for e in net.edges.itertuples(index=False):
            if e.from_node in pos and e.to_node in pos:
                edges.append({"a": list(pos[e.from_node]), "b": list(pos[e.to_node]),
                              "name": str(getattr(e, "corridor", "") or "")})
    return {"title": str(sc.name), "layers": layers, "parcels": parcels, "outlines": outlines,
            "nodes": nodes, "edges": edges}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Plan map</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html,body{margin:0;height:100%;font:13px system-ui,sans-serif;color:#2b2b2b}
#map{position:absolute;left:0;top:0;right:260px;bottom:0;background:#f4f1ea;cursor:grab}
#map svg{width:100%;height:100%;display:block}
#side{position:absolute;top:0;right:0;width:244px;bottom:0;overflow:auto;padding:8px;border-left:1px solid #ccc}
#side label{display:block;margin:2px 0}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border:1px solid #777}
#popup{position:absolute;display:none;background:#fff;border:1px solid #888;padding:6px 8px;max-width:320px;
 box-shadow:0 2px 6px rgba(0,0,0,.3);pointer-events:auto}
#popup table{border-collapse:collapse}#popup td{padding:1px 4px;vertical-align:top}
#popup .x{float:right;cursor:pointer;margin-left:8px}
.muted{color:#666;font-size:12px}
</style></head><body>
<div id="map"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg><div id="popup"></div></div>
<div id="side"><h3 id="title"></h3><div id="layers"></div>
<p class="muted">Drag to pan, mouse wheel to zoom, click a parcel for its figures. WGS84 lon/lat drawn in a
local equirectangular projection; base layer: the scenario's zone and sub-area outlines (no tiles).</p></div>
<script id="plan-data" type="application/json">__DATA__</script>
<script>
(function(){
"use strict";
var D=JSON.parse(document.getElementById("plan-data").textContent);
var NS="http://www.w3.org/2000/svg", svg=document.getElementById("svg"), pop=document.getElementById("popup");
document.getElementById("title").textContent=D.title;
var lon0=0,lat0=0,n=0;
D.parcels.forEach(function(p){p.rings[0].forEach(function(c){lon0+=c[0];lat0+=c[1];n++;});});
lon0/=Math.max(n,1);lat0/=Math.max(n,1);
var kx=111320*Math.cos(lat0*Math.PI/180), ky=110760;
function P(c){return [(c[0]-lon0)*kx,-(c[1]-lat0)*ky];}
function path(rings,close){var d="";rings.forEach(function(r){r.forEach(function(c,i){var q=P(c);
 d+=(i?"L":"M")+q[0].toFixed(1)+" "+q[1].toFixed(1);});if(close)d+="Z";});return d;}
function el(tag,attrs,parent){var e=document.createElementNS(NS,tag);
 for(var k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
var world=el("g",{},svg), groups={}, order=[];
function group(key,label,color){var g=el("g",{"data-layer":key},world);groups[key]=g;
 order.push([key,label,color]);return g;}
var gz=group("zones","zones and districts",null), gs=group("subareas","sub-areas",null);
D.outlines.forEach(function(o){var g=o.kind==="zones"?gz:gs;
 var e=el("path",{d:path(o.lines,false),fill:"none",stroke:o.kind==="zones"?"#9a9a9a":"#555",
  "stroke-width":o.kind==="zones"?1.5:1,"stroke-dasharray":o.kind==="zones"?"":"4 2",
  "vector-effect":"non-scaling-stroke"},g);el("title",{},e).textContent=o.name;});
D.layers.forEach(function(l){group(l.key,l.name,l.color);});
var x0=1e18,y0=1e18,x1=-1e18,y1=-1e18;
D.parcels.forEach(function(p){var l=D.layers.find(function(q){return q.key===p.layer;});
 var e=el("path",{d:path(p.rings,true),fill:l?l.color:"#888","fill-rule":"evenodd",stroke:"#fff",
  "stroke-width":0.5,"vector-effect":"non-scaling-stroke","data-parcel":p.id},groups[p.layer]);
 e.addEventListener("click",function(ev){if(!moved)show(p,ev);});
 p.rings[0].forEach(function(c){var q=P(c);x0=Math.min(x0,q[0]);y0=Math.min(y0,q[1]);
  x1=Math.max(x1,q[0]);y1=Math.max(y1,q[1]);});});
var gn=group("network","transport network","#d62728");
D.edges.forEach(function(e){var a=P(e.a),b=P(e.b);var l=el("line",{x1:a[0],y1:a[1],x2:b[0],y2:b[1],
 stroke:"#d62728","stroke-width":1.5,"vector-effect":"non-scaling-stroke"},gn);el("title",{},l).textContent=e.name;});
var nodeDots=[];
D.nodes.forEach(function(nd){var q=P(nd.xy);var c=el("circle",{cx:q[0],cy:q[1],r:3,fill:"#1d3557",
 "data-node":nd.id},gn);nodeDots.push(c);el("title",{},c).textContent=(nd.name||nd.id)+" ("+nd.type+")";});
window.planParcelCount=D.parcels.length;
var box=document.getElementById("layers");
order.forEach(function(o){var lab=document.createElement("label"),cb=document.createElement("input");
 cb.type="checkbox";cb.checked=true;cb.setAttribute("data-toggle",o[0]);
 cb.addEventListener("change",function(){groups[o[0]].style.display=cb.checked?"":"none";});
 lab.appendChild(cb);if(o[2]){var s=document.createElement("span");s.className="sw";s.style.background=o[2];
 lab.appendChild(s);}lab.appendChild(document.createTextNode(o[1]));box.appendChild(lab);});
if(x0>x1){x0=-500;y0=-500;x1=500;y1=500;}
var pad=0.05*Math.max(x1-x0,y1-y0,1), vb=[x0-pad,y0-pad,x1-x0+2*pad,y1-y0+2*pad];
function apply(){svg.setAttribute("viewBox",vb.join(" "));var s=vb[2]/Math.max(svg.clientWidth,1);
 nodeDots.forEach(function(c){c.setAttribute("r",3*s);});}
svg.setAttribute("preserveAspectRatio","xMidYMid meet");apply();
function scale(){return Math.max(vb[2]/Math.max(svg.clientWidth,1),vb[3]/Math.max(svg.clientHeight,1));}
svg.addEventListener("wheel",function(ev){ev.preventDefault();var r=svg.getBoundingClientRect(),s=scale();
 var cx=vb[0]+vb[2]/2+(ev.clientX-r.left-r.width/2)*s, cy=vb[1]+vb[3]/2+(ev.clientY-r.top-r.height/2)*s;
 var f=ev.deltaY>0?1.2:1/1.2;vb=[cx-(cx-vb[0])*f,cy-(cy-vb[1])*f,vb[2]*f,vb[3]*f];apply();},{passive:false});
var drag=null,moved=false;
svg.addEventListener("mousedown",function(ev){drag=[ev.clientX,ev.clientY,vb[0],vb[1]];moved=false;});
window.addEventListener("mousemove",function(ev){if(!drag)return;var dx=ev.clientX-drag[0],dy=ev.clientY-drag[1];
 if(Math.abs(dx)+Math.abs(dy)>3)moved=true;if(moved){var s=scale();vb[0]=drag[2]-dx*s;vb[1]=drag[3]-dy*s;apply();}});
window.addEventListener("mouseup",function(){drag=null;});
function show(p,ev){while(pop.firstChild)pop.removeChild(pop.firstChild);
 var x=document.createElement("span");x.className="x";x.textContent="×";
 x.addEventListener("click",function(){pop.style.display="none";});pop.appendChild(x);
 var t=document.createElement("table");p.info.forEach(function(kv){var tr=t.insertRow();
  tr.insertCell().textContent=kv[0];tr.insertCell().textContent=kv[1];});pop.appendChild(t);
 var r=document.getElementById("map").getBoundingClientRect();
 pop.style.left=Math.min(ev.clientX-r.left+8,r.width-330)+"px";pop.style.top=(ev.clientY-r.top+8)+"px";
 pop.style.display="block";pop.setAttribute("data-popup",p.id);}
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
