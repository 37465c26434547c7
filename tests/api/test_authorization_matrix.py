"""Who may call what: every operation of the OpenAPI schema by every kind of caller, against
the table below. A new operation fails this test until its row is written.

A cell is what authentication and permissions answer before the operation runs: ``ok`` (let
through: the operation then answers for itself, e.g. 404 for the made-up ids used here),
``401`` (no or bad credentials) or ``403`` (this caller may not). Callers: ``anon`` (no
credentials), one staff token per role, a ``kiosk`` and the ``his`` (device keys), a
``paylink`` (``Authorization: PayLink <token>`` of an open invoice), a ``revoked`` device key
and an ``expired`` staff token (admin). Object-level checks (another kiosk's receipt, another
cashier's session, another invoice's pay link) are the tests at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from config.identity.models import ApiToken, DeviceKind, Role
from config.identity.services import device_create, device_revoke, staff_create, token_issue
from payments.models import PaymentChannel
from tests.notifications.builders import issued
from tests.payments.builders.desk import at_desk, fresh
from tests.payments.builders.payments import pay_link_client, payable_invoice, vietqr_payment

pytestmark = pytest.mark.django_db

CALLERS = (
    "anon",
    "cashier",
    "supervisor",
    "finance",
    "admin",
    "auditor",
    "kiosk",
    "his",
    "paylink",
    "revoked",
    "expired",
)

MATRIX = """
operation                                                  anon cashier supervisor finance admin auditor kiosk his paylink revoked expired
GET /api/v1/audit/events                                    401     403        403     403    ok      ok   403 403     401     401     401
GET /api/v1/cashier/approvals                               401     403         ok     403    ok     403   403 403     401     401     401
GET /api/v1/cashier/sessions/current                        401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/cashier/sessions/{public_id}                    401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/cashier/sessions/{public_id}/report             401      ok         ok      ok    ok     403   403 403     401     401     401
GET /api/v1/cashier/terminals/{code}/report                 401     403         ok      ok    ok     403   403 403     401     401     401
GET /api/v1/cashier/transfers                               401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/encounters/{id}/payments                        401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/invoices                                        401      ok         ok      ok    ok     403   403 403     401     401     401
GET /api/v1/invoices/{public_id}                            401      ok         ok      ok    ok     403   403 403     401     401     401
GET /api/v1/invoices/{public_id}/payments                   401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/ledger/account-detail                           401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/accounts                                 401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/aged-receivables                         401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/cash-book                                401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/entries                                  401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/export                                   401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/periods/{month}                          401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/ledger/trial-balance                            401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/patients/{id}/payments                          401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/pay/{token}                                      ok      ok         ok      ok    ok      ok    ok  ok      ok      ok      ok
GET /api/v1/payments/{public_id}                            401      ok         ok     403    ok     403    ok 403      ok     401     401
GET /api/v1/payments/{public_id}/qr.{fmt}                   401      ok         ok     403    ok     403    ok 403      ok     401     401
GET /api/v1/payments/{public_id}/receipt                    401      ok         ok      ok    ok     403    ok 403      ok     401     401
GET /api/v1/payments/{public_id}/refunds                    401      ok         ok     403    ok     403   403 403     401     401     401
GET /api/v1/receipts/verify/{code}                           ok      ok         ok      ok    ok      ok    ok  ok      ok      ok      ok
GET /api/v1/receipts/{public_id}                            401      ok         ok      ok    ok     403    ok 403      ok     401     401
GET /api/v1/receipts/{public_id}.pdf                        401      ok         ok      ok    ok     403    ok 403      ok     401     401
GET /api/v1/reconciliation/daily                            401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/reconciliation/items                            401     403        403      ok    ok     403   403 403     401     401     401
GET /api/v1/reconciliation/summary                          401     403        403      ok    ok     403   403 403     401     401     401
GET /healthz                                                 ok      ok         ok      ok    ok      ok    ok  ok      ok      ok      ok
GET /readyz                                                  ok      ok         ok      ok    ok      ok    ok  ok      ok      ok      ok
PATCH /api/v1/patients/{id}                                 401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/auth/token                                      ok      ok         ok      ok    ok      ok    ok  ok      ok      ok      ok
POST /api/v1/auth/token/revoke                              401      ok         ok      ok    ok      ok   401 401     401     401     401
POST /api/v1/cashier/refunds-owed                           401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/safe/deposits                          401     403         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/sessions                               401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/sessions/{public_id}/approve-close     401     403         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/sessions/{public_id}/close             401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/sessions/{public_id}/handover          401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/sessions/{public_id}/handover/accept   401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/transfers                              401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/transfers/{public_id}/cancel           401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/cashier/transfers/{public_id}/confirm          401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/charges/{id}/void                              401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/encounters                                     401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/encounters/{id}/charges                        401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/encounters/{id}/discharge                      401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/encounters/{id}/invoices                       401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/invoices/{public_id}/pay-link                  401      ok         ok     403    ok     403    ok 403     401     401     401
POST /api/v1/invoices/{public_id}/pay-links/revoke          401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/invoices/{public_id}/void                      401     403         ok     403    ok     403   403 403     401     401     401
POST /api/v1/kiosk/lookup                                   401     403        403     403   403     403    ok 403     401     401     401
POST /api/v1/ledger/periods/{month}/close                   401     403        403      ok    ok     403   403 403     401     401     401
POST /api/v1/ledger/periods/{month}/reopen                  401     403        403     403    ok     403   403 403     401     401     401
POST /api/v1/patients                                       401     403        403     403   403     403   403  ok     401     401     401
POST /api/v1/patients/lookup                                401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/payments                                       401      ok         ok     403    ok     403    ok 403      ok     401     401
POST /api/v1/payments/{public_id}/cancel                    401      ok         ok     403    ok     403    ok 403      ok     401     401
POST /api/v1/payments/{public_id}/refunds                   401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/receipts/{public_id}/resend                    401      ok         ok      ok    ok     403    ok 403     401     401     401
POST /api/v1/reconciliation/items/{id}/match                401     403        403      ok    ok     403   403 403     401     401     401
POST /api/v1/reconciliation/items/{id}/write-off            401     403        403      ok    ok     403   403 403     401     401     401
POST /api/v1/reconciliation/statements                      401     403        403      ok    ok     403   403 403     401     401     401
POST /api/v1/refunds/{public_id}/approve                    401     403         ok     403    ok     403   403 403     401     401     401
POST /api/v1/refunds/{public_id}/cancel                     401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/refunds/{public_id}/payout                     401      ok         ok     403    ok     403   403 403     401     401     401
POST /api/v1/refunds/{public_id}/reject                     401     403         ok     403    ok     403   403 403     401     401     401
"""


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def _expected() -> dict[tuple[str, str], dict[str, str]]:
    table: dict[tuple[str, str], dict[str, str]] = {}
    for line in MATRIX.strip().splitlines()[1:]:
        method, path, *cells = line.split()
        table[(method, path)] = dict(zip(CALLERS, cells, strict=True))
    return table


_PATH_VALUES = {"fmt": "png"}
SIGN_OUT = ("POST", "/api/v1/auth/token/revoke")


def _url(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: _PATH_VALUES.get(m.group(1), "999999"), path)


def _clients(staff_client: Callable[..., APIClient]) -> dict[str, APIClient]:
    clients = {"anon": APIClient()}
    for role in ("cashier", "supervisor", "finance", "admin", "auditor"):
        clients[role] = staff_client(role)
    for kind in (DeviceKind.KIOSK, DeviceKind.HIS):
        _, key = device_create(kind=kind, name=f"matrix-{kind}")
        clients[kind] = APIClient()
        clients[kind].credentials(HTTP_AUTHORIZATION=f"Device {key}")
    clients["paylink"] = pay_link_client(payable_invoice())
    device, key = device_create(kind=DeviceKind.KIOSK, name="matrix-revoked")
    device_revoke(device=device)
    clients["revoked"] = APIClient()
    clients["revoked"].credentials(HTTP_AUTHORIZATION=f"Device {key}")
    _, password = staff_create(username="matrix-expired", role=Role.ADMIN)
    token, key = token_issue(username="matrix-expired", password=password)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    clients["expired"] = APIClient()
    clients["expired"].credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return clients


def _outcome(client: APIClient, method: str, path: str) -> str:
    call = getattr(client, method.lower())
    kwargs: dict[str, Any] = {"headers": {"Idempotency-Key": f"matrix-{method}-{path}"}}
    if method != "GET":
        kwargs |= {"data": {}, "format": "json"}
    status = call(_url(path), **kwargs).status_code
    return str(status) if status in (401, 403) else "ok"


def test_every_operation_answers_every_caller_as_the_table_says(
    staff_client: Callable[..., APIClient],
) -> None:
    clients = _clients(staff_client)
    expected = _expected()
    operations = _operations()

    # Signing out revokes the caller's token: asked last, after every other operation.
    asked = sorted(operations, key=lambda operation: operation == SIGN_OUT)
    actual = {
        operation: {caller: _outcome(clients[caller], *operation) for caller in CALLERS}
        for operation in asked
    }

    width = max(len(f"{m} {p}") for m, p in operations)
    rows = [f"{'operation'.ljust(width)} " + " ".join(c.rjust(7) for c in CALLERS)]
    rows += [
        f"{f'{m} {p}'.ljust(width)} " + " ".join(actual[(m, p)][c].rjust(7) for c in CALLERS)
        for m, p in operations
    ]
    table = "\n".join(rows)
    assert set(expected) == set(operations), f"the table's operations differ:\n{table}"
    assert actual == expected, f"actual outcomes:\n{table}"


# --- Object-level: the role may call the operation, but not on this object ---------------


def test_a_kiosk_reads_its_own_receipts_not_another_kiosks(
    device_client: Callable[..., tuple[APIClient, Any]],
) -> None:
    own, kiosk = device_client(DeviceKind.KIOSK)
    other, _ = device_client(DeviceKind.KIOSK)
    receipt = issued(channel=PaymentChannel.KIOSK, device=kiosk)

    assert own.get(f"/api/v1/receipts/{receipt.public_id}").status_code == 200
    assert other.get(f"/api/v1/receipts/{receipt.public_id}").status_code == 404
    assert other.get(f"/api/v1/receipts/{receipt.public_id}.pdf").status_code == 404
    resend = other.post(
        f"/api/v1/receipts/{receipt.public_id}/resend",
        {"channel": "sms"},
        format="json",
        headers={"Idempotency-Key": "matrix-other-kiosk"},
    )
    assert resend.status_code == 404


def test_a_cashier_acts_on_their_own_session_not_a_colleagues(
    staff_client: Callable[..., APIClient],
) -> None:
    owner, session = at_desk(staff_client)
    colleague = staff_client(Role.CASHIER)
    url = f"/api/v1/cashier/sessions/{session.public_id}"

    assert owner.get(url).status_code == 200
    assert colleague.get(url).status_code in (403, 404)
    closing = colleague.post(
        f"{url}/close", {"count": {}}, format="json", headers={"Idempotency-Key": "matrix-close"}
    )
    assert closing.status_code in (403, 404)
    assert fresh(session).closed_at is None


def test_a_pay_link_reads_and_pays_its_own_invoice_only() -> None:
    mine, another = payable_invoice(), payable_invoice()
    theirs = vietqr_payment(amount=100_000, invoice=another)
    phone = pay_link_client(mine)

    assert phone.get(f"/api/v1/payments/{theirs.public_id}").status_code == 404
    assert phone.get(f"/api/v1/payments/{theirs.public_id}/receipt").status_code == 404
    cancel = phone.post(
        f"/api/v1/payments/{theirs.public_id}/cancel",
        {},
        format="json",
        headers={"Idempotency-Key": "matrix-cancel"},
    )
    assert cancel.status_code == 404
    paying_another = phone.post(
        "/api/v1/payments",
        {"invoice_id": another.public_id, "amount": 100_000, "method": "vietqr"},
        format="json",
        headers={"Idempotency-Key": "matrix-pay-another"},
    )
    assert paying_another.status_code in (403, 404)
