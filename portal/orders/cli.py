"""`flask orders …`: the scheduled order jobs, run by hand or from cron, over the same services
the mail worker calls every minute."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

orders_cli = AppGroup("orders", help="Work on orders: auto-approval, reminders, counts.")


@orders_cli.command("auto-approve")
def auto_approve_command() -> None:
    """Approve the deliveries left without review for AUTO_APPROVE_DAYS days."""
    from portal.orders.service import auto_approve_due

    count = auto_approve_due()
    db.session.commit()
    click.echo(f"auto-approved {count} order(s)")


@orders_cli.command("reminders")
def reminders_command() -> None:
    """Queue the deadline, overdue and review reminders that are due (each goes out once)."""
    from portal.orders.jobs import send_reminders

    looked_at = send_reminders()
    db.session.commit()
    click.echo(f"reminders: {looked_at} order(s) looked at")


@orders_cli.command("recount")
def recount_command() -> None:
    """Count the orders per status again, from the orders themselves (after a bulk load that
    bypassed the services, or a repair by hand); each count that differed is logged."""
    from portal.orders.status_counts import counted, recount

    corrected = recount()
    db.session.commit()
    click.echo(", ".join(f"{status.value}: {count}" for status, count in counted().items()))
    click.echo(f"order counts: {corrected} corrected")


@orders_cli.command("index-texts")
@click.option("--batch", default=500, show_default=True, help="Deliveries read at a time.")
def index_texts_command(batch: int) -> None:
    """Rebuild the index of the agency's texts that the originality check looks up, from
    every delivery (after upgrading: the migration leaves it empty). One transaction."""
    from portal.orders.originality import reindex

    deliveries, rows = reindex(batch=batch)
    db.session.commit()
    click.echo(f"indexed {deliveries} deliveries ({rows} phrases)")
