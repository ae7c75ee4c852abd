// tryggplan dashboard (/): the map, the next 14 days per place, high-risk windows, the hour-of-week
// heatmap, incident history, this week's plan, and, when their routes answer, the season ledger, the
// newest situation picture and the police area. Swedish by default (common.js).
"use strict";

TP.addStrings({
  sv: {
    "page.title": "tryggplan – lägesbild",
    "page.subtitle": "risk, händelser och veckans plan",
    "token.label": "Nyckel",
    "token.use": "Använd",
    "token.forget": "Glöm nyckeln",
    "status.loading": "Laddar …",
    "status.notoken": "Skriv in din nyckel (från tryggplan token create --role reader) för att se lägesbilden.",
    "status.updated": "Uppdaterad {when}.",
    "status.reporter": "Den här nyckeln är för rapportörer: rapportera en händelse på sidan Rapportera.",
    "status.noforecast": "Det finns ingen prognos ännu: gör en prognos (analytiker eller samordnare).",
    "map.title": "Karta: platser efter risk i sin kommun",
    "map.hint": "Färgen visar platsens nivå jämfört med kommunens övriga platser de kommande 14 dagarna; cirkelns storlek hur mycket över kommunens genomsnittliga plats den ligger. Tryck på en plats för detaljer.",
    "map.region": "Karta över platserna",
    "map.notiles": "Kartbilder kunde inte laddas – platserna visas på en enkel kontur.",
    "map.nocoordinates": "Platserna har inga koordinater ännu: lägg till lat och lon (t.ex. med en platsfil) så visas de på kartan.",
    "map.pick": "Välj plats",
    "map.pick.none": "– välj –",
    "level.high.long": "Hög: minst dubbelt så mycket väntat som en genomsnittlig plats i kommunen",
    "level.elevated.long": "Förhöjd: minst 1,25 gånger så mycket",
    "level.normal.long": "Normal",
    "level.high": "hög",
    "level.elevated": "förhöjd",
    "level.normal": "normal",
    "place.recent": "Senaste fyra veckorna",
    "place.ahead": "Kommande 14 dagar",
    "place.shifts": "Veckans pass här",
    "place.where": "{town} · område {area} · nivå i kommunen: {level}",
    "place.recent.none": "Inga rapporterade händelser.",
    "place.recent.some": "{n} händelser: {list}.",
    "place.recent.one": "1 händelse: {list}.",
    "place.ahead.text": "{expected} väntade – {words}. Mest utsatt: {peak}.",
    "place.shifts.none": "Inga pass här den här veckan.",
    "windows.title": "Högrisktider de kommande 14 dagarna",
    "windows.hint": "Närliggande timmar med hög risk på en plats, sammanslagna – det som läses upp på lägesbildsmötet.",
    "windows.item": "{place}, {when}: {words} ({expected} väntade, minst en: {p})",
    "windows.none": "Inga högrisktimmar i prognosen.",
    "daily.title": "Väntade händelser per plats och dag",
    "daily.hint": "Mörkare = fler väntade händelser den dagen; ▲ = antal högrisktimmar.",
    "daily.place": "Plats",
    "daily.total": "Summa",
    "daily.cell": "{place} {day}: {expected} väntade – {words}; {high} högrisktimmar",
    "heatmap.title": "Veckans timmar (alla platser)",
    "heatmap.hint": "Väntade händelser per timme, summerat över platserna och i genomsnitt över prognosens dagar.",
    "heatmap.label": "Värmekarta över veckans timmar",
    "heatmap.cell": "{day} {hour}:00 – {expected} väntade händelser per timme",
    "history.title": "Händelser de senaste veckorna",
    "history.hint": "Rapporterade händelser per vecka, per plats och per händelsetyp.",
    "history.places": "Händelser per plats",
    "history.categories": "Händelser per händelsetyp",
    "history.place": "Plats",
    "history.category": "Händelsetyp",
    "history.total": "Summa",
    "history.none": "Inga händelser de senaste {weeks} veckorna.",
    "history.range": "Vecka {first}–{last} ({from} – {to}). Platser utan händelser visas inte.",
    "plan.title": "Veckans plan",
    "plan.none": "– ingen plan ännu",
    "plan.week": "vecka {week}",
    "plan.status": "Status",
    "plan.cost": "Kostnad",
    "plan.covered": "Andel av veckans risk som täcks",
    "plan.prevented": "Förväntat förhindrade händelser",
    "plan.walks": "Nattvandringar",
    "plan.guard_hours": "Väktartimmar",
    "plan.shifts": "Veckans pass",
    "plan.col.kind": "Typ",
    "plan.col.who": "Vem",
    "plan.col.where": "Var",
    "plan.col.when": "När",
    "plan.col.cost": "Kostnad",
    "plan.col.prevented": "Förhindrat",
    "plan.col.why": "Varför",
    "plan.kind.night_walk": "Nattvandring",
    "plan.kind.guard": "Väktare",
    "plan.noshifts": "Inga pass i den här planen.",
    "plan.ics": "Kalender (ICS)",
    "plan.csv": "Tabell för Excel (CSV)",
    "plan.warnings": "Att tänka på:",
    "plan.status.optimal": "optimal",
    "plan.status.time_limit": "tidsgränsen nådd (bästa planen hittills)",
    "plan.status.feasible": "godtagbar",
    "plan.pinned": "låst (redan överenskommet)",
    "plan.guard": "väktare {n}",
    "reason.walk": "täcker {area} ({places}) {when}: {words} ({expected} väntade)",
    "reason.guard": "bevakar {places} {when}: {words} ({expected} väntade)",
    "reason.top.walk": ", bland de {pct} bästa av veckans pass",
    "reason.top.guard": ", bland de {pct} mest utsatta platstimmarna i veckan",
    "reason.must": "; måste täckas: {what}",
    "reason.more": " och {n} till",
    "season.title": "Säsongen: nattvandringar och pott",
    "season.associations": "Föreningar",
    "season.payouts": "Utbetalningar (CSV för Excel)",
    "season.total": "Kvot",
    "season.done": "Genomförda",
    "season.no_show": "Uteblivna",
    "season.planned": "Planerade",
    "season.left": "Kvar att planera",
    "season.pot": "Pott",
    "season.owed": "Att betala ut",
    "season.paid": "Utbetalt",
    "season.pot_left": "Kvar i potten",
    "season.col.name": "Förening",
    "season.col.share": "Andel av passen",
    "report.title": "Lägesbild",
    "report.html": "Lägesbilden, utskriftsklar (HTML, A4)",
    "report.csv": "Tabellerna (CSV för Excel)",
    "report.summary": "{range}: {count} händelser mot {previous} de {days} dagarna före ({change}). Hittills i år {ytd} mot {ytd_last} samma period i fjol.",
    "report.nochange": "ingen jämförelse",
    "area.title": "Polisområdet",
    "area.link": "Alla kommuner sida vid sida",
    "work.title": "Data och planering",
    "upload.title": "Ladda upp händelser",
    "upload.hint": "CSV-fil från Excel eller polisen (t.ex. Datum;Tid;Plats;Händelsetyp). En plats som inte finns är ett problem, om du inte kryssar i att platser som saknas ska skapas från filen. Allt eller inget: vid problem sparas inget.",
    "upload.create": "Skapa platser som saknas från filen",
    "upload.file": "Händelsefil",
    "upload.places": "Platsfil (valfri)",
    "upload.format": "Format",
    "upload.format.auto": "känn igen själv",
    "upload.format.excel": "Excel (svenska rubriker)",
    "upload.format.police": "polisens händelser",
    "upload.format.canonical": "tryggplans kolumner",
    "upload.columns": "Kolumnmappning (valfri)",
    "upload.send": "Ladda upp",
    "upload.busy": "Laddar upp …",
    "upload.done": "Klart: {added} nya händelser, {unchanged} fanns redan, {places} platser sparade.",
    "run.title": "Ny prognos och plan",
    "run.forecast": "Gör en ny prognos (14 dagar från i dag)",
    "run.plan": "Gör plan för nästa vecka",
    "run.forecast.busy": "Prognosen räknas …",
    "run.forecast.done": "Prognos {id} är klar.",
    "run.forecast.failed": "Prognosen misslyckades: {error}",
    "run.plan.busy": "Planen räknas …",
    "run.plan.done": "Plan {id} för vecka {week} är klar.",
    "footer": "Prognos {run}: modell {model} v{version}, tränad på händelser till och med {trained}, skapad {generated} (tider i {tz}).",
  },
  en: {
    "page.title": "tryggplan – risk picture",
    "page.subtitle": "risk, incidents and this week's plan",
    "token.label": "Key",
    "token.use": "Use",
    "token.forget": "Forget the key",
    "status.loading": "Loading …",
    "status.notoken": "Enter your key (from tryggplan token create --role reader) to see the risk picture.",
    "status.updated": "Updated {when}.",
    "status.reporter": "This key is for reporters: report an incident on the Report page.",
    "status.noforecast": "There is no forecast yet: make one (analyst or coordinator).",
    "map.title": "Map: places by risk within their town",
    "map.hint": "The colour shows the place's level against the town's other places over the next 14 days; the circle's size how far above the town's average place it is. Tap a place for details.",
    "map.region": "Map of the places",
    "map.notiles": "Map tiles could not be loaded – the places are shown on a plain outline.",
    "map.nocoordinates": "The places have no coordinates yet: add lat and lon (e.g. with a places file) to see them on the map.",
    "map.pick": "Choose a place",
    "map.pick.none": "– choose –",
    "level.high.long": "High: at least twice as much expected as the town's average place",
    "level.elevated.long": "Elevated: at least 1.25 times as much",
    "level.normal.long": "Normal",
    "level.high": "high",
    "level.elevated": "elevated",
    "level.normal": "normal",
    "place.recent": "Last four weeks",
    "place.ahead": "Next 14 days",
    "place.shifts": "This week's shifts here",
    "place.where": "{town} · area {area} · level in its town: {level}",
    "place.recent.none": "No reported incidents.",
    "place.recent.some": "{n} incidents: {list}.",
    "place.recent.one": "1 incident: {list}.",
    "place.ahead.text": "{expected} expected – {words}. Riskiest: {peak}.",
    "place.shifts.none": "No shifts here this week.",
    "windows.title": "High-risk windows, next 14 days",
    "windows.hint": "Neighbouring high-risk hours of a place merged – what the situation-picture meeting reads.",
    "windows.item": "{place}, {when}: {words} ({expected} expected, at least one: {p})",
    "windows.none": "No high-risk hours in the forecast.",
    "daily.title": "Expected incidents per place and day",
    "daily.hint": "Darker = more expected incidents that day; ▲ = number of high-risk hours.",
    "daily.place": "Place",
    "daily.total": "Total",
    "daily.cell": "{place} {day}: {expected} expected – {words}; {high} high-risk hours",
    "heatmap.title": "Hours of the week (all places)",
    "heatmap.hint": "Expected incidents per hour, summed over places and averaged over the forecast days.",
    "heatmap.label": "Hour-of-week heatmap",
    "heatmap.cell": "{day} {hour}:00 – {expected} expected incidents per hour",
    "history.title": "Incidents in recent weeks",
    "history.hint": "Reported incidents per week, by place and by category.",
    "history.places": "Incidents by place",
    "history.categories": "Incidents by category",
    "history.place": "Place",
    "history.category": "Category",
    "history.total": "Total",
    "history.none": "No incidents in the last {weeks} weeks.",
    "history.range": "Weeks {first}–{last} ({from} – {to}). Places without incidents are left out.",
    "plan.title": "This week's plan",
    "plan.none": "– no plan yet",
    "plan.week": "week {week}",
    "plan.status": "Status",
    "plan.cost": "Cost",
    "plan.covered": "Share of the week's risk covered",
    "plan.prevented": "Expected incidents prevented",
    "plan.walks": "Night walks",
    "plan.guard_hours": "Guard hours",
    "plan.shifts": "This week's shifts",
    "plan.col.kind": "Kind",
    "plan.col.who": "Who",
    "plan.col.where": "Where",
    "plan.col.when": "When",
    "plan.col.cost": "Cost",
    "plan.col.prevented": "Prevented",
    "plan.col.why": "Why",
    "plan.kind.night_walk": "Night walk",
    "plan.kind.guard": "Guard",
    "plan.noshifts": "No shifts in this plan.",
    "plan.ics": "Calendar (ICS)",
    "plan.csv": "Table for Excel (CSV)",
    "plan.warnings": "Note:",
    "plan.status.optimal": "optimal",
    "plan.status.time_limit": "time limit reached (best plan so far)",
    "plan.status.feasible": "feasible",
    "plan.pinned": "pinned (already agreed)",
    "plan.guard": "guard {n}",
    "reason.walk": "covers {area} ({places}) {when}: {words} ({expected} expected)",
    "reason.guard": "guards {places} {when}: {words} ({expected} expected)",
    "reason.top.walk": ", top {pct} of the week's walk options",
    "reason.top.guard": ", top {pct} of the week's place-hours",
    "reason.must": "; must-cover: {what}",
    "reason.more": " and {n} more",
    "season.title": "The season: night walks and the pot",
    "season.associations": "Associations",
    "season.payouts": "Payouts (CSV for Excel)",
    "season.total": "Quota",
    "season.done": "Done",
    "season.no_show": "No-shows",
    "season.planned": "Planned",
    "season.left": "Left to plan",
    "season.pot": "Pot",
    "season.owed": "Owed",
    "season.paid": "Paid",
    "season.pot_left": "Left in the pot",
    "season.col.name": "Association",
    "season.col.share": "Share of the walks",
    "report.title": "Situation picture",
    "report.html": "The situation picture, print-ready (HTML, A4)",
    "report.csv": "Its tables (CSV for Excel)",
    "report.summary": "{range}: {count} incidents against {previous} in the {days} days before ({change}). Year to date {ytd} against {ytd_last} in the same period last year.",
    "report.nochange": "no comparison",
    "area.title": "The police area",
    "area.link": "All municipalities side by side",
    "work.title": "Data and planning",
    "upload.title": "Upload incidents",
    "upload.hint": "A CSV file from Excel or the police (e.g. Datum;Tid;Plats;Händelsetyp). A place that does not exist is a problem, unless you tick that missing places are created from the file. All or nothing: on any problem nothing is stored.",
    "upload.create": "Create missing places from the file",
    "upload.file": "Incident file",
    "upload.places": "Places file (optional)",
    "upload.format": "Format",
    "upload.format.auto": "detect",
    "upload.format.excel": "Excel (Swedish headers)",
    "upload.format.police": "police events",
    "upload.format.canonical": "tryggplan's columns",
    "upload.columns": "Column mapping (optional)",
    "upload.send": "Upload",
    "upload.busy": "Uploading …",
    "upload.done": "Done: {added} new incidents, {unchanged} already stored, {places} places stored.",
    "run.title": "New forecast and plan",
    "run.forecast": "Make a new forecast (14 days from today)",
    "run.plan": "Make next week's plan",
    "run.forecast.busy": "The forecast is running …",
    "run.forecast.done": "Forecast {id} is done.",
    "run.forecast.failed": "The forecast failed: {error}",
    "run.plan.busy": "The plan is being made …",
    "run.plan.done": "Plan {id} for week {week} is done.",
    "footer": "Forecast {run}: model {model} v{version}, trained on incidents up to {trained}, made {generated} (times in {tz}).",
  },
});

const state = { places: new Map(), daily: null, plan: null, history: [], categories: new Map(), map: null, role: null };

function setStatus(text, isError, node) {
  const s = document.getElementById("status");
  s.replaceChildren(text);
  if (node) s.append(" ", node);
  s.className = isError ? "error" : "";
}

// white -> dark red by share of the maximum; `dark` when white text reads better than black on it
// (WCAG relative luminance: both reach at least 4.5:1 on either side of 0.179)
function shade(value, max) {
  const t = max > 0 ? Math.min(1, value / max) : 0;
  const rgb = [255 - t * (255 - 140), 255 - t * (255 - 20), 255 - t * (255 - 20)].map(Math.round);
  const lin = rgb.map((c) => { const x = c / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
  const luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return { color: "rgb(" + rgb.join(",") + ")", dark: luminance < 0.179 };
}

/** "guard 1" (the plan's name of a guard) as the page's language says it. */
function who(s) {
  if (s.association) return s.association;
  const m = /^guard (\d+)$/.exec(s.guard || "");
  return m ? TP.t("plan.guard", { n: m[1] }) : s.guard || "";
}

function placeName(id) {
  const p = state.places.get(id);
  return (p && p.name) || id;
}

function isoWeek(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const day = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - day + 3);
  const year = date.getUTCFullYear();
  const first = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round(((date - first) / 86400000 - 3 + ((first.getUTCDay() + 6) % 7)) / 7);
  return year + "-W" + String(week).padStart(2, "0");
}

function mondayOf(isoDate, weeksBack) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7) - 7 * (weeksBack || 0));
  return date.toISOString().slice(0, 10);
}

function addDays(isoDate, n) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// ------------------------------------------------------------------ the next 14 days per place
function renderDaily(doc) {
  const dates = [...new Set(doc.rows.map((r) => r.date))].sort().slice(0, 14);
  const ids = [...new Set(doc.rows.map((r) => r.place_id))].sort((a, b) => placeName(a).localeCompare(placeName(b), "sv"));
  const byKey = new Map(doc.rows.map((r) => [r.place_id + "|" + r.date, r]));
  const max = Math.max(0, ...doc.rows.map((r) => r.expected));
  const table = document.getElementById("daily-table");
  table.replaceChildren();
  const head = TP.el("tr");
  head.append(TP.el("th", { scope: "col", class: "place" }, TP.t("daily.place")));
  for (const d of dates) {
    const th = TP.el("th", { scope: "col" });
    th.append(TP.el("span", { class: "wd" }, TP.weekdayShort(TP.parts(d).weekday)), TP.el("br"), TP.date(d, "short"));
    head.append(th);
  }
  head.append(TP.el("th", { scope: "col" }, TP.t("daily.total")));
  table.append(TP.el("thead"), TP.el("tbody"));
  table.tHead.append(head);
  for (const id of ids) {
    const tr = TP.el("tr", { "data-place": id });
    const th = TP.el("th", { scope: "row", class: "place" });
    const button = TP.el("button", { type: "button", class: "linklike" }, placeName(id));
    button.addEventListener("click", () => selectPlace(id));
    th.append(button);
    tr.append(th);
    let total = 0;
    for (const d of dates) {
      const r = byKey.get(id + "|" + d);
      const v = r ? r.expected : 0;
      total += v;
      const s = shade(v, max);
      const td = TP.el("td", {
        "data-date": d, "data-value": v.toFixed(4),
        title: TP.t("daily.cell", { place: placeName(id), day: TP.date(d), expected: TP.number(v, 2), words: TP.expectedInWords(v, "night"), high: r ? r.high_hours : 0 }),
      }, TP.number(v, 2) + (r && r.high_hours ? " ▲" + r.high_hours : ""));
      td.style.background = s.color;
      if (s.dark) td.className = "hot";
      tr.append(td);
    }
    tr.append(TP.el("td", { class: "total" }, TP.number(total, 1)));
    table.tBodies[0].append(tr);
  }
}

// ------------------------------------------------------------------ high-risk windows
function renderWindows(doc) {
  const list = document.getElementById("windows");
  list.replaceChildren();
  for (const w of doc.windows.slice(0, 12)) {
    const text = TP.t("windows.item", {
      place: w.name || placeName(w.place_id), when: TP.timeRange(w.start, w.end), words: TP.expectedInWords(w.expected),
      expected: TP.number(w.expected, 1), p: TP.percent(100 * (w.p_any || 0), 0),
    });
    list.append(TP.el("li", { class: "window", "data-place": w.place_id }, text));
  }
  if (!doc.windows.length) list.append(TP.el("li", {}, TP.t("windows.none")));
}

// ------------------------------------------------------------------ hour-of-week heatmap
function renderHeatmap(doc) {
  const svg = document.getElementById("heatmap");
  svg.replaceChildren();
  const cw = 18, ch = 16, left = 36, top = 16;
  svg.setAttribute("viewBox", "0 0 " + (left + 24 * cw + 4) + " " + (top + 7 * ch + 4));
  const max = Math.max(0, ...doc.cells.map((c) => c.expected));
  for (let h = 0; h < 24; h += 3) svg.append(TP.el("svg:text", { x: left + h * cw + 2, y: top - 4 }, String(h).padStart(2, "0")));
  for (let w = 0; w < 7; w++) svg.append(TP.el("svg:text", { x: 2, y: top + w * ch + 12 }, TP.weekdayShort(w)));
  for (const c of doc.cells) {
    const rect = TP.el("svg:rect", {
      class: "cell", x: left + c.hour * cw, y: top + c.weekday * ch, width: cw - 1, height: ch - 1,
      fill: shade(c.expected, max).color, "data-weekday": c.weekday, "data-hour": c.hour, "data-value": c.expected.toFixed(5),
    });
    rect.append(TP.el("svg:title", {}, TP.t("heatmap.cell", { day: TP.weekdayShort(c.weekday), hour: String(c.hour).padStart(2, "0"), expected: TP.number(c.expected, 3) })));
    svg.append(rect);
  }
}

// ------------------------------------------------------------------ incident history
const HISTORY_WEEKS = 8;

function historyTable(table, keyName, rows, keyOf, labelOf, weeks) {
  table.replaceChildren();
  const counts = new Map();
  for (const r of rows) {
    const k = keyOf(r);
    if (!counts.has(k)) counts.set(k, new Map());
    counts.get(k).set(r.period, (counts.get(k).get(r.period) || 0) + r.count);
  }
  const head = TP.el("tr");
  head.append(TP.el("th", { scope: "col", class: "place" }, keyName));
  for (const w of weeks) head.append(TP.el("th", { scope: "col" }, TP.isoWeekLabel(w)));
  head.append(TP.el("th", { scope: "col" }, TP.t("history.total")));
  table.append(TP.el("thead"), TP.el("tbody"));
  table.tHead.append(head);
  const totals = [...counts.entries()].map(([k, m]) => [k, weeks.reduce((s, w) => s + (m.get(w) || 0), 0)]);
  totals.sort((a, b) => b[1] - a[1] || labelOf(a[0]).localeCompare(labelOf(b[0]), "sv"));
  for (const [k, total] of totals) {
    if (!total) continue;
    const tr = TP.el("tr", { "data-key": k });
    tr.append(TP.el("th", { scope: "row", class: "place" }, labelOf(k)));
    for (const w of weeks) {
      const n = counts.get(k).get(w) || 0;
      tr.append(TP.el("td", { "data-week": w, class: n ? "" : "zero" }, n ? TP.number(n, 0) : "·"));
    }
    tr.append(TP.el("td", { class: "total" }, TP.number(total, 0)));
    table.tBodies[0].append(tr);
  }
}

async function loadHistory() {
  const today = TP.isoDay(0);
  const first = mondayOf(today, HISTORY_WEEKS - 1);
  const doc = await TP.api("/aggregates/incidents?by=week&by_category=true&start=" + first);
  state.history = doc.rows;
  state.historyWeeks = Array.from({ length: HISTORY_WEEKS }, (_, i) => isoWeek(addDays(first, 7 * i)));
  state.historyFirst = first;
  renderHistory();
}

function renderHistory() {
  const weeks = state.historyWeeks || [];
  const rows = state.history || [];
  const hint = document.getElementById("history-hint");
  if (!rows.length) {
    hint.textContent = TP.t("history.none", { weeks: HISTORY_WEEKS });
  } else {
    hint.textContent = TP.t("history.range", {
      first: TP.isoWeekLabel(weeks[0]).replace(/^v\.\s|^W/, ""), last: TP.isoWeekLabel(weeks[weeks.length - 1]).replace(/^v\.\s|^W/, ""),
      from: TP.date(state.historyFirst, "short"), to: TP.date(TP.isoDay(0), "short"),
    });
  }
  historyTable(document.getElementById("history-places"), TP.t("history.place"), rows, (r) => r.place_id, placeName, weeks);
  historyTable(document.getElementById("history-categories"), TP.t("history.category"), rows, (r) => r.category || "unknown",
    (c) => state.categories.get(c) || c, weeks);
}

// ------------------------------------------------------------------ the plan
function shiftReason(s) {
  const names = (s.place_ids || []).map(placeName);
  let places = names.slice(0, 4).join(", ");
  if (names.length > 4) places += TP.t("reason.more", { n: names.length - 4 });
  const vars = { area: s.area || "", places, when: TP.timeRange(s.start, s.end), words: TP.expectedInWords(s.expected_covered || 0),
    expected: TP.number(s.expected_covered || 0, 2) };
  let text = TP.t(s.kind === "night_walk" ? "reason.walk" : "reason.guard", vars);
  const top = /top (\S+?)% of the week's/.exec(s.why || "");
  if (top) text += TP.t(s.kind === "night_walk" ? "reason.top.walk" : "reason.top.guard", { pct: TP.percent(Number(top[1]), top[1].includes(".") ? 1 : 0) });
  const must = /; must-cover (.+)$/.exec(s.why || "");
  if (must) text += TP.t("reason.must", { what: must[1] });
  if (s.pinned) text = TP.t("plan.pinned") + "; " + text;
  return text;
}

function renderPlan(rec) {
  state.plan = rec;
  const week = document.getElementById("plan-week");
  const table = document.getElementById("plan-table");
  const dl = document.getElementById("plan-summary");
  const warnings = document.getElementById("plan-warnings");
  const links = document.getElementById("plan-links");
  table.replaceChildren();
  dl.replaceChildren();
  warnings.replaceChildren();
  if (!rec) {
    week.textContent = TP.t("plan.none");
    links.hidden = true;
    warnings.hidden = true;
    return;
  }
  const plan = rec.plan;
  week.textContent = "– " + TP.t("plan.week", { week: (plan.week || rec.week || "").replace(/^\d{4}-W/, "") });
  const facts = [
    ["status", TP.t("plan.status"), TP.t("plan.status." + plan.status)],
    ["cost", TP.t("plan.cost"), TP.sek(plan.cost_sek || 0)],
    ["covered", TP.t("plan.covered"), TP.percent(100 * (plan.risk_covered_share || 0), 1)],
    ["prevented", TP.t("plan.prevented"), TP.number(plan.objective || 0, 2) + " (" + TP.expectedInWords(plan.objective || 0, "week") + ")"],
    ["walks", TP.t("plan.walks"), plan.walks !== undefined ? TP.number(plan.walks, 0) : ""],
    ["guard-hours", TP.t("plan.guard_hours"), plan.guard_hours !== undefined ? TP.number(plan.guard_hours, 0) : ""],
  ];
  for (const [id, k, v] of facts) {
    const wrap = TP.el("div");
    wrap.append(TP.el("dt", {}, k), TP.el("dd", { id: "plan-" + id }, v));
    dl.append(wrap);
  }
  // the record's warnings are in the language the page asked for; the stored document keeps English
  const notes = (rec.warnings || plan.warnings || []).map((w) => (typeof w === "string" ? w : w.text || w.message || JSON.stringify(w)));
  warnings.hidden = !notes.length;
  if (notes.length) {
    warnings.append(TP.el("li", { class: "title" }, TP.t("plan.warnings")));
    for (const n of notes) warnings.append(TP.el("li", {}, n));
  }
  const head = TP.el("tr");
  for (const h of ["kind", "who", "where", "when", "cost", "prevented", "why"]) head.append(TP.el("th", { scope: "col" }, TP.t("plan.col." + h)));
  table.append(TP.el("thead"), TP.el("tbody"));
  table.tHead.append(head);
  for (const s of plan.shifts || []) {
    const tr = TP.el("tr", { class: "shift", "data-kind": s.kind });
    const names = (s.place_ids || []).map(placeName).join(", ");
    tr.append(
      TP.el("td", {}, TP.t("plan.kind." + s.kind)),
      TP.el("td", {}, who(s)),
      TP.el("td", {}, (s.area ? s.area + ": " : "") + names),
      TP.el("td", { class: "when" }, TP.timeRange(s.start, s.end)),
      TP.el("td", { class: "num" }, TP.sek(s.cost_sek || 0)),
      TP.el("td", { class: "num" }, TP.number(s.expected_prevented || 0, 3)),
      TP.el("td", { class: "why" }, shiftReason(s)),
    );
    table.tBodies[0].append(tr);
  }
  if (!(plan.shifts || []).length) {
    const tr = TP.el("tr");
    tr.append(TP.el("td", { colspan: 7 }, TP.t("plan.noshifts")));
    table.tBodies[0].append(tr);
  }
  // real links: the download-session cookie authorises them (no token in the URL)
  document.getElementById("plan-ics").href = TP.API + "/plans/" + rec.id + "/plan.ics?lang=" + TP.lang;
  document.getElementById("plan-ics").setAttribute("download", "plan-" + (plan.week || rec.id) + ".ics");
  document.getElementById("plan-csv").href = TP.API + "/plans/" + rec.id + "/plan.csv?lang=" + TP.lang;
  document.getElementById("plan-csv").setAttribute("download", "plan-" + (plan.week || rec.id) + ".csv");
  links.hidden = false;
}

// ------------------------------------------------------------------ season ledger (issue 12's route)
function renderSeason(doc) {
  const section = document.getElementById("season-section");
  section.hidden = !doc;
  if (!doc) return;
  const dl = document.getElementById("season-summary");
  dl.replaceChildren();
  const facts = [
    ["total", TP.number(doc.walks_total, 0)], ["done", TP.number(doc.walks_done, 0)], ["no_show", TP.number(doc.walks_no_show, 0)],
    ["planned", TP.number(doc.walks_planned, 0)], ["left", TP.number(doc.walks_left, 0)], ["pot", TP.sek(doc.pot_sek)],
    ["owed", TP.sek(doc.owed_sek)], ["paid", TP.sek(doc.paid_sek)], ["pot_left", TP.sek(doc.pot_left_sek)],
  ];
  for (const [k, v] of facts) {
    const wrap = TP.el("div");
    wrap.append(TP.el("dt", {}, TP.t("season." + k)), TP.el("dd", { id: "season-" + k }, v));
    dl.append(wrap);
  }
  const table = document.getElementById("season-table");
  table.replaceChildren();
  const head = TP.el("tr");
  for (const k of ["col.name", "done", "planned", "owed", "paid", "col.share"]) head.append(TP.el("th", { scope: "col" }, TP.t("season." + k)));
  table.append(TP.el("thead"), TP.el("tbody"));
  table.tHead.append(head);
  const all = (doc.associations || []).reduce((s, a) => s + a.walks_done + a.walks_planned, 0);
  for (const a of doc.associations || []) {
    const tr = TP.el("tr");
    tr.append(TP.el("th", { scope: "row" }, a.name), TP.el("td", { class: "num" }, TP.number(a.walks_done, 0)),
      TP.el("td", { class: "num" }, TP.number(a.walks_planned, 0)), TP.el("td", { class: "num" }, TP.sek(a.owed_sek)),
      TP.el("td", { class: "num" }, TP.sek(a.paid_sek)),
      TP.el("td", { class: "num" }, all ? TP.percent(100 * (a.walks_done + a.walks_planned) / all, 0) : "–"));
    table.tBodies[0].append(tr);
  }
}

// ------------------------------------------------------------------ the newest situation picture (issue 13's route)
function renderReport(doc, to) {
  const section = document.getElementById("report-section");
  section.hidden = !doc;
  if (!doc) return;
  const t = doc.totals || {};
  const change = t.change_vs_previous_pct === null || t.change_vs_previous_pct === undefined
    ? TP.t("report.nochange") : TP.percent(t.change_vs_previous_pct, 1, true);
  document.getElementById("report-summary").textContent = TP.t("report.summary", {
    range: TP.date(doc.from, "short") + "–" + TP.date(doc.to, "long"), count: TP.number(t.count || 0, 0),
    previous: TP.number(t.previous || 0, 0), days: doc.days, change,
    ytd: TP.number((doc.ytd || {}).count || 0, 0), ytd_last: TP.number((doc.ytd || {}).last_year || 0, 0),
  });
  const query = "?to=" + to + "&days=14&lang=" + TP.lang;
  document.getElementById("report-html").href = TP.API + "/reports/situation.html" + query;
  document.getElementById("report-csv").href = TP.API + "/reports/situation.csv" + query;
}

// ------------------------------------------------------------------ the map and the place panel
function selectPlace(id) {
  if (!id) return;
  const panel = document.getElementById("place-panel");
  const p = state.places.get(id) || { place_id: id };
  panel.hidden = false;
  panel.dataset.place = id;
  document.getElementById("place-select").value = id;
  document.getElementById("place-name").textContent = p.name || id;
  document.getElementById("place-where").textContent = TP.t("place.where", {
    town: p.municipality || "–", area: p.area || "–", level: TP.t("level." + (p.town_level || "normal")),
  });
  // recent incidents: counts by category, never rows
  const since = mondayOf(TP.isoDay(0), 3);
  const recentWeeks = new Set(Array.from({ length: 4 }, (_, i) => isoWeek(addDays(since, 7 * i))));
  const byCat = new Map();
  for (const r of state.history || []) {
    if (r.place_id === id && recentWeeks.has(r.period)) byCat.set(r.category || "unknown", (byCat.get(r.category || "unknown") || 0) + r.count);
  }
  const n = [...byCat.values()].reduce((a, b) => a + b, 0);
  const list = [...byCat.entries()].sort((a, b) => b[1] - a[1]).map(([c, k]) => (state.categories.get(c) || c) + " " + TP.number(k, 0)).join(", ");
  document.getElementById("place-recent").textContent = n === 0 ? TP.t("place.recent.none") : TP.t(n === 1 ? "place.recent.one" : "place.recent.some", { n: TP.number(n, 0), list });
  // the next 14 days
  const rows = ((state.daily && state.daily.rows) || []).filter((r) => r.place_id === id).sort((a, b) => a.date.localeCompare(b.date)).slice(0, 14);
  const total = rows.reduce((s, r) => s + r.expected, 0);
  document.getElementById("place-ahead").textContent = TP.t("place.ahead.text", {
    expected: TP.number(total, 2), words: TP.expectedInWords(total, "week"), peak: p.peak_slot ? TP.dateTime(p.peak_slot) : "–",
  });
  const days = document.getElementById("place-days");
  days.replaceChildren();
  for (const r of [...rows].sort((a, b) => b.expected - a.expected).slice(0, 3)) {
    days.append(TP.el("li", {}, TP.date(r.date) + ": " + TP.number(r.expected, 2) + " – " + TP.expectedInWords(r.expected, "night")));
  }
  // this week's shifts there
  const shifts = document.getElementById("place-shifts");
  shifts.replaceChildren();
  const here = ((state.plan && state.plan.plan.shifts) || []).filter((s) => (s.place_ids || []).includes(id));
  for (const s of here) shifts.append(TP.el("li", {}, TP.t("plan.kind." + s.kind) + ", " + who(s) + ": " + TP.timeRange(s.start, s.end)));
  if (!here.length) shifts.append(TP.el("li", {}, TP.t("place.shifts.none")));
  if (state.map) state.map.select(id);
}

function renderMap(geo, config) {
  const container = document.getElementById("map");
  const select = document.getElementById("place-select");
  select.replaceChildren(TP.el("option", { value: "" }, TP.t("map.pick.none")));
  const sorted = [...geo.features].sort((a, b) => (a.properties.name || a.id).localeCompare(b.properties.name || b.id, "sv"));
  for (const f of sorted) select.append(TP.el("option", { value: f.properties.place_id }, f.properties.name || f.properties.place_id));
  if (state.map) { state.map.map.remove(); state.map = null; }
  const note = document.getElementById("map-note");
  const located = geo.features.filter((f) => f.geometry && f.geometry.type === "Point");
  container.hidden = !located.length;
  note.hidden = !!located.length;
  note.textContent = TP.t(located.length ? "map.notiles" : "map.nocoordinates");
  if (typeof L === "undefined" || !located.length) return;
  state.map = TPMap.create(container, geo.features, {
    config, onSelect: selectPlace,
    onNoTiles: () => { document.getElementById("map-note").hidden = false; },
  });
}

// ------------------------------------------------------------------ work: upload, forecast, plan
function showError(target, e) {
  target.replaceChildren(TP.el("p", { class: "error" }, TP.describeError(e)));
  if (e.status === 422) target.append(TP.problemList(e));
}

async function upload(ev) {
  ev.preventDefault();
  const result = document.getElementById("upload-result");
  const file = document.getElementById("upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const places = document.getElementById("upload-places").files[0];
  if (places) form.append("places", places);
  const params = new URLSearchParams({ format: document.getElementById("upload-format").value });
  const columns = document.getElementById("upload-columns").value.trim();
  if (columns) { params.set("columns", columns); params.set("format", "mapped"); }
  if (document.getElementById("upload-create").checked) params.set("create_places", "true");
  result.replaceChildren(TP.el("p", {}, TP.t("upload.busy")));
  try {
    const out = await TP.api("/incidents/upload?" + params, { method: "POST", form });
    result.replaceChildren(TP.el("p", { class: "ok" }, TP.t("upload.done", { added: TP.number(out.added, 0), unchanged: TP.number(out.unchanged, 0), places: TP.number(out.places_upserted, 0) })));
    await load();
  } catch (e) {
    showError(result, e);
  }
}

async function runForecast() {
  const out = document.getElementById("run-result");
  out.textContent = TP.t("run.forecast.busy");
  try {
    let run = await TP.api("/forecasts", { method: "POST", json: { start: TP.isoDay(0), days: 14 } });
    for (let i = 0; i < 300 && run.status !== "done" && run.status !== "failed"; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      run = await TP.api("/forecasts/" + run.id);
    }
    out.textContent = run.status === "done" ? TP.t("run.forecast.done", { id: run.id }) : TP.t("run.forecast.failed", { error: run.error || run.status });
    await load();
  } catch (e) {
    showError(out, e);
  }
}

async function runPlan() {
  const out = document.getElementById("run-result");
  out.textContent = TP.t("run.plan.busy");
  try {
    const week = isoWeek(addDays(mondayOf(TP.isoDay(0), 0), 7));
    const rec = await TP.api("/plans", { method: "POST", json: { week } });
    out.textContent = TP.t("run.plan.done", { id: rec.id, week: week.replace(/^\d{4}-W/, "") });
    await load();
  } catch (e) {
    showError(out, e);
  }
}

function showWork(role) {
  const upload = role === "analyst" || role === "admin";
  const forecast = upload || role === "coordinator";
  const plan = role === "coordinator" || role === "admin";
  document.getElementById("work-section").hidden = !forecast;
  document.getElementById("upload-form").hidden = !upload;
  document.getElementById("run-actions").hidden = !forecast;
  document.getElementById("run-plan").hidden = !plan;
}

// ------------------------------------------------------------------ loading
async function loadForecastPanels(config) {
  const start = TP.isoDay(0), end = TP.isoDay(14);
  let daily = await TP.api("/forecasts/latest/daily?start=" + start + "&end=" + end);
  let range = "?start=" + start + "&end=" + end;
  if (!daily.rows.length) { daily = await TP.api("/forecasts/latest/daily"); range = ""; }  // an older forecast: its own days
  state.daily = daily;
  const [geo, windows, heatmap] = await Promise.all([
    TP.api("/forecasts/latest/places.geojson" + range),
    TP.api("/forecasts/latest/windows" + (range ? range + "&" : "?") + "lang=" + TP.lang),
    TP.api("/forecasts/latest/heatmap"),
  ]);
  for (const f of geo.features) state.places.set(f.properties.place_id, { ...state.places.get(f.properties.place_id), ...f.properties });
  renderMap(geo, config);
  renderDaily(daily);
  renderWindows(windows);
  renderHeatmap(heatmap);
  document.getElementById("provenance").textContent = TP.t("footer", {
    run: daily.run_id, model: daily.model, version: daily.model_version, trained: daily.trained_until ? TP.date(daily.trained_until, "long") : "?",
    generated: daily.generated_at ? TP.dateTime(daily.generated_at) : "?", tz: daily.tz,
  });
}

async function load() {
  document.body.dataset.loaded = "loading";
  if (!TP.ready()) {
    if (TP.needSignIn()) return;
    setStatus(TP.t("status.notoken"), true);
    document.body.dataset.loaded = "no-token";
    return;
  }
  setStatus(TP.t("status.loading"));
  try {
    const session = await TP.openSession();
    state.role = session.role;
    if (session.role === "reporter") {
      setStatus(TP.t("status.reporter"), true, TP.el("a", { href: "/rapportera" }, "/rapportera"));
      document.body.dataset.loaded = "reporter";
      return;
    }
    showWork(session.role);
    const config = await (await fetch("/ui/config.json")).json();
    TP.setZone(config.tz);
    const [places, categories] = await Promise.all([TP.api("/places"), TP.api("/categories?lang=" + TP.lang)]);
    for (const p of places) state.places.set(p.place_id, { ...state.places.get(p.place_id), ...p });
    // a town without places yet gets them from its first file; afterwards a new place is asked for
    const create = document.getElementById("upload-create");
    if (!create.dataset.touched) create.checked = places.length === 0;
    state.categories = new Map(categories.categories.map((c) => [c.category, c.label]));
    const to = TP.isoDay(-1);
    const [plan, season, report, area] = await Promise.all([
      TP.optional("/plans/current"), TP.optional("/season"), TP.optional("/reports/situation?to=" + to + "&days=14"), TP.optional("/area"),
      loadHistory(),
    ]);
    renderPlan(plan);
    renderSeason(season);
    renderReport(report, to);
    document.getElementById("area-section").hidden = !area;
    try {
      await loadForecastPanels(config);
    } catch (e) {
      if (e.status !== 404) throw e;
      setStatus(TP.t("status.noforecast"), true);
      document.body.dataset.loaded = "no-forecast";
      return;
    }
    if (state.plan) renderPlan(state.plan);  // with the places' names now known
    setStatus(TP.t("status.updated", { when: TP.dateTime(TP.localIso()) }));
    document.body.dataset.loaded = "true";
  } catch (e) {
    setStatus(TP.describeError(e), true);
    document.body.dataset.loaded = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  TP.setLang(TP.chooseLang());
  TP.wireLangSwitch(() => load());
  TP.readToken();
  const input = document.getElementById("token-input");  // only on a page opened with a key (a wall screen)
  if (input) {
    input.value = TP.token();
    document.getElementById("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      TP.useToken(input.value);
      load();
    });
    document.getElementById("token-forget").addEventListener("click", async () => {
      await TP.closeSession();
      TP.useToken("");
      input.value = "";
      load();
    });
  }
  document.getElementById("place-select").addEventListener("change", (ev) => selectPlace(ev.target.value));
  document.getElementById("upload-form").addEventListener("submit", upload);
  document.getElementById("upload-create").addEventListener("change", (ev) => { ev.target.dataset.touched = "1"; });
  document.getElementById("run-forecast").addEventListener("click", runForecast);
  document.getElementById("run-plan").addEventListener("click", runPlan);
  load();
});
