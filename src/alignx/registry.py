"""The data registry: names for the demo set, the four published AlignX benchmarks and PrefEval.

`--data NAME` resolves here first (with aliases and "did you mean"); a folder laid out like the PrefEval
repository is read by `alignx.prefeval`; anything else is a file, folder or hub dataset id read by
`alignx.records`. Published AlignX benchmarks load through the Hugging Face hub into a local cache folder,
so a second run works offline; PrefEval reads a local checkout.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from alignx import prefeval
from alignx.errors import InputNotFound, OptionError
from alignx.personas import Persona
from alignx.records import Record, iter_records
from alignx.sources import EVAL_SPLIT, resolve_input

P = Persona
ALL_PERSONAS = (P.UGC, P.PAIR, P.DEMO, P.PROFILE, P.ALL, P.NONE)
HISTORY_PERSONAS = (P.PAIR, P.PROFILE, P.NONE)  # benchmarks whose users are known by choices and a profile
PREFEVAL_PERSONAS = (P.UGC, P.PAIR, P.DEMO, P.STATED, P.ALL, P.NONE)


@dataclass(frozen=True)
class Benchmark:
    """One evaluation set. Either a hub dataset (`dataset`) or JSON files under `folder` of hub repo `repo`."""

    name: str
    description: str
    personas: tuple[Persona, ...]
    aliases: tuple[str, ...] = ()
    dataset: str | None = None  # a hub dataset id, or a local folder of split files, read by alignx.records
    repo: str | None = None  # a hub dataset repo holding raw JSON files
    folder: str | None = None  # folder inside `repo`
    files: tuple[str, ...] = field(default=())  # the files in `folder`; empty: every *.json there
    checkout: Callable[[], Path] | None = None  # a local checkout read by alignx.prefeval (topics as splits)

    def iter_records(self, split: str | None = None, *, default_split: str = EVAL_SPLIT) -> Iterator[Record]:
        if self.checkout is not None:
            yield from prefeval.iter_prefeval(self.checkout(), split)
            return
        if self.dataset is not None:
            yield from iter_records(self.dataset, split, default_split=default_split)
            return
        if split is not None:
            raise OptionError(f"benchmark {self.name} has no splits; leave --split out")
        for path in self.local_files():
            yield from iter_records(path)

    def local_files(self) -> list[Path]:
        """The benchmark's JSON files: under $ALIGNX_BENCHMARK_ROOT (a clone of the repo) or the hub cache."""
        root = os.environ.get("ALIGNX_BENCHMARK_ROOT")
        if root:
            folder = Path(root) / self.folder
        else:
            from huggingface_hub import snapshot_download

            from alignx.hub import hub_errors

            patterns = [f"{self.folder}/{name}" for name in self.files] or [f"{self.folder}/*.json"]
            with hub_errors(f"benchmark {self.name} in dataset", self.repo, repo_type="dataset"):
                snapshot = snapshot_download(self.repo, repo_type="dataset", allow_patterns=patterns,
                                             cache_dir=benchmark_cache())
            folder = Path(snapshot) / self.folder
        paths = [folder / name for name in self.files] if self.files else sorted(folder.glob("*.json"))
        missing = [str(p) for p in paths if not p.is_file()]
        if missing or not paths:
            raise InputNotFound(f"benchmark {self.name}: missing {', '.join(missing) or f'{folder}/*.json'}")
        return paths


def benchmark_cache() -> str:
    from alignx.models import cache_dir

    return str(cache_dir() / "benchmarks")


REGISTRY: dict[str, Benchmark] = {}


def register(benchmark: Benchmark) -> None:
    for key in (benchmark.name, *benchmark.aliases):
        if key in REGISTRY:
            raise ValueError(f"benchmark name {key!r} is registered twice")  # a bug in the code, not input
        REGISTRY[key] = benchmark


def packaged(name: str) -> str:
    """The folder of a data set shipped inside the package (its split files sit in it)."""
    return str(resources.files("alignx.data").joinpath(name))


register(Benchmark(
    name="demo",
    description="alignx's own demo set: 168 records over 8 dimensions, splits train (72) / test (96, persona-contrast)",
    personas=ALL_PERSONAS,
    dataset=packaged("demo"),
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
    description="P-Soups: 3 preference axes, 4 pairs, a rendered profile and the stated preference per user",
    personas=(*HISTORY_PERSONAS, P.STATED),
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


register(Benchmark(
    name="prefeval",
    description="PrefEval: real preferences (stated, choice-based, persona-driven conversations) and four answers "
                "per question, from a local checkout ($ALIGNX_PREFEVAL_ROOT); --split picks topics",
    personas=PREFEVAL_PERSONAS,
    aliases=("PrefEval",),
    checkout=prefeval.root,
))


def get(name: str) -> Benchmark:
    """The registered benchmark `name`; OptionError with the closest names when unknown."""
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(name, REGISTRY, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(names())}"
    raise OptionError(f"unknown benchmark {name!r}{hint}")


def names() -> list[str]:
    return sorted({b.name for b in REGISTRY.values()})


def is_registered(name: str) -> bool:
    return name in REGISTRY


def iter_data(data: str | os.PathLike, split: str | None = None, *,
              default_split: str = EVAL_SPLIT) -> Iterator[Record]:
    """Records of a registered name, or of a file / folder / hub dataset id; `split` by the one rule
    of `alignx.records.choose_split` (`default_split`: the command's own, test for evaluation)."""
    if is_registered(str(data)):
        return REGISTRY[str(data)].iter_records(split, default_split=default_split)
    if prefeval.is_checkout(data):
        return prefeval.iter_prefeval(data, split)
    return iter_records(data, split, default_split=default_split)


def is_checkout(data: str | os.PathLike) -> bool:
    """Whether `data` is read from a benchmark repository's checkout (PrefEval), not from record files."""
    return (is_registered(str(data)) and REGISTRY[str(data)].checkout is not None) or prefeval.is_checkout(data)


def source(data: str | os.PathLike) -> str | os.PathLike:
    """What `alignx.records` reads for `data`: a registered name's dataset (or folder), else `data` itself."""
    if not is_registered(str(data)):
        return data
    benchmark = REGISTRY[str(data)]
    if benchmark.dataset is None:
        raise OptionError(f"benchmark {benchmark.name} is a set of JSON files; name one of them: "
                          f"{', '.join(str(p) for p in benchmark.local_files())}")
    return benchmark.dataset


def data_key(data: str | os.PathLike, split: str | None = None, *, default_split: str = EVAL_SPLIT) -> str:
    """Identifies the data `iter_data` reads with these arguments (for caches keyed on it)."""
    if is_checkout(data):
        root = REGISTRY[str(data)].checkout() if is_registered(str(data)) else Path(data).expanduser()
        files = sorted((root / "benchmark_dataset").rglob("*.json"))
        return ";".join([f"topics={split}", *(resolve_input(path).key for path in files)])
    if is_registered(str(data)):
        benchmark = REGISTRY[str(data)]
        if benchmark.dataset is None:
            return ";".join(resolve_input(path).key for path in benchmark.local_files())
        data = benchmark.dataset
    return resolve_input(data, split, default_split=default_split).key


def load(data: str, split: str | None = None, limit: int | None = None, *,
         default_split: str = EVAL_SPLIT) -> list[Record]:
    """The first `limit` records of `iter_data` (all when None) as a list."""
    out: list[Record] = []
    for record in iter_data(data, split, default_split=default_split):
        if limit is not None and len(out) >= limit:
            break
        out.append(record)
    return out
