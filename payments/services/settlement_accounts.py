"""The ledger accounts settlement and reconciliation post to, asked for by role at the time
of posting: the deployment's chart pack says which account plays each role."""

from __future__ import annotations

from billing.chart import AccountRole, account_for


def bank() -> str:
    """The hospital's receiving bank account."""
    return account_for(AccountRole.BANK)


def clearing(provider: str) -> str:
    """What a provider owes us until it pays out (``stripe``, ``vietqr``)."""
    return account_for(AccountRole.CLEARING, provider=provider)


def cash_in_transit() -> str:
    """Money on its way to the bank account: the safe's deposits, Stripe's payouts."""
    return account_for(AccountRole.CASH_IN_TRANSIT)


def main_safe() -> str:
    return account_for(AccountRole.MAIN_SAFE)


def provider_fees() -> str:
    return account_for(AccountRole.PROVIDER_FEES)


def suspense() -> str:
    return account_for(AccountRole.SUSPENSE)


def cash_shortage() -> str:
    """Money expected that never came, pending management's decision."""
    return account_for(AccountRole.CASH_SHORTAGE)


def cash_overage() -> str:
    """Money that came that nobody claims, pending management's decision."""
    return account_for(AccountRole.CASH_OVERAGE)


def in_transit_accounts() -> dict[str, str]:
    """The holding accounts the summary reports besides the clearing accounts."""
    return {"cash_in_transit": cash_in_transit()}
