from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

from accelbench.measure import fixed_batches, flops_per_call, model_size_bytes, param_count, predict
from techniques import Context
from techniques.int8_dynamic_legacy import Int8DynamicLegacy
from workloads import Split


def test_flops_count_a_linear_layer() -> None:
    layer = nn.Linear(64, 10)
    assert flops_per_call(layer, torch.randn(4, 64)) == 2 * 4 * 64 * 10


def test_int8_matmuls_are_counted_like_fp32_ones() -> None:
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    quantized = copy.deepcopy(model)
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    x = torch.randn(16, 64)
    assert flops_per_call(quantized, x) == flops_per_call(model, x) == 2 * 16 * (64 * 32 + 32 * 10)


def test_packed_int4_and_legacy_int8_matmuls_are_counted() -> None:
    from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig

    model = nn.Sequential(nn.Linear(64, 32)).eval()
    x = torch.randn(4, 64)
    split = Split(x, torch.zeros(4, dtype=torch.int64))
    legacy = Int8DynamicLegacy().apply(model, Context(torch.device("cpu"), split, split))  # it silences the deprecation
    assert flops_per_call(legacy, x) == 2 * 4 * 64 * 32
    int4 = copy.deepcopy(model).bfloat16()
    quantize_(int4, PrototypeInt4WeightOnlyConfig(group_size=32))
    assert flops_per_call(int4, x.bfloat16()) == 2 * 4 * 64 * 32


def test_lstm_matmuls_are_counted() -> None:
    lstm = nn.LSTM(8, 16, batch_first=True).eval()
    steps, batch = 5, 3
    assert flops_per_call(lstm, torch.randn(batch, steps, 8)) == 2 * steps * batch * 4 * 16 * (8 + 16)


def test_sizes_follow_the_dtype() -> None:
    model = nn.Linear(256, 256)
    fp32, bf16 = model_size_bytes(model), model_size_bytes(copy.deepcopy(model).bfloat16())
    assert fp32 > 256 * 256 * 4 and 0.45 < bf16 / fp32 < 0.6
    assert param_count(model) == 256 * 256 + 256
    assert param_count(torch.compile(model)) == param_count(model)


def test_fixed_batches_pad_and_predict_drops_the_padding() -> None:
    x = torch.arange(7.0).unsqueeze(1)
    batches, pad = fixed_batches(x, 3)
    assert [b.shape[0] for b in batches] == [3, 3, 3] and pad == 2
    seen = []
    out = predict(lambda b: (seen.append(b.shape[0]), b * 2)[1], x, 3)
    assert seen == [3, 3, 3]
    assert torch.equal(out, x * 2)


def test_contention_is_what_other_processes_took_from_the_machine_while_timed() -> None:
    from accelbench.contention import CpuClock, contention

    before = CpuClock(wall_s=0.0, busy_s=100.0, steal_s=5.0, own_s=10.0)
    quiet = contention(before, CpuClock(wall_s=2.0, busy_s=102.1, steal_s=5.0, own_s=12.0), cores=2)
    assert quiet["others_cpu_fraction"] == pytest.approx(0.025) and not quiet["contended"] and quiet["contention"] == ""
    # another process kept one of the two cores busy: half the machine
    busy = contention(before, CpuClock(wall_s=2.0, busy_s=104.0, steal_s=5.0, own_s=12.0), cores=2)
    assert busy["others_cpu_fraction"] == pytest.approx(0.5) and busy["contended"]
    assert busy["contention"] == "other processes used 50% of the CPU"
    stolen = contention(before, CpuClock(wall_s=2.0, busy_s=102.0, steal_s=5.8, own_s=12.0), cores=2)
    assert stolen["contended"] and stolen["contention"] == "the hypervisor stole 20%"


def test_a_spinning_process_is_seen_as_contention() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from accelbench.contention import OTHERS_LIMIT, watched

    # another process, not a child of this one (the shell exits; children are this process's own CPU time)
    spin = (
        f"{sys.executable} -c 'import time\nt = time.time()\nwhile time.time() - t < 5: pass' >/dev/null 2>&1 & echo $!"
    )
    pid = int(subprocess.run(["sh", "-c", spin], capture_output=True, text=True, check=True).stdout)
    try:
        time.sleep(0.3)
        with watched() as seen:
            time.sleep(1.0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it had ended
            pass
    # the spinner used about one core of the machine's; idle, this process used none
    assert seen["others_cpu_fraction"] >= 0.8 / (psutil.cpu_count() or 1)
    assert seen["contended"] is (seen["others_cpu_fraction"] > OTHERS_LIMIT)  # on 2 cores: half the machine, marked


def test_a_slower_machine_with_no_process_to_show_for_it_is_contended_by_the_probe() -> None:
    from accelbench.contention import SLOWDOWN_LIMIT, SpeedProbe, speed_probe_s, watched

    assert 0 < speed_probe_s() < 1.0
    # before/after of four windows: the usual speed (1.0), a little slower, usual, then twice as slow
    readings = iter([1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 2.0])
    probe = SpeedProbe(lambda: next(readings))
    windows = []
    for _ in range(4):
        with watched(probe) as seen:
            pass
        windows.append(seen)
    assert windows[1]["machine_slowdown"] == pytest.approx(1.1) and windows[1]["machine_slowdown"] < SLOWDOWN_LIMIT
    assert windows[3]["machine_slowdown"] == pytest.approx(2.0) and probe.usual_s == 1.0
    last = windows[3]
    if last["others_cpu_fraction"] <= 0.2 and last["cpu_steal_fraction"] <= 0.1:  # (this machine could be busy)
        assert last["contended"] and "ran 2x slower than usual" in last["contention"]


def test_a_machine_slow_most_of_the_run_is_not_marked_for_its_usual_speed() -> None:
    """On this project's VM the slow mode was the usual one: against the fastest reading, three quarters of a run
    were marked. Against the median, a case at the usual (slow) speed is not, a rare slower one still is."""
    from accelbench.contention import SpeedProbe, watched

    readings = iter([1.0, 1.0] + [1.9, 1.9] * 5 + [1.9, 3.0])
    probe = SpeedProbe(lambda: next(readings))
    slowdowns = []
    for _ in range(7):
        with watched(probe) as seen:
            pass
        slowdowns.append(seen["machine_slowdown"])
    # (the first slow window is judged against the median of two speeds: 1.9 / 1.45; from the next on, the usual one)
    assert slowdowns[1] == pytest.approx(1.9 / 1.45, abs=0.01)
    assert slowdowns[2:6] == [pytest.approx(1.0)] * 4 and slowdowns[6] == pytest.approx(3.0 / 1.9, abs=1e-3)


def test_the_probe_is_not_the_reason_where_a_process_is() -> None:
    from accelbench.contention import CpuClock, contention

    before = CpuClock(wall_s=0.0, busy_s=100.0, steal_s=5.0, own_s=10.0)
    busy = contention(before, CpuClock(wall_s=2.0, busy_s=104.0, steal_s=5.0, own_s=12.0), cores=2, slowdown=1.9)
    assert busy["contention"] == "other processes used 50% of the CPU" and busy["machine_slowdown"] == 1.9
    quiet = contention(before, CpuClock(wall_s=2.0, busy_s=102.1, steal_s=5.0, own_s=12.0), cores=2, slowdown=1.9)
    assert quiet["contended"] and "1.9x slower" in quiet["contention"]
