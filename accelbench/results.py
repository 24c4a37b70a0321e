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
from accelbench.stats import FASTEST, WINDOW_QUANTILE

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


# who records a field: the stages, in the order the reference lists them
EVERY = "every benchmark"
INFERENCE = "inference"
SIMULATED_DEVICES = "simulated devices"
TECHNIQUES = "techniques"
TRAINING = "training"
TIME_TO_ACCURACY = "time-to-accuracy"
DISTRIBUTED = "distributed"
LOADER = "the loader"
DEVICE_FACTS = "device facts"
REPORT = "the report"

# name, type, unit, meaning, who records it
FIELDS: list[Field] = [
    Field("device", "str", "", "registry name of the device (`cpu`, `sim-tpu-v4`)", EVERY),
    Field("workload", "str", "", "registry name of the workload", EVERY),
    Field("technique", "str", "", "registry name of the technique (a training recipe's, in training)", EVERY),
    Field("batch_size", "int", "rows", "inputs per call (per step, in training)", EVERY),
    Field("simulated", "bool", "", "figures come from a cost model, not a clock (marked † everywhere)", EVERY),
    Field("benchmark", "str", "", "which benchmark: inference, training, time-to-accuracy, ddp, pipeline", EVERY),
    Field("load_avg_1m", "float", "", "the machine's 1-minute load average when the case ran", EVERY),
    Field(
        "others_cpu_fraction",
        "float",
        "",
        "share of the machine's CPU time other processes used while a measured case was timed (accelbench/contention.py)",
        EVERY,
    ),
    Field(
        "cpu_steal_fraction", "float", "", "share of the CPU time the hypervisor gave away while it was timed", EVERY
    ),
    Field(
        "machine_slowdown",
        "float",
        "x",
        "a fixed probe's time beside the case over its median in this run (accelbench/contention.py)",
        EVERY,
    ),
    Field(
        "contended",
        "bool",
        "",
        "measured under contention: others over 20%, steal over 10% or the machine 1.3x slower than usual (marked ‡)",
        EVERY,
    ),
    Field("contention", "str", "", "why a case is marked contended, in words", EVERY),
    Field(
        "runtime", "str", "", "how the model runs: eager, compiled, onnxruntime or deployed (vendor's runtime)", EVERY
    ),
    Field("accuracy", "float", "", "the workload's quality score on the test split (its `metric`)", INFERENCE),
    Field("metric", "str", "", "what `accuracy` means, e.g. top-1 accuracy on the test split", INFERENCE),
    Field("nn_unchanged", "float", "", "minilm: test sentences keeping their fp32 nearest neighbour", INFERENCE),
    Field("min_cosine", "float", "", "minilm: the worst test sentence's cosine to its fp32 embedding", INFERENCE),
    Field("model_size_bytes", "int", "B", "serialised state dict (the ONNX file for onnxruntime)", INFERENCE),
    Field("compressed_size_bytes", "int", "B", "serialised size, zeros stored as a bitmask where smaller", INFERENCE),
    Field("param_count", "int", "", "parameters, however stored", INFERENCE),
    Field("bits_per_param", "float", "bit", "8 x model_size_bytes / param_count", INFERENCE),
    Field("weight_sparsity", "float", "", "fraction of exact zeros among the dense float weights", INFERENCE),
    Field("flops_per_batch", "int", "FLOP", "FLOPs of one call (a multiply-add counts 2)", INFERENCE),
    Field("first_call_s", "float", "s", "the first call (compilation, kernel set-up); real devices", INFERENCE),
    Field("model_setup_s", "float", "s", "workload.model(): training on first use or loading", INFERENCE),
    Field(
        "apply_s",
        "float",
        "s",
        "technique.apply(): quantization, fine-tuning (not compilation; a fine-tune kept from an earlier run is a load)",
        INFERENCE,
    ),
    Field("peak_memory_bytes", "int", "B", "peak memory of one call (what is measured: memory_metric)", INFERENCE),
    Field("technique_dtype", "str", "", "number format of the weights and matmuls (fp32, int8...)", INFERENCE),
    Field("roofline_ops", "json", "", "fp32 at the largest batch: [FLOP/byte, FLOP/s] per operator", INFERENCE),
    Field("energy_per_inference_j", "float", "J", "energy of one input (call / batch)", INFERENCE),
    Field("energy_method", "str", "", "measured (a counter), estimated (a model) or simulated", INFERENCE),
    Field("energy_source", "str", "", "what was read, or why nothing was", INFERENCE),
    Field("energy_calls", "int", "", "calls metered together to fill the meter's window", INFERENCE),
    Field("average_power_w", "float", "W", "energy / seconds over the metered calls", INFERENCE),
    Field(
        "paired_speedup",
        "float",
        "x",
        f"baseline / case seconds, each the mean of its model's {FASTEST} fastest paired rounds (accelbench/stats.py)",
        INFERENCE,
    ),
    Field("paired_speedup_ci_low", "float", "x", "95% bootstrap interval, low end", INFERENCE),
    Field("paired_speedup_ci_high", "float", "x", "95% bootstrap interval, high end", INFERENCE),
    Field("paired_rounds", "int", "", "pairs of rounds", INFERENCE),
    Field(
        "paired_rounds_s", "json", "s", "each pair's seconds per call, [baseline, case], in the order taken", INFERENCE
    ),
    Field(
        "paired_passes",
        "int",
        "",
        "passes the rounds were taken in (after the timing, then at the run's end)",
        INFERENCE,
    ),
    Field("paired_verdict", "str", "", "faster, slower or no significant difference", INFERENCE),
    Field("paired_note", "str", "", "why the case was not paired (the baseline itself, too slow...)", INFERENCE),
    Field("paired_s", "float", "s", "what pairing cost this case", INFERENCE),
    Field("paired_calls_per_round", "int", "", "calls of the case per round", INFERENCE),
    Field("paired_calls_per_baseline_round", "int", "", "calls of the baseline per round", INFERENCE),
    Field(
        "latency_windows_s",
        "json",
        "s",
        "each timing window alone (pytest-benchmark's, then `windows_per_pass` per later pass): seconds per call, its rounds'"
        f" {WINDOW_QUANTILE:.0%} quantile",
        INFERENCE,
    ),
    Field(
        "latency_best_window_s",
        "float",
        "s",
        "the fastest of those windows: the latency unpaired speedups are computed from",
        INFERENCE,
    ),
    Field("simulated_latency_s", "float", "s", "the cost model's latency (of a step, in training)", SIMULATED_DEVICES),
    Field("bound", "str", "", "what limits the call: compute, memory, overhead, host or power", SIMULATED_DEVICES),
    Field("time_{bound}_s", "float", "s", "time of the operators bound by {bound}", SIMULATED_DEVICES),
    Field("power_limited", "bool", "", "stretched to stay within the device's TDP", SIMULATED_DEVICES),
    Field("host_ops", "int", "", "operators that fell back to the host", SIMULATED_DEVICES),
    Field("upcast_ops", "int", "", "operators run in a wider dtype than asked", SIMULATED_DEVICES),
    Field("graph_ops", "int", "", "operators in the captured graph", SIMULATED_DEVICES),
    Field(
        "capture_s",
        "float",
        "s",
        "capturing the operator graph on the host (or reading it from the cache)",
        SIMULATED_DEVICES,
    ),
    Field("profile", "str", "", "the device profile's name", SIMULATED_DEVICES),
    Field("profile_version", "str", "", "the device profile's version", SIMULATED_DEVICES),
    Field("accuracy_on", "str", "", "where accuracy was measured (host: the host ran the model)", SIMULATED_DEVICES),
    Field("throughput_per_s", "float", "1/s", "batch_size / latency_median_s", LOADER),
    Field("case", "str", "", "the case's id, e.g. test_inference[cpu-digits-mlp-fp32-1]", LOADER),
    Field("status", "str", "", "ok, error or skipped", LOADER),
    Field("message", "str", "", "why it errored or was skipped", LOADER),
    Field("latency_median_s", "float", "s", "median seconds per call (simulated: the model's)", LOADER),
    Field("latency_mean_s", "float", "s", "mean seconds per call", LOADER),
    Field("latency_min_s", "float", "s", "fastest round's seconds per call", LOADER),
    Field("latency_stddev_s", "float", "s", "standard deviation over rounds", LOADER),
    Field("latency_iqr_s", "float", "s", "interquartile range over rounds", LOADER),
    Field("rounds", "int", "", "timed rounds (0: simulated)", LOADER),
    Field("latency_samples_s", "json", "s", "every round's seconds per call (regression gate)", LOADER),
    Field("simulator_s", "float", "s", "simulated cases: the simulator's own run time", LOADER),
    Field("torch_version", "str", "", "torch's version", LOADER),
    Field("torchao_version", "str", "", "torchao's version", LOADER),
    Field("python_version", "str", "", "Python's version", LOADER),
    Field("run_datetime", "str", "", "when the run started (UTC)", LOADER),
    Field("run_file", "str", "", "the results file", LOADER),
    Field("run_partial", "str", "", "why the run is incomplete, or empty", LOADER),
    Field("fingerprint_{field}", "str", "", "the machine and software fact {field} of the run", LOADER),
    Field("machine_id", "str", "", "short hash of the fingerprint: runs comparable when equal", LOADER),
    Field("commit_id", "str", "", "git commit of the code that ran", LOADER),
    Field("commit_time", "str", "", "its time", LOADER),
    Field("commit_dirty", "bool", "", "uncommitted changes were present", LOADER),
    Field(
        "finetune_s",
        "float",
        "s",
        "fine-tuning inside apply(), as long as the training took (also when its result was kept from an earlier run)",
        TECHNIQUES,
    ),
    Field("sparse_kernel", "str", "", "the sparse kernel used, or none: why", TECHNIQUES),
    Field("layers_2of4", "int", "", "layers pruned to the 2:4 pattern", TECHNIQUES),
    Field("binary_kernel", "str", "", "the binary kernel used, or none: why", TECHNIQUES),
    Field("binary_weight_fraction", "float", "", "fraction of weights binarised", TECHNIQUES),
    Field("batchnorms_folded", "int", "", "BatchNorm layers folded into convolutions", TECHNIQUES),
    Field("convs_separated", "int", "", "convolutions made depthwise-separable", TECHNIQUES),
    Field("int8_kernels", "int", "", "int8 kernels the compiler made (0: ran as float)", TECHNIQUES),
    Field("fast_path", "bool", "", "the compiled int8 fast path was taken", TECHNIQUES),
    Field(
        "compile_settings_lost",
        "bool",
        "",
        "dynamo compiled the model again without its inductor settings (techniques/compiled.py RECOVERIES)",
        TECHNIQUES,
    ),
    Field("quantized_layers", "int", "", "layers quantized (weight-only)", TECHNIQUES),
    Field("activation_dtype", "str", "", "dtype of activations (weight-only int4: bfloat16)", TECHNIQUES),
    Field("onnxruntime_version", "str", "", "ONNX Runtime's version", TECHNIQUES),
    Field("kd_val_accuracy_mean", "float", "", "distilled students' validation accuracy", TECHNIQUES),
    Field("kd_val_accuracy_std", "float", "", "its spread over seeds", TECHNIQUES),
    Field("scratch_val_accuracy_mean", "float", "", "students trained from scratch: validation accuracy", TECHNIQUES),
    Field("scratch_val_accuracy_std", "float", "", "its spread over seeds", TECHNIQUES),
    Field("student_param_fraction", "float", "", "student parameters / teacher's", TECHNIQUES),
    Field("optimizer", "str", "", "the recipe's optimizer", TRAINING),
    Field("loss_after_steps", "float", "", "validation loss after loss_steps steps", TRAINING),
    Field("loss_steps", "int", "", "optimizer steps before the loss is read", TRAINING),
    Field("loss_on", "str", "", "where the loss was measured (host, for simulated devices)", TRAINING),
    Field(
        "host_stand_in",
        "str",
        "",
        "simulated: the recipe the host ran in this one's place, as it cannot run it (amp-fp16 on a CPU: amp-bf16, "
        "its graph priced in fp16; its loss is the stand-in's)",
        TRAINING,
    ),
    Field("saved_activation_bytes", "int", "B", "bytes saved for backward, at peak", TRAINING),
    Field("saved_tensors", "int", "", "tensors saved for backward", TRAINING),
    Field("param_bytes", "int", "B", "bytes of the parameters", TRAINING),
    Field("optimizer_state_bytes", "int", "B", "bytes of the optimizer's state", TRAINING),
    Field("micro_batches", "int", "", "micro-batches per step (gradient accumulation)", TRAINING),
    Field("micro_batch_size", "int", "rows", "rows per micro-batch", TRAINING),
    Field("first_step_s", "float", "s", "the first step (compilation); real devices", TRAINING),
    Field("rss_bytes", "int", "B", "the process's resident memory after the case", TRAINING),
    Field("samples_per_s", "float", "1/s", "training rows per second", TRAINING),
    Field("time_forward_s", "float", "s", "simulated: the forward passes of a step", TRAINING),
    Field("time_backward_s", "float", "s", "simulated: the backward passes of a step", TRAINING),
    Field("time_recompute_s", "float", "s", "simulated: recomputation under checkpointing", TRAINING),
    Field("time_optimizer_s", "float", "s", "simulated: the optimizer's update", TRAINING),
    Field("energy_per_step_j", "float", "J", "simulated: energy of one step", TRAINING),
    Field("projection_{devices}", "str", "", "projection over {devices} devices: the link, or why none", TRAINING),
    Field("projected_step_s_{devices}", "float", "s", "projected step over {devices} devices", TRAINING),
    Field("projected_allreduce_s_{devices}", "float", "s", "projected all-reduce over {devices} devices", TRAINING),
    Field("projected_efficiency_{devices}", "float", "", "projected scaling efficiency, {devices} devices", TRAINING),
    Field("projected_samples_per_s_{devices}", "float", "1/s", "projected rows/s, {devices} devices", TRAINING),
    Field("target_accuracy", "float", "", "the test accuracy trained to", TIME_TO_ACCURACY),
    Field("max_epochs", "int", "", "the epochs allowed", TIME_TO_ACCURACY),
    Field("seeds", "int", "", "seeds trained", TIME_TO_ACCURACY),
    Field("reached_seeds", "int", "", "seeds that reached the target", TIME_TO_ACCURACY),
    Field("time_to_accuracy_s_mean", "float", "s", "mean wall time of those that did", TIME_TO_ACCURACY),
    Field("time_to_accuracy_s_std", "float", "s", "its sample standard deviation", TIME_TO_ACCURACY),
    Field("epochs_to_accuracy_mean", "float", "", "mean epochs of those that did", TIME_TO_ACCURACY),
    Field("epochs_to_accuracy_std", "float", "", "its sample standard deviation", TIME_TO_ACCURACY),
    Field("best_accuracy_mean", "float", "", "mean best accuracy over seeds", TIME_TO_ACCURACY),
    Field("verdict", "str", "", "one line: reached in every seed, in some, or not", TIME_TO_ACCURACY),
    Field("seed_{n}", "str", "", "seed {n}'s run, in one line", TIME_TO_ACCURACY),
    Field("nproc", "int", "", "processes", DISTRIBUTED),
    Field("hosts", "int", "", "machines the processes ran on", DISTRIBUTED),
    Field("backend", "str", "", "torch.distributed backend (gloo, nccl)", DISTRIBUTED),
    Field("threads_per_process", "int", "", "intra-op threads of each process", DISTRIBUTED),
    Field("per_process_batch", "int", "rows", "rows per process per step", DISTRIBUTED),
    Field("no_sync", "bool", "", "gradients all-reduced once per accumulated step (DDP no_sync)", DISTRIBUTED),
    Field("grad_bytes", "int", "B", "bytes of the gradients all-reduced per step", DISTRIBUTED),
    Field("allreduce_s", "float", "s", "all-reduce time per step", DISTRIBUTED),
    Field("allreduce_share", "float", "", "all-reduce time / step time", DISTRIBUTED),
    Field("replicas_identical", "bool", "", "every rank's weights equal after training", DISTRIBUTED),
    Field("stages", "int", "", "pipeline stages", DISTRIBUTED),
    Field("stage_modules", "str", "", "the modules of each stage", DISTRIBUTED),
    Field("microbatches", "int", "", "pipeline micro-batches per step", DISTRIBUTED),
    Field("bubble_fraction_ideal", "float", "", "(S-1)/(M+S-1)", DISTRIBUTED),
    Field("bubble_fraction_measured", "float", "", "1 - a stage's compute / step", DISTRIBUTED),
    Field("busy_fraction_rank{n}", "float", "", "rank {n}'s compute / step time", DISTRIBUTED),
    Field("loss_last_step", "float", "", "the pipeline's loss at its last step", DISTRIBUTED),
    Field("cpu_model", "str", "", "the CPU's model name", DEVICE_FACTS),
    Field("cpu_cores_logical", "int", "", "logical cores", DEVICE_FACTS),
    Field("cpu_cores_physical", "int", "", "physical cores", DEVICE_FACTS),
    Field("threads", "int", "", "threads the device's cases used", DEVICE_FACTS),
    Field("torch_cpu_capability", "str", "", "torch's CPU kernel level (AVX2, AVX512)", DEVICE_FACTS),
    Field("quantized_engine", "str", "", "torch.backends.quantized.engine", DEVICE_FACTS),
    Field("memory_metric", "str", "", "what peak_memory_bytes measures on this device", DEVICE_FACTS),
    Field("flag_{flag}", "bool", "", "the CPU has instruction-set flag {flag} (/proc/cpuinfo)", DEVICE_FACTS),
    Field("price_per_hour_usd", "float", "USD/h", "the device's price (a price file overrides)", DEVICE_FACTS),
    Field("price_source", "str", "", "where the price comes from", DEVICE_FACTS),
    Field("gpu_name", "str", "", "the GPU's name", DEVICE_FACTS),
    Field("gpu_compute_capability", "str", "", "CUDA compute capability", DEVICE_FACTS),
    Field("gpu_memory_bytes", "int", "B", "the GPU's memory", DEVICE_FACTS),
    Field("cuda_version", "str", "", "CUDA's version torch was built with", DEVICE_FACTS),
    Field("gpu_driver", "str", "", "the NVIDIA driver's version (NVML)", DEVICE_FACTS),
    Field("gpu_power_limit_w", "float", "W", "the GPU's power limit (NVML)", DEVICE_FACTS),
    Field("gpu_nvml_name", "str", "", "the GPU's name as NVML gives it", DEVICE_FACTS),
    Field("profile_path", "str", "", "the device profile's file", DEVICE_FACTS),
    Field("description", "str", "", "what the profile models", DEVICE_FACTS),
    Field("figures_{confidence}", "int", "", "profile figures tagged {confidence} (vendor, derived...)", DEVICE_FACTS),
    Field("roof_bandwidth_bps", "float", "B/s", "the roofline's slope: DRAM/HBM bandwidth", DEVICE_FACTS),
    Field("roof_peak_{dtype}_flops", "float", "FLOP/s", "peak arithmetic in {dtype}", DEVICE_FACTS),
    Field("interconnect", "str", "", "the links a profile lists for data-parallel training", DEVICE_FACTS),
    Field("calibrated_on", "str", "", "the CPU `make calibrate` measured into this profile (sim-cpu)", DEVICE_FACTS),
    Field(
        "published_rows", "int", "", "published measurements of the real device its profile was scored on", DEVICE_FACTS
    ),
    Field("published_median_abs_error", "float", "", "median |predicted / published - 1| over them", DEVICE_FACTS),
    Field("published_worst", "str", "", "the worst of them: its error and row", DEVICE_FACTS),
    Field("published_scored_version", "str", "", "the profile version those errors were computed on", DEVICE_FACTS),
    Field("facts_error", "str", "", "a device whose facts() failed: the error", DEVICE_FACTS),
    Field(
        "baseline_latency_s",
        "float",
        "s",
        "fp32's fastest window (latency_best_window_s, else latency_median_s), same device and batch",
        REPORT,
    ),
    Field("baseline_accuracy", "float", "", "fp32's accuracy", REPORT),
    Field("baseline_flops", "float", "FLOP", "fp32's flops_per_batch", REPORT),
    Field(
        "speedup",
        "float",
        "x",
        "baseline_latency_s / this case's latency, each its fastest window (unpaired)",
        REPORT,
    ),
    Field("accuracy_delta", "float", "", "accuracy - baseline_accuracy", REPORT),
    Field("accuracy_ratio", "float", "", "accuracy / baseline_accuracy", REPORT),
    Field("flops_ratio", "float", "", "flops_per_batch / baseline_flops", REPORT),
    Field("speedup_shown", "float", "x", "the paired speedup where paired, else the unpaired one", REPORT),
    Field("speedup_ci_low", "float", "x", "its 95% interval, low end (paired only)", REPORT),
    Field("speedup_ci_high", "float", "x", "its 95% interval, high end (paired only)", REPORT),
    Field("speedup_basis", "str", "", "paired or unpaired", REPORT),
    Field("speedup_verdict", "str", "", "faster, slower or no significant difference", REPORT),
    Field("baseline_machine_slowdown", "float", "x", "machine_slowdown while the baseline (fp32) was timed", REPORT),
    Field("speedup_disagreement", "float", "", "paired / unpaired speedup - 1 of a paired case", REPORT),
    Field("speedup_check", "str", "", "why the paired and unpaired speedups of a case differ by over 10%", REPORT),
    Field("why", "str", "", "what the recorded facts say about a slower case", REPORT),
    Field("cost_per_million_usd", "float", "USD", "price x time of a million inferences", REPORT),
    Field("cost_method", "str", "", "measured or simulated latency behind the cost", REPORT),
]


def constant_name(field: str) -> str:
    """The constant a field is named by: upper case, a family's `{placeholder}` left out
    (`latency_median_s` -> LATENCY_MEDIAN_S, `projected_step_s_{devices}` -> PROJECTED_STEP_S)."""
    return re.sub(r"_?\{[^}]*\}", "", field).upper()


_CONSTANTS = {constant_name(f.name): f.name for f in FIELDS}


def __getattr__(name: str) -> str:
    """`results.LATENCY_MEDIAN_S` is "latency_median_s": every declared field is a constant of this module, and a
    name no field declares fails loudly (AttributeError) instead of reading a column that is never there."""
    try:
        return _CONSTANTS[name]
    except KeyError:
        raise AttributeError(f"accelbench.results declares no field {name!r}") from None


def __dir__() -> list[str]:
    return sorted([*globals(), *_CONSTANTS])


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
    }


def simulated_provenance(profile: str, version: str, runtime: str, graph_ops: int, capture_s: float) -> dict:
    """What every simulated case records about where its figures come from: the profile, the runtime priced, and
    the captured graph."""
    return record(profile=profile, profile_version=version, runtime=runtime, graph_ops=graph_ops, capture_s=capture_s)


def record(**values: object) -> dict:
    """A case's record (its extra_info), refused if a key is no declared field."""
    unknown = undeclared(values)
    if unknown:
        raise ValueError(f"undeclared fields {unknown}: declare them in accelbench/results.py")
    return flat(values)


def timed_entry(name: str, fullname: str, params: dict, figures: dict, times_s: list[float]) -> dict:
    """A timed case as pytest-benchmark writes one, its rounds summarised (not kept: the regression gate tests only
    the harness's own cases); `figures` is its extra_info, every key a declared field."""
    return {
        "group": None,
        "name": name,
        "fullname": fullname,
        "params": params,
        "extra_info": record(**figures),
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
        except OSError as exc:
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
    return checked_run(path, run)


# what a row's parameters and timing statistics must be, where present (validated once, at load: check_run)
_TEXT_PARAMS = ("device", "workload", "technique", "training_technique")
_INT_PARAMS = ("batch_size", "nproc")
_NUMBER_STATS = ("min", "max", "mean", "median", "stddev", "iqr", "q1", "q3")


def _kind(value: object) -> str:
    """How a JSON value reads in an error message: "a text", "an array"..."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    kinds = {dict: "an object", list: "an array", str: "a text", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _row_problem(row: object, timed: bool) -> str | None:
    """What is wrong with one `benchmarks` (timed) or `accelbench_outcomes` entry, or None."""
    if not isinstance(row, dict):
        return f"is {_kind(row)}, not an object with 'name' and 'params'"
    if not isinstance(row.get("name"), str) or not row["name"]:
        return (
            f"has no 'name' (a case id such as test_inference[cpu-digits-mlp-fp32-1]; found {_kind(row.get('name'))})"
        )
    params = row.get("params")
    if params is not None and not isinstance(params, dict):
        return f"'params' is {_kind(params)}, not an object"
    extra = row.get("extra_info")
    device = (params or {}).get("device", extra.get("device") if isinstance(extra, dict) else None)
    if timed and not isinstance(device, str):
        return "has no params.device (the device the case ran on: every timed case names one)"
    for key, value in (params or {}).items():
        if key in _TEXT_PARAMS and not isinstance(value, str):
            return f"params.{key} = {value!r} must be a text (a registered name)"
        if key in _INT_PARAMS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"params.{key} = {value!r} must be a positive integer"
    for key in ("extra_info", "stats") if timed else ():
        if row.get(key) is not None and not isinstance(row[key], dict):
            return f"'{key}' is {_kind(row[key])}, not an object"
    if not timed:
        if not isinstance(row.get("status"), str):
            return f"'status' is {_kind(row.get('status'))}: one of {OK}, {ERROR}, {SKIPPED}"
        return None
    stats = row.get("stats") or {}
    for key in _NUMBER_STATS:
        value = stats.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"stats.{key} = {value!r} must be a number of seconds"
    rounds = stats.get("rounds")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int)):
        return f"stats.rounds = {rounds!r} must be an integer"
    data = stats.get("data")
    if data is not None and (
        not isinstance(data, list) or not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in data)
    ):
        return "stats.data must be an array of numbers (seconds per call, one per round)"
    return None


def checked_run(path: Path, run: dict) -> dict:
    """`run` if every part the reports read has the shape they read it in; else ResultsFileError naming the first
    entry that does not (its index and case id), the field, the value found and what is valid. Reports, the gate and
    the history all read through here, so a malformed file is one clear error, never a traceback deep inside."""
    for key, kind in ((MACHINE_INFO, dict), (COMMIT_INFO, dict), ("datetime", str)):
        if run.get(key) is not None and not isinstance(run[key], kind):
            raise ResultsFileError(path, f"'{key}' is {_kind(run[key])}, not {_kind(kind())}")
    harness = (run.get(MACHINE_INFO) or {}).get(HARNESS)
    if harness is not None and not isinstance(harness, dict):
        raise ResultsFileError(path, f"'{MACHINE_INFO}.{HARNESS}' is {_kind(harness)}, not an object")
    if run.get(OUTCOMES) is not None and not isinstance(run[OUTCOMES], list):
        raise ResultsFileError(path, f"'{OUTCOMES}' is {_kind(run[OUTCOMES])}, not an array")
    for key, timed in ((BENCHMARKS, True), (OUTCOMES, False)):
        for index, row in enumerate(run.get(key) or []):
            problem = _row_problem(row, timed)
            if problem:
                name = row.get("name") if isinstance(row, dict) else None
                raise ResultsFileError(path, f"{key}[{index}]{f' ({name})' if isinstance(name, str) else ''} {problem}")
    return run


def read_journal(path: str | Path) -> dict:
    """The journal as the JSON of a run (its "benchmarks", "accelbench_outcomes", "machine_info"...), with
    `accelbench_journal` saying how whole it is: `complete` (the run reached its end), `in_flight` (the case a killed
    run was in, with `in_flight_params`), `bad_lines` (torn by a kill, or foreign). ResultsFileError if it is none."""
    path = Path(path)
    if not path.is_file():
        raise ResultsFileError(path, "no such journal")
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
            timed = bool(event.get("benchmark"))
            row = event.get("benchmark") if timed else event.get("outcome")
            if _row_problem(row, timed):  # a foreign or damaged line: counted, the other cases kept
                state["bad_lines"] += 1
                continue
            run[BENCHMARKS if timed else OUTCOMES].append(row)
            state.update(in_flight=None, in_flight_params={})
        elif kind == "end":
            state["complete"] = True
    if MACHINE_INFO not in run:
        raise ResultsFileError(path, "not an accelbench journal (no run line; was it killed before its first case?)")
    run[JOURNAL_STATE] = state
    return checked_run(path, run)


def recorded(run: dict) -> set[str]:
    """Names of the cases a journal's run has a result for (timed, errored or skipped)."""
    return {b["name"] for b in run[BENCHMARKS]} | {o["name"] for o in run[OUTCOMES]}


def selection(paths: list[str], keyword: str, markers: str) -> dict:
    """What a run selected (pytest's paths, -k and -m), as machine_info["accelbench"]["selection"] records it."""
    return {"paths": sorted(str(p) for p in paths), "keyword": keyword or "", "markers": markers or ""}


def warm_up(seconds: float, waited_s: float, returncode: int | None, why: str | None) -> dict:
    """What the background warm-up of inductor's one-time set-up did (conftest.py), as machine_info["accelbench"]
    ["warm_up"] records it: its seconds from start to end, how long the first case after the simulated standard models
    waited for it, its exit status, and why it did not do its work (None: it did)."""
    return {"seconds": round(seconds, 3), "waited_s": round(waited_s, 3), "returncode": returncode, "why": why}


def warm_up_of(run: dict) -> dict | None:
    """The warm-up a run recorded (warm_up()), or None: it had none (no real case after the standard models, a
    pytest-xdist worker's, a run interrupted before it ended, one resumed after a crash: its resuming process ran no
    standard model), or it was made before runs recorded it."""
    found = ((run.get(MACHINE_INFO) or {}).get(HARNESS) or {}).get("warm_up")
    return found if isinstance(found, dict) else None


def selection_of(run: dict) -> dict | None:
    """The selection a run recorded (selection()), or None for a run written before runs recorded it."""
    found = ((run.get(MACHINE_INFO) or {}).get(HARNESS) or {}).get("selection")
    return found if isinstance(found, dict) else None


def partial_reason(run: dict) -> str | None:
    """Why the run's results are incomplete, in a sentence, or None when the run finished."""
    state = run.get(JOURNAL_STATE)
    if state is not None and not state["complete"]:
        flight = f"; it was killed during {state['in_flight']}" if state["in_flight"] else ""
        bad = f"; {state['bad_lines']} unreadable line(s) left out" if state["bad_lines"] else ""
        return f"the run did not finish: built from its journal {state['path']}{flight}{bad}"
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
