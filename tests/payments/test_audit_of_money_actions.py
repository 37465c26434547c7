"""The audit trail records the money, approval and personal-data operations over the API
once each — who, terminal, target, address, request id, outcome — refusals included,
replays not twice; and the day's chain stays intact.

The money services write their row inside the money change's own transaction: under
concurrent money actions the chain stays intact with one row per action, and a process that
dies right after the service's commit (before the answer, before any middleware) has lost
neither the change nor its row, while one that dies before the commit leaves neither."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import models, transaction
from django.db.models.signals import post_save
from rest_framework.test import APIClient

from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.audit.selectors import audit_chain_verify
from config.identity.models import DeviceKind, Role
from payments.models import CashierSession, Payment, Refund
from tests.concurrency import run_at_once
from tests.payments.builders.desk import at_desk, open_session, pay_cash, terminal_new
from tests.payments.builders.payments import (
    kiosk_looked_up,
    new_key,
    paid_by_transfer,
    payable_invoice,
)
from tests.payments.builders.refunds import request_refund


def _rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.mark.django_db
def test_a_cash_payment_is_recorded_once_with_cashier_terminal_and_amount(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier, session = at_desk(staff_client, count={"500000": 2})
    invoice = payable_invoice(120_000)
    key = new_key("cash")

    first = cashier.post(
        "/api/v1/payments",
        {"invoice_id": invoice.public_id, "amount": 120_000, "tendered": 200_000, "method": "cash"},
        format="json",
        headers={"Idempotency-Key": key, "X-Request-ID": "req-cash-1"},
    )
    replay = cashier.post(
        "/api/v1/payments",
        {"invoice_id": invoice.public_id, "amount": 120_000, "tendered": 200_000, "method": "cash"},
        format="json",
        headers={"Idempotency-Key": key},
    )

    assert first.status_code == 201, first.content
    assert replay["Idempotent-Replayed"] == "true"
    (row,) = _rows("payment.create")
    payment = Payment.objects.get(public_id=first.json()["id"])
    assert row.category == AuditCategory.MONEY
    assert row.outcome == AuditOutcome.SUCCESS
    assert row.actor_kind == ActorKind.STAFF
    assert row.actor_label.startswith("cashier-")
    assert (row.target_type, row.target_id) == ("payments.payment", str(payment.pk))
    assert row.detail["amount"] == 120_000
    assert (row.detail["method"], row.detail["status"]) == ("cash", "succeeded")
    assert row.request_id == "req-cash-1"
    assert row.client_address == "127.0.0.1"
    session = CashierSession.objects.get(pk=session.pk)
    assert row.terminal == session.terminal.code
    (opened,) = _rows("cashier_session.open")
    assert (opened.target_id, opened.terminal) == (str(session.pk), session.terminal.code)
    assert opened.detail["opening_float"] == 1_000_000


@pytest.mark.django_db
def test_a_refused_payment_is_recorded_as_refused_with_its_error_code(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier, _ = at_desk(staff_client)

    refused = pay_cash(cashier, amount=120_000, tendered=100_000, invoice=payable_invoice(120_000))

    assert refused.status_code == 400
    (row,) = _rows("payment.create")
    assert row.outcome == AuditOutcome.REFUSED
    assert row.detail["error_code"] == refused.json()["error"]["code"]
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_refund_approvals_are_recorded_and_a_self_approval_as_refused(
    staff_client: Callable[..., APIClient], settings
) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 500_000
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))
    requester = staff_client(Role.SUPERVISOR)
    approver = staff_client(Role.SUPERVISOR)
    refund = request_refund(requester, payment, amount=600_000).json()

    own = requester.post(f"/api/v1/refunds/{refund['id']}/approve")
    approved = approver.post(f"/api/v1/refunds/{refund['id']}/approve")

    assert (own.status_code, approved.status_code) == (403, 200)
    rows = _rows("refund.approve")
    assert [(r.outcome, r.category) for r in rows] == [
        (AuditOutcome.REFUSED, AuditCategory.APPROVAL),
        (AuditOutcome.SUCCESS, AuditCategory.APPROVAL),
    ]
    assert rows[0].detail["error_code"] == "approval_by_requester"
    # The refusal names the refund the URL named; the service's row, the refund itself.
    pk = str(Refund.objects.get(public_id=refund["id"]).pk)
    assert [r.target_id for r in rows] == [refund["id"], pk]
    assert rows[0].actor_label != rows[1].actor_label
    assert [r.outcome for r in _rows("refund.request")] == [AuditOutcome.SUCCESS]


@pytest.mark.django_db
def test_a_kiosk_lookup_is_a_personal_data_read_by_the_device(
    device_client: Callable[..., tuple[APIClient, object]],
) -> None:
    kiosk, device = device_client(DeviceKind.KIOSK)
    invoice = payable_invoice(50_000)

    kiosk.post(
        "/api/v1/kiosk/lookup", {"patient_code": invoice.encounter.patient.code}, format="json"
    )
    kiosk.post("/api/v1/kiosk/lookup", {"patient_code": "NO-SUCH"}, format="json")

    rows = _rows("patient.lookup")
    assert [(r.outcome, r.actor_kind, r.actor_label) for r in rows] == [
        (AuditOutcome.SUCCESS, ActorKind.DEVICE, device.name),  # type: ignore[attr-defined]
        (AuditOutcome.REFUSED, ActorKind.DEVICE, device.name),  # type: ignore[attr-defined]
    ]
    assert rows[0].category == AuditCategory.PERSONAL_DATA
    assert invoice.encounter.patient.code not in str([r.detail for r in rows])
    assert all(verdict.intact for verdict in audit_chain_verify())


@pytest.mark.django_db(transaction=True)
def test_concurrent_money_actions_keep_the_chain_intact_with_one_row_each(
    staff_client: Callable[..., APIClient],
    device_client: Callable[..., tuple[APIClient, object]],
) -> None:
    desks = [at_desk(staff_client)[0] for _ in range(2)]
    kiosk, _ = device_client(DeviceKind.KIOSK)
    invoices = [payable_invoice(120_000) for _ in range(8)]
    shared = payable_invoice(100_000)
    for invoice in invoices[6:8]:  # a kiosk pays only for a patient it looked up
        kiosk_looked_up(kiosk, invoice)
    before = AuditEvent.objects.count()

    def work(index: int) -> Any:
        if index < 6:  # cash at two desks at once
            return pay_cash(
                desks[index % 2], amount=120_000, tendered=120_000, invoice=invoices[index]
            )
        if index < 8:  # VietQR at the kiosk
            return kiosk.post(
                "/api/v1/payments",
                {"invoice_id": invoices[index].public_id, "amount": 120_000, "method": "vietqr"},
                format="json",
                headers={"Idempotency-Key": new_key("qr")},
            )
        # Both desks take cash for one bill: one wins, the other is refused.
        return pay_cash(desks[index % 2], amount=100_000, tendered=100_000, invoice=shared)

    answers = run_at_once(10, work)

    assert sorted(a.status_code for a in answers) == [201] * 9 + [409], answers
    payments = set(Payment.objects.values_list("pk", flat=True))
    rows = _rows("payment.create")
    succeeded = [r for r in rows if r.outcome == AuditOutcome.SUCCESS]
    assert sorted(int(r.target_id) for r in succeeded) == sorted(payments)
    (refused,) = [r for r in rows if r.outcome == AuditOutcome.REFUSED]
    assert refused.detail["error_code"] == "invoice_not_payable"
    # Ten actions, ten rows, and the day's chain has no gap or fork.
    assert AuditEvent.objects.count() - before == 10
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    verdicts = audit_chain_verify()
    assert verdicts
    assert all(v.intact for v in verdicts), verdicts


class ProcessDied(SystemExit):
    """What gunicorn raises in a worker it aborts (timeout, ``SIGABRT``): a ``BaseException``
    that no middleware handles, so nothing after the point of death runs."""


@pytest.fixture
def death() -> Iterator[Callable[[type[models.Model], str], None]]:
    """``death(Model, "before_commit" | "after_commit")``: the process dies when the request
    creates a ``Model`` row — inside the service's transaction, or right after its commit
    (through the model's public ``post_save`` signal and ``on_commit``)."""
    connected: list[Any] = []

    def arm(model: type[models.Model], when: str) -> None:
        def die() -> None:
            raise ProcessDied(1)

        def receiver(sender: Any, created: bool, **kwargs: Any) -> None:
            if not created:
                return
            if when == "before_commit":
                die()
            transaction.on_commit(die)

        post_save.connect(receiver, sender=model, weak=False)
        connected.append((receiver, model))

    yield arm
    for receiver, model in connected:
        post_save.disconnect(receiver, sender=model)


def _cash(staff_client: Callable[..., APIClient]) -> tuple[Callable[[], Any], str]:
    cashier, _ = at_desk(staff_client)
    invoice = payable_invoice(80_000)
    return lambda: pay_cash(cashier, amount=80_000, tendered=100_000, invoice=invoice), (
        "payment.create"
    )


def _open(staff_client: Callable[..., APIClient]) -> tuple[Callable[[], Any], str]:
    cashier = staff_client(Role.CASHIER)
    terminal = terminal_new()
    return lambda: open_session(cashier, terminal, {"100000": 3}), "cashier_session.open"


def _refund(staff_client: Callable[..., APIClient]) -> tuple[Callable[[], Any], str]:
    payment = paid_by_transfer(amount=300_000, invoice=payable_invoice(300_000))
    supervisor = staff_client(Role.SUPERVISOR)
    return lambda: request_refund(supervisor, payment, amount=100_000), "refund.request"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
@pytest.mark.parametrize(
    ("model", "action_of"),
    [(Payment, _cash), (CashierSession, _open), (Refund, _refund)],
    ids=["cash payment", "session open", "refund request"],
)
def test_a_process_dying_around_the_commit_keeps_the_change_and_its_row_together(
    staff_client: Callable[..., APIClient],
    death: Callable[[type[models.Model], str], None],
    model: type[models.Model],
    action_of: Callable[..., tuple[Callable[[], Any], str]],
    when: str,
) -> None:
    act, action = action_of(staff_client)
    existing = set(model.objects.values_list("pk", flat=True))  # type: ignore[attr-defined]
    death(model, when)

    with pytest.raises(ProcessDied):
        act()

    made = set(model.objects.values_list("pk", flat=True)) - existing  # type: ignore[attr-defined]
    rows = _rows(action)
    if when == "before_commit":
        assert (made, rows) == (set(), [])
    else:
        (pk,) = made
        assert [(r.target_id, r.outcome) for r in rows] == [(str(pk), AuditOutcome.SUCCESS)]
    assert all(v.intact for v in audit_chain_verify())
