"""Rendered receipt PDFs in the ``receipts`` storage (``STORAGES["receipts"]``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from billing.selectors.einvoices import receipt_einvoice
from config.compiled import CompiledInsert
from notifications.models import PdfLayout, Receipt, ReceiptChannel, ReceiptKind, ReceiptPdf
from notifications.rendering import receipt_pdf


def primary_layout(receipt: Receipt) -> str:
    """What the channel prints: the thermal roll at kiosks and desks, A4 for phones."""
    return PdfLayout.A4 if receipt.channel == ReceiptChannel.PHONE else PdfLayout.THERMAL


def _path(receipt: Receipt, layout: str) -> str:
    return (
        f"{receipt.issued_at.year}/{receipt.form}{receipt.symbol}/"
        f"{receipt.number:08d}-{receipt.verification_code}-{layout}.pdf"
    )


def receipt_einvoice_lookup(receipt: Receipt) -> dict[str, Any] | None:
    """The e-invoice a payment receipt names once it is issued (advances and refunds name
    none: an advance is not a sale, a refund's correction is the hospital's to issue)."""
    if receipt.kind != ReceiptKind.PAYMENT:
        return None
    return receipt_einvoice(invoice_id=receipt.payment.invoice_id)


def _render(receipt: Receipt, layout: str) -> bytes:
    return receipt_pdf(
        content=receipt.content,
        number=receipt.display_number,
        layout=layout,
        einvoice=receipt_einvoice_lookup(receipt),
    )


def receipt_pdfs_refresh(*, invoice_id: int) -> int:
    """Render again the stored PDFs of the invoice's payment receipts (its e-invoice was
    issued, or got its tax authority's code, since): the receipt's content is unchanged,
    the printout now names the e-invoice. Returns how many were stored again."""
    storage = storages["receipts"]
    stored = ReceiptPdf.objects.filter(
        receipt__payment__invoice_id=invoice_id, receipt__kind=ReceiptKind.PAYMENT
    ).select_related("receipt__payment")
    count = 0
    for pdf in stored:
        data = _render(pdf.receipt, pdf.layout)
        if storage.exists(pdf.path):
            storage.delete(pdf.path)
        name = storage.save(pdf.path, ContentFile(data))
        ReceiptPdf.objects.filter(pk=pdf.pk).update(path=name, size=len(data))
        count += 1
    return count


def receipt_pdf_get(*, receipt: Receipt, layout: str) -> bytes:
    """The stored PDF of ``receipt`` in ``layout``, rendered and stored first if it is not
    there yet (a receipt's content never changes, so a stored PDF is never stale).
    Idempotent: concurrent callers store one file and one ``ReceiptPdf`` row."""
    storage = storages["receipts"]
    stored = ReceiptPdf.objects.filter(receipt=receipt, layout=layout).first()
    if stored is not None and storage.exists(stored.path):
        with storage.open(stored.path, "rb") as handle:
            return bytes(handle.read())
    return _render_and_store(receipt, layout)


# bulk_create's upsert of a stored PDF's row, its SQL made once per connection.
_PDF_STORED = CompiledInsert(
    ReceiptPdf, unique_fields=("receipt", "layout"), update_fields=("path", "size")
)


def _render_and_store(receipt: Receipt, layout: str) -> bytes:
    storage = storages["receipts"]
    data = _render(receipt, layout)
    path = _path(receipt, layout)
    if storage.exists(path):
        storage.delete(path)
    name = storage.save(path, ContentFile(data))
    # One statement (insert, or update the row of a render that finished first: same
    # content), atomic when two workers store the same receipt's PDF at the same moment.
    _PDF_STORED.insert([ReceiptPdf(receipt=receipt, layout=layout, path=name, size=len(data))])
    return data


def receipt_pdfs_render(
    *,
    receipt_id: int,
    layouts: list[str] | None = None,
    receipt: Receipt | None = None,
    new: bool = False,
) -> int:
    """Render and store the receipt's PDFs (its channel's layout by default); returns how
    many were rendered now. ``receipt``: the caller's copy with its payment, if it has one;
    ``new``: the caller issued it just now, so nothing is stored yet (not looked up; a
    render that raced this one is overwritten with the same content)."""
    if receipt is None or receipt.pk != receipt_id:
        receipt = Receipt.objects.select_related("payment").get(pk=receipt_id)
    stored: set[str] = set()
    if not new:
        stored = set(ReceiptPdf.objects.filter(receipt=receipt).values_list("layout", flat=True))
    rendered = 0
    for layout in layouts or [primary_layout(receipt)]:
        if layout not in stored:
            _render_and_store(receipt, layout)
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
