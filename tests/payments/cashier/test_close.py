"""The blind close: the count goes in, expected cash and variance come out, the variance is
posted to the cash shortage or overage account, and a large one waits for a supervisor."""

from __future__ import annotations

import pytest

from billing.chart import CASH_OVERAGE, CASH_SHORTAGE, MAIN_CASH
from billing.models import JournalEntry
from config.identity.models import Role
from payments.models import CashierSessionStatus, Payment, PaymentStatus
from payments.services.transitions import payment_transition
from tests.assertions import assert_error, balance
from tests.payments.builders.desk import SESSIONS_URL, at_desk, close, drawer, fresh, pay_cash, post
from tests.payments.builders.payments import pay, payable_invoice

pytestmark = pytest.mark.django_db

THRESHOLD = 50_000
FLOAT = {"100000": 1, "50000": 1, "20000": 2, "10000": 1}  # 200,000


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = THRESHOLD


@pytest.fixture
def desk(staff_client):
    return at_desk(staff_client, count=FLOAT)


def test_change_and_split_tender_leave_expected_cash_exact(desk):
    cashier, session = desk
    visit, stay = payable_invoice(120_000), payable_invoice(700_000)
    assert pay_cash(cashier, amount=120_000, tendered=200_000, invoice=visit).status_code == 201
    # Split tender: 300,000 in cash (from 500,000: 200,000 change), the rest by QR.
    assert pay_cash(cashier, amount=300_000, tendered=500_000, invoice=stay).status_code == 201
    qr = pay(cashier, invoice=stay, amount=400_000, method="vietqr").json()
    payment_transition(payment=Payment.objects.get(public_id=qr["id"]), to=PaymentStatus.SUCCEEDED)

    # 200,000 float + 120,000 + 300,000 = 620,000: exactly what the notes add up to.
    response = close(cashier, session, {"500000": 1, "100000": 1, "20000": 1})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["expected_cash"], body["counted_cash"], body["variance"]) == (620_000, 620_000, 0)
    assert body["status"] == "closed"
    assert not JournalEntry.objects.filter(
        lines__account__code__in=[CASH_SHORTAGE, CASH_OVERAGE]
    ).exists()
    assert drawer(session) == 0  # the counted cash went to the main safe


def test_a_shortage_is_posted_to_over_short(desk):
    cashier, session = desk
    assert pay_cash(cashier, amount=120_000, tendered=200_000, invoice=payable_invoice(120_000))
    safe_before = balance(MAIN_CASH)

    body = close(cashier, session, {"100000": 3}).json()  # 20,000 short of 320,000

    assert (body["expected_cash"], body["counted_cash"], body["variance"]) == (
        320_000,
        300_000,
        -20_000,
    )
    assert balance(CASH_SHORTAGE) == 20_000  # a debit: money missing
    assert balance(MAIN_CASH) - safe_before == 300_000  # only what was counted
    assert drawer(session) == 0
    entry = JournalEntry.objects.get(posting_key=f"cashier_session:{session.pk}:variance")
    assert (entry.source_type, entry.source_id) == ("cashier_close", session.public_id)


def test_an_overage_is_posted_to_over_short(desk):
    cashier, session = desk

    body = close(cashier, session, {"100000": 2, "10000": 1}).json()  # 10,000 over

    assert body["variance"] == 10_000
    assert balance(CASH_OVERAGE) == -10_000  # a credit: money found
    assert drawer(session) == 0


def test_the_close_is_blind_and_a_different_count_is_accepted(desk):
    cashier, session = desk
    shown = cashier.get(f"{SESSIONS_URL}/{session.public_id}").json()
    assert (shown["expected_cash"], shown["variance"], shown["counted_cash"]) == (None,) * 3
    assert_error(
        cashier.get(f"{SESSIONS_URL}/{session.public_id}/report"), 409, "session_not_counted"
    )

    # Only the count is sent; nothing like an expected figure is asked for or accepted.
    response = close(cashier, session, {"10000": 19})  # 190,000 of 200,000

    assert response.status_code == 200
    assert response.json()["variance"] == -10_000
    assert response.json()["status"] == "closed"  # within the threshold
    assert fresh(session).counted_cash == 190_000


def test_a_variance_above_the_threshold_waits_for_another_supervisor(desk, staff_client):
    cashier, session = desk
    supervisor = staff_client(Role.SUPERVISOR)

    body = close(cashier, session, {"100000": 1}).json()  # 100,000 short

    assert (body["status"], body["variance"]) == ("pending_approval", -100_000)
    assert balance(CASH_SHORTAGE) == 100_000  # recorded at once, whatever the approval
    assert_error(
        cashier.post(f"{SESSIONS_URL}/{session.public_id}/approve-close"), 403, "permission_denied"
    )
    approved = supervisor.post(f"{SESSIONS_URL}/{session.public_id}/approve-close")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "closed"
    assert approved.json()["approved_by"].startswith("supervisor-")
    assert_error(
        supervisor.post(f"{SESSIONS_URL}/{session.public_id}/approve-close"),
        409,
        "session_not_pending_approval",
    )


def test_a_supervisors_own_variance_is_approved_by_someone_else(staff_client):
    supervisor, session = at_desk(staff_client, Role.SUPERVISOR, count=FLOAT)
    assert close(supervisor, session, {}).json()["status"] == "pending_approval"

    own = supervisor.post(f"{SESSIONS_URL}/{session.public_id}/approve-close")

    assert_error(own, 403, "approval_by_cashier")
    assert fresh(session).status == CashierSessionStatus.PENDING_APPROVAL


def test_a_supervisor_who_counted_a_drawer_does_not_approve_its_variance(desk, staff_client):
    _, session = desk
    counting, other = staff_client(Role.SUPERVISOR), staff_client(Role.SUPERVISOR)
    assert close(counting, session, {}).json()["status"] == "pending_approval"

    own_count = counting.post(f"{SESSIONS_URL}/{session.public_id}/approve-close")

    assert_error(own_count, 403, "approval_by_cashier")
    approved = other.post(f"{SESSIONS_URL}/{session.public_id}/approve-close")
    assert approved.json()["status"] == "closed"


def test_closing_twice_is_refused_with_its_own_code(desk):
    cashier, session = desk
    assert close(cashier, session, FLOAT).status_code == 200

    again = close(cashier, session, FLOAT)

    assert_error(again, 409, "session_already_closed")
    assert JournalEntry.objects.filter(source_id=session.public_id).count() == 2  # float, to-safe


def test_a_retried_close_replays_its_answer(desk):
    cashier, session = desk
    url = f"{SESSIONS_URL}/{session.public_id}/close"

    first = post(cashier, url, {"count": FLOAT}, idem="close-1")
    again = post(cashier, url, {"count": FLOAT}, idem="close-1")

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("count", "code", "param"),
    [
        ({"250000": 1}, "unknown_denomination", "count.250000"),
        ({"100000": -2}, "invalid_count", "count.100000"),
        ({"100000": None}, "invalid_count", "count.100000"),
    ],
)
def test_a_bad_count_is_refused_and_closes_nothing(desk, count, code, param):
    cashier, session = desk

    assert_error(close(cashier, session, count), 400, code, param)
    assert fresh(session).status == CashierSessionStatus.OPEN
    assert drawer(session) == 200_000


def test_a_session_with_a_desk_payment_in_flight_cannot_close(desk):
    cashier, session = desk
    qr = pay(cashier, invoice=payable_invoice(100_000), amount=100_000, method="vietqr").json()

    error = assert_error(close(cashier, session, FLOAT), 409, "session_has_payments_in_flight")

    assert error["detail"] == {"payments": [qr["id"]]}
    assert cashier.post(f"/api/v1/payments/{qr['id']}/cancel", headers={"Idempotency-Key": "x"})
    assert close(cashier, session, FLOAT).status_code == 200


def test_no_payment_is_taken_into_a_closed_session(desk):
    cashier, session = desk
    close(cashier, session, FLOAT)

    response = pay_cash(cashier, amount=10_000, tendered=10_000, invoice=payable_invoice(10_000))

    assert_error(response, 400, "cashier_session_required")
    assert not Payment.objects.exists()


def test_another_cashier_cannot_close_my_session(desk, staff_client):
    _, session = desk

    assert_error(close(staff_client(Role.CASHIER), session, FLOAT), 403, "not_your_session")
    assert fresh(session).status == CashierSessionStatus.OPEN
