"""Money: companies, their ledger, proformas and payments, invoices and credit notes, writers'
earnings and payouts, the agency's figures (see portal/billing/models.py for the model)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Check the money settings (the money follows the orders' moves through portal.signals)."""
    from config import MissingSetting
    from portal.billing.money import percent_to_rate

    try:
        app.config["VAT_RATE"] = percent_to_rate(str(app.config["AGENCY_VAT_RATE"]))
    except ValueError:
        raise MissingSetting("AGENCY_VAT_RATE must be a percentage like 18, or 0: "
                             f"{app.config['AGENCY_VAT_RATE']!r}") from None
