"""Citizen IDs and BHYT identifiers : validated, hashed with a key, masked,
and never kept in clear."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.db import connection
from django.test import override_settings

from billing.errors import InvalidCitizenId, InvalidInsuranceNumber
from billing.identifiers import citizen_id_normalize, insurance_id_parse, mask, mask_name, pii_hash
from billing.models import InsuranceIdKind, Patient
from billing.selectors.patients import patient_by_identifier
from tests.billing.builders import citizen_id_new, patient_with_coverage

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    "value",
    [
        "001085012345",  # Hà Nội, born 1985
        "079199000001",  # HCMC, born 1999
        "031205123456",  # Hải Phòng, born 2005 (century digit 2)
        "048326654321",  # Đà Nẵng, born 2026 (century digit 3): this year is not the future
        "001 085 012 345",  # as printed on the card
    ],
)
def test_valid_citizen_ids_are_accepted_as_twelve_digits(value: str) -> None:
    assert citizen_id_normalize(value, today=TODAY) == value.replace(" ", "")


@pytest.mark.parametrize(
    "value",
    [
        "00108501234",  # 11 digits
        "0010850123456",  # 13 digits
        "00108501234A",  # a letter
        "",
        "003085012345",  # 003 is no province
        "099085012345",  # nor is 099
        "001227012345",  # born 2027: the future
        "001485012345",  # century digit 4 = the 2100s
    ],
)
def test_malformed_citizen_ids_are_refused(value: str) -> None:
    with pytest.raises(InvalidCitizenId) as raised:
        citizen_id_normalize(value, today=TODAY)

    assert raised.value.code == "invalid_citizen_id"
    assert raised.value.param == "citizen_id"
    if value:
        assert value not in raised.value.message


def test_a_citizen_id_is_masked_to_its_first_and_last_three_digits() -> None:
    assert mask("001085012345") == "001******345"


def test_a_name_is_masked_to_initials_and_the_given_name() -> None:
    assert mask_name("Nguyễn Văn An") == "N. V. An"
    assert mask_name("Trần Thị Thu Hà") == "T. T. T. Hà"


@pytest.mark.parametrize(
    ("value", "kind", "lookup_key", "masked", "benefit_level"),
    [
        ("001085012345", InsuranceIdKind.CITIZEN_ID, "001085012345", "001******345", None),
        ("0123456789", InsuranceIdKind.SOCIAL_INSURANCE, "0123456789", "012****789", None),
        (
            "DN4010123456789",
            InsuranceIdKind.LEGACY_CARD,
            "0123456789",
            "DN401*******789",
            80,
        ),
        ("dn4-01-0123456789", InsuranceIdKind.LEGACY_CARD, "0123456789", "DN401*******789", 80),
    ],
)
def test_the_three_insurance_identifier_forms_are_parsed(
    value: str, kind: str, lookup_key: str, masked: str, benefit_level: int | None
) -> None:
    parsed = insurance_id_parse(value)

    assert (parsed.kind, parsed.lookup_key, parsed.masked, parsed.benefit_level) == (
        kind,
        lookup_key,
        masked,
        benefit_level,
    )


@pytest.mark.parametrize(
    ("card", "benefit_level"),
    [
        ("CC1010123456789", 100),
        ("TE2010123456789", 100),
        ("HN3010123456789", 95),
        ("DN4010123456789", 80),
        ("CB5010123456789", 100),
    ],
)
def test_a_legacy_card_carries_its_benefit_level_in_the_third_character(
    card: str, benefit_level: int
) -> None:
    assert insurance_id_parse(card).benefit_level == benefit_level


@pytest.mark.parametrize(
    "value",
    [
        "012345678",  # 9 digits
        "01234567890",  # 11 digits
        "DN6010123456789",  # benefit code 6 does not exist
        "D14010123456789",  # two letters first
        "DN401012345678",  # 14 characters
        "003085012345",  # 12 digits but no such province
        "ABCDEFGHIJ",
    ],
)
def test_malformed_insurance_numbers_are_refused(value: str) -> None:
    with pytest.raises(InvalidInsuranceNumber) as raised:
        insurance_id_parse(value)

    assert raised.value.code == "invalid_insurance_number"
    assert raised.value.param == "insurance_number"


def test_the_identifier_hash_is_keyed() -> None:
    digest = pii_hash("citizen_id", "001085012345")

    assert digest != hashlib.sha256(b"001085012345").hexdigest()
    assert digest != hashlib.sha256(b"citizen_id:001085012345").hexdigest()
    with override_settings(PII_HASH_KEY="another-installation"):
        assert pii_hash("citizen_id", "001085012345") != digest


@pytest.mark.django_db
def test_the_citizen_id_is_in_no_column_of_the_patient_row() -> None:
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(
        citizen_id=citizen_id, insurance_number=citizen_id, phone="0912345678"
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM billing_patient WHERE id = %s", [patient.pk])
        columns = [column.name for column in cursor.description]
        row = dict(zip(columns, cursor.fetchone(), strict=True))
    assert row["citizen_id_masked"] == mask(citizen_id)
    assert row["insurance_id_masked"] == mask(citizen_id)
    for column, value in row.items():
        assert citizen_id not in str(value), f"the citizen ID is readable in {column}"


@pytest.mark.django_db
def test_a_patient_is_found_by_the_hash_of_each_identifier() -> None:
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(citizen_id=citizen_id, insurance_number="DN4010123456789")
    patient_with_coverage(citizen_id=citizen_id_new())  # someone else

    found = [
        patient_by_identifier(identifier_kind="citizen_id", value=citizen_id),
        patient_by_identifier(
            identifier_kind="citizen_id", value=f" {citizen_id[:6]} {citizen_id[6:]}"
        ),
        patient_by_identifier(identifier_kind="insurance_number", value="DN4010123456789"),
        # The card's last ten characters are the social-insurance number.
        patient_by_identifier(identifier_kind="insurance_number", value="0123456789"),
        patient_by_identifier(identifier_kind="patient_code", value=patient.code),
    ]

    assert found == [patient] * 5
    assert Patient.objects.get(pk=patient.pk).citizen_id_hash == pii_hash("citizen_id", citizen_id)
    assert patient_by_identifier(identifier_kind="citizen_id", value="079199000001") is None
