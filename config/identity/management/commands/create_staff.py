from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import DomainError
from config.identity.models import Role
from config.identity.services import staff_create


class Command(BaseCommand):
    help = "Create a staff user in one role and print a generated password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--username", required=True)
        parser.add_argument("--full-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, password = staff_create(
                username=options["username"], role=options["role"], full_name=options["full_name"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Staff user {user.get_username()} ({options['role']}) created.")
        self.stdout.write("The password is shown only this once:")
        self.stdout.write(f"  {password}")
        self.stdout.write("Get an API token with POST /api/v1/auth/token.")
