"""onnxruntime and onnxruntime-int8: the model exported to ONNX and run by ONNX Runtime, the deployment runtime
users compare PyTorch against."""

from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from techniques.base import Context, Technique, annotate, dynamic_batch

SPINNING = "session.intra_op.allow_spinning"


class OrtModule(nn.Module):
    """An ONNX Runtime session behind the nn.Module interface. The ONNX bytes are its only state (so the model's
    size is the deployed file's); the torch model it came from is kept aside for FLOPs and parameter counts."""

    def __init__(self, onnx_bytes: bytes, eager: nn.Module, device: torch.device, threads: int) -> None:
        super().__init__()
        import onnxruntime as ort

        self.register_buffer("onnx_model", torch.frombuffer(bytearray(onnx_bytes), dtype=torch.uint8))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # the thread count the device fixed, for a fair comparison
        options.inter_op_num_threads = 1
        # its threads sleep after a call instead of spinning: a spinning pool keeps the cores from the next call of
        # another runtime (the fp32 baseline in paired rounds), which then ran at half speed (issue 18)
        options.add_session_config_entry(SPINNING, "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        providers = ["CUDAExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(onnx_bytes, options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.device = device
        # on a GPU, inputs and outputs stay in device memory: no copy to the host inside the timed call
        self.io_binding = uses_io_binding(device, self.session.get_providers())
        self._output_of: dict[torch.Size, tuple[torch.Size, torch.dtype]] = {}  # by input shape, learnt once
        self._eager = (eager,)  # a tuple, so it is not registered as a submodule (not part of the state)
        self.graph_format: str | None = None  # the number format of the graph the session runs, where not fp32

    @property
    def eager_module(self) -> nn.Module:
        return self._eager[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.io_binding:
            (out,) = self.session.run(None, {self.input_name: x.detach().cpu().numpy()})
            return torch.from_numpy(out).to(self.device)
        x = x.detach().contiguous()
        if x.shape not in self._output_of:  # the first call at a shape (untimed) learns the output's shape via the host
            (host,) = self.session.run(None, {self.input_name: x.cpu().numpy()})
            self._output_of[x.shape] = (torch.Size(host.shape), torch.from_numpy(host).dtype)
        shape, dtype = self._output_of[x.shape]
        out = torch.empty(shape, dtype=dtype, device=x.device)  # a fresh tensor: a caller may keep the last one
        return run_bound(self.session, self.input_name, self.output_name, x, out)


def uses_io_binding(device: torch.device, providers: list[str]) -> bool:
    """Whether the session is run with IO binding on device tensors: on CUDA, with the CUDA execution provider.
    On the CPU the numpy hand-over is already zero-copy."""
    return device.type == "cuda" and "CUDAExecutionProvider" in providers


_ELEMENT_TYPES = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int64", torch.int32: "int32"}


def run_bound(session, input_name: str, output_name: str, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """One session run with `x` and `out` bound where they live (`session.io_binding()`): ONNX Runtime reads the
    input from and writes the output to those tensors' memory, with no copy."""
    import numpy as np

    def where(t: torch.Tensor) -> dict:
        if t.dtype not in _ELEMENT_TYPES:
            raise TypeError(f"no IO binding for {t.dtype}: one of {', '.join(map(str, _ELEMENT_TYPES))}")
        return dict(
            device_type=t.device.type,
            device_id=t.device.index or 0,
            element_type=np.dtype(_ELEMENT_TYPES[t.dtype]).type,
            shape=tuple(t.shape),
            buffer_ptr=t.data_ptr(),
        )

    binding = session.io_binding()
    binding.bind_input(name=input_name, **where(x))
    binding.bind_output(name=output_name, **where(out))
    binding.synchronize_inputs()  # the input written by torch's stream is complete before ONNX Runtime reads it
    session.run_with_iobinding(binding)
    binding.synchronize_outputs()
    return out


@dataclass(frozen=True)
class OnnxRuntime(Technique):
    """`torch.onnx.export(..., dynamo=True)` with a dynamic batch dimension, then an `onnxruntime.InferenceSession`
    (CPUExecutionProvider; CUDAExecutionProvider on CUDA). With `int8`, ONNX Runtime's own dynamic int8
    quantization (`onnxruntime.quantization.quantize_dynamic`) of the exported graph."""

    int8: bool = False

    @property
    def name(self) -> str:
        return "onnxruntime-int8" if self.int8 else "onnxruntime"

    @property
    def dtype(self) -> str:
        return "int8" if self.int8 else "fp32"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise NotImplementedError(f"needs the onnxruntime package ({exc})") from None
        if context.device.type == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            raise NotImplementedError("this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)")
        if context.device.type not in ("cpu", "cuda"):
            raise NotImplementedError(f"no ONNX Runtime execution provider chosen for {context.device.type}")
        eager = copy.deepcopy(model).eval().to(context.device)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            try:
                _export(eager, context.calibration.x[:2].to(context.device), path)
            except Exception as exc:  # an operator without an ONNX translation, for one
                raise NotImplementedError(
                    f"torch.onnx.export could not export the model ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200]})"
                ) from exc
            if self.int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantized = Path(tmp) / "model.int8.onnx"
                quantize_dynamic(path, quantized, weight_type=QuantType.QInt8)
                path = quantized
            module = OrtModule(path.read_bytes(), eager, context.device, torch.get_num_threads())
        # what a simulated device prices: the int8 graph the session runs (the wrapped eager module is fp32)
        module.graph_format = "int8-dynamic" if self.int8 else None
        return annotate(module, onnxruntime_version=ort.__version__)


def _export(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    # The exporter's own tracing raises deprecation warnings, and an nn.LSTM (traced as a while loop) a .grad one,
    # that no user of the exported model can act on; the export's success or failure is what counts.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The .grad attribute of a Tensor that is not a leaf Tensor")
        program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=dynamic_batch(), verbose=False)
    program.save(str(path))
