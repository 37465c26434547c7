"""Viettel S-Invoice (SInvoice / vInvoice), from the partner web-service specification
("tài liệu mô tả webservice hóa đơn điện tử đối tác", v2.x) and the vendor's Postman
collection as public integrations quote them (Odoo's l10n_vn_edi_viettel among them).

* Login: ``POST {auth_url}`` JSON ``{"username", "password"}`` → ``access_token``, sent on
  every call as the cookie ``access_token`` (spec §5.5). An answer 401/403 (or 500
  ``GENERAL``, which Viettel gives for an expired token) logs in again once.
* Issue, adjust, replace: ``POST {base}/InvoiceAPI/InvoiceWS/createInvoice/{supplierTaxCode}``
  JSON (§7.2) with ``generalInvoiceInfo.adjustmentType`` ``1`` (original), ``3``
  (replacement), ``5`` (adjustment, ``adjustmentInvoiceType`` ``1``: money) and, for a
  correction, ``originalInvoiceId``/``originalInvoiceIssueDate``/``originalTemplateCode``/
  ``additionalReferenceDesc``/``additionalReferenceDate``. ``transactionUuid`` is our key:
  Viettel refuses a second invoice under one key.
* Answer ``{"errorCode", "description", "result": {"invoiceNo", "transactionID",
  "reservationCode"}}``: an ``errorCode`` is a refusal (kept with Viettel's description);
  errors may also come as HTTP 400 ``{"code", "message", "data"}``.
* Status: ``POST {base}/InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid`` (form:
  ``supplierTaxCode``, ``transactionUuid``; §7.21): ``NOT_FOUND_DATA`` when nothing was
  issued under that key. The tax authority's code is read from ``codeOfTax`` (check: the
  field is in the createInvoice and look-up answers of several independent public
  integrations, one quoting the vendor's guide v2.50, but not in Odoo's module nor in a
  specification text we could read).
* Files: ``POST {base}/InvoiceAPI/InvoiceUtilsWS/getInvoiceRepresentationFile`` JSON
  (``fileType`` ``PDF`` or ``ZIP``, the XML inside; §7.3) → base64 ``fileToBytes``.
* Cancel: ``POST {base}/InvoiceAPI/InvoiceWS/cancelTransactionInvoice`` (form) — marked
  "removed" in recent specification versions: a voided invoice is corrected by an adjusting
  or replacing e-invoice instead, which is what billing does.

Amounts are whole VND; ``taxPercentage`` is ``-2`` for KCT (not subject to VAT) and ``-1``
would be "not declaring VAT"; an adjustment is ``adjustmentType`` ``5`` with
``adjustmentInvoiceType`` ``1`` (money; ``2``: information only), a replacement ``3``, and a
decreasing line has ``isIncreaseItem`` false — as Odoo's ``l10n_vn_edi_viettel``
(odoo/odoo, addons/l10n_vn_edi_viettel/models/account_move.py, commit 006da4ce) sends them,
a credit note going out as an adjusting invoice (``5``) as our refunds do.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import zipfile
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from billing.einvoicing.providers import (
    Document,
    DocumentLine,
    Issued,
    OriginalReference,
    ProviderRefused,
    ProviderUnavailable,
)

ORIGINAL, REPLACEMENT, ADJUSTMENT = "1", "3", "5"
MONEY_ADJUSTMENT = "1"
NOT_FOUND = "NOT_FOUND_DATA"
TAX_PERCENTAGES = {"KCT": -2, "0": 0, "5": 5, "8": 8, "10": 10}
PAYMENT_METHODS = {"TM": "1", "CK": "2", "TM/CK": "3"}
_TOKENS: dict[str, tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()
_TOKEN_LIFETIME_SECONDS = 15 * 60  # Viettel's tokens live about 20 minutes


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def series_symbol(year: int) -> str:
    """``VIETTEL_INVOICE_SERIES`` with ``{yy}`` replaced by the year's two digits."""
    return str(settings.VIETTEL_INVOICE_SERIES).replace("{yy}", f"{year % 100:02d}")


class ViettelSInvoice:
    name = "viettel"

    def __init__(self) -> None:
        self.base = settings.VIETTEL_SINVOICE_BASE_URL.rstrip("/")
        self.auth_url = settings.VIETTEL_SINVOICE_AUTH_URL
        self.username = settings.VIETTEL_SINVOICE_USERNAME
        self.password = settings.VIETTEL_SINVOICE_PASSWORD
        self.tax_code = settings.VIETTEL_SUPPLIER_TAX_CODE or settings.HOSPITAL_TAX_CODE
        self.template_code = settings.VIETTEL_TEMPLATE_CODE
        self.timeout = settings.EINVOICE_TIMEOUT_SECONDS

    # --- transport ---------------------------------------------------------------------

    def _login(self) -> str:
        try:
            response = requests.post(
                self.auth_url,
                json={"username": self.username, "password": self.password},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise ProviderUnavailable(f"login: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"login: HTTP {response.status_code}")
        token = _json(response).get("access_token") if response.ok else None
        if not isinstance(token, str) or not token:
            # The login's body carries the password: never repeat it, only the status.
            raise ProviderRefused(
                "AUTH_FAILED", f"Viettel refused the login (HTTP {response.status_code})"
            )
        with _TOKENS_LOCK:
            _TOKENS[self.username] = (token, time.monotonic() + _TOKEN_LIFETIME_SECONDS)
        return token

    def _token(self) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self.username)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return self._login()

    def _post(self, path: str, *, json: Any = None, form: dict[str, str] | None = None) -> Any:
        for attempt in (1, 2):
            token = self._token()
            try:
                response = requests.post(
                    f"{self.base}{path}",
                    json=json,
                    data=form,
                    cookies={"access_token": token},
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                raise ProviderUnavailable(f"{path}: {type(error).__name__}") from None
            body = _json(response)
            expired = response.status_code in (401, 403) or (
                response.status_code == 500 and body.get("message") == "GENERAL"
            )
            if expired and attempt == 1:
                with _TOKENS_LOCK:
                    _TOKENS.pop(self.username, None)
                continue
            if expired or response.status_code >= 500 or response.status_code == 429:
                raise ProviderUnavailable(f"{path}: HTTP {response.status_code}")
            code = body.get("errorCode") or (
                body.get("message") if response.status_code >= 400 else None
            )
            if code:
                message = body.get("description") or body.get("data") or str(code)
                raise ProviderRefused(str(code), str(message)[:480])
            if response.status_code >= 400:
                raise ProviderRefused(f"HTTP_{response.status_code}", response.text[:480])
            return body
        raise ProviderUnavailable(f"{path}: login not accepted")  # pragma: no cover

    # --- the interface -----------------------------------------------------------------

    def issue(self, document: Document) -> Issued:
        return self._create(document, adjustment_type=ORIGINAL)

    def adjust(self, document: Document) -> Issued:
        return self._create(document, adjustment_type=ADJUSTMENT)

    def replace(self, document: Document) -> Issued:
        return self._create(document, adjustment_type=REPLACEMENT)

    def _create(self, document: Document, *, adjustment_type: str) -> Issued:
        payload = self.payload(document, adjustment_type=adjustment_type)
        symbol = payload["generalInvoiceInfo"]["invoiceSeries"]
        try:
            body = self._post(f"/InvoiceAPI/InvoiceWS/createInvoice/{self.tax_code}", json=payload)
        except ProviderRefused as refusal:
            # The key was used already: an earlier attempt issued it (its answer was lost).
            if refusal.code == "TRANSACTION_UUID_INVALID":
                found = self.status(document.transaction_uuid)
                if found is not None:
                    return found
            raise
        result = body.get("result") or body
        number = str(result.get("invoiceNo") or "")
        if not number:
            raise ProviderUnavailable("createInvoice answered without an invoice number")
        return Issued(
            template_code=self.template_code,
            symbol=symbol,
            number=number.removeprefix(symbol),
            transaction_id=str(result.get("transactionID") or ""),
            lookup_code=str(result.get("reservationCode") or ""),
            tax_authority_code=str(result.get("codeOfTax") or ""),
            issued_at=document.issued_at,
        )

    def status(self, transaction_uuid: str) -> Issued | None:
        try:
            body = self._post(
                "/InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid",
                form={"supplierTaxCode": self.tax_code, "transactionUuid": transaction_uuid},
            )
        except ProviderRefused as refusal:
            if refusal.code == NOT_FOUND:
                return None
            raise
        found = body.get("result") or []
        if not found:
            return None
        item = found[0]
        number = str(item.get("invoiceNo") or "")
        symbol = str(item.get("invoiceSeries") or "")
        issued_ms = item.get("issueDate")
        return Issued(
            template_code=str(item.get("templateCode") or self.template_code),
            symbol=symbol,
            number=number.removeprefix(symbol) if symbol else number,
            transaction_id=str(item.get("transactionID") or ""),
            lookup_code=str(item.get("reservationCode") or ""),
            tax_authority_code=str(item.get("codeOfTax") or ""),
            issued_at=datetime.fromtimestamp(issued_ms / 1000, tz=UTC) if issued_ms else None,
        )

    def download(self, issued: Issued, *, transaction_uuid: str, file_type: str) -> bytes:
        body = self._post(
            "/InvoiceAPI/InvoiceUtilsWS/getInvoiceRepresentationFile",
            json={
                "supplierTaxCode": self.tax_code,
                "invoiceNo": f"{issued.symbol}{issued.number}",
                "templateCode": issued.template_code,
                "transactionUuid": transaction_uuid,
                "fileType": "PDF" if file_type == "pdf" else "ZIP",
            },
        )
        data = base64.b64decode(body.get("fileToBytes") or "")
        if file_type == "pdf":
            return data
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if name.endswith(".xml"):
                    return archive.read(name)
        raise ProviderUnavailable("the ZIP holds no XML")

    def cancel(self, original: OriginalReference, *, reason: str) -> None:
        self._post(
            "/InvoiceAPI/InvoiceWS/cancelTransactionInvoice",
            form={
                "supplierTaxCode": self.tax_code,
                "templateCode": original.template_code,
                "invoiceNo": f"{original.symbol}{original.number}",
                "strIssueDate": original.issued_at.strftime("%Y%m%d%H%M%S"),
                "additionalReferenceDesc": reason[:255],
                "additionalReferenceDate": str(_ms(datetime.now(tz=UTC))),
            },
        )

    # --- the request body ----------------------------------------------------------------

    def payload(self, document: Document, *, adjustment_type: str) -> dict[str, Any]:
        general: dict[str, Any] = {
            "invoiceType": settings.VIETTEL_INVOICE_TYPE,
            "templateCode": self.template_code,
            "invoiceSeries": series_symbol(document.issued_at.year),
            "currencyCode": "VND",
            "exchangeRate": 1,
            "adjustmentType": adjustment_type,
            "paymentStatus": document.paid,
            "cusGetInvoiceRight": True,
            "invoiceIssuedDate": _ms(document.issued_at),
            "transactionUuid": document.transaction_uuid,
        }
        if document.original is not None:
            general.update(
                {
                    "originalInvoiceId": f"{document.original.symbol}{document.original.number}",
                    "originalInvoiceIssueDate": _ms(document.original.issued_at),
                    "originalTemplateCode": document.original.template_code,
                    "additionalReferenceDesc": document.reason[:255],
                    "additionalReferenceDate": _ms(document.issued_at),
                }
            )
            if adjustment_type == ADJUSTMENT:
                general["adjustmentInvoiceType"] = MONEY_ADJUSTMENT
        breakdowns: dict[int, dict[str, int]] = {}
        for line in document.lines:
            rate = TAX_PERCENTAGES[line.vat_rate]
            row = breakdowns.setdefault(
                rate, {"taxPercentage": rate, "taxableAmount": 0, "taxAmount": 0}
            )
            sign = -1 if line.decrease else 1
            row["taxableAmount"] += sign * line.amount
            row["taxAmount"] += sign * line.vat_amount
        return {
            "generalInvoiceInfo": general,
            "buyerInfo": {
                "buyerName": document.buyer_name,
                "buyerLegalName": document.buyer_legal_name,
                "buyerTaxCode": document.buyer_tax_code,
                "buyerAddressLine": document.buyer_address,
                "buyerEmail": document.buyer_email,
                "buyerCode": document.buyer_code,
                "buyerNotGetInvoice": 0,
            },
            "payments": [
                {
                    "paymentMethod": PAYMENT_METHODS[document.payment_method],
                    "paymentMethodName": document.payment_method,
                }
            ],
            "itemInfo": [
                _item(index, line, adjustment=adjustment_type == ADJUSTMENT)
                for index, line in enumerate(document.lines, 1)
            ],
            "taxBreakdowns": list(breakdowns.values()),
            "summarizeInfo": {
                "sumOfTotalLineAmountWithoutTax": document.total_before_vat,
                "totalAmountWithoutTax": document.total_before_vat,
                "totalTaxAmount": document.total_vat,
                "totalAmountWithTax": document.total,
                "totalAmountWithTaxInWords": document.total_in_words,
                "discountAmount": 0,
            },
            "metadata": [
                {
                    "keyTag": "invoiceNote",
                    "stringValue": note,
                    "valueType": "text",
                    "keyLabel": "Ghi chú",
                }
                for note in document.notes
            ],
        }


def _item(index: int, line: DocumentLine, *, adjustment: bool) -> dict[str, Any]:
    # On an original, a line that lowers the total is a discount line (selection 3); on an
    # adjustment every line is a goods line that says whether it increases or decreases.
    return {
        "lineNumber": index,
        "selection": 3 if line.decrease and not adjustment else 1,
        "itemCode": line.code,
        "itemName": line.name,
        "unitName": line.unit,
        "quantity": line.quantity,
        "unitPrice": line.unit_price,
        "itemTotalAmountWithoutTax": line.amount,
        "taxPercentage": TAX_PERCENTAGES[line.vat_rate],
        "taxAmount": line.vat_amount,
        "itemTotalAmountWithTax": line.amount + line.vat_amount,
        "isIncreaseItem": not line.decrease,
    }


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
