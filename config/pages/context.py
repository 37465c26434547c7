"""Context every patient page gets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def hospital(request: HttpRequest) -> dict[str, str]:
    return {"hospital_name": settings.HOSPITAL_NAME}
