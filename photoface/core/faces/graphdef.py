"""The float constants of a frozen TensorFlow GraphDef, read without TensorFlow.

A frozen graph is a protobuf `GraphDef`; its weights are `Const` nodes holding a `TensorProto`. Only
the handful of fields needed to get them out are decoded here, straight from the wire format, so
that scanning (which builds FaceNet for ONNX Runtime from the shipped graph) never imports
TensorFlow, which takes seconds and a gigabyte. Field numbers are those of TensorFlow's
`graph.proto`, `node_def.proto`, `attr_value.proto`, `tensor.proto` and `tensor_shape.proto`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from photoface.core.errors import ModelNotFoundError

_DT_FLOAT = 1  # tensorflow/core/framework/types.proto

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class _WireError(ValueError):
    pass


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _WireError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise _WireError("varint too long")


def _fields(buf: memoryview):
    """Yields (field number, wire type, value) of one message; value is an int or a memoryview."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _BYTES:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise _WireError("truncated field")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == _FIXED32:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == _FIXED64:
            value, pos = buf[pos:pos + 8], pos + 8
        else:
            raise _WireError(f"unsupported wire type {wire}")
        yield field, wire, value


def _shape(buf: memoryview) -> tuple[int, ...]:
    dims = []
    for field, _, dim in _fields(buf):
        if field == 2:  # TensorShapeProto.dim
            size = 0
            for f, _, v in _fields(dim):
                if f == 1:  # Dim.size
                    size = v
            dims.append(size)
    return tuple(dims)


def _float_tensor(buf: memoryview) -> np.ndarray | None:
    """A TensorProto as a float32 array; None when it is not float32."""
    dtype, shape, content, values = None, (), None, []
    for field, wire, v in _fields(buf):
        if field == 1:
            dtype = v
        elif field == 2:
            shape = _shape(v)
        elif field == 4:  # tensor_content: raw little-endian bytes
            content = bytes(v)
        elif field == 5:  # float_val: packed, or one fixed32 per entry
            values.append(np.frombuffer(bytes(v), "<f4"))
    if dtype != _DT_FLOAT:
        return None
    if content is not None:
        return np.frombuffer(content, "<f4").astype(np.float32).reshape(shape)
    flat = np.concatenate(values) if values else np.zeros(1, np.float32)
    size = int(np.prod(shape)) if shape else 1
    if flat.size == size:
        return flat.astype(np.float32).reshape(shape)
    # As tf.make_ndarray: a shorter float_val repeats its last value over the shape.
    full = np.full(size, flat[-1], np.float32)
    full[:flat.size] = flat
    return full.reshape(shape)


def float_constants(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every float32 `Const` node of a frozen GraphDef, by node name.

    Returns:
        node name -> float32 array (the same as `facenet.graph_float_constants`, which needs TF).

    Raises:
        ModelNotFoundError: the file is missing, unreadable, or not a GraphDef.
    """
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except FileNotFoundError:
        raise ModelNotFoundError(path, "missing") from None
    except OSError as e:
        raise ModelNotFoundError(path, f"cannot be read ({e.strerror or e})") from e
    consts: dict[str, np.ndarray] = {}
    nodes = 0
    try:
        for field, wire, node in _fields(data):
            if field != 1 or wire != _BYTES:  # GraphDef.node
                continue
            nodes += 1
            name = op = ""
            tensor = None
            for f, w, v in _fields(node):
                if f == 1:
                    name = bytes(v).decode()
                elif f == 2:
                    op = bytes(v).decode()
                elif f == 5 and w == _BYTES:  # attr: map entry {1: key, 2: AttrValue}
                    key, value = "", None
                    for ef, _, ev in _fields(v):
                        if ef == 1:
                            key = bytes(ev).decode()
                        elif ef == 2:
                            value = ev
                    if key == "value" and value is not None:
                        for af, _, av in _fields(value):
                            if af == 8:  # AttrValue.tensor
                                tensor = av
            if op == "Const" and tensor is not None:
                array = _float_tensor(tensor)
                if array is not None:
                    consts[name] = array
    except (_WireError, UnicodeDecodeError, ValueError) as e:
        raise ModelNotFoundError(path, f"damaged, not a TensorFlow graph ({e})") from e
    if not nodes:
        raise ModelNotFoundError(path, "damaged, the graph is empty")
    return consts
