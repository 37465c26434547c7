import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.backends import SendError
from notifications.services.zalo_tokens import zalo_connect


class Command(BaseCommand):
    help = (
        "Connect the hospital's Zalo Official Account: reads a refresh token (from Zalo's API "
        "explorer) or, with --code, an authorization code from standard input (never from the "
        "command line, which other users and the shell history can see), exchanges it for "
        "tokens and stores them encrypted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--code", action="store_true", help="standard input holds an authorization code"
        )
        parser.add_argument("--code-verifier", default="", help="the PKCE verifier, if any")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.ZALO_APP_ID or not settings.ZALO_APP_SECRET:
            raise CommandError("Set ZALO_APP_ID and ZALO_APP_SECRET first.")
        if sys.stdin.isatty():
            self.stderr.write("Paste it, then press Enter:")
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CommandError("Nothing was read from standard input.")
        try:
            if options["code"]:
                row = zalo_connect(code=secret, code_verifier=options["code_verifier"])
            else:
                row = zalo_connect(refresh_token=secret)
        except SendError as exc:
            raise CommandError(f"Zalo refused: {exc}") from exc
        self.stdout.write(
            f"Zalo app {row.app_id} connected; the access token expires at "
            f"{row.expires_at:%Y-%m-%d %H:%M %Z} and beat refreshes it before then."
        )
