"""An association's link (no login, outside the bearer-token scheme): ``{secret}`` is the link's secret
(``tryggplan season links create``, ``POST /api/v1/season/links``). The association reads its offered
walks, accepts or declines each, and subscribes to a calendar of its accepted walks. An unknown or
revoked secret answers 404; the access log shows the path with the secret replaced by ``***``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from tryggplan.service.deps import EngineDep, NowDep, SettingsDep
from tryggplan.service.routes.season import offer_out
from tryggplan.service.schemas import AnswerIn, AnswerOut, ErrorOut, LinkOffersOut
from tryggplan.usecases import season

router = APIRouter(tags=["associations"])

Secret = Annotated[str, Path(min_length=8, max_length=200, description="the association link's secret")]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


@router.get("/associations/{secret}/offers", response_model=LinkOffersOut, responses=_ERRORS)
def offers(secret: Secret, engine: EngineDep, now: NowDep) -> LinkOffersOut:
    """The association's walks not yet over: offered (answer them), accepted, declined or withdrawn."""
    view = season.link_offers(engine, secret, now)
    return LinkOffersOut(
        association=view.link.association,
        municipality=view.link.municipality,
        offers=[offer_out(o, view.tz) for o in view.offers],
    )


@router.post("/associations/{secret}/offers/{offer_id}", response_model=AnswerOut, responses=_ERRORS)
def answer(
    secret: Secret,
    offer_id: Annotated[int, Path(ge=1, le=2**62)],
    body: AnswerIn,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
) -> AnswerOut:
    """Accept (the walk is pinned in every later plan) or decline (the walk is re-planned alone and offered
    elsewhere; ``new_plan_id`` names the re-made plan) one offered walk, before it begins."""
    done = season.answer_offer(
        engine, secret, offer_id, body.answer, now=now, note=body.note, time_limit=settings.solver_time_limit
    )
    return AnswerOut(offer=offer_out(done.offer, done.tz), new_plan_id=done.new_plan_id, notes=done.notes)


@router.get(
    "/associations/{secret}/walks.ics",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}}},
)
def calendar(
    secret: Secret,
    engine: EngineDep,
    now: NowDep,
    lang: Annotated[Literal["sv", "en"], Query(description="calendar name in Swedish (default) or English")] = "sv",
) -> Response:
    """The association's accepted walks as an iCalendar feed to subscribe to (one stable UID per walk: a
    moved walk updates in place)."""
    return Response(
        season.link_calendar(engine, secret, now, lang),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="nattvandringar.ics"'},
    )
