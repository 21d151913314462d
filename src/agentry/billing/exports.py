"""A statement as files: JSON, CSV, Parquet and a PNG chart of daily spend.

Every file is a pure function of the statement (no wall-clock time, no random names, fixed
metadata), so re-running a month writes the same bytes unless an adjustment was added. pyarrow
and matplotlib load only here (the CLI imports this module when it writes files).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from agentry.billing.schemas import Statement

FILES = ("statement.json", "statement.csv", "statement.parquet", "daily-spend.png")
CSV_COLUMNS = (
    "section",
    "agent",
    "agent_id",
    "model",
    "kind",
    "unit_price",
    "events",
    "quantity",
    "amount",
    "reason",
)


def write_statement(statement: Statement, directory: Path) -> list[Path]:
    """The four files in `directory` (created); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    writers = (_json, _csv, _parquet, _png)
    paths = []
    for name, write in zip(FILES, writers, strict=True):
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        write(statement, tmp)
        tmp.replace(path)  # a reader never sees half a file
        paths.append(path)
    return paths


def _json(statement: Statement, path: Path) -> None:
    path.write_text(statement.model_dump_json(indent=2) + "\n", encoding="utf-8")


def csv_text(statement: Statement) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for line in statement.lines:
        out.writerow(
            (
                "usage",
                line.agent,
                line.agent_id,
                line.model,
                line.kind,
                f"{line.unit_price:f}",
                line.events,
                line.quantity,
                f"{line.amount:f}",
                "",
            )
        )
    for adj in statement.adjustments:
        out.writerow(("adjustment", "", "", "", "", "", "", "", f"{adj.amount:f}", adj.reason))
    for label, value in (
        ("usage_total", statement.usage_total),
        ("adjustments_total", statement.adjustments_total),
        ("total", statement.total),
        ("total_due", statement.total_due),
    ):
        out.writerow((label, "", "", "", "", "", "", "", f"{value:f}", ""))
    return buffer.getvalue()


def _csv(statement: Statement, path: Path) -> None:
    path.write_text(csv_text(statement), encoding="utf-8")


def _parquet(statement: Statement, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(38, 9)
    lines = statement.lines
    table = pa.table(
        {
            "agent": pa.array([x.agent for x in lines], pa.string()),
            "agent_id": pa.array([x.agent_id for x in lines], pa.string()),
            "model": pa.array([x.model for x in lines], pa.string()),
            "kind": pa.array([x.kind for x in lines], pa.string()),
            "unit_price": pa.array([x.unit_price for x in lines], money),
            "events": pa.array([x.events for x in lines], pa.int64()),
            "quantity": pa.array([x.quantity for x in lines], pa.int64()),
            "amount": pa.array([x.amount for x in lines], money),
        }
    )
    meta: dict[str, Any] = {
        "tenant_id": statement.tenant_id,
        "month": statement.month,
        "currency": statement.currency,
        "usage_total": f"{statement.usage_total:f}",
        "adjustments_total": f"{statement.adjustments_total:f}",
        "total": f"{statement.total:f}",
        "total_due": f"{statement.total_due:f}",
    }
    table = table.replace_schema_metadata({f"agentry.{k}": v for k, v in meta.items()})
    pq.write_table(table, path, compression="zstd")


def _png(statement: Statement, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax = fig.subplots()
    days = [d.day.day for d in statement.daily]
    ax.bar(days, [float(d.amount) for d in statement.daily], color="#3b6ea8")
    ax.set_title(f"{statement.tenant_slug} · daily spend · {statement.month}")
    ax.set_xlabel("day")
    ax.set_ylabel(statement.currency)
    ax.set_xlim(0.4, len(days) + 0.6)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
