"""What a run was measured on: the machine and software facts that decide whether two runs can be compared.

Built from the run's JSON (`machine_info`, written by pytest-benchmark and accelbench.plugin), never from the
machine reading it. Two runs whose fingerprints differ measured different things; comparing their latencies is
comparing machines, and the regression gate refuses it unless forced (reports/regress/compare.py), the report warns.
"""

from __future__ import annotations

import hashlib
import re

import accelbench.results as col

# Facts of the machine and of the software that change latency. accelbench's own version is deliberately absent:
# comparing two versions of accelbench is what a regression check is for.
FIELDS = ("cpu_model", "cpu_flags", "cpu_threads", "gpu", "arch", "torch", "torchao", "python")
# recorded since runs carry them: compared where both runs name them (an older run's "" is unknown, not different),
# and left out of the machine id so that baselines saved before them keep their names
VERSIONS = ("onnxruntime", "cuda", "cudnn", "gpu_driver")


def fingerprint(raw: dict) -> dict[str, str]:
    """The fingerprint of one parsed run (accelbench.results.read_run): field -> text, "" where the run does not say."""
    info = raw.get("machine_info") or {}
    ours = info.get("accelbench") or {}
    found = ours.get("devices") or {}
    cpu = found.get("cpu") or {}
    gpus = sorted(
        {facts[col.GPU_NAME] for facts in found.values() if isinstance(facts, dict) and facts.get(col.GPU_NAME)}
    )
    flags = sorted(
        name.removeprefix("flag_") for name, value in cpu.items() if name.startswith("flag_") and value is True
    )
    return {
        "cpu_model": str(cpu.get(col.CPU_MODEL) or (info.get("cpu") or {}).get("brand_raw") or ""),
        "cpu_flags": " ".join(flags),
        "cpu_threads": str(cpu.get(col.THREADS) or ""),
        "gpu": ", ".join(gpus),
        "arch": str(info.get("machine") or ""),
        "torch": str(ours.get("torch") or ""),
        "torchao": str(ours.get("torchao") or ""),
        "python": str(ours.get("python") or info.get("python_version") or ""),
        "onnxruntime": str(ours.get("onnxruntime") or ""),
        "cuda": str(ours.get("cuda") or ""),
        "cudnn": str(ours.get("cudnn") or ""),
        "gpu_driver": ", ".join(
            sorted({str(f["gpu_driver"]) for f in found.values() if isinstance(f, dict) and f.get("gpu_driver")})
        ),
    }


def mismatches(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """One line per field that differs, e.g. "torch: '2.13.0+cpu' vs '2.14.0+cpu'"; empty when comparable."""
    return [
        f"{field}: {a.get(field, '')!r} vs {b.get(field, '')!r}"
        for field in (*FIELDS, *VERSIONS)
        if a.get(field, "") != b.get(field, "") and (field in FIELDS or (a.get(field) and b.get(field)))
    ]


def machine_id(fp: dict[str, str]) -> str:
    """A file-name-safe name of the fingerprint: the CPU model and GPU as words, then a short hash of every field,
    e.g. "amd-epyc-2t-3f9c1a0b". Equal fingerprints give equal ids."""
    words = re.sub(r"[^a-z0-9]+", "-", f"{fp.get('cpu_model', '')} {fp.get('gpu', '')}".lower()).strip("-") or "machine"
    digest = hashlib.sha256("\n".join(f"{f}={fp.get(f, '')}" for f in FIELDS).encode()).hexdigest()[:8]
    threads = f"-{fp['cpu_threads']}t" if fp.get("cpu_threads") else ""
    return f"{words[:40].rstrip('-')}{threads}-{digest}"
