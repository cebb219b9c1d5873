"""Rewrite a builtin-op int8 .tflite into tfcompress's `TFC_` custom ops (docs/ops.md), each bit
for bit the same as the builtin ops it replaces (`convert --ops custom` lowers the Keras model
itself instead, converters/custom_model.py; these rewrites keep builtin equality for tests), and
strip what a board does not read:

- GATHER of a constant int8 table followed by MEAN over the window becomes one
  TFC_EMBEDDING_BAG, which skips padding tokens and never materialises the gathered rows;
- FULLY_CONNECTED and GATHER whose constant int8 matrix is mostly background (the pruning
  baseline's weights, DKP's doping matrices S) become TFC_SPARSE_FULLY_CONNECTED and
  TFC_SPARSE_GATHER, which store only the other entries (structures.sparse).
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from converters.custom_model import pack_model
from converters.flatbuffer import verify
from tfcompress.reference.custom_ops import EMBEDDING_BAG, SPARSE_FULLY_CONNECTED, SPARSE_GATHER, encode_options
from tfcompress.structures.sparse import SparseMatrix
from tfcompress.tokenizer import PAD_ID

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _op_name(model, op) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return code.customCode.decode()
    return _BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")


def _custom_code_index(model, name: str) -> int:
    for i, code in enumerate(model.operatorCodes):
        if code.customCode and code.customCode.decode() == name:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = name.encode()
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _constant(model, tensor) -> np.ndarray | None:
    buffer = model.buffers[tensor.buffer] if 0 < tensor.buffer < len(model.buffers) else None
    return None if buffer is None or buffer.data is None else np.asarray(buffer.data, np.uint8)


def fuse_embedding_bags(data: bytes) -> tuple[bytes, int]:
    """(the rewritten model, how many GATHER + MEAN pairs became TFC_EMBEDDING_BAG)."""
    verify(data)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    ops = graph.operators
    consumers: dict[int, list[int]] = {}
    for k, op in enumerate(ops):
        for i in op.inputs:
            consumers.setdefault(int(i), []).append(k)
    fused, drop = 0, set()
    for k, gather in enumerate(ops):
        if _op_name(model, gather) != "GATHER" or len(gather.inputs) != 2:
            continue
        table, ids = (graph.tensors[int(i)] for i in gather.inputs)
        rows = int(gather.outputs[0])
        users = consumers.get(rows, [])
        if len(users) != 1 or rows in graph.outputs or _op_name(model, ops[users[0]]) != "MEAN":
            continue
        mean = ops[users[0]]
        axis = _constant(model, graph.tensors[int(mean.inputs[1])])
        table_values = _constant(model, table)
        gathered = graph.tensors[rows].quantization
        if (table.type != schema.TensorType.INT8 or table_values is None or len(table.shape) != 2
                or ids.type != schema.TensorType.INT32 or len(ids.shape) != 2 or ids.shape[0] != 1
                or axis is None or axis.view(np.int32).tolist() != [1] or mean.builtinOptions.keepDims
                or gather.builtinOptions.axis != 0 or gather.builtinOptions.batchDims != 0
                or len(table.quantization.scale) != 1
                # MEAN reads the gathered rows' quantisation, which the fused op takes from the table
                or list(gathered.scale) != list(table.quantization.scale)
                or list(gathered.zeroPoint) != list(table.quantization.zeroPoint)):
            continue
        table_rows = table_values.view(np.int8).reshape(table.shape)
        if np.any(table_rows[PAD_ID] != table.quantization.zeroPoint[0]):
            continue  # the padding row is not an exact zero: skipping it would change the sum
        bag = schema.OperatorT()
        bag.opcodeIndex = _custom_code_index(model, EMBEDDING_BAG)
        bag.inputs = np.asarray([gather.inputs[1], gather.inputs[0]], np.int32)
        bag.outputs = np.asarray(mean.outputs, np.int32)
        bag.customOptions = np.frombuffer(encode_options(EMBEDDING_BAG, pad_id=PAD_ID), np.uint8)
        bag.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
        ops[k] = bag
        drop.add(users[0])
        fused += 1
    graph.operators = [op for k, op in enumerate(ops) if k not in drop]
    return _pack(model), fused


def _pack(model) -> bytes:
    """The model as a flatbuffer, without the tensors and buffers no operator uses any more."""
    graph = model.subgraphs[0]
    used = {int(i) for op in graph.operators for i in (*op.inputs, *op.outputs) if int(i) >= 0}
    used |= {int(i) for i in graph.inputs} | {int(o) for o in graph.outputs}
    keep = sorted(used)
    new_index = {old: new for new, old in enumerate(keep)}
    graph.tensors = [graph.tensors[i] for i in keep]
    for op in graph.operators:
        op.inputs = np.asarray([new_index[int(i)] if int(i) >= 0 else -1 for i in op.inputs], np.int32)
        op.outputs = np.asarray([new_index[int(o)] for o in op.outputs], np.int32)
    graph.inputs = np.asarray([new_index[int(i)] for i in graph.inputs], np.int32)
    graph.outputs = np.asarray([new_index[int(o)] for o in graph.outputs], np.int32)
    for signature in model.signatureDefs or []:
        for entry in (*(signature.inputs or []), *(signature.outputs or [])):
            entry.tensorIndex = new_index[int(entry.tensorIndex)]
    metadata = model.metadata or []
    # buffer 0 is the schema's empty sentinel; metadata (runtime version, conversion info) keeps its buffers
    buffers = sorted({0} | {t.buffer for t in graph.tensors} | {m.buffer for m in metadata})
    new_buffer = {old: new for new, old in enumerate(buffers)}
    model.buffers = [model.buffers[b] for b in buffers]
    for tensor in graph.tensors:
        tensor.buffer = new_buffer[tensor.buffer]
    for entry in metadata:
        entry.buffer = new_buffer[entry.buffer]
    return pack_model(model)


def _new_constant(model, graph, name: str, dtype: int, values: np.ndarray) -> int:
    """Append a constant tensor (and its buffer); returns its index."""
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape = np.asarray(values.shape, np.int32)
    tensor.type = dtype
    tensor.buffer = len(model.buffers) - 1
    tensor.name = name.encode()
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _custom_op(model, name: str, inputs, outputs, **options):
    op = schema.OperatorT()
    op.opcodeIndex = _custom_code_index(model, name)
    op.inputs = np.asarray(inputs, np.int32)
    op.outputs = np.asarray(outputs, np.int32)
    op.customOptions = np.frombuffer(encode_options(name, **options), np.uint8)
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    return op


def sparsify(data: bytes) -> tuple[bytes, int]:
    """(the rewritten model, how many FULLY_CONNECTED and GATHER ops became sparse): each whose
    constant int8 matrix takes fewer bytes sparse than dense."""
    verify(data)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    users: dict[int, int] = {}
    for op in graph.operators:
        for i in op.inputs:
            users[int(i)] = users.get(int(i), 0) + 1
    count = 0
    for k, op in enumerate(graph.operators):
        name = _op_name(model, op)
        if name == "FULLY_CONNECTED":
            x, weights = graph.tensors[int(op.inputs[0])], graph.tensors[int(op.inputs[1])]
            out = graph.tensors[int(op.outputs[0])]
            bias = graph.tensors[int(op.inputs[2])] if len(op.inputs) > 2 and int(op.inputs[2]) >= 0 else None
            values = _constant(model, weights)
            if weights.type != schema.TensorType.INT8 or values is None or len(weights.shape) != 2 \
                    or x.type != schema.TensorType.INT8 or out.type != schema.TensorType.INT8 \
                    or x.shape[-1] != weights.shape[1] or (bias is not None and bias.type != schema.TensorType.INT32) \
                    or op.builtinOptions.keepNumDims or op.builtinOptions.weightsFormat != 0 \
                    or users[int(op.inputs[1])] != 1 or any(int(z) != 0 for z in weights.quantization.zeroPoint):
                continue
            matrix = SparseMatrix.from_dense(values.view(np.int8).reshape(weights.shape).T.copy())  # inputs x outputs
            packed = matrix.encode()
            if not matrix.nonzeros or len(packed) >= matrix.rows * matrix.cols:
                continue  # an empty constant would not be a buffer; dense is smaller
            scales = np.asarray(weights.quantization.scale, np.float32)
            bias = int(op.inputs[2]) if len(op.inputs) > 2 else -1
            graph.operators[k] = _custom_op(
                model, SPARSE_FULLY_CONNECTED,
                [op.inputs[0], _new_constant(model, graph, f"{_text(weights.name)}/sparse", schema.TensorType.UINT8,
                                             np.frombuffer(packed, np.uint8)),
                 bias, _new_constant(model, graph, f"{_text(weights.name)}/scales", schema.TensorType.FLOAT32,
                                     scales)],
                op.outputs, rows=matrix.rows, cols=matrix.cols, nnz=matrix.nonzeros,
                fused_activation=int(op.builtinOptions.fusedActivationFunction))
        elif name == "GATHER":
            table = graph.tensors[int(op.inputs[0])]
            values = _constant(model, table)
            if table.type != schema.TensorType.INT8 or values is None or len(table.shape) != 2 \
                    or op.builtinOptions.axis != 0 or users[int(op.inputs[0])] != 1 \
                    or len(table.quantization.zeroPoint) != 1:
                continue
            background = int(table.quantization.zeroPoint[0])
            matrix = SparseMatrix.from_dense(values.view(np.int8).reshape(table.shape), background)
            packed = matrix.encode()
            if not matrix.nonzeros or len(packed) >= matrix.rows * matrix.cols:
                continue
            graph.operators[k] = _custom_op(
                model, SPARSE_GATHER,
                [op.inputs[1], _new_constant(model, graph, f"{_text(table.name)}/sparse", schema.TensorType.UINT8,
                                             np.frombuffer(packed, np.uint8))],
                op.outputs, rows=matrix.rows, cols=matrix.cols, nnz=matrix.nonzeros, background=background)
        else:
            continue
        count += 1
    rewritten = _pack(model)
    return (rewritten, count) if len(rewritten) < len(data) else (data, 0)  # tiny matrices: not worth it


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def strip_for_board(data: bytes) -> bytes:
    """Without what a board never reads: tensor names and the converter's CONVERSION_METADATA
    (the runtime-version metadata and the signature stay)."""
    verify(data)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for tensor in model.subgraphs[0].tensors:
        tensor.name = None
    model.metadata = [m for m in (model.metadata or []) if m.name != b"CONVERSION_METADATA"] or None
    return _pack(model)
