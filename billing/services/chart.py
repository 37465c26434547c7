"""Adopting a chart pack: the accounts of the deployment's regime are created, and the
balances of the accounts they replace move to them by reclassification entries.

Nothing posted is rewritten. For each replaced account that holds a balance, one journal
entry dated at the adoption moves it, reference by reference (so an invoice's receivable
or an encounter's deposit keeps its sub-ledger key), to the account that plays the same
role in the new pack; the replaced account is then deactivated (no new line can reach
it), or deleted when nothing was ever posted to it. An account whose role the old chart
does not say (one finance added by hand) is left as it is.

The old chart is recognised by code: the chart the first release loaded (Circular
200/2014 numbering, :data:`FIRST_CHART`) and every other chart pack. The first chart netted
cash over and short in one account: a reference with a debit balance there is a shortage,
one with a credit balance an overage. It kept output VAT in one account; its balance moves
to the 5 % account (medicines, the only taxed sales the first release billed).

Written in SQL on the ledger's columns (no model), so that a data migration can run it at
its point in history as well as a command today.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from billing.chart import PACKS, AccountRole, ChartPack, pack_for

R = AccountRole

# The chart the first release loaded: code -> (role for a debit balance, for a credit
# balance, dimensions).
FIRST_CHART: dict[str, tuple[AccountRole, AccountRole, dict[str, Any]]] = {
    "1111": (R.MAIN_SAFE, R.MAIN_SAFE, {}),
    "1121": (R.BANK, R.BANK, {}),
    "1131": (R.CLEARING, R.CLEARING, {"provider": "stripe"}),
    "1132": (R.CLEARING, R.CLEARING, {"provider": "vietqr"}),
    "1133": (R.CASH_TRANSFER, R.CASH_TRANSFER, {}),
    "1311": (R.PATIENT_RECEIVABLE, R.PATIENT_RECEIVABLE, {}),
    "1312": (R.INSURANCE_RECEIVABLE, R.INSURANCE_RECEIVABLE, {}),
    "1381": (R.CASH_SHORTAGE, R.CASH_OVERAGE, {}),
    "3331": (R.OUTPUT_VAT, R.OUTPUT_VAT, {"rate": "5"}),
    "3388": (R.SUSPENSE, R.SUSPENSE, {}),
    "33881": (R.PATIENT_ADVANCES, R.PATIENT_ADVANCES, {}),
    "33882": (R.REFUNDS_OWED, R.REFUNDS_OWED, {}),
    "4111": (R.OWNER_EQUITY, R.OWNER_EQUITY, {}),
    "5111": (R.PHARMACY_REVENUE, R.PHARMACY_REVENUE, {}),
    "5113": (R.SERVICE_REVENUE, R.SERVICE_REVENUE, {}),
    "6427": (R.PROVIDER_FEES, R.PROVIDER_FEES, {}),
}
# The first release's drawer accounts: the main safe's code, a dot, the terminal's code.
FIRST_CHART_DRAWER = re.compile(r"^1111\.[A-Z0-9-]+$")


@dataclass
class ChartAdoption:
    regime: str
    created: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: dict[str, list[str]] = field(default_factory=dict)  # old code -> new codes
    entries: list[int] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _old_roles(
    code: str, pack: ChartPack
) -> tuple[AccountRole, AccountRole, dict[str, Any]] | None:
    """The role ``code`` played before ``pack``: in the first chart when it split a balance
    by side, else in the target pack itself, in another pack, or in the first chart."""
    first = FIRST_CHART.get(code)
    if first is not None and first[0] is not first[1]:
        return first
    for candidate in (pack, *(p for p in PACKS.values() if p is not pack)):
        found = candidate.role_of(code)
        if found is not None:
            role, dims = found
            if candidate is pack or role is not AccountRole.DRAWER:
                return role, role, dims
    return first


def _target(pack: ChartPack, role: AccountRole, dims: Mapping[str, Any]) -> str:
    return pack.code_for(
        role, provider=dims.get("provider"), rate=dims.get("rate"), drawer=dims.get("drawer")
    )


def _install_accounts(cursor: Any, pack: ChartPack, result: ChartAdoption) -> None:
    currency = settings.HOSPITAL_CURRENCY
    for account in pack.accounts:
        cursor.execute(
            "SELECT id, name, type, is_active FROM billing_account WHERE code = %s", [account.code]
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO billing_account (code, name, type, currency, is_active, description)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [account.code, account.name, account.type, currency, True, account.basis],
            )
            result.created.append(account.code)
        elif (row[1], row[3]) != (account.name, True) or row[2] != account.type:
            cursor.execute(
                "UPDATE billing_account SET name = %s, type = %s, is_active = %s,"
                " description = %s WHERE id = %s",
                [account.name, account.type, True, account.basis, row[0]],
            )
            result.renamed.append(account.code)


def _balances(cursor: Any, account_id: int) -> list[tuple[str, int]]:
    """Net debit balance per reference of one account (credit balances negative)."""
    cursor.execute(
        "SELECT reference, SUM(debit) - SUM(credit) FROM billing_journalline"
        " WHERE account_id = %s GROUP BY reference ORDER BY reference",
        [account_id],
    )
    return [(reference, int(net)) for reference, net in cursor.fetchall() if net]


def _post_reclassification(
    cursor: Any,
    *,
    regime: str,
    source: tuple[int, str, str],
    moves: list[tuple[str, str, int]],
    at: datetime,
) -> int:
    """One entry: each (reference, target code, net debit) leaves the source account for
    the target, on the same reference."""
    source_id, source_code, currency = source
    ops = connection.ops
    cursor.execute(
        "INSERT INTO billing_journalentry"
        " (posted_at, memo, source_type, source_id, posting_key, reverses_id, created_at)"
        " VALUES (%s, %s, %s, %s, %s, NULL, %s) RETURNING id",
        [
            ops.adapt_datetimefield_value(at),
            f"Kết chuyển số dư TK {source_code} sang hệ thống tài khoản {regime}",
            "chart",
            regime,
            f"chart:{regime}:reclassify:{source_code}:{at.isoformat()}",
            ops.adapt_datetimefield_value(at),
        ],
    )
    entry_id = cursor.fetchone()[0]
    for reference, target, net in moves:
        cursor.execute(
            "SELECT id FROM billing_account WHERE code = %s AND currency = %s",
            [target, currency],
        )
        target_row = cursor.fetchone()
        if target_row is None:
            raise LookupError(f"No {currency} account {target} to move {source_code} to.")
        amount = abs(net)
        to_target = (amount, 0) if net > 0 else (0, amount)
        from_source = (to_target[1], to_target[0])
        for account_id, (debit, credit) in ((target_row[0], to_target), (source_id, from_source)):
            cursor.execute(
                "INSERT INTO billing_journalline (entry_id, account_id, debit, credit, reference)"
                " VALUES (%s, %s, %s, %s, %s)",
                [entry_id, account_id, debit, credit, reference],
            )
    return int(entry_id)


def chart_code_map(*, regime: str, codes: list[str]) -> dict[str, str]:
    """For each of ``codes`` that the pack of ``regime`` replaces, the code that plays its
    role there (the debit side's role for the first chart's over/short account); for
    tables outside the ledger that keep an account code, e.g. a holding account."""
    pack = pack_for(regime)
    out = {}
    for code in codes:
        roles = _old_roles(code, pack)
        if roles is not None:
            target = _target(pack, roles[0], roles[2])
            if target != code:
                out[code] = target
    return out


def chart_adopt(
    *,
    regime: str,
    at: datetime,
    moved_drawers: Mapping[str, str] | None = None,
) -> ChartAdoption:
    """Install ``regime``'s chart pack and move every replaced account's balance into it.

    ``moved_drawers`` maps a drawer account the caller has replaced (its terminal already
    points to the new one) to its new code. Run inside the caller's transaction; the
    ledger's triggers check each entry balances at commit."""
    pack = pack_for(regime)
    result = ChartAdoption(regime=regime)
    moved_drawers = dict(moved_drawers or {})
    pack_codes = {a.code for a in pack.accounts}
    with connection.cursor() as cursor:
        _install_accounts(cursor, pack, result)
        cursor.execute(
            "SELECT id, code, currency, is_active, name FROM billing_account ORDER BY code"
        )
        for account_id, code, currency, is_active, name in cursor.fetchall():
            if code in moved_drawers:
                roles: tuple[AccountRole, AccountRole, dict[str, Any]] | None = None
                fixed_target: str | None = moved_drawers[code]
            else:
                roles, fixed_target = _old_roles(code, pack), None
                if roles is None:
                    continue
            moves = []
            for reference, net in _balances(cursor, account_id):
                if fixed_target is not None:
                    target = fixed_target
                else:
                    assert roles is not None
                    debit_role, credit_role, dims = roles
                    target = _target(pack, debit_role if net > 0 else credit_role, dims)
                if target != code:
                    moves.append((reference, target, net))
            if moves:
                result.entries.append(
                    _post_reclassification(
                        cursor,
                        regime=regime,
                        source=(account_id, code, currency),
                        moves=moves,
                        at=at,
                    )
                )
                result.moved[code] = sorted({target for _, target, _ in moves})
            if code in pack_codes or pack.drawers.number(code) is not None:
                continue
            cursor.execute(
                "SELECT 1 FROM billing_journalline WHERE account_id = %s LIMIT 1", [account_id]
            )
            if cursor.fetchone() is None:
                cursor.execute("DELETE FROM billing_account WHERE id = %s", [account_id])
                result.deleted.append(code)
            elif is_active:
                cursor.execute(
                    "UPDATE billing_account SET is_active = %s, name = %s WHERE id = %s",
                    [False, f"{name} (ngừng dùng từ {regime})"[:200], account_id],
                )
                result.deactivated.append(code)
    return result
