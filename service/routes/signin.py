"""Signing in and out: ``/logga-in`` and ``/logga-ut`` (server-rendered, no JavaScript needed).

* ``GET /logga-in`` shows the form ("Användarnamn", "Lösenord", "Logga in") and sets a short-lived
  cookie with a random value; the form carries that value signed (:func:`~tryggplan.usecases.signin.form_token`),
  so a form posted from another site (login CSRF: signing a victim in as the attacker) is refused, as
  is any POST whose ``Sec-Fetch-Site``/``Origin`` say it comes from another site.
* ``POST /logga-in``: a wrong username or password shows one Swedish message (``role="alert"``) that does
  not say whether the user exists; too many failures answer 429 with ``Retry-After``; success sets the
  session cookie and leads (303) to the role's start page: ``/rapportera`` for a reporter, ``/``
  otherwise (or the page the user was sent from, ``next``, when it is one of the pages).
* ``GET /logga-ut`` shows a "Logga ut" button; ``POST /logga-ut`` (with the session's CSRF token) ends the
  session. A GET never signs out: links and prefetches on other sites must not be able to.

The session cookie is ``HttpOnly``, ``SameSite=Lax`` (a link to the dashboard from an e-mail arrives
signed in; cross-site POSTs never carry it, and every change also needs the CSRF token), ``Path=/``,
``Secure`` over HTTPS, and lasts as long as the session's absolute lifetime.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from tryggplan.catalogs import translate
from tryggplan.service.deps import SIGNIN_COOKIE, cross_site, signed_in
from tryggplan.service.pages import page_lang, render_page
from tryggplan.service.settings import Settings
from tryggplan.usecases.signin import (
    SignInRefusedError,
    TooManyAttemptsError,
    check_csrf,
    check_form_token,
    form_token,
    sign_in,
    sign_out,
)

router = APIRouter(include_in_schema=False)

#: the sign-in form's own cookie (a random value the form's token signs) and how long it lasts [s]
FORM_COOKIE = "tryggplan_signin_form"
FORM_SECONDS = 3600
#: where ``next`` may lead after signing in (nothing else: no open redirect)
PAGES = ("/", "/omrade", "/rapportera")


def start_page(role: str, wanted: str | None = None) -> str:
    """Where a user of ``role`` lands: a reporter on ``/rapportera``, everyone else on ``/`` (or on
    ``wanted`` when it is one of :data:`PAGES`)."""
    if role == "reporter":
        return "/rapportera"
    return wanted if wanted in PAGES else "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _form(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    wanted: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form with a fresh form cookie and its signed token."""
    engine = request.app.state.engine
    nonce = secrets.token_urlsafe(24)
    lang = page_lang(request)
    response = render_page(
        request,
        "logga_in.html",
        {
            "title": translate(lang, "Sign in"),
            "error": error,
            "notice": notice,
            "username": username,
            "next": wanted if wanted in PAGES else "",
            "form_token": form_token(engine, "signin", nonce),
            "user": None,  # the form is the form, whoever may be signed in in this browser
        },
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        FORM_COOKIE, nonce, max_age=FORM_SECONDS, path="/logga-in", httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip
    return response


@router.get("/logga-in")
def signin_page(request: Request, next: str = "", utloggad: str | None = None) -> Response:  # noqa: A002
    """The sign-in form."""
    lang = page_lang(request)
    notice = translate(lang, "You are signed out.") if utloggad is not None else None
    return _form(request, notice=notice, wanted=next)


@router.post("/logga-in")
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=200)] = "",  # noqa: A002
) -> Response:
    """Check the username and password; open a session and go to the start page."""
    engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    lang = page_lang(request)
    nonce = request.cookies.get(FORM_COOKIE, "")
    if cross_site(request) is not None or not nonce or not check_form_token(engine, csrf, "signin", nonce):
        return _form(
            request,
            status_code=status.HTTP_403_FORBIDDEN,
            error=translate(lang, "The sign-in form had expired or came from another site. Try again."),
            username=username,
            wanted=next,
        )
    try:
        done = sign_in(
            engine, username, password, _client(request), policy=settings.session_policy(), limit=settings.rate_limit()
        )
    except TooManyAttemptsError as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return _form(
            request,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            error=translate(lang, "Too many failed sign-ins. Wait %(minutes)d minutes and try again.", minutes=minutes),
            username=username,
            wanted=next,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except SignInRefusedError:
        return _form(
            request,
            error=translate(lang, "Wrong username or password. Check both and try again."),
            username=username,
            wanted=next,
        )
    old = request.cookies.get(SIGNIN_COOKIE)
    if old:
        sign_out(engine, old)
    response = RedirectResponse(start_page(done.user.role, next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SIGNIN_COOKIE, done.session_id, max_age=int(settings.session_policy().absolute.total_seconds()), path="/",
        httponly=True, samesite="lax", secure=_secure(request),
    )  # fmt: skip
    response.delete_cookie(FORM_COOKIE, path="/logga-in", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/logga-ut")
def signout_page(request: Request) -> Response:
    """A page with a "Logga ut" button (signing out is a POST with the session's CSRF token)."""
    signed_in(request)
    return render_page(request, "logga_ut.html", {"title": translate(page_lang(request), "Sign out")})


@router.post("/logga-ut")
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (and remove its cookie); then the sign-in form says so."""
    session = signed_in(request)
    if session is not None and (cross_site(request) is not None or not check_csrf(session, csrf)):
        lang = page_lang(request)
        return render_page(
            request,
            "saknas.html",
            {
                "title": translate(lang, "Sign out"),
                "heading": translate(lang, "Sign out"),
                "message": translate(lang, "The page had expired or came from another site: reload it and try again."),
            },
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if session is not None:
        sign_out(request.app.state.engine, request.cookies.get(SIGNIN_COOKIE))
    response = RedirectResponse("/logga-in?utloggad", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SIGNIN_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response
