"""`python -m photoface.core.faces.keras_export WEIGHTS.h5 OUT.npz`: a fine-tuned FaceNet's weights by
layer name, for `facenet_onnx`.

Runs in a child process because it imports TensorFlow (Keras names the entries of a `.weights.h5` by
layer class and position, so only Keras maps them back to layers reliably); the process that scans
never does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np


def layer_weights(model) -> dict[str, np.ndarray]:
    """`"<layer>/<var>"` -> float32 array for every weight of a `facenet` Keras model."""
    out = {}
    for layer in model.layers:
        for var in layer.weights:
            # Keras 3 variable paths end with the variable's own name: kernel, bias, beta, ...
            out[f"{layer.name}/{var.path.rsplit('/', 1)[-1]}"] = np.asarray(var.numpy(), np.float32)
    # slim's bottleneck batch-norm has no gamma (scale=False); nothing else is expected.
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m photoface.core.faces.keras_export WEIGHTS.h5 OUT.npz", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from photoface.core.faces import facenet

    out = Path(argv[1])
    arrays = layer_weights(facenet.load_fine_tuned(argv[0]))
    tmp = out.with_name(f"{out.stem}.tmp{os.getpid()}.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
