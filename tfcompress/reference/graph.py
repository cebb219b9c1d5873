"""A .tflite flatbuffer as plain data for the integer reference: tensors with their quantisation
and constants, operators with their builtin options as a dict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from converters.flatbuffer import verify
from tfcompress.errors import ModelFileError

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {schema.TensorType.INT8: np.int8, schema.TensorType.INT16: np.int16, schema.TensorType.INT32: np.int32,
           schema.TensorType.INT64: np.int64, schema.TensorType.UINT8: np.uint8,
           schema.TensorType.FLOAT32: np.float32, schema.TensorType.BOOL: np.bool_}


@dataclass(frozen=True)
class TensorSpec:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    scale: np.ndarray  # float32, empty when not quantised; one per channel when per-axis
    zero_point: np.ndarray  # int64, as many as `scale`
    quantized_dimension: int = 0
    data: np.ndarray | None = field(default=None, compare=False)  # constants only

    @property
    def quantized(self) -> bool:
        return len(self.scale) > 0


@dataclass(frozen=True)
class Operator:
    index: int
    name: str  # builtin op name (FULLY_CONNECTED), or the custom code
    inputs: tuple[int, ...]  # -1: an optional input left out
    outputs: tuple[int, ...]
    options: dict  # builtin options by schema field name (fusedActivationFunction, axis, ...)
    custom: bool = False
    custom_options: bytes = b""  # a custom op's flexbuffer options


@dataclass(frozen=True)
class Graph:
    tensors: tuple[TensorSpec, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_graph(data: bytes, path: str = "<bytes>") -> Graph:
    """The first subgraph of a verified .tflite flatbuffer."""
    verify(data, path)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    if len(model.subgraphs) != 1:
        raise ModelFileError(path, f"has {len(model.subgraphs)} subgraphs; the reference runs one")
    graph = model.subgraphs[0]
    tensors = []
    for i, t in enumerate(graph.tensors):
        if t.type not in _DTYPES:
            raise ModelFileError(path, f"tensor {i} ({_text(t.name)}) has unsupported type {t.type}")
        dtype = _DTYPES[t.type]
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        buffer = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
        constant = None
        if buffer is not None and buffer.data is not None and len(buffer.data):
            constant = np.frombuffer(bytes(buffer.data), dtype=dtype).reshape(shape)
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [], np.float32)
        zero = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], np.int64)
        tensors.append(TensorSpec(i, _text(t.name), shape, dtype, scale, zero,
                                  int(q.quantizedDimension) if q is not None else 0, constant))
    operators = []
    for k, op in enumerate(graph.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        custom = builtin == schema.BuiltinOperator.CUSTOM
        name = _text(code.customCode) if custom else _OP_NAMES.get(builtin, str(builtin))
        options = {key: _plain(value) for key, value in vars(op.builtinOptions).items()} if op.builtinOptions else {}
        operators.append(Operator(k, name, tuple(int(i) for i in op.inputs), tuple(int(o) for o in op.outputs),
                                  options, custom, bytes(op.customOptions) if op.customOptions is not None else b""))
    return Graph(tuple(tensors), tuple(operators), tuple(int(i) for i in graph.inputs),
                 tuple(int(o) for o in graph.outputs))


def _plain(value):
    return [int(v) for v in value] if isinstance(value, np.ndarray) else value


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
