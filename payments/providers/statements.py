"""Bank statement files of the main Vietnamese banks, CSV or XLSX, read into lines.

Every bank's internet-banking export ("sao kê tài khoản") has the same shape: a few rows of
preamble (the account holder, **the account number**, the period, sometimes the currency),
one header row, then one row per movement with separate debit and credit columns. What
differs is the names of the columns; each format below lists them as the bank prints them
(Vietnamese, with the English names of the bilingual exports). The layouts follow each
bank's published sample of its statement export; the exact wording of a bank's current
export should be checked against a real file (check) — a header we do not recognise is
refused with ``statement_invalid``, never guessed.

Reading rules, the same for every bank:

* the header row is the first of the first 40 rows that holds the format's date column and
  its debit and credit columns (names compared without diacritics, case or extra spaces);
* the account number comes from the preamble: a cell naming it ("Số tài khoản",
  "Account number", …) followed by the number in the same cell (after ":") or the next one;
* amounts are whole dong: ``1.234.567``, ``1,234,567``, ``1234567``, ``1,234,567.00`` and
  spreadsheet numbers are read; a fraction that is not zero is refused for VND (other
  currencies keep two decimals, as minor units);
* dates ``dd/mm/yyyy`` (a time after it is ignored), ``yyyy-mm-dd`` or spreadsheet dates;
* exactly one of debit and credit is positive on each row; a row empty in every column ends
  nothing (it is skipped), a row of totals ("Tổng cộng", "Total") is skipped;
* any other problem refuses the whole file with the row (numbered as the spreadsheet shows
  it, from 1) and the column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from config.text import ascii_fold
from payments.errors import StatementInvalid, UnknownBank

HEADER_SEARCH_ROWS = 40
HOSPITAL_CURRENCY = "VND"
ACCOUNT_LABELS = (
    "so tai khoan",
    "tai khoan",
    "account number",
    "account no",
    "so tk",
    "tai khoan/account",
    "so tai khoan/account number",
)
CURRENCY_LABELS = ("loai tien", "tien te", "currency", "loai tien/currency")
TOTAL_MARKERS = ("tong cong", "total", "tong", "cong phat sinh")


@dataclass(frozen=True, slots=True)
class StatementFormat:
    """A bank's export: the names of its columns (any of the aliases, compared folded)."""

    bank: str
    name: str
    date: tuple[str, ...]
    reference: tuple[str, ...]
    debit: tuple[str, ...]
    credit: tuple[str, ...]
    description: tuple[str, ...]
    currency: tuple[str, ...] = ("loai tien", "currency", "tien te")


# Vietcombank (VCB Digibank, "Sao kê tài khoản" export). Preamble: "Số tài khoản: …",
# "Loại tiền: VND". Columns: STT | Ngày giao dịch | Số tham chiếu | Số tiền ghi nợ |
# Số tiền ghi có | Số dư | Mô tả.
VIETCOMBANK = StatementFormat(
    bank="vietcombank",
    name="Vietcombank",
    date=("ngay giao dich", "ngay gd"),
    reference=("so tham chieu", "so ct", "so chung tu"),
    debit=("so tien ghi no", "ghi no"),
    credit=("so tien ghi co", "ghi co"),
    description=("mo ta", "noi dung", "dien giai"),
)
# BIDV (BIDV SmartBanking / iBank "Sao kê"). Preamble: "Số tài khoản: …". Columns: STT |
# Ngày giao dịch | Ngày hiệu lực | Số tham chiếu | Ghi nợ | Ghi có | Số dư | Mô tả giao dịch.
BIDV = StatementFormat(
    bank="bidv",
    name="BIDV",
    date=("ngay hieu luc", "ngay giao dich"),
    reference=("so tham chieu", "so giao dich", "ma giao dich"),
    debit=("ghi no", "so tien ghi no", "phat sinh no"),
    credit=("ghi co", "so tien ghi co", "phat sinh co"),
    description=("mo ta giao dich", "noi dung giao dich", "mo ta"),
)
# VietinBank (VietinBank iPay / eFAST "Sao kê tài khoản"). Preamble: "Tài khoản: …".
# Columns: STT | Ngày giao dịch | Mô tả giao dịch | Nợ | Có | Số dư | Số giao dịch.
VIETINBANK = StatementFormat(
    bank="vietinbank",
    name="VietinBank",
    date=("ngay giao dich", "ngay hach toan"),
    reference=("so giao dich", "so but toan", "so tham chieu"),
    debit=("no", "phat sinh no", "ghi no"),
    credit=("co", "phat sinh co", "ghi co"),
    description=("mo ta giao dich", "noi dung", "dien giai"),
)
# Techcombank (Techcombank Business / F@st, bilingual). Preamble: "Số tài khoản/Account
# number: …". Columns: Ngày giao dịch/Transaction date | Mã giao dịch/Reference |
# Đối tác/Remitter | Diễn giải/Description | Nợ/Debit | Có/Credit | Số dư/Balance.
TECHCOMBANK = StatementFormat(
    bank="techcombank",
    name="Techcombank",
    date=("ngay giao dich/transaction date", "ngay giao dich", "transaction date"),
    reference=("ma giao dich/reference", "reference", "ma giao dich", "so but toan/reference no"),
    debit=("no/debit", "debit", "no tktt/debit"),
    credit=("co/credit", "credit", "co tktt/credit"),
    description=("dien giai/description", "description", "dien giai", "noi dung/details"),
)
# MB (MB Bank, "Sao kê tài khoản"). Preamble: "Số tài khoản: …". Columns: STT |
# Ngày giao dịch | Mã giao dịch | Số tiền ghi nợ | Số tiền ghi có | Số dư | Nội dung.
MB = StatementFormat(
    bank="mb",
    name="MB (Military Commercial Joint Stock Bank)",
    date=("ngay giao dich", "ngay hach toan"),
    reference=("ma giao dich", "so but toan", "so tham chieu"),
    debit=("so tien ghi no", "ghi no", "phat sinh no"),
    credit=("so tien ghi co", "ghi co", "phat sinh co"),
    description=("noi dung", "noi dung giao dich", "mo ta"),
)

FORMATS: dict[str, StatementFormat] = {
    f.bank: f for f in (VIETCOMBANK, BIDV, VIETINBANK, TECHCOMBANK, MB)
}


@dataclass(frozen=True, slots=True)
class ParsedLine:
    row: int
    booked_on: date
    direction: str  # "in" (credit) or "out" (debit)
    amount: int  # minor units of ``currency``
    currency: str
    reference: str
    description: str


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    bank: str
    account_number: str
    lines: list[ParsedLine]


def statement_format(bank: str) -> StatementFormat:
    try:
        return FORMATS[bank.strip().lower()]
    except KeyError:
        raise UnknownBank(param="bank", detail={"known": sorted(FORMATS)}) from None


def parse_statement(*, bank: str, content: bytes, file_name: str) -> ParsedStatement:
    """Read a whole statement file or refuse it (``statement_invalid``, with the row and the
    column); nothing is half-read."""
    fmt = statement_format(bank)
    rows = _read_rows(content, file_name)
    header_index, columns = _find_header(rows, fmt)
    account = _preamble_value(rows[:header_index], ACCOUNT_LABELS)
    if not account:
        raise StatementInvalid(
            "The statement does not say its account number above the header row.",
            param="file",
            detail={"row": header_index + 1, "column": None},
        )
    account = re.sub(r"\D", "", account)
    file_currency = (_preamble_value(rows[:header_index], CURRENCY_LABELS) or "").strip().upper()
    lines = []
    for index in range(header_index + 1, len(rows)):
        line = _parse_row(rows[index], index + 1, columns, file_currency or HOSPITAL_CURRENCY)
        if line is not None:
            lines.append(line)
    return ParsedStatement(bank=fmt.bank, account_number=account, lines=lines)


# --- reading ---------------------------------------------------------------------------------


def _read_rows(content: bytes, file_name: str) -> list[list[Any]]:
    if content[:2] == b"PK" or file_name.lower().endswith(".xlsx"):
        return _read_xlsx(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementInvalid(
            "A CSV statement must be UTF-8.", param="file", detail={"row": None, "column": None}
        ) from exc
    # The delimiter is the one that splits some of the first lines widest (a preamble line
    # may hold a comma in a name while the table is separated by semicolons).
    head = text.splitlines()[:HEADER_SEARCH_ROWS]
    delimiter = max(
        ",;\t",
        key=lambda d: max((len(r) for r in csv.reader(head, delimiter=d)), default=0),
    )
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise StatementInvalid(
            "The file is neither a CSV nor an XLSX workbook.",
            param="file",
            detail={"row": None, "column": None},
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _fold(value: Any) -> str:
    if value is None:
        return ""
    text = ascii_fold(str(value)).lower().replace("\n", " ")
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip()


@dataclass(frozen=True, slots=True)
class _Columns:
    date: tuple[int, str]
    reference: tuple[int, str] | None
    debit: tuple[int, str]
    credit: tuple[int, str]
    description: tuple[int, str] | None
    currency: tuple[int, str] | None


def _find_header(rows: Sequence[Sequence[Any]], fmt: StatementFormat) -> tuple[int, _Columns]:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        folded = [_fold(cell) for cell in row]

        def column(
            aliases: Iterable[str], row: Sequence[Any] = row, folded: list[str] = folded
        ) -> tuple[int, str] | None:
            for alias in aliases:
                if alias in folded:
                    position = folded.index(alias)
                    return position, str(row[position]).strip()
            return None

        date_col, debit, credit = column(fmt.date), column(fmt.debit), column(fmt.credit)
        if date_col and debit and credit:
            return index, _Columns(
                date=date_col,
                reference=column(fmt.reference),
                debit=debit,
                credit=credit,
                description=column(fmt.description),
                currency=column(fmt.currency),
            )
    raise StatementInvalid(
        f"No {fmt.name} header row (date, debit and credit columns) in the first "
        f"{HEADER_SEARCH_ROWS} rows.",
        param="file",
        detail={"row": None, "column": None, "bank": fmt.bank},
    )


def _preamble_value(rows: Sequence[Sequence[Any]], labels: tuple[str, ...]) -> str | None:
    for row in rows:
        cells = [cell for cell in row if cell not in (None, "")]
        for position, cell in enumerate(cells):
            text = str(cell)
            label, sep, rest = text.partition(":")
            if _fold(label) in labels:
                if sep and rest.strip():
                    return rest.strip()
                if position + 1 < len(cells):
                    return str(cells[position + 1]).strip()
    return None


# --- rows ------------------------------------------------------------------------------------


def _cell(row: Sequence[Any], column: tuple[int, str] | None) -> Any:
    if column is None or column[0] >= len(row):
        return None
    return row[column[0]]


def _parse_row(
    row: Sequence[Any], number: int, columns: _Columns, default_currency: str
) -> ParsedLine | None:
    if all(cell in (None, "") or str(cell).strip() == "" for cell in row):
        return None
    if _cell(row, columns.date) in (None, "") and _is_total(row):
        return None
    raw_currency = _cell(row, columns.currency)
    currency = (str(raw_currency).strip().upper() if raw_currency else "") or default_currency
    if not re.fullmatch(r"[A-Z]{3}", currency):
        name = columns.currency[1] if columns.currency else "currency"
        raise _row_error(number, name, f"{currency!r} is not a currency code.")
    booked_on = _date(_cell(row, columns.date), number, columns.date[1])
    debit = _amount(_cell(row, columns.debit), number, columns.debit[1], currency)
    credit = _amount(_cell(row, columns.credit), number, columns.credit[1], currency)
    if (debit > 0) == (credit > 0):
        raise _row_error(
            number,
            columns.credit[1],
            "Exactly one of the debit and credit columns must hold an amount.",
        )
    reference = str(_cell(row, columns.reference) or "").strip()
    description = str(_cell(row, columns.description) or "").strip()
    return ParsedLine(
        row=number,
        booked_on=booked_on,
        direction="in" if credit else "out",
        amount=credit or debit,
        currency=currency,
        reference=reference[:100],
        description=description[:500],
    )


def _is_total(row: Sequence[Any]) -> bool:
    """A row of totals ("Tổng cộng", "Total"): no date, a total's label in front."""
    first_text = " ".join(_fold(cell) for cell in row[:3] if isinstance(cell, str))
    return any(first_text.startswith(marker) for marker in TOTAL_MARKERS)


def _row_error(row: int, column: str, message: str) -> StatementInvalid:
    return StatementInvalid(
        f"Row {row}, column {column!r}: {message}",
        param="file",
        detail={"row": row, "column": column},
    )


DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s.*)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})(?:\s.*)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$"), ("y", "m", "d")),
)


def _date(value: Any, row: int, column: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if (
        len(text) >= 10
        and text[2] == "/"
        and text[5] == "/"
        and text[:10].replace("/", "").isdigit()
    ):
        try:  # dd/mm/yyyy, the banks' usual form
            return date(int(text[6:10]), int(text[3:5]), int(text[:2]))
        except ValueError:
            raise _row_error(row, column, f"{text!r} is not a date (dd/mm/yyyy).") from None
    for pattern, order in DATE_PATTERNS:
        found = pattern.match(text)
        if found:
            parts = dict(zip(order, (int(g) for g in found.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                break
    raise _row_error(row, column, f"{text!r} is not a date (dd/mm/yyyy).")


AMOUNT_TEXT = re.compile(r"^[+-]?[\d.,]+$")
# Whole numbers grouped by thousands with one kind of separator (or none).
THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})*$|^\d{1,3}(?:\.\d{3})*$|^\d+$")


def _amount(value: Any, row: int, column: str, currency: str) -> int:
    """Whole dong (or, for another currency, hundredths); blank is 0; negative is refused."""
    exponent = 0 if currency == HOSPITAL_CURRENCY else 2
    if value is None or (isinstance(value, str) and value.strip() in ("", "-")):
        return 0
    if isinstance(value, bool):
        raise _row_error(row, column, "not an amount")
    if exponent == 0 and isinstance(value, int):
        if value < 0:
            raise _row_error(row, column, "a negative amount (debits go in the debit column)")
        return value
    if exponent == 0 and isinstance(value, str) and THOUSANDS.match(value):
        return int(value.replace(",", "").replace(".", ""))  # "1,234,567" / "1.234.567"
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = re.sub(r"\s|VND|đ|₫", "", str(value), flags=re.IGNORECASE)
        if not AMOUNT_TEXT.match(text):
            raise _row_error(row, column, f"{value!r} is not an amount.")
        number = _decimal_text(text, row, column)
    if number < 0:
        raise _row_error(row, column, "a negative amount (debits go in the debit column)")
    scaled = number * (10**exponent)
    if scaled != scaled.to_integral_value():
        raise _row_error(row, column, f"{value!r} has a fraction {currency} cannot hold.")
    return int(scaled)


def _decimal_text(text: str, row: int, column: str) -> Decimal:
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    last = max(text.rfind("."), text.rfind(","))
    # A separator followed by one or two digits at the end is the decimal point; any other
    # separator groups thousands.
    if last != -1 and 1 <= len(text) - last - 1 <= 2:
        whole, fraction = text[:last], text[last + 1 :]
    else:
        whole, fraction = text, ""
    whole = whole.replace(".", "").replace(",", "")
    try:
        return sign * Decimal(f"{whole or '0'}.{fraction or '0'}")
    except InvalidOperation as exc:
        raise _row_error(row, column, f"{text!r} is not an amount.") from exc
