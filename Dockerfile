# syntax=docker/dockerfile:1.7
# The Agentry API/worker image (target `api`) and the Gateway interceptor Lambda (target
# `lambda`), both from uv.lock with `uv sync --frozen`: the same locked install `make install`
# and the tests use, without the dev and infra groups. Built by `cdk deploy` (docker needed).

ARG PYTHON_IMAGE=python:3.12-slim-bookworm
ARG LAMBDA_IMAGE=public.ecr.aws/lambda/python:3.12
ARG UV_VERSION=0.13.9

# ---- build: the locked virtualenv (no compilers reach the final stage) ----
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY src ./src
RUN uv sync --frozen --no-default-groups --no-editable

# ---- api: runtime only, non-root ----
FROM ${PYTHON_IMAGE} AS api
RUN groupadd --system --gid 10001 agentry \
    && useradd --system --uid 10001 --gid agentry --home-dir /home/agentry --create-home agentry
COPY --from=build /app/.venv /app/.venv
# uv itself: the API builds agent dependency layers at push time (AGENTRY_UV_BIN).
COPY --from=build /usr/local/bin/uv /usr/local/bin/uv
COPY infra/docker/entrypoint.sh /usr/local/bin/agentry-entrypoint
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    AGENTRY_HOME=/tmp/agentry AGENTRY_UV_BIN=/usr/local/bin/uv
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["agentry-entrypoint"]
CMD ["serve"]

# ---- lambda-build: the same lock, installed for the Lambda runtime's Python ----
FROM ${LAMBDA_IMAGE} AS lambda-build
ARG UV_VERSION
ENV UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN uv export --frozen --no-default-groups --no-emit-project --no-hashes -o /tmp/requirements.txt \
    && uv pip install --no-cache --target /opt/task -r /tmp/requirements.txt \
    && uv pip install --no-cache --no-deps --target /opt/task .

# ---- lambda: agentry.gateway.lambda_handler.handler; Lambda runs it as a non-root user ----
FROM ${LAMBDA_IMAGE} AS lambda
COPY --from=lambda-build /opt/task ${LAMBDA_TASK_ROOT}
USER 993:990
CMD ["agentry.gateway.lambda_handler.handler"]
