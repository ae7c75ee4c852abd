"""Message catalogs: gettext through Babel, for every text a person reads (DESIGN.md, "Style to follow").

Message ids are the English texts, with named parameters (``"%(walkers)d walked"``); the Swedish ones
live in ``tryggplan/locale/sv/LC_MESSAGES/messages.po`` (English: ``.../en/...``, ids as they are),
compiled to ``messages.mo`` beside them. A text is rendered at the edge, in the language asked for::

    from tryggplan.catalogs import translate, translate_plural
    translate("sv", "Signed in as %(name)s", name="Kim")            # "Inloggad som Kim"
    translate_plural("sv", "%(num)d walk", "%(num)d walks", 3)      # "3 pass"

(``pybabel extract`` finds the ids by these two names: ``-k translate:2 -k translate_plural:2,3``, see the
Makefile.)

Templates get the same catalogs through ``jinja2.ext.i18n`` (:func:`translations`; see
``tryggplan.service.pages``). Numbers and dates go through Babel (``sv_SE`` / ``en``):
:func:`format_decimal`, :func:`format_day`, :func:`format_hours`.

How to add a text: ``docs/signin.md``, "Adding a text" (``make messages`` extracts, updates and
compiles; ``tests/test_catalogs.py`` fails while a Swedish translation is missing or the compiled
catalog is older than its ``.po``).

The compiled ``.mo`` files are kept in the repository and shipped as package data, so a fresh clone, a
wheel and ``pip install --target`` all read them without a build step. Where one is missing (a
hand-made checkout), the ``.po`` is compiled in memory instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_decimal
from babel.support import Translations

from tryggplan.i18n import EN_DASH, Lang

#: where the catalogs are: ``locale/{sv,en}/LC_MESSAGES/messages.po`` (and ``.mo``), ``locale/messages.pot``
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
#: the Babel locale of each language the project speaks
BABEL_LOCALES: dict[Lang, str] = {"sv": "sv_SE", "en": "en"}


def catalog_path(lang: Lang, suffix: str = ".po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def compile_catalog(lang: Lang) -> bytes:
    """The ``.mo`` bytes of ``lang``'s ``.po`` (fuzzy entries left out, as ``pybabel compile`` does)."""
    with catalog_path(lang).open("rb") as f:
        catalog = read_po(f, locale=BABEL_LOCALES[lang], domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@functools.cache
def translations(lang: Lang) -> Translations:
    """The compiled catalog of ``lang`` (read once per process): its ``.mo``, else its ``.po`` compiled in
    memory. ``gettext``/``ngettext`` of it answer the id itself for a text without a translation."""
    mo = catalog_path(lang, ".mo")
    data = mo.read_bytes() if mo.is_file() else compile_catalog(lang)
    return Translations(io.BytesIO(data), domain=DOMAIN)


def translate(lang: Lang, message_id: str, /, **values: object) -> str:
    """``message_id`` (English, ``%(name)s`` parameters) in ``lang``, its parameters filled from ``values``."""
    text = translations(lang).gettext(message_id)
    return text % values if values else text


def translate_plural(lang: Lang, singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form of ``singular``/``plural`` for ``n`` in ``lang``; ``%(num)d`` is ``n`` unless given."""
    text = translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def format_decimal(x: float, lang: Lang, decimals: int = 0) -> str:
    """``1 234,5`` / ``1,234.5`` (Babel, grouping by the locale)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return str(_babel_decimal(x, format=pattern, locale=BABEL_LOCALES[lang]))


def format_day(day: dt.date, lang: Lang) -> str:
    """A night's day as a calendar reads it: ``fre 19 dec`` / ``Fri 19 Dec`` (Babel's abbreviated names;
    the Swedish abbreviation's full stop is left out, as the project's other dates write it)."""
    return str(_babel_date(day, "EEE d MMM", locale=BABEL_LOCALES[lang])).replace(".", "")


def format_hours(start: dt.datetime, end: dt.datetime, tz: str, lang: Lang) -> str:
    """A walk's hours in ``tz``: ``20:00–00:00`` (24-hour clock in both languages)."""
    zone = ZoneInfo(tz)
    a = _babel_time(start.astimezone(zone), "HH:mm", locale=BABEL_LOCALES[lang])
    b = _babel_time(end.astimezone(zone), "HH:mm", locale=BABEL_LOCALES[lang])
    return f"{a}{EN_DASH}{b}"


__all__ = [
    "BABEL_LOCALES",
    "DOMAIN",
    "LOCALE_DIR",
    "catalog_path",
    "compile_catalog",
    "format_day",
    "format_decimal",
    "format_hours",
    "translate",
    "translate_plural",
    "translations",
]
