# Agentry: every operator and developer task is a make target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
AGENTRY := $(VENV)/bin/agentry
PYTEST := $(VENV)/bin/pytest
CODE := src tests bench agents infra
LOGS = $(or $(AGENTRY_HOME),.agentry)/logs
# `make ops-... BREAK_GLASS=1`: the long-lived operator key even with a login (audited; RUNBOOK-009).
ifneq ($(BREAK_GLASS),)
export AGENTRY_BREAK_GLASS := 1
endif

.PHONY: help install dev dev-fg dev-down dev-logs worker test test-unit lint fmt bench bench-tools bench-sync bench-push bench-async bench-billing bench-soak bench-drain clean \
	agent-init agent-push agent-validate agent-golden agent-versions agent-promote agent-rollback agent-logs agent-invoke audit-verify \
	ops-tenants ops-tenant-onboard ops-tenant-tier ops-tenant-suspend ops-tenant-reactivate ops-usage ops-tools ops-tool-grant ops-tool-targets ops-tool-target-add ops-tool-target-refresh ops-tool-target-remove \
	ops-billing-run ops-statement ops-prices ops-price-set ops-budget ops-budget-set ops-budget-reinstate ops-billing-adjust \
	ops-policy ops-policy-publish ops-policy-shadow ops-policy-enforce ops-policy-rollback ops-policy-disable \
	ops-tenant-erase ops-jobs ops-job-cancel ops-dead-letters ops-dead-letter-replay ops-webhooks-replay-failed \
	ops-sessions ops-session-stop ops-login ops-logout ops-whoami ops-keys ops-signing-key-rotate ops-signing-key-retire ops-webhook-key-rotate ops-webhook-key-retire ops-pepper-rotate ops-pepper-retire ops-operator-key-rotate keys-list keys-rotate ops-health ops-metrics ops-audit-export ops-token-issuer ops-db-backup ops-db-restore \
	ops-capacity ops-quota-status ops-quota-request ops-agent-versions ops-alias-rollback ops-developer-onboard ops-developers ops-developer-offboard

help: ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PY) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install -q uv==$(UV_VERSION)

# PYTHONDONTWRITEBYTECODE=1 machines never write .pyc at import time, so the install compiles
# everything once: the locked venv here, the project's own code on every install (cheap when current).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: $(VENV)/.synced ## Install the locked environment into .venv (bootstraps uv; compiles bytecode)
	@$(VENV)/bin/python -m compileall -q -j 0 src agents >/dev/null

dev: install web-build-if-node ## Start the platform in the background on http://127.0.0.1:8000 (the web app at /app)
	$(AGENTRY) dev up

dev-fg: install web-build-if-node ## Start the platform with the API in the foreground
	$(AGENTRY) dev up --foreground

dev-down: ## Stop every process `make dev` started
	@if [ -x $(AGENTRY) ]; then $(AGENTRY) dev down; else echo "nothing installed"; fi

dev-logs: ## Follow the platform logs
	@mkdir -p $(LOGS) && touch $(LOGS)/api.log $(LOGS)/runtime.log
	tail -n 50 -F $(LOGS)/*.log

worker: install ## Run a job dispatcher + webhook sender process (uses the same AGENTRY_* settings)
	$(AGENTRY) worker

test-unit: install ## Fast tests: no services, no agent processes
	$(PYTEST) -m "not e2e and not postgres" -q

# PYTEST_ARGS="-n 2 --dist loadfile" runs on two workers (pytest-xdist); on 2 cores it measured
# slower than one process (docs/benchmarks.md, "The suite"), so it is not the default.
test: install ## All tests (PostgreSQL ones run when AGENTRY_TEST_POSTGRES_URL or a local server is there)
	$(PYTEST) -q $(PYTEST_ARGS)

lint: install ## ruff + mypy --strict + the tenant-scoping check
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/python -m agentry.kit.scoping src/agentry
	$(VENV)/bin/ruff format --check $(CODE)
	$(VENV)/bin/mypy src

audit-verify: install ## Verify the audit log's hash chain (exit 1 if tampered)
	$(AGENTRY) ops audit verify

# Operators: tenants (every change is audited). Add JSON=1 for --json.
ops-tenants: install ## Tenants with tier and status: make ops-tenants
	$(AGENTRY) ops tenants list $(if $(JSON),--json)

ops-tenant-onboard: install ## Onboard: make ops-tenant-onboard SLUG=acme NAME='Acme Ltd' [TIER=basic] [ENTRA=<tid>]
	$(AGENTRY) ops tenants onboard $(SLUG) --name '$(NAME)' --tier $(or $(TIER),basic) $(if $(ENTRA),--entra-tenant-id $(ENTRA)) $(if $(JSON),--json)

ops-tenant-tier: install ## Change tier: make ops-tenant-tier TENANT=ten_... TIER=premium
	$(AGENTRY) ops tenants set-tier $(TENANT) $(TIER) $(if $(JSON),--json)

ops-tenant-suspend: install ## Suspend every credential of a tenant: make ops-tenant-suspend TENANT=ten_...
	$(AGENTRY) ops tenants suspend $(TENANT) $(if $(JSON),--json)

ops-tenant-reactivate: install ## Lift a suspension: make ops-tenant-reactivate TENANT=ten_...
	$(AGENTRY) ops tenants reactivate $(TENANT) $(if $(JSON),--json)

ops-usage: install ## Usage and cost across tenants: make ops-usage [GROUP_BY=tenant|agent|day|model] [FROM=2026-11-01T00:00:00Z] [TO=...] [TENANT=ten_...]
	$(AGENTRY) ops usage --group-by $(or $(GROUP_BY),tenant) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(TENANT),--tenant-id $(TENANT)) $(if $(JSON),--json)

ops-tenant-erase: install ## Erase a tenant and its data, audit pseudonymised (RUNBOOK-011): make ops-tenant-erase TENANT=ten_... CONFIRM=yes
	$(AGENTRY) ops tenants erase $(TENANT) $(if $(filter yes,$(CONFIRM)),--yes) $(if $(JSON),--json)

# Operators at 3 a.m. (docs/runbooks/). Add JSON=1 for --json. Every change is audited.
ops-login: install ## Short-lived operator credentials from the identity provider (RUNBOOK-009): make ops-login [AS=oli@platform]
	$(AGENTRY) ops login $(if $(AS),--as '$(AS)')

ops-logout: install ## Forget the stored operator token
	$(AGENTRY) ops logout

ops-whoami: install ## Who operator targets act as: the login and its expiry, or the break-glass key
	$(AGENTRY) ops whoami $(if $(JSON),--json)

ops-health: install ## One screen: readiness, job queues, webhook backlog, sessions; exit 1 when something needs you
	$(AGENTRY) ops health $(if $(JSON),--json)

ops-metrics: install ## The API's Prometheus series (agentry_*): make ops-metrics [GREP=agentry_jobs]
	$(AGENTRY) ops metrics $(if $(GREP),--grep '$(GREP)')

ops-jobs: install ## Jobs of every tenant, oldest first: make ops-jobs [STATUS=queued] [TENANT=ten_...] [AGENT=..] [OLDER_THAN=600]
	$(AGENTRY) ops jobs list $(if $(STATUS),--status $(STATUS)) $(if $(TENANT),--tenant-id $(TENANT)) $(if $(AGENT),--agent $(AGENT)) $(if $(OLDER_THAN),--older-than $(OLDER_THAN)) $(if $(JSON),--json)

ops-job-cancel: install ## Cancel any tenant's job now: make ops-job-cancel JOB=job_...
	$(AGENTRY) ops jobs cancel $(JOB) $(if $(JSON),--json)

ops-dead-letters: install ## Webhook deliveries that failed every attempt: make ops-dead-letters [TENANT=ten_...]
	$(AGENTRY) ops webhooks dead-letters $(if $(TENANT),--tenant-id $(TENANT)) $(if $(JSON),--json)

ops-dead-letter-replay: install ## Send one dead letter again (same webhook-id): make ops-dead-letter-replay DELIVERY=whd_...
	$(AGENTRY) ops webhooks replay $(DELIVERY) $(if $(JSON),--json)

ops-webhooks-replay-failed: install ## Send every failed delivery again: make ops-webhooks-replay-failed [SINCE=2026-12-01T00:00:00Z] [TENANT=ten_...]
	$(AGENTRY) ops webhooks replay-failed $(if $(SINCE),--since $(SINCE)) $(if $(TENANT),--tenant-id $(TENANT)) $(if $(JSON),--json)

ops-sessions: install ## Runtime sessions per tenant against the account quota: make ops-sessions [TENANT=ten_...]
	$(AGENTRY) ops sessions list $(if $(TENANT),--tenant-id $(TENANT)) $(if $(JSON),--json)

ops-session-stop: install ## Stop one runtime session: make ops-session-stop SESSION=ten_...-...
	$(AGENTRY) ops sessions stop $(SESSION) $(if $(JSON),--json)

ops-audit-export: install ## Audit events as JSON lines (evidence bundle): make ops-audit-export [TENANT=ten_...] [OUT=evidence/audit.jsonl]
	$(AGENTRY) ops audit export $(if $(TENANT),--tenant-id $(TENANT)) $(if $(OUT),--out $(OUT))

ops-token-issuer: install ## The invocation-token issuer and signing key ids agents must trust
	$(AGENTRY) ops token-issuer $(if $(JSON),--json)

ops-db-backup: install ## A consistent database backup while running (RUNBOOK-012): make ops-db-backup OUT=backups/agentry.db
	$(AGENTRY) ops db backup --out '$(OUT)'

ops-db-restore: install ## Restore a backup, platform stopped (RUNBOOK-012): make ops-db-restore FROM=backups/agentry.db CONFIRM=yes
	$(AGENTRY) ops db restore --from '$(FROM)' $(if $(filter yes,$(CONFIRM)),--yes)

ops-capacity: install ## Measured peak sessions and call rates, quota headroom, a recommended quota (RUNBOOK-004): make ops-capacity [DAYS=7] [TOP=10] [GROWTH=1.5] [STEP=10]
	$(AGENTRY) ops capacity --days '$(or $(DAYS),7)' --top '$(or $(TOP),10)' --growth '$(or $(GROWTH),1.5)' --step '$(or $(STEP),10)' $(if $(JSON),--json)

ops-quota-status: install ## aws: the AgentCore session quota in Service Quotas and its increase requests (RUNBOOK-004): make ops-quota-status [REGION=..]
	$(AGENTRY) ops quota status $(if $(REGION),--region '$(REGION)') $(if $(JSON),--json)

ops-quota-request: install ## aws: file the Service Quotas increase, once, above the current value (RUNBOOK-004): make ops-quota-request VALUE=20 [REGION=..]
	$(AGENTRY) ops quota request $(if $(REGION),--region '$(REGION)') $(if $(JSON),--json) -- '$(VALUE)'

# Agents of every developer, and developer keys (RUNBOOK-007, RUNBOOK-008). Audited.
ops-agent-versions: install ## An agent's versions (who pushed each) and aliases: make ops-agent-versions AGENT=echo
	$(AGENTRY) ops agents versions '$(AGENT)' $(if $(JSON),--json)

ops-alias-rollback: install ## Stop a canary or point an alias back now (RUNBOOK-007): make ops-alias-rollback AGENT=echo [ALIAS=live] [VERSION=1]
	$(AGENTRY) ops agents rollback '$(AGENT)' --alias '$(ALIAS)' $(if $(VERSION),--version '$(VERSION)') $(if $(JSON),--json)

ops-developer-onboard: install ## A developer key, shown once (RUNBOOK-008): make ops-developer-onboard NAME=dana [DAYS=90] [OUT=dana.env]
	$(AGENTRY) ops developers onboard '$(NAME)' $(if $(DAYS),--days '$(DAYS)') $(if $(OUT),--out '$(OUT)') $(if $(JSON),--json)

ops-developers: install ## Developer keys: created, last used, expiry, revoked: make ops-developers
	$(AGENTRY) ops developers list $(if $(JSON),--json)

ops-developer-offboard: install ## Revoke a developer's key at once (RUNBOOK-008): make ops-developer-offboard KEY=key_...
	$(AGENTRY) ops developers offboard '$(KEY)' $(if $(JSON),--json)

# Billing (RUNBOOK-006). Add JSON=1 for --json.
ops-billing-run: install ## Statements of every tenant as JSON/CSV/Parquet/PNG: make ops-billing-run MONTH=2026-11 [OUT=.agentry/billing]
	$(AGENTRY) ops billing run --month $(MONTH) $(if $(OUT),--out $(OUT)) $(if $(JSON),--json)

ops-statement: install ## One tenant's statement: make ops-statement TENANT=ten_... MONTH=2026-11
	$(AGENTRY) ops billing statement $(TENANT) --month $(MONTH) $(if $(JSON),--json)

ops-prices: install ## The price book with effective dates: make ops-prices
	$(AGENTRY) ops billing prices $(if $(JSON),--json)

ops-price-set: install ## Schedule a price: make ops-price-set TIER=basic KIND=input_tokens PRICE=0.000003 FROM=2027-01-01T00:00:00Z [MODEL=...]
	$(AGENTRY) ops billing price-set --tier $(TIER) --kind $(KIND) --price $(PRICE) --from $(FROM) $(if $(MODEL),--model $(MODEL)) $(if $(JSON),--json)

ops-budget: install ## A tenant's monthly budget, spend and status: make ops-budget TENANT=ten_...
	$(AGENTRY) ops billing budget $(TENANT) $(if $(JSON),--json)

ops-budget-set: install ## Set or raise a monthly budget: make ops-budget-set TENANT=ten_... LIMIT=500 [CEILING=1000]
	$(AGENTRY) ops billing budget-set $(TENANT) --limit $(LIMIT) $(if $(CEILING),--ceiling $(CEILING)) $(if $(JSON),--json)

ops-budget-reinstate: install ## Let an over-budget tenant work for the rest of the month: make ops-budget-reinstate TENANT=ten_... REASON='...'
	$(AGENTRY) ops billing reinstate $(TENANT) --reason '$(REASON)' $(if $(JSON),--json)

ops-billing-adjust: install ## Credit (negative) or charge a month: make ops-billing-adjust TENANT=ten_... MONTH=2026-11 AMOUNT=-5 REASON='...'
	$(AGENTRY) ops billing adjust $(TENANT) --month $(MONTH) --amount='$(AMOUNT)' --reason '$(REASON)' $(if $(JSON),--json)

# Operators: Cedar policy sets as data (platform set; TENANT=1 for the tenant of AGENTRY_API_KEY).
POLICY_SCOPE = $(if $(TENANT),--tenant) $(if $(JSON),--json)
ops-policy: install ## Policy set status and shadow report: make ops-policy [TENANT=1]
	$(AGENTRY) ops policies status $(POLICY_SCOPE)

ops-policy-publish: install ## Validate and store a version: make ops-policy-publish FILE=p.cedar [NOTE=..] [FORCE=1]
	$(AGENTRY) ops policies publish $(FILE) --note '$(NOTE)' $(if $(FORCE),--force) $(POLICY_SCOPE)

ops-policy-shadow: install ## Run a version in LOG_ONLY mode: make ops-policy-shadow VERSION=2
	$(AGENTRY) ops policies shadow $(VERSION) $(POLICY_SCOPE)

ops-policy-enforce: install ## Enforce a version: make ops-policy-enforce VERSION=2
	$(AGENTRY) ops policies enforce $(VERSION) $(POLICY_SCOPE)

ops-policy-rollback: install ## Enforce the previous version again: make ops-policy-rollback [VERSION=1]
	$(AGENTRY) ops policies rollback $(if $(VERSION),--to $(VERSION)) $(POLICY_SCOPE)

ops-policy-disable: install ## Stop enforcing and shadowing: make ops-policy-disable
	$(AGENTRY) ops policies disable $(POLICY_SCOPE)

# Operators: the tool gateway (see docs/runbooks/RUNBOOK-016-tool-targets.md). Add JSON=1 for --json.
ops-tools: install ## Tools and their tiers: make ops-tools
	$(AGENTRY) ops tools list $(if $(JSON),--json)

ops-tool-grant: install ## Set a tool's tiers: make ops-tool-grant TOOL=ext___lookup TIERS=basic,premium
	$(AGENTRY) ops tools grant $(TOOL) --tiers '$(TIERS)' $(if $(JSON),--json)

ops-tool-targets: install ## External MCP tool targets: make ops-tool-targets
	$(AGENTRY) ops tools targets list $(if $(JSON),--json)

ops-tool-target-add: install ## Register an MCP server: make ops-tool-target-add NAME=crm URL=https://.../mcp [TIERS=premium] [AUTH_HEADER='X-Api-Key: ...']
	$(AGENTRY) ops tools targets add $(NAME) '$(URL)' $(if $(TIERS),--tiers $(TIERS)) $(if $(AUTH_HEADER),--auth-header '$(AUTH_HEADER)') $(if $(JSON),--json)

ops-tool-target-refresh: install ## Re-list a target's tools: make ops-tool-target-refresh NAME=crm
	$(AGENTRY) ops tools targets refresh $(NAME) $(if $(JSON),--json)

ops-tool-target-remove: install ## Remove a target and its tools: make ops-tool-target-remove NAME=crm
	$(AGENTRY) ops tools targets remove $(NAME) $(if $(JSON),--json)

# Key and secret rotation (RUNBOOK-010): rotate, overlap, retire. Every change is audited.
ops-keys: install ## Signing key ids (current, retired), webhook box keys and API key peppers in use
	$(AGENTRY) ops keys status $(if $(JSON),--json)

ops-signing-key-rotate: install ## New invocation-token signing key; the old one verifies (JWKS) until retired
	$(AGENTRY) ops keys rotate-signing $(if $(JSON),--json)

ops-signing-key-retire: install ## End the signing key overlap (wait the token lifetime first)
	$(AGENTRY) ops keys retire-signing $(if $(JSON),--json)

ops-webhook-key-rotate: install ## New secret box key and every stored secret re-encrypted: make ops-webhook-key-rotate [REENCRYPT_ONLY=1]
	$(AGENTRY) ops keys rotate-webhook-box $(if $(REENCRYPT_ONLY),--reencrypt-only) $(if $(JSON),--json)

ops-webhook-key-retire: install ## Drop old secret box keys (refused while a stored secret needs one)
	$(AGENTRY) ops keys retire-webhook-box $(if $(JSON),--json)

ops-pepper-rotate: install ## New API key pepper; keys re-hash at their next use during the overlap
	$(AGENTRY) ops keys rotate-pepper $(if $(JSON),--json)

ops-pepper-retire: install ## End the pepper overlap: keys not used since the rotation are refused
	$(AGENTRY) ops keys retire-pepper $(if $(JSON),--json)

ops-operator-key-rotate: install ## Rotate the break-glass operator key (new secret printed once): make ops-operator-key-rotate [OVERLAP=3600]
	$(AGENTRY) ops keys rotate-operator-key $(if $(OVERLAP),--overlap $(OVERLAP)) $(if $(JSON),--json)

# Tenant admins: their own API keys (AGENTRY_API_KEY).
keys-list: install ## Your tenant's API keys: make keys-list
	$(AGENTRY) keys list $(if $(JSON),--json)

keys-rotate: install ## New key, same scopes; the old one works OVERLAP s more: make keys-rotate ID=key_... [OVERLAP=86400]
	$(AGENTRY) keys rotate $(ID) $(if $(OVERLAP),--overlap $(OVERLAP)) $(if $(JSON),--json)

fmt: install ## Format and autofix
	$(VENV)/bin/ruff format $(CODE)
	$(VENV)/bin/ruff check --fix $(CODE)

bench: bench-sync bench-async ## Run the benchmarks (see docs/benchmarks.md)

bench-tools: ## wrk for the HTTP benchmarks (apt when missing; elsewhere install it yourself)
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null; } \
	  || { echo "wrk is needed for the HTTP benchmarks: install it (Debian: apt-get install wrk)"; exit 1; }

bench-sync: install bench-tools ## Sync echo through the platform vs. direct to the agent process
	$(VENV)/bin/python bench/sync_invoke.py

.PHONY: bench-tracing
bench-tracing: install bench-tools ## Sync echo through the platform with tracing off vs on (OTLP export)
	$(VENV)/bin/python bench/tracing_overhead.py

# Agent developers (see docs/agent-developer-guide.md). ALIAS defaults to live.
ALIAS ?= live
agent-init: install ## Scaffold an agent: make agent-init NAME=my_agent [DIR=agents/my_agent]
	$(AGENTRY) agent init $(NAME) $(if $(DIR),--dir $(DIR))

agent-push: install ## Push an agent: make agent-push AGENT=agents/echo [CANARY=10] [ALIAS=live]
	$(AGENTRY) agent push $(AGENT) --alias $(ALIAS) $(if $(CANARY),--canary $(CANARY))

agent-validate: install ## Check an agent's manifest locally (golden cases required): make agent-validate AGENT=agents/echo
	$(AGENTRY) agent validate $(AGENT)

agent-golden: install ## Push to the 'golden' alias: the platform runs the golden cases; live untouched: make agent-golden AGENT=.. [DOTENV=agent.env]
	$(AGENTRY) agent push $(AGENT) --alias golden $(if $(DOTENV),--dotenv $(DOTENV))

agent-versions: install ## List versions: make agent-versions NAME=echo
	$(AGENTRY) agent versions $(NAME)

agent-promote: install ## Point an alias at a version: make agent-promote NAME=echo VERSION=2
	$(AGENTRY) agent promote $(NAME) $(VERSION) --alias $(ALIAS)

agent-rollback: install ## Roll an alias back: make agent-rollback NAME=echo
	$(AGENTRY) agent rollback $(NAME) --alias $(ALIAS)

agent-logs: install ## Session logs: make agent-logs NAME=echo [SESSION=...]
	$(AGENTRY) agent logs $(NAME) $(if $(SESSION),--session $(SESSION))

agent-invoke: install ## Invoke with the developer key: make agent-invoke NAME=echo INPUT='{"prompt":"hi"}'
	$(AGENTRY) agent invoke $(NAME) '$(INPUT)'

bench-billing: install ## A month of 1,000,000 usage rows: every statement vs. a sum over the table (SQLite, PostgreSQL)
	$(VENV)/bin/python bench/billing_month.py $(if $(ROWS),--rows $(ROWS))

bench-push: install ## Time agent pushes: warm, one new dependency, cold (docs/benchmarks.md)
	$(VENV)/bin/python bench/agent_push.py
bench-async: install ## Async echo jobs end to end, with signed webhooks to a local receiver
	$(VENV)/bin/python bench/async_jobs.py
bench-drain: install ## A backlog of JOBS (default 10000) drains (BACKLOG=1: queued with workers off first)
	$(VENV)/bin/python bench/drain.py --jobs $(or $(JOBS),10000) $(if $(REPORT),--report $(REPORT)) $(if $(BACKLOG),--backlog)
bench-soak: install ## Jobs for HOURS (default 1) with API, worker and agent kills; 0 lost, 0 duplicates
	$(VENV)/bin/python bench/soak.py --hours $(or $(HOURS),1) $(if $(REPORT),--report $(REPORT))

clean: dev-down ## Remove local state (.agentry) and the venv
	rm -rf .agentry .venv .tools

# Hardening (issue 19): the fuzzing gate. Starts a stack of its own on free ports (or uses a
# running one: AGENTRY_FUZZ_HOME=<home with dev.env>); FUZZ_EXAMPLES bounds cases per operation.
.PHONY: fuzz
fuzz: install ## Schemathesis over the OpenAPI document as tenant/operator/developer; fails on 5xx or off-schema answers
	AGENTRY_FUZZ=1 AGENTRY_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),20) $(PYTEST) tests/fuzz -q -s -p no:cacheprovider

# The delivery pipeline (issue 15, docs/pipeline.md): every .gitlab-ci.yml job is one of these.
CI_FILES := .gitlab-ci.yml $(wildcard agents/.gitlab-ci-agent.yml)
REPORTS := $(CURDIR)/reports
.PHONY: pipeline-check test-ci build secret-scan secret-baseline sbom deploy-api staging-rehearsal verify-deploy
pipeline-check: install ## The CI files against GitLab's schema (offline), and every job's make target exists
	$(VENV)/bin/python -m agentry.delivery.pipeline_check $(CI_FILES)

test-ci: install ## The whole suite with JUnit and coverage reports in reports/ (the pipeline's test job)
	@mkdir -p $(REPORTS)
	$(PYTEST) -q --junitxml=$(REPORTS)/junit.xml --cov=agentry --cov-report=term:skip-covered \
	  --cov-report=xml:$(REPORTS)/coverage.xml

build: install ## The platform's wheel and sdist in dist/ (built from the locked tree)
	$(UV) build --out-dir $(CURDIR)/dist

.PHONY: alerts-check
alerts-check: ## promtool: check the alert rules and run their unit tests (promtool: apt-get install prometheus)
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus (Debian) provides it" >&2; exit 1; }
	promtool check rules docs/alerts/agentry.rules.yml
	cd docs/alerts && promtool test rules agentry.rules.test.yml

secret-scan: install ## Fail on any secret in the tracked files that .secrets.baseline does not hold
	$(VENV)/bin/python -m agentry.delivery.secret_scan .secrets.baseline

secret-baseline: install ## After auditing the findings (fakes only): record them in .secrets.baseline
	$(VENV)/bin/detect-secrets scan --baseline .secrets.baseline

sbom: | $(UV) ## CycloneDX 1.5 JSON of the locked runtime dependencies: make sbom [OUT=reports/sbom.cdx.json]
	@mkdir -p $(dir $(or $(OUT),$(REPORTS)/sbom.cdx.json))
	$(UV) export --frozen --format cyclonedx1.5 --no-default-groups --no-emit-project -q \
	  -o $(or $(OUT),$(REPORTS)/sbom.cdx.json)

# AWS from CI without long-lived keys: GitLab's OIDC id_token (AGENTRY_CI_ID_TOKEN, per environment
# with its AWS_ROLE_ARN) goes to the web-identity file that boto3 and the CDK read themselves.
ifdef AGENTRY_CI_ID_TOKEN
export AWS_WEB_IDENTITY_TOKEN_FILE := $(CURDIR)/.agentry/ci-id-token
export AWS_ROLE_SESSION_NAME ?= gitlab-$(CI_PIPELINE_ID)-$(CI_JOB_ID)
$(shell mkdir -p $(CURDIR)/.agentry && umask 077 && printf '%s' "$$AGENTRY_CI_ID_TOKEN" > $(CURDIR)/.agentry/ci-id-token)
endif
API_STACK ?= agentry-$(ENV)-api
deploy-api: install ## The API as a CodeDeploy canary, rolled back on an alarm: make deploy-api ENV=staging IMAGE=<uri> [API_STACK=..]
	@test -n "$(ENV)" -a -n "$(IMAGE)" || { echo "usage: make deploy-api ENV=dev|staging|prod IMAGE=<image uri>"; exit 2; }
	$(AGENTRY) deploy api --stack $(API_STACK) --image '$(IMAGE)' $(if $(JSON),--json)

verify-deploy: install ## Post-deploy verification (smoke in 3 modes, 5xx rate and p99 from /metrics): make verify-deploy [URL=..]
	$(AGENTRY) deploy verify $(if $(URL),--url $(URL)) $(if $(JSON),--json)

# Default: a broken build must roll back and a good one pass (the pipeline's job). BUILD=broken
# alone exits 1 (the rollback path), BUILD=good alone exits 0.
staging-rehearsal: install ## Blue/green with rollback on a local stack: make staging-rehearsal [BUILD=good|broken]
	@mkdir -p $(REPORTS)
	$(AGENTRY) deploy rehearse $(if $(BUILD),--build $(BUILD),--build broken --build good --check) \
	  $(if $(JSON),--json)

# Infrastructure (docs/deployment.md). ENV=dev|staging|prod. infra-synth needs no AWS account and
# no CDK CLI (in-process synth with cdk-nag); the others check credentials first, in one line,
# then install the pinned CDK CLI (major 2) into infra/node_modules and run it.
.PHONY: infra-synth infra-cli infra-diff infra-bootstrap infra-deploy infra-destroy infra-seed-secrets
CDK := $(CURDIR)/infra/node_modules/.bin/cdk
CDK_RUN = cd infra && $(CDK) --app "$(VENV)/bin/python app.py" -c env=$(ENV)
PREFLIGHT = $(VENV)/bin/python infra/preflight.py

$(CDK): infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund --silent

infra-cli: $(CDK) ## Install the pinned CDK CLI into infra/node_modules

infra-synth: install ## Synthesize ENV (default dev) with cdk-nag AwsSolutions; no credentials needed
	$(VENV)/bin/python infra/synth.py $(or $(ENV),dev)

infra-diff: install ## cdk diff of every stack of ENV against the account: make infra-diff ENV=dev
	@$(PREFLIGHT) diff $(ENV)
	@$(MAKE) --no-print-directory infra-cli
	$(CDK_RUN) diff --all

infra-bootstrap: install ## cdk bootstrap the account in every region ENV uses: make infra-bootstrap ENV=dev
	@$(PREFLIGHT) bootstrap $(ENV)
	@$(MAKE) --no-print-directory infra-cli
	$(CDK_RUN) bootstrap

infra-deploy: install ## Deploy every stack of ENV: make infra-deploy ENV=dev
	@$(PREFLIGHT) deploy $(ENV)
	@$(MAKE) --no-print-directory infra-cli
	$(CDK_RUN) deploy --all --require-approval $(if $(filter prod,$(ENV)),broadening,never)

infra-seed-secrets: install ## Write the signing key and webhook box key once: make infra-seed-secrets ENV=dev
	@$(PREFLIGHT) seed-secrets $(ENV)
	$(VENV)/bin/python infra/seed_secrets.py $(ENV)

infra-destroy: install ## Destroy the dev environment (refused for staging and prod)
	@$(PREFLIGHT) destroy $(ENV)
	@$(MAKE) --no-print-directory infra-cli
	$(CDK_RUN) destroy --all --force

# RUNBOOK-001: runtime-region failover (docs/runbooks/RUNBOOK-001-runtime-failover.md). JSON=1 for --json.
.PHONY: ops-gateway-apply ops-runtime-status ops-failover-lock ops-runtime-region ops-failover-verify ops-failover-release dev-regions bench-failover
ops-runtime-status: install ## Active runtime region, regions, failover lock: make ops-runtime-status
	$(AGENTRY) ops runtime status $(if $(JSON),--json)

ops-failover-lock: install ## Take the failover lock: make ops-failover-lock REASON='INC-123 eu-west-1 outage'
	$(AGENTRY) ops runtime lock --reason '$(or $(REASON),runtime region failover)' $(if $(JSON),--json)

ops-runtime-region: install ## Switch the runtime region (lock needed): make ops-runtime-region REGION=eu-central-1 [FORCE=1]
	$(AGENTRY) ops runtime region $(REGION) $(if $(FORCE),--force) $(if $(JSON),--json)

ops-failover-verify: install ## Wait until the active region serves (exit 1 if not): make ops-failover-verify [REGION=..] [WAIT=90]
	$(AGENTRY) ops runtime verify $(if $(REGION),--region $(REGION)) --wait $(or $(WAIT),90) $(if $(JSON),--json)

ops-failover-release: install ## Release the failover lock: make ops-failover-release [FORCE=1]
	$(AGENTRY) ops runtime release $(if $(FORCE),--force) $(if $(JSON),--json)

dev-regions: install ## make dev with two local emulators as two runtime regions (eu-west-1 on 8100, eu-central-1 on 8101)
	AGENTRY_RUNTIME_REGIONS='{"eu-west-1":{"runtime_url":"http://127.0.0.1:$(or $(AGENTRY_RUNTIME_PORT),8100)"},"eu-central-1":{"runtime_url":"http://127.0.0.1:$(or $(SECOND_RUNTIME_PORT),8101)"}}' $(AGENTRY) dev up

bench-failover: install ## RUNBOOK-001: outage → errors under 1% again, median of ROUNDS (default 3)
	$(VENV)/bin/python bench/failover.py --rounds $(or $(ROUNDS),3)

ops-gateway-apply: install ## aws: create/update the AgentCore Gateway + its platform target: make ops-gateway-apply ROLE_ARN=.. INTERCEPTOR_ARN=.. PUBLIC_URL=https://..
	$(AGENTRY) ops gateway apply $(if $(ROLE_ARN),--role-arn $(ROLE_ARN)) $(if $(INTERCEPTOR_ARN),--interceptor-arn $(INTERCEPTOR_ARN)) $(if $(PUBLIC_URL),--public-url $(PUBLIC_URL)) $(if $(REGION),--region $(REGION)) $(if $(JSON),--json)

# The tenant web app (web/, docs/web.md). Node modules come from the lock file; the browser
# tests drive Debian's chromium (installed here with apt when missing), never a downloaded one.
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package-lock.json
.PHONY: web-install web-build web-build-if-node web-api web-api-check web-dev test-web
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web-install: web/node_modules/.installed ## Node modules from web/package-lock.json, and chromium for the browser tests
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; } \
	  || { echo "chromium is needed for the browser tests (Debian: apt-get install chromium)"; exit 1; }

web/dist/index.html: web/node_modules/.installed $(WEB_SRC)
	cd web && npm run --silent build

web-build: web/dist/index.html ## Build the SPA into web/dist (only when its sources changed)

web-build-if-node:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web-build; else echo "npm not found: the web app is not built (the API works without it)"; fi

web-api: install web/node_modules/.installed ## Regenerate the SPA's typed API client from the OpenAPI document
	$(VENV)/bin/python -m agentry.web.openapi_export > web/openapi.json
	cd web && npx openapi-typescript openapi.json -o src/api/schema.d.ts >/dev/null

web-api-check: install web/node_modules/.installed ## Fail when the committed client does not match the API
	@tmp=$$(mktemp -d) && $(VENV)/bin/python -m agentry.web.openapi_export > $$tmp/openapi.json \
	  && (cd web && npx openapi-typescript $$tmp/openapi.json -o $$tmp/schema.d.ts >/dev/null) \
	  && diff -q $$tmp/schema.d.ts web/src/api/schema.d.ts >/dev/null \
	  || { echo "web/src/api/schema.d.ts is stale: run make web-api and commit it"; exit 1; }

web-dev: web/node_modules/.installed ## Vite dev server on :5173 (hot reload), proxying a running `make dev`
	cd web && npx vite

test-web: install web-install web-build ## Vitest, then the browser tests (real stack, Debian chromium; screenshots in web/test-results)
	cd web && npx vitest run
	AGENTRY_TEST_WEB=1 $(PYTEST) tests/web -q -p no:cacheprovider
