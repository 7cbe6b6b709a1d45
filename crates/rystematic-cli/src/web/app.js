"use strict";
// The page of `rystematic report` and `rystematic ui`. It gets what
// `rystematic ls --json` prints (inlined, or from /api/runs when live) and
// renders it without any library. Data is only ever put into the page as
// text nodes and attributes, never as HTML. All the page's state (filters,
// sort, selection, page) lives in the URL's fragment, so a link or a test
// can set it.
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  // Charts for more runs than this would be unreadable (and slow).
  const MAX_CHARTED = 20;
  const BUILTIN = [["id", "Run"], ["experiment", "Experiment"], ["status", "Status"],
    ["started", "Started"], ["duration", "Duration"]];

  const boot = JSON.parse(document.getElementById("data").textContent);
  const live = !!boot.live;
  let doc = boot.ls || { runs: [], sweeps: [], damaged: [] };
  // Run path → {tag: {steps, values}}: fetched when live; in a report, the
  // run's line of the #scalars element, parsed when first needed.
  const scalars = {};
  let scalarText = null;
  const fetching = {};
  let columns = { params: [], metrics: [] };
  let state = readHash();
  let loaded = !live;
  let updated = null;

  function clamp(n, lo, hi) { return Math.min(hi, Math.max(lo, n)); }

  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const size = parseInt(p.get("pagesize") || "100", 10);
    return {
      filter: p.get("filter") || "",
      status: p.get("status") || "",
      experiment: p.get("experiment") || "",
      sort: p.get("sort") || "started",
      desc: p.get("desc") === "1",
      page: Math.max(0, parseInt(p.get("page") || "0", 10) || 0),
      pagesize: clamp(Number.isFinite(size) ? size : 100, 1, 1000),
      select: (p.get("select") || "").split(",").filter(Boolean),
      x: p.get("x") || "",
      y: p.get("y") || "",
    };
  }

  function writeHash() {
    const p = new URLSearchParams();
    for (const key of ["filter", "status", "experiment", "x", "y"]) {
      if (state[key]) p.set(key, state[key]);
    }
    if (state.sort !== "started") p.set("sort", state.sort);
    if (state.desc) p.set("desc", "1");
    if (state.page) p.set("page", String(state.page));
    if (state.pagesize !== 100) p.set("pagesize", String(state.pagesize));
    if (state.select.length) p.set("select", state.select.join(","));
    const hash = "#" + p.toString();
    if (location.hash !== hash && !(hash === "#" && !location.hash)) {
      history.replaceState(null, "", hash);
    }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function num(v) {
    if (v === null || v === undefined) return "-";
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(parseFloat(v.toPrecision(4)));
  }

  function value(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number") return num(v);
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  function shortTime(t) {
    return t && t.length >= 19 && t[10] === "T" ? t.slice(0, 19).replace("T", " ") : (t || "-");
  }

  function duration(s) {
    if (s === null || s === undefined) return "-";
    if (s < 60) return s.toFixed(2) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }

  // Once per data load: columns, the text each run is filtered on, and the
  // experiment and status choices.
  function prepare() {
    const params = new Set(), metrics = new Set(), experiments = new Set(), statuses = new Set();
    for (const r of doc.runs) {
      for (const k of Object.keys(r.params)) params.add(k);
      for (const k of Object.keys(r.metrics)) metrics.add(k);
      experiments.add(r.experiment);
      statuses.add(r.status);
      r._text = [r.id, r.path, r.experiment, r.status]
        .concat(Object.entries(r.params).map(([k, v]) => k + "=" + value(v)))
        .join(" ").toLowerCase();
    }
    columns = { params: [...params].sort(), metrics: [...metrics].sort() };
    fillSelect(document.getElementById("status"), "any status", [...statuses].sort(), state.status);
    fillSelect(document.getElementById("experiment"), "any experiment", [...experiments].sort(), state.experiment);
  }

  function fillSelect(select, none, choices, current) {
    const all = choices.includes(current) || !current ? choices : choices.concat([current]);
    const have = [...select.options].map((o) => o.value).join("\n");
    if (have === ["", ...all].join("\n")) { select.value = current; return; }
    select.replaceChildren(el("option", { value: "" }, none), ...all.map((c) => el("option", { value: c }, c)));
    select.value = current;
  }

  function matches(r) {
    if (state.status && r.status !== state.status) return false;
    if (state.experiment && r.experiment !== state.experiment) return false;
    if (!state.filter) return true;
    // Every word must appear.
    return state.filter.toLowerCase().split(/\s+/).filter(Boolean).every((w) => r._text.includes(w));
  }

  function sortKey(r, col) {
    switch (col) {
      case "id": case "run": return r.id;
      case "experiment": return r.experiment;
      case "status": return r.status;
      case "started": case "start": return r.started;
      case "duration": case "duration_s": return r.duration_s;
    }
    if (r.metrics[col]) return r.metrics[col].value;
    return r.params[col];
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === undefined || a === null) return 1;
    if (b === undefined || b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    return String(a) < String(b) ? -1 : 1;
  }

  function visibleRuns() {
    const runs = doc.runs.filter(matches);
    const keyed = runs.map((r) => [sortKey(r, state.sort), r]);
    keyed.sort((x, y) => {
      let o = compare(x[0], y[0]);
      // Runs without a value stay last either way.
      if (state.desc && x[0] !== undefined && x[0] !== null && y[0] !== undefined && y[0] !== null) o = -o;
      return o || (x[1].id < y[1].id ? -1 : x[1].id > y[1].id ? 1 : 0);
    });
    return keyed.map((k) => k[1]);
  }

  function isSelected(r) {
    return state.select.includes(r.path) || state.select.includes(r.id);
  }

  function selectedRuns() {
    return doc.runs.filter(isSelected);
  }

  function toggle(r) {
    if (isSelected(r)) {
      state.select = state.select.filter((s) => s !== r.path && s !== r.id);
    } else {
      state.select = state.select.concat([r.path]);
    }
    render();
  }

  function renderSummary() {
    document.getElementById("source").textContent = boot.source || "";
    const counts = {};
    for (const r of doc.runs) counts[r.status] = (counts[r.status] || 0) + 1;
    const parts = Object.entries(counts).sort().map(([s, n]) => n + " " + s);
    // A report says when it was written; the live page when it last loaded.
    const when = live ? (updated ? "updated " + updated.toLocaleTimeString() : "loading…")
      : boot.generated ? "written " + shortTime(boot.generated) : "";
    document.getElementById("summary").textContent =
      doc.runs.length + " runs" + (parts.length ? " (" + parts.join(", ") + ")" : "") +
      (live ? " · live" : "") + (when ? " · " + when : "");
  }

  function renderSweeps() {
    document.getElementById("sweeps-section").hidden = doc.sweeps.length === 0;
    const body = document.querySelector("#sweeps tbody");
    body.replaceChildren(...doc.sweeps.map((s) => {
      const done = ["completed", "failed", "interrupted"].reduce((n, k) => n + (s.counts[k] || 0), 0);
      const pct = s.total ? Math.round(100 * done / s.total) : 0;
      const bar = el("span", { class: "bar", title: pct + "%" }, el("span", { style: "width:" + pct + "%" }));
      return el("tr", { "data-sweep": s.id, "data-done": String(done), "data-total": String(s.total) },
        el("td", {}, s.id), el("td", {}, s.experiment.join(" ")), el("td", {}, shortTime(s.created)),
        el("td", {}, bar), el("td", {}, s.progress));
    }));
  }

  function renderTable() {
    const runs = visibleRuns();
    const size = state.pagesize;
    const pages = Math.max(1, Math.ceil(runs.length / size));
    // Before the data is there, a page asked for in the URL is kept.
    if (loaded) state.page = Math.min(state.page, pages - 1);
    const first = state.page * size;
    // Only one page of rows is ever in the DOM: 10,000 rows would make the
    // page crawl.
    const shown = runs.slice(first, first + size);
    const head = document.querySelector("#runs thead");
    const cols = BUILTIN.concat(columns.params.map((p) => [p, p]), columns.metrics.map((m) => [m, m]));
    head.replaceChildren(el("tr", {}, el("th", {}, ""), ...cols.map(([key, label]) => {
      const th = el("th", { "data-col": key, title: "Sort by " + label }, label);
      if (key === state.sort) th.className = "sorted" + (state.desc ? " desc" : "");
      th.addEventListener("click", () => {
        if (state.sort === key) state.desc = !state.desc; else { state.sort = key; state.desc = false; }
        render();
      });
      return th;
    })));
    const body = document.querySelector("#runs tbody");
    body.replaceChildren(...shown.map((r) => {
      const box = el("input", { type: "checkbox", "aria-label": "select " + r.id });
      box.checked = isSelected(r);
      const tr = el("tr", { "data-run": r.path, "data-status": r.status },
        el("td", {}, box),
        el("td", { title: r.dir }, r.id),
        el("td", {}, r.experiment),
        el("td", {}, el("span", { class: "status " + r.status }, r.status)),
        el("td", {}, shortTime(r.started)),
        el("td", { class: "num" }, duration(r.duration_s)),
        ...columns.params.map((p) => el("td", {}, p in r.params ? value(r.params[p]) : "-")),
        ...columns.metrics.map((m) => el("td", { class: "num", title: r.metrics[m] ? "step " + r.metrics[m].step : "" },
          r.metrics[m] ? num(r.metrics[m].value) : "-")));
      if (isSelected(r)) tr.className = "selected";
      tr.addEventListener("click", () => toggle(r));
      return tr;
    }));
    document.getElementById("range").textContent = runs.length
      ? (first + 1) + "–" + (first + shown.length) + " of " + runs.length +
        (runs.length !== doc.runs.length ? " (of " + doc.runs.length + ")" : "")
      : "no runs match";
    document.getElementById("runs").dataset.matching = String(runs.length);
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    return runs;
  }

  function renderDamaged() {
    document.getElementById("damaged-section").hidden = doc.damaged.length === 0;
    document.querySelector("#damaged tbody").replaceChildren(...doc.damaged.map((d) =>
      el("tr", {}, el("td", {}, d.path), el("td", {}, d.reason))));
  }

  // A line chart: one path per run, x the step, y the value.
  function lineChart(tag, lines) {
    const W = 460, H = 240, L = 56, R = 10, T = 10, B = 26;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const { s } of lines) {
      for (let i = 0; i < s.steps.length; i++) {
        x0 = Math.min(x0, s.steps[i]); x1 = Math.max(x1, s.steps[i]);
        y0 = Math.min(y0, s.values[i]); y1 = Math.max(y1, s.values[i]);
      }
    }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    const px = (x) => (L + (x - x0) / (x1 - x0) * (W - L - R)).toFixed(1);
    const py = (y) => (H - B - (y - y0) / (y1 - y0) * (H - T - B)).toFixed(1);
    const root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "data-tag": tag });
    root.append(svg("path", { class: "axis", d: "M" + L + "," + T + "V" + (H - B) + "H" + (W - R) }));
    const label = (x, y, text, anchor) => {
      const t = svg("text", { x, y, "text-anchor": anchor });
      t.textContent = text;
      root.append(t);
    };
    label(L - 4, T + 8, num(y1), "end");
    label(L - 4, H - B, num(y0), "end");
    label(L, H - B + 14, num(x0), "start");
    label(W - R, H - B + 14, num(x1), "end");
    label((L + W) / 2, H - 4, "step", "middle");
    for (const { run, s, color } of lines) {
      let d = "";
      for (let i = 0; i < s.steps.length; i++) {
        d += (i ? "L" : "M") + px(s.steps[i]) + "," + py(s.values[i]);
      }
      // A lone point is drawn as a dot (a zero-length, round-capped line).
      if (s.steps.length === 1) d += "h0";
      const path = svg("path", { class: s.steps.length === 1 ? "series dot" : "series", d, stroke: color, "data-run": run.path, "data-points": String(s.steps.length) });
      const title = svg("title", {});
      title.textContent = run.id;
      path.append(title);
      root.append(path);
    }
    const box = el("div", { class: "chart" }, el("h3", {}, tag));
    box.append(root);
    return box;
  }

  function renderCharts() {
    const runs = selectedRuns().slice(0, MAX_CHARTED);
    document.getElementById("charts-hint").hidden = runs.length > 0;
    const legend = document.getElementById("legend");
    const byTag = new Map();
    legend.replaceChildren(...runs.map((r, i) => {
      const color = COLORS[i % COLORS.length];
      if (!scalars[r.path]) fetchScalars(r);
      const series = scalars[r.path];
      for (const [tag, s] of Object.entries(series || {})) {
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ run: r, s, color });
      }
      return el("span", {}, el("i", { style: "background:" + color }), r.id + (series ? "" : " (loading…)"));
    }));
    const tags = [...byTag.keys()].sort();
    document.getElementById("charts").replaceChildren(...tags.map((t) => lineChart(t, byTag.get(t))));
    return runs.every((r) => scalars[r.path]);
  }

  // A report's scalars of run `path`: its line `\n["path",{…}]`.
  function inlineScalars(path) {
    if (scalarText === null) scalarText = document.getElementById("scalars").textContent;
    const key = "\n" + JSON.stringify([path]).slice(0, -1).replace(/</g, "\\u003c") + ",";
    const at = scalarText.indexOf(key);
    if (at < 0) return {};
    const end = scalarText.indexOf("\n", at + 1);
    return JSON.parse(scalarText.slice(at + 1, end < 0 ? scalarText.length : end))[1];
  }

  function fetchScalars(r) {
    if (!live) {
      scalars[r.path] = inlineScalars(r.path);
      return;
    }
    if (fetching[r.path]) return;
    fetching[r.path] = true;
    fetch("api/scalars?run=" + encodeURIComponent(r.path), { cache: "no-store" })
      .then((res) => res.ok ? res.json() : {})
      .catch(() => ({}))
      .then((data) => {
        scalars[r.path] = data;
        delete fetching[r.path];
        render();
      });
  }

  // Parameters against a final metric, over the runs that pass the filter
  // (filter by experiment or text to see one sweep's runs).
  // The name whose values (from `values(name)`) are most varied.
  function mostVaried(names, values) {
    let best, most = 0;
    for (const name of names) {
      const n = new Set(values(name)).size;
      if (n > most) { best = name; most = n; }
    }
    return best;
  }

  function renderScatter(runs) {
    const section = document.getElementById("scatter-section");
    section.hidden = !columns.params.length || !columns.metrics.length;
    if (section.hidden) return;
    if (!columns.params.includes(state.x)) {
      // The numeric parameter with the most values among runs with metrics:
      // what a sweep varied.
      // The seed differs in every run, but is rarely the question.
      const measured = runs.filter((r) => Object.keys(r.metrics).length);
      state.x = mostVaried(columns.params.filter((p) => p !== "random_seed"),
        (p) => measured.filter((r) => typeof r.params[p] === "number").map((r) => r.params[p])) ||
        columns.params[0];
    }
    if (!columns.metrics.includes(state.y)) {
      state.y = mostVaried(columns.metrics,
        (m) => runs.filter((r) => r.metrics[m]).map((r) => r.metrics[m].value)) || columns.metrics[0];
    }
    fillSelect(document.getElementById("scatter-x"), "", columns.params, state.x);
    fillSelect(document.getElementById("scatter-y"), "", columns.metrics, state.y);
    const points = [];
    const categories = [];
    for (const r of runs) {
      const m = r.metrics[state.y];
      if (!m || !(state.x in r.params)) continue;
      let x = r.params[state.x];
      if (typeof x !== "number") {
        // Text parameters become evenly spaced categories.
        const name = value(x);
        let i = categories.indexOf(name);
        if (i < 0) { categories.push(name); i = categories.length - 1; }
        x = i;
      }
      points.push([x, m.value]);
    }
    const W = 460, H = 260, L = 56, R = 14, T = 10, B = 30;
    let x0 = Math.min(...points.map((p) => p[0])), x1 = Math.max(...points.map((p) => p[0]));
    let y0 = Math.min(...points.map((p) => p[1])), y1 = Math.max(...points.map((p) => p[1]));
    if (!points.length) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
    if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
    const px = (x) => (L + (x - x0) / (x1 - x0) * (W - L - R)).toFixed(1);
    const py = (y) => (H - B - (y - y0) / (y1 - y0) * (H - T - B)).toFixed(1);
    const root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H });
    root.append(svg("path", { class: "axis", d: "M" + L + "," + T + "V" + (H - B) + "H" + (W - R) }));
    const label = (x, y, text, anchor) => {
      const t = svg("text", { x, y, "text-anchor": anchor });
      t.textContent = text;
      root.append(t);
    };
    label(L - 4, T + 8, num(y1), "end");
    label(L - 4, H - B, num(y0), "end");
    label(L, H - B + 14, categories.length ? categories[0] || "" : num(x0), "start");
    label(W - R, H - B + 14, categories.length ? categories[categories.length - 1] || "" : num(x1), "end");
    label((L + W) / 2, H - 4, state.x, "middle");
    // One path for all points: thousands of circles would be slow.
    const d = points.map(([x, y]) => "M" + px(x) + "," + py(y) + "h0").join("");
    root.append(svg("path", { class: "scatter", d, "data-points": String(points.length) }));
    document.getElementById("scatter-note").textContent = points.length + " runs (those passing the filter)";
    document.getElementById("scatter").replaceChildren(root);
  }

  function render() {
    const runs = renderTable();
    renderSummary();
    renderSweeps();
    renderDamaged();
    const charted = renderCharts();
    renderScatter(runs);
    for (const id of ["filter", "status", "experiment"]) {
      const input = document.getElementById(id);
      if (input.value !== state[id]) input.value = state[id];
    }
    writeHash();
    // For tests and scripts: the page shows what it has been told to.
    if (loaded && charted) {
      document.body.dataset.ready = "1";
      // How long from navigation to the first complete view (benchmarks).
      if (!document.body.dataset.readyMs) document.body.dataset.readyMs = String(Math.round(performance.now()));
    } else {
      delete document.body.dataset.ready;
    }
  }

  function load() {
    return fetch("api/runs", { cache: "no-store" })
      .then((res) => res.json())
      .then((data) => {
        doc = data;
        loaded = true;
        updated = new Date();
        // Running runs' scalars grow: fetch them again.
        for (const r of doc.runs) if (r.status === "running" && isSelected(r)) delete scalars[r.path];
        prepare();
        render();
      })
      .catch(() => { document.getElementById("summary").textContent = "cannot reach the server"; });
  }

  function pollSweeps() {
    fetch("api/sweeps", { cache: "no-store" })
      .then((res) => res.json())
      .then((sweeps) => { doc.sweeps = sweeps; renderSweeps(); })
      .catch(() => {});
  }

  document.getElementById("filter").addEventListener("input", (e) => { state.filter = e.target.value; state.page = 0; render(); });
  document.getElementById("status").addEventListener("change", (e) => { state.status = e.target.value; state.page = 0; render(); });
  document.getElementById("experiment").addEventListener("change", (e) => { state.experiment = e.target.value; state.page = 0; render(); });
  document.getElementById("scatter-x").addEventListener("change", (e) => { state.x = e.target.value; render(); });
  document.getElementById("scatter-y").addEventListener("change", (e) => { state.y = e.target.value; render(); });
  document.getElementById("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); render(); });
  document.getElementById("next").addEventListener("click", () => { state.page += 1; render(); });
  window.addEventListener("hashchange", () => { state = readHash(); prepare(); render(); });

  prepare();
  render();
  if (live) {
    load();
    setInterval(pollSweeps, 2000);
    setInterval(load, 10000);
  }
})();
