"""Read a .tflite flatbuffer: verify it, then list its operators, tensors and quantisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ai_edge_litert import schema_py_generated as schema

from tfcompress.errors import ModelFileError

FILE_IDENTIFIER = b"TFL3"

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


@dataclass
class TensorInfo:
    index: int
    name: str
    shape: list[int]
    dtype: str
    scales: list[float]
    zero_points: list[int]
    quantized_dimension: int
    constant_bytes: int  # bytes of constant data stored in the file (0 for activations)


@dataclass
class OperatorInfo:
    name: str  # builtin op name, or the custom code for custom ops
    inputs: list[int]
    outputs: list[int]
    custom: bool = False


@dataclass
class ModelSummary:
    size_bytes: int
    version: int
    description: str
    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: list[int]
    outputs: list[int]
    subgraphs: int
    extra: dict = field(default_factory=dict)

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.name] = counts.get(op.name, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def weight_bytes(self) -> int:
        return sum(t.constant_bytes for t in self.tensors)

    def format(self, title: str, show_tensors: bool = True) -> str:
        """A human-readable report, as `tfcompress inspect` prints it."""
        lines = [f"{title}: {self.size_bytes:,} bytes, schema v{self.version}, {self.subgraphs} subgraph(s), "
                 f"{len(self.operators)} operators, {len(self.tensors)} tensors, {self.weight_bytes:,} weight bytes"]
        for label, indices in (("input", self.inputs), ("output", self.outputs)):
            for i in indices:
                lines.append(f"{label:<7}{_describe(self.tensors[i])}")
        lines.append("operators:")
        lines += [f"  {name:<28}x{count}" for name, count in self.op_counts().items()]
        if show_tensors:
            lines.append("tensors:")
            lines += [f"  {_describe(t)}" for t in self.tensors]
        return "\n".join(lines)


def verify(data: bytes, path: str | Path = "<bytes>") -> None:
    """Raise ModelFileError unless `data` is a complete, valid TFLite flatbuffer."""
    if len(data) < 8:
        raise ModelFileError(path, f"too short to be a .tflite model ({len(data)} bytes)")
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelFileError(path, f"not a .tflite model: bytes 4..7 are {data[4:8]!r}, expected {FILE_IDENTIFIER!r}")
    root = int.from_bytes(data[0:4], "little")
    if root >= len(data):
        raise ModelFileError(path, f"truncated or corrupt: root table offset {root} is past the end ({len(data)} bytes)")
    from ai_edge_litert.interpreter import Interpreter

    try:  # the interpreter runs the flatbuffer verifier over every table and buffer
        Interpreter(model_content=bytes(data))
    except (ValueError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(path, f"truncated or corrupt .tflite model ({len(data)} bytes): {reason}") from None


def read_model(path: str | Path) -> tuple[bytes, ModelSummary]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a directory, expected a .tflite file") from None
    return data, summarize(data, path)


def summarize(data: bytes, path: str | Path = "<bytes>") -> ModelSummary:
    verify(data, path)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    tensors = []
    for i, t in enumerate(graph.tensors):
        buffer = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        stored = 0
        if buffer is not None:
            if buffer.data is not None:
                stored = len(buffer.data)
            elif buffer.size:  # large models keep buffers outside the flatbuffer table
                stored = int(buffer.size)
        q = t.quantization
        tensors.append(TensorInfo(
            index=i,
            name=_text(t.name),
            shape=[int(d) for d in (t.shape if t.shape is not None else [])],
            dtype=_TYPE_NAMES.get(t.type, str(t.type)),
            scales=[float(s) for s in (q.scale if q is not None and q.scale is not None else [])],
            zero_points=[int(z) for z in (q.zeroPoint if q is not None and q.zeroPoint is not None else [])],
            quantized_dimension=int(q.quantizedDimension) if q is not None else 0,
            constant_bytes=stored,
        ))
    operators = []
    for op in graph.operators or []:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        custom = builtin == schema.BuiltinOperator.CUSTOM
        name = _text(code.customCode) if custom else _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        operators.append(OperatorInfo(name, [int(i) for i in op.inputs], [int(o) for o in op.outputs], custom))
    return ModelSummary(
        size_bytes=len(data),
        version=int(model.version),
        description=_text(model.description),
        tensors=tensors,
        operators=operators,
        inputs=[int(i) for i in graph.inputs],
        outputs=[int(o) for o in graph.outputs],
        subgraphs=len(model.subgraphs),
    )


def weight_bytes_by_layer(summary: ModelSummary, layer_names: list[str]) -> dict[str, int]:
    """Constant bytes per Keras layer, matched on the converter's `model/layer/...` tensor names."""
    known = set(layer_names)
    result: dict[str, int] = {}
    for t in summary.tensors:
        if not t.constant_bytes:
            continue
        parts = [p for segment in t.name.split(";") for p in segment.split("/")]
        layer = next((p for p in parts if p in known), "other")
        result[layer] = result.get(layer, 0) + t.constant_bytes
    return result


def _describe(t: TensorInfo) -> str:
    quant = ""
    if len(t.scales) == 1:
        quant = f" scale={t.scales[0]:.6g} zero_point={t.zero_points[0] if t.zero_points else 0}"
    elif t.scales:
        quant = f" per-axis({t.quantized_dimension}) x{len(t.scales)} scales"
    const = f" const {t.constant_bytes:,} B" if t.constant_bytes else ""
    return f"[{t.index:>3}] {t.dtype:<8}{str(t.shape):<16}{quant}{const}  {t.name}"


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
