"""Load a demo hospital: staff in every role, a kiosk and the HIS as devices, an opening
cash float, a price list and a few patients. Credentials are printed once and kept in
``.demo-credentials.json`` (git-ignored) for the walk-through. The patients and their
citizen IDs are invented."""

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import SYSTEM_RECORDER, PriceListItem, ServiceCategory, VatRate, VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from billing.services.patients import patient_create
from config.identity.models import Device, DeviceKind, Role
from config.identity.services import device_create, staff_create
from payments.services.cashier.terminals import terminal_create

CREDENTIALS_FILE = Path(
    os.environ.get("DEMO_CREDENTIALS_FILE") or Path(settings.BASE_DIR) / ".demo-credentials.json"
)

STAFF = [
    ("thu.ngan", Role.CASHIER, "Nguyễn Thị Thu Ngân"),
    ("giam.sat", Role.SUPERVISOR, "Trần Văn Giám"),
    ("ke.toan", Role.FINANCE, "Lê Thị Kế Toán"),
    ("quan.tri", Role.ADMIN, "Phạm Quản Trị"),
]
DEVICES = [("kiosk-sanh-a", DeviceKind.KIOSK), ("his-main", DeviceKind.HIS)]

# (code, name, unit, category, price, insurance price or None, on demand, VAT)
PRICE_LIST = [
    (
        "KB01",
        "Khám bệnh nội khoa",
        "lần",
        ServiceCategory.EXAMINATION,
        50_600,
        50_600,
        False,
        VatRate.KCT,
    ),
    (
        "KB-YC",
        "Khám theo yêu cầu (giáo sư)",
        "lần",
        ServiceCategory.EXAMINATION,
        500_000,
        None,
        True,
        VatRate.KCT,
    ),
    (
        "XN-CTM",
        "Tổng phân tích tế bào máu ngoại vi",
        "lần",
        ServiceCategory.LAB,
        46_200,
        46_200,
        False,
        VatRate.KCT,
    ),
    (
        "XN-SH",
        "Xét nghiệm sinh hoá máu (8 chỉ số)",
        "lần",
        ServiceCategory.LAB,
        168_000,
        168_000,
        False,
        VatRate.KCT,
    ),
    (
        "CDHA-XQ",
        "Chụp X-quang ngực thẳng",
        "lần",
        ServiceCategory.IMAGING,
        65_400,
        65_400,
        False,
        VatRate.KCT,
    ),
    (
        "CDHA-CT",
        "Chụp CT sọ não không tiêm thuốc",
        "lần",
        ServiceCategory.IMAGING,
        536_000,
        536_000,
        False,
        VatRate.KCT,
    ),
    (
        "GB-NOI",
        "Ngày giường bệnh nội khoa",
        "ngày",
        ServiceCategory.BED_DAY,
        321_000,
        321_000,
        False,
        VatRate.KCT,
    ),
    (
        "T-PARA",
        "Paracetamol 500mg",
        "viên",
        ServiceCategory.DRUG,
        1_050,
        1_000,
        False,
        VatRate.FIVE,
    ),
]

# (code, full name, citizen ID, insurance identifier, benefit level or None)
PATIENTS = [
    ("BN0001", "Nguyễn Thị Hồng Nhung", "001190012345", "DN4010012345678", 80),
    ("BN0002", "Trần Văn Đức", "001085098765", "001085098765", 100),
    ("BN0003", "Lê Hoàng Yến", "079301234567", "", None),
]
# The first patient left a phone and an e-mail (invented): she gets the pay-link SMS and
# the receipt link (console SMS backend: the number is logged masked).
CONTACTS = {"BN0001": {"phone": "0912000001", "email": "nhung.demo@example.vn"}}


class Command(BaseCommand):
    help = "Load the demo hospital into an empty database and print its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=CREDENTIALS_FILE,
            help=f"where the walk-through finds the credentials (default {CREDENTIALS_FILE})",
        )

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
                Posting.dr(account_for(AccountRole.MAIN_SAFE), Money(20_000_000, "VND")),
                Posting.cr(account_for(AccountRole.OWNER_EQUITY), Money(20_000_000, "VND")),
            ],
            source_type="manual",
            memo=memos.opening_cash(),
            voucher_type=VoucherType.OTHER,
            voucher_number="demo:opening",
            recorded_by=SYSTEM_RECORDER,
        )
        terminal = terminal_create(code="Q01", name="Quầy thu ngân 1")
        credentials["terminal"] = terminal.code
        self.stdout.write(
            f"Cashier terminal: {terminal.code} (drawer account {terminal.cash_account.code}); "
            f"{STAFF[0][0]} opens a session on it with POST /api/v1/cashier/sessions."
        )
        for code, name, unit, category, price, insurance, on_demand, vat in PRICE_LIST:
            PriceListItem.objects.create(
                service_code=code,
                name=name,
                unit=unit,
                category=category,
                price=price,
                insurance_price=insurance,
                on_demand=on_demand,
                vat_rate=vat,
                effective_from=date(2024, 7, 1),
            )
        self.stdout.write(f"Price list: {len(PRICE_LIST)} services.")
        self.stdout.write("Patients (invented; code / citizen ID / insurance):")
        year = timezone.localdate().year
        credentials["patients"] = []
        for code, full_name, citizen_id, insurance_number, level in PATIENTS:
            coverage = (
                {
                    "benefit_level": level,
                    "valid_from": date(year, 1, 1),
                    "valid_to": date(year, 12, 31),
                }
                if level
                else None
            )
            patient = patient_create(
                code=code,
                full_name=full_name,
                citizen_id=citizen_id,
                insurance_number=insurance_number,
                coverage=coverage,
                **CONTACTS.get(code, {}),
            )
            credentials["patients"].append(
                {"id": patient.pk, "code": code, "citizen_id": citizen_id}
            )
            self.stdout.write(
                f"  {code}  {citizen_id}  {insurance_number or '-':<16} "
                f"{f'BHYT {level}%' if level else 'no insurance'}"
            )
        credentials_file: Path = options["credentials_file"]
        credentials_file.write_text(json.dumps(credentials, indent=2))
        credentials_file.chmod(0o600)
