"""E-invoices: the legal document for an invoice's services, issued through the hospital's
e-invoice provider, which signs it and obtains the tax authority's code.

One row per document sent (or to send) to the provider: the invoice's original e-invoice,
and the adjusting or replacing e-invoice that corrects an issued one when our invoice is
voided. ``transaction_uuid`` (derived from our invoice id) is the provider's transaction
key, so a retry never issues a second e-invoice. The sender takes rows in id order, one
sender at a time: e-invoices go out in the order the invoices were paid, each once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.models.invoices import Invoice
from billing.public_ids import mint_public_id


class EInvoiceKind(models.TextChoices):
    ORIGINAL = "original", "Original (hóa đơn gốc)"
    # Decree 123/2020/ND-CP Art. 19, as amended by Decree 70/2025/ND-CP.
    ADJUSTMENT = "adjustment", "Adjusting (hóa đơn điều chỉnh)"
    REPLACEMENT = "replacement", "Replacing (hóa đơn thay thế)"


class EInvoiceStatus(models.TextChoices):
    """``pending → sending → issued`` (the tax authority's code arrives later, on an issued
    e-invoice); ``refused`` when the provider refuses it for good (its message kept, staff
    correct and resend); ``withdrawn`` when our invoice was voided before it went out."""

    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    ISSUED = "issued", "Issued by the provider"
    REFUSED = "refused", "Refused by the provider"
    WITHDRAWN = "withdrawn", "Withdrawn (invoice voided before sending)"


def new_einvoice_id() -> str:
    return mint_public_id(prefix="einv_")


class EInvoice(models.Model):
    # What the API shows (``einv_`` and 80 random bits): an invoice's e-invoice is read by
    # kiosks and pay links too, and the integer key is a sequence.
    public_id = models.CharField(max_length=32, unique=True, default=new_einvoice_id)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="einvoices")
    kind = models.CharField(
        max_length=11, choices=EInvoiceKind.choices, default=EInvoiceKind.ORIGINAL
    )
    # The issued e-invoice an adjustment or replacement corrects.
    original = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    reason = models.CharField(max_length=200, blank=True, help_text="why it corrects the original")
    # An adjustment by an amount (a refund, or a void after refunds): what it takes off the
    # original, VAT included; 0 for an adjustment that takes back every line.
    adjusted_amount = models.BigIntegerField(default=0)
    # The refund (its public id) an adjustment answers; empty for the others.
    refund_key = models.CharField(max_length=32, blank=True)
    transaction_uuid = models.CharField(max_length=64, unique=True)
    provider = models.CharField(max_length=20)
    status = models.CharField(
        max_length=9, choices=EInvoiceStatus.choices, default=EInvoiceStatus.PENDING
    )
    # A company buyer (staff fill these in, e.g. to correct a refused tax code); empty: the
    # patient as an individual buyer.
    buyer_legal_name = models.CharField(max_length=200, blank=True)
    buyer_tax_code = models.CharField(max_length=14, blank=True)
    buyer_address = models.CharField(max_length=300, blank=True)
    buyer_email = models.EmailField(blank=True)
    # What the provider answered.
    template_code = models.CharField(max_length=20, blank=True, help_text="mẫu số, e.g. 2/001")
    symbol = models.CharField(max_length=10, blank=True, help_text="ký hiệu, e.g. C26TAA")
    number = models.CharField(max_length=20, blank=True, help_text="the provider's number")
    provider_transaction_id = models.CharField(max_length=64, blank=True)
    lookup_code = models.CharField(max_length=64, blank=True, help_text="mã tra cứu")
    tax_authority_code = models.CharField(max_length=64, blank=True, help_text="mã CQT")
    provider_issued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=500, blank=True, help_text="the provider's message")
    # Our invoice was voided while this e-invoice was being sent: correct it once issued.
    correction_needed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True, help_text="when we recorded it")

    class Meta:
        ordering = ["id"]
        constraints = [
            # An invoice's own e-invoice: an original, or the replacement of a voided one.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=~Q(kind="adjustment"),
                name="einvoice_one_per_invoice",
            ),
            # One live correction of an original for its void (adjusting or replacing);
            # refunds adjust it once each (their key).
            models.UniqueConstraint(
                fields=["original"],
                condition=Q(original__isnull=False, refund_key="")
                & ~Q(status__in=["refused", "withdrawn"]),
                name="einvoice_one_live_correction",
            ),
            models.UniqueConstraint(
                fields=["refund_key"],
                condition=~Q(refund_key=""),
                name="einvoice_one_per_refund",
            ),
            models.CheckConstraint(
                condition=Q(refund_key="") | Q(kind="adjustment", adjusted_amount__gt=0),
                name="einvoice_refund_adjusts_an_amount",
            ),
            models.CheckConstraint(
                condition=Q(adjusted_amount__gte=0), name="einvoice_adjusted_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="original", original__isnull=True)
                | (~Q(kind="original") & Q(original__isnull=False)),
                name="einvoice_correction_names_its_original",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EInvoiceStatus.values), name="einvoice_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="issued") | ~Q(number=""), name="einvoice_issued_has_number"
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="einvoice_status_id")]

    def __str__(self) -> str:
        # Never the buyer: __str__ ends up in logs and admin history.
        return f"{self.kind} e-invoice {self.pk} of invoice {self.invoice_id} ({self.status})"
