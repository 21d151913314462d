"""Runtime sessions: one OS process per (runtime id, session id), pinned to its version.

A session process runs `python -m agentry.runtime.emulator.host` in the version's code dir,
on a listening socket this process binds and passes down. The reaper pings every session:
`HealthyBusy` (or an invocation in flight) keeps it up to its max lifetime; otherwise it is
stopped once idle past its idle timeout, measured from the later of the last activity seen
here (or reported via touch) and the agent's `time_of_last_update`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from agentry.kit.logging import get_logger
from agentry.runtime.emulator.host import INFLIGHT_HEADER, SESSION_ID_ENV, STANDBY_DECLINED

log = get_logger("agentry.runtime.emulator")

HOST_MODULE = "agentry.runtime.emulator.host"
STOP_GRACE_S = 3.0
LOG_TAIL_LINES = 20
# What a session process inherits from the emulator's environment. Everything else (notably
# AGENTRY_* settings and AWS credentials) stays out: agent code must not see platform secrets.
_INHERITED_ENV = frozenset(
    {
        "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "USER",
        "LOGNAME", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
        "PYTHONPATH", "PYTHONPYCACHEPREFIX", "SYSTEMROOT",
    }
)  # fmt: skip

SessionKey = tuple[str, str]


class SessionStartError(Exception):
    """The session process did not come up. `message` is AgentCore's RuntimeClientError text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class SessionSpec:
    """What it takes to start a session of one runtime version."""

    runtime_id: str
    runtime_arn: str
    version: str
    code_dir: Path
    entry_point: list[str]
    environment: Mapping[str, str]
    idle_timeout_s: float
    max_lifetime_s: float


@dataclass(slots=True)
class Session:
    runtime_id: str
    runtime_arn: str
    session_id: str
    version: str
    url: str
    proc: asyncio.subprocess.Process
    log_path: Path
    idle_timeout_s: float
    max_lifetime_s: float
    started_at: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.time)
    last_update: float = 0.0
    ping_status: str = "Starting"
    inflight: int = 0
    stopping: bool = False
    ready: bool = False  # until its first healthy /ping only the startup timeout applies

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.stopping

    def touch(self) -> None:
        self.last_activity = time.time()

    def describe(self) -> dict[str, Any]:
        return {
            "runtimeId": self.runtime_id,
            "runtimeArn": self.runtime_arn,
            "sessionId": self.session_id,
            "version": self.version,
            "pid": self.pid,
            "url": self.url,
            "startedAt": self.started_at,
            "lastActivity": self.last_activity,
            "lastUpdate": self.last_update,
            "status": self.ping_status,
            "inflight": self.inflight,
        }


class Lifecycle(Protocol):
    started_at: float
    last_activity: float
    last_update: float
    ping_status: str
    inflight: int
    idle_timeout_s: float
    max_lifetime_s: float


def lifecycle_verdict(session: Lifecycle, now: float) -> str | None:
    """Why AgentCore would end this session at `now` ("max_lifetime", "idle"), or None.

    The max lifetime is absolute; `HealthyBusy` or a call in flight holds off only the idle
    timeout, which runs from the later of the last activity and the agent's last update.
    """
    if now - session.started_at >= session.max_lifetime_s:
        return "max_lifetime"
    if session.inflight > 0 or session.ping_status == "HealthyBusy":
        return None
    if now - max(session.last_activity, session.last_update) >= session.idle_timeout_s:
        return "idle"
    return None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _cmdline(pid: int) -> str:
    proc_file = Path(f"/proc/{pid}/cmdline")
    if proc_file.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return proc_file.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return ""
    try:
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.decode("utf-8", "replace")


def _killpg(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class SessionManager:
    def __init__(
        self,
        runtime_dir: Path,
        *,
        startup_timeout_s: float,
        reap_interval_s: float,
        region: str,
        standby: int = 1,
        telemetry_env: Mapping[str, str] | None = None,
    ) -> None:
        self.runtime_dir = runtime_dir
        # OTEL_* for the session processes (emulator/tracing.py), as AgentCore configures ADOT.
        self.telemetry_env = dict(telemetry_env or {})
        self.logs_dir = runtime_dir / "logs"
        self.pid_file = runtime_dir / "sessions.pids.json"
        self.startup_timeout_s = startup_timeout_s
        self.reap_interval_s = reap_interval_s
        self.region = region
        self.sessions: dict[SessionKey, Session] = {}
        self._starting: dict[SessionKey, asyncio.Task[Session]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        # One pre-started host process with the SDK already imported: a session start then
        # costs the agent's own import, not the interpreter's and the SDK's (~1 s).
        self.standby_count = standby
        self._standbys: list[tuple[asyncio.subprocess.Process, int]] = []
        self._standby_task: asyncio.Task[None] | None = None
        self._closing = False

    # lifecycle

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("SessionManager.start() was not called")
        return self._http

    async def start(self) -> None:
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.kill_orphans()
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
        self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        self._reaper = asyncio.create_task(self._reap_loop(), name="runtime-reaper")
        self._ensure_standby()

    async def aclose(self) -> None:
        self._closing = True
        if self._standby_task is not None:
            self._standby_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._standby_task
        for proc, _port in self._standbys:
            _killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        self._standbys.clear()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for task in list(self._starting.values()):
            task.cancel()
        await asyncio.gather(
            *(self._terminate(s, "shutdown") for s in list(self.sessions.values())),
            return_exceptions=True,
        )
        self.kill_all_now()
        if self._http is not None:
            await self._http.close()

    def kill_all_now(self) -> None:
        """Last resort (atexit, crash paths): SIGKILL every session process group we know of."""
        for session in list(self.sessions.values()):
            _killpg(session.pid, signal.SIGKILL)
        for proc, _port in self._standbys:
            _killpg(proc.pid, signal.SIGKILL)
        self._standbys.clear()
        self.sessions.clear()
        self._write_pids()

    def kill_orphans(self) -> None:
        """Kill session processes a previous emulator (same runtime dir) left behind."""
        try:
            recorded = json.loads(self.pid_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for pid_text in recorded:
            pid = int(pid_text)
            cmd = _cmdline(pid)
            if HOST_MODULE in cmd and str(self.runtime_dir) in cmd:
                log.warning("runtime.orphan_killed", pid=pid)
                _killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def _write_pids(self) -> None:
        data: dict[str, dict[str, str]] = {
            str(s.pid): {"runtimeId": s.runtime_id, "sessionId": s.session_id}
            for s in self.sessions.values()
        }
        for proc, _port in self._standbys:
            data[str(proc.pid)] = {"standby": "1"}
        tmp = self.pid_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.pid_file)
        except OSError:
            log.warning("runtime.pidfile_write_failed")

    # sessions

    def get(self, runtime_id: str, session_id: str) -> Session | None:
        session = self.sessions.get((runtime_id, session_id))
        return session if session is not None and session.alive else None

    def all(self) -> list[Session]:
        return list(self.sessions.values())

    def touch(self, pairs: Iterable[SessionKey]) -> int:
        count = 0
        for key in pairs:
            session = self.sessions.get(key)
            if session is not None:
                session.touch()
                count += 1
        return count

    async def ensure(self, spec: SessionSpec, session_id: str) -> Session:
        """The live session for this id, starting a process when there is none."""
        key = (spec.runtime_id, session_id)
        session = self.sessions.get(key)
        if session is not None:
            if session.alive:
                session.touch()
                return session
            await self._forget(session, "exited")
        task = self._starting.get(key)
        if task is None:
            task = asyncio.create_task(self._spawn(spec, session_id))
            self._starting[key] = task
            task.add_done_callback(lambda t: self._started(key, t))
        return await asyncio.shield(task)

    def _started(self, key: SessionKey, task: asyncio.Task[Session]) -> None:
        self._starting.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter went away

    async def stop(self, runtime_id: str, session_id: str) -> bool:
        session = self.sessions.get((runtime_id, session_id))
        if session is None:
            return False
        await self._terminate(session, "stopped")
        return True

    async def stop_runtime(self, runtime_id: str) -> int:
        """Stop every session of a deleted runtime; returns how many there were."""
        doomed = [s for (rid, _sid), s in list(self.sessions.items()) if rid == runtime_id]
        for session in doomed:
            await self._terminate(session, "runtime_deleted")
        return len(doomed)

    async def broken(self, session: Session) -> int | None:
        """Called when a connection to the session dropped. Returns its exit code if it died."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(session.proc.wait()), 1.0)
        code = session.proc.returncode
        if code is not None:
            await self._forget(session, "crashed")
        return code

    async def _launch(
        self, extra_args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path, stdin: int
    ) -> tuple[asyncio.subprocess.Process, int]:
        """Start a host process on a fresh listening socket; returns it and its port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(1024)
            port = int(sock.getsockname()[1])
            cmd = [
                sys.executable,
                "-m",
                HOST_MODULE,
                "--fd",
                str(sock.fileno()),
                "--parent-pid",
                str(os.getpid()),
                "--emulator-home",
                str(self.runtime_dir),
                *extra_args,
            ]
            with log_path.open("ab") as log_file:
                proc = await asyncio.create_subprocess_exec(
                    *cmd,
                    cwd=cwd,
                    env=env,
                    stdin=stdin,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=(sock.fileno(),),
                    start_new_session=True,
                )
        finally:
            sock.close()
        return proc, port

    def _ensure_standby(self) -> None:
        if self._closing or (self._standby_task is not None and not self._standby_task.done()):
            return
        self._standbys = [sb for sb in self._standbys if sb[0].returncode is None]
        if len(self._standbys) < self.standby_count:
            self._standby_task = asyncio.create_task(self._fill_standby(), name="runtime-standby")

    async def _fill_standby(self) -> None:
        log_path = self.logs_dir / "_standby.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        while not self._closing and len(self._standbys) < self.standby_count:
            try:
                standby = await self._launch(
                    ["--standby"],
                    cwd=self.runtime_dir,
                    env=self._base_env(),
                    log_path=log_path,
                    stdin=subprocess.PIPE,
                )
            except OSError:
                log.warning("runtime.standby_failed")
                return
            self._standbys.append(standby)
            self._write_pids()

    def _take_standby(self, spec: SessionSpec) -> tuple[asyncio.subprocess.Process, int] | None:
        """A pre-started process, unless the runtime's env must be seen at interpreter start."""
        if any(key.startswith("PYTHON") for key in spec.environment):
            return None
        while self._standbys:
            standby = self._standbys.pop(0)
            if standby[0].returncode is None and standby[0].stdin is not None:
                return standby
        return None

    async def _spawn(self, spec: SessionSpec, session_id: str) -> Session:
        log_path = self.logs_dir / spec.runtime_id / f"{session_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            log_file.write(
                f"--- session start {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
                f" version={spec.version}\n".encode()
            )
        env = self._child_env(spec, session_id)
        started = time.monotonic()
        standby = self._take_standby(spec)
        self._ensure_standby()
        if standby is not None:
            proc, port = standby
            job = {
                "code_dir": str(spec.code_dir),
                "entry": spec.entry_point,
                "env": env,
                "log": str(log_path),
            }
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(job).encode() + b"\n")
                await proc.stdin.drain()
                proc.stdin.close()
            except (OSError, RuntimeError):
                standby = None
        if standby is not None:
            session = self._register(spec, session_id, proc, port, log_path)
            try:
                await self._wait_ready(session)
            except SessionStartError:
                if proc.returncode != STANDBY_DECLINED:
                    await self._terminate(session, "start_failed")
                    raise
                await self._forget(session, "standby_declined")
                standby = None
            except BaseException:
                await self._terminate(session, "start_failed")
                raise
        if standby is None:
            args = [a for part in spec.entry_point for a in ("--entry", part)]
            proc, port = await self._launch(
                args, cwd=spec.code_dir, env=env, log_path=log_path, stdin=subprocess.DEVNULL
            )
            session = self._register(spec, session_id, proc, port, log_path)
            try:
                await self._wait_ready(session)
            except BaseException:
                await self._terminate(session, "start_failed")
                raise
        session.ready = True
        session.touch()
        log.info(
            "runtime.session_started",
            runtime_id=spec.runtime_id,
            version=spec.version,
            pid=proc.pid,
            warm=standby is not None,
            startup_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return session

    def _register(
        self,
        spec: SessionSpec,
        session_id: str,
        proc: asyncio.subprocess.Process,
        port: int,
        log_path: Path,
    ) -> Session:
        session = Session(
            runtime_id=spec.runtime_id,
            runtime_arn=spec.runtime_arn,
            session_id=session_id,
            version=spec.version,
            url=f"http://127.0.0.1:{port}",
            proc=proc,
            log_path=log_path,
            idle_timeout_s=spec.idle_timeout_s,
            max_lifetime_s=spec.max_lifetime_s,
        )
        self.sessions[(spec.runtime_id, session_id)] = session
        self._write_pids()
        return session

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED_ENV}
        env.update(
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(self.telemetry_env)
        return env

    def _child_env(self, spec: SessionSpec, session_id: str) -> dict[str, str]:
        env = self._base_env()
        env.update(spec.environment)
        env[SESSION_ID_ENV] = session_id
        if any(key.startswith("OTEL_EXPORTER_OTLP") for key in env):
            env.setdefault("OTEL_SERVICE_NAME", spec.runtime_id)
        inherited = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(spec.code_dir), inherited) if p)
        return env

    async def _wait_ready(self, session: Session) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout_s
        while True:
            if session.proc.returncode is not None:
                raise SessionStartError(
                    "Runtime initialization failed: the session process exited with code "
                    f"{session.proc.returncode}.\n{tail(session.log_path)}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SessionStartError(
                    "Runtime initialization time exceeded: no healthy /ping within "
                    f"{self.startup_timeout_s:g}s.\n{tail(session.log_path)}"
                )
            try:
                timeout = aiohttp.ClientTimeout(total=min(1.0, remaining))
                async with self.http.get(f"{session.url}/ping", timeout=timeout) as resp:
                    if resp.status == 200:
                        self._record_ping(session, await resp.json(content_type=None))
                        return
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.02)

    @staticmethod
    def _record_ping(session: Session, body: Any) -> None:
        if isinstance(body, dict):
            session.ping_status = str(body.get("status", "Healthy"))
            with contextlib.suppress(TypeError, ValueError):
                session.last_update = float(body.get("time_of_last_update") or 0)

    async def _terminate(self, session: Session, reason: str) -> None:
        session.stopping = True
        proc = session.proc
        if proc.returncode is None:
            _killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_S)
            except TimeoutError:
                _killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # Anything the agent forked into its process group goes too.
        _killpg(proc.pid, signal.SIGKILL)
        await self._forget(session, reason)

    async def _forget(self, session: Session, reason: str) -> None:
        key = (session.runtime_id, session.session_id)
        if self.sessions.get(key) is session:
            del self.sessions[key]
            self._write_pids()
            log.info(
                "runtime.session_ended",
                runtime_id=session.runtime_id,
                pid=session.pid,
                reason=reason,
                exit_code=session.proc.returncode,
                lifetime_s=round(time.time() - session.started_at, 1),
            )

    # reaping

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval_s)
            try:
                await self.reap_once()
            except Exception:
                log.exception("runtime.reap_failed")

    async def reap_once(self) -> None:
        sessions = [s for s in self.sessions.values() if not s.stopping]
        await asyncio.gather(*(self._check(s) for s in sessions), return_exceptions=True)

    async def _check(self, session: Session) -> None:
        if session.proc.returncode is not None:
            await self._forget(session, "exited")
            return
        now = time.time()
        if lifecycle_verdict(session, now) == "max_lifetime":
            await self._terminate(session, "max_lifetime")
            return
        if not session.ready:
            return  # still starting: its startup timeout, not the idle one, decides
        try:
            timeout = aiohttp.ClientTimeout(total=2.0)
            async with self.http.get(f"{session.url}/ping", timeout=timeout) as resp:
                if resp.status == 200:
                    self._record_ping(session, await resp.json(content_type=None))
                    if int(resp.headers.get(INFLIGHT_HEADER.decode(), "0") or 0) > 0:
                        session.last_activity = now  # a direct call is running in the process
                        return
        except (aiohttp.ClientError, TimeoutError, ValueError):
            session.ping_status = "Unreachable"
        if lifecycle_verdict(session, now) == "idle":
            await self._terminate(session, "idle")
