"""The background half of the platform (dispatcher + webhook sender), in any process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.tokens import TokenSigner
from agentry.audit.wiring import build_audit_log
from agentry.config import Settings
from agentry.jobs.worker import JobWorker, worker_id
from agentry.metering.service import Pricing
from agentry.runtime.base import AgentRuntime
from agentry.webhooks.sender import WebhookSender


@dataclass
class Background:
    jobs: JobWorker
    webhooks: WebhookSender

    @classmethod
    def start(
        cls,
        maker: async_sessionmaker[AsyncSession],
        runtime: AgentRuntime,
        signer: TokenSigner,
        settings: Settings,
        *,
        kind: str,
        prices: Pricing | None = None,
    ) -> Background:
        jobs = JobWorker(maker, runtime, signer, settings, owner=worker_id(kind), prices=prices)
        webhooks = WebhookSender(maker, settings, audit=build_audit_log(settings, maker))
        jobs.webhooks = webhooks
        jobs.start()
        webhooks.start()
        return cls(jobs, webhooks)

    async def stop(self) -> None:
        await self.jobs.stop()
        await self.webhooks.stop()


def signer_for(settings: Settings) -> TokenSigner:
    return TokenSigner(
        settings.home / "agent-auth",
        issuer=settings.effective_token_issuer,
        audience=settings.token_audience,
        ttl_s=settings.invocation_token_ttl_s,
    )
