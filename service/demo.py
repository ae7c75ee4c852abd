"""``tryggplan run-demo``: the demo town end to end, idempotently.

1. open (create, migrate) the database in ``DIR/tryggplan.db``;
2. write the demo town (:func:`tryggplan.demo.generate_town`) to ``DIR`` and import it; when
   incidents are stored already they are kept (a second run does not import a second town);
3. store the demo resources spec (:func:`tryggplan.allocation.demo_resources`) unless one exists;
4. train the forecast from today through the end of next ISO week, unless a finished forecast
   for that range exists;
5. make next week's plan from it, and one for the rest of this week (what the dashboard shows as
   the current plan), unless they exist for that forecast;
6. create a reader and a coordinator token (tokens are shown only once, so each run makes new ones).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tryggplan.domain import TryggplanError
from tryggplan.service import crud, jobs, planning
from tryggplan.service.settings import Settings
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import count_incidents, import_incidents, read_places
from tryggplan.storage.models import ForecastRun, PlanRecord, ResourceSpec, utcnow
from tryggplan.storage.tokens import create_token


@dataclass(frozen=True)
class DemoSummary:
    database: str
    incidents_added: int
    incidents_stored: int
    forecast_run_id: int
    plan_id: int
    current_plan_id: int | None
    current_week: str
    week: str
    cost_sek: float | None
    risk_covered_share: float | None
    reader_token: str
    coordinator_token: str

    def lines(self) -> list[str]:
        share = f"{self.risk_covered_share:.0%}" if self.risk_covered_share is not None else "?"
        return [
            f"database: {self.database} ({self.incidents_stored} incidents, {self.incidents_added} added now)",
            f"forecast: run {self.forecast_run_id}",
            f"plan: {self.plan_id} for {self.week}: cost {self.cost_sek} SEK, risk covered {share}",
            (
                f"plan: {self.current_plan_id} for the rest of this week ({self.current_week}), shown on the dashboard"
                if self.current_plan_id is not None
                else f"no plan for the rest of this week ({self.current_week})"
            ),
            f"reader token: {self.reader_token}",
            f"coordinator token: {self.coordinator_token}",
        ]


def _next_week(today: dt.date) -> tuple[str, dt.date]:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", monday


def prepare_demo(
    directory: Path, settings: Settings, seed: int = 7, model: str = "default", today: dt.date | None = None
) -> DemoSummary:
    """Everything ``run-demo`` does before serving; returns what was made."""
    from tryggplan.allocation import demo_resources
    from tryggplan.demo import generate_town

    today = today or dt.date.today()
    directory.mkdir(parents=True, exist_ok=True)
    engine = open_database(settings.database_url)
    try:
        added = 0
        if count_incidents(engine) == 0:
            town = generate_town(seed=seed, end=today - dt.timedelta(days=1), tz=settings.tz)
            town.places.to_csv(directory / "places.csv", index=False)
            incidents = town.incidents.copy()
            incidents["occurred_at"] = incidents["occurred_at"].dt.tz_convert(settings.tz).map(lambda t: t.isoformat())
            incidents.to_csv(directory / "incidents.csv", index=False)
            added = import_incidents(
                engine, town.incidents, town.places, source_file="demo town", actor="run-demo"
            ).added
        resource_id = _ensure_resources(engine, directory, demo_resources)
        week, monday = _next_week(today)
        days = max(14, (monday - today).days + 7)
        run_id = _ensure_forecast(engine, today, days, settings.tz, model)
        plan_id, cost, share = _ensure_plan(engine, week, resource_id, run_id)
        this_year, this_week, _ = today.isocalendar()
        current_week = f"{this_year}-W{this_week:02d}"
        try:  # the rest of this week may be too short for the spec (e.g. Sunday night): then skip it
            current_id: int | None = _ensure_plan(engine, current_week, resource_id, run_id)[0]
        except TryggplanError:
            current_id = None
        reader, _ = create_token(engine, "reader", "demo dashboard")
        coordinator, _ = create_token(engine, "coordinator", "demo coordinator")
        return DemoSummary(
            database=engine.url.render_as_string(hide_password=True),
            incidents_added=added,
            incidents_stored=count_incidents(engine),
            forecast_run_id=run_id,
            plan_id=plan_id,
            current_plan_id=current_id,
            current_week=current_week,
            week=week,
            cost_sek=cost,
            risk_covered_share=share,
            reader_token=reader,
            coordinator_token=coordinator,
        )
    finally:
        engine.dispose()


def _ensure_resources(engine: Engine, directory: Path, demo_resources) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session, session.begin():
        existing = session.scalars(select(ResourceSpec).order_by(ResourceSpec.id.desc()).limit(1)).first()
        if existing is not None:
            return existing.id
    spec = demo_resources(read_places(engine))
    (directory / "resources.yaml").write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    normalised = planning.validate_resources(spec, "demo resources")
    with Session(engine) as session, session.begin():
        row = ResourceSpec(name="demo town", spec=normalised, actor="run-demo", created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def _ensure_forecast(engine: Engine, start: dt.date, days: int, tz: str, model: str) -> int:
    with Session(engine) as session:
        run = session.scalars(
            select(ForecastRun)
            .where(
                ForecastRun.status == "done",
                ForecastRun.start_date == start,
                ForecastRun.days == days,
                ForecastRun.tz == tz,
            )
            .order_by(ForecastRun.id.desc())
            .limit(1)
        ).first()
        if run is not None:
            return run.id
    with Session(engine) as session, session.begin():
        run_id = crud.new_forecast_run(session, model, start, days, tz, None, "run-demo").id
    jobs.run_forecast(engine, run_id)
    with Session(engine) as session:
        run = session.get(ForecastRun, run_id)
        assert run is not None
        if run.status != "done":
            raise TryggplanError(f"demo forecast failed: {run.error}")
    return run_id


def _ensure_plan(engine: Engine, week: str, resource_id: int, run_id: int) -> tuple[int, float | None, float | None]:
    with Session(engine) as session:
        plan = session.scalars(
            select(PlanRecord)
            .where(
                PlanRecord.week == week,
                PlanRecord.forecast_run_id == run_id,
                PlanRecord.resource_id == resource_id,
            )
            .order_by(PlanRecord.id.desc())
            .limit(1)
        ).first()
        if plan is not None:
            return plan.id, plan.plan.get("cost_sek"), plan.plan.get("risk_covered_share")
        run = session.get(ForecastRun, run_id)
        resources = session.get(ResourceSpec, resource_id)
        assert run is not None and resources is not None
        grid = crud.grid_frame(session, run)
        spec, tz = resources.spec, run.tz
    doc = planning.make_plan(grid, spec, week, tz)
    with Session(engine) as session, session.begin():
        row = PlanRecord(
            kind="week",
            week=week,
            status=str(doc.get("status", "")),
            resource_id=resource_id,
            forecast_run_id=run_id,
            plan=doc,
            actor="run-demo",
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row.id, doc.get("cost_sek"), doc.get("risk_covered_share")
