from __future__ import annotations

from agentry.invocations.sessions import pooled_session_id, runtime_session_id


def test_same_client_session_in_two_tenants_gets_two_runtime_sessions() -> None:
    a = runtime_session_id("ten_a", "agt_1", "chat-1")
    b = runtime_session_id("ten_b", "agt_1", "chat-1")
    assert a != b
    assert a.startswith("ten_a-")
    assert b.startswith("ten_b-")


def test_runtime_session_id_is_stable_and_meets_agentcore_length_rule() -> None:
    sid = runtime_session_id("ten_" + "x" * 24, "agt_1", "s")
    assert sid == runtime_session_id("ten_" + "x" * 24, "agt_1", "s")
    assert 33 <= len(sid) <= 256


def test_pool_ids_are_per_version_and_bounded() -> None:
    ids = {pooled_session_id(3, 2) for _ in range(200)}
    assert ids == {"pool-v3-0", "pool-v3-1"}
