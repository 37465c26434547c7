"""Bank-feed aggregator webhooks (Casso v2, SePay): verify, then normalise to ``BankTransfer``.

A VietQR payment is confirmed when the bank reports the transfer through an aggregator. This module
only authenticates and parses those reports and finds our memo code in the bank's memo (Casso v2
signs key-sorted, re-serialised JSON); matching to a payment, de-duplication on the transaction id
and the reconciliation queue belong to the services that call it."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from billing.public_ids import mint_public_id
from config.text import ascii_fold

BANK_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FEED_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # both feeds send local time without an offset

# Memo codes: "VP" + 5 characters from an alphabet without 0/O and 1/I, which people and OCR
# confuse. 32**5 ≈ 33.5 million codes; uniqueness is the database's job (a unique constraint,
# retried on collision), not this module's.
MEMO_CODE_PREFIX = "VP"
MEMO_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MEMO_CODE_BODY_LENGTH = 5
# Searched case-insensitively in the bank's memo after its diacritics are stripped. The code
# must not touch another letter or digit ("XVP7K2Q9" and "VP7K2Q9X" are not codes), but dots,
# spaces, dashes and underscores, which banks glue around memos, are fine. ``\b`` is not used
# because it treats "_" as part of a word.
# Banks and the two feeds rewrite the memo: "VP 7K2Q9", "vp-7k2q9", "VP.7K2Q9". The tolerant
# form lets spaces, dots and dashes stand between the code's characters; what it finds is
# the code with them removed, upper-cased — one canonical code for every rewrite. It is
# only asked when the strict form finds nothing, and what it finds is only a code when we
# issued it (the services check: "VP TRUNG TAM" or "ND THANH TOAN" read that way are words).
CODE_SEPARATORS = r"[\s.\-]*"


def code_pattern(prefixes: Sequence[str] = ("VP",), *, tolerant: bool = False) -> str:
    """The search pattern of codes with one of ``prefixes`` (strict, or ``tolerant`` of
    separators between the characters)."""
    glue = CODE_SEPARATORS if tolerant else ""
    body = glue.join([f"[{MEMO_CODE_ALPHABET}]"] * MEMO_CODE_BODY_LENGTH)
    heads = "|".join(glue.join(prefix) for prefix in prefixes)
    return rf"(?<![0-9A-Z])(?:{heads}){glue}{body}(?![0-9A-Z])"


MEMO_CODE_PATTERN = code_pattern((MEMO_CODE_PREFIX,))


class BankFeedError(ValueError):
    """A webhook body that cannot be read as a bank transfer; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class BankFeedProvider(StrEnum):
    CASSO = "casso"
    SEPAY = "sepay"


class TransferDirection(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class BankTransfer:
    """One bank transaction as reported by a feed. ``amount`` is positive whole dong; which way
    the money went is ``direction``. ``occurred_at`` is aware (the feed's local Vietnam time).
    ``transaction_id`` is the aggregator's id: the key to de-duplicate deliveries on."""

    provider: BankFeedProvider
    transaction_id: str
    amount: int
    description: str
    account_number: str
    occurred_at: datetime
    reference: str
    direction: TransferDirection


# --- Casso webhook v2 ------------------------------------------------------------------------
#
# Casso signs ``f"{t}." + JSON`` of the body with its keys sorted recursively and no spaces,
# re-serialised rather than the raw bytes. Its reference samples disagree on non-ASCII text:
# JavaScript's JSON.stringify (and Go) write it as raw UTF-8 (``ensure_ascii=False``), while the
# Python sample's json.dumps default and PHP's json_encode write ``\uXXXX`` escapes
# (``ensure_ascii=True``). The official vector is ASCII-only, so it cannot tell them apart. We
# sign and check the JSON.stringify form first and also accept the escaped form: both
# serialise the same parsed body and both need the secret key, so accepting either lets no
# forgery through, while picking one would reject genuine deliveries with Vietnamese names.


def casso_signature_header(*, body: Mapping[str, Any], key: str, timestamp_ms: int) -> str:
    """The ``X-Casso-Signature`` value Casso would send for ``body`` (used by test fakes)."""
    return f"t={timestamp_ms},v1={_casso_digest(key, timestamp_ms, body, ensure_ascii=False)}"


def casso_verify(
    *,
    header: str | None,
    body: Mapping[str, Any],
    key: str,
    tolerance_seconds: int | None = None,
    now_ms: int | None = None,
) -> bool:
    """Whether ``header`` (``t=<ms>,v1=<hex>``) is Casso's HMAC-SHA512 signature of ``body``.

    ``body`` is the parsed JSON. With ``tolerance_seconds`` the timestamp must also be within
    that many seconds of ``now_ms`` (default: the clock). Fails closed on an empty key or a
    malformed header; digests are compared in constant time.
    """
    parsed = _casso_header(header)
    if not key or parsed is None:
        return False
    timestamp_ms, signatures = parsed
    if tolerance_seconds is not None:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if abs(now - timestamp_ms) > tolerance_seconds * 1000:
            return False
    try:
        expected = {
            _casso_digest(key, timestamp_ms, body, ensure_ascii=ensure_ascii)
            for ensure_ascii in (False, True)
        }
    except (TypeError, ValueError):  # not JSON-serialisable (NaN, non-str keys, objects)
        return False
    matched = False
    for digest in expected:
        for signature in signatures:
            matched |= hmac.compare_digest(digest, signature)
    return matched


def casso_transactions(body: Mapping[str, Any]) -> list[BankTransfer]:
    """The transactions in a Casso webhook body: v2 sends one object in ``data``; a list (the
    older shape) is accepted too. A negative Casso amount is money going out."""
    if not isinstance(body, Mapping):
        raise BankFeedError("the body must be a JSON object", field="body")
    error = body.get("error", 0)
    if error != 0:
        raise BankFeedError(f"Casso reports error {error!r}", field="error")
    data = body.get("data")
    if isinstance(data, Mapping):
        return [_casso_transfer(data, "data")]
    if isinstance(data, list) and data:
        return [_casso_transfer(record, f"data[{index}]") for index, record in enumerate(data)]
    raise BankFeedError("data must be a transaction object or a non-empty list", field="data")


def _casso_header(header: str | None) -> tuple[int, list[str]] | None:
    if not header:
        return None
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            return None
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value.lower())
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,16}", timestamps[0]):
        return None
    signatures = [value for value in signatures if re.fullmatch(r"[0-9a-f]{128}", value)]
    return (int(timestamps[0]), signatures) if signatures else None


def _casso_digest(key: str, timestamp_ms: int, body: Any, *, ensure_ascii: bool) -> str:
    canonical = json.dumps(
        _js_numbers(body),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=ensure_ascii,
        allow_nan=False,
    )
    message = f"{timestamp_ms}.{canonical}".encode()
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


def _js_numbers(value: Any) -> Any:
    """JSON.stringify writes 2.0 as ``2``; json.dumps would write ``2.0`` and break the HMAC."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {name: _js_numbers(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


def _casso_transfer(record: Any, where: str) -> BankTransfer:
    if not isinstance(record, Mapping):
        raise BankFeedError(f"{where} must be an object", field=where)
    signed_amount = _integer(record, "amount", where)
    if signed_amount == 0:
        raise BankFeedError(f"{where}.amount is zero", field=f"{where}.amount")
    return BankTransfer(
        provider=BankFeedProvider.CASSO,
        transaction_id=_identifier(record, "id", where),
        amount=abs(signed_amount),
        description=_text(record, "description", where),
        account_number=_text(record, "accountNumber", where, required=True),
        occurred_at=_local_time(record, "transactionDateTime", where),
        reference=_text(record, "reference", where),
        direction=TransferDirection.OUT if signed_amount < 0 else TransferDirection.IN,
    )


# --- SePay -----------------------------------------------------------------------------------


def sepay_verify(*, authorization_header: str | None, api_key: str) -> bool:
    """Whether ``Authorization: Apikey <key>`` carries our key (scheme case-insensitive, as
    HTTP auth schemes are; the key compared in constant time). Fails closed on an empty key."""
    if not api_key or not authorization_header:
        return False
    scheme, _, credentials = authorization_header.strip().partition(" ")
    if scheme.lower() != "apikey":
        return False
    return hmac.compare_digest(credentials.strip().encode(), api_key.encode())


def sepay_transaction(body: Mapping[str, Any]) -> BankTransfer:
    """A SePay webhook body as a ``BankTransfer``. The memo is ``content``; SePay's own ``code``
    detection is ignored: we search the memo with our own pattern (``find_memo_code``)."""
    if not isinstance(body, Mapping):
        raise BankFeedError("the body must be a JSON object", field="body")
    transfer_type = body.get("transferType")
    if transfer_type not in (TransferDirection.IN, TransferDirection.OUT):
        raise BankFeedError(
            f"transferType must be 'in' or 'out', got {transfer_type!r}", field="transferType"
        )
    amount = _integer(body, "transferAmount", "")
    if amount <= 0:
        raise BankFeedError(
            f"transferAmount must be positive, got {amount}", field="transferAmount"
        )
    return BankTransfer(
        provider=BankFeedProvider.SEPAY,
        transaction_id=_identifier(body, "id", ""),
        amount=amount,
        description=_text(body, "content", ""),
        account_number=_text(body, "accountNumber", "", required=True),
        occurred_at=_local_time(body, "transactionDate", ""),
        reference=_text(body, "referenceCode", ""),
        direction=TransferDirection(transfer_type),
    )


# --- shared field readers --------------------------------------------------------------------


def _field_name(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _integer(record: Mapping[str, Any], name: str, where: str) -> int:
    value = record.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON "599000.0" is still whole dong; 599000.5 is not
    if isinstance(value, bool) or not isinstance(value, int):
        raise BankFeedError(
            f"{_field_name(where, name)} must be a whole number of dong, got {value!r}",
            field=_field_name(where, name),
        )
    return value


def _identifier(record: Mapping[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise BankFeedError(
        f"{_field_name(where, name)} must be a number or a non-empty string, got {value!r}",
        field=_field_name(where, name),
    )


def _text(record: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BankFeedError(
            f"{_field_name(where, name)} must be {'a non-empty' if required else 'a'} string, "
            f"got {value!r}",
            field=_field_name(where, name),
        )
    return value.strip()


def _local_time(record: Mapping[str, Any], name: str, where: str) -> datetime:
    value = record.get(name)
    try:
        if not isinstance(value, str):
            raise TypeError(name)
        naive = datetime.strptime(value, FEED_DATETIME_FORMAT)  # noqa: DTZ007 (zone set below)
    except (TypeError, ValueError):
        raise BankFeedError(
            f"{_field_name(where, name)} must be 'YYYY-MM-DD HH:MM:SS', got {value!r}",
            field=_field_name(where, name),
        ) from None
    return naive.replace(tzinfo=BANK_TIMEZONE)


# --- memo codes ------------------------------------------------------------------------------


def new_memo_code() -> str:
    """A fresh memo code such as ``VP7K2Q9`` (cryptographically random, so codes of other
    patients cannot be guessed from one's own). Not guaranteed unique: the caller stores it
    under a unique constraint and draws again on a collision."""
    return mint_public_id(
        prefix=MEMO_CODE_PREFIX, alphabet=MEMO_CODE_ALPHABET, length=MEMO_CODE_BODY_LENGTH
    )


def find_memo_codes(
    description: str, prefixes: Sequence[str] = (MEMO_CODE_PREFIX,), *, tolerant: bool = False
) -> list[str]:
    """Every distinct code in a bank memo, canonical (separators removed, upper-cased), in
    order of appearance: the strict form's, or with ``tolerant`` those of the tolerant form
    (see ``CODE_SEPARATORS``; the caller keeps only the codes it issued)."""
    compiled = _compiled(tuple(prefixes), tolerant)
    found: list[str] = []
    for match in compiled.finditer(ascii_fold(description or "")):
        code = canonical_code(match.group(1))
        if code not in found:
            found.append(code)
    return found


def canonical_code(text: str) -> str:
    """``"vp-7k2q9"`` → ``"VP7K2Q9"``."""
    return re.sub(CODE_SEPARATORS, "", text).upper()


def find_memo_code(description: str, prefixes: Sequence[str] = (MEMO_CODE_PREFIX,)) -> str | None:
    """The one code in a bank memo (``"MBVCB.3278907687.VP7K2Q9.CT tu ..."`` → ``"VP7K2Q9"``),
    searched case-insensitively anywhere in it (strict form), or ``None``.

    ``None`` also when the memo holds several different codes: which payment such a transfer
    was meant for is a question for the reconciliation queue (``find_memo_codes`` tells the
    two cases apart), not something to guess here.
    """
    codes = find_memo_codes(description, prefixes)
    return codes[0] if len(codes) == 1 else None


@functools.cache
def _compiled(prefixes: tuple[str, ...], tolerant: bool) -> re.Pattern[str]:
    pattern = code_pattern(prefixes, tolerant=tolerant)
    # The tolerant form's matches may overlap ("VP HCM VP 7K2Q9": "VPHCMVP" would hide the
    # code behind it), so each start is tried on its own (a lookahead consumes nothing).
    return re.compile(f"(?=({pattern}))" if tolerant else f"({pattern})", re.IGNORECASE)
