"""The journal as MISA's voucher-import workbook: general vouchers (chứng từ nghiệp vụ khác)
that the chief accountant loads with MISA's "Nhập khẩu từ Excel" instead of retyping them.

Which MISA product follows from the regime (``settings.ACCOUNTING_REGIME``):

* ``tt99_2025`` (private hospital, an enterprise) → **MISA SME** (SME.NET 2022 and later),
  import type *Chứng từ nghiệp vụ khác*. The header row is the one MISA's own sample file
  for that type carries ("Tải tệp dữ liệu mẫu" in the import wizard), in its multi-currency
  form (with *Loại tiền*, *Tỷ giá*, *Số tiền quy đổi* and the *Thuế suất KHAC* column).
  Sources: MISA's help centre lists *Chứng từ nghiệp vụ khác* among the voucher types its
  Excel import takes, with *TK Nợ* and *TK Có* required (helpsme.misa.vn, SME.NET 2015
  R29 note "Khi nhập khẩu chứng từ từ Excel …"); the header texts and their order were
  cross-checked against three independent public integrations that generate this file for
  MISA SME (a payroll and a receivables tool, the same 37 headers; a hospital-fee tool,
  the 33-header VND-only form). Headers ending in "(*)" are the ones MISA requires.
* ``tt24_2024`` (public hospital, a public non-business unit) → **MISA Mimosa** (Mimosa.NET
  2022 / Mimosa online), general vouchers. Its sample file could not be found in any
  public source: the headers below follow MISA's naming in SME plus the budget-code
  columns a public unit's voucher carries (nguồn, chương, khoản, tiểu mục), every one of
  them **(check)** against the sample file Mimosa's wizard downloads. MISA's import lets
  the accountant map a column whose header differs ("Ghép dữ liệu" step), so a differing
  header costs a mapping, not a retyped journal.

  Searched again (December 2026) and still not confirmed: the stored public web pages,
  documentation and issue threads, and public source for "MISA Mimosa" / "Mimosa.NET" /
  "Mimosa X1" / "Mimosa Online" with "nhập khẩu chứng từ", "nhập khẩu từ Excel", "mẫu
  excel", "Chứng từ nghiệp vụ khác", "mau_nhap_khau" and the budget columns (nguồn,
  chương, khoản, tiểu mục). Nothing public shows the header row of Mimosa's voucher sample
  file. The nearest evidence: MISA's Mimosa Online help centre (helpmimosaonline.misa.vn)
  documents its chart of accounts and purchase vouchers, cited by public projects, but no
  import template was found there; the one public integration with MISA Mimosa.NET found
  reads Mimosa's own SQL Server database (its DBOption table and report procedures)
  rather than importing a workbook; a third-party copy of a MISA guide to *Tệp → Nhập
  khẩu dữ liệu* covers data files exported from another MISA database (with its chart,
  customers and vouchers), not an Excel voucher template.

One row per debit/credit pair (MISA's voucher line has both accounts): an entry's debit and
credit lines are paired in line order, each pair taking the smaller of the two remaining
amounts, so an entry of one debit and three credits gives three rows, and the rows of a
voucher always add up to its total. Rows of one entry share its voucher number, which MISA
uses to group them into one voucher. The number is ``VP-<type>-<entry id>`` (``VP-PT-0000042``
for a cash receipt, ``VP-NVK-…`` for an entry with no voucher type): unique per entry and
stable across exports, so that a window exported twice is refused by MISA as duplicate
vouchers rather than booked twice (check: MISA refuses a repeated number within a voucher
type). Dates are text ``dd/mm/yyyy``; amounts integers (VND, no minor unit); text cells are
typed as text (never evaluated as a formula) and stripped of characters XML cannot carry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from billing.models import VoucherType
from billing.money import MINOR_UNIT_EXPONENT
from billing.selectors.journal_stream import StreamedEntry, StreamedLine, journal_stream

XLSX_MAX_ROWS_PER_SHEET = 1_048_575  # Excel's limit less the header row
SHEET_TITLE = "Chứng từ nghiệp vụ khác"
VOUCHER_PREFIX = "VP"


@dataclass(frozen=True, slots=True)
class MisaRow:
    """One voucher line as MISA takes it: both accounts, one amount."""

    date: str  # dd/mm/yyyy
    number: str
    description: str  # the voucher's (diễn giải chung)
    line_description: str  # the line's (diễn giải hạch toán)
    debit_account: str
    credit_account: str
    amount: int | Decimal
    currency: str
    debit_party: str
    credit_party: str


@dataclass(frozen=True, slots=True)
class MisaTemplate:
    product: str
    headers: tuple[str, ...]

    def values(self, row: MisaRow) -> dict[str, Any]:
        """The cells this export fills, by header (every other header stays empty)."""
        vnd = row.currency == "VND"
        cells: dict[str, Any] = {
            "Ngày chứng từ (*)": row.date,
            "Ngày hạch toán (*)": row.date,
            "Số chứng từ (*)": row.number,
            "Diễn giải": row.description,
            "Loại tiền": row.currency,
            "Tỷ giá": 1 if vnd else None,
            "Diễn giải (Hạch toán)": row.line_description,
            "TK Nợ (*)": row.debit_account,
            "TK Có (*)": row.credit_account,
            "Số tiền": row.amount,
            "Số tiền quy đổi": row.amount if vnd else None,
            "Đối tượng Nợ": row.debit_party or None,
            "Đối tượng Có": row.credit_party or None,
        }
        return {header: value for header, value in cells.items() if header in self.headers}


MISA_SME = MisaTemplate(
    product="MISA SME",
    headers=(
        "Hiển thị trên sổ",
        "Ngày chứng từ (*)",
        "Ngày hạch toán (*)",
        "Số chứng từ (*)",
        "Diễn giải",
        "Hạn thanh toán",
        "Loại tiền",
        "Tỷ giá",
        "Diễn giải (Hạch toán)",
        "TK Nợ (*)",
        "TK Có (*)",
        "Số tiền",
        "Số tiền quy đổi",
        "Đối tượng Nợ",
        "Đối tượng Có",
        "TK ngân hàng",
        "Khoản mục CP",
        "Đơn vị",
        "Đối tượng THCP",
        "Công trình",
        "Hợp đồng bán",
        "CP không hợp lý",
        "Mã thống kê",
        "Diễn giải (Thuế)",
        "TK thuế GTGT",
        "Tiền thuế GTGT",
        "% thuế GTGT",
        "Tỷ lệ tính thuế (Thuế suất KHAC)",
        "Giá trị HHDV chưa thuế",
        "Mẫu số HĐ",
        "Ngày hóa đơn",
        "Ký hiệu HĐ",
        "Số hóa đơn",
        "Nhóm HHDV mua vào",
        "Mã đối tượng thuế",
        "Tên đối tượng thuế",
        "Mã số thuế đối tượng thuế",
    ),
)

# (check) every header against the sample file MISA Mimosa's import wizard downloads.
MISA_MIMOSA = MisaTemplate(
    product="MISA Mimosa",
    headers=(
        "Ngày chứng từ (*)",
        "Ngày hạch toán (*)",
        "Số chứng từ (*)",
        "Diễn giải",
        "Diễn giải (Hạch toán)",
        "TK Nợ (*)",
        "TK Có (*)",
        "Số tiền",
        "Đối tượng Nợ",
        "Đối tượng Có",
        "Nguồn",
        "Chương",
        "Khoản",
        "Tiểu mục",
    ),
)

TEMPLATES: dict[str, MisaTemplate] = {"tt99_2025": MISA_SME, "tt24_2024": MISA_MIMOSA}


def misa_template(regime: str) -> MisaTemplate:
    """The MISA product the regime's accountant imports into."""
    return TEMPLATES[regime]


# --- Rows -----------------------------------------------------------------------------


def _voucher_number(entry: StreamedEntry) -> str:
    return f"{VOUCHER_PREFIX}-{entry.voucher_type or VoucherType.OTHER}-{entry.id:07d}"


def _description(entry: StreamedEntry) -> str:
    """The memo, plus the voucher it is filed under ("Giấy báo Có pay_…") when the memo does
    not already name it: "Ghi nhận doanh thu hoá đơn HD26-0000001" is not followed by a
    second "(Hoá đơn HD26-0000001)"."""
    if not entry.voucher_number or entry.voucher_number in entry.memo:
        return entry.memo
    label = VoucherType(entry.voucher_type).label if entry.voucher_type else "Chứng từ"
    return f"{entry.memo} ({label} {entry.voucher_number})".strip()


def _in_currency_units(amount: int, currency: str) -> int | Decimal:
    exponent = MINOR_UNIT_EXPONENT.get(currency, 2)
    return amount if exponent == 0 else Decimal(amount).scaleb(-exponent)


def debit_credit_pairs(
    lines: tuple[StreamedLine, ...],
) -> Iterator[tuple[StreamedLine, StreamedLine, int]]:
    """The entry's lines as (debit line, credit line, amount) pairs, per currency, in line
    order; each pair takes the smaller remaining amount of its two lines."""
    for currency in dict.fromkeys(line.currency for line in lines):
        debits = [line for line in lines if line.currency == currency and line.debit]
        credits = [line for line in lines if line.currency == currency and line.credit]
        debit_left = [line.debit for line in debits]
        credit_left = [line.credit for line in credits]
        d = c = 0
        while d < len(debits) and c < len(credits):
            amount = min(debit_left[d], credit_left[c])
            yield debits[d], credits[c], amount
            debit_left[d] -= amount
            credit_left[c] -= amount
            if debit_left[d] == 0:
                d += 1
            if credit_left[c] == 0:
                c += 1


def misa_rows(*, start: datetime, end: datetime) -> Iterator[list[MisaRow]]:
    """Per entry posted in ``[start, end)``, its MISA rows."""
    for entry in journal_stream(start=start, end=end):
        date = entry.day.strftime("%d/%m/%Y")
        number = _voucher_number(entry)
        description = _description(entry)
        yield [
            MisaRow(
                date=date,
                number=number,
                description=description,
                line_description=entry.memo,
                debit_account=debit.account_code,
                credit_account=credit.account_code,
                amount=_in_currency_units(amount, debit.currency),
                currency=debit.currency,
                debit_party=debit.counterparty,
                credit_party=credit.counterparty,
            )
            for debit, credit, amount in debit_credit_pairs(entry.lines)
        ]


# --- XLSX -----------------------------------------------------------------------------


def _cell(sheet: Any, value: Any, *, amount: bool) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # Text stays text: typed as a string, never read as a formula ("=…").
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    elif amount:
        cell.number_format = "#,##0"
    return cell


_AMOUNT_HEADERS = frozenset({"Số tiền", "Số tiền quy đổi"})


def misa_export_xlsx(*, start: datetime, end: datetime, regime: str) -> IO[bytes]:
    """The import workbook for the regime's MISA product, in a temporary file (openpyxl's
    write-only mode: rows go to disk as they are made, memory stays constant).

    A sheet holds at most 1,048,575 rows; the next one (``… 2``) starts at a voucher's first
    row, never in the middle of a voucher."""
    template = misa_template(regime)
    workbook = Workbook(write_only=True)
    sheet: Any = None
    written = 0
    for rows in misa_rows(start=start, end=end):
        if sheet is None or written + len(rows) > XLSX_MAX_ROWS_PER_SHEET:
            number = len(workbook.worksheets) + 1
            sheet = workbook.create_sheet(SHEET_TITLE if number == 1 else f"{SHEET_TITLE} {number}")
            sheet.append(template.headers)
            written = 0
        for row in rows:
            values = template.values(row)
            sheet.append(
                [
                    _cell(sheet, values.get(header), amount=header in _AMOUNT_HEADERS)
                    for header in template.headers
                ]
            )
        written += len(rows)
    if sheet is None:
        workbook.create_sheet(SHEET_TITLE).append(template.headers)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    workbook.save(output)
    output.seek(0)
    return output
