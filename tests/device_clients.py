"""An API client that knows the device it authenticates as (``Authorization: Device …``), so
a builder can act as that device would: a kiosk looks the patient up before it pays."""

from __future__ import annotations

from rest_framework.test import APIClient

from config.identity.models import Device, DeviceKind


class DeviceClient(APIClient):
    def __init__(self, device: Device, key: str) -> None:
        super().__init__()
        self.device = device
        self.credentials(HTTP_AUTHORIZATION=f"Device {key}")

    @property
    def is_kiosk(self) -> bool:
        return self.device.kind == DeviceKind.KIOSK
