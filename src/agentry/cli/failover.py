"""`agentry ops runtime ...`: RUNBOOK-001, runtime-region failover (through the API).

lock → region → verify → release. Every change is audited by the platform. Uses --url/--key,
else AGENTRY_URL and AGENTRY_OPERATOR_KEY (environment or .agentry/dev.env). Exit codes: 0 ok,
1 the platform refused or verification failed, 2 bad usage.
"""

from __future__ import annotations

import time
from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, OperatorKey, Url
from agentry.cli.output import group, out

app = group("Runtime regions: failover lock, switch, verify (RUNBOOK-001).")
KEY_ENV = "AGENTRY_OPERATOR_KEY"


def _api(url: str | None, key: str | None, as_json: bool) -> ApiClient:
    return ApiClient(url, key, KEY_ENV, as_json, prefix="/v1/admin/runtime", timeout=60)


def _show(placement: dict[str, Any], as_json: bool, verb: str = "") -> None:
    if as_json:
        print_json(placement)
        return
    lock = placement.get("lock")
    held = f"locked by {lock['holder']} ({lock['reason']})" if lock else "unlocked"
    out().print(
        f"{verb + ': ' if verb else ''}active runtime region [bold]{placement['active_region']}"
        f"[/] (generation {placement['generation']}; regions {', '.join(placement['regions'])}; "
        f"{held})"
    )


@app.command("status")
def status(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """The active runtime region, the configured regions and the failover lock."""
    _show(_api(url, key, as_json).call("GET", "/placement"), as_json)


@app.command("lock")
def lock(
    reason: str = typer.Option(..., "--reason", help="Why: incident id, outage notice."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Take the failover lock: one operator at a time moves the runtime region."""
    api = _api(url, key, as_json)
    _show(api.call("POST", "/failover-lock", json={"reason": reason}), as_json, "locked")


@app.command("region")
def region(
    name: str = typer.Argument(..., help="The runtime region to serve from, e.g. eu-central-1."),
    force: bool = typer.Option(False, "--force", help="Even if some live versions are missing."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Switch the active runtime region (needs the lock); every replica follows within poll_s."""
    api = _api(url, key, as_json)
    body = {"region": name, "force": force}
    placement = api.call("PUT", "/region", json=body, bad_input=("unknown_runtime_region",))
    _show(placement, as_json, "switched" if placement["changed"] else "unchanged")
    if not as_json:
        out().print(f"every API replica and worker follows within {placement['poll_s']:g} s")


@app.command("verify")
def verify(
    region_name: str = typer.Option(None, "--region", help="Default: the active region."),
    wait: float = typer.Option(
        90.0, "--wait", help="Seconds to keep checking until the region serves (0: once)."
    ),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Check the region serves: versions deployed, endpoints right, reachable, picked up."""
    api = _api(url, key, as_json)
    params = {"region": region_name} if region_name else {}
    deadline = time.monotonic() + wait
    while True:
        result = api.call("GET", "/verify", params=params)
        if result["ok"] or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    if as_json:
        print_json(result)
    else:
        check = result["check"]
        mark = "[green]OK[/]" if result["ok"] else "[red]NOT READY[/]"
        out().print(
            f"{mark} region {check['region']}: data plane {check['data_plane']}, "
            f"applied here {result['applied_here']}, every replica by "
            f"{result['applied_everywhere_by']}"
        )
        for item in check["missing"]:
            out().print(f"  missing: {item}")
        for item in check["endpoints"]:
            out().print(f"  endpoint: {item}")
    raise typer.Exit(0 if result["ok"] else 1)


@app.command("release")
def release(
    force: bool = typer.Option(False, "--force", help="Release another operator's lock."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Release the failover lock."""
    api = _api(url, key, as_json)
    params = {"force": "true"} if force else {}
    _show(api.call("DELETE", "/failover-lock", params=params), as_json, "released")
