from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.identity.models import Device
from config.identity.services import device_revoke


class Command(BaseCommand):
    help = "Revoke a device's key: it is refused from the next request on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        device = Device.objects.filter(name=options["name"]).first()
        if device is None:
            raise CommandError(f"No device named {options['name']!r}.")
        device_revoke(device=device)
        self.stdout.write(f"Device {device.name} revoked.")
