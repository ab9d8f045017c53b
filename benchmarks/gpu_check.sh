#!/usr/bin/env bash
# One go, under 5 minutes: is photoface right and fast on this machine's accelerator?
#   1. the model-equality tests (ONNX Runtime vs Keras FaceNet on real aligned faces) on the device
#      ONNX Runtime picks (CUDA when onnxruntime-gpu and a GPU are there, else the CPU);
#   2. a scan of one shared set: device, photos/s, detection rate, verification AUC;
#   3. a short fine-tune (TensorFlow, on its GPU when it has one): before/after AUC.
# Prints which device each part used. Runs unchanged on a CPU-only machine (and says "CPU").
#   benchmarks/gpu_check.sh [SET]        (default: five_celebrity_faces)
#   PYTHON=/path/to/python benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
SET="${1:-five_celebrity_faces}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TF_CPP_MIN_LOG_LEVEL=2
export PHOTOFACE_CACHE="${PHOTOFACE_CACHE:-$(mktemp -d)}"
start=$(date +%s)

echo "== device"
"$PY" - <<'PY'
import onnxruntime as ort
from photoface.core.faces.detect import FaceDetector
from photoface.core.faces.embed import compute_device
print("onnxruntime", ort.__version__, "providers:", ort.get_available_providers())
print("photoface device (FaceNet):", compute_device())
print("photoface device (MTCNN):", FaceDetector().device)
PY

echo "== 1. model equality on the device (ONNX Runtime vs Keras, real aligned faces)"
"$PY" -m pytest -q -p no:cacheprovider tests/core/test_embed.py \
    -k "onnx_runtime_equals_keras or fine_tuned_weights_run_on_onnx or device_is_named"
"$PY" -m pytest -q -p no:cacheprovider tests/core/test_mtcnn_onnx.py

echo "== 2. scan of $SET"
"$PY" -m benchmarks.scan --set "$SET" --skip-reference

echo "== 3. short fine-tune on $SET"
"$PY" - "$SET" <<'PY'
import sys
import tensorflow as tf
print("tensorflow", tf.__version__, "GPUs:", [g.name for g in tf.config.list_physical_devices("GPU")] or "none (CPU)")
PY
"$PY" -m benchmarks.finetune --set "$SET" --steps 40

echo "== done in $(( $(date +%s) - start )) s"
