"""Which channel carries a message to a patient: the plan of channels, in order.

``MESSAGE_CHANNELS`` (default ``zalo,sms,email``) with the patient's recorded preference
(``Patient.preferred_channel``, from the HIS) moved to the front, keeping the channels the
patient has a contact for and that can carry the message: Zalo when it is enabled, the
Official Account connected and the message has an approved template its values fit; e-mail
when the message has a subject (the pay link has none); SMS always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from billing.models import Patient
from notifications.models import MessageChannel
from notifications.services.zalo_tokens import zalo_connected
from notifications.zns import ZnsTemplateUnavailable, zns_template


@dataclass(frozen=True)
class Route:
    """A channel and the contact it reaches (personal data: never logged)."""

    channel: str
    recipient: str


def contacts(patient: Patient) -> dict[str, str]:
    return {
        MessageChannel.ZALO: patient.phone,
        MessageChannel.SMS: patient.phone,
        MessageChannel.EMAIL: patient.email,
    }


def _can_carry(channel: str, template: str, context: dict[str, Any]) -> bool:
    if channel == MessageChannel.ZALO:
        if not settings.ZALO_ENABLED or not zalo_connected():
            return False
        try:
            zns_template(template=template, context={"hospital": settings.HOSPITAL_NAME, **context})
        except ZnsTemplateUnavailable:
            return False
        return True
    if channel == MessageChannel.EMAIL:  # e-mail needs a subject (the pay link has none)
        try:
            get_template(
                f"notifications/messages/{template}.{settings.MESSAGE_LANGUAGE}.subject.txt"
            )
        except TemplateDoesNotExist:
            return False
    return channel in MessageChannel.values


def message_plan(*, patient: Patient, template: str, context: dict[str, Any]) -> list[Route]:
    """The channels a message to ``patient`` may go by, in order: ``MESSAGE_CHANNELS`` with
    the patient's preferred channel first, keeping those the patient has a contact for and
    that can carry the message (Zalo: enabled, connected, an approved template it fits)."""
    order = [c for c in settings.MESSAGE_CHANNELS if c != patient.preferred_channel]
    if patient.preferred_channel:
        order.insert(0, patient.preferred_channel)
    on_file = contacts(patient)
    return [
        Route(channel=channel, recipient=on_file[channel])
        for channel in order
        if on_file.get(channel) and _can_carry(channel, template, context)
    ]
