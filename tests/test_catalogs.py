"""The message catalogs (tryggplan.catalogs, docs/signin.md "Adding a text"): every text the code and the
templates mark has a Swedish translation that is not fuzzy, the compiled ``.mo`` files are the ``.po`` files
compiled, and pages render through them in the language asked for."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from tryggplan.catalogs import (
    BABEL_LOCALES,
    catalog_path,
    compile_catalog,
    format_day,
    format_decimal,
    format_hours,
    translate,
    translate_plural,
)
from tryggplan.service.pages import Pages

ROOT = Path(__file__).resolve().parent.parent


def _makefile_list(name: str) -> list[str]:
    """A variable of the Makefile (its continuation lines joined): what `make messages` extracts with."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    found = re.search(rf"^{name} := (.*)$", text, re.M)
    assert found, name
    return found.group(1).split()


def extracted() -> dict[str, tuple[str, ...]]:
    """Every message id the code and templates mark, as ``make messages-extract`` finds them: id -> (id,
    plural) for plurals, (id,) otherwise."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    words = _makefile_list("KEYWORDS")
    keywords = parse_keywords([w for w in words if w not in ("-k", "--no-default-keywords")])
    found: dict[str, tuple[str, ...]] = {}
    for folder in _makefile_list("SOURCES"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=keywords
        ):
            key = message if isinstance(message, str) else message[0]
            found[key] = (message,) if isinstance(message, str) else tuple(message)
    return found


def test_texts_are_found_where_they_are_marked() -> None:
    ids = extracted()
    # from the Python (translate, translate_plural, PasswordPolicyError) and from the templates (_, ngettext)
    assert "Wrong username or password. Check both and try again." in ids
    assert "The password is the username: choose another password." in ids
    assert ids["%(num)d walk waits for your answer."] == (
        "%(num)d walk waits for your answer.",
        "%(num)d walks wait for your answer.",
    )
    assert "Number of walkers" in ids and "Username" in ids


def test_every_text_has_a_swedish_translation_that_is_not_fuzzy() -> None:
    with catalog_path("sv").open("rb") as f:
        catalog = read_po(f, locale=BABEL_LOCALES["sv"])
    missing = []
    for key, forms in sorted(extracted().items()):
        message = catalog.get(key)
        strings = (
            () if message is None else (message.string if isinstance(message.string, tuple) else (message.string,))
        )
        if message is None or message.fuzzy or not all(strings) or (len(forms) == 2 and not message.pluralizable):
            missing.append(key)
    assert missing == [], (
        "texts without a Swedish translation: run `make messages` and translate them in sv/.../messages.po"
    )


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_compiled_catalogs_are_the_po_files_compiled(lang: str) -> None:
    assert catalog_path(lang, ".mo").read_bytes() == compile_catalog(lang), (
        f"{catalog_path(lang, '.mo')} is stale: run `make messages-compile`"
    )


def test_texts_numbers_and_dates_in_both_languages() -> None:
    assert translate("sv", "Signed in as %(name)s", name="Kim") == "Inloggad som Kim"
    assert translate("en", "Signed in as %(name)s", name="Kim") == "Signed in as Kim"
    one, many = "Reported back: %(num)d walker.", "Reported back: %(num)d walkers."
    assert translate_plural("sv", one, many, 1) == "Återrapporterat: 1 vandrare."
    assert translate_plural("en", one, many, 1) == "Reported back: 1 walker."
    assert translate_plural("en", one, many, 4) == "Reported back: 4 walkers."
    assert translate("sv", "a text nobody translated") == "a text nobody translated"
    assert format_decimal(1234.5, "sv", 1) == "1\xa0234,5" and format_decimal(1234.5, "en", 1) == "1,234.5"
    night = dt.date(2026, 12, 19)
    assert (format_day(night, "sv"), format_day(night, "en")) == ("lör 19 dec", "Sat 19 Dec")
    start = dt.datetime(2026, 12, 19, 19, tzinfo=dt.UTC)
    assert format_hours(start, start + dt.timedelta(hours=4), "Europe/Stockholm", "sv") == "20:00–00:00"


def test_templates_are_autoescaped_and_translated(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text(
        "<p>{{ _('Area: %(area)s', area=area) }}</p><p>{{ ngettext('%(num)d walk waits for your answer.', "
        "'%(num)d walks wait for your answer.', n) }}</p><p>{{ night | day }} {{ x | number(1) }}</p>"
    )
    pages = Pages(tmp_path)
    values = {"area": "<b>Torget</b>", "n": 2, "night": dt.date(2026, 12, 18), "x": 0.5}
    assert pages.render("sv", "t.html", values) == (
        "<p>Område: &lt;b&gt;Torget&lt;/b&gt;</p><p>2 pass väntar på ert svar.</p><p>fre 18 dec 0,5</p>"
    )
    assert pages.render("en", "t.html", values) == (
        "<p>Area: &lt;b&gt;Torget&lt;/b&gt;</p><p>2 walks wait for your answer.</p><p>Fri 18 Dec 0.5</p>"
    )
