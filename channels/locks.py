"""Verification locks in the agent console: which accounts or clients are locked, and lifting one
once the agent has checked who they are talking to."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status

from channels.console import gateway_of, require_agent
from hotline import clock
from hotline.accounts import verification
from hotline.agents import SignedInAgent
from hotline.db import session_scope

router = APIRouter(prefix="/api/console/verification-locks")


def _locks(database_url: str) -> list[dict]:
    with session_scope(database_url) as session:
        return [{"key": lock.key, "label": lock.label, "failures": lock.failures, "until": lock.until.isoformat()}
                for lock in verification.active_locks(session, clock.now())]


def _lift(database_url: str, key: str) -> bool:
    with session_scope(database_url) as session:
        return verification.lift(session, key)


@router.get("")
async def locks(request: Request, agent: SignedInAgent = Depends(require_agent)) -> list[dict]:
    return await asyncio.to_thread(_locks, gateway_of(request).settings.database_url)


@router.post("/lift")
async def lift(request: Request, key: str = Body(embed=True, max_length=80),
               agent: SignedInAgent = Depends(require_agent)) -> dict[str, str]:
    if not await asyncio.to_thread(_lift, gateway_of(request).settings.database_url, key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such lock (it may have expired).")
    return {"status": "lifted"}
