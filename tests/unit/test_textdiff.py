"""The text diff between two rounds (states/textdiff.py): lines added, removed, changed."""
from __future__ import annotations

from states.textdiff import diff_text


def _ops(diff):
    return [line.op for line in diff.lines]


def test_identical_texts_have_no_changes():
    diff = diff_text("一\n二", "一\n二")
    assert not diff.changed and diff.added == diff.removed == 0
    assert _ops(diff) == ["skip"] and diff.lines[0].skipped == 2


def test_an_added_line_is_an_insert_with_its_new_number():
    diff = diff_text("甲\n乙", "甲\n乙\n丙")
    assert diff.added == 1 and diff.removed == 0
    inserted = [line for line in diff.lines if line.op == "insert"]
    assert [(line.old_no, line.new_no, line.segments[0].text) for line in inserted] == [(None, 3, "丙")]


def test_a_similar_changed_line_marks_only_the_changed_characters():
    diff = diff_text("会议定于12月10日召开", "会议定于12月12日召开")
    (line,) = diff.lines
    assert line.op == "replace" and (line.old_no, line.new_no) == (1, 1)
    assert [(s.op, s.text) for s in line.segments if s.op != "equal"] == [("delete", "0"), ("insert", "2")]
    assert "".join(s.text for s in line.segments if s.op != "insert") == "会议定于12月10日召开"
    assert "".join(s.text for s in line.segments if s.op != "delete") == "会议定于12月12日召开"


def test_a_rewritten_line_is_shown_removed_and_added_not_as_character_noise():
    diff = diff_text("请各单位准时参会。", "会议议程：一、工作总结；二、工作计划。")
    assert _ops(diff) == ["delete", "insert"]
    assert diff.added == 1 and diff.removed == 1


def test_unchanged_stretches_far_from_a_change_are_collapsed():
    old = "\n".join(f"第{i}行" for i in range(1, 21))
    new = old.replace("第10行", "第十行")
    diff = diff_text(old, new, context=2)
    assert _ops(diff) == ["skip", "equal", "equal", "replace", "equal", "equal", "skip"]
    assert diff.lines[0].skipped == 7 and diff.lines[-1].skipped == 8
    assert diff.lines[3].old_no == diff.lines[3].new_no == 10


def test_empty_and_missing_texts():
    assert diff_text("", "新正文").added == 1
    assert diff_text("旧正文", "").removed == 1
    assert diff_text(None, None).lines == ()  # type: ignore[arg-type]
