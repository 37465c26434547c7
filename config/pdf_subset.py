"""A TrueType subset for embedding in a PDF, cut from raw bytes in a millisecond.

fpdf2 embeds each font by running fontTools' general subsetter over a parsed font for every
document: about 15 ms per font on a receipt (decompiling and compiling every table), half
of a thermal receipt's render. A PDF needs much less of a font than fontTools keeps
general: the viewer finds each glyph through the document's ``CIDToGIDMap`` (character id →
glyph id), never through the font's own character map or glyph names. So the font is cut
here keeping the glyph ids ("retain gids"):

* once per process (``TrueTypeSource``): the table directory of the source file, the raw
  outline of every glyph (``glyf`` by ``loca``) with its checksum, and the components of
  composite glyphs (Vietnamese letters like "ệ" are drawn as a base letter and marks);
* per document (``TrueTypeSource.cut``): the outlines of the glyphs used, their
  components and ``.notdef``; every other glyph keeps its id with an empty outline. The
  other tables (metrics, hinting programs, names, character map) are copied as they are,
  ``post`` without its glyph names (format 3) and OpenType layout tables dropped (a PDF
  places its glyphs itself).
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from itertools import accumulate

# Tables a PDF viewer never reads from an embedded CIDFontType2 font program.
_DROPPED = frozenset(
    {"GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern", "hdmx", "LTSH", "VDMX", "FFTM"}
    | {"DSIG", "meta", "sbix", "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR"}
)
# Composite glyph component flags (OpenType 'glyf' spec).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080


_LITTLE_ENDIAN = array("I", b"\0\0\0\1")[0] != 1


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if _LITTLE_ENDIAN:  # the font's words are big-endian
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _components(outline: bytes) -> list[int]:
    """The glyph ids a composite glyph's outline refers to (none for a simple glyph)."""
    if len(outline) < 10 or struct.unpack_from(">h", outline)[0] >= 0:
        return []
    found, offset = [], 10
    while True:
        flags, glyph = struct.unpack_from(">HH", outline, offset)
        found.append(glyph)
        offset += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            offset += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            offset += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            offset += 8
        if not flags & _MORE_COMPONENTS:
            return found


@dataclass(frozen=True)
class TrueTypeSource:
    """A TrueType font's tables, outlines and glyph ids, read once (``parse``)."""

    tables: dict[str, bytes]
    checksums: dict[str, int]  # of ``tables`` and of ``head``
    head: bytes
    outlines: list[bytes]
    outline_checksums: list[int]
    components: list[list[int]]
    glyph_ids: dict[str, int]

    @classmethod
    def parse(cls, data: bytes, glyph_order: list[str]) -> TrueTypeSource:
        """``data``: a TrueType file (``glyf`` outlines); ``glyph_order``: its glyph names
        by id, as fontTools reads them (``TTFont.getGlyphOrder()``)."""
        count = struct.unpack_from(">H", data, 4)[0]
        tables = {}
        for index in range(count):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            tables[tag.decode("latin-1")] = data[offset : offset + length]
        glyphs = struct.unpack_from(">H", tables["maxp"], 4)[0]
        long_loca = struct.unpack_from(">h", tables["head"], 50)[0] == 1
        if long_loca:
            offsets = struct.unpack_from(f">{glyphs + 1}I", tables["loca"])
        else:
            offsets = tuple(2 * o for o in struct.unpack_from(f">{glyphs + 1}H", tables["loca"]))
        glyf = tables["glyf"]
        outlines = [glyf[offsets[i] : offsets[i + 1]] for i in range(glyphs)]
        kept = {
            tag: table
            for tag, table in tables.items()
            if tag not in _DROPPED and tag not in ("glyf", "loca", "head")
        }
        kept["post"] = b"\0\3\0\0" + tables["post"][4:32]  # format 3: no glyph names
        head = bytearray(tables["head"])
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set for each cut
        struct.pack_into(">h", head, 50, 1)  # long loca offsets
        padded = [outline + b"\0" * (-len(outline) % 4) for outline in outlines]
        return cls(
            tables=kept,
            checksums={tag: _checksum(table) for tag, table in {**kept, "head": head}.items()},
            head=bytes(head),
            outlines=padded,
            outline_checksums=[_checksum(outline) for outline in padded],
            components=[_components(outline) for outline in outlines],
            glyph_ids={name: gid for gid, name in enumerate(glyph_order)},
        )

    def cut(self, glyph_ids: set[int]) -> bytes:
        """The font with the outlines of ``glyph_ids`` (and of their components and of
        ``.notdef``) only, every glyph keeping its id."""
        wanted, pending = {0}, [0, *glyph_ids]
        while pending:
            glyph = pending.pop()
            wanted.add(glyph)
            pending.extend(c for c in self.components[glyph] if c not in wanted)
        sizes = [0] * (len(self.outlines) + 1)
        parts = []
        for gid in sorted(wanted):
            outline = self.outlines[gid]
            sizes[gid + 1] = len(outline)
            parts.append(outline)
        loca = array("I", accumulate(sizes))
        if _LITTLE_ENDIAN:
            loca.byteswap()
        tables = {**self.tables, "head": self.head, "loca": loca.tobytes(), "glyf": b"".join(parts)}
        # The glyf table is the outlines, each 4-byte aligned: its checksum is theirs summed.
        glyf = sum(self.outline_checksums[gid] for gid in wanted) & 0xFFFFFFFF
        checksums = {**self.checksums, "loca": _checksum(tables["loca"]), "glyf": glyf}
        font, head_offset = _assemble(tables, checksums)
        # The whole file's checksum is its directory's plus its (padded) tables'.
        whole = _checksum(bytes(font[: 12 + 16 * len(tables)])) + sum(checksums.values())
        adjustment = (0xB1B0AFBA - whole) & 0xFFFFFFFF
        struct.pack_into(">I", font, head_offset + 8, adjustment)
        return bytes(font)


def _assemble(tables: dict[str, bytes], checksums: dict[str, int]) -> tuple[bytearray, int]:
    """An sfnt file of ``tables`` (directory sorted by tag, each table 4-byte aligned, its
    checksum from ``checksums``) and where its ``head`` table starts."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(
        ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
    )
    offset = 12 + 16 * count
    records, bodies, head_offset = [], [], 0
    for tag in tags:
        table = tables[tag]
        if tag == "head":
            head_offset = offset
        records.append(
            struct.pack(
                ">4sIII",
                tag.encode("latin-1"),
                checksums[tag],
                offset,
                len(table),
            )
        )
        padded = table + b"\0" * (-len(table) % 4)
        bodies.append(padded)
        offset += len(padded)
    return bytearray(header + b"".join(records) + b"".join(bodies)), head_offset
