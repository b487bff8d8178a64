"""What the commands print: text or `--json`, data files read for them, errors, exit codes."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from qcflow.core.errors import UserError

EXIT_ERROR = 1
EXIT_REFUSED = 2
EXIT_CONFLICT = 3
EXIT_INTERRUPTED = 130


@dataclass
class Output:
    """How this run prints: set by `--json`, before or after the sub-command."""

    json: bool = False


def json_flag(ctx: typer.Context, value: bool) -> bool:
    """Remember `--json` for the error printer; a command sees True if it was given anywhere."""
    output = ctx.ensure_object(Output)
    output.json = output.json or value
    return output.json


JsonFlag = Annotated[bool, typer.Option("--json", help="以 JSON 输出", callback=json_flag)]


def as_email(help: str) -> Any:
    """The `--as EMAIL` option: who acts."""
    return Annotated[str, typer.Option("--as", metavar="EMAIL", help=help)]


def data_file(help: str) -> Any:
    """The `--data FILE` option: a YAML/JSON file read with `read_data`."""
    return Annotated[str, typer.Option("--data", metavar="FILE", help=help)]


def emit(as_json: bool, payload: Any, text: str) -> None:
    """A command's result on standard output."""
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def fail(as_json: bool, code: str, messages: list[str], lead: str) -> None:
    """Why a command did nothing: `{"error": code, "messages": [...]}` with `--json`, else on standard error."""
    if as_json:
        print(json.dumps({"error": code, "messages": messages}, ensure_ascii=False, indent=2))
    else:
        print(lead + ("\n  " if lead else "") + "\n  ".join(messages), file=sys.stderr)


def bad_arguments(err: typer.TyperException) -> None:
    """The parser's own (English) complaint, with the usage line and a hint in Chinese."""
    ctx = getattr(err, "ctx", None)
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
    prog = ctx.command_path if ctx is not None else "qcflow"
    print(f"命令参数有误：{err.format_message()}\n运行 `{prog} --help` 查看用法。", file=sys.stderr)


def read_data(source: str) -> dict[str, Any]:
    """A YAML/JSON mapping from a file, or from standard input when `source` is `-`."""
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"无法读取数据文件 {source}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"数据文件 {source} 不是 UTF-8 编码；请另存为 UTF-8 后重试") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise UserError(f"数据文件 {source} 不是有效的 YAML/JSON：{exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"数据文件 {source} 应为键值映射（例如 title: ...）")
    return data
