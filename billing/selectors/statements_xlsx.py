"""The statements as XLSX workbooks, laid out as a Vietnamese accountant reads them (sổ chi
tiết, sổ quỹ tiền mặt, phân tích tuổi nợ): a title block, the opening balance, the lines,
the totals and the closing balance. Amounts are numbers; dates are dates; text that a
spreadsheet would run as a formula starts with ``'``. Written by openpyxl's write-only mode
to a temporary file the caller streams.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from billing.selectors.ledger import StatementLine
from billing.selectors.statements import (
    BUCKETS,
    AccountDetail,
    AgedReceivables,
    CashBook,
)

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BUCKET_LABELS = {
    "0_30": "0-30 ngày",
    "31_60": "31-60 ngày",
    "61_90": "61-90 ngày",
    "over_90": "> 90 ngày",
}
DETAIL_HEADER = (
    "Ngày ghi sổ",
    "Loại chứng từ",
    "Số chứng từ",
    "Diễn giải",
    "TK đối ứng",
    "Đối tượng",
    "Tham chiếu",
    "Phát sinh Nợ",
    "Phát sinh Có",
    "Số dư",
)
CASH_HEADER = (
    "Ngày",
    "Số phiếu thu",
    "Số phiếu chi",
    "Diễn giải",
    "TK đối ứng",
    "Thu",
    "Chi",
    "Tồn",
)
AGED_HEADER = (
    "Đối tượng",
    "Tham chiếu",
    "Ngày phát sinh",
    "Số ngày",
    *BUCKET_LABELS.values(),
    "Tổng",
    "Dư Có (trả thừa)",
)


def _cell(value: Any) -> Any:
    """A blank is an empty cell; text loses what XML cannot carry and is guarded against
    formulas."""
    if not isinstance(value, str):
        return value
    if not value:
        return None
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def _append(sheet: Any, values: Iterable[Any]) -> None:
    sheet.append([_cell(value) for value in values])


def _saved(workbook: Workbook) -> IO[bytes]:
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    workbook.save(output)
    output.seek(0)
    return output


def _local_day(line: StatementLine) -> date:
    return line.posted_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def _title(sheet: Any, title: str, detail: AccountDetail) -> None:
    account = detail.account
    _append(sheet, [title])
    _append(sheet, ["Tài khoản", account.code, account.name, account.currency])
    _append(sheet, ["Từ ngày", detail.date_from, "Đến ngày", detail.date_to])
    if detail.counterparty:
        _append(sheet, ["Đối tượng", detail.counterparty])
    _append(sheet, [])


def account_detail_xlsx(detail: AccountDetail) -> IO[bytes]:
    """Sổ chi tiết tài khoản: one sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"TK {detail.account.code}"[:31])
    _title(sheet, "SỔ CHI TIẾT TÀI KHOẢN", detail)
    _append(sheet, DETAIL_HEADER)
    _append(sheet, ["", "", "", "Số dư đầu kỳ", "", "", "", None, None, detail.opening_balance])
    for line in detail.lines:
        _append(
            sheet,
            [
                _local_day(line),
                line.voucher_type,
                line.voucher_number,
                line.memo,
                ", ".join(line.contra_accounts),
                line.counterparty,
                line.reference,
                line.debit or None,
                line.credit or None,
                line.balance,
            ],
        )
    _append(
        sheet,
        ["", "", "", "Cộng phát sinh", "", "", "", detail.total_debit, detail.total_credit, None],
    )
    _append(sheet, ["", "", "", "Số dư cuối kỳ", "", "", "", None, None, detail.closing_balance])
    return _saved(workbook)


def _book_title(book: CashBook) -> str:
    return "Quỹ chính" if book.kind == "safe" else f"Quầy {book.drawer:02d}"


def cash_book_xlsx(books: list[CashBook]) -> IO[bytes]:
    """Sổ quỹ tiền mặt: one sheet per cash account (the safe, each drawer)."""
    workbook = Workbook(write_only=True)
    if not books:
        workbook.create_sheet("Sổ quỹ").append(list(CASH_HEADER))
    for book in books:
        detail = book.detail
        sheet = workbook.create_sheet(_book_title(book))
        _title(sheet, f"SỔ QUỸ TIỀN MẶT — {_book_title(book)}", detail)
        _append(sheet, CASH_HEADER)
        _append(sheet, ["", "", "", "Tồn đầu kỳ", "", None, None, detail.opening_balance])
        for line in detail.lines:
            number = line.voucher_number or str(line.entry_id)
            _append(
                sheet,
                [
                    _local_day(line),
                    number if line.debit else "",
                    number if line.credit else "",
                    line.memo,
                    ", ".join(line.contra_accounts),
                    line.debit or None,
                    line.credit or None,
                    line.balance,
                ],
            )
        _append(sheet, ["", "", "", "Cộng phát sinh", "", book.receipts, book.payments, None])
        _append(sheet, ["", "", "", "Tồn cuối kỳ", "", None, None, detail.closing_balance])
    return _saved(workbook)


def aged_receivables_xlsx(aged: AgedReceivables) -> IO[bytes]:
    """Phân tích tuổi nợ: one row per debit still owed (oldest first), a subtotal per
    customer with its credit balance if it paid more than it owes, the total."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"Tuổi nợ {aged.account.code}"[:31])
    _append(sheet, ["PHÂN TÍCH TUỔI NỢ PHẢI THU"])
    _append(sheet, ["Tài khoản", aged.account.code, aged.account.name, aged.account.currency])
    _append(sheet, ["Đến ngày", aged.as_of])
    _append(sheet, [])
    _append(sheet, AGED_HEADER)
    for group in aged.counterparties:
        for item in group.items:
            amounts = [item.balance if item.bucket == bucket else None for bucket in BUCKETS]
            _append(
                sheet,
                [
                    group.counterparty,
                    item.reference,
                    item.since,
                    item.age_days,
                    *amounts,
                    item.balance,
                    None,
                ],
            )
        _append(
            sheet,
            [
                f"Cộng {group.counterparty}".strip(),
                "",
                None,
                None,
                *(group.buckets[b] for b in BUCKETS),
                group.total,
                group.credit_balance or None,
            ],
        )
    buckets = (aged.buckets[b] for b in BUCKETS)
    _append(sheet, ["Tổng cộng", "", None, None, *buckets, aged.total, aged.credit_balance])
    return _saved(workbook)
