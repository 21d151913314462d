"""`agentry`: one CLI for developers, agent developers and operators."""

from __future__ import annotations

import typer

from agentry.cli import agent, db, deploy, dev, invoke, keys, ops, runtime, serve, worker

app = typer.Typer(
    help="Agentry: Agent-as-a-Service platform.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(dev.app, name="dev")
app.add_typer(db.app, name="db")
app.add_typer(runtime.app, name="runtime")
app.add_typer(agent.app, name="agent")
app.add_typer(ops.app, name="ops")
app.add_typer(deploy.app, name="deploy")
app.add_typer(keys.tenant_app, name="keys")
app.command("serve")(serve.serve)
app.command("invoke")(invoke.invoke)
app.command("worker")(worker.worker)

if __name__ == "__main__":
    app()
