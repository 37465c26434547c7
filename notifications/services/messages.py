"""The outbox of patient messages: enqueue in the event's transaction, send after commit.

    queued → sending → sent → delivered → read   (the last two: Zalo's webhook)
                     ↘ queued (transient failure, retried later with exponential backoff)
                     ↘ failed (permanent failure, or MESSAGE_MAX_ATTEMPTS reached)

Which channel: a message goes once, by the first channel of its plan (``message_plan``:
``MESSAGE_CHANNELS`` with the patient's preferred channel first, keeping the channels that
can carry it). A Zalo message that fails for good (no Zalo account, a permanent ZNS error,
or its attempts used up) is replaced, once, by a message on the plan's next channel
(``fallback_of``; its dedupe key is unique per Zalo message).

Sending claims the row under a lock (``queued → sending``) and commits before calling the
provider, so a duplicate task finds it taken and sends nothing; no transaction is held
across the provider call. A message's ``dedupe_key`` is unique: an event handled twice
finds the message it made. A worker that dies mid-send leaves the row ``sending``; beat
puts it back in the queue after ``MESSAGE_STALE_MINUTES`` (at-least-once, the gateway's
``RequestId`` stops eSMS from sending that SMS twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Required, TypedDict, Unpack

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import OPEN_INVOICE_STATUSES, Invoice, Patient
from billing.money import format_vnd
from billing.public_ids import mint_public_id
from billing.selectors.invoices import deposit_balance, invoice_balances
from config.compiled import CompiledInsert
from config.tasks import backoff_seconds
from config.text import ascii_fold
from notifications.backends import SendError, TransientSendError, sms_backend
from notifications.backends.email import email_send
from notifications.backends.zalo import ZaloRecipientUnavailable
from notifications.channels import Route, contacts, message_plan
from notifications.errors import ChannelUnavailable, RecipientMissing, ResendLimitReached
from notifications.models import Message, MessageChannel, MessageStatus, Receipt, ReceiptKind
from notifications.services.dispatch import tasks_after_commit
from notifications.services.zalo import zalo_message_deliver
from notifications.zns import zns_template

logger = logging.getLogger(__name__)


def _send_soon(message_id: int) -> None:
    from notifications.tasks import send_message

    send_message.delay(message_id)


def _content(channel: str, template: str, context: dict[str, Any]) -> dict[str, Any]:
    """What a message on ``channel`` carries: the ZNS template and its data for Zalo, the
    rendered text (and subject) otherwise."""
    if channel == MessageChannel.ZALO:
        template_id, data = zns_template(template=template, context=context)
        return {"zns_template_id": template_id, "zns_template_data": data, "context": context}
    language = settings.MESSAGE_LANGUAGE
    body = str(render_to_string(f"notifications/messages/{template}.{language}.txt", context))
    if channel == MessageChannel.SMS:
        return {"body": ascii_fold(body).strip()}  # SMS go out without diacritics
    subject = render_to_string(f"notifications/messages/{template}.{language}.subject.txt", context)
    return {"body": body.strip(), "subject": subject.strip()[:200]}


class MessageWhat(TypedDict, total=False):
    """What a message is: its channel, template, recipient and the template's context;
    the receipt or invoice it is about; a Zalo message's ``fallback`` route (where it
    goes instead if Zalo refuses it for good) or the Zalo message it replaces."""

    channel: Required[str]
    template: Required[str]
    recipient: Required[str]
    context: Required[dict[str, Any]]
    receipt: Receipt | None
    invoice: Invoice | None
    fallback: Route | None
    fallback_of: Message | None


def _message_new(*, dedupe_key: str, **what: Unpack[MessageWhat]) -> Message:
    channel, template, fallback = what["channel"], what["template"], what.get("fallback")
    context = {"hospital": settings.HOSPITAL_NAME, **what["context"]}
    return Message(
        channel=channel,
        template=template,
        language=settings.MESSAGE_LANGUAGE,
        recipient=what["recipient"],
        dedupe_key=dedupe_key,
        receipt=what.get("receipt"),
        invoice=what.get("invoice"),
        fallback_channel=fallback.channel if fallback else "",
        fallback_recipient=fallback.recipient if fallback else "",
        fallback_of=what.get("fallback_of"),
        **_content(channel, template, context),
    )


def message_enqueue(*, dedupe_key: str, **what: Unpack[MessageWhat]) -> Message:
    """Write a message to the outbox (in the caller's transaction) and send it after
    commit. Idempotent per ``dedupe_key``: the existing message is returned, not resent."""
    existing = Message.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    message = _message_new(dedupe_key=dedupe_key, **what)
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:  # a concurrent handler of the same event made it first
        return Message.objects.get(dedupe_key=dedupe_key)
    if tasks_after_commit():
        transaction.on_commit(lambda: _send_soon(message.pk), robust=True)
    return message


def _planned(plan: list[Route], *, key: str) -> dict[str, Any]:
    """The plan's first route, with the next one as a Zalo message's fallback."""
    first, rest = plan[0], plan[1:]
    return {
        "channel": first.channel,
        "recipient": first.recipient,
        "dedupe_key": f"{key}:{first.channel}",
        "fallback": rest[0] if first.channel == MessageChannel.ZALO and rest else None,
    }


def _enqueue_planned(
    plan: list[Route], *, template: str, context: dict[str, Any], key: str, **refs: Any
) -> Message:
    return message_enqueue(template=template, context=context, **_planned(plan, key=key), **refs)


def message_fall_back(*, message: Message) -> Message | None:
    """The message that replaces a failed Zalo message on its fallback channel: made once
    (its dedupe key is unique per Zalo message), in the caller's transaction, sent after
    commit. None when the message has no fallback."""
    if message.channel != MessageChannel.ZALO or not message.fallback_channel:
        return None
    return message_enqueue(
        channel=message.fallback_channel,
        template=message.template,
        recipient=message.fallback_recipient,
        context=message.context,
        dedupe_key=f"message:{message.pk}:fallback",
        receipt=message.receipt,
        invoice=message.invoice,
        fallback_of=message,
    )


def receipt_patient(receipt: Receipt) -> Patient:
    payment = receipt.payment
    if payment.invoice_id is not None:
        assert payment.invoice is not None  # read with the receipt's content when issued
        return payment.invoice.patient
    assert payment.encounter is not None
    return payment.encounter.patient


def _receipt_message(receipt: Receipt) -> tuple[str, dict[str, Any]]:
    template = "refund_receipt" if receipt.kind == ReceiptKind.REFUND else "receipt"
    return template, {
        "title": receipt.content["title"],
        "number": receipt.display_number,
        "amount": format_vnd(receipt.amount, symbol=False),
        "issued_on": receipt.content.get("issued_on", ""),
        "url": receipt.content["verification_url"],
    }


_NEW_MESSAGES = CompiledInsert(Message)


def receipt_messages_enqueue(*, receipt: Receipt) -> list[Message]:
    """The receipt link by the first channel of the patient's plan (a Zalo message falls
    back to the next), and with ``RECEIPT_EMAIL_COPY`` a copy to the e-mail address on file
    when that channel is not e-mail. Once per receipt and channel: called in the
    transaction that issues the receipt."""
    template, context = _receipt_message(receipt)
    plan = message_plan(patient=receipt_patient(receipt), template=template, context=context)
    if not plan:
        return []
    email = next((r for r in plan if r.channel == MessageChannel.EMAIL), None)
    copy = settings.RECEIPT_EMAIL_COPY and email is not None and plan[0] != email
    if copy:
        plan = [r for r in plan if r != email]
    routes = [plan, [email]] if copy and email is not None else [plan]
    # The receipt was made in this transaction, so no message can hold its keys yet: both
    # written by one INSERT, without looking first or a savepoint (a clash would roll the
    # caller's transaction back, nothing half-written).
    key = f"receipt:{receipt.pk}"
    messages = _NEW_MESSAGES.insert(
        [
            _message_new(
                template=template, context=context, receipt=receipt, **_planned(route, key=key)
            )
            for route in routes
        ]
    )
    if tasks_after_commit():
        for message in messages:
            transaction.on_commit(partial(_send_soon, message.pk), robust=True)
    return messages


def receipt_resend(*, receipt: Receipt, channel: str) -> Message:
    """A new message with the receipt link to the patient's current contact by ``channel``
    (the API's resend; the API's Idempotency-Key keeps a double click from sending two).
    A Zalo resend falls back like any Zalo message."""
    patient = receipt_patient(receipt)
    if not contacts(patient).get(channel):
        raise RecipientMissing(param="channel")
    template, context = _receipt_message(receipt)
    plan = message_plan(patient=patient, template=template, context=context)
    chosen = [r for r in plan if r.channel == channel]
    if not chosen:
        raise ChannelUnavailable(param="channel")
    rest = [r for r in plan if r.channel not in (channel, MessageChannel.EMAIL)]
    with transaction.atomic():
        _resend_allowed(receipt)
        key = f"receipt:{receipt.pk}:{channel}:resend:{mint_public_id(length=32)}"
        message = _enqueue_planned(
            chosen + rest, template=template, context=context, key=key, receipt=receipt
        )
        return message


def _resend_allowed(receipt: Receipt) -> None:
    """At most RECEIPT_RESEND_LIMIT resends of one receipt (any channel) in the last
    RECEIPT_RESEND_WINDOW_MINUTES: a patient is not flooded and the gateways not billed for
    a loop. Counted in the database under the receipt's row lock, so concurrent resends
    count each other and the limit holds with Redis down."""
    Receipt.objects.select_for_update().filter(pk=receipt.pk).first()
    window = timedelta(minutes=settings.RECEIPT_RESEND_WINDOW_MINUTES)
    since = timezone.now() - window
    recent = list(
        Message.objects.filter(
            receipt=receipt,
            fallback_of__isnull=True,
            dedupe_key__startswith=f"receipt:{receipt.pk}:",
            dedupe_key__contains=":resend:",
            created_at__gte=since,
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= settings.RECEIPT_RESEND_LIMIT:
        wait = recent[-settings.RECEIPT_RESEND_LIMIT] + window - timezone.now()
        raise ResendLimitReached(retry_after_seconds=max(int(wait.total_seconds()) + 1, 1))


def _left_to_pay(invoice: Invoice) -> int:
    """What the patient still has to pay on a new invoice once the encounter's advances go
    to its open invoices, oldest first (as discharge applies them in the same transaction,
    after the invoice is issued)."""
    balances = invoice_balances(
        Invoice.objects.filter(
            encounter_id=invoice.encounter_id, status__in=OPEN_INVOICE_STATUSES, pk__lte=invoice.pk
        )
    )
    older = sum(b.amount_due for pk, b in balances.items() if pk != invoice.pk)
    advances = max(deposit_balance(encounter=invoice.encounter) - older, 0)
    return max(balances[invoice.pk].amount_due - advances, 0) if invoice.pk in balances else 0


def invoice_pay_link_enqueue(*, invoice: Invoice) -> Message | None:
    """The pay-link SMS for a newly issued invoice whose patient has a phone and still has
    something to pay after the encounter's advances (amount, hospital, invoice number and
    link only: no name). Runs in ``invoice_issue``'s transaction."""
    from payments.paylinks import pay_link_token, pay_link_url

    patient = invoice.patient
    to_pay = _left_to_pay(invoice) if patient.phone else 0
    if to_pay <= 0:
        return None
    token = pay_link_token(invoice=invoice)
    context = {
        "number": invoice.display_number,
        "amount": format_vnd(to_pay, symbol=False),
        "url": pay_link_url(token),
    }
    plan = message_plan(patient=patient, template="pay_link", context=context)
    if not plan:
        return None
    key = f"invoice:{invoice.pk}:pay_link"
    return _enqueue_planned(plan, template="pay_link", context=context, key=key, invoice=invoice)


@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: float | None = None


def _claim(message_id: int, known: Message | None) -> Message | None:
    """Takes a queued message (``queued → sending``, one more attempt) by one conditional
    UPDATE: of two tasks for it, one takes it, the other finds it taken. ``known``: the
    caller's copy of the row (written by the caller itself), else the row is read."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return None
    if known is None:
        return Message.objects.get(pk=message_id)
    known.status, known.attempts, known.updated_at = MessageStatus.SENDING, known.attempts + 1, now
    return known


def _deliver(message: Message) -> str:
    # The same id on every retry of one try-series: the gateway drops a repeat of an SMS it
    # accepted but whose answer we lost (Zalo's tracking_id: no such promise, (check)).
    request_id = f"vienphi-msg-{message.pk}" + (f"-r{message.resends}" if message.resends else "")
    if message.channel == MessageChannel.ZALO:
        return zalo_message_deliver(message=message, tracking_id=request_id)
    if message.channel == MessageChannel.SMS:
        backend: Any = sms_backend()
        return str(
            backend.send(recipient=message.recipient, body=message.body, request_id=request_id)
        )
    return email_send(
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        request_id=request_id,
    )


def messages_queued(*, receipt: Receipt) -> list[int]:
    """The receipt's messages waiting for their first try (none with a retry scheduled)."""
    return list(
        Message.objects.filter(
            receipt=receipt, status=MessageStatus.QUEUED, next_attempt_at__isnull=True
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def retry_delay(attempts: int) -> float:
    """The wait after ``attempts`` failed tries (the tasks' backoff, without jitter: the
    message's ``next_attempt_at`` shows it)."""
    return backoff_seconds(
        attempts,
        base=settings.MESSAGE_RETRY_BASE_SECONDS,
        ceiling=settings.MESSAGE_RETRY_MAX_SECONDS,
    )


def _record_failure(message: Message, error: SendError) -> SendOutcome:
    now = timezone.now()
    exhausted = message.attempts >= settings.MESSAGE_MAX_ATTEMPTS
    if isinstance(error, TransientSendError) and not exhausted:
        delay: float | None = retry_delay(message.attempts)
        status, next_at = MessageStatus.QUEUED, now + timedelta(seconds=delay or 0)
    else:
        delay, status, next_at = None, MessageStatus.FAILED, None
    with transaction.atomic():
        recorded = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=status, last_error=str(error)[:300], next_attempt_at=next_at, updated_at=now
        )
        fallback = message_fall_back(message=message) if recorded and delay is None else None
    kind = "transient" if isinstance(error, TransientSendError) else "permanent"
    if fallback is not None:
        logger.warning(
            "message %s (%s) failed (%s: %s): falls back to %s message %s",
            message.pk,
            message.channel,
            kind,
            error,
            fallback.channel,
            fallback.pk,
        )
    else:
        logger.warning("message %s attempt %s: %s (%s)", message.pk, message.attempts, kind, error)
    if message.channel == MessageChannel.ZALO and not isinstance(
        error, TransientSendError | ZaloRecipientUnavailable
    ):
        # Zalo's configuration, quota, template or connection: a person must look.
        logger.error("zalo message %s refused for good, needs attention: %s", message.pk, error)
    return SendOutcome(status=status, retry_in=delay)


def message_send(*, message_id: int, message: Message | None = None) -> SendOutcome:
    """Send one queued message once. Returns its new status and, after a transient failure
    with attempts left, how long to wait before the next try. Every attempt counts, also
    one that fails in an unexpected way, so no message is tried forever. ``message``: the
    caller's copy of the row, when it wrote it itself (the receipt's own task)."""
    message = _claim(message_id, message)
    if message is None:
        current = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return SendOutcome(status=current or "missing")
    try:
        provider_id = _deliver(message)
    except SendError as error:
        return _record_failure(message, error)
    except Exception as error:  # a bug or a malformed address; its text may hold the address
        return _record_failure(message, TransientSendError(f"unexpected {type(error).__name__}"))
    now = timezone.now()
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT,
        provider_message_id=provider_id[:100],
        sent_at=now,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )
    return SendOutcome(status=MessageStatus.SENT)


def _claimed(messages: list[Message]) -> set[int]:
    """``_claim`` for the caller's own rows, all in one conditional UPDATE: the ids it
    took (``queued → sending``, one more attempt); the copies are updated too."""
    now = timezone.now()
    table = connection.ops.quote_name(Message._meta.db_table)
    ids = [message.pk for message in messages]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, updated_at = %s"  # noqa: S608 - the model's table
            f" WHERE id IN ({', '.join(['%s'] * len(ids))}) AND status = %s RETURNING id",
            [MessageStatus.SENDING, now, *ids, MessageStatus.QUEUED],
        )
        claimed = {row[0] for row in cursor.fetchall()}
    for message in messages:
        if message.pk in claimed:
            message.status, message.attempts = MessageStatus.SENDING, message.attempts + 1
            message.updated_at = now
    return claimed


def _sent_marked(delivered: list[tuple[Message, str]]) -> None:
    """The ``sent`` mark of each delivered message (with its provider's id), in one
    UPDATE; a row no longer ``sending`` is left as it is."""
    if not delivered:
        return
    now = timezone.now()
    table = connection.ops.quote_name(Message._meta.db_table)
    cases = " ".join(["WHEN %s THEN %s"] * len(delivered))
    marks = [value for message, sent_as in delivered for value in (message.pk, sent_as[:100])]
    ids = [message.pk for message, _ in delivered]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, provider_message_id = CASE id {cases} END,"  # noqa: S608 - the model's table
            " sent_at = %s, next_attempt_at = NULL, last_error = '', updated_at = %s"
            f" WHERE id IN ({', '.join(['%s'] * len(ids))}) AND status = %s",
            [MessageStatus.SENT, *marks, now, now, *ids, MessageStatus.SENDING],
        )


def messages_send(*, messages: list[Message]) -> list[SendOutcome]:
    """:func:`message_send` for the messages the caller has just written (a receipt's
    task: its SMS and its e-mail copy), with fewer statements: all claimed by one
    conditional UPDATE (committed before any provider call: a duplicate task finds them
    taken and sends nothing), each delivered, a failure recorded as ``message_send``
    records it, and the delivered ones marked ``sent`` together by one UPDATE once the
    last delivery has answered. A worker that dies between a delivery and that mark
    leaves the message ``sending``, as one that dies before its own mark does: beat sends
    it again with the same gateway request id. Returns each message's outcome, in order."""
    claimed = _claimed(messages)
    outcomes: list[SendOutcome] = []
    delivered: list[tuple[Message, str]] = []
    try:
        for message in messages:
            if message.pk not in claimed:
                current = (
                    Message.objects.filter(pk=message.pk).values_list("status", flat=True).first()
                )
                outcomes.append(SendOutcome(status=current or "missing"))
                continue
            try:
                provider_id = _deliver(message)
            except SendError as error:
                outcomes.append(_record_failure(message, error))
                continue
            except Exception as error:  # a bug or a malformed address (see message_send)
                failure = TransientSendError(f"unexpected {type(error).__name__}")
                outcomes.append(_record_failure(message, failure))
                continue
            delivered.append((message, provider_id))
            outcomes.append(SendOutcome(status=MessageStatus.SENT))
    finally:
        _sent_marked(delivered)
    return outcomes


def message_requeue(*, message: Message) -> bool:
    """Put a failed message back in the queue with fresh attempts (the admin's resend);
    sent after commit. Returns False for a message that is not failed."""
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.QUEUED,
            attempts=0,
            resends=F("resends") + 1,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            transaction.on_commit(lambda: _send_soon(message.pk), robust=True)
    return bool(updated)


def messages_due(*, limit: int = 200) -> list[int]:
    """Messages whose send task was lost (beat): queued and overdue by
    ``MESSAGE_STALE_MINUTES``, or left ``sending`` that long by a worker that died (put back
    in the queue)."""
    cutoff = timezone.now() - timedelta(minutes=settings.MESSAGE_STALE_MINUTES)
    # update() leaves updated_at as it was, so these count as overdue below.
    Message.objects.filter(status=MessageStatus.SENDING, updated_at__lte=cutoff).update(
        status=MessageStatus.QUEUED, next_attempt_at=None
    )
    overdue = Q(next_attempt_at__isnull=True, updated_at__lte=cutoff) | Q(
        next_attempt_at__lte=cutoff
    )
    return list(
        Message.objects.filter(overdue, status=MessageStatus.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
