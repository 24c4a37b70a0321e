"""Compute cycles of matrix operators on systolic arrays (SCALE-Sim's fold model) and on FPGA DPUs.

SCALE-Sim v2 maps a GEMM (M x K)(K x N) onto an R x C array as folds that run one after another. One fold streams
its operand through the array (`stream` cycles) after filling it and before draining it (`skew` cycles):

- output stationary (os): folds = ceil(M/R) * ceil(N/C), a fold = (R + C - 2) + K
- weight stationary (ws): folds = ceil(K/R) * ceil(N/C), a fold = (2R + C - 2) + M
- input stationary (is):  folds = ceil(K/R) * ceil(M/C), a fold = (2R + C - 2) + N

and the total is folds x fold - 1. With `overlap` > 0, each fold after the first hides that fraction of its
fill/drain behind the previous fold (double buffering); 0 reproduces SCALE-Sim exactly.

A depthwise convolution is one (pixels x taps)(taps x 1) product per channel: alone, each would fill one column
and `taps` rows of the array. A compiler maps `g` channels side by side instead, across g columns, each channel's
taps in its own rows (a block-diagonal weight matrix of g x taps rows and g columns, which a weight-stationary
array holds in one fold when g x taps <= rows), so ceil(channels / g) folds stream the pixels; it picks the g with
the fewest cycles (g = 1 is the one-GEMM-per-channel mapping, so this never costs more).
"""

from __future__ import annotations

import math

DATAFLOWS = ("os", "ws", "is")


def folds(rows: int, cols: int, dataflow: str, m: int, n: int, k: int) -> tuple[int, int, int]:
    """(number of folds, fill/drain cycles of one fold, streaming cycles of one fold)."""
    if dataflow == "os":
        return math.ceil(m / rows) * math.ceil(n / cols), rows + cols - 2, k
    if dataflow == "ws":
        return math.ceil(k / rows) * math.ceil(n / cols), 2 * rows + cols - 2, m
    if dataflow == "is":
        return math.ceil(k / rows) * math.ceil(m / cols), 2 * rows + cols - 2, n
    raise ValueError(f"unknown dataflow {dataflow!r}: expected one of {', '.join(DATAFLOWS)}")


def gemm_cycles(
    rows: int,
    cols: int,
    dataflow: str,
    m: int,
    n: int,
    k: int,
    overlap: float = 0.0,
    arrays: int = 1,
    batch: int = 1,
) -> int:
    """Cycles of `batch` independent GEMMs (m x k)(k x n) on `arrays` systolic arrays of rows x cols, the folds
    of all of them shared out evenly (each array runs ceil(folds / arrays) of them)."""
    if min(rows, cols, m, n, k, arrays, batch) < 1:
        raise ValueError(
            f"array and GEMM sizes must be positive: rows={rows} cols={cols} m={m} n={n} k={k} "
            f"arrays={arrays} batch={batch}"
        )
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1): {overlap}")
    count, skew, stream = folds(rows, cols, dataflow, m, n, k)
    per_array = math.ceil(batch * count / arrays)
    hidden = round(overlap * skew) * (per_array - 1)
    return per_array * (skew + stream) - 1 - hidden


def dpu_efficiency(cin: int, cout: int, wout: int, pp: int, icp: int, ocp: int) -> float:
    """Fraction of a Vitis AI DPU's MACs a convolution keeps busy (AMD PG338): input channels over ICP, output
    channels over OCP, output columns over PP, each padded up to a multiple of the parallelism."""
    part = lambda size, par: size / (math.ceil(size / par) * par)  # noqa: E731
    return part(cin, icp) * part(cout, ocp) * part(wout, pp)


def depthwise_cycles(
    rows: int,
    cols: int,
    dataflow: str,
    pixels: int,
    channels: int,
    taps: int,
    outputs: int = 1,
    overlap: float = 0.0,
    arrays: int = 1,
) -> int:
    """Cycles of a depthwise convolution (`channels` products (pixels x taps)(taps x outputs), `outputs` the channel
    multiplier) with g channels per fold block-diagonally (g x outputs columns, g x taps reduction rows), the best g
    from 1 to as many as the columns take."""
    if min(rows, cols, pixels, channels, taps, outputs, arrays) < 1:
        raise ValueError(
            f"array and convolution sizes must be positive: rows={rows} cols={cols} pixels={pixels} "
            f"channels={channels} taps={taps} outputs={outputs} arrays={arrays}"
        )
    widest = max(1, min(channels, cols // outputs))
    return min(
        gemm_cycles(rows, cols, dataflow, pixels, g * outputs, g * taps, overlap, arrays, math.ceil(channels / g))
        for g in range(1, widest + 1)
    )
