"""Helpers shared by the job tests: polling, and direct database access to a stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.testing.stack import Stack

T = TypeVar("T")
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


def db_url(stack: Stack) -> str:
    return stack.env.get("AGENTRY_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{stack.home.resolve() / 'agentry.db'}"
    )


def in_db(stack: Stack, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(db_url(stack))
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def wait_job(
    client: httpx.Client,
    job_id: str,
    until: Callable[[dict[str, Any]], bool] = lambda j: j["status"] in TERMINAL,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if until(job):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} stuck: {job}")
