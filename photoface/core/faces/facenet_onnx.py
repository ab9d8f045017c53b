"""FaceNet as an ONNX graph, written with `onnx.helper` from the architecture and the weights as numpy.

The same Inception-ResNet-v1 as `facenet.build_inception_resnet_v1` (same layer names, same order of
operations), so ONNX Runtime's embeddings equal the Keras model's within float rounding and keep its
model version. Nothing here imports TensorFlow: the shipped weights are read from the frozen graph by
`graphdef`, a fine-tuned `.weights.h5` is turned into named arrays once by `keras_export` in a child
process (Keras names its h5 entries by class and position, not by layer, so only Keras reads them
reliably), and the arrays are cached as `.npz`.

Weights are a dict `"<layer>/<var>"` -> float32 array, with the Keras layer names of `facenet`:
`<conv>/kernel` (H, W, in, out), `<conv>/bias`, `Bottleneck/kernel` (1792, 512) and
`Bottleneck.BatchNorm/{beta,moving_mean,moving_variance}`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from photoface.core.errors import ModelNotFoundError
from photoface.core.faces import facenet as arch

log = logging.getLogger(__name__)

# Bump when the graph written here changes, so that cached files of an older builder are not reused.
BUILDER_VERSION = 1
OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "embeddings"


# --------------------------------------------------------------------------- weights


def shipped_weights(graph_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The shipped FaceNet's weights by Keras layer name, from the frozen graph (no TensorFlow).

    The graph's non-variable constants (residual scales, batch-norm's unit gamma, the L2 epsilon) are
    checked against the values this architecture has built in.

    Raises:
        ModelNotFoundError: the graph is missing, damaged, or not this network.
    """
    from photoface.core.faces import graphdef

    expected = {"embeddings/Maximum/y": arch._L2_EPSILON,
                arch.GRAPH_PREFIX + "Bottleneck/BatchNorm/Const": 1.0}
    for i in range(1, 6):
        expected[f"{arch.GRAPH_PREFIX}Repeat/block35_{i}/mul/x"] = arch._BLOCK35_SCALE
        expected[f"{arch.GRAPH_PREFIX}Repeat_2/block8_{i}/mul/x"] = arch._BLOCK8_SCALE
    for i in range(1, 11):
        expected[f"{arch.GRAPH_PREFIX}Repeat_1/block17_{i}/mul/x"] = arch._BLOCK17_SCALE
    expected[arch.GRAPH_PREFIX + "Block8/mul/x"] = 1.0

    renames = {"weights": "kernel", "biases": "bias", "Conv2D_bn_offset": "bias",
               "beta": "beta", "moving_mean": "moving_mean", "moving_variance": "moving_variance"}
    weights: dict[str, np.ndarray] = {}
    for name, value in graphdef.float_constants(graph_path).items():
        if name in expected:
            if not np.all(value == np.float32(expected.pop(name))):
                raise ModelNotFoundError(graph_path, f"not the expected FaceNet graph: {name} is {value.ravel()[:3]}")
            continue
        scope, _, var = name.removeprefix(arch.GRAPH_PREFIX).rpartition("/")
        if not name.startswith(arch.GRAPH_PREFIX) or var not in renames:
            raise ModelNotFoundError(graph_path, f"not the expected FaceNet graph: unknown constant {name}")
        weights[f"{scope.replace('/', '.')}/{renames[var]}"] = value
    if expected:
        raise ModelNotFoundError(graph_path, f"not the expected FaceNet graph: {sorted(expected)[0]} is missing")
    return weights


def fine_tuned_weights(weights_h5: str | os.PathLike, cache_npz: str | os.PathLike) -> dict[str, np.ndarray]:
    """A fine-tuned `.weights.h5` as named arrays: from `cache_npz`, else made once by a child process
    that runs Keras (so this process never imports TensorFlow) and cached there.

    Raises:
        ModelNotFoundError: the weights file is missing or damaged.
    """
    weights_h5, cache_npz = Path(weights_h5), Path(cache_npz)
    if not weights_h5.is_file():
        raise ModelNotFoundError(weights_h5, "missing")
    if not cache_npz.is_file():
        cache_npz.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "photoface.core.faces.keras_export", str(weights_h5), str(cache_npz)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
            raise ModelNotFoundError(weights_h5, f"damaged or not FaceNet weights ({tail[0]})")
    with np.load(cache_npz) as data:
        return {k: data[k] for k in data.files}


# --------------------------------------------------------------------------- graph


class _Builder:
    """Appends nodes and initializers; takes each weight once and insists every one is used."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.weights = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.initializers: list = []

    def take(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        if key not in self.weights:
            raise ModelNotFoundError(key, "not the expected FaceNet weights: missing")
        value = np.asarray(self.weights[key], np.float32)
        if value.shape != tuple(shape):
            raise ModelNotFoundError(key, f"not the expected FaceNet weights: shape {value.shape}, expected {shape}")
        self.used.add(key)
        return value

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x: str, c_in: int, filters: int, kernel, name: str, strides: int = 1,
             padding: str = "same", relu: bool = True) -> str:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        k = self.take(f"{name}/kernel", (kh, kw, c_in, filters)).transpose(3, 2, 0, 1)  # HWIO -> OIHW
        b = self.take(f"{name}/bias", (filters,))
        # Keras "same" with stride 1 and odd kernels pads symmetrically; every strided conv is "valid".
        pads = [kh // 2, kw // 2, kh // 2, kw // 2] if padding == "same" else [0, 0, 0, 0]
        y = self.node("Conv", [x, self.const(f"{name}/W", k), self.const(f"{name}/B", b)], f"{name}/conv",
                      kernel_shape=[kh, kw], strides=[strides, strides], pads=pads)
        return self.node("Relu", [y], f"{name}/relu") if relu else y

    def max_pool(self, x: str, name: str) -> str:
        return self.node("MaxPool", [x], name, kernel_shape=[3, 3], strides=[2, 2])


def _block(b: _Builder, x: str, channels: int, name: str, branches: list[tuple], scale: float,
           relu: bool = True) -> str:
    """An Inception-ResNet block: branches of convs, concat, 1x1 "up" conv, `x + scale * up`."""
    outs, widths = [], []
    for branch in branches:
        y, c = x, channels
        for filters, kernel, conv_name in branch:
            y = b.conv(y, c, filters, kernel, f"{name}.{conv_name}")
            c = filters
        outs.append(y)
        widths.append(c)
    mixed = b.node("Concat", outs, f"{name}.concat", axis=1)
    up = b.conv(mixed, sum(widths), channels, 1, f"{name}.Conv2d_1x1", relu=False)
    scaled = b.node("Mul", [up, b.const(f"{name}/scale", np.float32(scale))], f"{name}.scaled")
    y = b.node("Add", [x, scaled], f"{name}.residual")
    return b.node("Relu", [y], f"{name}.Relu") if relu else y


def build_model(weights: dict[str, np.ndarray]):
    """Inception-ResNet-v1 as an `onnx.ModelProto`.

    Input `input`: float32 (N, 160, 160, 3) NHWC RGB, already scaled (see `embed.scale_crops`).
    Output `embeddings`: float32 (N, 512), L2-normalised.

    Raises:
        ModelNotFoundError: a weight is missing, misshapen, or left unused.
    """
    import onnx
    from onnx import TensorProto, helper

    b = _Builder(weights)
    x = b.node("Transpose", [INPUT_NAME], "to_nchw", perm=[0, 3, 1, 2])
    x = b.conv(x, 3, 32, 3, "Conv2d_1a_3x3", strides=2, padding="valid")
    x = b.conv(x, 32, 32, 3, "Conv2d_2a_3x3", padding="valid")
    x = b.conv(x, 32, 64, 3, "Conv2d_2b_3x3")
    x = b.max_pool(x, "MaxPool_3a_3x3")
    x = b.conv(x, 64, 80, 1, "Conv2d_3b_1x1", padding="valid")
    x = b.conv(x, 80, 192, 3, "Conv2d_4a_3x3", padding="valid")
    x = b.conv(x, 192, 256, 3, "Conv2d_4b_3x3", strides=2, padding="valid")
    for i in range(1, 6):
        x = _block(b, x, 256, f"Repeat.block35_{i}", [
            [(32, 1, "Branch_0.Conv2d_1x1")],
            [(32, 1, "Branch_1.Conv2d_0a_1x1"), (32, 3, "Branch_1.Conv2d_0b_3x3")],
            [(32, 1, "Branch_2.Conv2d_0a_1x1"), (32, 3, "Branch_2.Conv2d_0b_3x3"), (32, 3, "Branch_2.Conv2d_0c_3x3")],
        ], arch._BLOCK35_SCALE)

    b0 = b.conv(x, 256, 384, 3, "Mixed_6a.Branch_0.Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = b.conv(x, 256, 192, 1, "Mixed_6a.Branch_1.Conv2d_0a_1x1")
    b1 = b.conv(b1, 192, 192, 3, "Mixed_6a.Branch_1.Conv2d_0b_3x3")
    b1 = b.conv(b1, 192, 256, 3, "Mixed_6a.Branch_1.Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = b.max_pool(x, "Mixed_6a.Branch_2.MaxPool_1a_3x3")
    x = b.node("Concat", [b0, b1, b2], "Mixed_6a.concat", axis=1)  # 896 x 8 x 8
    for i in range(1, 11):
        x = _block(b, x, 896, f"Repeat_1.block17_{i}", [
            [(128, 1, "Branch_0.Conv2d_1x1")],
            [(128, 1, "Branch_1.Conv2d_0a_1x1"), (128, (1, 7), "Branch_1.Conv2d_0b_1x7"),
             (128, (7, 1), "Branch_1.Conv2d_0c_7x1")],
        ], arch._BLOCK17_SCALE)

    b0 = b.conv(x, 896, 256, 1, "Mixed_7a.Branch_0.Conv2d_0a_1x1")
    b0 = b.conv(b0, 256, 384, 3, "Mixed_7a.Branch_0.Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = b.conv(x, 896, 256, 1, "Mixed_7a.Branch_1.Conv2d_0a_1x1")
    b1 = b.conv(b1, 256, 256, 3, "Mixed_7a.Branch_1.Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = b.conv(x, 896, 256, 1, "Mixed_7a.Branch_2.Conv2d_0a_1x1")
    b2 = b.conv(b2, 256, 256, 3, "Mixed_7a.Branch_2.Conv2d_0b_3x3")
    b2 = b.conv(b2, 256, 256, 3, "Mixed_7a.Branch_2.Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = b.max_pool(x, "Mixed_7a.Branch_3.MaxPool_1a_3x3")
    x = b.node("Concat", [b0, b1, b2, b3], "Mixed_7a.concat", axis=1)  # 1792 x 3 x 3
    block8 = [
        [(192, 1, "Branch_0.Conv2d_1x1")],
        [(192, 1, "Branch_1.Conv2d_0a_1x1"), (192, (1, 3), "Branch_1.Conv2d_0b_1x3"),
         (192, (3, 1), "Branch_1.Conv2d_0c_3x1")],
    ]
    for i in range(1, 6):
        x = _block(b, x, 1792, f"Repeat_2.block8_{i}", block8, arch._BLOCK8_SCALE)
    x = _block(b, x, 1792, "Block8", block8, 1.0, relu=False)

    x = b.node("AveragePool", [x], "Logits.AvgPool_1a_8x8", kernel_shape=[3, 3], strides=[1, 1])
    x = b.node("Flatten", [x], "Logits.Flatten", axis=1)  # 1x1 spatial: same order as Keras' NHWC flatten
    x = b.node("MatMul", [x, b.const("Bottleneck/W", b.take("Bottleneck/kernel", (1792, 512)))], "Bottleneck")
    # Batch-norm in inference mode, as tf.nn.batch_normalization computes it (gamma is 1: scale=False).
    bn = "Bottleneck.BatchNorm"
    mean = b.take(f"{bn}/moving_mean", (512,))
    inv = (1.0 / np.sqrt(b.take(f"{bn}/moving_variance", (512,)) + np.float32(arch._BN_EPSILON))).astype(np.float32)
    offset = (b.take(f"{bn}/beta", (512,)) - mean * inv).astype(np.float32)
    x = b.node("Mul", [x, b.const(f"{bn}/inv", inv)], f"{bn}.mul")
    x = b.node("Add", [x, b.const(f"{bn}/offset", offset)], f"{bn}.add")
    # L2 normalisation as tf.nn.l2_normalize: x * rsqrt(max(sum(x^2), epsilon)).
    s = b.node("ReduceSumSquare", [x], "embeddings.sumsq", axes=[1], keepdims=1)
    s = b.node("Max", [s, b.const("embeddings/epsilon", np.float32(arch._L2_EPSILON))], "embeddings.max")
    s = b.node("Reciprocal", [b.node("Sqrt", [s], "embeddings.sqrt")], "embeddings.rsqrt")
    b.nodes.append(helper.make_node("Mul", [x, s], [OUTPUT_NAME], name=OUTPUT_NAME))

    unused = sorted(set(weights) - b.used)
    if unused:
        raise ModelNotFoundError(unused[0], f"not the expected FaceNet weights: {len(unused)} left unused")
    graph = helper.make_graph(
        b.nodes, "InceptionResnetV1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", arch.INPUT_SIZE, arch.INPUT_SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", arch.EMBEDDING_DIM])],
        b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="photoface", producer_version=str(BUILDER_VERSION))
    model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    onnx.checker.check_model(model)
    return model


# --------------------------------------------------------------------------- files


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_model(model, path: Path) -> Path:
    """Saves an ONNX model atomically (a crash leaves no half file under the final name)."""
    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        onnx.save_model(model, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def onnx_model_path(weights: Path | None, cache_dir: Path) -> Path:
    """The ONNX FaceNet of a weights file (None: the shipped graph), built once and cached.

    The file is named by the first 12 hex digits of the weights file's sha256 and the builder version:
    `facenet-<sha12>-b<N>.onnx`. Shipped: in `cache_dir`; fine-tuned: beside the weights file (the
    library's `models/<id>/`; the named arrays of `facenet-<sha12>.npz` are removed once it is written).

    Raises:
        ModelNotFoundError: a source file is missing or damaged.
    """
    from photoface.core import paths

    source = paths.facenet_graph_path() if weights is None else Path(weights)
    try:
        sha = file_sha256(source)[:12]
    except OSError as e:
        raise ModelNotFoundError(source, f"cannot be read ({e.strerror or e})") from e
    folder = cache_dir if weights is None else source.parent
    target = folder / f"facenet-{sha}-b{BUILDER_VERSION}.onnx"
    if target.is_file():
        return target
    if weights is None:
        arrays = shipped_weights(source)
        write_model(build_model(arrays), target)
    else:
        npz = folder / f"facenet-{sha}.npz"
        arrays = fine_tuned_weights(source, npz)
        write_model(build_model(arrays), target)
        npz.unlink(missing_ok=True)  # ~90 MB; the ONNX file now holds the same weights
    log.info("FaceNet for ONNX Runtime written to %s (from %s)", target, source)
    return target
