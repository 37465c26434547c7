"""The matcher: statement lines against what the ledger expects to reach (or leave) the bank.

One run is one transaction (all of it or nothing), serialised with other runs by an
advisory lock, and made of set-based statements — never a loop over lines:

1. **enrol** what is expected and not yet an item: VietQR captures (their memo code and
   amount), settled Stripe payouts (amount, arrival date, the payout descriptor), refunds
   and discharge leftovers paid by bank transfer (outgoing), and the bank-feed transfers
   held in suspense (already on their feed's statement line); a cash deposit enrols
   itself when it is recorded. VietQR captures — the table that grows with every patient —
   are looked for among those that succeeded since the previous run started, less
   ``RECONCILIATION_ENROL_LOOKBACK_HOURS`` (by an index), not among all captures ever made:
   a run costs what happened since the last one. A capture the previous run could not see
   committed after it started, within milliseconds of its ``succeeded_at``; the look-back
   (a day by default) covers that and any clock difference between the app's servers. The
   first run, and a run with ``full=True`` (after loading captures made elsewhere), look at
   all of them;
2. **match by the bank's reference**: a discharge leftover paid back by transfer whose
   cashier recorded the bank's reference of the transfer takes the outgoing line with that
   reference (spaces and case aside), same currency and amount, first — before any
   amount/date rule could give that line to another item of the same amount; a reference
   no line carries (mistyped), or a line of another amount, leaves the item to step 4;
3. **match by code**: a line whose memo carries an item's code, same direction, currency
   and amount → ``matched``; the code with another amount → ``amount_mismatch`` (the line
   is held by the item for finance);
4. **match by window** for items without a code in the memo: same amount, direction and
   currency, the descriptor when the item has one, booked within
   [expected - ``RECONCILIATION_PAYOUT_EARLY_DAYS``, expected + the SLA]; pairs are taken
   nearest date first, one line per item and one item per line;
5. **move the money**: one entry per run debits the bank account and credits each holding
   account (clearing, cash in transit) with what its matched items hold;
6. **unexpected lines**: lines of earlier days that nothing explains become ``unexpected``
   items; their money is booked to suspense (in: Dr bank / Cr suspense; out: the other way)
   in the same entry; a line in another currency is an item with nothing posted;
7. **missing**: expected items whose SLA (``RECONCILIATION_SLA_BUSINESS_DAYS`` business
   days after the expected date; ``RECONCILIATION_TRANSFER_OUT_GRACE_BUSINESS_DAYS`` for
   money the hospital sent) has run out become ``missing``.

Every status an item gets here is written to its audit trail in the same statement.
The SQL is PostgreSQL's (the embedded SQLite default has no matcher).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.models import SYSTEM_RECORDER, VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from payments.models import (
    Direction,
    MatchRun,
    PaymentMethod,
    PaymentStatus,
    PayoutMethod,
    RefundStatus,
    StatementSource,
)
from payments.models import ReconChannel as C
from payments.models import ReconKind as K
from payments.models import ReconStatus as S
from payments.providers.bank_feeds import BANK_TIMEZONE
from payments.services import settlement_accounts as accounts

logger = logging.getLogger(__name__)

MATCHER_LOCK = 0x5E771E  # advisory lock key: one matcher run at a time
HOSPITAL_CURRENCY = "VND"


def add_business_days(day: date, days: int) -> date:
    """``day`` plus ``days`` working days (Monday to Friday)."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def missing_cutoff(today: date, days: int | None = None) -> date:
    """The latest expected date whose SLA (``days`` business days, by default
    ``RECONCILIATION_SLA_BUSINESS_DAYS``) has run out by ``today``."""
    if days is None:
        days = settings.RECONCILIATION_SLA_BUSINESS_DAYS
    day = today - timedelta(days=1)
    while add_business_days(day, days) >= today:
        day -= timedelta(days=1)
    return day


def grace_business_days(direction: str) -> int:
    """How long an item may wait for its line: the SLA for money coming in, the
    transfer-out grace for money the hospital sent."""
    if direction == Direction.OUT:
        return int(settings.RECONCILIATION_TRANSFER_OUT_GRACE_BUSINESS_DAYS)
    return int(settings.RECONCILIATION_SLA_BUSINESS_DAYS)


def reconciliation_match(*, today: date | None = None, full: bool = False) -> MatchRun:
    """Run the matcher once (see the module's docstring). Safe to run at any time and
    again: what is matched stays matched, and each step only takes what is still open.
    ``full``: enrol VietQR captures of any date, not only those since the previous run."""
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        logger.warning("the matcher needs PostgreSQL; nothing matched")
        return MatchRun(pk=None)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MATCHER_LOCK])
        # Read under the lock: the run before this one has committed.
        previous = MatchRun.objects.order_by("-pk").values_list("started_at", flat=True).first()
        lookback = timedelta(hours=settings.RECONCILIATION_ENROL_LOOKBACK_HOURS)
        run = MatchRun.objects.create()
        run.enrolled = _enrol(
            cursor, run.pk, None if full or previous is None else previous - lookback
        )
        by_reference = _match_by_reference(cursor, run.pk)
        run.matched, run.mismatched = _match_by_code(cursor, run.pk)
        run.matched += by_reference
        for _ in range(3):  # a line taken by a nearer item frees others for the next pass
            found = _match_by_window(cursor, run.pk)
            run.matched += found
            if not found:
                break
        run.unexpected = _unexpected_lines(cursor, run.pk, today)
        _post_run(cursor, run)
        run.missing = _missing(
            cursor,
            run.pk,
            missing_cutoff(today, grace_business_days(Direction.IN)),
            missing_cutoff(today, grace_business_days(Direction.OUT)),
        )
        run.save()
    logger.info(
        "match run %s: %s enrolled, %s matched, %s amount mismatches, %s unexpected, %s missing",
        run.pk,
        run.enrolled,
        run.matched,
        run.mismatched,
        run.unexpected,
        run.missing,
    )
    return run


# --- enrol ---------------------------------------------------------------------------------

ITEM_COLUMNS = (
    "kind, channel, status, direction, amount, currency, source_type, source_id, match_code,"
    " expected_on, holding_account, statement_line_id, note, write_off_reason,"
    " created_at, updated_at"
)
AUDIT_INSERT = (
    "INSERT INTO payments_reconitemaction (item_id, action, from_status, to_status, note, at)"
)


def _enrol(cursor: object, run_id: int, captures_since: datetime | None) -> int:
    """Enrol what is expected and not yet an item; VietQR captures that succeeded from
    ``captures_since`` on (all of them when None), found by ``payment_vietqr_succeeded``."""
    local = f"AT TIME ZONE '{BANK_TIMEZONE.key}'"
    since, since_params = (
        ("", []) if captures_since is None else (" AND p.succeeded_at >= %s", [captures_since])
    )
    statements = [
        # VietQR captures wait in the VietQR clearing account until the bank shows them.
        (
            f"SELECT %s, %s, %s, %s, p.amount, p.currency, 'payment', p.public_id,"  # noqa: S608 - constant SQL
            f" p.memo_code, (p.succeeded_at {local})::date, %s, NULL::bigint, '', '', now(), now()"
            " FROM payments_payment p WHERE p.method = %s AND p.status = ANY(%s)"
            f" AND p.succeeded_at IS NOT NULL AND p.memo_code IS NOT NULL{since}",
            [
                K.VIETQR_CAPTURE,
                C.VIETQR,
                S.EXPECTED,
                Direction.IN,
                accounts.clearing("vietqr"),
                PaymentMethod.VIETQR,
                [PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED],
                *since_params,
            ],
        ),
        # Settled Stripe payouts wait in the account the settlement put them in.
        (
            "SELECT %s, %s, %s, %s, sp.amount, upper(sp.currency), 'stripe_payout', sp.payout_id,"
            " %s, sp.arrival_date, sp.holding_account, NULL::bigint, '', '', now(), now()"
            " FROM payments_stripepayout sp WHERE sp.status = 'settled' AND sp.amount > 0",
            [
                K.STRIPE_PAYOUT,
                C.CARD,
                S.EXPECTED,
                Direction.IN,
                settings.STRIPE_PAYOUT_DESCRIPTOR.upper()[:20],
            ],
        ),
        # Refunds paid by bank transfer left the bank account when paid out: the statement
        # only has to confirm them (nothing moves on a match).
        (
            "SELECT %s, %s, %s, %s, r.amount, r.currency, 'refund', r.public_id, '',"  # noqa: S608 - constant SQL
            f" (r.completed_at {local})::date, '', NULL::bigint, '', '', now(), now()"
            " FROM payments_refund r WHERE r.status = %s AND r.payout_method = 'bank_transfer'"
            " AND r.completed_at IS NOT NULL",
            [K.BANK_REFUND, C.BANK, S.EXPECTED, Direction.OUT, RefundStatus.SUCCEEDED],
        ),
        # Advances left over at discharge paid back by bank transfer (cashier/refunds-owed):
        # like a refund, out of the bank account when paid; the debit line confirms them.
        (
            "SELECT %s, %s, %s, %s, o.amount, o.currency, 'refund_owed_payout', o.public_id,"  # noqa: S608 - constant SQL
            f" '', (o.created_at {local})::date, '', NULL::bigint, '', '', now(), now()"
            " FROM payments_refundowedpayout o WHERE o.method = %s",
            [K.DISCHARGE_REFUND, C.BANK, S.EXPECTED, Direction.OUT, PayoutMethod.BANK_TRANSFER],
        ),
        # Bank-feed transfers held in suspense: on their feed's line already; what reached
        # the VietQR account waits in its clearing account until the match run moves it.
        (
            "SELECT %s, %s, %s, %s, ri.amount, ri.currency, 'suspense', ri.id::text, '',"  # noqa: S608 - constant SQL
            f" (ri.occurred_at {local})::date,"
            " CASE WHEN ri.account_number = %s THEN %s ELSE '' END, l.id,"
            " ri.reason, '', now(), now()"
            " FROM payments_reconciliationitem ri"
            " LEFT JOIN payments_statementline l ON l.feed_reports ->> ri.provider"
            "   = ri.transaction_id AND l.source <> %s",
            [
                K.FEED_SUSPENSE,
                C.VIETQR,
                S.UNEXPECTED,
                Direction.IN,
                settings.VIETQR_ACCOUNT,
                accounts.clearing("vietqr"),
                StatementSource.FILE,
            ],
        ),
    ]
    enrolled = 0
    for select, params in statements:
        cursor.execute(  # type: ignore[attr-defined]
            f"WITH new AS (INSERT INTO payments_reconitem ({ITEM_COLUMNS}) {select}"  # noqa: S608 - constant SQL
            " ON CONFLICT (source_type, source_id) DO NOTHING RETURNING id, status)"
            f" {AUDIT_INSERT} SELECT id, 'enrolled', '', status, %s, now() FROM new",
            [*params, f"match run {run_id}"],
        )
        enrolled += cursor.rowcount  # type: ignore[attr-defined]
    return enrolled


# --- match ---------------------------------------------------------------------------------

OPEN_EXPECTATIONS = f"('{S.EXPECTED}', '{S.MISSING}')"
FREE_LINE = (
    "NOT EXISTS (SELECT 1 FROM payments_reconitem taken WHERE taken.statement_line_id = l.id)"
)

# The items whose money the run's entry moves to the bank, and then marks cleared by it: the
# same rows for both statements of _post_run, so what is summed is what is cleared.
HELD_NOT_CLEARED = (
    "i.statement_line_id IS NOT NULL AND i.cleared_entry_id IS NULL"
    " AND i.currency = %s AND (i.holding_account <> '' OR i.kind = %s)"
    " AND (i.status IN (%s, %s) OR i.kind IN (%s, %s))"
)
HELD_NOT_CLEARED_PARAMS: list[object] = [
    HOSPITAL_CURRENCY,
    K.BANK_LINE,
    S.MATCHED,
    S.MANUALLY_MATCHED,
    K.FEED_SUSPENSE,
    K.BANK_LINE,
]


def _apply_pairs(cursor: object, run_id: int, pairs_sql: str, params: list[object]) -> int:
    """Link each (item, line, status) pair of ``pairs_sql`` and audit it."""
    cursor.execute(  # type: ignore[attr-defined]
        f"WITH pairs AS ({pairs_sql}),"  # noqa: S608 - constant SQL
        " changed AS (UPDATE payments_reconitem i SET statement_line_id = pairs.line_id,"
        "   status = pairs.status, settled_at = now(), updated_at = now()"
        "   FROM pairs WHERE i.id = pairs.item_id"
        "   RETURNING i.id, i.status, pairs.from_status)"
        f" {AUDIT_INSERT} SELECT id, 'matched', from_status, status, %s, now() FROM changed",
        [*params, f"match run {run_id}"],
    )
    return int(cursor.rowcount)  # type: ignore[attr-defined]


def _same_reference(left: str, right: str) -> str:
    """SQL: two bank references are the same, spaces and case aside."""
    return (
        f"upper(regexp_replace({left}, '\\s', '', 'g'))"
        f" = upper(regexp_replace({right}, '\\s', '', 'g'))"
    )


def _match_by_reference(cursor: object, run_id: int) -> int:
    """Discharge leftovers paid by transfer with the bank's reference the cashier recorded:
    the free line with that reference, going out, in the item's currency and amount. One
    line per item and one item per line (two payouts given one reference by mistake: the
    first takes it, the other waits for the window rule)."""
    pairs = (
        "SELECT item_id, line_id, %s AS status, from_status FROM ("  # noqa: S608 - constant SQL
        " SELECT i.id AS item_id, l.id AS line_id, i.status AS from_status,"
        "  row_number() OVER (PARTITION BY i.id ORDER BY l.booked_on, l.id) AS item_rank,"
        "  row_number() OVER (PARTITION BY l.id ORDER BY i.id) AS line_rank"
        " FROM payments_reconitem i"
        " JOIN payments_refundowedpayout o ON o.public_id = i.source_id"
        " JOIN payments_statementline l"
        f"   ON {_same_reference('l.bank_reference', 'o.bank_reference')}"
        "   AND l.amount = i.amount AND l.direction = i.direction AND l.currency = i.currency"
        f" WHERE i.kind = %s AND i.status IN {OPEN_EXPECTATIONS}"
        "  AND i.statement_line_id IS NULL AND o.bank_reference <> ''"
        f"  AND l.bank_reference <> '' AND {FREE_LINE}"
        ") ranked WHERE item_rank = 1 AND line_rank = 1"
    )
    return _apply_pairs(cursor, run_id, pairs, [S.MATCHED, K.DISCHARGE_REFUND])


def _match_by_code(cursor: object, run_id: int) -> tuple[int, int]:
    exact = (
        "SELECT DISTINCT ON (i.id) i.id AS item_id, l.id AS line_id, %s AS status,"  # noqa: S608 - constant SQL
        " i.status AS from_status"
        " FROM payments_reconitem i JOIN payments_statementline l"
        "   ON l.match_code = i.match_code AND l.amount = i.amount"
        "   AND l.direction = i.direction AND l.currency = i.currency"
        f" WHERE i.status IN {OPEN_EXPECTATIONS} AND i.statement_line_id IS NULL"
        f" AND i.match_code <> '' AND i.kind <> %s AND {FREE_LINE}"
        " ORDER BY i.id, l.booked_on, l.id"
    )
    matched = _apply_pairs(cursor, run_id, exact, [S.MATCHED, K.STRIPE_PAYOUT])
    other_amount = (
        "SELECT DISTINCT ON (i.id) i.id AS item_id, l.id AS line_id, %s AS status,"  # noqa: S608 - constant SQL
        " i.status AS from_status"
        " FROM payments_reconitem i JOIN payments_statementline l"
        "   ON l.match_code = i.match_code AND l.direction = i.direction"
        f" WHERE i.status IN {OPEN_EXPECTATIONS} AND i.statement_line_id IS NULL"
        f" AND i.match_code <> '' AND i.kind <> %s AND {FREE_LINE}"
        " ORDER BY i.id, l.booked_on, l.id"
    )
    mismatched = _apply_pairs(cursor, run_id, other_amount, [S.AMOUNT_MISMATCH, K.STRIPE_PAYOUT])
    return matched, mismatched


def _match_by_window(cursor: object, run_id: int) -> int:
    sla = settings.RECONCILIATION_SLA_BUSINESS_DAYS
    late_days = sla + 2 * (sla // 5 + 1)  # the SLA in business days, as calendar days
    pairs = (
        "SELECT item_id, line_id, %s AS status, from_status FROM ("  # noqa: S608 - constant SQL
        " SELECT i.id AS item_id, l.id AS line_id, i.status AS from_status,"
        "  row_number() OVER (PARTITION BY i.id ORDER BY abs(l.booked_on - i.expected_on), l.id)"
        "   AS item_rank,"
        "  row_number() OVER (PARTITION BY l.id ORDER BY abs(l.booked_on - i.expected_on), i.id)"
        "   AS line_rank"
        " FROM payments_reconitem i JOIN payments_statementline l"
        "   ON l.amount = i.amount AND l.direction = i.direction AND l.currency = i.currency"
        "   AND l.booked_on BETWEEN i.expected_on - %s AND i.expected_on + %s"
        "   AND (i.match_code = '' OR l.match_code = i.match_code)"
        f" WHERE i.status IN {OPEN_EXPECTATIONS} AND i.statement_line_id IS NULL"
        f"  AND (i.match_code = '' OR i.kind = %s) AND {FREE_LINE}"
        ") ranked WHERE item_rank = 1 AND line_rank = 1"
    )
    early = settings.RECONCILIATION_PAYOUT_EARLY_DAYS
    return _apply_pairs(cursor, run_id, pairs, [S.MATCHED, early, late_days, K.STRIPE_PAYOUT])


def _unexpected_lines(cursor: object, run_id: int, today: date) -> int:
    """Lines of earlier days nothing explains (a feed's line of an applied payment is
    explained by its capture's item, matched in this run or a later one)."""
    cursor.execute(  # type: ignore[attr-defined]
        f"WITH new AS (INSERT INTO payments_reconitem ({ITEM_COLUMNS})"  # noqa: S608 - constant SQL
        " SELECT %s, %s, %s, l.direction, l.amount, l.currency, 'statement_line', l.id::text,"
        " l.match_code, l.booked_on, '', l.id,"
        " CASE WHEN l.currency <> %s THEN 'a line in ' || l.currency || ': nothing posted'"
        "  ELSE '' END, '', now(), now()"
        " FROM payments_statementline l"
        f" WHERE l.booked_on < %s AND {FREE_LINE}"
        " ON CONFLICT (source_type, source_id) DO NOTHING RETURNING id, status)"
        f" {AUDIT_INSERT} SELECT id, 'unexpected', '', status, %s, now() FROM new",
        [K.BANK_LINE, C.BANK, S.UNEXPECTED, HOSPITAL_CURRENCY, today, f"match run {run_id}"],
    )
    return int(cursor.rowcount)  # type: ignore[attr-defined]


def _post_run(cursor: object, run: MatchRun) -> None:
    """One entry for the run: the bank account debited with what matched items held (or
    what unexpected lines brought), each holding account and suspense on the other side."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT i.holding_account, i.kind, i.direction, sum(i.amount), i.currency"  # noqa: S608 - constant SQL
        f" FROM payments_reconitem i WHERE {HELD_NOT_CLEARED}"
        " GROUP BY i.holding_account, i.kind, i.direction, i.currency",
        HELD_NOT_CLEARED_PARAMS,
    )
    net_to_bank = 0
    others: dict[tuple[str, str], int] = {}  # (account, side) -> amount
    for holding, kind, direction, total, _currency in cursor.fetchall():  # type: ignore[attr-defined]
        total = int(total)
        if kind == K.BANK_LINE:
            sign = 1 if direction == Direction.IN else -1
            net_to_bank += sign * total
            side = "cr" if sign > 0 else "dr"
            others[(accounts.suspense(), side)] = others.get((accounts.suspense(), side), 0) + total
        else:
            net_to_bank += total
            others[(holding, "cr")] = others.get((holding, "cr"), 0) + total
    if not others:
        return
    reference = f"match_run:{run.pk}"
    lines: list[Posting] = []
    for (account, side), amount in sorted(others.items()):
        money = Money(amount, HOSPITAL_CURRENCY)
        lines.append(
            Posting.cr(account, money, reference)
            if side == "cr"
            else Posting.dr(account, money, reference)
        )
    if net_to_bank > 0:
        lines.append(Posting.dr(accounts.bank(), Money(net_to_bank, HOSPITAL_CURRENCY), reference))
    elif net_to_bank < 0:
        lines.append(Posting.cr(accounts.bank(), Money(-net_to_bank, HOSPITAL_CURRENCY), reference))
    entry = ledger_post(
        posting_key=f"match_run:{run.pk}",
        lines=lines,
        source_type="match_run",
        source_id=str(run.pk),
        memo=memos.statement_run(run.pk),
        # What the statement shows arriving is a credit note; more leaving than arriving, a
        # debit note.
        voucher_type=VoucherType.BANK_DEBIT if net_to_bank < 0 else VoucherType.BANK_CREDIT,
        voucher_number=reference,
        recorded_by=SYSTEM_RECORDER,
    )
    cursor.execute(  # type: ignore[attr-defined]
        "UPDATE payments_reconitem i SET cleared_entry_id = %s, updated_at = now()"  # noqa: S608 - constant SQL
        f" WHERE {HELD_NOT_CLEARED}",
        [entry.pk, *HELD_NOT_CLEARED_PARAMS],
    )


def _missing(cursor: object, run_id: int, cutoff_in: date, cutoff_out: date) -> int:
    cursor.execute(  # type: ignore[attr-defined]
        "WITH changed AS (UPDATE payments_reconitem SET status = %s, updated_at = now()"  # noqa: S608 - constant SQL
        " WHERE status = %s AND statement_line_id IS NULL"
        " AND expected_on <= CASE WHEN direction = %s THEN %s::date ELSE %s::date END"
        " RETURNING id)"
        f" {AUDIT_INSERT} SELECT id, 'missing', %s, %s, %s, now() FROM changed",
        [
            S.MISSING,
            S.EXPECTED,
            Direction.OUT,
            cutoff_out,
            cutoff_in,
            S.EXPECTED,
            S.MISSING,
            f"match run {run_id}",
        ],
    )
    return int(cursor.rowcount)  # type: ignore[attr-defined]
