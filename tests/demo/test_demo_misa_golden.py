"""The demo's journal, exported for MISA, against a hand-checked golden file per regime.

The demo is seeded exactly as ``make demo`` does it, in this process and on PostgreSQL:
``seed_demo``, then the walk-through's steps over real HTTP (a live server on the test
database; tasks in-process as in the demo), then finance downloads the MISA workbook of
the month through the API. The workbook is rendered to CSV text (one line per row, every
cell) and compared cell by cell with ``tests/data/misa/demo_<regime>_<product>.csv``; the
hand check of every golden row is ``tests/data/misa/demo.md``.

What makes the demo's journal the same on every run:

* **the clock** — the whole run happens at :data:`DEMO_CLOCK` (``time_machine`` moves the
  interpreter's clock, which every ``timezone.now()`` and ``time.time()`` of the server
  thread and of the walk-through read; nothing of ours is patched);
* **database ids** — every empty table's id sequence starts again at 1, as on ``make
  demo``'s fresh database (earlier tests in the process have drawn ids; entry ids give
  MISA's voucher numbers ``VP-<type>-<entry id>``);
* **the chart** — loaded for the regime as ``migrate`` loads it under
  ``ACCOUNTING_REGIME``;
* **genuinely random tokens** — the public ids minted from the operating system's
  randomness (``billing/public_ids.py``) are replaced, in the comparison only, by
  ``<prefix>_<n>`` numbered in order of first appearance (the same id is the same
  placeholder everywhere), and only the kinds listed in :data:`RANDOM_PUBLIC_IDS`.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from django.core.management import call_command
from django.db import connection
from openpyxl import load_workbook

from billing.chart import current_pack
from billing.models import JournalEntry
from billing.selectors.misa_export import misa_template
from demo.management.commands.demo_walkthrough import Command as Walkthrough
from tests.reference_data import reference_data_load

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# A Monday after both regimes are in force (Circular 99/2025 from 1 January 2026).
DEMO_CLOCK = datetime(2026, 3, 2, 9, 30, tzinfo=HANOI)
MONTH = {"from": "2026-03-01", "to": "2026-03-31"}
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "misa"
GOLDEN_FILE = {
    "tt24_2024": "demo_tt24_2024_misa_mimosa.csv",
    "tt99_2025": "demo_tt99_2025_misa_sme.csv",
}
# The random public ids normalised in the comparison: ``<prefix>`` + 20 lower-case hex
# digits, as billing/public_ids.py mints them for payments, invoices, cashier sessions,
# cash transfers, refund payouts, pay links, refunds and cash deposits. Nothing else is
# normalised: dates, amounts, accounts, customer codes and voucher numbers must match.
RANDOM_PUBLIC_IDS = ("pay", "inv", "cs", "ct", "rp", "pl", "re", "cd")
_RANDOM = re.compile(rf"\b({'|'.join(RANDOM_PUBLIC_IDS)})_[0-9a-f]{{20}}\b")
# The columns whose cells are numbers; every other filled cell is text.
NUMBER_HEADERS = frozenset({"Số tiền", "Số tiền quy đổi", "Tỷ giá"})


class Placeholders:
    """Each distinct random id → ``<prefix>_<n>``, n counted per prefix from 1."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return _RANDOM.sub(self._one, text)

    def _one(self, match: re.Match[str]) -> str:
        token, prefix = match.group(0), match.group(1)
        if token not in self.seen:
            count = sum(1 for p in self.seen.values() if p.startswith(f"{prefix}_<"))
            self.seen[token] = f"{prefix}_<{count + 1}>"
        return self.seen[token]


def restart_empty_tables_ids() -> None:
    """Ids as a fresh database draws them: each empty table's sequence restarts at 1."""
    with connection.cursor() as cursor:
        for sequence in connection.introspection.sequence_list():
            table = connection.ops.quote_name(sequence["table"])
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if not cursor.fetchone()[0]:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), 1, false)",
                    [sequence["table"], sequence["column"]],
                )


def run_the_demo(base_url: str, credentials: Path) -> str:
    """seed_demo and the walk-through, as ``make demo`` runs them; the walk-through's
    output (for a failing test's report)."""
    out = io.StringIO()
    call_command("seed_demo", credentials_file=credentials, stdout=out)
    Walkthrough(stdout=out).walk(base_url, credentials)
    return out.getvalue()


def misa_download(base_url: str, credentials: Path) -> bytes:
    """The month's MISA workbook as the chief accountant downloads it."""
    finance = json.loads(credentials.read_text())["staff"]["finance"]
    token = requests.post(f"{base_url}/api/v1/auth/token", json=finance, timeout=30)
    token.raise_for_status()
    response = requests.get(
        f"{base_url}/api/v1/ledger/export",
        params={**MONTH, "format": "misa"},
        headers={"Authorization": f"Token {token.json()['token']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:300]
    return response.content


def as_csv_rows(workbook_bytes: bytes) -> tuple[list[str], list[list[str]]]:
    """The workbook's one sheet as text rows: its title, then every cell of every row
    (empty cells as ""), random ids normalised. Cell types are checked here: numbers only
    under NUMBER_HEADERS, text everywhere else."""
    workbook = load_workbook(io.BytesIO(workbook_bytes))
    assert len(workbook.sheetnames) == 1, workbook.sheetnames
    sheet = workbook[workbook.sheetnames[0]]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    headers = [str(h) for h in rows[0]]
    normalise = Placeholders()
    text_rows = [headers]
    for number, row in enumerate(rows[1:], start=2):
        cells = []
        for header, value in zip(headers, row, strict=True):
            if value is None:
                cells.append("")
            elif header in NUMBER_HEADERS:
                assert type(value) is int, f"row {number}, {header}: {value!r} is no integer"
                cells.append(str(value))
            else:
                assert isinstance(value, str), f"row {number}, {header}: {value!r} is no text"
                cells.append(normalise(value))
        text_rows.append(cells)
    return [sheet.title], text_rows


def render(title: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(title)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("regime", sorted(GOLDEN_FILE))
def test_the_demos_misa_workbook_matches_the_hand_checked_golden_file(
    regime: str, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNTING_REGIME = regime
    settings.PUBLIC_BASE_URL = live_server.url
    settings.CASSO_CHECKSUM_KEY = "demo-casso-checksum-key"  # as the Makefile's DEMO_ENV
    credentials = tmp_path / "demo-credentials.json"
    with time_machine.travel(DEMO_CLOCK, tick=False):
        reference_data_load()  # the regime's chart, as `migrate` loads it
        assert not JournalEntry.objects.exists()
        restart_empty_tables_ids()
        walked = run_the_demo(live_server.url, credentials)
        workbook = misa_download(live_server.url, credentials)
    (tmp_path / "misa.xlsx").write_bytes(workbook)

    title, rows = as_csv_rows(workbook)
    got = render(title, rows)
    (tmp_path / GOLDEN_FILE[regime]).write_text(got, encoding="utf-8")
    golden_text = (GOLDEN / GOLDEN_FILE[regime]).read_text(encoding="utf-8")
    golden = list(csv.reader(io.StringIO(golden_text)))

    assert rows[0] == list(misa_template(regime).headers)
    assert golden[1] == rows[0]
    diff = "".join(
        difflib.unified_diff(
            golden_text.splitlines(keepends=True),
            got.splitlines(keepends=True),
            "golden",
            "exported",
        )
    )
    assert len(golden) == len(rows) + 1, f"{diff}\n--- the walk-through said:\n{walked}"
    assert golden[0] == title
    for number, (want, have) in enumerate(zip(golden[1:], rows, strict=True), start=1):
        for header, want_cell, have_cell in zip(rows[0], want, have, strict=True):
            assert have_cell == want_cell, f"row {number}, {header}\n{diff}"

    # Every account on the file is one of the regime's chart, at posting level.
    pack = current_pack()
    column = {h: i for i, h in enumerate(rows[0])}
    for row in rows[1:]:
        for header in ("TK Nợ (*)", "TK Có (*)"):
            code = row[column[header]]
            assert pack.account(code) or pack.role_of(code), f"{code} is not in {regime}"
