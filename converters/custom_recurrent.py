"""A recurrent (LSTM / GRU) classifier's embedding and encoder as fused int8 ops, quantised by
tfcompress itself (the recurrent counterpart of converters/custom_model.py's pooled lowering):

    embedding lookup   GATHER (dense table, int8 at the table's scale), TFC_SPARSE_GATHER (a
                       pruned table that is smaller sparse) or TFC_{LMF,HMF,KP,DKP}_GATHER
                       (structured: each token's row at the scale of the table's peak)
    UnrolledRNN        TFC_LSTM or TFC_GRU, its input and recurrent matrices each dense or
                       structured, returning the last hidden state

The ops' math is tfcompress/reference/recurrent_ops.py. Calibration runs the Keras embedding
over the calibration ids and the cell's float math (exactly the layer's, checked against
it in the tests) over the resulting sequences, for the hidden state's scale (max|h| / 127 over
every step), the cell state's power-of-two scale (LSTM) and the int16 first stage of each
structured product (max|t| / 32767, as the fully connected ops). Gate pre-activations and
biases are at the fixed scale 2^-12.

`lower_recurrent_classifier` writes the embedding and the encoder into a GraphWriter and returns
the encoder's output; `convert_recurrent` is the whole classifier (the head is
custom_model.lower_dense, as for the pooled models).
"""

from __future__ import annotations

import math

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from converters.custom_model import (GraphWriter, QuantizedActivation, balanced,
                                     intermediate_scale, symmetric)
from tfcompress.reference.custom_options import (GRU, LSTM, RECURRENT_KINDS, SPARSE_GATHER, STRUCTURED_GATHER)
from tfcompress.reference.recurrent_ops import GATE_FRACTION_BITS, MAX_CELL_BITS
from tfcompress.structures.sparse import SparseMatrix
from tfcompress.tokenizer import PAD_ID

CELL_OPS = {"lstm": LSTM, "gru": GRU}
GATE_SCALE = 2.0 ** -GATE_FRACTION_BITS
INT32_LIMIT = 2**31 - 1


# -- float calibration -----------------------------------------------------------------------------

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def recurrent_trajectory(layer, x: np.ndarray) -> dict[str, np.ndarray]:
    """The UnrolledRNN `layer`'s float64 run over `x` [n, T, D] (its _lstm_step / _gru_step math):
    `h` every step's hidden state [n, T, H], `h_in` the state each step's recurrent product
    reads (zeros at step 0), and for the LSTM `c` every step's cell state."""
    units = layer.units
    w, u = layer.input_kernel.to_dense().astype(np.float64), layer.recurrent_kernel.to_dense().astype(np.float64)
    projected = np.asarray(x, np.float64) @ w + layer.bias.numpy().astype(np.float64)
    h = np.zeros((len(projected), units))
    c = np.zeros_like(h)
    hs, h_in, cs = [], [], []
    for t in range(projected.shape[1]):
        h_in.append(h)
        if layer.cell == "lstm":
            i, f, g, o = np.split(projected[:, t] + h @ u, 4, axis=-1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            cs.append(c)
        else:
            hz, hr, hn = np.split(h @ u + layer.recurrent_bias.numpy().astype(np.float64), 3, axis=-1)
            xz, xr, xn = np.split(projected[:, t], 3, axis=-1)
            z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
            n = np.tanh(xn + r * hn)
            h = n + z * (h - n)
        hs.append(h)
    out = {"h": np.stack(hs, 1), "h_in": np.stack(h_in, 1)}
    if cs:
        out["c"] = np.stack(cs, 1)
    return out


def cell_bits(c: np.ndarray) -> int:
    """Integer bits of the LSTM cell state: the smallest power of two holding its calibrated peak."""
    peak = float(np.max(np.abs(c))) if np.size(c) else 0.0
    return int(np.clip(math.ceil(math.log2(peak)) if peak > 0 else 0, 0, MAX_CELL_BITS))


def hidden_scale(h: np.ndarray) -> float:
    peak = float(np.max(np.abs(h))) if np.size(h) else 0.0
    return float(np.float32(peak / 127)) if peak > 0 else 1.0


def gate_bias(bias: np.ndarray) -> np.ndarray:
    """A bias at the gate pre-activations' scale 2^-12, int32."""
    return np.clip(np.round(np.asarray(bias, np.float64) / GATE_SCALE), -INT32_LIMIT - 1, INT32_LIMIT).astype(np.int32)


# -- constants --------------------------------------------------------------------------------------

def _product(writer: GraphWriter, name: str, m, x: np.ndarray) -> tuple[list[int], list[np.ndarray], int, int]:
    """A StructuredMatrix used as x @ W, as the recurrent op's inputs (structured_ops.product_factors
    layout): (factor tensors, their scales in order with s_t last, the sparse S tensor or -1, nnz).
    `x` [N, rows]: the float inputs it multiplies, for the int16 first stage's scale."""
    kind = m.structure.kind
    tensors, scales = [], []

    def factor(tensor_name, values, axis):
        q, s = symmetric(values, axis)
        tensors.append(writer.constant(f"{name}/{tensor_name}", q))
        scales.append(s)

    if kind == "dense":
        factor("w", m.w.numpy().T, 0)
        return tensors, scales, -1, 0
    sparse, nnz = -1, 0
    if kind in ("lmf", "hmf"):
        r, (u, v) = m.structure.rank, balanced(m.u.numpy(), m.v.numpy())
        if kind == "hmf":
            factor("h", m.head.numpy().T, 0)
        factor("u", u.T, None)
        factor("v", v.T, 0)
        s_t = intermediate_scale((x[:, r:] if kind == "hmf" else x) @ u)
    else:
        (a_in, _), (b_in, _) = m.structure.a_shape, m.structure.b_shape
        factor("a", m.a.numpy().T, 0)
        factor("b", m.b.numpy().T, 0)
        padded = np.zeros((len(x), a_in * b_in))
        padded[:, : m.rows] = x
        s_t = intermediate_scale(padded.reshape(-1, a_in, b_in) @ m.b.numpy())
        if kind == "dkp":
            q, s = symmetric((m.s * m.s_mask).numpy())
            matrix = SparseMatrix.from_dense(q)
            scales.append(s)
            if matrix.nonzeros:  # no buffer holds nothing: the input is left out
                sparse = writer.constant(f"{name}/s", np.frombuffer(matrix.encode(), np.uint8))
                nnz = matrix.nonzeros
    scales.append(np.asarray([s_t], np.float32))
    return tensors, scales, sparse, nnz


def _builtin_gather(writer: GraphWriter, table: int, ids: int, out: int) -> None:
    op = schema.OperatorT()
    op.opcodeIndex = writer._code(schema.BuiltinOperator.GATHER)
    op.inputs, op.outputs = np.asarray([table, ids], np.int32), np.asarray([out], np.int32)
    op.builtinOptionsType = schema.BuiltinOptions.GatherOptions
    op.builtinOptions = schema.GatherOptionsT()
    op.builtinOptions.axis = 0
    writer.operators.append(op)


def lower_embedding_gather(writer: GraphWriter, layer, ids: int, tokens: int,
                           values: np.ndarray) -> QuantizedActivation:
    """The PaddedEmbedding `layer` looked up at every window position: an int8 [1, T, D] tensor,
    zero point 0 (the padding row is exactly zero). `values`: its float output on the
    calibration ids, [n, T, D]."""
    m = layer.embeddings
    kind, vocab, depth, name = m.structure.kind, m.rows, m.cols, layer.name
    if kind == "dense":
        table = m.w.numpy().copy()
        table[PAD_ID] = 0
        q, scale = symmetric(table)
        out = writer.activation(f"{name}/rows", [1, tokens, depth], float(scale[0]), 0)
        matrix = SparseMatrix.from_dense(q)
        if 0 < matrix.nonzeros and len(matrix.encode()) < q.size:  # pruned: smaller sparse
            packed = writer.constant(f"{name}/s", np.frombuffer(matrix.encode(), np.uint8))
            writer.custom(SPARSE_GATHER, [ids, packed], [out], rows=vocab, cols=depth, nnz=matrix.nonzeros,
                          background=0)
        else:
            _builtin_gather(writer, writer.constant(f"{name}/table", q, scale), ids, out)
        return QuantizedActivation(out, float(scale[0]), 0, values)
    table = m.to_dense()
    table[PAD_ID] = 0
    peak = float(np.max(np.abs(table)))
    scale = float(np.float32(peak / 127)) if peak > 0 else 1.0  # the whole table: no row ever clips
    out = writer.activation(f"{name}/rows", [1, tokens, depth], scale, 0)
    inputs, scales, sparse, extra = [ids], [], [], {}
    if kind in ("lmf", "hmf"):
        u, v = balanced(m.u.numpy(), m.v.numpy())
        layout = ([("h", m.head.numpy(), 1)] if kind == "hmf" else []) + [("u", u, None), ("v", v.T, 0)]
    else:
        layout = [("a", m.a.numpy(), 1), ("b", m.b.numpy(), 1)]
    for tensor_name, factor_values, axis in layout:  # the embedding bags' layout (custom_model)
        q, s = symmetric(factor_values, axis)
        inputs.append(writer.constant(f"{name}/{tensor_name}", q))
        scales.append(s)
    if kind == "dkp":
        q, s = symmetric((m.s * m.s_mask).numpy())
        matrix = SparseMatrix.from_dense(q)
        scales.append(s)
        sparse = [writer.constant(f"{name}/s", np.frombuffer(matrix.encode(), np.uint8)) if matrix.nonzeros else -1]
        extra = {"nnz": matrix.nonzeros}
    inputs.append(writer.constant(f"{name}/scales", np.concatenate(scales).astype(np.float32)))
    writer.custom(STRUCTURED_GATHER[kind], inputs + sparse, [out], pad_id=PAD_ID, vocab=vocab, **extra)
    return QuantizedActivation(out, scale, 0, values)


def lower_recurrent(writer: GraphWriter, layer, x: QuantizedActivation) -> QuantizedActivation:
    """The UnrolledRNN `layer` as one TFC_LSTM / TFC_GRU op reading `x` [1, T, D] (int8, its
    calibration values [n, T, D]); returns the last hidden state [1, H] (int8, zero point 0,
    values: the Keras layer's float output)."""
    if layer.return_sequences:
        raise ValueError(f"layer {layer.name}: return_sequences has no fused lowering yet")
    name, units, op = layer.name, layer.units, CELL_OPS[layer.cell]
    sample = np.asarray(x.values, np.float64)
    run = recurrent_trajectory(layer, sample)
    s_h = hidden_scale(run["h"])
    w_tensors, w_scales, w_sparse, w_nnz = _product(writer, f"{name}/input_kernel", layer.input_kernel,
                                                    sample.reshape(-1, sample.shape[-1]))
    u_tensors, u_scales, u_sparse, u_nnz = _product(writer, f"{name}/recurrent_kernel", layer.recurrent_kernel,
                                                    run["h_in"].reshape(-1, units))
    biases = [writer.constant(f"{name}/bias", gate_bias(layer.bias.numpy()))]
    options = {}
    if layer.cell == "gru":
        biases.append(writer.constant(f"{name}/recurrent_bias", gate_bias(layer.recurrent_bias.numpy())))
    else:
        options["cell_bits"] = cell_bits(run["c"])
    scales = writer.constant(f"{name}/scales", np.concatenate(w_scales + u_scales).astype(np.float32))
    out = writer.activation(name, [1, units], s_h, 0)
    writer.custom(op, [x.tensor, *w_tensors, *u_tensors, *biases, scales, w_sparse, u_sparse], [out],
                  units=units, input_structure=RECURRENT_KINDS.index(layer.input_kernel.structure.kind),
                  recurrent_structure=RECURRENT_KINDS.index(layer.recurrent_kernel.structure.kind),
                  input_nnz=w_nnz, recurrent_nnz=u_nnz, return_sequences=0, **options)
    keras_out = layer(np.asarray(x.values, np.float32), training=False).numpy()
    return QuantizedActivation(out, s_h, 0, keras_out)


# -- the classifier ----------------------------------------------------------------------------------

def supports(trained) -> bool:
    return trained.config.encoder in CELL_OPS


def lower_recurrent_classifier(writer: GraphWriter, trained, calibration_ids: np.ndarray,
                               ids: int) -> QuantizedActivation:
    """The embedding lookup and the recurrent encoder of `trained` (an lstm or gru classifier),
    reading the int32 [1, T] `ids` tensor; returns the encoder's output (the last hidden state),
    whose `values` are the Keras encoder's float outputs on `calibration_ids` [n, T]."""
    if not supports(trained):
        raise ValueError(f"the recurrent lowering covers lstm and gru encoders, not {trained.config.encoder}")
    if len(calibration_ids) == 0:
        raise ValueError("calibration needs at least one example")
    model = trained.model
    calibration_ids = np.asarray(calibration_ids, np.int32)
    embedding = model.get_layer("embedding")
    rows = embedding(calibration_ids).numpy()
    x = lower_embedding_gather(writer, embedding, ids, calibration_ids.shape[1], rows)
    return lower_recurrent(writer, model.get_layer("encoder"), x)


def convert_recurrent(trained, calibration_ids: np.ndarray) -> bytes:
    """The int8 .tflite of an lstm / gru classifier in fused ops (custom_model.convert_custom)."""
    from converters.custom_model import convert_custom

    return convert_custom(trained, calibration_ids)
