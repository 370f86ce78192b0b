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
    bypassed the services, or a repair by hand)."""
    from portal.orders.status_counts import counted, recount

    recount()
    db.session.commit()
    click.echo(", ".join(f"{status.value}: {count}" for status, count in counted().items()))
