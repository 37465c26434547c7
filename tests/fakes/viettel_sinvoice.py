"""A fake Viettel S-Invoice: a real HTTP server speaking the partner web service's requests,
answers and errors as billing.einvoicing.viettel documents them.

* ``POST /auth/login`` JSON ``username``/``password`` → ``access_token`` (a wrong pair: 401
  ``{"code": 401, "message": "UNAUTHORIZED"}``). Every other call needs the cookie
  ``access_token``; an unknown or expired one (``expire_tokens()``) gets Viettel's answer
  to an expired token, HTTP 500 ``{"message": "GENERAL"}``.
* ``POST /InvoiceAPI/InvoiceWS/createInvoice/{taxCode}`` JSON: numbers the invoice per
  series (``invoiceNo`` = series + number), a ``reservationCode`` and a ``transactionID``;
  refusals as Viettel gives them, HTTP 200 with ``errorCode``/``description``:
  ``TRANSACTION_UUID_INVALID`` (the key was used), ``BUYER_TAX_CODE_INVALID`` (a buyer tax
  code that is not 10 digits or 10-3 digits; the code name is the fake's, Viettel's own is
  (check)), ``SUPPLIER_TAX_CODE_INVALID``, ``SUM_AMOUNT_INVALID`` (totals that do not add
  up), ``ORIGINAL_INVOICE_NOT_FOUND`` (a correction of an unknown invoice),
  ``ADJUSTMENT_AMOUNT_INVALID`` (money adjustments taking an invoice below zero: the fake's
  guard and name, Viettel's own check is (check)); and HTTP 400
  ``{"code": 400, "message": "INVOICE_SERIAL_NOT_FOUND", "data": ...}`` for a series that
  is not registered.
* ``POST /InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid`` (form): the invoice, with
  ``codeOfTax`` once the tax authority "answered" (``assign_tax_codes()``: asynchronous, as
  the real one), or HTTP 200 ``errorCode: NOT_FOUND_DATA``.
* ``POST /InvoiceAPI/InvoiceUtilsWS/getInvoiceRepresentationFile`` JSON: a small PDF or a ZIP
  holding the XML, base64 in ``fileToBytes``.
* ``POST /InvoiceAPI/InvoiceWS/cancelTransactionInvoice`` (form): marks it cancelled.

Test hooks: ``down()``/``up()`` (the server closes every connection without answering:
unreachable), ``fail_next(times, status=503)``, ``crash_after_create(times)`` (the invoice
is created, the answer lost), ``created`` (every invoice in the order it was created),
``create_calls``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.json_http import JsonHandler, LoopbackServer

USERNAME = "0100109106-997"
PASSWORD = "fake-sinvoice-password"
TAX_CODE = "0100109106"
SERIES = {"C26TBV", "C27TBV", "C25TBV"}
_TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


@dataclass
class FakeInvoice:
    transaction_uuid: str
    invoice_no: str
    series: str
    template_code: str
    adjustment_type: str
    original_invoice_id: str
    reservation_code: str
    transaction_id: str
    issue_date: int
    payload: dict[str, Any]
    code_of_tax: str = ""
    cancelled: bool = False


@dataclass
class FakeSInvoiceState:
    tokens: set[str] = field(default_factory=set)
    invoices: dict[str, FakeInvoice] = field(default_factory=dict)  # by transactionUuid
    created: list[FakeInvoice] = field(default_factory=list)
    next_number: dict[str, int] = field(default_factory=dict)
    create_calls: int = 0
    is_down: bool = False
    failures: list[int] = field(default_factory=list)
    crashes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Dropped(Exception):
    pass


class _Handler(JsonHandler):
    def do_POST(self) -> None:
        state: FakeSInvoiceState = self.state()
        body = self.body()
        with state.lock:
            if state.is_down:
                self.close_connection = True
                self.connection.close()
                return
            if state.failures:
                self.answer_json(state.failures.pop(0), {"message": "Service Unavailable"})
                return
            try:
                status, answer = self._route(state, body)
            except _Dropped:
                self.close_connection = True
                self.connection.close()
                return
        self.answer_json(status, answer)

    def _route(self, state: FakeSInvoiceState, body: bytes) -> tuple[int, Any]:
        if self.path == "/auth/login":
            data = json.loads(body or b"{}")
            if (data.get("username"), data.get("password")) != (USERNAME, PASSWORD):
                return 401, {"code": 401, "message": "UNAUTHORIZED", "data": "Bad credentials"}
            token = secrets.token_hex(16)
            state.tokens.add(token)
            return 200, {"access_token": token, "token_type": "bearer", "expires_in": 1199}
        cookie = self.headers.get("Cookie", "")
        token = cookie.partition("access_token=")[2].split(";")[0]
        if token not in state.tokens:
            return 500, {"message": "GENERAL"}
        if self.path.startswith("/InvoiceAPI/InvoiceWS/createInvoice/"):
            return self._create(state, self.path.rsplit("/", 1)[1], json.loads(body))
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.path == "/InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid":
            return self._search(state, form)
        if self.path == "/InvoiceAPI/InvoiceUtilsWS/getInvoiceRepresentationFile":
            return self._file(state, json.loads(body))
        if self.path == "/InvoiceAPI/InvoiceWS/cancelTransactionInvoice":
            return self._cancel(state, form)
        return 404, {"code": 404, "message": "NOT_FOUND", "data": self.path}

    def _create(self, state: FakeSInvoiceState, tax_code: str, data: dict) -> tuple[int, Any]:
        state.create_calls += 1
        general, buyer = data["generalInvoiceInfo"], data["buyerInfo"]
        refuse = _refusal(state, tax_code, general, buyer, data)
        if refuse is not None:
            return refuse
        series = general["invoiceSeries"]
        number = state.next_number.get(series, 0) + 1
        state.next_number[series] = number
        invoice = FakeInvoice(
            transaction_uuid=general["transactionUuid"],
            invoice_no=f"{series}{number}",
            series=series,
            template_code=general["templateCode"],
            adjustment_type=general["adjustmentType"],
            original_invoice_id=general.get("originalInvoiceId", ""),
            reservation_code=secrets.token_hex(5).upper(),
            transaction_id=secrets.token_hex(8),
            issue_date=general["invoiceIssuedDate"],
            payload=data,
        )
        state.invoices[invoice.transaction_uuid] = invoice
        state.created.append(invoice)
        if state.crashes:
            state.crashes -= 1
            raise _Dropped()
        return 200, {
            "errorCode": None,
            "description": None,
            "result": {
                "supplierTaxCode": tax_code,
                "invoiceNo": invoice.invoice_no,
                "transactionID": invoice.transaction_id,
                "reservationCode": invoice.reservation_code,
            },
        }

    def _search(self, state: FakeSInvoiceState, form: dict[str, str]) -> tuple[int, Any]:
        invoice = state.invoices.get(form.get("transactionUuid", ""))
        if invoice is None or form.get("supplierTaxCode") != TAX_CODE:
            return 200, {"errorCode": "NOT_FOUND_DATA", "description": "Không tìm thấy dữ liệu"}
        return 200, {
            "errorCode": None,
            "description": None,
            "result": [
                {
                    "supplierTaxCode": TAX_CODE,
                    "invoiceNo": invoice.invoice_no,
                    "invoiceSeries": invoice.series,
                    "templateCode": invoice.template_code,
                    "transactionUuid": invoice.transaction_uuid,
                    "transactionID": invoice.transaction_id,
                    "reservationCode": invoice.reservation_code,
                    "issueDate": invoice.issue_date,
                    "codeOfTax": invoice.code_of_tax,
                    "status": "Đã hủy" if invoice.cancelled else "Đã phát hành",
                }
            ],
        }

    def _file(self, state: FakeSInvoiceState, data: dict[str, Any]) -> tuple[int, Any]:
        found = [i for i in state.invoices.values() if i.invoice_no == data.get("invoiceNo")]
        if not found:
            return 200, {"errorCode": "NOT_FOUND_DATA", "description": "Không tìm thấy hóa đơn"}
        invoice = found[0]
        if data.get("fileType") == "PDF":
            content = b"%PDF-1.4\n% fake S-Invoice " + invoice.invoice_no.encode() + b"\n%%EOF\n"
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                xml = (
                    f"<HDon><SHDon>{invoice.invoice_no}</SHDon>"
                    f"<MCCQT>{invoice.code_of_tax}</MCCQT></HDon>"
                )
                archive.writestr(f"{invoice.invoice_no}.xml", xml)
            content = buffer.getvalue()
        return 200, {
            "errorCode": None,
            "description": None,
            "fileName": invoice.invoice_no,
            "fileToBytes": base64.b64encode(content).decode(),
        }

    def _cancel(self, state: FakeSInvoiceState, form: dict[str, str]) -> tuple[int, Any]:
        found = [i for i in state.invoices.values() if i.invoice_no == form.get("invoiceNo")]
        if not found:
            return 200, {"errorCode": "INVOICE_NOT_FOUND", "description": "Hóa đơn không tồn tại"}
        found[0].cancelled = True
        return 200, {"errorCode": None, "description": None}


def _refusal(
    state: FakeSInvoiceState, tax_code: str, general: dict, buyer: dict, data: dict
) -> tuple[int, Any] | None:
    if tax_code != TAX_CODE:
        return 200, {
            "errorCode": "SUPPLIER_TAX_CODE_INVALID",
            "description": "MST người bán không đúng",
        }
    if general["invoiceSeries"] not in SERIES:
        return 400, {
            "code": 400,
            "message": "INVOICE_SERIAL_NOT_FOUND",
            "data": "Ký hiệu hóa đơn không tồn tại",
        }
    if general["transactionUuid"] in state.invoices:
        return 200, {
            "errorCode": "TRANSACTION_UUID_INVALID",
            "description": "transactionUuid đã được sử dụng",
        }
    if buyer.get("buyerTaxCode") and not _TAX_CODE.match(buyer["buyerTaxCode"]):
        return 200, {
            "errorCode": "BUYER_TAX_CODE_INVALID",
            "description": f"Mã số thuế người mua {buyer['buyerTaxCode']} không hợp lệ",
        }
    if general["adjustmentType"] != "1":
        originals = {i.invoice_no for i in state.invoices.values()}
        if general.get("originalInvoiceId") not in originals:
            return 200, {
                "errorCode": "ORIGINAL_INVOICE_NOT_FOUND",
                "description": "Không tìm thấy hóa đơn gốc",
            }
    items, summary = data["itemInfo"], data["summarizeInfo"]
    signed = sum(
        (1 if item["isIncreaseItem"] else -1)
        * (item["itemTotalAmountWithoutTax"] + item["taxAmount"])
        for item in items
    )
    if signed != summary["totalAmountWithTax"]:
        return 200, {"errorCode": "SUM_AMOUNT_INVALID", "description": "Tổng tiền không khớp"}
    if general["adjustmentType"] == "5" and general.get("adjustmentInvoiceType") == "1":
        stated = _stated_total(state, general["originalInvoiceId"])
        if stated + signed < 0:
            return 200, {
                "errorCode": "ADJUSTMENT_AMOUNT_INVALID",
                "description": f"Số tiền điều chỉnh giảm vượt giá trị hóa đơn gốc ({stated})",
            }
    return None


def _stated_total(state: FakeSInvoiceState, invoice_no: str) -> int:
    """What an invoice states now: its total and those of the money adjustments made to it."""
    return sum(
        i.payload["summarizeInfo"]["totalAmountWithTax"]
        for i in state.invoices.values()
        if i.invoice_no == invoice_no
        or (i.adjustment_type == "5" and i.original_invoice_id == invoice_no)
    )


class FakeSInvoiceServer:
    def __init__(self) -> None:
        self.state = FakeSInvoiceState()
        self._server = LoopbackServer(_Handler, self.state)

    @property
    def url(self) -> str:
        return self._server.base_url

    def settings(self) -> dict[str, str]:
        """The settings (or environment) that point billing at this server."""
        return {
            "EINVOICE_PROVIDER": "viettel",
            "VIETTEL_SINVOICE_BASE_URL": self.url,
            "VIETTEL_SINVOICE_AUTH_URL": f"{self.url}/auth/login",
            "VIETTEL_SINVOICE_USERNAME": USERNAME,
            "VIETTEL_SINVOICE_PASSWORD": PASSWORD,
            "VIETTEL_SUPPLIER_TAX_CODE": TAX_CODE,
            "VIETTEL_INVOICE_SERIES": "C{yy}TBV",
        }

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def down(self) -> None:
        with self.state.lock:
            self.state.is_down = True

    def up(self) -> None:
        with self.state.lock:
            self.state.is_down = False

    def fail_next(self, times: int = 1, status: int = 503) -> None:
        with self.state.lock:
            self.state.failures.extend([status] * times)

    def crash_after_create(self, times: int = 1) -> None:
        with self.state.lock:
            self.state.crashes += times

    def expire_tokens(self) -> None:
        with self.state.lock:
            self.state.tokens.clear()

    def assign_tax_codes(self) -> list[str]:
        """The tax authority answers: every invoice without its code gets one."""
        with self.state.lock:
            for invoice in self.state.invoices.values():
                if not invoice.code_of_tax:
                    invoice.code_of_tax = "M1-26-" + secrets.token_hex(6).upper()
            return [invoice.code_of_tax for invoice in self.state.created]

    @property
    def created(self) -> list[FakeInvoice]:
        with self.state.lock:
            return list(self.state.created)

    @property
    def create_calls(self) -> int:
        return self.state.create_calls
