"""The learned inferencer: a small model with a classification head over 90 dimensions x 3 poles.

One forward pass reads an item and answers every dimension at once: the head's 270 logits are 90
three-way softmaxes (negative, neutral, positive). The folder is a transformers
sequence-classification model plus `inferencer.json`, which marks it as ours and fingerprints the
weights so cached answers of an older training are never reused. `alignx annotate train` writes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignx.annotate.base import Annotation, AnnotatorError, Item
from alignx.records import Choice, Comment
from alignx.space import N_DIMENSIONS

MANIFEST = "inferencer.json"
FORMAT = "alignx-inferencer"
FORMAT_VERSION = 1
CLASSES = (0.0, 0.5, 1.0)  # class k of a dimension's softmax is the direction value CLASSES[k]
N_CLASSES = len(CLASSES)
NEUTRAL_CLASS = CLASSES.index(0.5)
DEFAULT_MAX_LENGTH = 512
COMMENT_QUESTION = "Which preferences does the comment show?"
CHOICE_QUESTION = "Which preferences explain choosing the chosen response over the rejected one?"


def item_text(item: Item) -> str:
    """What the inferencer reads: the post, the comment or the chosen and rejected responses, then a question.

    The head reads the last token; ending on the question makes that a position that looks back over the
    whole item rather than the end of the last response."""
    if isinstance(item, Comment):
        return f"Post:\n{item.prompt}\n\nComment:\n{item.comment}\n\n{COMMENT_QUESTION}"
    return f"Post:\n{item.prompt}\n\nChosen:\n{item.chosen}\n\nRejected:\n{item.rejected}\n\n{CHOICE_QUESTION}"


def swap(choice: Choice) -> Choice:
    """The same choice read the other way round (what the opposite poles explain)."""
    return Choice(choice.prompt, choice.rejected, choice.chosen)


def class_of(value: float) -> int:
    return CLASSES.index(float(value))


def weights_fingerprint(folder: Path) -> str:
    """sha256 over the weight files, so a retrained folder is a new identity."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")):
        digest.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def write_manifest(folder: Path, **extra: Any) -> dict[str, Any]:
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "dimensions": N_DIMENSIONS, "classes": list(CLASSES),
                "weights": weights_fingerprint(folder), **extra}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path, spec: str) -> dict[str, Any]:
    """The folder's manifest; AnnotatorError (naming the spec) when the folder is not an inferencer."""
    if not folder.is_dir():
        raise AnnotatorError(f"{spec}: no such folder {folder}")
    path = folder / MANIFEST
    if not path.is_file():
        raise AnnotatorError(f"{spec}: {folder} is not an inferencer folder (no {MANIFEST}); "
                             "train one with `alignx annotate train --data D --output DIR`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise AnnotatorError(f"{spec}: {path} is not valid JSON ({e.msg})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise AnnotatorError(f"{spec}: {path} is not a version-{FORMAT_VERSION} {FORMAT} manifest")
    return manifest


@dataclass
class LocalInferencer:
    """`local:DIR`: annotate with a trained inferencer, offline, in batches."""

    spec: str
    folder: Path
    manifest: dict[str, Any]
    model: Any
    tokenizer: Any
    batch_size: int = 16
    can_describe = False

    @classmethod
    def load(cls, folder: str | Path, *, spec: str | None = None, device: str | None = None,
             dtype: str | None = None, batch_size: int = 16) -> LocalInferencer:
        """Load `folder` (AnnotatorError when it is not an inferencer); `dtype` defaults to bf16 where the
        hardware multiplies it natively (the demo figures move by 0.002 macro-F1), else fp32."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from alignx.models import hardware_dtype, pick_device, pick_dtype, use_all_cores

        folder = Path(folder).expanduser()
        spec = spec or f"local:{folder}"
        manifest = read_manifest(folder, spec)
        dev = pick_device(device)
        if dev.type == "cpu":
            use_all_cores()
        torch_dtype = pick_dtype(dev, dtype or hardware_dtype())
        try:
            model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch_dtype)
            tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as e:
            raise AnnotatorError(f"{spec}: cannot load the inferencer in {folder}: {e}") from None
        if model.config.num_labels != N_DIMENSIONS * N_CLASSES:
            raise AnnotatorError(f"{spec}: the model in {folder} has {model.config.num_labels} labels, "
                                 f"not {N_DIMENSIONS * N_CLASSES}")
        tokenizer.truncation_side = "left"  # keep the responses, cut the start of a long post
        return cls(spec, folder, manifest, model.to(dev).eval(), tokenizer, batch_size)

    @property
    def identity(self) -> str:
        dtype = str(self.model.dtype).removeprefix("torch.")
        return (f"local:{self.manifest['weights']}" + ("+both-ways" if self.reads_both_ways else "")
                + ("" if dtype == "float32" else f"+{dtype}"))

    @property
    def max_length(self) -> int:
        return int(self.manifest.get("max_length", DEFAULT_MAX_LENGTH))

    @property
    def reads_both_ways(self) -> bool:
        """Whether a choice is also read with its responses swapped (inferencers trained on mirrored pairs)."""
        return bool(self.manifest.get("mirror_pairs", False))

    def probabilities(self, items: Sequence[Item]):
        """(len(items), 90, 3) softmax probabilities, as a torch tensor on the CPU.

        An inferencer trained on mirrored pairs also reads each choice the other way round and averages
        the two readings, the swapped one with its poles exchanged: the answer cannot then depend on
        which response happens to come first in the text, only on which one was chosen."""
        swapped = [i for i, item in enumerate(items) if isinstance(item, Choice)] if self.reads_both_ways else []
        texts = [item_text(i) for i in items] + [item_text(swap(items[i])) for i in swapped]
        probs = self._forward(texts)
        if swapped:
            both = probs[: len(items)]
            both[swapped] = (both[swapped] + probs[len(items):].flip(-1)) / 2
            probs = both
        return probs

    def _forward(self, texts: list[str]):
        import torch

        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt").to(self.model.device)
        with torch.inference_mode():
            logits = self.model(**encoded).logits.float()
        return logits.view(len(texts), N_DIMENSIONS, N_CLASSES).softmax(-1).cpu()

    def annotate(self, items: Sequence[Item]) -> Iterator[tuple[int, Annotation]]:
        # Similar lengths share a batch, so little of each batch is padding.
        order = sorted(range(len(items)), key=lambda i: len(item_text(items[i])))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            probs = self.probabilities([items[i] for i in chunk])
            confidence, classes = probs.max(-1)
            for row, index in enumerate(chunk):
                direction = tuple(CLASSES[k] for k in classes[row].tolist())
                yield index, Annotation(direction, tuple(round(p, 4) for p in confidence[row].tolist()))

    def describe(self, items: Sequence[Item]) -> str:
        raise AnnotatorError(f"{self.spec}: this annotator answers directions only and cannot write "
                             "demographic text; --describe needs an openai:MODEL annotator")

    def close(self) -> None:
        self.model = None
