"""Pay links as the bearer credentials they are: a kiosk makes one only for a patient it just
looked up (and its answers reveal nothing about other invoices), a cashier revokes them, a
paid or voided invoice's links are revoked on their own, and no token reaches a log (Django's
request logging, gunicorn's access log)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import LookupAudit
from billing.models.invoices import new_invoice_id
from billing.services.invoices import invoice_void
from config.identity.models import DeviceKind, Role
from payments.models import PayLink, PayLinkRevokeReason
from payments.paylinks import pay_link_token
from tests.assertions import assert_error
from tests.payments.builders.desk import paid_in_cash
from tests.payments.builders.payments import (
    kiosk_looked_up,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
)
from tests.servers import free_port, wait_until_answering

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parents[2]


def make_link(client: APIClient, invoice_id: str) -> Any:
    return client.post(f"/api/v1/invoices/{invoice_id}/pay-link")


def show(token: str) -> Any:
    return APIClient().get(f"/api/v1/pay/{token}")


# ---- kiosks act only on what their lookup returned ------------------------------------------


def test_a_kiosk_makes_a_pay_link_only_for_a_patient_it_looked_up_minutes_ago(device_client):
    kiosk, device = device_client(DeviceKind.KIOSK)
    other_kiosk, _ = device_client(DeviceKind.KIOSK)
    invoice = payable_invoice(350_000)

    assert_error(make_link(kiosk, invoice.public_id), 404, "not_found", "id")
    kiosk_looked_up(kiosk, invoice)
    assert make_link(kiosk, invoice.public_id).status_code == 201
    assert_error(make_link(other_kiosk, invoice.public_id), 404, "not_found", "id")
    # The lookup counts for KIOSK_PAY_LINK_LOOKUP_MINUTES only.
    stale = timezone.now() - timedelta(minutes=settings.KIOSK_PAY_LINK_LOOKUP_MINUTES + 1)
    LookupAudit.objects.filter(device=device).update(at=stale)
    assert_error(make_link(kiosk, invoice.public_id), 404, "not_found", "id")
    assert PayLink.objects.filter(invoice=invoice).count() == 1


def test_a_kiosks_answers_do_not_reveal_which_invoices_exist_or_are_paid(device_client):
    kiosk, _ = device_client(DeviceKind.KIOSK)
    open_invoice, paid = payable_invoice(), payable_invoice(200_000)
    paid_in_cash(amount=200_000, invoice=paid)

    unknown = new_invoice_id()
    answers = [make_link(kiosk, i) for i in (open_invoice.public_id, paid.public_id, unknown)]

    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1  # the same body, whatever the invoice


# ---- a cashier revokes ----------------------------------------------------------------------


def test_a_cashier_revokes_an_invoices_pay_links(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = payable_invoice()
    first = make_link(cashier, invoice.public_id).json()
    second = make_link(cashier, invoice.public_id).json()
    assert show(first["token"]).status_code == 200

    one = cashier.post(
        f"/api/v1/invoices/{invoice.public_id}/pay-links/revoke", {"id": first["id"]}, format="json"
    )
    assert one.json() == {"revoked": 1}
    refused = assert_error(show(first["token"]), 404, "pay_link_invalid")
    assert refused["detail"] == {"reason": "revoked", "because": "by_staff"}
    assert show(second["token"]).status_code == 200

    every = cashier.post(f"/api/v1/invoices/{invoice.public_id}/pay-links/revoke")
    assert every.json() == {"revoked": 1}
    assert_error(show(second["token"]), 404, "pay_link_invalid")
    phone = APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"PayLink {second['token']}")
    assert_error(pay(phone, invoice=invoice, amount=1_000), 401, "authentication_failed")
    link = PayLink.objects.get(public_id=first["id"])
    assert (link.revoked_reason, link.revoked_by is not None) == (
        PayLinkRevokeReason.BY_STAFF,
        True,
    )
    assert_error(
        staff_client(Role.FINANCE).post(f"/api/v1/invoices/{invoice.public_id}/pay-links/revoke"),
        403,
        "permission_denied",
    )


# ---- revoked on their own ---------------------------------------------------------------------


def test_a_paid_invoices_links_are_revoked_and_only_read_a_while_after(settings):
    invoice = payable_invoice(200_000)
    token = pay_link_token(invoice=invoice)

    paid_in_cash(amount=200_000, invoice=invoice)

    link = PayLink.objects.get(invoice=invoice)
    assert link.revoked_reason == PayLinkRevokeReason.INVOICE_PAID
    # The phone still shows the bill and its receipts for a while, but pays nothing more.
    assert show(token).status_code == 200
    phone = APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"PayLink {token}")
    assert_error(pay(phone, invoice=invoice, amount=1_000), 401, "authentication_failed")
    PayLink.objects.filter(pk=link.pk).update(
        revoked_at=timezone.now() - timedelta(minutes=settings.PAY_LINK_READ_AFTER_PAID_MINUTES)
    )
    assert_error(show(token), 404, "pay_link_invalid")


def test_a_voided_invoices_links_are_revoked_at_once():
    invoice = payable_invoice()
    token = pay_link_token(invoice=invoice)

    invoice_void(invoice=invoice, voided_by=None, reason="entered twice")

    assert PayLink.objects.get(invoice=invoice).revoked_reason == PayLinkRevokeReason.INVOICE_VOID
    assert_error(show(token), 404, "pay_link_invalid")


def test_a_pay_link_holder_reads_its_invoices_payments_but_cancels_only_its_own(device_client):
    invoice = payable_invoice()
    kiosk, _ = device_client(DeviceKind.KIOSK)
    at_kiosk = pay(kiosk, invoice=invoice, amount=1_000).json()
    phone = pay_link_client(invoice)

    assert phone.get(f"/api/v1/payments/{at_kiosk['id']}").status_code == 200
    refused = phone.post(
        f"/api/v1/payments/{at_kiosk['id']}/cancel", headers={"Idempotency-Key": new_key()}
    )
    assert_error(refused, 403, "payment_cancel_not_allowed")


# ---- never in a log -------------------------------------------------------------------------


def test_django_request_logging_never_shows_a_token(caplog):
    invoice = payable_invoice()
    token = pay_link_token(invoice=invoice)
    PayLink.objects.update(expires_at=timezone.now() - timedelta(hours=1))

    with caplog.at_level(logging.INFO):
        assert show(token).status_code == 404  # "Not Found: /api/v1/pay/<token>"
        logging.getLogger("payments").warning("link %s opened", token)

    assert token not in caplog.text
    assert "Not Found: /api/v1/pay/[redacted]" in caplog.text
    assert "link [redacted] opened" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_gunicorns_access_log_and_djangos_warnings_never_show_a_token(tmp_path: Path):
    """gunicorn as production runs it (``gunicorn.conf.py`` from the repository's root): the
    path, the query, the referrer and the Authorization header never print a token, nor do
    Django's own warnings ("Not Found: …")."""
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    }
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(  # noqa: S603
        [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    secret = "plk_" + "S3cr3t" * 7
    try:
        wait_until_answering(f"{base}/api/v1/healthz", server)
        referrer = {"Referer": f"{base}/p/{secret}"}
        for path in (f"/api/v1/pay/{secret}", f"/p/{secret}", f"/p/{secret}/status?t={secret}"):
            requests.get(f"{base}{path}", headers=referrer, timeout=10)
        requests.get(
            f"{base}/api/v1/payments/pay_0",
            headers={"Authorization": f"PayLink {secret}"},
            timeout=10,
        )
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)

    assert '"path": "/api/v1/pay/[redacted]"' in output, output
    assert '"path": "/p/[redacted]"' in output
    assert "S3cr3t" not in output
