"""What the commands print: text or `--json`, data files read for them, errors, exit codes."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from qcflow.core.errors import UserError
from qcflow.core.ids import check_id
from qcflow.core.safeload import MAX_BYTES, load_yaml

EXIT_ERROR = 1
EXIT_REFUSED = 2
EXIT_CONFLICT = 3
EXIT_PARTIAL = 4  # a bulk import stopped midway: the first part is stored, the rest is not
EXIT_INTERRUPTED = 130


@dataclass
class Output:
    """How this run prints: set by `--json`, before or after the sub-command."""

    json: bool = False
    asks_for_help: bool = False  # `--help` anywhere: the root callback builds no runtime


def json_flag(ctx: typer.Context, value: bool) -> bool:
    """Remember `--json` for the error printer; a command sees True if it was given anywhere."""
    output = ctx.ensure_object(Output)
    output.json = output.json or value
    return output.json


JsonFlag = Annotated[bool, typer.Option("--json", help="以 JSON 输出", callback=json_flag)]


def _case_id(value: int) -> int:
    return check_id(value)  # type: ignore[return-value]


def _optional_id(value: Optional[int]) -> Optional[int]:
    return check_id(value, "版本号")


# A case id on the command line: 1 to 2^31−1, else "编号超出范围" (exit 2) before any database sees it.
CaseId = Annotated[int, typer.Argument(metavar="id", callback=_case_id)]
VersionOption = Annotated[Optional[int], typer.Option("--expected-version", help="仅当事项仍为此版本时执行",
                                                      callback=_optional_id)]


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
    """A YAML/JSON mapping from a file, or from standard input when `source` is `-` (see qcflow.core.safeload)."""
    name = "标准输入" if source == "-" else f"数据文件 {source}"
    try:
        raw = _read_capped(source)
    except FileNotFoundError:
        raise UserError(f"无法读取数据文件 {source}：找不到文件") from None
    except IsADirectoryError:
        raise UserError(f"{source} 是目录，不是数据文件") from None
    except OSError as exc:
        raise UserError(f"无法读取数据文件 {source}：{exc.strerror}") from None
    data = load_yaml(raw, name)
    if not isinstance(data, dict):
        raise UserError(f"{name} 应为键值映射（例如 title: ...）")
    return data


def _read_capped(source: str) -> bytes:
    """At most one byte more than the loader accepts: a huge file is refused without reading it all."""
    if source != "-":
        with Path(source).open("rb") as f:
            return f.read(MAX_BYTES + 1)
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in place of stdin (tests)
        return sys.stdin.read(MAX_BYTES + 1).encode("utf-8")
    return stream.read(MAX_BYTES + 1)
