// tryggplan dashboard: plain JavaScript, no libraries, no build step. Reads the API with a reader
// token taken from ?token=... (then kept in localStorage and removed from the address bar) or
// typed into the form.
"use strict";

const API = "/api/v1";
const STORE = "tryggplan.token";
const COLORS = { high: "#c0392b", elevated: "#e67e22", normal: "#5d8aa8" };
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function token() {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    try { localStorage.setItem(STORE, fromUrl); } catch (e) { /* storage may be disabled */ }
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
    return fromUrl;
  }
  try { return localStorage.getItem(STORE) || ""; } catch (e) { return ""; }
}

let TOKEN = "";

async function get(path) {
  const r = await fetch(API + path, { headers: { Authorization: "Bearer " + TOKEN } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const err = new Error((body && body.detail) || ("HTTP " + r.status));
    err.status = r.status;
    throw err;
  }
  return body;
}

function isoDate(d) {
  const p = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
}

function fmt(x, digits) { return Number(x).toFixed(digits === undefined ? 2 : digits); }

function shade(value, max) {
  // white -> dark red, by share of the maximum
  const t = max > 0 ? Math.min(1, value / max) : 0;
  const r = Math.round(255 - t * (255 - 150));
  const g = Math.round(255 - t * (255 - 20));
  const b = Math.round(255 - t * (255 - 20));
  return "rgb(" + r + "," + g + "," + b + ")";
}

// ------------------------------------------------------------------ next 14 days per place
async function renderDaily() {
  const today = new Date();
  const end = new Date(today.getTime() + 14 * 86400000);
  let doc = await get("/forecasts/latest/daily?start=" + isoDate(today) + "&end=" + isoDate(end));
  if (!doc.rows.length) doc = await get("/forecasts/latest/daily");  // an older forecast: show its days
  const dates = [...new Set(doc.rows.map((r) => r.date))].sort().slice(0, 14);
  const places = [...new Set(doc.rows.map((r) => r.place_id))].sort();
  const byKey = new Map(doc.rows.map((r) => [r.place_id + "|" + r.date, r]));
  const max = Math.max(0, ...doc.rows.map((r) => r.expected));
  const table = document.getElementById("daily-table");
  table.replaceChildren();
  const head = el("tr");
  head.append(el("th", { class: "place" }, "place"));
  for (const d of dates) {
    const day = DAYS[(new Date(d + "T12:00:00").getDay() + 6) % 7];
    head.append(el("th", {}, day + " " + d.slice(5)));
  }
  head.append(el("th", {}, "total"));
  table.append(head);
  for (const p of places) {
    const tr = el("tr", { "data-place": p });
    tr.append(el("th", { class: "place" }, p));
    let total = 0;
    for (const d of dates) {
      const r = byKey.get(p + "|" + d);
      const v = r ? r.expected : 0;
      total += v;
      const td = el("td", { "data-date": d, "data-value": fmt(v, 4), title: p + " " + d + ": " + fmt(v, 3) +
        " expected, " + (r ? r.high_hours : 0) + " high-risk hours" }, fmt(v) + (r && r.high_hours ? " ▲" + r.high_hours : ""));
      td.style.background = shade(v, max);
      if (max > 0 && v / max > 0.55) td.className = "hot";
      tr.append(td);
    }
    tr.append(el("td", {}, fmt(total)));
    table.append(tr);
  }
  return doc;
}

// ------------------------------------------------------------------ high-risk windows
async function renderWindows() {
  const today = new Date();
  const end = new Date(today.getTime() + 14 * 86400000);
  let doc = await get("/forecasts/latest/windows?start=" + isoDate(today) + "&end=" + isoDate(end));
  if (!doc.windows.length) doc = await get("/forecasts/latest/windows");
  const list = document.getElementById("windows");
  list.replaceChildren();
  for (const w of doc.windows.slice(0, 12)) {
    list.append(el("li", { class: "window", "data-place": w.place_id, title: w.start + " – " + w.end }, w.label));
  }
  if (!doc.windows.length) list.append(el("li", {}, "no high-risk hours in the forecast"));
  return doc;
}

// ------------------------------------------------------------------ hour-of-week heatmap
async function renderHeatmap() {
  const doc = await get("/forecasts/latest/heatmap");
  const svg = document.getElementById("heatmap");
  svg.replaceChildren();
  const cw = 18, ch = 16, left = 34, top = 16;
  svg.setAttribute("viewBox", "0 0 " + (left + 24 * cw + 4) + " " + (top + 7 * ch + 4));
  const max = Math.max(0, ...doc.cells.map((c) => c.expected));
  for (let h = 0; h < 24; h += 3) svg.append(el("svg:text", { x: left + h * cw + 2, y: top - 4 }, String(h).padStart(2, "0")));
  for (let w = 0; w < 7; w++) svg.append(el("svg:text", { x: 2, y: top + w * ch + 12 }, DAYS[w]));
  for (const c of doc.cells) {
    const rect = el("svg:rect", {
      class: "cell", x: left + c.hour * cw, y: top + c.weekday * ch, width: cw - 1, height: ch - 1,
      fill: shade(c.expected, max), "data-weekday": c.weekday, "data-hour": c.hour, "data-value": fmt(c.expected, 5),
    });
    rect.append(el("svg:title", {}, DAYS[c.weekday] + " " + String(c.hour).padStart(2, "0") + ":00 – " +
      fmt(c.expected, 3) + " expected incidents/h"));
    svg.append(rect);
  }
  return doc;
}

// ------------------------------------------------------------------ map of places
async function renderMap() {
  const doc = await get("/forecasts/latest/places.geojson");
  const svg = document.getElementById("map");
  svg.replaceChildren();
  const pts = doc.features.filter((f) => f.geometry && f.geometry.type === "Point");
  const W = 480, H = 320, pad = 30;
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  if (!pts.length) {
    svg.append(el("svg:text", { x: 10, y: 20 }, "no places with coordinates"));
    return doc;
  }
  const lons = pts.map((f) => f.geometry.coordinates[0]);
  const lats = pts.map((f) => f.geometry.coordinates[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);  // equirectangular: shrink longitudes
  const spanX = Math.max((x1 - x0) * k, 1e-6), spanY = Math.max(y1 - y0, 1e-6);
  const scale = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
  const maxTotal = Math.max(...pts.map((f) => f.properties.expected_total), 1e-9);
  const order = { normal: 0, elevated: 1, high: 2 };
  pts.sort((a, b) => order[a.properties.risk_level] - order[b.properties.risk_level]);
  for (const f of pts) {
    const [lon, lat] = f.geometry.coordinates;
    const x = pad + (lon - x0) * k * scale, y = H - pad - (lat - y0) * scale;
    const p = f.properties;
    const r = 4 + 14 * Math.sqrt(p.expected_total / maxTotal);
    const c = el("svg:circle", { class: "place", cx: fmt(x, 1), cy: fmt(y, 1), r: fmt(r, 1),
      fill: shade(p.expected_total, maxTotal), "fill-opacity": 0.9,
      stroke: COLORS[p.risk_level] || COLORS.normal, "stroke-width": 2.5,
      "data-place": p.place_id, "data-level": p.risk_level });
    c.append(el("svg:title", {}, (p.name || p.place_id) + ": " + fmt(p.expected_total) + " expected, peak " +
      (p.peak_slot || "").slice(0, 16).replace("T", " ") + ", level " + p.risk_level));
    svg.append(c);
    svg.append(el("svg:text", { x: fmt(x + r + 2, 1), y: fmt(y + 3, 1) }, p.name || p.place_id));
  }
  return doc;
}

// ------------------------------------------------------------------ the plan
async function renderPlan() {
  let rec;
  try {
    rec = await get("/plans/current");
  } catch (e) {
    if (e.status === 404) {
      document.getElementById("plan-week").textContent = "– none yet";
      return null;
    }
    throw e;
  }
  const plan = rec.plan;
  document.getElementById("plan-week").textContent = (plan.week || rec.week || "") + " (plan " + rec.id + ")";
  const dl = document.getElementById("plan-summary");
  dl.replaceChildren();
  const facts = [
    ["status", plan.status],
    ["cost", fmt(plan.cost_sek || 0, 0) + " SEK"],
    ["risk covered", fmt(100 * (plan.risk_covered_share || 0), 1) + " %"],
    ["expected incidents prevented", fmt(plan.objective || 0, 3)],
    ["night walks", plan.walks !== undefined ? plan.walks : ""],
    ["guard hours", plan.guard_hours !== undefined ? fmt(plan.guard_hours, 0) : ""],
  ];
  for (const [k, v] of facts) {
    const wrap = el("div");
    wrap.append(el("dt", {}, k), el("dd", { id: "plan-" + k.replace(/ /g, "-") }, v));
    dl.append(wrap);
  }
  const table = document.getElementById("plan-table");
  table.replaceChildren();
  const head = el("tr");
  for (const h of ["kind", "who", "where", "start", "end", "cost [SEK]", "prevented", "why"]) head.append(el("th", {}, h));
  table.append(head);
  for (const s of plan.shifts || []) {
    const tr = el("tr", { class: "shift", "data-kind": s.kind });
    tr.append(
      el("td", {}, s.kind === "night_walk" ? "night walk" : "guard"),
      el("td", {}, s.association || s.guard || ""),
      el("td", {}, (s.area ? s.area + ": " : "") + (s.place_ids || []).join(", ")),
      el("td", {}, (s.start || "").slice(0, 16).replace("T", " ")),
      el("td", {}, (s.end || "").slice(0, 16).replace("T", " ")),
      el("td", { class: "num" }, fmt(s.cost_sek || 0, 0)),
      el("td", { class: "num" }, fmt(s.expected_prevented || 0, 3)),
      el("td", {}, s.why || ""),
    );
    table.append(tr);
  }
  if (!(plan.shifts || []).length) table.append(el("tr", {}, "no shifts in this plan"));
  const links = document.getElementById("plan-links");
  links.replaceChildren();
  links.append(document.createTextNode("Download with your token: "),
    el("code", {}, "GET " + API + "/plans/" + rec.id + "/plan.ics"), document.createTextNode(" · "),
    el("code", {}, "GET " + API + "/plans/" + rec.id + "/plan.csv"));
  return rec;
}

// The newest situation picture: the 14 days up to the day before the newest forecast starts.
let REPORT_TO = "";

function dayBefore(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

async function renderReport(daily) {
  const first = (daily.rows || []).map((r) => r.date).sort()[0];
  REPORT_TO = first ? dayBefore(first) : isoDate(new Date(Date.now() - 86400000));
  const rep = await get("/reports/situation?to=" + REPORT_TO + "&days=14");
  const t = rep.totals;
  const change = t.change_vs_previous_pct === null ? "no comparison" : (t.change_vs_previous_pct > 0 ? "+" : "") + t.change_vs_previous_pct + " %";
  document.getElementById("report-summary").textContent = t.count + " incidents " + rep.from + " – " + rep.to +
    ", against " + t.previous + " the fortnight before (" + change + "): " + t.text + ". Year to date " +
    rep.ytd.count + " against " + rep.ytd.last_year + " last year.";
}

async function download(kind) {
  // a link cannot carry the token: fetch with it, then save the answer as a file
  const r = await fetch(API + "/reports/situation." + kind + "?to=" + REPORT_TO + "&days=14",
    { headers: { Authorization: "Bearer " + TOKEN } });
  if (!r.ok) { setStatus("Could not fetch the report: HTTP " + r.status, true); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: "lagesbild-" + REPORT_TO + "." + kind });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function load() {
  if (!TOKEN) {
    setStatus("Enter a reader token (from `tryggplan token create --role reader`) to see the risk picture.", true);
    return;
  }
  setStatus("Loading…");
  try {
    const [daily] = await Promise.all([renderDaily(), renderWindows(), renderHeatmap(), renderMap()]);
    await renderPlan();
    await renderReport(daily);
    document.getElementById("provenance").textContent = "Forecast " + daily.run_id + ": model " + daily.model +
      " v" + daily.model_version + ", trained until " + (daily.trained_until || "?") + ", generated " +
      (daily.generated_at || "?") + " (times in " + daily.tz + ").";
    setStatus("Updated " + new Date().toLocaleString());
    document.body.setAttribute("data-loaded", "true");
  } catch (e) {
    const hint = e.status === 401 ? " – the token is unknown or revoked" : e.status === 404 ? " – nothing to show yet" : "";
    setStatus("Could not load: " + e.message + hint, true);
    document.body.setAttribute("data-loaded", "error");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  TOKEN = token();
  const input = document.getElementById("token-input");
  input.value = TOKEN;
  document.getElementById("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    TOKEN = input.value.trim();
    try { localStorage.setItem(STORE, TOKEN); } catch (e) { /* storage may be disabled */ }
    load();
  });
  document.getElementById("report-html").addEventListener("click", () => download("html"));
  document.getElementById("report-csv").addEventListener("click", () => download("csv"));
  document.getElementById("token-forget").addEventListener("click", () => {
    try { localStorage.removeItem(STORE); } catch (e) { /* ignore */ }
    TOKEN = "";
    input.value = "";
    load();
  });
  load();
});
