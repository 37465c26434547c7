"""Date and date-time input fields with bounds, for every date the API accepts.

A date far outside any hospital's business (0001-01-01, 9999-12-31, an encounter opened in
1579) is a mistake or an attack: refused with ``400 parameter_invalid`` before it reaches
arithmetic that overflows (``date.max + 1 day``) or a zone whose old local offsets are not
whole minutes (Asia/Ho_Chi_Minh kept +07:06:30 until 1911, which ISO 8601 cannot write).
An empty value (``?to=``) is refused too, rather than read as "not given".

Bounds: ``API_EARLIEST_DATE`` (birth dates, coverage), ``API_EARLIEST_DATETIME`` (moments:
encounters, services, report cut-offs) and ``API_LATEST_DATE`` (both), in the settings.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty


def _refuse_outside(value: datetime.date, earliest: datetime.date) -> None:
    latest = settings.API_LATEST_DATE
    if not earliest <= value <= latest:
        raise serializers.ValidationError(
            f"Must be between {earliest.isoformat()} and {latest.isoformat()}.", code="invalid"
        )


class _EmptyIsInvalid:
    """DRF reads ``?name=`` (and a form's empty field) as "not given" when the field is not
    required; an empty value is a malformed one here."""

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)  # type: ignore[misc]
        name = self.field_name  # type: ignore[attr-defined]
        if value is empty and name in dictionary and dictionary[name] == "":
            return ""
        return value


class DateField(_EmptyIsInvalid, serializers.DateField):
    def to_internal_value(self, value: Any) -> datetime.date:
        parsed = super().to_internal_value(value)
        _refuse_outside(parsed, settings.API_EARLIEST_DATE)
        return parsed


class DateTimeField(_EmptyIsInvalid, serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> datetime.datetime:
        parsed = super().to_internal_value(value)
        _refuse_outside(parsed.date(), settings.API_EARLIEST_DATETIME)
        return parsed


def day_within_bounds(value: datetime.date | None) -> None:
    """A django-filter validator: a date filter within the API's bounds."""
    if value is not None:
        _validate_for_forms(value, settings.API_EARLIEST_DATE)


def moment_within_bounds(value: datetime.datetime | None) -> None:
    """A django-filter validator: a date-time filter within the API's bounds."""
    if value is not None:
        _validate_for_forms(value.date(), settings.API_EARLIEST_DATETIME)


def _validate_for_forms(value: datetime.date, earliest: datetime.date) -> None:
    latest = settings.API_LATEST_DATE
    if not earliest <= value <= latest:
        raise DjangoValidationError(
            f"Must be between {earliest.isoformat()} and {latest.isoformat()}.", code="invalid"
        )
