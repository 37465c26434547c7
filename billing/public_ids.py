"""The public ids vienphi mints: payments (``pay_…``), cashier sessions, transfers, refunds,
memo codes, receipt verification codes, message keys. One drawing for all of them, from the
operating system's cryptographic randomness (an id seen by one patient tells nothing about
another's); each kind passes its prefix, alphabet and length. Uniqueness is the database's
job: every such column is unique, and a caller that may collide draws again."""

from __future__ import annotations

import secrets

HEX = "0123456789abcdef"


def mint_public_id(*, prefix: str = "", alphabet: str = HEX, length: int = 20) -> str:
    """``prefix`` and ``length`` characters drawn from ``alphabet``: by default 80 random
    bits in lower-case hex, as ``pay_3f9c…``."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))
