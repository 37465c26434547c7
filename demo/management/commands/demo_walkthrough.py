"""Walk through vienphi over real HTTP against a running server, then keep serving.

The demo spans every app, so it lives in its own app at the top of the dependency chain
(demo → notifications → payments → billing → config).

With ``--serve HOST:PORT`` it starts the development server itself, walks through, and
stays in the foreground until Ctrl-C. It uses only the public API and the credentials that
``seed_demo`` printed.
"""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.management.commands.seed_demo import CREDENTIALS_FILE
from payments.providers.bank_feeds import casso_signature_header


class Walk:
    def __init__(self, base: str, out: Any) -> None:
        self.base = base
        self.out = out
        self.http = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        auth: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        response = self.http.request(
            method,
            self.base + path,
            headers={"Authorization": auth, **(headers or {})},
            timeout=10,
            **kwargs,
        )
        self.out.write(f"  {method} {path} -> {response.status_code}")
        if response.status_code >= 500:
            raise CommandError(f"{path} answered {response.status_code}: {response.text[:300]}")
        return response

    def step(self, title: str) -> None:
        self.out.write(f"\n== {title}")


def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(60):
        if server.poll() is not None:
            raise CommandError("The server exited before it became healthy.")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise CommandError("The server did not become healthy within 30 s.")


class Command(BaseCommand):
    help = "Walk through the demo over HTTP (optionally serving the API first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--serve", metavar="HOST:PORT", help="start the server here first")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=CREDENTIALS_FILE,
            help=f"the credentials seed_demo kept (default {CREDENTIALS_FILE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        server = None
        base = options["base_url"]
        if options["serve"]:
            base = f"http://{options['serve']}"
            server = subprocess.Popen(  # noqa: S603 - our own manage.py
                [
                    sys.executable,
                    "manage.py",
                    "runserver",
                    "--noreload",
                    "--insecure",
                    options["serve"],
                ]
            )
            _wait_healthy(base, server)
        try:
            self.walk(base, options["credentials_file"])
            if server is not None:
                self.stdout.write(
                    f"\nvienphi is serving on {base}  (API docs: {base}/api/docs/, admin: "
                    f"{base}/admin/). Ctrl-C stops it."
                )
                server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None and server.poll() is None:
                server.terminate()
                server.wait(timeout=10)

    def show_receipt(self, walk: Walk, payment_id: str, kiosk: str) -> None:
        walk.step("The receipt: issued after commit, numbered gap-free, printed at the kiosk")
        receipt = walk.call("GET", f"/api/v1/payments/{payment_id}/receipt", auth=kiosk).json()
        content = receipt["content"]
        self.stdout.write(
            f"  {content['title']} {receipt['number']} (form {receipt['form']}, symbol "
            f"{receipt['symbol']}, no. {receipt['serial']:08d}) of {content['issued_on']}"
        )
        self.stdout.write(f"  {receipt['amount']:,} VND: {content['amount_in_words']}")
        self.stdout.write(
            f"  addressed as /api/v1/receipts/{receipt['id']} (a random public id, not a "
            "number: no caller can count its way to another patient's receipt)"
        )
        for line in content["invoice"]["lines"][:3]:
            self.stdout.write(
                f"  {line['name'][:30]:<30} {line['amount']:>9,} VAT {line['vat']:<3} "
                f"BHYT {line['insurance_share']:>9,} patient {line['patient_share']:>8,}"
            )
        pdf = walk.call("GET", f"/api/v1/receipts/{receipt['id']}.pdf?layout=thermal", auth=kiosk)
        folder = getattr(storages["receipts"], "location", "the receipts storage")
        self.stdout.write(
            f"  80 mm PDF: {len(pdf.content):,} bytes from {receipt['pdf_url']} "
            f"(stored under {folder})"
        )
        for message in receipt["messages"]:
            self.stdout.write(
                f"  {message['channel']} to {message['recipient']}: {message['status']}"
            )
        public = walk.http.get(content["verification_url"], timeout=10)
        self.stdout.write(
            f"  the QR code opens {content['verification_url']} -> {public.status_code} "
            f"(no name or ID on it: {content['buyer']['name'] not in public.text})"
        )

    def walk(self, base: str, credentials_file: Path = CREDENTIALS_FILE) -> None:
        credentials = json.loads(credentials_file.read_text())
        walk = Walk(base, self.stdout)
        finance = credentials["staff"]["finance"]

        walk.step("Finance logs in and gets an API token")
        response = walk.http.post(
            base + "/api/v1/auth/token",
            json={"username": finance["username"], "password": finance["password"]},
            timeout=10,
        )
        response.raise_for_status()
        token = f"Token {response.json()['token']}"
        self.stdout.write(f"  roles: {response.json()['roles']}")

        his = f"Device {credentials['devices']['his']['key']}"
        kiosk = f"Device {credentials['devices']['kiosk']['key']}"
        patient = credentials["patients"][0]

        walk.step("The HIS opens an outpatient visit and posts what was done")
        encounter = walk.call(
            "POST",
            "/api/v1/encounters",
            auth=his,
            json={
                "patient_id": patient["id"],
                "his_reference": f"KCB-{int(time.time())}",
                "kind": "outpatient",
                "department": "Khoa Nội tổng hợp",
            },
        ).json()
        charges = [("KB01", 1), ("XN-CTM", 1), ("XN-SH", 1), ("CDHA-CT", 1), ("T-PARA", 10)]
        walk.call(
            "POST",
            f"/api/v1/encounters/{encounter['id']}/charges",
            auth=his,
            json={"charges": [{"service_code": c, "quantity": q} for c, q in charges]},
        )
        bad = walk.call(
            "POST",
            f"/api/v1/encounters/{encounter['id']}/charges",
            auth=his,
            json={"charges": [{"service_code": "NO-SUCH", "quantity": 1}]},
        ).json()
        self.stdout.write(f"  a typo is refused, nothing written: {bad['error']['code']}")

        walk.step("The HIS issues the invoice: BHYT 80 % pays its share, the patient the rest")
        invoice = walk.call(
            "POST", f"/api/v1/encounters/{encounter['id']}/invoices", auth=his
        ).json()
        for line in invoice["lines"]:
            self.stdout.write(
                f"  {line['name'][:34]:<34} {line['amount']:>9,} = BHYT "
                f"{line['insurance_share']:>9,} + patient {line['patient_share']:>8,}"
            )
        self.stdout.write(
            f"  invoice {invoice['number']}: total {invoice['total']:,} VND, insurance "
            f"{invoice['insurance_share']:,}, patient owes {invoice['amount_due']:,}"
        )

        walk.step("At the kiosk the patient taps the citizen ID card")
        found = walk.call(
            "POST",
            "/api/v1/kiosk/lookup",
            auth=kiosk,
            json={"citizen_id": patient["citizen_id"]},
        ).json()
        self.stdout.write(
            f"  {found['masked_name']}: {len(found['invoices'])} open invoice(s), "
            f"{found['amount_due']:,} VND to pay"
        )

        walk.step("The patient chooses VietQR: the kiosk shows a bank-transfer QR code")
        payment = walk.call(
            "POST",
            "/api/v1/payments",
            auth=kiosk,
            headers={"Idempotency-Key": f"demo-{invoice['id']}-1"},
            json={"invoice_id": invoice["id"], "amount": invoice["amount_due"], "method": "vietqr"},
        ).json()
        action = payment["next_action"]
        self.stdout.write(f"  payment {payment['id']}: {payment['status']}")
        self.stdout.write(f"  QR payload: {action['payload']}")
        self.stdout.write(f"  memo code {action['memo_code']}, image {action['image_png_url']}")
        replay = walk.call(
            "POST",
            "/api/v1/payments",
            auth=kiosk,
            headers={"Idempotency-Key": f"demo-{invoice['id']}-1"},
            json={"invoice_id": invoice["id"], "amount": invoice["amount_due"], "method": "vietqr"},
        )
        self.stdout.write(
            f"  a double tap replays the same answer: {replay.json()['id'] == payment['id']}"
            f" (Idempotent-Replayed: {replay.headers.get('Idempotent-Replayed')})"
        )

        walk.step("The bank transfer arrives: Casso's signed webhook confirms it")
        transfer = {
            "error": 0,
            "data": {
                "id": int(time.time()),
                "reference": f"FT{int(time.time())}",
                "description": f"MBVCB.3278907687.{action['memo_code']}.CT tu 0123456789",
                "amount": payment["amount"],
                "runningBalance": 25_000_000,
                "transactionDateTime": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
                "accountNumber": action["account"],
                "bankName": "Vietcombank",
                "bankAbbreviation": "VCB",
                "virtualAccountNumber": "",
                "virtualAccountName": "",
                "counterAccountName": "",
                "counterAccountNumber": "",
                "counterAccountBankId": "",
                "counterAccountBankName": "",
            },
        }
        signature = casso_signature_header(
            body=transfer, key=settings.CASSO_CHECKSUM_KEY, timestamp_ms=int(time.time() * 1000)
        )
        hook = walk.http.post(
            base + "/webhooks/bank/casso",
            json=transfer,
            headers={"X-Casso-Signature": signature},
            timeout=10,
        )
        self.stdout.write(f"  POST /webhooks/bank/casso -> {hook.status_code}")
        again = walk.http.post(
            base + "/webhooks/bank/casso",
            json=transfer,
            headers={"X-Casso-Signature": signature},
            timeout=10,
        )
        self.stdout.write(f"  delivered twice -> {again.status_code}, applied once")
        paid = walk.call("GET", f"/api/v1/payments/{payment['id']}", auth=kiosk).json()
        self.stdout.write(f"  payment {paid['id']}: {paid['status']}")
        cashier_login = walk.http.post(
            base + "/api/v1/auth/token",
            json=credentials["staff"]["cashier"],
            timeout=10,
        ).json()
        cashier = f"Token {cashier_login['token']}"
        settled = walk.call("GET", f"/api/v1/invoices/{invoice['id']}", auth=cashier).json()
        self.stdout.write(
            f"  invoice {settled['number']}: {settled['status']}, paid {settled['amount_paid']:,},"
            f" due {settled['amount_due']:,}"
        )

        self.show_receipt(walk, payment["id"], kiosk)

        walk.step("The chart of accounts")
        accounts = walk.call("GET", "/api/v1/ledger/accounts", auth=token).json()
        for account in accounts[:6]:
            self.stdout.write(f"  {account['code']:<6} {account['name']}")

        walk.step("The trial balance balances")
        trial = walk.call("GET", "/api/v1/ledger/trial-balance", auth=token).json()
        self.stdout.write(f"  totals: {trial['totals']}  balanced: {trial['balanced']}")

        walk.step("The ledger export finance loads into its accounting system (CSV)")
        export = walk.call("GET", "/api/v1/ledger/export?format=csv", auth=token)
        for line in export.content.decode("utf-8-sig").splitlines()[:4]:
            self.stdout.write(f"  {line}")

        walk.step("The same journal for MISA (the regime's import workbook) and for beancount")
        misa = walk.call("GET", "/api/v1/ledger/export?format=misa", auth=token)
        self.stdout.write(f"  {misa.headers['Content-Disposition']}: {len(misa.content):,} bytes")
        bean = walk.call("GET", "/api/v1/ledger/export?format=beancount", auth=token)
        transactions = bean.content.decode().count("\n  entry-id: ")
        self.stdout.write(f"  beancount: {transactions} transactions; check it with bean-check")

        walk.step("A kiosk may not read the ledger")
        denied = walk.call("GET", "/api/v1/ledger/entries", auth=kiosk).json()
        self.stdout.write(f"  {denied['error']['code']}: {denied['error']['message']}")
