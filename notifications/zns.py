"""ZNS template parameters: which of our values fills which parameter of a hospital's
approved Zalo template, within the length Zalo allows for the parameter's type.

A hospital registers its templates with Zalo (README "Zalo notifications" has sample texts)
and declares for each parameter a type ("technical setting"); a value longer than the type
allows is refused by Zalo with -112 "Template data invalid", which is permanent. So every
value is checked here before sending: text types are cut at a word boundary, codes, amounts,
times and links are never cut (a message that cannot be filled goes by the next channel).

Only the values of :data:`ALLOWED_VALUES` can be mapped: the hospital, the document's
number, the amount, the date and the link, as in the SMS. Never the patient's name, phone
or citizen ID (Decree 13/2023/ND-CP treats health-related data as sensitive (check)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Maximum characters per parameter type: Zalo's "Tên khách hàng (30)" example (zalo.cloud,
# "Các định dạng khi truyền dữ liệu vào tham số") and the ZNSParamType enum of a public
# Zalo SDK (@warriorteam/redai-zalo-sdk 1.32.17); "time" and "url" are from memory (check).
ZNS_TYPE_MAX_LENGTH = {
    "customer_name": 30,
    "phone": 15,
    "address": 200,
    "code": 30,
    "label": 30,
    "transaction_status": 30,
    "contact": 50,
    "title": 5,
    "product": 200,
    "amount": 20,
    "time": 20,  # (check)
    "url": 200,  # (check)
}
# Free text may be shortened; a code, an amount, a date or a link cut short would be wrong.
TRUNCATABLE_TYPES = {"label", "address", "product", "contact", "transaction_status"}

# What a parameter may be filled with (the keys of a message's context).
ALLOWED_VALUES = {
    "hospital": "the hospital's name (HOSPITAL_NAME)",
    "number": "the invoice or receipt number (HD26-0000001, 5C26TKA-00000042)",
    "amount": "the amount in VND, dotted (120.000)",
    "issued_on": "the receipt's date dd/mm/yyyy",
    "url": "the pay link or the receipt's verification page",
}

# The sample templates of the README: parameter -> "value:type".
DEFAULT_TEMPLATE_PARAMS: dict[str, dict[str, str]] = {
    "pay_link": {
        "hospital_name": "hospital:label",
        "invoice_code": "number:code",
        "amount": "amount:amount",
        "pay_url": "url:url",
    },
    "receipt": {
        "hospital_name": "hospital:label",
        "receipt_code": "number:code",
        "amount": "amount:amount",
        "paid_at": "issued_on:time",
        "receipt_url": "url:url",
    },
    "refund_receipt": {
        "hospital_name": "hospital:label",
        "refund_code": "number:code",
        "amount": "amount:amount",
        "refunded_at": "issued_on:time",
        "receipt_url": "url:url",
    },
}


class ZnsTemplateUnavailable(Exception):
    """This message cannot go by Zalo: no approved template, or a value that does not fit."""


@dataclass(frozen=True)
class ZnsParam:
    name: str
    value: str
    type: str


def template_params(template: str) -> list[ZnsParam]:
    """The parameters of ``template``'s ZNS template (settings, else the README's sample).
    A mapping to a value we do not offer, or to an unknown type, is a configuration error."""
    configured = settings.ZALO_TEMPLATE_PARAMS.get(template)
    mapping = configured if configured is not None else DEFAULT_TEMPLATE_PARAMS.get(template, {})
    params = []
    for name, spec in mapping.items():
        value, _, kind = str(spec).partition(":")
        if value not in ALLOWED_VALUES:
            raise ImproperlyConfigured(
                f"ZALO_TEMPLATE_PARAMS[{template}][{name}]: {value!r} is not one of "
                f"{', '.join(sorted(ALLOWED_VALUES))}"
            )
        if kind not in ZNS_TYPE_MAX_LENGTH:
            raise ImproperlyConfigured(
                f"ZALO_TEMPLATE_PARAMS[{template}][{name}]: type {kind!r} is not one of "
                f"{', '.join(sorted(ZNS_TYPE_MAX_LENGTH))}"
            )
        params.append(ZnsParam(name=name, value=value, type=kind))
    return params


def _fit(text: str, kind: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if kind not in TRUNCATABLE_TYPES:
        raise ZnsTemplateUnavailable(f"a {kind} value is longer than {limit} characters")
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut[:limit].rstrip(" ,.-")


def zns_template(*, template: str, context: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The approved template id and the ``template_data`` for a message, every value within
    its type's length. Raises :class:`ZnsTemplateUnavailable` when Zalo cannot carry it."""
    template_id = str(settings.ZALO_TEMPLATE_IDS.get(template, "")).strip()
    if not template_id:
        raise ZnsTemplateUnavailable(f"no ZNS template id for {template}")
    data = {}
    for param in template_params(template):
        text = str(context.get(param.value, "")).strip()
        if not text:
            raise ZnsTemplateUnavailable(f"no {param.value} for {param.name}")
        data[param.name] = _fit(text, param.type, ZNS_TYPE_MAX_LENGTH[param.type])
    if not data:
        raise ZnsTemplateUnavailable(f"no parameters for {template}")
    return template_id, data
