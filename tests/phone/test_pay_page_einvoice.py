"""Once the invoice's e-invoice is issued, the pay page says where to look it up: the
provider, form / symbol / number, the lookup code (with a copy button), the tax authority's
code when it arrives, a link to the provider's look-up page; in both languages. Before that,
the page says it is coming and keeps polling. Viettel S-Invoice is the local fake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from billing.models import EInvoice, EInvoiceKind
from billing.services.einvoices import einvoice_codes_poll, einvoices_send
from notifications.services.receipts import receipt_issue_for_payment
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer
from tests.notifications.builders import paid
from tests.phone.builders import clinic_bill, pay_path

pytestmark = pytest.mark.django_db


def test_the_paid_page_shows_where_to_look_the_einvoice_up_once_it_is_issued(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = clinic_bill()
    path = pay_path(invoice)
    receipt_issue_for_payment(payment_id=paid(invoice=invoice).pk)
    client = Client()

    coming = client.get(path).content.decode()
    assert 'id="einvoice-waiting"' in coming
    assert 'id="einvoice"' not in coming
    assert json.loads(client.get(f"{path}/status").content)["final"] is False  # keeps asking

    einvoices_send()
    einvoice = EInvoice.objects.get(invoice=invoice, kind=EInvoiceKind.ORIGINAL)
    status = json.loads(client.get(f"{path}/status").content)
    html = status["html"]
    assert "Hóa đơn điện tử" in html
    assert "Viettel S-Invoice" in html
    assert f"2 / {einvoice.symbol} / {einvoice.number}" in html
    assert f'id="einvoice-lookup-code">{einvoice.lookup_code}<' in html
    assert f'data-copy="{einvoice.lookup_code}"' in html
    assert f'href="{settings.EINVOICE_LOOKUP_URL}"' in html
    assert "Mã của cơ quan thuế" not in html  # not yet
    assert status["final"] is False  # the tax authority's code is still to come

    (code,) = fake_sinvoice.assign_tax_codes()
    assert einvoice_codes_poll() == 1
    status = json.loads(client.get(f"{path}/status").content)
    assert f'id="einvoice-tax-code">{code}<' in status["html"]
    assert status["final"] is True

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(path).content.decode()
    assert "<h3>E-invoice</h3>" in english
    assert "Lookup code" in english
    assert "Look up the e-invoice at the provider" in english


def test_without_an_einvoice_provider_the_paid_page_says_nothing_of_it(settings: Any) -> None:
    settings.EINVOICE_PROVIDER = ""
    invoice = clinic_bill()
    path = pay_path(invoice)
    receipt_issue_for_payment(payment_id=paid(invoice=invoice).pk)

    html = Client().get(path).content.decode()

    assert "Đã thanh toán" in html
    assert "einvoice" not in html
    assert json.loads(Client().get(f"{path}/status").content)["final"] is True
