"""Seeds the load run's database: invoices owed by patients (one per simulated patient), a
kiosk device; writes their ids and the kiosk's key to the file given (never committed)."""

from __future__ import annotations

import json
import sys

import django


def main(path: str, count: int) -> None:
    django.setup()
    from bench.payments_http import bills_issue, kiosk_authorization
    from billing.models import Invoice

    bills = bills_issue(count)
    _, kiosk = kiosk_authorization()
    codes = dict(
        Invoice.objects.filter(pk__in=[b.invoice_id for b in bills]).values_list(
            "pk", "encounter__patient__code"
        )
    )
    seed = {
        "kiosk": kiosk,
        "bills": [
            {"invoice_id": b.public_id, "amount": b.amount, "patient_code": codes[b.invoice_id]}
            for b in bills
        ],
    }
    with open(path, "w") as out:
        json.dump(seed, out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
