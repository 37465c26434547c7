"""Receipt PDFs: an A4 page and an 80 mm thermal-printer roll, drawn from the receipt's
frozen content with the shared DejaVu font (``config.pdf``), with a QR code of the public
verification URL (segno's symbol, through ``config.qr``). ``public=True`` leaves out
everything personal (buyer and service lines) for the verification page.

What makes them read cleanly:

* every line is ``LINE_HEIGHT`` times its font size high, so a stacked Vietnamese mark (the
  circumflex and grave of "Ồ", the breve and dot of "Ặ") never touches the line above;
* a number is never broken: the A4 table's number columns are as wide as their widest
  amount (the font shrinks a step at a time before the description column gets too narrow),
  and text wraps only at spaces, which amounts ("24.999.999.999") never contain;
* long names wrap at word boundaries (fpdf2's word wrapping, inside their column);
* the A4 form ends with a signature block: payer and cashier at the desk, the electronic
  document statement where nobody signs (kiosk, phone).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fpdf import FPDF
from fpdf.enums import MethodReturnValue
from fpdf.util import Padding

from billing.money import format_vnd
from config.pdf import THERMAL_80MM, pdf_document
from config.qr import qr_matrix
from notifications.models import PdfLayout

# Line height as a multiple of the font size.
LINE_HEIGHT = 1.5
A4_WIDTH = 190.0  # 210 mm less 10 mm margins
CELL_PADDING = 1.0  # mm, each side of a table cell
_MIN_DESCRIPTION_WIDTH = 40.0
_SMALLEST_TABLE_FONT = 6.0
_A4_TABLE_FONT = 8.0
# (heading, numeric): the description column takes what the others leave.
_A4_COLUMNS = (
    ("STT", False),
    ("Tên dịch vụ, thuốc", False),
    ("ĐVT", False),
    ("SL", True),
    ("Đơn giá chưa thuế", True),
    ("Thành tiền chưa thuế", True),
    ("Thuế suất", False),
    ("Tiền thuế GTGT", True),
    ("BHYT trả", True),
    ("Người bệnh trả", True),
)
_DESCRIPTION = 1
# mm: longer than any receipt's roll; cut to the content's length once drawn
_THERMAL_DRAFT_LENGTH = 2000.0
SIGN_HINT = "(Ký, ghi rõ họ tên)"
ELECTRONIC_STATEMENT = (
    "Biên lai điện tử do hệ thống của bệnh viện lập tự động, không cần chữ ký; "
    "kiểm tra tính xác thực bằng mã tra cứu dưới đây."
)


def _money(amount: int) -> str:
    return format_vnd(amount, symbol=False)


# What QR's alphanumeric mode encodes (ISO/IEC 18004, 7.4.4): 0-9, A-Z, space, $%*+-./:
_QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]*")
_VERIFY_PATH = re.compile(r"/r/[0-9A-Z]+")


def qr_text(url: str) -> str:
    """What the QR code of a receipt's verification link ``url`` carries: the link in upper
    case when it reads the same that way — scheme and host are case-insensitive (RFC 3986,
    3.1 and 3.2.2), the code is upper case already and ``/R/<code>`` routes like
    ``/r/<code>`` (``notifications.api.public_urls``) — so that the QR code uses its
    alphanumeric mode (5.5 bits a character instead of 8): version 2 (25 modules) instead
    of 3 (29) for a link like ``https://bv.example.vn/r/7FYRVTSG6C59``, bigger modules on a
    26 mm thermal print and ~0.7 ms less to encode. A link under a path prefix, or with
    characters outside that mode, is encoded as it is."""
    parts = urlsplit(url)
    upper = url.upper()
    if _VERIFY_PATH.fullmatch(parts.path) and _QR_ALPHANUMERIC.fullmatch(upper):
        return upper
    return url


def _qr(document: FPDF, url: str, *, width: float, x: float | None = None) -> None:
    """The QR code of ``url``, ``width`` mm wide with its 2-module quiet zone, at ``x`` (the
    left margin by default) and the current height, which then moves below it. Drawn as
    filled rectangles, one per run of dark modules in a row: sharp at any printer's
    resolution, and no PNG to encode and decode again (~5 ms a receipt)."""
    matrix = qr_matrix(qr_text(url), error="m")
    border = 2
    module = width / (len(matrix) + 2 * border)
    left = document.l_margin if x is None else x
    top = document.get_y()
    k, height = document.k, document.h
    runs = []
    for row_index, row in enumerate(matrix):
        y = top + (border + row_index) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            x0 = left + (border + start) * module
            runs.append(
                f"{x0 * k:.3f} {(height - y) * k:.3f} {(column - start) * module * k:.3f}"
                f" {-module * k:.3f} re"
            )
    document._out("q 0 g\n" + "\n".join(runs) + "\nf Q")
    document.set_y(top + width)


def _number_block(number: str) -> list[str]:
    form, rest = number[0], number[1:]
    symbol, _, serial = rest.partition("-")
    return [f"Mẫu số: {form}", f"Ký hiệu: {symbol}", f"Số: {serial}"]


def _height(document: FPDF) -> float:
    return float(document.font_size) * LINE_HEIGHT


def _line(
    document: FPDF,
    text: str,
    *,
    bold: bool = False,
    size: float | None = None,
    align: str = "L",
    width: float = 0,
) -> None:
    document.set_font(style="B" if bold else "", size=size or document.font_size_pt)
    _text(document, text, width=width, align=align)


def _text(
    document: FPDF, text: str, *, width: float = 0, align: str = "L", new_x: str = "LMARGIN"
) -> None:
    """``text`` in a box ``width`` mm wide (0: to the right margin), each of its lines
    wrapped between words, the position then below it at ``new_x``.

    The lines are drawn one at a time (``_cell_line``), broken where ``multi_cell`` breaks
    them (at the last space that fits; the space is dropped): fpdf2's line breaker adds up
    the line's width again for every character it takes (quadratic in the line's length),
    which was most of a receipt's rendering time. A word wider than the box is left to
    ``multi_cell``, which breaks it inside."""
    box = (width or document.w - document.r_margin - document.get_x()) - 2 * document.c_margin
    lines = wrapped_lines(document, text, box)
    if lines is None:
        document.multi_cell(
            w=width, h=_height(document), text=text, align=align, new_x=new_x, new_y="NEXT"
        )
        return
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        _cell_line(document, line, width=width, align=align, new_x=new_x if last else "LEFT")


def _cell_line(document: FPDF, line: str, *, width: float, align: str, new_x: str) -> None:
    """``line`` where ``cell(w=width, h=_height(document), text=line, align=align,
    new_x=new_x, new_y="NEXT")`` draws it — the same origin and text operators — with
    ``FPDF.text``: ``cell`` lays out fragments and copies the graphics state for every line,
    a third of a thermal receipt's drawing. A line that would break the page is left to
    ``cell``, which breaks it."""
    height = _height(document)
    if document.will_page_break(height):
        document.cell(w=width, h=height, text=line, align=align, new_x=new_x, new_y="NEXT")
        return
    x, y = document.get_x(), document.get_y()
    if line:
        if align == "L":
            offset = document.c_margin
        else:  # cell's own arithmetic: centred in the box, or its cell margin from the right
            room = (width or document.w - document.r_margin - x) - _width(document, line)
            offset = room / 2 if align == "C" else room - document.c_margin
        document.text(x + offset, y + 0.5 * height + 0.3 * document.font_size, line)
    document.set_xy(document.l_margin if new_x == "LMARGIN" else x, y + height)


def wrapped_lines(document: FPDF, text: str, room: float) -> list[str] | None:
    """``text``'s lines as ``multi_cell`` breaks them to ``room`` mm, or None when a word
    alone is wider than that."""
    space = _width(document, " ")
    lines: list[str] = []
    paragraphs = text.split("\n")
    if len(paragraphs) > 1 and not paragraphs[-1]:  # a last newline adds no line
        paragraphs.pop()
    for paragraph in paragraphs:
        if _width(document, paragraph) <= room:
            lines.append(paragraph)
            continue
        line, used = "", -1.0
        for word in paragraph.split(" "):
            size = _width(document, word)
            if size > room:
                return None
            if used >= 0 and used + space + size <= room:
                line, used = f"{line} {word}", used + space + size
                continue
            if used >= 0:
                lines.append(line)
            line, used = word, size
        lines.append(line)
    return lines


def _width(document: FPDF, text: str) -> float:
    """``text``'s width in mm at the current font and size: what ``get_string_width`` and
    ``multi_cell`` add up (the font's glyph widths; no character spacing or stretching is
    set here), without ``get_string_width``'s preparation of the text for drawing (its
    bidirectional and style runs), which cost more than the sum itself."""
    font = document.current_font
    assert font is not None
    return float(font.get_text_width(text, document.font_size_pt, None)[1]) / document.k


def _line_values(line: dict[str, Any]) -> dict[str, Any]:
    """A line's figures, also for receipts issued before the lines carried their VAT."""
    return {
        "unit_price_before_vat": line.get("unit_price_before_vat", line["unit_price"]),
        "amount_before_vat": line.get("amount_before_vat", line["amount"]),
        "vat_amount": line.get("vat_amount", 0),
    }


def _vat_summary(content: dict[str, Any]) -> list[dict[str, Any]]:
    return list(content["invoice"].get("vat_summary") or [])


def _money_lines(content: dict[str, Any]) -> list[tuple[str, bool]]:
    refund = bool(content["reverses"])
    rows = [(f"Hình thức thanh toán: {content['payment']['method']}", False)]
    if refund:
        rows.append((f"Hoàn trả cho biên lai số: {content['reverses']}", False))
    label = "Số tiền hoàn trả" if refund else "Số tiền thu"
    rows.append((f"{label}: {_money(content['amount'])} đồng", True))
    rows.append((f"Bằng chữ: {content['amount_in_words']}", False))
    return rows


def _buyer_lines(content: dict[str, Any]) -> list[str]:
    buyer, invoice = content["buyer"], content["invoice"]
    rows = [f"Họ tên người bệnh: {buyer['name']}", f"Mã người bệnh: {buyer['patient_code']}"]
    if buyer["citizen_id_masked"]:
        rows.append(f"Số CCCD: {buyer['citizen_id_masked']}")
    if invoice.get("number"):
        rows.append(
            f"Bảng kê {invoice['number']}: tổng chi phí {_money(invoice['total'])} đồng, BHYT "
            f"chi trả {_money(invoice['insurance_share'])}, người bệnh chi trả "
            f"{_money(invoice['patient_share'])}"
        )
    return rows


def einvoice_lines(einvoice: dict[str, Any] | None) -> list[str]:
    """Where the e-invoice covering the services is looked up, once it exists."""
    if not einvoice or not einvoice.get("number"):
        return []
    code = einvoice.get("tax_authority_code")
    rows = [
        f"Hóa đơn điện tử: ký hiệu {einvoice['form']}{einvoice['symbol']}, "
        f"số {einvoice['number']}" + (f", mã CQT {code}" if code else "")
    ]
    if einvoice.get("lookup_url"):
        rows.append(f"Tra cứu hóa đơn tại {einvoice['lookup_url']}")
    if einvoice.get("lookup_code"):
        rows.append(f"Mã tra cứu hóa đơn: {einvoice['lookup_code']}")
    rows.append("Hóa đơn điện tử được ký số bởi người bán và cấp mã bởi cơ quan thuế.")
    return rows


# --- A4 --------------------------------------------------------------------------------


def _a4(
    content: dict[str, Any], number: str, public: bool, einvoice: dict[str, Any] | None
) -> FPDF:
    document = pdf_document()
    document.set_margins(10, 10, 10)
    document.set_auto_page_break(True, margin=12)
    document.add_page()
    seller = content["seller"]
    top = document.get_y()
    document.set_font(style="B", size=11)
    document.multi_cell(  # justified, as a wrapped line of it should be
        w=130, h=_height(document), text=seller["name"], new_x="LMARGIN", new_y="NEXT"
    )
    document.set_font(style="", size=9)
    for text in (f"Địa chỉ: {seller['address']}", f"Mã số thuế: {seller['tax_code']}"):
        document.multi_cell(w=130, h=_height(document), text=text, new_x="LMARGIN", new_y="NEXT")
    bottom = document.get_y()
    document.set_xy(150, top)
    document.multi_cell(w=50, h=_height(document), text="\n".join(_number_block(number)))
    document.set_y(max(bottom, document.get_y()) + 3)
    _line(document, content["title"], bold=True, size=16, align="C")
    if content.get("subtitle"):
        _line(document, f"({content['subtitle']})", size=9, align="C")
    _line(document, f"Ngày {content['issued_on']}", size=10, align="C")
    document.ln(3)
    if not public:
        for row in _buyer_lines(content):
            _line(document, row, size=10)
        document.ln(2)
        _a4_table(document, content["invoice"]["lines"])
        summary = _vat_summary(content)
        if summary:
            document.ln(2)
            _a4_vat_table(document, summary)
        document.ln(2)
    for row, bold in _money_lines(content):
        _line(document, row, bold=bold, size=10)
    if content.get("notice"):
        document.ln(1)
        _line(document, content["notice"], size=8.5)
    for row in einvoice_lines(einvoice):
        _line(document, row, size=8.5)
    _a4_signatures(document, content, public)
    _a4_verification(document, content)
    return document


def _fits(document: FPDF, texts: list[str], heading: str) -> float:
    """The width a column needs: its widest value, or its heading's longest word (headings
    print bold)."""
    values = [document.get_string_width(text) for text in texts]
    style = document.font_style
    document.set_font(style="B")
    words = [document.get_string_width(word) for word in heading.split()]
    document.set_font(style=style)
    return max([*words, *values, 0.0]) + 2 * CELL_PADDING + 0.5


def _a4_rows(lines: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for index, line in enumerate(lines, start=1):
        values = _line_values(line)
        rows.append(
            [
                str(index),
                line["name"],
                line["unit"],
                str(line["quantity"]),
                _money(values["unit_price_before_vat"]),
                _money(values["amount_before_vat"]),
                line["vat"],
                _money(values["vat_amount"]) if line["vat"] != "KCT" else "",
                _money(line["insurance_share"]),
                _money(line["patient_share"]),
            ]
        )
    return rows


def column_widths(
    document: FPDF, rows: list[list[str]], headings: list[str], total: float = A4_WIDTH
) -> tuple[float, list[float]]:
    """The font size and the column widths of a table whose every column but the
    description fits its widest value on one line: the font shrinks half a point at a time
    (down to 6 pt) while the description column would be narrower than 40 mm. The
    description takes the rest; its text wraps between words."""
    size = _A4_TABLE_FONT
    while True:
        document.set_font(size=size)
        widths = [
            _fits(document, [row[i] for row in rows], heading) if i != _DESCRIPTION else 0.0
            for i, heading in enumerate(headings)
        ]
        description = total - sum(widths)
        if description >= _MIN_DESCRIPTION_WIDTH or size <= _SMALLEST_TABLE_FONT:
            widths[_DESCRIPTION] = max(description, 10.0)
            return size, widths
        size -= 0.5


def _a4_table(document: FPDF, lines: list[dict[str, Any]]) -> None:
    headings = [heading for heading, _ in _A4_COLUMNS]
    rows = _a4_rows(lines)
    size, widths = column_widths(document, rows, headings)
    document.set_font(style="", size=size)
    _grid(
        document, [headings, *rows], widths, ["R" if numeric else "L" for _, numeric in _A4_COLUMNS]
    )


def _a4_vat_table(document: FPDF, summary: list[dict[str, Any]]) -> None:
    headings = ["Thuế suất", "Thành tiền chưa thuế", "Tiền thuế GTGT", "Cộng tiền thanh toán"]
    rows = [
        [
            row["vat"],
            _money(row["amount_before_vat"]),
            _money(row["vat_amount"]),
            _money(row["amount"]),
        ]
        for row in summary
    ]
    document.set_font(style="B", size=8.5)
    _line(document, "Tổng hợp theo thuế suất GTGT")
    document.set_font(style="", size=8)
    widths = [max(_fits(document, [r[i] for r in rows], h), 30.0) for i, h in enumerate(headings)]
    _grid(document, [headings, *rows], widths, ["L", "R", "R", "R"])


def _grid(document: FPDF, rows: list[list[str]], widths: list[float], aligns: list[str]) -> None:
    """A table at the left margin: ``rows[0]`` its headings (bold, again on top of each new
    page), each cell boxed, its text wrapped between words inside ``CELL_PADDING`` and
    aligned left or right (``aligns``), a row as high as its tallest cell; a row that does
    not fit goes to the next page, and the headings with it when the first row would not
    fit under them. It is what fpdf2's ``table()`` draws with those settings (the same
    boxes and text positions), without laying every cell out twice with its line breaker
    (three quarters of an A4 receipt's drawing)."""
    size, height = document.font_size_pt, _height(document)
    laid_out = [
        [
            _cell_lines(document, text, width, bold=index == 0)
            for text, width in zip(row, widths, strict=True)
        ]
        for index, row in enumerate(rows)
    ]
    heights = [max(len(lines) for lines in row) * height + 2 * CELL_PADDING for row in laid_out]
    if len(rows) > 1 and document.will_page_break(heights[0] + heights[1]):
        document.add_page()
    for index, (row, row_height) in enumerate(zip(laid_out, heights, strict=True)):
        if document.will_page_break(row_height):
            document.add_page()
            if index > 0:
                _grid_row(document, laid_out[0], widths, aligns, heights[0], bold=True, size=size)
        _grid_row(document, row, widths, aligns, row_height, bold=index == 0, size=size)
    document.set_font(style="", size=size)
    document.set_x(document.l_margin)


def _cell_lines(document: FPDF, text: str, width: float, *, bold: bool) -> list[str]:
    """``text``'s lines in a table cell ``width`` mm wide (inside its padding)."""
    style = document.font_style
    document.set_font(style="B" if bold else "")
    lines = wrapped_lines(document, text, width - 2 * CELL_PADDING)
    if lines is None:  # a word wider than the cell: fpdf2 breaks it inside
        broken = document.multi_cell(
            w=width,
            text=text,
            padding=Padding.new(CELL_PADDING),
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        assert isinstance(broken, list)
        lines = [str(line) for line in broken]
    document.set_font(style=style)
    return lines


def _grid_row(
    document: FPDF,
    row: list[list[str]],
    widths: list[float],
    aligns: list[str],
    row_height: float,
    *,
    bold: bool,
    size: float,
) -> None:
    document.set_font(style="B" if bold else "", size=size)
    height, top, x = _height(document), document.get_y(), document.l_margin
    baseline = top + CELL_PADDING + 0.5 * height + 0.3 * document.font_size
    for lines, width, align in zip(row, widths, aligns, strict=True):
        document.rect(x, top + row_height, width, -row_height)  # as fpdf2's table writes it
        for number, line in enumerate(lines):
            if not line:
                continue
            offset = width - CELL_PADDING - _width(document, line) if align == "R" else CELL_PADDING
            document.text(x + offset, baseline + number * height, line)
        x += width
    document.set_xy(document.l_margin, top + row_height)


def _a4_signatures(document: FPDF, content: dict[str, Any], public: bool) -> None:
    """Payer and cashier sign a receipt taken at the desk; a kiosk's or phone's receipt says
    it is an electronic document that nobody signs."""
    document.set_font(size=9.5)
    block = 34.0
    if document.get_y() + block > document.h - document.b_margin:
        document.add_page()
    document.ln(4)
    top = document.get_y()
    half = A4_WIDTH / 2
    signed = content.get("channel", "desk") == "desk"
    payer = "" if public else content["buyer"]["name"]
    columns = [
        ("Người nộp tiền", SIGN_HINT if signed else "", payer if signed else ""),
        ("Người thu tiền", SIGN_HINT if signed else "", content["issued_by"]),
    ]
    lowest = top
    for index, (title, hint, name) in enumerate(columns):
        document.set_xy(10 + index * half, top)
        document.set_font(style="B", size=9.5)
        _text(document, title, width=half, align="C", new_x="LEFT")
        document.set_x(10 + index * half)
        document.set_font(style="", size=8)
        if hint:
            _text(document, hint, width=half, align="C", new_x="LEFT")
        document.set_xy(10 + index * half, top + (22 if signed else 10))
        document.set_font(style="", size=9.5)
        _text(document, name, width=half, align="C", new_x="LEFT")
        lowest = max(lowest, document.get_y())
    document.set_xy(10, max(lowest + 2, top + (30 if signed else 17)))
    if not signed:
        _line(document, ELECTRONIC_STATEMENT, size=8.5)


def _a4_verification(document: FPDF, content: dict[str, Any]) -> None:
    if document.get_y() + 45 > document.h - document.b_margin:
        document.add_page()
    document.ln(2)
    _qr(document, content["verification_url"], width=30)
    _line(document, f"Kiểm tra biên lai: {content['verification_url']}", size=8)
    _line(document, f"Mã kiểm tra: {content['verification_code']}", size=8)


# --- 80 mm thermal roll ------------------------------------------------------------------


def _thermal_line_rows(line: dict[str, Any]) -> list[str]:
    values = _line_values(line)
    rows = [
        f"  {line['quantity']} {line['unit']} x {_money(values['unit_price_before_vat'])}"
        f" = {_money(values['amount_before_vat'])}"
    ]
    if line["vat"] == "KCT":
        rows.append("  Thuế GTGT: KCT")
    else:
        rows.append(
            f"  Thuế GTGT {line['vat']}: {_money(values['vat_amount'])}"
            f" · Cộng {_money(line['amount'])}"
        )
    rows.append(f"  BHYT {_money(line['insurance_share'])} · NB {_money(line['patient_share'])}")
    return rows


def _thermal_draw(
    content: dict[str, Any],
    number: str,
    public: bool,
    einvoice: dict[str, Any] | None,
) -> FPDF:
    document = pdf_document(page_format=(THERMAL_80MM[0], _THERMAL_DRAFT_LENGTH))
    document.set_margins(4, 4, 4)
    document.set_auto_page_break(False)
    document.add_page()
    seller = content["seller"]
    _line(document, seller["name"], bold=True, size=8.5, align="C")
    header = (seller["address"], f"MST: {seller['tax_code']}", " · ".join(_number_block(number)))
    for text in header:
        _line(document, text, size=7, align="C")
    document.ln(1)
    _line(document, content["title"], bold=True, size=10, align="C")
    if content.get("subtitle"):
        _line(document, f"({content['subtitle']})", size=6.5, align="C")
    _line(document, f"Ngày {content['issued_on']}", size=7.5, align="C")
    if not public:
        for row in _buyer_lines(content):
            _line(document, row, size=7.5)
        for line in content["invoice"]["lines"]:
            _line(document, line["name"], bold=True, size=7.5)
            for row in _thermal_line_rows(line):
                _line(document, row, size=7.5)
        summary = _vat_summary(content)
        if summary:
            _line(document, "Tổng theo thuế suất GTGT:", bold=True, size=7.5)
            for rate in summary:
                _line(
                    document,
                    f"  {rate['vat']}: chưa thuế {_money(rate['amount_before_vat'])}"
                    f" · thuế {_money(rate['vat_amount'])} · cộng {_money(rate['amount'])}",
                    size=7.5,
                )
    document.ln(1)
    for row, bold in _money_lines(content):
        _line(document, row, bold=bold, size=7.5)
    _line(document, f"Người thu: {content['issued_by']}", size=7.5)
    if content.get("notice"):
        _line(document, content["notice"], size=6.5)
    for row in einvoice_lines(einvoice):
        _line(document, row, size=6.5)
    _qr(document, content["verification_url"], width=26, x=(80 - 26) / 2)
    _line(document, f"Mã kiểm tra: {content['verification_code']}", size=7.5)
    _line(document, content["verification_url"], size=7.5)
    return document


def _thermal(
    content: dict[str, Any], number: str, public: bool, einvoice: dict[str, Any] | None
) -> FPDF:
    """Drawn once on a long page, then the page is cut to the printout's length (a roll has
    no fixed page length; fpdf2 needs a height up front): fpdf2 places what it draws from
    the page's bottom edge, so the drawing is moved down by what is cut off the bottom."""
    document = _thermal_draw(content, number, public, einvoice)
    height = document.get_y() + 4
    page = document.pages[document.page]
    width_pt, long_pt = page.dimensions()
    cut_pt = long_pt - height * document.k
    assert isinstance(page.contents, bytearray)
    page.contents[:0] = f"1 0 0 1 0 {-cut_pt:.2f} cm\n".encode()
    page.set_dimensions(width_pt, long_pt - cut_pt)
    return document


def receipt_pdf(
    *,
    content: dict[str, Any],
    number: str,
    layout: str,
    public: bool = False,
    einvoice: dict[str, Any] | None = None,
) -> bytes:
    """The PDF of a receipt's content in ``layout`` (``a4`` or ``thermal``), naming the
    e-invoice that covers its services when ``einvoice`` (its lookup data) is given."""
    draw = _a4 if layout == PdfLayout.A4 else _thermal
    return bytes(draw(content, number, public, einvoice).output())
