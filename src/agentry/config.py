"""Settings for every process (API, workers, runtime emulator, CLI). Env prefix `AGENTRY_`."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local", "aws"]
RuntimeMode = Literal["local", "agentcore"]
# The dev identity provider's API client id (local profile only).
DEV_CLIENT_ID = "00000000-0000-4000-8000-00000000a9e1"
# The dev identity provider's public SPA client (auth code + PKCE); devidp.users re-exports it.
DEV_SPA_CLIENT_ID = "00000000-0000-4000-8000-0000000005fa"


class TierQuota(BaseModel):
    """What one tier may do. Keys are tenants' tiers (basic, standard, premium)."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int = Field(ge=1, description="Sync + stream calls per minute.")
    concurrent_calls: int = Field(ge=1, description="Sync + stream calls running at once.")
    max_payload_bytes: int = Field(ge=1, description="Largest invoke/stream body (413 above).")


class RegionEndpoints(BaseModel):
    """Where one runtime region's AgentCore endpoints are. Empty: AWS's public endpoints of
    the region (the local emulator when the region is the only one and none is given)."""

    model_config = ConfigDict(extra="forbid")

    runtime_url: str = Field("", description="Data-plane base URL of the region.")
    control_url: str = Field("", description="Control-plane URL (empty: same as runtime_url).")


def default_quotas() -> dict[str, TierQuota]:
    return {
        "basic": TierQuota(requests_per_minute=600, concurrent_calls=8, max_payload_bytes=262_144),
        "standard": TierQuota(
            requests_per_minute=6_000, concurrent_calls=32, max_payload_bytes=1_048_576
        ),
        "premium": TierQuota(
            requests_per_minute=1_000_000, concurrent_calls=256, max_payload_bytes=1_048_576
        ),
    }


def default_price_book() -> dict[str, dict[str, str]]:
    """The first price book: decimal strings per tier and usage kind."""
    return {
        tier: {"input_tokens": p[0], "output_tokens": p[1], "tool_call": p[2], "runtime_ms": p[3]}
        for tier, p in {
            "basic": ("0.000002", "0.000006", "0.001", "0.00001"),
            "standard": ("0.0000015", "0.0000045", "0.0008", "0.000008"),
            "premium": ("0.000001", "0.000003", "0.0005", "0.000005"),
        }.items()
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTRY_", extra="ignore")

    profile: Profile = Field(
        "local",
        description="`local` runs everything embedded (SQLite, local runtime); "
        "`aws` targets AgentCore.",
    )
    home: Path = Field(
        Path(".agentry"),
        description="State directory for the local profile: SQLite file, artifacts, logs, pids.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL. Empty means SQLite at `<home>/agentry.db`. "
        "PostgreSQL: `postgresql+asyncpg://user@host:5432/db`.",
    )
    api_host: str = Field("127.0.0.1", description="Interface the API binds to.")
    api_port: int = Field(8000, description="Port the API binds to.")
    api_workers: int = Field(
        1, ge=1, le=64, description="API worker processes (each runs its own event loop)."
    )
    public_url: str = Field(
        "",
        description="Base URL clients and agents use to reach the API. "
        "Empty means http://<api_host>:<api_port>.",
    )

    runtime_mode: RuntimeMode = Field(
        "local",
        description="`local`: the API resolves a session through the local runtime and then "
        "calls the agent process directly (shortest hot path). `agentcore`: every call goes "
        "through the AgentCore data-plane HTTP API (the local emulator or AWS).",
    )
    runtime_url: str = Field(
        "",
        description="AgentCore data-plane endpoint: the local runtime emulator, or "
        "https://bedrock-agentcore.<region>.amazonaws.com in AWS. Empty means "
        "http://<runtime_host>:<runtime_port> (the emulator this machine runs).",
    )
    runtime_control_url: str = Field(
        "",
        description="AgentCore control-plane endpoint. Empty means the same as runtime_url "
        "(the emulator serves both); in AWS, the bedrock-agentcore-control endpoint.",
    )
    runtime_regions: dict[str, RegionEndpoints] = Field(
        default_factory=dict,
        description="Runtime regions agents are deployed to, in failover order, JSON in the "
        'environment, e.g. AGENTRY_RUNTIME_REGIONS={"eu-west-1": {}, "eu-central-1": {}} '
        "(AWS endpoints) or with `runtime_url` per region (two local emulators). Every push "
        "goes to each; the active one is data (RUNBOOK-001). Empty: `aws_region` alone, at "
        "runtime_url.",
    )
    runtime_region_poll_s: float = Field(
        5.0,
        gt=0,
        le=30,
        description="How often every API replica and worker re-reads the active runtime region "
        "(a switch is applied everywhere within this, well inside RUNBOOK-001's 60 s).",
    )
    runtime_state_dir: Path | None = Field(
        None,
        description="Local emulator: its state directory. Empty: <home>/runtime; the emulator "
        "of a second local region uses <home>/runtime-<region>.",
    )
    runtime_host: str = Field("127.0.0.1", description="Interface the runtime emulator binds to.")
    runtime_port: int = Field(8100, description="Port the runtime emulator binds to.")
    runtime_sign_requests: bool = Field(
        False, description="Sign AgentCore calls with SigV4 (on in AWS, off for the emulator)."
    )
    aws_region: str = Field("eu-west-1", description="AWS region for AgentCore and Bedrock.")
    aws_account_id: str = Field(
        "000000000000", description="AWS account id used to build runtime ARNs."
    )
    runtime_role_arn: str = Field(
        "arn:aws:iam::000000000000:role/agentry-runtime",
        description="Execution role passed to CreateAgentRuntime.",
    )
    artifact_bucket: str = Field(
        "agentry-artifacts",
        description="S3 bucket for agent code zips (a folder under <home>/artifacts locally).",
    )
    runtime_idle_timeout_s: int = Field(
        900, ge=1, le=28800, description="Reap a session idle this long (AgentCore default 900)."
    )
    runtime_max_lifetime_s: int = Field(
        28800, ge=1, le=28800, description="Kill a session this long after it started (8 h max)."
    )
    runtime_startup_timeout_s: float = Field(
        60.0, gt=0, description="A session that does not answer /ping in this time fails."
    )
    runtime_standby: int = Field(
        2,
        ge=0,
        le=16,
        description="Local emulator: host processes kept pre-started with the SDK imported, so a "
        "session start costs only the agent's own import. Two, so that a push's health gate and "
        "the new version's first session both start warm; 0 starts every session cold.",
    )
    runtime_reap_interval_s: float = Field(
        2.0, gt=0, description="How often the runtime pings sessions and reaps idle ones."
    )
    runtime_session_quota: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Concurrent runtime sessions the AgentCore account may hold (its service "
        "quota). `make ops-sessions` and the RuntimeSessionsHigh alert compare live sessions "
        "to it.",
    )
    runtime_session_quota_service_code: str = Field(
        "bedrock-agentcore",
        description="AWS Service Quotas service code of the AgentCore Runtime session quota "
        "(`make ops-quota-status`, `make ops-quota-request`, RUNBOOK-004).",
    )
    runtime_session_quota_code: str = Field(
        "",
        description="Service Quotas quota code (`L-...`) of the AgentCore Runtime active-session "
        "quota. Empty: found by `runtime_session_quota_name` among the service's quotas.",
    )
    runtime_session_quota_name: str = Field(
        "Active session workloads per account",
        description="The quota's name in Service Quotas (compared without case), used when "
        "`runtime_session_quota_code` is empty.",
    )

    max_payload_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body accepted on invoke (413 above)."
    )
    sync_timeout_s: float = Field(
        300.0, gt=0, le=900, description="Default sync invocation timeout (AgentCore max 15 min)."
    )
    stream_timeout_s: float = Field(
        3600.0, gt=0, le=3600, description="Longest stream (AgentCore streaming max 60 min)."
    )
    stream_heartbeat_s: float = Field(
        15.0, gt=0, description="Interval of the SSE comment heartbeat on idle streams."
    )
    stream_retention_s: int = Field(
        600,
        ge=300,
        description="Stored stream events stay resumable (Last-Event-ID) at least this long "
        "after the stream's deadline.",
    )
    idempotency_ttl_s: int = Field(
        86_400, ge=60, description="How long an Idempotency-Key and its stored answer are kept."
    )
    redis_url: str = Field(
        "",
        description="Redis for rate limits, concurrency leases and auth throttling shared by API "
        "replicas, e.g. redis://127.0.0.1:6379/0. Empty keeps them in process memory.",
    )
    quotas: dict[str, TierQuota] = Field(
        default_factory=default_quotas,
        description="Per-tier quotas, JSON in the environment, e.g. AGENTRY_QUOTAS="
        '{"basic": {"requests_per_minute": 60, "concurrent_calls": 4, '
        '"max_payload_bytes": 262144}}. A tier missing here gets the `basic` entry.',
    )
    quota_lease_margin_s: float = Field(
        30.0,
        gt=0,
        description="A concurrency slot expires this long after its call's timeout, so slots "
        "held by a crashed API process free themselves (Redis).",
    )
    model_routes: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "basic": {"provider": "local", "model": "local-small", "max_tokens": 4000},
            "standard": {"provider": "local", "model": "local-medium", "max_tokens": 16000},
            "premium": {"provider": "local", "model": "local-large", "max_tokens": 64000},
        },
        description="Tier -> {provider (local|bedrock), model, max_tokens per invocation}. "
        "Tenants never choose the model. In AWS, point tiers at Bedrock model ids. "
        "`max_tokens` counts the invocation's recorded usage over all its attempts.",
    )
    tool_calls_per_minute: dict[str, int] = Field(
        default_factory=lambda: {"basic": 60, "standard": 300, "premium": 1200},
        description="Tool calls per tenant and tool per minute, by tier.",
    )
    tool_target_timeout_s: float = Field(
        15.0,
        gt=0,
        le=300,
        description="Timeout of one call to an external MCP tool target (connect, list or "
        "call); past it the agent gets a `tool_target_unavailable` error.",
    )
    tool_target_allow_private: bool = Field(
        False,
        description="DEV ONLY: allow external MCP tool targets on loopback and private "
        "addresses. Honoured in the local profile only; `agentry dev up` sets it.",
    )
    gateway_id: str = Field(
        "",
        description="AWS profile: the AgentCore Gateway id that external MCP tool targets are "
        "also registered on (CreateGatewayTarget). Empty: targets are served by this API only.",
    )
    policy_engine_name: str = Field(
        "agentry",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$",
        description="AWS profile with `gateway_id` set: the AgentCore Policy Engine the platform "
        "policy set's tool rules are synced to (created if missing, attached to the Gateway).",
    )
    a2a_max_depth: int = Field(
        3,
        ge=1,
        le=16,
        description="How many agents deep an agent-to-agent call chain may go (a tenant's call "
        "is depth 0). Deeper: 409 `delegation_too_deep`; a loop (A → B → A): 409 "
        "`delegation_loop`.",
    )
    tool_calls_per_invocation: dict[str, int] = Field(
        default_factory=lambda: {"basic": 20, "standard": 50, "premium": 200},
        description="Most tool calls one invocation (or job, over all its attempts) may make, "
        "by tier. Past it a tools/call gets a JSON-RPC error with `data.code` "
        "`budget_exceeded`, and the denial is audited. A tier missing here has no limit.",
    )
    pii_redaction_tiers: list[str] = Field(
        default_factory=lambda: ["basic", "standard"],
        description="Tiers whose tool output has e-mail, card and phone numbers redacted.",
    )
    price_book: dict[str, dict[str, str]] = Field(
        default_factory=lambda: default_price_book(),
        description="The first price book (decimal strings per tier and usage kind): seeded "
        "into the database on first start; later changes go through `/v1/admin/billing/prices`.",
    )
    billing_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="The price book's one currency (ISO 4217)."
    )
    price_book_refresh_s: float = Field(
        5.0, gt=0, description="How often each process reloads the price book from the database."
    )
    price_change_lead_s: float = Field(
        60.0,
        ge=0,
        description="A new price takes effect at least this far in the future (never "
        "retroactive; longer than the reload interval, so every replica applies it exactly).",
    )
    auth_cache_s: float = Field(
        5.0,
        gt=0,
        description="How long a process trusts a verified API key before reading it again (a "
        "revocation made through another process applies within this window).",
    )
    budget_cache_s: float = Field(
        5.0,
        gt=0,
        description="How long a process trusts its month-to-date spend of a tenant with a "
        "monthly budget before summing it again (an overrun is bounded by this window).",
    )
    budget_check_interval_s: float = Field(
        60.0, gt=0, description="How often budgets are swept for the 80% and 100% events."
    )
    invocation_recording: Literal["buffered", "durable"] = Field(
        "buffered",
        description="`durable`: a sync answer waits until its invocation row is committed. "
        "`buffered`: rows are group-committed right after the answer (faster; a SIGKILL of the "
        "API can lose the batch in flight). See docs/benchmarks.md for the cost of each.",
    )
    api_key_pepper: SecretStr = Field(
        SecretStr(""),
        description="Server-side secret mixed into API key hashes (HMAC-SHA256). Required "
        "outside the local profile; locally a per-home pepper is generated.",
    )
    uv_bin: str = Field(
        "",
        description="uv executable that builds agent dependency layers. Empty: `uv` on PATH, "
        "else the repository's .tools/bin/uv.",
    )
    registry_gate_ping_timeout_s: float = Field(
        60.0, gt=0, description="Health gate: a new version must answer /ping within this time."
    )
    canary_window_s: float = Field(
        300.0, gt=0, description="How long a canary runs before it is promoted to 100%."
    )
    canary_check_interval_s: float = Field(
        5.0, gt=0, description="How often the canary monitor compares canary and stable."
    )
    canary_max_error_rate: float = Field(
        0.05, ge=0, le=1, description="Roll a canary back when its error rate exceeds this."
    )
    canary_max_p95_ratio: float = Field(
        2.0, gt=1, description="Roll a canary back when its p95 exceeds stable p95 times this."
    )
    canary_p95_floor_ms: int = Field(
        50,
        ge=0,
        description="Ignore p95 differences smaller than this (millisecond noise on fast agents).",
    )
    canary_min_calls: int = Field(
        10, ge=1, description="Canary calls needed before the error/latency rules apply."
    )
    entra_client_id: str = Field(
        "",
        description="Application (client) id GUID of the Agentry API in Entra ID; tokens must "
        "carry it as `aud`. Empty in the local profile means the dev identity provider's id.",
    )
    entra_issuer_template: str = Field(
        "",
        description="Expected `iss` with `{tid}` standing for the token's tenant id. Empty means "
        "https://login.microsoftonline.com/{tid}/v2.0 (aws) or the dev provider (local).",
    )
    entra_jwks_url: str = Field(
        "",
        description="Where signing keys are fetched. Empty means Entra's common JWKS (aws) or "
        "the dev provider's (local).",
    )
    jwt_leeway_s: int = Field(
        60, ge=0, le=60, description="Clock skew allowed on exp/nbf/iat (at most 60 s)."
    )
    dev_idp_token_lifetime_s: int = Field(
        3600,
        ge=10,
        le=86_400,
        description="Lifetime of the dev identity provider's access tokens (local profile); "
        "short values exercise the web app's silent renewal.",
    )
    jwks_cache_s: float = Field(300.0, gt=0, description="How long fetched signing keys are used.")
    jwks_refetch_interval_s: float = Field(
        30.0,
        ge=0,
        description="Least time between JWKS refetches caused by an unknown `kid` (forged kids "
        "must not turn into a flood of outbound calls).",
    )
    auth_failure_limit: str = Field(
        "20/minute",
        description="Failed authentications allowed per source address and per guessed target "
        "(API key prefix, token issuer), in `limits` notation; further failures get 429 with "
        "Retry-After. A valid credential always passes.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of the proxies/load balancers in front of the API, JSON in the "
        'environment, e.g. AGENTRY_TRUSTED_PROXIES=["10.0.0.0/16"]. X-Forwarded-For is '
        "believed only for hops added by these; empty: the TCP peer is the client.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API cross-origin (a SPA served from "
        "elsewhere), JSON in the environment, e.g. "
        'AGENTRY_CORS_ORIGINS=["https://app.example.com"]. Exact origins only: no `*`, '
        "no paths. Empty: no CORS headers (same-origin SPA only).",
    )
    web_dir: Path | None = Field(
        None,
        description="The built SPA (`make web-build` output) served at `/app`. Empty means the "
        "repository's `web/dist` when it exists; nothing is served when there is none.",
    )
    web_authority: str = Field(
        "",
        description="OIDC authority the SPA signs in with, e.g. "
        "https://login.microsoftonline.com/organizations/v2.0. Empty in the local profile means "
        "the dev identity provider.",
    )
    web_client_id: str = Field(
        "",
        description="The SPA's own (public) Entra app registration client id. Empty in the local "
        "profile means the dev provider's SPA client.",
    )
    web_scopes: str = Field(
        "",
        description="Scopes the SPA asks for, space-separated, e.g. "
        "`openid profile api://<api client id>/Agentry.Access`. Empty locally means "
        "`Agentry.Access`.",
    )
    audit_key: SecretStr = Field(
        SecretStr(""),
        description="Secret that keys audit row hashes (HMAC-SHA256) and signs audit "
        "checkpoints. Keep it out of the database's reach (Secrets Manager in AWS). Empty: "
        "derived from the API key pepper.",
    )
    audit_checkpoint_interval_s: float = Field(
        300.0,
        gt=0,
        description="How often the API signs the audit chain's head and publishes it. A tail "
        "rewrite by someone holding the audit key can go undetected for at most this long.",
    )
    audit_checkpoint_sink: str = Field(
        "",
        description="Where checkpoints are published outside the database: `s3://bucket/prefix/` "
        "(a bucket with Object Lock; compliance mode), `file:<path>`, or `none`. Empty: "
        "`file:<home>/audit/checkpoints.jsonl` in the local profile, `none` in aws.",
    )
    audit_checkpoint_retention_days: int = Field(
        400, ge=1, le=3650, description="Object Lock retention of each S3 checkpoint."
    )
    jobs_embedded_workers: bool = Field(
        True,
        description="Run the job dispatcher and webhook sender inside the API process (local "
        "profile). Off when workers run as separate `agentry worker` processes.",
    )
    job_worker_concurrency: int = Field(
        16, ge=1, le=1000, description="Jobs one worker process runs at the same time."
    )
    job_poll_interval_s: float = Field(
        0.5, gt=0, description="How often an idle worker looks for queued jobs."
    )
    job_lease_s: float = Field(
        30.0, gt=0, description="A claimed job's lease; a worker that stops renewing loses it."
    )
    job_heartbeat_s: float = Field(
        10.0, gt=0, description="How often a worker renews the leases of its running jobs."
    )
    job_max_attempts: int = Field(
        3, ge=1, le=20, description="Attempts before a job whose worker or agent died fails."
    )
    job_retry_backoff_s: float = Field(
        5.0, ge=0, description="Backoff before a retry: this times 2^(attempt-1), capped at 5 min."
    )
    job_agent_silence_s: float = Field(
        120.0,
        gt=0,
        description="An async agent that has not called back for this long is considered dead "
        "and the attempt is retried (agents report progress or heartbeat more often).",
    )
    job_max_result_bytes: int = Field(
        262_144,
        ge=1,
        le=1_048_576,
        description="Largest job result (serialised JSON). A larger one fails the job with "
        "`result_too_large`; put big outputs in your own storage and return a reference.",
    )
    job_concurrency_basic: int = Field(2, ge=1, description="Running jobs per basic tenant.")
    job_concurrency_standard: int = Field(5, ge=1, description="Running jobs per standard tenant.")
    job_concurrency_premium: int = Field(20, ge=1, description="Running jobs per premium tenant.")
    invocation_token_ttl_s: int = Field(
        900,
        ge=30,
        le=3600,
        description="Lifetime of an agent's invocation token (renewed on each callback).",
    )
    token_issuer: str = Field(
        "",
        description="Issuer (`iss`) of invocation tokens: the API's public https URL in AWS, "
        "where AgentCore Gateway's customJWTAuthorizer reads "
        "`<issuer>/.well-known/openid-configuration`. Empty means the public URL.",
    )
    token_audience: str = Field(
        "agentry-agent",
        description="Audience (`aud`) of invocation tokens; the gateway authorizer's "
        "allowedAudience.",
    )
    webhook_allow_private: bool = Field(
        False,
        description="DEV ONLY: allow webhook URLs on loopback and private addresses. "
        "`agentry dev up` sets it; never set it in a deployment.",
    )
    webhook_timeout_s: float = Field(15.0, gt=0, description="Timeout of one webhook attempt.")
    webhook_schedule_s: list[float] = Field(
        [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
        description="Delay before each webhook attempt (jitter +-10% added); after the last "
        "the delivery is dead-lettered.",
    )
    webhook_disable_after_s: float = Field(
        5 * 86400.0,
        gt=0,
        description="An endpoint whose deliveries have failed this long (no success between) "
        "is disabled, with a `webhook.endpoint_disabled` event and an audit row.",
    )
    webhook_endpoint_in_flight: int = Field(
        4, ge=1, description="Deliveries in flight at once per endpoint (a slow one waits)."
    )
    webhook_poll_interval_s: float = Field(
        0.5, gt=0, description="How often the webhook sender looks for due deliveries."
    )
    webhook_secret_key: SecretStr = Field(
        SecretStr(""),
        description="Fernet key that encrypts stored webhook signing secrets. Required outside "
        "the local profile; locally a per-home key is generated.",
    )

    def job_concurrency(self, tier: str) -> int:
        return int(getattr(self, f"job_concurrency_{tier}", self.job_concurrency_basic))

    log_level: str = Field("INFO", description="Log level for every process.")
    log_json: bool = Field(True, description="Emit structured JSON log lines.")
    otlp_endpoint: str = Field(
        "",
        description="OpenTelemetry collector base URL (OTLP/HTTP, e.g. http://127.0.0.1:4318): "
        "traces of the API, the workers and (through the runtime emulator) the agent processes "
        "go there. Empty: no tracing and no exporter.",
    )
    trace_content: bool = Field(
        False,
        description="Put prompts and completions on model spans (gen_ai.input.messages / "
        "gen_ai.output.messages). Off: spans carry sizes, models and token counts only.",
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token Prometheus sends to scrape /metrics. Set: /metrics answers "
        "only that token or an operator credential (its series carry tenant ids). Unset: open "
        "in the local profile, operator credentials only in the aws profile.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _check_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or "*" in origin
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(
                    f"AGENTRY_CORS_ORIGINS entry {origin!r} is not an exact origin "
                    "(scheme://host[:port], no path, no wildcard)"
                )
        return value

    @model_validator(mode="after")
    def _derive_urls(self) -> Settings:
        # URLs follow the ports unless set; a set URL that names this machine must agree with them.
        if not self.runtime_url:
            self.runtime_url = f"http://{_connect_host(self.runtime_host)}:{self.runtime_port}"
        elif "runtime_port" in self.model_fields_set:
            _check_agrees("AGENTRY_RUNTIME_URL", self.runtime_url, "AGENTRY_RUNTIME_PORT",
                          self.runtime_port)  # fmt: skip
        if self.public_url and "api_port" in self.model_fields_set:
            _check_agrees("AGENTRY_PUBLIC_URL", self.public_url, "AGENTRY_API_PORT", self.api_port)
        return self

    @model_validator(mode="after")
    def _check_profile(self) -> Settings:
        if self.profile == "local" and len(self.runtime_regions) > 1:
            missing = [r for r, e in self.runtime_regions.items() if not e.runtime_url]
            if missing:
                raise ValueError(
                    f"AGENTRY_RUNTIME_REGIONS: give runtime_url for {', '.join(missing)} "
                    "(each local region is an emulator on its own port)"
                )
        if self.profile == "aws" and not self.api_key_pepper.get_secret_value():
            raise ValueError("AGENTRY_API_KEY_PEPPER is required in the aws profile")
        if self.otlp_endpoint and not self.otlp_endpoint.startswith(("http://", "https://")):
            raise ValueError("AGENTRY_OTLP_ENDPOINT must be an http(s) URL (OTLP/HTTP)")
        if not self.effective_token_issuer.startswith(("https://", "http://")):
            raise ValueError("AGENTRY_TOKEN_ISSUER must be an http(s) URL (the API's public URL)")
        if self.profile == "aws" and not self.effective_token_issuer.startswith("https://"):
            raise ValueError("AGENTRY_TOKEN_ISSUER (or AGENTRY_PUBLIC_URL) must be https in aws")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home.resolve() / 'agentry.db'}"

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{_connect_host(self.api_host)}:{self.api_port}"

    @property
    def effective_token_issuer(self) -> str:
        return (self.token_issuer or self.effective_public_url).rstrip("/")

    @property
    def effective_entra_client_id(self) -> str:
        return self.entra_client_id or (DEV_CLIENT_ID if self.profile == "local" else "")

    @property
    def effective_issuer_template(self) -> str:
        if self.entra_issuer_template:
            return self.entra_issuer_template
        if self.profile == "local":
            return f"{self.effective_public_url}/dev-idp/{{tid}}/v2.0"
        return "https://login.microsoftonline.com/{tid}/v2.0"

    @property
    def effective_jwks_url(self) -> str:
        if self.entra_jwks_url:
            return self.entra_jwks_url
        if self.profile == "local":
            return f"{self.effective_public_url}/dev-idp/discovery/v2.0/keys"
        return "https://login.microsoftonline.com/common/discovery/v2.0/keys"

    @property
    def effective_web_dir(self) -> Path:
        return self.web_dir or Path(__file__).resolve().parents[2] / "web" / "dist"

    @property
    def effective_web_authority(self) -> str:
        if self.web_authority or self.profile != "local":
            return self.web_authority
        return f"{self.effective_public_url}/dev-idp/organizations/v2.0"

    @property
    def effective_web_client_id(self) -> str:
        if self.web_client_id or self.profile != "local":
            return self.web_client_id
        return DEV_SPA_CLIENT_ID

    @property
    def effective_web_scopes(self) -> str:
        return self.web_scopes or ("Agentry.Access" if self.profile == "local" else "")

    @property
    def effective_control_url(self) -> str:
        return self.runtime_control_url or self.runtime_url

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def layers_dir(self) -> Path:
        return self.home / "layers"

    @property
    def runtime_dir(self) -> Path:
        return self.runtime_state_dir or self.home / "runtime"

    @property
    def effective_runtime_regions(self) -> dict[str, RegionEndpoints]:
        """Every runtime region with its endpoints filled in, in failover order."""
        given = self.runtime_regions or {self.aws_region: RegionEndpoints()}
        regions = {}
        for region, ends in given.items():
            if len(given) == 1:
                url = ends.runtime_url or self.runtime_url
                control = ends.control_url or ends.runtime_url or self.effective_control_url
            else:
                url = ends.runtime_url or f"https://bedrock-agentcore.{region}.amazonaws.com"
                control = ends.control_url or ends.runtime_url  # "": boto3's regional endpoint
            regions[region] = RegionEndpoints(runtime_url=url.rstrip("/"), control_url=control)
        return regions

    @property
    def home_region(self) -> str:
        """The first runtime region: active until an operator switches (RUNBOOK-001)."""
        return next(iter(self.runtime_regions), self.aws_region)


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::"})


def _connect_host(bind_host: str) -> str:
    """Where a client on this machine reaches a server bound to `bind_host`."""
    if bind_host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind_host == "::":
        return "[::1]"
    return f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host


def _check_agrees(url_name: str, url: str, port_name: str, port: int) -> None:
    parts = urlsplit(url)
    if parts.hostname is None or parts.hostname not in _LOCAL_HOSTS:
        return  # another machine (a load balancer, AWS): its port is its own
    url_port = parts.port or (443 if parts.scheme == "https" else 80)
    if url_port != port:
        raise ValueError(
            f"{url_name}={url} points at port {url_port} on this machine but {port_name}={port}: "
            f"unset {url_name} (it follows {port_name}) or make them agree"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
