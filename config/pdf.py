"""The one way to start a printable PDF: fpdf2 with an embedded font covering Vietnamese.

Receipts (notifications) and cashier Z-reports (payments) both print Vietnamese text with its
diacritics ("Một trăm tám mươi nghìn đồng"), which the PDF core fonts cannot encode. The
DejaVu Sans files ship in ``config/fonts`` (Bitstream Vera licence, LICENSE-DejaVu.txt), so
rendering needs nothing installed on the machine; fpdf2 embeds only the glyphs used.

Fonts are parsed **once per process**, not per document. fpdf2's ``add_font`` reads the
whole file (character map, widths, glyph names of ~6,000 glyphs: about 70 ms for the two
files, two thirds of a receipt's render time), and writing a document subsets that parsed
font *in place*, so fpdf2 cannot share it between documents. Here:

* ``_parsed(style)``: the font as fpdf2 parses it, once; a new document gets a copy of it
  (``_font_add``) that shares the read-only tables used while drawing (character map,
  glyph ids, widths) and has its own subset map;
* ``_common(style)``: the font cut once to the glyphs of the Latin, Vietnamese and
  punctuation blocks (``COMMON_BLOCKS``, ~1,100 glyphs, names kept), as bytes. The copy
  writes its subset from a fresh lazy ``TTFont`` over those bytes, which costs a few
  milliseconds where the whole file costs tens; a document using a glyph outside them (a
  Greek or Cyrillic name) is written from the whole file instead (``Document.output``).
  The PDF is the same either way: the glyphs used, with their outlines, widths and names.
"""

from __future__ import annotations

import copy
import io
from functools import cache
from pathlib import Path
from typing import Any

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# An 80 mm thermal roll: 72 mm printable; the height is trimmed to the content by the caller
# (fpdf2 needs a page height up front, so one long page is used).
THERMAL_80MM = (80.0, 297.0)
# Latin (Basic, Latin-1, Extended-A and -B: Đ, Ă, Ơ, Ư), combining marks, Latin Extended
# Additional (Vietnamese: ạ … ỹ), general punctuation, currency (₫), letterlike (№).
COMMON_BLOCKS = (
    (0x0020, 0x024F),
    (0x0300, 0x036F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
)


def _path(style: str) -> str:
    return str(FONT_DIR / FONT_FILES[style])


@cache
def _parsed(style: str) -> TTFFont:
    """The font of ``style`` as fpdf2 parses it, in a throwaway document (once per process)."""
    carrier = FPDF()
    carrier.add_font(FONT_FAMILY, style, _path(style))
    font = carrier.fonts[f"{FONT_FAMILY.lower()}{style}"]
    assert isinstance(font, TTFFont)
    return font


@cache
def _whole(style: str) -> bytes:
    return Path(_path(style)).read_bytes()


@cache
def _common(style: str) -> tuple[bytes, frozenset[str]]:
    """The font cut to ``COMMON_BLOCKS`` (glyph names and hinting kept) and its glyph names."""
    font = ttLib.TTFont(_path(style), recalcTimestamp=False)
    options = subset.Options(
        notdef_outline=True, recommended_glyphs=True, glyph_names=True, layout_features=[]
    )
    options.name_IDs, options.name_languages = ["*"], ["*"]
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "MATH", "hdmx"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[c for low, high in COMMON_BLOCKS for c in range(low, high + 1)])
    cutter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue(), frozenset(font.getGlyphOrder())


def _open(data: bytes) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)


def _font_add(document: FPDF, style: str) -> None:
    """Registers the parsed font of ``style`` in ``document`` as ``add_font`` would."""
    parsed = _parsed(style)
    font = copy.copy(parsed)  # shares cmap, glyph_ids, desc: read-only while drawing
    font.i = len(document.fonts) + 1
    font.cw = copy.copy(parsed.cw)  # a defaultdict: looking up a missing character adds it
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    font.ttfont = _open(_common(style)[0])
    document.fonts[font.fontkey] = font


class Document(FPDF):
    """An fpdf2 document whose DejaVu fonts come from the per-process cache."""

    def output(self, *args: Any, **kwargs: Any) -> Any:
        for style in FONT_FILES:
            font = self.fonts[f"{FONT_FAMILY.lower()}{style}"]
            assert isinstance(font, TTFFont)
            if not set(font.subset.get_all_glyph_names()) <= _common(style)[1]:
                font.ttfont = _open(_whole(style))
        return super().output(*args, **kwargs)


def pdf_document(*, page_format: str | tuple[float, float] = "A4") -> Document:
    """A new single-column document in millimetres with the DejaVu family registered
    (regular ``""`` and bold ``"B"``) and selected at 10 pt."""
    document = Document(orientation="portrait", unit="mm", format=page_format)
    for style in FONT_FILES:
        _font_add(document, style)
    document.set_font(FONT_FAMILY, size=10)
    document.set_creator("vienphi")
    return document
