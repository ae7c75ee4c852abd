// tryggplan: the reporters' form (/rapportera), phone first. A trained reporter's token (role
// "reporter") may create incidents and read back only its own. The place comes from the list or a tap
// on the map, the date and time default to now, the category from the town's list
// (GET /api/v1/categories), and a short text. Each entry gets an id made in the browser, so sending
// it twice (a flaky phone connection) stores it once.
"use strict";

TP.addStrings({
  sv: {
    "form.page": "Rapportera en händelse – tryggplan",
    "form.title": "Rapportera en händelse",
    "form.heading": "Ny händelse",
    "token.label": "Nyckel",
    "token.use": "Använd",
    "status.loading": "Laddar …",
    "status.notoken": "Skriv in din rapportörsnyckel för att kunna rapportera.",
    "status.ready": "Inloggad som {name}.",
    "form.place": "Plats",
    "form.place.none": "– välj plats –",
    "form.map": "Karta för att välja plats",
    "form.map.hint": "… eller tryck på kartan vid platsen.",
    "form.date": "Datum",
    "form.time": "Klockslag",
    "form.category": "Vad hände?",
    "form.category.none": "– välj händelsetyp –",
    "form.note": "Kort beskrivning (valfri)",
    "form.note.count": "{n} av 500 tecken",
    "form.send": "Skicka",
    "form.sending": "Skickar …",
    "form.mine": "Mina senaste rapporter",
    "form.mine.none": "Du har inte rapporterat något än.",
    "form.saved": "Tack! Händelsen är sparad: {what}.",
    "form.again": "Den här händelsen var redan sparad.",
    "check.place": "Välj en plats i listan eller på kartan.",
    "check.date": "Ange datum (ÅÅÅÅ-MM-DD).",
    "check.time": "Ange klockslag (TT:MM).",
    "check.future": "Tiden ligger i framtiden: ange när det hände.",
    "check.category": "Välj vad som hände.",
    "check.note": "Beskrivningen får vara högst 500 tecken.",
    "check.summary": "Rätta det som är markerat och skicka igen.",
  },
  en: {
    "form.page": "Report an incident – tryggplan",
    "form.title": "Report an incident",
    "form.heading": "New incident",
    "token.label": "Key",
    "token.use": "Use",
    "status.loading": "Loading …",
    "status.notoken": "Enter your reporter key to report.",
    "status.ready": "Signed in as {name}.",
    "form.place": "Place",
    "form.place.none": "– choose a place –",
    "form.map": "Map to choose the place",
    "form.map.hint": "… or tap the map at the place.",
    "form.date": "Date",
    "form.time": "Time",
    "form.category": "What happened?",
    "form.category.none": "– choose a category –",
    "form.note": "Short description (optional)",
    "form.note.count": "{n} of 500 characters",
    "form.send": "Send",
    "form.sending": "Sending …",
    "form.mine": "My latest reports",
    "form.mine.none": "You have not reported anything yet.",
    "form.saved": "Thank you! The incident is stored: {what}.",
    "form.again": "This incident was already stored.",
    "check.place": "Choose a place from the list or on the map.",
    "check.date": "Give the date (YYYY-MM-DD).",
    "check.time": "Give the time (HH:MM).",
    "check.future": "That time is in the future: give when it happened.",
    "check.category": "Choose what happened.",
    "check.note": "The description may be at most 500 characters.",
    "check.summary": "Correct what is marked and send again.",
  },
});

const form = { places: new Map(), categories: new Map(), map: null, id: null };

function newId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "rapport-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function setNow() {
  const now = TP.localIso();
  document.getElementById("f-date").value = now.slice(0, 10);
  document.getElementById("f-time").value = now.slice(11, 16);
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function fieldError(field, key) {
  const input = document.getElementById("f-" + field);
  const err = document.getElementById("e-" + field);
  if (key) {
    input.setAttribute("aria-invalid", "true");
    err.textContent = TP.t(key);
    err.hidden = false;
  } else {
    input.removeAttribute("aria-invalid");
    err.textContent = "";
    err.hidden = true;
  }
}

/** Checks in the page's language before anything is sent; the first wrong field gets the focus. */
function check() {
  const values = {
    place: document.getElementById("f-place").value,
    date: document.getElementById("f-date").value,
    time: document.getElementById("f-time").value,
    category: document.getElementById("f-category").value,
    note: document.getElementById("f-note").value.trim(),
  };
  const errors = {};
  if (!values.place) errors.place = "check.place";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.date)) errors.date = "check.date";
  if (!/^\d{2}:\d{2}$/.test(values.time)) errors.time = "check.time";
  if (!errors.date && !errors.time) {
    // wall times in the service's zone compare as text
    if (values.date + "T" + values.time > TP.localIso(new Date(Date.now() + 5 * 60000))) errors.time = "check.future";
  }
  if (!values.category) errors.category = "check.category";
  if (values.note.length > 500) errors.note = "check.note";
  for (const f of ["place", "date", "time", "category", "note"]) fieldError(f, errors[f]);
  const first = ["place", "date", "time", "category", "note"].find((f) => errors[f]);
  if (first) document.getElementById("f-" + first).focus();
  return first ? null : values;
}

async function send(ev) {
  ev.preventDefault();
  const result = document.getElementById("form-result");
  const values = check();
  if (!values) {
    result.replaceChildren(TP.el("p", { class: "error" }, TP.t("check.summary")));
    return;
  }
  result.replaceChildren(TP.el("p", {}, TP.t("form.sending")));
  try {
    const out = await TP.api("/incidents", {
      method: "POST",
      json: { incidents: [{ incident_id: form.id, occurred_at: values.date + " " + values.time, place_id: values.place,
        category: values.category, source: "reporter", note: values.note || null }] },
    });
    const what = [form.places.get(values.place) || values.place, TP.dateTime(values.date + "T" + values.time),
      form.categories.get(values.category) || values.category].join(", ");
    form.id = newId();
    document.getElementById("f-note").value = "";
    updateCount();
    setNow();
    try { await loadMine(); } catch (e) { /* stored all the same: the list catches up on the next load */ }
    // said once the list below shows it
    result.replaceChildren(TP.el("p", { class: "ok" }, out.added ? TP.t("form.saved", { what }) : TP.t("form.again")));
  } catch (e) {
    result.replaceChildren(TP.el("p", { class: "error" }, TP.describeError(e)));
    if (e.status === 422) result.append(TP.problemList(e));
  }
}

function updateCount() {
  const n = document.getElementById("f-note").value.length;
  document.getElementById("f-note-count").textContent = TP.t("form.note.count", { n });
}

async function loadMine() {
  const list = document.getElementById("mine");
  const first = await TP.api("/incidents?limit=1");
  const offset = Math.max(0, first.total - 10);
  const page = first.total ? await TP.api("/incidents?limit=10&offset=" + offset) : { incidents: [] };
  list.replaceChildren();
  for (const i of [...page.incidents].reverse()) {
    const when = TP.dateTime(TP.localIso(new Date(i.occurred_at)));
    const text = [when, form.places.get(i.place_id) || i.place_id, form.categories.get(i.category) || i.category].join(" · ");
    const li = TP.el("li", { class: "mine", "data-id": i.incident_id }, text);
    if (i.note) li.append(TP.el("br"), TP.el("span", { class: "hint" }, i.note));
    list.append(li);
  }
  if (!page.incidents.length) list.append(TP.el("li", {}, TP.t("form.mine.none")));
}

function choosePlace(id) {
  document.getElementById("f-place").value = id;
  fieldError("place", null);
  if (form.map) form.map.select(id);
}

async function load() {
  document.body.dataset.loaded = "loading";
  const tokenForm = document.getElementById("token-form");  // only on a page opened with a key
  if (!TP.ready()) {
    if (TP.needSignIn()) return;
    tokenForm.hidden = false;
    setStatus(TP.t("status.notoken"), true);
    document.body.dataset.loaded = "no-token";
    return;
  }
  try {
    const session = await TP.openSession();
    if (tokenForm) tokenForm.hidden = true;
    setStatus(TP.t("status.ready", { name: session.name }));
    const [places, cats, config] = await Promise.all([
      TP.api("/places"), TP.api("/categories?lang=" + TP.lang), fetch("/ui/config.json").then((r) => r.json()),
    ]);
    TP.setZone(config.tz);
    const placeSelect = document.getElementById("f-place");
    const keep = placeSelect.value;
    placeSelect.replaceChildren(TP.el("option", { value: "" }, TP.t("form.place.none")));
    for (const p of [...places].sort((a, b) => (a.name || a.place_id).localeCompare(b.name || b.place_id, "sv"))) {
      form.places.set(p.place_id, p.name || p.place_id);
      placeSelect.append(TP.el("option", { value: p.place_id }, (p.name || p.place_id) + (p.municipality ? " (" + p.municipality + ")" : "")));
    }
    placeSelect.value = keep;
    const catSelect = document.getElementById("f-category");
    const keepCat = catSelect.value;
    catSelect.replaceChildren(TP.el("option", { value: "" }, TP.t("form.category.none")));
    for (const c of cats.categories) {
      form.categories.set(c.category, c.label);
      catSelect.append(TP.el("option", { value: c.category }, c.label));
    }
    catSelect.value = keepCat;
    const features = places.filter((p) => p.lat !== null && p.lon !== null).map((p) => ({
      type: "Feature", id: p.place_id, geometry: { type: "Point", coordinates: [p.lon, p.lat] },
      properties: { ...p, town_level: "normal", town_ratio: 1 },
    }));
    if (form.map) { form.map.map.remove(); form.map = null; }
    if (typeof L !== "undefined" && features.length) {
      form.map = TPMap.create(document.getElementById("form-map"), features, {
        config, onSelect: choosePlace,
        onMapClick: (latlng) => { const n = form.map.nearest(latlng); if (n) choosePlace(n.id); },
      });
      if (keep) form.map.select(keep);
    }
    await loadMine();
    document.body.dataset.loaded = "true";
  } catch (e) {
    if (e.status === 401 && tokenForm) tokenForm.hidden = false;
    setStatus(TP.describeError(e), true);
    document.body.dataset.loaded = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  TP.setLang(TP.chooseLang());
  TP.wireLangSwitch(() => { updateCount(); load(); });
  TP.readToken();
  form.id = newId();
  setNow();
  updateCount();
  document.getElementById("token-form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    TP.useToken(document.getElementById("token-input").value);
    load();
  });
  document.getElementById("f-place").addEventListener("change", (ev) => choosePlace(ev.target.value));
  document.getElementById("f-note").addEventListener("input", updateCount);
  document.getElementById("report-form").addEventListener("submit", send);
  load();
});
