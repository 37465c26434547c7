"""Vietnamese text folded to ASCII, for the channels that carry no diacritics: bank-transfer
memos (VietQR, and the memos bank feeds send back) and SMS (one 160-character GSM segment
instead of 70 UCS-2 characters, and every handset shows it)."""

from __future__ import annotations

import unicodedata


def ascii_fold(text: str) -> str:
    """``"Thanh toán viện phí Đợt 1"`` → ``"Thanh toan vien phi Dot 1"``. Only the marks go
    (NFKD, then combining characters dropped; đ/Đ have no decomposition, so they are mapped
    by hand); other non-ASCII characters are left for the caller to refuse or keep."""
    if text.isascii():  # nothing to fold (most bank memos)
        return text
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))
