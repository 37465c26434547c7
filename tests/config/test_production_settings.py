"""Production settings refuse to start half-configured and pass Django's deploy checks."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PROJECT = Path(settings.BASE_DIR)
IMPORT_PRODUCTION = "import config.settings.production as s; print(s.SECRET_KEY[:4], s.DEBUG)"


def _production_env(**variables: str) -> dict[str, str]:
    """Only what a bare server has, plus ``variables``: nothing leaks in from the test run."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path.home()),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        **variables,
    }


def _complete_configuration() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(45)[:60],
        "DATABASE_URL": "postgres://vienphi:password@127.0.0.1:5432/vienphi",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PII_HASH_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "vienphi.example.vn",
    }


def _run(args: list[str], env: dict[str, str], cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_its_secrets() -> None:
    result = _run(["-c", IMPORT_PRODUCTION], _production_env())

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "need these environment variables" in last_line
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in last_line


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_names_the_one_missing_variable(missing: str) -> None:
    configuration = _complete_configuration()
    del configuration[missing]

    result = _run(["-c", IMPORT_PRODUCTION], _production_env(**configuration))

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.endswith(f"need these environment variables: {missing}")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "too-short", "SECRET_KEY must be at least 50"),
        ("DATABASE_URL", "sqlite:////tmp/vienphi.sqlite3", "Production runs on PostgreSQL"),
        (
            "SMS_BACKEND",
            "esms",
            "SMS_BACKEND=esms needs these environment variables: "
            "SMS_API_KEY, SMS_SECRET_KEY, SMS_BRAND_NAME",
        ),
        (
            "ZALO_ENABLED",
            "true",
            "ZALO_ENABLED needs these environment variables: ZALO_APP_ID, ZALO_APP_SECRET, "
            "ZALO_OA_SECRET_KEY, ZALO_TOKEN_ENCRYPTION_KEYS, ZALO_TEMPLATE_IDS",
        ),
    ],
)
def test_production_refuses_a_weak_key_another_database_or_sms_without_credentials(
    variable: str, value: str, message: str
) -> None:
    result = _run(
        ["-c", IMPORT_PRODUCTION], _production_env(**{**_complete_configuration(), variable: value})
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def _zalo_configuration() -> dict[str, str]:
    return {
        "ZALO_ENABLED": "true",
        "ZALO_APP_ID": "1743556593977626805",
        "ZALO_APP_SECRET": "app-secret",
        "ZALO_OA_SECRET_KEY": "oa-secret",
        "ZALO_TOKEN_ENCRYPTION_KEYS": secrets.token_urlsafe(32),
        "ZALO_TEMPLATE_IDS": "receipt=353985",
    }


def test_production_starts_with_zalo_enabled_when_its_credentials_are_there() -> None:
    configuration = {**_complete_configuration(), **_zalo_configuration()}

    result = _run(["-c", IMPORT_PRODUCTION], _production_env(**configuration))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")


def test_production_refuses_zalo_with_template_ids_left_empty() -> None:
    configuration = {**_complete_configuration(), **_zalo_configuration()}
    configuration["ZALO_TEMPLATE_IDS"] = "pay_link=,receipt=,refund_receipt="

    result = _run(["-c", IMPORT_PRODUCTION], _production_env(**configuration))

    assert result.returncode != 0
    assert "ZALO_ENABLED needs these environment variables: ZALO_TEMPLATE_IDS" in result.stderr


def test_production_passes_the_deploy_checks_when_configured() -> None:
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _production_env(**_complete_configuration()),
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_reads_its_secrets_from_the_env_file(tmp_path: Path) -> None:
    # A copy of the settings package, so that its .env is ours and not the project's.
    shutil.copytree(PROJECT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.pyc"))
    configuration = _complete_configuration()
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in configuration.items()))

    result = _run(["-c", IMPORT_PRODUCTION], _production_env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [configuration["SECRET_KEY"][:4], "False"]
