"""The safe's cash carried to the bank: a desk operation of the safe's custodian.

Recording a deposit moves the cash out of the main safe into cash in transit (on the
deposit's own reference) and enrols a reconciliation item expecting the bank line: the
deposit's code (``ND…``, written on the bank's deposit slip so the bank's memo carries it
back) and amount. The matcher then moves it from cash in transit to the bank account; a
deposit the statement never shows becomes ``missing`` after the SLA.

The safe's row in the chart is locked while its balance is checked, so two deposits (or a
deposit and a drawer's transfer from the safe) cannot both spend the same cash."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing import ledger_memos as memos
from billing.models import Account, JournalLine, VoucherType
from billing.money import Money
from billing.public_ids import mint_public_id
from billing.services.ledger import Posting, ledger_post
from config.audit.models import AuditCategory
from config.audit.services import audit_record
from payments.errors import InsufficientDrawerCash, InvalidCashDeposit
from payments.models import (
    CashDeposit,
    Direction,
    ReconChannel,
    ReconItem,
    ReconItemAction,
    ReconKind,
    ReconStatus,
)
from payments.providers.bank_feeds import MEMO_CODE_ALPHABET, MEMO_CODE_BODY_LENGTH
from payments.services import settlement_accounts as accounts
from payments.services.statements import DEPOSIT_CODE_PREFIX

HOSPITAL_CURRENCY = "VND"


def safe_balance() -> int:
    totals = JournalLine.objects.filter(account__code=accounts.main_safe()).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return (totals["debit"] or 0) - (totals["credit"] or 0)


def cash_deposit_record(
    *, amount: int, by: User, idempotency_key: str, deposited_on: date | None = None, note: str = ""
) -> CashDeposit:
    """Record cash taken from the main safe to the bank (one transaction: the deposit, its
    entry, its reconciliation item and the audit row). At most what the safe holds
    (``insufficient_drawer_cash``, 402)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidCashDeposit(param="amount")
    deposited_on = deposited_on or timezone.localdate()
    with transaction.atomic():
        Account.objects.select_for_update().get(code=accounts.main_safe())
        available = safe_balance()
        if amount > available:
            raise InsufficientDrawerCash(detail={"available": available, "amount": amount})
        deposit = _create(amount, by, idempotency_key, deposited_on, note)
        money = Money(amount, HOSPITAL_CURRENCY)
        reference = f"cash_deposit:{deposit.public_id}"
        entry = ledger_post(
            posting_key=reference,
            lines=[
                Posting.dr(accounts.cash_in_transit(), money, reference),
                Posting.cr(accounts.main_safe(), money),
            ],
            source_type="cash_deposit",
            source_id=deposit.public_id,
            memo=memos.cash_deposit(deposit.code),
            voucher_type=VoucherType.CASH_PAYMENT,  # the cash leaves the safe
            voucher_number=deposit.code,
            recorded_by=by.get_username(),
        )
        item = ReconItem.objects.create(
            kind=ReconKind.CASH_DEPOSIT,
            channel=ReconChannel.CASH,
            status=ReconStatus.EXPECTED,
            direction=Direction.IN,
            amount=amount,
            currency=HOSPITAL_CURRENCY,
            source_type="cash_deposit",
            source_id=deposit.public_id,
            match_code=deposit.code,
            expected_on=deposited_on,
            holding_account=accounts.cash_in_transit(),
        )
        ReconItemAction.objects.create(
            item=item, action="enrolled", to_status=item.status, by=by, note=note[:300]
        )
        audit_record(
            action="cash_deposit.recorded",
            category=AuditCategory.MONEY,
            actor=by,
            target=deposit,
            detail={"amount": amount, "currency": HOSPITAL_CURRENCY, "entry": entry.pk},
        )
    return deposit


def _create(amount: int, by: User, key: str, deposited_on: date, note: str) -> CashDeposit:
    for _ in range(5):  # a code collision draws again
        code = mint_public_id(
            prefix=DEPOSIT_CODE_PREFIX, alphabet=MEMO_CODE_ALPHABET, length=MEMO_CODE_BODY_LENGTH
        )
        try:
            with transaction.atomic():
                return CashDeposit.objects.create(
                    public_id=mint_public_id(prefix="cd_"),
                    code=code,
                    amount=amount,
                    currency=HOSPITAL_CURRENCY,
                    deposited_on=deposited_on,
                    note=note[:300],
                    recorded_by=by,
                    idempotency_key=key,
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not draw a free deposit code")
