"""The Table-3-shaped report: rows = models, columns = benchmark × persona, each cell its accuracy (%), bootstrap
95% interval and n, and an exact McNemar test of every row against the baseline row on the same examples.
`build_table` works on the cells' JSON reports alone, so scored and reused cells go the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignx.atomic import atomic_write, write_json
from alignx.eval.stats import ALPHA, paired_test
from alignx.report.spec import Cell, ReportSpec

BETTER, WORSE = "†", "‡"
TEST = ("exact McNemar test (two-sided binomial on the discordant pairs) of each row against the baseline row "
        "on the same examples")
FOOTER = (f"Accuracy in %, [bootstrap 95% interval]. {BETTER} / {WORSE}: significantly better / worse than the "
          f"baseline row at p < {ALPHA} ({TEST}); the paper marked significance with a paired t-test. "
          "– : not evaluated for this row.")


def paired(row: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The paired test of one cell's report against the baseline's cell in the same column."""
    a, b = row["examples"], baseline["examples"]
    if len(a) != len(b):
        return {"comparable": False, "reason": f"n differs ({len(a)} vs baseline {len(b)})"}
    for x, y in zip(a, b, strict=True):
        if (x["chosen"], x["rejected"]) != (y["chosen"], y["rejected"]):
            return {"comparable": False, "reason": f"example {x['index']} differs from the baseline's"}
    test = paired_test([x["correct"] for x in a], [y["correct"] for y in b])
    mark = (BETTER if test["better"] > test["worse"] else WORSE) if test["significant"] else ""
    return {"comparable": True, **test, "mark": mark}


def build_table(spec: ReportSpec, cells: list[Cell], reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """table.json: columns, and per row its cells (None where the row has no such cell) with the paired test."""
    columns = [{"benchmark": c.name, "persona": p, "data": c.data, "split": c.split, "limit": c.limit}
               for c in spec.columns for p in c.personas]
    by_key = {(cell.row.name, cell.column.name, cell.persona): cell for cell in cells}
    rows = []
    for row in spec.rows:
        out = []
        for col in columns:
            cell = by_key.get((row.name, col["benchmark"], col["persona"]))
            if cell is None or cell.file not in reports:
                out.append(None)
                continue
            report = reports[cell.file]
            entry = {"accuracy": round(100 * report["accuracy"], 2),
                     "ci95": [round(100 * v, 2) for v in report["ci95"]],
                     "n": report["n"], "file": f"cells/{cell.file}",
                     "reference_model": report["settings"].get("reference_model")}
            base = by_key.get((spec.baseline, col["benchmark"], col["persona"]))
            if row.name == spec.baseline:
                entry["vs_baseline"] = None
            elif base is None or base.file not in reports:
                entry["vs_baseline"] = {"comparable": False, "reason": "the baseline row has no such cell"}
            else:
                entry["vs_baseline"] = paired(report, reports[base.file])
            out.append(entry)
        rows.append({"name": row.name, "model": row.model, "reward": row.reward, "reference": row.reference,
                     "prompt": row.prompt, "cells": out})
    return {"title": spec.title, "spec": spec.path, "baseline": spec.baseline, "alpha": ALPHA, "test": TEST,
            "marks": {BETTER: "better than the baseline", WORSE: "worse than the baseline"},
            "dtype": spec.dtype, "beta": spec.beta, "bootstrap": spec.bootstrap, "seed": spec.seed,
            "columns": columns, "rows": rows}


def shared_n(table: dict[str, Any], k: int) -> int | None:
    """The n every filled cell of column k shares (shown once in its header), else None."""
    ns = {row["cells"][k]["n"] for row in table["rows"] if row["cells"][k] is not None}
    return ns.pop() if len(ns) == 1 else None


def column_label(table: dict[str, Any], k: int, sep: str = " · ") -> str:
    col = table["columns"][k]
    n = shared_n(table, k)
    return f"{col['benchmark']}{sep}{col['persona']}" + (f" (n={n})" if n is not None else "")


def cell_text(table: dict[str, Any], k: int, entry: dict[str, Any] | None, sep: str = " ") -> str:
    if entry is None:
        return "–"
    low, high = entry["ci95"]
    mark = (entry["vs_baseline"] or {}).get("mark", "")
    n = "" if shared_n(table, k) is not None else f" n={entry['n']}"
    return f"{entry['accuracy']:.2f}{mark}{sep}[{low:.1f}–{high:.1f}]{n}"


def paired_text(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "–"
    test = entry["vs_baseline"]
    if test is None:
        return "baseline"
    if not test["comparable"]:
        return f"n/c: {test['reason']}"
    return f"p={test['p']:.3g} (+{test['better']}/−{test['worse']}){test['mark']}"


def render_markdown(table: dict[str, Any]) -> str:
    k_all = range(len(table["columns"]))
    header = ["model", *(column_label(table, k) for k in k_all)]

    def md(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [f"# {table['title']}", "", md(header), md(["---"] + ["---:"] * len(table["columns"]))]
    lines += [md([row["name"], *(cell_text(table, k, row["cells"][k]) for k in k_all)]) for row in table["rows"]]
    lines += ["", FOOTER, "", f"## Paired test against the baseline ({table['baseline']})", "",
              "p: exact McNemar p-value; +b/−c: examples only this row / only the baseline gets right.", "",
              md(header), md(["---"] * (1 + len(table["columns"])))]
    lines += [md([row["name"], *(paired_text(row["cells"][k]) for k in k_all)]) for row in table["rows"]]
    lines += ["", "## Rows", ""]
    lines += [f"- **{r['name']}**: model `{r['model']}`, reward {r['reward']}, reference {r['reference']}"
              + (f", prompt {r['prompt']}" if r["prompt"] else "") for r in table["rows"]]
    return "\n".join(lines) + "\n"


def rich_table(table: dict[str, Any]):
    """The terminal's copy of table.md's first table (print FOOTER after it)."""
    from rich.table import Table
    from rich.text import Text

    out = Table(title=Text(table["title"]))
    out.add_column("model", no_wrap=True)
    for k in range(len(table["columns"])):
        out.add_column(Text(column_label(table, k, sep="\n")), justify="right")
    for row in table["rows"]:
        out.add_row(Text(row["name"]), *(Text(cell_text(table, k, row["cells"][k], sep="\n"))
                                         for k in range(len(table["columns"]))))
    return out


def write_table(table: dict[str, Any], folder: str | Path) -> None:
    write_json(Path(folder) / "table.json", table)
    with atomic_write(Path(folder) / "table.md") as tmp:
        tmp.write_text(render_markdown(table), encoding="utf-8")
