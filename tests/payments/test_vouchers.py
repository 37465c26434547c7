"""Every journal entry is filed under a voucher (chứng từ) with a number, as the accountant's
software needs it: a whole settlement day (desk cash, cards, VietQR, a refund, a Stripe payout,
the safe's deposit, the statement and the matcher) and the desk's own moves (a float, a
variance, a handover, cash transfers sent, counted in and canceled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from billing.models import JournalEntry
from config.identity.models import Role
from payments.services.cashier.close import session_close
from payments.services.cashier.transfers import (
    cash_transfer_cancel,
    cash_transfer_confirm,
    cash_transfer_create,
)
from payments.services.matching import add_business_days, reconciliation_match
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import session_new
from tests.payments.builders.settlement_day import run_the_day_in_process
from tests.payments.test_reconciliation_items import missing_capture, stray_line

pytestmark = pytest.mark.django_db


def vouchers() -> dict[str, set[tuple[str, str]]]:
    """Per source type, the (voucher type, voucher number) pairs of its entries."""
    found: dict[str, set[tuple[str, str]]] = {}
    for source, kind, number in JournalEntry.objects.values_list(
        "source_type", "voucher_type", "voucher_number"
    ):
        found.setdefault(source, set()).add((kind, number))
    return found


def assert_every_entry_has_a_voucher() -> None:
    blank = JournalEntry.objects.filter(voucher_type="") | JournalEntry.objects.filter(
        voucher_number=""
    )
    assert list(blank.values_list("source_type", "posting_key")) == []


@pytest.mark.usefixtures("bank_feeds_configured")
def test_every_entry_of_a_settlement_day_has_a_voucher_type_and_number(
    stripe_configured: FakeStripeServer,
    staff_client: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Any,
):
    day = run_the_day_in_process(
        stripe_configured, staff_client, django_capture_on_commit_callbacks
    )
    reconciliation_match(today=add_business_days(day.today, 4))

    assert_every_entry_has_a_voucher()
    found = vouchers()
    payout = day.payout_on_statement["id"]
    assert ("NVK", payout) in found["stripe_payout"]
    assert {kind for kind, _ in found["match_run"]} == {"BC"}
    assert {kind for kind, _ in found["cash_deposit"]} == {"PC"}
    assert {number for _, number in found["cash_deposit"]} == {day.deposit_code}
    assert {kind for kind, _ in found["cashier_close"]} == {"PT"}  # the count into the safe
    assert {kind for kind, _ in found["payment"]} == {"PT", "BC"}


def test_the_desks_own_moves_have_cash_vouchers_numbered_by_session_and_transfer():
    giver = session_new(count={"100000": 5})  # 500,000 from the safe: PC
    receiver = session_new()
    sent = cash_transfer_create(
        from_session=giver, to_session=receiver, amount=200_000, by=giver.cashier
    )
    cash_transfer_confirm(transfer=sent, counted=200_000, by=receiver.cashier)
    back = cash_transfer_create(
        from_session=giver, to_session=None, amount=50_000, by=giver.cashier
    )
    cash_transfer_cancel(transfer=back, by=giver.cashier)
    # Expected 300,000; counted 350,000.
    session_close(session=giver, count={"100000": 3, "50000": 1}, closed_by=giver.cashier)

    assert_every_entry_has_a_voucher()
    by_key = dict(JournalEntry.objects.values_list("posting_key", "voucher_type").order_by("id"))
    assert by_key[f"cashier_session:{giver.pk}:float"] == "PC"
    assert by_key[f"cash_transfer:{sent.pk}:sent"] == "PC"
    assert by_key[f"cash_transfer:{sent.pk}:received"] == "PT"
    assert by_key[f"cash_transfer:{back.pk}:canceled"] == "PT"
    assert by_key[f"cashier_session:{giver.pk}:variance"] == "PT"  # 50,000 over
    assert by_key[f"cashier_session:{giver.pk}:to-safe"] == "PT"
    numbers = dict(JournalEntry.objects.values_list("posting_key", "voucher_number"))
    assert numbers[f"cash_transfer:{sent.pk}:received"] == sent.public_id
    assert numbers[f"cashier_session:{giver.pk}:to-safe"] == giver.public_id
    recorded = dict(JournalEntry.objects.values_list("posting_key", "recorded_by"))
    assert recorded[f"cash_transfer:{sent.pk}:received"] == receiver.cashier.get_username()


@pytest.mark.usefixtures("bank_feeds_configured")
def test_a_match_by_hand_is_a_bank_credit_note_and_a_write_off_another_voucher(
    staff_client: Callable[..., APIClient],
):
    finance = staff_client(Role.FINANCE)
    finance.default_format = "json"
    item = missing_capture(250_000)
    stray = stray_line(250_000)
    other = stray_line(9_000, "LAI TIEN GUI")

    matched = finance.post(
        f"/api/v1/reconciliation/items/{item.pk}/match", {"item": stray.pk, "note": "memo typo"}
    )
    written_off = finance.post(
        f"/api/v1/reconciliation/items/{other.pk}/write-off", {"reason": "bank interest"}
    )

    assert (matched.status_code, written_off.status_code) == (200, 200)
    assert_every_entry_has_a_voucher()
    entries = {
        key: (kind, number, who)
        for key, kind, number, who in JournalEntry.objects.filter(
            source_type="recon_item"
        ).values_list("posting_key", "voucher_type", "voucher_number", "recorded_by")
    }
    user = User.objects.filter(groups__name=Role.FINANCE).get().get_username()
    assert entries == {
        f"recon_item:{item.pk}:match": ("NVK", f"recon_item:{item.pk}", user),
        f"recon_item:{other.pk}:write_off": ("NVK", f"recon_item:{other.pk}", user),
    }
