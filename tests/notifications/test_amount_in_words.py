"""Amounts in Vietnamese words, as a receipt prints them."""

from __future__ import annotations

import pytest

from billing.words import amount_in_words_vi, number_in_words_vi


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Không đồng"),
        (1_000, "Một nghìn đồng"),
        (15_000, "Mười lăm nghìn đồng"),
        (105_000, "Một trăm linh năm nghìn đồng"),
        (1_000_000, "Một triệu đồng"),
        (
            1_234_567_000,
            "Một tỷ hai trăm ba mươi tư triệu năm trăm sáu mươi bảy nghìn đồng",
        ),
        (180_000, "Một trăm tám mươi nghìn đồng"),
    ],
)
def test_the_issue_vectors_read_as_a_receipt_prints_them(amount: int, words: str) -> None:
    assert amount_in_words_vi(amount) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (21, "hai mươi mốt"),  # mốt after mươi
        (11, "mười một"),  # một after mười
        (101, "một trăm linh một"),  # một after linh
        (25, "hai mươi lăm"),  # lăm after a tens word
        (15, "mười lăm"),
        (105, "một trăm linh năm"),  # năm after linh
        (34, "ba mươi tư"),  # tư after mươi (documented choice)
        (14, "mười bốn"),  # bốn elsewhere
        (104, "một trăm linh bốn"),
        (50, "năm mươi"),
        (110, "một trăm mười"),
        (1_050_000, "một triệu không trăm năm mươi nghìn"),  # full group after a larger one
        (1_000_005, "một triệu không trăm linh năm"),
        (2_001_000_000, "hai tỷ không trăm linh một triệu"),
        (1_000_000_000_000, "một nghìn tỷ"),
    ],
)
def test_each_reading_rule(number: int, words: str) -> None:
    assert number_in_words_vi(number) == words


@pytest.mark.parametrize("bad", [-1, 1.5, "100"])
def test_negative_and_non_integer_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="non-negative whole"):
        number_in_words_vi(bad)  # type: ignore[arg-type]
