"""The quote: words times the tier's price per word, plus a surcharge for a rushed deadline.

Everything is an integer of the currency's minor unit, computed on the server. The figures are
frozen on the order at submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from portal.extensions import utcnow
from portal.orders.models import Tier


@dataclass(frozen=True)
class Quote:
    words: int
    price_per_word: int
    base: int
    rush_surcharge: int
    total: int
    writer_pay: int
    currency: str
    is_rush: bool


def _percent_of(amount: int, percent: int) -> int:
    # Half up, in integers: money never goes through floats.
    return (amount * percent + 50) // 100


def is_rush(deadline: datetime, now: datetime | None = None) -> bool:
    window = timedelta(hours=current_app.config["RUSH_WINDOW_HOURS"])
    return deadline - (now or utcnow()) < window


def quote(tier: Tier, words_max: int, deadline: datetime, now: datetime | None = None) -> Quote:
    """Price an order of up to `words_max` words in `tier`, due at `deadline`.

    The client pays for the top of the word range: the writer may deliver anywhere inside it.
    """
    base = words_max * tier.client_price_per_word
    rush = is_rush(deadline, now)
    surcharge = _percent_of(base, current_app.config["RUSH_SURCHARGE_PERCENT"]) if rush else 0
    writer_pay = words_max * tier.writer_pay_per_word
    if rush:
        writer_pay += _percent_of(writer_pay, current_app.config["RUSH_SURCHARGE_PERCENT"])
    return Quote(
        words=words_max,
        price_per_word=tier.client_price_per_word,
        base=base,
        rush_surcharge=surcharge,
        total=base + surcharge,
        writer_pay=writer_pay,
        currency=current_app.config["AGENCY_CURRENCY"],
        is_rush=rush,
    )
