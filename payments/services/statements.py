"""Bank statement lines, stored once whatever reported them.

A line's identity (``dedupe_key``, unique in the database):

* with the bank's own reference: account + reference + booking date + direction + amount +
  currency — a statement file and a feed, or two overlapping files, name it alike;
* without one (some feeds leave it out): account + booking date + direction + amount +
  currency + the memo's code (canonical: see :func:`memo_codes_of`) — or, when the memo
  carries no code of ours (or several), the memo folded to upper-case ASCII with its
  spaces collapsed — + an ordinal: the n-th such line in one file (or the n-th such report
  by one feed) is the n-th line of the account. Two identical-looking transfers on one day
  stay two lines; the same transfer told by Casso and SePay is one line, also when the two
  rewrote the memo differently around our code ("VP 7K2Q9" and "vp-7k2q9 CHUYEN TIEN").

A feed's line without a reference that came before the file is adopted by the file's line
with a reference that has the same account, direction, amount, currency and match code,
booked within a day (:func:`_adopt_feed_lines`): it takes the file's reference and key.
A file's line with a reference but **no code** (a Stripe payout, a cash deposit without its
slip code, a refund sent) adopts a feed's earlier line only when that line is the one
possible (:func:`_adopt_uncoded_feed_lines`): exactly one feed line without a reference
or code with the same account, direction, amount and currency booked within a day, whose
description is contained in the file's once both are folded (case, accents, spaces and
punctuation removed — the bank passes the remitter's text through), and no other line of
the file that could be it. When there are such feed lines but not that one, both lines are
kept and the file's line is held by a ``possible_duplicate`` reconciliation item naming
the feed lines: the matcher neither matches nor posts it until finance decides (see
``payments.services.reconciliation``) — never two credits for one movement silently.

``statement_import`` writes a whole file in one transaction (``INSERT … ON CONFLICT
(dedupe_key) DO NOTHING``; on PostgreSQL the rows travel by ``COPY`` into a temporary
table first), so an overlapping import adds only what is new and a file refused for one
bad row leaves nothing behind. The matcher runs after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Field, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from billing.chart import AccountRole, account_for
from config.audit.services import audit_change
from config.text import ascii_fold
from payments.errors import StatementWrongAccount
from payments.models import (
    BankStatement,
    CashDeposit,
    Direction,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconChannel,
    ReconItem,
    ReconItemAction,
    ReconKind,
    ReconStatus,
    StatementLine,
    StatementSource,
)
from payments.providers.bank_feeds import (
    BANK_TIMEZONE,
    MEMO_CODE_PATTERN,
    MEMO_CODE_PREFIX,
    BankTransfer,
    find_memo_codes,
)
from payments.providers.statements import parse_statement
from payments.services.transitions import payment_transition

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)

DEPOSIT_CODE_PREFIX = "ND"
# A line's codes: a VietQR payment's memo code or a cash deposit's code.
CODE_PREFIXES = (MEMO_CODE_PREFIX, DEPOSIT_CODE_PREFIX)
MEMO_CODE = re.compile(MEMO_CODE_PATTERN)
# The key a line's ``feed_reports`` gets when the statement file itself applied it (it
# completed a VietQR payment no feed had reported): a feed's later report is then ignored.
STATEMENT_REPORT = "statement"


@dataclass(frozen=True, slots=True)
class LineFacts:
    account_number: str
    booked_on: date
    direction: str
    amount: int
    currency: str
    reference: str
    description: str
    # The memo's one code (canonical), or "" (none, or several).
    code: str = ""


def stored_line_facts(line: StatementLine, code: str = "") -> LineFacts:
    """The facts of a line already stored (its key recomputed with ``code``)."""
    return LineFacts(
        account_number=line.account_number,
        booked_on=line.booked_on,
        direction=line.direction,
        amount=line.amount,
        currency=line.currency,
        reference=line.bank_reference,
        description=line.description,
        code=code,
    )


def normalized_account(account_number: str) -> str:
    return re.sub(r"\D", "", account_number)


def _memo(description: str) -> str:
    return re.sub(r"\s+", " ", ascii_fold(description).upper()).strip()


def line_dedupe_key(facts: LineFacts, ordinal: int = 1) -> str:
    """The line's identity (see the module's docstring), hashed to 64 hex characters."""
    common = [
        normalized_account(facts.account_number),
        facts.booked_on.isoformat(),
        facts.direction,
        str(facts.amount),
        facts.currency,
    ]
    if facts.reference:
        parts = ["ref", facts.reference.strip().upper(), *common]
    elif not facts.code:
        parts = ["memo", *common, _memo(facts.description), str(ordinal)]
    else:
        parts = ["code", *common, facts.code, str(ordinal)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def memo_codes_of(
    descriptions: Sequence[str], prefixes: Sequence[str] = CODE_PREFIXES
) -> list[list[str]]:
    """Each memo's codes, canonical, so that every rewrite of one memo gives the same code.

    The strict form (the code written as issued, any case) first; a memo where it finds
    nothing is read with the tolerant form (spaces, dots and dashes between the code's
    characters: "VP 7K2Q9", "vp-7k2q9", "V.P.7K2Q9"), and what that finds counts only when
    it is a code we issued (a payment's memo code, a cash deposit's code) — "VP TRUNG TAM"
    or "ND THANH TOAN" are words, not codes. One query per memo batch, and only for memos
    the strict form found nothing in."""
    codes = [find_memo_codes(description, prefixes) for description in descriptions]
    loose = {
        index: found
        for index, description in enumerate(descriptions)
        if not codes[index] and (found := find_memo_codes(description, prefixes, tolerant=True))
    }
    if loose:
        issued = issued_codes({code for found in loose.values() for code in found})
        for index, found in loose.items():
            codes[index] = [code for code in found if code in issued]
    return codes


def memo_codes(description: str, prefixes: Sequence[str] = CODE_PREFIXES) -> list[str]:
    """One memo's codes (see :func:`memo_codes_of`)."""
    return memo_codes_of([description], prefixes)[0]


def issued_codes(codes: Iterable[str]) -> set[str]:
    """Those of ``codes`` we issued: a payment's memo code or a cash deposit's code."""
    wanted = sorted(set(codes))
    issued: set[str | None] = set()
    for part in narrowed(Payment.objects.all(), "memo_code", wanted):
        issued.update(part.values_list("memo_code", flat=True))
    for deposits in narrowed(CashDeposit.objects.all(), "code", wanted):
        issued.update(deposits.values_list("code", flat=True))
    return {code for code in issued if code}


def line_match_code(description: str, codes: Sequence[str] | None = None) -> str:
    """What the matcher joins a line on: the one payment or deposit code in its memo
    (``codes``, when the caller has read them already), else the payout descriptor when
    the memo carries it, else nothing."""
    if codes is None:
        codes = memo_codes(description)
    if len(codes) == 1:
        return codes[0]
    descriptor = settings.STRIPE_PAYOUT_DESCRIPTOR.upper()
    if not codes and descriptor and descriptor in _memo(description):
        return descriptor[:20]
    return ""


def _keys(facts: Iterable[LineFacts]) -> list[str]:
    """Dedupe keys of one file's lines: identical lines without a reference get ordinals."""
    seen: Counter[str] = Counter()
    keys = []
    for fact in facts:
        if fact.reference:
            keys.append(line_dedupe_key(fact))
            continue
        base = line_dedupe_key(fact, 0)
        seen[base] += 1
        keys.append(line_dedupe_key(fact, seen[base]))
    return keys


def statement_import(
    *,
    bank: str,
    content: bytes,
    file_name: str,
    imported_by: User | None,
    via: str,
    account_number: str = "",
) -> BankStatement:
    """Import one statement file: all its new lines, or nothing (``statement_invalid`` names
    the row and column; ``statement_wrong_account`` when the file is another account's, or
    not the one the caller said). Lines already stored (an overlapping file, a feed) are
    left as they are. Runs the matcher after the commit."""
    parsed = parse_statement(bank=bank, content=content, file_name=file_name)
    allowed = {normalized_account(a) for a in settings.RECONCILIATION_BANK_ACCOUNTS}
    said = normalized_account(account_number)
    if parsed.account_number not in allowed or (said and said != parsed.account_number):
        raise StatementWrongAccount(
            param="file",
            detail={"statement_account": parsed.account_number[-4:].rjust(8, "*")},
        )
    codes = memo_codes_of([line.description for line in parsed.lines])
    facts = [
        LineFacts(
            account_number=parsed.account_number,
            booked_on=line.booked_on,
            direction=line.direction,
            amount=line.amount,
            currency=line.currency,
            reference=line.reference,
            description=line.description,
            code=found[0] if len(found) == 1 else "",
        )
        for line, found in zip(parsed.lines, codes, strict=True)
    ]
    rows: list[LineRow] = [
        (
            fact.account_number,
            fact.booked_on,
            fact.direction,
            fact.amount,
            fact.currency,
            fact.reference,
            fact.description,
            line_match_code(fact.description, found),
            key,
            line.row,
        )
        for fact, key, line, found in zip(facts, _keys(facts), parsed.lines, codes, strict=True)
    ]
    with transaction.atomic():
        statement = BankStatement.objects.create(
            bank=parsed.bank,
            account_number=parsed.account_number,
            file_name=file_name[:200],
            sha256=hashlib.sha256(content).hexdigest(),
            period_from=min((f.booked_on for f in facts), default=None),
            period_to=max((f.booked_on for f in facts), default=None),
            lines_total=len(rows),
            imported_by=imported_by,
            via=via,
        )
        # The payments the file may complete are locked before its lines are written: the
        # order a bank feed's report takes too (the payment, then the line), so the two
        # never wait on each other in a circle.
        waiting = _waiting_vietqr_payments(parsed.account_number, rows)
        # The file's keys stored already, asked once: a line stored meanwhile (a feed, a
        # second import) makes the COPY fall back to INSERT … ON CONFLICT DO NOTHING.
        known = stored_keys([row[8] for row in rows])
        rows = _adopt_feed_lines(statement.pk, parsed.account_number, rows, known)
        rows, doubtful = _adopt_uncoded_feed_lines(statement.pk, parsed.account_number, rows, known)
        statement.lines_new = statement_lines_insert(
            statement_id=statement.pk, rows=rows, known=known
        )
        statement.save(update_fields=["lines_new"])
        _hold_possible_duplicates(statement, doubtful)
        _complete_waiting_vietqr(statement, waiting)
        audit_change(
            "bank_statement.import",
            statement,
            ("bank", "via", "lines_total", "lines_new"),
            actor=imported_by,
        )
        transaction.on_commit(_run_matcher_later)
    logger.info(
        "statement %s imported (%s, %s lines, %s new)",
        statement.pk,
        parsed.bank,
        statement.lines_total,
        statement.lines_new,
    )
    return statement


# Codes per query when locking the waiting payments a file names (bind-parameter limits).
CODES_PER_QUERY = 5000


def _waiting_vietqr_payments(account_number: str, rows: Sequence[LineRow]) -> list[Payment]:
    """The VietQR payments still waiting whose code one of the file's incoming VND lines on
    the VietQR receiving account carries, locked (in code order)."""
    if account_number != normalized_account(settings.VIETQR_ACCOUNT):
        return []
    codes = sorted(
        {
            row[7]
            for row in rows
            if row[2] == Direction.IN and row[4] == "VND" and MEMO_CODE.fullmatch(row[7])
        }
    )
    waiting: list[Payment] = []
    payments = (
        Payment.objects.select_for_update(no_key=True)
        .filter(method=PaymentMethod.VIETQR, status=PaymentStatus.PENDING)
        .order_by("memo_code")
    )
    for part in narrowed(payments, "memo_code", codes):
        waiting += part
    return waiting


def narrowed(queryset: QuerySet[M], field: str, values: Sequence[object]) -> list[QuerySet[M]]:
    """``queryset`` where ``field`` is one of ``values``: on PostgreSQL one query with the
    values as one array parameter (``= ANY(%s)``: 100,000 keys are one value to send, not
    100,000 placeholders for the ORM to compile and bind), elsewhere ``__in`` in chunks."""
    if not values:
        return []
    if connection.vendor == "postgresql":
        meta = queryset.model._meta
        found = meta.get_field(field)
        assert isinstance(found, Field)
        column = f'"{meta.db_table}"."{found.column}"'
        # The column comes from the model's meta; the values are bound.
        listed = RawSQL(f"{column} = ANY(%s)", (list(values),), output_field=BooleanField())  # noqa: S611
        return [queryset.alias(listed=listed).filter(listed=True)]
    return [
        queryset.filter(**{f"{field}__in": values[start : start + CODES_PER_QUERY]})
        for start in range(0, len(values), CODES_PER_QUERY)
    ]


def stored_keys(keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` already stored as a line's dedupe key."""
    lines = StatementLine.objects.all()
    return {
        key
        for part in narrowed(lines, "dedupe_key", keys)
        for key in part.values_list("dedupe_key", flat=True)
    }


def _complete_waiting_vietqr(statement: BankStatement, waiting: list[Payment]) -> None:
    """A statement line is the bank's word that a VietQR transfer arrived, whether or not a
    feed told us: the new line with a waiting payment's code and its exact amount, booked
    no later than the day the QR expired, completes the payment the way the feed's webhook
    does (Dr VietQR clearing, through the state machine: one capture entry, the receipt's
    event). The line records it (``feed_reports["statement"]``), so a feed reporting the
    same transfer later is recognised and ignored (:func:`statement_line_applied`).
    Anything else (another amount, an expired QR) stays for the matcher and finance."""
    for payment in waiting:
        line = (
            StatementLine.objects.select_for_update()
            .filter(
                statement_id=statement.pk,
                source=StatementSource.FILE,  # not a feed's line the file adopted
                match_code=payment.memo_code,
                amount=payment.amount,
                currency=payment.currency,
                direction=Direction.IN,
            )
            .order_by("booked_on", "id")
            .first()
        )
        if line is None:
            continue
        if payment.expires_at is not None and (
            timezone.localtime(payment.expires_at, BANK_TIMEZONE).date() < line.booked_on
        ):
            continue
        payment, applied = payment_transition(
            payment=payment,
            to=PaymentStatus.SUCCEEDED,
            debit_account=account_for(AccountRole.CLEARING, provider="vietqr"),
        )
        if applied:
            line.feed_reports = {STATEMENT_REPORT: str(statement.pk)}
            line.save(update_fields=["feed_reports"])
            logger.info(
                "payment %s completed by statement %s (line %s): no bank feed reported it",
                payment.public_id,
                statement.pk,
                line.pk,
            )


def _feed_lines_for(
    account_number: str, wanted: list[LineRow], known: set[str], *, coded: bool
) -> tuple[list[LineRow], list[StatementLine]]:
    """The rows of ``wanted`` not stored yet (``known``: the file's keys stored when the
    import began), and the feeds' lines that could be theirs: without a reference, not in
    a statement yet, booked within a day of one of them, with one of their codes
    (``coded``) or else without a code and with one of their amounts; locked, in id order."""
    wanted = [row for row in wanted if row[8] not in known]
    if not wanted:
        return [], []
    values = sorted({row[7] if coded else row[3] for row in wanted})
    first = min(row[1] for row in wanted) - timedelta(days=1)
    last = max(row[1] for row in wanted) + timedelta(days=1)
    lines = (
        StatementLine.objects.select_for_update()
        .filter(
            account_number=account_number,
            statement__isnull=True,
            bank_reference="",
            booked_on__range=(first, last),
        )
        .exclude(source=StatementSource.FILE)
        .order_by("id")
    )
    if not coded:
        lines = lines.filter(match_code="")
    candidates: list[StatementLine] = []
    for part in narrowed(lines, "match_code" if coded else "amount", values):
        candidates += part
    return wanted, candidates


def _adopt_feed_lines(
    statement_id: int, account_number: str, rows: list[LineRow], known: set[str]
) -> list[LineRow]:
    """A feed that reported a transfer without the bank's reference, before the file: the
    file's line with a reference is that transfer when it has the same account, direction,
    amount, currency and match code and is booked within a day of the feed's line, and the
    feed's line has no statement yet. The file adopts that line (its reference, key, row
    and statement; the feed's reports stay) instead of adding a second one. Each feed line
    is adopted once, the nearest day first, then the oldest: two transfers of one code and
    amount stay two lines. The feed lines are locked (in id order) and re-read, so two
    imports, or a feed and an import, decide one after the other. Returns the rows left to
    insert."""
    wanted = [row for row in rows if row[5] and row[7]]
    if not wanted:
        return rows
    wanted, candidates = _feed_lines_for(account_number, wanted, known, coded=True)
    if not candidates:
        return rows
    free: dict[tuple[str, int, str, str], list[StatementLine]] = {}
    for line in candidates:
        free.setdefault((line.direction, line.amount, line.currency, line.match_code), []).append(
            line
        )
    adopted: set[str] = set()
    for row in wanted:
        if row[8] in adopted:  # the same reference twice in one file is one line
            continue
        bucket = free.get((row[2], row[3], row[4], row[7]), [])
        near = [line for line in bucket if abs((line.booked_on - row[1]).days) <= 1]
        if not near:
            continue
        line = min(near, key=lambda line: (abs((line.booked_on - row[1]).days), line.pk))
        if not _adopt(line, statement_id, row):
            continue
        bucket.remove(line)
        adopted.add(row[8])
    return [row for row in rows if row[8] not in adopted]


def folded_text(text: str) -> str:
    """A description without case, accents, spaces or punctuation: what two reports of one
    movement share when the bank passes the remitter's text through."""
    return re.sub(r"[^0-9A-Z]", "", ascii_fold(text).upper())


def descriptions_agree(feed: str, file: str) -> bool:
    """The feed's description is in the file's, both folded (and it says something)."""
    folded = folded_text(feed)
    return bool(folded) and folded in folded_text(file)


def _adopt_uncoded_feed_lines(
    statement_id: int, account_number: str, rows: list[LineRow], known: set[str]
) -> tuple[list[LineRow], dict[str, list[StatementLine]]]:
    """The file's new lines with a reference and no code against the feeds' earlier lines
    without either (the rule: the module's docstring). Adopts the one feed line that can
    only be that line; returns the rows left to insert and, per dedupe key of a row kept
    although feed lines could be the same movement, those feed lines. The feed lines are
    locked (in id order) and re-read, so two imports of one file decide one after the
    other: the second finds the line adopted (or the first's line and its item)."""
    wanted = [row for row in rows if row[5] and not row[7]]
    if not wanted:
        return rows, {}
    wanted, candidates = _feed_lines_for(account_number, wanted, known, coded=False)
    if not candidates:
        return rows, {}
    wanted = list({row[8]: row for row in wanted}.values())  # one reference twice: one line
    by_fact: dict[tuple[str, int, str], list[StatementLine]] = {}
    for line in candidates:
        by_fact.setdefault((line.direction, line.amount, line.currency), []).append(line)
    near: dict[str, list[StatementLine]] = {}
    rows_near: Counter[int] = Counter()  # per feed line: how many of the file's rows
    for row in wanted:
        found = [
            line
            for line in by_fact.get((row[2], row[3], row[4]), [])
            if abs((line.booked_on - row[1]).days) <= 1
        ]
        if found:
            near[row[8]] = found
            rows_near.update(line.pk for line in found)
    adopted: set[str] = set()
    doubtful: dict[str, list[StatementLine]] = {}
    for row in wanted:
        found = near.get(row[8], [])
        if not found:
            continue
        line = found[0]
        if (
            len(found) == 1
            and rows_near[line.pk] == 1
            and descriptions_agree(line.description, row[6])
            and _adopt(line, statement_id, row)
        ):
            adopted.add(row[8])
        else:
            doubtful[row[8]] = found
    return [row for row in rows if row[8] not in adopted], doubtful


def _adopt(line: StatementLine, statement_id: int, row: LineRow) -> bool:
    """The feed's line becomes the file's (its reference, key, row and statement)."""
    line.bank_reference = row[5][:100]
    line.dedupe_key = row[8]
    line.statement_id = statement_id
    line.row_number = row[9]
    try:
        with transaction.atomic():
            line.save(update_fields=["bank_reference", "dedupe_key", "statement", "row_number"])
    except IntegrityError:  # a feed stored this reference meanwhile: the insert skips it
        return False
    logger.info("statement %s adopted feed line %s", statement_id, line.pk)
    return True


POSSIBLE_DUPLICATE_SOURCE = "possible_duplicate"


def _hold_possible_duplicates(
    statement: BankStatement, doubtful: dict[str, list[StatementLine]]
) -> None:
    """A ``possible_duplicate`` item (unexpected, nothing posted) holding each of the file's
    lines kept beside feed lines that may be the same movement; once per line (a second
    import of the file finds the item there)."""
    if not doubtful:
        return
    lines = StatementLine.objects.filter(dedupe_key__in=list(doubtful))
    for line in lines:
        feeds = ", ".join(
            f"line {feed.pk} ({feed.source}, {feed.booked_on.isoformat()})"
            for feed in doubtful[line.dedupe_key]
        )
        item, created = ReconItem.objects.get_or_create(
            source_type=POSSIBLE_DUPLICATE_SOURCE,
            source_id=str(line.pk),
            defaults={
                "kind": ReconKind.POSSIBLE_DUPLICATE,
                "channel": ReconChannel.BANK,
                "status": ReconStatus.UNEXPECTED,
                "direction": line.direction,
                "amount": line.amount,
                "currency": line.currency,
                "expected_on": line.booked_on,
                "statement_line": line,
                "note": f"may be the same movement as bank-feed {feeds}"[:300],
            },
        )
        if created:
            ReconItemAction.objects.create(
                item=item,
                action="possible_duplicate",
                to_status=item.status,
                note=f"statement {statement.pk}: {item.note}"[:300],
            )
            logger.info(
                "statement %s: line %s may repeat feed lines %s (item %s)",
                statement.pk,
                line.pk,
                [feed.pk for feed in doubtful[line.dedupe_key]],
                item.pk,
            )


def _run_matcher_later() -> None:
    from payments.tasks import run_matcher  # tasks import the services

    run_matcher.delay()


INSERT_COLUMNS = (
    "account_number, booked_on, direction, amount, currency, bank_reference, description,"
    " match_code, dedupe_key, row_number"
)


# One line to insert, in the order of INSERT_COLUMNS.
LineRow = tuple[str, date, str, int, str, str, str, str, str, int | None]


def statement_lines_insert(
    *, statement_id: int, rows: Sequence[LineRow], known: set[str] | None = None
) -> int:
    """Insert the lines not stored yet (``known``: the keys the caller found stored, else
    asked here); returns how many were new. On PostgreSQL the new rows are sent with
    ``COPY``."""
    if not rows:
        return 0
    table = StatementLine._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            before = StatementLine.objects.count()
            names = [name.strip() for name in INSERT_COLUMNS.split(",")]
            StatementLine.objects.bulk_create(
                [
                    StatementLine(
                        **dict(zip(names, row, strict=True)),
                        statement_id=statement_id,
                        source=StatementSource.FILE,
                    )
                    for row in rows
                ],
                ignore_conflicts=True,
            )
            return StatementLine.objects.count() - before
        # The keys already stored (an overlapping file, a feed) are left out, and the new
        # rows go straight into the table with COPY. A line a feed stores meanwhile makes
        # the COPY fail on the unique key: then the rows go through a temporary table and
        # INSERT … ON CONFLICT DO NOTHING instead.
        if known is None:
            known = stored_keys([row[8] for row in rows])
        new_rows = [row for row in rows if row[8] not in known]
        try:
            with transaction.atomic():
                _copy(cursor, table, statement_id, now, new_rows)
            return len(new_rows)
        except (IntegrityError, psycopg.errors.UniqueViolation):
            return _insert_once(cursor, table, statement_id, now, rows)


def _copy(
    cursor: Any, table: str, statement_id: int, now: datetime, rows: Sequence[LineRow]
) -> None:
    columns = f"{INSERT_COLUMNS}, source, statement_id, feed_reports, created_at"
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, StatementSource.FILE, statement_id, "{}", now))


def _insert_once(
    cursor: Any, table: str, statement_id: int, now: datetime, rows: Sequence[LineRow]
) -> int:
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS statement_import_rows ("
        " account_number text, booked_on date, direction text, amount bigint,"
        " currency text, bank_reference text, description text, match_code text,"
        " dedupe_key text, row_number integer) ON COMMIT DELETE ROWS"
    )
    with cursor.cursor.copy(f"COPY statement_import_rows ({INSERT_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {table} ({INSERT_COLUMNS}, source, statement_id, feed_reports,"  # noqa: S608 - table from model meta
        " created_at)"
        f" SELECT {INSERT_COLUMNS}, %s, %s, '{{}}'::jsonb, %s FROM statement_import_rows"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        [StatementSource.FILE, statement_id, now],
    )
    new = int(cursor.rowcount)
    cursor.execute("TRUNCATE statement_import_rows")
    return new


def statement_line_report(*, transfer: BankTransfer) -> tuple[StatementLine, bool]:
    """A bank feed's report of one transfer, as a statement line; True when this is the
    first feed to report it (the one that applies it). A second feed's report of the same
    line (same bank reference, or without one the same memo-keyed line not yet reported by
    this feed) is recorded on the line and answered False. Locks the line."""
    codes = memo_codes(transfer.description)
    facts = LineFacts(
        account_number=normalized_account(transfer.account_number),
        booked_on=timezone.localtime(transfer.occurred_at, BANK_TIMEZONE).date(),
        direction=str(transfer.direction),
        amount=transfer.amount,
        currency="VND",
        reference=transfer.reference,
        description=transfer.description,
        code=codes[0] if len(codes) == 1 else "",
    )
    provider = str(transfer.provider)
    ordinal = 1
    while True:
        key = line_dedupe_key(facts, ordinal)
        created = _line_create_reported(facts, key, provider, transfer.transaction_id, codes)
        if created is not None:  # a line no one told yet: this feed's report is the first
            return created, True
        line = StatementLine.objects.select_for_update().get(dedupe_key=key)
        reports = dict(line.feed_reports)
        mine = reports.get(provider)
        if mine == transfer.transaction_id:
            return line, True
        if mine is None:
            first = not reports
            reports[provider] = transfer.transaction_id
            line.feed_reports = reports
            line.save(update_fields=["feed_reports"])
            return line, first
        if facts.reference:  # this feed already told this reference under another id
            return line, False
        ordinal += 1


def statement_line_applied(*, transfer: BankTransfer, memo_code: str) -> StatementLine | None:
    """The statement line that already completed the payment of ``memo_code`` and that this
    feed report describes (see :func:`_complete_waiting_vietqr`), with the report recorded
    on it; None when there is none. The same transfer: same account, direction, amount and
    code, booked within a day of the feed's time, not another bank reference, and not yet
    reported by this feed under another transaction id (a second transfer of the same code
    is a second payment of the bill, held in suspense as before). Locks the line."""
    booked_on = timezone.localtime(transfer.occurred_at, BANK_TIMEZONE).date()
    provider = str(transfer.provider)
    reference = transfer.reference.strip().upper()
    lines = (
        StatementLine.objects.select_for_update()
        .filter(
            account_number=normalized_account(transfer.account_number),
            direction=str(transfer.direction),
            amount=transfer.amount,
            currency="VND",
            match_code=memo_code,
            booked_on__range=(booked_on - timedelta(days=1), booked_on + timedelta(days=1)),
        )
        .filter(
            Q(feed_reports__has_key=STATEMENT_REPORT)
            # a feed's line a statement file adopted (see _adopt_feed_lines)
            | Q(statement__isnull=False, source__in=[StatementSource.CASSO, StatementSource.SEPAY])
        )
        .order_by("id")
    )
    for line in lines:
        if reference and line.bank_reference and line.bank_reference.strip().upper() != reference:
            continue
        mine = line.feed_reports.get(provider)
        if mine == transfer.transaction_id:
            return line
        if mine is None:
            line.feed_reports = {**line.feed_reports, provider: transfer.transaction_id}
            line.save(update_fields=["feed_reports"])
            return line
    return None


def _line_create_reported(
    facts: LineFacts, key: str, provider: str, transaction_id: str, codes: Sequence[str]
) -> StatementLine | None:
    """Insert the line with ``provider``'s report already on it, in one statement (it is
    this transaction's row, so locked by it); None when the line exists (``ON CONFLICT``:
    a concurrent insert of the same key waits for the other transaction)."""
    table = StatementLine._meta.db_table
    now = timezone.now()
    line = StatementLine(
        account_number=facts.account_number,
        booked_on=facts.booked_on,
        direction=facts.direction,
        amount=facts.amount,
        currency=facts.currency,
        bank_reference=facts.reference[:100],
        description=facts.description[:500],
        match_code=line_match_code(facts.description, codes),
        dedupe_key=key,
        row_number=None,
        source=provider,
        feed_reports={provider: transaction_id},
        created_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({INSERT_COLUMNS}, source, feed_reports, created_at)"  # noqa: S608 - table from model meta
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [
                line.account_number,
                line.booked_on,
                line.direction,
                line.amount,
                line.currency,
                line.bank_reference,
                line.description,
                line.match_code,
                key,
                provider,
                json.dumps(line.feed_reports),
                now,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    line.pk = row[0]
    line._state.adding = False
    return line
