"""Scheduled money work (the mail worker runs it every hour) and `flask billing …`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

billing_cli = AppGroup(
    "billing", help="Monthly invoices of postpaid companies, ledger checks, the finance figures.")


def run_billing_jobs() -> int:
    """Issue the monthly invoices that are due (each committed with its email); returns how
    many."""
    from portal.billing.invoices import invoice_postpaid_months

    issued = invoice_postpaid_months()
    db.session.commit()
    return issued


@billing_cli.command("invoice-months")
def invoice_months_command() -> None:
    """Issue last month's invoice of every postpaid company that has none yet."""
    click.echo(f"monthly invoices issued: {run_billing_jobs()}")


@billing_cli.command("check")
def check_command() -> None:
    """Check that every company's stored balance and reserved amount equal its ledger's
    sums; exits with 1 and lists those that do not."""
    from portal.billing.ledger import disagreements

    found = disagreements()
    for company_id, (stored, summed) in sorted(found.items()):
        click.echo(f"company {company_id}: stored {stored}, ledger {summed}", err=True)
    click.echo("ledger: every company agrees" if not found else f"ledger: {len(found)} differ")
    raise SystemExit(1 if found else 0)


@billing_cli.command("refigure")
def refigure_command() -> None:
    """Compute the finance page's figures again from the invoices, payments, earnings and
    companies (after a restore or rows written by hand), log each kept figure that differed
    and store them."""
    from portal.billing.figures import Busy, refigure

    try:
        differed = refigure()
    except Busy:
        raise click.ClickException("finance figures: changes under way, try again") from None
    db.session.commit()
    click.echo(f"finance figures: {differed} corrected")
