"""Role checks. A staff user's roles are their groups; ``admin`` holds every role and a
``supervisor`` can do what a ``cashier`` can. Devices have a kind instead of a role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from billing.models import Device, DeviceKind, Role

_IMPLIED: dict[str, set[str]] = {
    Role.ADMIN: set(Role.values),
    Role.SUPERVISOR: {Role.SUPERVISOR, Role.CASHIER},
    Role.FINANCE: {Role.FINANCE},
    Role.CASHIER: {Role.CASHIER},
}


def staff_roles(user: Any) -> set[str]:
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


class RolePermission(BasePermission):
    """Allows staff holding any of ``roles`` and devices of any of ``device_kinds``."""

    roles: frozenset[str] = frozenset()
    device_kinds: frozenset[str] = frozenset()
    message = "Your role does not allow this operation."
    code = "forbidden"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, Device):
            return user.kind in self.device_kinds
        return bool(staff_roles(user) & self.roles)


def allow(*, roles: tuple[str, ...] = (), devices: tuple[str, ...] = ()) -> type[RolePermission]:
    """``permission_classes = [allow(roles=(Role.FINANCE,))]``."""
    label = "_".join([*roles, *devices]) or "nobody"
    return type(
        f"Allow_{label}",
        (RolePermission,),
        {"roles": frozenset(roles), "device_kinds": frozenset(devices)},
    )


IsFinance = allow(roles=(Role.FINANCE,))
IsCashier = allow(roles=(Role.CASHIER,))
IsSupervisor = allow(roles=(Role.SUPERVISOR,))
IsAdmin = allow(roles=(Role.ADMIN,))
IsKiosk = allow(devices=(DeviceKind.KIOSK,))
IsHis = allow(devices=(DeviceKind.HIS,))
