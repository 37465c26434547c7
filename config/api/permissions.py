"""Role checks on API views: staff by their roles (``config.identity.selectors.staff_roles``),
devices by their kind."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.identity.models import Device, DeviceKind, Role
from config.identity.selectors import staff_roles


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
