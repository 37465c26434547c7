"""A staff password set anywhere (the admin's password form, ``changepassword``, a
service) is a credential change: recorded in the audit trail with the save that stores it.

``AbstractBaseUser.set_password`` leaves the new password in ``_password`` until the next
save; a user saved while it is set, and not for the first time, changed password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from config.audit.models import AuditCategory
from config.audit.services import audit_record

_CHANGED = "_vienphi_password_changed"


def _password_about_to_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    setattr(
        instance,
        _CHANGED,
        instance.pk is not None and getattr(instance, "_password", None) is not None,
    )


def _password_changed(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and getattr(instance, _CHANGED, False):
        setattr(instance, _CHANGED, False)
        audit_record(
            action="staff.password_set", category=AuditCategory.CREDENTIAL, target=instance
        )


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_password_about_to_change, sender=user_model, dispatch_uid="audit_pw_pre")
    post_save.connect(_password_changed, sender=user_model, dispatch_uid="audit_pw_post")
