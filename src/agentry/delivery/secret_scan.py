"""`make secret-scan`: no secret in the tracked files that the committed baseline does not know.

detect-secrets with the plugins and filters recorded in `.secrets.baseline`. A finding is known
when the baseline holds the same file, type and secret hash; line numbers may move, so edits
around a known test fixture do not fail the scan, and the scan never rewrites the baseline
(detect-secrets' own hook does, and exits 3). Output names file, line and type, never the value.

After auditing new findings (test fixtures, documented fakes): `make secret-baseline`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    type: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.type}"


def tracked_files(root: Path) -> list[str]:
    """Files git tracks or would add (untracked, not ignored): what a push could carry."""
    result = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    names = sorted({n for n in result.stdout.decode().split("\0") if n})
    return [n for n in names if (root / n).is_file() and not (root / n).is_symlink()]


def scan(root: Path, baseline: Path) -> list[Finding]:
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import transient_settings

    data: dict[str, Any] = json.loads(baseline.read_text())
    skip = baseline.resolve()
    files = [n for n in tracked_files(root) if (root / n).resolve() != skip]
    # The baseline keys findings by paths relative to the repository: scan from there.
    with contextlib.chdir(root), transient_settings(data):
        known = SecretsCollection.load_from_baseline(data)
        found = SecretsCollection()
        found.scan_files(*files)
        new = found - known
    return sorted(
        (Finding(name, secret.line_number, secret.type) for name, secret in new),
        key=lambda f: (f.file, f.line),
    )


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    baseline = Path(args[0] if args else ".secrets.baseline")
    if not baseline.is_file():
        print(f"secret-scan: {baseline} not found (make secret-baseline)", file=sys.stderr)  # noqa: T201
        return 2
    findings = scan(Path.cwd(), baseline)
    for finding in findings:
        print(f"secret-scan: new secret: {finding}", file=sys.stderr)  # noqa: T201
    if findings:
        print(  # noqa: T201
            "secret-scan: remove it, or if it is a fake (a test fixture), mark the line with "
            "'# pragma: allowlist secret' or audit it into the baseline: make secret-baseline",
            file=sys.stderr,
        )
        return 1
    print(f"secret-scan: no new secrets ({baseline} holds the known ones)")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
