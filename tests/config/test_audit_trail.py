"""The audit trail: append-only on PostgreSQL, one hash chain per day that audit_verify
walks, credential changes recorded, and a read-only API and admin for auditors."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from config.audit.chain import day_anchor
from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.audit.selectors import audit_chain_verify
from config.audit.services import audit_record
from config.identity.models import DeviceKind, Role
from config.identity.services import device_create, device_revoke, staff_create
from tests.assertions import assert_error
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


def _record(action: str = "payment.create", **detail: int | str) -> AuditEvent:
    return audit_record(
        action=action,
        category=AuditCategory.MONEY,
        target_type="payments.payment",
        target_id="42",
        detail=detail or {"amount": 180000, "currency": "VND"},
    )


def _verify_output(*args: str) -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def _bypass_trigger(sql: str, params: list[int]) -> None:
    """What a database superuser could do around the trigger."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_each_row_links_to_the_previous_one_of_its_day() -> None:
    first, second = _record(), _record("refund.approve")

    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == day_anchor(first.day)
    assert second.prev_hash == first.hash
    assert [v.intact for v in audit_chain_verify()] == [True]
    assert _verify_output()[0]


def test_postgres_refuses_update_and_delete_of_an_audit_row() -> None:
    row = _record()

    for sql in (
        "UPDATE audit_auditevent SET outcome = 'refused' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.get(pk=row.pk).outcome == AuditOutcome.SUCCESS


def test_audit_verify_detects_an_edited_row() -> None:
    _record()
    edited = _record(amount=600000)
    _record()

    _bypass_trigger(
        "UPDATE audit_auditevent SET detail = '{\"amount\": 6000}'::jsonb WHERE id = %s",
        [edited.pk],
    )

    ok, out = _verify_output()
    assert not ok
    assert "BROKEN" in out
    assert "row 2 does not match its hash (edited)" in out


def test_audit_verify_detects_a_removed_row() -> None:
    _record()
    removed = _record()
    _record()

    _bypass_trigger("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])

    ok, out = _verify_output()
    assert not ok
    assert "rows 2..2 missing (removed)" in out
    assert "row 3 does not link to the row before it" in out


def test_audit_verify_detects_a_removed_last_row_against_the_head_kept_elsewhere() -> None:
    _record()
    last = _record()
    kept_head = f"{last.day.isoformat()}={last.hash}"

    _bypass_trigger("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])

    assert _verify_output()[0]  # a shorter chain is still a chain...
    ok, out = _verify_output("--head", kept_head)
    assert not ok  # ...but not the one whose head was kept
    assert "head hash differs" in out


def test_audit_verify_detects_a_row_inserted_around_the_writer() -> None:
    first = _record()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (day, seq, occurred_at, category, action, outcome,"
            " actor_kind, actor_id, actor_label, terminal, target_type, target_id,"
            " client_address, request_id, detail, prev_hash, hash) VALUES"
            " (%s, 2, now(), 'money', 'payment.create', 'success', 'system', '', '', '',"
            " '', '', '', '', '{}'::jsonb, %s, %s)",
            [first.day, first.hash, "f" * 64],
        )

    ok, out = _verify_output()
    assert not ok
    assert "row 2 does not match its hash (edited)" in out


def test_audit_details_refuse_floats_and_write_nothing() -> None:
    with pytest.raises(TypeError, match="float"):
        audit_record(
            action="payment.create",
            category=AuditCategory.MONEY,
            detail={"amount": 1.5},  # type: ignore[dict-item]
        )
    with pytest.raises(ValueError, match="category"):
        audit_record(action="payment.create", category="gossip")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_unbroken_chain() -> None:
    writers = 12

    outcomes = run_at_once(writers, lambda index: _record(amount=1000 + index).seq)

    assert sorted(outcomes) == list(range(1, writers + 1))
    verdicts = list(audit_chain_verify())
    assert len(verdicts) == 1
    assert verdicts[0].rows == writers
    assert verdicts[0].intact


def test_a_row_rolls_back_with_the_action_it_records() -> None:
    def failing_action() -> None:
        with transaction.atomic():
            _record()
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()

    assert not AuditEvent.objects.exists()
    assert _record().seq == 1


def test_login_records_success_and_refusal_with_request_id_and_address(
    anon_client: APIClient,
) -> None:
    user, password = staff_create(username="an.nguyen", role=Role.CASHIER, password="pw-correct-42")

    ok = anon_client.post(
        "/api/v1/auth/token",
        {"username": "an.nguyen", "password": password},
        format="json",
        HTTP_X_REQUEST_ID="req-login-1",
    )
    refused = anon_client.post(
        "/api/v1/auth/token", {"username": "an.nguyen", "password": "wrong"}, format="json"
    )

    assert (ok.status_code, refused.status_code) == (201, 401)
    assert ok["X-Request-ID"] == "req-login-1"
    rows = list(AuditEvent.objects.filter(action="token.issue").order_by("seq"))
    assert [(r.outcome, r.actor_kind) for r in rows] == [
        (AuditOutcome.SUCCESS, ActorKind.STAFF),
        (AuditOutcome.REFUSED, ActorKind.PUBLIC),
    ]
    assert rows[0].actor_label == "an.nguyen"
    assert rows[0].request_id == "req-login-1"
    assert rows[1].request_id == refused["X-Request-ID"]
    assert {r.client_address for r in rows} == {"127.0.0.1"}
    assert rows[1].target_id == str(user.pk)
    assert "wrong" not in str(rows[1].detail)


def test_credential_changes_are_recorded() -> None:
    admin, _ = staff_create(username="root", role=Role.ADMIN)
    device, _ = device_create(kind=DeviceKind.KIOSK, name="kiosk-sanh-a", by=admin)
    device_revoke(device=device, by=admin)
    device_revoke(device=device, by=admin)  # already revoked: nothing changes
    admin.set_password("a-new-password-42")
    admin.save()

    rows = AuditEvent.objects.filter(category=AuditCategory.CREDENTIAL).order_by("seq")
    assert [(r.action, r.actor_label) for r in rows] == [
        ("staff.create", ""),
        ("device.create", "root"),
        ("device.revoke", "root"),
        ("staff.password_set", ""),
    ]
    assert rows[1].target_type == "identity.device"
    assert rows[1].detail == {"kind": "kiosk", "key_hint": device.key_hint}


def test_auditors_read_the_trail_newest_first_with_filters(
    staff_client: Callable[..., APIClient],
) -> None:
    _record()
    _record("refund.approve")
    auditor = staff_client(Role.AUDITOR)

    everything = auditor.get("/api/v1/audit/events", {"category": "money"})
    refunds = auditor.get("/api/v1/audit/events", {"action": "refund.approve"})
    paged = auditor.get("/api/v1/audit/events", {"page_size": 1})

    assert everything.status_code == 200
    actions = [row["action"] for row in everything.json()["results"]]
    assert actions[:2] == ["refund.approve", "payment.create"]
    assert [row["action"] for row in refunds.json()["results"]] == ["refund.approve"]
    assert paged.json()["next"]
    assert_error(
        auditor.get("/api/v1/audit/events", {"cursor": "cD1hYmM="}),
        400,
        "parameter_invalid",
        "cursor",
    )
    assert_error(
        auditor.get("/api/v1/audit/events", {"category": "gossip"}),
        400,
        "parameter_invalid",
        "category",
    )


@pytest.mark.parametrize("role", [Role.CASHIER, Role.SUPERVISOR, Role.FINANCE])
def test_other_roles_cannot_read_the_trail(
    staff_client: Callable[..., APIClient], role: str
) -> None:
    assert_error(staff_client(role).get("/api/v1/audit/events"), 403, "permission_denied")


def test_auditor_sees_the_trail_in_the_admin_read_only() -> None:
    _record()
    staff_create(username="kiem.toan", role=Role.AUDITOR, password="auditor-pw-42")
    browser = Client()
    assert browser.login(username="kiem.toan", password="auditor-pw-42")

    listing = browser.get("/admin/audit/auditevent/")
    add = browser.get("/admin/audit/auditevent/add/")
    ledger = browser.get("/admin/billing/journalentry/")

    assert listing.status_code == 200
    assert b"payment.create" in listing.content
    assert add.status_code == 403
    assert ledger.status_code == 403
