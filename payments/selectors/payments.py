"""Reading payments: the one a caller may see, what a payer may pay and what is still payable
on an invoice, the payment an earlier execution of a request started, the ones in flight (on
an invoice, in a desk session, or stuck at the provider) and the ones beat must end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from billing.models import Encounter, Invoice
from billing.selectors.invoices import invoice_balance
from billing.selectors.patients import patient_looked_up_by
from config.errors import NotFound
from config.identity.models import Device
from config.identity.selectors import staff_roles
from payments.models import (
    ACTIVE_STATUSES,
    CAPTURED_STATUSES,
    CashierSession,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Provider,
)
from payments.paylinks import PayLinkPrincipal, pay_link_invoice_id
from payments.selectors.refunds import refunds_listed

if TYPE_CHECKING:
    from payments.services.payments import PaymentRequest


def payment_visible(*, user: Any, public_id: str) -> Payment:
    """The payment ``user`` may see: staff (any role) every one, a kiosk those it took, a
    pay-link holder those of its invoice. Anything else is ``not_found``, as if it did not
    exist."""
    payment = Payment.objects.filter(public_id=public_id).first()
    visible = payment is not None and (
        (isinstance(user, Device) and payment.created_by_device_id == user.pk)
        or (isinstance(user, PayLinkPrincipal) and payment.invoice_id == user.invoice_id)
        or (not isinstance(user, Device | PayLinkPrincipal) and bool(staff_roles(user)))
    )
    if not visible or payment is None:
        raise NotFound("No such payment.", param="id")
    return payment


def kiosk_found_patient(*, device: Device, patient_id: int) -> bool:
    """Whether the kiosk ``device`` found this patient by a lookup in the last
    ``KIOSK_PAY_LINK_LOOKUP_MINUTES``: a kiosk acts (pays, makes a pay link) only on what its
    lookup returned."""
    return patient_looked_up_by(
        device=device,
        patient_id=patient_id,
        within_minutes=settings.KIOSK_PAY_LINK_LOOKUP_MINUTES,
    )


def invoice_for(*, caller: Any, public_id: str, param: str) -> Invoice:
    """The invoice ``caller`` may act on, by its public id: staff any; a pay-link holder
    its own; a kiosk one of a patient it looked up lately (``kiosk_found_patient``).
    Anything else is the one ``not_found`` (same message, same ``param``), whether the
    invoice does not exist, is paid or void, or is someone else's: the answer tells a
    caller nothing it was not shown."""
    invoice = Invoice.objects.filter(public_id=public_id).first()
    if invoice is not None and isinstance(caller, PayLinkPrincipal):
        invoice = invoice if caller.invoice_id == invoice.pk else None
    if invoice is not None and isinstance(caller, Device):
        found = kiosk_found_patient(device=caller, patient_id=invoice.patient_id)
        invoice = invoice if found else None
    if invoice is None:
        raise NotFound("No such invoice.", param=param)
    return invoice


def payment_target(
    *, payer: Any, invoice_public_id: str | None, encounter_id: int | None
) -> tuple[Invoice | None, Encounter | None]:
    """The invoice (by its public id) or, for an advance, the encounter ``payer`` asks to
    pay, as ``invoice_for`` allows: a pay-link holder pays its own invoice only (and no
    advance), a kiosk only for a patient it looked up lately. Unknown or not theirs is
    ``not_found``."""
    if invoice_public_id:
        return invoice_for(caller=payer, public_id=invoice_public_id, param="invoice_id"), None
    if isinstance(payer, PayLinkPrincipal):
        raise NotFound("A pay link pays its own invoice only.", param="encounter_id")
    encounter = Encounter.objects.filter(pk=encounter_id).first() if encounter_id else None
    if encounter is not None and isinstance(payer, Device):
        found = kiosk_found_patient(device=payer, patient_id=encounter.patient_id)
        encounter = encounter if found else None
    if encounter is None:
        raise NotFound("No such encounter.", param="encounter_id")
    return None, encounter


def pay_link_invoice(*, token: str, write: bool = False) -> Invoice:
    """The invoice (with its lines) a pay link opens; ``pay_link_invalid`` when the token is
    unknown, expired or revoked (``write``: to pay or cancel, see ``pay_link_invoice_id``)."""
    invoice_id = pay_link_invoice_id(token, write=write)
    invoice = Invoice.objects.prefetch_related("lines").filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def invoice_payable_amount(*, invoice: Invoice) -> int:
    """What is due less what in-flight payments (pending, processing) have reserved.

    Call it with the invoice row locked so two payments cannot both reserve the rest."""
    reserved = (
        Payment.objects.filter(invoice=invoice, status__in=ACTIVE_STATUSES).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return invoice_balance(invoice).amount_due - reserved


def payment_ids_in_flight(
    *, invoice: Invoice | None = None, cashier_session: CashierSession | None = None
) -> list[str]:
    """Public ids of the payments still pending or processing on ``invoice`` or in
    ``cashier_session``."""
    payments = Payment.objects.filter(status__in=ACTIVE_STATUSES)
    if invoice is not None:
        payments = payments.filter(invoice=invoice)
    if cashier_session is not None:
        payments = payments.filter(cashier_session=cashier_session)
    return list(payments.values_list("public_id", flat=True))


def payment_started_earlier(*, request: PaymentRequest) -> Payment | None:
    """The payment an earlier execution of this very request committed (same client, same
    key, same parameters) before it died without answering; a failed one is not resumed."""
    since = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return (
        Payment.objects.filter(**request.recorded(), created_at__gte=since)
        .exclude(status=PaymentStatus.FAILED)
        .order_by("-created_at")
        .first()
    )


def payments_stuck_in_flight(*, limit: int = 200) -> list[int]:
    """Ids of Stripe payments in flight for longer than ``PAYMENT_SYNC_AFTER_MINUTES`` (and
    younger than ``PAYMENT_SYNC_MAX_AGE_HOURS``: an abandoned card form is not asked about
    forever), oldest first."""
    now = timezone.now()
    return list(
        Payment.objects.filter(
            provider=Provider.STRIPE,
            status__in=ACTIVE_STATUSES,
            updated_at__lt=now - timedelta(minutes=settings.PAYMENT_SYNC_AFTER_MINUTES),
            created_at__gt=now - timedelta(hours=settings.PAYMENT_SYNC_MAX_AGE_HOURS),
        )
        .exclude(provider_reference="")
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def payments_abandoned(*, limit: int = 200) -> QuerySet[Payment]:
    """Phone card payments left ``pending`` longer than ``CARD_PAYMENT_TTL_MINUTES`` (the
    patient closed the page), oldest first."""
    cutoff = timezone.now() - timedelta(minutes=settings.CARD_PAYMENT_TTL_MINUTES)
    return Payment.objects.filter(
        method=PaymentMethod.CARD, status=PaymentStatus.PENDING, created_at__lt=cutoff
    ).order_by("created_at")[:limit]


def payments_qr_overdue(*, now: datetime) -> QuerySet[Payment]:
    """Unpaid VietQR payments whose QR ran out more than ``VIETQR_EXPIRY_GRACE_MINUTES``
    before ``now``."""
    cutoff = now - timedelta(minutes=settings.VIETQR_EXPIRY_GRACE_MINUTES)
    return Payment.objects.filter(
        status=PaymentStatus.PENDING, expires_at__lt=cutoff, method=PaymentMethod.VIETQR
    )


def payments_of_invoice(*, invoice_id: int) -> QuerySet[Payment]:
    """Every payment of one invoice, oldest first (staff: the desk refunds from this list)."""
    return (
        Payment.objects.select_related("cashier_session", "invoice")
        .filter(invoice_id=invoice_id)
        .order_by("created_at", "id")
    )


def payments_of_encounter(*, encounter_id: int) -> QuerySet[Payment]:
    """Every advance (tạm ứng) paid on one encounter, oldest first."""
    return (
        Payment.objects.select_related("cashier_session", "invoice", "encounter")
        .filter(encounter_id=encounter_id)
        .order_by("created_at", "id")
    )


def payments_of_patient(*, patient_id: int, since: datetime | None = None) -> QuerySet[Payment]:
    """The money a patient paid (invoices and advances) that was taken: ``succeeded``,
    ``partially_refunded`` or ``refunded``, taken at or after ``since`` if given; newest
    first, each with its refunds (``listed_refunds``, oldest first). What the desk looks
    through for a refund approved after the invoice was paid in full."""
    payments = Payment.objects.filter(
        Q(invoice__patient_id=patient_id) | Q(encounter__patient_id=patient_id),
        status__in=CAPTURED_STATUSES,
    )
    if since is not None:
        payments = payments.filter(succeeded_at__gte=since)
    return (
        payments.select_related("cashier_session", "invoice", "encounter")
        .prefetch_related(Prefetch("refunds", refunds_listed(), to_attr="listed_refunds"))
        .order_by("-id")
    )
