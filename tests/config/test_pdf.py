"""The shared PDF start: Vietnamese text survives rendering and extraction."""

from __future__ import annotations

import gc
import io
import weakref
from typing import Any

import pytest
from fpdf.fonts import SubsetMap, TTFFont
from pypdf import PdfReader

from config.pdf import THERMAL_80MM, pdf_document


def _text_of(document_bytes: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document_bytes)).pages)


def test_vietnamese_diacritics_come_back_out_of_the_pdf() -> None:
    document = pdf_document()
    document.add_page()
    document.multi_cell(w=0, text="Nguyễn Thị Hằng\nMột trăm tám mươi nghìn đồng")

    text = _text_of(bytes(document.output()))

    assert "Nguyễn Thị Hằng" in text
    assert "Một trăm tám mươi nghìn đồng" in text


def test_the_font_is_embedded_so_printing_needs_nothing_installed() -> None:
    document = pdf_document(page_format=THERMAL_80MM)
    document.add_page()
    document.set_font(style="B")
    document.cell(text="Biên lai thu tiền")

    reader = PdfReader(io.BytesIO(bytes(document.output())))
    resources: Any = reader.pages[0]["/Resources"]  # pypdf types PDF objects loosely
    fonts = resources["/Font"]
    descriptors = [
        font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        for font in fonts.values()
    ]

    assert (
        reader.pages[0].mediabox.width == round(80 / 25.4 * 72, 2)
        or abs(float(reader.pages[0].mediabox.width) - 80 / 25.4 * 72) < 0.01
    )
    assert all("/FontFile2" in descriptor for descriptor in descriptors)


def test_documents_one_after_another_each_carry_their_own_glyphs() -> None:
    """The fonts are parsed once per process and shared: a second document neither loses
    the glyphs of its own text nor carries the first one's."""
    first = pdf_document()
    first.add_page()
    first.multi_cell(w=0, text="Đặng Thị Ưng")
    first_bytes = bytes(first.output())
    second = pdf_document()
    second.add_page()
    second.multi_cell(w=0, text="Lê Văn Ổn")

    second_bytes = bytes(second.output())

    assert "Đặng Thị Ưng" in _text_of(first_bytes)
    assert "Lê Văn Ổn" in _text_of(second_bytes)
    assert "Đặng" not in _text_of(second_bytes)
    assert len(second_bytes) < 60_000, "the whole font was embedded, not its subset"


def test_a_name_outside_the_latin_and_vietnamese_blocks_still_prints() -> None:
    """A glyph outside the cut used for speed (Greek, Cyrillic) comes from the whole font."""
    document = pdf_document()
    document.add_page()
    document.multi_cell(w=0, text="Ivanova Анна · Papadopoulou Ελένη · 150.000 ₫")

    text = _text_of(bytes(document.output()))

    assert "Анна" in text
    assert "Ελένη" in text
    assert "150.000 ₫" in text


def test_the_embedded_font_holds_the_used_glyphs_with_the_parts_they_are_drawn_from() -> None:
    """The subset is cut from raw bytes keeping glyph ids: each character drawn has its
    outline, a Vietnamese letter drawn from a base letter and marks (a composite glyph)
    brings those parts along, and a glyph not drawn is empty."""
    from fontTools.ttLib import TTFont

    from config.pdf import _parsed, _source

    document = pdf_document()
    document.add_page()
    document.multi_cell(w=0, text="Đặng Thị Ưng ệ")
    reader = PdfReader(io.BytesIO(bytes(document.output())))
    resources: Any = reader.pages[0]["/Resources"]
    (font,) = resources["/Font"].values()
    descendant = font.get_object()["/DescendantFonts"][0].get_object()
    program = TTFont(io.BytesIO(descendant["/FontDescriptor"]["/FontFile2"].get_data()))
    glyf, order = program["glyf"], program.getGlyphOrder()
    source = _source("", True)

    def outline(character: str) -> Any:
        return glyf[order[source.glyph_ids[_parsed("").cmap[ord(character)]]]]

    composites = 0
    for character in "ĐặngThịƯệ":
        glyph = outline(character)
        assert glyph.numberOfContours != 0, character
        if glyph.isComposite():
            composites += 1
            assert all(glyf[c.glyphName].numberOfContours != 0 for c in glyph.components)
    assert composites > 0, "no composite glyph drawn: the test no longer covers components"
    assert outline("Z").numberOfContours == 0


@pytest.mark.parametrize("text", ["Đặng Thị Ưng ệ 1.250.000 ₫", "Ivanova Анна · Ελένη"])
def test_the_embedded_font_programs_checksums_are_right(text: str) -> None:
    """The program's zlib stream (the cut's own tables deflated here, the shared ones once)
    reads as one, and each table's checksum and the head's whole-file adjustment (OpenType
    'head' table), summed from parts worked out once, are what the bytes give."""
    from fontTools.ttLib import TTFont

    from config.pdf_subset import _checksum

    document = pdf_document()
    document.add_page()
    document.multi_cell(w=0, text=text)
    reader = PdfReader(io.BytesIO(bytes(document.output())))
    resources: Any = reader.pages[0]["/Resources"]
    (font,) = resources["/Font"].values()
    descendant = font.get_object()["/DescendantFonts"][0].get_object()
    stream = descendant["/FontDescriptor"]["/FontFile2"].get_object()
    data = stream.get_data()  # zlib-decompressed: its Adler-32 checked

    program = TTFont(io.BytesIO(data), checkChecksums=2)  # raises on a table's wrong sum
    for tag in program.reader.tables:
        assert program.reader[tag] is not None  # read, so checked
    assert _checksum(data) == 0xB1B0AFBA
    assert stream["/Length1"] == len(data)


def test_a_document_leaves_nothing_behind_in_the_process() -> None:
    """fpdf2 memoises its character maps' look-ups process-wide (``functools.cache`` on the
    methods, keyed by the map): every document's map and font stayed alive in a worker,
    ~87 MB per 1,000 receipts. A document's map now goes with the document."""
    cached_before = SubsetMap.pick.cache_info().currsize, SubsetMap.get_glyph.cache_info().currsize
    document = pdf_document(page_format=THERMAL_80MM)
    document.add_page()
    document.cell(text="Trần Thị Ửng — 1.250.000 ₫")
    document.set_font(style="B")
    document.cell(text="BIÊN LAI THU TIỀN")
    text = _text_of(bytes(document.output()))
    maps = [
        weakref.ref(font.subset) for font in document.fonts.values() if isinstance(font, TTFFont)
    ]

    del document
    gc.collect()

    assert "Trần Thị Ửng — 1.250.000 ₫" in text
    assert "BIÊN LAI THU TIỀN" in text
    assert all(subset_map() is None for subset_map in maps), "a document's map outlived it"
    cached_after = SubsetMap.pick.cache_info().currsize, SubsetMap.get_glyph.cache_info().currsize
    assert cached_after == cached_before
