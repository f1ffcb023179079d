"""Benchmark registry: the demo set and the four published AlignX benchmarks.

`--data NAME` resolves here first (with aliases and "did you mean"); anything else is a
file, folder or hub dataset id handled by `alignx.records`. Published benchmarks load
through the Hugging Face hub into a local cache folder, so a second run works offline.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alignx.personas import Persona
from alignx.records import Record, iter_records

P = Persona
ALL_PERSONAS = (P.UGC, P.PAIR, P.DEMO, P.PROFILE, P.ALL, P.NONE)
HISTORY_PERSONAS = (P.PAIR, P.PROFILE, P.NONE)  # benchmarks whose users are known by choices and a profile


@dataclass(frozen=True)
class Benchmark:
    """One evaluation set. Either a hub dataset (`dataset`) or JSON files under `folder` of hub repo `repo`."""

    name: str
    description: str
    personas: tuple[Persona, ...]
    aliases: tuple[str, ...] = ()
    dataset: str | None = None  # a hub dataset id read with `datasets`
    default_split: str = "test"
    repo: str | None = None  # a hub dataset repo holding raw JSON files
    folder: str | None = None  # folder inside `repo`
    files: tuple[str, ...] = field(default=())  # the files in `folder`; empty: every *.json there

    def iter_records(self, split: str | None = None) -> Iterator[Record]:
        if self.name == "demo":
            yield from iter_records("demo", split or self.default_split)
        elif self.dataset is not None:
            yield from iter_records(self.dataset, split or self.default_split)
        else:
            for path in self.local_files():
                yield from iter_records(path)

    def local_files(self) -> list[Path]:
        """The benchmark's JSON files: under $ALIGNX_BENCHMARK_ROOT (a clone of the repo) or the hub cache."""
        root = os.environ.get("ALIGNX_BENCHMARK_ROOT")
        if root:
            folder = Path(root) / self.folder
        else:
            from huggingface_hub import snapshot_download

            patterns = [f"{self.folder}/{name}" for name in self.files] or [f"{self.folder}/*.json"]
            snapshot = snapshot_download(self.repo, repo_type="dataset", allow_patterns=patterns,
                                         cache_dir=benchmark_cache())
            folder = Path(snapshot) / self.folder
        paths = [folder / name for name in self.files] if self.files else sorted(folder.glob("*.json"))
        missing = [str(p) for p in paths if not p.is_file()]
        if missing or not paths:
            raise FileNotFoundError(f"benchmark {self.name}: missing {', '.join(missing) or f'{folder}/*.json'}")
        return paths


def benchmark_cache() -> str:
    from alignx.models import cache_dir

    return str(cache_dir() / "benchmarks")


REGISTRY: dict[str, Benchmark] = {}


def register(benchmark: Benchmark) -> None:
    for key in (benchmark.name, *benchmark.aliases):
        if key in REGISTRY:
            raise ValueError(f"benchmark name {key!r} is registered twice")
        REGISTRY[key] = benchmark


register(Benchmark(
    name="demo",
    description="alignx's own demo set: 168 records over 8 dimensions, splits train (72) / test (96, persona-contrast)",
    personas=ALL_PERSONAS,
))
register(Benchmark(
    name="alignx-test",
    description="AlignX-test: held-out AlignX users with UGC, PAIR, DEMO and item directions",
    personas=ALL_PERSONAS,
    aliases=("alignx_test", "AlignX-test"),
    dataset="JinaLeejnl/AlignX-test",
))
register(Benchmark(
    name="p-soups",
    description="P-Soups: 3 preference axes, 4 pairs and a rendered profile per user",
    personas=HISTORY_PERSONAS,
    aliases=("psoups", "P-Soups"),
    repo="JinaLeejnl/AlignX",
    folder="benchmark/P-Soups",
))
register(Benchmark(
    name="prism",
    description="PRISM: real users' choices between model responses",
    personas=HISTORY_PERSONAS,
    aliases=("PRISM",),
    repo="JinaLeejnl/AlignX",
    folder="benchmark",
    files=("PRISM.json",),
))
register(Benchmark(
    name="uf-p-4",
    description="UF-P-4: UltraFeedback with 4 users (helpfulness, honesty, instruction following, truthfulness)",
    personas=HISTORY_PERSONAS,
    aliases=("ufp4", "UF-P-4"),
    repo="JinaLeejnl/AlignX",
    folder="benchmark/UF-P-4",
    files=("helpfulness.json", "honesty.json", "instruction_following.json", "truthfulness.json"),
))


def get(name: str) -> Benchmark:
    """The registered benchmark `name`; KeyError with the closest names when unknown."""
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(name, REGISTRY, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(names())}"
    raise KeyError(f"unknown benchmark {name!r}{hint}")


def names() -> list[str]:
    return sorted({b.name for b in REGISTRY.values()})


def is_registered(name: str) -> bool:
    return name in REGISTRY


def load(data: str, split: str | None = None, limit: int | None = None) -> list[Record]:
    """Records of a registered benchmark, or of a file / folder / hub dataset id."""
    source = REGISTRY[data].iter_records(split) if is_registered(data) else iter_records(data, split)
    out: list[Record] = []
    for record in source:
        if limit is not None and len(out) >= limit:
            break
        out.append(record)
    return out
