from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import DomainError
from payments.services.cashier.terminals import terminal_create


class Command(BaseCommand):
    help = (
        "Register a cashier terminal (desk) and its drawer's cash account"
        " (the regime's next numbered drawer account)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="e.g. Q01 (upper-case, digits, '-')")
        parser.add_argument("--name", required=True, help="e.g. 'Quầy thu ngân 1'")
        parser.add_argument("--card-reader", default="", help="Stripe Terminal reader id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            terminal = terminal_create(
                code=options["code"], name=options["name"], card_reader_id=options["card_reader"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        account = terminal.cash_account.code
        self.stdout.write(f"Terminal {terminal.code} created; its drawer's account is {account}.")
