"""What notifications holds of a patient's personal data, dropped when billing anonymises
the patient (``billing.signals.patient_anonymised``): the phone number or e-mail address
each message went to. Messages not yet sent are failed, never sent to nobody. Receipts keep
their frozen content: they are accounting records, immutable."""

from __future__ import annotations

from django.db.models import Q

from billing.models import Patient
from notifications.models import Message, MessageStatus

FORGOTTEN_RECIPIENT = ""


def messages_forget_recipient(*, patient: Patient) -> int:
    """Blanks the recipients of the patient's messages (by invoice or by receipt) and fails
    the unsent ones; returns how many messages it touched. Runs in the caller's transaction."""
    mine = Message.objects.filter(
        Q(invoice__encounter__patient=patient)
        | Q(receipt__payment__invoice__encounter__patient=patient)
        | Q(receipt__payment__encounter__patient=patient)
    )
    ids = list(mine.values_list("pk", flat=True))
    Message.objects.filter(
        pk__in=ids, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    ).update(status=MessageStatus.FAILED, last_error="recipient anonymised", next_attempt_at=None)
    return Message.objects.filter(pk__in=ids).update(
        recipient=FORGOTTEN_RECIPIENT, fallback_recipient=FORGOTTEN_RECIPIENT
    )
