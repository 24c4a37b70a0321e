"""Atomic writes and run fingerprints: the plumbing that keeps results whole and comparisons honest."""

from __future__ import annotations

import os

import pytest

from accelbench.files import atomic_write
from reports.load.fingerprint import FIELDS, VERSIONS, fingerprint, machine_id, mismatches


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write(target, "old")
    atomic_write(target, b"new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_atomic_write_gives_the_permissions_open_would(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = atomic_write(tmp_path / "new.html", "x")
        assert fresh.stat().st_mode & 0o777 == 0o644  # readable by others, not mkstemp's private 0600
        kept = tmp_path / "kept.csv"
        kept.write_text("old")
        kept.chmod(0o640)
        atomic_write(kept, "new")
        assert kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the temporary file is cleaned up


def _run(cpu_model="AMD EPYC", torch="2.13.0+cpu", gpu=None, flags=None, **versions) -> dict:
    cpu = {
        "simulated": False,
        "cpu_model": cpu_model,
        "threads": 2,
        **(flags or {"flag_avx2": True, "flag_amx_int8": False}),
    }
    found = {"cpu": cpu, "sim-tpu-v4": {"simulated": True}}
    if gpu:
        found["cuda"] = {"simulated": False, "gpu_name": gpu, "gpu_driver": versions.pop("gpu_driver", None)}
    ours = {"torch": torch, "torchao": "0.18.0", "python": "3.11.7", "devices": found, **versions}
    return {"machine_info": {"machine": "x86_64", "accelbench": ours}}


def test_fingerprint_reads_cpu_flags_gpu_and_versions():
    fp = fingerprint(_run(gpu="NVIDIA H100 80GB HBM3", onnxruntime="1.23.0", cuda="12.8", gpu_driver="570.1"))
    assert set(fp) == {*FIELDS, *VERSIONS}
    assert (fp["onnxruntime"], fp["cuda"], fp["gpu_driver"], fp["cudnn"]) == ("1.23.0", "12.8", "570.1", "")
    assert fp["cpu_model"] == "AMD EPYC" and fp["cpu_flags"] == "avx2"  # flags that are False are not listed
    assert fp["gpu"] == "NVIDIA H100 80GB HBM3" and fp["torch"] == "2.13.0+cpu" and fp["cpu_threads"] == "2"


def test_mismatches_name_each_differing_field():
    a = fingerprint(_run())
    assert mismatches(a, fingerprint(_run())) == []
    lines = mismatches(a, fingerprint(_run(cpu_model="Intel Xeon", torch="2.14.0+cpu")))
    assert lines == ["cpu_model: 'AMD EPYC' vs 'Intel Xeon'", "torch: '2.13.0+cpu' vs '2.14.0+cpu'"]
    assert mismatches(a, fingerprint(_run(flags={"flag_avx2": True, "flag_amx_int8": True}))) == [
        "cpu_flags: 'avx2' vs 'amx_int8 avx2'"
    ]
    ort = fingerprint(_run(onnxruntime="1.23.0"))
    assert mismatches(a, ort) == []  # a run that does not record the version: unknown, not different
    assert mismatches(ort, fingerprint(_run(onnxruntime="1.24.0"))) == ["onnxruntime: '1.23.0' vs '1.24.0'"]
    assert machine_id(ort) == machine_id(a)  # baselines saved before versions were recorded keep their names


def test_machine_id_is_stable_file_safe_and_tells_machines_apart():
    a, b = fingerprint(_run()), fingerprint(_run(torch="2.14.0+cpu"))
    assert machine_id(a) == machine_id(fingerprint(_run()))
    assert machine_id(a) != machine_id(b)
    assert machine_id(a).startswith("amd-epyc-2t-")
    assert all(c.isalnum() or c == "-" for c in machine_id(fingerprint(_run(cpu_model="Intel(R) Xeon(R) @ 2.0GHz"))))
