"""Where CLI commands find the API and their credential: flags, then env, then .agentry/dev.env."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any, NoReturn

import typer

from agentry.cli.http import HttpClient, HttpError, Response
from agentry.cli.login import OPERATOR_KEY_ENV, LoginError, operator_credential
from agentry.cli.output import err, print_json
from agentry.kit.envfile import read_env_file

__all__ = ["ApiClient", "err", "print_json", "problem_of", "resolve"]


def resolve(url: str | None, key: str | None, key_env: str = "AGENTRY_API_KEY") -> tuple[str, str]:
    home = Path(os.environ.get("AGENTRY_HOME", ".agentry"))
    file_values = read_env_file(home / "dev.env")
    url = url or os.environ.get("AGENTRY_URL") or file_values.get("AGENTRY_URL")
    fallback = os.environ.get(key_env) or file_values.get(key_env)
    if key is None and url and key_env == OPERATOR_KEY_ENV:
        try:
            key = operator_credential(url, fallback)
        except LoginError as exc:
            err().print(f"[red]error[/] {exc}")
            raise typer.Exit(2) from exc
    key = key or fallback
    if not url or not key:
        err().print(f"[red]Set AGENTRY_URL and {key_env} (or pass --url/--key); run `make dev`.[/]")
        raise typer.Exit(2)
    return url.rstrip("/"), key


def problem_of(response: Response) -> dict[str, Any]:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return {"code": f"http_{response.status_code}", "detail": response.text[:500]}
    return problem


class ApiClient:
    """A JSON client for one API area; a refusal prints the problem's code and exits 1."""

    def __init__(
        self,
        url: str | None,
        key: str | None,
        key_env: str,
        as_json: bool,
        *,
        prefix: str,
        timeout: float,
    ) -> None:
        base, secret = resolve(url, key, key_env)
        self.as_json = as_json
        self.root = base
        self.credential = secret
        try:
            self.client = HttpClient(
                f"{base}{prefix}", headers={"Authorization": f"Bearer {secret}"}, timeout=timeout
            )
        except HttpError as exc:
            self.fail({"code": "bad_url", "detail": str(exc)}, code=2)

    def call(
        self, method: str, path: str, *, bad_input: Collection[str] = (), **kwargs: Any
    ) -> Any:
        """The JSON answer; a problem whose code is in `bad_input` exits 2 (the caller's input)."""
        try:
            response = self.client.request(method, path, **kwargs)
        except HttpError as exc:
            self.fail({"code": "unreachable", "detail": f"{self.root}: {exc}"})
        if response.status_code >= 300:  # the API never redirects: a 3xx is a wrong URL
            problem = problem_of(response)
            self.fail(problem, code=2 if problem.get("code") in bad_input else 1)
        return response.json() if response.content else None

    def fail(self, problem: dict[str, Any], code: int = 1) -> NoReturn:
        if self.as_json:
            print_json({"ok": False, "error": problem})
        else:
            err().print(f"[red]error[/] {problem.get('code')}: {problem.get('detail', '')}")
        raise typer.Exit(code)
