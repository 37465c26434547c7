"""SMS backends: the console (the embedded default) and the eSMS.vn HTTP gateway.

eSMS.vn (VIHAT) ``SendMultipleMessage_V4_post_json``, as its published samples
(github.com/vhs-sms) use it: ``POST {SMS_GATEWAY_URL}`` with a JSON body

    {"ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType": "2",
     "IsUnicode": "0", "Sandbox": "0", "RequestId"}

(``SmsType`` 2 = customer-care brandname SMS; ``RequestId`` is eSMS's own de-duplication
key, so a retry after a lost answer is not sent twice). It answers HTTP 200 with
``{"CodeResult": "100", "SMSID": "..."}`` when the message is accepted, otherwise
``{"CodeResult": "<code>", "ErrorMessage": "..."}``. Codes we treat as permanent (retrying
cannot help, a person must act): 101 wrong ApiKey/SecretKey, 102 account locked, 103
balance too low, 104 brand name not registered, 118 invalid SmsType, 146 content does not
match a registered template. 99 (unknown error) and any code not listed are transient, as
are timeouts, connection errors and HTTP 5xx/429; other HTTP 4xx are permanent. Attempts
are bounded by ``MESSAGE_MAX_ATTEMPTS`` either way.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from django.conf import settings

from notifications.backends import PermanentSendError, TransientSendError, mask_recipient

logger = logging.getLogger(__name__)

ESMS_ACCEPTED = "100"
ESMS_PERMANENT = {
    "101": "wrong ApiKey or SecretKey",
    "102": "account locked",
    "103": "balance too low",
    "104": "brand name not registered",
    "118": "invalid SmsType",
    "146": "content does not match a registered template",
}


class ConsoleSmsBackend:
    """Logs the message with the number masked and a pay link's token cut out (a token is
    the whole credential for paying that invoice); nothing leaves the machine."""

    def send(self, *, recipient: str, body: str, request_id: str) -> str:
        shown = re.sub(r"/p(?:ay)?/\S+", "/p/<token>", body)
        logger.info("SMS %s to %s: %s", request_id, mask_recipient(recipient), shown)
        return f"console-{request_id}"


class EsmsBackend:
    """The eSMS.vn JSON API (see the module docstring for the wire format)."""

    def send(self, *, recipient: str, body: str, request_id: str) -> str:
        payload = {
            "ApiKey": settings.SMS_API_KEY,
            "SecretKey": settings.SMS_SECRET_KEY,
            "Phone": recipient,
            "Content": body,
            "Brandname": settings.SMS_BRAND_NAME,
            "SmsType": "2",
            "IsUnicode": "0",
            "Sandbox": "0",
            "RequestId": request_id,
        }
        try:
            response = requests.post(
                settings.SMS_GATEWAY_URL, json=payload, timeout=settings.SMS_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            raise TransientSendError(f"gateway unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientSendError(f"gateway answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentSendError(f"gateway refused the request: HTTP {response.status_code}")
        return _sms_id(response)


def _sms_id(response: requests.Response) -> str:
    try:
        answer: Any = response.json()
        code = str(answer.get("CodeResult", ""))
    except (ValueError, AttributeError):
        raise TransientSendError("gateway answered something that is not JSON") from None
    if code == ESMS_ACCEPTED:
        return str(answer.get("SMSID", ""))
    if code in ESMS_PERMANENT:
        raise PermanentSendError(f"eSMS CodeResult {code}: {ESMS_PERMANENT[code]}")
    raise TransientSendError(f"eSMS CodeResult {code or '?'}")
