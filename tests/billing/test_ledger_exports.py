"""The exports an accountant loads without retyping: MISA's voucher-import workbook (MISA SME
under tt99_2025, MISA Mimosa under tt24_2024) against hand-checked golden files, cell by
cell; the beancount journal checked by the real ``bean-check`` and re-added by beancount's
own loader to our trial balance."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from rest_framework.test import APIClient

from billing.chart import AccountRole, account_for
from billing.models import Account
from billing.selectors.beancount_export import account_name
from billing.selectors.journal_stream import StreamedLine
from billing.selectors.ledger import trial_balance
from billing.selectors.ledger_export import export_window
from billing.selectors.misa_export import debit_credit_pairs, misa_export_xlsx, misa_template
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from tests.assertions import assert_error
from tests.billing.test_finance_export_volume import (
    MB,
    bulk_post,
    traced_download,
    traced_stream,
)
from tests.reference_data import reference_data_load

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "misa"
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
REGIMES = ["tt24_2024", "tt99_2025"]
EXPORT_URL = "/api/v1/ledger/export"
MARCH_QUERY = {"from": "2026-03-01", "to": "2026-03-31"}
GOLDEN_FILE = {"tt99_2025": "tt99_2025_misa_sme.json", "tt24_2024": "tt24_2024_misa_mimosa.json"}


def _posting(
    role: AccountRole, debit: int, credit: int, party: str = "", dims: dict[str, Any] | None = None
) -> Posting:
    dims = dict(dims or {})
    reference = dims.pop("reference", "")
    code = account_for(role, **dims)
    return Posting(code, debit, credit, "VND", reference, counterparty=party)


R = AccountRole
# (posting key, local time, memo, voucher type, voucher number, lines)
SMALL_LEDGER: list[tuple[str, datetime, str, str, str, list[tuple[Any, ...]]]] = [
    (
        "t:opening",
        datetime(2026, 2, 28, 23, 59, tzinfo=HANOI),
        "Vốn ban đầu",
        "",
        "",
        [(R.MAIN_SAFE, 5_000_000, 0), (R.OWNER_EQUITY, 0, 5_000_000)],
    ),
    (
        "t:invoice",
        datetime(2026, 3, 2, 8, 15, tzinfo=HANOI),
        "Hoá đơn khám chữa bệnh BN0001",
        "HD",
        "HD-2026-000001",
        [
            (R.PATIENT_RECEIVABLE, 150_000, 0, "BN0001", {"reference": "invoice:1"}),
            (R.INSURANCE_RECEIVABLE, 350_000, 0, "BHXH", {"reference": "invoice:1"}),
            (R.SERVICE_REVENUE, 0, 400_000),
            (R.PHARMACY_REVENUE, 0, 92_593),
            (R.OUTPUT_VAT, 0, 7_407, "", {"rate": "5"}),
        ],
    ),
    (
        "t:cash",
        datetime(2026, 3, 2, 9, 0, tzinfo=HANOI),
        "Thu tiền mặt hoá đơn HD-2026-000001",
        "PT",
        "pay_7Q2M",
        [
            (R.DRAWER, 150_000, 0, "", {"drawer": 1}),
            (R.PATIENT_RECEIVABLE, 0, 150_000, "BN0001", {"reference": "invoice:1"}),
        ],
    ),
    (
        "t:advance",
        datetime(2026, 3, 3, 10, 30, tzinfo=HANOI),
        "Tạm ứng viện phí qua VietQR",
        "BC",
        "dep_9K",
        [
            (R.CLEARING, 2_000_000, 0, "", {"provider": "vietqr"}),
            (R.PATIENT_ADVANCES, 0, 2_000_000, "BN0002"),
        ],
    ),
    (
        "t:shortage",
        datetime(2026, 3, 4, 0, 30, tzinfo=HANOI),  # 3 March 17:30 UTC: the local day is the 4th
        "= kiểm kê: thiếu quỹ quầy 1",
        "",
        "",
        [(R.CASH_SHORTAGE, 20_000, 0), (R.DRAWER, 0, 20_000, "", {"drawer": 1})],
    ),
    (
        "t:april",
        datetime(2026, 4, 1, 0, 0, tzinfo=HANOI),
        "Nộp tiền quầy 1 về két",
        "",
        "",
        [(R.MAIN_SAFE, 130_000, 0), (R.DRAWER, 0, 130_000, "", {"drawer": 1})],
    ),
]


def small_ledger() -> None:
    """Six entries under the current regime: one before March, four in March (an invoice
    split between the patient and the fund with VAT, a cash receipt at desk 1, an advance by
    VietQR, a shortage at a count just after midnight), one in April. Entry ids 1001-1006."""
    reference_data_load()
    Account.objects.get_or_create(
        code=account_for(R.DRAWER, drawer=1),
        defaults={"name": "Quầy thu 1", "type": "asset", "currency": "VND"},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('billing_journalentry', 'id'), 1000)")
    for key, at, memo, voucher_type, voucher_number, lines in SMALL_LEDGER:
        ledger_post(
            posting_key=key,
            lines=[_posting(*line) for line in lines],
            source_type="test",
            memo=memo,
            posted_at=at,
            voucher_type=voucher_type,
            voucher_number=voucher_number,
        )


def _golden_rows(regime: str) -> tuple[str, list[list[Any]]]:
    golden = json.loads((GOLDEN / GOLDEN_FILE[regime]).read_text(encoding="utf-8"))
    headers = misa_template(regime).headers
    unknown = {key for row in golden["rows"] for key in row} - set(headers)
    assert not unknown, f"golden cells under no header: {unknown}"
    return golden["sheet"], [[row.get(h) for h in headers] for row in golden["rows"]]


@pytest.mark.parametrize("regime", REGIMES)
def test_misa_workbook_matches_the_hand_checked_golden_file(regime: str) -> None:
    with override_settings(ACCOUNTING_REGIME=regime):
        small_ledger()
        start, end = export_window(*MARCH)
        workbook = load_workbook(misa_export_xlsx(start=start, end=end, regime=regime))

    sheet_title, expected = _golden_rows(regime)
    assert workbook.sheetnames == [sheet_title]
    rows = [list(row) for row in workbook[sheet_title].iter_rows(values_only=True)]
    assert rows[0] == list(misa_template(regime).headers)
    assert len(rows) - 1 == len(expected)
    for number, (got, want) in enumerate(zip(rows[1:], expected, strict=True), start=2):
        for header, got_cell, want_cell in zip(rows[0], got, want, strict=True):
            assert (got_cell, type(got_cell)) == (want_cell, type(want_cell)), (
                f"row {number}, {header}"
            )


def test_text_that_looks_like_a_formula_stays_text() -> None:
    small_ledger()
    start, end = export_window(*MARCH)
    workbook = load_workbook(misa_export_xlsx(start=start, end=end, regime="tt99_2025"))
    cells = [
        c
        for row in workbook.active.iter_rows()
        for c in row
        if c.value == "= kiểm kê: thiếu quỹ quầy 1"
    ]
    assert len(cells) == 2  # the voucher's description and the line's
    assert {c.data_type for c in cells} == {"s"}


def _streamed(code: str, debit: int = 0, credit: int = 0) -> StreamedLine:
    return StreamedLine(code, "asset", "VND", debit, credit, "", "")


def test_pairs_split_in_line_order_and_add_up_to_each_line() -> None:
    lines = (
        _streamed("A", debit=70),
        _streamed("B", debit=30),
        _streamed("X", credit=50),
        _streamed("Y", credit=50),
    )
    pairs = [(d.account_code, c.account_code, amount) for d, c, amount in debit_credit_pairs(lines)]
    assert pairs == [("A", "X", 50), ("A", "Y", 20), ("B", "Y", 30)]


def test_an_empty_window_is_a_header_row() -> None:
    reference_data_load()
    start, end = export_window(date(2030, 1, 1), date(2030, 1, 31))
    workbook = load_workbook(misa_export_xlsx(start=start, end=end, regime="tt99_2025"))
    assert [list(r) for r in workbook.active.iter_rows(values_only=True)] == [
        list(misa_template("tt99_2025").headers)
    ]


# --- The API ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "filename"),
    [
        ("tt99_2025", "ledger_2026-03-01_2026-03-31_misa-sme.xlsx"),
        ("tt24_2024", "ledger_2026-03-01_2026-03-31_misa-mimosa.xlsx"),
    ],
)
def test_finance_downloads_the_workbook_of_the_deployments_regime(
    finance_client: APIClient, regime: str, filename: str
) -> None:
    with override_settings(ACCOUNTING_REGIME=regime):
        small_ledger()
        response: Any = finance_client.get(EXPORT_URL, {**MARCH_QUERY, "format": "misa"})

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    _, expected = _golden_rows(regime)
    assert [list(r) for r in workbook.active.iter_rows(values_only=True)][1:] == expected


def test_only_finance_exports_and_a_bad_format_or_window_is_a_400(
    staff_client: Callable[..., APIClient], finance_client: APIClient
) -> None:
    for role in (Role.CASHIER, Role.SUPERVISOR):
        refused = staff_client(role).get(EXPORT_URL, {**MARCH_QUERY, "format": "misa"})
        assert_error(refused, 403, "permission_denied")
    assert_error(
        finance_client.get(EXPORT_URL, {**MARCH_QUERY, "format": "misa-sme"}),
        400,
        "parameter_invalid",
        param="format",
    )
    backwards = {"from": "2026-03-31", "to": "2026-03-01", "format": "misa"}
    assert_error(finance_client.get(EXPORT_URL, backwards), 400, "parameter_invalid", param="to")


# --- Volume -----------------------------------------------------------------------------

VOLUME_ENTRIES = 6_000  # openpyxl under tracemalloc is slow: a few thousand entries suffice


@pytest.mark.slow
def test_misa_workbook_of_many_entries_is_built_in_bounded_memory(
    finance_client: APIClient, chart: dict[str, Account]
) -> None:
    bulk_post(VOLUME_ENTRIES, first=datetime(2026, 3, 2, 6, tzinfo=HANOI))

    peak, download = traced_download(finance_client, EXPORT_URL, {**MARCH_QUERY, "format": "misa"})
    with download:
        workbook = load_workbook(download, read_only=True)
        rows = sum(1 for _ in workbook.active.iter_rows(values_only=True))
        workbook.close()

    assert rows == 1 + VOLUME_ENTRIES  # the header, then one row per two-line entry
    # The rows of 6,000 entries held at once would be several times this; a temporary file
    # holds the workbook, memory one chunk of lines and one entry.
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


# --- beancount --------------------------------------------------------------------------

BEAN_CHECK = str(Path(sys.executable).with_name("bean-check"))  # the PyPI package's script


def _beancount_file(client: APIClient, tmp_path: Path, query: dict[str, str]) -> Path:
    response: Any = client.get(EXPORT_URL, {**query, "format": "beancount"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    path = tmp_path / "ledger.beancount"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def _bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    command = [BEAN_CHECK, str(path)]  # our file, the installed package's script
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603


@pytest.mark.parametrize("regime", REGIMES)
def test_beancount_journal_passes_bean_check_and_re_adds_to_the_trial_balance(
    finance_client: APIClient, tmp_path: Path, regime: str
) -> None:
    from beancount import loader
    from beancount.core import data, realization

    with override_settings(ACCOUNTING_REGIME=regime):
        small_ledger()
        path = _beancount_file(finance_client, tmp_path, MARCH_QUERY)
        _, end = export_window(*MARCH)
        ours = {
            account_name(row.type, row.code): row.debit_total - row.credit_total
            for row in trial_balance(as_of=end - timedelta(microseconds=1))
        }

    checked = _bean_check(path)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    real = realization.realize(entries)
    theirs = {
        account.account: int(account.balance.get_currency_units("VND").number)
        for account in realization.iter_children(real)
        if not account.balance.is_empty()
    }
    assert theirs == {name: net for name, net in ours.items() if net}
    assert sum(ours.values()) == 0
    # March's four entries and the opening balances; February's and April's are not there.
    transactions = [e for e in entries if isinstance(e, data.Transaction)]
    assert transactions[0].narration == "Số dư đầu kỳ"
    assert [t.meta.get("entry-id") for t in transactions[1:]] == [1002, 1003, 1004, 1005]
    cash = transactions[2]
    assert (cash.date.isoformat(), cash.meta["voucher-type"], cash.meta["voucher-number"]) == (
        "2026-03-02",
        "PT",
        "pay_7Q2M",
    )
    receivable = cash.postings[1].meta or {}
    assert (receivable["counterparty"], receivable["reference"]) == ("BN0001", "invoice:1")
    assert transactions[4].date.isoformat() == "2026-03-04"  # the local day, not UTC's


def test_bean_check_refuses_a_journal_that_does_not_re_add(
    finance_client: APIClient, tmp_path: Path
) -> None:
    small_ledger()
    path = _beancount_file(finance_client, tmp_path, MARCH_QUERY)
    text = path.read_text(encoding="utf-8")
    # One posting of the cash receipt changed: the balance assertions no longer hold.
    tampered = text.replace("2000000 VND\n", "2000001 VND\n", 1)
    assert tampered != text
    path.write_text(tampered, encoding="utf-8")

    checked = _bean_check(path)

    assert checked.returncode != 0
    assert "does not balance" in checked.stderr or "Balance failed" in checked.stderr


BEANCOUNT_ENTRIES = 20_000


@pytest.mark.slow
def test_beancount_journal_of_many_entries_streams_in_bounded_memory(
    finance_client: APIClient, chart: dict[str, Account]
) -> None:
    bulk_post(BEANCOUNT_ENTRIES, first=datetime(2026, 3, 2, 6, tzinfo=HANOI))
    query = {**MARCH_QUERY, "format": "beancount"}
    peak, counted = traced_stream(finance_client, EXPORT_URL, query, b"\n  entry-id: ")

    assert counted["newlines"] == BEANCOUNT_ENTRIES  # one per transaction
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"
    assert counted["largest_piece"] < 1 * MB
    assert counted["pieces"] > 10  # written in pieces as it is read, not at the end


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_file_is_read_in_one_snapshot_and_an_abandoned_download_ends_it(
    finance_client: APIClient, tmp_path: Path
) -> None:
    # As in production: no test transaction around the request, so the export opens its own
    # REPEATABLE READ, read-only transaction.
    small_ledger()
    path = _beancount_file(finance_client, tmp_path, MARCH_QUERY)
    assert _bean_check(path).returncode == 0

    response: Any = finance_client.get(EXPORT_URL, {**MARCH_QUERY, "format": "beancount"})
    next(iter(response.streaming_content))  # the first piece; then the client goes away
    response.close()

    assert not connection.in_atomic_block
    assert connection.get_autocommit()
    again = _beancount_file(finance_client, tmp_path, MARCH_QUERY)
    assert _bean_check(again).returncode == 0


# --- The demo's journal -----------------------------------------------------------------

_DEMO_EXPORTS = """
import json
from collections import defaultdict
from datetime import timedelta
from billing.selectors.beancount_export import beancount_export
from billing.selectors.ledger import trial_balance
from billing.selectors.ledger_export import export_window
from billing.selectors.misa_export import misa_rows
start, end = export_window(None, None)
last = end.date() - timedelta(days=1)
with open(PATH, "wb") as out:
    for piece in beancount_export(start=start, end=end, first=start.date(), last=last):
        out.write(piece)
misa = defaultdict(lambda: [0, 0])
for rows in misa_rows(start=start, end=end):
    for row in rows:
        misa[row.debit_account][0] += row.amount
        misa[row.credit_account][1] += row.amount
trial = {r.code: [r.debit_total, r.credit_total] for r in trial_balance()}
print(json.dumps({"misa": misa, "trial": trial}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("regime", REGIMES)
def test_the_demos_journal_exports_re_add_to_its_trial_balance(tmp_path: Path, regime: str) -> None:
    from tests.config.test_embedded_default import _manage

    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DEMO_CREDENTIALS_FILE": str(tmp_path / "credentials.json"),
        "ACCOUNTING_REGIME": regime,
    }
    bean = tmp_path / "demo.beancount"
    steps = [
        _manage("migrate", "--verbosity", "0", env=env),
        _manage("seed_demo", env=env),
        _manage("shell", "-c", f"PATH = {str(bean)!r}\n{_DEMO_EXPORTS}", env=env),
    ]
    for step in steps:
        assert step.returncode == 0, step.stderr

    figures = json.loads(steps[-1].stdout.strip().splitlines()[-1])
    assert figures["trial"]  # the demo posted something
    # MISA's rows put on each account exactly the debits and credits the ledger has.
    assert figures["misa"] == figures["trial"]
    checked = _bean_check(bean)
    assert (checked.returncode, checked.stderr) == (0, "")


@given(
    debits=st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=6),
    credit_cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=0, max_size=5),
)
def test_pairs_of_any_balanced_entry_add_up_to_every_line(
    debits: list[int], credit_cuts: list[float]
) -> None:
    total = sum(debits)
    cuts = sorted({0, total, *(int(total * cut) for cut in credit_cuts)})
    credits = [b - a for a, b in pairwise(cuts) if b > a]
    lines = tuple(_streamed(f"D{i}", debit=amount) for i, amount in enumerate(debits)) + tuple(
        _streamed(f"C{i}", credit=amount) for i, amount in enumerate(credits)
    )

    pairs = list(debit_credit_pairs(lines))

    debited: dict[str, int] = {}
    credited: dict[str, int] = {}
    for debit, credit, amount in pairs:
        assert amount > 0
        debited[debit.account_code] = debited.get(debit.account_code, 0) + amount
        credited[credit.account_code] = credited.get(credit.account_code, 0) + amount
    assert debited == {line.account_code: line.debit for line in lines if line.debit}
    assert credited == {line.account_code: line.credit for line in lines if line.credit}
    assert len(pairs) <= len(debits) + len(credits) - 1
