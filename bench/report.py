"""How a benchmark states its result: one printed line per figure, one row in the summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One figure: what the app did, against what, and whether it met its target."""

    name: str
    measured: str
    baseline: str
    figure: str
    target: str
    met: bool | None  # None: for information only

    @property
    def verdict(self) -> str:
        return {True: "OK", False: "MISSED", None: "info"}[self.met]

    def line(self) -> str:
        against = f" vs {self.baseline}" if self.baseline else ""
        target = f" (target {self.target})" if self.target else ""
        return f"{self.name}: {self.measured}{against} -> {self.figure}{target} {self.verdict}"


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """Seconds taken by ``work()`` (``time.perf_counter``) and its result."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def ratio_outcome(
    *,
    name: str,
    unit: str,
    app_rate: float,
    baseline_label: str,
    baseline_rate: float,
    target: float | None,
) -> Outcome:
    ratio = app_rate / baseline_rate
    outcome = Outcome(
        name=name,
        measured=f"{app_rate:,.0f} {unit}",
        baseline=f"{baseline_label} {baseline_rate:,.0f} {unit}",
        figure=f"ratio {ratio:.2f}",
        target=f">= {target:.2f}" if target is not None else "",
        met=None if target is None else ratio >= target,
    )
    print(outcome.line(), flush=True)
    return outcome


def memory_outcome(*, name: str, detail: str, peak_mb: float, limit_mb: float | None) -> Outcome:
    outcome = Outcome(
        name=name,
        measured=detail,
        baseline="",
        figure=f"peak {peak_mb:,.1f} MB",
        target=f"< {limit_mb:.0f} MB" if limit_mb is not None else "",
        met=None if limit_mb is None else peak_mb < limit_mb,
    )
    print(outcome.line(), flush=True)
    return outcome


def print_summary(outcomes: Sequence[Outcome]) -> None:
    headers = ("benchmark", "figure", "target", "result")
    rows = [(o.name, o.figure, o.target or "-", o.verdict) for o in outcomes]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    rule = "  ".join("-" * width for width in widths)
    print()
    print("Summary")
    print(rule)
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if row is headers:
            print(rule)
    print(rule)
    missed = [o.name for o in outcomes if o.met is False]
    print(f"MISSED: {', '.join(missed)}" if missed else "All targets met.")
