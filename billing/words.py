"""Amounts in Vietnamese words, as printed on receipts ("Một trăm tám mươi nghìn đồng").

The number is read in groups of three digits (nghìn, triệu, tỷ; then nghìn tỷ, triệu tỷ, …).
Inside a group, the rules of the standard (accounting) reading:

* a zero tens digit before a non-zero unit reads ``linh``: 105 → "một trăm linh năm";
* ``mười`` for ten, ``mươi`` for twenty and up: 15 → "mười lăm", 50 → "năm mươi";
* a unit 1 after ``mươi`` reads ``mốt`` (21 → "hai mươi mốt"), but ``một`` after ``mười``
  and ``linh`` (11 → "mười một", 101 → "một trăm linh một");
* a unit 5 after a tens word reads ``lăm`` (15 → "mười lăm", 25 → "hai mươi lăm"), but
  ``năm`` after ``linh`` (105 → "một trăm linh năm");
* a unit 4 after ``mươi`` reads ``tư`` (34 → "ba mươi tư"), the form banks and the tax
  office print; everywhere else ``bốn`` (14 → "mười bốn", 104 → "một trăm linh bốn"),
  because "mười tư" and "linh tư" are regional and less formal;
* a group after a larger one is read in full, with ``không trăm`` when its hundreds digit
  is zero: 1,050,000 → "một triệu không trăm năm mươi nghìn"; groups that are all zero are
  left out: 1,000,000 → "một triệu".
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
# Scales of the three-digit groups below a billion; a billion (tỷ) repeats above them.
_SCALES = ("", "nghìn", "triệu")
_BILLION = 1_000_000_000


def _group(value: int, *, full: bool) -> list[str]:
    """The words of 1…999; ``full`` reads a group that follows a larger one (hundreds and
    ``linh`` even when zero)."""
    hundreds, tens, units = value // 100, value // 10 % 10, value % 10
    words: list[str] = []
    if full or hundreds:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words.append("linh")
        if units:
            words.append(DIGITS[units])
        return words
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens > 1 else "một")
    elif units == 4:
        words.append("tư" if tens > 1 else "bốn")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _below_billion(value: int, *, full: bool) -> list[str]:
    groups = [value // 1_000_000, value // 1_000 % 1_000, value % 1_000]
    words: list[str] = []
    for group, scale in zip(groups, reversed(_SCALES), strict=True):
        if group:
            words += _group(group, full=full or bool(words))
            if scale:
                words.append(scale)
    return words


def _words(value: int, *, full: bool = False) -> list[str]:
    if value < _BILLION:
        return _below_billion(value, full=full)
    billions, rest = divmod(value, _BILLION)
    words = [*_words(billions, full=full), "tỷ"]
    if rest:
        words += _below_billion(rest, full=True)
    return words


def number_in_words_vi(value: int) -> str:
    """A non-negative whole number in Vietnamese words, lower case: 21 → "hai mươi mốt"."""
    if type(value) is not int or value < 0:
        raise ValueError("only non-negative whole numbers are read out")
    if value == 0:
        return DIGITS[0]
    return " ".join(_words(value))


def amount_in_words_vi(amount: int) -> str:
    """A VND amount as printed on a receipt: 105000 → "Một trăm linh năm nghìn đồng"."""
    text = f"{number_in_words_vi(amount)} đồng"
    return text[0].upper() + text[1:]
