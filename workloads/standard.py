"""The models people deploy, with their published shapes and seeded random weights: transformers' own model
definitions (ResNet-50 v1.5, MobileNet v1 and v2, ViT-B/16, BERT base and large, a Llama-2-7B-shaped decoder),
nothing downloaded. Each is wrapped as one tensor in, one tensor out (logits, an embedding), so capture, export and
the cost model see a plain model.

Built under `torch._subclasses.FakeTensorMode` (devices/simulated/graph.py `fake_capture`), a model has shapes and
dtypes and no weight is allocated, so a 7B-parameter model's operator graph captures on a laptop; transformers sees
fake tensors and skips its data-dependent checks. transformers is one of the project's dependencies.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, ClassVar

import torch
from torch import nn

from accelbench.data import Dataset, Split
from workloads.base import Workload, WorkloadUnavailable

PHASES = ("prefill", "decode")
INIT = "transformers.initialization"  # its no_init_weights(): build a model without running its initializers


class ImportNoise(logging.Filter):
    """Drops the lines that building a transformers model prints through torchao, a dependency it imports when
    present: torchao's extension libraries built for other platforms (CUDA sm90a kernels, a CPython 3.10 build)
    failing to load, and torch's deprecation notice for torchao's enum registrations. Neither touches a standard
    model; every other record of either logger passes."""

    LOGGERS = ("torchao", "torch.utils._pytree")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        failed_extension = message.startswith("Failed to load ") and "torchao" in message and "_C" in message
        return not (failed_extension or "is an Enum subclass and is now natively supported" in message)


QUIET = ImportNoise()


def _transformers():
    for name in ImportNoise.LOGGERS:  # before transformers first imports torchao (at a model class's first use)
        if QUIET not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(QUIET)
    try:
        import transformers
    except ImportError as exc:
        raise WorkloadUnavailable(
            f"the standard models need transformers, a dependency of the project ({exc}); install it again: make setup"
        ) from None
    return transformers


class ImageLogits(nn.Module):
    """pixels [B, 3, H, W] -> class logits [B, classes]."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pixel_values=x).logits


class MeanEmbedding(nn.Module):
    """token ids [B, L] (every token real) -> the mean of the encoder's last hidden states [B, hidden]."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids=ids).last_hidden_state.mean(dim=1)


class Prefill(nn.Module):
    """prompt ids [B, N] -> the next token's logits [B, vocab] (the language-model head runs on the last position
    only, as generation does)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids=ids, use_cache=False, logits_to_keep=1).logits[:, -1]


def head_dim(config) -> int:
    """A decoder's attention head width: the config's own, else hidden size / heads."""
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


class Decode(nn.Module):
    """One new token per sequence against a key/value cache of `context` tokens: ids [B, 1] -> logits [B, vocab].

    The cache is a static one, as deployed decoders keep it (TensorRT-LLM, vLLM): allocated once for `context` + 1
    tokens (`allocate`, before the call; the first call allocates it otherwise), and each call writes only the new
    token's keys and values into it and attends over all of it. Its content does not change the arithmetic, so every
    call does the same work. (A cache rebuilt inside each call, or one grown by concatenation, would add copies of the
    whole cache that no deployed runtime makes.)"""

    def __init__(self, inner: nn.Module, context: int) -> None:
        super().__init__()
        self.inner, self.context = inner, context
        self.cache = None

    def _dtype_device(self) -> tuple[torch.dtype, torch.device]:
        """Where the keys and values are made: the first attention layer's key projection."""
        weight = self.inner.model.layers[0].self_attn.k_proj.weight
        return weight.dtype, weight.device

    def allocate(self, batch: int) -> None:
        """The cache for `batch` sequences, in the model's dtype and on its device."""
        config = self.inner.config
        dtype, device = self._dtype_device()
        cache = _transformers().StaticCache(config=config, max_cache_len=self.context + 1)
        cache.early_initialization(
            batch_size=batch,
            num_heads=config.num_key_value_heads,
            head_dim=head_dim(config),
            dtype=dtype,
            device=device,
        )
        self.cache = cache

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keys = None if self.cache is None else self.cache.layers[0].keys
        if keys is None or keys.shape[0] != ids.shape[0] or (keys.dtype, keys.device) != self._dtype_device():
            self.allocate(ids.shape[0])  # first call, another batch, or the model moved or was cast since
        for layer in self.cache.layers:  # the cache holds `context` tokens: the new one goes at that position
            layer.cumulative_length.fill_(self.context)
        position = torch.full((ids.shape[0], 1), self.context, dtype=torch.long, device=ids.device)
        out = self.inner(input_ids=ids, cache=self.cache, position_ids=position, use_cache=True)
        return out.logits[:, -1]


@dataclass(frozen=True)
class StandardModel:
    """One standard model: `family` (image, encoder, decoder), its transformers config, and its default input."""

    name: str
    family: str
    config: dict = field(default_factory=dict)
    input_size: int = 224  # image side (image models)
    seq: int = 128  # tokens: the encoder's sequence, the decoder's prompt (prefill) or cache (decode)
    description: str = ""

    def build(
        self,
        seed: int = 0,
        seq: int | None = None,
        phase: str = "prefill",
        dtype: torch.dtype = torch.float32,
        initialize: bool = True,
        layers: int | None = None,
    ) -> nn.Module:
        """The model in eval mode, its float weights in `dtype`, drawn from `seed`. Under a FakeTensorMode (where a
        model cannot be cast after it is made) pass `initialize=False`: the initializers' data-dependent steps
        cannot run on fake tensors, and their values would be fake anyway. `layers`: that many of its identical
        layers instead of its own number (`layers`; a fake capture extends the graph of a few: `stacked`)."""
        config_class, model_class, wrapper = _classes(self.config["kind"])
        settings = {k: v for k, v in self.config.items() if k != "kind"}
        config = config_class(**(settings if layers is None else {**settings, "num_hidden_layers": layers}))
        default = torch.get_default_dtype()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            torch.set_default_dtype(dtype)
            try:
                with contextlib.nullcontext() if initialize else importlib.import_module(INIT).no_init_weights():
                    inner = model_class(config).eval()
            finally:
                torch.set_default_dtype(default)
        if wrapper is not None:
            return wrapper(inner).eval()
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; valid: {', '.join(PHASES)}")
        return (Prefill(inner) if phase == "prefill" else Decode(inner, seq or self.seq)).eval()

    def example(
        self,
        batch: int,
        seq: int | None = None,
        phase: str = "prefill",
        input_size: int | None = None,
        seed: int | None = 0,
    ) -> torch.Tensor:
        """An input batch: pixels for image models, token ids for the others (the decoder's one new token). Random
        from `seed`; zeros with `seed=None` (shapes only, as a fake capture needs)."""
        if self.family == "image":
            side = input_size or self.input_size
            shape = (batch, 3, side, side)
            return (
                torch.zeros(shape)
                if seed is None
                else torch.randn(shape, generator=torch.Generator().manual_seed(seed))
            )
        length = 1 if self.family == "decoder" and phase == "decode" else (seq or self.seq)
        vocab = self.config.get("vocab_size", 30522 if self.config["kind"] == "bert" else 32000)
        if seed is None:
            return torch.zeros((batch, length), dtype=torch.long)
        return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))

    def state_bytes(self, batch: int, dtype: torch.dtype, seq: int | None = None, phase: str = "prefill") -> int:
        """Bytes a call keeps besides weights and operands: the decoder's key/value cache in decode (2 tensors per
        layer of batch x kv heads x context x head dim, in `dtype`); 0 otherwise."""
        if self.family != "decoder" or phase != "decode":
            return 0
        config = _llama_config(tuple(sorted((k, v) for k, v in self.config.items() if k != "kind")))
        per_layer = 2 * batch * config.num_key_value_heads * (seq or self.seq) * head_dim(config)
        return per_layer * config.num_hidden_layers * torch.finfo(dtype).bits // 8

    @property
    def layers(self) -> int | None:
        """How many identical layers the model stacks (transformers' `num_hidden_layers`); None for a model without
        one such stack (a convolutional network's stages differ; a config whose `layer_types` name more than one kind
        of layer)."""
        if self.config["kind"] not in STACKED:
            return None
        config_class = _classes(self.config["kind"])[0]
        config = config_class(**{k: v for k, v in self.config.items() if k != "kind"})
        if len(set(getattr(config, "layer_types", None) or ())) > 1:  # layers of more than one kind: not one stack
            return None
        return config.num_hidden_layers

    def builder(
        self,
        batch: int,
        dtype: torch.dtype = torch.float32,
        seq: int | None = None,
        phase: str = "prefill",
        input_size: int | None = None,
        layers: int | None = None,
    ) -> Callable[[], tuple[nn.Module, torch.Tensor]]:
        """What a fake capture calls: `() -> (model, zero inputs)`, the model's float weights in `dtype` and no
        initializer run (devices/simulated/graph.py `fake_capture`); `layers` as `build`'s."""

        def build() -> tuple[nn.Module, torch.Tensor]:
            net = self.build(seq=seq, phase=phase, dtype=dtype, initialize=False, layers=layers)
            if isinstance(net, Decode):
                net.allocate(batch)  # the key/value cache exists before the call, as in deployed decoding
            x = self.example(batch, seq=seq, phase=phase, input_size=input_size, seed=None)
            return net, x.to(dtype) if x.is_floating_point() else x

        return build

    def stacked(
        self, *args, **kwargs
    ) -> tuple[Callable[[int], Callable[[], tuple[nn.Module, torch.Tensor]]], int] | None:
        """What `fake_capture(self.builder(...), stacked=self.stacked(...))` (the same arguments) needs to capture a
        few of the model's layers and repeat them (devices/simulated/graph.py `stack`): a builder of the same call
        with n layers, and the model's number; None for a model without one stack of identical layers."""
        layers = self.layers
        if layers is None:
            return None
        return (lambda n: self.builder(*args, **kwargs, layers=n)), layers


# the kinds whose layers are one stack of identical blocks (transformers' num_hidden_layers)
STACKED = ("vit", "bert", "llama")


def _classes(kind: str) -> tuple[type, type, type | None]:
    """transformers' config and model classes of a kind of standard model, and the wrapper that makes its call one
    tensor in, one out (None: the decoder's phase picks it)."""
    t = _transformers()
    kinds = {
        "resnet": (t.ResNetConfig, t.ResNetForImageClassification, ImageLogits),
        "mobilenet_v1": (t.MobileNetV1Config, t.MobileNetV1ForImageClassification, ImageLogits),
        "mobilenet_v2": (t.MobileNetV2Config, t.MobileNetV2ForImageClassification, ImageLogits),
        "vit": (t.ViTConfig, t.ViTForImageClassification, ImageLogits),
        "bert": (t.BertConfig, t.BertModel, MeanEmbedding),
        "llama": (t.LlamaConfig, t.LlamaForCausalLM, None),
    }
    return kinds[kind]


@lru_cache(maxsize=8)
def _llama_config(items: tuple):
    """transformers' LlamaConfig of these settings, made once (a config takes milliseconds; the matrix asks 500 times)."""
    return _transformers().LlamaConfig(**dict(items))


_BERT_LARGE = dict(kind="bert", hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
STANDARD: dict[str, StandardModel] = {
    m.name: m
    for m in (
        StandardModel("resnet-50", "image", dict(kind="resnet", num_labels=1000), description="ResNet-50 v1.5"),
        StandardModel("mobilenet-v1", "image", dict(kind="mobilenet_v1", num_labels=1000), description="MobileNet v1"),
        StandardModel("mobilenet-v2", "image", dict(kind="mobilenet_v2", num_labels=1000), description="MobileNet v2"),
        StandardModel("vit-b16", "image", dict(kind="vit", num_labels=1000), description="ViT-B/16"),
        StandardModel("bert-base", "encoder", dict(kind="bert"), seq=128, description="BERT base"),
        StandardModel("bert-large", "encoder", _BERT_LARGE, seq=384, description="BERT large"),
        StandardModel("llama-7b", "decoder", dict(kind="llama"), seq=2048, description="Llama-2-7B shapes"),
    )
}

# the standard models in the default matrix, by workload name: (model, phase); the decoder's phases are two workloads
MATRIX: dict[str, tuple[StandardModel, str]] = {
    **{name: (model, "prefill") for name, model in STANDARD.items() if model.family != "decoder"},
    **{
        f"{name}-{phase}": (model, phase)
        for name, model in STANDARD.items()
        if model.family == "decoder"
        for phase in PHASES
    },
}


def cosine_fidelity(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean cosine similarity of each row's output to the fp32 model's, both centred on the fp32 outputs' mean over
    the rows: what is left is how each input differs from the others, which a technique must keep (the part every
    input shares would make any model that outputs a constant look faithful)."""
    outputs, targets = outputs.float().flatten(1), targets.float().flatten(1)
    centre = targets.mean(0, keepdim=True)
    return nn.functional.cosine_similarity(outputs - centre, targets - centre, dim=1).mean().item()


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(outputs.float(), targets.float())


@dataclass(frozen=True)
class StandardWorkload(Workload):
    """A standard model that fits on a real machine, run for real (the `full` tier): seeded random weights, seeded
    synthetic inputs, scored by fidelity to its own fp32 outputs. It has no training data, so the techniques that
    fine-tune skip it (they would have nothing to learn from); the simulated devices price it from a fake capture in
    benchmarks/test_standard.py instead of from the host's model."""

    model_name: str
    samples: int = 64  # per split
    seed: int = 0

    tier: ClassVar[str] = "full"  # 224x224 convolutions and 110M-parameter encoders: seconds a call on 2 cores
    metric: ClassVar[str] = (
        "fidelity to the fp32 model: mean cosine similarity of the outputs on seeded synthetic inputs (not accuracy)"
    )
    loss: ClassVar = staticmethod(mse)

    @property
    def name(self) -> str:
        return self.model_name

    @property
    def spec(self) -> StandardModel:
        return STANDARD[self.model_name]

    def model(self, cache_dir: Path) -> nn.Module:
        return copy.deepcopy(_seeded(self))  # deterministic from the seed: nothing cached on disk

    def data(self) -> Dataset:
        return _synthetic(self)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return cosine_fidelity(outputs, targets)


@lru_cache(maxsize=4)
def _seeded(workload: StandardWorkload) -> nn.Module:
    """Deterministic from the seed. BatchNorm statistics come from a few forward passes in train mode on seeded
    inputs: with a random network's identity statistics, activations vanish or every input gets the same output."""
    model = workload.spec.build(seed=workload.seed)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if norms:
        for module in norms:
            module.momentum = None  # a plain average over the calibration passes
        model.train()
        with torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(workload.seed)
            for _ in range(4):
                model(workload.spec.example(16, seed=None).normal_())
    return model.eval()


@lru_cache(maxsize=4)
def _synthetic(workload: StandardWorkload) -> Dataset:
    model = _seeded(workload)
    x = workload.spec.example(workload.samples, seed=workload.seed + 1)
    with torch.no_grad():
        y = torch.cat([model(x[i : i + 16]) for i in range(0, len(x), 16)])
    empty = Split(x[:0], y[:0])  # no training data: nothing to fine-tune on
    return Dataset(train=empty, val=Split(x, y), test=Split(x, y))
