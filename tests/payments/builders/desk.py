"""Builders for the cashier-desk tests: terminals, cashiers at the desk with an open session
(through the API, as a desk client does it), cash payments, counts, and the drawer's books
read straight from the journal lines."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from billing.models import Encounter, EncounterKind, Invoice
from billing.services.deposits import encounter_discharge
from config.identity.models import Role
from config.identity.services import staff_create
from payments.models import CashierSession, Payment, PaymentChannel, PaymentMethod, Terminal
from payments.services.cashier.cash import cash_payment_take
from payments.services.cashier.sessions import session_open
from payments.services.cashier.terminals import terminal_create
from tests.assertions import balance
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.payments.builders.payments import PAYMENTS_URL, new_key, payment_request

SESSIONS_URL = "/api/v1/cashier/sessions"


def terminal_new(*, card_reader_id: str = "") -> Terminal:
    return terminal_create(
        code=f"Q{uuid.uuid4().hex[:8].upper()}", name="Quầy thu ngân", card_reader_id=card_reader_id
    )


def post(client: APIClient, url: str, body: dict[str, Any], idem: str | None = None) -> Any:
    return client.post(
        url, body, format="json", headers={"Idempotency-Key": idem or new_key("desk")}
    )


def open_session(client: APIClient, terminal: Terminal, count: dict[str, int] | None = None) -> Any:
    return post(client, SESSIONS_URL, {"terminal": terminal.code, "opening_count": count or {}})


def at_desk(
    staff_client: Callable[..., APIClient],
    role: str = Role.CASHIER,
    *,
    count: dict[str, int] | None = None,
    terminal: Terminal | None = None,
) -> tuple[APIClient, CashierSession]:
    """A cashier (client) with a session open on a new terminal (or ``terminal``)."""
    client = staff_client(role)
    response = open_session(client, terminal or terminal_new(), count)
    assert response.status_code == 201, response.content
    return client, CashierSession.objects.get(public_id=response.json()["id"])


def desk_user(role: str = Role.CASHIER) -> User:
    user, _ = staff_create(username=f"desk-{uuid.uuid4().hex[:10]}", role=role)
    assert isinstance(user, User)
    return user


def session_new(
    *, count: dict[str, int] | None = None, cashier: User | None = None
) -> CashierSession:
    """A session opened through the service (for tests that need no HTTP client)."""
    return session_open(
        terminal=terminal_new(), cashier=cashier or desk_user(), opening_count=count or {}
    )


def cash_take(
    session: CashierSession,
    *,
    amount: int,
    tendered: int | None = None,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
) -> Payment:
    """Cash taken in ``session`` through the service (``tendered``: the notes handed over,
    by default exactly ``amount``)."""
    return cash_payment_take(
        request=payment_request(
            method=PaymentMethod.CASH,
            amount=amount,
            channel=PaymentChannel.DESK,
            invoice=invoice,
            encounter=encounter,
            created_by_user=session.cashier,
            cashier_session=session,
            tendered=amount if tendered is None else tendered,
        )
    )


def discharged_with_leftover(session: CashierSession, *, advance: int, charges: int) -> Encounter:
    """An inpatient who paid ``advance`` in cash at ``session`` and was billed ``charges``,
    then discharged: the leftover is owed back (refunds owed)."""
    patient = patient_with_coverage(benefit_level=None)
    encounter = encounter_new(patient=patient, kind=EncounterKind.INPATIENT)
    cash_take(session, amount=advance, encounter=encounter)
    charges_post(encounter, (price_item(price=charges), 1))
    result = encounter_discharge(encounter=encounter, by="test")
    assert result.refund_owed == advance - charges
    return encounter


def paid_in_cash(
    *,
    amount: int,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    session: CashierSession | None = None,
) -> Payment:
    """Cash taken at the desk, in ``session`` (by default a new cashier's new session)."""
    return cash_take(session or session_new(), amount=amount, invoice=invoice, encounter=encounter)


def pay_cash(
    client: APIClient, *, amount: int, tendered: int, invoice: Invoice | None = None, **body: Any
) -> Any:
    if invoice is not None:
        body["invoice_id"] = invoice.public_id
    return post(
        client, PAYMENTS_URL, {"amount": amount, "tendered": tendered, "method": "cash", **body}
    )


def close(client: APIClient, session: CashierSession, count: dict[str, int]) -> Any:
    return post(client, f"{SESSIONS_URL}/{session.public_id}/close", {"count": count})


def report(client: APIClient, session: CashierSession) -> dict[str, Any]:
    response = client.get(f"{SESSIONS_URL}/{session.public_id}/report")
    assert response.status_code == 200, response.content
    return response.json()


def drawer(session: CashierSession) -> int:
    """What the ledger says the session's drawer holds now (its sub-ledger)."""
    session = CashierSession.objects.select_related("terminal__cash_account").get(pk=session.pk)
    return balance(session.terminal.cash_account.code, session.ledger_reference)


def fresh(session: CashierSession) -> CashierSession:
    return CashierSession.objects.get(pk=session.pk)
