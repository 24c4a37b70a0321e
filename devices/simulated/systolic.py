"""Compute cycles of matrix operators on systolic arrays (SCALE-Sim's fold model) and on FPGA DPUs.

SCALE-Sim v2 maps a GEMM (M x K)(K x N) onto an R x C array as folds that run one after another. One fold streams
its operand through the array (`stream` cycles) after filling it and before draining it (`skew` cycles):

- output stationary (os): folds = ceil(M/R) * ceil(N/C), a fold = (R + C - 2) + K
- weight stationary (ws): folds = ceil(K/R) * ceil(N/C), a fold = (2R + C - 2) + M
- input stationary (is):  folds = ceil(K/R) * ceil(M/C), a fold = (2R + C - 2) + N

and the total is folds x fold - 1. With `overlap` > 0, each fold after the first hides that fraction of its
fill/drain behind the previous fold (double buffering); 0 reproduces SCALE-Sim exactly.
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
