"""Load a demo hospital: staff in every role, a kiosk and the HIS as devices, an opening
cash float. Credentials are printed once and kept in ``.demo-credentials.json`` (git-ignored)
for the walk-through."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from billing.models import Device, DeviceKind, Role
from billing.money import Money
from billing.services.identity import device_create, staff_create
from billing.services.ledger import Posting, ledger_post

CREDENTIALS_FILE = Path(settings.BASE_DIR) / ".demo-credentials.json"

STAFF = [
    ("thu.ngan", Role.CASHIER, "Nguyễn Thị Thu Ngân"),
    ("giam.sat", Role.SUPERVISOR, "Trần Văn Giám"),
    ("ke.toan", Role.FINANCE, "Lê Thị Kế Toán"),
    ("quan.tri", Role.ADMIN, "Phạm Quản Trị"),
]
DEVICES = [("kiosk-sanh-a", DeviceKind.KIOSK), ("his-main", DeviceKind.HIS)]


class Command(BaseCommand):
    help = "Load the demo hospital into an empty database and print its credentials."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if Device.objects.exists():
            self.stdout.write("Demo data is already loaded; start from an empty database.")
            return
        credentials: dict[str, Any] = {"staff": {}, "devices": {}}
        self.stdout.write(self.style.MIGRATE_HEADING(f"Demo hospital: {settings.HOSPITAL_NAME}"))
        self.stdout.write("Staff (username / role / password):")
        for username, role, full_name in STAFF:
            _, password = staff_create(username=username, role=role, full_name=full_name)
            credentials["staff"][role] = {"username": username, "password": password}
            self.stdout.write(f"  {username:<12} {role:<11} {password}")
        self.stdout.write("Devices (send as 'Authorization: Device <key>'):")
        for name, kind in DEVICES:
            _, key = device_create(kind=kind, name=name)
            credentials["devices"][kind] = {"name": name, "key": key}
            self.stdout.write(f"  {name:<12} {kind:<6} {key}")
        ledger_post(
            posting_key="demo:opening-float",
            lines=[
                Posting.dr("1111", Money(20_000_000, "VND")),
                Posting.cr("4111", Money(20_000_000, "VND")),
            ],
            source_type="manual",
            memo="Quỹ tiền mặt đầu kỳ (opening cash in the main safe)",
        )
        CREDENTIALS_FILE.write_text(json.dumps(credentials, indent=2))
        CREDENTIALS_FILE.chmod(0o600)
