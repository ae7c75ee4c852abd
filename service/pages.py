"""Server-rendered pages: Jinja2 templates (``service/templates/``, autoescaped) with texts from the gettext
catalogs (:mod:`tryggplan.catalogs`), rendered in the language asked for (Swedish unless ``?lang=en``).

How a page is made (docs/signin.md, "Pages and texts")::

    from tryggplan.service.pages import render_page

    @router.get("/installningar", include_in_schema=False)
    def settings_page(request: Request) -> HTMLResponse:
        return render_page(request, "installningar.html", {"season": season}, title=_("Settings"))

and in ``templates/installningar.html``::

    {% extends "base.html" %}
    {% block main %}
      <h1>{{ _("Settings") }}</h1>
      <p>{{ _("%(num)d walks left", num=season.walks_left) }}</p>
      <p>{{ ngettext("%(num)d association", "%(num)d associations", n) }}</p>
      <p>{{ night | day }} {{ offer.start | hours(offer.end, tz) }} {{ 1234.5 | number(1) }}</p>
    {% endblock %}

* ``_``/``gettext`` and ``ngettext`` are ``jinja2.ext.i18n``'s new-style functions: named parameters,
  the result escaped, ``%(num)d`` filled with ``n`` by ``ngettext``;
* filters ``day`` (``fre 19 dec``), ``hours`` (``20:00–00:00``) and ``number`` (``1 234,5``) format
  through Babel in the page's language;
* every template gets ``lang``, ``csrf_token`` (the signed-in session's, or ``None``), ``user`` (the
  signed-in :class:`~tryggplan.storage.users.UserRecord`, or ``None``) and ``other_lang_url``.

One :class:`jinja2.Environment` per language, made on first use and kept by the app
(``app.state.pages``): the catalogs are installed once, so rendering shares nothing between requests.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tryggplan.catalogs import format_day, format_decimal, format_hours, translations
from tryggplan.i18n import LANGS, Lang

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: pages change with the data and the session: never kept by a browser or proxy
PAGE_HEADERS = {"Cache-Control": "no-store"}


def page_lang(request: Request) -> Lang:
    """The language of a page: ``?lang=sv|en`` (also a form's ``lang`` field), else Swedish."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGS else "sv"  # type: ignore[return-value]


class Pages:
    """The template environments of one app, one per language (thread-safe, made on first use)."""

    def __init__(self, folder: Path = TEMPLATES) -> None:
        self.folder = folder
        self._envs: dict[Lang, Environment] = {}
        self._lock = threading.Lock()

    def env(self, lang: Lang) -> Environment:
        with self._lock:
            found = self._envs.get(lang)
            if found is None:
                found = self._envs[lang] = self._make(lang)
            return found

    def _make(self, lang: Lang) -> Environment:
        env = Environment(
            loader=FileSystemLoader(self.folder),
            autoescape=select_autoescape(["html"], default_for_string=True, default=True),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        env.filters["day"] = lambda d: format_day(d, lang)
        env.filters["hours"] = lambda start, end, tz: format_hours(start, end, tz, lang)
        env.filters["number"] = lambda x, decimals=0: format_decimal(x, lang, decimals)
        env.globals["lang"] = lang
        return env

    def render(self, lang: Lang, name: str, context: Mapping[str, Any]) -> str:
        return self.env(lang).get_template(name).render(**context)


def pages_of(request: Request) -> Pages:
    pages: Pages | None = getattr(request.app.state, "pages", None)
    if pages is None:  # an app made without the factory (tests)
        pages = request.app.state.pages = Pages()
    return pages


def _other_lang_url(request: Request, lang: Lang) -> str:
    other = "en" if lang == "sv" else "sv"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if other == "en":
        params.append(("lang", "en"))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def render_page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    lang: Lang | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The template ``name`` rendered for this request (language :func:`page_lang` unless ``lang``), as an
    HTML response that no cache keeps. ``context`` is added to what every page gets (module doc)."""
    lang = lang or page_lang(request)
    session = getattr(request.state, "signin", None)
    values: dict[str, Any] = {
        "csrf_token": session.csrf_token if session is not None else None,
        "user": session.user if session is not None else None,
        "other_lang_url": _other_lang_url(request, lang),
        "title": None,
    }
    values.update(context or {})
    html = pages_of(request).render(lang, name, values)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


__all__ = ["PAGE_HEADERS", "TEMPLATES", "Pages", "page_lang", "pages_of", "render_page"]
