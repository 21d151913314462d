from __future__ import annotations

from agentry.gateway.policy import Subject, TierPolicy

BASIC = Subject("ten_b", "basic", "concierge")
PREMIUM = Subject("ten_p", "premium", "concierge")
STANDARD = Subject("ten_s", "standard", "concierge")


def test_premium_tool_is_premium_only(policy: TierPolicy) -> None:
    assert policy.decide(PREMIUM, "insights___forecast").allowed
    denied = policy.decide(BASIC, "insights___forecast")
    assert not denied.allowed
    assert "premium" in denied.reason
    assert "basic" in denied.reason


def test_all_tier_tools_are_allowed_everywhere(policy: TierPolicy) -> None:
    for who in (BASIC, STANDARD, PREMIUM):
        assert policy.decide(who, "utility___now").allowed
        assert policy.decide(who, "utility___calculate").allowed


def test_listing_differs_by_tier(policy: TierPolicy) -> None:
    names = ["utility___now", "utility___calculate", "insights___forecast"]
    assert policy.allowed_tools(BASIC, names) == {"utility___now", "utility___calculate"}
    assert policy.allowed_tools(PREMIUM, names) == set(names)


def test_a_grant_change_takes_effect_without_reloading_policies(policy: TierPolicy) -> None:
    assert not policy.decide(STANDARD, "insights___forecast").allowed
    grants = policy.grants
    grants["insights___forecast"] = frozenset({"standard", "premium"})
    policy.set_grants(grants)
    assert policy.decide(STANDARD, "insights___forecast").allowed
    assert not policy.decide(BASIC, "insights___forecast").allowed


def test_an_agent_declaring_tools_gets_only_those(policy: TierPolicy) -> None:
    narrow = Subject("ten_p", "premium", "concierge", agent_tools=frozenset({"utility___now"}))
    assert policy.decide(narrow, "utility___now").allowed
    denied = policy.decide(narrow, "insights___forecast")
    assert not denied.allowed
    assert "does not declare" in denied.reason


def test_suspended_and_unknown(policy: TierPolicy) -> None:
    assert not policy.decide(Subject("t", "premium", "a", suspended=True), "utility___now").allowed
    unknown = policy.decide(PREMIUM, "nope___tool")
    assert not unknown.allowed
    assert "unknown" in unknown.reason


def test_grants_refuse_unknown_tiers(policy: TierPolicy) -> None:
    import pytest

    with pytest.raises(ValueError, match="gold"):
        policy.set_grants({"utility___now": ["gold"]})
