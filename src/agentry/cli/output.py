"""Consoles for CLI output, made on first use.

Importing rich costs about 0.1 s of CPU, which `--help` and `--json` runs never need. When stdout
is not a terminal, tables get a wide console so scripts and `make` targets see whole ids.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_PIPE_WIDTH = 1000


@functools.cache
def out() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)


@functools.cache
def err() -> Console:
    # Error lines carry paths and codes that scripts grep for: never wrap them.
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def table(*columns: str) -> Table:
    from rich.table import Table

    return Table(*columns)


def group(help: str) -> typer.Typer:
    """A command group. Plain help text: rendering it with rich would triple `--help`'s cost."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
