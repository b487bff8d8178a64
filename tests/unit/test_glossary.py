"""Article codes and what they stand for (states/glossary.py)."""
from __future__ import annotations

from states.glossary import ENTRIES, chinese_number, explain, find_codes


def test_chinese_article_numbers():
    assert [chinese_number(n) for n in (1, 10, 11, 20, 21, 32)] == ["一", "十", "十一", "二十", "二十一", "三十二"]


def test_a_yueyang_code_names_the_document_and_article():
    assert explain("Y§10").source == "《岳阳市市级医疗质量控制中心管理办法》第十条"
    assert explain("Y§25(4)").code == "Y§25"
    assert explain("H5").topic == "建立健全一个根因溯源机制"
    assert explain("GB/T 9704-2012 §7.2.5").code == "GB/T 9704-2012"
    assert explain("Y§99") is None


def test_codes_are_found_in_a_message_longest_first():
    text = "副主任 3 人中挂靠单位 2 人，超过 Y§10 的 1 人上限（Y§10）；见 Y§25(4) 与 H5，H12 不是代码"
    found = [(text[s:e], entry.code) for s, e, entry in find_codes(text)]
    assert found == [("Y§10", "Y§10"), ("Y§10", "Y§10"), ("Y§25(4)", "Y§25"), ("H5", "H5")]


def test_every_code_the_rules_cite_is_explained():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "states"
    cited = set()
    for path in root.glob("*.py"):
        cited |= set(re.findall(r'"(Y§\d+|H\d)"', path.read_text(encoding="utf-8")))
    assert cited and all(explain(code) is not None for code in cited), cited - set(ENTRIES)
