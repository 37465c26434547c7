"""Receipt PDFs: an A4 page and an 80 mm thermal-printer roll, drawn from the receipt's
frozen content with the shared DejaVu font (``config.pdf``), with a QR code of the public
verification URL (segno). ``public=True`` leaves out everything personal (buyer and service
lines) for the verification page."""

from __future__ import annotations

import io
from typing import Any

import segno
from fpdf import FPDF

from billing.money import format_vnd
from config.pdf import THERMAL_80MM, pdf_document
from notifications.models import PdfLayout

_A4_COLUMNS = (
    ("STT", 8),
    ("Nội dung", 52),
    ("ĐVT", 12),
    ("SL", 10),
    ("Đơn giá", 20),
    ("Thành tiền", 22),
    ("Thuế GTGT", 14),
    ("BHYT trả", 26),
    ("Người bệnh trả", 26),
)


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=4, border=2)
    buffer.seek(0)
    return buffer


def _number_block(number: str) -> list[str]:
    form, rest = number[0], number[1:]
    symbol, _, serial = rest.partition("-")
    return [f"Mẫu số: {form}", f"Ký hiệu: {symbol}", f"Số: {serial}"]


def _line(document: FPDF, text: str, *, bold: bool = False, size: float | None = None) -> None:
    document.set_font(style="B" if bold else "", size=size or document.font_size_pt)
    document.multi_cell(w=0, text=text, align="L", new_x="LMARGIN", new_y="NEXT")


def _money_lines(content: dict[str, Any]) -> list[tuple[str, bool]]:
    refund = bool(content["reverses"])
    rows = [(f"Hình thức thanh toán: {content['payment']['method']}", False)]
    if refund:
        rows.append((f"Hoàn trả cho biên lai số: {content['reverses']}", False))
    label = "Số tiền hoàn trả" if refund else "Số tiền thu"
    rows.append((f"{label}: {format_vnd(content['amount'], symbol=False)} đồng", True))
    rows.append((f"Bằng chữ: {content['amount_in_words']}", False))
    return rows


def _buyer_lines(content: dict[str, Any]) -> list[str]:
    buyer, invoice = content["buyer"], content["invoice"]
    rows = [f"Họ tên người bệnh: {buyer['name']}", f"Mã người bệnh: {buyer['patient_code']}"]
    if buyer["citizen_id_masked"]:
        rows.append(f"Số CCCD: {buyer['citizen_id_masked']}")
    if invoice.get("number"):
        rows.append(
            f"Hóa đơn {invoice['number']}: tổng chi phí "
            f"{format_vnd(invoice['total'], symbol=False)} đồng, BHYT "
            f"chi trả {format_vnd(invoice['insurance_share'], symbol=False)}, người bệnh chi trả "
            f"{format_vnd(invoice['patient_share'], symbol=False)}"
        )
    return rows


def _a4(content: dict[str, Any], number: str, public: bool) -> FPDF:
    document = pdf_document()
    document.set_margins(10, 10, 10)
    document.add_page()
    seller = content["seller"]
    top = document.get_y()
    document.set_font(style="B", size=11)
    document.multi_cell(w=130, text=seller["name"], new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=9)
    document.multi_cell(w=130, text=f"Địa chỉ: {seller['address']}", new_x="LMARGIN", new_y="NEXT")
    document.multi_cell(
        w=130, text=f"Mã số thuế: {seller['tax_code']}", new_x="LMARGIN", new_y="NEXT"
    )
    bottom = document.get_y()
    document.set_xy(150, top)
    document.multi_cell(w=50, text="\n".join(_number_block(number)))
    document.set_y(max(bottom, document.get_y()) + 4)
    document.set_font(style="B", size=16)
    document.cell(w=0, text=content["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=10)
    document.cell(
        w=0, text=f"Ngày {content['issued_on']}", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    document.ln(4)
    if not public:
        for row in _buyer_lines(content):
            _line(document, row)
        document.ln(2)
        _a4_table(document, content["invoice"]["lines"])
        document.ln(2)
    for row, bold in _money_lines(content):
        _line(document, row, bold=bold, size=10)
    _line(document, f"Người thu tiền: {content['issued_by']}")
    document.ln(3)
    document.image(_qr_png(content["verification_url"]), w=30)
    document.set_font(size=8)
    _line(document, f"Tra cứu biên lai: {content['verification_url']}")
    _line(document, f"Mã tra cứu: {content['verification_code']}")
    return document


def _a4_table(document: FPDF, lines: list[dict[str, Any]]) -> None:
    document.set_font(size=8)
    widths = tuple(width for _, width in _A4_COLUMNS)
    with document.table(col_widths=widths, text_align="CENTER", line_height=4.5) as table:
        heading = table.row()
        for title, _ in _A4_COLUMNS:
            heading.cell(title)
        for index, line in enumerate(lines, start=1):
            row = table.row()
            for value in (
                str(index),
                line["name"],
                line["unit"],
                str(line["quantity"]),
                format_vnd(line["unit_price"], symbol=False),
                format_vnd(line["amount"], symbol=False),
                line["vat"],
                format_vnd(line["insurance_share"], symbol=False),
                format_vnd(line["patient_share"], symbol=False),
            ):
                row.cell(value)


def _thermal_draw(
    content: dict[str, Any], number: str, public: bool, height: float = 1000.0
) -> FPDF:
    document = pdf_document(page_format=(THERMAL_80MM[0], height))
    document.set_margins(4, 4, 4)
    document.set_auto_page_break(False)
    document.add_page()
    seller = content["seller"]
    document.set_font(style="B", size=8.5)
    document.multi_cell(w=0, text=seller["name"], align="C", new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=7)
    for text in (
        seller["address"],
        f"MST: {seller['tax_code']}",
        " · ".join(_number_block(number)),
    ):
        document.multi_cell(w=0, text=text, align="C", new_x="LMARGIN", new_y="NEXT")
    document.ln(1)
    document.set_font(style="B", size=10)
    document.multi_cell(w=0, text=content["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=7.5)
    document.multi_cell(
        w=0, text=f"Ngày {content['issued_on']}", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    if not public:
        for row in _buyer_lines(content):
            _line(document, row)
        for line in content["invoice"]["lines"]:
            _line(document, line["name"], bold=True)
            _line(
                document,
                f"  {line['quantity']} {line['unit']} x "
                f"{format_vnd(line['unit_price'], symbol=False)} = "
                f"{format_vnd(line['amount'], symbol=False)}  VAT {line['vat']}",
            )
            _line(
                document,
                f"  BHYT {format_vnd(line['insurance_share'], symbol=False)} · "
                f"NB {format_vnd(line['patient_share'], symbol=False)}",
            )
    document.ln(1)
    for row, bold in _money_lines(content):
        _line(document, row, bold=bold)
    _line(document, f"Người thu: {content['issued_by']}")
    document.image(_qr_png(content["verification_url"]), w=26, x=(80 - 26) / 2)
    _line(document, f"Mã tra cứu: {content['verification_code']}")
    _line(document, content["verification_url"])
    return document


def _thermal(content: dict[str, Any], number: str, public: bool) -> FPDF:
    """Drawn twice: once on a long page to measure, then on a page as long as the
    printout (a roll has no fixed page length; fpdf2 needs the height up front)."""
    measured = _thermal_draw(content, number, public).get_y() + 4
    return _thermal_draw(content, number, public, height=measured)


def receipt_pdf(
    *, content: dict[str, Any], number: str, layout: str, public: bool = False
) -> bytes:
    """The PDF of a receipt's content in ``layout`` (``a4`` or ``thermal``)."""
    draw = _a4 if layout == PdfLayout.A4 else _thermal
    return bytes(draw(content, number, public).output())
