"""Cost per million inferences, priced at report time: a device's default price (from its facts: the profile's
sourced figure for a simulated device, devices/cpu.py and devices/cuda.py for real ones) or the user's price file.

A price file is TOML, USD per hour of the whole device, by device name:

    [prices]
    cpu = 0.09
    sim-h100 = { usd_per_hour = 2.49, source = "our reserved rate, 2026" }

cost_per_million_usd = usd_per_hour / 3600 x latency_median_s / batch_size x 1e6: the device doing nothing but this
model, back to back, at this batch size. Its `cost_method` is that of the latency it comes from: measured or
simulated.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import accelbench.results as col
from accelbench.energy import SIMULATED as SIMULATED_METHOD

SECONDS_PER_HOUR = 3600.0
FORMAT = 'a [prices] table of device = <USD per hour> or device = { usd_per_hour = <number>, source = "..." }'


class PriceFileError(ValueError):
    """A price file that cannot be used; the message names the file, the field and what is valid."""


@dataclass(frozen=True)
class Price:
    """USD per hour of one device, and where the figure comes from."""

    usd_per_hour: float
    source: str


def _price(path: Path, device: str, entry: object) -> Price:
    where = f"{path}: prices.{device}"
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - {"usd_per_hour", "source"})
        if unknown:
            raise PriceFileError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: usd_per_hour, source")
        if "usd_per_hour" not in entry:
            raise PriceFileError(f"{where}.usd_per_hour: missing; expected a positive number of USD per hour")
        value, source = entry["usd_per_hour"], entry.get("source", "")
        if not isinstance(source, str):
            raise PriceFileError(f"{where}.source: {source!r} is not text; expected where the price comes from")
        where += ".usd_per_hour"
    else:
        value, source = entry, ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise PriceFileError(f"{where}: {value!r} is not a price; expected a positive number of USD per hour")
    return Price(float(value), f"price file {path.name}" + (f": {source}" if source else ""))


def load_prices(path: str | Path) -> dict[str, Price]:
    """The prices of a price file, by device name; PriceFileError naming the file and the field otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceFileError(f"{path}: no such price file; expected {FORMAT}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PriceFileError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"prices"})
    if unknown or not isinstance(data.get("prices"), dict):
        problem = f"unknown top-level key(s) {', '.join(unknown)}" if unknown else "no [prices] table"
        raise PriceFileError(f"{path}: {problem}; expected {FORMAT}")
    return {device: _price(path, device, entry) for device, entry in data["prices"].items()}


def with_costs(results: pd.DataFrame, prices: dict[str, Price] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Adds `price_per_hour_usd`, `price_source`, `cost_per_million_usd` and `cost_method` (measured or simulated:
    the latency's kind; empty where the case has no latency or its device no price), and returns notes: price-file
    devices that match no device of the results, devices without a price."""
    prices = prices or {}
    out = results.copy()
    device = out[col.DEVICE].astype(object).where(out[col.DEVICE].notna(), "").astype(str)  # "" where none recorded
    base = device.str.split("@").str[0]  # several runs combined: "cpu@run-a" takes the price of "cpu"
    default = pd.to_numeric(out.get(col.PRICE_PER_HOUR_USD, pd.Series(math.nan, index=out.index)), errors="coerce")
    default_source = out.get(col.PRICE_SOURCE, pd.Series(None, index=out.index, dtype=object))
    given = {name: p for name, p in prices.items()}
    chosen = [given.get(d) or given.get(b) for d, b in zip(device, base)]
    out[col.PRICE_PER_HOUR_USD] = [p.usd_per_hour if p else v for p, v in zip(chosen, default)]
    out[col.PRICE_SOURCE] = [p.source if p else s for p, s in zip(chosen, default_source)]
    latency = pd.to_numeric(out[col.LATENCY_MEDIAN_S], errors="coerce")
    batch = pd.to_numeric(out[col.BATCH_SIZE], errors="coerce").astype(float)
    cost = out[col.PRICE_PER_HOUR_USD].astype(float) / SECONDS_PER_HOUR * latency / batch * 1e6
    priced = (out[col.STATUS] == col.OK) & cost.notna()
    out[col.COST_PER_MILLION_USD] = cost.where(priced)
    out[col.COST_METHOD] = (
        pd.Series("measured", index=out.index).where(~out[col.SIMULATED], SIMULATED_METHOD).where(priced)
    )
    notes = [
        f"price file: {name!r} matches no device of these results (devices: {', '.join(sorted(set(base)))})"
        for name in sorted(set(given) - set(device) - set(base))
    ]
    unpriced = sorted(set(device[(out[col.STATUS] == col.OK) & out[col.PRICE_PER_HOUR_USD].isna()]))
    if unpriced:
        notes.append(
            f"no price for {', '.join(unpriced)}: no cost per inference; give one in a price file "
            "(`make report PRICES=prices.toml`, README: Prices)"
        )
    return out, notes
