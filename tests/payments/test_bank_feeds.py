"""Bank-feed webhooks : Casso v2 signatures against the official vector, SePay's
API key, both bodies as BankTransfer, and finding our memo code inside banks' memos."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from payments.providers.bank_feeds import (
    MEMO_CODE_ALPHABET,
    MEMO_CODE_PATTERN,
    BankFeedError,
    BankFeedProvider,
    BankTransfer,
    TransferDirection,
    casso_signature_header,
    casso_transactions,
    casso_verify,
    find_memo_code,
    find_memo_codes,
    new_memo_code,
    sepay_transaction,
    sepay_verify,
)
from tests.data import vectors

CASSO = vectors("webhook_vectors.json")["casso_v2"]
CASSO_KEY: str = CASSO["checksum_key"]
CASSO_HEADER: str = CASSO["header"]["X-Casso-Signature"]
CASSO_TIMESTAMP_MS = 1727948258788
HO_CHI_MINH = ZoneInfo("Asia/Ho_Chi_Minh")

# The example body of SePay's webhook documentation.
SEPAY_BODY: dict[str, Any] = {
    "id": 92704,
    "gateway": "Vietcombank",
    "transactionDate": "2023-03-25 14:02:37",
    "accountNumber": "0123499999",
    "code": None,
    "content": "chuyen tien mua iphone",
    "transferType": "in",
    "transferAmount": 2277000,
    "accumulated": 19077000,
    "subAccount": None,
    "referenceCode": "MBVCB.3278907687",
    "description": "",
}
SEPAY_KEY = "sepay-test-key-6Zt2"


def casso_body() -> dict[str, Any]:
    return copy.deepcopy(CASSO["body"])


def casso_header_signed_independently(body: dict[str, Any], *, ensure_ascii: bool) -> str:
    """The signature computed straight from the published rule, without the code under test."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    message = f"{CASSO_TIMESTAMP_MS}.{canonical}".encode()
    digest = hmac.new(CASSO_KEY.encode(), message, hashlib.sha512).hexdigest()
    return f"t={CASSO_TIMESTAMP_MS},v1={digest}"


# --- Casso signatures -----------------------------------------------------------------------


def test_official_casso_vector_verifies() -> None:
    assert casso_verify(header=CASSO_HEADER, body=casso_body(), key=CASSO_KEY)
    assert CASSO_HEADER.startswith(f"t={CASSO_TIMESTAMP_MS},")


def test_our_casso_signer_reproduces_the_official_header() -> None:
    header = casso_signature_header(
        body=casso_body(), key=CASSO_KEY, timestamp_ms=CASSO_TIMESTAMP_MS
    )

    assert header == CASSO_HEADER


def test_casso_signature_does_not_depend_on_key_order_at_any_depth() -> None:
    body = casso_body()
    reordered = {"data": dict(reversed(list(body["data"].items()))), "error": body["error"]}

    assert list(reordered) != list(body)
    assert casso_verify(header=CASSO_HEADER, body=reordered, key=CASSO_KEY)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "amount"), 5990000),
        (("data", "description"), "giao dich thu nghiem VP7K2Q9"),
        (("data", "accountNumber"), "88888889"),
        (("error",), 1),
    ],
)
def test_a_tampered_casso_body_fails(path: tuple[str, ...], value: Any) -> None:
    body = casso_body()
    target = body
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value

    assert not casso_verify(header=CASSO_HEADER, body=body, key=CASSO_KEY)


def test_an_added_casso_field_fails() -> None:
    body = casso_body()
    body["data"]["virtualAccountName"] = "x"

    assert not casso_verify(header=CASSO_HEADER, body=body, key=CASSO_KEY)


def flip_last_hex_digit(header: str) -> str:
    return header[:-1] + ("0" if header[-1] != "0" else "1")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(CASSO_HEADER.replace("t=1727948258788", "t=1727948258789"), id="timestamp"),
        pytest.param(flip_last_hex_digit(CASSO_HEADER), id="signature"),
        pytest.param(CASSO_HEADER[:-2], id="signature cut short"),
        pytest.param(CASSO_HEADER.split(",")[1], id="no timestamp"),
        pytest.param(CASSO_HEADER.split(",")[0], id="no signature"),
        pytest.param(CASSO_HEADER.replace("v1=", "v0="), id="unknown scheme"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_tampered_or_malformed_casso_header_fails(header: str | None) -> None:
    assert not casso_verify(header=header, body=casso_body(), key=CASSO_KEY)


def test_casso_signature_with_another_key_fails() -> None:
    assert not casso_verify(header=CASSO_HEADER, body=casso_body(), key=CASSO_KEY + "x")
    assert not casso_verify(header=CASSO_HEADER, body=casso_body(), key="")


def test_casso_header_is_read_with_spaces_and_upper_case_hex() -> None:
    timestamp, signature = CASSO_HEADER.split(",")

    assert casso_verify(
        header=f"{timestamp}, {signature.upper().replace('V1=', 'v1=')}",
        body=casso_body(),
        key=CASSO_KEY,
    )


def test_casso_timestamp_tolerance_is_checked_only_when_asked() -> None:
    def verify(now_ms: int) -> bool:
        return casso_verify(
            header=CASSO_HEADER,
            body=casso_body(),
            key=CASSO_KEY,
            tolerance_seconds=300,
            now_ms=now_ms,
        )

    assert verify(CASSO_TIMESTAMP_MS + 300_000)
    assert verify(CASSO_TIMESTAMP_MS - 300_000)
    assert not verify(CASSO_TIMESTAMP_MS + 300_001)
    assert not verify(CASSO_TIMESTAMP_MS - 300_001)
    # Without a now_ms the clock is used: a 2024 timestamp is far out of a 300 s window.
    assert not casso_verify(
        header=CASSO_HEADER, body=casso_body(), key=CASSO_KEY, tolerance_seconds=300
    )


def test_casso_signs_vietnamese_text_as_raw_utf8_like_json_stringify() -> None:
    body = casso_body()
    body["data"]["counterAccountName"] = "NGUYỄN VĂN Á"
    header = casso_signature_header(body=body, key=CASSO_KEY, timestamp_ms=CASSO_TIMESTAMP_MS)

    assert header == casso_header_signed_independently(body, ensure_ascii=False)
    assert header != casso_header_signed_independently(body, ensure_ascii=True)
    assert casso_verify(header=header, body=body, key=CASSO_KEY)


def test_casso_signature_over_escaped_vietnamese_text_is_accepted_too() -> None:
    """Casso's Python and PHP samples escape non-ASCII as \\uXXXX; either form proves the key."""
    body = casso_body()
    body["data"]["description"] = "thanh toán viện phí VP7K2Q9"
    header = casso_header_signed_independently(body, ensure_ascii=True)

    assert casso_verify(header=header, body=body, key=CASSO_KEY)
    body["data"]["description"] = "thanh toán viện phí VP7K2Q8"
    assert not casso_verify(header=header, body=body, key=CASSO_KEY)


def test_casso_body_that_is_not_json_fails_instead_of_raising() -> None:
    body = casso_body()
    body["data"]["amount"] = float("nan")

    assert not casso_verify(header=CASSO_HEADER, body=body, key=CASSO_KEY)


# --- Casso bodies ---------------------------------------------------------------------------


def test_casso_vector_body_is_one_incoming_transfer_in_vietnam_time() -> None:
    (transfer,) = casso_transactions(casso_body())

    assert transfer == BankTransfer(
        provider=BankFeedProvider.CASSO,
        transaction_id="0",
        amount=599000,
        description="giao dich thu nghiem",
        account_number="88888888",
        occurred_at=datetime(2024, 10, 3, 15, 6, 37, tzinfo=HO_CHI_MINH),
        reference="MA_GIAO_DICH_THU_NGHIEM",
        direction=TransferDirection.IN,
    )
    assert transfer.occurred_at.astimezone(UTC) == datetime(2024, 10, 3, 8, 6, 37, tzinfo=UTC)
    assert transfer.provider == "casso"
    assert transfer.direction == "in"


def test_casso_negative_amount_is_money_going_out() -> None:
    body = casso_body()
    body["data"]["amount"] = -120000

    (transfer,) = casso_transactions(body)

    assert (transfer.amount, transfer.direction) == (120000, TransferDirection.OUT)


def test_casso_list_of_transactions_is_accepted() -> None:
    first, second = casso_body()["data"], casso_body()["data"]
    second.update(id=218897, amount=16775000, reference="FT24364030863634")

    transfers = casso_transactions({"error": 0, "data": [first, second]})

    assert [(t.transaction_id, t.amount) for t in transfers] == [
        ("0", 599000),
        ("218897", 16775000),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"error": 1}, "error"),
        ({"data": None}, "data"),
        ({"data": []}, "data"),
        ({"data": "x"}, "data"),
        ({"data": {**CASSO["body"]["data"], "amount": 0}}, "data.amount"),
        ({"data": {**CASSO["body"]["data"], "amount": 599000.5}}, "data.amount"),
        ({"data": {**CASSO["body"]["data"], "amount": "599000"}}, "data.amount"),
        ({"data": {**CASSO["body"]["data"], "id": None}}, "data.id"),
        ({"data": {**CASSO["body"]["data"], "accountNumber": ""}}, "data.accountNumber"),
        (
            {"data": {**CASSO["body"]["data"], "transactionDateTime": "03/10/2024 15:06"}},
            "data.transactionDateTime",
        ),
    ],
)
def test_unreadable_casso_body_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(BankFeedError) as caught:
        casso_transactions(casso_body() | change)

    assert caught.value.field == field


# --- SePay ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (f"Apikey {SEPAY_KEY}", True),
        (f"apikey {SEPAY_KEY}", True),
        (f"  Apikey {SEPAY_KEY} ", True),
        (f"Apikey {SEPAY_KEY}x", False),
        (f"Apikey {SEPAY_KEY[:-1]}", False),
        ("Apikey ", False),
        (f"Bearer {SEPAY_KEY}", False),
        (f"Token {SEPAY_KEY}", False),
        (SEPAY_KEY, False),
        ("", False),
        (None, False),
    ],
)
def test_sepay_api_key_check(header: str | None, accepted: bool) -> None:
    assert sepay_verify(authorization_header=header, api_key=SEPAY_KEY) is accepted


def test_sepay_with_no_configured_key_accepts_nothing() -> None:
    assert not sepay_verify(authorization_header="Apikey ", api_key="")
    assert not sepay_verify(authorization_header="Apikey", api_key="")


def test_sepay_body_is_one_transfer_in_vietnam_time() -> None:
    transfer = sepay_transaction(SEPAY_BODY)

    assert transfer == BankTransfer(
        provider=BankFeedProvider.SEPAY,
        transaction_id="92704",
        amount=2277000,
        description="chuyen tien mua iphone",
        account_number="0123499999",
        occurred_at=datetime(2023, 3, 25, 14, 2, 37, tzinfo=HO_CHI_MINH),
        reference="MBVCB.3278907687",
        direction=TransferDirection.IN,
    )


def test_sepay_outgoing_transfer_without_reference() -> None:
    transfer = sepay_transaction(SEPAY_BODY | {"transferType": "out", "referenceCode": None})

    assert (transfer.direction, transfer.reference, transfer.amount) == ("out", "", 2277000)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transferType": "IN"}, "transferType"),
        ({"transferType": None}, "transferType"),
        ({"transferAmount": 0}, "transferAmount"),
        ({"transferAmount": -5}, "transferAmount"),
        ({"transferAmount": None}, "transferAmount"),
        ({"id": ""}, "id"),
        ({"accountNumber": None}, "accountNumber"),
        ({"transactionDate": "2023-03-25T14:02:37Z"}, "transactionDate"),
        ({"content": 5}, "content"),
    ],
)
def test_unreadable_sepay_body_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(BankFeedError) as caught:
        sepay_transaction(SEPAY_BODY | change)

    assert caught.value.field == field


# --- memo codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "memo",
    [
        "MBVCB.3278907687.VP7K2Q9.CT tu 0123 NGUYEN VAN A",
        "MBVCB.123.vp7k2q9.CT",
        "THANH TOAN VP7K2Q9",
        "VP7K2Q9",
        "IBFT VP7K2Q9 thanh toan vien phi",
        "Vp7K2q9-NGUYEN VAN A chuyen tien",
        "FT24364030863634_VP7K2Q9_NGUYEN VAN A",
        "Thanh toán viện phí VP7K2Q9 Đợt 1",
        "TKThe :0011001932418, tai VCB. VP7K2Q9. -CTLNHIDI000009123456789",
        "REM Tfr Ac: 1017595600 VP7K2Q9 VP7K2Q9",  # the same code twice is still one code
    ],
)
def test_memo_code_is_found_inside_bank_memos(memo: str) -> None:
    assert find_memo_code(memo) == "VP7K2Q9"


@pytest.mark.parametrize(
    "memo",
    [
        "",
        "MBVCB.3278907687.CT tu 0123 NGUYEN VAN A",
        "XVP7K2Q9 thanh toan",  # embedded in a longer word
        "thanh toan VP7K2Q9X",
        "thanh toan 1VP7K2Q9",
        "thanh toan VP7K2Q",  # too short
        "thanh toan VP7K2Q98",  # too long
        "thanh toan VP7K2Q0",  # 0 is not in the alphabet
        "thanh toan VPI7K2Q",  # nor is I
        "chuyen tien qua VPBANK",
        "VP 7K2Q9",
    ],
)
def test_memo_without_a_code_gives_none(memo: str) -> None:
    assert find_memo_code(memo) is None
    assert find_memo_codes(memo) == []


def test_memo_with_two_different_codes_is_not_guessed() -> None:
    memo = "MBVCB.555.VP7K2Q9 VP8M3R4.CT tu NGUYEN VAN A"

    assert find_memo_code(memo) is None
    assert find_memo_codes(memo) == ["VP7K2Q9", "VP8M3R4"]


def test_other_prefixes_are_searched_case_insensitively() -> None:
    assert find_memo_code("MBVCB.3278907687.nd7k2q9.CT tu ...", ("ND",)) == "ND7K2Q9"
    assert find_memo_code("MBVCB.3278907687.ND7K2Q98.CT", ("ND",)) is None
    assert find_memo_codes("VP7K2Q9 ND8M3R4", ("VP", "ND")) == ["VP7K2Q9", "ND8M3R4"]


@pytest.mark.parametrize(
    "memo",
    [
        "VP 7K2Q9",
        "vp-7k2q9",
        "VP.7K2Q9 CHUYEN TIEN",
        "CT tu NGUYEN VAN A vp 7k2q9",
        "V P 7 K 2 Q 9",
        "MBVCB.555.VP - 7K2Q9.CT tu",
    ],
)
def test_the_tolerant_form_reads_every_rewrite_as_one_canonical_code(memo: str) -> None:
    assert find_memo_codes(memo) == []  # the strict form does not
    assert find_memo_codes(memo, tolerant=True) == ["VP7K2Q9"]


@pytest.mark.parametrize("memo", ["XVP 7K2Q9", "VP 7K2Q9X", "VP 7K2Q", "chuyen tien qua VPBANK"])
def test_the_tolerant_form_still_wants_the_code_alone(memo: str) -> None:
    assert find_memo_codes(memo, tolerant=True) == []


def test_new_memo_codes_use_the_unambiguous_alphabet_and_match_the_pattern() -> None:
    codes = [new_memo_code() for _ in range(500)]

    assert all(re.fullmatch(MEMO_CODE_PATTERN, code) for code in codes)
    assert all(len(code) == 7 and code.startswith("VP") for code in codes)
    assert set("".join(code[2:] for code in codes)) <= set(MEMO_CODE_ALPHABET)
    assert not set(MEMO_CODE_ALPHABET) & set("0O1I")
    assert len(MEMO_CODE_ALPHABET) == len(set(MEMO_CODE_ALPHABET)) == 32
    for code in codes[:50]:
        assert find_memo_code(f"MBVCB.3278907687.{code.lower()}.CT tu NGUYEN VAN A") == code


def test_same_amount_transfers_are_told_apart_by_their_memo_codes() -> None:
    """Matching on the amount alone sends money to the wrong bill."""
    bills = {"VP7K2Q9": "invoice A", "VP8M3R4": "invoice B"}
    first = sepay_transaction(
        SEPAY_BODY | {"id": 1, "transferAmount": 350000, "content": "MBVCB.1.vp8m3r4.CT tu B"}
    )
    second = sepay_transaction(
        SEPAY_BODY | {"id": 2, "transferAmount": 350000, "content": "THANH TOAN VP7K2Q9"}
    )

    assert first.amount == second.amount
    assert first.account_number == second.account_number
    assert first.transaction_id != second.transaction_id
    matched = {
        transfer.transaction_id: bills[code]
        for transfer in (first, second)
        if (code := find_memo_code(transfer.description)) is not None
    }
    assert matched == {"1": "invoice B", "2": "invoice A"}
