"""The agent name rule, shared by the manifest and the CLI (which must not import pydantic)."""

from __future__ import annotations

import re

AGENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
AGENT_NAME_RULE = "1-48 chars of a-z, 0-9 and '_', starting with a letter"


def agent_name_problem(name: str) -> str | None:
    """Why `name` is not a valid agent name, or None when it is."""
    if AGENT_NAME.match(name):
        return None
    hint = (
        f" (try '{name.replace('-', '_')}')"
        if "-" in name and AGENT_NAME.match(name.replace("-", "_"))
        else ""
    )
    return f"agent name {name!r} is invalid: use {AGENT_NAME_RULE}{hint}"
