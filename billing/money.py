"""Money: an integer count of a currency's smallest unit, and the currency.

VND has no minor unit, so 180,000 ₫ is ``Money(180000, "VND")``. No float ever becomes
money: the constructor refuses anything that is not an ``int`` (``bool`` included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Self

from billing.errors import CurrencyMismatch

# ISO 4217 minor-unit exponents for the currencies the hospital may see.
MINOR_UNIT_EXPONENT: dict[str, int] = {"VND": 0, "USD": 2, "EUR": 2, "JPY": 0, "KRW": 0}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def round_half_up(value: Decimal) -> int:
    """A rate-derived amount to whole minor units, half up (the rounding rule of domain.md §1)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError(f"Money amount must be an int of minor units, not {type(self.amount)}")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ValueError(f"Currency must be an upper-case ISO 4217 code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}.",
                detail={"currencies": [self.currency, other.currency]},
            )
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        if type(factor) is not int:
            raise TypeError("Money can only be multiplied by an int (a quantity)")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def format(self) -> str:
        """Human form: ``180.000 ₫`` for VND (Vietnamese thousands separator)."""
        if self.currency == "VND":
            return f"{self.amount:,}".replace(",", ".") + " ₫"
        exponent = MINOR_UNIT_EXPONENT.get(self.currency, 2)
        whole, frac = divmod(abs(self.amount), 10**exponent)
        sign = "-" if self.amount < 0 else ""
        frac_part = f".{frac:0{exponent}d}" if exponent else ""
        return f"{sign}{whole:,}{frac_part} {self.currency}"

    def __str__(self) -> str:
        return self.format()
