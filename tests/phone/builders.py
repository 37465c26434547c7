"""Bills as a patient's phone sees them: an issued invoice with insurance and several
lines, and the pay link the SMS carries."""

from __future__ import annotations

from billing.models import Invoice
from billing.services.invoices import invoice_issue
from payments.paylinks import pay_link_token
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item


def clinic_bill(*, benefit_level: int | None = 80, full_name: str = "Nguyễn Thị Bình") -> Invoice:
    """An outpatient visit: an examination and a blood test twice (in BHYT scope, above the
    low-cost threshold) and an ultrasound out of scope. At 80 %: 150,000 + 2 x 125,000 in
    scope (the fund pays 320,000), 280,000 out of scope; the patient owes
    80,000 + 280,000 = 360,000."""
    patient = patient_with_coverage(benefit_level=benefit_level, full_name=full_name)
    encounter = encounter_new(patient=patient)
    exam = price_item(name="Khám bệnh Nội khoa", price=150_000)
    blood = price_item(name="Xét nghiệm công thức máu", price=125_000)
    scan = price_item(name="Siêu âm ổ bụng (theo yêu cầu)", price=280_000, insurance_price=None)
    charges_post(encounter, (exam, 1), (blood, 2), (scan, 1))
    return invoice_issue(encounter=encounter, issued_by="test")


def pay_path(invoice: Invoice) -> str:
    """The path of the link the SMS carries."""
    return f"/p/{pay_link_token(invoice=invoice)}"
