"""A real local webhook receiver (an HTTP server thread) for tests and benchmarks.

Records each delivery (verifiable with the `standardwebhooks` library against the secrets it is
given), and answers with the status the test scripted for that path (default 204).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE_S = 300  # the standardwebhooks library's timestamp tolerance


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    secrets: list[str]
    job_secrets: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)

    @property
    def verified(self) -> bool:
        """Verified as a receiver would have at arrival: the signature with `standardwebhooks`
        against the job's secret (else every secret known now: a secret may be learnt after its
        webhook arrived), the timestamp against the arrival time, not against now."""
        job_id = self._job_id()
        secrets = [self.job_secrets[job_id]] if job_id in self.job_secrets else list(self.secrets)
        try:
            stamp = int(self.headers.get("webhook-timestamp", ""))
        except ValueError:
            return False
        if abs(self.received_at - stamp) > TOLERANCE_S:
            return False
        signatures = self.headers.get("webhook-signature", "").split(" ")
        at = datetime.fromtimestamp(stamp, tz=UTC)
        for secret in secrets:
            try:
                expected = Webhook(secret).sign(self.webhook_id, at, self.body.decode())
            except (WebhookVerificationError, UnicodeDecodeError, ValueError):
                continue
            if expected in signatures:
                return True
        return False

    def _job_id(self) -> str:
        try:
            return str(self.json["data"]["job_id"])
        except (ValueError, KeyError, TypeError):
            return ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    secrets: list[str] = field(default_factory=list)
    job_secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    responses: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def learn(self, job_id: str, secret: str) -> None:
        """A job's webhook secret (checked first for that job's deliveries)."""
        with self.lock:
            self.job_secrets[job_id] = secret
            self.secrets.append(secret)

    def respond(self, path: str, *answers: tuple[int, dict[str, str]]) -> None:
        """Script the next answers for `path` (status, headers); afterwards 204."""
        with self.lock:
            self.responses[path] = list(answers)

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, predicate: Any, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                hits = [r for r in self.received if predicate(r)]
            if hits:
                return hits
            time.sleep(0.05)
        raise TimeoutError("no matching webhook delivery")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver(secrets: list[str] | None = None) -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, headers, body, receiver.secrets, receiver.job_secrets)
                )
                scripted = receiver.responses.get(self.path) or []
                status, extra = scripted.pop(0) if scripted else (204, {})
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the default backlog of 5 resets bursts of deliveries
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    receiver = Receiver(server=server, secrets=list(secrets or []))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
