"""Taking a payment on any channel: which methods each channel takes, what cash needs, and
which desk session a cashier's payment belongs to; then the rail's own service."""

from __future__ import annotations

from typing import Any

from config.identity.models import Device
from payments.errors import CASH_NEEDS_TENDERED, MethodNotAllowed, TenderedMissing
from payments.models import Payment, PaymentChannel, PaymentMethod, PaymentPurpose
from payments.paylinks import PayLinkPrincipal
from payments.selectors.cashier_sessions import session_open_for
from payments.selectors.payments import payment_target
from payments.services.cashier.cash import cash_payment_take
from payments.services.payments import PaymentRequest, payment_create

METHODS_BY_CHANNEL = {
    PaymentChannel.KIOSK: {PaymentMethod.CARD_PRESENT, PaymentMethod.VIETQR},
    PaymentChannel.PHONE: {PaymentMethod.CARD, PaymentMethod.VIETQR},
    PaymentChannel.DESK: {PaymentMethod.CARD_PRESENT, PaymentMethod.VIETQR, PaymentMethod.CASH},
}


def payment_channel_of(payer: Any) -> PaymentChannel:
    """A kiosk device pays at the kiosk, a pay-link holder by phone, staff at the desk."""
    if isinstance(payer, Device):
        return PaymentChannel.KIOSK
    if isinstance(payer, PayLinkPrincipal):
        return PaymentChannel.PHONE
    return PaymentChannel.DESK


def payment_take(
    *,
    payer: Any,
    method: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    invoice_public_id: str | None = None,
    encounter_id: int | None = None,
    tendered: int | None = None,
) -> Payment:
    """Pay an invoice (or take an advance on an encounter) as ``payer`` may: a kiosk device,
    a pay-link holder (its own invoice only) or a cashier.

    Refused before anything is written: a method the payer's channel does not take
    (``method_not_allowed_here``), cash without ``tendered``, a desk payment without the
    cashier's open session (``cashier_session_required``), an invoice or encounter the payer
    cannot pay (``not_found``). A desk payment belongs to that session and uses its
    terminal's card reader. Cash succeeds at once (``cash_payment_take``); the other rails
    start through ``payment_create``, which is idempotent per ``idempotency_key``."""
    channel = payment_channel_of(payer)
    if method not in METHODS_BY_CHANNEL[channel]:
        raise MethodNotAllowed(f"{method} is not taken on the {channel} channel.", param="method")
    if method == PaymentMethod.CASH and tendered is None:
        raise TenderedMissing(param="tendered", detail={"tendered": CASH_NEEDS_TENDERED})
    session = session_open_for(cashier=payer) if channel == PaymentChannel.DESK else None
    invoice, encounter = payment_target(
        payer=payer, invoice_public_id=invoice_public_id, encounter_id=encounter_id
    )
    reader = payer.card_reader_id if isinstance(payer, Device) else ""
    request = PaymentRequest(
        purpose=PaymentPurpose.INVOICE if invoice else PaymentPurpose.DEPOSIT,
        invoice=invoice,
        encounter=encounter,
        amount=amount,
        currency=currency,
        method=method,
        channel=channel,
        idempotency_key=idempotency_key,
        card_reader_id=session.terminal.card_reader_id if session else reader,
        created_by_device=payer if isinstance(payer, Device) else None,
        created_by_user=payer if channel == PaymentChannel.DESK else None,
        cashier_session=session,
        tendered=tendered,
    )
    if method == PaymentMethod.CASH:
        return cash_payment_take(request=request)
    return payment_create(request=request)
