"""`flask messaging …`: repairs of the unread counters, over portal.messaging.unread."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

messaging_cli = AppGroup("messaging", help="Conversations: unread counters.")


@messaging_cli.command("recount")
@click.option("--email", default=None, metavar="ADDRESS",
              help="Only this person's counters (default: everyone's).")
def recount_command(email: str | None) -> None:
    """Compare the unread counters with the messages they count, log each difference and put
    it right; prints how many differed. One transaction."""
    from portal.auth.service import find_user_by_email
    from portal.messaging.unread import repair

    user = None
    if email is not None:
        user = find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no account with the address {email}")
    corrected = repair(user)
    db.session.commit()
    whose = user.email if user is not None else "everyone"
    click.echo(f"unread counters of {whose}: {corrected} corrected")
