"""The timeline page's inline stylesheet and script, and the Content-Security-Policy
that allows exactly that script (by its SHA-256 hash) and no network load."""

from __future__ import annotations

import base64
import hashlib

_CSS = """
:root{color-scheme:light dark;
--bg:#f6f7f9;--panel:#ffffff;--text:#1c2430;--muted:#5d6878;--border:#e2e6ec;
--lane:#ffffff;--lane-odd:#f3f5f8;--grid:#e6e9ee;--axis:#9aa4b2;
--succeeded:#1f8f4e;--failed:#cf3434;--running:#2f6fdf;
--cached:#7c4ddb;--skipped:#8a94a3;--cancelled:#b7791f;
--interrupted:#c8387a;--queued:#b8c2cf;--unknown:#6b7280;
--crit:#f0a500;--label:#ffffff;--halo:rgba(0,0,0,.35);
--cpu:#0e8fb3;--mem:#e0671b;--slots:#64748b;--slots-fill:rgba(100,116,139,.16);
--tip-bg:#1c2430;--tip-text:#f6f7f9}
@media (prefers-color-scheme:dark){:root{
--bg:#0f1318;--panel:#171c23;--text:#e4e8ee;--muted:#9aa5b4;--border:#28303b;
--lane:#171c23;--lane-odd:#1c222b;--grid:#262d37;--axis:#4e5968;
--succeeded:#2ea664;--failed:#e5534b;--running:#4c8df6;
--cached:#9a75ee;--skipped:#7d8796;--cancelled:#d1962e;
--interrupted:#e0569a;--queued:#4b5563;--unknown:#8b95a3;
--crit:#ffc233;--label:#ffffff;--halo:rgba(0,0,0,.5);
--cpu:#38bdf8;--mem:#fb923c;--slots:#94a3b8;--slots-fill:rgba(148,163,184,.14);
--tip-bg:#e4e8ee;--tip-text:#0f1318}}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--text)}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif;-webkit-font-smoothing:antialiased}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",
"DejaVu Sans Mono",monospace;font-size:.92em}
main{max-width:1240px;margin:0 auto;padding:18px 22px 40px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 14px;margin-bottom:12px}
.eyebrow{width:100%;font-size:12px;letter-spacing:.06em;text-transform:uppercase;
color:var(--muted);font-weight:600}
h1{font-size:22px;margin:0;font-weight:650;overflow-wrap:anywhere}
h2{font-size:13px;margin:0 0 8px;font-weight:650;letter-spacing:.04em;text-transform:uppercase;
color:var(--muted)}
.run-id{color:var(--muted);font-weight:500}
.meta{color:var(--muted);font-size:13px}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:650;
color:#fff;background:var(--c);vertical-align:3px}
.s-queued{--c:var(--queued)}.s-running{--c:var(--running)}.s-succeeded{--c:var(--succeeded)}
.s-failed{--c:var(--failed)}.s-cached{--c:var(--cached)}.s-skipped{--c:var(--skipped)}
.s-cancelled{--c:var(--cancelled)}.s-interrupted{--c:var(--interrupted)}
.s-unknown{--c:var(--unknown)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;
margin-bottom:12px}
.stat{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:9px 14px}
.stat .k{font-size:12px;color:var(--muted)}
.stat .v{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums}
.stat .sub{font-size:12px;color:var(--muted)}
.states{display:flex;flex-wrap:wrap;gap:6px;margin:2px 0 0}
.chip{display:inline-flex;align-items:center;gap:6px;padding:1px 9px 1px 7px;border-radius:999px;
border:1px solid var(--border);background:var(--panel);font-size:12px}
.chip i{width:9px;height:9px;border-radius:50%;background:var(--c)}
.chip b{font-variant-numeric:tabular-nums}
.panel{background:var(--panel);border:1px solid var(--border);border-radius:12px;
padding:12px 14px 6px;margin-bottom:12px}
.panel-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;
gap:6px 16px;margin-bottom:6px}
.panel-head h2{margin:0}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted)}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:18px;height:11px;border-radius:2px;background:var(--c)}
.sw.hatch{background:repeating-linear-gradient(45deg,var(--c) 0 3px,
color-mix(in srgb,var(--c) 50%,transparent) 3px 6px);box-shadow:inset 0 0 0 1px var(--c)}
.sw.crit{background:transparent;box-shadow:inset 0 0 0 2.5px var(--crit)}
.sw.dia{width:10px;height:10px;transform:rotate(45deg);border-radius:1px}
.sw.dot{width:11px;height:11px;border-radius:50%;background:transparent;
box-shadow:inset 0 0 0 2px var(--c)}
.sw.line{height:3px;border-radius:2px}.sw.cpu{--c:var(--cpu)}.sw.mem{--c:var(--mem)}
.sw.dash{height:0;border-top:2px dashed var(--slots);background:none;border-radius:0}
.sw.area{background:var(--slots-fill);box-shadow:inset 0 2px 0 var(--slots)}
.crit-list{font-size:13px;color:var(--muted);margin:0 0 6px;overflow-wrap:anywhere}
.crit-list b{color:var(--text);font-weight:600}
.empty{color:var(--muted);padding:18px 4px;margin:0}
svg.chart{display:block;width:100%;height:auto;overflow:visible;
font-family:inherit;font-size:11.5px}
.lane-bg{fill:var(--lane)}.lane-bg.odd{fill:var(--lane-odd)}
.lane-label{fill:var(--text);font-weight:600;font-size:12px}
.lane-label.lane-special{fill:var(--muted);font-weight:500;font-style:italic}
.lane-label.lane-worker{fill:var(--muted);font-weight:600;font-size:11px}
.grid{stroke:var(--grid);stroke-width:1}
.axis-line{stroke:var(--axis);stroke-width:1}
.tick{fill:var(--muted);font-size:11px;font-variant-numeric:tabular-nums}
.axis-title{fill:var(--muted);font-size:11px}
.bar{fill:var(--c);stroke:var(--c);stroke-width:1}
.bar.s-failed{fill:url(#hatch-failed)}.bar.s-cancelled{fill:url(#hatch-cancelled)}
.bar.s-interrupted{fill:url(#hatch-interrupted)}
.bar.s-failed,.bar.s-cancelled,.bar.s-interrupted{stroke-width:1.5}
.bar.crit{stroke:var(--crit);stroke-width:3}
.bar.open{stroke-dasharray:4 3}
.hf{fill:var(--c)}.hb{fill:var(--c);fill-opacity:.5}
.bar-label{fill:var(--label);font-weight:600;font-size:11.5px;pointer-events:none;
paint-order:stroke;stroke:var(--halo);stroke-width:2.5px;stroke-linejoin:round}
.marker{fill:var(--c);stroke:var(--panel);stroke-width:1.5}
circle.marker{fill:var(--panel);stroke:var(--c);stroke-width:2}
.marker-slash{stroke:var(--skipped);stroke-width:1.6;pointer-events:none}
.marker.crit{stroke:var(--crit);stroke-width:3}
.marker-label{fill:var(--text);font-size:11.5px}
.bar-label-out{fill:var(--text);font-size:11px;pointer-events:none}
.short-bars{margin:6px 0 0;font-size:12px;color:var(--muted)}
.short-bars span{margin-right:4px}
.crit-link{fill:none;stroke:var(--crit);stroke-width:1.6;stroke-dasharray:4 3}
.crit-arrow{fill:var(--crit)}
.now line{stroke:var(--running);stroke-width:1.5;stroke-dasharray:3 3}
.now text{fill:var(--running);font-size:11px;font-weight:600}
.item{cursor:default;outline:none;transition:opacity .12s}
.hl-on .item{opacity:.22}
.hl-on .item.hl,.hl-on .item.hl-need{opacity:1}
.item.hl .bar,.item.hl .marker{stroke:var(--text);stroke-width:2.5}
.item.hl-need .bar,.item.hl-need .marker{stroke:var(--text);stroke-width:2;stroke-dasharray:3 2}
.series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.cpu-line{stroke:var(--cpu)}.mem-line{stroke:var(--mem)}
.running-line{stroke:var(--slots);stroke-width:1.6}
.running-area{fill:var(--slots-fill);stroke:none}
.limit-line{stroke:var(--slots);stroke-width:1.4;stroke-dasharray:5 4}
.tick.slots{fill:var(--slots)}
.hit{fill:transparent}.hit:hover{fill:var(--grid);fill-opacity:.45}
#tl-tip{position:fixed;z-index:10;pointer-events:none;max-width:380px;white-space:pre-line;
background:var(--tip-bg);color:var(--tip-text);font-size:12.5px;line-height:1.45;
padding:7px 10px;border-radius:7px;box-shadow:0 6px 20px rgba(0,0,0,.25);display:none}
#tl-tip:first-line{font-weight:700}
details{margin-top:4px}
summary{cursor:pointer;color:var(--muted);font-size:13px;font-weight:600;padding:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 8px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--border);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.hl td{background:var(--lane-odd)}
td .chip{border:0;padding:0;background:none}
.star{color:var(--crit);font-weight:700}
footer{color:var(--muted);font-size:12px;margin-top:14px}
@media (prefers-reduced-motion:reduce){.item{transition:none}}
"""

_JS = """(function () {
  "use strict";
  var doc = document, root = doc.documentElement;
  var tip = doc.getElementById("tl-tip");
  doc.querySelectorAll(".tip").forEach(function (el) {
    var t = el.querySelector(":scope > title");
    if (t) {
      el.setAttribute("data-tip", t.textContent);
      el.setAttribute("aria-label", t.textContent);
      t.remove();
    }
  });
  function isoLocal(d) {  // ISO 8601 in local time, as the CLI prints times
    function p(n) { return (n < 10 ? "0" : "") + n; }
    var off = -d.getTimezoneOffset(), sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) +
      sign + p(Math.floor(off / 60)) + ":" + p(off % 60);
  }
  doc.querySelectorAll("time[data-epoch]").forEach(function (el) {
    var e = Number(el.getAttribute("data-epoch"));
    if (isFinite(e)) { el.textContent = isoLocal(new Date(e * 1000)); }
  });
  function each(sel, fn) { doc.querySelectorAll(sel).forEach(fn); }
  function clearHl() {
    root.classList.remove("hl-on");
    each(".hl, .hl-need", function (el) { el.classList.remove("hl", "hl-need"); });
  }
  function setHl(el) {
    clearHl();
    if (!el) { return; }
    var t = el.getAttribute("data-t");
    var needs = (el.getAttribute("data-needs") || "").split(" ");
    root.classList.add("hl-on");
    each('[data-t="' + t + '"]', function (x) { x.classList.add("hl"); });
    needs.forEach(function (n) {
      if (/^[0-9]+$/.test(n)) {
        each('[data-t="' + n + '"]', function (x) { x.classList.add("hl-need"); });
      }
    });
  }
  function place(x, y) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y + 18 + h > window.innerHeight ? y - h - 12 : y + 18;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, top) + "px";
  }
  function show(el, x, y) {
    var text = el && el.getAttribute("data-tip");
    if (!text) { tip.style.display = "none"; return; }
    tip.textContent = text;
    tip.style.display = "block";
    place(x, y);
  }
  var current = null;
  function over(el, x, y) {
    var item = el && el.closest("[data-t]");
    if (item !== current) { setHl(item); current = item; }
    show(el && el.closest("[data-tip]"), x, y);
  }
  doc.addEventListener("pointermove", function (ev) {
    over(ev.target instanceof Element ? ev.target : null, ev.clientX, ev.clientY);
  });
  doc.addEventListener("pointerleave", function () { over(null, 0, 0); });
  doc.addEventListener("focusin", function (ev) {
    var el = ev.target instanceof Element ? ev.target : null;
    var r = el ? el.getBoundingClientRect() : null;
    over(el, r ? r.left : 0, r ? r.bottom : 0);
  });
  doc.addEventListener("focusout", function () { over(null, 0, 0); });
  root.setAttribute("data-js", "ready");
})();"""

_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
_CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_JS_HASH}'; "
    "style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
