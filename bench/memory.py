"""Peak memory of a piece of work: Python allocations (tracemalloc) and process RSS.

The RSS peak is the kernel's high-water mark (``VmHWM``), reset just before the work through
``/proc/self/clear_refs`` so that it belongs to that work alone; where the reset is not
possible it falls back to ``resource.getrusage`` (the peak over the process's whole life).
"""

from __future__ import annotations

import multiprocessing
import resource
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

_MB = 1024 * 1024


def in_a_fresh_process(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a newly spawned process (nothing of this one's memory: a
    server's worker, say), its result returned; ``work`` must be a module's function."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as fresh:
        return fresh.submit(work, *args).result()


def reset_peak_rss(pid: int | str = "self") -> bool:
    """Reset a process's RSS high-water mark (Linux ≥ 4.0); False where that is refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(pid: int | str, field: str) -> float | None:
    """A field of ``/proc/<pid>/status`` given in kB, in MB, or None when /proc does not say."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / _MB
    return None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """``VmHWM`` of a process in MB, or None when /proc does not say."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int | str = "self") -> float | None:
    """``VmRSS`` of a process in MB (resident now), or None when /proc does not say."""
    return _status_mb(pid, "VmRSS")


def lifetime_max_rss_mb() -> float:
    """``resource.getrusage`` max RSS of this process so far (kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / _MB


@dataclass
class MemoryWatch:
    """``with MemoryWatch(trace=True) as watch: work()``, then read the peaks.

    Tracing allocations slows Python down a lot, so timed runs use ``trace=False``.
    """

    trace: bool = True
    traced_peak_mb: float | None = field(default=None, init=False)
    rss_peak_mb: float = field(default=0.0, init=False)
    rss_peak_is_own: bool = field(default=False, init=False)
    lifetime_max_rss_mb: float = field(default=0.0, init=False)

    def __enter__(self) -> MemoryWatch:
        self.rss_peak_is_own = reset_peak_rss()
        if self.trace:
            tracemalloc.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.trace:
            self.traced_peak_mb = tracemalloc.get_traced_memory()[1] / _MB
            tracemalloc.stop()
        self.lifetime_max_rss_mb = lifetime_max_rss_mb()
        own = peak_rss_mb() if self.rss_peak_is_own else None
        self.rss_peak_is_own = own is not None
        self.rss_peak_mb = own if own is not None else self.lifetime_max_rss_mb
