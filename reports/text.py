"""How the report writes figures and marks: units chosen per value, the simulated and noisy marks. Every stage of
reports may use it."""

from __future__ import annotations

import math

SIMULATED_MARK = "†"  # a column of simulated figures; explained under every table
NOISY_MARK = "~"  # a latency whose rounds spread widely; explained in the legend
CONTENDED_MARK = "‡"  # after a latency: measured while other processes took the CPU (accelbench/contention.py)
CHECK_MARK = "⚠"  # after a speedup: its paired and unpaired figures differ by over 10% (the report says why)


def format_seconds(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_joules(joules: float) -> str:
    for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ")):
        if abs(joules) >= scale:
            return f"{joules / scale:.3g} {unit}"
    return f"{joules / 1e-9:.3g} nJ"


def device_label(device: str, simulated: bool) -> str:
    return f"{device} {SIMULATED_MARK}" if simulated else device
