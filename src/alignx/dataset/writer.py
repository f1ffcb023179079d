"""Writing a built dataset: one JSONL or Parquet file per split, in the AlignX record layout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from alignx.records import CHOSEN, COMMENT, DEMOGRAPHIC, DIRECTION, PAIR, PROMPT, REJECTED, UGC, Record

USER_ID = "user_id"
_DIRECTION = pa.list_(pa.float64())
RECORD_SCHEMA = pa.schema([
    (PROMPT, pa.string()), (CHOSEN, pa.string()), (REJECTED, pa.string()), (DIRECTION, _DIRECTION),
    (DEMOGRAPHIC, pa.string()),
    (UGC, pa.list_(pa.struct([(PROMPT, pa.string()), (COMMENT, pa.string()), (DIRECTION, _DIRECTION)]))),
    (PAIR, pa.list_(pa.struct([(PROMPT, pa.string()), (CHOSEN, pa.string()), (REJECTED, pa.string()),
                               (DIRECTION, _DIRECTION)]))),
    (USER_ID, pa.string()),
])


class Writer:
    """One output file per split, opened on its first record (a split without records has no file)."""

    def __init__(self, folder: Path, fmt: str):
        self.folder, self.format = folder, fmt
        self.files: dict[str, Any] = {}

    def _file(self, split: str):
        if split not in self.files:
            path = self.folder / f"{split}.{self.format}"
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self.files[split] = pq.ParquetWriter(path, RECORD_SCHEMA)
            else:
                self.files[split] = open(path, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
        return self.files[split]

    def write_lines(self, split: str, lines: Sequence[str]) -> None:
        if lines:
            self._file(split).writelines(lines)

    def write_records(self, rows: Sequence[tuple[str, Record]]) -> None:
        by_split: dict[str, list[dict]] = {}
        for split, record in rows:
            by_split.setdefault(split, []).append(record.to_dict())
        for split, dicts in by_split.items():
            if self.format == "parquet":
                self._file(split).write_table(pa.Table.from_pylist(dicts, schema=RECORD_SCHEMA))
            else:
                self._file(split).writelines(
                    json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in dicts)

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()
