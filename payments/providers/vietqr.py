"""VietQR (NAPAS 247 bank transfer) payloads: a builder, a strict decoder and QR images.

A VietQR code is an EMVCo merchant-presented payload: TLV fields ``ID(2) LENGTH(2) VALUE``,
lengths counted in characters, ending with a CRC-16/CCITT-FALSE over everything up to and
including the literal ``6304`` (CRC-16/CCITT-FALSE, EMVCo).

The decoder is strict on purpose: a declared length that does not match what follows, a wrong
CRC, a missing or misplaced mandatory tag is an error naming the tag path (``VietQRError.field``,
e.g. ``"38/01"``), never a best guess. Everything the builder makes passes the decoder.
"""

from __future__ import annotations

import binascii
import io
import re
from dataclasses import dataclass, field

import segno

from config.text import ascii_fold

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
POINT_OF_INITIATION_STATIC = "11"  # reusable code, the payer types the amount
POINT_OF_INITIATION_DYNAMIC = "12"  # one bill, amount included
PAYLOAD_FORMAT = "01"

MAX_MEMO_LENGTH = 25  # EMVCo 62/08 is "ans ..25"; banks cut longer memos
MAX_BILL_NUMBER_LENGTH = 25  # EMVCo 62/01 is "ans ..25"
MAX_AMOUNT_DIGITS = 13  # EMVCo 54 is "ans ..13"
MAX_VALUE_LENGTH = 99  # a two-digit length field
MAX_PAYLOAD_LENGTH = 512  # EMVCo upper bound for a merchant-presented payload

_BIN = re.compile(r"[0-9]{6}")
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")
_AMOUNT = re.compile(r"[1-9][0-9]{0,12}")  # whole dong: no decimals, no leading zero
_POINT = re.compile(r"1[12]")
_GUID = re.compile(NAPAS_GUID)
_SERVICE = re.compile(r"QRIBFTT[AC]")
_CURRENCY = re.compile(CURRENCY_VND)
_COUNTRY = re.compile(COUNTRY_VN)
_CRC = re.compile(r"[0-9A-F]{4}")
_TLV_HEADER = re.compile(r"[0-9]{4}")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")

_KNOWN_TOP_LEVEL = frozenset({"00", "01", "38", "53", "54", "58", "62", "63"})
_CRC_TAG_AND_LENGTH = "6304"


class VietQRError(ValueError):
    """A payload (or builder input) that is not a valid VietQR; ``field`` names the culprit.

    For payloads ``field`` is a tag path such as ``"63"`` or ``"38/01"`` (``"payload"`` when the
    whole string is unusable); for builder inputs it is the argument name (``"memo"``).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class VietQRPayload:
    """The decoded fields of a VietQR payload. Absent optional tags are ``None``.

    ``extra`` keeps tags this module does not interpret (top level and nested), keyed by tag
    path (``"59"``, ``"62/07"``), so nothing in a scanned code is silently lost.
    """

    point_of_initiation: str | None
    guid: str
    bank_bin: str
    account: str
    service: str
    currency: str
    country: str
    crc: str
    amount: int | None = None
    bill_number: str | None = None
    purpose: str | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False)


def crc16_ccitt_false(data: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as 4 upper-case hex digits."""
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


# --- builder ---------------------------------------------------------------------------------


def build_payload(
    *,
    bank_bin: str,
    account: str,
    amount: int | None,
    memo: str | None,
    bill_number: str | None = None,
    to_card: bool = False,
) -> str:
    """A VietQR payload for a transfer to ``account`` at the bank ``bank_bin``.

    With an ``amount`` (whole VND) the code is for one bill (point of initiation ``12``);
    without, it is reusable (``11``). The memo loses its diacritics and extra whitespace and must
    then be printable ASCII of at most 25 characters: it is refused, never cut, because the
    payment's matching code may sit at its end. Raises ``VietQRError`` naming the argument.
    """
    _check_str(bank_bin, "bank_bin")
    if not _BIN.fullmatch(bank_bin):
        raise VietQRError(f"bank_bin must be 6 digits, got {bank_bin!r}", field="bank_bin")
    _check_str(account, "account")
    if not _ACCOUNT.fullmatch(account):
        raise VietQRError(
            f"account must be 1 to 19 letters or digits, got {account!r}", field="account"
        )
    amount_text = None if amount is None else _amount_text(amount)
    purpose = None if memo is None else _clean_text(memo, "memo", MAX_MEMO_LENGTH, fold=True)
    bill = (
        None
        if bill_number is None
        else _clean_text(bill_number, "bill_number", MAX_BILL_NUMBER_LENGTH, fold=False)
    )

    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    service = SERVICE_TO_CARD if to_card else SERVICE_TO_ACCOUNT
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", service)
    additional = (_tlv("01", bill) if bill else "") + (_tlv("08", purpose) if purpose else "")
    point = POINT_OF_INITIATION_STATIC if amount_text is None else POINT_OF_INITIATION_DYNAMIC

    body = (
        _tlv("00", PAYLOAD_FORMAT)
        + _tlv("01", point)
        + _tlv("38", merchant)
        + _tlv("53", CURRENCY_VND)
        + (_tlv("54", amount_text) if amount_text else "")
        + _tlv("58", COUNTRY_VN)
        + (_tlv("62", additional) if additional else "")
        + _CRC_TAG_AND_LENGTH
    )
    return body + crc16_ccitt_false(body)


def _check_str(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise VietQRError(f"{name} must be a string, got {type(value).__name__}", field=name)


def _amount_text(amount: int) -> str:
    # bool is an int subclass; a float or Decimal amount is a bug upstream, not a rounding job.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise VietQRError(
            f"amount must be an integer number of dong, got {amount!r}", field="amount"
        )
    if amount <= 0:
        raise VietQRError(f"amount must be positive, got {amount}", field="amount")
    if len(str(amount)) > MAX_AMOUNT_DIGITS:
        raise VietQRError(
            f"amount has more than {MAX_AMOUNT_DIGITS} digits: {amount}", field="amount"
        )
    return str(amount)


def _clean_text(value: str, name: str, max_length: int, *, fold: bool) -> str:
    _check_str(value, name)
    text = " ".join((ascii_fold(value) if fold else value).split())
    if not text:
        raise VietQRError(f"{name} is empty; pass None to leave it out", field=name)
    if not _PRINTABLE_ASCII.fullmatch(text):
        raise VietQRError(f"{name} must be printable ASCII, got {text!r}", field=name)
    if len(text) > max_length:
        raise VietQRError(
            f"{name} is {len(text)} characters, at most {max_length} fit: {text!r}", field=name
        )
    return text


def _tlv(tag: str, value: str) -> str:
    if len(value) > MAX_VALUE_LENGTH:
        raise VietQRError(
            f"tag {tag} would hold {len(value)} characters, at most {MAX_VALUE_LENGTH} fit",
            field=tag,
        )
    return f"{tag}{len(value):02d}{value}"


# --- decoder ---------------------------------------------------------------------------------


def decode_payload(payload: str) -> VietQRPayload:
    """Decode a VietQR payload, or raise ``VietQRError`` with the tag path at fault.

    Checked, in order: printable ASCII; every TLV length (top level and nested); ``00`` first
    with ``01``; ``63`` last with 4 upper-case hex digits matching the CRC; then the NAPAS fields
    (GUID, 6-digit BIN, account, service), currency 704, country VN, amount digits. Unknown tags
    go to ``extra``.
    """
    if not isinstance(payload, str) or not payload:
        raise VietQRError("payload must be a non-empty string", field="payload")
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise VietQRError(
            f"payload is {len(payload)} characters, at most {MAX_PAYLOAD_LENGTH}", field="payload"
        )
    if not _PRINTABLE_ASCII.fullmatch(payload):
        raise VietQRError("payload must be printable ASCII", field="payload")

    tags = _split_tlv(payload, template=None)
    _check_envelope(payload, tags)
    extra = {tag: value for tag, value in tags.items() if tag not in _KNOWN_TOP_LEVEL}
    point = _optional(tags, "01", _POINT, "point of initiation must be 11 or 12")
    guid, bank_bin, account, service = _decode_merchant(_required(tags, "38"), extra)
    currency = _expect(tags, "53", _CURRENCY, f"currency must be {CURRENCY_VND}")
    country = _expect(tags, "58", _COUNTRY, f"country must be {COUNTRY_VN}")
    amount_text = _optional(tags, "54", _AMOUNT, "amount must be 1 to 13 digits of whole dong")
    bill_number, purpose = _decode_additional(tags.get("62"), extra)
    return VietQRPayload(
        point_of_initiation=point,
        guid=guid,
        bank_bin=bank_bin,
        account=account,
        service=service,
        currency=currency,
        country=country,
        crc=tags["63"],
        amount=None if amount_text is None else int(amount_text),
        bill_number=bill_number,
        purpose=purpose,
        extra=extra,
    )


def _split_tlv(data: str, *, template: str | None) -> dict[str, str]:
    """Split ``data`` into ``{tag: value}`` in order, checking every declared length.

    Inside a nested template any structural fault is reported at the template (its declared
    lengths do not add up to its content); at the top level, at the tag whose length overruns
    the payload or leaves garbage behind it.
    """
    fields: dict[str, str] = {}
    previous: tuple[str, int] | None = None
    position = 0
    while position < len(data):
        header = data[position : position + 4]
        if not _TLV_HEADER.fullmatch(header):
            raise _structure_error(data, position, header, previous, template)
        tag, length = header[:2], int(header[2:])
        path = _path(template, tag)
        value = data[position + 4 : position + 4 + length]
        if length == 0:
            raise VietQRError(
                f"tag {path} declares length 00; a value holds 1 to {MAX_VALUE_LENGTH} characters",
                field=template or tag,
            )
        if len(value) < length:
            where = f"template {template}" if template else "the payload"
            raise VietQRError(
                f"tag {path} declares length {length} but {len(value)} characters remain in "
                f"{where}",
                field=template or tag,
            )
        if tag in fields:
            raise VietQRError(f"tag {path} appears twice", field=template or tag)
        fields[tag] = value
        previous = (tag, length)
        position += 4 + length
    return fields


def _structure_error(
    data: str, position: int, header: str, previous: tuple[str, int] | None, template: str | None
) -> VietQRError:
    rest = data[position:]
    if previous is None:
        message = f"expected a 2-digit tag and a 2-digit length, found {header!r}"
        return VietQRError(_located(template, message), field=template or "payload")
    tag, length = previous
    end = f"the end of template {template}" if template else "the end of the payload"
    if len(rest) < 4:
        message = (
            f"tag {_path(template, tag)} declares length {length} but {length + len(rest)} "
            f"characters follow it up to {end} (stray {rest!r})"
        )
    else:
        message = (
            f"after tag {_path(template, tag)} (declared length {length}) comes {header!r}, "
            f"which is not a tag and length: a declared length does not match what follows"
        )
    return VietQRError(_located(template, message), field=template or tag)


def _located(template: str | None, message: str) -> str:
    return f"tag {template}: {message}" if template else message


def _path(template: str | None, tag: str) -> str:
    return f"{template}/{tag}" if template else tag


def _required(tags: dict[str, str], path: str) -> str:
    try:
        return tags[path.rsplit("/", 1)[-1]]
    except KeyError:
        raise VietQRError(f"tag {path} is missing", field=path) from None


def _expect(tags: dict[str, str], path: str, allowed: re.Pattern[str], rule: str) -> str:
    value = _required(tags, path)
    if not allowed.fullmatch(value):
        raise VietQRError(f"tag {path}: {rule}, got {value!r}", field=path)
    return value


def _optional(tags: dict[str, str], path: str, allowed: re.Pattern[str], rule: str) -> str | None:
    present = path.rsplit("/", 1)[-1] in tags
    return _expect(tags, path, allowed, rule) if present else None


def _check_envelope(payload: str, tags: dict[str, str]) -> None:
    order = list(tags)
    if order[0] != "00":
        raise VietQRError("tag 00 (payload format) must come first", field="00")
    if tags["00"] != PAYLOAD_FORMAT:
        raise VietQRError(f"tag 00 must be {PAYLOAD_FORMAT!r}, got {tags['00']!r}", field="00")
    if "63" not in tags:
        raise VietQRError("tag 63 (CRC) is missing", field="63")
    if order[-1] != "63":
        raise VietQRError("tag 63 (CRC) must be the last tag", field="63")
    declared = tags["63"]
    if not _CRC.fullmatch(declared):
        raise VietQRError(f"tag 63 must be 4 upper-case hex digits, got {declared!r}", field="63")
    computed = crc16_ccitt_false(payload[:-4])
    if declared != computed:
        raise VietQRError(
            f"tag 63: CRC mismatch, the payload says {declared} but its content gives {computed}",
            field="63",
        )


def _decode_merchant(value: str, extra: dict[str, str]) -> tuple[str, str, str, str]:
    merchant = _split_tlv(value, template="38")
    guid = _expect(merchant, "38/00", _GUID, f"GUID must be {NAPAS_GUID}")
    beneficiary = _split_tlv(_required(merchant, "38/01"), template="38/01")
    bank_bin = _expect(beneficiary, "38/01/00", _BIN, "bank BIN must be 6 digits")
    account = _expect(beneficiary, "38/01/01", _ACCOUNT, "account must be 1 to 19 letters/digits")
    service = _expect(merchant, "38/02", _SERVICE, "service must be QRIBFTTA or QRIBFTTC")
    extra.update(
        {f"38/{tag}": text for tag, text in merchant.items() if tag not in ("00", "01", "02")}
    )
    extra.update(
        {f"38/01/{tag}": text for tag, text in beneficiary.items() if tag not in ("00", "01")}
    )
    return guid, bank_bin, account, service


def _decode_additional(value: str | None, extra: dict[str, str]) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    additional = _split_tlv(value, template="62")
    extra.update({f"62/{tag}": text for tag, text in additional.items() if tag not in ("01", "08")})
    return additional.get("01"), additional.get("08")


# --- images ----------------------------------------------------------------------------------


def qr_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The payload as a PNG QR code (error correction M, ``scale`` pixels per module, the
    standard 4-module quiet zone). Refuses a payload the strict decoder rejects, so a kiosk
    never shows a code a banking app would refuse."""
    buffer = io.BytesIO()
    _qr_code(payload).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The payload as an SVG QR code (UTF-8 bytes); same rules as ``qr_png``."""
    buffer = io.BytesIO()
    _qr_code(payload).save(buffer, kind="svg", scale=scale, border=border)
    return buffer.getvalue()


def _qr_code(payload: str) -> segno.QRCode:
    decode_payload(payload)
    # boost_error=False: exactly level M, not whatever higher level happens to fit.
    return segno.make_qr(payload, error="M", boost_error=False)
