"""The receiver verifies each delivery as a receiver would have at arrival."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from agentry.testing.receiver import Received

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="


def _delivery(secret: str, *, sent: float, body: dict[str, object]) -> tuple[dict[str, str], bytes]:
    data = json.dumps(body)
    at = datetime.fromtimestamp(int(sent), tz=UTC)
    signature = Webhook(secret).sign("msg_1", at, data)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(sent)),
        "webhook-signature": signature,
    }
    return headers, data.encode()


def test_signature_checked_against_the_arrival_time_not_now() -> None:
    sent = time.time() - 3600  # an hour ago: Webhook.verify would call it too old now
    headers, body = _delivery(SECRET, sent=sent, body={"data": {"job_id": "job_1"}})
    hit = Received("/h", headers, body, [OTHER, SECRET], received_at=sent + 1)
    assert hit.verified


def test_the_jobs_own_secret_decides_when_known() -> None:
    headers, body = _delivery(OTHER, sent=time.time(), body={"data": {"job_id": "job_1"}})
    # Signed with OTHER, which the receiver knows, but job_1's secret is SECRET: refused.
    hit = Received("/h", headers, body, [OTHER, SECRET], {"job_1": SECRET})
    assert not hit.verified
    assert Received("/h", headers, body, [OTHER, SECRET]).verified


def test_tampered_late_or_unsigned_deliveries_fail() -> None:
    now = time.time()
    headers, body = _delivery(SECRET, sent=now, body={"data": {"job_id": "job_1"}})
    assert not Received("/h", headers, body.replace(b"job_1", b"job_2"), [SECRET]).verified
    assert not Received("/h", headers, body, [SECRET], received_at=now + 301).verified
    unsigned = {k: v for k, v in headers.items() if k != "webhook-signature"}
    assert not Received("/h", unsigned, body, [SECRET]).verified
    assert not Received("/h", {**headers, "webhook-timestamp": "soon"}, body, [SECRET]).verified
