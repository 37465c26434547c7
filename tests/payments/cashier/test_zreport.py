"""The Z-report per session and per terminal and day: every figure read from the session's
records and again from the ledger, and the two agree; refunds lower net takings by exactly
their amount; JSON and a printable A4 PDF."""

from __future__ import annotations

import io

import pytest
from django.db.models import Sum
from django.utils import timezone
from pypdf import PdfReader

from billing.chart import PATIENT_RECEIVABLE
from billing.models import JournalLine
from config.identity.models import Role
from payments.models import Payment, PaymentStatus
from payments.services.transitions import payment_transition
from tests.assertions import assert_error
from tests.payments.builders.desk import (
    SESSIONS_URL,
    at_desk,
    close,
    drawer,
    pay_cash,
    report,
    terminal_new,
)
from tests.payments.builders.payments import pay, payable_invoice, stripe_at
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = pytest.mark.django_db

FLOAT = {"100000": 2}  # 200,000


@pytest.fixture(autouse=True)
def thresholds(settings) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 500_000
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 50_000


def qr_paid(client, invoice, amount: int) -> Payment:
    body = pay(client, invoice=invoice, amount=amount, method="vietqr").json()
    payment, _ = payment_transition(
        payment=Payment.objects.get(public_id=body["id"]), to=PaymentStatus.SUCCEEDED
    )
    return payment


def a_shift(client, session):
    """Cash 300,000 (from 500,000), QR 200,000, then a cash refund of 100,000."""
    cash = pay_cash(client, amount=300_000, tendered=500_000, invoice=payable_invoice(300_000))
    qr_paid(client, payable_invoice(200_000), 200_000)
    payment = Payment.objects.get(public_id=cash.json()["id"])
    refund = request_refund(client, payment, amount=100_000).json()
    assert pay_out(client, refund["id"], "cash").status_code == 200


def ledger_net_takings(session) -> int:
    """Straight from the journal: the patients' receivable credited by the session's
    payments, less what its refunds debited back."""
    payments = [f"payment:{p.pk}:captured" for p in Payment.objects.filter(cashier_session=session)]
    credited = JournalLine.objects.filter(
        entry__posting_key__in=payments, account__code=PATIENT_RECEIVABLE
    ).aggregate(s=Sum("credit"))["s"]
    debited = JournalLine.objects.filter(
        entry__source_type="refund",
        account__code=PATIENT_RECEIVABLE,
        entry__source_id__in=list(session.refunds.values_list("public_id", flat=True)),
    ).aggregate(s=Sum("debit"))["s"]
    return (credited or 0) - (debited or 0)


def test_a_refund_lowers_net_takings_by_exactly_its_amount(staff_client):
    cashier, session = at_desk(staff_client, count=FLOAT)
    a_shift(cashier, session)
    close(cashier, session, {"100000": 4})  # 200,000 + 300,000 - 100,000

    z = report(cashier, session)

    assert z["gross_takings"] == 500_000
    assert z["refunds_total"] == 100_000
    assert z["net_takings"] == 400_000 == ledger_net_takings(session)
    assert z["refunds_by_method"]["cash"] == {"count": 1, "amount": 100_000}
    assert z["cash_refunds"] == 100_000
    assert (z["expected_cash"], z["counted_cash"], z["variance"]) == (400_000, 400_000, 0)
    day = staff_client(Role.SUPERVISOR).get(
        f"/api/v1/cashier/terminals/{session.terminal.code}/report"
    )
    assert day.json()["totals"]["net_takings"] == 400_000
    assert day.json()["totals"]["refunds_total"] == 100_000


def test_every_figure_agrees_with_the_ledger(staff_client):
    cashier, session = at_desk(staff_client, count=FLOAT)
    a_shift(cashier, session)
    close(cashier, session, {"100000": 3, "50000": 1})  # 50,000 short

    z = report(cashier, session)

    assert z["payments_by_method"]["cash"] == {"count": 1, "amount": 300_000}
    assert z["payments_by_method"]["vietqr"] == {"count": 1, "amount": 200_000}
    assert z["payments_by_method"]["card_present"] == {"count": 0, "amount": 0}
    assert (z["cash_tendered"], z["change_given"], z["opening_float"]) == (
        500_000,
        200_000,
        200_000,
    )
    ledger = z["ledger"]
    assert ledger["takings_by_method"] == {"cash": 300_000, "card_present": 0, "vietqr": 200_000}
    assert ledger["refunds"] == z["refunds_total"] == 100_000
    assert ledger["drawer_expected"] == z["expected_cash"] == 400_000
    assert ledger["over_short"] == z["variance"] == -50_000
    assert ledger["drawer_balance_after_close"] == 0 == drawer(session)
    assert z["agrees"] is True
    assert z["session"]["cashier"] == session.cashier.username


def test_card_at_the_desk_and_its_refund_are_reported_per_method(staff_client, fake_stripe):
    reader = fake_stripe.add_reader(label="Desk reader")
    cashier, session = at_desk(staff_client, terminal=terminal_new(card_reader_id=reader))
    invoice = payable_invoice(400_000)
    with stripe_at(fake_stripe):
        body = pay(cashier, invoice=invoice, amount=400_000, method="card_present").json()
        fake_stripe.complete_reader_action(reader)  # the patient taps the desk's reader
        # What the terminal.reader.action_succeeded webhook then does (tested with webhooks).
        card, _ = payment_transition(
            payment=Payment.objects.get(public_id=body["id"]), to=PaymentStatus.SUCCEEDED
        )
        refund = request_refund(cashier, card, amount=150_000).json()
    assert refund["status"] == "succeeded"  # a card refund goes back through Stripe
    close(cashier, session, {})

    z = report(cashier, session)

    assert z["payments_by_method"]["card_present"] == {"count": 1, "amount": 400_000}
    assert z["refunds_by_method"]["card_present"] == {"count": 1, "amount": 150_000}
    assert z["ledger"]["takings_by_method"]["card_present"] == 400_000
    assert (z["net_takings"], z["expected_cash"], z["variance"]) == (250_000, 0, 0)
    assert z["agrees"]


def test_the_report_shows_who_approved_a_large_variance(staff_client):
    cashier, session = at_desk(staff_client, count=FLOAT)
    close(cashier, session, {})  # 200,000 short
    supervisor = staff_client(Role.SUPERVISOR)
    assert report(cashier, session)["session"]["approved_by"] is None
    supervisor.post(f"{SESSIONS_URL}/{session.public_id}/approve-close")

    z = report(supervisor, session)

    assert z["session"]["approved_by"].startswith("supervisor-")
    assert z["session"]["status"] == "closed"
    assert z["agrees"]


def test_the_report_prints_as_an_a4_pdf(staff_client):
    cashier, session = at_desk(staff_client, count=FLOAT)
    a_shift(cashier, session)
    close(cashier, session, {"100000": 4})

    response = cashier.get(f"{SESSIONS_URL}/{session.public_id}/report?format=pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert session.public_id in text
    assert "Tiền mặt dự kiến" in text  # Vietnamese diacritics survive
    assert "400.000 ₫" in text
    assert_error(
        cashier.get(f"{SESSIONS_URL}/{session.public_id}/report?format=doc"),
        400,
        "parameter_invalid",
        "format",
    )


def test_the_day_report_of_a_terminal_sums_its_counted_sessions(staff_client):
    terminal = terminal_new()
    morning_client, morning = at_desk(staff_client, count=FLOAT, terminal=terminal)
    a_shift(morning_client, morning)
    close(morning_client, morning, {"100000": 4})
    evening_client, evening = at_desk(staff_client, count=FLOAT, terminal=terminal)
    pay_cash(evening_client, amount=50_000, tendered=50_000, invoice=payable_invoice(50_000))
    supervisor = staff_client(Role.SUPERVISOR)
    url = f"/api/v1/cashier/terminals/{terminal.code}/report"

    open_day = supervisor.get(url).json()
    close(evening_client, evening, {"100000": 2, "50000": 1})
    day = supervisor.get(url, {"date": timezone.localdate().isoformat()}).json()

    assert open_day["still_open"] == [evening.public_id]
    assert open_day["totals"]["gross_takings"] == 500_000
    assert day["still_open"] == []
    assert [s["session"]["id"] for s in day["sessions"]] == [morning.public_id, evening.public_id]
    totals = day["totals"]
    assert (totals["gross_takings"], totals["net_takings"]) == (550_000, 450_000)
    assert totals["payments_by_method"]["cash"] == {"count": 2, "amount": 350_000}
    assert (totals["expected_cash"], totals["counted_cash"], totals["variance"]) == (
        650_000,
        650_000,
        0,
    )
    assert day["agrees"]
    pdf = supervisor.get(url, {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 3  # the day, then each session
    assert_error(staff_client(Role.CASHIER).get(url), 403, "permission_denied")
    assert_error(supervisor.get("/api/v1/cashier/terminals/NOPE/report"), 404, "not_found", "code")


def test_finance_reads_any_sessions_report_and_cashiers_only_their_own(staff_client):
    cashier, session = at_desk(staff_client, count=FLOAT)
    close(cashier, session, FLOAT)

    assert (
        staff_client(Role.FINANCE)
        .get(f"{SESSIONS_URL}/{session.public_id}/report")
        .json()["agrees"]
    )
    assert_error(
        staff_client(Role.CASHIER).get(f"{SESSIONS_URL}/{session.public_id}/report"),
        403,
        "not_your_session",
    )
