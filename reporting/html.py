"""The situation picture as print-ready HTML (A4, Swedish unless ``lang="en"``) and its look-back
tables as CSV for Swedish Excel.

The HTML is one self-contained file: no external URL, no script, charts drawn with matplotlib as
SVG images embedded as ``data:`` URIs (the service's Content-Security-Policy allows ``img-src
data:`` but no inline style attributes, which inline ``<svg>`` from matplotlib is full of). The
page's only inline style is one ``<style>`` element whose CSP hash :func:`style_csp_source` gives,
so a route can serve the page with ``style-src 'sha256-...'`` instead of ``'unsafe-inline'``.

Each municipality gets its own section starting on a new page and fitting two A4 pages: long
lists are cut (flagged places are always shown; the rest are counted and are in the CSV and JSON).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tryggplan.domain import InvalidInputError
from tryggplan.i18n import (
    EN_DASH,
    Lang,
    check_lang,
    expected_in_words,
    format_date,
    format_date_range,
    format_datetime,
    format_number,
    format_p_value,
    format_percent,
    format_time_range,
    message,
    month_name,
    register_messages,
)
from tryggplan.reporting.situation import row_text

#: at most this many rows per table on paper (flagged places always shown)
MAX_PLACES = 10
MAX_CATEGORIES = 5
MAX_WINDOWS = 6
MAX_ASSOCIATIONS = 6
MAX_NOTES = 3
MAX_NOTE_PLACES = 2
MAX_NOTE_CHARS = 140
MAX_LABEL_CHARS = 26
#: places in the period-vs-previous chart
MAX_CHART_PLACES = 8

register_messages(
    {
        "report.title": {"sv": "Lägesbild", "en": "Situation picture"},
        "report.look_back": {"sv": "Tillbakablick", "en": "Look back"},
        "report.ytd": {"sv": "Hittills i år", "en": "Year to date"},
        "report.done": {"sv": "Genomfört", "en": "What was done"},
        "report.ahead": {"sv": "Framåtblick", "en": "Look ahead"},
        "report.decisions": {"sv": "Beslut", "en": "Decisions"},
        "report.period": {
            "sv": "Perioden {period} ({days} dagar) jämförs med perioden före ({previous}) och med samma datum "
            "ett år tidigare ({last_year}).",
            "en": "The period {period} ({days} days) is compared with the period before ({previous}) and with the "
            "same dates a year earlier ({last_year}).",
        },
        "report.total_line": {
            "sv": "{count} händelser under perioden, mot {previous} perioden före ({chg_prev}) och {last_year} "
            "samma period i fjol ({chg_ly}): {verdict} ({p}).",
            "en": "{count} incidents in the period, against {previous} in the period before ({chg_prev}) and "
            "{last_year} in the same period last year ({chg_ly}): {verdict} ({p}).",
        },
        "report.test_note": {
            "sv": "Markerat betyder att skillnaden mot perioden före är större än slumpen brukar ge (exakt "
            "binomialtest, p < 0,05); annars står det inom normal variation.",
            "en": "Marked means the difference from the period before is larger than chance usually gives (exact "
            "binomial test, p < 0.05); otherwise it says within normal variation.",
        },
        "report.feed_line": {
            "sv": "Hela polisens händelseflöde i databasen ({n} kommuner): {count} händelser under perioden, mot "
            "{previous} perioden före ({chg_prev}) och {last_year} samma period i fjol ({chg_ly}); hittills i år "
            "{ytd} mot {ytd_last} ({chg_ytd}). När hela flödet ändras lika mycket kan förändringen bero på hur "
            "mycket polisen publicerar, inte på brottsligheten här.",
            "en": "The whole police feed in the database ({n} municipalities): {count} incidents in the period, "
            "against {previous} in the period before ({chg_prev}) and {last_year} in the same period last year "
            "({chg_ly}); year to date {ytd} against {ytd_last} ({chg_ytd}). When the whole feed changes as much, "
            "the change may come from how much the police publish, not from crime here.",
        },
        "report.total_row": {"sv": "Totalt", "en": "Total"},
        "report.col.municipality": {"sv": "Kommun", "en": "Municipality"},
        "report.whole_area_title": {"sv": "Hela området", "en": "The whole area"},
        "report.col.place": {"sv": "Plats", "en": "Place"},
        "report.col.category": {"sv": "Händelsetyp", "en": "Category"},
        "report.col.count": {"sv": "Perioden", "en": "Period"},
        "report.col.previous": {"sv": "Perioden före", "en": "Period before"},
        "report.col.change": {"sv": "Förändring", "en": "Change"},
        "report.col.last_year": {"sv": "I fjol", "en": "Last year"},
        "report.col.assessment": {"sv": "Bedömning", "en": "Assessment"},
        "report.more_places": {
            "sv": "Ytterligare {n} platser, alla inom normal variation, finns i CSV-filen.",
            "en": "{n} more places, all within normal variation, are in the CSV file.",
        },
        "report.more_places_flagged": {
            "sv": "Ytterligare {n} platser, varav {k} markerade, finns i CSV-filen.",
            "en": "{n} more places, {k} of them marked, are in the CSV file.",
        },
        "report.col.p": {"sv": "p", "en": "p"},
        "report.more_notes": {
            "sv": "Ytterligare {n} anteckningar finns i JSON-utdraget.",
            "en": "{n} more notes are in the JSON.",
        },
        "report.more_associations": {"sv": "övriga ({n})", "en": "others ({n})"},
        "report.more_categories": {
            "sv": "Ytterligare {n} händelsetyper finns i CSV-filen.",
            "en": "{n} more categories are in the CSV file.",
        },
        "report.ytd_line": {
            "sv": "{count} händelser {period}, mot {last_year} samma datum {year} ({chg}): {verdict}{p}.",
            "en": "{count} incidents {period}, against {last_year} on the same dates in {year} ({chg}): {verdict}{p}.",
        },
        "report.chart.places": {
            "sv": "Perioden och perioden före, per plats",
            "en": "Period and period before, by place",
        },
        "report.chart.months": {
            "sv": "Händelser per månad, i år och i fjol",
            "en": "Incidents per month, this year and last",
        },
        "report.this_year": {"sv": "i år", "en": "this year"},
        "report.last_year": {"sv": "i fjol", "en": "last year"},
        "report.walks_line": {
            "sv": "Nattvandringar: {completed} genomförda, {no_show} uteblivna, {cancelled} inställda. "
            "Väktartimmar: {guard}.",
            "en": "Night walks: {completed} completed, {no_show} no-shows, {cancelled} cancelled. "
            "Guard hours: {guard}.",
        },
        "report.col.association": {"sv": "Förening", "en": "Association"},
        "report.col.completed": {"sv": "Genomförda", "en": "Completed"},
        "report.col.no_show": {"sv": "Uteblivna", "en": "No-shows"},
        "report.col.cancelled": {"sv": "Inställda", "en": "Cancelled"},
        "report.covered_line": {
            "sv": "{n} av periodens {total} händelser ({share}) inträffade på en plats och timme med nattvandring "
            "eller väktare ({hours} platstimmar).",
            "en": "{n} of the period's {total} incidents ({share}) happened at a place and hour with a night walk "
            "or a guard ({hours} place-hours).",
        },
        "report.covered_none": {
            "sv": "Inga händelser under perioden; {hours} platstimmar hade nattvandring eller väktare.",
            "en": "No incidents in the period; {hours} place-hours had a night walk or a guard.",
        },
        "report.trained_until": {
            "sv": "Högriskfönster {period} enligt den senaste prognosen (data till {until}).",
            "en": "High-risk windows {period} from the newest forecast (data up to {until}).",
        },
        "report.no_forecast": {
            "sv": "Ingen prognos täcker {period}.",
            "en": "No forecast covers {period}.",
        },
        "report.no_windows": {"sv": "Inga högriskfönster.", "en": "No high-risk windows."},
        "report.more_windows": {
            "sv": "Ytterligare {n} fönster med lägre förväntat antal finns i JSON-utdraget.",
            "en": "{n} more windows with lower expected counts are in the JSON.",
        },
        "report.col.when": {"sv": "När", "en": "When"},
        "report.col.expected": {"sv": "Förväntat", "en": "Expected"},
        "report.col.in_words": {"sv": "Det vill säga", "en": "That is"},
        "report.col.planned": {"sv": "Planerat", "en": "Planned"},
        "report.not_planned": {"sv": "inget planerat", "en": "nothing planned"},
        "report.walk": {"sv": "nattvandring", "en": "night walk"},
        "report.guard": {"sv": "väktare", "en": "guard"},
        "report.previous_meeting": {"sv": "Från förra mötet", "en": "From the last meeting"},
        "report.this_meeting": {"sv": "Detta möte", "en": "This meeting"},
        "report.since_line": {
            "sv": "{name}: {since} händelser sedan dess ({days} dagar), mot {before} lika lång tid före: {verdict}.",
            "en": "{name}: {since} incidents since ({days} days), against {before} in as long before: {verdict}.",
        },
        "report.no_decisions": {"sv": "Inga beslut antecknade.", "en": "No decisions noted."},
        "report.cut_note": {"sv": "(förkortad; hela texten i JSON)", "en": "(shortened; full text in the JSON)"},
        "report.no_change": {"sv": "ingen jämförelse", "en": "no comparison"},
    }
)

_CSS = """
@page { size: A4; margin: 12mm 13mm 12mm 13mm; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8.5pt; color: #111; }
body { margin: 0; }
.municipality + .municipality { break-before: page; }
h1 { font-size: 15pt; margin: 0 0 1mm 0; }
h2 { font-size: 11pt; margin: 3mm 0 1mm 0; border-bottom: 0.4pt solid #888; break-after: avoid; }
h3 { font-size: 9.5pt; margin: 2mm 0 1mm 0; break-after: avoid; }
p { margin: 0.8mm 0; }
.lead { color: #333; }
.note { color: #555; font-size: 8pt; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0; }
th, td { text-align: left; padding: 0.5mm 1.5mm; border-bottom: 0.3pt solid #ccc; vertical-align: top; }
th { font-weight: bold; border-bottom: 0.6pt solid #666; }
td.t { white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; }
tr.up td { background: #fde2dc; }
tr.down td { background: #dff0e0; }
tr.total td { font-weight: bold; border-top: 0.6pt solid #666; }
.warning { border-left: 1.2mm solid #c0392b; padding: 0.8mm 2mm; margin: 1mm 0; background: #fbeeee; }
.charts { display: flex; gap: 4mm; }
.charts figure { flex: 1 1 0; margin: 0; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 8pt; color: #333; }
ul { margin: 0.5mm 0; padding-left: 5mm; }
li { margin: 0.5mm 0; }
.blank { border-bottom: 0.4pt solid #999; height: 6mm; }
"""


def style_csp_source() -> str:
    """The CSP source (``'sha256-...'``) that allows the page's one ``<style>`` element."""
    digest = hashlib.sha256(_CSS.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None, lang: Lang, none: str | None = None) -> str:
    if value is None:
        return message("report.no_change", lang) if none is None else none
    return format_percent(value, lang)


def _p(p: float | None, lang: Lang) -> str:
    """A p-value for a table cell: ``0,002``, ``< 0,001``, ``–`` when there was nothing to test."""
    if p is None:
        return EN_DASH
    return format_p_value(p, lang).removeprefix("p = ").removeprefix("p ")


def _range(first: str, last: str, lang: Lang) -> str:
    return format_date_range(dt.date.fromisoformat(first), dt.date.fromisoformat(last), lang)


# --- charts --------------------------------------------------------------------------------------


def _svg_img(fig: Any, alt: str) -> str:
    """A matplotlib figure as an ``<img>`` with an SVG ``data:`` URI (text as paths: no font needed)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "tryggplan"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{_e(alt)}">'


def _figure(width_cm: float, height_cm: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_cm / 2.54, height_cm / 2.54))
    fig.set_layout_engine("constrained")
    return fig


def _number_axis(ax: Any, axis: str, lang: Lang) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=5, integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, 0, lang)))


def chart_places(places: Sequence[Mapping[str, Any]], lang: Lang) -> str:
    """Horizontal bars: the period against the period before, by place (the busiest places)."""
    rows = sorted(places, key=lambda r: (-r["count"], -r["previous"], r["name"]))[:MAX_CHART_PLACES][::-1]
    fig = _figure(8.6, 1.4 + 0.4 * max(len(rows), 1))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ax.barh([v + 0.2 for v in y], [r["count"] for r in rows], height=0.4, color="#c0392b", label=_period(lang))
    ax.barh([v - 0.2 for v in y], [r["previous"] for r in rows], height=0.4, color="#95a5a6", label=_before(lang))
    ax.set_yticks(y, [_short(str(r["name"])) for r in rows], fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    _number_axis(ax, "x", lang)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)
    return _svg_img(fig, message("report.chart.places", lang))


def chart_months(months: Sequence[Mapping[str, Any]], year: int, lang: Lang) -> str:
    """Bars per month this year, a line for last year (the last month cut at ``to`` in both)."""
    fig = _figure(8.6, 4.6)
    ax = fig.add_subplot()
    x = [m["month"] for m in months]
    ax.bar(x, [m["count"] for m in months], color="#2c7fb8", label=f"{year}")
    ax.plot(x, [m["last_year"] for m in months], color="#444", marker="o", markersize=2.5, label=f"{year - 1}")
    ax.set_xticks(x, [month_name(m, lang, short=True) for m in x], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    _number_axis(ax, "y", lang)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)
    return _svg_img(fig, message("report.chart.months", lang))


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def _period(lang: Lang) -> str:
    return message("report.col.count", lang)


def _before(lang: Lang) -> str:
    return message("report.col.previous", lang)


# --- HTML ----------------------------------------------------------------------------------------


def situation_html(report: Mapping[str, Any], *, lang: Lang | None = None) -> str:
    """The situation picture (the dict of :func:`tryggplan.reporting.situation.situation_picture`)
    as one print-ready HTML page: ``<html lang="sv">`` unless ``lang="en"`` (default: the report's
    language). One section per municipality, each on its own pages."""
    lang = check_lang(lang or report.get("lang", "sv"))
    for key in ("to", "from", "days", "totals", "ytd", "places", "categories", "done", "ahead", "decisions"):
        if key not in report:
            raise InvalidInputError(f"report lacks {key!r}: pass the dict of situation_picture()")
    sections = report.get("sections") or [report]
    title = message("report.title", lang)
    where = ", ".join(report.get("municipalities") or []) or message("report.whole_area", lang)
    body = "\n".join(_section(s, lang) for s in sections)
    if len(sections) > 1:
        body = _overview(report, sections, lang) + "\n" + body
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)} {_e(where)} {_e(format_date(dt.date.fromisoformat(report['to']), lang))}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _section(rep: Mapping[str, Any], lang: Lang) -> str:
    munis = rep.get("municipalities") or []
    where = rep.get("municipality") or (", ".join(munis) if munis else message("report.whole_area", lang))
    out = [f'<section class="municipality">\n<h1>{_e(message("report.title", lang))} {EN_DASH} {_e(where)}</h1>']
    out.append(
        '<p class="lead">'
        + _e(
            message(
                "report.period",
                lang,
                period=_range(rep["from"], rep["to"], lang),
                days=rep["days"],
                previous=_range(rep["previous_from"], rep["previous_to"], lang),
                last_year=_range(rep["last_year_from"], rep["last_year_to"], lang),
            )
        )
        + "</p>"
    )
    out += [f'<p class="warning">{_e(w)}</p>' for w in rep.get("warnings") or []]
    out += _look_back(rep, lang)
    out += _year_to_date(rep, lang)
    out += _done(rep, lang)
    out += _ahead(rep, lang)
    out += _decisions(rep, lang)
    out.append("</section>")
    return "\n".join(out)


def _overview(report: Mapping[str, Any], sections: Sequence[Mapping[str, Any]], lang: Lang) -> str:
    """The area at a glance: one row per municipality and the area's total."""
    rows = [{**s["totals"], "municipality": s["municipality"]} for s in sections]
    # each town's row is assessed as its own section was; the total as the whole report was
    assessed = all(_compared(s, "previous") for s in sections) and _compared(report, "previous")
    table = _count_table(
        rows, "municipality", message("report.col.municipality", lang), lang, total=report["totals"], assessed=assessed
    )
    out = [f'<section class="overview">\n<h2>{_e(message("report.whole_area_title", lang))}</h2>', table]
    out += [f'<p class="warning">{_e(w)}</p>' for w in report.get("warnings") or []]
    out.append("</section>")
    return "\n".join(out)


def _verdict(row: Mapping[str, Any], lang: Lang) -> str:
    text = _text_of(row, lang, bool(row.get("assessed", True)))
    p = row.get("p_value")
    return text if p is None else f"{text} ({format_p_value(p, lang)})"


def _text_of(row: Mapping[str, Any], lang: Lang, assessed: bool = True) -> str:
    """A row's assessment in ``lang``: "not assessed" when the data do not hold all its days, else the
    one its flag gives."""
    return row_text(row.get("flag"), lang) if assessed else message("report.not_assessed", lang)


def _compared(rep: Mapping[str, Any], what: str) -> bool:
    """Whether the report made the comparison ``what`` (reports without ``compared`` made them all)."""
    return bool((rep.get("compared") or {}).get(what, True))


def _count_table(
    rows: Sequence[Mapping[str, Any]],
    label_key: str,
    header: str,
    lang: Lang,
    total: Mapping[str, Any] | None = None,
    assessed: bool = True,
) -> str:
    head = (
        f"<tr><th>{_e(header)}</th>"
        + "".join(
            f'<th class="n">{_e(message(k, lang))}</th>'
            for k in (
                "report.col.count",
                "report.col.previous",
                "report.col.change",
                "report.col.last_year",
                "report.col.p",
            )
        )
        + f"<th>{_e(message('report.col.assessment', lang))}</th></tr>"
    )
    body = []
    shown = [*rows, {**total, label_key: message("report.total_row", lang), "total": True}] if total else rows
    for r in shown:
        cls = f' class="{r["flag"]}"' if r.get("flag") in ("up", "down") else ""
        cls = ' class="total"' if r.get("total") else cls
        body.append(
            f"<tr{cls}><td>{_e(r[label_key])}</td>"
            f'<td class="n">{format_number(r["count"], 0, lang)}</td>'
            f'<td class="n">{format_number(r["previous"], 0, lang)}</td>'
            f'<td class="n">{_e(_pct(r.get("change_vs_previous_pct"), lang, EN_DASH))}</td>'
            f'<td class="n">{format_number(r["last_year"], 0, lang)}</td>'
            f'<td class="n">{_e(_p(r.get("p_value"), lang))}</td>'
            f"<td>{_e(_text_of(r, lang, assessed))}</td></tr>"
        )
    return f"<table>\n{head}\n" + "\n".join(body) + "\n</table>"


def _look_back(rep: Mapping[str, Any], lang: Lang) -> list[str]:
    t = rep["totals"]
    p = t.get("p_value")
    assessed = _compared(rep, "previous")
    verdict = _text_of(t, lang, assessed)
    out = [f"<h2>{_e(message('report.look_back', lang))}</h2>"]
    out.append(
        "<p>"
        + _e(
            message(
                "report.total_line",
                lang,
                count=format_number(t["count"], 0, lang),
                previous=format_number(t["previous"], 0, lang),
                last_year=format_number(t["last_year"], 0, lang),
                chg_prev=_pct(t.get("change_vs_previous_pct"), lang),
                chg_ly=_pct(t.get("change_vs_last_year_pct"), lang),
                verdict=verdict,
                p="–" if p is None else format_p_value(p, lang),
            )
        )
        + "</p>"
    )
    places = list(rep["places"])
    # flagged places first (strongest evidence first), then the busiest; never more rows than fit
    flagged = sorted((r for r in places if r.get("flag")), key=lambda r: (r["p_value"], -r["count"], r["name"]))
    shown = flagged[:MAX_PLACES]
    shown += [r for r in places if not r.get("flag")][: max(0, MAX_PLACES - len(shown))]
    shown.sort(key=lambda r: (-r["count"], -r["previous"], r["name"]))
    out.append(_count_table(shown, "name", message("report.col.place", lang), lang, total=t, assessed=assessed))
    hidden = len(places) - len(shown)
    hidden_flagged = len(flagged) - sum(1 for r in shown if r.get("flag"))
    if hidden_flagged:
        out.append(f'<p class="note">{_e(message("report.more_places_flagged", lang, n=hidden, k=hidden_flagged))}</p>')
    elif hidden:
        out.append(f'<p class="note">{_e(message("report.more_places", lang, n=hidden))}</p>')
    cats = list(rep["categories"])
    out.append(
        _count_table(cats[:MAX_CATEGORIES], "category", message("report.col.category", lang), lang, assessed=assessed)
    )
    if len(cats) > MAX_CATEGORIES:
        out.append(f'<p class="note">{_e(message("report.more_categories", lang, n=len(cats) - MAX_CATEGORIES))}</p>')
    out.append(f'<p class="note">{_e(message("report.test_note", lang))}</p>')
    multiple = rep.get("multiple_testing")
    if multiple and multiple.get("text"):
        out.append(f'<p class="note">{_e(multiple["text"])}</p>')
    feed = rep.get("feed")
    if feed:
        out.append(f"<p>{_e(_feed_line(feed, lang))}</p>")
    return out


def _feed_line(feed: Mapping[str, Any], lang: Lang) -> str:
    def n(x: int) -> str:
        return format_number(x, 0, lang)

    return message(
        "report.feed_line",
        lang,
        n=feed["municipalities"],
        count=n(feed["count"]),
        previous=n(feed["previous"]),
        last_year=n(feed["last_year"]),
        chg_prev=_pct(feed.get("change_vs_previous_pct"), lang),
        chg_ly=_pct(feed.get("change_vs_last_year_pct"), lang),
        ytd=n(feed["ytd"]["count"]),
        ytd_last=n(feed["ytd"]["last_year"]),
        chg_ytd=_pct(feed["ytd"].get("change_pct"), lang),
    )


def _year_to_date(rep: Mapping[str, Any], lang: Lang) -> list[str]:
    y = rep["ytd"]
    to = pd.Timestamp(rep["to"]).date()
    out = [f"<h2>{_e(message('report.ytd', lang))}</h2>"]
    out.append(
        "<p>"
        + _e(
            message(
                "report.ytd_line",
                lang,
                count=format_number(y["count"], 0, lang),
                last_year=format_number(y["last_year"], 0, lang),
                period=_range(f"{to.year}-01-01", rep["to"], lang),
                year=to.year - 1,
                chg=_pct(y.get("change_pct"), lang),
                verdict=_text_of(y, lang, _compared(rep, "ytd")),
                p="" if y.get("p_value") is None else f" ({format_p_value(y['p_value'], lang)})",
            )
        )
        + "</p>"
    )
    figures = []
    if rep.get("ytd_months"):
        figures.append(
            f"<figure>{chart_months(rep['ytd_months'], to.year, lang)}"
            f"<figcaption>{_e(message('report.chart.months', lang))}</figcaption></figure>"
        )
    if rep["places"]:
        figures.append(
            f"<figure>{chart_places(rep['places'], lang)}"
            f"<figcaption>{_e(message('report.chart.places', lang))}</figcaption></figure>"
        )
    if figures:
        out.append('<div class="charts">' + "".join(figures) + "</div>")
    return out


def _done(rep: Mapping[str, Any], lang: Lang) -> list[str]:
    d = rep["done"]
    out = [f"<h2>{_e(message('report.done', lang))}</h2>"]
    out.append(
        "<p>"
        + _e(
            message(
                "report.walks_line",
                lang,
                completed=d["walks_completed"],
                no_show=d["walks_no_show"],
                cancelled=d.get("walks_cancelled", 0),
                guard=format_number(d["guard_hours"], 1, lang),
            )
        )
        + "</p>"
    )
    assocs = list(d.get("associations") or [])
    if len(assocs) > MAX_ASSOCIATIONS:
        rest = assocs[MAX_ASSOCIATIONS - 1 :]
        others = {
            "association": message("report.more_associations", lang, n=len(rest)),
            **{k: sum(a[k] for a in rest) for k in ("completed", "no_show", "cancelled")},
        }
        assocs = assocs[: MAX_ASSOCIATIONS - 1] + [others]
    if assocs:
        head = f"<tr><th>{_e(message('report.col.association', lang))}</th>" + "".join(
            f'<th class="n">{_e(message(k, lang))}</th>'
            for k in ("report.col.completed", "report.col.no_show", "report.col.cancelled")
        )
        rows = "".join(
            f'<tr><td>{_e(a["association"])}</td><td class="n">{a["completed"]}</td>'
            f'<td class="n">{a["no_show"]}</td><td class="n">{a["cancelled"]}</td></tr>'
            for a in assocs
        )
        out.append(f"<table>{head}</tr>{rows}</table>")
    hours = format_number(d.get("covered_place_hours", 0), 0, lang)
    if rep["totals"]["count"]:
        share = d.get("covered_share") or 0.0
        out.append(
            "<p>"
            + _e(
                message(
                    "report.covered_line",
                    lang,
                    n=format_number(d.get("incidents_covered", 0), 0, lang),
                    total=format_number(rep["totals"]["count"], 0, lang),
                    share=format_percent(100 * share, lang, sign=False),
                    hours=hours,
                )
            )
            + "</p>"
        )
    else:
        out.append(f"<p>{_e(message('report.covered_none', lang, hours=hours))}</p>")
    return out


def _ahead(rep: Mapping[str, Any], lang: Lang) -> list[str]:
    a = rep["ahead"]
    tz = rep.get("tz")
    frm = a.get("from", rep["to"])
    to = a.get("to", rep["to"])
    out = [f"<h2>{_e(message('report.ahead', lang))}</h2>"]
    if a.get("trained_until"):
        until = format_datetime(a["trained_until"], lang, tz)
        out.append(
            "<p>" + _e(message("report.trained_until", lang, period=_range(frm, to, lang), until=until)) + "</p>"
        )
    else:
        none = message("report.no_forecast", lang, period=_range(frm, to, lang))
        out.append(f"<p>{_e(none)}</p>")
    windows = list(a.get("windows") or [])
    if not windows:
        if a.get("trained_until"):
            out.append(f"<p>{_e(message('report.no_windows', lang))}</p>")
        return out
    shown = sorted(windows, key=lambda w: -float(w["expected"]))[:MAX_WINDOWS]
    shown.sort(key=lambda w: (w["start"], -float(w["expected"])))
    plan = list(a.get("plan") or [])
    cols = ("report.col.when", "report.col.place", "report.col.expected", "report.col.in_words", "report.col.planned")
    head = (
        "<tr>"
        + "".join(
            ('<th class="n">' if k == "report.col.expected" else "<th>") + f"{_e(message(k, lang))}</th>" for k in cols
        )
        + "</tr>"
    )
    rows = []
    for w in shown:
        planned = [plan[i] for i in w.get("planned", []) if 0 <= i < len(plan)]
        what = "; ".join(
            f"{message('report.walk' if s['kind'] == 'night_walk' else 'report.guard', lang)}"
            f"{' ' + s['who'] if s.get('who') else ''} {format_time_range(s['start'], s['end'], lang, tz)}"
            for s in planned
        ) or message("report.not_planned", lang)
        rows.append(
            f'<tr><td class="t">{_e(format_time_range(w["start"], w["end"], lang, tz))}</td>'
            f"<td>{_e(w.get('name', w['place_id']))}</td>"
            f'<td class="n">{format_number(float(w["expected"]), 2, lang)}</td>'
            f"<td>{_e(expected_in_words(float(w['expected']), lang))}</td><td>{_e(what)}</td></tr>"
        )
    out.append(f"<table>{head}{''.join(rows)}</table>")
    if len(windows) > len(shown):
        out.append(f'<p class="note">{_e(message("report.more_windows", lang, n=len(windows) - len(shown)))}</p>')
    return out


def _note_text(text: str, lang: Lang) -> str:
    if len(text) <= MAX_NOTE_CHARS:
        return _e(text)
    return (
        _e(text[:MAX_NOTE_CHARS].rstrip() + "…") + f' <span class="note">{_e(message("report.cut_note", lang))}</span>'
    )


def _decisions(rep: Mapping[str, Any], lang: Lang) -> list[str]:
    tz = rep.get("tz")
    out = [f"<h2>{_e(message('report.decisions', lang))}</h2>"]
    out.append(f"<h3>{_e(message('report.previous_meeting', lang))}</h3>")
    all_previous = list(rep.get("previous_decisions") or [])
    previous = all_previous[:MAX_NOTES]
    if previous:
        items = []
        for d in previous:
            lines = "".join(
                "<li>"
                + _e(
                    message(
                        "report.since_line",
                        lang,
                        name=f["name"],
                        since=f["since"],
                        before=f["before"],
                        days=format_number(f["days"], 1, lang),
                        verdict=_verdict(f, lang),
                    )
                )
                + "</li>"
                for f in d.get("places", [])[:MAX_NOTE_PLACES]
            )
            items.append(
                f"<li>{_e(format_datetime(d['at'], lang, tz))}: {_note_text(d['text'], lang)}"
                + (f"<ul>{lines}</ul>" if lines else "")
                + "</li>"
            )
        out.append("<ul>" + "".join(items) + "</ul>")
        if len(all_previous) > MAX_NOTES:
            out.append(f'<p class="note">{_e(message("report.more_notes", lang, n=len(all_previous) - MAX_NOTES))}</p>')
    else:
        out.append(f"<p>{_e(message('report.no_decisions', lang))}</p>")
    out.append(f"<h3>{_e(message('report.this_meeting', lang))}</h3>")
    all_current = list(rep.get("decisions") or [])
    current = all_current[:MAX_NOTES]
    if len(all_current) > MAX_NOTES:
        out.append(f'<p class="note">{_e(message("report.more_notes", lang, n=len(all_current) - MAX_NOTES))}</p>')
    if current:
        out.append(
            "<ul>"
            + "".join(
                f"<li>{_e(format_datetime(d['at'], lang, tz))}: {_note_text(d['text'], lang)}</li>" for d in current
            )
            + "</ul>"
        )
    else:
        out.append("".join('<div class="blank"></div>' for _ in range(3)))  # room to write by hand
    return out


# --- CSV -----------------------------------------------------------------------------------------

_CSV_HEADERS: dict[Lang, tuple[str, ...]] = {
    "sv": (
        "Del",
        "Kommun",
        "Plats-id",
        "Namn",
        "Perioden",
        "Perioden före",
        "I fjol",
        "Förändring mot perioden före (%)",
        "Förändring mot i fjol (%)",
        "p-värde",
        "Flagga",
        "Bedömning",
        "q-värde (Benjamini–Hochberg)",
    ),
    "en": (
        "Part",
        "Municipality",
        "Place id",
        "Name",
        "Period",
        "Period before",
        "Last year",
        "Change vs period before (%)",
        "Change vs last year (%)",
        "p-value",
        "Flag",
        "Assessment",
        "q-value (Benjamini–Hochberg)",
    ),
}
_CSV_PARTS: dict[Lang, dict[str, str]] = {
    "sv": {"total": "Totalt", "place": "Plats", "category": "Händelsetyp"},
    "en": {"total": "Total", "place": "Place", "category": "Category"},
}
_CSV_FLAGS: dict[Lang, dict[str, str]] = {"sv": {"up": "upp", "down": "ned"}, "en": {"up": "up", "down": "down"}}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: object) -> str:
    """Text for Excel: a cell that Excel would read as a formula gets a leading ``'`` (OWASP)."""
    s = "" if text is None else str(text)
    return "'" + s if s.startswith(_DANGEROUS) else s


def situation_csv(report: Mapping[str, Any], *, lang: Lang | None = None) -> bytes:
    """The look-back tables as CSV for Swedish Excel: UTF-8 with BOM, ``;``, decimal comma.

    Rows: the total, every place and every category of the report; with several municipalities
    also each municipality's total and categories (the ``Kommun`` column says whose).
    """
    lang = check_lang(lang or report.get("lang", "sv"))
    parts = _CSV_PARTS[lang]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(_CSV_HEADERS[lang])

    def num(x: float | None, digits: int) -> str:
        # ASCII minus and no grouping: Excel reads the cell as a number
        return "" if x is None else f"{x:.{digits}f}".replace(".", "," if lang == "sv" else ".")

    def p_cell(p: float | None) -> str:
        return "" if p is None else f"{p:.4g}".replace(".", "," if lang == "sv" else ".")

    def write(part: str, muni: str, pid: str, name: str, r: Mapping[str, Any], rep: Mapping[str, Any]) -> None:
        writer.writerow(
            [
                parts[part],
                _cell(muni),
                _cell(pid),
                _cell(name),
                r["count"],
                r["previous"],
                r["last_year"],
                num(r.get("change_vs_previous_pct"), 1),
                num(r.get("change_vs_last_year_pct"), 1),
                p_cell(r.get("p_value")),
                _CSV_FLAGS[lang].get(r.get("flag") or "", ""),
                _text_of(r, lang, _compared(rep, "previous")),
                p_cell(r.get("q_value")),
            ]
        )

    scope = ", ".join(report.get("municipalities") or [])
    write("total", scope, "", "", report["totals"], report)
    for r in report["places"]:
        write("place", r.get("municipality") or "", r["place_id"], r["name"], r, report)
    for r in report["categories"]:
        write("category", scope, "", r["category"], r, report)
    for s in report.get("sections") or []:
        write("total", s["municipality"], "", "", s["totals"], s)
        for r in s["categories"]:
            write("category", s["municipality"], "", r["category"], r, s)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
