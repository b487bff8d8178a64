"""The one YAML/JSON reader for every file a person hands in (directory, `--data`, calendar, mapping, DRG list).

Safe types only (mappings, lists, text, numbers, booleans, null), and the limits that keep a small
hostile file from hurting the process: size, nesting depth, no anchors/aliases (a 1 KB "billion
laughs" file otherwise grows to gigabytes once the data is copied or serialized), no duplicate keys
(a second `commission:` block silently replaced the first). Dates stay text exactly as written
(`2026-12-10`): the consumers validate them and store ISO text in JSON, and an impossible date
(`2026-02-30`) then gets a refusal that names its field, not a bare ValueError from the parser.
Every fault is a UserError in Chinese naming the file, the line and the limit.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Union

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from qcflow.core.errors import UserError

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 50
MAX_INT_DIGITS = 30  # an id or a count; longer is a typo (and Python refuses to print >4,300 digits)
LINE_KEY = "__line__"  # with `with_lines=True`, each mapping carries the line it starts on


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader with a depth limit, no aliases, no duplicate keys and only JSON-like types."""

    max_depth = MAX_DEPTH
    with_lines = False

    def __init__(self, stream: Any, source: str):
        super().__init__(stream)
        self.source = source
        self._depth = 0

    def compose_node(self, parent: Optional[Node], index: Any) -> Optional[Node]:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise UserError(f"{_where(self.source, event.start_mark)}：不支持 YAML 锚点/别名（*{event.anchor}），"
                            "请把内容直接写出")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise UserError(f"{_where(self.source, event.start_mark)}：不支持 YAML 锚点/别名（&{event.anchor}），"
                            "请把内容直接写出")
        self._depth += 1
        if self._depth > self.max_depth:
            raise UserError(f"{_where(self.source, event.start_mark)}：嵌套超过 {self.max_depth} 层上限，"
                            "请检查缩进或括号是否配对")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}", node.start_mark)
        self.flatten_mapping(node)  # only merges `<<:`, which needs an alias: refused above
        mapping: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise UserError(f"{_where(self.source, key_node.start_mark)}：键必须是文字（不能是列表或映射）")
            line = key_node.start_mark.line + 1
            if key in mapping or (self.with_lines and key == LINE_KEY):
                raise UserError(f"{self.source} 第 {line} 行：键“{key}”重复（第 {lines.get(key, line)} 行已出现），"
                                "请删去或合并其中一处")
            lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        if self.with_lines:
            mapping[LINE_KEY] = node.start_mark.line + 1
        return mapping

    def construct_yaml_map(self, node: MappingNode) -> Any:
        data: dict[Any, Any] = {}
        yield data
        data.update(self.construct_mapping(node, deep=True))

    def construct_date_text(self, node: ScalarNode) -> str:
        return self.construct_scalar(node)

    def construct_finite_float(self, node: ScalarNode) -> Any:
        if ":" in node.value:
            return node.value
        value = self.construct_yaml_float(node)
        if not math.isfinite(value):
            raise UserError(f"{_where(self.source, node.start_mark)}：“{node.value}”不是有效的数值（不接受 .nan、.inf）")
        return value

    def construct_bounded_int(self, node: ScalarNode) -> Any:
        if ":" in node.value:  # YAML 1.1 reads 14:30 as 870 (base 60); a person means a time of day
            return node.value
        if len(node.value) > MAX_INT_DIGITS:
            raise UserError(f"{_where(self.source, node.start_mark)}：数字“{node.value[:20]}…”位数过多"
                            f"（最多 {MAX_INT_DIGITS} 位）")
        try:
            return self.construct_yaml_int(node)
        except ValueError:
            raise UserError(f"{_where(self.source, node.start_mark)}：“{node.value[:40]}”不是有效的整数") from None

    def refuse_type(self, node: Node) -> Any:
        raise UserError(f"{_where(self.source, node.start_mark)}：不支持的 YAML 类型 {node.tag}；"
                        "只接受文字、数字、是/否、列表和键值映射")


_SafeLoader.add_constructor("tag:yaml.org,2002:map", _SafeLoader.construct_yaml_map)
_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_date_text)
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_bounded_int)
_SafeLoader.add_constructor("tag:yaml.org,2002:float", _SafeLoader.construct_finite_float)
for _tag in ("binary", "set", "omap", "pairs"):
    _SafeLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _SafeLoader.refuse_type)
_SafeLoader.add_constructor(None, _SafeLoader.refuse_type)  # any other explicit tag (!!python/…, !custom)


def _where(source: str, mark: Any) -> str:
    return f"{source} 第 {mark.line + 1} 行" if mark is not None else source


def load_yaml(content: Union[str, bytes], source: str, *, with_lines: bool = False,
              max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The data in a YAML (or JSON) text; raise UserError naming `source`, the line and the broken limit.

    `source` is what the person knows the input as (a file name, 标准输入). With `with_lines`, every
    mapping gets a `__line__` entry (the directory reports faults by line)."""
    if isinstance(content, bytes):
        if len(content) > max_bytes:
            raise _too_big(source, len(content), max_bytes)
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError(f"{source} 不是 UTF-8 编码；请另存为 UTF-8 后重试") from None
    elif len(content) > max_bytes or len(content.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _too_big(source, len(content.encode("utf-8", "surrogatepass")), max_bytes)
    content = content.removeprefix("\ufeff")
    loader = None
    try:
        loader = _SafeLoader(content, source)  # the reader checks the characters here already
        loader.with_lines, loader.max_depth = with_lines, max_depth
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise UserError(_describe(source, exc)) from None
    except RecursionError:  # only if max_depth was set above what the interpreter's stack allows
        raise UserError(f"{source}：嵌套层数过多，请检查缩进或括号是否配对") from None
    finally:
        if loader is not None:
            loader.dispose()


def _too_big(source: str, size: int, limit: int) -> UserError:
    return UserError(f"{source} 超过 {limit / 1024 / 1024:g} MB 上限；请拆分后分别导入")


def _describe(source: str, exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        return (f"{source}：第 {exc.position + 1} 个字符是不可打印的控制字符（#x{exc.character:04x}），"
                "请删去后重试")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    hint = "（第一个值前不能有制表符，冒号后须有空格，引号和括号须配对）"
    if isinstance(exc, yaml.composer.ComposerError) and "document" in str(problem):
        return f"{_where(source, mark)}：文件中有多个 YAML 文档（---），只能有一个"
    return f"{_where(source, mark)}：不是有效的 YAML/JSON（{problem}）{hint}"
