"""`flask messaging …`: repairs of the unread counters (portal.messaging.unread) and of the
stored HTML of messages (portal.messaging.service.rerender_batch)."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from portal.extensions import db

log = logging.getLogger("portal.messaging")

messaging_cli = AppGroup("messaging", help="Conversations: unread counters, stored HTML.")


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


@messaging_cli.command("rerender")
@click.option("--all", "everything", is_flag=True,
              help="Every message, not only those of an older renderer.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Messages read and committed at a time.")
def rerender_command(everything: bool, batch_size: int) -> None:
    """Render the stored HTML of the messages an older renderer made (below
    MESSAGE_HTML_VERSION) again, in batches by id, one transaction each; prints how many
    changed. Run again, it changes nothing."""
    from portal.messaging.service import rerender

    read, changed = rerender(everything=everything, size=batch_size)
    log.info("messages rendered again: %d, HTML changed: %d", read, changed)
    click.echo(f"messages rendered again: {read}, HTML changed: {changed}")
