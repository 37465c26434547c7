"""A staff user's roles. Their roles are their groups; ``admin`` holds every role and a
``supervisor`` can do what a ``cashier`` can. Devices have a kind instead of a role."""

from __future__ import annotations

from typing import Any

from config.identity.models import Device, Role

_IMPLIED: dict[str, set[str]] = {
    Role.ADMIN: set(Role.values),
    Role.SUPERVISOR: {Role.SUPERVISOR, Role.CASHIER},
    Role.FINANCE: {Role.FINANCE},
    Role.CASHIER: {Role.CASHIER},
    Role.AUDITOR: {Role.AUDITOR},
}


def staff_roles(user: Any) -> set[str]:
    """The roles ``user`` holds (implied ones included); none for a device or anonymous.
    Read once per user object and kept on it."""
    if isinstance(user, Device) or user is None or not getattr(user, "is_authenticated", False):
        return set()
    cached: set[str] | None = getattr(user, "_vienphi_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = set().union(*(_IMPLIED.get(name, set()) for name in names))
        user._vienphi_roles = cached
    return cached
