"""One error vocabulary: each app's errors in its one ``errors`` module, a code that names one
failure, and every code in the README.

*Same code, same meaning* here means: the classes that carry a code all descend from one of
them (the one that introduced it: a subclass may refine a failure, e.g. ``ProviderRefused``
is a ``ProviderError``) and all answer with its HTTP status. Two unrelated classes with one
code (``EncounterNotOpen`` and ``EncounterClosed`` were such a pair), or a subclass that
keeps the code but changes the status, fail.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import billing
import config
import demo
import notifications
import payments
from billing.errors import EncounterClosed
from config.error_responses import _STATUS_CODES
from config.errors import DomainError

PACKAGES = (config, billing, payments, notifications, demo)
ERROR_MODULES = {"config.errors", "billing.errors", "payments.errors", "notifications.errors"}
# Settings read the environment when imported (production refuses to start without its
# secrets); migrations and the WSGI entry point define no errors.
NOT_IMPORTED = re.compile(r"^config\.(settings|wsgi)\b|\.migrations\b")
# The codes the frame answers with itself (config.error_responses), with their status.
FRAME_CODES = {
    "parameter_missing": 400,
    "parameter_invalid": 400,
    "malformed_json": 400,
    "malformed_body": 400,
    "bad_request": 400,
    "authentication_required": 401,
    "authentication_failed": 401,
    "permission_denied": 403,
    "not_found": 404,
    "route_not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal_error": 500,
    "database_contention": 503,
    "database_unavailable": 503,
}
README = Path(__file__).resolve().parents[2] / "README.md"


def _domain_errors() -> list[type[DomainError]]:
    """Every DomainError class of the project, after importing every module that may
    define one."""
    for package in PACKAGES:
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not NOT_IMPORTED.search(module.name):
                importlib.import_module(module.name)
    project = {package.__name__ for package in PACKAGES}
    found, pending = [], [DomainError]
    while pending:
        cls = pending.pop()
        if cls.__module__.partition(".")[0] in project:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _codes_listed_in_readme() -> set[str]:
    """Codes the README names in backticks, alone or after their status (`409 nothing_owed`)."""
    return set(re.findall(r"`(?:\d{3}\s)?([a-z][a-z0-9_]*)`", README.read_text()))


def test_every_domain_error_lives_in_its_apps_errors_module():
    misplaced = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _domain_errors()
        if cls.__module__ not in ERROR_MODULES
    ]

    assert misplaced == []


def _ambiguous_codes(errors: list[type[DomainError]]) -> dict[str, list[str]]:
    """Codes carried by classes of more than one lineage, or with more than one status."""
    by_code: dict[str, list[type[DomainError]]] = defaultdict(list)
    for cls in errors:
        by_code[cls.code].append(cls)
    ambiguous = {}
    for code, classes in by_code.items():
        # The class that introduced the code: the only one not a subclass of another.
        roots = [
            cls for cls in classes if not any(issubclass(cls, o) for o in classes if o is not cls)
        ]
        statuses = {cls.status for cls in classes}
        if code in FRAME_CODES:
            statuses.add(FRAME_CODES[code])
        if len(roots) != 1 or len(statuses) != 1:
            ambiguous[code] = sorted(f"{cls.__qualname__} ({cls.status})" for cls in classes)
    return ambiguous


def test_a_code_names_one_failure_with_one_status():
    assert _ambiguous_codes(_domain_errors()) == {}


def test_the_check_reports_two_lineages_or_two_statuses_under_one_code():
    class Closed(DomainError):
        status = 409
        code = "closed_probe"

    class NotOpen(DomainError):
        status = 409
        code = "closed_probe"

    class Refined(Closed):
        pass

    class Louder(Closed):
        status = 410

    assert _ambiguous_codes([Closed, Refined]) == {}
    assert list(_ambiguous_codes([Closed, NotOpen])) == ["closed_probe"]
    assert list(_ambiguous_codes([Closed, Louder])) == ["closed_probe"]


def test_an_advance_for_a_closed_encounter_and_a_charge_on_one_are_one_error():
    closed = [cls for cls in _domain_errors() if cls.code == "encounter_closed"]

    assert closed == [EncounterClosed]
    assert EncounterClosed.status == 409


def test_every_error_code_is_listed_in_the_readme():
    listed = _codes_listed_in_readme()
    codes = {cls.code for cls in _domain_errors()} | set(FRAME_CODES)

    assert sorted(codes - listed) == []


def test_every_code_the_frame_maps_drf_exceptions_to_is_a_documented_frame_code():
    mapped = {code for code, _ in _STATUS_CODES.values()}

    assert mapped <= set(FRAME_CODES)
    for exception, (code, _) in _STATUS_CODES.items():
        assert FRAME_CODES[code] == exception.status_code, code
