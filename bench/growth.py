"""Growth table: the reads that must stay flat as the ledger grows, measured at each size
the run reaches (after the posting benchmark: ~20k lines; after the fill: ~1M), each row a
ratio to the smallest size (1.00 = flat).

* **trial balance** (``trial_balance()``, all accounts): read from the daily balances;
* **trial balance as of noon** of a day with lines: balances before the day plus the day's
  own lines up to noon;
* **one-day export window**: ``ledger_export_csv`` of one local day, consumed fully, in
  microseconds per line delivered (the window's line count differs between sizes).

Best of 5 for each (the machine is shared: the minimum is the least disturbed run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from bench.report import Outcome

REPEATS = 5


@dataclass(frozen=True, slots=True)
class Size:
    lines: int
    trial_ms: float
    trial_as_of_ms: float
    window_lines: int
    window_us_per_line: float


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def measure(day: date) -> Size:
    """The three reads, with ``day`` (local) as the window and the as-of day."""
    from django.conf import settings

    from billing.models import JournalLine
    from billing.selectors.ledger import trial_balance
    from billing.selectors.ledger_export import ledger_export_csv

    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, clock(), tzinfo=tz)
    end = start + timedelta(days=1)
    noon = start + timedelta(hours=12)
    window = JournalLine.objects.filter(
        entry__posted_at__gte=start, entry__posted_at__lt=end
    ).count()
    export = _best(lambda: sum(len(piece) for piece in ledger_export_csv(start=start, end=end)))
    return Size(
        lines=JournalLine.objects.count(),
        trial_ms=_best(trial_balance) * 1000,
        trial_as_of_ms=_best(lambda: trial_balance(as_of=noon)) * 1000,
        window_lines=window,
        window_us_per_line=export / max(window, 1) * 1e6,
    )


def report(sizes: list[Size]) -> list[Outcome]:
    """Prints the table; one summary row per read: largest size / smallest (target <= 2)."""
    first = sizes[0]
    print("\n== growth: reads as the ledger grows (ratio to the smallest size) ==", flush=True)
    print(
        f"{'lines':>11}  {'trial balance':>22}  {'trial balance as of':>22}"
        f"  {'one-day export window':>34}",
        flush=True,
    )
    for size in sizes:
        trial, as_of = size.trial_ms / first.trial_ms, size.trial_as_of_ms / first.trial_as_of_ms
        print(
            f"{size.lines:>11,}  {size.trial_ms:>9.2f} ms (x{trial:>5.2f})"
            f"  {size.trial_as_of_ms:>9.2f} ms (x{as_of:>5.2f})"
            f"  {size.window_us_per_line:>6.2f} us/line of {size.window_lines:>7,}"
            f" (x{size.window_us_per_line / first.window_us_per_line:>5.2f})",
            flush=True,
        )
    last = sizes[-1]
    outcomes = []
    for name, small, large, unit in (
        ("growth: trial balance", first.trial_ms, last.trial_ms, "ms"),
        ("growth: trial balance as of", first.trial_as_of_ms, last.trial_as_of_ms, "ms"),
        (
            "growth: one-day export per line",
            first.window_us_per_line,
            last.window_us_per_line,
            "us/line",
        ),
    ):
        outcome = Outcome(
            name=name,
            measured=f"{large:.2f} {unit} at {last.lines:,} lines",
            baseline=f"{small:.2f} {unit} at {first.lines:,} lines",
            figure=f"x{large / small:.2f}",
            target="<= x2.00",
            met=large / small <= 2.0,
        )
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes
