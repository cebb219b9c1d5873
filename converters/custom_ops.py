"""Rewrite a builtin-op int8 .tflite into tfcompress's fused `TFC_` custom ops.

So far: GATHER of a constant int8 table followed by MEAN over the window becomes one
TFC_EMBEDDING_BAG (docs/ops.md), which skips padding tokens and never materialises the
[T, D] gathered rows; the result is bit for bit the same as GATHER + MEAN.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from converters.flatbuffer import verify
from tfcompress.reference.custom_ops import EMBEDDING_BAG, encode_options
from tfcompress.tokenizer import PAD_ID

FILE_IDENTIFIER = b"TFL3"
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
        if (table.type != schema.TensorType.INT8 or table_values is None or len(table.shape) != 2
                or ids.type != schema.TensorType.INT32 or len(ids.shape) != 2 or ids.shape[0] != 1
                or axis is None or axis.view(np.int32).tolist() != [1] or mean.builtinOptions.keepDims
                or len(table.quantization.scale) != 1):
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
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output()), fused
