"""The one way to start a printable PDF: fpdf2 with an embedded font covering Vietnamese.

Receipts (notifications) and cashier Z-reports (payments) both print Vietnamese text with its
diacritics ("Một trăm tám mươi nghìn đồng"), which the PDF core fonts cannot encode. The
DejaVu Sans files ship in ``config/fonts`` (Bitstream Vera licence, LICENSE-DejaVu.txt), so
rendering needs nothing installed on the machine; fpdf2 embeds only the glyphs used.

Fonts are parsed **once per process**, not per document, and each document's font subset
is cut from raw bytes, not by fontTools' general subsetter.

* ``_parsed(style)``: the font as fpdf2 parses it (character map, glyph ids, widths of
  ~6,000 glyphs: about 70 ms for the two files), once; a new document gets a copy of it
  (``_font_add``) that shares the read-only tables used while drawing and has its own
  subset map (the characters the document uses);
* ``_source(style, common)``: the font file read once for cutting (``config.pdf_subset``):
  the cut to the Latin, Vietnamese and punctuation blocks (``COMMON_BLOCKS``, ~1,100
  glyphs, made once with fontTools), or the whole file for a document with a glyph outside
  them (a Greek or Cyrillic name);
* ``_Producer``: fpdf2's PDF writer with its font step replaced: the embedded font holds
  the outlines of the glyphs the document uses (glyph ids kept, so the ``CIDToGIDMap``
  maps each character to the source's glyph id), built in about a millisecond where
  fpdf2's subsetting took ~15 ms a font. The PDF objects are the ones fpdf2 writes (Type0
  font, CIDFontType2 with widths, ``ToUnicode`` map, descriptor, ``FontFile2``).
"""

from __future__ import annotations

import copy
import io
import logging
import struct
from functools import cache
from pathlib import Path
from typing import Any

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf.fonts import Glyph, SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFArray,
    PDFContentStream,
    PDFFont,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name

from config.pdf_subset import TrueTypeSource

logger = logging.getLogger(__name__)

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
def _common(style: str) -> tuple[bytes, list[str]]:
    """The font cut to ``COMMON_BLOCKS`` (glyph names and hinting kept) and its glyph order."""
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
    return buffer.getvalue(), font.getGlyphOrder()


@cache
def _source(style: str, common: bool) -> TrueTypeSource:
    """What a document's font subset is cut from: the common cut or the whole file."""
    if common:
        return TrueTypeSource.parse(*_common(style))
    return TrueTypeSource.parse(_whole(style), _parsed(style).ttfont.getGlyphOrder())


def _open(data: bytes) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)


class _SubsetMap(SubsetMap):
    """fpdf2's map of the characters a document uses, without its process-wide caches.

    fpdf2 memoises ``SubsetMap.pick`` and ``get_glyph`` with ``functools.cache`` on the
    methods, so the cache is keyed by the map itself and holds every document's map (and
    its font) for the life of the process: a worker grew by ~87 MB per 1,000 receipts, and
    each lookup went through a dictionary of hundreds of thousands of entries. Here a
    document's picks live in the map (gone with the document) and the glyph of each
    character, the same in every document of a font, in one table per parsed font."""

    def __init__(self, font: TTFFont, glyphs: dict[int, Glyph | None]) -> None:
        self._glyphs = glyphs
        self._picked: dict[int, int | None] = {}
        super().__init__(font)

    def get_glyph(  # type: ignore[override]  # fpdf2's is a functools.cache wrapper
        self,
        glyph: int | None = None,
        unicode: int | tuple[int, ...] | None = None,
        glyph_name: str | None = None,
        glyph_width: int | None = None,
    ) -> Glyph | None:
        by_character = glyph is None and glyph_name is None and glyph_width is None
        if by_character and isinstance(unicode, int):
            found = self._glyphs.get(unicode, _UNSEEN)
            if found is _UNSEEN:
                found = self._glyphs[unicode] = _GET_GLYPH(self, unicode=unicode)
            return found  # type: ignore[return-value]
        return _GET_GLYPH(self, glyph, unicode, glyph_name, glyph_width)

    def pick(self, unicode: int) -> int | None:  # type: ignore[override]  # the same
        picked = self._picked.get(unicode, _UNSEEN)
        if picked is _UNSEEN:
            picked = self._picked[unicode] = _PICK(self, unicode)
        return picked  # type: ignore[return-value]


_UNSEEN = object()
# fpdf2's own methods, under their process-wide caches
_GET_GLYPH = SubsetMap.get_glyph.__wrapped__
_PICK = SubsetMap.pick.__wrapped__


@cache
def _glyphs(style: str) -> dict[int, Glyph | None]:
    """Character → glyph of the parsed font of ``style``, filled as documents use them."""
    return {}


def _font_add(document: FPDF, style: str) -> None:
    """Registers the parsed font of ``style`` in ``document`` as ``add_font`` would."""
    parsed = _parsed(style)
    font = copy.copy(parsed)  # shares cmap, glyph_ids, ttfont: read-only while drawing
    font.i = len(document.fonts) + 1
    # ``cw`` stays shared: a defaultdict, looking up a character without a glyph adds the
    # font's missing width, the same in every document (a copy cost 2 ms a document).
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = _SubsetMap(font, _glyphs(style))
    font.desc = copy.copy(parsed.desc)  # the writer gives it this document's object id
    document.fonts[font.fontkey] = font


def _embedded(font: TTFFont, style: str) -> tuple[tuple[bytes, int], dict[int, int]]:
    """The font program a document embeds for ``font`` (its glyphs only: zlib-compressed,
    and its length) and the document's character ids → glyph ids of that program."""
    names = {glyph.glyph_name: code for glyph, code in font.subset.items() if glyph is not None}
    source = _source(style, True)
    if not names.keys() <= source.glyph_ids.keys():
        source = _source(style, False)
    code_to_glyph = {code: source.glyph_ids[name] for name, code in names.items()}
    return source.cut(set(code_to_glyph.values())), code_to_glyph


class _Producer(OutputProducer):
    """fpdf2's writer; the DejaVu fonts' objects are written here, with their subset cut by
    ``config.pdf_subset`` (the objects are the ones fpdf2 writes for a TrueType font)."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        ours = {f"{FONT_FAMILY.lower()}{style}": style for style in FONT_FILES}
        fonts = [
            f for f in self.fpdf.fonts.values() if isinstance(f, TTFFont) and f.fontkey in ours
        ]
        if len(fonts) < len(self.fpdf.fonts):
            for key, style in ours.items():  # fpdf2 subsets in place: not the shared parse
                self.fpdf.fonts[key].ttfont = _open(_whole(style))  # type: ignore[union-attr]
            return super()._add_fonts(*args, **kwargs)
        return {font.i: self._font_objects(font, ours[font.fontkey]) for font in fonts}

    def _font_objects(self, font: TTFFont, style: str) -> PDFFont:
        if font.missing_glyphs:
            logger.warning(
                "font %s has no glyph for %d characters", font.name, len(font.missing_glyphs)
            )
        program, code_to_glyph = _embedded(font, style)
        fontname = f"MPDFAA+{font.name}"
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])
        unicode_map = [
            f"<{code:04X}> <{''.join(_utf16_hex(c) for c in glyph.unicode)}>\n"
            for glyph, code in font.subset.items()
            if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode
        ]
        to_unicode = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{_build_cmap_blocks(unicode_map, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1")
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        # Only as long as the highest character id (fpdf2 numbers them from 1, so a few
        # hundred bytes): a CID past the map's end is never drawn; the full 128 KiB map
        # fpdf2 writes cost ~3 ms to compress, per font and document.
        cid_to_gid = bytearray(2 * (max(code_to_glyph, default=0) + 1))
        for code, glyph_id in code_to_glyph.items():
            struct.pack_into(">H", cid_to_gid, 2 * code, glyph_id)
        cid_to_gid_map = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_map
        program_stream = _FontStream(*program)
        self._add_pdf_obj(program_stream, "fonts")
        descriptor.font_file2 = program_stream  # type: ignore[attr-defined]
        return composite


class _FontStream(PDFContentStream):
    """A ``FontFile2`` stream of a program compressed already (``TrueTypeSource.cut``):
    what fpdf2's ``PDFFontStream`` writes, without compressing it again."""

    def __init__(self, deflated: bytes, length: int) -> None:
        super().__init__(contents=b"")
        self._contents = deflated
        self.filter = Name("FlateDecode")
        self.length = len(deflated)
        self.length1 = length


def _utf16_hex(code: int) -> str:
    if code > 0xFFFF:  # a surrogate pair
        return f"{0xD800 | (code - 0x10000) >> 10:04X}{0xDC00 | (code & 0x3FF):04X}"
    return f"{code:04X}"


class Document(FPDF):
    """An fpdf2 document whose DejaVu fonts come from the per-process cache."""

    def output(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("output_producer_class", _Producer)
        return super().output(*args, **kwargs)


def fonts_parse() -> None:
    """Parse the fonts and make their cuts now (a worker's start), not on its first
    receipt: ~1 s of CPU once per process, inherited by prefork children."""
    for style in FONT_FILES:
        _parsed(style)
        _source(style, True)


def pdf_document(*, page_format: str | tuple[float, float] = "A4") -> Document:
    """A new single-column document in millimetres with the DejaVu family registered
    (regular ``""`` and bold ``"B"``) and selected at 10 pt."""
    document = Document(orientation="portrait", unit="mm", format=page_format)
    for style in FONT_FILES:
        _font_add(document, style)
    document.set_font(FONT_FAMILY, size=10)
    document.set_creator("vienphi")
    return document
