"""`alignx validate` and `alignx profile`: read every record of --data and report on each one.

Their options are the fields of `ValidateConfig` and `ProfileConfig` (alignx.options); the bodies stay in
alignx.cli, where exit codes and one-line errors live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DATA_HELP = "A registered name (demo, alignx-test, ...), a .json/.jsonl/.parquet file, a folder or a hub dataset id."


@dataclass(kw_only=True)
class DataSettings:
    """The records a command reads: --data and its --split."""

    data: str = field(metadata={"help": DATA_HELP})
    split: str | None = field(default=None, metadata={
        "help": "Split to read.", "default_text": "the data's only split, else test"})


@dataclass(kw_only=True)
class ValidateConfig(DataSettings):
    """`alignx validate`."""

    all: bool = field(default=False, metadata={"help": "Report every bad record, not only the first."})


@dataclass(kw_only=True)
class ProfileConfig(DataSettings):
    """`alignx profile`."""

    json: bool = field(default=False, metadata={"help": 'One {"index", "profile"} object per line.'})
