"""The matcher's enrolment of VietQR captures costs what happened since its previous run,
not every capture ever made (issue 20, found by ``make bench``: 100,000 earlier captures
took 1.5 s of a 10,000-line run, and re-checking them cost every run ~0.27 s): a run looks
at the captures that succeeded since the previous run started, less
``RECONCILIATION_ENROL_LOOKBACK_HOURS``, through the ``payment_vietqr_succeeded`` index.

* what the previous run could not see (committed after it started) is enrolled by the next;
* a capture dated before the look-back is left to a ``full`` run (captures loaded from
  elsewhere), which the first run of all is;
* among 100,000 earlier captures the look-up is an index range, not a scan.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.chart import VIETQR_CLEARING
from payments.models import MatchRun, Payment, PaymentStatus, ReconItem, ReconKind
from payments.services.matching import reconciliation_match
from payments.services.transitions import payment_transition
from payments.tasks import run_matcher
from tests.payments.builders.payments import paid_by_transfer, vietqr_payment

pytestmark = [pytest.mark.usefixtures("bank_feeds_configured")]


def _enrolled() -> set[str]:
    return set(
        ReconItem.objects.filter(kind=ReconKind.VIETQR_CAPTURE).values_list("source_id", flat=True)
    )


def _succeeded_at(payment: Payment, when: object) -> None:
    Payment.objects.filter(pk=payment.pk).update(succeeded_at=when)


@pytest.mark.django_db
def test_a_run_looks_back_from_the_previous_run_and_a_full_run_at_everything(
    settings: Any,
) -> None:
    settings.RECONCILIATION_ENROL_LOOKBACK_HOURS = 24
    first = paid_by_transfer(amount=100_000)
    assert reconciliation_match().enrolled == 1  # the first run of all looks at everything
    previous = MatchRun.objects.get().started_at
    within = paid_by_transfer(amount=110_000)
    _succeeded_at(within, previous - timedelta(hours=23))
    before = paid_by_transfer(amount=120_000)
    _succeeded_at(before, previous - timedelta(hours=25))

    run = reconciliation_match()

    assert run.enrolled == 1
    assert _enrolled() == {first.public_id, within.public_id}
    assert reconciliation_match(full=True).enrolled == 1
    assert _enrolled() == {first.public_id, within.public_id, before.public_id}
    assert reconciliation_match(full=True).enrolled == 0  # enrolled once, whatever the run


@pytest.mark.django_db
def test_the_task_runs_a_full_run_when_asked() -> None:
    paid_by_transfer(amount=100_000)
    reconciliation_match()
    old = paid_by_transfer(amount=90_000)
    _succeeded_at(old, timezone.now() - timedelta(days=30))
    run_matcher(full=False)
    assert old.public_id not in _enrolled()
    run_matcher(full=True)
    assert old.public_id in _enrolled()


@pytest.mark.django_db(transaction=True)
def test_a_capture_committed_after_a_run_started_is_enrolled_by_the_next_run() -> None:
    """The capture's transaction stamps ``succeeded_at`` before a run starts and commits
    after the run has looked: that run cannot see it, the next one (whose window starts
    before the first run's start) enrols it."""
    reconciliation_match()  # a previous run: the next ones look back from it
    payment = vietqr_payment(amount=150_000)
    stamped, release, failed = threading.Event(), threading.Event(), []

    def capture() -> None:
        try:
            with transaction.atomic():
                payment_transition(
                    payment=Payment.objects.select_for_update().get(pk=payment.pk),
                    to=PaymentStatus.SUCCEEDED,
                    debit_account=VIETQR_CLEARING,
                )
                stamped.set()
                assert release.wait(timeout=30)
        except BaseException as error:  # the test reports it below
            failed.append(error)
            stamped.set()
        finally:
            connection.close()

    worker = threading.Thread(target=capture)
    worker.start()
    try:
        assert stamped.wait(timeout=30)
        blind = reconciliation_match()
    finally:
        release.set()
        worker.join(timeout=30)
    assert not failed, failed
    succeeded_at = Payment.objects.get(pk=payment.pk).succeeded_at
    assert succeeded_at is not None
    assert succeeded_at < MatchRun.objects.get(pk=blind.pk).started_at
    assert blind.enrolled == 0

    assert reconciliation_match().enrolled == 1
    assert _enrolled() == {payment.public_id}


def _fill_old_captures(template: Payment, count: int) -> None:
    """``count`` VietQR captures of the months before, copies of ``template`` (their rows
    are what matters), already enrolled by the runs of those months."""
    skip = {"id", "public_id", "memo_code", "idempotency_key", "succeeded_at", "created_at"}
    columns = [f.column for f in Payment._meta.concrete_fields if f.column not in skip]
    copied = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO payments_payment ({copied}, public_id, memo_code, idempotency_key,"
            " succeeded_at, created_at)"
            f" SELECT {copied}, 'pay_old' || n, 'OLD' || n, 'old-key-' || n,"
            "  now() - interval '90 days' + n * interval '1 minute',"
            "  now() - interval '90 days' + n * interval '1 minute'"
            " FROM payments_payment, generate_series(1, %s) n WHERE id = %s",
            [count, template.pk],
        )
        cursor.execute("ANALYZE payments_payment")


@pytest.mark.django_db
def test_the_captures_since_the_previous_run_are_found_by_their_index() -> None:
    template = paid_by_transfer(amount=100_000)
    _fill_old_captures(template, 100_000)
    reconciliation_match(full=True)  # the months' runs: everything enrolled
    fresh = paid_by_transfer(amount=130_000)

    with CaptureQueriesContext(connection) as captured:
        run = reconciliation_match()
    [enrol] = [q["sql"] for q in captured.captured_queries if "FROM payments_payment p" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {enrol}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "payment_vietqr_succeeded" in plan, plan
    assert "Seq Scan on payments_payment" not in plan, plan
    assert run.enrolled == 1
    assert fresh.public_id in _enrolled()
