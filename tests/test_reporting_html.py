"""The situation picture as print-ready HTML and CSV (tryggplan.reporting.html): Swedish by default,
self-contained, at most two A4 pages per municipality in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.test_reporting_situation import TO, TZ, planted_town
from tryggplan.domain import InvalidInputError
from tryggplan.reporting.html import MAX_PLACES, situation_csv, situation_html, style_csp_source
from tryggplan.reporting.situation import situation_picture

CHROMIUM = Path("/usr/bin/chromium")
HEADINGS_SV = ("Tillbakablick", "Hittills i år", "Genomfört", "Framåtblick", "Beslut")
HEADINGS_EN = ("Look back", "Year to date", "What was done", "Look ahead", "Decisions")


def _inputs() -> dict[str, Any]:
    return {
        "walks": [{"association": "Lions", "night": "2026-11-20", "status": "completed", "area": "Centrum"}],
        "covered": [
            {
                "kind": "night_walk",
                "place_ids": ["torget", "parken"],
                "start": "2026-11-20T20:00:00+01:00",
                "end": "2026-11-21T00:00:00+01:00",
            }
        ],
        "windows": [
            {
                "place_id": "torget",
                "label": "Stortorget, Fri 20:00–02:00, 0.42 expected",
                "start": "2026-12-04T20:00:00+01:00",
                "end": "2026-12-05T02:00:00+01:00",
                "expected": 0.42,
            }
        ],
        "planned": [
            {
                "kind": "night_walk",
                "association": "Lions",
                "area": "Centrum",
                "place_ids": ["torget"],
                "start": "2026-12-04T21:00:00+01:00",
                "end": "2026-12-05T01:00:00+01:00",
            }
        ],
        "notes": [{"at": "2026-11-18T10:00:00+01:00", "text": "Fler vandringar vid torget", "place_ids": ["torget"]}],
        "trained_until": "2026-11-28T00:00:00+01:00",
    }


def _report(lang: str = "sv") -> dict[str, Any]:
    incidents, places = planted_town()
    return situation_picture(incidents, places, TO, tz=TZ, lang=lang, **_inputs())  # type: ignore[arg-type]


def _text(html: str) -> str:
    """The visible text: tags dropped (the charts are base64 images, not text)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def test_swedish_html_is_self_contained_and_reads_swedish() -> None:
    html = situation_html(_report())
    assert html.startswith('<!DOCTYPE html>\n<html lang="sv">')
    text = _text(html)
    for heading in HEADINGS_SV:
        assert f"<h2>{heading}</h2>" in html
    assert "Lägesbild – Kungsör" in text
    assert "Perioden 16–29 november 2026 (14 dagar) jämförs med perioden före (2–15 november 2026)" in text
    assert "27 händelser under perioden, mot 14 perioden före (+92,9\u00a0%)" in text
    assert "inom normal variation (p = 0,060)" in text
    assert "317 händelser 1 januari–29 november 2026, mot 387 samma datum 2025 (\u221218,1\u00a0%)" in text
    assert "<td>Stortorget</td>" in html and "<td>torget</td>" not in html  # names, not ids
    assert '<td class="n">0,002</td><td>ökning utöver normal variation</td>' in html
    assert "fre 4 dec 20:00–02:00" in text and "0,42" in text and "ungefär en händelse på två sådana kvällar" in text
    assert "nattvandring Lions fre 4 dec 21:00–01:00" in text
    assert "2 av periodens 27 händelser (7,4\u00a0%)" in text
    assert "Stortorget: 17 händelser sedan dess (11,6 dagar), mot 6 lika lång tid före" in text
    # self-contained and within the service's CSP: no URL, no script, no style attribute
    assert "http" not in html and "<script" not in html and "style=" not in html and "url(" not in html
    assert html.count('src="data:image/svg+xml;base64,') == 2  # the monthly trend and the places chart
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert style_csp_source() == f"'sha256-{digest}'"
    assert "@page { size: A4;" in css


def test_english_html() -> None:
    html = situation_html(_report(), lang="en")
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    text = _text(html)
    for heading in HEADINGS_EN:
        assert f"<h2>{heading}</h2>" in html
    assert "The period 16–29 November 2026 (14 days)" in text
    assert '<td class="n">0.002</td><td>increase beyond normal variation</td>' in html and "+400.0%" in text
    assert "Fri 4 Dec 20:00–02:00" in text and "about one incident in two such evenings" in text


def test_long_lists_are_cut_for_paper_flagged_places_stay() -> None:
    rep = _report()
    filler = [
        {**rep["places"][-1], "place_id": f"p{i}", "name": f"Plats {i:02d}", "count": 1, "previous": 1, "flag": None}
        for i in range(30)
    ]
    quiet_flag = {**rep["places"][0], "place_id": "z", "name": "Zeta", "count": 0, "previous": 9, "flag": "down"}
    rep = {**rep, "places": rep["places"] + filler + [quiet_flag]}
    html = situation_html(rep)
    assert html.count("<tr") - html.count("<tr><th") >= MAX_PLACES
    assert "<td>Zeta</td>" in html  # flagged, so shown although it has the fewest incidents
    # Stortorget and Zeta (flagged), then the others in the report's order (busiest first)
    assert html.count("<td>Plats ") == MAX_PLACES - 4 and "<td>Plats 05</td>" in html and "Plats 06" not in html
    assert "Ytterligare 24 platser, alla inom normal variation, finns i CSV-filen." in html
    many_flags = [{**r, "flag": "up", "p_value": 0.01} for r in filler]
    html = situation_html({**rep, "places": rep["places"][:3] + many_flags})
    assert "Ytterligare 23 platser, varav 21 markerade, finns i CSV-filen." in html


def test_one_section_per_municipality() -> None:
    incidents, places = planted_town()
    places = pd.concat(
        [places, pd.DataFrame({"place_id": ["kyrkan"], "name": ["Kyrkbacken"], "municipality": ["Arboga"]})]
    )
    rep = situation_picture(incidents, places, TO, tz=TZ)
    html = situation_html(rep)
    assert html.count('<section class="municipality">') == 2
    assert "Lägesbild – Arboga" in html and "Lägesbild – Kungsör" in html
    assert ".municipality + .municipality { break-before: page; }" in html


def test_csv_for_swedish_excel() -> None:
    data = situation_csv(_report())
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == (
        "Del;Kommun;Plats-id;Namn;Perioden;Perioden före;I fjol;Förändring mot perioden före (%);"
        "Förändring mot i fjol (%);p-värde;Flagga;Bedömning;q-värde (Benjamini–Hochberg)"
    )
    # the total is not one of the rows corrected for many tests: no q-value
    assert lines[1] == "Totalt;Kungsör;;;27;14;14;92,9;92,9;0,05958;;inom normal variation;"
    # six rows tested (3 places, 3 categories): Stortorget's q = 0.0015439 * 6 / 2 (rank 2 of 6, tied
    # with skadegörelse's equal p-value), Skolgården's 0.2890625 * 6 / 4 (tied with stöld)
    assert lines[2] == (
        "Plats;Kungsör;torget;Stortorget;20;4;6;400,0;233,3;0,001544;upp;ökning utöver normal variation;0,004632"
    )
    assert lines[4] == "Plats;Kungsör;skolan;Skolgården;2;6;3;-66,7;-33,3;0,2891;;inom normal variation;0,4336"
    assert lines[5].startswith("Händelsetyp;Kungsör;;skadegörelse;20;4;6;")
    english = situation_csv(_report(), lang="en").decode("utf-8-sig").split("\r\n")
    assert english[1] == "Total;Kungsör;;;27;14;14;92.9;92.9;0.05958;;within normal variation;"


def test_csv_cells_never_run_as_formulas() -> None:
    incidents, places = planted_town()
    places.loc[places["place_id"] == "torget", "name"] = "=HYPERLINK(1)"
    data = situation_csv(situation_picture(incidents, places, TO, tz=TZ)).decode("utf-8-sig")
    assert ";'=HYPERLINK(1);" in data and ";=HYPERLINK" not in data


def test_html_escapes_user_text() -> None:
    rep = _report()
    rep["previous_decisions"][0]["text"] = "<b>vandra</b> & titta"
    html = situation_html(rep)
    assert "&lt;b&gt;vandra&lt;/b&gt; &amp; titta" in html and "<b>vandra" not in html


@pytest.mark.parametrize(
    ("report", "match"),
    [({"to": "2026-11-29"}, "report lacks 'from'"), ({**{"lang": "de"}}, "unknown language")],
)
def test_bad_report(report: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        situation_html(report)


# --- printing in headless Chromium ---------------------------------------------------------------


def _print_pdf(html: str, tmp_path: Path, name: str) -> bytes:
    src = tmp_path / f"{name}.html"
    src.write_text(html, encoding="utf-8")
    return print_url_to_pdf(src.as_uri(), tmp_path, name)


def print_url_to_pdf(url: str, tmp_path: Path, name: str) -> bytes:
    """What headless Chromium prints of the page at ``url`` (a file or an HTTP server on loopback)."""
    pdf = tmp_path / f"{name}.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return pdf.read_bytes()


def pages_and_text(pdf: bytes) -> tuple[int, str | None]:
    """Page count (pypdf when installed, else the ``/Type /Page`` objects) and the text if pypdf can
    read it."""
    try:
        import io

        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?!s)", pdf)), None
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def _big_town() -> dict[str, Any]:
    """A busy municipality: 40 places (most of them flagged), 15 categories, 25 windows, 13 notes, 10
    associations: every list of the report is longer than a page can hold."""
    incidents, places = planted_town()
    extra_places = pd.DataFrame(
        {
            "place_id": [f"p{i}" for i in range(37)],
            "name": [f"Platsen med ett ganska långt namn {i}" for i in range(37)],
            "municipality": "Kungsör",
            "area": "Centrum",
        }
    )
    places = pd.concat([places, extra_places], ignore_index=True)
    extra = pd.DataFrame(
        {
            "occurred_at": pd.date_range("2026-11-16T18:00Z", periods=370, freq="53min"),
            "place_id": [f"p{i % 37}" for i in range(370)],
            "category": [f"kategori {i % 12}" for i in range(370)],
        }
    )
    incidents = pd.concat([incidents, extra], ignore_index=True)
    windows = [
        {
            "place_id": f"p{i}",
            "label": "",
            "start": f"2026-12-{1 + i % 13:02d}T20:00:00+01:00",
            "end": f"2026-12-{2 + i % 13:02d}T02:00:00+01:00",
            "expected": 0.05 * (i + 1),
        }
        for i in range(25)
    ]
    notes = [
        {"at": f"2026-11-{17 + i}T10:00:00+01:00", "text": "Beslut " * 60, "place_ids": [f"p{i}", f"p{i + 1}"]}
        for i in range(8)
    ] + [
        {"at": f"2026-12-0{1 + i}T10:00:00+01:00", "text": "Nytt beslut " * 30, "place_ids": [f"p{i}"]}
        for i in range(5)
    ]  # the previous meeting's 8 notes and this meeting's 5
    walks = [
        {"association": f"Förening {i}", "night": "2026-11-20", "status": "completed", "area": "Centrum"}
        for i in range(10)
    ]
    return situation_picture(
        incidents,
        places,
        TO,
        tz=TZ,
        windows=windows,
        notes=notes,
        walks=walks,
        trained_until="2026-11-28T00:00:00+01:00",
    )


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_prints_to_at_most_two_a4_pages_per_municipality(tmp_path: Path) -> None:
    html = situation_html(_report())
    pages, text = pages_and_text(_print_pdf(html, tmp_path, "planted"))
    assert 1 <= pages <= 2
    for heading in HEADINGS_SV:
        assert heading in (text if text is not None else html)
    busy = _big_town()
    assert len(busy["places"]) == 40 and len(busy["categories"]) == 15
    pages, _ = pages_and_text(_print_pdf(situation_html(busy), tmp_path, "busy"))
    assert 1 <= pages <= 2
    incidents, places = planted_town()
    places = pd.concat(
        [places, pd.DataFrame({"place_id": ["kyrkan"], "name": ["Kyrkbacken"], "municipality": ["Arboga"]})]
    )
    two = situation_html(situation_picture(incidents, places, TO, tz=TZ))
    pages, _ = pages_and_text(_print_pdf(two, tmp_path, "two"))
    assert 2 <= pages <= 4  # each municipality starts on a new page and takes at most two
