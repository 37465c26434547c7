from config.text import ascii_fold


def test_vietnamese_marks_fold_to_ascii_and_d_with_stroke_to_d():
    assert ascii_fold("Thanh toán viện phí Đợt 1") == "Thanh toan vien phi Dot 1"
    assert ascii_fold("Bệnh viện Đa khoa, đồng") == "Benh vien Da khoa, dong"


def test_folding_keeps_what_has_no_mark_for_the_caller_to_judge():
    assert ascii_fold("  VP7K2Q9 ₫ ") == "  VP7K2Q9 ₫ "
