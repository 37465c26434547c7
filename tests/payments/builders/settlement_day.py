"""One hospital day from the kiosk, the phone and the desk to the bank, for the end-to-end
settlement tests (in-process and on a real Celery worker).

The day: a kiosk card payment (reader), a phone card payment, two VietQR transfers told by
the bank feed, cash at the desk closed into the main safe, a card refund, a Stripe payout
with its fees (on the statement) and a second payout (never on the statement), the safe's
cash deposit, then the bank statement file: the payout, the QR transfers (also told by the
feed: stored once), the deposit and one stray transfer."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Any

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from config.identity.models import Role
from payments.models import Payment, PaymentStatus, StripePayout
from payments.providers.bank_feeds import BANK_TIMEZONE
from payments.services.refunds import refund_request
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import at_desk, close, desk_user, pay_cash
from tests.payments.builders.payments import (
    kiosk_card_payment,
    new_key,
    paid_by_card,
    payable_invoice,
    vietqr_payment,
)
from tests.payments.builders.webhooks import (
    HOSPITAL_ACCOUNT,
    deliver_stripe,
    post_sepay,
    sepay_body,
)

STRAY = 777_000
# Runs a block so that what it sends after its commits is sent (in-process: capture the
# on-commit callbacks and run them; on a worker: just run it).
AfterCommit = Callable[[Callable[[], Any]], Any]
# Waits until a condition holds (in-process: it must hold already).
Until = Callable[[Callable[[], bool]], None]


@dataclass
class Day:
    today: date
    card_payments: list[Payment]
    qr_payments: list[Payment]
    cash_payment: Payment
    refund_amount: int
    payout_on_statement: dict[str, Any]
    payout_missing: dict[str, Any]
    deposit_code: str
    deposit_amount: int
    statement: dict[str, Any]


def _noon(day: date) -> int:
    return int(datetime.combine(day, time(12), tzinfo=BANK_TIMEZONE).timestamp())


def _payout(fake: FakeStripeServer, day: date, after_commit: AfterCommit) -> dict[str, Any]:
    payout = fake.payout_all(arrival_date=_noon(day))
    assert payout is not None
    event = next(
        e for e in fake.events_of_type("payout.paid") if e["data"]["object"]["id"] == payout["id"]
    )
    response = after_commit(lambda: deliver_stripe(Client(), fake, event))
    assert response.status_code == 200, response.content
    return payout


def run_the_day(
    fake: FakeStripeServer,
    staff_client: Callable[..., APIClient],
    *,
    after_commit: AfterCommit,
    until: Until,
) -> Day:
    today = timezone.localdate()
    # Kiosk: a card on the reader; phone: a card in Stripe Elements.
    kiosk, reader = kiosk_card_payment(fake, amount=450_000)
    fake.complete_reader_action(reader)
    (succeeded,) = [
        e
        for e in fake.events_of_type("terminal.reader.action_succeeded")
        if e["data"]["object"]["id"] == reader
    ]
    after_commit(lambda: deliver_stripe(Client(), fake, succeeded))
    kiosk.refresh_from_db()
    assert kiosk.status == PaymentStatus.SUCCEEDED
    phone = paid_by_card(fake, amount=320_000, invoice=payable_invoice(320_000))
    # VietQR: two transfers told by the bank feed.
    qr_payments: list[Payment] = []
    qr_lines: list[tuple[str, int, str]] = []
    for amount in (180_000, 96_800):
        payment = vietqr_payment(amount=amount, invoice=payable_invoice(amount))
        body = sepay_body(amount=amount, content=f"MBVCB.8812.{payment.memo_code}.CT tu A")
        assert after_commit(partial(post_sepay, Client(), body)).status_code == 200
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        qr_payments.append(payment)
        qr_lines.append((body["referenceCode"], amount, f"{payment.memo_code} thanh toan"))
    # The desk: cash taken, the drawer closed into the main safe.
    cashier, session = at_desk(staff_client)
    response = after_commit(
        lambda: pay_cash(
            cashier, amount=300_000, tendered=300_000, invoice=payable_invoice(300_000)
        )
    )
    assert response.status_code == 201, response.content
    cash = Payment.objects.get(public_id=response.json()["id"])
    assert after_commit(lambda: close(cashier, session, {"100000": 3})).status_code == 200
    # A card refund, in the payout with the charges.
    refund_request(
        payment=phone,
        amount=50_000,
        reason="overpayment",
        requested_by=desk_user(Role.SUPERVISOR),
        idempotency_key=new_key("day-refund"),
    )
    payout = _payout(fake, today, after_commit)
    until(lambda: StripePayout.objects.filter(payout_id=payout["id"], status="settled").exists())
    # A later card payment whose payout never reaches the statement.
    late = paid_by_card(fake, amount=210_000, invoice=payable_invoice(210_000))
    missing = _payout(fake, today, after_commit)
    until(lambda: StripePayout.objects.filter(payout_id=missing["id"], status="settled").exists())
    # The safe's custodian takes the day's cash to the bank.
    supervisor = staff_client(Role.SUPERVISOR)
    response = supervisor.post(
        "/api/v1/cashier/safe/deposits",
        {"amount": 300_000},
        format="json",
        headers={"Idempotency-Key": new_key("dep")},
    )
    assert response.status_code == 201, response.content
    deposit_code = response.json()["code"]
    # The bank statement of the day.
    when = today.strftime("%d/%m/%Y")
    rows = [f'1,{when},FT-PO-1,,"{payout["amount"]:,}",,STRIPE PAYMENTS SINGAPORE PAYOUT']
    for index, (reference, amount, memo) in enumerate(qr_lines, start=2):
        rows.append(f'{index},{when},{reference},,"{amount:,}",,{memo}')
    rows.append(f'4,{when},FT-ND-1,,"300,000",,NOP TIEN MAT {deposit_code} QUY CHINH')
    rows.append(f'5,{when},FT-XX-1,,"{STRAY:,}",,CHUYEN KHOAN UNG HO KHOA NHI')
    content = "\n".join(
        [
            f"Số tài khoản: {HOSPITAL_ACCOUNT}",
            "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả",
            *rows,
        ]
    ).encode()
    finance = staff_client(Role.FINANCE)
    upload = io.BytesIO(content)
    upload.name = "vcb-day.csv"
    response = after_commit(
        lambda: finance.post(
            "/api/v1/reconciliation/statements",
            {"bank": "vietcombank", "file": upload},
            format="multipart",
        )
    )
    assert response.status_code == 201, response.content
    return Day(
        today=today,
        card_payments=[kiosk, phone, late],
        qr_payments=qr_payments,
        cash_payment=cash,
        refund_amount=50_000,
        payout_on_statement=payout,
        payout_missing=missing,
        deposit_code=deposit_code,
        deposit_amount=300_000,
        statement=response.json(),
    )


def run_the_day_in_process(
    fake: FakeStripeServer, staff_client: Callable[..., APIClient], capture_on_commit: Any
) -> Day:
    """:func:`run_the_day` in the test's process: what is sent after a commit runs there
    (``capture_on_commit``: pytest-django's ``django_capture_on_commit_callbacks``)."""

    def after_commit(block: Callable[[], Any]) -> Any:
        with capture_on_commit(execute=True):
            return block()

    def until(condition: Callable[[], bool]) -> None:
        assert condition()

    return run_the_day(fake, staff_client, after_commit=after_commit, until=until)
