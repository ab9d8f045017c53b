"""FaceNet in INT8: ONNX Runtime static quantisation (QDQ), calibrated on aligned faces.

Weights are quantised per output channel (symmetric int8), activations per tensor (uint8) with ranges
measured on calibration faces. The INT8 model sits beside its FP32 ONNX file as
`<fp32 stem>-int8.onnx` and is built once (`python -m benchmarks.int8 --write` calibrates it on faces
of the shared sets); its embeddings are another model version (`config.model_version`, `:int8`), never
compared with FP32 ones.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from photoface.core.faces.embed import scale_crops

log = logging.getLogger(__name__)


def int8_path(fp32_path: str | os.PathLike) -> Path:
    """Where the INT8 model of an FP32 FaceNet ONNX file lives."""
    fp32_path = Path(fp32_path)
    return fp32_path.with_name(f"{fp32_path.stem}-int8.onnx")


class _Crops:
    """`CalibrationDataReader` over aligned crops, in batches."""

    def __init__(self, crops: np.ndarray, scaling: str, batch_size: int = 16):
        self.batches = [scale_crops(crops[i:i + batch_size], scaling) for i in range(0, len(crops), batch_size)]

    def get_next(self):
        return {"input": self.batches.pop(0)} if self.batches else None

    def rewind(self):  # not needed by MinMax, part of the reader protocol in recent versions
        pass


def build_int8(fp32_path: str | os.PathLike, crops: np.ndarray, scaling: str = "fixed",
               out_path: str | os.PathLike | None = None) -> Path:
    """Quantise an FP32 FaceNet ONNX file.

    Args:
        fp32_path: from `facenet_onnx.onnx_model_path`.
        crops: uint8 (N, 160, 160, 3) RGB aligned faces to calibrate on (a few hundred suffice),
            preferably not the faces the result is evaluated on.
        scaling: the input scaling the model will be used with.
        out_path: default `int8_path(fp32_path)`.

    Returns:
        The INT8 model's path (written atomically).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = Path(out_path) if out_path is not None else int8_path(fp32_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and graph clean-up first, as ONNX Runtime recommends for static quantisation.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        written = Path(tmp) / "int8.onnx"
        quantize_static(str(prepared), str(written), _Crops(np.asarray(crops), scaling),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        # The L2 normalisation at the end stays in float: it is cheap and quantising
                        # the unit vectors would cost accuracy for nothing.
                        op_types_to_quantize=["Conv", "MatMul", "MaxPool", "AveragePool", "Concat",
                                              "Add", "Mul", "Relu"],
                        nodes_to_exclude=["Bottleneck.BatchNorm.mul", "Bottleneck.BatchNorm.add",
                                          "embeddings"],
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
        os.replace(written, out)
    log.info("INT8 FaceNet written to %s (calibrated on %d faces)", out, len(crops))
    return out
