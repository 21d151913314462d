#!/bin/sh
# Container entrypoint: turn the secrets ECS injects into the settings the platform reads,
# then exec `agentry "$@"` (serve | worker). Never prints a secret.
set -eu

fail() { echo "agentry-entrypoint: $*" >&2; exit 64; }

for name in AGENTRY_API_KEY_PEPPER AGENTRY_WEBHOOK_SECRET_KEY AGENTRY_TOKEN_SIGNING_KEY_PEM; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is not set"
  [ "$value" != "SEED-ME" ] || fail "$name still holds the placeholder: run make infra-seed-secrets"
done

mkdir -p "$AGENTRY_HOME/agent-auth"
umask 077
printf '%s\n' "$AGENTRY_TOKEN_SIGNING_KEY_PEM" > "$AGENTRY_HOME/agent-auth/signing-key.pem"
unset AGENTRY_TOKEN_SIGNING_KEY_PEM

if [ -n "${AGENTRY_DB_HOST:-}" ] && [ -z "${AGENTRY_DATABASE_URL:-}" ]; then
  AGENTRY_DATABASE_URL="$(python - <<'PY'
import os
from urllib.parse import quote
e = os.environ
print(f"postgresql+asyncpg://{quote(e['AGENTRY_DB_USER'], safe='')}:{quote(e['AGENTRY_DB_PASSWORD'], safe='')}"
      f"@{e['AGENTRY_DB_HOST']}:{e['AGENTRY_DB_PORT']}/{e['AGENTRY_DB_NAME']}?ssl=require")
PY
)"
  export AGENTRY_DATABASE_URL
  unset AGENTRY_DB_PASSWORD
fi
if [ -n "${AGENTRY_REDIS_HOST:-}" ] && [ -z "${AGENTRY_REDIS_URL:-}" ]; then
  export AGENTRY_REDIS_URL="rediss://:${AGENTRY_REDIS_AUTH_TOKEN}@${AGENTRY_REDIS_HOST}:${AGENTRY_REDIS_PORT}/0"
  unset AGENTRY_REDIS_AUTH_TOKEN
fi

if [ "${AGENTRY_MIGRATE_ON_START:-0}" = "1" ]; then
  agentry db upgrade
fi
exec agentry "$@"
