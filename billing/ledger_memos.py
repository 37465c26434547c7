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

A memo without words to choose is a template's ``format``, its arguments (positional)
named in the comment after it.
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
# number
invoice_issued = "Ghi nhận doanh thu hoá đơn {}".format
# number
invoice_voided = "Huỷ hoá đơn {}: đảo bút toán ghi nhận doanh thu".format
# number
invoice_voided_deposit_back = (
    "Huỷ hoá đơn {}: trả tạm ứng đã cấn trừ về tạm ứng của người bệnh".format
)
# number
invoice_voided_credit_back = "Huỷ hoá đơn {}: đảo khoản BHYT điều chỉnh phải trả người bệnh".format


def reversal(entry_id: int, memo: str) -> str:
    return f"Bút toán đảo của bút toán #{entry_id}: {memo}"


# his_reference
advance_received = "Nhận tạm ứng viện phí đợt điều trị {}".format
# number
advance_applied = "Cấn trừ tạm ứng vào hoá đơn {}".format
# number
insurance_adjustment_owed = "Điều chỉnh BHYT hoá đơn {}: số tiền phải trả lại người bệnh".format
# his_reference
advance_left_to_refund = "Tạm ứng còn thừa khi ra viện {}: phải hoàn trả người bệnh".format


def opening_cash() -> str:
    return "Tiền mặt tồn quỹ đầu kỳ tại két chính"


# --- payments -----------------------------------------------------------------------------


def payment_received(number: str, method: str) -> str:
    return f"Thu tiền khám chữa bệnh {number} {_PAID_HOW.get(method, f'qua {method}')}"


def refund_paid(refund_id: str, payment_id: str, reason: str) -> str:
    return f"Hoàn tiền {refund_id} cho thanh toán {payment_id} ({_REFUND_WHY.get(reason, reason)})"


def transfer_in_suspense(reason: str) -> str:
    return f"Chuyển khoản chờ xử lý ({_SUSPENSE_WHY.get(reason, reason)})"


# run_id
statement_run = "Đối chiếu sổ phụ ngân hàng lần {}: ghi nhận tiền theo sổ phụ".format
# item_id
recon_matched_by_hand = "Khoản đối chiếu {}: đối chiếu thủ công".format
# item_id
recon_written_off = "Khoản đối chiếu {}: xử lý chênh lệch".format
# payout_id
payout_in_transit = "Stripe chi trả {}: phí và số tiền đang chuyển về ngân hàng".format
# payout_id
payout_failed = "Stripe chi trả {} không thành công: tiền trả lại tài khoản Stripe".format
# code
cash_deposit = "Nộp tiền mặt {} từ két chính vào tài khoản ngân hàng".format
# session_id, terminal
opening_float = "Tiền mặt đầu ca {} tại quầy {}".format


def close_variance(session_id: str, *, over: bool) -> str:
    kind = "thừa" if over else "thiếu"
    return f"Tiền mặt {kind} khi kiểm quỹ cuối ca {session_id}"


# session_id
close_to_safe = "Nộp tiền mặt cuối ca {} vào két chính".format
# session_id, to_session_id
drawer_handover = "Bàn giao tiền mặt ngăn kéo từ ca {} sang ca {}".format
# transfer_id, account
cash_transfer_sent = "Điều chuyển tiền mặt {} từ TK {}: tiền đang chuyển".format
# transfer_id, account, counted
cash_transfer_received = "Điều chuyển tiền mặt {}: nhận vào TK {}, kiểm đếm {}".format
# transfer_id, account
cash_transfer_canceled = "Huỷ điều chuyển tiền mặt {}: trả lại TK {}".format
# his_reference
advance_paid_back = "Chi trả tạm ứng còn thừa khi ra viện {}".format
