// The police area's municipalities side by side (GET /api/v1/area): the last 14 days, the year to date,
// the next 14 days (absolute expected incidents, high-risk hours within each town), this week's plan and
// the season ledger of each. Swedish by default; the language switch and ?lang=en give English.
"use strict";

TP.addStrings({
  sv: {
    "area.page": "Polisområdet – tryggplan",
    "area.title": "Kommunerna sida vid sida",
    "area.back": "Till översikten",
    "area.hint": "Antal händelser är absoluta; högrisktimmarna räknas inom varje kommun, så att en liten kommuns mest utsatta tider syns bredvid en stor kommuns.",
    "area.police": "polisområde {area}",
    "area.own": "eget polisområde",
    "area.last": "Senaste {days} dagarna",
    "area.last.value": "{count} händelser ({change} mot {previous} dagarna innan)",
    "area.ytd": "Hittills i år",
    "area.ytd.value": "{count} händelser ({change} mot {last} samma tid i fjol)",
    "area.ahead": "Kommande {days} dagar",
    "area.ahead.value": "{expected} väntade händelser, {high} högrisktimmar i kommunen",
    "area.ahead.none": "ingen prognos ännu",
    "area.windows": "Högrisktider",
    "area.windows.none": "inga tydliga högrisktider",
    "area.plan": "Veckans plan",
    "area.plan.value": "{walks} nattvandringar, {guards} vaktimmar, {cost}",
    "area.plan.none": "ingen plan för veckan",
    "area.season": "Säsongen",
    "area.season.value": "{left} pass kvar av {total}, {pot} kvar i potten",
    "area.season.none": "ingen säsong registrerad",
    "area.change.none": "ingen jämförelse",
    "token.label": "Nyckel",
    "token.use": "Använd",
    "status.loading": "Laddar …",
    "status.token": "Ange en nyckel för att se området.",
    "status.updated": "Uppdaterad {when}",
    "status.empty": "Inga kommuner att visa: importera platser med kommun först.",
  },
  en: {
    "area.page": "The police area – tryggplan",
    "area.title": "The municipalities side by side",
    "area.back": "Back to the overview",
    "area.hint": "Incident counts are absolute; high-risk hours are counted within each municipality, so a small town's most exposed times show next to a large town's.",
    "area.police": "police area {area}",
    "area.own": "its own police area",
    "area.last": "Last {days} days",
    "area.last.value": "{count} incidents ({change} against {previous} in the days before)",
    "area.ytd": "Year to date",
    "area.ytd.value": "{count} incidents ({change} against {last} at the same time last year)",
    "area.ahead": "Next {days} days",
    "area.ahead.value": "{expected} expected incidents, {high} high-risk hours in the town",
    "area.ahead.none": "no forecast yet",
    "area.windows": "High-risk times",
    "area.windows.none": "no clear high-risk times",
    "area.plan": "This week's plan",
    "area.plan.value": "{walks} night walks, {guards} guard hours, {cost}",
    "area.plan.none": "no plan for the week",
    "area.season": "The season",
    "area.season.value": "{left} walks left of {total}, {pot} left in the pot",
    "area.season.none": "no season recorded",
    "area.change.none": "no comparison",
    "token.label": "Key",
    "token.use": "Use",
    "status.loading": "Loading …",
    "status.token": "Enter a key to see the area.",
    "status.updated": "Updated {when}",
    "status.empty": "No municipalities to show: import places with their municipality first.",
  },
});

const names = new Map();

function change(pct) {
  return pct === null || pct === undefined ? TP.t("area.change.none") : TP.percent(pct, 1, true);
}

function fact(label, value) {
  const wrap = TP.el("div", { class: "fact" });
  wrap.append(TP.el("dt", {}, label), TP.el("dd", {}, value));
  return wrap;
}

function townCard(town, days) {
  const card = TP.el("section", { class: "town", "aria-labelledby": "town-" + town.municipality });
  const heading = TP.el("h2", { id: "town-" + town.municipality }, town.municipality);
  const area = town.police_area ? TP.t("area.police", { area: town.police_area }) : TP.t("area.own");
  card.append(heading, TP.el("p", { class: "hint" }, area));
  const dl = TP.el("dl");
  const last = town.last_days;
  dl.append(fact(TP.t("area.last", { days: TP.number(days, 0) }), TP.t("area.last.value", {
    count: TP.number(last.count, 0), previous: TP.number(last.previous, 0), change: change(last.change_pct),
  })));
  const ytd = town.ytd;
  dl.append(fact(TP.t("area.ytd"), TP.t("area.ytd.value", {
    count: TP.number(ytd.count, 0), last: TP.number(ytd.last_year, 0), change: change(ytd.change_pct),
  })));
  const ahead = town.ahead;
  dl.append(fact(TP.t("area.ahead", { days: TP.number(days, 0) }), ahead
    ? TP.t("area.ahead.value", { expected: TP.number(ahead.expected, 1), high: TP.number(ahead.high_hours, 0) })
    : TP.t("area.ahead.none")));
  const plan = town.plan;
  dl.append(fact(TP.t("area.plan"), plan
    ? TP.t("area.plan.value", { walks: TP.number(plan.walks, 0), guards: TP.number(plan.guard_hours, 0), cost: TP.sek(plan.cost_sek) })
    : TP.t("area.plan.none")));
  const season = town.season;
  dl.append(fact(TP.t("area.season"), season && season.walks_total !== null
    ? TP.t("area.season.value", { left: TP.number(season.walks_left, 0), total: TP.number(season.walks_total, 0), pot: TP.sek(season.pot_left_sek) })
    : TP.t("area.season.none")));
  card.append(dl);
  card.append(TP.el("h3", {}, TP.t("area.windows")));
  const windows = (ahead && ahead.windows) || [];
  if (!windows.length) {
    card.append(TP.el("p", { class: "hint" }, TP.t("area.windows.none")));
  } else {
    const list = TP.el("ul", { class: "windows" });
    for (const w of windows) {
      const where = names.get(w.place_id) || w.place_id;
      list.append(TP.el("li", {}, where + ", " + TP.timeRange(w.start, w.end) + ": " + TP.expectedInWords(w.expected, "evening")));
    }
    card.append(list);
  }
  return card;
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function load() {
  document.body.dataset.loaded = "loading";
  const tokenForm = document.getElementById("token-form");  // only on a page opened with a key
  if (!TP.ready()) {
    if (TP.needSignIn()) return;
    tokenForm.hidden = false;
    setStatus(TP.t("status.token"), true);
    document.body.dataset.loaded = "token";
    return;
  }
  if (tokenForm) tokenForm.hidden = true;
  try {
    const [view, places] = await Promise.all([TP.api("/area"), TP.api("/places")]);
    for (const p of places) names.set(p.place_id, p.name || p.place_id);
    const towns = document.getElementById("towns");
    towns.replaceChildren(...view.municipalities.map((town) => townCard(town, view.days)));
    if (!view.municipalities.length) setStatus(TP.t("status.empty"), true);
    else setStatus(TP.t("status.updated", { when: TP.dateTime(TP.localIso()) }));
    document.body.dataset.loaded = "true";
  } catch (e) {
    setStatus(TP.describeError(e), true);
    document.body.dataset.loaded = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  TP.setLang(TP.chooseLang());
  TP.wireLangSwitch(load);
  TP.readToken();
  document.getElementById("token-form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    TP.useToken(document.getElementById("token-input").value);
    load();
  });
  load();
});
