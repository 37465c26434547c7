"""Bank statement files as a test writes them: a Vietcombank CSV of a few rows, imported."""

from __future__ import annotations

from datetime import date

from payments.models import BankStatement
from payments.services.statements import statement_import
from tests.payments.builders.webhooks import HOSPITAL_ACCOUNT


def statement(*rows: str, account: str = HOSPITAL_ACCOUNT) -> BankStatement:
    """Import a Vietcombank CSV statement of ``account`` with these rows (date, reference,
    debit, credit, memo)."""
    content = "\n".join(
        [
            f"Số tài khoản: {account}",
            "Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Mô tả",
            *rows,
        ]
    ).encode()
    return statement_import(
        bank="vietcombank", content=content, file_name="s.csv", imported_by=None, via="api"
    )


def ddmmyyyy(day: date) -> str:
    return day.strftime("%d/%m/%Y")
