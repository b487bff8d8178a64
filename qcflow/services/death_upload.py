"""Deaths from the web: a hospital's uploaded file, and one death entered in a form, imported by the
same service as the CLI (qcflow.services.deaths_import) without their raw content ever touching disk.

The raw file holds patient names and ID numbers (Y§22): it is written as it arrives into an anonymous
in-memory file (Linux memfd), which disappears when closed, even if the process dies. The importer
reads it by path through a symlink that carries only the uploader's file name (so its messages name
the file the clerk chose) and points at the memory file; no byte of content is in the link.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.services.deaths_import import ImportReport, import_file
from qcflow.store.db import get_engine, unit_of_work
from qcflow.store.raw import Raw
from states.death_intake import DEFAULT_HEADERS, case_key, parse_row
from states.policy import Limit

# Not from the rules: what one upload may hold in memory (a 100,000-row export is about 15 MB).
DEATH_FILE_MAX_BYTES = Limit(64 * 1024 * 1024, "平台")
_UNSAFE = re.compile(r"[\x00-\x1f/\\]+")


class MemoryFile:
    """A file that lives only in memory; `write` it as the upload arrives, then `import_deaths`."""

    def __init__(self, filename: str, limit: int = DEATH_FILE_MAX_BYTES.value):
        if not hasattr(os, "memfd_create"):
            raise UserError("此服务器不支持在内存中接收文件，不能在网页上传死亡病例文件；请改用命令行 qcflow deaths import")
        self.filename = display_name(filename)
        self.limit = limit
        self.size = 0
        self.too_big = False
        self._fd = os.memfd_create("qcflow-death-upload", os.MFD_CLOEXEC)
        self._file = os.fdopen(self._fd, "w+b", buffering=0)

    def write(self, chunk: bytes) -> None:
        """Keep up to the limit; beyond it, only count (the upload is refused as a whole)."""
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_big = True
            return
        self._file.write(chunk)

    @contextmanager
    def path(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="qcflow-upload-") as tmp:
            link = Path(tmp) / self.filename
            link.symlink_to(f"/proc/{os.getpid()}/fd/{self._fd}")
            yield link

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MemoryFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def display_name(filename: str) -> str:
    """The uploader's file name as a single safe path component."""
    name = _UNSAFE.sub("_", (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")
    return (name or "上传文件")[:120]


def import_deaths(upload: MemoryFile, hospital: str, email: str) -> ImportReport:
    """Import the uploaded file for the hospital as the person; the same checks, batches and report as the CLI."""
    if upload.too_big:
        raise UserError(f"文件“{upload.filename}”超过 {DEATH_FILE_MAX_BYTES.value // 1048576} MB 上限，未导入任何行；"
                        f"请分成几个文件上传，或用命令行 qcflow deaths import 导入")
    if upload.size == 0:
        raise UserError(f"文件“{upload.filename}”是空的，未导入任何行")
    with upload.path() as path:
        return import_file(get_engine(), path, hospital, email)


def report_death(values: dict[str, Any], hospital: str, email: str) -> tuple[ImportReport, Optional[int]]:
    """One death entered in a form (field names as keys), imported as a one-row file held in memory.
    Returns the report and the case's id (new, or the one already reported), None when refused."""
    header_of = {name: header for header, name in DEFAULT_HEADERS.items() if name}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([header_of.get(k, k) for k in values])
    writer.writerow(["" if v is None else str(v) for v in values.values()])
    with MemoryFile("单例报告.csv") as upload:
        upload.write(text.getvalue().encode("utf-8"))
        report = import_deaths(upload, hospital, email)
    if report.refused:
        return report, None
    record, _ = parse_row(values, 2, today=local_date(utcnow()))
    if record is None:
        return report, None
    with unit_of_work(read_only=True) as session:
        found = Raw(session).first('SELECT id FROM qc_case WHERE "key" = ?', [case_key(report.hospital, record)])
    return report, found[0] if found else None
