"""Control-plane state of the emulator: runtimes, immutable versions and endpoints.

Kept in memory and written to `<runtime_dir>/control.json` (atomic replace) on every change,
so a restarted emulator serves the same runtimes. Code zips are extracted once per version.
"""

from __future__ import annotations

import base64
import compileall
import json
import os
import re
import secrets
import shutil
import stat
import string
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,47}")
RUNTIME_ID_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
VERSION_RE = re.compile(r"[1-9][0-9]{0,4}")
ARN_RE = re.compile(
    r"arn:aws(-[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/"
    r"(?P<id>[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10})"
)
DEFAULT_ENDPOINT = "DEFAULT"
LIFECYCLE_MIN_S = 60
LIFECYCLE_MAX_S = 28800
_ID_ALPHABET = string.ascii_letters + string.digits


class StoreError(Exception):
    """Maps to an AgentCore error shape: `error_type` is the x-amzn-ErrorType name."""

    def __init__(self, error_type: str, message: str, status: int) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def validation(message: str) -> StoreError:
    return StoreError("ValidationException", message, 400)


def not_found(message: str) -> StoreError:
    return StoreError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> StoreError:
    return StoreError("ConflictException", message, 409)


@dataclass(slots=True)
class VersionRecord:
    version: str
    created_at: float
    bucket: str
    prefix: str
    entry_point: list[str]
    python_runtime: str
    environment: dict[str, str]
    idle_timeout_s: int
    max_lifetime_s: int
    lifecycle_given: dict[str, int]
    header_allowlist: list[str]
    role_arn: str
    network_mode: str
    description: str = ""


@dataclass(slots=True)
class EndpointRecord:
    name: str
    endpoint_id: str
    target_version: str
    created_at: float
    updated_at: float
    description: str = ""


@dataclass(slots=True)
class RuntimeRecord:
    runtime_id: str
    name: str
    arn: str
    created_at: float
    updated_at: float
    versions: dict[str, VersionRecord] = field(default_factory=dict)
    endpoints: dict[str, EndpointRecord] = field(default_factory=dict)

    @property
    def latest(self) -> VersionRecord:
        return self.versions[str(max(int(v) for v in self.versions))]

    def endpoint_version(self, name: str) -> str | None:
        if name == DEFAULT_ENDPOINT:
            return self.latest.version
        endpoint = self.endpoints.get(name)
        return endpoint.target_version if endpoint else None

    def endpoint_arn(self, name: str) -> str:
        return f"{self.arn}/runtime-endpoint/{name}"


T = TypeVar("T")


def page(items: list[T], query: Mapping[str, str]) -> tuple[list[T], str | None]:
    """One page of a List* answer: `maxResults` (1-100, default 100) from `nextToken` on."""
    try:
        size = int(query.get("maxResults", "100"))
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise validation("Value at 'maxResults' failed to satisfy constraint: 1 <= value <= 100")
    token = query.get("nextToken")
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("o:"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation("Invalid nextToken") from exc
        if not 0 <= start <= len(items):
            raise validation("Invalid nextToken")
    end = start + size
    more = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], more


def random_suffix(length: int = 10) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def runtime_id_from_arn(arn: str) -> str | None:
    match = ARN_RE.fullmatch(arn)
    return match.group("id") if match else None


class ZipSlipError(ValueError):
    pass


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract `archive` into `dest` (created), refusing absolute, `..` and symlink members."""
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            root = tmp.resolve()
            for info in zf.infolist():
                name = info.filename
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[a-zA-Z]:", name):
                    raise ZipSlipError(f"unsafe path in archive: {name!r}")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ZipSlipError(f"symlink in archive: {name!r}")
                target = (root / name).resolve()
                if target != root and root not in target.parents:
                    raise ZipSlipError(f"unsafe path in archive: {name!r}")
            zf.extractall(tmp)
        # Once per version: its sessions then never compile the agent's code at start.
        compileall.compile_dir(tmp, quiet=2)
        if dest.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            return
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _atomic_write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _req(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if value is None:
        raise validation(
            f"1 validation error detected: Value null at '{key}' failed to satisfy "
            "constraint: Member must not be null"
        )
    if not isinstance(value, kind):
        raise validation(f"Value at '{key}' has the wrong type")
    return value


class ControlStore:
    def __init__(
        self,
        *,
        state_file: Path,
        artifacts_dir: Path,
        versions_dir: Path,
        region: str,
        account_id: str,
        default_idle_s: int,
        default_max_lifetime_s: int,
    ) -> None:
        self.state_file = state_file
        self.artifacts_dir = artifacts_dir
        self.versions_dir = versions_dir
        self.region = region
        self.account_id = account_id
        self.default_idle_s = default_idle_s
        self.default_max_lifetime_s = default_max_lifetime_s
        self.runtimes: dict[str, RuntimeRecord] = {}
        self._load()

    # persistence

    def _load(self) -> None:
        if not self.state_file.exists():
            return
        raw = json.loads(self.state_file.read_text(encoding="utf-8"))
        for item in raw.get("runtimes", []):
            versions = {v["version"]: VersionRecord(**v) for v in item.pop("versions")}
            endpoints = {e["name"]: EndpointRecord(**e) for e in item.pop("endpoints")}
            record = RuntimeRecord(**item, versions=versions, endpoints=endpoints)
            self.runtimes[record.runtime_id] = record

    def _save(self) -> None:
        data = {
            "runtimes": [
                {
                    "runtime_id": r.runtime_id,
                    "name": r.name,
                    "arn": r.arn,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "versions": [asdict(v) for v in r.versions.values()],
                    "endpoints": [asdict(e) for e in r.endpoints.values()],
                }
                for r in self.runtimes.values()
            ]
        }
        _atomic_write(self.state_file, json.dumps(data, indent=1, sort_keys=True))

    # lookups

    def get(self, runtime_id: str) -> RuntimeRecord:
        record = self.runtimes.get(runtime_id)
        if record is None:
            raise not_found(f"Agent runtime {runtime_id} not found")
        return record

    def get_version(
        self, runtime_id: str, version: str | None
    ) -> tuple[RuntimeRecord, VersionRecord]:
        record = self.get(runtime_id)
        if version is None:
            return record, record.latest
        found = record.versions.get(version)
        if found is None:
            raise not_found(f"Version {version} of agent runtime {runtime_id} not found")
        return record, found

    def resolve(self, arn: str, qualifier: str) -> tuple[RuntimeRecord, VersionRecord]:
        runtime_id = runtime_id_from_arn(arn)
        record = self.runtimes.get(runtime_id) if runtime_id else None
        if record is None or record.arn != arn:
            raise not_found(f"Agent runtime {arn} not found")
        version = record.endpoint_version(qualifier)
        if version is None:
            raise not_found(f"Endpoint {qualifier} of agent runtime {record.runtime_id} not found")
        return record, record.versions[version]

    def code_dir(self, runtime_id: str, version: VersionRecord) -> Path:
        """The extracted code of a version; extracts it on first use."""
        dest = self.versions_dir / runtime_id / version.version
        if not dest.is_dir():
            dest.parent.mkdir(parents=True, exist_ok=True)
            safe_extract(self._artifact_path(version.bucket, version.prefix), dest)
        return dest

    # mutations

    def create_runtime(self, body: dict[str, Any]) -> tuple[RuntimeRecord, VersionRecord]:
        name = _req(body, "agentRuntimeName", str)
        if not NAME_RE.fullmatch(name):
            raise validation(
                f"Value '{name}' at 'agentRuntimeName' failed to satisfy constraint: Member "
                "must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}"
            )
        if any(r.name == name for r in self.runtimes.values()):
            raise conflict(f"An agent runtime named {name} already exists")
        runtime_id = f"{name}-{random_suffix()}"
        version = self._version_from(body, "1")
        now = time.time()
        record = RuntimeRecord(
            runtime_id=runtime_id,
            name=name,
            arn=f"arn:aws:bedrock-agentcore:{self.region}:{self.account_id}:runtime/{runtime_id}",
            created_at=now,
            updated_at=now,
            versions={"1": version},
        )
        self._prepare(record, version)
        self.runtimes[runtime_id] = record
        self._save()
        return record, version

    def update_runtime(
        self, runtime_id: str, body: dict[str, Any]
    ) -> tuple[RuntimeRecord, VersionRecord]:
        record = self.get(runtime_id)
        version = self._version_from(body, str(int(record.latest.version) + 1))
        self._prepare(record, version)
        record.versions[version.version] = version
        record.updated_at = version.created_at
        self._save()
        return record, version

    def put_endpoint(
        self, runtime_id: str, name: str, version: str | None, description: str, *, create: bool
    ) -> tuple[RuntimeRecord, EndpointRecord]:
        record = self.get(runtime_id)
        if not NAME_RE.fullmatch(name):
            raise validation(f"Value at 'name' failed to satisfy constraint: {NAME_RE.pattern}")
        if name == DEFAULT_ENDPOINT:
            raise validation("The DEFAULT endpoint always points at the latest version")
        if version is not None and version not in record.versions:
            raise validation(f"Version {version} of agent runtime {runtime_id} does not exist")
        target = version or record.latest.version
        now = time.time()
        existing = record.endpoints.get(name)
        if create:
            if existing is not None:
                raise conflict(f"Endpoint {name} already exists")
            endpoint = EndpointRecord(
                name=name,
                endpoint_id=f"{name}-{random_suffix()}",
                target_version=target,
                created_at=now,
                updated_at=now,
                description=description,
            )
            record.endpoints[name] = endpoint
        else:
            if existing is None:
                raise not_found(f"Endpoint {name} of agent runtime {runtime_id} not found")
            existing.target_version = target
            existing.updated_at = now
            if description:
                existing.description = description
            endpoint = existing
        self._save()
        return record, endpoint

    def delete_runtime(self, runtime_id: str) -> RuntimeRecord:
        record = self.get(runtime_id)
        del self.runtimes[runtime_id]
        self._save()
        return record

    def delete_endpoint(self, runtime_id: str, name: str) -> RuntimeRecord:
        record = self.get(runtime_id)
        if name == DEFAULT_ENDPOINT:
            raise validation("The DEFAULT endpoint cannot be deleted")
        if record.endpoints.pop(name, None) is None:
            raise not_found(f"Endpoint {name} of agent runtime {runtime_id} not found")
        self._save()
        return record

    # helpers

    def _artifact_path(self, bucket: str, prefix: str) -> Path:
        root = self.artifacts_dir.resolve()
        path = (root / bucket / prefix).resolve()
        if root not in path.parents:
            raise validation("code.s3 bucket/prefix must name a file under the artifacts dir")
        return path

    def _prepare(self, record: RuntimeRecord, version: VersionRecord) -> None:
        artifact = self._artifact_path(version.bucket, version.prefix)
        if not artifact.is_file():
            raise validation(f"Code artifact s3://{version.bucket}/{version.prefix} not found")
        try:
            self.code_dir(record.runtime_id, version)
        except ZipSlipError as exc:
            raise validation(f"Code artifact refused: {exc}") from exc
        except zipfile.BadZipFile as exc:
            raise validation("Code artifact is not a valid zip file") from exc

    def _version_from(self, body: dict[str, Any], number: str) -> VersionRecord:
        role_arn = _req(body, "roleArn", str)
        artifact = _req(body, "agentRuntimeArtifact", dict)
        if "containerConfiguration" in artifact:
            raise validation("Only codeConfiguration artifacts are supported by the local runtime")
        code_cfg = _req(artifact, "codeConfiguration", dict)
        s3 = _req(_req(code_cfg, "code", dict), "s3", dict)
        bucket = _req(s3, "bucket", str)
        prefix = _req(s3, "prefix", str)
        entry_point = _req(code_cfg, "entryPoint", list)
        python_runtime = _req(code_cfg, "runtime", str)
        if not 1 <= len(entry_point) <= 2 or not all(isinstance(e, str) for e in entry_point):
            raise validation("codeConfiguration.entryPoint must hold 1 or 2 strings")
        if not entry_point[-1].endswith(".py"):
            raise validation("The local runtime runs Python entry points (a .py file) only")
        network = body.get("networkConfiguration") or {"networkMode": "PUBLIC"}
        env = body.get("environmentVariables") or {}
        if not isinstance(env, dict) or len(env) > 50:
            raise validation("environmentVariables must be a map of at most 50 entries")
        lifecycle = body.get("lifecycleConfiguration") or {}
        given = {
            k: int(v)
            for k, v in lifecycle.items()
            if k in ("idleRuntimeSessionTimeout", "maxLifetime")
        }
        for key, value in given.items():
            if not LIFECYCLE_MIN_S <= value <= LIFECYCLE_MAX_S:
                raise validation(f"lifecycleConfiguration.{key} must be between 60 and 28800")
        idle = given.get("idleRuntimeSessionTimeout", self.default_idle_s)
        max_life = given.get("maxLifetime", self.default_max_lifetime_s)
        if idle > max_life:
            raise validation("idleRuntimeSessionTimeout must not exceed maxLifetime")
        allowlist = (body.get("requestHeaderConfiguration") or {}).get(
            "requestHeaderAllowlist"
        ) or []
        return VersionRecord(
            version=number,
            created_at=time.time(),
            bucket=bucket,
            prefix=prefix,
            entry_point=[str(e) for e in entry_point],
            python_runtime=python_runtime,
            environment={str(k): str(v) for k, v in env.items()},
            idle_timeout_s=idle,
            max_lifetime_s=max_life,
            lifecycle_given=given,
            header_allowlist=[str(h) for h in allowlist],
            role_arn=role_arn,
            network_mode=str(network.get("networkMode", "PUBLIC")),
            description=str(body.get("description") or ""),
        )
