"""Session logs for developers: `<home>/runtime/logs/<runtimeId>/<sessionId>.log`.

The local runtime emulator writes one file per session; the API reads them from the shared
home, so this works with `make dev` (same machine). In AWS, session logs are in CloudWatch.
"""

from __future__ import annotations

from pathlib import Path

from agentry.config import Settings
from agentry.registry.schemas import RegistryAgent, SessionLogs

MAX_FILES = 5


def read_session_logs(
    settings: Settings, agent: RegistryAgent, session: str | None, lines: int
) -> SessionLogs:
    files: list[Path] = []
    if agent.runtime_id:
        root = settings.runtime_dir / "logs" / agent.runtime_id
        if root.is_dir():
            # Substring match on file names only; a session string never becomes a path.
            files = [p for p in root.glob("*.log") if session is None or session in p.name]
    files = sorted(files, key=lambda p: p.stat().st_mtime)[-MAX_FILES:]
    chunks: list[str] = []
    for path in files:
        text = path.read_text(errors="replace").splitlines()[-lines:]
        chunks.append(f"==> {path.name} <==\n" + "\n".join(text))
    return SessionLogs(
        agent=agent.name, session=session, files=[p.name for p in files], text="\n".join(chunks)
    )
