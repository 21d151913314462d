"""The options the API-calling commands share, declared once as Annotated types (the default
stays in the signature: `url: Url = None, key: OperatorKey = None, as_json: Json = False`)."""

from __future__ import annotations

from typing import Annotated

import typer

OPERATOR_KEY_ENV = "AGENTRY_OPERATOR_KEY"
OVERLAP_S = 86400  # how long a rotated key keeps working, unless --overlap says otherwise

Url = Annotated[str | None, typer.Option("--url", help="API base URL (default $AGENTRY_URL).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OperatorKey = Annotated[
    str | None, typer.Option("--key", help=f"Operator key (default ${OPERATOR_KEY_ENV}).")
]
TenantId = Annotated[str | None, typer.Option("--tenant-id", help="Only this tenant (ten_...).")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=500)]
Overlap = Annotated[
    int,
    typer.Option("--overlap", min=0, max=30 * 86400, help="Seconds the old key keeps working."),
]
