"""Forms with files, read as the request streams in: each file part goes straight into the sink the
page gives for it (memory, never a temporary file on disk, unlike Starlette's form parser, which
spools files over 1 MB to disk), with a size cap; the text fields come back as a dict."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_TEXT_FIELD_BYTES = 1024 * 1024  # the longest text a form carries (a roster, minutes)
MAX_FIELDS = 300


class Sink(Protocol):
    def write(self, chunk: bytes) -> None: ...


@dataclass
class Part:
    field: str
    filename: str
    sink: Optional[Sink]
    size: int = 0


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Part] = field(default_factory=dict)
    problem: str = ""  # non-empty: the form could not be read (what to tell the person)


class BadForm(Exception):
    pass


async def read_multipart(request: Request, sink_for: Callable[[str, str], Optional[Sink]]) -> StreamedForm:
    """Read a multipart/form-data body. `sink_for(field, filename)` gives where a file part goes (None:
    drop it). Files without a name (an empty file input) are left out."""
    out = StreamedForm()
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        out.problem = "表单须以文件上传方式（multipart/form-data）提交；请从页面上的表单提交"
        return out
    state = {"headers": {}, "name": b"", "value": b"", "part": None, "text": bytearray()}

    def on_part_begin() -> None:
        state["headers"], state["part"], state["text"] = {}, None, bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["name"].lower()] = state["value"]
        state["name"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            filename = disposition[b"filename"].decode("utf-8", "replace")
            part = Part(name, filename, sink_for(name, filename) if filename else None)
            state["part"] = part
            if filename:
                out.files[name] = part
        elif len(out.fields) >= MAX_FIELDS:
            raise BadForm(f"表单最多可包含 {MAX_FIELDS} 项")
        else:
            state["part"] = name

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state["part"]
        if isinstance(part, Part):
            part.size += end - start
            if part.sink is not None:
                part.sink.write(data[start:end])
        else:
            state["text"] += data[start:end]
            if len(state["text"]) > MAX_TEXT_FIELD_BYTES:
                raise BadForm(f"一项文字内容超过 {MAX_TEXT_FIELD_BYTES // 1024} KB")

    def on_part_end() -> None:
        if isinstance(state["part"], str):
            out.fields[state["part"]] = bytes(state["text"]).decode("utf-8", "replace")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BadForm as bad:
        out.problem = f"{bad}，未做任何更改"
    except Exception:  # python-multipart raises several kinds for a malformed body
        out.problem = "表单内容不完整或格式有误（上传可能被中断），未做任何更改；请重新提交"
    return out
