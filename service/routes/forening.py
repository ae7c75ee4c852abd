"""An association's page, ``/forening/{secret}`` (DESIGN.md, "An association's page"): Swedish, phone-first,
server-rendered HTML that works without JavaScript. No sign-in: the link's secret is the key, as for the
JSON routes under ``/api/v1/associations/{secret}/`` (which stay as they are).

* ``GET /forening/{secret}``: the association's walks offered (each with "Tacka ja" and "Tacka nej"),
  accepted, and ended and to report back on (a form: "Antal vandrare", "Iakttagelser", "Skicka
  återrapport"), with links to its calendar feed (``webcal:`` and ``.ics``). An unknown or revoked link:
  a Swedish 404 page.
* ``POST /forening/{secret}/svar/{offer_id}`` (``answer=accept|decline``) answers an offer through
  :func:`tryggplan.usecases.season.answer_offer` (a decline re-plans the walk as the JSON route does);
  ``POST /forening/{secret}/aterrapport/{offer_id}`` (``walkers``, ``observations``) records the walk
  ``completed`` with its report-back (:func:`tryggplan.usecases.season.report_walk`). Both lead back to
  the page (303) with a confirmation or the reason in Swedish, never a 500. Their forms carry a token
  made from the link (:func:`tryggplan.usecases.signin.form_token`), and a POST the browser marks as
  coming from another site is refused.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import RedirectResponse, Response

from tryggplan.catalogs import translate
from tryggplan.domain import InvalidInputError, NotFoundError, TryggplanError
from tryggplan.i18n import Lang
from tryggplan.service.deps import cross_site
from tryggplan.service.pages import page_lang, render_page
from tryggplan.usecases import season
from tryggplan.usecases.signin import check_form_token, form_token

log = logging.getLogger("tryggplan.service")
router = APIRouter(include_in_schema=False)

Secret = Annotated[str, Path(min_length=8, max_length=200)]
OfferId = Annotated[int, Path(ge=1, le=2**62)]


def _confirmations(lang: Lang) -> dict[str, str]:
    """The confirmation (or the reason for a refusal) each outcome of a POST shows on the page, by the
    page's ``svar`` parameter; the outcomes in :data:`GOOD` show as a status, the others as an alert."""
    return {
        "accepted": translate(lang, "Thank you! You have accepted the walk. It is in your calendar."),
        "declined": translate(lang, "You have declined the walk. The coordinator plans it anew."),
        "already_accepted": translate(lang, "You had already accepted this walk."),
        "already_declined": translate(lang, "You had already declined this walk."),
        "reported": translate(lang, "Thank you for the report! The walk is recorded as done."),
        "unknown_offer": translate(lang, "That walk is not among your walks: reload the page."),
        "started": translate(lang, "The walk has begun and can no longer be answered here: tell the coordinator."),
        "not_offered": translate(lang, "That walk is no longer offered to you: reload the page."),
        "not_accepted": translate(lang, "Only a walk you accepted can be reported back."),
        "not_ended": translate(lang, "The walk has not ended yet: report back after it."),
        "reported_already": translate(lang, "This walk has already been reported back."),
        "recorded": translate(
            lang, "The coordinator has already recorded this walk as not done: tell the coordinator."
        ),
        "bad_walkers": translate(lang, "Give the number of walkers as a whole number from 1 to 50."),
        "bad_observations": translate(
            lang,
            "The observations could not be saved: shorten them to at most 2000 characters and leave out special "
            "characters.",
        ),
        "expired": translate(lang, "The page had expired or came from another site: reload it and try again."),
        "failed": translate(lang, "That could not be saved: reload the page and try again, or tell the coordinator."),
    }


GOOD = {"accepted", "declined", "already_accepted", "already_declined", "reported"}


def _not_found(request: Request) -> Response:
    lang = page_lang(request)
    return render_page(
        request,
        "saknas.html",
        {
            "title": translate(lang, "The link does not work"),
            "heading": translate(lang, "The link does not work"),
            "message": translate(
                lang,
                "This association link is unknown or no longer valid. Ask the coordinator for a new one.",
            ),
        },
        status_code=status.HTTP_404_NOT_FOUND,
    )


def _back(request: Request, secret: str, outcome: str, offer_id: int) -> RedirectResponse:
    params = {"svar": outcome}
    if page_lang(request) == "en":
        params["lang"] = "en"
    return RedirectResponse(
        f"/forening/{secret}?{urlencode(params)}#pass-{offer_id}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.get("/forening/{secret}")
def association_page(request: Request, secret: Secret, svar: str | None = None) -> Response:
    """The association's walks, answers and report-backs (see the module doc)."""
    engine = request.app.state.engine
    lang = page_lang(request)
    try:
        page = season.association_page(engine, secret, request.app.state.clock())
    except season.UnknownLinkError:
        return _not_found(request)
    said = _confirmations(lang).get(svar or "")
    host = request.headers.get("host", "")
    calendar = f"/api/v1/associations/{secret}/walks.ics"
    return render_page(
        request,
        "forening.html",
        {
            "title": translate(lang, "Night walks of %(association)s", association=page.link.association),
            "page": page,
            "secret": secret,
            "form_token": form_token(engine, "association", secret),
            "notice": said if svar in GOOD else None,
            "error": said if svar not in GOOD else None,
            "calendar_url": calendar,
            "webcal_url": f"webcal://{host}{calendar}",
            "max_walkers": season.MAX_WALKERS,
            "max_observations": season.MAX_OBSERVATIONS,
        },
    )


def _refused(request: Request, secret: str, csrf: str) -> bool:
    return cross_site(request) is not None or not check_form_token(
        request.app.state.engine, csrf, "association", secret
    )


@router.post("/forening/{secret}/svar/{offer_id}")
def answer(
    request: Request,
    secret: Secret,
    offer_id: OfferId,
    answer: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """ "Tacka ja" / "Tacka nej": accept or decline an offered walk, then back to the page."""
    engine = request.app.state.engine
    if _refused(request, secret, csrf):
        return _back(request, secret, "expired", offer_id)
    if answer not in ("accept", "decline"):
        return _back(request, secret, "failed", offer_id)
    settings = request.app.state.settings
    try:
        done = season.answer_offer(
            engine, secret, offer_id, answer, now=request.app.state.clock(), time_limit=settings.solver_time_limit
        )
    except season.UnknownLinkError:
        return _not_found(request)
    except NotFoundError:
        return _back(request, secret, "unknown_offer", offer_id)
    except season.LinkRefusedError as exc:
        return _back(request, secret, exc.reason, offer_id)
    except TryggplanError as exc:
        log.warning("an association's answer to offer %d was refused: %s", offer_id, type(exc).__name__)
        return _back(request, secret, "failed", offer_id)
    word = "accepted" if answer == "accept" else "declined"
    return _back(request, secret, word if done.changed else f"already_{word}", offer_id)


@router.post("/forening/{secret}/aterrapport/{offer_id}")
def report_back(
    request: Request,
    secret: Secret,
    offer_id: OfferId,
    walkers: Annotated[str, Form(max_length=20)] = "",
    observations: Annotated[str, Form(max_length=20_000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """ "Skicka återrapport": the walk recorded as done with its report-back, then back to the page."""
    engine = request.app.state.engine
    if _refused(request, secret, csrf):
        return _back(request, secret, "expired", offer_id)
    try:
        count = int(walkers.strip())
        season.check_walkers(count)
    except (ValueError, InvalidInputError):
        return _back(request, secret, "bad_walkers", offer_id)
    try:
        text = season.check_observations(observations)
    except InvalidInputError:
        return _back(request, secret, "bad_observations", offer_id)
    try:
        season.report_walk(engine, secret, offer_id, walkers=count, observations=text, now=request.app.state.clock())
    except season.UnknownLinkError:
        return _not_found(request)
    except season.LinkRefusedError as exc:
        return _back(request, secret, "reported_already" if exc.reason == "reported" else exc.reason, offer_id)
    except TryggplanError as exc:
        log.warning("an association's report-back on offer %d was refused: %s", offer_id, type(exc).__name__)
        return _back(request, secret, "failed", offer_id)
    return _back(request, secret, "reported", offer_id)
