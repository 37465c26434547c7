"""The default chart of accounts (Vietnamese numbering, Circular 200/2014/TT-BTC) and the
staff role groups."""

from django.db import migrations

# (code, Vietnamese name (English), type)
CHART = [
    ("1111", "Tiền mặt tại quỹ chính (main cash safe)", "asset"),
    ("1121", "Tiền gửi ngân hàng - tài khoản thu (bank, receiving account)", "asset"),
    ("1131", "Tiền đang chuyển - Stripe (card clearing)", "asset"),
    ("1132", "Tiền đang chuyển - VietQR/NAPAS 247 (bank-transfer clearing)", "asset"),
    ("1311", "Phải thu người bệnh (receivable from patients)", "asset"),
    ("1312", "Phải thu Quỹ BHYT (receivable from the health-insurance fund)", "asset"),
    ("1381", "Tiền mặt thừa/thiếu chờ xử lý (cash over/short)", "asset"),
    ("3331", "Thuế GTGT phải nộp (output VAT payable)", "liability"),
    ("33881", "Tạm ứng của người bệnh (patient advance deposits)", "liability"),
    ("33882", "Phải trả người bệnh - hoàn ứng (refunds owed to patients)", "liability"),
    ("4111", "Vốn góp của chủ sở hữu (owner's equity)", "equity"),
    ("5111", "Doanh thu bán thuốc (pharmacy revenue)", "revenue"),
    ("5113", "Doanh thu dịch vụ khám chữa bệnh (medical service revenue)", "revenue"),
    ("6427", "Chi phí dịch vụ mua ngoài - phí thanh toán (payment provider fees)", "expense"),
]

ROLES = ["cashier", "supervisor", "finance", "admin"]


def load(apps, schema_editor):
    Account = apps.get_model("billing", "Account")
    for code, name, account_type in CHART:
        Account.objects.update_or_create(
            code=code, defaults={"name": name, "type": account_type, "currency": "VND"}
        )
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_ledger_triggers"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
