// microgov classroom view: controls, one run per click, playback of its days.
//
// The page asks /api/config for its controls, posts the settings to /api/run and plays
// the answer back day by day: the governance network and the grids coloured by open
// cases or trust, the residents' trust distribution, and a cursor on the daily charts.
// For automated checks it keeps <div id="render-marker" data-state data-runs data-day>:
// loading → ready (controls built) → running → done (results drawn) or error (the server
// refused the settings, a link had bad values, or the server could not be reached);
// js-error when a script error happened.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const PLAY_INTERVAL_MS = 90;
const LABEL_LIMIT = 60;  // more nodes or tiles than this: no labels (they would overlap)
const LINK_EXTRAS = { autorun: ["1", "0"], colour: ["backlog", "trust"] };
const $ = (id) => document.getElementById(id);
const state = {
  config: null, current: null, previous: null, runs: 0, busy: false,
  frame: 0, timer: null,
};

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
    const node = document.querySelector(`.control[data-name="${name}"]`);
    if (node) node.classList.add("invalid");
  }
}
function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
  for (const node of document.querySelectorAll(".control.invalid")) {
    node.classList.remove("invalid");
  }
}
window.addEventListener("error", (event) => {
  showError("Page error: " + event.message, []);
  setMarker("js-error");
});
window.addEventListener("unhandledrejection", (event) => {
  showError("Page error: " + ((event.reason && event.reason.message) || event.reason), []);
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
function fmt(value, digits) {
  return Number(value).toLocaleString("en", {
    minimumFractionDigits: digits, maximumFractionDigits: digits });
}

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
        input.addEventListener("input", () => showValue(c.name));
      }
    }
    input.id = "in-" + c.name;
    input.name = c.name;
    box.appendChild(input);
    if (c.name === "staff_multiplier") {
      const count = document.createElement("small");
      count.id = "staff-count";
      count.className = "head-count";
      box.appendChild(count);
    }
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
function showValue(name) {
  const out = $("out-" + name);
  if (out) out.textContent = $("in-" + name).value;
  if (name === "staff_multiplier") showStaffCount();
}
// The staffing parameter is staff per 100k residents; show what it means here.
function staffCount(multiplier) {
  const residents = state.config.scenario.residents;
  let total = 0;
  for (const per100k of Object.values(state.config.staff_per_100k_residents)) {
    total += per100k * multiplier * residents / 100000;
  }
  return total;
}
function showStaffCount() {
  const multiplier = Number($("in-staff_multiplier").value);
  const residents = state.config.scenario.residents;
  const departments = Object.keys(state.config.staff_per_100k_residents).length;
  $("staff-count").textContent =
    `= ${fmt(staffCount(multiplier), 1)} department staff in ${departments} departments ` +
    `for ${residents.toLocaleString("en")} residents`;
}
function setValue(name, value) {
  const input = $("in-" + name);
  if (!input) return;
  input.value = value;
  showValue(name);
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

// ---------------------------------------------------------------- shared links
// A link names controls and values; anything the view does not know is refused with
// what is allowed, never silently replaced by a default.
function linkProblems(query, config) {
  const problems = [];
  const byName = {};
  for (const c of config.controls) byName[c.name] = c;
  const known = [...Object.keys(byName), ...Object.keys(LINK_EXTRAS)];
  for (const [name, value] of query.entries()) {
    const c = byName[name];
    if (LINK_EXTRAS[name]) {
      if (!LINK_EXTRAS[name].includes(value)) {
        problems.push([name, `${name} = '${value}' is not allowed; allowed: ` +
                             LINK_EXTRAS[name].join(", ")]);
      }
    } else if (!c) {
      problems.push([null, `'${name}' is not a setting of this view; allowed: ` +
                           known.join(", ")]);
    } else if (c.kind === "select") {
      if (!c.options.includes(value)) {
        problems.push([name, `${name} = '${value}' is not allowed; allowed: ` +
                             c.options.join(", ")]);
      }
    } else {
      const number = value.trim() === "" ? NaN : Number(value);
      const whole = c.kind === "integer";
      const range = `${whole ? "a whole number" : "a number"} from ${c.minimum} to ${c.maximum}`;
      if (!Number.isFinite(number) || number < c.minimum || number > c.maximum ||
          (whole && !Number.isInteger(number))) {
        problems.push([name, `${name} = '${value}' is not allowed; allowed: ${range}`]);
      }
    }
  }
  return problems;
}
function shareLink(settings) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(settings)) {
    if (value !== null && value !== undefined) query.set(name, String(value));
  }
  query.set("autorun", "1");
  return "?" + query.toString();
}

// ---------------------------------------------------------------- running
async function run() {
  if (state.busy || !state.config) return;
  state.busy = true;
  pause();
  $("run").disabled = true;
  hideError();
  setStatus("Running …");
  setMarker("running");
  try {
    const settings = gatherSettings();
    const response = await fetch("/api/run", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settings),
    });
    let data;
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      showError(data.error || `The server answered HTTP ${response.status}.`, data.fields);
      setStatus(response.status === 400 ? "Nothing was run: fix the setting above."
                                        : "The run did not finish.");
      setMarker("error");
      return;
    }
    state.previous = state.current;
    state.current = data;
    state.runs += 1;
    state.frame = data.frames.day.length - 1;  // the end first; Play starts from day 1
    $("share").href = shareLink(settings);
    $("share").hidden = false;
    render();
    const seeds = data.settings.seeds > 1 ? ` × ${data.settings.seeds} seeds` : "";
    setStatus(`Run ${state.runs} done: ${data.settings.days} days${seeds} in ` +
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

// ---------------------------------------------------------------- playback
function frameCount() { return state.current ? state.current.frames.day.length : 0; }
function showFrame(index) {
  state.frame = Math.max(0, Math.min(frameCount() - 1, index));
  const frames = state.current.frames;
  const day = frames.day[state.frame];
  $("day-slider").value = String(state.frame);
  $("day-label").textContent = `day ${day} of ${state.current.settings.days}`;
  $("render-marker").dataset.day = String(day);
  drawNetwork();
  drawGridMap();
  drawHistogram();
  for (const id of ["chart-backlog", "chart-trust", "chart-closed"]) moveCursor($(id), day);
}
function play() {
  if (!state.current || state.timer !== null) return;
  if (state.frame >= frameCount() - 1) showFrame(0);
  state.timer = window.setInterval(() => {
    if (state.frame >= frameCount() - 1) { pause(); return; }
    showFrame(state.frame + 1);
  }, PLAY_INTERVAL_MS);
  $("play").textContent = "❚❚ Pause";
}
function pause() {
  if (state.timer !== null) window.clearInterval(state.timer);
  state.timer = null;
  $("play").textContent = "▶ Play";
}
function togglePlay() { if (state.timer === null) play(); else pause(); }
function step() {
  pause();
  if (state.current) showFrame(state.frame + 1);
}

// ---------------------------------------------------------------- drawing
function render() {
  if (!state.current) return;
  describeRuns();
  const slider = $("day-slider");
  slider.max = String(frameCount() - 1);
  for (const id of ["play", "step", "day-slider"]) $(id).disabled = false;
  // Say what the playback shows when it is not every day of every seed.
  const s = state.current.settings;
  const gap = Math.round(s.days / Math.max(frameCount() - 1, 1));
  const notes = [];
  if (frameCount() < s.days) notes.push(`about every ${gap} days`);
  if (s.seeds > 1) notes.push(`seed ${s.seed} of ${s.seed}–${s.seed + s.seeds - 1}`);
  $("playback-note").textContent = notes.length ? `(${notes.join("; ")})` : "";
  $("step").title = frameCount() < s.days ? "to the next frame" : "one day further";
  state.scales = colourScales();
  lineChart($("chart-backlog"), "backlog", { yLabel: "open cases", zero: true });
  lineChart($("chart-trust"), "trust_mean", { yLabel: "mean trust (0–1)", zero: false });
  lineChart($("chart-closed"), "cases_closed_per_day",
            { yLabel: "cases per day", zero: true, smooth: 7 });
  drawLegend();
  fillTable();
  showFrame(state.frame);
}
function describe(data) {
  const s = data.settings;
  const parts = [`routing ${s.routing}`, `consultation ${s.consultation}`,
                 `staff ×${fmt(s.staff_multiplier, 2)} (${fmt(staffCount(s.staff_multiplier), 1)})`,
                 `accuracy ${fmt(s.classification_accuracy, 2)}`,
                 `hand-off ${s.handoff_delay_hours} h`];
  if (s.invitations_per_member !== null && s.invitations_per_member !== undefined) {
    parts.push(`invitations ${s.invitations_per_member}`);
  }
  // the other policy families only when they differ from the scenario's own
  for (const family of ["accountability", "organisation", "mediation", "projects"]) {
    if (s[family] !== undefined && s[family] !== state.config.defaults[family]) {
      parts.push(`${family} ${s[family]}`);
    }
  }
  parts.push(`${s.days} days`,
             s.seeds > 1 ? `seeds ${s.seed}–${s.seed + s.seeds - 1}` : `seed ${s.seed}`);
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
  const warning = $("seed-warning");
  const single = rows.filter(([, , data]) => data.settings.seeds === 1).length;
  warning.hidden = !(showPrevious() && single > 0);
  warning.textContent = "⚠ One seed per run: a difference between the two runs may be " +
    "chance. Set Seeds to 3 or more to see the spread as a band.";
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
function smoothed(values, smooth) {
  if (!smooth) return values;
  return values.map((v, i) => {
    if (v === null) return null;
    let sum = 0, n = 0;
    for (let j = Math.max(0, i - smooth + 1); j <= i; j++) {
      if (values[j] !== null) { sum += values[j]; n += 1; }
    }
    return n ? sum / n : null;
  });
}
function chartLines(data, key, smooth) {
  const days = data.timeseries.day;
  const mean = smoothed(data.timeseries[key] || [], smooth);
  const band = data.bands[key];
  const low = band ? smoothed(band.low, smooth) : null;
  const high = band ? smoothed(band.high, smooth) : null;
  return { days, mean, low, high };
}
function lineChart(svg, key, opts) {
  clear(svg);
  const W = 420, H = 200, m = { l: 52, r: 12, t: 8, b: 34 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const runs = [["current", state.current]];
  if (showPrevious()) runs.unshift(["previous", state.previous]);
  const lines = runs.map(([cls, data]) => [cls, chartLines(data, key, opts.smooth)]);
  let xmax = 1, ymin = Infinity, ymax = -Infinity;
  for (const [, line] of lines) {
    xmax = Math.max(xmax, line.days[line.days.length - 1] || 1);
    for (const values of [line.mean, line.low, line.high]) {
      for (const y of values || []) {
        if (y !== null) { ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); }
      }
    }
  }
  if (!Number.isFinite(ymin)) { ymin = 0; ymax = 1; }
  if (opts.zero) ymin = Math.min(0, ymin);
  if (ymax - ymin < 1e-9) ymax = ymin + (opts.zero ? 1 : 0.01);
  const yt = ticks(ymin, ymax, 4);
  ymin = yt.values[0];
  ymax = yt.values[yt.values.length - 1];
  const xt = ticks(0, xmax, 5);
  xt.values = xt.values.filter((v) => v <= xmax);  // the axis ends on the last day
  const sx = (x) => m.l + (x / xmax) * (W - m.l - m.r);
  const sy = (y) => H - m.b - ((y - ymin) / (ymax - ymin)) * (H - m.t - m.b);
  for (const v of yt.values) {
    el("line", { class: "gridline", x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v) }, svg);
    el("text", { x: m.l - 6, y: sy(v) + 4, "text-anchor": "end" }, svg, v.toFixed(yt.digits));
  }
  for (const v of xt.values) {
    el("line", { class: "axis", x1: sx(v), x2: sx(v), y1: H - m.b, y2: H - m.b + 4 }, svg);
    el("text", { x: sx(v), y: H - m.b + 15, "text-anchor": "middle" }, svg, String(v));
  }
  el("line", { class: "axis", x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, svg);
  el("line", { class: "axis", x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, svg);
  el("text", { x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle" }, svg, "day");
  el("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle",
               transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, svg, opts.yLabel);
  for (const [cls, line] of lines) {
    if (line.low && line.high) {
      let d = "";
      line.days.forEach((x, i) => {
        if (line.high[i] !== null) d += `${d ? "L" : "M"}${sx(x).toFixed(1)},${sy(line.high[i]).toFixed(1)}`;
      });
      for (let i = line.days.length - 1; i >= 0; i--) {
        if (line.low[i] !== null) d += `L${sx(line.days[i]).toFixed(1)},${sy(line.low[i]).toFixed(1)}`;
      }
      if (d) el("path", { class: "band " + cls, d: d + "Z" }, svg);
    }
    let d = "", pen = "M";
    line.days.forEach((x, i) => {
      const y = line.mean[i];
      if (y === null) { pen = "M"; return; }
      d += `${pen}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = "L";
    });
    if (d) el("path", { class: "series " + cls, d }, svg);
  }
  const cursor = el("line", { class: "cursor", y1: m.t, y2: H - m.b, x1: m.l, x2: m.l }, svg);
  svg.cursorAt = (day) => {
    cursor.setAttribute("x1", sx(day));
    cursor.setAttribute("x2", sx(day));
  };
}
function moveCursor(svg, day) { if (svg.cursorAt) svg.cursorAt(day); }

// Colours. Open cases: light yellow → dark red, relative to the most at the same level over
// the run (sums grow up the tree). Trust: red → white → blue over the lowest to highest value
// shown (a relative scale: the differences are often small), said so in the legend.
function mix(stops, t) {
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  return `rgb(${stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f)).join(",")})`;
}
const BACKLOG_STOPS = [[255, 247, 188], [254, 178, 76], [189, 0, 38]];
const TRUST_STOPS = [[214, 96, 77], [247, 247, 247], [67, 147, 195]];
function colourScales() {
  const frames = state.current.frames;
  const nodes = state.current.network.nodes;
  const levelMax = {};
  let lo = Infinity, hi = -Infinity;
  for (let f = 0; f < frames.day.length; f++) {
    nodes.forEach((n, i) => {
      const b = frames.backlog[f][i];
      if (b !== null) levelMax[n.level] = Math.max(levelMax[n.level] || 0, b);
      const t = frames.trust[f][i];
      if (t !== null) { lo = Math.min(lo, t); hi = Math.max(hi, t); }
    });
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-6) { lo -= 0.005; hi += 0.005; }
  return { levelMax, trustLow: lo, trustHigh: hi };
}
function colourMode() { return document.querySelector('input[name="colour"]:checked').value; }
function fillFor(mode, level, value) {
  if (value === null || value === undefined) return "#cbd2d9";
  const s = state.scales;
  if (mode === "backlog") {
    return mix(BACKLOG_STOPS, s.levelMax[level] > 0 ? value / s.levelMax[level] : 0);
  }
  return mix(TRUST_STOPS, (value - s.trustLow) / (s.trustHigh - s.trustLow));
}
function inkFor(fill) {  // dark text on light fills, white on dark ones
  const [r, g, b] = fill.match(/\d+/g).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#1f2933" : "#ffffff";
}
function valueText(mode, value) {
  if (value === null || value === undefined) return "";
  return mode === "backlog" ? String(Math.round(value)) : value.toFixed(2);
}
function shortName(n) {
  if (n.level === "department") return n.name.split(/[_ ]/)[0];
  return n.name;
}
function drawLegend() {
  const svg = $("legend");
  clear(svg);
  const W = 640, H = 34;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const mode = colourMode();
  const stops = mode === "backlog" ? BACKLOG_STOPS : TRUST_STOPS;
  const x0 = 4, width = 150, steps = 30;
  for (let i = 0; i < steps; i++) {
    el("rect", { x: x0 + (i * width) / steps, y: 2, width: width / steps + 0.5, height: 12,
                 fill: mix(stops, i / (steps - 1)) }, svg);
  }
  const s = state.scales;
  const [low, high, text] = mode === "backlog"
    ? ["0", "most", "open cases (number in each circle), relative to the unit with the most " +
       "at the same level during the run; departments: queue + in hand"]
    : [s.trustLow.toFixed(3), s.trustHigh.toFixed(3), "mean trust of the residents on a " +
       "relative scale: lowest to highest value shown, not 0 to 1; departments have no residents"];
  el("text", { x: x0, y: 27 }, svg, low);
  el("text", { x: x0 + width, y: 27, "text-anchor": "end" }, svg, high);
  const cut = text.length > 72 ? text.lastIndexOf(" ", 72) : text.length;
  el("text", { x: x0 + width + 10, y: 12, class: "legend-text" }, svg, text.slice(0, cut));
  el("text", { x: x0 + width + 10, y: 27, class: "legend-text" }, svg, text.slice(cut + 1));
}
function levelRadii(nodes, at, largest) {  // per level: neighbours' circles must not overlap
  const rows = {};
  for (const n of nodes) (rows[n.level] = rows[n.level] || []).push(at[n.id][0]);
  const radii = {};
  for (const [y, xs] of Object.entries(rows)) {
    xs.sort((a, b) => a - b);
    let gap = Infinity;
    for (let i = 1; i < xs.length; i++) gap = Math.min(gap, xs[i] - xs[i - 1]);
    radii[y] = Math.max(2, Math.min(largest, 0.45 * gap));
  }
  return radii;
}
function drawNetwork() {
  const svg = $("network");
  clear(svg);
  const data = state.current;
  const nodes = data.network.nodes;
  const W = 640, H = 330, padX = 30, padTop = 16, padBottom = 40;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const mode = colourMode();
  const values = data.frames[mode][state.frame];
  const backlog = data.frames.backlog[state.frame];
  const trust = data.frames.trust[state.frame];
  const at = {};
  for (const n of nodes) {
    at[n.id] = [padX + n.x * (W - 2 * padX), padTop + n.y * (H - padTop - padBottom)];
  }
  for (const [a, b] of data.network.edges) {
    if (!at[a] || !at[b]) continue;
    el("line", { class: "edge", x1: at[a][0], y1: at[a][1], x2: at[b][0], y2: at[b][1] }, svg);
  }
  const labels = nodes.length <= LABEL_LIMIT;
  const radii = levelRadii(nodes, at, labels ? 12 : 8);
  // Neighbours in one row closer than a label's width take turns on two label lines.
  const rowIndex = {};
  nodes.forEach((n, i) => {
    const fill = fillFor(mode, n.level, values[i]);
    const [x, y] = at[n.id];
    const radius = radii[n.level];
    const circle = el("circle", { class: "node", cx: x, cy: y, r: radius, fill,
                                  "data-id": n.id, "data-level": n.level }, svg);
    const b = backlog[i] === null ? "n/a" : String(backlog[i]);
    const t = trust[i] === null ? "n/a" : trust[i].toFixed(3);
    el("title", {}, circle, `${n.name} (${n.level}): ${b} open cases, trust ${t}`);
    if (!labels) return;
    const value = el("text", { x, y: y + 3.5, "text-anchor": "middle", class: "node-value" },
                     svg, valueText(mode, values[i]));
    value.style.fill = inkFor(fill);  // CSSOM: allowed by the page's style-src 'self'

    const key = n.y.toFixed(3);
    const k = rowIndex[key] = (rowIndex[key] === undefined ? 0 : rowIndex[key] + 1);
    const stagger = n.level === "department" && k % 2 === 1 ? 12 : 0;
    el("text", { x, y: y + radius + 12 + stagger, "text-anchor": "middle", class: "node-name" },
       svg, shortName(n));
  });
}
function gridBlocks() {  // grids grouped by their community (from the network's edges)
  const nodes = state.current.network.nodes;
  const level = {};
  for (const n of nodes) level[n.id] = n.level;
  const communityOf = {};
  for (const [a, b] of state.current.network.edges) {
    if (level[a] === "grid" && level[b] === "community") communityOf[a] = b;
    if (level[b] === "grid" && level[a] === "community") communityOf[b] = a;
  }
  const blocks = new Map();
  nodes.forEach((n, i) => {
    if (n.level !== "grid") return;
    const key = communityOf[n.id] || "";
    if (!blocks.has(key)) blocks.set(key, []);
    blocks.get(key).push([n, i]);
  });
  return [...blocks.values()];
}
function drawGridMap() {
  const svg = $("grid-map");
  clear(svg);
  const W = 360, H = 190;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const mode = colourMode();
  const values = state.current.frames[mode][state.frame];
  const blocks = gridBlocks();
  if (!blocks.length) return;
  const size = Math.max(...blocks.map((b) => b.length));
  const cols = Math.ceil(Math.sqrt(size * 1.5));
  const rows = Math.ceil(size / cols);
  const blockCols = Math.ceil(Math.sqrt(blocks.length));
  const blockRows = Math.ceil(blocks.length / blockCols);
  const gap = 8;
  const tile = Math.min((W - gap * (blockCols - 1)) / (blockCols * cols),
                        (H - gap * (blockRows - 1)) / (blockRows * rows));
  const labels = blocks.reduce((sum, b) => sum + b.length, 0) <= LABEL_LIMIT && tile >= 40;
  const left = (W - blockCols * cols * tile - gap * (blockCols - 1)) / 2;
  blocks.forEach((block, bi) => {
    const bx = left + (bi % blockCols) * (cols * tile + gap);
    const by = Math.floor(bi / blockCols) * (rows * tile + gap);
    block.forEach(([n, i], k) => {
      const x = bx + (k % cols) * tile, y = by + Math.floor(k / cols) * tile;
      const fill = fillFor(mode, "grid", values[i]);
      const rect = el("rect", { class: "tile", x, y, width: tile, height: tile, fill,
                                "data-id": n.id }, svg);
      const frames = state.current.frames;
      const b = frames.backlog[state.frame][i], t = frames.trust[state.frame][i];
      el("title", {}, rect, `${n.name}: ${b} open cases, trust ${t === null ? "n/a" : t.toFixed(3)}`);
      if (!labels) return;
      const ink = inkFor(fill);
      const name = el("text", { x: x + tile / 2, y: y + tile / 2 - 3, "text-anchor": "middle",
                                class: "tile-name" }, svg, n.name);
      const value = el("text", { x: x + tile / 2, y: y + tile / 2 + 12, "text-anchor": "middle",
                                 class: "tile-value" }, svg,
                       mode === "backlog" ? `${Math.round(values[i])} open`
                                          : `trust ${valueText(mode, values[i])}`);
      name.style.fill = ink;
      value.style.fill = ink;
    });
  });
}
function drawHistogram() {
  const svg = $("trust-histogram");
  clear(svg);
  const W = 360, H = 170, m = { l: 40, r: 8, t: 8, b: 30 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const frames = state.current.frames;
  const bins = state.current.trust_bins;
  const share = (counts) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return counts.map((c) => (100 * c) / total);
  };
  const now = share(frames.trust_histogram[state.frame]);
  const first = share(frames.trust_histogram[0]);
  let top = 0;
  for (let f = 0; f < frames.day.length; f++) {
    top = Math.max(top, ...share(frames.trust_histogram[f]));
  }
  const yt = ticks(0, Math.max(top, 1), 3);
  const ymax = yt.values[yt.values.length - 1];
  const sx = (x) => m.l + x * (W - m.l - m.r);
  const sy = (y) => H - m.b - (y / ymax) * (H - m.t - m.b);
  for (const v of yt.values) {
    el("line", { class: "gridline", x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v) }, svg);
    el("text", { x: m.l - 5, y: sy(v) + 4, "text-anchor": "end" }, svg, `${v}%`);
  }
  now.forEach((v, i) => {
    el("rect", { class: "bar", x: sx(i / bins) + 0.5, y: sy(v), width: (W - m.l - m.r) / bins - 1,
                 height: Math.max(0, sy(0) - sy(v)) }, svg);
  });
  let d = `M${sx(0)},${sy(0)}`;
  first.forEach((v, i) => { d += `L${sx(i / bins)},${sy(v)}L${sx((i + 1) / bins)},${sy(v)}`; });
  el("path", { class: "first-day", d: d + `L${sx(1)},${sy(0)}` }, svg);
  el("line", { class: "axis", x1: m.l, x2: W - m.r, y1: sy(0), y2: sy(0) }, svg);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    el("text", { x: sx(v), y: H - m.b + 14, "text-anchor": "middle" }, svg, String(v));
  }
  el("text", { x: (m.l + W - m.r) / 2, y: H - 3, "text-anchor": "middle" }, svg,
     "trust (0–1) · bars: residents on the day shown");
}
function formatValue(row, value) {
  if (value === null || value === undefined) return "n/a";
  return fmt(value * row.scale, row.digits);
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
    const cells = [[row, row.label, ""], [row, row.unit, ""], [row, null, "num"]];
    let change = null;
    const old = previous[row.name];
    if (withPrevious) {
      cells.push([old, null, "num"]);
      let text = "n/a";
      const oldValue = old ? old.value : null;
      if (row.value !== null && oldValue !== null && oldValue !== undefined) {
        change = Number(((row.value - oldValue) * row.scale).toFixed(row.digits));
        text = (change > 0 ? "+" : "") + fmt(change, row.digits);
      }
      cells.push([row, text, "num"]);
    }
    cells.forEach(([source, text, cls], i) => {
      const td = document.createElement("td");
      if (text !== null) {
        td.textContent = text;
      } else {
        td.textContent = source ? formatValue(row, source.value) : "n/a";
        if (source && source.low !== null && source.low !== undefined) {
          const range = document.createElement("span");
          range.className = "range";
          range.textContent = ` (${formatValue(row, source.low)}–${formatValue(row, source.high)})`;
          td.appendChild(range);
        }
      }
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
  const problems = linkProblems(query, state.config);
  for (const c of state.config.controls) {
    if (query.has(c.name) && !problems.some(([name]) => name === c.name)) {
      setValue(c.name, query.get(c.name));
    }
  }
  if (query.get("colour") === "trust") {
    document.querySelector('input[name="colour"][value="trust"]').checked = true;
  }
  if (query.has("consultation") && !query.has("invitations_per_member")) {
    const value = state.config.invitations_defaults[$("in-consultation").value];
    if (value !== null && value !== undefined) setValue("invitations_per_member", value);
  }
  updateVisibility();
  showStaffCount();
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("keep").addEventListener("change", render);
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", step);
  $("day-slider").addEventListener("input", () => {
    pause();
    showFrame(Number($("day-slider").value));
  });
  for (const radio of document.querySelectorAll('input[name="colour"]')) {
    radio.addEventListener("change", () => {
      if (state.current) { drawLegend(); showFrame(state.frame); }
    });
  }
  $("run").disabled = false;
  if (problems.length) {
    showError("This link has values the view does not know, so nothing was run:\n" +
              problems.map(([, text]) => "• " + text).join("\n"),
              problems.map(([name]) => name).filter((name) => name));
    setStatus("Fix the link, or choose the settings here and press Run.");
    setMarker("error");
    return;
  }
  setMarker("ready");
  if (query.get("autorun") === "1") run();
}
document.addEventListener("DOMContentLoaded", () => {
  start().catch((err) => {
    showError("Cannot start: " + err.message + ". Is `microgov view` still running?", []);
    setMarker("error");
  });
});
