"""Activation memory, counted the same way on every device: the bytes autograd keeps for backward.

`torch.autograd.graph.saved_tensors_hooks` sees every tensor an operator saves for its backward. Each distinct
tensor (its address and size) is counted once, while it is held; the model's parameters (and views of them) are
not activations and are left out. The peak of what is held at once is deterministic (no allocator, no timing), so it compares recipes exactly:
gradient accumulation frees each micro-batch's graph before the next forward; checkpointing keeps only segment
boundaries (what it recomputes in backward is not held between forward and backward).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.autograd.graph import saved_tensors_hooks


def _storage_key(t: Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _region(t: Tensor) -> tuple[int, int]:
    """The memory a saved tensor pins, as (address, bytes) of its own elements: a batch sliced out of a whole
    data set pins the data set's storage, but only the batch is the step's doing."""
    return t.data_ptr(), t.numel() * t.element_size()


class _Held:
    """A saved tensor, counted while autograd holds it (its graph is freed after backward: then released)."""

    __slots__ = ("tensor", "key", "meter")

    def __init__(self, tensor: Tensor, key: tuple[int, int], meter: "SavedTensorMeter") -> None:
        self.tensor, self.key, self.meter = tensor, key, meter

    def __del__(self) -> None:
        meter = getattr(self, "meter", None)  # a copy made without __init__ (by a compiler) holds nothing
        if meter is not None:
            meter._release(self.key)


class SavedTensorMeter(saved_tensors_hooks):
    """Context manager: `peak_bytes` is the most bytes held for backward at any moment inside it, parameters
    excluded; `saved_tensors` counts the tensors saved.

        with SavedTensorMeter(model) as meter:
            loss_fn(model(x), y).backward()
        meter.peak_bytes
    """

    def __init__(self, model: nn.Module) -> None:
        self._parameters = {_storage_key(p) for p in model.parameters()}
        self._held: dict[tuple[int, int], int] = {}  # (address, bytes) -> holders
        self.held_bytes = 0
        self.peak_bytes = 0
        self.saved_tensors = 0
        super().__init__(self._pack, self._unpack)

    def __enter__(self) -> "SavedTensorMeter":
        super().__enter__()
        return self

    def _pack(self, tensor: Tensor) -> object:
        if _storage_key(tensor) in self._parameters or tensor.data_ptr() == 0:
            return tensor
        self.saved_tensors += 1
        key = _region(tensor)
        if key not in self._held:
            self._held[key] = 0
            self.held_bytes += key[1]
            self.peak_bytes = max(self.peak_bytes, self.held_bytes)
        self._held[key] += 1
        return _Held(tensor, key, self)

    @staticmethod
    def _unpack(packed: object) -> Tensor:
        return packed.tensor if isinstance(packed, _Held) else packed

    def _release(self, key: tuple[int, int]) -> None:
        if key not in self._held:
            return
        self._held[key] -= 1
        if self._held[key] == 0:
            self.held_bytes -= key[1]
            del self._held[key]
