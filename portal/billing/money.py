"""Arithmetic on amounts: integers of the currency's minor unit, rounded half up, in integers.

Nothing here (nor anywhere in portal/billing) uses a float; tests/unit/test_money_no_float.py
reads the code to keep it so.
"""

from __future__ import annotations

from dataclasses import dataclass

# VAT rates are kept in hundredths of a percent: 1800 is 18 %.
RATE_SCALE = 10_000


def share(amount: int, numerator: int, denominator: int) -> int:
    """amount * numerator / denominator, rounded half away from zero, in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    product = amount * numerator
    sign = -1 if product < 0 else 1
    return sign * ((abs(product) * 2 + denominator) // (denominator * 2))


@dataclass(frozen=True)
class Split:
    """An amount VAT included, split into its part without VAT and its VAT."""

    excl_vat: int
    vat: int
    total: int


def split_vat(total: int, rate: int) -> Split:
    """The VAT inside a price that includes it, at `rate` hundredths of a percent (the agency's
    prices are VAT included): vat = total * rate / (10000 + rate), rounded half up."""
    if rate <= 0:
        return Split(total, 0, total)
    vat = share(total, rate, RATE_SCALE + rate)
    return Split(total - vat, vat, total)


def percent_to_rate(percent: str | int) -> int:
    """A rate written by a person ("18", "18.5", "18,5") in hundredths of a percent, read as
    text so that no float is involved. Raises ValueError on anything else."""
    text = str(percent).strip().replace(",", ".")
    whole, _dot, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 2:
        raise ValueError(f"not a percentage: {percent!r}")
    return int(whole) * 100 + int((fraction + "00")[:2])
