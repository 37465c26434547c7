"""Registering cashier terminals (desks) and their drawers' cash accounts."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction

from billing.chart import MAIN_CASH
from billing.models import Account, AccountType
from config.errors import Conflict, InvalidRequest
from payments.models import Terminal
from payments.models.cashier import TERMINAL_CODE_PATTERN


def drawer_account_code(terminal_code: str) -> str:
    """The drawer's cash account: a sub-account of the main safe, ``1111.Q01``."""
    return f"{MAIN_CASH}.{terminal_code}"


@transaction.atomic
def terminal_create(*, code: str, name: str, card_reader_id: str = "") -> Terminal:
    """Create a terminal and its drawer's cash account (asset, VND) in one transaction.

    Refuses a malformed or already used code (``invalid_request`` / ``conflict``)."""
    code = code.strip().upper()
    if not re.fullmatch(TERMINAL_CODE_PATTERN, code):
        raise InvalidRequest(
            "A terminal code is 1-15 upper-case letters, digits or '-'.", param="code"
        )
    if Terminal.objects.filter(code=code).exists():
        raise Conflict(f"Terminal {code} already exists.", param="code")
    account, _ = Account.objects.get_or_create(
        code=drawer_account_code(code),
        defaults={
            "name": f"Tiền mặt tại quầy {name} (cash drawer {code})"[:200],
            "type": AccountType.ASSET,
            "currency": settings.HOSPITAL_CURRENCY,
        },
    )
    return Terminal.objects.create(
        code=code, name=name[:100], card_reader_id=card_reader_id, cash_account=account
    )
