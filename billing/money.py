"""Money: an integer count of a currency's smallest unit, and the currency.

VND has no minor unit, so 180,000 ₫ is ``Money(180000, "VND")``. No float ever becomes
money: the constructor refuses anything that is not an ``int`` (``bool`` included).

The one vocabulary of amounts: the positive-amount check every service runs
(:func:`positive_amount`), the one VND formatter (:func:`format_vnd`) and the currency column
next to every amount (:class:`CurrencyField`, the hospital's ``HOSPITAL_CURRENCY`` by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Self

from django.conf import settings
from django.db import models

from billing.errors import CurrencyMismatch, InvalidAmount
from config.errors import DomainError

# ISO 4217 minor-unit exponents for the currencies the hospital may see.
MINOR_UNIT_EXPONENT: dict[str, int] = {"VND": 0, "USD": 2, "EUR": 2, "JPY": 0, "KRW": 0}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def positive_amount(
    amount: object,
    *,
    param: str = "amount",
    error: type[DomainError] = InvalidAmount,
    message: str | None = None,
) -> int:
    """``amount`` if it is a positive ``int`` of minor units (``bool`` and floats refused),
    otherwise ``error`` (``invalid_amount`` unless the caller's operation has its own code,
    e.g. ``invalid_refund``) naming ``param``."""
    if type(amount) is not int or amount <= 0:
        raise error(message, param=param)
    return amount


def format_vnd(amount: int, *, symbol: bool = True) -> str:
    """Whole dong with the Vietnamese thousands separator: ``180.000 ₫`` (``180.000`` without
    the symbol, where the text names the unit itself: "180.000 đồng")."""
    digits = f"{amount:,}".replace(",", ".")
    return f"{digits} ₫" if symbol else digits


class CurrencyField(models.CharField):
    """The ISO 4217 code stored next to an amount; the hospital's currency by default.

    It deconstructs as the plain ``CharField(max_length=3, default=...)`` the migrations
    already hold, so adopting it changes no migration."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", settings.HOSPITAL_CURRENCY)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs

    def clone(self) -> CurrencyField:
        # A field declared without a default (``default=NOT_PROVIDED``) deconstructs without
        # one, and must not get the hospital's when the migration state copies it.
        _, _, args, kwargs = self.deconstruct()
        kwargs.setdefault("default", models.NOT_PROVIDED)
        return self.__class__(*args, **kwargs)


def round_half_up(value: Decimal) -> int:
    """A rate-derived amount to whole minor units, half up (the fund's share of each line rounds
    half up; the patient pays the rest)."""
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
            return format_vnd(self.amount)
        exponent = MINOR_UNIT_EXPONENT.get(self.currency, 2)
        whole, frac = divmod(abs(self.amount), 10**exponent)
        sign = "-" if self.amount < 0 else ""
        frac_part = f".{frac:0{exponent}d}" if exponent else ""
        return f"{sign}{whole:,}{frac_part} {self.currency}"

    def __str__(self) -> str:
        return self.format()
