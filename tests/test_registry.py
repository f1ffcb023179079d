import json

import pytest
from conftest import make_record

from alignx import registry
from alignx.errors import InputNotFound, OptionError
from alignx.personas import Persona


def test_registry_names_aliases_and_suggestions():
    assert registry.names() == ["alignx-test", "demo", "p-soups", "prefeval", "prism", "uf-p-4"]
    assert registry.get("P-Soups") is registry.get("p-soups")
    assert Persona.UGC not in registry.get("p-soups").personas
    with pytest.raises(OptionError, match="did you mean p-soups"):
        registry.get("p-soup")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(registry.Benchmark(name="demo", description="", personas=()))


def psoups_row(i: int) -> dict:
    return {"prompt": f"Explain gravity ({i})", "chosen": "Simple words.", "rejected": "Tensor calculus.",
            "ground_truth_persona": "student", "profile": "Concise communication style",
            "Pair-wise Comparative Feedback": [{"prompt": "q", "chosen": "a", "rejected": "b"}] * 4}


def test_json_benchmark_through_the_hub_code_path(tmp_path, monkeypatch):
    """A hub cache laid out as huggingface_hub writes it, read offline through snapshot_download."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ALIGNX_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    repo = cache / "benchmarks" / "datasets--JinaLeejnl--AlignX"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    folder = repo / "snapshots" / commit / "benchmark" / "P-Soups"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps([psoups_row(0), psoups_row(1)]))
    (folder / "b.json").write_text(json.dumps([psoups_row(2)]))
    records = registry.load("p-soups")
    assert [r.prompt for r in records] == [f"Explain gravity ({i})" for i in range(3)]
    assert records[0].profile == "Concise communication style" and len(records[0].pairs) == 4
    assert registry.load("p-soups", limit=2)[-1].prompt == "Explain gravity (1)"


def test_benchmark_root_override_and_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNX_BENCHMARK_ROOT", str(tmp_path))
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "PRISM.json").write_text(json.dumps([make_record(0)]))
    assert len(registry.load("prism")) == 1
    with pytest.raises(InputNotFound, match="benchmark uf-p-4: missing .*helpfulness.json"):
        registry.load("uf-p-4")


def test_alignx_test_reads_a_hub_dataset_folder(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "JinaLeejnl" / "AlignX-test"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([make_record(i) for i in range(2)]), folder / "data" / "test-00000.parquet")
    bench = registry.Benchmark(name="local-alignx-test", description="", personas=registry.ALL_PERSONAS,
                                 dataset=str(folder))
    assert [r.prompt for r in bench.iter_records()] == [make_record(i)["prompt"] for i in range(2)]
