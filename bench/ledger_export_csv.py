"""Benchmark 2: the CSV ledger export against ``COPY … TO STDOUT`` through raw psycopg.

The baseline consumes the very statement the app uses (``copy_statement``) on a plain
psycopg connection. The app is measured three ways, each consumed fully and checked to
deliver exactly the baseline's bytes plus the header:

* ``ledger_export_csv(...)``, the generator the view streams;
* ``GET /api/v1/ledger/export?format=csv`` through Django's test ``Client``;
* the same GET against gunicorn (one sync worker) with curl as the client.

Timed runs are interleaved (the order flips on every repeat) and the best of ``repeats``
counts; meanwhile the gunicorn worker's RSS high-water mark is taken. The in-process paths'
memory is measured in a freshly spawned process (Django and the export alone, as a server's
worker: the bench's own process holds what its earlier parts left, ~150 MB after the growth
fills, which says nothing about the export): its RSS high-water mark over its whole life
while the generator and the test ``Client`` each export the whole window, then the
tracemalloc peak of one more test ``Client`` export with tracing on (tracing slows Python
down, so it is kept out of the timed runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg

from bench import database
from bench.database import raw_connect
from bench.http_server import curl_get, curl_path, gunicorn_server
from bench.ledger_fill import Filled
from bench.memory import (
    MemoryWatch,
    in_a_fresh_process,
    lifetime_max_rss_mb,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
)
from bench.report import Outcome, memory_outcome, rate, ratio_outcome, timed

TARGET_RATIO = 0.5
MEMORY_LIMIT_MB = 150.0
EXPORT_PATH = "/api/v1/ledger/export"


def copy_baseline(conn: psycopg.Connection, start: datetime, end: datetime) -> int:
    from billing.selectors.ledger_export import copy_statement

    received = 0
    with conn.cursor() as cursor, cursor.copy(copy_statement(start, end)) as copy:
        for block in copy:
            received += len(block)
    return received


def app_generator(start: datetime, end: datetime) -> int:
    from billing.selectors.ledger_export import ledger_export_csv

    received = 0
    for chunk in ledger_export_csv(start=start, end=end):
        received += len(chunk)
    return received


def test_client_get(client: Any, first_day: date, last_day: date) -> int:
    response = client.get(
        EXPORT_PATH,
        {"from": first_day.isoformat(), "to": last_day.isoformat(), "format": "csv"},
    )
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(
            f"export answered {response.status_code}, streaming={response.streaming}"
        )
    received = 0
    for chunk in response.streaming_content:
        received += len(chunk)
    return received


def _lines_in_window(start: datetime, end: datetime) -> int:
    from billing.models import JournalLine

    return JournalLine.objects.filter(entry__posted_at__gte=start, entry__posted_at__lt=end).count()


@dataclass
class _Runs:
    """Best time and bytes delivered per path; the gunicorn worker's RSS peak; this (the
    bench's) process's RSS during its exports, for information."""

    best: dict[str, float] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    rss_bench_process: float = 0.0
    rss_worker: float = 0.0


def _run_interleaved(
    paths: dict[str, Callable[[], int]], repeats: int, worker: int | None
) -> _Runs:
    runs = _Runs()
    for repeat in range(repeats):
        order = list(paths.items())
        for name, work in order if repeat % 2 == 0 else reversed(order):
            if name == "gunicorn" and worker is not None:
                reset_peak_rss(worker)
            with MemoryWatch(trace=False) as watch:
                seconds, runs.received[name] = timed(work)
            runs.best[name] = min(seconds, runs.best.get(name, seconds))
            if name in ("generator", "test Client"):
                runs.rss_bench_process = max(runs.rss_bench_process, watch.rss_peak_mb)
            if name == "gunicorn" and worker is not None:
                runs.rss_worker = max(runs.rss_worker, peak_rss_mb(worker) or 0.0)
    return runs


def run(*, filled: Filled, repeats: int, authorization: str) -> list[Outcome]:
    from django.test import Client

    from billing.selectors.ledger_export import export_window

    first_day, last_day = filled.first_day, filled.last_day
    start, end = export_window(first_day, last_day)
    lines = _lines_in_window(start, end)
    print(
        f"\n== CSV export: {lines:,} journal lines, {first_day} .. {last_day},"
        f" best of {repeats} ==",
        flush=True,
    )
    client = Client(HTTP_AUTHORIZATION=authorization)
    query = f"?from={first_day}&to={last_day}&format=csv"
    curl = curl_path()
    with raw_connect(autocommit=True) as conn, gunicorn_server() as server:
        paths: dict[str, Callable[[], int]] = {
            "COPY": lambda: copy_baseline(conn, start, end),
            "generator": lambda: app_generator(start, end),
            "test Client": lambda: test_client_get(client, first_day, last_day),
        }
        if curl is not None:
            paths["gunicorn"] = lambda: curl_get(
                curl=curl, port=server.port, path=EXPORT_PATH + query, authorization=authorization
            )
        else:
            print("curl not found: the real-server path is skipped")
        # Warm up on one day (the fill's VACUUM has just read the whole tables).
        copy_baseline(conn, *export_window(first_day, first_day))
        app_generator(*export_window(first_day, first_day))
        test_client_get(client, first_day, first_day)
        runs = _run_interleaved(paths, repeats, server.worker_pid())
    # An empty window yields the header alone.
    _check_same_bytes(runs.received, header=app_generator(start, start))
    print(
        f"each path delivered {runs.received['COPY'] / 1e6:,.1f} MB of CSV; best times:"
        + ",".join(f" {name} {seconds:.2f} s" for name, seconds in runs.best.items()),
        flush=True,
    )
    outcomes = [
        ratio_outcome(
            name=f"csv export ({label})",
            unit="rows/s",
            app_rate=rate(lines, runs.best[name]),
            baseline_label="raw COPY",
            baseline_rate=rate(lines, runs.best["COPY"]),
            target=TARGET_RATIO,
        )
        for name, label in (
            ("generator", "ledger_export_csv"),
            ("test Client", "test Client GET"),
            ("gunicorn", "gunicorn + curl"),
        )
        if name in runs.best
    ]
    memory = in_a_fresh_process(
        _exports_in_a_fresh_process, first_day, last_day, authorization, runs.received["COPY"]
    )
    return outcomes + _memory_outcomes(runs, memory)


@dataclass(frozen=True, slots=True)
class _FreshMemory:
    rss_before_mb: float
    rss_peak_mb: float
    traced_peak_mb: float


def _exports_in_a_fresh_process(
    first_day: date, last_day: date, authorization: str, copy_bytes: int
) -> _FreshMemory:
    """Runs in a process of its own (spawned, like a server's worker: Django and the export,
    nothing else): a warm-up export of the first day, then the generator and the test
    ``Client`` each export the whole window (checked to deliver COPY's bytes plus the
    header), then one more test ``Client`` export with tracemalloc on. The RSS peak is the
    process's whole life's (``VmHWM``)."""
    database.django_setup()
    from django.test import Client

    from billing.selectors.ledger_export import export_window

    start, end = export_window(first_day, last_day)
    client = Client(HTTP_AUTHORIZATION=authorization)
    app_generator(*export_window(first_day, first_day))
    test_client_get(client, first_day, first_day)
    before = rss_mb() or 0.0
    expected = copy_bytes + app_generator(start, start)  # COPY's bytes and the header
    for name, received in (
        ("generator", app_generator(start, end)),
        ("test Client", test_client_get(client, first_day, last_day)),
    ):
        if received != expected:
            raise RuntimeError(f"{name} delivered {received:,} bytes, expected {expected:,}")
    peak = peak_rss_mb() or lifetime_max_rss_mb()
    with MemoryWatch(trace=True) as traced:
        test_client_get(client, first_day, last_day)
    return _FreshMemory(before, peak, traced.traced_peak_mb or 0.0)


def _memory_outcomes(runs: _Runs, memory: _FreshMemory) -> list[Outcome]:
    outcomes = [
        memory_outcome(
            name="csv export memory (in process)",
            detail=(
                f"a fresh process's RSS: {memory.rss_before_mb:,.1f} MB after Django's start"
                f" and a warm-up, {memory.rss_peak_mb:,.1f} MB at peak (generator and test"
                f" Client GET); tracemalloc peak {memory.traced_peak_mb:,.1f} MB (test Client"
                f" GET); the bench's own process during its timed exports"
                f" {runs.rss_bench_process:,.1f} MB (what its earlier parts left included)"
            ),
            peak_mb=max(memory.rss_peak_mb, memory.traced_peak_mb),
            limit_mb=MEMORY_LIMIT_MB,
        )
    ]
    if runs.rss_worker:
        outcomes.append(
            memory_outcome(
                name="csv export memory (gunicorn worker)",
                detail=f"worker RSS peak {runs.rss_worker:,.1f} MB (during its exports)",
                peak_mb=runs.rss_worker,
                limit_mb=MEMORY_LIMIT_MB,
            )
        )
    return outcomes


def _check_same_bytes(received: dict[str, int], header: int) -> None:
    """Every app path must deliver exactly COPY's bytes plus the CSV header."""
    for name, size in received.items():
        expected = received["COPY"] + (0 if name == "COPY" else header)
        if size != expected:
            raise RuntimeError(f"{name} delivered {size:,} bytes, expected {expected:,}")
