"""The tree keeps the shape tools/structure.py checks: short modules and functions, no import cycle, and no
library module that reaches the CLI. The checker itself is tested on a small tree that breaks each rule."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import structure  # noqa: E402


def test_the_library_keeps_its_shape():
    bad, _ = structure.problems()
    assert bad == []


def test_the_checker_finds_cycles_cli_imports_and_long_code(tmp_path):
    pkg = tmp_path / "alignx"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from alignx.sub import b  # a lazy import still counts\n")
    (pkg / "sub" / "b.py").write_text("from .. import a\nfrom alignx.cli import app\n")
    (pkg / "long.py").write_text("def g():\n" + "    x = 1\n" * 70 + "\n" * 340)
    bad, figures = structure.problems(tmp_path)
    assert "import cycle: alignx.a <-> alignx.sub.b" in bad
    assert {"alignx.a reaches alignx.cli", "alignx.sub.b reaches alignx.cli"} <= set(bad)
    assert "function alignx.long.g: 71 lines (over 60)" in bad
    assert "module alignx.long: 411 lines (over 400)" in bad
    assert figures[0] == "longest module: alignx.long (411 lines)"
