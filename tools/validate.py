"""`make validate`: how far to trust the cost model, from the devices this machine can measure.

Joins the measured `cpu` cases of a results file with the `sim-cpu` predictions of the same cases (same workload,
technique and batch size, same captured graph) and writes `validation.csv` (workload, technique, batch_size,
measured_s, predicted_s, error) and `validation.md`: MAPE, median absolute percentage error, the worst case, the
Spearman rank correlation, and how compute-bound GEMMs fare, against the targets. Nothing is hidden: every case is
in the CSV, the misses first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import accelbench.results as col
from accelbench.files import atomic_write
from accelbench.results import ResultsFileError
from reports.load.run import OUT_ROOT, load_run, newest_results

TARGETS = {"mape": 0.25, "spearman": 0.8, "gemm_error": 0.15}


def compare(results: pd.DataFrame, real: str = "cpu", simulated: str = "sim-cpu") -> pd.DataFrame:
    keys = [col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE]
    ok = results[results[col.STATUS] == col.OK]
    if col.BENCHMARK in ok:  # inference only: training rows share workload, technique and batch size with them
        ok = ok[ok[col.BENCHMARK].fillna(col.INFERENCE) == col.INFERENCE]
    measured = ok[ok[col.DEVICE] == real].set_index(keys)[col.LATENCY_MEDIAN_S].rename("measured_s")
    predicted = ok[ok[col.DEVICE] == simulated].set_index(keys)[col.LATENCY_MEDIAN_S].rename("predicted_s")
    bound = ok[ok[col.DEVICE] == simulated].set_index(keys)[col.BOUND] if col.BOUND in ok else None
    table = pd.concat([measured, predicted], axis=1, join="inner").astype(float)
    if bound is not None:
        table = table.join(bound)
    table["error"] = table["predicted_s"] / table["measured_s"] - 1
    return table.reset_index().sort_values("error", key=lambda e: -e.abs())


def summary(table: pd.DataFrame) -> dict[str, float | str]:
    ape = table["error"].abs()
    worst = table.iloc[0]
    return {
        "cases": len(table),
        "mape": ape.mean(),
        "median_ape": ape.median(),
        "worst": f"{worst['workload']} / {worst['technique']} / b={worst['batch_size']}: "
        f"predicted {worst['predicted_s'] * 1e6:.1f} µs, measured {worst['measured_s'] * 1e6:.1f} µs",
        "spearman": table["predicted_s"].rank().corr(table["measured_s"].rank()),  # Pearson of the ranks
        "within_25pct": (ape <= 0.25).mean(),
    }


def gemm_check(profile_name: str = "sim-cpu") -> pd.DataFrame:
    """Large fp32/bf16 GEMMs timed now against their prediction: the compute-bound end of the model."""
    import torch
    from torch.utils.benchmark import Timer

    import devices
    from devices.simulated.graph import capture

    device = devices.REGISTRY.get(profile_name)
    device.open()
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for n in (512, 1024, 2048):
            a = torch.randn(n, n).to(dtype)
            model = torch.nn.Linear(n, n, bias=False).to(dtype).eval()
            with torch.no_grad():
                measured = Timer("m(a)", globals={"m": model, "a": a}).blocked_autorange(min_run_time=0.3).median
                predicted = device.predict(capture(model, a)).latency_s
            rows.append(
                {
                    "gemm": f"{n}^3 {str(dtype).split('.')[-1]}",
                    "measured_s": measured,
                    "predicted_s": predicted,
                    "error": predicted / measured - 1,
                }
            )
    return pd.DataFrame(rows)


def markdown(stats: dict, gemms: pd.DataFrame | None, table: pd.DataFrame, source: Path) -> str:
    verdict = lambda ok: "meets the target" if ok else "MISSES the target"  # noqa: E731
    lines = [
        "# Cost model validation: sim-cpu against the measured cpu device",
        "",
        f"Results: `{source}`; {stats['cases']} cases (workload x technique x batch size).",
        "",
        f"- MAPE: {stats['mape']:.1%} ({verdict(stats['mape'] <= TARGETS['mape'])} of {TARGETS['mape']:.0%})",
        f"- median absolute percentage error: {stats['median_ape']:.1%}",
        f"- cases within 25%: {stats['within_25pct']:.0%}",
        f"- Spearman rank correlation: {stats['spearman']:.3f} ({verdict(stats['spearman'] >= TARGETS['spearman'])} "
        f"of {TARGETS['spearman']})",
        f"- worst case: {stats['worst']}",
    ]
    if gemms is not None and not gemms.empty:
        worst = gemms["error"].abs().max()
        lines += [
            "",
            f"Compute-bound GEMMs (worst error {worst:.1%}, {verdict(worst <= TARGETS['gemm_error'])} of "
            f"{TARGETS['gemm_error']:.0%}):",
            "",
            gemms.to_markdown(index=False, floatfmt=".3g"),
        ]
    lines += [
        "",
        "The 15 largest misses (all cases are in validation.csv):",
        "",
        table.head(15).to_markdown(index=False, floatfmt=".3g"),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.validate", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", help="pytest-benchmark JSON with cpu and sim-cpu cases (default: newest)")
    parser.add_argument("--out", type=Path, help="directory (default: reports/out/<results name>)")
    parser.add_argument("--no-gemm", action="store_true", help="skip timing the large GEMMs")
    args = parser.parse_args(argv)
    try:
        path = Path(args.results) if args.results else newest_results()
        results = load_run(path)
    except ResultsFileError as exc:
        print(f"accelbench validate: {exc}", file=sys.stderr)
        return 2
    table = compare(results)
    if table.empty:
        print(
            f"accelbench validate: {path} has no case measured on both cpu and sim-cpu; run `make calibrate`, "
            "then `make validate` (it runs them).",
            file=sys.stderr,
        )
        return 2
    out = args.out or OUT_ROOT / path.stem
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "validation.csv", table.to_csv(index=False))
    gemms = None if args.no_gemm else gemm_check()
    text = markdown(summary(table), gemms, table, path)
    atomic_write(out / "validation.md", text)
    print(text)
    print(f"wrote {out / 'validation.csv'} and {out / 'validation.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
