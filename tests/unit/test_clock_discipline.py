"""Nothing reads the wall clock but `SystemClock`: every "now" comes from the injected clock.

A read behind the clock's back passes the week it is written and fails later (NOTES: the suite went
red on 2026-12-01 for one). This scans the source, not the behaviour, so it also finds reads that no
test reaches. Monotonic timers (`time.monotonic`, `time.perf_counter`) measure durations and are fine.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("qcflow", "states", "models", "notifications", "web", "flows", "benchmarks")
ALLOWED = {("qcflow/core/clock.py", "SystemClock")}  # (file, class or function the read may sit in)

# Calls that read the wall clock, by the module and name they come from.
WALL_CLOCK = {
    ("datetime", "datetime.now"), ("datetime", "datetime.utcnow"), ("datetime", "datetime.today"),
    ("datetime", "date.today"), ("time", "time"), ("time", "time_ns"),
    ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"), ("time", "asctime"),
}
TIME_OF_ARG = {"localtime", "gmtime", "ctime", "asctime"}  # these read the clock only without an argument

# Known reads in files this change could not touch; the lead removes each entry with its fix.
# Keyed by (file, enclosing function) so that edits elsewhere in the file do not move them.
KNOWN: dict[tuple[str, str], str] = {}  # none left: a read that must stay would be listed here, with why


class _Reads(ast.NodeVisitor):
    """Wall-clock calls in one module, resolving `import datetime as dt`, `from time import time`, …"""

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, str]] = {}  # local name -> (module, dotted name inside it)
        self.scope: list[str] = []
        self.found: list[tuple[int, str, str]] = []  # (line, call, enclosing scope)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in ("datetime", "time"):
                self.names[alias.asname or alias.name] = (alias.name, "")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module in ("datetime", "time"):
            for alias in node.names:
                self.names[alias.asname or alias.name] = (node.module, alias.name)

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        dotted = _dotted(node.func)
        if dotted:
            head, _, rest = dotted.partition(".")
            if head in self.names:
                module, inside = self.names[head]
                name = ".".join(p for p in (inside, rest) if p)
                called = name.rpartition(".")[2]
                if (module, name) in WALL_CLOCK and not (called in TIME_OF_ARG and node.args):
                    self.found.append((node.lineno, name, ".".join(self.scope)))
        self.generic_visit(node)


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


class Read(NamedTuple):
    file: str
    line: int
    call: str
    scope: str  # the enclosing classes and functions, dotted
    text: str

    @property
    def key(self) -> tuple[str, str]:
        return self.file, self.scope.rpartition(".")[2]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.call}() in {self.scope or '<module>'}: {self.text}"


def wall_clock_reads() -> list[Read]:
    """Every wall-clock read in the first-party packages outside the allowed places."""
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            source = path.read_text(encoding="utf-8")
            reads = _Reads()
            reads.visit(ast.parse(source, filename=rel))
            lines = source.splitlines()
            for line, call, scope in reads.found:
                if (rel, scope.partition(".")[0]) not in ALLOWED:
                    out.append(Read(rel, line, call, scope, lines[line - 1].strip()))
    return out


def test_nothing_reads_the_wall_clock_but_the_system_clock():
    new = [read for read in wall_clock_reads() if KNOWN.get(read.key) != read.call]
    assert not new, "wall-clock reads outside SystemClock; take the time from qcflow.core.clock (the injected " \
        "clock), or from the caller:\n" + "\n".join(f"  {read}" for read in new)


def test_the_known_reads_are_still_there():
    """An entry of KNOWN whose read is gone must go too, so the list only shrinks."""
    stale = sorted(set(KNOWN) - {read.key for read in wall_clock_reads()})
    assert not stale, f"remove these from KNOWN, their wall-clock read is gone: {stale}"


def test_the_scan_finds_each_way_of_reading_the_clock():
    source = (
        "import datetime as dt\nimport time\nfrom datetime import date, datetime\nfrom time import time as now\n"
        "def f():\n"
        "    dt.datetime.now()\n    datetime.utcnow()\n    date.today()\n    time.time()\n    now()\n"
        "    time.localtime()\n    time.localtime(0)\n    time.monotonic()\n    time.perf_counter()\n"
    )
    reads = _Reads()
    reads.visit(ast.parse(source))
    assert [(line, call) for line, call, _ in reads.found] == [
        (6, "datetime.now"), (7, "datetime.utcnow"), (8, "date.today"), (9, "time"), (10, "time"), (11, "localtime")]
