"""Receipts (numbered, frozen, immutable once issued) and the outbox of patient messages.

A receipt's content is a snapshot taken when it is issued (seller, buyer with the masked
citizen ID, lines, totals, amount in words): later changes to the price list, the patient or
the settings never rewrite it. On PostgreSQL a trigger refuses any UPDATE or DELETE of an
issued receipt; a correction is a new receipt (a refund receipt references the receipt it
reverses). Rendered PDFs are files in storage, recorded in ``ReceiptPdf``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.money import CurrencyField
from billing.public_ids import mint_public_id

# Crockford-like alphabet: no 0/O, 1/I/L to misread when typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_RECEIPT_NUMBER = 99_999_999  # at most 8 digits (Decree 123/2020/ND-CP)


def new_verification_code() -> str:
    return mint_public_id(alphabet=_CODE_ALPHABET, length=12)


def new_receipt_id() -> str:
    return mint_public_id(prefix="rcp_")


def new_message_id() -> str:
    return mint_public_id(prefix="msg_")


class ReceiptKind(models.TextChoices):
    PAYMENT = "payment", "Payment (Biên lai thu tiền)"
    DEPOSIT = "deposit", "Advance (Biên lai thu tiền tạm ứng)"
    REFUND = "refund", "Refund (Biên lai hoàn trả tiền)"


class ReceiptChannel(models.TextChoices):
    KIOSK = "kiosk", "Kiosk"
    DESK = "desk", "Cashier desk"
    PHONE = "phone", "Phone"


class Receipt(models.Model):
    # What kiosks, pay links and staff address it by (``rcp_`` and 80 random bits): the
    # integer key is a sequence and stays internal.
    public_id = models.CharField(max_length=32, unique=True, default=new_receipt_id)
    kind = models.CharField(max_length=8, choices=ReceiptKind.choices)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="receipts"
    )
    refund = models.OneToOneField(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    channel = models.CharField(max_length=8, choices=ReceiptChannel.choices)
    form = models.CharField(max_length=1, help_text="mẫu số: 1, 2 or 5")
    symbol = models.CharField(max_length=6, help_text="ký hiệu, e.g. C26TKA")
    number = models.PositiveIntegerField(help_text="gap-free per form and symbol")
    issued_at = models.DateTimeField()
    currency = CurrencyField(default=models.NOT_PROVIDED)  # always the payment's
    amount = models.BigIntegerField()
    verification_code = models.CharField(max_length=16, unique=True, default=new_verification_code)
    # The kiosk that took the payment may fetch the receipt to print it.
    device = models.ForeignKey(
        "identity.Device", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content = models.JSONField(help_text="frozen snapshot printed on the receipt")

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["form", "symbol", "number"], name="receipt_number_unique"
            ),
            # One receipt per payment (and one per refund): a duplicate event finds it.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(refund__isnull=True), name="receipt_one_per_payment"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=MAX_RECEIPT_NUMBER),
                name="receipt_number_eight_digits",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(
                condition=(Q(kind="refund") & Q(refund__isnull=False) & Q(reverses__isnull=False))
                | (~Q(kind="refund") & Q(refund__isnull=True) & Q(reverses__isnull=True)),
                name="receipt_refund_reverses_a_receipt",
            ),
        ]

    def __str__(self) -> str:
        return f"receipt {self.display_number}"

    @property
    def display_number(self) -> str:
        """Form, symbol and number as printed: ``5K26TKA-00000042``."""
        return f"{self.form}{self.symbol}-{self.number:08d}"


class PdfLayout(models.TextChoices):
    A4 = "a4", "A4"
    THERMAL = "thermal", "80 mm thermal roll"


class ReceiptPdf(models.Model):
    """A rendered PDF of a receipt, stored in the ``receipts`` storage."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="pdfs")
    layout = models.CharField(max_length=8, choices=PdfLayout.choices)
    path = models.CharField(max_length=200, help_text="name in the receipts storage")
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt", "layout"], name="receipt_pdf_one_per_layout")
        ]

    def __str__(self) -> str:
        return f"{self.layout} pdf of receipt {self.receipt_id}"


class MessageChannel(models.TextChoices):
    ZALO = "zalo", "Zalo (ZNS)"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class MessageStatus(models.TextChoices):
    """The outbox's states (``queued → sending → sent | failed``), then what the provider
    reports after ``sent``: ``delivered`` (on the phone), ``read`` (opened). Never backwards."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


# Sent, whatever the provider reported afterwards.
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


class Message(models.Model):
    """One Zalo notification, SMS or e-mail to a patient (the outbox): written in the
    transaction of the event that causes it, sent by Celery after commit. ``dedupe_key``
    makes a repeated event find the message it already made instead of sending a second one.

    A Zalo message that Zalo refuses for good (no Zalo account, a permanent ZNS error) is
    replaced once by a message on ``fallback_channel`` to ``fallback_recipient`` (its
    ``fallback_of`` points back)."""

    # What the API shows (``msg_`` and 80 random bits): a receipt's messages are read by
    # kiosks and pay links too, and the integer key is a sequence.
    public_id = models.CharField(max_length=32, unique=True, default=new_message_id)
    channel = models.CharField(max_length=5, choices=MessageChannel.choices)
    template = models.CharField(max_length=40)
    language = models.CharField(max_length=2, default="vi")
    # Personal data: shown masked in the admin, never logged, never in task arguments.
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # Zalo: the approved ZNS template and its parameters, frozen when the message is written.
    zns_template_id = models.CharField(max_length=40, blank=True)
    zns_template_data = models.JSONField(default=dict, blank=True)
    # Zalo: what the fallback message is made of (the SMS/e-mail template's context).
    context = models.JSONField(default=dict, blank=True)
    fallback_channel = models.CharField(max_length=5, choices=MessageChannel.choices, blank=True)
    fallback_recipient = models.CharField(max_length=254, blank=True)
    fallback_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="fallback"
    )
    dedupe_key = models.CharField(max_length=120, unique=True)
    receipt = models.ForeignKey(
        Receipt, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=9, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # Times a person queued the failed message again (admin resend): part of the gateway's
    # RequestId, so a refused attempt's id is never reused for a new one.
    resends = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Reported by the provider after sending (Zalo's webhook).
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="message_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=MessageChannel.values), name="message_channel_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_status_due"),
            # Zalo's webhook finds a message by the msg_id Zalo gave it.
            models.Index(
                fields=["provider_message_id"],
                condition=Q(channel="zalo") & ~Q(provider_message_id=""),
                name="message_zalo_msg_id",
            ),
        ]

    def __str__(self) -> str:
        # Never the recipient: __str__ ends up in logs and admin history.
        return f"{self.channel} message {self.pk} ({self.template})"

    @property
    def recipient_masked(self) -> str:
        from notifications.backends import mask_recipient

        return mask_recipient(self.recipient)


class ZaloToken(models.Model):
    """The Official Account's OAuth pair for one Zalo app, encrypted at rest (Fernet keys
    ``ZALO_TOKEN_ENCRYPTION_KEYS``; see ``notifications.services.zalo_tokens``).

    Zalo's refresh token is single-use: a refresh is claimed with a lease
    (``lease_until``/``lease_owner``, taken by one conditional UPDATE), the HTTP call runs
    with no lock or transaction held, and the new pair is written only if ``version`` is
    still the one the claimant read. ``needs_authorization`` is set when Zalo refuses the
    refresh token: a person must connect the OA again."""

    app_id = models.CharField(max_length=40, unique=True)
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField()
    expires_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)
    needs_authorization = models.BooleanField(default=False)
    last_error = models.CharField(max_length=200, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The ZNS quota in Zalo's last answer to a send.
    daily_quota = models.IntegerField(null=True, blank=True)
    remaining_quota = models.IntegerField(null=True, blank=True)
    quota_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        # Never a token.
        return f"zalo app {self.app_id} (v{self.version})"
