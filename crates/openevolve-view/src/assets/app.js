// openevolve view: the page over the JSON API. Plain browser JavaScript, no
// libraries: charts are SVG, the lineage tree is drawn on a canvas.
"use strict";

const $ = (sel) => document.querySelector(sel);
const SVG_NS = "http://www.w3.org/2000/svg";
// The outcomes that are failures, as the server names them.
const isFailure = (outcome) => !!state.summary && state.summary.failed_outcomes.includes(outcome);
const ISLAND_COLOURS = ["#3b5ba5", "#e07a2f", "#2a9d8f", "#b23a8f", "#7a9a2a", "#8c6d3f", "#4b8fd1", "#d14b5a"];

// Everything the page knows about the run; refreshed incrementally.
const state = {
  summary: null,
  version: null,
  programs: new Map(),     // id -> [id, iteration, island, fitness]  (score series)
  iterations: new Map(),   // iteration -> [iteration, island, outcome, child_id]
  nodes: new Map(),        // id -> tree node
  maxId: 0,
  maxIteration: -1,
  grid: null,
  fitnessRange: [0, 1],
};

// ---------------------------------------------------------------- helpers

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return x.toFixed(4).replace(/\.?0+$/, "");
}

function showError(err) {
  const box = $("#error");
  box.textContent = String(err && err.message ? err.message : err);
  box.hidden = false;
}

function clearError() { $("#error").hidden = true; }

// A perceptual-ish ramp from deep blue to warm yellow, by hand.
const RAMP = [[44, 30, 80], [59, 91, 165], [42, 157, 143], [156, 207, 90], [244, 211, 94]];
function colourFor(fitness) {
  if (fitness === null || fitness === undefined || Number.isNaN(fitness)) return "#b8bdc8";
  const [lo, hi] = state.fitnessRange;
  let t = hi > lo ? (fitness - lo) / (hi - lo) : 1;
  t = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  const c = RAMP[i].map((v, k) => Math.round(v + (RAMP[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

function placeTip(tip, wrap, event, text) {
  const box = wrap.getBoundingClientRect();
  tip.textContent = text;
  tip.hidden = false;
  const x = event.clientX - box.left + 14;
  const y = event.clientY - box.top + 10;
  tip.style.left = Math.min(x, box.width - tip.offsetWidth - 4) + "px";
  tip.style.top = y + "px";
}

// ---------------------------------------------------------------- header

function renderHeader() {
  const s = state.summary;
  if (!s) return;
  $("#run-name").textContent = s.name;
  let status;
  if (s.kind === "checkpoint") status = "checkpoint (snapshot)";
  else if (s.finished) {
    const reason = s.run_summary && s.run_summary.stop_reason && s.run_summary.stop_reason.reason;
    status = "finished" + (reason ? ": " + reason : "");
  } else status = "running or interrupted";
  $("#run-status").textContent = status;
  // With noisy scores, the best comes with its standard error and samples.
  const interval = (b) => b.fitness_stderr > 0 ? ` ± ${fmt(b.fitness_stderr)} (${b.samples} samples)` : "";
  const best = s.best ? `best ${fmt(s.best.fitness)}${interval(s.best)} (#${s.best.id})` : "no score yet";
  const failures = Object.entries(s.outcomes).filter(([k]) => isFailure(k)).reduce((n, [, v]) => n + v, 0);
  // What only the finished run's summary says: duplicates not evaluated, and
  // the model bandit's shares (llm.model_selection: ucb).
  const rs = s.run_summary || {};
  const saved = rs.evaluations_saved ? ` · ${rs.evaluations_saved} duplicates not evaluated` : "";
  const shares = rs.model_shares
    ? " · models " + Object.entries(rs.model_shares).map(([m, v]) => `${m} ${Math.round(100 * v)}%`).join(", ")
    : "";
  $("#run-stats").textContent =
    `${s.version.programs} programs · ${s.version.iterations} iterations · ${failures} failed · ${best}` +
    (s.usage.cost_usd ? ` · $${s.usage.cost_usd.toFixed(4)}` : "") + saved + shares;
  document.title = `${s.name} · openevolve view`;
}

function setLive(text, cls) {
  const live = $("#live");
  live.textContent = text;
  live.className = "badge " + cls;
}

// ---------------------------------------------------------------- score chart

function renderScoreChart() {
  const svg = $("#score-chart");
  const width = svg.clientWidth || 900;
  const height = svg.clientHeight || 300;
  const m = { left: 56, right: 16, top: 12, bottom: 44 };
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();

  const points = [...state.programs.values()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const iterations = [...state.iterations.values()];
  const scored = points.filter((p) => p[3] !== null);
  let maxIter = Math.max(1, ...points.map((p) => p[1]), ...iterations.map((i) => i[0]));
  let [ylo, yhi] = scored.length ? [Math.min(...scored.map((p) => p[3])), Math.max(...scored.map((p) => p[3]))] : [0, 1];
  if (yhi - ylo < 1e-12) { ylo -= 0.5; yhi += 0.5; }
  const pad = (yhi - ylo) * 0.06;
  ylo -= pad; yhi += pad;
  const failY = height - m.bottom + 16;  // failures sit in a band under the axis
  const X = (it) => m.left + (it / maxIter) * (width - m.left - m.right);
  const Y = (f) => m.top + (1 - (f - ylo) / (yhi - ylo)) * (height - m.top - m.bottom);

  const axis = el("svg:g", { class: "axis" });
  for (const t of niceTicks(ylo, yhi, 5)) {
    axis.append(el("svg:line", { class: "gridline", x1: m.left, x2: width - m.right, y1: Y(t), y2: Y(t) }));
    axis.append(el("svg:text", { x: m.left - 6, y: Y(t) + 4, "text-anchor": "end", text: fmt(t) }));
  }
  for (const t of niceTicks(0, maxIter, 8).filter((t) => Number.isInteger(t))) {
    axis.append(el("svg:text", { x: X(t), y: height - m.bottom + 30, "text-anchor": "middle", text: t }));
  }
  axis.append(el("svg:line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }));
  axis.append(el("svg:text", { x: width - m.right, y: height - 2, "text-anchor": "end", text: "iteration" }));
  axis.append(el("svg:text", { x: 4, y: m.top + 4, "text-anchor": "start", text: "score" }));
  svg.append(axis);

  // Best so far, overall and per island, as step lines.
  const step = (series) => {
    let best = -Infinity, d = "";
    for (const p of series) {
      if (p[3] === null || p[3] <= best) continue;
      d += d ? `H${X(p[1]).toFixed(1)}V${Y(p[3]).toFixed(1)}` : `M${X(p[1]).toFixed(1)},${Y(p[3]).toFixed(1)}`;
      best = p[3];
    }
    return d ? d + `H${X(maxIter).toFixed(1)}` : "";
  };
  const islands = state.summary ? state.summary.num_islands : 1;
  const legend = $("#score-legend");
  legend.replaceChildren();
  if (islands > 1) {
    for (let i = 0; i < islands; i++) {
      const colour = ISLAND_COLOURS[i % ISLAND_COLOURS.length];
      const d = step(scored.filter((p) => p[2] === i));
      if (d) svg.append(el("svg:path", { class: "island-best", d, fill: "none", stroke: colour, "stroke-width": 1.5, opacity: 0.8 }));
      legend.append(el("span", {}, el("i", { style: `background:${colour}` }), `island ${i} best`));
    }
  }
  const bestLine = step(scored);
  svg.append(el("svg:path", { class: "best", d: bestLine, fill: "none", stroke: "#1d2330", "stroke-width": 2.5 }));
  legend.prepend(el("span", {}, el("i", { style: "background:#1d2330;height:4px" }), "best so far"));

  // Every scored program as a dot (one path: cheap at 10,000 points).
  let dots = "";
  for (const p of scored) dots += `M${X(p[1]).toFixed(1)},${Y(p[3]).toFixed(1)}h0`;
  svg.append(el("svg:path", { class: "points", d: dots, stroke: "#6b7385", "stroke-width": 4, "stroke-linecap": "round", opacity: 0.45 }));
  legend.append(el("span", {}, el("i", { style: "background:#6b7385;height:6px;width:6px;border-radius:3px" }), "program"));

  // Failed iterations: red crosses in the band under the axis.
  let crosses = "";
  const failures = iterations.filter((i) => isFailure(i[2]));
  for (const f of failures) {
    const x = X(f[0]);
    crosses += `M${(x - 3).toFixed(1)},${failY - 3}l6,6M${(x - 3).toFixed(1)},${failY + 3}l6,-6`;
  }
  svg.append(el("svg:path", { class: "failures", d: crosses, stroke: "#c8372d", "stroke-width": 1.6 }));
  legend.append(el("span", {}, el("i", { style: "background:#c8372d" }), `failed iteration (${failures.length})`));

  svg.dataset.points = String(scored.length);
  svg.dataset.failures = String(failures.length);

  // Hover: the nearest iteration's programs and outcome.
  const tip = $("#score-tip");
  svg.onmousemove = (event) => {
    const box = svg.getBoundingClientRect();
    const it = Math.round(((event.clientX - box.left) / box.width * width - m.left) / (width - m.left - m.right) * maxIter);
    if (it < 0 || it > maxIter) { tip.hidden = true; return; }
    const lines = [`iteration ${it}`];
    const rec = state.iterations.get(it);
    if (rec) lines.push(`island ${rec[1]}: ${rec[2]}`);
    for (const p of points) if (p[1] === it) lines.push(`#${p[0]} island ${p[2]}: ${fmt(p[3])}`);
    placeTip(tip, svg.parentElement, event, lines.slice(0, 8).join("\n"));
  };
  svg.onmouseleave = () => { tip.hidden = true; };
}

// ---------------------------------------------------------------- throughput
// Evaluations at once over time (against the slots), and where each of the
// latest iterations' time went, as stacked bars. Hidden for runs recorded
// without phases.
const PHASES = [
  ["start_wait_ms", "window wait", "#b8bfcc"],
  ["llm_ms", "model", "#3b5ba5"],
  ["build_ms", "build", "#e07a2f"],
  ["slot_wait_ms", "slot wait", "#c8372d"],
  ["queue_ms", "Slurm queue", "#b23a8f"],
  ["evaluate_ms", "evaluation", "#2a9d8f"],
  ["commit_wait_ms", "commit wait", "#8c6d3f"],
];

function renderThroughput() {
  const data = state.throughput;
  const panel = $("#throughput-panel");
  panel.hidden = !data || data.iterations.length === 0;
  if (panel.hidden) return;
  // A finished run's summary.json says how many slots it had.
  const t = state.summary.run_summary ? state.summary.run_summary.throughput : null;
  const slots = t ? t.slots : Math.max(1, Math.ceil(Math.max(...data.busy.map((b) => b[1]))));
  $("#throughput-facts").textContent = t
    ? `${t.slots} slots · window ${t.start_window} · ${fmt(t.iterations_per_minute)} iterations/min · slots busy ${Math.round(100 * t.slot_utilisation)}%`
    : "";

  const busy = $("#busy-chart");
  const width = busy.clientWidth || 900, height = busy.clientHeight || 140;
  const m = { left: 56, right: 16, top: 10, bottom: 24 };
  busy.setAttribute("viewBox", `0 0 ${width} ${height}`);
  busy.replaceChildren();
  const t0 = data.busy.length ? data.busy[0][0] : 0;
  const t1 = data.busy.length ? data.busy[data.busy.length - 1][0] : 1;
  const X = (at) => m.left + ((at - t0) / Math.max(1, t1 - t0)) * (width - m.left - m.right);
  const Y = (n) => m.top + (1 - n / slots) * (height - m.top - m.bottom);
  busy.append(el("svg:line", { class: "gridline", x1: m.left, x2: width - m.right, y1: Y(slots), y2: Y(slots) }));
  busy.append(el("svg:text", { x: m.left - 6, y: Y(slots) + 4, "text-anchor": "end", text: `${slots} slots` }));
  busy.append(el("svg:text", { x: m.left - 6, y: Y(0) + 4, "text-anchor": "end", text: "0" }));
  busy.append(el("svg:text", { x: width - m.right, y: height - 4, "text-anchor": "end", text: "time →" }));
  const d = data.busy.map((b, i) => `${i ? "L" : "M"}${X(b[0]).toFixed(1)},${Y(b[1]).toFixed(1)}`).join("");
  busy.append(el("svg:path", { class: "busy", d, fill: "none", stroke: "#2a9d8f", "stroke-width": 2 }));
  busy.dataset.points = String(data.busy.length);

  const bars = $("#phase-chart");
  const bw = bars.clientWidth || 900, bh = bars.clientHeight || 180;
  bars.setAttribute("viewBox", `0 0 ${bw} ${bh}`);
  bars.replaceChildren();
  const rows = data.iterations.slice(-200);
  const total = (r) => r.slice(1).reduce((a, b) => a + b, 0);
  const most = Math.max(1, ...rows.map(total));
  const step = (bw - m.left - m.right) / rows.length;
  rows.forEach((r, i) => {
    let y = bh - m.bottom;
    PHASES.forEach(([, name, colour], k) => {
      const h = (r[k + 1] / most) * (bh - m.top - m.bottom);
      if (h <= 0) return;
      y -= h;
      bars.append(el("svg:rect", {
        class: "phase", x: (m.left + i * step).toFixed(1), y: y.toFixed(1),
        width: Math.max(1, step - 1).toFixed(1), height: h.toFixed(1), fill: colour,
      }, el("svg:title", { text: `iteration ${r[0]}: ${name} ${r[k + 1]} ms` })));
    });
  });
  bars.append(el("svg:text", { x: m.left - 6, y: m.top + 8, "text-anchor": "end", text: `${fmt(most / 1000)} s` }));
  bars.append(el("svg:text", { x: bw - m.right, y: bh - 4, "text-anchor": "end", text: "iteration →" }));
  bars.dataset.iterations = String(rows.length);
  const legend = $("#phase-legend");
  legend.replaceChildren(...PHASES.map(([, name, colour]) => el("span", {}, el("i", { style: `background:${colour}` }), name)));
}

// ---------------------------------------------------------------- front
// With several objectives: each island's front over the first two, one dot
// per program on it (the ends of the front ringed).
function renderFront() {
  const panel = $("#front-panel");
  const front = state.front;
  if (!front || front.objectives.length < 2) { panel.hidden = true; return; }
  panel.hidden = false;
  const svg = $("#front-chart");
  const width = svg.clientWidth || 900, height = svg.clientHeight || 260;
  const m = { left: 56, right: 16, top: 12, bottom: 36 };
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const [ox, oy] = front.objectives;
  $("#front-axes").textContent = `${ox.metric} (${ox.direction}) × ${oy.metric} (${oy.direction})`;
  const all = front.islands.flatMap((i) => i.points.map((p) => ({ island: i.island, p })));
  const xs = all.map((a) => a.p.values[0]), ys = all.map((a) => a.p.values[1]);
  const range = (v) => { let lo = Math.min(...v), hi = Math.max(...v); if (!(hi - lo > 1e-12)) { lo -= 0.5; hi += 0.5; } const pad = (hi - lo) * 0.08; return [lo - pad, hi + pad]; };
  const [xlo, xhi] = all.length ? range(xs) : [0, 1], [ylo, yhi] = all.length ? range(ys) : [0, 1];
  const X = (v) => m.left + (v - xlo) / (xhi - xlo) * (width - m.left - m.right);
  const Y = (v) => m.top + (1 - (v - ylo) / (yhi - ylo)) * (height - m.top - m.bottom);
  const axis = el("svg:g", { class: "axis" });
  for (const t of niceTicks(ylo, yhi, 4)) axis.append(el("svg:text", { x: m.left - 6, y: Y(t) + 4, "text-anchor": "end", text: fmt(t) }));
  for (const t of niceTicks(xlo, xhi, 6)) axis.append(el("svg:text", { x: X(t), y: height - m.bottom + 16, "text-anchor": "middle", text: fmt(t) }));
  axis.append(el("svg:line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }));
  axis.append(el("svg:text", { x: width - m.right, y: height - 2, "text-anchor": "end", text: ox.metric }));
  axis.append(el("svg:text", { x: 4, y: m.top + 4, "text-anchor": "start", text: oy.metric }));
  svg.append(axis);
  const legend = $("#front-legend");
  legend.replaceChildren();
  for (const island of front.islands) {
    const colour = ISLAND_COLOURS[island.island % ISLAND_COLOURS.length];
    legend.append(el("span", {}, el("i", { style: `background:${colour}` }), `island ${island.island}: ${island.points.length} on the front`));
    for (const p of island.points) {
      const dot = el("svg:circle", { cx: X(p.values[0]), cy: Y(p.values[1]), r: 5, fill: colour, stroke: p.crowding === null ? "#1d2330" : "none", "stroke-width": 2 });
      dot.append(el("svg:title", { text: `#${p.id} island ${island.island}: ${p.values.map(fmt).join(", ")}` }));
      dot.addEventListener("click", () => { location.hash = `#/program/${p.id}`; });
      svg.append(dot);
    }
  }
  svg.dataset.points = String(all.length);
}

// ---------------------------------------------------------------- grid
// A dimension's range: fixed, or observed so far (null before any value).
const span = (range) => (range ? `[${fmt(range[0])}, ${fmt(range[1])}]` : "[no values yet]");

function renderGridControls() {
  const dims = state.grid ? state.grid.features : [];
  for (const [id, def] of [["#grid-x", 0], ["#grid-y", 1]]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...dims.map((d, i) => el("option", { value: i, text: d.name })));
    sel.value = keep !== "" && keep < dims.length ? keep : String(Math.min(def, dims.length - 1));
    sel.disabled = dims.length < 2;
    sel.onchange = renderGrid;
  }
}

function renderGrid() {
  const host = $("#grids");
  host.replaceChildren();
  if (!state.grid || !state.grid.features.length) return;
  const dims = state.grid.features;
  const xi = Number($("#grid-x").value || 0);
  const yi = dims.length > 1 ? Number($("#grid-y").value || 1) : -1;
  const xd = dims[xi], yd = yi >= 0 && yi !== xi ? dims[yi] : null;
  const nx = xd.bins, ny = yd ? yd.bins : 1;
  $("#grid-axes").textContent = yd ? `${xd.name} × ${yd.name}` : xd.name;
  const islands = state.grid.islands;
  const size = Math.max(10, Math.min(28, Math.floor((host.clientWidth || 500) / Math.max(1, Math.min(islands.length, 3)) / (nx + 2))));
  const tip = $("#grid-tip");
  let drawn = 0;
  for (const island of islands) {
    // Several cells fold onto one square when there are more dimensions: keep the fittest.
    const folded = new Map();
    for (const c of island.cells) {
      const key = c.cell[xi] + "," + (yd ? c.cell[yi] : 0);
      const prev = folded.get(key);
      if (!prev || (c.fitness ?? -Infinity) > (prev.fitness ?? -Infinity)) folded.set(key, c);
    }
    const left = 22, bottom = 26;
    const w = left + nx * size + 4, h = ny * size + bottom + 4;
    const svg = el("svg:svg", { class: "grid-svg", width: w, height: h, viewBox: `0 0 ${w} ${h}`, "data-island": island.island });
    for (let gx = 0; gx < nx; gx++) {
      for (let gy = 0; gy < ny; gy++) {
        const c = folded.get(gx + "," + gy);
        // y grows upwards, like a plot.
        const attrs = { x: left + gx * size, y: (ny - 1 - gy) * size + 2, width: size - 1, height: size - 1 };
        if (c) {
          const rect = el("svg:rect", { ...attrs, class: "cell", fill: colourFor(c.fitness), "data-program": c.program_id });
          rect.addEventListener("click", () => { location.hash = `#/program/${c.program_id}`; });
          rect.addEventListener("mousemove", (event) =>
            placeTip(tip, $("#grid-panel"), event,
              `island ${island.island} cell [${c.cell.join(", ")}]\n#${c.program_id} score ${fmt(c.fitness)}`));
          rect.addEventListener("mouseleave", () => { tip.hidden = true; });
          svg.append(rect);
          drawn++;
        } else {
          svg.append(el("svg:rect", { ...attrs, class: "empty", fill: "#f1f3f6", stroke: "#e2e6ec" }));
        }
      }
    }
    svg.append(el("svg:text", { x: left, y: h - 8, text: `${xd.name} ${span(xd.range)} →` }));
    if (yd) {
      svg.append(el("svg:text", { transform: `translate(${left - 8},${ny * size + 2}) rotate(-90)`,
        text: `${yd.name} ${span(yd.range)} →` }));
    }
    host.append(el("div", { class: "grid-island" }, el("div", { text: `island ${island.island} · ${island.cells.length} cells` }), svg));
  }
  host.dataset.cells = String(drawn);
}

// ---------------------------------------------------------------- side lists

async function renderSideLists() {
  const [top, failed] = await Promise.all([
    api("api/programs?sort=fitness&limit=8"),
    api("api/iterations?failed=true&last=8"),
  ]);
  const topTable = $("#top-programs");
  topTable.replaceChildren(el("tr", {}, el("th", { text: "program" }), el("th", { text: "island" }),
    el("th", { text: "iteration" }), el("th", { text: "score" })));
  for (const p of top.programs) {
    topTable.append(el("tr", { class: "link", onclick: () => { location.hash = `#/program/${p.id}`; } },
      el("td", { text: `#${p.id}` }), el("td", { class: "num", text: p.island }),
      el("td", { class: "num", text: p.iteration_found }), el("td", { class: "num", text: fmt(p.fitness) })));
  }
  const failTable = $("#failures");
  failTable.replaceChildren();
  if (!failed.iterations.length) failTable.append(el("tr", {}, el("td", { class: "muted", text: "none" })));
  for (const it of failed.iterations.slice().reverse()) {
    const message = (it.message || "").split("\n").find((l) => l.trim()) || "";
    const row = el("tr", { class: "link", title: "show the exchange with the LLM", "data-iteration": it.iteration,
      onclick: () => toggleExchange(row, it.iteration) },
      el("td", { class: "num", text: it.iteration }), el("td", { class: "outcome", text: it.outcome }),
      el("td", { class: "muted", text: message.length > 90 ? message.slice(0, 90) + "…" : message }));
    failTable.append(row);
    if (openExchanges.has(it.iteration)) showExchange(row, it.iteration);
  }
}

// Failed iterations whose exchange is unfolded; kept across re-renders.
const openExchanges = new Set();

function toggleExchange(row, iteration) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("exchange")) {
    next.remove();
    openExchanges.delete(iteration);
  } else {
    openExchanges.add(iteration);
    showExchange(row, iteration);
  }
}

async function showExchange(row, iteration) {
  const it = await api(`api/iterations/${iteration}`);
  const body = it.exchange
    ? el("pre", { class: "block", text: it.exchange })
    : el("p", { class: "muted", text: "No exchange was logged for this iteration (log_prompts off, or an older run)." });
  const next = row.nextElementSibling;
  if (next && next.classList.contains("exchange")) next.remove();
  row.after(el("tr", { class: "exchange" }, el("td", { colspan: 3 }, it.message ? el("pre", { class: "block", text: it.message }) : "", body)));
}

// ---------------------------------------------------------------- lineage tree

const tree = {
  layout: null,        // { order: [...nodes], width, height }
  scale: 1, tx: 0, ty: 0,
  highlight: null,
  dirty: true,
};

function addNodes(rows) {
  for (const r of rows) {
    state.nodes.set(r[0], { id: r[0], parent: r[1], island: r[2], generation: r[3], iteration: r[4], fitness: r[5], mutation: r[6], migrated: r[7] });
    if (r[0] > state.maxId) state.maxId = r[0];
  }
  tree.dirty = true;
}

// Tidy enough and linear: depth to the right, leaves stacked downwards in
// depth-first order, a parent centred on its children.
function layoutTree() {
  const nodes = state.nodes;
  const children = new Map();
  const roots = [];
  for (const n of nodes.values()) {
    n.kids = [];
    if (n.parent !== null && nodes.has(n.parent) && n.parent !== n.id) {
      if (!children.has(n.parent)) children.set(n.parent, []);
      children.get(n.parent).push(n);
    } else roots.push(n);
  }
  for (const [pid, kids] of children) { kids.sort((a, b) => a.id - b.id); nodes.get(pid).kids = kids; }
  roots.sort((a, b) => a.island - b.island || a.id - b.id);
  let leaf = 0, maxDepth = 0;
  const stack = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push([roots[r], 0, false]);
  while (stack.length) {
    const [n, depth, done] = stack.pop();
    if (!done) {
      n.depth = depth;
      maxDepth = Math.max(maxDepth, depth);
      if (!n.kids.length) { n.row = leaf++; continue; }
      stack.push([n, depth, true]);
      for (let k = n.kids.length - 1; k >= 0; k--) stack.push([n.kids[k], depth + 1, false]);
    } else {
      n.row = (n.kids[0].row + n.kids[n.kids.length - 1].row) / 2;
    }
  }
  tree.layout = { rows: Math.max(1, leaf), depth: maxDepth, nodes: [...nodes.values()] };
  tree.dirty = false;
  $("#tree-info").textContent = `${nodes.size} programs · ${roots.length} roots · depth ${maxDepth}`;
}

const COL = 60, ROW = 14;   // tree units per depth step and per leaf row

function fitTree() {
  const canvas = $("#tree");
  if (!tree.layout) return;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const tw = (tree.layout.depth + 1) * COL, th = tree.layout.rows * ROW;
  tree.scale = Math.min(4, Math.max(1e-3, Math.min((w - 40) / tw, (h - 30) / th)));
  tree.tx = 20 + (w - 40 - tw * tree.scale) / 2;
  tree.ty = 15 + (h - 30 - th * tree.scale) / 2;
}

function nodeX(n) { return tree.tx + (n.depth * COL + COL / 2) * tree.scale; }
function nodeY(n) { return tree.ty + (n.row * ROW + ROW / 2) * tree.scale; }

function drawTree() {
  const canvas = $("#tree");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (tree.dirty || !tree.layout) { layoutTree(); }
  const nodes = tree.layout.nodes;
  const r = Math.max(1.5, Math.min(7, 4.5 * tree.scale));
  const visible = (x, y) => x > -20 && x < w + 20 && y > -20 && y < h + 20;

  // Edges: parent to child as an elbow; migrations dashed.
  ctx.lineWidth = 1;
  for (const dashed of [false, true]) {
    ctx.beginPath();
    ctx.setLineDash(dashed ? [3, 3] : []);
    ctx.strokeStyle = dashed ? "#b0a0c8" : "#c3c8d2";
    for (const n of nodes) {
      if (!n.kids.length) continue;
      const px = nodeX(n), py = nodeY(n);
      for (const k of n.kids) {
        if (Boolean(k.migrated) !== dashed) continue;
        const kx = nodeX(k), ky = nodeY(k);
        if (!visible(px, py) && !visible(kx, ky) && (ky < -20 && py < -20 || ky > h + 20 && py > h + 20 || kx < -20 || px > w + 20)) continue;
        const mx = (px + kx) / 2;
        ctx.moveTo(px, py); ctx.lineTo(mx, py); ctx.lineTo(mx, ky); ctx.lineTo(kx, ky);
      }
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
  // Nodes, batched by colour.
  const byColour = new Map();
  let shown = 0;
  for (const n of nodes) {
    const x = nodeX(n), y = nodeY(n);
    if (!visible(x, y)) continue;
    const c = colourFor(n.fitness);
    if (!byColour.has(c)) byColour.set(c, []);
    byColour.get(c).push([x, y]);
    shown++;
  }
  for (const [c, pts] of byColour) {
    ctx.beginPath();
    ctx.fillStyle = c;
    for (const [x, y] of pts) { ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, Math.PI * 2); }
    ctx.fill();
  }
  if (r >= 5) {
    ctx.fillStyle = "#1d2330";
    ctx.font = "10px system-ui, sans-serif";
    for (const n of nodes) {
      const x = nodeX(n), y = nodeY(n);
      if (visible(x, y)) ctx.fillText(String(n.id), x + r + 2, y - r);
    }
  }
  const hl = tree.highlight !== null && state.nodes.get(tree.highlight);
  if (hl) {
    ctx.beginPath();
    ctx.strokeStyle = "#c8372d";
    ctx.lineWidth = 2.5;
    ctx.arc(nodeX(hl), nodeY(hl), r + 5, 0, Math.PI * 2);
    ctx.stroke();
  }
  canvas.dataset.nodes = String(nodes.length);
  canvas.dataset.visible = String(shown);
}

function nodeAt(clientX, clientY) {
  const canvas = $("#tree");
  const box = canvas.getBoundingClientRect();
  const x = clientX - box.left, y = clientY - box.top;
  const r = Math.max(6, 4.5 * tree.scale + 3);
  let best = null, bestD = r * r;
  for (const n of tree.layout ? tree.layout.nodes : []) {
    const dx = nodeX(n) - x, dy = nodeY(n) - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) { best = n; bestD = d; }
  }
  return best;
}

function centreOn(id) {
  const n = state.nodes.get(id);
  if (!n) return false;
  const canvas = $("#tree");
  tree.scale = Math.max(tree.scale, 1.2);
  tree.tx += canvas.clientWidth / 2 - nodeX(n);
  tree.ty += canvas.clientHeight / 2 - nodeY(n);
  tree.highlight = id;
  drawTree();
  return true;
}

function setUpTreeInput() {
  const canvas = $("#tree");
  const tip = $("#tree-tip");
  let drag = null;
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    const factor = Math.exp(-event.deltaY * 0.0015);
    const scale = Math.min(8, Math.max(1e-3, tree.scale * factor));
    tree.tx = x - (x - tree.tx) * (scale / tree.scale);
    tree.ty = y - (y - tree.ty) * (scale / tree.scale);
    tree.scale = scale;
    drawTree();
  }, { passive: false });
  canvas.addEventListener("mousedown", (event) => {
    drag = { x: event.clientX, y: event.clientY, tx: tree.tx, ty: tree.ty, moved: false };
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
    tree.tx = drag.tx + dx;
    tree.ty = drag.ty + dy;
    drawTree();
  });
  window.addEventListener("mouseup", () => {
    canvas.classList.remove("dragging");
    setTimeout(() => { drag = null; }, 0);
  });
  canvas.addEventListener("click", (event) => {
    if (drag && drag.moved) return;
    const n = nodeAt(event.clientX, event.clientY);
    if (n) location.hash = `#/program/${n.id}`;
  });
  canvas.addEventListener("mousemove", (event) => {
    if (drag && drag.moved) { tip.hidden = true; return; }
    const n = nodeAt(event.clientX, event.clientY);
    if (!n) { tip.hidden = true; return; }
    placeTip(tip, canvas.parentElement, event,
      `#${n.id}${n.migrated ? " (migrant)" : ""}\nisland ${n.island} · generation ${n.generation} · iteration ${n.iteration}\nscore ${fmt(n.fitness)}`);
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  $("#tree-fit").addEventListener("click", () => { fitTree(); drawTree(); });
  $("#tree-search").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = Number($("#tree-search-id").value.trim().replace(/^#/, ""));
    if (!centreOn(id)) $("#tree-info").textContent = `no program #${$("#tree-search-id").value} in this run`;
  });
  window.addEventListener("resize", () => { if (!$("#dashboard").hidden) { renderScoreChart(); drawTree(); } });
}

// ---------------------------------------------------------------- loading

function updateFitnessRange() {
  let lo = Infinity, hi = -Infinity;
  for (const p of state.programs.values()) {
    if (p[3] === null) continue;
    lo = Math.min(lo, p[3]);
    hi = Math.max(hi, p[3]);
  }
  state.fitnessRange = lo <= hi ? [lo, hi] : [0, 1];
}

async function loadAll() {
  state.programs.clear(); state.iterations.clear(); state.nodes.clear();
  state.maxId = 0; state.maxIteration = -1;
  await loadNewer();
}

// Fetches only what is newer than what the page holds.
async function loadNewer() {
  const [summary, scores] = await Promise.all([
    api("api/summary"),
    api(`api/scores?after_id=${state.maxId}&after_iteration=${state.maxIteration}`),
  ]);
  let after = state.maxId;
  for (;;) {
    const page = await api(`api/tree?after=${after}&limit=5000`);
    addNodes(page.nodes);
    if (page.next === null) break;
    after = page.next;
  }
  for (const p of scores.programs) state.programs.set(p[0], p);
  for (const i of scores.iterations) {
    state.iterations.set(i[0], i);
    state.maxIteration = Math.max(state.maxIteration, i[0]);
  }
  state.summary = summary;
  state.version = summary.version;
  // Programs evicted by the population cap: start over from the current rows.
  if (state.nodes.size !== summary.version.programs && state.nodes.size > summary.version.programs) {
    return loadAll();
  }
  state.grid = await api("api/grid");
  state.throughput = await api("api/throughput");
  state.front = summary.objectives && summary.objectives.length ? await api("api/front") : null;
  updateFitnessRange();
  renderHeader();
  renderScoreChart();
  renderFront();
  renderThroughput();
  renderGridControls();
  renderGrid();
  if (tree.layout === null) { layoutTree(); fitTree(); }
  drawTree();
  await renderSideLists();
  clearError();
}

let refreshing = null, again = false;
function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = loadNewer()
    .catch(showError)
    .finally(() => {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
}

function listen() {
  if (!state.summary || !state.summary.live) {
    setLive(state.summary && state.summary.kind === "checkpoint" ? "snapshot" : "static", "off");
    return;
  }
  const source = new EventSource("api/events");
  source.addEventListener("version", (event) => {
    setLive("live", "live");
    const v = JSON.parse(event.data);
    const known = state.version;
    if (!known || v.max_program_id !== known.max_program_id || v.programs !== known.programs ||
        v.iterations !== known.iterations || v.max_iteration !== known.max_iteration) {
      refresh();
    }
  });
  source.addEventListener("error", () => setLive("reconnecting…", "off"));
}

// ---------------------------------------------------------------- program page

function codeLines(code) {
  const box = el("div");
  code.split("\n").forEach((line, i) => {
    const marker = /EVOLVE-BLOCK-(START|END)/.test(line);
    box.append(el("div", { class: "line" + (marker ? " marker" : "") }, el("span", { class: "ln", text: i + 1 }), line));
  });
  return box;
}

function diffView(p) {
  const box = el("div");
  if (!p.diff) {
    box.append(el("p", { class: "muted", text: p.source_missing
      ? "The program it came from is no longer stored (evicted), so there is no diff."
      : "No parent: this is where the run started." }));
    return box;
  }
  box.append(el("p", {}, `Against `, el("a", { href: `#/program/${p.diff.against}`, text: `#${p.diff.against}` }),
    `: +${p.diff.added} −${p.diff.removed}`));
  if (!p.diff.hunks.length) box.append(el("p", { class: "muted", text: "Same code as its source." }));
  for (const h of p.diff.hunks) {
    box.append(el("div", { class: "hunk", text: `@@ -${h.old_start},${h.old_len} +${h.new_start},${h.new_len} @@` }));
    for (const l of h.lines) {
      const cls = l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx";
      box.append(el("div", { class: "line " + cls },
        el("span", { class: "ln", text: l.old ?? "" }), el("span", { class: "ln", text: l.new ?? "" }), `${l.op} ${l.text}`));
    }
  }
  return box;
}

async function showProgram(id) {
  $("#dashboard").hidden = true;
  $("#program-page").hidden = false;
  window.scrollTo(0, 0);
  document.body.dataset.program = "";
  $("#program-title").textContent = `Program #${id}`;
  let p;
  try {
    p = await api(`api/programs/${id}`);
  } catch (err) {
    $("#program-facts").replaceChildren(el("span", { text: String(err.message) }));
    for (const s of ["#program-metrics", "#program-iteration", "#program-tabs", "#program-diff", "#program-code", "#program-prompt", "#program-artifacts"]) $(s).replaceChildren();
    return;
  }
  $("#program-title").textContent = `Program #${p.id} · score ${fmt(p.fitness)}`;
  const link = (pid) => el("a", { href: `#/program/${pid}`, text: `#${pid}` });
  const facts = [
    el("span", { text: `island ${p.island}` }),
    el("span", { text: `generation ${p.generation}` }),
    el("span", { text: `iteration ${p.iteration_found}` }),
    el("span", { text: `mutation: ${p.mutation}` }),
    el("span", { text: `model: ${p.model || "–"}` }),
    el("span", {}, "parent: ", p.parent_id !== null ? link(p.parent_id) : "none"),
  ];
  if (p.migrated_from !== null) facts.push(el("span", {}, "migrated from ", link(p.migrated_from)));
  if (p.children.length) {
    const kids = el("span", {}, `children (${p.children.length}): `);
    p.children.slice(0, 30).forEach((c, i) => { if (i) kids.append(" "); kids.append(link(c)); });
    if (p.children.length > 30) kids.append(" …");
    facts.push(kids);
  }
  facts.push(el("span", { text: `cell [${p.cell.join(", ")}]` }));
  $("#program-facts").replaceChildren(...facts);

  const metrics = $("#program-metrics");
  metrics.replaceChildren();
  for (const [k, v] of Object.entries(p.metrics)) metrics.append(el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: fmt(v) })));
  const dims = state.summary ? state.summary.features : [];
  p.features.forEach((v, i) => metrics.append(el("tr", {},
    el("td", { class: "muted", text: `feature ${dims[i] ? dims[i].name : i}` }), el("td", { class: "num", text: fmt(v) }))));

  const it = p.iteration;
  const iterBox = $("#program-iteration");
  iterBox.replaceChildren();
  if (it) {
    const region = it.region ? ` (region ${it.region})` : "";
    iterBox.append(el("p", { text: `iteration ${it.iteration} on island ${it.island}${region}: ${it.outcome}` }),
      el("p", { class: "muted", text: `${it.prompt_tokens} prompt + ${it.completion_tokens} completion tokens · ` +
        `${it.cost_usd !== null ? "$" + it.cost_usd.toFixed(4) + " · " : ""}${(it.duration_ms / 1000).toFixed(2)} s` }));
    if (it.message) iterBox.append(el("pre", { class: "block", text: it.message }));
  } else iterBox.append(el("p", { class: "muted", text: "No iteration record." }));

  $("#program-diff").replaceChildren(diffView(p));
  $("#program-code").replaceChildren(codeLines(p.code));
  $("#program-prompt").replaceChildren(p.prompt ? el("pre", { class: "block", text: p.prompt })
    : el("p", { class: "muted", text: "No prompt was logged for this program (log_prompts off, or it was not written by the LLM)." }));
  const arts = $("#program-artifacts");
  arts.replaceChildren();
  if (!p.artifacts.length) arts.append(el("p", { class: "muted", text: "No artifacts." }));
  for (const a of p.artifacts) {
    arts.append(el("h3", {}, a.name, " ", el("small", { class: "muted" }, `${a.size} bytes · `, el("a", { href: a.url, target: "_blank", text: "raw" }))));
    if (a.text !== null) arts.append(el("pre", { class: "block", text: a.text }));
    else arts.append(el("p", { class: "muted", text: a.is_text ? "Too large to show inline." : "Binary." }));
  }

  const tabs = [["diff", "Diff", "#program-diff"], ["code", "Code", "#program-code"],
    ["prompt", "Prompt", "#program-prompt"], ["artifacts", `Artifacts (${p.artifacts.length})`, "#program-artifacts"]];
  const nav = $("#program-tabs");
  const select = (name) => {
    for (const [n, , sel] of tabs) $(sel).hidden = n !== name;
    for (const b of nav.children) b.classList.toggle("active", b.dataset.tab === name);
  };
  nav.replaceChildren(...tabs.map(([n, label]) => el("button", { type: "button", "data-tab": n, text: label, onclick: () => select(n) })));
  select(p.diff && p.diff.hunks.length ? "diff" : "code");
  document.body.dataset.program = String(p.id);
}

function showDashboard() {
  $("#program-page").hidden = true;
  $("#dashboard").hidden = false;
  renderScoreChart();
  drawTree();
}

function route() {
  const m = location.hash.match(/^#\/program\/(\d+)/);
  if (m) showProgram(Number(m[1])).catch(showError);
  else showDashboard();
}

// ---------------------------------------------------------------- start

async function boot() {
  try {
    await loadAll();
  } catch (err) {
    showError(err);
    // The run may not have created its tables yet: try again shortly.
    setTimeout(boot, 2000);
    return;
  }
  listen();
  route();
  document.body.dataset.ready = "1";
}

function start() {
  setUpTreeInput();
  window.addEventListener("hashchange", route);
  boot();
}

// A hook for tests and the curious: where a node is drawn, in page pixels.
window.openevolveView = {
  nodeCentre(id) {
    const n = state.nodes.get(id);
    if (!n) return null;
    const box = $("#tree").getBoundingClientRect();
    return { x: box.left + nodeX(n), y: box.top + nodeY(n) };
  },
  centreOn,
};

start();
