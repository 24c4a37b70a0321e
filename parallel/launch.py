"""`python -m parallel` (`make bench-distributed NPROC=2`): the DDP benchmark under torchrun for 1..N processes,
then the pipeline benchmark over N processes, every row merged into one results file.

Each run is a `torchrun` (torch.distributed.run) of a worker module; its output passes through. A run that fails
(a rank died, a collective timed out) is reported with the rank torchrun names and recorded as an error row; the runs
before it keep their rows and the runs after it still go ahead. Exit status: 0 all ran, 1 some run failed, 2 bad
input (a port in use, an unknown option).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

import accelbench.results as results

BENCHMARKS = {"ddp": "parallel.ddp", "pipeline": "parallel.pipeline"}
# torchrun's failure summary: "rank      : 1 (local_rank: 1)" then "exitcode  : -9 (pid: 123)"
FAILURE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank:\s*(\d+)\)\s*\n\s*exitcode\s*:\s*(-?\d+)")


class PortInUse(RuntimeError):
    """The rendezvous port cannot be bound; the message says which and what to do."""


def port_number(text: str) -> int:
    """A TCP port for --port: 0 (torchrun picks one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number: 0 (torchrun picks one) to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: 0 (torchrun picks one) to 65535")
    return port


def check_port(host: str, port: int) -> None:
    """Raises PortInUse when `port` on `host` is taken (torchrun would fail deep in its rendezvous otherwise)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"port {port} on {host} is already in use (another torchrun, or another service): pass a free one "
                f"with PORT=<port> (make) or --port <port>, or PORT=0 to let torchrun pick one"
            ) from None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def failed_ranks(output: str) -> list[str]:
    """'rank 1 (local rank 1) died with signal SIGKILL' for each failure torchrun's summary lists. A rank killed by a
    signal comes first (other than SIGTERM, which torchrun sends to stop the rest): when one rank dies, its peers fail
    in their next collective, and torchrun's "root cause" (the first failure it observed) is then often a peer. Then
    torchrun's root cause, then the others."""
    root = output.rfind("Root Cause")
    ordered = output[root:] + "\n" + output[:root] if root >= 0 else output
    found: dict[str, int] = {}
    for rank, local, code in FAILURE.findall(ordered):
        line = f"rank {rank} (local rank {local}) {'died with' if int(code) < 0 else 'ended with'} {describe_exit(int(code))}"
        found.setdefault(line, int(code))
    return sorted(found, key=lambda line: not (found[line] < 0 and found[line] != -signal.SIGTERM))


def torchrun(module: str, nproc: int, port: int, out: Path, worker_args: list[str], threads: int) -> tuple[int, str]:
    """Runs `module` under torchrun with `nproc` processes on this machine; returns its status and the tail of its
    stderr (which is passed through as it comes)."""
    rendezvous = ["--standalone"] if port == 0 else ["--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}"]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={nproc}",
        "--max-restarts=0",
        *rendezvous,
        "-m",
        module,
        "--out",
        str(out),
        "--threads",
        str(threads),
        *worker_args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    tail: deque[str] = deque(maxlen=400)

    def relay() -> None:
        for line in process.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            tail.append(line)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    status = process.wait()
    reader.join()
    return status, "".join(tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m parallel", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nproc", type=int, default=2, help="largest process count; DDP runs 1..NPROC (default 2)")
    parser.add_argument("--only", action="store_true", help="run NPROC processes only, not 1..NPROC")
    parser.add_argument("--out", type=Path, required=True, help="results file; rows are merged into it if it exists")
    parser.add_argument(
        "--port", type=port_number, default=0, help="rendezvous port on 127.0.0.1, 0-65535 (0: torchrun picks one)"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process (default 1)")
    parser.add_argument("--benchmarks", default="ddp,pipeline", help="comma-separated among ddp, pipeline")
    args, worker_args = parser.parse_known_args(argv)
    chosen = [b for b in args.benchmarks.split(",") if b]
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown or args.nproc < 1:
        parser.error(f"unknown benchmark {unknown[0]!r}; valid: ddp, pipeline" if unknown else "--nproc must be >= 1")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be at least 1")
    for benchmark in chosen:  # the workers' own options, checked before any torchrun starts (exit 2 if bad)
        importlib.import_module(BENCHMARKS[benchmark]).parse(
            ["--out", str(args.out), "--threads", str(args.threads), *worker_args]
        )
    try:
        if args.port:
            check_port("127.0.0.1", args.port)
    except PortInUse as exc:
        print(f"parallel: {exc}", file=sys.stderr)
        return 2
    runs = [("ddp", n) for n in ([args.nproc] if args.only else range(1, args.nproc + 1)) if "ddp" in chosen]
    if "pipeline" in chosen:
        runs.append(("pipeline", args.nproc))
    failures = []
    for benchmark, nproc in runs:
        if benchmark == "pipeline" and nproc < 2:
            print("parallel: pipeline skipped: it needs NPROC >= 2 (one process per stage)", file=sys.stderr)
            continue
        status, output = torchrun(BENCHMARKS[benchmark], nproc, args.port, args.out, worker_args, args.threads)
        if status != 0:
            ranks = failed_ranks(output)
            message = f"{benchmark} with {nproc} processes failed: " + (
                "; ".join(ranks) if ranks else f"torchrun exited with {describe_exit(status)} (its output is above)"
            )
            print(f"parallel: {message}", file=sys.stderr)
            name = f"{benchmark}[{nproc}proc]"
            params = {results.TECHNIQUE: benchmark, results.NPROC: nproc}
            outcome = results.outcome_entry(name, f"parallel::{name}", results.ERROR, message, params)
            results.merge_into(args.out, outcomes=[outcome])
            failures.append(message)
    print(
        f"parallel: results in {args.out}" + (f"; {len(failures)} run(s) failed" if failures else ""), file=sys.stderr
    )
    return 1 if failures else 0
