"""The morning peak at a kiosk hall (locust): a patient looks the bill up, pays it by VietQR,
the bank feed (SePay) reports the transfer, the kiosk polls for the receipt. A client
retries a refused or failed request with the same Idempotency-Key, as a kiosk does.

Reads its invoices and kiosk key from ``LOAD_SEED`` (written by seed.py)."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from datetime import datetime

from locust import HttpUser, between, task

SEED = json.load(open(os.environ["LOAD_SEED"]))  # noqa: SIM115 - read once at start
_bills = itertools.cycle(SEED["bills"][int(os.environ.get("LOAD_OFFSET", "0")) :])
_lock = threading.Lock()
SEPAY_KEY = os.environ["SEPAY_API_KEY"]
ACCOUNT = os.environ.get("VIETQR_ACCOUNT", "0011001234567")
RETRIES = 8


def _next_bill() -> dict:
    with _lock:
        return next(_bills)


class KioskPatient(HttpUser):
    wait_time = between(1, 3)

    def _retrying(self, name: str, method: str, url: str, **kwargs):
        for attempt in range(RETRIES):
            with self.client.request(method, url, name=name, catch_response=True, **kwargs) as r:
                if r.status_code >= 500 or r.status_code == 0:
                    retry_after = float(r.headers.get("Retry-After", "1") or 1)
                    r.failure(f"{r.status_code}")
                    time.sleep(min(retry_after, 2) * (attempt + 1) / 2)
                    continue
                r.success()
                return r
        return None

    @task
    def pay_at_the_kiosk(self) -> None:
        bill = _next_bill()
        kiosk = {"Authorization": SEED["kiosk"]}
        self._retrying(
            "kiosk lookup",
            "POST",
            "/api/v1/kiosk/lookup",
            json={"patient_code": bill["patient_code"]},
            headers=kiosk,
        )
        key = f"load-{uuid.uuid4().hex}"
        created = self._retrying(
            "payment create (vietqr)",
            "POST",
            "/api/v1/payments",
            json={"invoice_id": bill["invoice_id"], "amount": bill["amount"], "method": "vietqr"},
            headers={**kiosk, "Idempotency-Key": key},
        )
        if created is None or created.status_code != 201:
            return
        payment = created.json()
        memo = payment["next_action"]["memo_code"]
        reference = f"FT{uuid.uuid4().hex[:12].upper()}"
        feed = {
            "id": uuid.uuid4().int % 10**9,
            "gateway": "Vietcombank",
            "transactionDate": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "accountNumber": ACCOUNT,
            "code": memo,
            "content": f"{memo} thanh toan vien phi",
            "transferType": "in",
            "transferAmount": bill["amount"],
            "referenceCode": reference,
        }
        self._retrying(
            "bank feed webhook (sepay)",
            "POST",
            "/webhooks/bank/sepay",
            json=feed,
            headers={"Authorization": f"Apikey {SEPAY_KEY}"},
        )
        for _ in range(10):
            receipt = self._retrying(
                "receipt poll", "GET", f"/api/v1/payments/{payment['id']}/receipt", headers=kiosk
            )
            if receipt is not None and receipt.status_code == 200:
                return
            time.sleep(0.5)
