"""Analytics for contact-centre managers: a page with charts, a JSON API and a CSV export."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse

from channels.console import gateway_of, page, require_agent, require_agent_page
from hotline.agents import SignedInAgent
from hotline import clock
from hotline.db import session_scope
from hotline.insights.analytics import ConversationFacts, build_report, facts_csv, load_facts

MAX_DAYS = 366

router = APIRouter()


def period(start: date | None, end: date | None, days: int) -> tuple[date, date]:
    end = end or clock.today()
    start = start or end - timedelta(days=days - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"'from' must be on or before 'to', at most {MAX_DAYS} days apart.")
    return start, end


async def facts_for(request: Request, since: date, until: date) -> list[ConversationFacts]:
    def load() -> list[ConversationFacts]:
        with session_scope(gateway_of(request).settings.database_url) as session:
            return load_facts(session, since, until)

    return await asyncio.to_thread(load)


PeriodQuery = {"start": Query(None, alias="from", description="First day, YYYY-MM-DD"),
               "end": Query(None, alias="to", description="Last day, YYYY-MM-DD (default today)"),
               "days": Query(14, ge=1, le=MAX_DAYS, description="Days up to 'to' when 'from' is not given")}


@router.get("/console/analytics", include_in_schema=False)
async def analytics_page(agent: SignedInAgent = Depends(require_agent_page)) -> FileResponse:
    return page("analytics.html")


@router.get("/api/analytics")
async def analytics(request: Request, start: date | None = PeriodQuery["start"], end: date | None = PeriodQuery["end"],
                    days: int = PeriodQuery["days"], agent: SignedInAgent = Depends(require_agent)) -> dict:
    since, until = period(start, end, days)
    return build_report(await facts_for(request, since, until), since, until)


@router.get("/api/analytics/conversations.csv")
async def analytics_csv(request: Request, start: date | None = PeriodQuery["start"], end: date | None = PeriodQuery["end"],
                        days: int = PeriodQuery["days"], agent: SignedInAgent = Depends(require_agent)) -> Response:
    since, until = period(start, end, days)
    return Response(facts_csv(await facts_for(request, since, until)), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="hotline-conversations-{since}-{until}.csv"'})
