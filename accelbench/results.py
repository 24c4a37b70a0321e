"""The results schema: every recorded field, named once (name, type, unit, meaning), and the run file that holds
them. The only module that knows the results' JSON.

A run file is pytest-benchmark's JSON (`benchmarks`: one entry per timed case, with `params`, `extra_info` and
`stats`) plus what accelbench adds: `accelbench_outcomes` (cases that errored or were skipped, with the reason),
`accelbench_exitstatus`, and `machine_info["accelbench"]` (versions and each device's facts, accelbench/machine.py).
Every writer builds its entries here: the pytest plug-in (accelbench/plugin.py), its journal (accelbench/journal.py)
and the distributed workers (parallel/); reports read the file through `read_run` and name columns by the constants
below (`import accelbench.results as col`; `frame[col.LATENCY_MEDIAN_S]`).

`python -m accelbench.results` prints the reference of every field (docs/results.md is that output; a test keeps
them equal).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from accelbench.files import atomic_write

# ---- the run file's own keys ----
BENCHMARKS = "benchmarks"
OUTCOMES = "accelbench_outcomes"
EXITSTATUS = "accelbench_exitstatus"  # pytest's exit status; 2: interrupted, the run is partial
JOURNAL_STATE = "accelbench_journal"  # added when a run is read from its journal: how whole it is
MACHINE_INFO = "machine_info"
COMMIT_INFO = "commit_info"
HARNESS = "accelbench"  # machine_info[HARNESS]: versions and device facts

# a case's outcome
OK, ERROR, SKIPPED = "ok", "error", "skipped"


@dataclass(frozen=True)
class Field:
    """One recorded column. `name` may hold one `{placeholder}` (a family: `projected_step_s_{devices}`); `unit`
    is "" for a number without unit or a text; `recorded_by` says which stage writes it."""

    name: str
    type: str  # str, int, float, bool, json (a JSON text)
    unit: str
    meaning: str
    recorded_by: str

    def matches(self, column: str) -> bool:
        if "{" not in self.name:
            return column == self.name
        head, _, rest = self.name.partition("{")
        tail = rest.partition("}")[2]
        return bool(re.fullmatch(re.escape(head) + r"[A-Za-z0-9_]+" + re.escape(tail), column))


FIELDS: list[Field] = []


def _field(name: str, type_: str, unit: str, meaning: str, recorded_by: str) -> str:
    FIELDS.append(Field(name, type_, unit, meaning, recorded_by))
    return name


# ---- identity of a case (every benchmark) ----
BY = "every benchmark"
DEVICE = _field("device", "str", "", "registry name of the device (`cpu`, `sim-tpu-v4`)", BY)
WORKLOAD = _field("workload", "str", "", "registry name of the workload", BY)
TECHNIQUE = _field("technique", "str", "", "registry name of the technique (a training recipe's, in training)", BY)
BATCH_SIZE = _field("batch_size", "int", "rows", "inputs per call (per step, in training)", BY)
SIMULATED = _field("simulated", "bool", "", "figures come from a cost model, not a clock (marked † everywhere)", BY)
BENCHMARK = _field("benchmark", "str", "", "which benchmark: inference, training, time-to-accuracy, ddp, pipeline", BY)
LOAD_AVG_1M = _field("load_avg_1m", "float", "", "the machine's 1-minute load average when the case ran", BY)
RUNTIME = _field("runtime", "str", "", "how the model runs: eager, compiled or onnxruntime", BY)

# ---- inference (benchmarks/test_inference.py) ----
BY = "inference"
ACCURACY = _field("accuracy", "float", "", "the workload's quality score on the test split (its `metric`)", BY)
METRIC = _field("metric", "str", "", "what `accuracy` means, e.g. top-1 accuracy on the test split", BY)
NN_UNCHANGED = _field(
    "nn_unchanged", "float", "", "minilm: fraction of test sentences whose nearest neighbour is the fp32 one", BY
)
MIN_COSINE = _field("min_cosine", "float", "", "minilm: the worst test sentence's cosine to its fp32 embedding", BY)
MODEL_SIZE_BYTES = _field("model_size_bytes", "int", "B", "serialised state dict (the ONNX file for onnxruntime)", BY)
COMPRESSED_SIZE_BYTES = _field(
    "compressed_size_bytes", "int", "B", "serialised size with zeros stored as a bitmask where smaller", BY
)
PARAM_COUNT = _field("param_count", "int", "", "parameters, however stored", BY)
BITS_PER_PARAM = _field("bits_per_param", "float", "bit", "8 x model_size_bytes / param_count", BY)
WEIGHT_SPARSITY = _field("weight_sparsity", "float", "", "fraction of exact zeros among the dense float weights", BY)
FLOPS_PER_BATCH = _field("flops_per_batch", "int", "FLOP", "FLOPs of one call (a multiply-add counts 2)", BY)
FIRST_CALL_S = _field("first_call_s", "float", "s", "the first call (compilation, kernel set-up); real devices", BY)
MODEL_SETUP_S = _field("model_setup_s", "float", "s", "workload.model(): training on first use or loading", BY)
APPLY_S = _field("apply_s", "float", "s", "technique.apply(): quantization, fine-tuning (not compilation)", BY)
PEAK_MEMORY_BYTES = _field(
    "peak_memory_bytes", "int", "B", "peak memory of one call; what is measured is the device's memory_metric", BY
)
TECHNIQUE_DTYPE = _field(
    "technique_dtype", "str", "", "the number format the technique's weights and matmuls run in (fp32, int8...)", BY
)
ROOFLINE_OPS = _field(
    "roofline_ops", "json", "", "simulated fp32 at the largest batch: [FLOP/byte, FLOP/s] per operator", BY
)

# ---- energy and cost ----
ENERGY_PER_INFERENCE_J = _field("energy_per_inference_j", "float", "J", "energy of one input (call / batch)", BY)
ENERGY_METHOD = _field("energy_method", "str", "", "measured (a counter), estimated (a model) or simulated", BY)
ENERGY_SOURCE = _field("energy_source", "str", "", "what was read, or why nothing was", BY)
ENERGY_CALLS = _field("energy_calls", "int", "", "calls metered together to fill the meter's window", BY)
AVERAGE_POWER_W = _field("average_power_w", "float", "W", "energy / seconds over the metered calls", BY)

# ---- paired speedups (ABAB rounds against the baseline; accelbench/rounds.py, accelbench/stats.py) ----
PAIRED_SPEEDUP_MEDIAN = _field("paired_speedup_median", "float", "x", "median of per-pair baseline / case seconds", BY)
PAIRED_SPEEDUP_CI_LOW = _field("paired_speedup_ci_low", "float", "x", "95% bootstrap interval, low end", BY)
PAIRED_SPEEDUP_CI_HIGH = _field("paired_speedup_ci_high", "float", "x", "95% bootstrap interval, high end", BY)
PAIRED_ROUNDS = _field("paired_rounds", "int", "", "pairs of rounds", BY)
PAIRED_VERDICT = _field("paired_verdict", "str", "", "faster, slower or no significant difference", BY)
PAIRED_NOTE = _field("paired_note", "str", "", "why the case was not paired (the baseline itself, too slow...)", BY)
PAIRED_S = _field("paired_s", "float", "s", "what pairing cost this case", BY)
PAIRED_CALLS_PER_ROUND = _field("paired_calls_per_round", "int", "", "calls of the case per round", BY)
PAIRED_CALLS_PER_BASELINE_ROUND = _field(
    "paired_calls_per_baseline_round", "int", "", "calls of the baseline per round", BY
)

# ---- simulated devices (devices/simulated) ----
BY = "simulated devices"
SIMULATED_LATENCY_S = _field(
    "simulated_latency_s", "float", "s", "the cost model's latency of one call (one step, in training)", BY
)
THROUGHPUT_PER_S = _field("throughput_per_s", "float", "1/s", "batch_size / latency_median_s", "the loader")
BOUND = _field("bound", "str", "", "what limits the call: compute, memory, overhead, host or power", BY)
TIME_BY_BOUND_S = _field("time_{bound}_s", "float", "s", "time of the operators bound by {bound}", BY)
POWER_LIMITED = _field("power_limited", "bool", "", "stretched to stay within the device's TDP", BY)
HOST_OPS = _field("host_ops", "int", "", "operators that fell back to the host", BY)
UPCAST_OPS = _field("upcast_ops", "int", "", "operators run in a wider dtype than asked", BY)
GRAPH_OPS = _field("graph_ops", "int", "", "operators in the captured graph", BY)
CAPTURE_S = _field("capture_s", "float", "s", "capturing the operator graph on the host", BY)
PROFILE = _field("profile", "str", "", "the device profile's name", BY)
PROFILE_VERSION = _field("profile_version", "str", "", "the device profile's version", BY)
ACCURACY_ON = _field("accuracy_on", "str", "", "where accuracy was measured (host: the host ran the model)", BY)

# ---- technique facts (techniques/*.py annotate()) ----
BY = "techniques"
FINETUNE_S = _field("finetune_s", "float", "s", "fine-tuning inside apply()", BY)
SPARSE_KERNEL = _field("sparse_kernel", "str", "", "the sparse kernel used, or none: why", BY)
LAYERS_2OF4 = _field("layers_2of4", "int", "", "layers pruned to the 2:4 pattern", BY)
BINARY_KERNEL = _field("binary_kernel", "str", "", "the binary kernel used, or none: why", BY)
BINARY_WEIGHT_FRACTION = _field("binary_weight_fraction", "float", "", "fraction of weights binarised", BY)
BATCHNORMS_FOLDED = _field("batchnorms_folded", "int", "", "BatchNorm layers folded into convolutions", BY)
CONVS_SEPARATED = _field("convs_separated", "int", "", "convolutions made depthwise-separable", BY)
INT8_KERNELS = _field("int8_kernels", "int", "", "int8 kernels the compiler made (0: ran as float)", BY)
FAST_PATH = _field("fast_path", "bool", "", "the compiled int8 fast path was taken", BY)
QUANTIZED_LAYERS = _field("quantized_layers", "int", "", "layers quantized (weight-only)", BY)
ACTIVATION_DTYPE = _field("activation_dtype", "str", "", "dtype of activations (weight-only int4: bfloat16)", BY)
ONNXRUNTIME_VERSION = _field("onnxruntime_version", "str", "", "ONNX Runtime's version", BY)
KD_VAL_ACCURACY_MEAN = _field("kd_val_accuracy_mean", "float", "", "distilled students' validation accuracy", BY)
KD_VAL_ACCURACY_STD = _field("kd_val_accuracy_std", "float", "", "its spread over seeds", BY)
SCRATCH_VAL_ACCURACY_MEAN = _field(
    "scratch_val_accuracy_mean", "float", "", "the same students trained from scratch: validation accuracy", BY
)
SCRATCH_VAL_ACCURACY_STD = _field("scratch_val_accuracy_std", "float", "", "its spread over seeds", BY)
STUDENT_PARAM_FRACTION = _field("student_param_fraction", "float", "", "student parameters / teacher's", BY)

# ---- training (benchmarks/test_training.py) ----
BY = "training"
OPTIMIZER = _field("optimizer", "str", "", "the recipe's optimizer", BY)
LOSS_AFTER_STEPS = _field("loss_after_steps", "float", "", "validation loss after loss_steps steps", BY)
LOSS_STEPS = _field("loss_steps", "int", "", "optimizer steps before the loss is read", BY)
LOSS_ON = _field("loss_on", "str", "", "where the loss was measured (host, for simulated devices)", BY)
SAVED_ACTIVATION_BYTES = _field("saved_activation_bytes", "int", "B", "bytes saved for backward, at peak", BY)
SAVED_TENSORS = _field("saved_tensors", "int", "", "tensors saved for backward", BY)
PARAM_BYTES = _field("param_bytes", "int", "B", "bytes of the parameters", BY)
OPTIMIZER_STATE_BYTES = _field("optimizer_state_bytes", "int", "B", "bytes of the optimizer's state", BY)
MICRO_BATCHES = _field("micro_batches", "int", "", "micro-batches per step (gradient accumulation)", BY)
MICRO_BATCH_SIZE = _field("micro_batch_size", "int", "rows", "rows per micro-batch", BY)
FIRST_STEP_S = _field("first_step_s", "float", "s", "the first step (compilation); real devices", BY)
RSS_BYTES = _field("rss_bytes", "int", "B", "the process's resident memory after the case", BY)
SAMPLES_PER_S = _field("samples_per_s", "float", "1/s", "training rows per second", BY)
TIME_FORWARD_S = _field("time_forward_s", "float", "s", "simulated: the forward passes of a step", BY)
TIME_BACKWARD_S = _field("time_backward_s", "float", "s", "simulated: the backward passes of a step", BY)
TIME_RECOMPUTE_S = _field("time_recompute_s", "float", "s", "simulated: recomputation under checkpointing", BY)
TIME_OPTIMIZER_S = _field("time_optimizer_s", "float", "s", "simulated: the optimizer's update", BY)
ENERGY_PER_STEP_J = _field("energy_per_step_j", "float", "J", "simulated: energy of one step", BY)
PROJECTION = _field("projection_{devices}", "str", "", "projection over {devices} devices: the link, or why none", BY)
PROJECTED_STEP_S = _field("projected_step_s_{devices}", "float", "s", "projected step over {devices} devices", BY)
PROJECTED_ALLREDUCE_S = _field(
    "projected_allreduce_s_{devices}", "float", "s", "projected all-reduce over {devices} devices", BY
)
PROJECTED_EFFICIENCY = _field(
    "projected_efficiency_{devices}", "float", "", "projected scaling efficiency over {devices} devices", BY
)
PROJECTED_SAMPLES_PER_S = _field(
    "projected_samples_per_s_{devices}", "float", "1/s", "projected rows per second over {devices} devices", BY
)

# ---- time to accuracy (benchmarks/test_time_to_accuracy.py) ----
BY = "time-to-accuracy"
TARGET_ACCURACY = _field("target_accuracy", "float", "", "the test accuracy trained to", BY)
MAX_EPOCHS = _field("max_epochs", "int", "", "the epochs allowed", BY)
SEEDS = _field("seeds", "int", "", "seeds trained", BY)
REACHED_SEEDS = _field("reached_seeds", "int", "", "seeds that reached the target", BY)
TIME_TO_ACCURACY_S_MEAN = _field("time_to_accuracy_s_mean", "float", "s", "mean wall time of those that did", BY)
TIME_TO_ACCURACY_S_STD = _field("time_to_accuracy_s_std", "float", "s", "its sample standard deviation", BY)
EPOCHS_TO_ACCURACY_MEAN = _field("epochs_to_accuracy_mean", "float", "", "mean epochs of those that did", BY)
EPOCHS_TO_ACCURACY_STD = _field("epochs_to_accuracy_std", "float", "", "its sample standard deviation", BY)
BEST_ACCURACY_MEAN = _field("best_accuracy_mean", "float", "", "mean best accuracy over seeds", BY)
VERDICT = _field("verdict", "str", "", "one line: reached in every seed, in some, or not", BY)
SEED_RUN = _field("seed_{n}", "str", "", "seed {n}'s run, in one line", BY)

# ---- distributed (parallel/) ----
BY = "distributed"
NPROC = _field("nproc", "int", "", "processes", BY)
HOSTS = _field("hosts", "int", "", "machines the processes ran on", BY)
BACKEND = _field("backend", "str", "", "torch.distributed backend (gloo, nccl)", BY)
THREADS_PER_PROCESS = _field("threads_per_process", "int", "", "intra-op threads of each process", BY)
PER_PROCESS_BATCH = _field("per_process_batch", "int", "rows", "rows per process per step", BY)
NO_SYNC = _field("no_sync", "bool", "", "gradients all-reduced once per accumulated step (DDP no_sync)", BY)
GRAD_BYTES = _field("grad_bytes", "int", "B", "bytes of the gradients all-reduced per step", BY)
ALLREDUCE_S = _field("allreduce_s", "float", "s", "all-reduce time per step", BY)
ALLREDUCE_SHARE = _field("allreduce_share", "float", "", "all-reduce time / step time", BY)
REPLICAS_IDENTICAL = _field("replicas_identical", "bool", "", "every rank's weights equal after training", BY)
STAGES = _field("stages", "int", "", "pipeline stages", BY)
STAGE_MODULES = _field("stage_modules", "str", "", "the modules of each stage", BY)
MICROBATCHES = _field("microbatches", "int", "", "pipeline micro-batches per step", BY)
BUBBLE_FRACTION_IDEAL = _field("bubble_fraction_ideal", "float", "", "(S-1)/(M+S-1)", BY)
BUBBLE_FRACTION_MEASURED = _field("bubble_fraction_measured", "float", "", "1 - a stage's compute / step", BY)
BUSY_FRACTION_RANK = _field("busy_fraction_rank{n}", "float", "", "rank {n}'s compute / step time", BY)
LOSS_LAST_STEP = _field("loss_last_step", "float", "", "the pipeline's loss at its last step", BY)

# ---- added by the loader (reports/load/run.py), from the entry and the run ----
BY = "the loader"
CASE = _field("case", "str", "", "the case's id, e.g. test_inference[cpu-digits-mlp-fp32-1]", BY)
STATUS = _field("status", "str", "", "ok, error or skipped", BY)
MESSAGE = _field("message", "str", "", "why it errored or was skipped", BY)
LATENCY_MEDIAN_S = _field("latency_median_s", "float", "s", "median seconds per call (simulated: the model's)", BY)
LATENCY_MEAN_S = _field("latency_mean_s", "float", "s", "mean seconds per call", BY)
LATENCY_MIN_S = _field("latency_min_s", "float", "s", "fastest round's seconds per call", BY)
LATENCY_STDDEV_S = _field("latency_stddev_s", "float", "s", "standard deviation over rounds", BY)
LATENCY_IQR_S = _field("latency_iqr_s", "float", "s", "interquartile range over rounds", BY)
ROUNDS = _field("rounds", "int", "", "timed rounds (0: simulated)", BY)
LATENCY_SAMPLES_S = _field("latency_samples_s", "json", "s", "every round's seconds per call (regression gate)", BY)
SIMULATOR_S = _field("simulator_s", "float", "s", "simulated cases: the simulator's own run time", BY)
TORCH_VERSION = _field("torch_version", "str", "", "torch's version", BY)
TORCHAO_VERSION = _field("torchao_version", "str", "", "torchao's version", BY)
PYTHON_VERSION = _field("python_version", "str", "", "Python's version", BY)
RUN_DATETIME = _field("run_datetime", "str", "", "when the run started (UTC)", BY)
RUN_FILE = _field("run_file", "str", "", "the results file", BY)
RUN_PARTIAL = _field("run_partial", "str", "", "why the run is incomplete, or empty", BY)
FINGERPRINT = _field("fingerprint_{field}", "str", "", "the machine and software fact {field} of the run", BY)
MACHINE_ID = _field("machine_id", "str", "", "short hash of the fingerprint: runs comparable when equal", BY)
COMMIT_ID = _field("commit_id", "str", "", "git commit of the code that ran", BY)
COMMIT_TIME = _field("commit_time", "str", "", "its time", BY)
COMMIT_DIRTY = _field("commit_dirty", "bool", "", "uncommitted changes were present", BY)

# ---- device facts (each device's facts(), joined onto its rows by the loader) ----
BY = "device facts"
CPU_MODEL = _field("cpu_model", "str", "", "the CPU's model name", BY)
CPU_CORES_LOGICAL = _field("cpu_cores_logical", "int", "", "logical cores", BY)
CPU_CORES_PHYSICAL = _field("cpu_cores_physical", "int", "", "physical cores", BY)
THREADS = _field("threads", "int", "", "threads the device's cases used", BY)
TORCH_CPU_CAPABILITY = _field("torch_cpu_capability", "str", "", "torch's CPU kernel level (AVX2, AVX512)", BY)
QUANTIZED_ENGINE = _field("quantized_engine", "str", "", "torch.backends.quantized.engine", BY)
MEMORY_METRIC = _field("memory_metric", "str", "", "what peak_memory_bytes measures on this device", BY)
CPU_FLAG = _field("flag_{flag}", "bool", "", "the CPU has instruction-set flag {flag} (/proc/cpuinfo)", BY)
PRICE_PER_HOUR_USD = _field("price_per_hour_usd", "float", "USD/h", "the device's price (a price file overrides)", BY)
PRICE_SOURCE = _field("price_source", "str", "", "where the price comes from", BY)
GPU_NAME = _field("gpu_name", "str", "", "the GPU's name", BY)
GPU_COMPUTE_CAPABILITY = _field("gpu_compute_capability", "str", "", "CUDA compute capability", BY)
GPU_MEMORY_BYTES = _field("gpu_memory_bytes", "int", "B", "the GPU's memory", BY)
CUDA_VERSION = _field("cuda_version", "str", "", "CUDA's version torch was built with", BY)
GPU_DRIVER = _field("gpu_driver", "str", "", "the NVIDIA driver's version (NVML)", BY)
GPU_POWER_LIMIT_W = _field("gpu_power_limit_w", "float", "W", "the GPU's power limit (NVML)", BY)
GPU_NVML_NAME = _field("gpu_nvml_name", "str", "", "the GPU's name as NVML gives it", BY)
PROFILE_PATH = _field("profile_path", "str", "", "the device profile's file", BY)
DESCRIPTION = _field("description", "str", "", "what the profile models", BY)
FIGURES_BY_CONFIDENCE = _field(
    "figures_{confidence}", "int", "", "profile figures tagged {confidence} (vendor, secondary, derived, assumed)", BY
)
ROOF_BANDWIDTH_BPS = _field("roof_bandwidth_bps", "float", "B/s", "the roofline's slope: DRAM/HBM bandwidth", BY)
ROOF_PEAK_FLOPS = _field("roof_peak_{dtype}_flops", "float", "FLOP/s", "peak arithmetic in {dtype}", BY)
INTERCONNECT = _field("interconnect", "str", "", "the links a profile lists for data-parallel training", BY)
FACTS_ERROR = _field("facts_error", "str", "", "a device whose facts() failed: the error", BY)

# ---- added by the report (reports/analysis), in results.csv ----
BY = "the report"
BASELINE_LATENCY_S = _field("baseline_latency_s", "float", "s", "fp32's latency_median_s, same device and batch", BY)
BASELINE_ACCURACY = _field("baseline_accuracy", "float", "", "fp32's accuracy", BY)
BASELINE_FLOPS = _field("baseline_flops", "float", "FLOP", "fp32's flops_per_batch", BY)
SPEEDUP = _field("speedup", "float", "x", "baseline_latency_s / latency_median_s (unpaired)", BY)
ACCURACY_DELTA = _field("accuracy_delta", "float", "", "accuracy - baseline_accuracy", BY)
ACCURACY_RATIO = _field("accuracy_ratio", "float", "", "accuracy / baseline_accuracy", BY)
FLOPS_RATIO = _field("flops_ratio", "float", "", "flops_per_batch / baseline_flops", BY)
SPEEDUP_SHOWN = _field("speedup_shown", "float", "x", "the paired median where paired, else the unpaired one", BY)
SPEEDUP_CI_LOW = _field("speedup_ci_low", "float", "x", "its 95% interval, low end (paired only)", BY)
SPEEDUP_CI_HIGH = _field("speedup_ci_high", "float", "x", "its 95% interval, high end (paired only)", BY)
SPEEDUP_BASIS = _field("speedup_basis", "str", "", "paired or unpaired", BY)
SPEEDUP_VERDICT = _field("speedup_verdict", "str", "", "faster, slower or no significant difference", BY)
WHY = _field("why", "str", "", "what the recorded facts say about a slower case", BY)
COST_PER_MILLION_USD = _field("cost_per_million_usd", "float", "USD", "price x time of a million inferences", BY)
COST_METHOD = _field("cost_method", "str", "", "measured or simulated latency behind the cost", BY)


def field_of(column: str) -> Field | None:
    """The declared field a column is, or None."""
    return next((f for f in FIELDS if f.matches(column)), None)


def undeclared(record: dict) -> list[str]:
    """The keys of a case's record that no field declares (a writer added one without declaring it here)."""
    return sorted(k for k in record if field_of(k) is None)


def flat(record: dict) -> dict:
    """Only flat scalars go into a record; anything else is recorded as its text."""
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in record.items()}


# ---- entries of the run file ----


def stats_of(times_s: list[float]) -> dict[str, float | int]:
    """pytest-benchmark's summary of per-round seconds, for entries timed outside pytest-benchmark."""
    if not times_s:
        raise ValueError("no timed rounds to summarise")
    ordered = sorted(times_s)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    mean = statistics.fmean(ordered)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "median": statistics.median(ordered),
        "stddev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        "q1": quartiles[0],
        "q3": quartiles[2],
        "iqr": quartiles[2] - quartiles[0],
        "rounds": len(ordered),
        "iterations": 1,
        "total": sum(ordered),
        "ops": 1 / mean if mean > 0 else 0.0,
        "data": list(times_s),
    }


def timed_entry(name: str, fullname: str, params: dict, record: dict, times_s: list[float]) -> dict:
    """A timed case as pytest-benchmark writes one: `record` is its extra_info."""
    return {
        "group": None,
        "name": name,
        "fullname": fullname,
        "params": params,
        "extra_info": flat(record),
        "options": {},
        "stats": stats_of(times_s),
    }


def outcome_entry(name: str, fullname: str, status: str, message: str, params: dict, when: str = "call") -> dict:
    """A case that errored or was skipped: the report lists it under "Not measured" with `message`."""
    if status not in (ERROR, SKIPPED):
        raise ValueError(f"an outcome's status is {ERROR!r} or {SKIPPED!r}; got {status!r}")
    return {"name": name, "fullname": fullname, "status": status, "when": when, "message": message, "params": params}


def new_run(machine_info: dict | None = None, commit_info: dict | None = None) -> dict:
    """A run file with no case yet."""
    return {
        MACHINE_INFO: machine_info or {},
        COMMIT_INFO: commit_info or {},
        BENCHMARKS: [],
        "datetime": datetime.now(timezone.utc).isoformat(),
        "version": "accelbench",
        OUTCOMES: [],
    }


def write_run(path: str | Path, run: dict) -> Path:
    """The run file, written atomically (a reader sees the old file or the new one, never half of one)."""
    return atomic_write(path, json.dumps(run, indent=1, default=str))


def merge_into(path: str | Path, entries: list[dict] = (), outcomes: list[dict] = (), harness: dict | None = None):
    """Adds timed `entries` and `outcomes` to the run file at `path` (created if missing): an entry with the same
    name replaces the earlier one, so a rerun updates its rows and a success clears an earlier failure. `harness`:
    versions and device facts (accelbench/machine.py), each added to the run's where missing."""
    path = Path(path)
    try:
        run = read_run(path) if path.exists() and path.stat().st_size > 0 else new_run()
    except ResultsFileError as exc:
        raise ResultsFileError(path, f"{exc.problem}; refusing to overwrite it, pass another --out") from None
    names = {e["name"] for e in entries} | {o["name"] for o in outcomes}
    run[BENCHMARKS] = [b for b in run[BENCHMARKS] if b.get("name") not in names] + list(entries)
    run[OUTCOMES] = [o for o in run.get(OUTCOMES) or [] if o.get("name") not in names] + list(outcomes)
    ours = run.setdefault(MACHINE_INFO, {}).setdefault(HARNESS, {})
    for key, value in (harness or {}).items():
        if key == "devices":
            for name, facts in value.items():
                ours.setdefault("devices", {}).setdefault(name, facts)
        else:
            ours.setdefault(key, value)
    return write_run(path, run)


# ---- reading ----


class ResultsFileError(ValueError):
    """A results file that is missing, empty, not JSON or not a pytest-benchmark run; the message names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def newest_run(directory: Path) -> Path:
    """The newest run in `directory`: its JSON, or the journal of a run that did not finish (no JSON beside it)."""
    runs = [
        p
        for p in directory.glob("*.json*")
        if p.suffix == ".json" or (p.suffix == ".jsonl" and not p.with_suffix(".json").exists())
    ]
    if not runs:
        raise ResultsFileError(directory, "no results (*.json, or a *.jsonl journal) here; run `make bench` first")
    return max(runs, key=lambda p: p.stat().st_mtime)


def read_run(path: str | Path) -> dict:
    """The parsed run, or ResultsFileError saying what is wrong with the file. A journal (`.jsonl`), or a results
    path whose JSON was never written but whose journal exists, reads as a partial run (accelbench/journal.py)."""
    path = Path(path)
    if path.is_dir():
        raise ResultsFileError(path, "is a directory; pass a results file (results/<run>.json)")
    if path.suffix == ".jsonl" or (not path.exists() and path.with_suffix(".jsonl").is_file()):
        try:
            return read_journal(path.with_suffix(".jsonl"))
        except (OSError, ValueError) as exc:
            raise ResultsFileError(path.with_suffix(".jsonl"), str(exc)) from None
    if not path.is_file():
        raise ResultsFileError(path, "no such results file (run `make bench` first, or pass an existing file)")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ResultsFileError(path, "the file is empty (was the run interrupted before it saved?)")
    try:
        run = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(run, dict) or not isinstance(run.get(BENCHMARKS), list):
        raise ResultsFileError(path, "not a pytest-benchmark JSON file (no 'benchmarks' list)")
    return run


def read_journal(path: str | Path) -> dict:
    """The journal as the JSON of a run (its "benchmarks", "accelbench_outcomes", "machine_info"...), with
    `accelbench_journal` saying how whole it is: `complete` (the run reached its end), `in_flight` (the case a killed
    run was in, with `in_flight_params`), `bad_lines` (torn by a kill, or foreign). ValueError if it is no journal."""
    path = Path(path)
    if not path.is_file():
        raise ValueError("no such journal")
    run: dict = {BENCHMARKS: [], OUTCOMES: []}
    state = {"complete": False, "in_flight": None, "in_flight_params": {}, "bad_lines": 0, "path": str(path)}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
            kind = event["event"]
        except (json.JSONDecodeError, TypeError, KeyError):
            state["bad_lines"] += 1  # the line a kill tore in half, most likely
            continue
        if kind == "run":
            run.setdefault(MACHINE_INFO, event.get(MACHINE_INFO))
            run.setdefault(COMMIT_INFO, event.get(COMMIT_INFO))
            run.setdefault("datetime", event.get("datetime"))
        elif kind == "start":
            state.update(in_flight=event.get("name"), in_flight_params=event.get("params") or {}, complete=False)
        elif kind == "case":
            if event.get("benchmark"):
                run[BENCHMARKS].append(event["benchmark"])
            elif event.get("outcome"):
                run[OUTCOMES].append(event["outcome"])
            state.update(in_flight=None, in_flight_params={})
        elif kind == "end":
            state["complete"] = True
    if MACHINE_INFO not in run:
        raise ValueError("not an accelbench journal (no run line; was it killed before its first case?)")
    run[JOURNAL_STATE] = state
    return run


def recorded(run: dict) -> set[str]:
    """Names of the cases a journal's run has a result for (timed, errored or skipped)."""
    return {b["name"] for b in run[BENCHMARKS]} | {o["name"] for o in run[OUTCOMES]}


def partial_reason(run: dict) -> str | None:
    """Why the run's results are incomplete, in a sentence, or None when the run finished."""
    state = run.get(JOURNAL_STATE)
    if state is not None and not state["complete"]:
        flight = f"; it was killed during {state['in_flight']}" if state["in_flight"] else ""
        return f"the run did not finish: built from its journal {state['path']}{flight}"
    if run.get(EXITSTATUS) == 2:
        return "the run was interrupted (pytest exit status 2): cases after the interruption are missing"
    return None


def reference() -> str:
    """The reference of every field as Markdown: docs/results.md."""
    lines = [
        "# Recorded fields",
        "",
        "Generated by `python -m accelbench.results > docs/results.md` from `accelbench/results.py`, the one module",
        "that names them; `tests/test_results.py` keeps this page equal to it. Each is a column of `results.csv`.",
        "A name with `{...}` is a family (one column per value).",
    ]
    for stage in dict.fromkeys(f.recorded_by for f in FIELDS):
        lines += ["", f"## Recorded by {stage}", "", "| field | type | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.type} | {f.unit} | {f.meaning} |" for f in FIELDS if f.recorded_by == stage]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
