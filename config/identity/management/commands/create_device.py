from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import DomainError
from config.identity.models import DeviceKind
from config.identity.services import device_create


class Command(BaseCommand):
    help = "Register a kiosk or HIS device and print its key once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=DeviceKind.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--card-reader", default="", help="Stripe Terminal reader id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            device, key = device_create(
                kind=options["kind"], name=options["name"], card_reader_id=options["card_reader"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Device {device.name} ({device.kind}) created.")
        self.stdout.write("Its key is shown only this once; store it on the device:")
        self.stdout.write(f"  Authorization: Device {key}")
