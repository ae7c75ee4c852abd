// tryggplan: what the dashboard (/) and the reporters' form (/rapportera) share. Plain JavaScript, no
// build step, no inline script (the pages run under script-src 'self').
//
// * the language: Swedish by default; "?lang=en" or the switch picks English, remembered in the
//   browser (localStorage "tryggplan.lang");
// * numbers, money, dates and expected counts written as tryggplan.i18n writes them (decimal comma,
//   "fre 4 dec 20:00", "ungefär en händelse på tio sådana kvällar");
// * who calls the API: a signed-in user (the page has <meta name="csrf-token">): requests go with the
//   session's cookie, changes with the X-CSRF-Token header, and a 401 (the session ended) leads to
//   /logga-in. Else a key (a wall screen's token): from "?token=..." (then kept in localStorage and
//   removed from the address bar) or the form; sent as a bearer header, never put in a URL, and traded
//   for an HttpOnly download-session cookie (POST /api/v1/session) so downloads are plain links. While a
//   key is kept, the cookie "tryggplan_key=1" tells the server to serve the page rather than /logga-in;
// * API errors in the page's language (401/403/404/413/422/5xx), a 422's problems row by row.
"use strict";

const TP = (() => {
  const API = "/api/v1";
  const TOKEN_KEY = "tryggplan.token";
  const LANG_KEY = "tryggplan.lang";
  const NBSP = "\u00a0";
  const MINUS = "\u2212";
  const DASH = "\u2013";

  const WEEKDAYS = {
    sv: [["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"], ["mån", "tis", "ons", "tors", "fre", "lör", "sön"]],
    en: [["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]],
  };
  const MONTHS = {
    sv: [["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"],
      ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]],
    en: [["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
      ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]],
  };
  const NUMBER_WORDS = {
    sv: { 1: "en", 2: "två", 3: "tre", 4: "fyra", 5: "fem", 6: "sex", 7: "sju", 8: "åtta", 9: "nio", 10: "tio", 11: "elva",
      12: "tolv", 15: "femton", 20: "tjugo", 25: "tjugofem", 30: "trettio", 40: "fyrtio", 50: "femtio", 100: "hundra" },
    en: { 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten",
      11: "eleven", 12: "twelve", 15: "fifteen", 20: "twenty", 25: "twenty-five", 30: "thirty", 40: "forty", 50: "fifty",
      100: "a hundred" },
  };
  const ONE_IN = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 25, 30, 40, 50, 100];
  const PER = {
    sv: { evening: "sådana kvällar", night: "sådana nätter", week: "sådana veckor" },
    en: { evening: "such evenings", night: "such nights", week: "such weeks" },
  };

  // ---------------------------------------------------------------- language and texts
  let lang = "sv";
  const strings = { sv: {}, en: {} };

  function chooseLang() {
    const params = new URLSearchParams(window.location.search);
    const asked = params.get("lang");
    let stored = null;
    try { stored = localStorage.getItem(LANG_KEY); } catch (e) { /* storage may be disabled */ }
    if (asked === "sv" || asked === "en") {
      try { localStorage.setItem(LANG_KEY, asked); } catch (e) { /* ignore */ }
      return asked;
    }
    return stored === "en" ? "en" : "sv";
  }

  function setLang(value) {
    lang = value === "en" ? "en" : "sv";
    try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* ignore */ }
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    const title = document.querySelector("[data-i18n-title]");
    if (title) document.title = t(title.dataset.i18nTitle);
  }

  function addStrings(table) {
    for (const l of ["sv", "en"]) Object.assign(strings[l], table[l]);
  }

  /** The text of `key` in the page's language, with {name} fields filled from `values`. */
  function t(key, values) {
    const text = strings[lang][key] ?? strings.sv[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? String(values[k]) : m));
  }

  // ---------------------------------------------------------------- numbers, money, words
  function number(x, decimals, grouping) {
    const d = decimals === undefined ? 0 : decimals;
    const abs = Math.abs(x).toFixed(d);
    const zero = Number(abs) === 0;
    let [whole, frac] = abs.split(".");
    if (grouping !== false) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, lang === "sv" ? NBSP : ",");
    let text = frac ? whole + (lang === "sv" ? "," : ".") + frac : whole;
    if (x < 0 && !zero) text = (lang === "sv" ? MINUS : "-") + text;
    return text;
  }

  function percent(x, decimals, sign) {
    let text = number(x, decimals === undefined ? 1 : decimals);
    if (sign && x > 0 && Number(Math.abs(x).toFixed(decimals === undefined ? 1 : decimals)) !== 0) text = "+" + text;
    return lang === "sv" ? text + NBSP + "%" : text + "%";
  }

  function sek(x) { return lang === "sv" ? number(x, 0) + NBSP + "kr" : "SEK" + NBSP + number(x, 0); }

  function numberWord(n) { return NUMBER_WORDS[lang][n] || number(n, 0); }

  /** An expected count [incidents] as a coordinator reads it (tryggplan.i18n.expected_in_words). */
  function expectedInWords(x, per) {
    const such = PER[lang][per || "evening"];
    const sv = lang === "sv";
    if (!(x >= 0)) return "";
    if (x === 0) return sv ? "ingen händelse väntas" : "no incident expected";
    if (x < 1 / 150) return sv ? "färre än en händelse på hundra " + such : "fewer than one incident in a hundred " + such;
    if (x < 0.7) {
      let best = ONE_IN[0];
      for (const k of ONE_IN) if (Math.abs(Math.log(k * x)) < Math.abs(Math.log(best * x))) best = k;
      return sv ? "ungefär en händelse på " + numberWord(best) + " " + such : "about one incident in " + numberWord(best) + " " + such;
    }
    const k = Math.max(1, Math.floor(x + 0.5));
    const word = k <= 12 ? numberWord(k) : number(k, 0);
    if (sv) return "ungefär " + word + " " + (k === 1 ? "händelse" : "händelser");
    return "about " + word + " " + (k === 1 ? "incident" : "incidents");
  }

  // ---------------------------------------------------------------- dates and times
  // API times are ISO 8601 with the local offset: the wall time is read as written, so the page
  // shows Swedish time whatever the browser's own zone is.
  function parts(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(iso || "");
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const weekday = (new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7;
    return { y, mo, d, hh: m[4] || "00", mm: m[5] || "00", weekday, day: Date.UTC(y, mo - 1, d) / 86400000 };
  }

  function date(iso, style) {
    const p = parts(iso);
    if (!p) return "";
    const s = style || "weekday";
    const month = MONTHS[lang][s === "long" || s === "full" ? 0 : 1][p.mo - 1];
    if (s === "short") return p.d + " " + month;
    if (s === "long") return p.d + " " + month + " " + p.y;
    if (s === "full") return WEEKDAYS[lang][0][p.weekday] + " " + p.d + " " + month + " " + p.y;
    return WEEKDAYS[lang][1][p.weekday] + " " + p.d + " " + month;
  }

  function dateTime(iso) {
    const p = parts(iso);
    return p ? date(iso, "weekday") + " " + p.hh + ":" + p.mm : "";
  }

  function timeRange(startIso, endIso) {
    const a = parts(startIso), b = parts(endIso);
    if (!a || !b) return "";
    const days = b.day - a.day;
    if (days === 0 || (days === 1 && Number(b.hh) < 12)) {
      return dateTime(startIso) + DASH + b.hh + ":" + b.mm;
    }
    return dateTime(startIso) + " " + DASH + " " + dateTime(endIso);
  }

  function weekdayShort(i) { return WEEKDAYS[lang][1][i]; }

  function isoWeekLabel(period) {
    const m = /^(\d{4})-W(\d{2})$/.exec(period);
    if (!m) return period;
    return lang === "sv" ? "v." + NBSP + Number(m[2]) : "W" + Number(m[2]);
  }

  // the service's zone (/ui/config.json): dates and clock times are shown and entered in it, whatever
  // zone the browser is in
  let zone = "Europe/Stockholm";
  function setZone(tz) { if (tz) zone = tz; }

  /** The wall time of `when` (a Date, default now) in the service's zone: "YYYY-MM-DDTHH:MM". */
  function localIso(when) {
    const f = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const v = Object.fromEntries(f.formatToParts(when || new Date()).map((x) => [x.type, x.value]));
    return v.year + "-" + v.month + "-" + v.day + "T" + v.hour + ":" + v.minute;
  }

  /** The local date (YYYY-MM-DD) `days` after today, in the service's zone. */
  function isoDay(offsetDays) {
    return localIso(new Date(Date.now() + (offsetDays || 0) * 86400000)).slice(0, 10);
  }

  // ---------------------------------------------------------------- the DOM
  function el(tag, attrs, text) {
    const svg = tag.startsWith("svg:");
    const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---------------------------------------------------------------- the session or the token, and the API
  let TOKEN = "";
  const KEY_COOKIE = "tryggplan_key";

  /** The signed-in session's CSRF token (from the page), or "" for a page opened with a key. */
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function signedIn() { return csrfToken() !== ""; }

  /** Whether the page can call the API: a signed-in user, or a key given. */
  function ready() { return signedIn() || TOKEN !== ""; }

  function markKey(kept) {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = KEY_COOKIE + "=" + (kept ? "1; Max-Age=31536000" : "; Max-Age=0") + "; Path=/; SameSite=Strict" + secure;
  }

  /** Off to the sign-in form (the session ended, or the page was opened with neither session nor key). */
  function toSignIn() {
    window.location.assign("/logga-in?next=" + encodeURIComponent(window.location.pathname));
  }

  /** A page opened with neither a session nor a key, and not to set a key (/?nyckel): sign in instead. */
  function needSignIn() {
    if (ready() || new URLSearchParams(window.location.search).has("nyckel")) return false;
    markKey(false);
    toSignIn();
    return true;
  }

  function readToken() {
    const params = new URLSearchParams(window.location.search);
    const fromUrl = params.get("token");
    if (fromUrl) {
      try { localStorage.setItem(TOKEN_KEY, fromUrl); } catch (e) { /* storage may be disabled */ }
      markKey(true);
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
      TOKEN = fromUrl;
      return TOKEN;
    }
    try { TOKEN = localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { TOKEN = ""; }
    return TOKEN;
  }

  function useToken(value) {
    TOKEN = (value || "").trim();
    try {
      if (TOKEN) localStorage.setItem(TOKEN_KEY, TOKEN); else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* ignore */ }
    markKey(TOKEN !== "");
  }

  function token() { return TOKEN; }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || "HTTP " + status);
      this.status = status;
      this.problems = (body && body.problems) || [];
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const method = opts.method || "GET";
    const headers = { "Accept-Language": lang };
    if (signedIn()) {
      if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
    } else {
      headers.Authorization = "Bearer " + TOKEN;
    }
    let body;
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    if (opts.form !== undefined) body = opts.form;
    let r;
    try {
      r = await fetch(API + path, { method, headers, body, credentials: "same-origin" });
    } catch (e) {
      throw new ApiError(0, { detail: String(e) });
    }
    let data = null;
    if (r.status !== 204) { try { data = await r.json(); } catch (e) { data = null; } }
    if (r.status === 401 && signedIn()) toSignIn();
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  /** GET that answers null on 404 (a panel whose route is not there, or has nothing yet). */
  async function optional(path) {
    try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
  }

  /** The error in the page's language; a 422 lists each problem's row, column, message and fix. */
  function describeError(e) {
    const map = { 0: "error.network", 401: "error.401", 403: "error.403", 404: "error.404", 413: "error.413", 422: "error.422" };
    const key = map[e.status] || (e.status >= 500 ? "error.5xx" : "error.other");
    return t(key, { status: e.status });
  }

  function problemList(e) {
    const list = el("ul", { class: "problems" });
    for (const p of (e.problems || []).slice(0, 50)) {
      const where = [p.row ? t("problem.row", { row: p.row }) : "", p.column || ""].filter(Boolean).join(", ");
      const li = el("li", {}, (where ? where + ": " : "") + p.message);
      if (p.fix) li.append(el("span", { class: "fix" }, " " + t("problem.fix") + " " + p.fix));
      list.append(li);
    }
    if ((e.problems || []).length > 50) list.append(el("li", {}, t("problem.more", { n: e.problems.length - 50 })));
    return list;
  }

  /** Who the page works for ({role, name, municipalities}): the signed-in user, or the key's token (whose
   *  download session is opened on the way). */
  async function openSession() {
    if (signedIn()) return api("/me");
    return api("/session", { method: "POST" });
  }

  async function closeSession() {
    try { await api("/session", { method: "DELETE" }); } catch (e) { /* the cookie expires anyway */ }
  }

  addStrings({
    sv: {
      "error.network": "Kunde inte nå tjänsten. Kontrollera nätet och försök igen.",
      "error.401": "Nyckeln är okänd eller återkallad. Be en administratör om en ny.",
      "error.403": "Din nyckel får inte göra detta.",
      "error.404": "Det finns inget att visa här ännu.",
      "error.413": "Filen är för stor för att laddas upp.",
      "error.422": "Uppgifterna kunde inte användas:",
      "error.5xx": "Tjänsten svarar inte just nu (fel {status}). Försök igen om en stund.",
      "error.other": "Något gick fel (fel {status}).",
      "problem.row": "rad {row}",
      "problem.fix": "Åtgärd:",
      "problem.more": "och {n} problem till",
      "lang.sv": "Svenska",
      "lang.en": "English",
      "user.signedin": "Inloggad som",
      "user.signout": "Logga ut",
    },
    en: {
      "error.network": "Could not reach the service. Check the network and try again.",
      "error.401": "The key is unknown or revoked. Ask an administrator for a new one.",
      "error.403": "Your key may not do this.",
      "error.404": "Nothing to show here yet.",
      "error.413": "The file is too large to upload.",
      "error.422": "The data could not be used:",
      "error.5xx": "The service does not answer right now (error {status}). Try again shortly.",
      "error.other": "Something went wrong (error {status}).",
      "problem.row": "row {row}",
      "problem.fix": "Fix:",
      "problem.more": "and {n} more problems",
      "lang.sv": "Svenska",
      "lang.en": "English",
      "user.signedin": "Signed in as",
      "user.signout": "Sign out",
    },
  });

  function wireLangSwitch(onChange) {
    for (const b of document.querySelectorAll("[data-lang]")) {
      b.addEventListener("click", () => { setLang(b.dataset.lang); if (onChange) onChange(); });
    }
  }

  return {
    API, addStrings, t, setLang, chooseLang, get lang() { return lang; }, wireLangSwitch,
    number, percent, sek, expectedInWords, date, dateTime, timeRange, weekdayShort, isoWeekLabel, isoDay, parts,
    localIso, setZone,
    el, readToken, useToken, token, api, optional, describeError, problemList, openSession, closeSession, ApiError,
    signedIn, ready, needSignIn, csrfToken,
  };
})();
