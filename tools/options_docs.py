"""Rewrite the options tables of docs pages in place: `python tools/options_docs.py docs/*.md`.

A `<!-- options:NAME -->` ... `<!-- /options:NAME -->` block gets the table of the command NAME, generated from
its config dataclass (alignx.options). It lives here, not in the library, because it must import the CLI to
register every command, and no library module imports the CLI. tests/test_options.py checks the tables are
current.
"""

from __future__ import annotations

import sys
from pathlib import Path

import alignx.cli  # noqa: F401  (registers the commands)
from alignx.options import render_docs


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        text = path.read_text()
        if (new := render_docs(text)) != text:
            path.write_text(new)
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
