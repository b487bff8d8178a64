"""The one YAML/JSON reader: safe types, dates as written, and every limit refused in Chinese with its line."""
from __future__ import annotations

import pytest

from qcflow.core.errors import UserError
from qcflow.core.safeload import MAX_DEPTH, load_yaml


def refused(text, **kwargs) -> str:
    with pytest.raises(UserError) as err:
        load_yaml(text, "数据文件 d.yaml", **kwargs)
    assert "d.yaml" in str(err.value)
    return str(err.value)


def test_plain_data_and_dates_kept_as_the_text_written():
    assert load_yaml("a: {b: [1, 2.5, x, null, true]}\nday: 2026-12-10\nbad: 2026-02-30\nat: 14:30\n", "f") == {
        "a": {"b": [1, 2.5, "x", None, True]}, "day": "2026-12-10", "bad": "2026-02-30", "at": "14:30"}


def test_a_duplicate_key_is_refused_with_both_lines():
    assert "第 3 行：键“commission”重复（第 1 行已出现）" in refused("commission: {a: 1}\nx: 1\ncommission: {a: 2}\n")


def test_nesting_past_the_limit_is_refused_not_a_recursion_error():
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f") is not None
    assert f"嵌套超过 {MAX_DEPTH} 层" in refused("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert "嵌套超过" in refused("a: " + "[" * 5000 + "]" * 5000)
    assert "嵌套超过" in refused("".join("  " * i + "k:\n" for i in range(200)))


def test_anchors_and_aliases_are_refused_so_a_small_bomb_cannot_grow():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    assert len(bomb.encode()) < 1000
    assert "第 1 行" in refused(bomb) and "锚点/别名" in refused(bomb)
    assert "锚点/别名（*x）" in refused("b: *x\n")


def test_size_limit():
    assert "超过 1 MB 上限" in refused("a: " + "x" * (1024 * 1024), max_bytes=1024 * 1024)
    assert "超过 1 MB 上限" in refused(b"a: " + b"x" * (1024 * 1024), max_bytes=1024 * 1024)


@pytest.mark.parametrize("text, expected", [
    ("x: .nan\n", "不接受 .nan"), ("x: -.inf\n", "不接受 .nan"), ("x: " + "9" * 5000, "位数过多"),
    ("x: !!binary aGk=\n", "不支持的 YAML 类型"), ("x: !!set {a}\n", "不支持的 YAML 类型"),
    ("!!python/object/apply:os.system [ls]\n", "不支持的 YAML 类型"), ("x: !custom 1\n", "不支持的 YAML 类型"),
    ("? [a]\n: b\n", "键必须是文字"), ("a: 1\n---\nb: 2\n", "多个 YAML 文档"), ("a:\n\tb: 1\n", "不是有效的 YAML"),
    ("a: \x1f\n", "控制字符"), (b"\xff\xfea: 1", "不是 UTF-8"),
])
def test_hostile_scalars_and_syntax_are_refused_in_chinese(text, expected):
    assert expected in refused(text)


def test_lines_are_kept_for_the_directory_and_a_clashing_key_refused():
    assert load_yaml("a:\n  b: 1\n", "f", with_lines=True) == {"a": {"b": 1, "__line__": 2}, "__line__": 1}
    assert "重复" in refused("__line__: 3\n", with_lines=True)
