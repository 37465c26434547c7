"""The Django admin: rules and prices are edited there; money, identity and the ledger are
read-only, and patients show masked identifiers only."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing.insurance import route_ratio_in_force
from billing.models import (
    HospitalLevelSetting,
    InsuranceParameters,
    Invoice,
    JournalEntry,
    Patient,
    PriceListItem,
    RouteRatio,
)
from tests.billing.builders import citizen_id_new, patient_with_coverage, visit_invoice

pytestmark = pytest.mark.usefixtures("chart")


@pytest.fixture
def admin_client_logged_in(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.vn", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def invoice(db: None) -> Invoice:
    return visit_invoice(1_000_000)


@pytest.mark.parametrize(
    "model",
    [
        PriceListItem,
        InsuranceParameters,
        HospitalLevelSetting,
        RouteRatio,
        Patient,
        Invoice,
        JournalEntry,
    ],
    ids=lambda model: model.__name__,
)
def test_every_billing_list_opens_for_an_administrator(admin_client_logged_in, invoice, model):
    url = reverse(f"admin:billing_{model._meta.model_name}_changelist")

    assert admin_client_logged_in.get(url).status_code == 200


def test_price_list_rows_can_be_added_in_the_admin(admin_client_logged_in):
    url = reverse("admin:billing_pricelistitem_add")

    assert admin_client_logged_in.get(url).status_code == 200


def test_patients_show_masked_identifiers_and_never_their_hashes(admin_client_logged_in):
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(citizen_id=citizen_id, insurance_number="DN4010123456789")

    listing = admin_client_logged_in.get(reverse("admin:billing_patient_changelist"))
    page = admin_client_logged_in.get(reverse("admin:billing_patient_change", args=[patient.pk]))

    for response in (listing, page):
        body = response.content.decode()
        assert patient.citizen_id_masked in body
        assert citizen_id not in body
        assert str(patient.citizen_id_hash) not in body
        assert patient.insurance_id_hash not in body
    assert "N. V. An" in listing.content.decode()


def test_invoice_money_cannot_be_changed_in_the_admin(admin_client_logged_in, invoice):
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])

    page = admin_client_logged_in.get(url)
    posted = admin_client_logged_in.post(url, {"total": 1, "patient_share": 1})

    assert page.status_code == 200
    assert 'name="total"' not in page.content.decode()  # shown, not an input
    assert posted.status_code == 403
    invoice.refresh_from_db()
    assert (invoice.total, invoice.patient_share) == (1_000_000, 200_000)


def test_journal_entries_cannot_be_added_or_deleted_in_the_admin(admin_client_logged_in, invoice):
    entry = JournalEntry.objects.first()
    assert entry is not None

    add = admin_client_logged_in.get(reverse("admin:billing_journalentry_add"))
    delete = admin_client_logged_in.post(
        reverse("admin:billing_journalentry_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert JournalEntry.objects.filter(pk=entry.pk).exists()


def test_the_hospitals_level_is_a_dated_row_added_in_the_admin(admin_client_logged_in):
    url = reverse("admin:billing_hospitallevelsetting_add")

    response = admin_client_logged_in.post(
        url, {"effective_from": "2026-01-01", "level": "central", "source": "QĐ xếp hạng"}
    )

    assert response.status_code == 302, response.content.decode()
    bed_day = route_ratio_in_force(route="wrong", encounter_kind="inpatient", on=date(2026, 1, 1))
    assert bed_day is not None
    assert (bed_day.hospital_level, bed_day.ratio_percent) == ("central", 40)
    earlier = route_ratio_in_force(route="wrong", encounter_kind="inpatient", on=date(2025, 12, 31))
    assert earlier is not None
    assert earlier.hospital_level == "provincial"


def test_route_ratios_not_checked_against_the_text_say_so_in_the_admin(admin_client_logged_in):

    listing = admin_client_logged_in.get(
        reverse("admin:billing_routeratio_changelist"), {"confirmed__exact": "0"}
    )

    body = listing.content.decode()
    assert listing.status_code == 200
    assert "Decree 188/2025/ND-CP (check)" in body
    assert "Law 46/2014/QH13 Art. 22(3)(a)" not in body  # confirmed rows are filtered out
    assert not RouteRatio.objects.filter(confirmed=False).exclude(note__contains="(check)")
