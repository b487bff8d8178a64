"""发文字号 (GB/T 9704-2012 §7.2.5): organ code, year in 六角括号 〔〕, sequence without leading zeros or 第, then 号."""
from __future__ import annotations

import pytest

from states.docnumber import render_document_number


def test_the_number_is_organ_code_year_in_hexagonal_brackets_and_sequence():
    assert render_document_number("青卫质控", 2026, 7) == "青卫质控〔2026〕7号"


@pytest.mark.parametrize("seq,expected", [(1, "岳卫质控〔2026〕1号"), (10, "岳卫质控〔2026〕10号"),
                                          (123, "岳卫质控〔2026〕123号")])
def test_the_sequence_has_no_leading_zeros(seq, expected):
    assert render_document_number("岳卫质控", 2026, seq) == expected


def test_the_number_has_no_di_and_uses_hexagonal_brackets_not_look_alikes():
    number = render_document_number("青卫质控", 2026, 3)
    assert "第" not in number
    assert number.count("〔") == 1 and number.count("〕") == 1
    assert not any(look_alike in number for look_alike in "[]【】()（）")


def test_the_year_is_rendered_as_given():
    assert render_document_number("青卫质控", 2027, 1) == "青卫质控〔2027〕1号"


@pytest.mark.parametrize("seq", [0, -1, -100])
def test_a_sequence_below_one_is_refused(seq):
    with pytest.raises(ValueError, match="从 1 开始"):
        render_document_number("青卫质控", 2026, seq)
