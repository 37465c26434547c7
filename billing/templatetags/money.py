"""``{% load money %}``: amounts in templates as Vietnamese readers expect them."""

from __future__ import annotations

from django import template

from billing.money import format_vnd

register = template.Library()


@register.filter
def vnd(amount: int | None) -> str:
    """``1234567`` -> ``1.234.567 ₫`` (whole dong, dots between thousands)."""
    if amount is None:
        return ""
    return format_vnd(int(amount))
