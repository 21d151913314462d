"""RUNBOOK-004 as written: two tenants' sessions with known overlaps are measured; the peak,
the per-tenant split and the recommended quota come out exactly; the Service Quotas request of
step 3 is refused locally with a pointer to ops-capacity (its AWS path is tests/ops/
test_quotas.py, against botocore's Stubber); the new quota is set with a restart and
`make ops-sessions` shows it. Bad windows and bad values are refused.

Its own platform (quota 5): the shared one's live sessions would change the measured peak."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from agentry.kit.envfile import read_env_file
from agentry.kit.ids import new_id
from agentry.models import Agent, Invocation, Job, Tenant
from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
IDLE = 900  # AGENTRY_RUNTIME_IDLE_TIMEOUT_S: a session counts this long after its last call


@pytest.fixture(scope="module")
def sized() -> Iterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="agentry-rb004-"))
    stack = start_stack(home, runtime_session_quota="5")
    try:
        yield stack
    finally:
        stop_stack(stack)
        shutil.rmtree(home, ignore_errors=True)


def _seed_history(stack: Stack) -> tuple[str, str, datetime]:
    """Two days ago (on a minute boundary), seconds from `base`:
    acme   a1 [0, 60] and again [2000, 2010]; a2 [1, 30]; a3 [1, 10]; a4 a job [10802, 10900]
    globex g1 [5, 20]; g2 [10800, 10810]; g3 [10801, 10811]
    With the idle timeout every session of a group overlaps: at +5 acme holds 3 and globex 1
    (4 in all); at +10802 acme 1 and globex 2 (3)."""
    engine = create_engine(f"sqlite:///{stack.home / 'agentry.db'}")
    start = datetime.now(UTC) - timedelta(days=2)
    base = start.replace(second=0, microsecond=0)
    with Session(engine) as db:
        slugs = dict(db.execute(select(Tenant.slug, Tenant.id)).all())
        agent = db.execute(select(Agent).where(Agent.name == "echo")).scalar_one()
        acme, globex = slugs["acme"], slugs["globex"]

        def call(tenant: str, session: str, at: int, until: int) -> None:
            db.add(
                Invocation(
                    id=new_id("inv"), tenant_id=tenant, agent_id=agent.id, version_number=1,
                    alias="live", mode="sync", session_id=session,
                    runtime_session_id=f"{tenant}-{session}", status="succeeded",
                    request_id=new_id("req"), created_at=base + timedelta(seconds=at),
                    finished_at=base + timedelta(seconds=until),
                )
            )  # fmt: skip

        call(acme, "a1", 0, 60)
        call(acme, "a1", 2000, 2010)
        call(acme, "a2", 1, 30)
        call(acme, "a3", 1, 10)
        call(globex, "g1", 5, 20)
        call(globex, "g2", 10800, 10810)
        call(globex, "g3", 10801, 10811)
        db.add(
            Job(
                id=new_id("job"), tenant_id=acme, agent_id=agent.id, agent_name="echo",
                version_number=1, alias="live", runtime_arn=agent.runtime_arn or "-",
                qualifier="live", session_id="a4", runtime_session_id=f"{acme}-a4",
                status="succeeded", input={}, deadline_s=3600,
                created_at=base + timedelta(seconds=10790),
                started_at=base + timedelta(seconds=10802),
                finished_at=base + timedelta(seconds=10900),
            )
        )  # fmt: skip
        db.commit()
    engine.dispose()
    return acme, globex, base


def test_runbook_004_sizes_the_quota_from_measured_peaks(sized: Stack) -> None:
    operator = Operator(sized)
    acme, globex, base = _seed_history(sized)
    steps = page("004").steps()
    assert steps[:2] == ["make ops-capacity", "make ops-capacity DAYS=$DAYS JSON=1"]

    table = operator.make(steps[0]).stdout
    assert "peak concurrent sessions" in table
    assert "recommended quota" in table
    assert "increase needed: request 10 (make ops-quota-request VALUE=10" in table
    report = operator.json(steps[1].removesuffix(" JSON=1"), DAYS="7")
    assert report["days"] == 7
    assert report["sessions"] == 7  # a1 twice is one session; the job's session counts
    assert report["peak_sessions"] == 4
    assert report["peak_at"].startswith((base + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    per = {t["tenant_slug"]: (t["peak_sessions"], t["sessions"]) for t in report["by_tenant"]}
    assert per == {"acme": (3, 4), "globex": (2, 3)}
    assert [t["tenant_id"] for t in report["by_tenant"]] == [acme, globex]  # biggest first
    assert report["peak_invocations_per_second"] == 2  # a2 and a3 at +1
    assert report["peak_invocations_per_minute"] == 4  # +0, +1, +1, +5
    assert report["quota"] == 5
    assert report["headroom"] == 0.2  # (5 - 4) / 5
    assert report["recommended_quota"] == 10  # ceil(4 x 1.5 / 10) x 10
    assert report["increase_needed"] is True
    assert operator.json("make ops-capacity GROWTH=2 STEP=4")["recommended_quota"] == 8
    assert operator.json("make ops-capacity TOP=1")["by_tenant"][0]["tenant_slug"] == "acme"
    assert operator.json("make ops-capacity DAYS=1")["peak_sessions"] == 0  # all older

    # Step 3: the local profile has no Service Quotas; both targets say so and point to step 4.
    request, status = steps[2:4]
    assert (request, status) == (
        "make ops-quota-request VALUE=$RECOMMENDED",
        "make ops-quota-status",
    )
    refused = operator.make(request, ok=False, RECOMMENDED=str(report["recommended_quota"]))
    assert refused.returncode != 0
    assert "error no_service_quotas: the local profile has no AWS Service Quotas" in refused.stderr
    assert "AGENTRY_RUNTIME_SESSION_QUOTA=5" in refused.stderr
    assert "make ops-capacity" in refused.stderr
    assert "AGENTRY_RUNTIME_SESSION_QUOTA=5" in operator.make(status).stdout
    assert operator.json(status)["configured_quota"] == 5

    # Set the quota (a restart with the new value) and verify, as the page says.
    new = Operator(sized, extra={"AGENTRY_RUNTIME_SESSION_QUOTA": "10"})
    *_, restart, sessions, again = steps
    assert (restart, sessions, again) == ("make dev", "make ops-sessions", "make ops-capacity")
    assert "Agentry is up" in new.make(restart).stdout
    sized.creds = read_env_file(sized.home / "dev.env")
    assert "of quota 10" in new.make(sessions).stdout
    after = new.json("make ops-capacity")
    assert (after["quota"], after["headroom"], after["increase_needed"]) == (10, 0.6, False)
    assert "no increase needed" in new.make(again).stdout


@pytest.mark.parametrize("value", ["0", "-5", "ten", ""])
def test_ops_quota_request_refuses_a_bad_value(sized: Stack, value: str) -> None:
    done = Operator(sized).make(f"make ops-quota-request VALUE={value}", ok=False)
    assert done.returncode != 0
    assert f"error bad_value: VALUE must be a positive integer, not {value!r}" in done.stderr


@pytest.mark.parametrize("days", ["0", "abc", "91"])
def test_ops_capacity_refuses_a_bad_window(sized: Stack, days: str) -> None:
    done = Operator(sized).make(f"make ops-capacity DAYS={days}", ok=False)
    assert done.returncode != 0
    assert "--days" in done.stderr


def test_capacity_route_is_for_operators_with_a_stable_code(sized: Stack) -> None:
    with sized.client(sized.acme_key) as tenant:
        assert tenant.get("/v1/admin/capacity").json()["code"] == "insufficient_role"
    with sized.client(sized.operator_key) as op:
        bad = op.get("/v1/admin/capacity", params={"days": 0})
        assert bad.status_code == 422
        assert bad.json()["code"] == "validation_error"
        assert op.get("/v1/admin/capacity").json()["days"] == 7
