"""config.qr: the symbol segno makes, mask included, for every kind of text and version."""

from __future__ import annotations

import random
import string

import segno

from config.qr import qr_matrix

_ALPHANUMERIC = string.ascii_uppercase + string.digits + " $%*+-./:"


def _texts() -> list[str]:
    """Seeded texts: verification links, byte-mode and alphanumeric text, 1 to 400
    characters (Micro QR codes, and versions 1 to 21: with and without version information)."""
    chance = random.Random(20)
    code = string.ascii_uppercase + string.digits
    texts = []
    for length in [*range(1, 90, 3), 150, 400]:
        for _ in range(2):
            texts += [
                "HTTPS://BV.EXAMPLE.VN/R/" + "".join(chance.choices(code, k=length % 20 + 5)),
                "".join(chance.choices(string.printable[:94], k=length)),
                "".join(chance.choices(_ALPHANUMERIC, k=length)),
            ]
    return texts


def test_the_symbol_is_segnos_own_for_every_text_and_error_level() -> None:
    masks, versions = set(), set()
    for text in _texts():
        for error in ("l", "m", "q", "h"):
            expected = segno.make(text, error=error)

            assert qr_matrix(text, error=error) == tuple(expected.matrix), (text, error)

            masks.add(expected.mask)
            versions.add(expected.version)
    assert masks == set(range(8)), "not every mask was the best one: the test covers less"
    assert {1, 2, 7} <= versions  # no alignment pattern, one, and version information
    assert any(isinstance(version, str) for version in versions)  # a Micro QR code: segno's


def test_a_receipts_link_is_a_version_2_symbol_with_segnos_mask() -> None:
    link = "HTTPS://BV.EXAMPLE.VN/R/7FYRVTSG6C59"

    symbol = segno.make(link, error="m")

    assert symbol.version == 2
    assert qr_matrix(link, error="m") == tuple(symbol.matrix)
