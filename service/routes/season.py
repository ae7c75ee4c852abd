"""The season ledger (DESIGN.md, "Season ledger"): coordinators and admins write (walk records, payouts,
association links), every role reads. ``municipality`` names the season (default: the token's own; an
area-wide token with seasons kept for several municipalities must name one); a scoped token gets 403
for another municipality."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Response, status

from tryggplan.domain import DEFAULT_TZ
from tryggplan.service.deps import EngineDep, NowDep, TextLangDep, require
from tryggplan.service.schemas import (
    ErrorOut,
    LinkCreated,
    LinkIn,
    LinkOut,
    OfferOut,
    PayoutIn,
    PayoutOut,
    SeasonOut,
    SeasonWalkIn,
    WalkOut,
    WalkReportOut,
)
from tryggplan.storage.records import LinkInfo, OfferInfo, PayoutInfo, WalkRecordInfo
from tryggplan.usecases import access, season
from tryggplan.usecases.access import PLAN, READ, Principal

router = APIRouter(tags=["season"])

Reader = Annotated[Principal, Depends(require(READ, "read the season ledger"))]
Coordinator = Annotated[Principal, Depends(require(PLAN, "write to the season ledger"))]
Town = Annotated[str | None, Query(max_length=400, description="the season's municipality (default: the token's)")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def walk_out(w: WalkRecordInfo) -> WalkOut:
    return WalkOut(
        id=w.id,
        association=w.association,
        night=w.night,
        status=w.status,
        area=w.area,
        plan_id=w.plan_id,
        shift_index=w.shift_index,
        corrects=w.corrects,
        note=w.note,
        recorded_at=w.recorded_at,
        actor=w.actor,
    )


def offer_out(o: OfferInfo, tz: str = DEFAULT_TZ) -> OfferOut:
    return OfferOut(
        id=o.id,
        association=o.association,
        night=o.night,
        area=o.area,
        template=o.template,
        start=pd.Timestamp(o.start).tz_convert(tz).to_pydatetime(),
        end=pd.Timestamp(o.end).tz_convert(tz).to_pydatetime(),
        plan_id=o.plan_id,
        shift_index=o.shift_index,
        status=o.status,  # type: ignore[arg-type]
        offered_at=o.offered_at,
        answered_at=o.answered_at,
        note=o.note,
    )


def payout_out(p: PayoutInfo) -> PayoutOut:
    return PayoutOut(
        id=p.id,
        association=p.association,
        walks=len(p.nights),
        nights=list(p.nights),
        amount_sek=p.amount_sek,
        paid_at=p.paid_at,
        actor=p.actor,
    )


def link_out(link: LinkInfo) -> LinkOut:
    return LinkOut(
        id=link.id,
        association=link.association,
        municipality=link.municipality,
        prefix=link.prefix,
        created_at=link.created_at,
        revoked=link.revoked,
    )


def _season(engine: Any, principal: Principal, municipality: str | None) -> season.Season:
    """The season the request is about (the named municipality, checked against the token's scope)."""
    return season.season_of(engine, access.own_municipality(principal, municipality))


@router.get("/season", response_model=SeasonOut, responses=_ERRORS)
def get_season(principal: Reader, engine: EngineDep, lang: TextLangDep, municipality: Town = None) -> SeasonOut:
    """The season's figures from the ledger: quota, walks done, no-shows, planned (offered or accepted,
    not yet recorded), left, the pot, owed, paid and what is left of it, and per association;
    ``warnings`` in the language asked for (``?lang=sv`` or ``Accept-Language: sv``)."""
    return SeasonOut.model_validate(season.status_document(engine, _season(engine, principal, municipality), lang))


@router.get("/season/walks", response_model=list[WalkOut], responses=_ERRORS)
def list_walks(
    principal: Reader,
    engine: EngineDep,
    municipality: Town = None,
    association: Annotated[str | None, Query(max_length=400)] = None,
) -> list[WalkOut]:
    """Every walk record of the season, oldest first: the audit trail (a correction names the record it
    corrects; the latest record of a walk is its current one)."""
    s = _season(engine, principal, municipality)
    return [walk_out(w) for w in season.list_records(engine, s, association)]


@router.post("/season/walks", response_model=WalkOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def record_walk(body: SeasonWalkIn, principal: Coordinator, engine: EngineDep, now: NowDep) -> WalkOut:
    """Record one walk by association and night (also a walk done before the tool was used): completed or
    no_show once it has ended (422 says from when), cancelled any time. A second record of the same walk
    must correct the current one (``corrects``)."""
    s = _season(engine, principal, body.municipality)
    outcome = season.record_walk(
        engine,
        s,
        association=body.association,
        night=body.night,
        status=body.status,
        actor=principal.actor,
        now=now,
        area=body.area,
        plan_id=body.plan_id,
        shift_index=body.shift_index,
        corrects=body.corrects,
        note=body.note,
    )
    return walk_out(outcome.record)


@router.get(
    "/season/payouts.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def payouts_csv(principal: Reader, engine: EngineDep, municipality: Town = None) -> Response:
    """The payout list for Swedish Excel (UTF-8 BOM, ``;``, decimal comma): one row per association with
    completed, unpaid walks: ``Förening;Pass;Nätter;Belopp (SEK)``."""
    s = _season(engine, principal, municipality)
    return Response(
        season.payouts_csv(engine, s),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="utbetalningar.csv"'},
    )


@router.get("/season/reports", response_model=list[WalkReportOut], responses=_ERRORS)
def list_reports(
    principal: Reader,
    engine: EngineDep,
    municipality: Town = None,
    association: Annotated[str | None, Query(max_length=400)] = None,
) -> list[WalkReportOut]:
    """The associations' report-backs of the season (walkers and observations, sent from their page
    ``/forening/{secret}``), by night, each with the completed walk record it belongs to."""
    s = _season(engine, principal, municipality)
    records = {w.id: w for w in season.list_records(engine, s)}
    return [
        WalkReportOut(
            id=r.id,
            association=r.association,
            night=r.night,
            area=records[r.walk_record_id].area if r.walk_record_id in records else None,
            walkers=r.walkers,
            observations=r.observations,
            walk_record_id=r.walk_record_id,
            offer_id=r.offer_id,
            created_at=r.created_at,
            actor=r.actor,
        )
        for r in season.list_reports(engine, s)
        if association is None or r.association == association
    ]


@router.get("/season/payouts", response_model=list[PayoutOut], responses=_ERRORS)
def list_payouts(principal: Reader, engine: EngineDep, municipality: Town = None) -> list[PayoutOut]:
    """The season's payouts, oldest first."""
    s = _season(engine, principal, municipality)
    return [payout_out(p) for p in season.list_payouts(engine, s)]


@router.post("/season/payouts", response_model=PayoutOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def pay(body: PayoutIn, principal: Coordinator, engine: EngineDep, now: NowDep) -> PayoutOut:
    """Mark an association's completed, unpaid walks (all, or the ``nights`` named) paid; answers the amount."""
    s = _season(engine, principal, body.municipality)
    return payout_out(season.pay(engine, s, body.association, actor=principal.actor, now=now, nights=body.nights))


@router.get("/season/offers", response_model=list[OfferOut], responses=_ERRORS)
def list_offers(
    principal: Reader,
    engine: EngineDep,
    municipality: Town = None,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
) -> list[OfferOut]:
    """The walks offered by published plans and how the associations answered, by night."""
    s = _season(engine, principal, municipality)
    return [offer_out(o, s.tz) for o in season.list_offers(engine, s, week)]


@router.get("/season/links", response_model=list[LinkOut], responses=_ERRORS)
def list_links(
    principal: Coordinator,
    engine: EngineDep,
    municipality: Town = None,
    all: Annotated[bool, Query(description="include revoked links")] = False,
) -> list[LinkOut]:
    """The associations' links (never their secrets)."""
    s = _season(engine, principal, municipality)
    return [link_out(link) for link in season.list_links(engine, s, include_revoked=all)]


@router.post("/season/links", response_model=LinkCreated, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_link(body: LinkIn, principal: Coordinator, engine: EngineDep, now: NowDep) -> LinkCreated:
    """A new link for an association: its secret is shown only once. The association reads and answers its
    offers at ``offers_url`` and subscribes to ``calendar_url``, without a login; revoke it to shut it."""
    s = _season(engine, principal, body.municipality)
    secret, link = season.create_link(engine, s, body.association, principal.actor, now)
    return LinkCreated(
        **link_out(link).model_dump(),
        secret=secret,
        offers_url=f"/api/v1/associations/{secret}/offers",
        calendar_url=f"/api/v1/associations/{secret}/walks.ics",
    )


@router.delete("/season/links/{link_id}", response_model=LinkOut, responses=_ERRORS)
def revoke_link(
    link_id: Annotated[int, Path(ge=1, le=2**62)], principal: Coordinator, engine: EngineDep, now: NowDep
) -> LinkOut:
    """Revoke a link: its secret answers 404 from then on."""
    link = season.get_link(engine, link_id)
    access.check_owned(principal, link.municipality, f"link {link.id}")
    return link_out(season.revoke_link(engine, link_id, now))
