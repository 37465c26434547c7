"""The rows migrations load (chart of accounts with the payments' suspense account, role
groups, the dated BHYT rules), put back after a transactional test truncated them.

``tests/conftest.py`` calls :func:`reference_data_load` before every database test whose
rows are gone, so a test never needs to load them itself.
"""

from __future__ import annotations

import importlib

from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from billing.chart import current_pack
from billing.models import Account, InsuranceParameters, RouteRatio

CHART = importlib.import_module("billing.migrations.0003_chart_of_accounts_and_roles")
INSURANCE_RULES = importlib.import_module("billing.migrations.0006_insurance_rules")
ROUTE_RATIOS_BY_LEVEL = importlib.import_module("billing.migrations.0011_route_ratios_by_level")


def reference_data_load() -> None:
    """Every row of the migrations named above that is missing (idempotent)."""
    for account in current_pack().accounts:
        Account.objects.get_or_create(
            code=account.code,
            defaults={"name": account.name, "type": account.type, "currency": "VND"},
        )
    for role in CHART.ROLES:
        Group.objects.get_or_create(name=role)
    for effective_from, base_salary, source in INSURANCE_RULES.PARAMETERS:
        InsuranceParameters.objects.get_or_create(
            effective_from=effective_from,
            defaults={"base_salary": base_salary, "source": source},
        )
    for effective_from, route, kind, ratio, source in INSURANCE_RULES.RATIOS:
        RouteRatio.objects.get_or_create(
            effective_from=effective_from,
            route=route,
            hospital_level="",
            care_type=kind,  # 0006 named it encounter_kind (migration 0010 renamed it)
            defaults={"ratio_percent": ratio, "source": source},
        )
    ROUTE_RATIOS_BY_LEVEL.load(django_apps, None)
