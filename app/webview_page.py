"""The classroom view's page: one self-contained HTML document (inline CSS, JS and SVG).

Nothing is loaded from elsewhere (no CDN; the class may be offline). The page asks
``/api/config`` for its controls, posts the settings to ``/api/run`` and draws the
results: backlog, trust and closings over time, the outcomes table and the governance
network coloured by backlog or trust, each beside the previous run.

For automated checks it keeps ``<div id="render-marker" data-state=… data-runs=…>``:
``loading`` → ``ready`` (controls built) → ``running`` → ``done`` (results drawn) or
``error`` (the server refused the settings or could not be reached); ``js-error`` when a
script error happened. ``?autorun=1`` runs once on load; other query parameters named
like a control (``?routing=integrated&days=90``) preset it.
"""

from __future__ import annotations

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>microgov — classroom view</title>
<link rel="icon" href="data:,">
<style>
  :root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #1f5fa8;
          --prev: #8a94a3; --bad: #b42318; --good: #1a7f37; --panel: #f5f7fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: var(--ink); background: #fff; }
  header { padding: 10px 18px; border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { font-size: 18px; margin: 0; display: inline; }
  header .scenario { color: var(--muted); margin-left: 10px; }
  main { display: grid; grid-template-columns: 300px 1fr; gap: 18px; padding: 14px 18px; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
  form { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
         padding: 12px; align-self: start; }
  .control { margin-bottom: 12px; }
  .control label { display: flex; justify-content: space-between; font-weight: 600; }
  .control output { font-weight: 400; font-variant-numeric: tabular-nums; }
  .control input[type=range], .control select, .control input[type=number] { width: 100%; }
  .control small { color: var(--muted); display: block; }
  .control.invalid { outline: 2px solid var(--bad); outline-offset: 3px; border-radius: 3px; }
  .control[hidden] { display: none; }
  button { font: inherit; font-weight: 600; padding: 8px 18px; border-radius: 5px; border: 0;
           background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled { background: var(--prev); cursor: progress; }
  #status { color: var(--muted); min-height: 1.4em; }
  #error { color: var(--bad); background: #fef3f2; border: 1px solid #fecdca; border-radius: 5px;
           padding: 8px; white-space: pre-wrap; }
  .runs { margin: 0 0 10px; }
  .runs p { margin: 2px 0; }
  .swatch { display: inline-block; width: 22px; height: 0; border-top: 3px solid var(--accent);
            vertical-align: middle; margin-right: 6px; }
  .swatch.previous { border-top: 3px dashed var(--prev); }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr));
            gap: 12px; }
  figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
  figcaption { font-weight: 600; margin-bottom: 4px; }
  figure svg { width: 100%; height: auto; display: block; }
  svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
  .axis { stroke: var(--muted); stroke-width: 1; }
  .grid { stroke: var(--line); stroke-width: 1; }
  path.series { fill: none; stroke-width: 2; }
  path.current { stroke: var(--accent); }
  path.previous { stroke: var(--prev); stroke-dasharray: 5 4; }
  .edge { stroke: #bcccdc; stroke-width: 1.2; }
  .node { stroke: #52606d; stroke-width: 1; }
  .networks { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  @media (max-width: 1100px) { .networks { grid-template-columns: 1fr; } }
  .note { color: var(--muted); font-size: 12px; margin: 4px 0; }
  table { border-collapse: collapse; width: 100%; margin-top: 6px; }
  th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.better { color: var(--good); }
  td.worse { color: var(--bad); }
  section > h2 { font-size: 15px; margin: 16px 0 6px; }
</style>
</head>
<body data-state="loading">
<header>
  <h1>microgov — classroom view</h1>
  <span class="scenario" id="scenario-name"></span>
</header>
<main>
  <form id="controls" novalidate>
    <div id="control-list"></div>
    <p><button id="run" type="submit" disabled>Run</button></p>
    <p><label><input type="checkbox" id="keep" checked> compare with the previous run</label></p>
    <p id="status" role="status"></p>
    <div id="error" role="alert" hidden></div>
  </form>
  <section id="results" aria-live="polite">
    <div class="runs" id="runs"><p class="note">Choose the settings and press Run.</p></div>
    <div class="charts">
      <figure><figcaption>Backlog: open cases</figcaption>
        <svg id="chart-backlog" role="img" aria-label="backlog over time"></svg></figure>
      <figure><figcaption>Trust in the governance system</figcaption>
        <svg id="chart-trust" role="img" aria-label="mean trust over time"></svg></figure>
      <figure><figcaption>Cases closed per day (7-day average)</figcaption>
        <svg id="chart-closed" role="img" aria-label="cases closed per day"></svg></figure>
    </div>
    <h2>Governance network</h2>
    <p class="note">
      Colour by
      <label><input type="radio" name="colour" value="backlog" checked> backlog</label>
      <label><input type="radio" name="colour" value="trust"> trust</label>
      — <span id="network-note"></span>
    </p>
    <div class="networks">
      <figure><figcaption>This run</figcaption>
        <svg id="network-current" role="img" aria-label="governance network"></svg></figure>
      <figure id="network-previous-box" hidden><figcaption>Previous run</figcaption>
        <svg id="network-previous" role="img" aria-label="previous governance network"></svg>
      </figure>
    </div>
    <h2>Key outcomes</h2>
    <table id="outcomes">
      <thead><tr><th>Outcome</th><th>Unit</th><th class="num">This run</th>
        <th class="num prev-col">Previous run</th><th class="num prev-col">Change</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<div id="render-marker" data-state="loading" data-runs="0" hidden></div>
<script>
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { config: null, current: null, previous: null, runs: 0, busy: false };

function setMarker(value) {
  $("render-marker").dataset.state = value;
  document.body.dataset.state = value;
}
function setStatus(text) { $("status").textContent = text; }
function showError(text, fields) {
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  for (const name of fields || []) {
    const el = document.querySelector(`.control[data-name="${name}"]`);
    if (el) el.classList.add("invalid");
  }
}
function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
  for (const el of document.querySelectorAll(".control.invalid")) el.classList.remove("invalid");
}
window.addEventListener("error", (event) => {
  showError("Page error: " + event.message, []);
  setMarker("js-error");
});
window.addEventListener("unhandledrejection", (event) => {
  showError("Page error: " + (event.reason && event.reason.message || event.reason), []);
  setMarker("js-error");
});

function el(name, attrs, parent, text) {
  const node = document.createElementNS(SVGNS, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// ---------------------------------------------------------------- controls
function buildControls(config) {
  const list = $("control-list");
  clear(list);
  for (const c of config.controls) {
    const box = document.createElement("div");
    box.className = "control";
    box.dataset.name = c.name;
    const label = document.createElement("label");
    label.htmlFor = "in-" + c.name;
    label.textContent = c.label;
    box.appendChild(label);
    let input;
    if (c.kind === "select") {
      input = document.createElement("select");
      for (const option of c.options) {
        const o = document.createElement("option");
        o.value = option;
        o.textContent = option;
        input.appendChild(o);
      }
    } else {
      input = document.createElement("input");
      input.type = c.kind === "number" ? "range" : "number";
      input.min = c.minimum;
      input.max = c.maximum;
      input.step = c.step;
      if (c.kind === "number") {
        const out = document.createElement("output");
        out.id = "out-" + c.name;
        out.htmlFor = "in-" + c.name;
        label.appendChild(out);
        input.addEventListener("input", () => { out.textContent = input.value; });
      }
    }
    input.id = "in-" + c.name;
    input.name = c.name;
    box.appendChild(input);
    if (c.help) {
      const help = document.createElement("small");
      help.textContent = c.help;
      box.appendChild(help);
    }
    list.appendChild(box);
  }
  $("in-consultation").addEventListener("change", () => {
    const value = config.invitations_defaults[$("in-consultation").value];
    if (value !== null && value !== undefined) setValue("invitations_per_member", value);
    updateVisibility();
  });
  for (const [name, value] of Object.entries(config.defaults)) {
    if (value !== null) setValue(name, value);
  }
}
function setValue(name, value) {
  const input = $("in-" + name);
  if (!input) return;
  if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === String(value))) {
    return;
  }
  input.value = value;
  const out = $("out-" + name);
  if (out) out.textContent = input.value;
}
function hasInvitations() {
  const fields = state.config.consultation_fields[$("in-consultation").value] || [];
  return fields.includes("invitations_per_member");
}
function updateVisibility() {
  document.querySelector('.control[data-name="invitations_per_member"]').hidden =
    !hasInvitations();
}
function gatherSettings() {
  const settings = {};
  for (const c of state.config.controls) {
    if (c.name === "invitations_per_member" && !hasInvitations()) continue;
    const raw = $("in-" + c.name).value;
    if (c.kind === "select") { settings[c.name] = raw; continue; }
    const number = Number(raw);
    // A box left empty or unreadable goes as typed: the server says what is allowed.
    settings[c.name] = raw.trim() !== "" && Number.isFinite(number) ? number : raw;
  }
  return settings;
}

// ---------------------------------------------------------------- running
async function run() {
  if (state.busy || !state.config) return;
  state.busy = true;
  $("run").disabled = true;
  hideError();
  setStatus("Running …");
  setMarker("running");
  try {
    const response = await fetch("/api/run", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(gatherSettings()),
    });
    let data;
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      showError(data.error || `The server answered HTTP ${response.status}.`, data.fields);
      setStatus("Nothing was run: fix the setting above.");
      setMarker("error");
      return;
    }
    state.previous = state.current;
    state.current = data;
    state.runs += 1;
    render();
    setStatus(`Run ${state.runs} done: ${data.settings.days} days in ` +
              `${data.elapsed_seconds.toFixed(1)} s.`);
    $("render-marker").dataset.runs = String(state.runs);
    setMarker("done");
  } catch (err) {
    showError("Cannot reach the microgov server (" + err.message + "). " +
              "Is `microgov view` still running?", []);
    setStatus("");
    setMarker("error");
  } finally {
    state.busy = false;
    $("run").disabled = false;
  }
}
function showPrevious() { return Boolean(state.previous) && $("keep").checked; }

// ---------------------------------------------------------------- drawing
function render() {
  if (!state.current) return;
  describeRuns();
  lineChart($("chart-backlog"), "backlog", { yLabel: "open cases", zero: true });
  lineChart($("chart-trust"), "trust_mean", { yLabel: "mean trust (0–1)", zero: false });
  lineChart($("chart-closed"), "cases_closed_per_day",
            { yLabel: "cases per day", zero: true, smooth: 7 });
  drawNetworks();
  fillTable();
}
function describe(data) {
  const s = data.settings;
  const parts = [`routing ${s.routing}`, `consultation ${s.consultation}`,
                 `staff ×${Number(s.staff_multiplier).toFixed(2)}`,
                 `accuracy ${Number(s.classification_accuracy).toFixed(2)}`,
                 `hand-off ${s.handoff_delay_hours} h`];
  if (s.invitations_per_member !== null && s.invitations_per_member !== undefined) {
    parts.push(`invitations ${s.invitations_per_member}`);
  }
  parts.push(`${s.days} days`, `seed ${s.seed}`);
  return parts.join(" · ");
}
function describeRuns() {
  const box = $("runs");
  clear(box);
  const rows = [["current", "This run: ", state.current]];
  if (showPrevious()) rows.push(["previous", "Previous run: ", state.previous]);
  for (const [cls, title, data] of rows) {
    const p = document.createElement("p");
    const swatch = document.createElement("span");
    swatch.className = "swatch " + cls;
    p.appendChild(swatch);
    const b = document.createElement("b");
    b.textContent = title;
    p.appendChild(b);
    p.appendChild(document.createTextNode(describe(data)));
    box.appendChild(p);
  }
}
function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}
function ticks(lo, hi, count) {
  const step = niceStep(hi - lo, count);
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values = [];
  for (let v = start; v <= end + step / 2; v += step) values.push(Number(v.toFixed(digits)));
  return { values, digits };
}
function seriesPoints(data, key, smooth) {
  const days = data.timeseries.day;
  const values = data.timeseries[key] || [];
  const points = [];
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    if (smooth && v !== null) {
      let sum = 0, n = 0;
      for (let j = Math.max(0, i - smooth + 1); j <= i; j++) {
        if (values[j] !== null) { sum += values[j]; n += 1; }
      }
      v = n ? sum / n : null;
    }
    points.push([days[i], v]);
  }
  return points;
}
function lineChart(svg, key, opts) {
  clear(svg);
  const W = 460, H = 230, m = { l: 58, r: 14, t: 10, b: 40 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const runs = [["current", state.current]];
  if (showPrevious()) runs.unshift(["previous", state.previous]);
  const lines = runs.map(([cls, data]) => [cls, seriesPoints(data, key, opts.smooth)]);
  let xmax = 1, ymin = Infinity, ymax = -Infinity;
  for (const [, points] of lines) {
    for (const [x, y] of points) {
      xmax = Math.max(xmax, x);
      if (y !== null) { ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); }
    }
  }
  if (!Number.isFinite(ymin)) { ymin = 0; ymax = 1; }
  if (opts.zero) ymin = Math.min(0, ymin);
  if (ymax - ymin < 1e-9) ymax = ymin + (opts.zero ? 1 : 0.01);
  const yt = ticks(ymin, ymax, 5);
  ymin = yt.values[0];
  ymax = yt.values[yt.values.length - 1];
  const xt = ticks(0, xmax, 6);
  const xmaxTick = Math.max(xt.values[xt.values.length - 1], 1);
  const sx = (x) => m.l + (x / xmaxTick) * (W - m.l - m.r);
  const sy = (y) => H - m.b - ((y - ymin) / (ymax - ymin)) * (H - m.t - m.b);
  for (const v of yt.values) {
    el("line", { class: "grid", x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v) }, svg);
    el("text", { x: m.l - 6, y: sy(v) + 4, "text-anchor": "end" }, svg, v.toFixed(yt.digits));
  }
  for (const v of xt.values) {
    el("line", { class: "axis", x1: sx(v), x2: sx(v), y1: H - m.b, y2: H - m.b + 4 }, svg);
    el("text", { x: sx(v), y: H - m.b + 16, "text-anchor": "middle" }, svg, String(v));
  }
  el("line", { class: "axis", x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, svg);
  el("line", { class: "axis", x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, svg);
  el("text", { x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle" }, svg, "day");
  el("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle",
               transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, svg, opts.yLabel);
  for (const [cls, points] of lines) {
    let d = "", pen = "M";
    for (const [x, y] of points) {
      if (y === null) { pen = "M"; continue; }
      d += `${pen}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = "L";
    }
    if (d) el("path", { class: "series " + cls, d }, svg);
  }
}
function colourBacklog(t) {  // light yellow → dark red
  const a = [255, 247, 188], b = [189, 0, 38];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * t)).join(",")})`;
}
function colourTrust(t) {  // 0 red, 0.5 white, 1 blue
  const low = [214, 96, 77], mid = [247, 247, 247], high = [67, 147, 195];
  const [a, b, u] = t < 0.5 ? [low, mid, t * 2] : [mid, high, (t - 0.5) * 2];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * u)).join(",")})`;
}
function colourMode() { return document.querySelector('input[name="colour"]:checked').value; }
function drawNetworks() {
  const mode = colourMode();
  const shown = [state.current];
  if (showPrevious()) shown.push(state.previous);
  const levelMax = {};  // one scale for both runs, per level (sums grow up the tree)
  for (const data of shown) {
    for (const n of data.network.nodes) {
      if (n.backlog !== null) levelMax[n.level] = Math.max(levelMax[n.level] || 0, n.backlog);
    }
  }
  networkChart($("network-current"), state.current, mode, levelMax);
  $("network-previous-box").hidden = !showPrevious();
  if (showPrevious()) networkChart($("network-previous"), state.previous, mode, levelMax);
  else clear($("network-previous"));
  $("network-note").textContent = mode === "backlog"
    ? "open cases; darker = more than the others at the same level " +
      "(community, street and centre add up their grids; departments: queue + in hand)"
    : "mean trust of the residents (red 0, white 0.5, blue 1); departments have no residents";
}
function networkChart(svg, data, mode, levelMax) {
  clear(svg);
  const W = 460, H = 250, pad = 26;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const nodes = data.network.nodes;
  const at = {};
  for (const n of nodes) at[n.id] = [pad + n.x * (W - 2 * pad), pad + n.y * (H - 2 * pad)];
  for (const [a, b] of data.network.edges) {
    if (!at[a] || !at[b]) continue;
    el("line", { class: "edge", x1: at[a][0], y1: at[a][1], x2: at[b][0], y2: at[b][1] }, svg);
  }
  const labels = nodes.length <= 60;
  const radius = Math.max(3, Math.min(9, 200 / Math.sqrt(nodes.length + 1)));
  for (const n of nodes) {
    const value = n[mode];
    let fill = "#cbd2d9";
    if (value !== null) {
      fill = mode === "backlog"
        ? colourBacklog(levelMax[n.level] > 0 ? value / levelMax[n.level] : 0)
        : colourTrust(Math.min(1, Math.max(0, value)));
    }
    const [x, y] = at[n.id];
    const circle = el("circle", { class: "node", cx: x, cy: y, r: radius, fill,
                                  "data-id": n.id, "data-level": n.level }, svg);
    const trust = n.trust === null ? "n/a" : n.trust.toFixed(3);
    const backlog = n.backlog === null ? "n/a" : String(n.backlog);
    el("title", {}, circle, `${n.name} (${n.level}): backlog ${backlog}, trust ${trust}`);
    if (labels && value !== null) {
      const text = mode === "backlog" ? String(Math.round(value)) : value.toFixed(2);
      el("text", { x, y: y + radius + 11, "text-anchor": "middle" }, svg, text);
    }
  }
}
function formatValue(row, value) {
  if (value === null || value === undefined) return "n/a";
  return (value * row.scale).toLocaleString("en", {
    minimumFractionDigits: row.digits, maximumFractionDigits: row.digits });
}
function fillTable() {
  const body = document.querySelector("#outcomes tbody");
  clear(body);
  const previous = {};
  const withPrevious = showPrevious();
  if (withPrevious) for (const row of state.previous.outcomes) previous[row.name] = row;
  for (const c of document.querySelectorAll("#outcomes .prev-col")) c.hidden = !withPrevious;
  for (const row of state.current.outcomes) {
    const tr = document.createElement("tr");
    tr.dataset.name = row.name;
    const cells = [[row.label, ""], [row.unit, ""], [formatValue(row, row.value), "num"]];
    let change = null;
    if (withPrevious) {
      const old = previous[row.name];
      const oldValue = old ? old.value : null;
      cells.push([formatValue(row, oldValue), "num"]);
      let text = "n/a";
      if (row.value !== null && oldValue !== null && oldValue !== undefined) {
        change = Number(((row.value - oldValue) * row.scale).toFixed(row.digits));
        text = (change > 0 ? "+" : "") + change.toLocaleString("en", {
          minimumFractionDigits: row.digits, maximumFractionDigits: row.digits });
      }
      cells.push([text, "num"]);
    }
    cells.forEach(([text, cls], i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      if (i === 4 && change && row.better) {
        td.classList.add((change < 0) === (row.better === "lower") ? "better" : "worse");
      }
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
}

// ---------------------------------------------------------------- start
async function start() {
  const response = await fetch("/api/config", { cache: "no-store" });
  if (!response.ok) throw new Error(`cannot load the controls (HTTP ${response.status})`);
  state.config = await response.json();
  const scenario = state.config.scenario;
  $("scenario-name").textContent =
    `${scenario.name} — ${scenario.residents.toLocaleString("en")} residents`;
  buildControls(state.config);
  const query = new URLSearchParams(window.location.search);
  for (const c of state.config.controls) {
    if (query.has(c.name)) setValue(c.name, query.get(c.name));
  }
  if (query.has("consultation") && !query.has("invitations_per_member")) {
    const value = state.config.invitations_defaults[$("in-consultation").value];
    if (value !== null && value !== undefined) setValue("invitations_per_member", value);
  }
  updateVisibility();
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("keep").addEventListener("change", render);
  for (const radio of document.querySelectorAll('input[name="colour"]')) {
    radio.addEventListener("change", () => { if (state.current) drawNetworks(); });
  }
  $("run").disabled = false;
  setMarker("ready");
  if (query.get("autorun") === "1") run();
}
start().catch((err) => {
  showError("Cannot start: " + err.message + ". Is `microgov view` still running?", []);
  setMarker("error");
});
</script>
</body>
</html>
"""
