"""The one way to start a printable PDF: fpdf2 with an embedded font covering Vietnamese.

Receipts (notifications) and cashier Z-reports (payments) both print Vietnamese text with its
diacritics ("Một trăm tám mươi nghìn đồng"), which the PDF core fonts cannot encode. The
DejaVu Sans files ship in ``config/fonts`` (Bitstream Vera licence, LICENSE-DejaVu.txt), so
rendering needs nothing installed on the machine; fpdf2 embeds only the glyphs used.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVu"
# An 80 mm thermal roll: 72 mm printable; the height is trimmed to the content by the caller
# (fpdf2 needs a page height up front, so one long page is used).
THERMAL_80MM = (80.0, 297.0)


def pdf_document(*, page_format: str | tuple[float, float] = "A4") -> FPDF:
    """A new single-column document in millimetres with the DejaVu family registered
    (regular ``""`` and bold ``"B"``) and selected at 10 pt."""
    document = FPDF(orientation="portrait", unit="mm", format=page_format)
    document.add_font(FONT_FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
    document.add_font(FONT_FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    document.set_font(FONT_FAMILY, size=10)
    document.set_creator("vienphi")
    return document
