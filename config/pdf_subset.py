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
  other tables (metrics, hinting programs, names, character map) are the source's as
  they are, ``post`` without its glyph names (format 3) and OpenType layout tables dropped
  (a PDF places its glyphs itself). The cut comes out zlib-compressed, as the PDF stores
  it: those shared tables are compressed once per process and only the cut's own part
  per document.
"""

from __future__ import annotations

import struct
import zlib
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

    checksums: dict[str, int]  # of the shared tables and of ``head``
    head: bytes
    outlines: list[bytes]
    outline_checksums: list[int]
    components: list[list[int]]
    glyph_ids: dict[str, int]
    shared: _Shared

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
            checksums={tag: _checksum(table) for tag, table in {**kept, "head": head}.items()},
            head=bytes(head),
            outlines=padded,
            outline_checksums=[_checksum(outline) for outline in padded],
            components=[_components(outline) for outline in outlines],
            glyph_ids={name: gid for gid, name in enumerate(glyph_order)},
            shared=_Shared.of(kept),
        )

    def cut(self, glyph_ids: set[int]) -> tuple[bytes, int]:
        """The font with the outlines of ``glyph_ids`` (and of their components and of
        ``.notdef``) only, every glyph keeping its id: as a zlib stream (what a PDF's
        ``FontFile2`` holds, ``/FlateDecode``) and its length uncompressed.

        The file holds the tables a cut writes (``glyf``, ``head``, ``loca``) first and then
        the source's others, the same bytes in every cut (``_Shared``: deflated once, at
        zlib's best level). Only the cut's own part is deflated here, flushed to a byte
        boundary (``Z_SYNC_FLUSH``), and the shared stream appended: a deflate stream refers
        to nothing before its own start, so the two read as one (RFC 1950/1951), closed by
        the Adler-32 of all of it."""
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
        own = {"glyf": b"".join(parts), "head": self.head, "loca": loca.tobytes()}
        # The glyf table is the outlines, each 4-byte aligned: its checksum is theirs summed.
        glyf = sum(self.outline_checksums[gid] for gid in wanted) & 0xFFFFFFFF
        checksums = {**self.checksums, "loca": _checksum(own["loca"]), "glyf": glyf}
        shared = self.shared
        count = len(own) + len(shared.offsets)
        offsets, offset = {}, 12 + 16 * count
        for tag, table in own.items():
            offsets[tag] = offset
            offset += len(table) + (-len(table) % 4)
        offsets.update({tag: offset + at for tag, at in shared.offsets.items()})
        lengths = {**{tag: len(table) for tag, table in own.items()}, **shared.lengths}
        directory = _directory(offsets, lengths, checksums)
        # The whole file's checksum is its directory's plus its (padded) tables'.
        whole = _checksum(directory) + sum(checksums.values())
        head = bytearray(self.head)
        struct.pack_into(">I", head, 8, (0xB1B0AFBA - whole) & 0xFFFFFFFF)
        own["head"] = bytes(head)
        mine = directory + b"".join(table + b"\0" * (-len(table) % 4) for table in own.values())
        deflate = zlib.compressobj(level=1, wbits=-zlib.MAX_WBITS)
        adler = zlib.adler32(shared.block, zlib.adler32(mine))
        stream = b"".join(
            (
                b"\x78\x01",  # zlib header: deflate, 32 KiB window, fastest (RFC 1950)
                deflate.compress(mine),
                deflate.flush(zlib.Z_SYNC_FLUSH),
                shared.deflated,
                struct.pack(">I", adler),
            )
        )
        return stream, len(mine) + len(shared.block)


@dataclass(frozen=True)
class _Shared:
    """A source's tables that every cut holds as they are, laid out after the cut's own:
    their bytes (each 4-byte aligned, in tag order), where each starts in them, their
    lengths, and the bytes deflated (raw, final)."""

    block: bytes
    offsets: dict[str, int]
    lengths: dict[str, int]
    deflated: bytes

    @classmethod
    def of(cls, tables: dict[str, bytes]) -> _Shared:
        offsets, parts, offset = {}, [], 0
        for tag in sorted(tables):
            offsets[tag] = offset
            padded = tables[tag] + b"\0" * (-len(tables[tag]) % 4)
            parts.append(padded)
            offset += len(padded)
        block = b"".join(parts)
        deflate = zlib.compressobj(level=9, wbits=-zlib.MAX_WBITS)
        return cls(
            block=block,
            offsets=offsets,
            lengths={tag: len(table) for tag, table in tables.items()},
            deflated=deflate.compress(block) + deflate.flush(),
        )


def _directory(
    offsets: dict[str, int], lengths: dict[str, int], checksums: dict[str, int]
) -> bytes:
    """An sfnt file's header and table directory (its records sorted by tag)."""
    count = len(offsets)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(
        ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
    )
    records = (
        struct.pack(">4sIII", tag.encode("latin-1"), checksums[tag], offsets[tag], lengths[tag])
        for tag in sorted(offsets)
    )
    return header + b"".join(records)
