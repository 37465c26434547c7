"""``manage.py audit_verify [--from DAY] [--to DAY] [--head DAY=HASH ...]``: walks the audit
trail's hash chains and exits 1 when a row was edited, removed or inserted around the writer.

Each day's last hash is printed: kept off the database (a daily e-mail, a ticket), it is
what shows that a day's last rows were removed (``--head`` checks it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.audit.selectors import audit_chain_verify


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain, day by day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="day_from", type=_day)
        parser.add_argument("--to", dest="day_to", type=_day)
        parser.add_argument(
            "--head",
            action="append",
            default=[],
            metavar="DAY=HASH",
            help="a day's head hash kept elsewhere; a different or missing head is reported",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        heads: dict[date, str] = {}
        for item in options["head"]:
            day, _, digest = item.partition("=")
            heads[_day(day)] = digest.strip().lower()
        broken = 0
        seen: set[date] = set()
        for verdict in audit_chain_verify(day_from=options["day_from"], day_to=options["day_to"]):
            seen.add(verdict.day)
            problems = list(verdict.problems)
            expected_head = heads.get(verdict.day)
            if expected_head and expected_head != verdict.head_hash:
                problems.append(f"head hash differs from the one kept ({expected_head[:16]}…)")
            state = "ok" if not problems else "BROKEN"
            self.stdout.write(f"{verdict.day} {state} rows={verdict.rows} head={verdict.head_hash}")
            for problem in problems:
                self.stdout.write(f"  {problem}")
            broken += bool(problems)
        for day in sorted(set(heads) - seen):
            self.stdout.write(f"{day} BROKEN rows=0: a head was kept but the day has no rows")
            broken += 1
        if broken:
            raise CommandError(f"audit trail: {broken} day(s) broken")
        self.stdout.write("audit trail intact")
