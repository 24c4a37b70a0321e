"""tensorrt: the model compiled by Torch-TensorRT into TensorRT engines, NVIDIA's deployment runtime."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import Context, Technique, annotate

INSTALL = "pip install torch-tensorrt (the release built for this torch; a CUDA build of torch)"


class TensorRtPerShape(nn.Module):
    """One TensorRT engine per input shape, built on the first call at that shape (which the benchmark records as
    `first_call_s`), as `CompiledPerShape` does for torch.compile: the engine of a static shape is the one a
    deployment of that batch size runs."""

    def __init__(self, module: nn.Module, compile_engine) -> None:
        super().__init__()
        self.module = module
        self._compile = compile_engine
        self.by_shape: dict[torch.Size, nn.Module] = {}

    @property
    def eager_module(self) -> nn.Module:
        """The uncompiled module (FLOPs are counted on it)."""
        return self.module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        engine = self.by_shape.get(x.shape)
        if engine is None:
            engine = self.by_shape[x.shape] = self._compile(self.module, x)
        return engine(x)


@dataclass(frozen=True)
class TensorRt(Technique):
    """`torch_tensorrt.compile(model, ir="dynamo", inputs=[x], enabled_precisions={fp32, fp16})`: TensorRT picks
    fp16 kernels where it finds them faster (inputs and outputs stay fp32). NVIDIA GPUs only; skipped with the
    reason where torch-tensorrt is not installed."""

    name: str = "tensorrt"
    dtype: ClassVar[str] = "fp16"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        if context.device.type != "cuda":
            raise NotImplementedError(
                f"TensorRT builds and runs its engines on an NVIDIA GPU only; this case's model is built on "
                f"{context.device.type}"
            )
        try:
            import torch_tensorrt
        except ImportError as exc:
            raise NotImplementedError(f"needs the torch-tensorrt package ({exc}): {INSTALL}") from None
        eager = copy.deepcopy(model).eval().to(context.device)
        engines = TensorRtPerShape(eager, engine_builder(torch_tensorrt))
        return annotate(engines, tensorrt_version=torch_tensorrt.__version__)


def engine_builder(torch_tensorrt):
    """What builds one engine for a module at an input's (static) shape, through the given torch_tensorrt."""

    def build(module: nn.Module, x: torch.Tensor) -> nn.Module:
        return torch_tensorrt.compile(
            module, ir="dynamo", inputs=[x], enabled_precisions={torch.float32, torch.float16}
        )

    return build
