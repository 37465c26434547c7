"""Stripe settlement: each payout's balance transactions traced to our payments and refunds,
and one entry per payout.

``stripe_payout_settle`` (a Celery task, on ``payout.paid``/``payout.failed`` and by the
daily beat run):

1. retrieves the payout (no transaction or lock held while Stripe is called);
2. lists its balance transactions with the official client's auto-pagination
   (``expand=data.source``: each charge with its PaymentIntent id and our payment id in its
   metadata, each refund with its id), storing each page with the position reached in one
   transaction — a run that dies mid-list resumes after the last stored transaction
   (``starting_after``) instead of starting over;
3. posts once (posting key ``stripe_payout:<id>``, in the transaction that marks the payout
   settled): the fees to provider fees, the net payout to cash in transit (on the payout's
   reference, until the bank statement shows it), against the Stripe clearing account for
   what our charges less our refunds brought; disputes and adjustments, and charges that
   are not ours, to suspense for finance. A failed payout that was settled is reversed
   (its money is back in the Stripe balance, i.e. in clearing).

The matcher then enrols the settled payout as an expected bank line (amount, arrival date
and the payout descriptor).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.models import SYSTEM_RECORDER as SYSTEM
from billing.models import JournalEntry, VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post, ledger_reverse
from config.audit.models import AuditCategory
from config.audit.services import audit_record
from payments.models import (
    Payment,
    PayoutStatus,
    Provider,
    ReconItem,
    ReconItemAction,
    ReconStatus,
    Refund,
    StripeBalanceLine,
    StripePayout,
)
from payments.providers.stripe import client
from payments.services import settlement_accounts as accounts

logger = logging.getLogger(__name__)


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def stripe_payout_settle(*, payout_id: str) -> StripePayout:
    """Settle one payout (see the module's docstring). Idempotent: a settled payout is
    returned as it is; a second run of a half-listed payout continues the list."""
    payout = _plain(client().v1.payouts.retrieve(payout_id))
    record = _record(payout)
    if record.status == PayoutStatus.SETTLED and payout["status"] != "failed":
        return record
    if payout["status"] == "failed":
        return _fail(record)
    if payout["status"] != "paid":
        return record  # in transit at Stripe: the payout.paid webhook or beat comes back
    _list(record)
    return _post(record)


def _record(payout: dict[str, Any]) -> StripePayout:
    arrival = datetime.fromtimestamp(int(payout["arrival_date"]), tz=UTC).date()
    record, _ = StripePayout.objects.get_or_create(
        payout_id=payout["id"],
        defaults={
            "amount": int(payout["amount"]),
            "currency": str(payout["currency"]).upper(),
            "arrival_date": arrival,
            "descriptor": str(payout.get("statement_descriptor") or "")[:100],
        },
    )
    return record


def _list(record: StripePayout) -> None:
    page_size = settings.STRIPE_SETTLEMENT_PAGE_SIZE
    params: dict[str, Any] = {
        "payout": record.payout_id,
        "limit": page_size,
        "expand": ["data.source"],
    }
    if record.listed_through:
        params["starting_after"] = record.listed_through
    page: list[dict[str, Any]] = []
    listing = client().v1.balance_transactions.list(params=params)  # type: ignore[arg-type]
    for txn in listing.auto_paging_iter():
        page.append(_plain(txn))
        if len(page) == page_size:
            _store(record, page)
            page = []
    _store(record, page)


def _store(record: StripePayout, page: list[dict[str, Any]]) -> None:
    """One page and the position reached, in one transaction."""
    if not page:
        return
    with transaction.atomic():
        for txn in page:
            source = txn.get("source")
            source = _plain(source) if isinstance(source, dict | stripe.StripeObject) else {}
            StripeBalanceLine.objects.get_or_create(
                balance_transaction=txn["id"],
                defaults={
                    "payout": record,
                    "type": txn["type"],
                    "amount": int(txn["amount"]),
                    "fee": int(txn["fee"]),
                    "net": int(txn["net"]),
                    "currency": str(txn["currency"]).upper(),
                    "source": source.get("id", ""),
                    "payment": _payment_of(source),
                    "refund": _refund_of(source),
                },
            )
        StripePayout.objects.filter(pk=record.pk).update(listed_through=page[-1]["id"])
    record.listed_through = page[-1]["id"]


def _payment_of(source: dict[str, Any]) -> Payment | None:
    if source.get("object") != "charge":
        return None
    intent = source.get("payment_intent") or ""
    found = Payment.objects.filter(provider=Provider.STRIPE, provider_reference=intent).first()
    public_id = (source.get("metadata") or {}).get("payment_id")
    if found is None and public_id:
        found = Payment.objects.filter(provider=Provider.STRIPE, public_id=public_id).first()
    return found


def _refund_of(source: dict[str, Any]) -> Refund | None:
    if source.get("object") != "refund":
        return None
    return Refund.objects.filter(provider_reference=source.get("id") or "").first()


def _post(record: StripePayout) -> StripePayout:
    with transaction.atomic():
        record = StripePayout.objects.select_for_update().get(pk=record.pk)
        if record.status == PayoutStatus.SETTLED:
            return record
        lines = list(record.lines.exclude(type="payout"))
        currency = record.currency
        reference = f"payout:{record.payout_id}"
        fees = sum(line.fee for line in lines)
        ours = sum(line.amount for line in lines if line.payment_id or line.refund_id)
        others = sum(line.amount for line in lines if not (line.payment_id or line.refund_id))
        net = sum(line.net for line in lines)
        in_transit = accounts.cash_in_transit()
        postings: list[Posting] = []
        if fees:
            postings.append(Posting.dr(accounts.provider_fees(), Money(fees, currency), reference))
        if net > 0:
            postings.append(Posting.dr(in_transit, Money(net, currency), reference))
        elif net < 0:
            postings.append(Posting.cr(in_transit, Money(-net, currency), reference))
        for account, amount in ((accounts.clearing("stripe"), ours), (accounts.suspense(), others)):
            if amount > 0:
                postings.append(Posting.cr(account, Money(amount, currency), reference))
            elif amount < 0:
                postings.append(Posting.dr(account, Money(-amount, currency), reference))
        entry = None
        if len(postings) >= 2:
            entry = ledger_post(
                posting_key=f"stripe_{reference}",
                lines=postings,
                source_type="stripe_payout",
                source_id=record.payout_id,
                memo=memos.payout_in_transit(record.payout_id),
                # Stripe's payout report: no money reaches the bank yet (the matcher's entry
                # is the bank's credit note).
                voucher_type=VoucherType.OTHER,
                voucher_number=record.payout_id,
                recorded_by=SYSTEM,
            )
        record.status = PayoutStatus.SETTLED
        record.entry = entry
        record.holding_account = in_transit
        record.settled_at = timezone.now()
        record.save(update_fields=["status", "entry", "holding_account", "settled_at"])
        audit_record(
            action="stripe_payout.settled",
            category=AuditCategory.MONEY,
            target=record,
            detail={
                "amount": record.amount,
                "fees": fees,
                "currency": currency,
                "transactions": len(lines),
                "not_ours": others,
            },
        )
    logger.info("stripe payout %s settled (%s transactions)", record.payout_id, len(lines))
    return record


def _fail(record: StripePayout) -> StripePayout:
    with transaction.atomic():
        record = StripePayout.objects.select_for_update().get(pk=record.pk)
        if record.status == PayoutStatus.FAILED:
            return record
        if record.entry_id is not None:
            ledger_reverse(
                entry=JournalEntry.objects.get(pk=record.entry_id),
                memo=memos.payout_failed(record.payout_id),
            )
        item = ReconItem.objects.filter(
            source_type="stripe_payout", source_id=record.payout_id
        ).first()
        if item is not None and item.status in (ReconStatus.EXPECTED, ReconStatus.MISSING):
            before = item.status
            item.status = ReconStatus.WRITTEN_OFF
            item.note = "the payout failed at Stripe; the entry was reversed"
            item.settled_at = timezone.now()
            item.save(update_fields=["status", "note", "settled_at", "updated_at"])
            ReconItemAction.objects.create(
                item=item, action="payout_failed", from_status=before, to_status=item.status
            )
        record.status = PayoutStatus.FAILED
        record.save(update_fields=["status"])
        audit_record(
            action="stripe_payout.failed",
            category=AuditCategory.MONEY,
            target=record,
            detail={"amount": record.amount, "currency": record.currency},
        )
    logger.warning("stripe payout %s failed", record.payout_id)
    return record


def stripe_payouts_recent(*, since: date | None = None) -> list[str]:
    """Ids of the paid payouts arriving since ``since`` (default: a week ago) that are not
    settled yet (the daily beat run; webhooks may have been missed)."""
    since = since or timezone.localdate() - timedelta(days=7)
    start = int(datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp())
    listing = client().v1.payouts.list(
        params={"status": "paid", "arrival_date": {"gte": start}, "limit": 100}
    )
    ids = [str(_plain(p)["id"]) for p in listing.auto_paging_iter()]
    settled = set(
        StripePayout.objects.filter(payout_id__in=ids, status=PayoutStatus.SETTLED).values_list(
            "payout_id", flat=True
        )
    )
    return [i for i in ids if i not in settled]


def stripe_settlement_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)
