"""The watched folder: statement files dropped in ``STATEMENT_INBOX/<bank>/`` are imported
by beat, then moved to ``STATEMENT_INBOX/done/`` (imported, also when every line was
already known) or ``STATEMENT_INBOX/rejected/`` with a ``.error.txt`` beside it saying why.

A file is claimed by renaming it into ``STATEMENT_INBOX/processing/`` first (a rename is
atomic), so two beat runs never import one file twice; a file left there by a crash is
taken again by the next run (its import is one transaction, and lines are stored once)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.conf import settings

from config.errors import DomainError
from payments.providers.statements import FORMATS
from payments.services.statements import statement_import

logger = logging.getLogger(__name__)
SUFFIXES = (".csv", ".xlsx")


def statement_inbox_import(*, inbox: str | None = None) -> int:
    """Import every file waiting in the watched folder; returns how many were imported."""
    root = Path(inbox if inbox is not None else settings.STATEMENT_INBOX)
    if not str(root) or not root.is_dir():
        return 0
    processing, done, rejected = (root / name for name in ("processing", "done", "rejected"))
    for folder in (processing, done, rejected):
        folder.mkdir(exist_ok=True)
    claimed: list[tuple[str, Path]] = [
        (path.name.split("__", 1)[0], path) for path in sorted(processing.iterdir())
    ]
    for bank in FORMATS:
        folder = root / bank
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
                continue
            target = processing / f"{bank}__{path.name}"
            try:
                os.rename(path, target)
            except FileNotFoundError:  # another run claimed it first
                continue
            claimed.append((bank, target))
    imported = 0
    for bank, path in claimed:
        name = path.name.split("__", 1)[-1]
        try:
            statement_import(
                bank=bank, content=path.read_bytes(), file_name=name, imported_by=None, via="folder"
            )
        except DomainError as error:
            os.replace(path, rejected / name)
            (rejected / f"{name}.error.txt").write_text(
                json.dumps(error.as_body(), ensure_ascii=False, indent=2), encoding="utf-8"
            )
            logger.warning("statement %s refused: %s", name, error.code)
            continue
        os.replace(path, done / name)
        imported += 1
    return imported
