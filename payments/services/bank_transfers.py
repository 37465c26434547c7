"""Matching incoming bank transfers (VietQR) to payments, and the reconciliation queue.

A transfer is matched by the memo code found in the bank's memo (never by the amount
alone), then checked against the receiving account, the payment's status and expiry and its amount.
A transfer that matches completes the payment (Dr the VietQR clearing account, through the state
machine). Anything else is money that arrived all the same: it becomes a ``ReconciliationItem``
with its reason and is booked to suspense against the account the money reached (VietQR clearing
for the VietQR receiving account, the bank account for another of the hospital's accounts the feed
watches), so the ledger always agrees with the bank, until finance resolves it. Nothing is dropped.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from payments.models import (
    Payment,
    PaymentStatus,
    ReconciliationItem,
    ReconciliationReason,
)
from payments.providers.bank_feeds import (
    MEMO_CODE_PREFIX,
    BankFeedProvider,
    BankTransfer,
    TransferDirection,
)
from payments.services.statements import (
    memo_codes,
    statement_line_applied,
    statement_line_report,
)
from payments.services.transitions import payment_transition

logger = logging.getLogger(__name__)

BANK_CURRENCY = "VND"  # NAPAS 247 transfers are in dong
# Casso's "test webhook" button sends this transaction id (with a made-up transfer).
CASSO_TEST_TRANSACTION_ID = "0"
DESCRIPTION_LENGTH = ReconciliationItem._meta.get_field("description").max_length or 500


def bank_transfer_apply(*, transfer: BankTransfer) -> str:
    """Apply one transfer reported by a bank feed; returns the outcome to record.

    Runs in one transaction under a lock on the matched payment, so a transfer and the
    expiry job (or a second transfer for the same code) are decided one after the other.
    The caller de-duplicates on the feed's transaction id; the suspense posting and the
    reconciliation item are each unique per transfer as well."""
    if (
        transfer.provider == BankFeedProvider.CASSO
        and transfer.transaction_id == CASSO_TEST_TRANSACTION_ID
    ):
        return "ignored: Casso test delivery"
    if transfer.amount > settings.BANK_TRANSFER_MAX_AMOUNT:
        with transaction.atomic():
            item = _hold_out_of_range(transfer)
        logger.warning(
            "bank transfer %s:%s with an amount beyond the books held for reconciliation (item %s)",
            transfer.provider,
            transfer.transaction_id,
            item.pk,
        )
        return f"reconciliation: {ReconciliationReason.AMOUNT_OUT_OF_RANGE}"
    if transfer.direction != TransferDirection.IN:
        with transaction.atomic():  # a statement line all the same (a refund by transfer)
            statement_line_report(transfer=transfer)
        return "ignored: outgoing transfer"
    # No savepoint of its own inside a caller's transaction (the webhook's apply): nothing
    # here is caught and carried on from; a failure ends the caller's savepoint with it.
    with transaction.atomic(savepoint=False):
        codes = memo_codes(transfer.description, (MEMO_CODE_PREFIX,))
        # The payment the memo names, locked first, as the statement import does, so a file
        # and a feed telling the same transfer at the same time go one after the other.
        named = payment_named_locked(codes[0]) if len(codes) == 1 else None
        applied = _applied_from_statement(transfer, codes, named)
        if applied is not None:
            return f"ignored: the bank statement already applied this transfer (line {applied})"
        first_report = _first_report(transfer)
        if first_report is not None:
            return f"ignored: the same bank transfer was reported by {first_report}"
        payment, reason = _match(transfer, codes, named)
        if reason is None:
            assert payment is not None
            payment_transition(
                payment=payment,
                to=PaymentStatus.SUCCEEDED,
                event_at=transfer.occurred_at,
                debit_account=account_for(AccountRole.CLEARING, provider="vietqr"),
                locked=True,
            )
            return f"succeeded: {payment.public_id}"
        item = _hold_in_suspense(transfer, reason, payment)
    logger.warning(
        "bank transfer %s:%s held for reconciliation (%s, item %s)",
        transfer.provider,
        transfer.transaction_id,
        reason,
        item.pk,
    )
    return f"reconciliation: {reason}"


def payment_named_locked(memo_code: str) -> Payment | None:
    """The payment of a memo code, locked (``FOR UPDATE``); the memo code's unique index
    finds it."""
    return Payment.objects.select_for_update().filter(memo_code=memo_code).first()


def _hold_out_of_range(transfer: BankTransfer) -> ReconciliationItem:
    """A line no ledger column can hold (a feed's error, or a forged one): nothing is
    booked, a person looks at it. The reported amount is kept in the item's description."""
    reported = f"[reported {transfer.direction} amount: {transfer.amount} VND] "
    item, _ = ReconciliationItem.objects.get_or_create(
        provider=transfer.provider,
        transaction_id=transfer.transaction_id,
        defaults={
            "amount": 0,
            "currency": BANK_CURRENCY,
            "account_number": transfer.account_number,
            "description": (reported + transfer.description)[:DESCRIPTION_LENGTH],
            "occurred_at": transfer.occurred_at,
            "reason": ReconciliationReason.AMOUNT_OUT_OF_RANGE,
        },
    )
    return item


def _applied_from_statement(
    transfer: BankTransfer, codes: list[str], payment: Payment | None
) -> int | None:
    """The statement line that already completed the payment this transfer names (the
    statement file came before any feed's report), if this report is of that transfer.
    ``payment``: the one the memo's only code names, locked by the caller."""
    if len(codes) != 1:
        return None
    if payment is None or payment.status == PaymentStatus.PENDING:
        return None
    line = statement_line_applied(transfer=transfer, memo_code=codes[0])
    return None if line is None else line.pk


def _first_report(transfer: BankTransfer) -> str | None:
    """Records the transfer as a statement line (stored once: see
    ``payments.services.statements``); returns the feed and id of an earlier report of the
    same line by another feed, if any."""
    line, first = statement_line_report(transfer=transfer)
    if first:
        return None
    others = {p: t for p, t in line.feed_reports.items() if p != transfer.provider}
    return ", ".join(f"{p} ({t})" for p, t in others.items()) or "another feed"


def _match(
    transfer: BankTransfer, codes: list[str], payment: Payment | None
) -> tuple[Payment | None, str | None]:
    """The payment the transfer names (``payment``, locked by the caller) and why it cannot
    complete it, if it can't."""
    if not codes:
        return None, ReconciliationReason.NO_CODE
    if len(codes) > 1:  # which bill was meant is a question for a person, not a guess
        return None, ReconciliationReason.UNKNOWN_CODE
    if payment is None:
        return None, ReconciliationReason.UNKNOWN_CODE
    return payment, _mismatch(transfer, payment)


def _reached_vietqr_account(transfer: BankTransfer) -> bool:
    return transfer.account_number.replace(" ", "") == settings.VIETQR_ACCOUNT


def _mismatch(transfer: BankTransfer, payment: Payment) -> str | None:
    if not _reached_vietqr_account(transfer):
        return ReconciliationReason.WRONG_ACCOUNT
    if payment.status == PaymentStatus.EXPIRED:
        return ReconciliationReason.EXPIRED
    if payment.status != PaymentStatus.PENDING:
        return ReconciliationReason.NOT_PENDING
    # Judged by when the bank moved the money, not by when the feed told us.
    if payment.expires_at is not None and transfer.occurred_at > payment.expires_at:
        return ReconciliationReason.EXPIRED
    if transfer.amount < payment.amount:
        return ReconciliationReason.UNDERPAID
    if transfer.amount > payment.amount:
        return ReconciliationReason.OVERPAID
    return None


def _hold_in_suspense(
    transfer: BankTransfer, reason: str, payment: Payment | None
) -> ReconciliationItem:
    item, _ = ReconciliationItem.objects.get_or_create(
        provider=transfer.provider,
        transaction_id=transfer.transaction_id,
        defaults={
            "amount": transfer.amount,
            "currency": BANK_CURRENCY,
            "account_number": transfer.account_number,
            "description": transfer.description[:DESCRIPTION_LENGTH],
            "occurred_at": transfer.occurred_at,
            "reason": reason,
            "payment": payment,
        },
    )
    money = Money(transfer.amount, BANK_CURRENCY)
    # VietQR clearing clears the VietQR receiving account only; money that reached another of the
    # hospital's accounts is already in that bank account (role ``BANK``).
    reached = (
        account_for(AccountRole.CLEARING, provider="vietqr")
        if _reached_vietqr_account(transfer)
        else account_for(AccountRole.BANK)
    )
    ledger_post(
        posting_key=f"bank:{transfer.provider}:{transfer.transaction_id}",
        lines=[
            Posting.dr(reached, money),
            Posting.cr(
                account_for(AccountRole.SUSPENSE), money, reference=f"reconciliation:{item.pk}"
            ),
        ],
        source_type="bank_transfer",
        source_id=f"{transfer.provider}:{transfer.transaction_id}"[:64],
        # Never the bank memo: it may name the payer.
        memo=memos.transfer_in_suspense(reason),
        voucher_type=VoucherType.BANK_CREDIT,
        voucher_number=f"{transfer.provider}:{transfer.transaction_id}"[:40],
        recorded_by=transfer.provider,
    )
    return item
