"""The admin site's login lockout (django-axes): failed logins are counted per user and per
client address, and either one over ``AXES_FAILURE_LIMIT`` locks the admin login for
``AXES_COOLOFF_TIME``. The API's token exchange is not counted here: it has its own
throttle (``auth_token``), and a run of wrong API passwords must not lock the admin site."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from django.http import HttpRequest


class AdminLoginLockout(AxesStandaloneBackend):
    """Refuses a locked-out admin login before the password is checked; an authentication
    without a request (the API's token exchange, a management command) is not its business."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class AdminLoginAttempts(AxesDatabaseHandler):
    """Axes' database handler, counting failures on the admin site only."""

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None or not self.is_admin_request(request):
            return
        super().user_login_failed(sender, credentials, request, **kwargs)
