"""The printable Z-report (A4), rendered from the same dictionary the JSON answer holds."""

from __future__ import annotations

from typing import Any

from billing.money import format_vnd
from config.pdf import pdf_document

LABELS = {
    "cash": "Tiền mặt (cash)",
    "card_present": "Thẻ tại quầy (card)",
    "vietqr": "VietQR (QR)",
}


def _rows(document: Any, rows: list[tuple[str, Any]]) -> None:
    for label, value in rows:
        document.cell(110, 6, label)
        text = value if isinstance(value, str) else "-" if value is None else format_vnd(value)
        document.cell(70, 6, text, align="R", new_x="LMARGIN", new_y="NEXT")


def _heading(document: Any, text: str) -> None:
    document.set_font(style="B", size=11)
    document.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=10)


def _figures(document: Any, report: dict[str, Any]) -> None:
    _rows(document, [("Quỹ đầu ca (opening float)", report["opening_float"])])
    _heading(document, "Thu theo phương thức (takings by method)")
    for method, figures in report["payments_by_method"].items():
        _rows(document, [(f"{LABELS.get(method, method)} x {figures['count']}", figures["amount"])])
    _rows(
        document,
        [
            ("Tiền khách đưa (cash tendered)", report["cash_tendered"]),
            ("Tiền thối lại (change given)", report["change_given"]),
            (
                f"Tạm ứng đã thu x {report['deposits_taken']['count']}",
                report["deposits_taken"]["amount"],
            ),
            (
                f"Hoàn tạm ứng x {report['deposits_refunded']['count']}",
                report["deposits_refunded"]["amount"],
            ),
        ],
    )
    _heading(document, "Hoàn tiền (refunds)")
    for method, figures in report["refunds_by_method"].items():
        _rows(document, [(f"{LABELS.get(method, method)} x {figures['count']}", figures["amount"])])
    _rows(
        document,
        [
            ("Chuyển vào két (transfers in)", report["transfers"]["in"]),
            ("Chuyển ra khỏi két (transfers out)", report["transfers"]["out"]),
            ("Tổng thu (gross takings)", report["gross_takings"]),
            ("Tổng hoàn (refunds)", report["refunds_total"]),
            ("Thu thuần (net takings)", report["net_takings"]),
            ("Tiền mặt dự kiến (expected cash)", report["expected_cash"]),
            ("Tiền mặt kiểm đếm (counted cash)", report["counted_cash"]),
            ("Chênh lệch thừa/thiếu (variance)", report["variance"]),
        ],
    )


def report_pdf(*, report: dict[str, Any]) -> bytes:
    """A4 PDF of a session's report, or of a terminal's day (with one page per session)."""
    document = pdf_document(page_format="A4")
    sessions = report.get("sessions", [report])
    document.add_page()
    document.set_font(style="B", size=14)
    document.cell(0, 10, report["hospital"], new_x="LMARGIN", new_y="NEXT")
    if "sessions" in report:
        document.cell(0, 8, f"Báo cáo Z quầy {report['terminal']} ngày {report['date']}")
        document.ln(10)
        document.set_font(style="", size=10)
        _figures(document, {**report["totals"], **_defaults(report["totals"])})
        _rows(document, [("Ca chưa đóng (still open)", ", ".join(report["still_open"]) or "-")])
        transit = ", ".join(
            f"{t['id']} {t['from']} -> {t['to']}: {t['amount']}" for t in report["in_transit"]
        )
        _rows(document, [("Tiền đang chuyển (cash in transit)", transit or "-")])
    for index, part in enumerate(sessions):
        if "sessions" in report or index:
            document.add_page()
        info = part["session"]
        _heading(document, f"Báo cáo Z ca {info['id']} — quầy {info['terminal']}")
        _rows(
            document,
            [
                ("Thu ngân (cashier)", info["cashier"]),
                ("Mở ca (opened)", info["opened_at"]),
                ("Đóng ca (closed)", info["closed_at"] or "-"),
                ("Trạng thái (status)", info["status"]),
                ("Người duyệt (approved by)", info["approved_by"] or "-"),
            ],
        )
        _figures(document, part)
        _rows(
            document,
            [("Khớp sổ cái (agrees with the ledger)", "có" if part["agrees"] else "KHÔNG")],
        )
    return bytes(document.output())


def _defaults(totals: dict[str, Any]) -> dict[str, Any]:
    empty = {"count": 0, "amount": 0}
    return {
        "payments_by_method": totals.get("payments_by_method", {}),
        "refunds_by_method": totals.get("refunds_by_method", {}),
        "deposits_taken": totals.get("deposits_taken", empty),
        "deposits_refunded": totals.get("deposits_refunded", empty),
        "transfers": {"in": 0, "out": 0, **totals.get("transfers", {})},
    }
