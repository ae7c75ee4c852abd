"""What changes a cached dashboard answer: the newest finished forecast, the newest plan, the places, and
any write to a season ledger (publishing a plan, offers answered, walks recorded)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from tryggplan.storage.models import ForecastRun, Place, PlanRecord, SeasonLedger


def data_generation(engine: Engine) -> tuple[Any, ...]:
    """A tuple that changes whenever a stored forecast, plan, place or season ledger changes (one query)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                select(func.max(ForecastRun.id)).where(ForecastRun.status == "done").scalar_subquery(),
                select(func.count(ForecastRun.id)).scalar_subquery(),
                select(func.max(PlanRecord.id)).scalar_subquery(),
                select(func.max(Place.updated_at)).scalar_subquery(),
                select(func.count(Place.place_id)).scalar_subquery(),
                select(func.coalesce(func.sum(SeasonLedger.version), 0)).scalar_subquery(),
            )
        ).one()
    return tuple(row)
