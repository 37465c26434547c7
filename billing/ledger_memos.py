"""The memo ("Diễn giải") of every journal entry the services post, in Vietnamese.

The memo is what the chief accountant reads in the MISA import, the CSV/XLSX exports, the
beancount journal and the statements (sổ chi tiết, sổ quỹ). The Law on Accounting
88/2015/QH13, Art. 11(1) ("Chữ viết và chữ số sử dụng trong kế toán"): the language of
accounting is Vietnamese; where a foreign language is used on accounting documents, books
or financial statements in Vietnam, it goes together with the Vietnamese. Art. 16(1)(đ) of
the same law lists the content of the transaction ("nội dung nghiệp vụ kinh tế, tài chính
phát sinh") among what a voucher must carry: the memo is that content.

Every service takes its memo from here: one function per kind of entry, so the wording is
kept in one place. The machine-readable references (invoice number, payment / refund /
session / transfer public id, deposit code, HIS visit reference, provider payout id) stay
in the text as written, so a search for them finds the entry. A posted memo is never
rewritten: entries posted before these words keep theirs.
"""

from __future__ import annotations

# How the patient paid, as the accountant says it after "Thu tiền khám chữa bệnh …"
# (keys: ``payments.models.PaymentMethod`` values; billing may not import payments).
_PAID_HOW = {
    "vietqr": "qua VietQR",
    "card": "bằng thẻ (trực tuyến)",
    "card_present": "bằng thẻ qua máy POS",
    "cash": "bằng tiền mặt",
}

# Why a refund was made (keys: ``payments.models.RefundReason`` values).
_REFUND_WHY = {
    "duplicate": "thanh toán trùng",
    "service_not_performed": "dịch vụ không thực hiện",
    "overpayment": "nộp thừa",
    "insurance_adjustment": "điều chỉnh phần BHYT chi trả",
    "deposit_refund": "trả lại tạm ứng",
    "requested_by_patient": "theo yêu cầu của người bệnh",
    "other": "lý do khác",
}

# Why a bank transfer waits in suspense (keys: ``payments.models.ReconciliationReason``).
_SUSPENSE_WHY = {
    "underpaid": "chuyển thiếu so với số phải thu",
    "overpaid": "chuyển thừa so với số phải thu",
    "expired": "đến sau khi mã QR hết hạn",
    "no_code": "nội dung không có mã thanh toán",
    "unknown_code": "mã thanh toán không khớp khoản nào",
    "not_pending": "thanh toán đã hoàn tất hoặc đã huỷ",
    "wrong_account": "chuyển vào tài khoản khác tài khoản của mã QR",
    "amount_out_of_range": "số tiền vượt mức sổ sách ghi nhận được",
}


# --- billing ------------------------------------------------------------------------------


def invoice_issued(number: str) -> str:
    return f"Ghi nhận doanh thu hoá đơn {number}"


def invoice_voided(number: str) -> str:
    return f"Huỷ hoá đơn {number}: đảo bút toán ghi nhận doanh thu"


def invoice_voided_deposit_back(number: str) -> str:
    return f"Huỷ hoá đơn {number}: trả tạm ứng đã cấn trừ về tạm ứng của người bệnh"


def invoice_voided_credit_back(number: str) -> str:
    return f"Huỷ hoá đơn {number}: đảo khoản BHYT điều chỉnh phải trả người bệnh"


def reversal(entry_id: int, memo: str) -> str:
    return f"Bút toán đảo của bút toán #{entry_id}: {memo}"


def advance_received(his_reference: str) -> str:
    return f"Nhận tạm ứng viện phí đợt điều trị {his_reference}"


def advance_applied(number: str) -> str:
    return f"Cấn trừ tạm ứng vào hoá đơn {number}"


def insurance_adjustment_owed(number: str) -> str:
    return f"Điều chỉnh BHYT hoá đơn {number}: số tiền phải trả lại người bệnh"


def advance_left_to_refund(his_reference: str) -> str:
    return f"Tạm ứng còn thừa khi ra viện {his_reference}: phải hoàn trả người bệnh"


def opening_cash() -> str:
    return "Tiền mặt tồn quỹ đầu kỳ tại két chính"


# --- payments -----------------------------------------------------------------------------


def payment_received(number: str, method: str) -> str:
    return f"Thu tiền khám chữa bệnh {number} {_PAID_HOW.get(method, f'qua {method}')}"


def refund_paid(refund_id: str, payment_id: str, reason: str) -> str:
    return f"Hoàn tiền {refund_id} cho thanh toán {payment_id} ({_REFUND_WHY.get(reason, reason)})"


def transfer_in_suspense(reason: str) -> str:
    return f"Chuyển khoản chờ xử lý ({_SUSPENSE_WHY.get(reason, reason)})"


def statement_run(run_id: int) -> str:
    return f"Đối chiếu sổ phụ ngân hàng lần {run_id}: ghi nhận tiền theo sổ phụ"


def recon_matched_by_hand(item_id: int) -> str:
    return f"Khoản đối chiếu {item_id}: đối chiếu thủ công"


def recon_written_off(item_id: int) -> str:
    return f"Khoản đối chiếu {item_id}: xử lý chênh lệch"


def payout_in_transit(payout_id: str) -> str:
    return f"Stripe chi trả {payout_id}: phí và số tiền đang chuyển về ngân hàng"


def payout_failed(payout_id: str) -> str:
    return f"Stripe chi trả {payout_id} không thành công: tiền trả lại tài khoản Stripe"


def cash_deposit(code: str) -> str:
    return f"Nộp tiền mặt {code} từ két chính vào tài khoản ngân hàng"


def opening_float(session_id: str, terminal: str) -> str:
    return f"Tiền mặt đầu ca {session_id} tại quầy {terminal}"


def close_variance(session_id: str, *, over: bool) -> str:
    kind = "thừa" if over else "thiếu"
    return f"Tiền mặt {kind} khi kiểm quỹ cuối ca {session_id}"


def close_to_safe(session_id: str) -> str:
    return f"Nộp tiền mặt cuối ca {session_id} vào két chính"


def drawer_handover(session_id: str, to_session_id: str) -> str:
    return f"Bàn giao tiền mặt ngăn kéo từ ca {session_id} sang ca {to_session_id}"


def cash_transfer_sent(transfer_id: str, account: str) -> str:
    return f"Điều chuyển tiền mặt {transfer_id} từ TK {account}: tiền đang chuyển"


def cash_transfer_received(transfer_id: str, account: str, counted: int) -> str:
    return f"Điều chuyển tiền mặt {transfer_id}: nhận vào TK {account}, kiểm đếm {counted}"


def cash_transfer_canceled(transfer_id: str, account: str) -> str:
    return f"Huỷ điều chuyển tiền mặt {transfer_id}: trả lại TK {account}"


def advance_paid_back(his_reference: str) -> str:
    return f"Chi trả tạm ứng còn thừa khi ra viện {his_reference}"
