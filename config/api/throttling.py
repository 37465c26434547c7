"""Throttles whose rate follows the settings at request time.

DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute when it is imported, so a
changed setting (or a test's override) would be ignored."""

from __future__ import annotations

from typing import cast

from rest_framework.settings import api_settings


class RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES[self.scope])
