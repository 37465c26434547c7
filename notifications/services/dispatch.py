"""Who does the work a new receipt sets off: by default, tasks sent after commit (the PDF's
render task, one send task per message); inside ``follow_ups_by_caller()``, the caller.

The receipt's own task (``notifications.issue_payment_receipt`` and the refund one) runs in
a worker already: it issues the receipt under ``follow_ups_by_caller()`` and then renders
the PDF and sends the messages itself (``notifications.tasks._follow_up``), instead of
paying for three more task deliveries (a delivery costs more worker CPU than sending an
SMS through the gateway's client). Each step that fails there is handed to its own task,
retried with backoff as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The receipts issued inside ``follow_ups_by_caller()``, each with the messages written
# with it; None outside it.
_ISSUED: ContextVar[list[tuple[Any, list[Any]]] | None] = ContextVar(
    "notifications_issued_here", default=None
)


@contextmanager
def follow_ups_by_caller() -> Iterator[list[tuple[Any, list[Any]]]]:
    """Inside: issuing a receipt and enqueuing its messages send no tasks after commit;
    yields the list the receipts issued inside are added to, with their messages (the
    caller's to follow up)."""
    issued: list[tuple[Any, list[Any]]] = []
    token = _ISSUED.set(issued)
    try:
        yield issued
    finally:
        _ISSUED.reset(token)


def tasks_after_commit() -> bool:
    """Whether the work set off now goes to tasks sent after commit (the default)."""
    return _ISSUED.get() is None


def issued_here(receipt: Any, messages: list[Any]) -> None:
    """Records a receipt issued inside ``follow_ups_by_caller()``, and the messages
    written with it, for its caller."""
    issued = _ISSUED.get()
    assert issued is not None
    issued.append((receipt, messages))
