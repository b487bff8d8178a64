"""The layers as written in pyproject.toml ([tool.importlinter]), and no import cycles.

import-linter checks that each layer imports only downward; it does not see a cycle inside a layer
(qcflow.services.a <-> qcflow.services.b), so the second test looks for cycles in the import graph
itself. A cycle is what a function-level import hides: the fix is to move the code to the layer it
belongs to, or to register a plug-in (qcflow.engine.plugins), not to import later.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("qcflow", "states", "models", "notifications", "web", "flows")
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_the_import_contracts_are_kept():
    result = subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"})
    assert result.returncode == 0, f"lint-imports failed\n{result.stdout}{result.stderr}"


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """Each group of modules that import each other: one cycle through it, and every import inside it."""
    modules = {m for m in graph.modules if not graph.is_module_squashed(m)}  # first-party only
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    found = []
    for group in _strongly_connected(edges):
        if len(group) < 2:
            continue
        start = min(group)
        came_from: dict[str, str] = {}
        frontier = [start]
        while start not in came_from:  # breadth-first inside the group, back to where it started
            reached = []
            for module in frontier:
                for target in edges[module]:
                    if target in group and target not in came_from:
                        came_from[target] = module
                        reached.append(target)
            frontier = reached
        chain = [start, came_from[start]]
        while chain[-1] != start:
            chain.append(came_from[chain[-1]])
        inside = [(a, b) for a in sorted(group) for b in edges[a] if b in group]
        found.append((chain[::-1], inside))
    return sorted(found)


def _strongly_connected(edges: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is small, but recursion limits are not)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                target = edges[node][i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def _describe(graph: grimp.ImportGraph, cycle: list[str], inside: list[tuple[str, str]]) -> str:
    lines = [f"  {' -> '.join(cycle)}; the imports among these modules:"]
    for importer, imported in inside:
        for d in graph.get_import_details(importer=importer, imported=imported) or [{}]:
            lines.append(f"    {importer} -> {imported}  (l.{d.get('line_number', '?')}: {d.get('line_contents', '')})")
    return "\n".join(lines)


def test_no_import_cycles():
    # Imports under `if TYPE_CHECKING:` never run, so they cannot make an import-order cycle.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (move the code to the layer it belongs to):\n" + "\n".join(
        _describe(graph, cycle, inside) for cycle, inside in cycles)


def test_the_cycle_search_finds_a_cycle_inside_a_layer():
    graph = grimp.ImportGraph()
    for module in ("app", "app.a", "app.b", "app.c", "app.d"):
        graph.add_module(module)
    graph.add_import(importer="app.a", imported="app.b")
    graph.add_import(importer="app.b", imported="app.c")
    graph.add_import(importer="app.c", imported="app.a")
    graph.add_import(importer="app.d", imported="app.a")
    assert import_cycles(graph) == [(["app.a", "app.b", "app.c", "app.a"],
                                     [("app.a", "app.b"), ("app.b", "app.c"), ("app.c", "app.a")])]
