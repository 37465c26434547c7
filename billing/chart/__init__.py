"""Accounts by role: code names what an account is for, a chart pack says which account it is.

A posting never spells an account number. It asks :func:`account_for` for the account that
plays a role — the main safe, the drawer of desk 3, the clearing account of a provider, the
output VAT at 8 % — and the chart pack of the deployment's accounting regime
(``settings.ACCOUNTING_REGIME``) answers with a posting-level code:

* ``tt24_2024`` (default): Circular 24/2024/TT-BTC, the regime of public non-business
  units (đơn vị sự nghiệp công lập), i.e. public hospitals — :mod:`billing.chart.tt24_2024`;
* ``tt99_2025``: Circular 99/2025/TT-BTC, the enterprise regime that replaced Circular
  200/2014/TT-BTC from 2026-01-01, for private hospitals — :mod:`billing.chart.tt99_2025`.

Each pack's module cites, per account, the appendix entry its mapping rests on.

The upper-case names below (``MAIN_CASH``, ``PATIENT_RECEIVABLE``, …) are shorthands kept
for callers written before roles existed: each resolves, at the time it is read, to
``account_for`` of its role under the current regime.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billing.chart.packs import AccountRole, ChartAccount, ChartPack, UnmappedRole
from billing.chart.tt24_2024 import PACK as TT24_2024
from billing.chart.tt99_2025 import PACK as TT99_2025

__all__ = [
    "PACKS",
    "AccountRole",
    "ChartAccount",
    "ChartPack",
    "UnmappedRole",
    "account_for",
    "current_pack",
    "pack_for",
]

PACKS: dict[str, ChartPack] = {pack.regime: pack for pack in (TT24_2024, TT99_2025)}
DEFAULT_REGIME = TT24_2024.regime


def pack_for(regime: str) -> ChartPack:
    """The chart pack of ``regime``; an unknown regime is a configuration error."""
    try:
        return PACKS[regime]
    except KeyError:
        raise ImproperlyConfigured(
            f"ACCOUNTING_REGIME={regime!r} is not a chart pack; choose one of {sorted(PACKS)}."
        ) from None


def current_pack() -> ChartPack:
    """The chart pack of this deployment (``settings.ACCOUNTING_REGIME``)."""
    return pack_for(getattr(settings, "ACCOUNTING_REGIME", DEFAULT_REGIME))


def account_for(
    role: AccountRole,
    *,
    provider: str | None = None,
    rate: str | None = None,
    drawer: int | None = None,
) -> str:
    """The posting-level account code that plays ``role`` under the deployment's regime.

    Dimensions: ``provider`` for :attr:`AccountRole.CLEARING` (``"stripe"``, ``"vietqr"``),
    ``rate`` for :attr:`AccountRole.OUTPUT_VAT` (``"5"``, ``"8"``, ``"10"``), ``drawer``
    (the desk's number, 1, 2, …) for :attr:`AccountRole.DRAWER`. A role the pack does not
    map, or a missing dimension, raises :class:`UnmappedRole` — a programming or
    configuration error, never a client's."""
    return current_pack().code_for(role, provider=provider, rate=rate, drawer=drawer)


# The shorthands of callers written before roles: name -> (role, dimensions).
_SHORTHANDS: dict[str, tuple[AccountRole, dict[str, Any]]] = {
    "MAIN_CASH": (AccountRole.MAIN_SAFE, {}),
    "BANK": (AccountRole.BANK, {}),
    "CASH_IN_TRANSIT": (AccountRole.CASH_IN_TRANSIT, {}),
    "CASH_TRANSFER": (AccountRole.CASH_TRANSFER, {}),
    "STRIPE_CLEARING": (AccountRole.CLEARING, {"provider": "stripe"}),
    "VIETQR_CLEARING": (AccountRole.CLEARING, {"provider": "vietqr"}),
    "PATIENT_RECEIVABLE": (AccountRole.PATIENT_RECEIVABLE, {}),
    "INSURANCE_RECEIVABLE": (AccountRole.INSURANCE_RECEIVABLE, {}),
    "CASH_SHORTAGE": (AccountRole.CASH_SHORTAGE, {}),
    "CASH_OVERAGE": (AccountRole.CASH_OVERAGE, {}),
    "SUSPENSE": (AccountRole.SUSPENSE, {}),
    "DEPOSIT_LIABILITY": (AccountRole.PATIENT_ADVANCES, {}),
    "REFUND_OWED": (AccountRole.REFUNDS_OWED, {}),
    "OWNER_EQUITY": (AccountRole.OWNER_EQUITY, {}),
    "PHARMACY_REVENUE": (AccountRole.PHARMACY_REVENUE, {}),
    "SERVICE_REVENUE": (AccountRole.SERVICE_REVENUE, {}),
    "PROVIDER_FEES": (AccountRole.PROVIDER_FEES, {}),
}


def __getattr__(name: str) -> Any:
    try:
        role, dimensions = _SHORTHANDS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return account_for(role, **dimensions)
