"""The HIS device API: patients and encounters, refused input with its own error code and
nothing half-written, and who may call it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.identifiers import mask, pii_hash
from billing.models import Encounter, InsuranceIdKind, Patient, Route
from config.identity.models import DeviceKind, Role
from tests.assertions import assert_error, row_counts
from tests.billing.builders import (
    charges_post,
    citizen_id_new,
    encounter_new,
    patient_with_coverage,
    price_item,
)

pytestmark = pytest.mark.django_db


def patient_body(**fields: Any) -> dict[str, Any]:
    return {
        "code": "BN-2026-0001",
        "full_name": "Trần Thị Bích Ngọc",
        "date_of_birth": "1990-05-17",
        **fields,
    }


# --- patients ------------------------------------------------------------------------------


def test_the_his_records_the_cards_five_year_date_for_the_co_pay_cap(his: APIClient) -> None:
    response = his.post(
        "/api/v1/patients",
        patient_body(
            coverage={
                "benefit_level": 80,
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
                "five_years_from": "2024-03-01",
            },
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["coverages"][0]["five_years_from"] == "2024-03-01"
    coverage = Patient.objects.get(pk=response.json()["id"]).coverages.get()
    assert coverage.five_years_from == date(2024, 3, 1)


def test_a_cover_that_contradicts_the_legacy_cards_benefit_digit_is_refused(
    his: APIClient,
) -> None:
    before = row_counts()

    response = his.post(
        "/api/v1/patients",
        patient_body(
            insurance_number="DN4010123456789",  # 3rd character 4: an 80 % card
            coverage={"benefit_level": 100, "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
        ),
        format="json",
    )

    error = assert_error(response, 400, "invalid_coverage", param="coverage.benefit_level")
    assert "80 %" in error["message"]
    assert row_counts() == before


def test_the_his_registers_a_patient_with_masked_identifiers_and_cover(his: APIClient) -> None:
    citizen_id = citizen_id_new()

    response = his.post(
        "/api/v1/patients",
        patient_body(
            citizen_id=citizen_id,
            insurance_number="HN3010123456789",
            phone="0912 345 678",
            coverage={"benefit_level": 95, "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["citizen_id_masked"] == mask(citizen_id)
    assert (body["insurance_id_kind"], body["insurance_id_masked"]) == (
        InsuranceIdKind.LEGACY_CARD,
        "HN301*******789",
    )
    assert body["coverages"] == [
        {
            "benefit_level": 95,
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "route": Route.CORRECT,
            "five_years_from": None,
        }
    ]
    assert citizen_id not in response.content.decode()
    patient = Patient.objects.get(pk=body["id"])
    assert patient.citizen_id_hash == pii_hash("citizen_id", citizen_id)
    assert patient.full_name == "Trần Thị Bích Ngọc"


def test_a_patient_code_that_exists_is_refused(his: APIClient) -> None:
    his.post("/api/v1/patients", patient_body(), format="json")
    before = row_counts()

    response = his.post(
        "/api/v1/patients",
        patient_body(full_name="Lê Văn Khác", citizen_id=citizen_id_new()),
        format="json",
    )

    assert_error(response, 409, "patient_code_exists", param="code")
    assert row_counts() == before


def test_renaming_a_patient_to_a_code_that_exists_is_refused(his: APIClient) -> None:
    taken = patient_with_coverage(code="BN-TAKEN")
    patient = patient_with_coverage(code="BN-MINE")

    response = his.patch(f"/api/v1/patients/{patient.pk}", {"code": taken.code}, format="json")

    assert_error(response, 409, "patient_code_exists", param="code")
    assert Patient.objects.get(pk=patient.pk).code == "BN-MINE"


def test_a_citizen_id_registered_to_another_patient_is_refused(his: APIClient) -> None:
    citizen_id = citizen_id_new()
    patient_with_coverage(citizen_id=citizen_id)
    before = row_counts()

    response = his.post("/api/v1/patients", patient_body(citizen_id=citizen_id), format="json")

    assert_error(response, 409, "citizen_id_taken", param="citizen_id")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("citizen_id", "00108501234", "invalid_citizen_id"),
        ("citizen_id", "00108501234X", "invalid_citizen_id"),
        ("citizen_id", "003085012345", "invalid_citizen_id"),
        ("citizen_id", "001299012345", "invalid_citizen_id"),
        ("insurance_number", "98765432", "invalid_insurance_number"),
        ("insurance_number", "DN9010123456789", "invalid_insurance_number"),
        ("insurance_number", "003085012345", "invalid_insurance_number"),
    ],
    ids=[
        "short",
        "letter",
        "unknown-province",
        "born-2099",
        "short-number",
        "bad-card",
        "bad-province",
    ],
)
def test_malformed_identifiers_are_refused_without_echo(
    his: APIClient, field: str, value: str, code: str
) -> None:
    before = row_counts()

    response = his.post("/api/v1/patients", patient_body(**{field: value}), format="json")

    assert_error(response, 400, code, param=field)
    assert value not in response.content.decode()
    assert row_counts() == before


def test_cover_that_ends_before_it_starts_is_refused_with_the_patient(his: APIClient) -> None:
    before = row_counts()

    response = his.post(
        "/api/v1/patients",
        patient_body(
            citizen_id=citizen_id_new(),
            coverage={"benefit_level": 80, "valid_from": "2026-02-01", "valid_to": "2026-01-31"},
        ),
        format="json",
    )

    assert_error(response, 400, "invalid_coverage", param="valid_to")
    assert row_counts() == before


def test_a_patch_changes_only_what_it_sends(his: APIClient) -> None:
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(citizen_id=citizen_id, phone="0912345678")

    response = his.patch(f"/api/v1/patients/{patient.pk}", {"phone": "0987654321"}, format="json")

    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.phone == "0987654321"
    assert patient.citizen_id_hash == pii_hash("citizen_id", citizen_id)
    assert patient.full_name == "Nguyễn Văn An"


def test_the_his_records_how_the_patient_wants_messages_and_can_clear_it(
    his: APIClient,
) -> None:
    created = his.post("/api/v1/patients", patient_body(preferred_channel="zalo"), format="json")
    patient_id = created.json()["id"]

    changed = his.patch(
        f"/api/v1/patients/{patient_id}", {"preferred_channel": "sms"}, format="json"
    )
    cleared = his.patch(f"/api/v1/patients/{patient_id}", {"preferred_channel": ""}, format="json")
    refused = his.patch(
        f"/api/v1/patients/{patient_id}", {"preferred_channel": "fax"}, format="json"
    )

    assert created.status_code == 201, created.content
    assert created.json()["preferred_channel"] == "zalo"
    assert changed.json()["preferred_channel"] == "sms"
    assert cleared.json()["preferred_channel"] == ""
    assert_error(refused, 400, "parameter_invalid", param="preferred_channel")
    assert Patient.objects.get(pk=patient_id).preferred_channel == ""


def test_a_patch_with_a_malformed_citizen_id_changes_nothing(his: APIClient) -> None:
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(citizen_id=citizen_id, phone="0912345678")

    response = his.patch(
        f"/api/v1/patients/{patient.pk}",
        {"phone": "0987654321", "citizen_id": "12345"},
        format="json",
    )

    assert_error(response, 400, "invalid_citizen_id", param="citizen_id")
    patient.refresh_from_db()
    assert (patient.phone, patient.citizen_id_hash) == (
        "0912345678",
        pii_hash("citizen_id", citizen_id),
    )


# --- encounters ----------------------------------------------------------------------------


def encounter_body(patient: Patient, **fields: Any) -> dict[str, Any]:
    return {
        "patient_id": patient.pk,
        "his_reference": "HIS-ENC-1",
        "kind": "inpatient",
        "department": "Khoa Ngoại",
        **fields,
    }


def test_opening_an_encounter_is_idempotent_on_its_his_reference(his: APIClient) -> None:
    patient = patient_with_coverage()
    first = his.post("/api/v1/encounters", encounter_body(patient), format="json")

    retried = his.post("/api/v1/encounters", encounter_body(patient), format="json")

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert Encounter.objects.count() == 1


def test_an_encounter_reference_of_another_patient_is_refused(his: APIClient) -> None:
    his.post("/api/v1/encounters", encounter_body(patient_with_coverage()), format="json")
    other = patient_with_coverage()

    response = his.post("/api/v1/encounters", encounter_body(other), format="json")

    assert_error(response, 409, "encounter_reference_conflict", param="his_reference")
    assert not Encounter.objects.filter(patient=other).exists()


def test_an_emergency_encounter_is_on_the_emergency_route_whatever_the_his_says(
    his: APIClient,
) -> None:
    response = his.post(
        "/api/v1/encounters",
        encounter_body(patient_with_coverage(), kind="emergency", route="wrong"),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["route"] == Route.EMERGENCY


def test_an_encounter_for_an_unknown_patient_is_not_found(his: APIClient) -> None:
    patient = patient_with_coverage()
    before = row_counts()

    response = his.post(
        "/api/v1/encounters", encounter_body(patient, patient_id=patient.pk + 1000), format="json"
    )

    assert_error(response, 404, "not_found", param="id")
    assert row_counts() == before


# --- who may call --------------------------------------------------------------------------

HIS_ENDPOINTS = [
    ("post", "/api/v1/patients"),
    ("patch", "/api/v1/patients/{patient}"),
    ("post", "/api/v1/encounters"),
    ("post", "/api/v1/encounters/{encounter}/charges"),
    ("post", "/api/v1/charges/{charge}/void"),
    ("post", "/api/v1/encounters/{encounter}/invoices"),
    ("post", "/api/v1/encounters/{encounter}/discharge"),
]
NOT_THE_HIS = {
    "kiosk": DeviceKind.KIOSK,
    "cashier": Role.CASHIER,
    "supervisor": Role.SUPERVISOR,
    "accountant": Role.FINANCE,
    "admin": Role.ADMIN,
}


@pytest.mark.parametrize("caller", NOT_THE_HIS.values(), ids=list(NOT_THE_HIS))
def test_his_endpoints_refuse_every_caller_but_the_his(
    device_client: Callable[[str], tuple[APIClient, Any]],
    staff_client: Callable[[str], APIClient],
    anon_client: APIClient,
    caller: str,
) -> None:
    client = device_client(caller)[0] if caller in DeviceKind.values else staff_client(caller)
    encounter = encounter_new()
    [charge] = charges_post(encounter, (price_item(), 1))
    ids = {"patient": encounter.patient_id, "encounter": encounter.pk, "charge": charge.pk}
    body = {
        "code": "BN-X",
        "full_name": "Phạm Văn Bình",
        "patient_id": encounter.patient_id,
        "his_reference": "HIS-X",
        "kind": "outpatient",
        "department": "Khoa Nhi",
        "charges": [{"service_code": charge.service_code, "quantity": 1}],
    }
    before = row_counts()

    for method, path in HIS_ENDPOINTS:
        url = path.format(**ids)
        response = getattr(client, method)(url, body, format="json")
        assert_error(response, 403, "permission_denied")
        anonymous = getattr(anon_client, method)(url, body, format="json")
        assert_error(anonymous, 401, "authentication_required")

    assert row_counts() == before


@pytest.mark.parametrize("kind", [DeviceKind.HIS, DeviceKind.KIOSK])
def test_devices_cannot_read_or_void_invoices_on_the_staff_api(
    device_client: Callable[[str], tuple[APIClient, Any]], kind: str
) -> None:
    client = device_client(kind)[0]

    assert_error(client.get("/api/v1/invoices"), 403, "permission_denied")
    assert_error(client.get("/api/v1/invoices/1"), 403, "permission_denied")
    assert_error(
        client.post("/api/v1/invoices/1/void", {"reason": "x"}, format="json"),
        403,
        "permission_denied",
    )


# --- which rule decided each line's share (issue 12) ---------------------------------------


def issue_through_his(his: APIClient, encounter: Encounter) -> dict[str, Any]:
    response = his.post(f"/api/v1/encounters/{encounter.pk}/invoices")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_each_invoice_line_says_which_rule_decided_its_share(his: APIClient) -> None:
    day = date(2025, 3, 10)
    five_years = patient_with_coverage(benefit_level=80)
    five_years.coverages.update(five_years_from=date(2024, 1, 1))
    big = encounter_new(patient=five_years, on=day)
    charges_post(
        big,
        (price_item(price=70_000_000), 1),  # co-pay 14,000,000 of the 14,040,000 cap
        (price_item(price=1_000_000), 1),  # 40,000 left of the cap, the fund pays the rest
        (price_item(price=300_000, insurance_price=50_600, on_demand=True), 1),
        (price_item(price=250_000, insurance_price=None), 1),
    )
    small = encounter_new(patient=patient_with_coverage(benefit_level=80), on=day)
    charges_post(small, (price_item(price=60_000, insurance_price=50_000), 1))
    dear = encounter_new(patient=patient_with_coverage(benefit_level=80), on=day)
    charges_post(dear, (price_item(price=600_000, insurance_price=500_000), 1))
    wrong = encounter_new(
        patient=patient_with_coverage(benefit_level=80), kind="inpatient", route=Route.WRONG, on=day
    )
    charges_post(wrong, (price_item(price=321_000), 1))

    lines = [
        (line["rule"], line["insurance_share"], line["patient_share"])
        for encounter in (big, small, dear, wrong)
        for line in issue_through_his(his, encounter)["lines"]
    ]

    assert lines == [
        ("in_scope", 56_000_000, 14_000_000),
        ("cap_reached", 960_000, 40_000),
        ("on_demand", 50_600, 249_400),  # past the cap the fund pays the insured price
        ("out_of_scope", 0, 250_000),
        ("below_threshold", 50_000, 10_000),  # 100 % of the insured 50,000
        ("above_insured_price", 400_000, 200_000),
        ("wrong_route", 256_800, 64_200),
    ]


def test_the_openapi_schema_documents_the_rule_codes(anon_client: APIClient) -> None:
    schemas = anon_client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()["components"]["schemas"]
    line = schemas["InvoiceLineOutput"]["properties"]

    assert {"$ref": "#/components/schemas/ShareRuleEnum"} in line["rule"]["oneOf"]
    assert set(schemas["ShareRuleEnum"]["enum"]) == {
        "in_scope",
        "below_threshold",
        "cap_reached",
        "on_demand",
        "out_of_scope",
        "above_insured_price",
        "wrong_route",
    }
    assert "wrong-route ratio" in line["rule"]["description"]
    assert "adjustment" in line["kind"]["description"]
    assert set(schemas["InvoiceLineOutputKindEnum"]["enum"]) == {"charge", "adjustment"}
