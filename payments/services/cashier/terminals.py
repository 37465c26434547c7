"""Registering cashier terminals (desks) and their drawers' cash accounts."""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from billing.chart import AccountRole, account_for, current_pack, pack_for
from billing.models import Account, AccountType
from billing.services.chart import ChartAdoption, chart_adopt, chart_code_map
from config.errors import Conflict, InvalidRequest
from payments.models import Terminal
from payments.models.cashier import TERMINAL_CODE_PATTERN


def _next_drawer_number(used: set[int], capacity: int) -> int:
    number = next((n for n in range(1, capacity + 1) if n not in used), None)
    if number is None:
        raise Conflict(f"Every drawer account (1..{capacity}) is taken.", param="code")
    return number


@transaction.atomic
def terminal_create(*, code: str, name: str, card_reader_id: str = "") -> Terminal:
    """Create a terminal and its drawer's cash account (asset, VND) in one transaction.

    The drawer's account is the regime's next free drawer sub-account of the cash account
    (``account_for(AccountRole.DRAWER, drawer=n)``). Refuses a malformed or already used
    code (``invalid_request`` / ``conflict``)."""
    code = code.strip().upper()
    if not re.fullmatch(TERMINAL_CODE_PATTERN, code):
        raise InvalidRequest(
            "A terminal code is 1-15 upper-case letters, digits or '-'.", param="code"
        )
    if connection.vendor == "postgresql":
        # Two desks registered at once must not pick the same drawer number.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('vienphi:terminal_create'))")
    if Terminal.objects.filter(code=code).exists():
        raise Conflict(f"Terminal {code} already exists.", param="code")
    drawers = current_pack().drawers
    taken = Account.objects.filter(code__startswith=drawers.prefix).values_list("code", flat=True)
    used = {n for n in (drawers.number(c) for c in taken) if n is not None}
    number = _next_drawer_number(used, drawers.capacity)
    account = Account.objects.create(
        code=account_for(AccountRole.DRAWER, drawer=number),
        name=drawers.name.format(code=code, name=name)[:200],
        type=AccountType.ASSET,
        currency=settings.HOSPITAL_CURRENCY,
        description=drawers.basis,
    )
    return Terminal.objects.create(
        code=code, name=name[:100], card_reader_id=card_reader_id, cash_account=account
    )


def chart_adopt_with_drawers(*, regime: str, at: datetime) -> ChartAdoption:
    """Adopt ``regime``'s chart pack (:func:`billing.services.chart.chart_adopt`), first
    giving every terminal whose drawer account is not one of the regime's numbered drawer
    accounts a new one and pointing the terminal to it; the old drawer account's balance
    then moves like any replaced account's, and settlement's holding accounts follow.

    SQL only, so that the chart's data migration runs it as well as the command."""
    drawers = pack_for(regime).drawers
    moved: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.code, t.name, a.code FROM payments_terminal t"
            " JOIN billing_account a ON a.id = t.cash_account_id ORDER BY t.id"
        )
        terminals = cursor.fetchall()
        cursor.execute(
            "SELECT code FROM billing_account WHERE code LIKE %s", [drawers.prefix + "%"]
        )
        used = {n for (c,) in cursor.fetchall() if (n := drawers.number(c)) is not None}
        for terminal_id, terminal_code, terminal_name, account_code in terminals:
            if drawers.number(account_code) is not None:
                continue
            number = _next_drawer_number(used, drawers.capacity)
            used.add(number)
            new_code = drawers.code(number)
            cursor.execute(
                "INSERT INTO billing_account (code, name, type, currency, is_active, description)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                [
                    new_code,
                    drawers.name.format(code=terminal_code, name=terminal_name)[:200],
                    AccountType.ASSET.value,
                    settings.HOSPITAL_CURRENCY,
                    True,
                    drawers.basis,
                ],
            )
            account_id = cursor.fetchone()[0]
            cursor.execute(
                "UPDATE payments_terminal SET cash_account_id = %s WHERE id = %s",
                [account_id, terminal_id],
            )
            moved[account_code] = new_code
        result = chart_adopt(regime=regime, at=at, moved_drawers=moved)
        # Settlement keeps the account an expected item is held on; it follows the move.
        for table in ("payments_reconitem", "payments_stripepayout"):
            cursor.execute(f"SELECT DISTINCT holding_account FROM {table}")  # noqa: S608
            held = [code for (code,) in cursor.fetchall() if code]
            for old, new in chart_code_map(regime=regime, codes=held).items():
                cursor.execute(
                    f"UPDATE {table} SET holding_account = %s WHERE holding_account = %s",  # noqa: S608
                    [new, old],
                )
    return result
