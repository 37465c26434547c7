"""Move the books to another chart pack (e.g. a hospital that becomes an enterprise)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from billing.chart import PACKS
from payments.services.cashier.terminals import chart_adopt_with_drawers


class Command(BaseCommand):
    help = (
        "Adopt a chart pack: create its accounts and move the balances of the accounts it"
        " replaces by reclassification entries dated now. Set ACCOUNTING_REGIME to the same"
        " regime before the application posts again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--regime", choices=sorted(PACKS), default=settings.ACCOUNTING_REGIME)

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            result = chart_adopt_with_drawers(regime=options["regime"], at=timezone.now())
        self.stdout.write(f"regime {result.regime}")
        self.stdout.write(f"created: {', '.join(result.created) or '-'}")
        for old, new in result.moved.items():
            self.stdout.write(f"moved {old} -> {', '.join(new)}")
        self.stdout.write(f"reclassification entries: {result.entries or '-'}")
        self.stdout.write(f"deactivated: {', '.join(result.deactivated) or '-'}")
