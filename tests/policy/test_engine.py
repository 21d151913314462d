"""The Cedar engine on its own: validation, ENFORCE, LOG_ONLY counting, two scopes, lock-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from agentry.models.policy import PLATFORM_SCOPE
from agentry.policy import service as policy_service
from agentry.policy.engine import (
    ALLOW,
    Compiled,
    PolicyEngine,
    PolicyInvalid,
    Request,
    locks_out,
    validate,
)

PERMIT_ALL = "permit(principal, action, resource);"
NO_LONGRUN_FOR_BASIC = (
    PERMIT_ALL
    + """
forbid(principal, action == Agentry::Action::"InvokeAgent", resource == Agentry::Agent::"longrun")
when { principal.tier == "basic" };"""
)


def compiled(number: int, text: str) -> Compiled:
    return Compiled(number, validate(text))


def invoke(agent: str, tier: str = "basic", tenant: str = "ten_a") -> Request:
    return Request(tenant, tier, "InvokeAgent", agent)


def test_no_policy_allows_without_evaluating() -> None:
    assert PolicyEngine().decide(invoke("longrun")) is ALLOW


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("permit(principal, action resource);", "parse"),
        ("permit(principal, action, resource) when { principal.colour == 1 };", "colour"),
        ('permit(principal, action == Agentry::Action::"Fly", resource);', "Fly"),
    ],
)
def test_invalid_policies_are_refused_with_cedar_messages(text: str, fragment: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        validate(text)
    assert caught.value.code == "policy_invalid"
    assert fragment in caught.value.detail
    assert caught.value.extra["errors"]


def test_enforced_tenant_policy_denies_with_a_reason_and_leaves_other_tenants_alone() -> None:
    engine = PolicyEngine()
    engine.install("ten_a", compiled(1, NO_LONGRUN_FOR_BASIC), None)
    denied = engine.decide(invoke("longrun"))
    assert not denied.allowed
    assert denied.version == 1
    assert "tenant policy v1" in denied.reason
    assert engine.decide(invoke("echo")).allowed
    assert engine.decide(invoke("longrun", tier="premium")).allowed
    assert engine.decide(invoke("longrun", tenant="ten_b")) is ALLOW


def test_platform_policy_applies_to_every_tenant_and_wins() -> None:
    engine = PolicyEngine()
    engine.install(PLATFORM_SCOPE, compiled(3, NO_LONGRUN_FOR_BASIC), None)
    engine.install("ten_b", compiled(1, PERMIT_ALL), None)
    decision = engine.decide(invoke("longrun", tenant="ten_b"))
    assert not decision.allowed
    assert "platform policy v3" in decision.reason


def test_a_set_without_permit_denies_everything_it_covers() -> None:
    engine = PolicyEngine()
    engine.install(
        "ten_a", compiled(1, "forbid(principal, action, resource) when { false };"), None
    )
    decision = engine.decide(invoke("echo"))
    assert not decision.allowed
    assert "no policy permits it" in decision.reason


def test_shadow_version_counts_changes_but_never_decides() -> None:
    engine = PolicyEngine()
    engine.install("ten_a", compiled(1, PERMIT_ALL), compiled(2, NO_LONGRUN_FOR_BASIC))
    for _ in range(3):
        assert engine.decide(invoke("longrun")).allowed  # enforced v1 allows
    assert engine.decide(invoke("echo")).allowed
    stats = engine.shadow_stats[("ten_a", 2)]
    assert (stats.evaluated, stats.would_deny, stats.would_allow) == (4, 3, 0)


def test_shadow_alone_enforces_nothing() -> None:
    engine = PolicyEngine()
    engine.install("ten_a", None, compiled(1, "forbid(principal, action, resource);"))
    assert engine.decide(invoke("echo")).allowed
    assert engine.shadow_stats[("ten_a", 1)].would_deny == 1


def test_uninstalling_a_set_restores_the_fast_path() -> None:
    engine = PolicyEngine()
    engine.install("ten_a", compiled(1, NO_LONGRUN_FOR_BASIC), None)
    engine.install("ten_a", None, None)
    assert engine.decide(invoke("longrun")) is ALLOW


def test_context_reaches_policies() -> None:
    text = PERMIT_ALL + (
        '\nforbid(principal, action == Agentry::Action::"DelegateAgent", resource)'
        " when { context.depth > 1 };"
    )
    engine = PolicyEngine()
    engine.install("ten_a", compiled(1, text), None)
    shallow = Request("ten_a", "basic", "DelegateAgent", "b", role="agent", agent="a", depth=1)
    deep = Request("ten_a", "basic", "DelegateAgent", "b", role="agent", agent="a", depth=2)
    assert engine.decide(shallow).allowed
    assert not engine.decide(deep).allowed


def test_lock_out_detection() -> None:
    assert locks_out(validate("forbid(principal, action, resource);"), "operator")
    assert locks_out(validate("forbid(principal, action, resource) when { true };"), "admin")
    assert not locks_out(validate(PERMIT_ALL), "operator")
    only_ops = 'permit(principal, action, resource) when { context.role == "operator" };'
    assert not locks_out(validate(only_ops), "operator")
    assert locks_out(validate(only_ops), "admin")


async def test_a_poll_that_read_before_a_change_does_not_undo_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refresh whose read raced a change applied in this process leaves the change in force."""
    started, release = asyncio.Event(), asyncio.Event()

    class SlowLoad:  # a read that returns the state from before the change
        def __init__(self, session: object) -> None:
            pass

        async def stamp(self) -> tuple[int, None]:
            started.set()
            await release.wait()
            return (0, None)

        async def active(self) -> list[Any]:
            return []

    @asynccontextmanager
    async def maker() -> AsyncIterator[None]:
        yield None

    monkeypatch.setattr(policy_service, "PolicyLoadRepository", SlowLoad)
    service = policy_service.PolicyService(maker)  # type: ignore[arg-type]
    poll = asyncio.create_task(service.refresh())
    await started.wait()
    # the change, as PolicyService._changed applies it
    service.engine.install("ten_a", compiled(1, NO_LONGRUN_FOR_BASIC), None)
    service._seen = None
    service._generation += 1
    release.set()
    await poll
    assert service.engine.installed("ten_a") is not None
    assert not service.engine.decide(invoke("longrun")).allowed
