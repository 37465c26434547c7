"""Rendered receipt PDFs in the ``receipts`` storage (``STORAGES["receipts"]``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import PdfLayout, Receipt, ReceiptChannel, ReceiptPdf
from notifications.rendering import receipt_pdf


def primary_layout(receipt: Receipt) -> str:
    """What the channel prints: the thermal roll at kiosks and desks, A4 for phones."""
    return PdfLayout.A4 if receipt.channel == ReceiptChannel.PHONE else PdfLayout.THERMAL


def _path(receipt: Receipt, layout: str) -> str:
    return (
        f"{receipt.issued_at.year}/{receipt.form}{receipt.symbol}/"
        f"{receipt.number:08d}-{receipt.verification_code}-{layout}.pdf"
    )


def receipt_pdf_get(*, receipt: Receipt, layout: str) -> bytes:
    """The stored PDF of ``receipt`` in ``layout``, rendered and stored first if it is not
    there yet (a receipt's content never changes, so a stored PDF is never stale).
    Idempotent: concurrent callers store one file and one ``ReceiptPdf`` row."""
    storage = storages["receipts"]
    stored = ReceiptPdf.objects.filter(receipt=receipt, layout=layout).first()
    if stored is not None and storage.exists(stored.path):
        with storage.open(stored.path, "rb") as handle:
            return bytes(handle.read())
    data = receipt_pdf(content=receipt.content, number=receipt.display_number, layout=layout)
    path = _path(receipt, layout)
    if storage.exists(path):
        storage.delete(path)
    name = storage.save(path, ContentFile(data))
    try:
        with transaction.atomic():
            ReceiptPdf.objects.update_or_create(
                receipt=receipt, layout=layout, defaults={"path": name, "size": len(data)}
            )
    except IntegrityError:  # rendered at the same moment by another worker: same content
        pass
    return data


def receipt_pdfs_render(*, receipt_id: int, layouts: list[str] | None = None) -> int:
    """Render and store the receipt's PDFs (its channel's layout by default); returns how
    many were rendered now."""
    receipt = Receipt.objects.get(pk=receipt_id)
    rendered = 0
    for layout in layouts or [primary_layout(receipt)]:
        if not ReceiptPdf.objects.filter(receipt=receipt, layout=layout).exists():
            receipt_pdf_get(receipt=receipt, layout=layout)
            rendered += 1
    return rendered


def receipts_missing_pdf(*, limit: int = 200) -> list[int]:
    """Receipts issued more than ``RECEIPT_PDF_STALE_MINUTES`` ago without any stored PDF
    (the render task was lost): beat renders them."""
    cutoff = timezone.now() - timedelta(minutes=settings.RECEIPT_PDF_STALE_MINUTES)
    candidates = Receipt.objects.filter(issued_at__lte=cutoff).exclude(
        pdfs__layout__in=[PdfLayout.A4, PdfLayout.THERMAL]
    )
    return list(candidates.order_by("id").values_list("id", flat=True)[:limit])
