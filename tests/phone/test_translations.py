"""The patient pages' translations: every string has its Vietnamese text, and the committed
.mo files (what Django reads) say exactly what the .po files (what people edit) say."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOGS = sorted(ROOT.glob("*/locale/*/LC_MESSAGES/django.po")) + sorted(
    ROOT.glob("config/*/locale/*/LC_MESSAGES/django.po")
)


def po_entries(path: Path) -> dict[str, str]:
    """msgid (with ``msgctxt\\x04`` before it when it has a context) -> msgstr."""
    entries: dict[str, str] = {}
    fields: dict[str, str] = {}
    current = ""

    def flush() -> None:
        if fields.get("msgid"):
            key = fields["msgid"]
            if "msgctxt" in fields:
                key = f"{fields['msgctxt']}\x04{key}"
            entries[key] = fields.get("msgstr", "")
        fields.clear()

    for line in [*path.read_text().splitlines(), ""]:
        if not line.strip():
            flush()
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[current] += ast.literal_eval(line)
        else:
            current, _, value = line.partition(" ")
            fields[current] = ast.literal_eval(value)
    return entries


def test_there_are_catalogs_to_check():
    assert {path.parts[-5] for path in CATALOGS} >= {"phone", "pages"}


@pytest.mark.parametrize("po", CATALOGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_string_is_translated_and_the_compiled_catalog_matches(po: Path):
    entries = po_entries(po)
    untranslated = [msgid for msgid, text in entries.items() if not text]
    assert not untranslated, f"{po}: no translation for {untranslated}"
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    compiled = {key: value for key, value in compiled.items() if key}
    assert compiled == entries, f"{po.with_suffix('.mo')} is stale: run `make messages`"
