"""A trained classifier -> an int8 .tflite of fused `TFC_` ops, quantised by tfcompress itself.

The TFLite converter does not quantise custom ops, so this module does what it would: it runs
the Keras model over a calibration sample to take each activation's float range (and, for the
fully connected ops, the range of their int16 intermediate), quantises every factor
symmetrically to int8 (one scale per output column where the op allows it), and writes a
clean all-int8 graph with the TFLite schema, each buffer 4-byte aligned. One op per layer:

    embedding + pooling   TFC_EMBEDDING_BAG (dense), TFC_SPARSE_EMBEDDING_BAG (pruned) or
                          TFC_{LMF,HMF,KP,DKP}_EMBEDDING_BAG
    dense layers          FULLY_CONNECTED (dense), TFC_SPARSE_FULLY_CONNECTED (pruned) or
                          TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED

The ops' math is tfcompress/reference/structured_ops.py (docs/ops.md); recurrent encoders are
lowered by converters/custom_recurrent.py (embedding lookup, TFC_LSTM / TFC_GRU).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tfcompress.reference.custom_options import (EMBEDDING_BAG, SPARSE_FULLY_CONNECTED, STRUCTURED_EMBEDDING_BAG,
                                                 STRUCTURED_FULLY_CONNECTED, encode_options)
from converters.flatbuffer import FILE_IDENTIFIER
from tfcompress.structures.sparse import SparseMatrix
from tfcompress.structures.spec import stores_sparse
from tfcompress.tokenizer import PAD_ID

BUFFER_ALIGNMENT = 4  # TFLM reads constants in place: int32 and float32 data must be naturally aligned
INT8_LIMIT, INT16_LIMIT = 127, 32767
ACTIVATIONS = {"linear": schema.ActivationFunctionType.NONE, "relu": schema.ActivationFunctionType.RELU}


# -- quantisation --------------------------------------------------------------------------------

def activation_quantization(values: np.ndarray) -> tuple[float, int]:
    """(scale, zero point) of an int8 activation from its calibrated float range, as the TFLite
    converter chooses them: the range widened to hold 0, asymmetric over [-128, 127]."""
    lo, hi = np.float32(min(float(np.min(values)), 0.0)), np.float32(max(float(np.max(values)), 0.0))
    scale = np.float32((hi - lo) / np.float32(255.0))
    if scale == 0:
        return 1.0, 0
    zero = np.float32(-128.0) - lo / scale
    return float(scale), int(np.clip(np.round(zero), -128, 127))


def symmetric(w: np.ndarray, axis: int | None = None, limit: int = INT8_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """(int values, float32 scales) of `w` quantised symmetrically: one scale for the whole
    tensor (axis None) or one per index of `axis`, each max|w| / limit."""
    w = np.asarray(w, np.float64)
    peak = np.max(np.abs(w)) if axis is None else np.max(np.abs(w), axis=1 - axis)
    scales = np.atleast_1d(np.where(peak > 0, peak / limit, 1.0)).astype(np.float32)
    shaped = scales.astype(np.float64) if axis is None else np.expand_dims(scales.astype(np.float64), 1 - axis)
    dtype = np.int8 if limit == INT8_LIMIT else np.int16
    return np.clip(np.round(w / shaped), -limit, limit).astype(dtype), scales


LOGIT_SPAN = 10.0  # a class this far below the top logit has e^-10 (4.5e-5) of its softmax probability


def logits_quantization(values: np.ndarray) -> tuple[float, int]:
    """(scale, zero point) of the int8 logits: the range from the lowest top logit minus
    LOGIT_SPAN to the highest logit. Lower logits saturate, which changes neither the argmax nor
    the softmax, and the top ones get the resolution: a fine-tuned model's logits can spread
    over a hundred units with the top two less than one apart."""
    lowest_top = float(np.min(np.max(values, axis=-1)))
    return activation_quantization(np.array([max(float(np.min(values)), lowest_top - LOGIT_SPAN),
                                             float(np.max(values))]))


def intermediate_scale(values: np.ndarray) -> float:
    """The int16 scale of a fully connected op's first stage: its calibrated peak over 32767."""
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return float(np.float32(peak / INT16_LIMIT)) if peak > 0 else 1.0


def quantize_bias(bias: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.clip(np.round(bias / scales), -(2**31), 2**31 - 1).astype(np.int32)


# -- the flatbuffer ----------------------------------------------------------------------------

@dataclass
class GraphWriter:
    """A one-subgraph TFLite model built tensor by tensor."""

    tensors: list = field(default_factory=list)
    buffers: list = field(default_factory=lambda: [schema.BufferT()])  # buffer 0: the empty sentinel
    codes: list = field(default_factory=list)
    operators: list = field(default_factory=list)

    def _tensor(self, name: str, shape, dtype: int, buffer: int = 0, scale=None, zero_point=None) -> int:
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), np.asarray(shape, np.int32), dtype, buffer
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point)]
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def activation(self, name: str, shape, scale: float | None = None, zero_point: int = 0,
                   dtype: int = schema.TensorType.INT8) -> int:
        return self._tensor(name, shape, dtype, 0, scale, None if scale is None else zero_point)

    def constant(self, name: str, values: np.ndarray, scale=None) -> int:
        values = np.ascontiguousarray(values)
        dtype = {np.dtype(np.int8): schema.TensorType.INT8, np.dtype(np.uint8): schema.TensorType.UINT8,
                 np.dtype(np.int32): schema.TensorType.INT32, np.dtype(np.float32): schema.TensorType.FLOAT32}
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(values.tobytes(), np.uint8)
        self.buffers.append(buffer)
        zero = None if scale is None else np.zeros(np.size(scale), np.int64)
        return self._tensor(name, values.shape, dtype[values.dtype], len(self.buffers) - 1, scale, zero)

    def _code(self, builtin: int, custom: str | None = None) -> int:
        for i, code in enumerate(self.codes):
            if code.builtinCode == builtin and (code.customCode or b"").decode() == (custom or ""):
                return i
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = builtin
        code.customCode = custom.encode() if custom else None
        code.version = 1
        self.codes.append(code)
        return len(self.codes) - 1

    def custom(self, name: str, inputs, outputs, **options) -> None:
        op = schema.OperatorT()
        op.opcodeIndex = self._code(schema.BuiltinOperator.CUSTOM, name)
        op.inputs, op.outputs = np.asarray(inputs, np.int32), np.asarray(outputs, np.int32)
        op.customOptions = np.frombuffer(encode_options(name, **options), np.uint8)
        op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
        self.operators.append(op)

    def fully_connected(self, inputs, output: int, activation: int) -> None:
        op = schema.OperatorT()
        op.opcodeIndex = self._code(schema.BuiltinOperator.FULLY_CONNECTED)
        op.inputs, op.outputs = np.asarray(inputs, np.int32), np.asarray([output], np.int32)
        op.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
        op.builtinOptions = schema.FullyConnectedOptionsT()
        op.builtinOptions.fusedActivationFunction = activation
        self.operators.append(op)
        if self.codes[op.opcodeIndex].version < 4:  # per-channel int8 weights
            self.codes[op.opcodeIndex].version = 4

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        graph = schema.SubGraphT()
        graph.tensors, graph.operators = self.tensors, self.operators
        graph.inputs, graph.outputs = np.asarray(inputs, np.int32), np.asarray(outputs, np.int32)
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes, model.subgraphs, model.buffers = self.codes, [graph], self.buffers
        return pack_model(model)


class _AlignedBuffer(schema.BufferT):
    """A buffer whose data vector starts on a BUFFER_ALIGNMENT boundary of the file."""

    def Pack(self, builder):  # noqa: N802 (the generated object API's name)
        data = None
        if self.data is not None and len(self.data):
            raw = np.asarray(self.data, np.uint8).tobytes()
            builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
            builder.head -= len(raw)
            builder.Bytes[builder.head:builder.head + len(raw)] = raw
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


def pack_model(model) -> bytes:
    """The model as .tflite bytes, every buffer's data BUFFER_ALIGNMENT-aligned (the schema asks 16 of
    the TFLite converter for desktop SIMD; a board needs 4, and every 12 bytes count in a 10 kB model)."""
    aligned = []
    for buffer in model.buffers:
        copy = _AlignedBuffer()
        copy.data = buffer.data
        aligned.append(copy)
    model.buffers = aligned
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


# -- layers -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuantizedActivation:
    tensor: int
    scale: float
    zero_point: int
    values: np.ndarray  # the calibration sample's float values, [n, ...]


def balanced(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U D⁻¹, D V), D the peak of each column of U: the same product U V with every column of U at
    the same magnitude, so U's one scale serves all its columns (they differ by the singular values)."""
    peak = np.max(np.abs(u), axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    return u / peak, v * peak[:, None]


def _factor(writer, name, values, scale_axis):
    q, scales = symmetric(values, scale_axis)
    return writer.constant(name, q), scales


def _sparse_part(writer, name: str, s: np.ndarray):
    """DKP's S or a pruned matrix: int8 per-tensor, packed sparse; (tensor, scale, nnz)."""
    q, scale = symmetric(s)
    matrix = SparseMatrix.from_dense(q)
    if not matrix.nonzeros:  # no buffer holds nothing: the input is left out
        return -1, scale, 0
    return writer.constant(name, np.frombuffer(matrix.encode(), np.uint8)), scale, matrix.nonzeros


def _sparse_is_smaller(q: np.ndarray) -> bool:
    return stores_sparse(q.shape[0], q.shape[1], int(np.count_nonzero(q)))


def lower_embedding_bag(writer: GraphWriter, layer, ids: int, tokens: int, out: QuantizedActivation) -> None:
    """The embedding layer and the mean over the window as one bag op writing `out`."""
    m = layer.embeddings
    kind, vocab, name = m.structure.kind, m.rows, layer.name
    if kind == "dense":
        table = m.w.numpy().copy()
        table[PAD_ID] = 0
        q, scale = symmetric(table)
        if _sparse_is_smaller(q):
            packed, scale, nnz = _sparse_part(writer, f"{name}/s", table)
            scales = writer.constant(f"{name}/scales", scale)
            writer.custom(STRUCTURED_EMBEDDING_BAG["sparse"], [ids, scales, packed], [out.tensor],
                          pad_id=PAD_ID, vocab=vocab, nnz=nnz)
        else:
            table_tensor = writer.constant(f"{name}/table", q, scale)
            writer.custom(EMBEDDING_BAG, [ids, table_tensor], [out.tensor], pad_id=PAD_ID)
        return
    inputs, scales, extra = [ids], [], {}
    if kind in ("lmf", "hmf"):
        u, v = balanced(m.u.numpy(), m.v.numpy())
        factors = ([("h", m.head.numpy(), 1)] if kind == "hmf" else []) + [("u", u, None), ("v", v.T, 0)]
        for tensor_name, values, axis in factors:
            tensor, s = _factor(writer, f"{name}/{tensor_name}", values, axis)
            inputs.append(tensor), scales.append(s)
    else:
        for tensor_name, values in (("a", m.a.numpy()), ("b", m.b.numpy())):
            tensor, s = _factor(writer, f"{name}/{tensor_name}", values, 1)
            inputs.append(tensor), scales.append(s)
    if kind == "dkp":
        packed, s, nnz = _sparse_part(writer, f"{name}/s", (m.s * m.s_mask).numpy())
        scales.append(s)
        sparse, extra = packed, {"nnz": nnz}
    inputs.append(writer.constant(f"{name}/scales", np.concatenate(scales).astype(np.float32)))
    writer.custom(STRUCTURED_EMBEDDING_BAG[kind], inputs + ([sparse] if kind == "dkp" else []), [out.tensor],
                  pad_id=PAD_ID, vocab=vocab, **extra)


def lower_dense(writer: GraphWriter, layer, x: QuantizedActivation, out: QuantizedActivation) -> None:
    """A StructuredDense layer (bias, fused ReLU or none) as one op reading `x`, writing `out`."""
    m, name = layer.kernel, layer.name
    activation = keras_activation(layer)
    bias = layer.bias.numpy() if layer.bias is not None else np.zeros(m.cols, np.float32)
    kind, s_x = m.structure.kind, np.float32(x.scale)
    flat_x = x.values.reshape(-1, m.rows).astype(np.float64)
    if kind == "dense":
        q, scales = symmetric(m.w.numpy().T, 0)  # TFLite layout [out, in], one scale per output
        q_bias = quantize_bias(bias, s_x.astype(np.float64) * scales.astype(np.float64))
        if _sparse_is_smaller(q):
            matrix = SparseMatrix.from_dense(q.T.copy())
            packed = writer.constant(f"{name}/sparse", np.frombuffer(matrix.encode(), np.uint8))
            writer.custom(SPARSE_FULLY_CONNECTED, [x.tensor, packed, writer.constant(f"{name}/bias", q_bias),
                                                   writer.constant(f"{name}/scales", scales)], [out.tensor],
                          rows=matrix.rows, cols=matrix.cols, nnz=matrix.nonzeros, fused_activation=activation)
        else:
            weights = writer.constant(f"{name}/weights", q, scales)
            writer.fully_connected([x.tensor, weights, writer.constant(f"{name}/bias", q_bias)], out.tensor, activation)
        return
    inputs, scales, extra, tail = [x.tensor], [], {}, []
    if kind in ("lmf", "hmf"):
        r, (u, v) = m.structure.rank, balanced(m.u.numpy(), m.v.numpy())
        rest = flat_x[:, r:] if kind == "hmf" else flat_x
        factors = ([("h", m.head.numpy().T, 0)] if kind == "hmf" else []) + [("u", u.T, None), ("v", v.T, 0)]
        quantized = {}
        for tensor_name, values, axis in factors:
            tensor, s = _factor(writer, f"{name}/{tensor_name}", values, axis)
            inputs.append(tensor), scales.append(s)
            quantized[tensor_name] = s
        s_t = intermediate_scale(rest @ u)
        first = s_x * quantized["h"].astype(np.float64) if kind == "hmf" else s_t * quantized["v"].astype(np.float64)
    else:
        (a_in, _), (b_in, b_out) = m.structure.a_shape, m.structure.b_shape
        a, b = m.a.numpy(), m.b.numpy()
        a_tensor, s_a = _factor(writer, f"{name}/a", a.T, 0)
        b_tensor, s_b = _factor(writer, f"{name}/b", b.T, 0)
        inputs += [a_tensor, b_tensor]
        scales += [s_a, s_b]
        padded = np.zeros((len(flat_x), a_in * b_in))
        padded[:, : m.rows] = flat_x
        s_t = intermediate_scale(padded.reshape(-1, a_in, b_in) @ b)
        first = np.repeat(s_a.astype(np.float64), b_out)[: m.cols] * s_t
        if kind == "dkp":
            packed, s, nnz = _sparse_part(writer, f"{name}/s", (m.s * m.s_mask).numpy())
            scales.append(s)
            tail, extra = [packed], {"nnz": nnz}
    scales.append(np.asarray([s_t], np.float32))
    inputs.append(writer.constant(f"{name}/bias", quantize_bias(bias, first)))
    inputs.append(writer.constant(f"{name}/scales", np.concatenate(scales).astype(np.float32)))
    writer.custom(STRUCTURED_FULLY_CONNECTED[kind], inputs + tail, [out.tensor], fused_activation=activation, **extra)


def keras_activation(layer) -> int:
    from tfcompress.backend import keras

    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", {}).get("name", str(name))
    if name not in ACTIVATIONS:
        raise ValueError(f"layer {layer.name}: activation {name!r} has no int8 lowering")
    return ACTIVATIONS[name]


# -- the model ---------------------------------------------------------------------------------

LOWERED_ENCODERS = ("pooled", "lstm", "gru")


def supports(trained) -> bool:
    """Whether this lowering covers the model's encoder."""
    return trained.config.encoder in LOWERED_ENCODERS


def quantized_activation(writer: GraphWriter, name: str, sample: np.ndarray,
                         logits: bool = False) -> QuantizedActivation:
    """An int8 [1, width] activation tensor quantised for its calibrated float `sample` [n, width]."""
    scale, zero = (logits_quantization if logits else activation_quantization)(sample)
    return QuantizedActivation(writer.activation(name, [1, sample.shape[-1]], scale, zero), scale, zero, sample)


def convert_custom(trained, calibration_ids: np.ndarray) -> bytes:
    """The int8 .tflite of a classifier in fused ops, calibrated on `calibration_ids` [n, T]: the
    embedding and encoder (an embedding bag, or a lookup and TFC_LSTM / TFC_GRU:
    converters.custom_recurrent), then the dense head, each layer's output range taken by
    calling the Keras layers one by one (not a sub-model: a pruned model's layers belong to two
    graphs)."""
    if not supports(trained):
        raise ValueError(f"the fused lowering covers {', '.join(LOWERED_ENCODERS)} encoders, "
                         f"not {trained.config.encoder}")
    if len(calibration_ids) == 0:
        raise ValueError("calibration needs at least one example")
    model, calibration_ids = trained.model, np.asarray(calibration_ids, np.int32)
    tokens = int(model.inputs[0].shape[1])
    writer = GraphWriter()
    ids = writer.activation("token_ids", [1, tokens], dtype=schema.TensorType.INT32)
    if trained.config.encoder == "pooled":
        embedding = model.get_layer("embedding")
        x = quantized_activation(writer, "pool", model.get_layer("pool")(embedding(calibration_ids)).numpy())
        lower_embedding_bag(writer, embedding, ids, tokens, x)
    else:
        from converters.custom_recurrent import lower_recurrent_classifier

        x = lower_recurrent_classifier(writer, trained, calibration_ids, ids)
    names = {layer.name for layer in model.layers}
    for layer in (model.get_layer(n) for n in ("hidden", "logits") if n in names):
        out = quantized_activation(writer, layer.name, layer(x.values, training=False).numpy(), layer.name == "logits")
        lower_dense(writer, layer, x, out)
        x = out
    return writer.finish([ids], [x.tensor])
