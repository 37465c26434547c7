"""QR codes as segno makes them, its choice of data mask made in a fraction of the time.

ISO/IEC 18004:2015, 7.8.3 has the encoder try the eight data masks and keep the one whose
symbol scores the lowest penalty (N1 runs, N2 blocks, N3 finder-like patterns, N4 the dark
proportion). segno does that module by module in Python, calling a function per module: on
a receipt's verification link (a version 2 symbol) 2.0 of its 2.5 ms, the largest single
cost of a thermal receipt. Here the same scores are computed on the rows and columns packed
into one integer (a bit per module), from the symbol segno makes with mask 0; the mask that
scores lowest — the one segno itself would choose: its scoring is followed as it is
written, ties and edges included — is then applied to the data modules and named in the
format information by segno's own ``add_format_info`` (``tests/config/test_qr.py`` compares
the result with ``segno.make``'s for 1,100+ texts at four error levels, versions 1 to 21).

segno encodes the data and draws the function patterns; only the masks' evaluation is done
here. Micro QR codes (scored the other way round) are left to segno.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import segno
from segno import encoder

# ISO/IEC 18004:2015, 7.8.2, Table 10: the modules each data mask inverts (row i, column j).
_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_FINDER_LIKE = (1, 0, 1, 1, 1, 0, 1)  # N3's 1:1:3:1:1 dark:light:dark:light:dark


def qr_matrix(text: str, *, error: str) -> tuple[bytearray, ...]:
    """``segno.make(text, error=error).matrix``: the same modules, mask included (1 dark,
    0 light, row by row, without the quiet zone)."""
    first = segno.make(text, error=error, mask=0)
    if first.is_micro:
        return tuple(segno.make(text, error=error).matrix)
    layout = _layout(len(first.matrix))
    best = _best_mask(first.matrix, layout)
    if best == 0:
        return tuple(first.matrix)
    flips, row_bits = layout.masks[0] ^ layout.masks[best], (1 << layout.size) - 1
    matrix = tuple(
        _flipped(row, flips >> number * layout.stride & row_bits)
        for number, row in enumerate(first.matrix)
    )
    # the format information names the mask (segno's own placement of it)
    encoder.add_format_info(matrix, first.version, encoder.normalize_errorlevel(first.error), best)
    return matrix


def _flipped(row: bytearray, bits: int) -> bytearray:
    flipped = bytearray(row)
    while bits:
        lowest = bits & -bits
        flipped[lowest.bit_length() - 1] ^= 1
        bits ^= lowest
    return flipped


@dataclass(frozen=True)
class _Layout:
    """A QR Code ``size`` modules wide, its rows and then its columns packed into one
    integer, each line ``_GAP`` light bits after the one before (line n's module k is bit
    ``n * stride + k``): its encoding region, its function patterns' dark modules as they
    stand when the masks are scored (the format and version areas still light), and the
    modules each mask inverts — from segno's own function patterns. The gap keeps runs and
    patterns from joining across lines; it reads as light, as the symbol's edge does."""

    size: int
    stride: int
    lines: int  # every module of every row and column
    pairs: int  # in rows 1.., modules 0..size-2: where a 2x2 block can start (N2)
    region: int
    dark: int
    masks: list[int]


_GAP = 8


@cache
def _layout(size: int) -> _Layout:
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    cells = range(size)
    in_region = [[matrix[i][j] > 1 for j in cells] for i in cells]
    return _Layout(
        size=size,
        stride=size + _GAP,
        lines=_packed([[True] * size] * size),
        pairs=sum(((1 << (size - 1)) - 1) << (row * (size + _GAP)) for row in range(1, size)),
        region=_packed(in_region),
        dark=_packed([[matrix[i][j] == 1 for j in cells] for i in cells]),
        masks=[
            _packed([[in_region[i][j] and inverts(i, j) for j in cells] for i in cells])
            for inverts in _MASKS
        ],
    )


def _packed(modules: Sequence[Sequence[int]]) -> int:
    """A square of 0/1 (or booleans): its rows, then its columns, as one integer."""
    gap = "0" * _GAP
    lines = [*modules, *zip(*modules, strict=True)]
    text = gap.join("".join("1" if module else "0" for module in line) for line in lines)
    return int(text[::-1], 2)


def _best_mask(masked_with_0: Sequence[bytearray], layout: _Layout) -> int:
    """The mask segno chooses for the symbol whose modules, masked with mask 0, are
    ``masked_with_0`` (its format information is ignored: scored before it is placed)."""
    data = (_packed(masked_with_0) ^ layout.masks[0]) & layout.region | layout.dark
    best, best_score = 0, None
    for number, mask in enumerate(layout.masks):
        score = _penalty(data ^ mask, layout)
        if best_score is None or score < best_score:  # the first of equal scores
            best, best_score = number, score
    return best


def _penalty(symbol: int, layout: _Layout) -> int:
    """segno's ``evaluate_mask`` of the symbol (``segno.encoder.mask_scores``: N1 + N2 +
    N3 + N4), its rows and columns packed as ``_Layout`` says."""
    size, stride = layout.size, layout.stride
    score = 0
    # N1: each run of five or more modules of one colour in a row or column, 3 + (its
    # length - 5): bit k of ``fives`` is set when modules k..k+4 are.
    for ones in (symbol, ~symbol & layout.lines):
        fives = ones & ones >> 1 & ones >> 2 & ones >> 3 & ones >> 4
        score += fives.bit_count() + 2 * (fives & ~(fives << 1)).bit_count()
    # N2: each 2x2 block of one colour (a row's module and the next, and the row above's).
    rows = symbol & ((1 << stride * size) - 1)
    above = rows << stride
    same = ~(rows ^ rows >> 1) & ~(above ^ above >> 1) & ~(rows ^ above)
    score += 3 * (same & layout.pairs).bit_count()
    # N3, and N4: the dark proportion in tenths of 5 % away from half.
    score += _finder_like(symbol, size, stride)
    percent = float(rows.bit_count()) / (size**2)
    return score + 10 * int(abs(percent * 100 - 50) / 5)


def _finder_like(symbol: int, size: int, stride: int) -> int:
    """N3 as segno counts it in each row and column: each 1011101 found from the line's
    start, 40 when it is at an edge or has four light modules (or the edge) before or
    after it; the search goes on after a counted pattern, or three modules into one that
    was not."""
    match = ~0
    for offset, module in enumerate(_FINDER_LIKE):
        shifted = symbol >> offset
        match &= shifted if module else ~shifted
    match &= symbol  # nothing past the last line
    count, line, start = 0, -1, 0
    while match:
        lowest = match & -match
        match ^= lowest
        bit = lowest.bit_length() - 1
        number, at = divmod(bit, stride)
        if number != line:
            line, start = number, 0
        if at < start:
            continue
        light_before = not symbol >> (bit - min(at, 4)) & ((1 << min(at, 4)) - 1)
        light_after = not symbol >> (bit + 7) & 0b1111
        if at in (0, size - 7) or light_before or light_after:
            count += 40
            start = at + 7
        else:
            start = at + 4
    return count
