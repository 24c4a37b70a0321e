"""Device profiles: one TOML file per simulated device. Every number is a *figure*, an inline table
`{ value = ..., unit = "...", source = "...", confidence = "vendor" | "secondary" | "derived" | "assumed" }`,
so each one says where it came from. A malformed file is refused with the file, the field and what was expected.

TOML has no null: a dtype the matrix units do not support has `value = "none"`.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from accelbench.registry import NAME_PATTERN

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
ENV_DIR = "ACCELBENCH_PROFILES"  # extra profile directories, os.pathsep-separated
CONFIDENCE = ("vendor", "secondary", "derived", "assumed")
DTYPES = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")  # widest first: the up-cast order, read backwards
MATRIX_KINDS = ("systolic", "throughput", "dpu")
FALLBACKS = ("upcast", "host", "host-tail")  # host: that op alone; host-tail: it and all after it
SPARSITY = ("none", "2:4")
RUNTIMES = ("eager", "compiled", "onnxruntime")  # the software a case runs in (devices.simulated.device.runtime_of)
SCHEMA_VERSION = 1


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file, the field and what is expected."""


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    source: str
    confidence: str


@dataclass(frozen=True)
class MemoryLevel:
    name: str
    capacity: float  # bytes
    bandwidth: float  # bytes/s
    energy_pj_per_byte: float


@dataclass(frozen=True)
class Link:
    """A device-to-device interconnect for collectives (NVLink, TPU ICI, PCIe, InfiniBand), as a ring all-reduce
    sees it: `bandwidth` in bytes/s per device and direction, `latency` in s per ring step, joining up to
    `devices` devices (None: no stated limit)."""

    name: str
    bandwidth: float
    latency: float
    devices: int | None


@dataclass(frozen=True)
class Kernel:
    """One row of a kernel table (written by `make calibrate`): an operator's seconds as fixed + per_flop x FLOPs +
    per_byte x bytes, fitted on `samples` measured blocks."""

    fixed: float
    per_flop: float
    per_byte: float
    samples: int


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    description: str
    path: Path
    clock: float  # Hz
    op_overhead: float  # s per operator (kernel launch, dispatch)
    call_overhead: float  # s per model call (host dispatch of the whole graph)
    compiled_op_overhead: float  # s per fused kernel when the technique compiled the model
    compiled_call_overhead: float  # s per call of a compiled model (guards, wrapper)
    onnxruntime_op_overhead: float  # s per ONNX Runtime node
    onnxruntime_call_overhead: float  # s per InferenceSession.run
    deployed_op_overhead: float  # s per fused kernel under the vendor's runtime (TensorRT, Edge TPU, VART, ACL)
    deployed_call_overhead: float  # s per call of a deployed model (one engine enqueue or graph launch, one sync)
    module_overhead: float  # s per nn.Module call in eager mode (Python)
    matmul_overhead: dict[str, float]  # eager, per dtype: fixed cost of a matmul call (default op_overhead)
    conv_overhead: dict[str, float]  # eager, per dtype: fixed cost of a convolution call
    compiled_matmul_overhead: dict[str, float]  # compiled, per dtype (default compiled_op_overhead)
    compiled_conv_overhead: dict[str, float]
    onnxruntime_peak: dict[str, float]  # optional: matrix FLOP/s of ONNX Runtime's own kernels (MLAS), per dtype
    graph_compiler: bool  # its toolchain always compiles (XLA, Vitis AI): elementwise chains always fuse
    inference_only: bool  # no training step to model (Edge TPU, DPU, inference NPUs)
    matrix: dict[str, object]  # kind, dataflow, and the numbers of that kind
    peak: dict[str, float | None]  # matrix-unit FLOP/s (OP/s for ints) per dtype; None = unsupported
    vector_rate: float  # FLOP/s of the vector unit
    vector_dtypes: tuple[str, ...]  # dtypes the vector unit computes in
    fallback: str
    host_rate: float  # FLOP/s of the host CPU when operators fall back to it
    memory: tuple[MemoryLevel, ...]  # fastest first; the last one holds everything
    weights_resident: bool  # weights stay on chip between calls when they all fit in the first level
    deployed_merges_siblings: bool  # the vendor's runtime merges GEMMs that read one tensor (TensorRT)
    link_bandwidth: float  # bytes/s between host and device
    link_latency: float  # s per transfer
    sparsity: str
    sparse_min_dim: int
    unstructured_sparsity: bool
    idle_power: float  # W
    tdp: float  # W
    op_energy_pj: dict[str, float]  # per dtype present
    price_per_hour: float | None  # USD
    measured_on: str | None = None  # sim-cpu: the CPU `make calibrate` measured
    # elements of the input and output the host pre- and post-processes per second, where the device's deployment
    # includes that stage (Vitis AI's end-to-end figures); None: the deployment is the device alone
    deployed_host_rate: float | None = None
    # optional [[interconnect]] links, fastest (and smallest domain) first; none: no data-parallel projection
    interconnect: tuple[Link, ...] = ()
    figures: dict[str, Figure] = field(default_factory=dict, repr=False)
    runtimes: tuple[str, ...] = RUNTIMES  # what the device's toolchain can run; others are not applicable there
    # optional measured kernels (sim-cpu): (runtime, operator, dtype, fused) -> Kernel, and per runtime the call's
    # (fixed s, s per nn.Module call); a runtime without a call entry is priced by the roofline alone
    kernels: dict[tuple[str, str, str, bool], Kernel] = field(default_factory=dict, repr=False)
    kernel_calls: dict[str, tuple[float, float]] = field(default_factory=dict)

    def supports(self, dtype: str) -> bool:
        return self.peak.get(dtype) is not None


class _Reader:
    """Reads fields off the parsed TOML, recording each figure and raising ProfileError with the field's path."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data, self.figures = path, data, {}

    def fail(self, where: str, problem: str, expected: str) -> ProfileError:
        return ProfileError(f"{self.path}: field {where!r}: {problem}; expected {expected}")

    def raw(self, where: str, required: bool = True):
        node = self.data
        for part in where.split("."):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if not isinstance(node, dict) or part not in node:
                if required:
                    raise self.fail(where, "missing", "it to be present (devices/profiles/README.md lists the fields)")
                return None
            node = node[part]
        return node

    def text(self, where: str, choices: tuple[str, ...] | None = None, required: bool = True) -> str | None:
        value = self.raw(where, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"{value!r} is a {type(value).__name__}", "a string")
        if choices and value not in choices:
            raise self.fail(where, f"unknown value {value!r}", f"one of {', '.join(choices)}")
        return value

    def count(self, where: str, required: bool = True) -> int | None:
        """A figure that must be a whole number of at least 1 (array sizes, units, parallelism)."""
        value = self.figure(where, "1", required=required)
        if value is None:
            return None
        if value != int(value) or value < 1:
            raise self.fail(f"{where}.value", f"{value}", "a whole number >= 1")
        return int(value)

    def dtypes(self, where: str) -> tuple[str, ...]:
        value = self.raw(where)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"{value!r}", f"a non-empty list of dtypes among {', '.join(DTYPES)}")
        unknown = [v for v in value if v not in DTYPES]
        if unknown:
            raise self.fail(where, f"unknown dtype {unknown[0]!r}", f"dtypes among {', '.join(DTYPES)}")
        return tuple(value)

    def dtype_figures(self, where: str, unit: str) -> dict[str, float]:
        """An optional table of figures keyed by dtype."""
        table = self.raw(where, required=False)
        if table is None:
            return {}
        if not isinstance(table, dict):
            raise self.fail(where, f"{table!r}", f"a table of figures keyed by dtype ({', '.join(DTYPES)})")
        unknown = sorted(set(table) - set(DTYPES))
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", "unknown dtype", f"dtypes among {', '.join(DTYPES)}")
        return {d: self.figure(f"{where}.{d}", unit, positive=False) for d in table}

    def choices(self, where: str, valid: tuple[str, ...]) -> tuple[str, ...]:
        """An optional list of strings among `valid`; all of `valid` where absent."""
        value = self.raw(where, required=False)
        if value is None:
            return valid
        if not isinstance(value, list) or not value or any(v not in valid for v in value):
            raise self.fail(where, f"{value!r}", f"a non-empty list among {', '.join(valid)}")
        return tuple(value)

    def flag(self, where: str, default: bool = False) -> bool:
        value = self.raw(where, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(where, f"{value!r} is a {type(value).__name__}", "true or false")
        return value

    def figure(
        self, where: str, unit: str, required: bool = True, allow_none: bool = False, positive: bool = True
    ) -> float | None:
        entry = self.raw(where, required)
        if entry is None:
            return None
        expected = f'an inline table {{ value = <number>, unit = "{unit}", source = "...", confidence = ...}}'
        if not isinstance(entry, dict):
            raise self.fail(where, f"{entry!r} is a bare {type(entry).__name__}", expected)
        for key in ("value", "unit", "source", "confidence"):
            if key not in entry:
                raise self.fail(f"{where}.{key}", "missing", expected)
        if entry["unit"] != unit:
            raise self.fail(f"{where}.unit", f"unit {entry['unit']!r}", f"{unit!r}")
        if entry["confidence"] not in CONFIDENCE:
            raise self.fail(
                f"{where}.confidence", f"unknown tag {entry['confidence']!r}", f"one of {', '.join(CONFIDENCE)}"
            )
        if not isinstance(entry["source"], str) or not entry["source"].strip():
            raise self.fail(f"{where}.source", "empty", "where the number comes from (or why it is assumed)")
        value = entry["value"]
        if allow_none and value == "none":
            self.figures[where] = Figure(math.nan, unit, entry["source"], entry["confidence"])
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(
                f"{where}.value",
                f"{value!r} is not a finite number",
                "a number" + (' or "none" (unsupported)' if allow_none else ""),
            )
        if value < 0 or (positive and value == 0):
            raise self.fail(
                f"{where}.value",
                f"{value} is {'negative' if value < 0 else 'zero'}",
                "a positive number" if positive else "a number >= 0",
            )
        self.figures[where] = Figure(float(value), unit, entry["source"], entry["confidence"])
        return float(value)


def load_profile(path: Path) -> Profile:
    """Parses and checks one profile file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
    r = _Reader(path, data)
    if r.raw("schema") != SCHEMA_VERSION:
        raise r.fail("schema", f"{r.raw('schema')!r}", f"{SCHEMA_VERSION} (this accelbench's profile format)")
    unknown = set(r.raw("peak")) - set(DTYPES) if isinstance(r.raw("peak"), dict) else set()
    if unknown:
        raise r.fail(f"peak.{sorted(unknown)[0]}", "unknown dtype", f"dtypes among {', '.join(DTYPES)}")
    peak = {dtype: r.figure(f"peak.{dtype}", "FLOP/s", required=False, allow_none=True) for dtype in DTYPES}
    if not any(v is not None for v in peak.values()):
        raise r.fail("peak", "no supported dtype", "a number for at least one of " + ", ".join(DTYPES))
    kind = r.text("matrix.kind", MATRIX_KINDS)
    matrix: dict[str, object] = {"kind": kind}
    if kind == "systolic":
        matrix["dataflow"] = r.text("matrix.dataflow", ("os", "ws", "is"))
        for name in ("rows", "cols", "count"):
            matrix[name] = r.count(f"matrix.{name}")
        matrix["overlap"] = r.figure("matrix.overlap", "1", required=False, positive=False) or 0.0
        if not matrix["overlap"] < 1:
            raise r.fail("matrix.overlap.value", f"{matrix['overlap']}", "a fraction in [0, 1)")
    elif kind == "dpu":
        for name in ("pp", "icp", "ocp", "count"):
            matrix[name] = r.count(f"matrix.{name}")
    else:
        matrix["tile"] = r.count("matrix.tile")
        matrix["units"] = r.count("matrix.units")
    matrix["efficiency"] = r.figure("matrix.efficiency", "1", required=False) or 1.0
    if matrix["efficiency"] > 1:
        raise r.fail("matrix.efficiency.value", f"{matrix['efficiency']}", "a fraction in (0, 1]")
    levels = r.raw("memory")
    if not isinstance(levels, list) or not levels:
        raise r.fail("memory", "missing or not an array of tables", "[[memory]] tables, fastest level first")
    memory = []
    for index, level in enumerate(levels):
        where = f"memory[{index}]"
        name = level.get("name") if isinstance(level, dict) else None
        if not isinstance(name, str):
            raise r.fail(f"{where}.name", "missing", 'a name such as "hbm"')
        memory.append(
            MemoryLevel(
                name,
                r.figure(f"memory.{index}.capacity", "B"),
                r.figure(f"memory.{index}.bandwidth", "B/s"),
                r.figure(f"memory.{index}.energy", "pJ/B", positive=False),
            )
        )
    interconnect = _links(r)
    kernels, kernel_calls = _kernels(r)
    dtype_energy = r.raw("power.op_energy", required=True)
    if not isinstance(dtype_energy, dict) or not dtype_energy:
        raise r.fail("power.op_energy", "empty", "pJ per operation for at least one dtype")
    bad = set(dtype_energy) - set(DTYPES)
    if bad:
        raise r.fail(f"power.op_energy.{sorted(bad)[0]}", "unknown dtype", f"dtypes among {', '.join(DTYPES)}")
    profile = Profile(
        name=r.text("name"),
        version=r.text("version"),
        description=r.text("description"),
        path=path,
        clock=r.figure("clock", "Hz"),
        op_overhead=(op_overhead := r.figure("op_overhead", "s", positive=False)),
        call_overhead=(call := r.figure("call_overhead", "s", required=False, positive=False) or 0.0),
        compiled_op_overhead=_or(r.figure("compiled_op_overhead", "s", required=False, positive=False), op_overhead),
        compiled_call_overhead=(
            ccall := _or(r.figure("compiled_call_overhead", "s", required=False, positive=False), call)
        ),
        onnxruntime_op_overhead=_or(
            r.figure("onnxruntime_op_overhead", "s", required=False, positive=False),
            _or(r.figure("compiled_op_overhead", "s", required=False, positive=False), op_overhead),
        ),
        onnxruntime_call_overhead=_or(
            r.figure("onnxruntime_call_overhead", "s", required=False, positive=False), ccall
        ),
        deployed_op_overhead=_or(
            r.figure("deployed_op_overhead", "s", required=False, positive=False),
            _or(r.figure("compiled_op_overhead", "s", required=False, positive=False), op_overhead),
        ),
        deployed_call_overhead=_or(r.figure("deployed_call_overhead", "s", required=False, positive=False), ccall),
        deployed_host_rate=r.figure("deployed_host_rate", "elements/s", required=False),
        module_overhead=r.figure("module_overhead", "s", required=False, positive=False) or 0.0,
        matmul_overhead=r.dtype_figures("matmul_overhead", "s"),
        conv_overhead=r.dtype_figures("conv_overhead", "s"),
        compiled_matmul_overhead=r.dtype_figures("compiled_matmul_overhead", "s"),
        compiled_conv_overhead=r.dtype_figures("compiled_conv_overhead", "s"),
        onnxruntime_peak=r.dtype_figures("onnxruntime_peak", "FLOP/s"),
        graph_compiler=r.flag("graph_compiler"),
        inference_only=r.flag("inference_only"),
        runtimes=r.choices("runtimes", RUNTIMES),
        matrix=matrix,
        peak=peak,
        vector_rate=r.figure("vector.rate", "FLOP/s"),
        vector_dtypes=r.dtypes("vector.dtypes"),
        fallback=r.text("fallback.mode", FALLBACKS),
        host_rate=r.figure("fallback.host_rate", "FLOP/s"),
        memory=tuple(memory),
        weights_resident=r.flag("weights_resident"),
        deployed_merges_siblings=r.flag("deployed_merges_siblings"),
        link_bandwidth=r.figure("host_link.bandwidth", "B/s"),
        link_latency=r.figure("host_link.latency", "s", positive=False),
        sparsity=r.text("sparsity.kind", SPARSITY),
        sparse_min_dim=r.count("sparsity.min_dim", required=False) or 0,
        unstructured_sparsity=r.flag("sparsity.unstructured"),
        idle_power=r.figure("power.idle", "W", positive=False),
        tdp=r.figure("power.tdp", "W"),
        op_energy_pj={d: r.figure(f"power.op_energy.{d}", "pJ", positive=False) for d in DTYPES if d in dtype_energy},
        price_per_hour=r.figure("price_per_hour", "USD/h", required=False),
        measured_on=r.text("measured_on", required=False),
        interconnect=interconnect,
        kernels=kernels,
        kernel_calls=kernel_calls,
    )
    if not profile.name.startswith("sim-"):
        raise r.fail("name", f"{profile.name!r}", "a name starting with 'sim-' (simulated devices are labelled so)")
    if not NAME_PATTERN.match(profile.name):
        raise r.fail("name", f"{profile.name!r}", "lower-case kebab-case after 'sim-', e.g. 'sim-my-npu'")
    if profile.idle_power >= profile.tdp:
        raise r.fail("power.idle.value", f"idle {profile.idle_power} W not below TDP {profile.tdp} W", "idle < tdp")
    object.__setattr__(profile, "figures", r.figures)
    return profile


def _links(r: _Reader) -> tuple[Link, ...]:
    """The optional [[interconnect]] array: name, bandwidth (B/s), latency (s), devices (optional)."""
    links = r.raw("interconnect", required=False)
    if links is None:
        return ()
    if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
        raise r.fail("interconnect", "not an array of tables", "[[interconnect]] tables, fastest link first")
    out = []
    for index, link in enumerate(links):
        if not isinstance(link.get("name"), str):
            raise r.fail(f"interconnect[{index}].name", "missing", 'a name such as "NVLink 4"')
        out.append(
            Link(
                link["name"],
                r.figure(f"interconnect.{index}.bandwidth", "B/s"),
                r.figure(f"interconnect.{index}.latency", "s", positive=False),
                r.count(f"interconnect.{index}.devices", required=False),
            )
        )
    return tuple(out)


KERNEL_RUNTIMES = ("eager", "compiled", "onnxruntime")  # what a case on the host runs in (device.runtime_of)


def _kernels(r: _Reader) -> tuple[dict[tuple[str, str, str, bool], Kernel], dict[str, tuple[float, float]]]:
    """The optional kernel table: [[kernel_call]] (runtime, call, per_module) and [[kernel]] (runtime, op, dtype,
    fused, samples, fixed, per_flop, per_byte)."""
    calls: dict[str, tuple[float, float]] = {}
    for index, entry in enumerate(_tables(r, "kernel_call")):
        runtime = r.text(f"kernel_call.{index}.runtime", KERNEL_RUNTIMES)
        if runtime in calls:
            raise r.fail(f"kernel_call.{index}.runtime", f"a second [[kernel_call]] for {runtime!r}", "one per runtime")
        calls[runtime] = (
            r.figure(f"kernel_call.{index}.call", "s", positive=False),
            r.figure(f"kernel_call.{index}.per_module", "s", positive=False),
        )
    kernels: dict[tuple[str, str, str, bool], Kernel] = {}
    for index, entry in enumerate(_tables(r, "kernel")):
        where = f"kernel.{index}"
        runtime = r.text(f"{where}.runtime", KERNEL_RUNTIMES)
        if runtime not in calls:
            raise r.fail(f"{where}.runtime", f"no [[kernel_call]] for {runtime!r}", "a [[kernel_call]] per runtime")
        dtype = r.text(f"{where}.dtype", DTYPES)
        fused = entry.get("fused")
        if not isinstance(fused, bool):
            raise r.fail(f"{where}.fused", f"{fused!r}", "true or false")
        samples = entry.get("samples")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise r.fail(f"{where}.samples", f"{samples!r}", "a whole number >= 1")
        key = (runtime, r.text(f"{where}.op"), dtype, fused)
        if key in kernels:
            raise r.fail(where, f"a second [[kernel]] for {key}", "one per runtime, op, dtype and fused")
        kernels[key] = Kernel(
            r.figure(f"{where}.fixed", "s", positive=False),
            r.figure(f"{where}.per_flop", "s/FLOP", positive=False),
            r.figure(f"{where}.per_byte", "s/B", positive=False),
            samples,
        )
    bare = sorted(set(calls) - {key[0] for key in kernels})
    if bare:
        raise r.fail(
            "kernel_call", f"no [[kernel]] for runtime {bare[0]!r}", "[[kernel]] rows for each runtime it lists"
        )
    if calls and r.flag("graph_compiler"):
        raise r.fail(
            "kernel_call", "a kernel table on a graph_compiler profile", "a table only where graph_compiler = false"
        )
    return kernels, calls


def _tables(r: _Reader, where: str) -> list[dict]:
    entries = r.raw(where, required=False)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise r.fail(where, "not an array of tables", f"[[{where}]] tables")
    return entries


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def profile_dirs(extra: list[Path] | None = None) -> list[Path]:
    """The project's profiles, then each directory in $ACCELBENCH_PROFILES, then `extra` (a later file with
    the same device name replaces an earlier one)."""
    dirs = [PROFILE_DIR]
    dirs += [Path(p) for p in os.environ.get(ENV_DIR, "").split(os.pathsep) if p]
    return dirs + list(extra or [])


def load_profiles(dirs: list[Path]) -> tuple[dict[str, Profile], list[ProfileError]]:
    """Every *.toml in `dirs`, by device name, and the errors of those that could not be loaded (a bad file
    costs its own device only)."""
    profiles: dict[str, Profile] = {}
    errors: list[ProfileError] = []
    for directory in dirs:
        if not directory.is_dir():
            what = "is a file, not a directory of profiles" if directory.exists() else "does not exist"
            errors.append(ProfileError(f"{directory}: profile directory {what}"))
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                errors.append(exc)
                continue
            if profile.name in profiles:  # a later directory wins, and says so
                errors.append(
                    ProfileError(f"{path}: replaces the profile {profile.name!r} of {profiles[profile.name].path}")
                )
            profiles[profile.name] = profile
    return profiles, errors
