"""The shape of src/alignx, as issue 21 set it: `python tools/structure.py` prints the longest module and
function and every import cycle, and exits 1 when a module is over 400 lines, a function over 60, a
library module reaches `alignx.cli`, or modules import each other in a cycle.

Imports are read from the source (ast), at every depth: an import inside a function counts like one at the
top, so a cycle cannot hide behind a lazy import. `alignx.__main__` (the console entry) is the one module
allowed to import the CLI.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60
CLI, ENTRY = "alignx.cli", "alignx.__main__"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module under root/alignx."""
    out = {}
    for path in sorted((root / "alignx").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The alignx modules `name` imports, at any depth of its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `from m import attr`: the module m
                target = target.rpartition(".")[0]
            if target and target != name and target != "alignx":
                found.add(target)
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = modules(root)
    return {name: imports(name, path, set(files)) for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def reaches(edges: dict[str, set[str]], start: str, target: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for w in edges.get(todo.pop(), ()):
            if w == target:
                return True
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return False


def longest_functions(path: Path) -> list[tuple[int, str]]:
    """(lines, qualified name) of every function and method in `path`."""
    out = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((child.end_lineno - child.lineno + 1, f"{prefix}{child.name}"))
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")

    walk(ast.parse(path.read_text()), "")
    return out


def problems(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(what breaks a rule, what the figures are)."""
    files = modules(root)
    edges = graph(root)
    sizes = sorted((len(path.read_text().splitlines()), name) for name, path in files.items())
    functions = sorted((n, f"{name}.{fn}") for name, path in files.items() for n, fn in longest_functions(path))
    bad = [f"module {name}: {n} lines (over {MAX_MODULE_LINES})" for n, name in sizes if n > MAX_MODULE_LINES]
    bad += [f"function {fn}: {n} lines (over {MAX_FUNCTION_LINES})" for n, fn in functions if n > MAX_FUNCTION_LINES]
    bad += [f"{name} reaches {CLI}" for name in edges if name not in (CLI, ENTRY) and reaches(edges, name, CLI)]
    bad += [f"import cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    figures = [f"longest module: {sizes[-1][1]} ({sizes[-1][0]} lines)",
               f"longest function: {functions[-1][1]} ({functions[-1][0]} lines)",
               f"{len(files)} modules, {sum(map(len, edges.values()))} imports between them, "
               f"{len(cycles(edges))} cycles"]
    return bad, figures


def main() -> int:
    bad, figures = problems()
    print("\n".join(figures + bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
