"""The KPI report for people: one self-contained HTML page (inline CSS, data and script; no network at view time).

The KPI tables are rendered here, so they read without scripts; the charts are drawn in the browser by a small inline
script from the reports embedded as JSON (``<script type="application/json" id="kpi-data">``) into inline SVG:

* claims by state over time: one line per state, one point per day (``circle.point``);
* denials by category: two bars per category, denied and partly denied (``rect.bar``);
* denials by payer: two bars per payer key, remitted and denied (``rect.bar``);
* A/R aging by payer: one stacked bar per payer key, one segment per aging bucket (``rect.bar``).

The data is the report document: ids, payer keys, states, categories, counts and amounts; no patient data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

from claimbridge.reports.models import KpiReport

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2933; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #d9e2ec; padding: 0.3rem 0.8rem; text-align: left; }
td { font-variant-numeric: tabular-nums; }
td.num { text-align: right; } .muted { color: #7b8794; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 1.5rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 0.3rem; }
svg.chart { width: 100%; height: auto; background: #f8fafc; border: 1px solid #e4e7eb; }
svg.chart text { font-size: 11px; fill: #3e4c59; }
"""

# Drawn with DOM calls only (no innerHTML): every label from the data is set as text, never parsed as markup.
_SCRIPT = """
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
                "#65a30d", "#ea580c", "#0d9488", "#9333ea", "#475569"];
  var W = 480, H = 260, L = 48, R = 12, T = 16, B = 48;
  var reports = JSON.parse(document.getElementById("kpi-data").textContent);

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function text(parent, x, y, value, anchor) {
    var node = el("text", {x: x, y: y, "text-anchor": anchor || "start"}, parent);
    node.textContent = value;
    return node;
  }
  function frame(svg, max) {
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#9aa5b1"}, svg);
    el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#9aa5b1"}, svg);
    text(svg, L - 6, H - B + 4, "0", "end");
    text(svg, L - 6, T + 4, String(max), "end");
  }
  function scale(value, max) { return max > 0 ? (H - B - T) * value / max : 0; }
  function legend(svg, names) {
    names.forEach(function (name, i) {
      var x = L + (i % 4) * 108, y = H - 18 + Math.floor(i / 4) * 12;
      el("rect", {x: x, y: y - 8, width: 8, height: 8, fill: COLORS[i % COLORS.length], "class": "key"}, svg);
      text(svg, x + 11, y, name);
    });
  }
  function empty(svg, message) {
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    text(svg, W / 2, H / 2, message, "middle").setAttribute("class", "empty");
  }
  // groups: [{label, values: [n, ...]}]; series: names of the values; stacked or side by side
  function bars(svg, groups, series, stacked) {
    if (!groups.length) { empty(svg, "no data for the period"); return; }
    var max = 0;
    groups.forEach(function (g) {
      var total = g.values.reduce(function (a, b) { return a + b; }, 0);
      max = Math.max(max, stacked ? total : Math.max.apply(null, g.values));
    });
    max = Math.ceil(max) || 1;
    frame(svg, max);
    var slot = (W - L - R) / groups.length;
    var width = Math.max(4, (stacked ? slot * 0.6 : slot * 0.8 / series.length));
    groups.forEach(function (g, gi) {
      var x0 = L + gi * slot + (slot - (stacked ? width : width * series.length)) / 2, base = H - B;
      g.values.forEach(function (value, si) {
        var h = scale(value, max);
        var x = stacked ? x0 : x0 + si * width;
        var y = stacked ? base - h : H - B - h;
        var bar = el("rect", {x: x, y: y, width: width, height: h, fill: COLORS[si % COLORS.length], "class": "bar",
                              "data-series": series[si], "data-group": g.label, "data-value": value}, svg);
        el("title", {}, bar).textContent = g.label + " / " + series[si] + ": " + value;
        if (stacked) { base -= h; }
      });
      text(svg, L + gi * slot + slot / 2, H - B + 14, g.label, "middle");
    });
    legend(svg, series);
  }
  function lines(svg, days, states) {
    var names = Object.keys(states);
    if (!days.length || !names.length) { empty(svg, "no claims in the period"); return; }
    var max = 1;
    names.forEach(function (n) { states[n].forEach(function (v) { max = Math.max(max, v); }); });
    frame(svg, max);
    var step = days.length > 1 ? (W - L - R) / (days.length - 1) : 0;
    names.forEach(function (name, si) {
      var color = COLORS[si % COLORS.length];
      var points = states[name].map(function (v, i) { return [L + i * step, H - B - scale(v, max)]; });
      el("polyline", {points: points.map(function (p) { return p.join(","); }).join(" "), fill: "none",
                      stroke: color, "stroke-width": 2, "class": "line", "data-series": name}, svg);
      points.forEach(function (p, i) {
        var dot = el("circle", {cx: p[0], cy: p[1], r: 2.5, fill: color, "class": "point", "data-series": name}, svg);
        el("title", {}, dot).textContent = days[i] + " " + name + ": " + states[name][i];
      });
    });
    text(svg, L, H - B + 14, days[0], "start");
    text(svg, W - R, H - B + 14, days[days.length - 1], "end");
    legend(svg, names);
  }
  function draw(report, index) {
    var get = function (kind) { return document.getElementById("chart-" + kind + "-" + index); };
    var days = report.claims_by_state.map(function (p) { return p.day; });
    var states = {};
    report.claims_by_state.forEach(function (p) { Object.keys(p.counts).forEach(function (s) { states[s] = []; }); });
    report.claims_by_state.forEach(function (p) {
      Object.keys(states).forEach(function (s) { states[s].push(p.counts[s] || 0); });
    });
    lines(get("states"), days, states);
    var denials = report.remittance_denial_rate;
    bars(get("categories"), denials.by_category.map(function (c) {
      return {label: c.category, values: [c.denied, c.partially_denied]};
    }), ["denied", "partly denied"], false);
    bars(get("payers"), denials.by_payer.map(function (p) {
      return {label: p.payer, values: [p.remitted, p.denied]};
    }), ["remitted", "denied"], false);
    var buckets = report.ar_aging.total.buckets.map(function (b) { return b.bucket; });
    bars(get("aging"), report.ar_aging.by_payer.map(function (row) {
      return {label: row.payer, values: row.buckets.map(function (b) { return Number(b.amount); })};
    }), buckets, true);
  }
  reports.forEach(draw);
  document.body.setAttribute("data-charts", "drawn");
})();
"""


def _embedded_json(reports: Sequence[KpiReport]) -> str:
    """The reports as JSON safe inside ``<script>``: no ``</`` can close the element early."""
    data = json.dumps([report.model_dump(mode="json") for report in reports], separators=(",", ":"))
    return data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _cell(value: object, *, num: bool = False) -> str:
    shown = "—" if value is None else str(value)
    return f'<td class="num">{escape(shown)}</td>' if num else f"<td>{escape(shown)}</td>"


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f} %"


def _kpi_table(report: KpiReport) -> str:
    clean = report.clean_claim_rate
    first = report.first_pass_acceptance_rate
    denial = report.remittance_denial_rate
    dar = report.days_in_ar
    ncr = report.net_collection_rate
    over_90 = report.ar_aging.over_90
    rows = [
        ("Clean claim rate (CL-1)", _pct(clean.value), f"{clean.numerator} / {clean.denominator} claims", clean.reason),
        (
            "First-pass acceptance rate",
            _pct(first.value),
            f"{first.numerator} / {first.denominator} answered, {first.awaiting_answer} awaiting",
            first.reason,
        ),
        (
            "Remittance denial rate (AR-5)",
            _pct(denial.value),
            f"{denial.numerator} / {denial.denominator} remitted, {denial.partially_denied} partly denied",
            denial.reason,
        ),
        (
            "Days in A/R (gross)",
            None if dar.value is None else f"{dar.value:.2f}",
            f"{dar.balance} / ({dar.billed} / {dar.days} days)",
            dar.reason,
        ),
        (
            "A/R over 90 days (AR-1)",
            _pct(over_90.value),
            f"{over_90.numerator} / {over_90.denominator} open claims",
            over_90.reason,
        ),
        ("Net collection rate", _pct(ncr.value), f"{ncr.paid} / {ncr.expected} over {ncr.claims} claims", ncr.reason),
    ]
    body = "".join(
        f"<tr>{_cell(name)}{_cell(value, num=True)}{_cell(basis)}{_cell(reason or '')}</tr>"
        for name, value, basis, reason in rows
    )
    oldest = "".join(
        f"<tr>{_cell(item.state.value)}{_cell(item.age_days, num=True)}{_cell(item.claim_id)}"
        f"{_cell(item.claims, num=True)}</tr>"
        for item in report.oldest
    )
    return (
        '<table class="kpis"><thead><tr><th>KPI</th><th>value</th><th>from</th><th>note</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
        '<table class="oldest"><thead><tr><th>state</th><th>oldest (days in state)</th><th>claim id</th>'
        f"<th>claims in state</th></tr></thead><tbody>{oldest}</tbody></table>"
    )


def _aging_table(report: KpiReport) -> str:
    aging = report.ar_aging
    header = "".join(f"<th>{escape(b.bucket)}</th>" for b in aging.total.buckets)
    rows = "".join(
        f"<tr>{_cell(row.payer)}{''.join(_cell(b.amount, num=True) for b in row.buckets)}"
        f"{_cell(row.amount, num=True)}</tr>"
        for row in (*aging.by_payer, aging.total)
    )
    return (
        f'<table class="aging"><thead><tr><th>payer</th>{header}<th>open A/R</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _section(report: KpiReport, index: int) -> str:
    period = report.period
    charts = (
        ("states", "Claims by state (end of each day)"),
        ("categories", "Denials by category"),
        ("payers", "Remittances and denials by payer"),
        ("aging", "A/R aging by payer (days since first submission)"),
    )
    figures = "".join(
        f'<figure><figcaption>{escape(caption)}</figcaption><svg class="chart" id="chart-{kind}-{index}" '
        f'role="img" aria-label="{escape(caption)}"></svg></figure>'
        for kind, caption in charts
    )
    truncated = '<p class="muted">Only part of the claims was read (a state held more than the limit).</p>'
    return (
        f'<section class="tenant" data-tenant="{escape(report.tenant_id)}">'
        f"<h2>{escape(report.tenant_id)}</h2>"
        f'<p class="muted">{period.start} to {period.end} ({period.days} days); balances and ages as of '
        f"{escape(period.as_of.isoformat(timespec='minutes'))}; {report.claims} claims.</p>"
        f"{truncated if report.truncated else ''}"
        f"{_kpi_table(report)}<h3>Open A/R by payer</h3>{_aging_table(report)}"
        f'<div class="charts">{figures}</div></section>'
    )


def render_html(reports: Sequence[KpiReport], *, title: str = "Claimbridge revenue-cycle report") -> str:
    """One HTML document for ``reports`` (one section per tenant); nothing is fetched when it is opened."""
    sections = "".join(_section(report, index) for index, report in enumerate(reports))
    if not reports:
        sections = '<p class="muted">No enabled tenant.</p>'
    generated = max((r.generated_at for r in reports), default=None)
    stamp = f'<p class="muted">Generated {escape(generated.isoformat(timespec="minutes"))}.</p>' if generated else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{stamp}{sections}"
        f'<script type="application/json" id="kpi-data">{_embedded_json(reports)}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
