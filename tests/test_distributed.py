"""Distributed training: DDP gradients across ranks, a rank that dies, a port in use, the pipeline benchmark."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import workloads
from accelbench.results import merge_into, timed_entry
from parallel.launch import failed_ranks
from parallel.pipeline import ideal_bubble_fraction, split_points
from reports.load.run import load_run
from workloads import untrained_model

ROOT = Path(__file__).resolve().parent.parent
CASES = [(1, False), (4, True), (4, False)]  # micro-batches, no_sync
BATCH = 32  # rows per rank


def ddp_gradients(rank: int, world: int, init_file: str, out_dir: str) -> None:
    """One rank: DDP over a model seeded differently per rank (DDP must broadcast rank 0's weights), gradients of
    its own shard for each case, saved for the test to compare."""
    from torch.nn.parallel import DistributedDataParallel

    from parallel.ddp import accumulate_gradients

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    data = workloads.REGISTRY.get("digits-mlp").data().train
    ddp = DistributedDataParallel(untrained_model(workloads.REGISTRY.get("digits-mlp"), seed=rank))
    x, y = data.x[rank * BATCH : (rank + 1) * BATCH], data.y[rank * BATCH : (rank + 1) * BATCH]
    grads = []
    for micro_batches, no_sync in CASES:
        ddp.zero_grad(set_to_none=True)
        accumulate_gradients(ddp, x, y, micro_batches, no_sync)
        grads.append([p.grad.clone() for p in ddp.module.parameters()])
    torch.save(grads, Path(out_dir) / f"rank{rank}.pt")
    del ddp  # DDP's reducer holds the process group: free it first, or teardown can wait on it
    dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.timeout(240)  # a rank stuck in a collective fails the test, not the whole run
def test_a_two_process_gloo_ddp_step_gives_identical_gradients_on_every_rank(tmp_path: Path) -> None:
    mp.spawn(ddp_gradients, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    # what one process computes on both shards: the gradients DDP must agree on
    model = untrained_model(workloads.REGISTRY.get("digits-mlp"), seed=0)
    data = workloads.REGISTRY.get("digits-mlp").data().train
    nn.functional.cross_entropy(model(data.x[: 2 * BATCH]), data.y[: 2 * BATCH]).backward()
    for case, (first, second) in enumerate(zip(*ranks)):
        for a, b, p in zip(first, second, model.parameters()):
            assert torch.equal(a, b), CASES[case]  # identical, not merely close: one all-reduced result
            torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-6)


def launch(*args: str) -> subprocess.Popen:
    """`python -m parallel ...` in its own session, so that it and its torchrun and ranks can be killed together."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "parallel", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant: torchrun starts its workers in process groups of their own, so killing
    the launcher's group alone would leave ranks running (and holding the output pipe open)."""
    try:
        root = psutil.Process(pid)
        family = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.slow
def test_a_rank_that_dies_ends_the_run_with_an_error_naming_it_and_earlier_rows_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    earlier = timed_entry(
        "ddp[cpu-1t-digits-mlp-ddp-1proc]",
        "parallel::x",
        {"nproc": 1, "device": "cpu-1t"},
        {"benchmark": "ddp", "nproc": 1},
        [1e-3],
    )
    merge_into(out, entries=[earlier])  # a part that finished before
    run = launch("--nproc", "2", "--only", "--benchmarks", "ddp", "--out", str(out), "--steps", "100000000")
    # the bound: a generous 240 s (torch imports on a busy 2-core machine), after which every process is killed
    watchdog = threading.Timer(240, kill_tree, args=(run.pid,))
    watchdog.start()
    lines, killed = [], None
    try:
        for line in run.stdout:
            lines.append(line)
            found = re.search(r"\[rank 1 pid (\d+)\] ddp [^\[]*measuring", line)
            if found:
                killed = int(found.group(1))
                os.kill(killed, signal.SIGKILL)  # mid-run: rank 1 is inside its timed steps
                break
        lines.append(run.stdout.read())
        status = run.wait()
    finally:
        watchdog.cancel()
        run.stdout.close()
    output = "".join(lines)
    assert status != -signal.SIGKILL, f"the run did not end within 240 s of its start:\n{output[-3000:]}"
    assert killed is not None, output[-3000:]
    assert status == 1, output[-3000:]
    assert "ddp with 2 processes failed: rank 1 (local rank 1) died with signal SIGKILL" in output
    raw = json.loads(out.read_text())
    assert [b["name"] for b in raw["benchmarks"]] == [earlier["name"]]  # what finished before is still there
    errors = [o["message"] for o in raw["accelbench_outcomes"]]
    assert any("rank 1 (local rank 1) died with signal SIGKILL" in m for m in errors)


@pytest.mark.slow
def test_a_port_in_use_is_reported_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = launch("--nproc", "2", "--out", str(tmp_path / "run.json"), "--port", str(port))
        output, _ = run.communicate(timeout=60)
    assert run.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in output and "PORT=<port>" in output
    assert not (tmp_path / "run.json").exists()


def test_torchrun_failures_are_read_rank_by_rank() -> None:
    summary = """Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : 1 (pid: 11)
Root Cause (first observed failure):
[0]:
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 12)
  traceback : Signal 9 (SIGKILL) received by PID 12"""
    # the root cause first, whatever order the summary lists them in
    assert failed_ranks(summary) == [
        "rank 1 (local rank 1) died with signal SIGKILL",
        "rank 0 (local rank 0) ended with exit code 1",
    ]
    # a peer that failed in its next collective was observed first: the rank that was killed still leads
    peer_first = """Failures:
[1]:
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 12)
Root Cause (first observed failure):
[0]:
  rank      : 0 (local_rank: 0)
  exitcode  : 1 (pid: 11)"""
    assert failed_ranks(peer_first) == [
        "rank 1 (local rank 1) died with signal SIGKILL",
        "rank 0 (local rank 0) ended with exit code 1",
    ]
    stopped = summary.replace("exitcode  : 1 (pid: 11)", "exitcode  : -15 (pid: 11)")  # torchrun's SIGTERM to the rest
    assert failed_ranks(stopped) == [
        "rank 1 (local rank 1) died with signal SIGKILL",
        "rank 0 (local rank 0) died with signal SIGTERM",
    ]
    assert failed_ranks("no summary here") == []


def test_ideal_bubble_fraction_and_balanced_split() -> None:
    assert ideal_bubble_fraction(2, 1) == 0.5
    assert ideal_bubble_fraction(2, 8) == pytest.approx(1 / 9)
    assert ideal_bubble_fraction(4, 4) == pytest.approx(3 / 7)
    with pytest.raises(ValueError, match="must be >= 1"):
        ideal_bubble_fraction(2, 0)
    model = nn.Sequential(
        nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8)
    )
    # FLOPs per row 1024, 0, 8192, 0, 8192, 0, 1024: cut before module 3, each half does 9216
    assert split_points(model, 2, torch.randn(4, 8)) == [3]
    three = split_points(model, 3, torch.randn(4, 8))
    assert len(three) == 2 and 0 < three[0] < three[1] < len(model)
    with pytest.raises(ValueError, match="needs an nn.Sequential"):
        split_points(nn.LSTM(2, 2), 2, torch.randn(1, 2))


@pytest.mark.slow
def test_the_pipeline_benchmark_runs_over_two_processes_and_reports_its_bubble(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run = launch(
        "--nproc",
        "2",
        "--benchmarks",
        "pipeline",
        "--out",
        str(out),
        "--steps",
        "3",
        "--warmup",
        "1",
        "--microbatches",
        "1,4",
    )
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output[-3000:]
    rows = load_run(out).set_index("microbatches")
    assert set(rows.index) == {1, 4} and (rows["benchmark"] == "pipeline").all()
    assert rows.loc[1, "bubble_fraction_ideal"] == 0.5 and rows.loc[4, "bubble_fraction_ideal"] == pytest.approx(0.2)
    assert rows["bubble_fraction_measured"].between(0, 1).all() and (rows["samples_per_s"] > 0).all()


def test_results_are_merged_by_name_and_a_foreign_file_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    first = timed_entry(
        "ddp[a]",
        "parallel::x",
        {"nproc": 1, "device": "cpu-1t"},
        {"benchmark": "ddp", "samples_per_s": 1.0},
        [2e-3, 1e-3, 3e-3],
    )
    merge_into(out, entries=[first], harness={"torch": "x", "devices": {"cpu-1t": {"threads": 1}}})
    assert first["stats"]["median"] == 2e-3 and first["stats"]["rounds"] == 3
    merge_into(out, entries=[timed_entry("ddp[b]", "parallel::x", {"device": "cpu-1t"}, {"benchmark": "ddp"}, [1e-3])])
    rerun = timed_entry(
        "ddp[a]", "parallel::x", {"nproc": 1, "device": "cpu-1t"}, {"benchmark": "ddp", "samples_per_s": 2.0}, [1e-3]
    )
    merge_into(out, entries=[rerun], harness={"torch": "y", "devices": {"cpu-1t": {"threads": 9}}})
    raw = json.loads(out.read_text())
    assert [b["name"] for b in raw["benchmarks"]] == ["ddp[b]", "ddp[a]"]
    assert raw["benchmarks"][1]["extra_info"]["samples_per_s"] == 2.0  # the rerun replaced its row
    assert raw["machine_info"]["accelbench"] == {"torch": "x", "devices": {"cpu-1t": {"threads": 1}}}  # first kept
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, then replaced
    foreign = tmp_path / "notes.json"
    foreign.write_text("my notes, not JSON")
    with pytest.raises(ValueError, match="not valid JSON.*refusing to overwrite it"):
        merge_into(foreign, entries=[first])
    assert foreign.read_text() == "my notes, not JSON"


@pytest.mark.parametrize("port", ["70000", "-5", "http"])
def test_a_port_out_of_range_is_refused_before_torchrun_starts(port: str, capsys) -> None:
    from parallel.launch import main

    with pytest.raises(SystemExit) as exit_:
        main(["--out", "unused.json", "--port", port])
    assert exit_.value.code == 2
    assert "is not a port number: 0 (torchrun picks one) to 65535" in capsys.readouterr().err
