"""The ledger accounts settlement and reconciliation post to, asked for by what they are
for, at the time of posting (the deployment's chart says which account plays each role)."""

from __future__ import annotations

from billing import chart


def bank() -> str:
    """The hospital's receiving bank account."""
    return chart.BANK


def clearing(provider: str) -> str:
    """What a provider owes us until it pays out (``stripe``, ``vietqr``)."""
    return {"stripe": chart.STRIPE_CLEARING, "vietqr": chart.VIETQR_CLEARING}[provider]


def cash_in_transit() -> str:
    """Money on its way to the bank account: the safe's deposits, Stripe's payouts."""
    return chart.CASH_IN_TRANSIT


def main_safe() -> str:
    return chart.MAIN_CASH


def provider_fees() -> str:
    return chart.PROVIDER_FEES


def suspense() -> str:
    return chart.SUSPENSE


def cash_shortage() -> str:
    """Money expected that never came, pending management's decision."""
    return chart.CASH_OVER_SHORT


def cash_overage() -> str:
    """Money that came that nobody claims, pending management's decision."""
    return chart.CASH_OVER_SHORT


def in_transit_accounts() -> dict[str, str]:
    """The holding accounts the summary reports besides the clearing accounts."""
    return {"cash_in_transit": cash_in_transit()}
