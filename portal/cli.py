"""Command-line entry points (`flask …`), thin layers over the services the views use."""

from __future__ import annotations

import os
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.extensions import db

mail_cli = AppGroup(
    "mail", help="Send the outbox, run the mail worker, the local SMTP sink or the inbound server."
)


@mail_cli.command("send-pending")
def send_pending_command() -> None:
    """Make one pass over the outbox and print what happened."""
    from portal.notifications.dispatcher import send_pending

    report = send_pending()
    click.echo(
        f"claimed {report.claimed}, sent {report.sent}, retry later {report.retried}, "
        f"failed {report.failed}"
    )
    for error in report.errors:
        click.echo(f"  error: {error}", err=True)


@mail_cli.command("worker")
@click.option("--interval", type=float, default=None, help="Seconds between passes.")
def worker_command(interval: float | None) -> None:
    """Send due emails in a loop until stopped (SIGTERM or Ctrl-C)."""
    from portal.notifications.worker import run_worker

    app = current_app._get_current_object()
    run_worker(app, interval=interval or app.config["MAIL_WORKER_INTERVAL"], echo=click.echo)


def _serve_until_stopped(controller) -> None:
    """Wait for SIGTERM or Ctrl-C, then stop the server `controller` runs."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()


@mail_cli.command("sink")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8025, show_default=True)
@click.option("--maildir", default=None, help="Where to keep the emails (default MAILBOX_DIR).")
def sink_command(host: str, port: int, maildir: str | None) -> None:
    """Run a local SMTP server that keeps every email it receives (development only)."""
    from portal.notifications.sink import start_sink

    directory = maildir or current_app.config["MAILBOX_DIR"]
    controller = start_sink(directory, host, port, echo=click.echo)
    click.echo(f"mail sink: listening on {host}:{port}, keeping emails in {directory}")
    _serve_until_stopped(controller)


@mail_cli.command("inbound")
@click.option("--host", default=None, help="Address to listen on (default INBOUND_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default INBOUND_PORT).")
def inbound_command(host: str | None, port: int | None) -> None:
    """Receive replies to notification emails over SMTP and post them on their order."""
    import logging

    from portal.notifications.inbound import start_inbound
    from portal.notifications.replies import reply_domain

    app = current_app._get_current_object()
    host = host or app.config["INBOUND_HOST"]
    port = port or app.config["INBOUND_PORT"]
    if not logging.getLogger().handlers:
        # One line per reply posted or refused, on stderr (where a service manager collects it).
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    controller = start_inbound(app, host, port)
    click.echo(f"mail inbound: listening on {host}:{port} for reply+…@{reply_domain()}")
    _serve_until_stopped(controller)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no account at all.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo agency (idempotent: an existing demo is left as it is)."""
    import sqlalchemy as sa

    from portal.accounts.models import User
    from portal.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_demo

    if if_empty and db.session.scalar(sa.select(User.id).limit(1)) is not None:
        click.echo("demo data: skipped, the database already has accounts")
    else:
        created = seed_demo()
        db.session.commit()
        click.echo(f"demo data: {'loaded' if created else 'already present'}")
    demo = db.session.scalars(
        sa.select(User).where(User.email.in_([email for email, *_ in DEMO_PEOPLE]))
        .order_by(User.role, User.email)
    ).all()
    if demo:
        click.echo(f"demo logins (password {DEMO_PASSWORD}):")
        for user in demo:
            click.echo(f"  {user.role.value:8} {user.email}")


@click.command("dev-server")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@click.option("--smtp-port", type=int, default=lambda: int(os.environ.get("SMTP_PORT", "8025")))
@click.option("--inbound-port", type=int,
              default=lambda: int(os.environ.get("INBOUND_PORT", "8026")))
def dev_server_command(port: int, smtp_port: int, inbound_port: int) -> None:
    """Serve the portal with its mail worker, a local SMTP sink and the inbound server for
    replies; Ctrl-C stops all."""
    from portal.devserver import run

    raise SystemExit(run(port, smtp_port, inbound_port))


def register(app: Flask) -> None:
    from portal.billing.jobs import billing_cli
    from portal.messaging.cli import messaging_cli
    from portal.ops.cli import backup_cli, upgrade_command
    from portal.orders.cli import orders_cli

    app.cli.add_command(billing_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(messaging_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(upgrade_command)
    app.cli.add_command(orders_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(dev_server_command)
