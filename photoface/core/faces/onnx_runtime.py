"""ONNX Runtime for the networks: which device, and sessions on it.

The device is chosen automatically: CUDA when `onnxruntime-gpu` is installed and a GPU answers (the
`gpu` extra), else the CPU. Nothing here imports TensorFlow, so asking for the device is cheap.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess

log = logging.getLogger(__name__)

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def providers() -> list[str]:
    """The execution providers to try, best first: CUDA when this build of ONNX Runtime has it."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in (CUDA, CPU) if p in available] or [CPU]


def make_session(model_path: str | os.PathLike, threads: int = 0):
    """An `onnxruntime.InferenceSession` on the best device; falls back to the CPU by itself.

    Args:
        threads: intra-op threads; 0 lets ONNX Runtime use every core.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads)
    # Threads spinning between batches took the CPU from the detector threads of the scan:
    # sports_celebrities 16.3 -> 17.3 photos/s without spinning (benchmarks/scan.py, same machine).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: a missing CUDA library is reported by session_device()
    return ort.InferenceSession(str(model_path), options, providers=providers())


def session_device(session) -> str:
    """Where a session runs, for people: "CPU" or "GPU: <name> (CUDA)"."""
    return device_name(session.get_providers()[0])


def device_name(provider: str | None = None) -> str:
    """"CPU" or "GPU: <name> (CUDA)" for an execution provider (default: the best available); the
    same form the TensorFlow-based report had, which the UI and `status` show."""
    provider = provider or providers()[0]
    if provider != CUDA:
        return "CPU"
    return f"GPU: {_gpu_name() or 'unnamed'} (CUDA)"


@functools.cache
def _gpu_name() -> str:
    # ONNX Runtime does not name the device; nvidia-smi, when it is there, does.
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if not names:
        return ""
    return names[0] + (f" +{len(names) - 1} more" if len(names) > 1 else "")
