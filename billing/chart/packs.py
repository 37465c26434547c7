"""What a chart pack is: the posting-level accounts of one accounting regime and the role
each of them plays."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class AccountRole(StrEnum):
    """What an account is for, whatever its number under a regime."""

    MAIN_SAFE = "main_safe"  # the hospital's main cash safe (két tiền mặt)
    DRAWER = "drawer"  # the cash drawer of one cashier desk; dimension: drawer number
    BANK = "bank"  # the bank account payments are received on (tài khoản thu)
    CLEARING = "clearing"  # money a provider owes us until it pays out; dimension: provider
    CASH_IN_TRANSIT = "cash_in_transit"  # cash handed to the bank, not yet on the statement
    # Cash sent from a drawer or the safe that the receiver has not counted in yet: still
    # the hospital's cash (never money in transit to a bank).
    CASH_TRANSFER = "cash_transfer"
    PATIENT_RECEIVABLE = "patient_receivable"
    INSURANCE_RECEIVABLE = "insurance_receivable"  # owed by the health-insurance fund
    SERVICE_REVENUE = "service_revenue"  # examination and treatment services
    PHARMACY_REVENUE = "pharmacy_revenue"  # medicines and supplies sold
    OUTPUT_VAT = "output_vat"  # dimension: rate
    PATIENT_ADVANCES = "patient_advances"  # deposits (tạm ứng) held for an encounter
    REFUNDS_OWED = "refunds_owed"  # refunds owed to patients, not yet paid
    CASH_SHORTAGE = "cash_shortage"  # cash missing at a count, pending resolution
    CASH_OVERAGE = "cash_overage"  # cash found over at a count, pending resolution
    SUSPENSE = "suspense"  # money received that could not be applied yet
    PROVIDER_FEES = "provider_fees"  # payment providers' fees
    OWNER_EQUITY = "owner_equity"  # the capital a hospital opens its books with


class UnmappedRole(LookupError):
    """A role (or a role's dimension) the chart pack has no account for: a programming or
    configuration error, never a client's."""


@dataclass(frozen=True, slots=True)
class ChartAccount:
    """One posting-level account of a pack: ``basis`` cites where the regime defines it."""

    code: str
    name: str
    type: str  # billing.models.AccountType value
    basis: str
    role: AccountRole | None = None
    # The dimension value this account stands for: the provider, the VAT rate.
    dimension: str = ""


@dataclass(frozen=True, slots=True)
class DrawerNumbering:
    """Drawers are numbered detail accounts of the cash account: ``prefix`` + the drawer's
    number + ``offset``, on ``width`` digits (numeric codes only, as accounting software
    imports them)."""

    prefix: str
    width: int
    offset: int
    name: str  # formatted with the terminal's code and name
    basis: str

    @property
    def capacity(self) -> int:
        return 10**self.width - 1 - self.offset

    def code(self, number: int) -> str:
        if not 1 <= number <= self.capacity:
            raise UnmappedRole(f"Drawer number {number} is outside 1..{self.capacity}.")
        return f"{self.prefix}{number + self.offset:0{self.width}d}"

    def number(self, code: str) -> int | None:
        """The drawer number of ``code``, or None when it is not a drawer's account."""
        match = re.fullmatch(rf"{re.escape(self.prefix)}(\d{{{self.width}}})", code)
        if match is None:
            return None
        number = int(match.group(1)) - self.offset
        return number if 1 <= number <= self.capacity else None


@dataclass(frozen=True, slots=True)
class ChartPack:
    regime: str
    title: str
    source: str  # the legal text, its appendix, and what was checked
    accounts: tuple[ChartAccount, ...]
    drawers: DrawerNumbering
    _by_role: Mapping[tuple[AccountRole, str], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_role: dict[tuple[AccountRole, str], str] = {}
        codes: set[str] = set()
        for account in self.accounts:
            if account.code in codes:
                raise ValueError(f"{self.regime}: account {account.code} listed twice")
            if self.drawers.number(account.code) is not None:
                raise ValueError(f"{self.regime}: {account.code} collides with a drawer")
            codes.add(account.code)
            if account.role is not None:
                key = (account.role, account.dimension)
                if key in by_role:
                    raise ValueError(f"{self.regime}: role {key} mapped twice")
                by_role[key] = account.code
        object.__setattr__(self, "_by_role", by_role)

    def code_for(
        self,
        role: AccountRole,
        *,
        provider: str | None = None,
        rate: str | None = None,
        drawer: int | None = None,
    ) -> str:
        if role is AccountRole.DRAWER:
            if drawer is None:
                raise UnmappedRole("The drawer role needs the drawer's number.")
            return self.drawers.code(drawer)
        dimension = {AccountRole.CLEARING: provider, AccountRole.OUTPUT_VAT: rate}.get(role, "")
        if dimension is None:
            raise UnmappedRole(f"The {role} role needs its dimension (provider or rate).")
        try:
            return self._by_role[(role, dimension)]
        except KeyError:
            raise UnmappedRole(
                f"{self.regime} maps no account to {role}"
                + (f" for {dimension!r}" if dimension else "")
            ) from None

    def role_of(self, code: str) -> tuple[AccountRole, dict[str, object]] | None:
        """The role ``code`` plays in this pack, with its dimension, or None."""
        number = self.drawers.number(code)
        if number is not None:
            return AccountRole.DRAWER, {"drawer": number}
        for (role, dimension), mapped in self._by_role.items():
            if mapped == code:
                if role is AccountRole.CLEARING:
                    return role, {"provider": dimension}
                if role is AccountRole.OUTPUT_VAT:
                    return role, {"rate": dimension}
                return role, {}
        return None

    def account(self, code: str) -> ChartAccount | None:
        return next((a for a in self.accounts if a.code == code), None)

    @property
    def providers(self) -> list[str]:
        return [a.dimension for a in self.accounts if a.role is AccountRole.CLEARING]
