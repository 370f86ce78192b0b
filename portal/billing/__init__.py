"""Money: companies, their ledger, proformas and payments, invoices and credit notes, writers'
earnings and payouts, the agency's figures (see portal/billing/models.py for the model)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Check the money settings and let the money follow the orders' moves (connected once per
    process: blinker keeps one receiver per function)."""
    from config import MissingSetting
    from portal.billing.money import percent_to_rate
    from portal.billing.settlement import on_order_moved
    from portal.orders.signals import order_moved

    try:
        app.config["VAT_RATE"] = percent_to_rate(str(app.config["AGENCY_VAT_RATE"]))
    except ValueError:
        raise MissingSetting("AGENCY_VAT_RATE must be a percentage like 18, or 0: "
                             f"{app.config['AGENCY_VAT_RATE']!r}") from None
    order_moved.connect(on_order_moved, weak=False)
