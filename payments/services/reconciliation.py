"""What finance does to reconciliation items: match by hand, write off (with a second
approval above the threshold). Each runs in one transaction under a lock on the item (and
on the other item it touches), posts at most one entry (posting key per item and action),
and is written to the item's history and to the audit trail.

Where the money sits before finance acts, and what each action posts:

* an expected item (a VietQR capture, a payout, a cash deposit) waits in its holding
  account (clearing, cash in transit); a bank line the matcher could not explain was booked
  bank ↔ suspense;
* **match an expected item to a bank line**: Dr the bank (a free line) or suspense (a line
  booked as unexpected, whose item is closed with it) for the line's amount, Cr the holding
  account for the item's amount; a difference goes to the cash shortage (line smaller) or
  overage (line larger) account, pending management's decision, as a drawer's variance;
* **match money held in suspense to a payment still waiting** (a transfer with a wrong or
  missing code): the payment completes with the suspense account as the money's side;
* **a possible duplicate** (a statement file's line held because bank-feed lines may be the
  same movement, see ``payments.services.statements``): match it to the feed's line — the
  same movement, the feed's line carries it, the item is closed and nothing is posted; or
  to its own line — not a duplicate: the item is closed and the line freed, so the next
  match run matches it (or books it unexpected) like any other line;
* **write off**: an expected item never seen: Dr shortage / Cr holding; money in that
  nobody claims: Dr suspense / Cr overage; money out nobody explains: Dr shortage / Cr
  suspense; a line in another currency: nothing posted (nothing was).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.models import JournalEntry, VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from config.audit.models import AuditCategory
from config.audit.services import audit_record
from payments.errors import (
    ReconItemStateConflict,
    ReconMatchInvalid,
    WriteOffApprovalBySameUser,
)
from payments.models import (
    Direction,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconItem,
    ReconItemAction,
    ReconKind,
    ReconStatus,
    StatementLine,
    StatementSource,
)
from payments.services import settlement_accounts as accounts
from payments.services.transitions import payment_transition

EXPECTING = (ReconStatus.EXPECTED, ReconStatus.MISSING, ReconStatus.AMOUNT_MISMATCH)
UNEXPLAINED_KINDS = (ReconKind.BANK_LINE, ReconKind.FEED_SUSPENSE)


def _lock(item: ReconItem) -> ReconItem:
    return ReconItem.objects.select_for_update().get(pk=item.pk)


def _history(item: ReconItem, action: str, before: str, by: User | None, note: str) -> None:
    ReconItemAction.objects.create(
        item=item, action=action, from_status=before, to_status=item.status, by=by, note=note
    )
    audit_record(
        action=f"reconciliation.{action}",
        category=AuditCategory.MONEY,
        actor=by,
        target=item,
        detail={
            "kind": item.kind,
            "amount": item.amount,
            "currency": item.currency,
            "status": item.status,
        },
    )


def _close(
    item: ReconItem, status: str, by: User, note: str, entry: JournalEntry | None, action: str
) -> ReconItem:
    before = item.status
    item.status = status
    item.settled_at = timezone.now()
    item.settled_by = by
    item.note = note[:300] or item.note
    if entry is not None:
        item.settled_entry = entry
    item.save()
    _history(item, action, before, by, note)
    return item


def recon_item_match(
    *,
    item: ReconItem,
    by: User,
    note: str,
    statement_line: StatementLine | None = None,
    payment: Payment | None = None,
    other: ReconItem | None = None,
) -> ReconItem:
    """Match ``item`` by hand to a bank line, a payment, or another item (the deposit,
    payout or refund of that name), posting what moves (see the module's docstring)."""
    with transaction.atomic():
        item = _lock(item)
        if item.status not in (*EXPECTING, ReconStatus.UNEXPECTED):
            raise ReconItemStateConflict(detail={"status": item.status})
        if item.kind == ReconKind.POSSIBLE_DUPLICATE:
            return _duplicate_decided(item, statement_line, by, note)
        if payment is not None and item.kind in UNEXPLAINED_KINDS:
            paid = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).first()
            if paid is None or paid.method != PaymentMethod.VIETQR:
                expected = ReconItem.objects.filter(
                    source_type="payment", source_id=payment.public_id
                ).first()
                if expected is None:
                    raise ReconMatchInvalid("The payment is neither waiting nor expected.")
                return _expected_to_line(_lock(expected), item, by, note)
            return _pays_waiting_payment(item, paid, by, note)
        if other is not None:
            other = _lock(other)
            if item.kind in UNEXPLAINED_KINDS and other.status in EXPECTING:
                return _expected_to_line(other, item, by, note)
            if other.kind in UNEXPLAINED_KINDS and item.status in EXPECTING:
                return _expected_to_line(item, other, by, note)
            raise ReconMatchInvalid("One of the two must be expected, the other unexplained.")
        if statement_line is not None and item.status in EXPECTING:
            holder = ReconItem.objects.filter(statement_line=statement_line).first()
            if holder is None or holder.pk == item.pk:
                return _expected_to_free_line(item, statement_line, by, note)
            holder = _lock(holder)
            if holder.kind != ReconKind.BANK_LINE or holder.status != ReconStatus.UNEXPECTED:
                raise ReconMatchInvalid("That bank line is already matched.")
            return _expected_to_line(item, holder, by, note)
        raise ReconMatchInvalid("Say what to match the item to.")


def _duplicate_decided(
    item: ReconItem, line: StatementLine | None, by: User, note: str
) -> ReconItem:
    """Finance's word on a possible duplicate: ``line`` is the feed's line it repeats, or
    the item's own line when the two are different movements. Nothing is posted."""
    if line is None:
        raise ReconMatchInvalid("A possible duplicate is matched to a bank line.")
    if line.pk == item.statement_line_id:
        item.statement_line = None  # the matcher takes the line from its next run
        return _close(item, ReconStatus.MANUALLY_MATCHED, by, note, None, "not_a_duplicate")
    own = item.statement_line
    assert own is not None
    _check_pair(item, line)
    if (
        line.source == StatementSource.FILE
        or (line.account_number, line.amount) != (own.account_number, own.amount)
        or abs((line.booked_on - own.booked_on).days) > 1
    ):
        raise ReconMatchInvalid(
            "Only a bank feed's line of the same account and amount, booked within a day."
        )
    return _close(item, ReconStatus.MANUALLY_MATCHED, by, note, None, "duplicate_of_feed_line")


def _check_pair(item: ReconItem, line: StatementLine) -> None:
    if (line.direction, line.currency) != (item.direction, item.currency):
        raise ReconMatchInvalid(
            "The bank line goes the other way or is in another currency.",
            detail={
                "line": [line.direction, line.currency],
                "item": [item.direction, item.currency],
            },
        )


def _difference(item: ReconItem, line_amount: int, reference: str) -> list[Posting]:
    difference = line_amount - item.amount
    money = Money(abs(difference), item.currency)
    if difference > 0:
        return [Posting.cr(accounts.cash_overage(), money, reference)]
    if difference < 0:
        return [Posting.dr(accounts.cash_shortage(), money, reference)]
    return []


def _voucher_type(lines: list[Posting]) -> str:
    """Money booked into the bank account is a credit note (giấy báo Có), out of it a debit
    note (giấy báo Nợ); a move between other accounts a chứng từ nghiệp vụ khác."""
    bank = [line for line in lines if line.account_code == accounts.bank()]
    if not bank:
        return VoucherType.OTHER
    return VoucherType.BANK_CREDIT if bank[0].debit else VoucherType.BANK_DEBIT


def _post(
    item: ReconItem, action: str, lines: list[Posting], memo: str, by: User
) -> JournalEntry | None:
    if not lines:
        return None
    return ledger_post(
        posting_key=f"recon_item:{item.pk}:{action}",
        lines=lines,
        source_type="recon_item",
        source_id=str(item.pk),
        memo=memo,
        voucher_type=_voucher_type(lines),
        voucher_number=f"recon_item:{item.pk}",
        recorded_by=by.get_username(),
    )


def _expected_to_free_line(item: ReconItem, line: StatementLine, by: User, note: str) -> ReconItem:
    _check_pair(item, line)
    reference = f"recon_item:{item.pk}"
    lines: list[Posting] = []
    if item.holding_account:
        lines = [
            Posting.dr(accounts.bank(), Money(line.amount, item.currency), reference),
            Posting.cr(item.holding_account, Money(item.amount, item.currency), reference),
            *_difference(item, line.amount, reference),
        ]
    elif line.amount != item.amount:
        raise ReconMatchInvalid("A refund matches a bank line of its own amount only.")
    entry = _post(item, "match", lines, memos.recon_matched_by_hand(item.pk), by)
    item.statement_line = line
    if entry is not None:
        item.cleared_entry = entry
    return _close(item, ReconStatus.MANUALLY_MATCHED, by, note, entry, "manually_matched")


def _expected_to_line(
    expected: ReconItem, unexplained: ReconItem, by: User, note: str
) -> ReconItem:
    """The unexplained line's money (in suspense) was the expected item's."""
    if unexplained.status != ReconStatus.UNEXPECTED or unexplained.currency != expected.currency:
        raise ReconMatchInvalid("Only an unexplained line in the item's currency.")
    if unexplained.direction != expected.direction:
        raise ReconMatchInvalid("The bank line goes the other way.")
    reference = f"recon_item:{expected.pk}"
    amount = Money(unexplained.amount, expected.currency)
    inward = expected.direction == Direction.IN
    if expected.holding_account:
        lines = [
            Posting.dr(accounts.suspense(), amount, reference),
            Posting.cr(
                expected.holding_account, Money(expected.amount, expected.currency), reference
            ),
            *_difference(expected, unexplained.amount, reference),
        ]
    elif unexplained.amount == expected.amount and not inward:
        # The refund already left the bank account; the line's booking out of the bank
        # (Dr suspense / Cr bank) counted it twice.
        lines = [
            Posting.dr(accounts.bank(), amount, reference),
            Posting.cr(accounts.suspense(), amount, reference),
        ]
    else:
        raise ReconMatchInvalid("Those two cannot be matched.")
    entry = _post(expected, "match", lines, memos.recon_matched_by_hand(expected.pk), by)
    expected.cleared_entry = entry
    _close(unexplained, ReconStatus.MANUALLY_MATCHED, by, note, entry, "manually_matched")
    return _close(expected, ReconStatus.MANUALLY_MATCHED, by, note, entry, "manually_matched")


def _pays_waiting_payment(item: ReconItem, payment: Payment, by: User, note: str) -> ReconItem:
    if item.status != ReconStatus.UNEXPECTED or item.direction != Direction.IN:
        raise ReconItemStateConflict(detail={"status": item.status})
    if (payment.amount, payment.currency) != (item.amount, item.currency):
        raise ReconMatchInvalid(
            "The payment's amount is not the money held.",
            detail={"payment": payment.amount, "held": item.amount},
        )
    payment, _ = payment_transition(
        payment=payment, to=PaymentStatus.SUCCEEDED, debit_account=accounts.suspense()
    )
    entry = JournalEntry.objects.filter(posting_key=payment.captured_posting_key).first()
    return _close(item, ReconStatus.MANUALLY_MATCHED, by, note, entry, "manually_matched")


def recon_item_write_off(*, item: ReconItem, by: User, reason: str) -> ReconItem:
    """Write an item off. Above ``RECONCILIATION_WRITE_OFF_APPROVAL_THRESHOLD`` the first
    call only records the request; another person of finance then approves it with a
    second call (``write_off_approval_by_requester`` for the same person)."""
    with transaction.atomic():
        item = _lock(item)
        open_statuses = (ReconStatus.EXPECTED, ReconStatus.MISSING, ReconStatus.UNEXPECTED)
        if item.status not in open_statuses:
            raise ReconItemStateConflict(detail={"status": item.status})
        if item.amount > settings.RECONCILIATION_WRITE_OFF_APPROVAL_THRESHOLD:
            if item.write_off_requested_by_id is None:
                item.write_off_requested_by = by
                item.write_off_reason = reason[:300]
                item.save(
                    update_fields=["write_off_requested_by", "write_off_reason", "updated_at"]
                )
                _history(item, "write_off_requested", item.status, by, reason)
                return item
            if item.write_off_requested_by_id == by.pk:
                raise WriteOffApprovalBySameUser()
        lines = _write_off_lines(item)
        entry = _post(item, "write_off", lines, memos.recon_written_off(item.pk), by)
        item.write_off_reason = item.write_off_reason or reason[:300]
        return _close(item, ReconStatus.WRITTEN_OFF, by, reason, entry, "written_off")


def _write_off_lines(item: ReconItem) -> list[Posting]:
    reference = f"recon_item:{item.pk}"
    money = Money(item.amount, item.currency)
    if item.status != ReconStatus.UNEXPECTED:
        if not item.holding_account:
            raise ReconMatchInvalid("A refund paid out is matched, not written off.")
        return [
            Posting.dr(accounts.cash_shortage(), money, reference),
            Posting.cr(item.holding_account, money, reference),
        ]
    if item.currency != settings.HOSPITAL_CURRENCY or item.kind not in UNEXPLAINED_KINDS:
        return []
    if item.direction == Direction.IN:
        return [
            Posting.dr(accounts.suspense(), money, reference),
            Posting.cr(accounts.cash_overage(), money, reference),
        ]
    return [
        Posting.dr(accounts.cash_shortage(), money, reference),
        Posting.cr(accounts.suspense(), money, reference),
    ]
