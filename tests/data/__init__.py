"""The published test vectors kept in this folder (their sources: ``README.md`` here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


def vectors(name: str) -> Any:
    """The JSON file ``name`` of this folder, e.g. ``vectors("webhook_vectors.json")``."""
    return json.loads((FOLDER / name).read_text(encoding="utf-8"))
