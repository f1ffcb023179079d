"""The shipped demo set: tools/build_demo_data.py regenerates it byte for byte from tools/demo_data/pools.json."""

import importlib.util
from pathlib import Path

import pytest

from alignx.records import demo_path

GENERATOR = Path(__file__).resolve().parent.parent / "tools" / "build_demo_data.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("build_demo_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("split", ["train", "test"])
def test_generator_rebuilds_the_shipped_files_byte_for_byte(tmp_path, split):
    load_generator().main(["--out-dir", str(tmp_path)])
    assert (tmp_path / f"{split}.jsonl").read_bytes() == demo_path(split).read_bytes()
