"""Receipt PDFs: Vietnamese text survives into the PDF (read back with pypdf), both layouts,
stored by the render task, served to staff and to the kiosk that took the payment only."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from pypdf import PdfReader
from rest_framework.test import APIClient

from config.identity.models import DeviceKind, Role
from notifications.models import PdfLayout, ReceiptPdf
from notifications.rendering import qr_text
from notifications.tasks import render_receipt_pdfs
from payments.models import PaymentChannel
from tests.assertions import assert_error
from tests.notifications.builders import PATIENT_NAME, issued, pdf_text, receipt_invoice

pytestmark = pytest.mark.django_db

MM = 72 / 25.4


def _pdf(client: APIClient, receipt_id: str, layout: str = "") -> bytes:
    query = f"?layout={layout}" if layout else ""
    response = client.get(f"/api/v1/receipts/{receipt_id}.pdf{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    return bytes(response.content)


@pytest.mark.parametrize("layout", [PdfLayout.A4, PdfLayout.THERMAL])
def test_the_pdf_reads_back_the_patients_name_and_the_amount_in_words(
    staff_client: Callable[..., APIClient], layout: str
) -> None:
    receipt = issued(invoice=receipt_invoice())

    text = pdf_text(_pdf(staff_client(Role.CASHIER), receipt.public_id, layout))

    assert PATIENT_NAME in text
    assert "Một trăm hai mươi nghìn đồng" in text
    assert "BIÊN LAI THU TIỀN" in text
    assert receipt.content["buyer"]["citizen_id_masked"] in text
    assert "KCT" in text
    assert "Paracetamol 500mg" in text
    assert receipt.symbol in text
    assert f"{receipt.number:08d}" in text
    assert receipt.content["issued_on"] in text
    assert receipt.verification_code in text


def test_the_thermal_layout_is_80_mm_wide_and_as_long_as_its_content(
    staff_client: Callable[..., APIClient],
) -> None:
    receipt = issued()

    page = PdfReader(
        io.BytesIO(_pdf(staff_client(Role.CASHIER), receipt.public_id, "thermal"))
    ).pages[0]
    heights: list[float] = []
    page.extract_text(  # where the text lands on the page: its matrix times the page's
        visitor_text=lambda text, cm, tm, *_: (
            heights.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5]) if text.strip() else None
        )
    )

    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert abs(width - 80 * MM) < 0.01
    assert 60 * MM < height < 297 * MM
    assert heights
    assert all(0 < y < height for y in heights), "text printed outside the roll"


def test_the_a4_layout_is_an_a4_page(staff_client: Callable[..., APIClient]) -> None:
    receipt = issued()

    page = PdfReader(io.BytesIO(_pdf(staff_client(Role.FINANCE), receipt.public_id, "a4"))).pages[0]

    assert abs(float(page.mediabox.width) - 210 * MM) < 0.01


def test_the_render_task_stores_the_channels_layout_once(receipt_storage: Path) -> None:
    receipt = issued()

    assert render_receipt_pdfs.delay(receipt.pk).get() == 1
    assert render_receipt_pdfs.delay(receipt.pk).get() == 0

    stored = ReceiptPdf.objects.get(receipt=receipt)
    assert stored.layout == PdfLayout.THERMAL  # a desk prints on the roll
    assert PATIENT_NAME in pdf_text((receipt_storage / stored.path).read_bytes())


def test_the_kiosk_that_took_the_payment_prints_it_and_no_other_kiosk_sees_it(
    device_client: Callable[..., tuple[APIClient, object]],
) -> None:
    kiosk, device = device_client(DeviceKind.KIOSK)
    other, _ = device_client(DeviceKind.KIOSK)
    his, _ = device_client(DeviceKind.HIS)
    receipt = issued(channel=PaymentChannel.KIOSK, device=device)

    assert PATIENT_NAME in pdf_text(_pdf(kiosk, receipt.public_id))
    assert_error(other.get(f"/api/v1/receipts/{receipt.public_id}.pdf"), 404, "not_found", "id")
    assert_error(his.get(f"/api/v1/receipts/{receipt.public_id}.pdf"), 403, "permission_denied")
    assert_error(
        APIClient().get(f"/api/v1/receipts/{receipt.public_id}.pdf"), 401, "authentication_required"
    )


def test_an_unknown_layout_is_a_clear_400(staff_client: Callable[..., APIClient]) -> None:
    receipt = issued()

    response = staff_client(Role.CASHIER).get(f"/api/v1/receipts/{receipt.public_id}.pdf?layout=a5")

    assert_error(response, 400, "invalid_request", "layout")


def test_the_public_pdf_shows_the_document_but_nothing_personal() -> None:
    receipt = issued()

    response = APIClient().get(f"/r/{receipt.verification_code}.pdf")

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Một trăm hai mươi nghìn đồng" in text
    assert receipt.symbol in text
    assert PATIENT_NAME not in text
    assert receipt.content["buyer"]["citizen_id_masked"] not in text
    assert "Paracetamol" not in text


def _qr_modules(data: bytes) -> set[tuple[int, int]]:
    """The dark modules of the QR code drawn on the PDF's page (its filled rectangles, one
    per run of dark modules in a row), as (row, column) from the symbol's top left."""
    stream = PdfReader(io.BytesIO(data)).pages[0].get_contents()
    assert stream is not None
    block = re.search(rb"q 0 g\n(.*?)\nf Q", stream.get_data(), re.DOTALL)  # the QR's fill
    assert block is not None
    runs = [
        tuple(float(value) for value in match.groups())
        for match in re.finditer(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re", block[1])
    ]
    module = abs(runs[0][3])
    left, top = min(run[0] for run in runs), max(run[1] for run in runs)
    dark = set()
    for x, y, width, _ in runs:
        row, column = round((top - y) / module), round((x - left) / module)
        dark |= {(row, column + step) for step in range(round(width / module))}
    return dark


@pytest.mark.parametrize("layout", [PdfLayout.THERMAL, PdfLayout.A4])
def test_the_qr_code_opens_the_verification_page_in_qrs_compact_mode(
    staff_client: Callable[..., APIClient], layout: str
) -> None:
    """The QR code carries the verification link in upper case (QR's alphanumeric mode, a
    smaller symbol with bigger modules on the roll), and that link opens the page."""
    receipt = issued()
    link = receipt.content["verification_url"]

    drawn = _qr_modules(_pdf(staff_client(Role.CASHIER), receipt.public_id, layout))

    carried = qr_text(link)
    assert carried == link.upper() != link
    symbol = segno.make(carried, error="m")
    assert symbol.mode == "alphanumeric"
    as_it_is = segno.make(link, error="m")
    assert isinstance(symbol.version, int)
    assert isinstance(as_it_is.version, int)
    assert symbol.version < as_it_is.version
    expected = {
        (row, column)
        for row, modules in enumerate(symbol.matrix)
        for column, dark in enumerate(modules)
        if dark
    }
    assert drawn == expected
    page = APIClient().get(urlsplit(carried).path)
    assert page.status_code == 200
    assert receipt.verification_code in page.content.decode()


@pytest.mark.parametrize(
    "link",
    [
        "https://bv.example.vn/vienphi/r/7FYRVTSG6C59",  # a prefix: the proxy may match by case
        "https://bv.example.vn/r/7FYRVTSG6C59?utm=sms",
        "https://bv_demo.example.vn/r/7FYRVTSG6C59",  # "_" is not in the alphanumeric mode
    ],
)
def test_a_link_that_would_not_read_the_same_in_upper_case_is_kept_as_it_is(link: str) -> None:
    assert qr_text(link) == link
