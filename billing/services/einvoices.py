"""Issuing e-invoices through the provider: queued with the invoice's change, sent in order
by one sender at a time, never twice, corrected when the invoice is voided.

* ``einvoice_enqueue`` writes the e-invoice row in the transaction that makes the invoice
  paid (or issues it: ``EINVOICE_ISSUE_AT``); after commit the sender is asked to run.
* ``einvoices_send`` (a Celery task, and beat every minute) takes the waiting rows in id
  order under a PostgreSQL advisory lock (one sender; the lock is a session lock, no
  transaction is held across the provider call): claim the row (``sending``, committed),
  call the provider with our transaction key, record the answer in a new transaction. A
  transient failure stops the run and puts the row back with a backoff, so the ones after
  it wait their turn: when the provider comes back they go out in order. A row left
  ``sending`` by a crash is first looked up at the provider by its key, so it is never
  issued twice. A refusal parks the row with the provider's message for staff to correct
  and resend (``einvoice_resend``).
* ``einvoice_on_void`` (in ``invoice_void``'s transaction): an e-invoice not yet issued is
  withdrawn; an issued one is corrected per Decree 123/2020/ND-CP Art. 19 as amended by
  Decree 70/2025/ND-CP: an adjusting e-invoice taking the amount back, or (``replace``) the
  visit's next e-invoice replaces it; never silently.
* ``einvoice_on_refund`` (a Celery task after the refund committed, through the outbox): a
  refund that lowers what the patient paid for the services below what the e-invoice states
  gets an adjusting e-invoice (điều chỉnh giảm) for that amount, once per refund; a refund
  of money that paid for nothing (a duplicate, an overpayment) changes nothing. A void after
  refunds takes back only what they left.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.einvoicing.providers import (
    Document,
    DocumentLine,
    EInvoiceProvider,
    Issued,
    OriginalReference,
    ProviderRefused,
    ProviderUnavailable,
    einvoice_provider,
    provider_enabled,
)
from billing.errors import EInvoiceNotResendable
from billing.models import EInvoice, EInvoiceKind, EInvoiceStatus, Invoice, VatRate
from billing.selectors.invoices import invoice_advances_applied
from billing.signals import einvoice_issued
from billing.words import amount_in_words_vi
from config.tasks import backoff_seconds

logger = logging.getLogger(__name__)

# pg_advisory_lock key of the one e-invoice sender ("EINV" in ASCII).
SENDER_LOCK = 0x45494E56
_LOCAL_SENDER = threading.Lock()  # SQLite (the embedded default): one process
INSURANCE_LINE = "Quỹ BHYT chi trả"
INSURANCE_ADJUSTMENT_LINE = "Điều chỉnh mức hưởng BHYT"
AMOUNT_ADJUSTMENT_LINE = "Điều chỉnh giảm tiền dịch vụ"
_LIVE = (EInvoiceStatus.PENDING, EInvoiceStatus.SENDING, EInvoiceStatus.ISSUED)


def _send_soon() -> None:
    from billing.tasks import send_einvoices

    send_einvoices.delay()


def _transaction_uuid(invoice: Invoice, suffix: str = "") -> str:
    return f"{settings.EINVOICE_TRANSACTION_PREFIX}-{invoice.pk}{suffix}"


def _awaiting_replacement(invoice: Invoice) -> EInvoice | None:
    """An issued e-invoice of a voided invoice of the same visit, not corrected yet."""
    if settings.EINVOICE_VOID_CORRECTION != "replace":
        return None
    return (
        EInvoice.objects.filter(
            invoice__encounter_id=invoice.encounter_id,
            invoice__voided_at__isnull=False,
            status=EInvoiceStatus.ISSUED,
        )
        .exclude(kind=EInvoiceKind.ADJUSTMENT)
        .exclude(corrections__status__in=_LIVE)
        .order_by("id")
        .first()
    )


def einvoice_enqueue(*, invoice: Invoice) -> EInvoice | None:
    """The invoice's e-invoice, written on the first call (in the caller's transaction) and
    returned on every later one; ``None`` when no provider is configured or the invoice
    bills nothing. It replaces a voided invoice's e-invoice of the same visit when the
    hospital corrects by replacement. The sender runs after commit."""
    if not provider_enabled() or invoice.total <= 0 or invoice.patient_share < 0:
        return None
    existing = EInvoice.objects.filter(invoice=invoice).exclude(kind=EInvoiceKind.ADJUSTMENT)
    if (found := existing.first()) is not None:
        return found
    original = _awaiting_replacement(invoice)
    einvoice = EInvoice.objects.create(
        invoice=invoice,
        kind=EInvoiceKind.REPLACEMENT if original else EInvoiceKind.ORIGINAL,
        original=original,
        reason=f"Thay thế hóa đơn {original.symbol} số {original.number}" if original else "",
        transaction_uuid=_transaction_uuid(invoice),
        provider=settings.EINVOICE_PROVIDER,
    )
    transaction.on_commit(_send_soon, robust=True)
    return einvoice


def _adjustment(original: EInvoice, reason: str) -> EInvoice:
    einvoice = EInvoice.objects.create(
        invoice=original.invoice,
        kind=EInvoiceKind.ADJUSTMENT,
        original=original,
        reason=(reason or "Hủy dịch vụ")[:200],
        transaction_uuid=_transaction_uuid(original.invoice, f"-adj{original.pk}"),
        provider=original.provider,
    )
    transaction.on_commit(_send_soon, robust=True)
    return einvoice


def _refund_adjustments(original: EInvoice) -> list[EInvoice]:
    """The adjustments refunds made (or will make) to ``original``: all but withdrawn ones
    (a refused one is still owed: staff correct and resend it)."""
    return list(
        EInvoice.objects.filter(original=original)
        .exclude(refund_key="")
        .exclude(status=EInvoiceStatus.WITHDRAWN)
    )


def _void_adjustment(original: EInvoice, reason: str) -> EInvoice | None:
    """The adjustment that takes an issued e-invoice back when its invoice is voided: every
    line, or — when refunds already adjusted it — what they left (none when nothing is)."""
    refunds = _refund_adjustments(original)
    if not refunds:
        return _adjustment(original, reason)
    left = _einvoiced_total(original.invoice) - sum(r.adjusted_amount for r in refunds)
    if left <= 0:
        logger.info("e-invoice %s: refunds already adjusted it to zero", original.pk)
        return None
    einvoice = EInvoice.objects.create(
        invoice=original.invoice,
        kind=EInvoiceKind.ADJUSTMENT,
        original=original,
        reason=(reason or "Hủy dịch vụ")[:200],
        adjusted_amount=left,
        transaction_uuid=_transaction_uuid(original.invoice, f"-adj{original.pk}"),
        provider=original.provider,
    )
    transaction.on_commit(_send_soon, robust=True)
    return einvoice


def einvoice_on_void(*, invoice: Invoice, reason: str) -> None:
    """Inside ``invoice_void``'s transaction (the invoice row is locked): withdraw the
    invoice's e-invoice if it has not gone out (with the refund adjustments waiting for it),
    or correct it if it has. With ``replace``, an e-invoice that refunds adjusted is adjusted
    for what is left instead: the adjustments already refer to it."""
    own = (
        EInvoice.objects.select_for_update()
        .filter(invoice=invoice)
        .exclude(kind=EInvoiceKind.ADJUSTMENT)
        .first()
    )
    if own is None:
        return
    if own.status in (EInvoiceStatus.PENDING, EInvoiceStatus.REFUSED):
        own.status = EInvoiceStatus.WITHDRAWN
        own.save(update_fields=["status", "updated_at"])
        EInvoice.objects.filter(
            original=own, status__in=(EInvoiceStatus.PENDING, EInvoiceStatus.REFUSED)
        ).update(status=EInvoiceStatus.WITHDRAWN, updated_at=timezone.now())
    elif own.status == EInvoiceStatus.SENDING:
        own.correction_needed = True  # the sender corrects it once it is recorded
        own.reason = reason[:200]
        own.save(update_fields=["correction_needed", "reason", "updated_at"])
    elif own.status == EInvoiceStatus.ISSUED and (
        settings.EINVOICE_VOID_CORRECTION != "replace" or _refund_adjustments(own)
    ):
        _void_adjustment(own, reason)
    logger.info("invoice %s voided: e-invoice %s is %s", invoice.pk, own.pk, own.status)


def einvoice_on_refund(
    *, invoice: Invoice, refund_id: int, refund_key: str, amount: int, reason: str
) -> EInvoice | None:
    """After a refund of ``amount`` on a payment of ``invoice`` committed (``refund_key``:
    the refund's public id): the adjusting e-invoice that lowers the invoice's e-invoice by
    what the patient no longer paid for its services, at most ``amount`` (Decree
    123/2020/ND-CP Art. 19(2)(b): a wrong amount on an issued e-invoice is corrected by an
    adjusting or a replacing e-invoice; Decree 70/2025/ND-CP keeps adjusting and replacing
    and removes cancelling). Once per refund, whenever and however often it is called; under
    the invoice's row lock, so refunds and a void of one invoice are counted one after the
    other. None when nothing is to adjust: no e-invoice, withdrawn, the invoice voided (its
    void took back what was left), or the money still received covers the e-invoice (a
    duplicate payment given back). An adjustment of an e-invoice not issued yet waits for
    it. The sender runs after commit."""
    if not provider_enabled() or amount <= 0:
        return None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        done = EInvoice.objects.filter(refund_key=refund_key).first()
        if done is not None:
            return done
        own = (
            EInvoice.objects.select_for_update()
            .filter(invoice=invoice)
            .exclude(kind=EInvoiceKind.ADJUSTMENT)
            .first()
        )
        if own is None or own.status == EInvoiceStatus.WITHDRAWN or invoice.voided_at:
            return None
        adjusted = sum(a.adjusted_amount for a in _refund_adjustments(own))
        take = min(amount, _einvoiced_total(invoice) - adjusted - _received(invoice))
        if take <= 0:
            logger.info("refund %s: e-invoice %s still covered, not adjusted", refund_id, own.pk)
            return None
        einvoice = EInvoice.objects.create(
            invoice=invoice,
            kind=EInvoiceKind.ADJUSTMENT,
            original=own,
            reason=reason[:200],
            adjusted_amount=take,
            refund_key=refund_key,
            transaction_uuid=_transaction_uuid(invoice, f"-rf{refund_id}"),
            provider=own.provider,
        )
        transaction.on_commit(_send_soon, robust=True)
    logger.info("refund %s: adjusting e-invoice %s of %s", refund_id, einvoice.pk, take)
    return einvoice


def _received(invoice: Invoice) -> int:
    """What the patient has paid for ``invoice`` and not been given back: payments net of
    refunds, and advances applied."""
    from billing.services.invoices import invoice_payments_net  # it imports this module

    return invoice_payments_net(invoice) + invoice_advances_applied(invoice)


def einvoice_buyer_correct(
    *, einvoice: EInvoice, legal_name: str, tax_code: str, address: str, email: str
) -> EInvoice:
    """Correct the company buyer of an e-invoice the provider refused (or that has not gone
    out yet); then :func:`einvoice_resend`. 409 ``einvoice_not_resendable`` otherwise: an
    issued e-invoice is corrected by adjustment or replacement, never edited."""
    with transaction.atomic():
        einvoice = EInvoice.objects.select_for_update().get(pk=einvoice.pk)
        if einvoice.status not in (EInvoiceStatus.REFUSED, EInvoiceStatus.PENDING):
            raise EInvoiceNotResendable(detail={"status": einvoice.status})
        einvoice.buyer_legal_name = legal_name.strip()[:200]
        einvoice.buyer_tax_code = tax_code.strip()[:14]
        einvoice.buyer_address = address.strip()[:300]
        einvoice.buyer_email = email.strip()[:254]
        einvoice.save(
            update_fields=[
                "buyer_legal_name",
                "buyer_tax_code",
                "buyer_address",
                "buyer_email",
                "updated_at",
            ]
        )
    return einvoice


def einvoice_resend(*, einvoice: EInvoice) -> EInvoice:
    """Queue a refused e-invoice again (after staff corrected what the provider refused).
    409 ``einvoice_not_resendable`` unless it is refused."""
    with transaction.atomic():
        einvoice = EInvoice.objects.select_for_update().get(pk=einvoice.pk)
        if einvoice.status != EInvoiceStatus.REFUSED:
            raise EInvoiceNotResendable(detail={"status": einvoice.status})
        einvoice.status = EInvoiceStatus.PENDING
        einvoice.attempts = 0
        einvoice.resends += 1
        einvoice.next_attempt_at = None
        einvoice.save(update_fields=["status", "attempts", "resends", "next_attempt_at"])
        transaction.on_commit(_send_soon, robust=True)
    return einvoice


# --- the document --------------------------------------------------------------------


def _vat_before(amount: int, vat_amount: int) -> int:
    return amount - vat_amount


def _invoice_lines(invoice: Invoice) -> list[DocumentLine]:
    lines = []
    for line in invoice.lines.all():
        if line.is_adjustment:
            continue
        before = _vat_before(line.amount, line.vat_amount)
        lines.append(
            DocumentLine(
                name=line.name,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=before // line.quantity if line.quantity else before,
                amount=before,
                vat_rate=str(line.vat_rate),
                vat_amount=line.vat_amount,
                code=line.service_code,
            )
        )
    if invoice.insurance_share > 0:
        share = invoice.insurance_share
        lines.append(DocumentLine(INSURANCE_LINE, "lần", 1, share, share, VatRate.KCT, 0, True))
    elif invoice.insurance_share < 0:
        back = -invoice.insurance_share
        lines.append(DocumentLine(INSURANCE_ADJUSTMENT_LINE, "lần", 1, back, back, VatRate.KCT, 0))
    return lines


def _reversed(lines: list[DocumentLine]) -> list[DocumentLine]:
    return [
        DocumentLine(
            line.name,
            line.unit,
            line.quantity,
            line.unit_price,
            line.amount,
            line.vat_rate,
            line.vat_amount,
            not line.decrease,
            line.code,
        )
        for line in lines
    ]


def _reference(original: EInvoice) -> OriginalReference:
    assert original.provider_issued_at is not None or original.issued_at is not None
    return OriginalReference(
        template_code=original.template_code,
        symbol=original.symbol,
        number=original.number,
        issued_at=original.provider_issued_at or original.issued_at,  # type: ignore[arg-type]
        transaction_uuid=original.transaction_uuid,
    )


def _amount_lines(invoice: Invoice, amount: int) -> list[DocumentLine]:
    """An adjustment by ``amount`` (VAT included) as lines lowering the total, one per VAT
    rate of the invoice's services, shared in proportion to what each rate bills (largest
    remainders get the odd dong); each line's VAT is its part's, rounded half up."""
    gross: dict[str, int] = {}
    for line in invoice.lines.all():
        if not line.is_adjustment and line.amount > 0:
            gross[str(line.vat_rate)] = gross.get(str(line.vat_rate), 0) + line.amount
    billed = sum(gross.values()) or 1
    rates = sorted(gross) or [str(VatRate.KCT)]
    shares = {rate: amount * gross.get(rate, 1) // billed for rate in rates}
    odd = amount - sum(shares.values())
    by_remainder = sorted(rates, key=lambda rate: (-(amount * gross.get(rate, 1) % billed), rate))
    for rate in by_remainder[:odd]:
        shares[rate] += 1
    lines = []
    for rate in rates:
        part = shares[rate]
        if part <= 0:
            continue
        percent = 0 if rate == VatRate.KCT else int(rate)
        vat = (2 * part * percent + 100 + percent) // (2 * (100 + percent))
        name = AMOUNT_ADJUSTMENT_LINE + (f" (thuế suất {rate})" if len(rates) > 1 else "")
        lines.append(DocumentLine(name, "lần", 1, part - vat, part - vat, rate, vat, True))
    return lines


def _totals(lines: list[DocumentLine]) -> tuple[int, int]:
    """(before VAT, VAT) of ``lines``, decreasing lines counted negative."""
    signed = [(-1 if line.decrease else 1) for line in lines]
    before = sum(sign * line.amount for sign, line in zip(signed, lines, strict=True))
    vat = sum(sign * line.vat_amount for sign, line in zip(signed, lines, strict=True))
    return before, vat


def _einvoiced_total(invoice: Invoice) -> int:
    """What the invoice's own e-invoice states (VAT included): the patient's share."""
    return sum(_totals(_invoice_lines(invoice)))


def einvoice_document(einvoice: EInvoice) -> Document:
    """What is sent for ``einvoice``: the invoice's lines before VAT, the fund's share as a
    line lowering the total (so it totals the patient's share); an adjustment sends the
    original's lines reversed (it takes the whole amount back), or, when it adjusts by an
    amount (a refund), lines lowering the total by that amount."""
    invoice = einvoice.invoice
    if einvoice.kind == EInvoiceKind.ADJUSTMENT and einvoice.adjusted_amount:
        lines = _amount_lines(invoice, einvoice.adjusted_amount)
    elif einvoice.kind == EInvoiceKind.ADJUSTMENT:
        lines = _reversed(_invoice_lines(invoice))
    else:
        lines = _invoice_lines(invoice)
    before, vat = _totals(lines)
    total = before + vat
    patient = invoice.patient
    return Document(
        transaction_uuid=einvoice.transaction_uuid,
        issued_at=timezone.now(),
        buyer_name=patient.full_name,
        buyer_code=patient.code,
        buyer_legal_name=einvoice.buyer_legal_name,
        buyer_tax_code=einvoice.buyer_tax_code,
        buyer_address=einvoice.buyer_address,
        buyer_email=einvoice.buyer_email,
        lines=lines,
        payment_method="TM/CK",
        total_before_vat=before,
        total_vat=vat,
        total=total,
        total_in_words=amount_in_words_vi(abs(total)),
        reason=einvoice.reason,
        original=_reference(einvoice.original) if einvoice.original is not None else None,
        notes=[f"Bảng kê {invoice.display_number}"],
    )


# --- the sender ------------------------------------------------------------------------


@contextlib.contextmanager
def _sender_lock() -> Iterator[bool]:
    if connection.vendor != "postgresql":
        held = _LOCAL_SENDER.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                _LOCAL_SENDER.release()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SENDER_LOCK])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SENDER_LOCK])


@dataclass(frozen=True)
class SendRun:
    issued: int = 0
    refused: int = 0
    waiting: bool = False  # stopped on a transient failure (or a row not due yet)


def _next_waiting() -> EInvoice | None:
    """The first waiting e-invoice by id; a correction waits until its original is issued
    (a refund may adjust an e-invoice that has not gone out yet, or was refused)."""
    return (
        EInvoice.objects.filter(status__in=[EInvoiceStatus.PENDING, EInvoiceStatus.SENDING])
        .filter(Q(original__isnull=True) | Q(original__status=EInvoiceStatus.ISSUED))
        .order_by("id")
        .first()
    )


def _claim(einvoice_id: int) -> tuple[EInvoice, bool] | None:
    with transaction.atomic():
        einvoice = (
            EInvoice.objects.select_for_update(of=("self",))
            .select_related("invoice__patient", "original")
            .get(pk=einvoice_id)
        )
        if einvoice.status not in (EInvoiceStatus.PENDING, EInvoiceStatus.SENDING):
            return None
        # Sent before without a recorded answer: ask the provider before sending again.
        uncertain = einvoice.status == EInvoiceStatus.SENDING or einvoice.attempts > 0
        einvoice.status = EInvoiceStatus.SENDING
        einvoice.attempts += 1
        einvoice.save(update_fields=["status", "attempts", "updated_at"])
    return einvoice, uncertain


def _call(provider: EInvoiceProvider, einvoice: EInvoice, uncertain: bool) -> Issued:
    if uncertain:
        found = provider.status(einvoice.transaction_uuid)
        if found is not None:
            return found
    document = einvoice_document(einvoice)
    if einvoice.kind == EInvoiceKind.ADJUSTMENT:
        return provider.adjust(document)
    if einvoice.kind == EInvoiceKind.REPLACEMENT:
        return provider.replace(document)
    return provider.issue(document)


def _record_issued(einvoice_id: int, issued: Issued) -> None:
    with transaction.atomic():
        einvoice = EInvoice.objects.select_for_update().get(pk=einvoice_id)
        einvoice.status = EInvoiceStatus.ISSUED
        einvoice.template_code = issued.template_code
        einvoice.symbol = issued.symbol
        einvoice.number = issued.number
        einvoice.provider_transaction_id = issued.transaction_id
        einvoice.lookup_code = issued.lookup_code
        einvoice.tax_authority_code = issued.tax_authority_code
        einvoice.provider_issued_at = issued.issued_at
        einvoice.issued_at = timezone.now()
        einvoice.next_attempt_at = None
        einvoice.error_code = einvoice.last_error = ""
        einvoice.save()
        if einvoice.correction_needed and (
            settings.EINVOICE_VOID_CORRECTION != "replace" or _refund_adjustments(einvoice)
        ):
            _void_adjustment(einvoice, einvoice.reason)
        einvoice_issued.send(sender=EInvoice, einvoice=einvoice)
    logger.info("e-invoice %s issued", einvoice_id)


def _record_refused(einvoice_id: int, refusal: ProviderRefused) -> None:
    EInvoice.objects.filter(pk=einvoice_id).update(
        status=EInvoiceStatus.REFUSED,
        error_code=refusal.code[:64],
        last_error=refusal.message[:500],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    logger.warning("e-invoice %s refused by the provider: %s", einvoice_id, refusal.code)


def _record_unavailable(einvoice: EInvoice, error: ProviderUnavailable) -> None:
    wait = backoff_seconds(
        einvoice.attempts,
        base=settings.EINVOICE_RETRY_BASE_SECONDS,
        ceiling=settings.EINVOICE_RETRY_MAX_SECONDS,
    )
    EInvoice.objects.filter(pk=einvoice.pk).update(
        status=EInvoiceStatus.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        error_code="unavailable",
        last_error=str(error)[:500],
        updated_at=timezone.now(),
    )
    logger.warning(
        "e-invoice %s: provider unavailable (%s), retry in %ss", einvoice.pk, error, wait
    )


def einvoices_send(*, limit: int = 200, force: bool = False) -> SendRun:
    """Send the waiting e-invoices in id order (at most ``limit``), one sender at a time
    (another run in progress: this one returns at once). A row waiting out its backoff
    stops the run, unless ``force`` (beat's run after the backoff, or a test)."""
    if not provider_enabled():
        return SendRun()
    issued = refused = 0
    with _sender_lock() as held:
        if not held:
            return SendRun(waiting=True)
        provider = einvoice_provider()
        for _ in range(limit):
            waiting = _next_waiting()
            if waiting is None:
                break
            due = waiting.next_attempt_at is None or waiting.next_attempt_at <= timezone.now()
            if not (due or force):
                return SendRun(issued, refused, waiting=True)
            claimed = _claim(waiting.pk)
            if claimed is None:
                continue
            einvoice, uncertain = claimed
            try:
                answer = _call(provider, einvoice, uncertain)
            except ProviderUnavailable as error:
                _record_unavailable(einvoice, error)
                return SendRun(issued, refused, waiting=True)
            except ProviderRefused as refusal:
                _record_refused(einvoice.pk, refusal)
                refused += 1
                continue
            _record_issued(einvoice.pk, answer)
            issued += 1
    return SendRun(issued, refused)


def einvoice_codes_poll(*, limit: int = 100) -> int:
    """Ask the provider for the tax authority's code of issued e-invoices still without one;
    returns how many got theirs."""
    if not provider_enabled():
        return 0
    provider = einvoice_provider()
    waiting = list(
        EInvoice.objects.filter(status=EInvoiceStatus.ISSUED, tax_authority_code="")
        .order_by("id")
        .values_list("pk", "transaction_uuid")[:limit]
    )
    coded = 0
    for pk, key in waiting:
        try:
            found = provider.status(key)
        except (ProviderUnavailable, ProviderRefused) as error:
            logger.warning("e-invoice %s: status not available (%s)", pk, error)
            break
        if found is None or not found.tax_authority_code:
            continue
        with transaction.atomic():
            einvoice = EInvoice.objects.select_for_update().get(pk=pk)
            einvoice.tax_authority_code = found.tax_authority_code
            einvoice.lookup_code = einvoice.lookup_code or found.lookup_code
            einvoice.save(update_fields=["tax_authority_code", "lookup_code", "updated_at"])
            einvoice_issued.send(sender=EInvoice, einvoice=einvoice)
        coded += 1
    return coded
