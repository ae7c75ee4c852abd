"""The situation picture (every role reads: JSON, print-ready HTML, CSV), the meeting's decisions
(coordinator/admin note them, every role reads them) and "did the walks work?" (every role reads).

A token scoped to municipalities gets its own municipalities' report; naming another is a 403.
The HTML page is served with its own Content-Security-Policy: the strict one of the service plus
the hash of the page's one ``<style>`` element (``tryggplan.reporting.html.style_csp_source``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from tryggplan.reporting.html import style_csp_source
from tryggplan.service.deps import EngineDep, SettingsDep, require
from tryggplan.service.schemas import ErrorOut, EvaluationOut, NoteIn, NoteOut, SituationOut
from tryggplan.storage.records import NoteRecord
from tryggplan.usecases import access, evaluation, reports
from tryggplan.usecases.access import PLAN, READ, Principal

router = APIRouter(tags=["reports"])

Reader = Annotated[Principal, Depends(require(READ, "read the situation picture"))]
Coordinator = Annotated[Principal, Depends(require(PLAN, "note the meeting's decisions"))]
ToQuery = Annotated[str, Query(max_length=40, description="last local day of the period, YYYY-MM-DD")]
DaysQuery = Annotated[int, Query(description="length of the period [days], 1-366")]
MunicipalityQuery = Annotated[
    list[str] | None,
    Query(max_length=300, description="only these municipalities (default: all the token may see)"),
]
LangQuery = Annotated[str, Query(max_length=10, description="sv (default) or en")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
#: the service's strict policy, with the report's one <style> element allowed by its hash
REPORT_CSP = (
    f"default-src 'none'; style-src {style_csp_source()}; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def scope(principal: Principal, municipality: list[str] | None) -> list[str] | None:
    """The municipalities a read is for: those named (each checked against the token's scope), else
    the token's own, else ``None`` (all)."""
    if municipality:
        for name in municipality:
            access.check_municipality(principal, name)
        return list(municipality)
    return list(principal.municipalities) if principal.municipalities is not None else None


async def _report(
    engine: Any, tz: str, principal: Principal, to: str, days: int, municipality: list[str] | None, lang: str
) -> dict[str, Any]:
    towns = scope(principal, municipality)
    return await run_in_threadpool(reports.situation, engine, to, days=days, municipalities=towns, tz=tz, lang=lang)


@router.get("/reports/situation", response_model=SituationOut, responses=_ERRORS)
async def situation(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    to: ToQuery,
    days: DaysQuery = reports.DEFAULT_DAYS,
    municipality: MunicipalityQuery = None,
    lang: LangQuery = "sv",
) -> dict[str, Any]:
    """The situation picture of the ``days`` local days ending with ``to``: look back (against the
    period before and the same dates last year, with the exact test), year to date, what was done,
    look ahead (high-risk windows of the newest forecast and the plan), decisions."""
    return await _report(engine, settings.tz, principal, to, days, municipality, lang)


@router.get(
    "/reports/situation.html",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/html": {}}}},
)
async def situation_page(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    to: ToQuery,
    days: DaysQuery = reports.DEFAULT_DAYS,
    municipality: MunicipalityQuery = None,
    lang: LangQuery = "sv",
) -> Response:
    """The situation picture as one print-ready A4 page (Swedish unless ``lang=en``): one section per
    municipality, at most two pages each."""
    report = await _report(engine, settings.tz, principal, to, days, municipality, lang)
    page = await run_in_threadpool(reports.situation_as_html, report)
    return Response(
        page.encode("utf-8"),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP},
    )


@router.get(
    "/reports/situation.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
async def situation_csv(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    to: ToQuery,
    days: DaysQuery = reports.DEFAULT_DAYS,
    municipality: MunicipalityQuery = None,
    lang: LangQuery = "sv",
) -> Response:
    """The look-back tables (total, places, categories) as CSV for Swedish Excel (UTF-8 with BOM, ``;``,
    decimal comma)."""
    report = await _report(engine, settings.tz, principal, to, days, municipality, lang)
    return Response(
        reports.situation_as_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lagesbild-{report["to"]}.csv"'},
    )


def _note_out(note: NoteRecord) -> NoteOut:
    return NoteOut.model_validate(note, from_attributes=True)


@router.post("/reports/situation/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def add_note(body: NoteIn, principal: Coordinator, engine: EngineDep, settings: SettingsDep) -> NoteOut:
    """Note a decision of the situation-picture meeting and the places it concerns; the next report
    lists it with what happened at those places since. Stored with who noted it and when."""
    note = reports.add_note(
        engine, body.text, body.place_ids, at=body.at, tz=settings.tz, actor=principal.actor, principal=principal
    )
    return _note_out(note)


@router.get("/reports/situation/notes", response_model=list[NoteOut], responses=_ERRORS)
def list_notes(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    start: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD or ISO time")] = None,
    end: Annotated[str | None, Query(max_length=40, description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NoteOut]:
    """The meeting notes, oldest first (a scoped token: the notes about its municipalities' places)."""
    found = reports.list_notes(engine, start=start, end=end, tz=settings.tz, principal=principal, limit=limit)
    return [_note_out(n) for n in found]


@router.get("/evaluation/walks", response_model=EvaluationOut, responses=_ERRORS, tags=["evaluation"])
async def evaluate_walks(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    kind: Annotated[str, Query(max_length=20, description="night_walk (default) or guard")] = "night_walk",
    municipality: MunicipalityQuery = None,
    lang: LangQuery = "sv",
) -> dict[str, Any]:
    """Did it work? Incidents in the place-hours the completed walks (or the guard shifts) covered,
    against the forecast and against the same places and hours of the week on nights without a shift
    (difference in differences); "the data cannot tell yet" when the intervals span zero, with how
    many more walks would tell."""
    towns = scope(principal, municipality)
    return await run_in_threadpool(
        evaluation.evaluate_walks, engine, kind=kind, municipalities=towns, tz=settings.tz, lang=lang
    )
