"""`python -m accelbench.supervise [pytest arguments]`: runs the benchmarks under pytest, and when a case kills the
process (a segfault in a kernel, the out-of-memory killer) records that case as an error row and goes on with the
rest, so one crash costs one case, not the run. `make bench` runs through it.

An exception, an out-of-memory RuntimeError or a per-case timeout never kills pytest: they are error rows already
(accelbench.plugin). This covers the rest. It needs the journal (`--benchmark-json=PATH` gives one): after a crash
it names the case in flight there, and pytest is started again with `--accelbench-resume`, which skips every case
the journal holds and writes the results of the whole run at the end. Exit status: pytest's, or 1 if a case crashed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import accelbench.results as results
from accelbench import journal as journals

MAX_CRASHES = 20  # more than this, and something other than one bad case is wrong: stop


def journal_path(args: list[str]) -> Path | None:
    """The journal pytest will write for these arguments (the plugin's rule), or None."""
    for flag, suffix in (("--accelbench-journal", None), ("--benchmark-json", ".jsonl")):
        for index, arg in enumerate(args):
            value = (
                arg.split("=", 1)[1]
                if arg.startswith(f"{flag}=")
                else (args[index + 1] if arg == flag and index + 1 < len(args) else None)
            )
            if value:
                return Path(value).with_suffix(suffix) if suffix else Path(value)
    return None


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def record_crash(path: Path, returncode: int) -> str | None:
    """Appends an error row for the case a killed pytest was running; returns its name, or None if none was."""
    run = results.read_journal(path)
    name = run[results.JOURNAL_STATE]["in_flight"]
    if name is None:
        return None
    why = _signal_name(returncode)
    hint = " (SIGKILL: most often the out-of-memory killer)" if why == "SIGKILL" else ""
    writer = journals.Journal(path, resume=True)
    writer.write(
        "case",
        outcome=results.outcome_entry(
            name,
            name,
            results.ERROR,
            f"crashed: the benchmark process died of {why}{hint} during this case; the run went on without it",
            run[results.JOURNAL_STATE]["in_flight_params"],
        ),
    )
    writer.close()
    return name


def main(args: list[str]) -> int:
    path = journal_path(args)
    crashed: list[str] = []
    command = [sys.executable, "-m", "pytest", *args]
    while True:
        with subprocess.Popen(command) as process:
            try:
                returncode = process.wait()
            except KeyboardInterrupt:  # the terminal's Ctrl-C reached pytest too: let it save what it has
                return process.wait()
        if returncode >= 0:
            break
        name = record_crash(path, returncode) if path is not None and path.is_file() else None
        if name is None or len(crashed) >= MAX_CRASHES:
            print(
                f"accelbench: pytest died of {_signal_name(returncode)} "
                f"{'outside any case' if name is None else f'{len(crashed) + 1} times'}; stopping. "
                f"{f'Finished cases are in {path}' if path is not None else 'No journal: pass --benchmark-json'}.",
                file=sys.stderr,
            )
            return 1
        crashed.append(name)
        print(
            f"accelbench: {name} crashed the process ({_signal_name(returncode)}); going on with the rest",
            file=sys.stderr,
        )
        command = [sys.executable, "-m", "pytest", *args, "--accelbench-resume"]
    if crashed:
        print(
            f"accelbench: {len(crashed)} case(s) crashed the process and are error rows: {', '.join(crashed)}",
            file=sys.stderr,
        )
        return returncode if returncode not in (0, 5) else 1
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
