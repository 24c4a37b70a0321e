"""Energy meters (accelbench/energy.py, devices/rapl.py, devices/cuda.py) and the rounds after timing
(accelbench/rounds.py): on fake counters and a fake clock, so nothing here depends on this machine's speed."""

from __future__ import annotations

import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import accelbench.energy as energy
import accelbench.rounds as rounds
from accelbench.energy import ESTIMATED, MEASURED, EnergyMeter, Unmetered, energy_meter_of
from devices import CpuDevice, CudaDevice, Device
from devices.cuda import NvmlEnergyMeter
from devices.rapl import CpuTimeEstimate, RaplMeter, cpu_energy_meter, rapl_zones, wrapped_delta_uj


def _zone(root: Path, name: str, energy_uj: int, max_uj: int = 262143328850) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def test_rapl_reads_package_zones_only_and_handles_wrap_around(tmp_path: Path) -> None:
    package = _zone(tmp_path, "intel-rapl:0", 999_000, max_uj=1_000_000)
    _zone(tmp_path, "intel-rapl:0:0", 5)  # a subzone (cores) of package 0: counted within it already
    zones, why = rapl_zones(tmp_path)
    assert [z.path.name for z in zones] == ["intel-rapl:0"] and why == ""
    meter = cpu_energy_meter("any cpu", root=tmp_path)
    assert isinstance(meter, RaplMeter)
    # the counter passes its maximum during the run: 999,000 -> 1,000,000 (wraps to 0) -> 500,000: 0.501 J
    reading = meter.measure(lambda: (package / "energy_uj").write_text("500000\n"))
    assert reading.joules == pytest.approx(0.501) and reading.method == MEASURED and "RAPL" in reading.source
    assert wrapped_delta_uj(10, 30, 100) == 20 and wrapped_delta_uj(90, 5, 100) == 15


def test_unreadable_rapl_falls_back_to_an_estimate_that_says_why(tmp_path: Path) -> None:
    assert "does not exist" in rapl_zones(tmp_path / "absent")[1]
    broken = tmp_path / "intel-rapl:0"
    (broken / "energy_uj").mkdir(parents=True)  # reading it fails as a permission error would (root reads anything)
    (broken / "max_energy_range_uj").write_text("100\n")
    meter = cpu_energy_meter("any cpu", root=tmp_path)
    assert isinstance(meter, CpuTimeEstimate) and "energy_uj cannot be read" in meter.why_not_measured


def test_the_estimate_is_process_cpu_time_times_the_tdp_share() -> None:
    meter = CpuTimeEstimate(watts_per_thread=8.0, basis="test", why_not_measured="no RAPL in this test")
    before = time.process_time()
    reading = meter.measure(lambda: sum(i * i for i in range(300_000)))
    cpu_s = time.process_time() - before
    assert reading.method == ESTIMATED and 0 < reading.joules <= 8.0 * cpu_s
    assert reading.joules == pytest.approx(8.0 * cpu_s, rel=0.2)
    assert "TDP x utilisation" in reading.source and "no RAPL in this test" in reading.source


def test_devices_without_a_meter_record_why() -> None:
    @dataclass(frozen=True)
    class Plain(Device):  # the Protocol's default energy_meter(): none
        name: str = "plain"

    @dataclass(frozen=True)
    class Broken(Device):
        name: str = "broken"

        def energy_meter(self) -> EnergyMeter:
            raise RuntimeError("no sensor")

    plain = energy_meter_of(Plain())
    assert isinstance(plain, Unmetered) and "has no energy meter" in plain.reason
    reading = plain.measure(lambda: None)
    assert reading.joules is None and reading.method is None and reading.average_power_w is None
    assert "no sensor" in energy_meter_of(Broken()).reason
    assert isinstance(energy_meter_of(CpuDevice()), (RaplMeter, CpuTimeEstimate))


def _fake_nvml(energy_mj: list[int] | None, power_mw: int = 50_000) -> types.ModuleType:
    nvml = types.ModuleType("pynvml")

    class NVMLError_NotSupported(Exception):
        pass

    def total_energy(handle):
        if energy_mj is None:
            raise NVMLError_NotSupported("no counter before Volta")
        return energy_mj.pop(0)

    nvml.NVMLError_NotSupported = NVMLError_NotSupported
    nvml.nvmlInit = nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetHandleByIndex = lambda index: f"gpu{index}"
    nvml.nvmlDeviceGetTotalEnergyConsumption = total_energy
    nvml.nvmlDeviceGetPowerUsage = lambda handle: power_mw
    return nvml


def test_nvml_reads_the_energy_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([10_000, 12_500]))
    reading = NvmlEnergyMeter(0).measure(lambda: None)
    assert reading.joules == pytest.approx(2.5) and reading.method == MEASURED and "counter" in reading.source


def test_nvml_reads_the_gpu_torch_uses_by_its_uuid_not_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDA_VISIBLE_DEVICES=1,0: torch's GPU 0 is NVML's GPU 1; reading NVML's GPU 0 would meter the other card."""
    import devices.cuda

    nvml = _fake_nvml(None)
    by_uuid = {"GPU-b": "gpu1", "GPU-a": "gpu0"}
    nvml.nvmlDeviceGetHandleByUUID = lambda uuid: by_uuid[uuid]
    nvml.nvmlDeviceGetPowerUsage = lambda handle: {"gpu1": 100_000, "gpu0": 1}[handle]
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setattr(devices.cuda, "cuda_uuid", lambda index: ["GPU-b", "GPU-a"][index])
    assert devices.cuda.nvml_handle(nvml, 0) == "gpu1"
    reading = NvmlEnergyMeter(0).measure(lambda: time.sleep(0.05))
    assert 50 < reading.average_power_w <= 100.0  # the other card draws 1 mW


def test_nvml_without_a_counter_integrates_power_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(None, power_mw=50_000))
    reading = NvmlEnergyMeter(0).measure(lambda: time.sleep(0.05))  # the sampler needs the run to last
    assert reading.method == MEASURED and "power samples" in reading.source
    assert 0 < reading.joules <= 50.0 * reading.seconds + 1e-9


def test_cuda_without_nvml_has_no_meter_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("pynvml")
    broken.nvmlInit = lambda: (_ for _ in ()).throw(OSError("libnvidia-ml.so.1: cannot open shared object file"))
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    meter = CudaDevice().energy_meter()
    assert isinstance(meter, Unmetered) and "NVML unavailable" in meter.reason and "libnvidia-ml" in meter.reason


class FakeClock:
    """time.perf_counter for accelbench.rounds: advances only when a fake call runs."""

    def __init__(self) -> None:
        self.now = 0.0
        self.log: list[str] = []

    def call(self, name: str, seconds: float):
        def run() -> None:
            self.log.append(name)
            self.now += seconds

        return run


def test_paired_rounds_alternate_and_find_a_known_speedup(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    baseline, candidate = clock.call("A", 2e-3), clock.call("B", 1e-3)  # the candidate is exactly 2x faster
    found = rounds.paired_rounds(baseline, candidate, rounds.Pairing(max_time_s=0.5, round_s=0.002, max_pairs=50))
    assert (found.baseline_calls, found.candidate_calls) == (1, 2)  # each model's round lasts 2 ms
    estimates = ["A"] * rounds.ESTIMATE_CALLS + ["B"] * rounds.ESTIMATE_CALLS
    # then ABAB rounds, each after the same calls of its model untimed
    assert clock.log[:18] == estimates + ["A", "A", "B", "B", "B", "B", "A", "A", "B", "B", "B", "B"]
    assert len(found.baseline_s) == 50 and found.baseline_s[0] == pytest.approx(2e-3)
    speedup = found.speedup()
    assert speedup.estimate == pytest.approx(2.0) and speedup.verdict == "faster" and speedup.pairs == 50


def test_pairing_that_would_take_too_long_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    found = rounds.paired_rounds(clock.call("A", 1.0), clock.call("B", 1.0), rounds.Pairing(limit_s=5.0))
    assert isinstance(found, str) and "would take about 80 s" in found and len(clock.log) == 2 * rounds.ESTIMATE_CALLS


def test_a_pass_gets_its_share_of_the_pairing() -> None:
    share = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.2, passes=2).one_pass()
    assert (share.min_pairs, share.max_pairs, share.max_time_s, share.passes) == (20, 100, 0.1, 1)
    assert rounds.Pairing(min_pairs=20, max_pairs=30, passes=2).one_pass().max_pairs == 20  # never below the minimum
    later = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.2, passes=4).later_pass()
    # a later pass joins the first's 20 pairs: the minimum is shared between the later passes
    assert (later.min_pairs, later.max_pairs, later.max_time_s, later.passes) == (7, 50, 0.05, 1)


def test_the_sessions_later_passes_go_pass_by_pass_over_the_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case's passes are spread over the end of the session (other cases' passes between them), not back to back;
    a case whose pass fails keeps what it has and the others go on."""
    from accelbench.plugin import run_later_passes

    order: list[str] = []

    class Later:
        def __init__(self, name: str, remaining: int, fails: bool = False) -> None:
            self.name, self.remaining, self.fails = name, remaining, fails

        def run(self) -> None:
            self.remaining -= 1
            order.append(self.name)
            if self.fails:
                raise RuntimeError("no")

        def window(self) -> None:
            order.append(self.name.upper())

    with pytest.warns(UserWarning, match="earlier passes' figures stand"):
        run_later_passes([Later("a", 3), Later("b", 3, fails=True), Later("c", 2)], windows_per_pass=1)
    assert order == ["a", "b", "c", "a", "c", "a"]
    # a second window of every case per pass, in a sweep of its own after the pass (seconds apart from the first)
    order.clear()
    run_later_passes([Later("a", 2), Later("c", 1)], windows_per_pass=2)
    assert order == ["a", "c", "A", "C", "a", "A"]


def test_later_passes_join_the_first_passs_rounds_and_restate_the_speedup(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    share = rounds.Pairing(min_pairs=20, max_pairs=20, max_time_s=0.0, round_s=0.002, passes=2).one_pass()
    first = rounds.paired_rounds(clock.call("A", 2e-3), clock.call("B", 2e-3), share)  # a spell: no speedup
    info = {**first.speedup().as_extra_info(), "paired_passes": 1, "paired_s": 0.5}
    # minutes later the candidate is 2x faster than the baseline (another spell of the machine)
    later = rounds.LaterPasses(info, clock.call("A", 2e-3), clock.call("B", 1e-3), first, share, remaining=1)
    later.run()
    assert info["paired_passes"] == 2 and info["paired_rounds"] == 20 + 20 == len(later.rounds.baseline_s)
    # twenty pairs at 1.0x, whose candidate rounds were twice its usual, and twenty at 2.0x: the speedup compares
    # each model at its usual speed, its fastest rounds (accelbench/stats.py), the candidate's in the later pass
    assert info["paired_speedup"] == pytest.approx(2.0)
    assert info["paired_s"] > 0.5


def _passes(monkeypatch: pytest.MonkeyPatch, candidate_s: list[float]) -> tuple[dict, rounds.LaterPasses]:
    """A case paired once, then given three later passes, its candidate taking candidate_s[k] per call in pass k
    (timed alone before its rounds, as in a run) against a 2 ms baseline; returns its record and its passes."""
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    pairing = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.0, round_s=0.002, passes=4)
    speed = {"s": candidate_s[0]}

    def candidate() -> None:
        clock.now += speed["s"]

    first = rounds.paired_rounds(clock.call("A", 2e-3), candidate, pairing.one_pass())
    info = {**first.speedup().as_extra_info(), "paired_passes": 1, "paired_s": 0.0}
    info.update(latency_windows_s=[candidate_s[0]], latency_best_window_s=candidate_s[0])
    windows = rounds.LaterWindows(info, candidate, 1, pairing.later_pass(), remaining=3)
    later = rounds.LaterPasses(info, clock.call("A", 2e-3), candidate, first, pairing.later_pass(), 3, windows)
    for seconds in candidate_s[1:]:
        speed["s"] = seconds
        later.run()
        later.window()  # the pass's further sweep
    return info, later


def test_a_case_whose_passes_agree_stops_after_its_second(monkeypatch: pytest.MonkeyPatch) -> None:
    info, later = _passes(monkeypatch, [1e-3, 1e-3, 1e-3, 1e-3])
    assert later.settled and later.remaining == 0
    assert info["paired_passes"] == 2 and info["paired_speedup"] == pytest.approx(2.0)
    assert len(info["latency_windows_s"]) == 1 + 2  # pytest-benchmark's, then one pass's two windows


def test_a_case_whose_passes_disagree_takes_every_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # the machine's spells: the candidate's speed moves from pass to pass by more than settled_within (2%)
    info, later = _passes(monkeypatch, [1e-3, 1.2e-3, 1.4e-3, 1.6e-3])
    assert not later.settled and later.remaining == 0 and info["paired_passes"] == 4
    assert len(info["latency_windows_s"]) == 1 + 3 * 2


def test_passes_that_agree_with_windows_that_do_not_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The paired speedup settles, but the candidate's fastest window is alone: its unpaired latency is not settled."""
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [1e-3, 1.5e-3, 1.5e-3]}
    share = rounds.Pairing().later_pass()
    windows = rounds.LaterWindows(info, clock.call("B", 1.5e-3), 1, share, remaining=2)
    assert not windows.fastest_agree()
    windows.run()  # one more window, at 1.5 ms: the 1 ms window is still alone
    assert windows.remaining == 1 and not windows.settled
    info["latency_windows_s"].append(1.01e-3)  # a window within 2% of the fastest
    windows.run()
    assert windows.settled and windows.remaining == 0 and len(info["latency_windows_s"]) == 5


def test_the_baseline_is_timed_again_alone_in_each_later_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [3e-3], "latency_best_window_s": 3e-3}  # a slow first window
    share = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.2, round_s=0.002, passes=4).later_pass()
    windows = rounds.LaterWindows(info, clock.call("A", 2e-3), 1, share, remaining=2)
    windows.run()
    assert set(clock.log) == {"A"}  # alone: nothing alternates with it
    assert info["latency_windows_s"] == [3e-3, pytest.approx(2e-3)]
    assert len(clock.log) == 1 + 10  # a call to warm up, then its window_s (0.02 s) of single-call rounds
    windows.run()
    windows.run()  # none remain: nothing more
    assert info["latency_windows_s"] == [3e-3, pytest.approx(2e-3), pytest.approx(2e-3)]
    assert info["latency_best_window_s"] == pytest.approx(2e-3) and windows.remaining == 0  # the fastest


def test_the_fastest_window_stands_not_the_median(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two of four windows in slow spells: the median of the four would move with them."""
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [1e-3], "latency_best_window_s": 1e-3}
    share = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.2, round_s=0.002, passes=4).later_pass()
    for seconds in (2e-3, 2e-3, 1.1e-3):
        rounds.LaterWindows(info, clock.call("A", seconds), 1, share, remaining=1).run()
    assert info["latency_windows_s"] == pytest.approx([1e-3, 2e-3, 2e-3, 1.1e-3])
    assert info["latency_best_window_s"] == pytest.approx(1e-3)


def test_a_later_pass_times_the_candidate_alone_before_its_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    share = rounds.Pairing(min_pairs=20, max_pairs=20, max_time_s=0.0, round_s=0.002, passes=2).one_pass()
    first = rounds.paired_rounds(clock.call("A", 2e-3), clock.call("B", 1e-3), share)
    info = {**first.speedup().as_extra_info(), "paired_passes": 1, "paired_s": 0.0}
    info.update(latency_windows_s=[1.5e-3], latency_best_window_s=1.5e-3)  # its pytest window: a slow spell
    candidate = clock.call("B", 1e-3)
    windows = rounds.LaterWindows(info, candidate, 2, share, remaining=1)
    later = rounds.LaterPasses(info, clock.call("A", 2e-3), candidate, first, share, 1, windows)
    clock.log.clear()
    later.run()
    window = 1 + 10  # one call, then rounds of 2 calls for window_s
    assert clock.log[: 1 + 2 * 10] == ["B"] * (1 + 2 * 10) and "A" in clock.log[window + 9 :]  # then the pairs
    assert info["latency_windows_s"] == [1.5e-3, pytest.approx(1e-3)] and info["paired_passes"] == 2


def test_a_further_window_in_the_same_pass_joins_the_windows_and_the_fastest_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [2e-3], "latency_best_window_s": 2e-3}
    share = rounds.Pairing(min_pairs=20, max_pairs=200, max_time_s=0.2, round_s=0.002, passes=2).later_pass()
    speed = {"s": 2e-3}

    def call() -> None:
        clock.now += speed["s"]

    windows = rounds.LaterWindows(info, call, 1, share, remaining=1)
    windows.run()  # the pass's window: still the slow mode
    speed["s"] = 1e-3  # seconds later the machine is in its fast mode
    windows.window()
    assert windows.remaining == 0  # a further window is not a pass
    assert info["latency_windows_s"] == pytest.approx([2e-3, 2e-3, 1e-3])
    assert info["latency_best_window_s"] == pytest.approx(1e-3)


def test_a_window_is_read_at_its_usual_speed_as_a_paired_speedup_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window mostly in a slow spell: its median round is the spell's, its 10th percentile the machine's usual
    speed."""
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [3e-3], "latency_best_window_s": 3e-3}
    share = rounds.Pairing(min_pairs=20, max_pairs=20, max_time_s=0.2, round_s=0.002, passes=2).later_pass()
    durations = iter([1e-3] + [1e-3, 1.1e-3, 0.9e-3, 1e-3, 1e-3] + [2e-3] * 100)  # a warm-up call, then the rounds

    def call() -> None:
        clock.now += next(durations)

    rounds.LaterWindows(info, call, 1, share, remaining=1).run()
    assert info["latency_windows_s"] == [3e-3, pytest.approx(1e-3)]
    assert info["latency_best_window_s"] == pytest.approx(1e-3)


def test_a_baseline_too_slow_for_a_window_keeps_what_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    info = {"latency_windows_s": [9.0], "latency_best_window_s": 9.0}
    windows = rounds.LaterWindows(info, clock.call("A", 9.0), 1, rounds.Pairing().later_pass(), remaining=3)
    windows.run()  # 7 rounds of 9 s would take far past the limit
    windows.window()  # nor in a later sweep
    assert info == {"latency_windows_s": [9.0], "latency_best_window_s": 9.0} and windows.remaining == 0


def test_a_later_pass_that_cannot_pair_keeps_the_first_passs_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(rounds.time, "perf_counter", lambda: clock.now)
    share = rounds.Pairing(min_pairs=20, max_pairs=20, max_time_s=0.0, round_s=0.002)
    first = rounds.paired_rounds(clock.call("A", 2e-3), clock.call("B", 1e-3), share)
    info = {**first.speedup().as_extra_info(), "paired_passes": 1, "paired_s": 0.0}
    before = dict(info)
    slow = rounds.LaterPasses(info, clock.call("A", 9.0), clock.call("B", 9.0), first, share, remaining=1)
    slow.run()  # 10 pairs of 9 s calls would take far past the limit: not paired
    assert info["paired_passes"] == 1 and {k: v for k, v in info.items() if k != "paired_s"} == {
        k: v for k, v in before.items() if k != "paired_s"
    }


def test_the_energy_window_is_filled_with_whole_calls() -> None:
    calls: list[int] = []
    reading, made = energy.metered(Unmetered("test", window_s=0.1), lambda: calls.append(1), per_call_s=0.003)
    assert made == 34 == len(calls)  # ceil(0.1 / 0.003)
    assert energy.metered(Unmetered("test", window_s=0.1), lambda: None, per_call_s=0.0, max_calls=1)[1] == 1
