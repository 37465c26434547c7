"""Printouts that read cleanly, checked on the PDF itself (pypdf) and kept as PNGs
(pdftoppm) for a person to look at: lines leave room for stacked diacritics, no number is
broken across lines, long names wrap between words, the A4 form has its signature block and
the verification URL starts with PUBLIC_BASE_URL.

The stress set (longest names, every diacritic, 12-digit amounts, 40 lines) is rendered in
both layouts to ``test-artifacts/printouts/`` (not committed)."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fpdf.enums import MethodReturnValue
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader
from rest_framework.test import APIClient

from billing.models import EInvoice
from billing.money import format_vnd
from billing.services.einvoices import einvoice_codes_poll, einvoices_send
from config.pdf import THERMAL_80MM, pdf_document
from notifications.models import PdfLayout, Receipt
from notifications.rendering import (
    CELL_PADDING,
    ELECTRONIC_STATEMENT,
    LINE_HEIGHT,
    SIGN_HINT,
    _cell_line,
    _grid,
    receipt_pdf,
    wrapped_lines,
)
from notifications.services.pdfs import receipt_pdf_get, receipt_pdfs_refresh
from payments.models import PaymentChannel
from tests.notifications.builders import (
    DIACRITICS,
    LONGEST_NAME,
    issued,
    pdf_text,
    receipt_invoice,
    stress_content,
)

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "printouts"
LAYOUTS = [PdfLayout.A4, PdfLayout.THERMAL]


def _render(receipt: Receipt, content: dict[str, Any], layout: str) -> bytes:
    return receipt_pdf(content=content, number=receipt.display_number, layout=layout)


def _stress(layout: str, *, lines: int = 40, channel: str = "desk") -> tuple[bytes, dict]:
    receipt = issued()
    content = stress_content(receipt.content, lines=lines, channel=channel)
    return _render(receipt, content, layout), content


def _printed_numbers(content: dict[str, Any], layout: str) -> set[str]:
    """Every amount and quantity the printout shows, as printed (the A4 table shows a VAT
    line's amount with VAT only in the totals per rate)."""
    numbers = {format_vnd(content["amount"], symbol=False)}
    for line in content["invoice"]["lines"]:
        numbers.add(str(line["quantity"]))
        keys = ["unit_price_before_vat", "amount_before_vat", "insurance_share", "patient_share"]
        if line["vat"] != "KCT":
            keys.append("vat_amount")
        if layout == PdfLayout.THERMAL or line["vat"] == "KCT":
            keys.append("amount")
        for key in keys:
            numbers.add(format_vnd(line[key], symbol=False))
    for row in content["invoice"]["vat_summary"]:
        for key in ("amount_before_vat", "vat_amount", "amount"):
            numbers.add(format_vnd(row[key], symbol=False))
    return {number for number in numbers if len(number) > 1}


def _text_lines(data: bytes) -> list[str]:
    return [line for line in pdf_text(data).splitlines() if line.strip()]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_amount_or_quantity_is_split_across_lines(layout: str) -> None:
    data, content = _stress(layout)
    lines = _text_lines(data)
    text = "\n".join(lines)

    printed = _printed_numbers(content, layout)
    for number in printed:
        assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", text), f"{number} broken"
    for upper, lower in itertools.pairwise(lines):
        tail = re.search(r"[\d.]+$", upper)
        head = re.match(r"[\d.]+", lower)
        if tail and head:
            joined = tail.group() + head.group()
            assert joined not in printed, f"{joined} split across lines"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_long_names_wrap_between_words_and_every_diacritic_prints(layout: str) -> None:
    data, _ = _stress(layout, lines=6)
    words = set(pdf_text(data).split())

    for word in LONGEST_NAME.split():
        assert word in words, f"{word!r} was broken inside the word"
    for letter in DIACRITICS:
        assert letter in pdf_text(data)


def _baselines(data: bytes) -> list[tuple[int, float, float, float]]:
    """(page, x, y, font size) of each piece of text, in points."""
    found: list[tuple[int, float, float, float]] = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages):

        def visit(text: str, cm: Any, tm: Any, font: Any, size: float, page: int = number) -> None:
            if text.strip():
                found.append((page, round(tm[4], 1), tm[5], size))

        page.extract_text(visitor_text=visit)
    return found


@pytest.mark.parametrize("layout", LAYOUTS)
def test_lines_leave_room_for_stacked_diacritics(layout: str) -> None:
    data, _ = _stress(layout, lines=12)
    columns: defaultdict[tuple[int, float], list[tuple[float, float]]] = defaultdict(list)
    for page, x, y, size in _baselines(data):
        columns[(page, x)].append((y, size))

    gaps = []
    for placed in columns.values():
        ordered = sorted(set(placed), reverse=True)
        for (y_above, size_above), (y_below, size_below) in itertools.pairwise(ordered):
            if size_above == size_below and y_above != y_below:
                gaps.append((y_above - y_below) / size_below)
    assert gaps, "no consecutive lines found"
    # A stacked mark (Ồ) reaches about 1.2 em above the baseline: 1.4 em leaves it clear.
    assert min(gaps) >= 1.4, f"lines {min(gaps):.2f} em apart"
    assert LINE_HEIGHT >= 1.4


def test_the_a4_form_has_a_signature_block_for_payer_and_cashier_at_the_desk() -> None:
    receipt = issued(invoice=receipt_invoice())

    text = pdf_text(_render(receipt, receipt.content, PdfLayout.A4))

    assert "Người nộp tiền" in text
    assert "Người thu tiền" in text
    assert text.count(SIGN_HINT) == 2
    assert receipt.content["issued_by"] in text
    assert "không phải hóa đơn" in text


def test_a_phone_receipt_says_it_is_electronic_instead_of_asking_for_signatures() -> None:
    receipt = issued(invoice=receipt_invoice(), channel=PaymentChannel.PHONE)

    text = " ".join(pdf_text(_render(receipt, receipt.content, PdfLayout.A4)).split())

    assert "Người thu tiền" in text
    assert SIGN_HINT not in text
    assert ELECTRONIC_STATEMENT in text


def test_the_verification_url_starts_with_public_base_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://vienphi.benhvien-demo.vn/"

    receipt = issued()

    url = f"https://vienphi.benhvien-demo.vn/r/{receipt.verification_code}"
    assert receipt.content["verification_url"] == url
    for layout in LAYOUTS:
        assert url in "".join(pdf_text(_render(receipt, receipt.content, layout)).split())


def test_the_stress_set_is_rendered_to_png_for_a_person_to_look_at() -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (Debian: poppler-utils) is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cases = {
        "a4-desk-40-lines": (PdfLayout.A4, 40, "desk"),
        "a4-phone-3-lines": (PdfLayout.A4, 3, "phone"),
        "thermal-kiosk-40-lines": (PdfLayout.THERMAL, 40, "kiosk"),
        "thermal-desk-3-lines": (PdfLayout.THERMAL, 3, "desk"),
    }
    for name, (layout, lines, channel) in cases.items():
        data, _ = _stress(layout, lines=lines, channel=channel)
        for old in ARTIFACTS.glob(f"{name}*"):
            old.unlink()
        (ARTIFACTS / f"{name}.pdf").write_bytes(data)
        subprocess.run(  # noqa: S603 - a fixed local tool on our own file
            [pdftoppm, "-r", "110", "-png", str(ARTIFACTS / f"{name}.pdf"), str(ARTIFACTS / name)],
            check=True,
            timeout=120,
        )
        pngs = sorted(ARTIFACTS.glob(f"{name}*.png"))
        assert pngs, name
        assert all(png.stat().st_size > 5_000 for png in pngs)
        assert len(pngs) == len(PdfReader(io.BytesIO(data)).pages)


def test_once_issued_the_receipt_names_the_einvoice_and_where_to_look_it_up(
    fake_sinvoice: Any, receipt_storage: Path
) -> None:
    invoice = receipt_invoice()
    receipt = issued(invoice=invoice)
    before = pdf_text(receipt_pdf_get(receipt=receipt, layout=PdfLayout.THERMAL))
    assert "Hóa đơn điện tử: ký hiệu" not in before
    public = APIClient().get(f"/api/v1/receipts/verify/{receipt.verification_code}").json()
    assert public["einvoice"] is None

    einvoices_send()
    fake_sinvoice.assign_tax_codes()
    einvoice_codes_poll()
    assert receipt_pdfs_refresh(invoice_id=invoice.pk) == 1

    einvoice = EInvoice.objects.get(invoice=invoice)
    for layout in LAYOUTS:
        text = " ".join(pdf_text(receipt_pdf_get(receipt=receipt, layout=layout)).split())
        assert f"Hóa đơn điện tử: ký hiệu 2{einvoice.symbol}, số {einvoice.number}" in text
        assert einvoice.tax_authority_code in text
        assert einvoice.lookup_code in text
    public = APIClient().get(f"/api/v1/receipts/verify/{receipt.verification_code}").json()
    assert public["einvoice"]["lookup_code"] == einvoice.lookup_code
    page = APIClient().get(f"/r/{receipt.verification_code}").content.decode()
    assert einvoice.lookup_code in page
    assert "không phải hóa đơn" in page


_WORDS = [
    *LONGEST_NAME.split(),
    *(DIACRITICS[i : i + 5] for i in range(0, len(DIACRITICS), 5)),
    *("24.999.999.999", "·", "x", "=", ""),
]


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40),
    spaces=st.lists(st.sampled_from([" ", " ", " ", "  ", "\n"]), min_size=40, max_size=40),
    room=st.floats(min_value=20, max_value=190),
    size=st.sampled_from([6.5, 7.5, 10, 16]),
    bold=st.booleans(),
)
def test_lines_break_where_fpdf2s_multi_cell_breaks_them(
    words: list[str], spaces: list[str], room: float, size: float, bold: bool
) -> None:
    """The receipt's own line drawing (one ``cell`` a line, for speed) breaks every text
    where fpdf2's ``multi_cell`` would: the same lines, or ``multi_cell`` draws it."""
    text = "".join(word + space for word, space in zip(words, spaces, strict=False)).strip(" ")
    document = pdf_document()
    document.add_page()
    document.set_font(style="B" if bold else "", size=size)

    lines = wrapped_lines(document, text, room - 2 * document.c_margin)

    expected = document.multi_cell(
        w=room, text=text, align="L", dry_run=True, output=MethodReturnValue.LINES
    )
    if lines is None:  # a word wider than the box: multi_cell breaks it, and draws it
        assert any(document.get_string_width(w) > room - 2 * document.c_margin for w in words)
        return
    assert lines == expected


@pytest.mark.parametrize("page_format", ["A4", THERMAL_80MM])
def test_a_line_is_drawn_where_and_as_fpdf2s_cell_draws_it(page_format: Any) -> None:
    """The receipt's lines go through ``FPDF.text`` (``cell`` lays out fragments for each
    one): the page's operators are byte for byte those of ``cell``, in every alignment,
    width, size and style, and a line that breaks the page breaks it as ``cell`` does."""
    lines = [
        (text, align, width, size, style, new_x)
        for text, align, width, size, style, new_x in itertools.product(
            ["Nguyễn Thị Ửng", "BIÊN LAI THU TIỀN", "24.999.999.999", ""],
            ["L", "C", "R"],
            [0, 37.5],
            [6.5, 10],
            ["", "B"],
            ["LMARGIN", "LEFT"],
        )
    ] * 3  # enough to pass the end of an A4 page
    drawn, expected = pdf_document(page_format=page_format), pdf_document(page_format=page_format)
    for document in (drawn, expected):
        document.add_page()
        document.set_x(20)
    for text, align, width, size, style, new_x in lines:
        for document in (drawn, expected):
            document.set_font(style=style, size=size)
        _cell_line(drawn, text, width=width, align=align, new_x=new_x)
        height = LINE_HEIGHT * expected.font_size
        expected.cell(w=width, h=height, text=text, align=align, new_x=new_x, new_y="NEXT")
        assert (drawn.get_x(), drawn.get_y(), drawn.page) == (
            expected.get_x(),
            expected.get_y(),
            expected.page,
        )

    assert drawn.page > 1  # the page break was exercised too
    assert [page.contents for page in drawn.pages.values()] == [
        page.contents for page in expected.pages.values()
    ]


@pytest.mark.parametrize("rows", [1, 3, 90])
def test_a_table_is_drawn_where_and_as_fpdf2s_table_draws_it(rows: int) -> None:
    """The A4's tables (``_grid``) are fpdf2's ``table()`` with the receipt's settings,
    without laying each cell out twice: the same boxes, and the same text at the same
    places, on every page; headings repeated on top of each new page, long names wrapped
    and a word wider than its cell broken inside it."""
    headings = ["STT", "Tên dịch vụ, thuốc", "ĐVT", "Đơn giá chưa thuế", "Người bệnh trả"]
    body = [
        [str(index), (LONGEST_NAME if index % 3 else "Thuốc") + f" {index}", "lần", "1.250.000", ""]
        for index in range(rows)
    ]
    body[0][1] = "Siêuâmtimmạchmàuquathựcquảnkèmđánhgiáchứcnăngtâmthu"  # no space to wrap at
    widths, aligns = [10.0, 60.0, 15.0, 25.0, 25.0], ["L", "L", "L", "R", "R"]
    drawn, expected = pdf_document(), pdf_document()
    for document in (drawn, expected):
        document.set_margins(10, 10, 10)
        document.set_auto_page_break(True, margin=12)
        document.add_page()
        document.set_y(200)  # the first rows near the page's end
        document.set_font(style="", size=8)
    _grid(drawn, [headings, *body], widths, aligns)
    with expected.table(
        col_widths=tuple(widths),
        width=sum(widths),
        text_align=tuple("RIGHT" if align == "R" else "LEFT" for align in aligns),
        line_height=LINE_HEIGHT * expected.font_size,
        padding=CELL_PADDING,
        align="LEFT",
        v_align="TOP",
    ) as table:
        for values in [headings, *body]:
            row = table.row()
            for value in values:
                row.cell(value)

    assert _drawn(drawn) == _drawn(expected)
    assert (drawn.page, drawn.get_y()) == (expected.page, expected.get_y())
    assert drawn.page > 1 or rows < 90


def _drawn(document: Any) -> list[tuple[list[bytes], list[tuple[float, float, str]]]]:
    """Each page's boxes (its ``re S`` operators) and its text with where each piece
    starts, as a reader sees them (the glyph ids of the two documents may be numbered
    differently)."""
    pages = []
    for page in PdfReader(io.BytesIO(bytes(document.output()))).pages:
        contents = page.get_contents()
        assert contents is not None
        texts: list[tuple[float, float, str]] = []

        def seen(text: str, cm: Any, tm: Any, *_: Any, found: list[Any] = texts) -> None:
            if text.strip():
                found.append((round(tm[4], 2), round(tm[5], 2), text))

        page.extract_text(visitor_text=seen)
        pages.append(
            (re.findall(rb"[-\d.]+ [-\d.]+ [-\d.]+ [-\d.]+ re S", contents.get_data()), texts)
        )
    return pages
