"""Log lines as JSON, with the request id, and never personal data or credentials.

``PersonalDataFilter`` sits on every handler (``LOGGING`` in settings, gunicorn's access
and error logs in ``gunicorn.conf.py``): it renders the message, then replaces

* pay-link tokens (``/pay/<token>``, ``/p/<token>``, ``PayLink <token>``, any ``plk_…``
  and any signed ``id:time:signature`` of the links made before),
  staff tokens (``tok_…``) and device keys (``dev_…``);
* citizen IDs (12 digits), Vietnamese phone numbers (``0912345678``, ``+84912345678``),
  e-mail addresses;
* Vietnamese personal names: two to five capitalised words that begin with a common family
  name (Nguyễn Thị Hồng Nhung) — a name in another shape is not recognised, which is why
  code never logs one on purpose;
* the values of fields named like personal data (``full_name``, ``phone``, ``email``,
  ``citizen_id``, ``token``…) passed as ``extra=`` or as a mapping argument,

in the message, its arguments, the exception's traceback and any extra field.
``RequestIdFilter`` adds ``request_id`` (``config.request_context``) to each record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from config.request_context import current_request_id

REDACTED = "[redacted]"

_FAMILY_NAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đào",
    "Đoàn",
    "Vương",
    "Trịnh",
    "Trương",
    "Đinh",
    "Lâm",
    "Phùng",
    "Mai",
    "Tô",
    "Hà",
    "Tạ",
    "Lưu",
    "Lương",
    "Cao",
    "Quách",
    "Thái",
    "Châu",
    "Kiều",
    "Nghiêm",
    "Từ",
    "Nguyen",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Huynh",
    "Vu",
    "Vo",
    "Dang",
    "Bui",
    "Ngo",
    "Duong",
    "Dao",
    "Doan",
    "Vuong",
    "Trinh",
    "Truong",
    "Dinh",
    "Lam",
    "Phung",
    "Luu",
    "Luong",
    "Quach",
    "Chau",
    "Kieu",
    "Nghiem",
]
_UPPER = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_LOWER = "a-zàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
_WORD = f"[{_UPPER}][{_LOWER}]+"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Credentials first: a token may contain digits that look like a phone number.
    (re.compile(r"(/pay/)[^\s\"'?#]+"), rf"\1{REDACTED}"),
    # The phone's pay page /p/<token>… ("/p/<token>" itself, a placeholder, stays).
    (re.compile(r"(/p/)[^\s\"'?#/<>]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bplk_[A-Za-z0-9_-]{8,}"), REDACTED),
    # A Stripe client secret (Stripe.js puts it in the 3-D Secure return address).
    (re.compile(r"\b(?:pi|seti)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"), REDACTED),
    # An Authorization header's credential: "PayLink <token>", "Token <key>", "Device <key>".
    (re.compile(r"\b(PayLink|Token|Device)\s+[A-Za-z0-9_:.-]{16,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\b\d+:[A-Za-z0-9]{4,}:[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(r"\b(?:tok|dev_kiosk|dev_his|dev)_[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<![\d.])\d{12}(?![\d.])"), "[citizen-id]"),
    (re.compile(r"(?<![\d.])(?:\+?84|0)[35789]\d{8}(?![\d.])"), "[phone]"),
    (
        re.compile(rf"\b(?:{'|'.join(_FAMILY_NAMES)})(?:\s+{_WORD}){{1,4}}"),
        "[name]",
    ),
]

_PERSONAL_KEYS = re.compile(
    r"(?i)(full_?name|patient_?name|first_?name|last_?name|phone|e_?mail|citizen|"
    r"cccd|insurance_?(id|number)|date_of_birth|address|token|password|secret|authorization)"
)

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


def scrub(text: str) -> str:
    """``text`` with credentials and personal data replaced (see the module docstring)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, key: str = "") -> Any:
    if key and _PERSONAL_KEYS.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(item) for item in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Any other object (a request, a model instance) is logged as its scrubbed text.
    return scrub(str(value))


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            args = scrub_value(dict(args))
        try:
            message = record.msg % args if args else str(record.msg)
        except (TypeError, ValueError):
            message = f"{record.msg} {args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS:
                setattr(record, name, scrub_value(value, name))
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            # django.request logs a response after the middleware returned it.
            request = getattr(record, "request", None)
            record.request_id = current_request_id() or getattr(request, "request_id", "")
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``,
    ``request_id``, any extra field, and ``exc_info`` with the (scrubbed) traceback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("timestamp", False)
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        return moment.isoformat(timespec="milliseconds")

    def formatException(self, ei: Any) -> str:
        return scrub(str(super().formatException(ei)))
