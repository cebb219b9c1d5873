"""tfcompress's own int8 ops (`TFC_` custom codes): their options, checks and integer math.

Options travel as a flexbuffer map in the operator's `custom_options`, always with a
`version`; a newer version, a malformed buffer or a missing field is refused at prepare time
with the operator and field named. docs/ops.md specifies each op for other runtimes.
"""

from __future__ import annotations

import numpy as np

from tfcompress.quantization import quantize_multiplier
from tfcompress.reference.common import (INT8_MAX, INT8_MIN, OpError, OpReference, activation_range, clamp,
                                         requantize, tensor_scale, wrap_int32, zero_point)
from tfcompress.reference.custom_options import (EMBEDDING_BAG, SPARSE_FULLY_CONNECTED, SPARSE_GATHER,
                                                 encode_options, read_options)
from tfcompress.reference.graph import Operator
from tfcompress.reference.recurrent_ops import RECURRENT_OPS
from tfcompress.reference.structured_ops import STRUCTURED_OPS
from tfcompress.structures.sparse import SparseMatrix

# -- TFC_EMBEDDING_BAG -------------------------------------------------------------------------

def _embedding_bag_prepare(op, ins, outs):
    """ids int32 [1, T] and a constant int8 table [V, D] -> int8 [1, D]: the mean over the T
    window positions of the ids' rows, rows of `pad_id` skipped (they hold the zero point)."""
    options = read_options(op, {"pad_id": int})
    if len(ins) != 2 or len(outs) != 1:
        raise OpError(op, f"expects 2 inputs and 1 output, got {len(ins)} and {len(outs)}")
    ids, table, out = ins[0], ins[1], outs[0]
    if ids.dtype != np.int32 or len(ids.shape) != 2 or ids.shape[0] != 1:
        raise OpError(op, f"input 0 (ids) must be int32 [1, T], got {ids.dtype.__name__} {list(ids.shape)}")
    if table.dtype != np.int8 or table.data is None or len(table.shape) != 2 or len(table.scale) != 1:
        raise OpError(op, "input 1 (table) must be a constant int8 [V, D] matrix with one scale")
    if out.dtype != np.int8 or tuple(out.shape) != (1, table.shape[1]):
        raise OpError(op, f"output must be int8 [1, {table.shape[1]}], got {out.dtype.__name__} {list(out.shape)}")
    pad = options["pad_id"]
    if 0 <= pad < table.shape[0] and np.any(table.data[pad] != zero_point(table)):
        raise OpError(op, f"table row pad_id={pad} must hold the zero point {zero_point(table)}")
    count = ids.shape[1]
    q, shift = quantize_multiplier(tensor_scale(table) / tensor_scale(out))
    extra = min(count.bit_length() - 1, 32, 31 + shift)  # 1/count folded in as TFLM's MEAN does
    return {"pad": pad, "count": count, "table": table.data.astype(np.int64), "table_zero": zero_point(table),
            "out_zero": zero_point(out), "q": (q << extra) // count, "shift": shift - extra}


def _embedding_bag_eval(p, inputs):
    ids = np.asarray(inputs[0]).reshape(-1)
    vocab = p["table"].shape[0]
    if np.any((ids < 0) | (ids >= vocab)):
        raise IndexError(f"{EMBEDDING_BAG} id outside [0, {vocab})")
    kept = ids[ids != p["pad"]]
    total = (p["table"][kept] - p["table_zero"]).sum(axis=0) if len(kept) else np.zeros(p["table"].shape[1], np.int64)
    out = requantize(wrap_int32(total), p["q"], p["shift"]) + p["out_zero"]
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)[None]


# -- sparse matrices (structures.sparse): the pruning baseline's weights and DKP's S ----------------

def _sparse_matrix(op, packed, options, background: int) -> SparseMatrix:
    if packed is None or packed.data is None or packed.dtype != np.uint8:
        raise OpError(op, "the packed sparse matrix must be a constant uint8 tensor")
    for name in ("rows", "cols"):
        if options[name] < 1:
            raise OpError(op, f"custom_options field {name!r} must be positive, got {options[name]}")
    if not 0 <= options["nnz"] <= options["rows"] * options["cols"]:
        raise OpError(op, f"custom_options field 'nnz' is {options['nnz']}, outside the matrix")
    try:
        return SparseMatrix.decode(packed.data.tobytes(), options["rows"], options["cols"], options["nnz"], background)
    except ValueError as err:
        raise OpError(op, f"the packed sparse matrix does not decode ({err})") from None


def _sparse_gather_prepare(op, ins, outs):
    """ids int32 (any shape), a packed int8 table [rows, cols] -> int8 [*ids, cols]: GATHER of a
    table whose entries equal to `background` (its zero point) are not stored."""
    options = read_options(op, {"rows": int, "cols": int, "nnz": int, "background": int})
    if len(ins) != 2 or ins[0] is None or ins[0].dtype != np.int32:
        raise OpError(op, "expects int32 ids and the packed table")
    out = outs[0]
    if out.dtype != np.int8 or tuple(out.shape) != (*ins[0].shape, options["cols"]):
        raise OpError(op, f"output must be int8 {[*ins[0].shape, options['cols']]}, got {list(out.shape)}")
    table = _sparse_matrix(op, ins[1], options, options["background"])
    return {"table": table.to_dense(), "out_shape": out.shape}


def _sparse_gather_eval(p, inputs):
    ids = np.asarray(inputs[0])
    if np.any((ids < 0) | (ids >= p["table"].shape[0])):
        raise IndexError(f"{SPARSE_GATHER} id outside [0, {p['table'].shape[0]})")
    return p["table"][ids].reshape(p["out_shape"])


def _sparse_fc_prepare(op, ins, outs):
    """x int8 [..., rows] times a packed int8 weight matrix [rows, cols] (Keras layout: inputs by
    outputs, zero entries not stored), per-output-channel scales, int32 bias: FULLY_CONNECTED."""
    options = read_options(op, {"rows": int, "cols": int, "nnz": int, "fused_activation": int})
    if len(ins) != 4 or ins[0] is None or ins[3] is None:
        raise OpError(op, "expects x, the packed weights, the bias (or none) and the weight scales")
    x, packed, bias, scales, out = ins[0], ins[1], ins[2], ins[3], outs[0]
    if x.dtype != np.int8 or out.dtype != np.int8 or x.shape[-1] != options["rows"]:
        raise OpError(op, f"x must be int8 [..., {options['rows']}] and the output int8")
    if scales.dtype != np.float32 or scales.data is None or scales.data.size not in (1, options["cols"]):
        raise OpError(op, f"input 3 (weight scales) must hold 1 or {options['cols']} float32 values")
    if bias is not None and (bias.dtype != np.int32 or bias.data is None or bias.data.size != options["cols"]):
        raise OpError(op, f"input 2 (bias) must be {options['cols']} constant int32 values")
    weights = _sparse_matrix(op, packed, options, 0)
    fake = Operator(op.index, op.name, op.inputs, op.outputs, {"fusedActivationFunction": options["fused_activation"]})
    channel_scales = np.broadcast_to(scales.data.astype(np.float64), (options["cols"],))
    return {"x_zero": zero_point(x), "out_zero": zero_point(out), "weights": weights.to_dense().astype(np.int64),
            "bias": None if bias is None else bias.data.astype(np.int64), "range": activation_range(fake, out),
            "multipliers": [quantize_multiplier(tensor_scale(x) * float(s) / tensor_scale(out))
                            for s in channel_scales], "out_shape": out.shape}


def _sparse_fc_eval(p, inputs):
    x = np.asarray(inputs[0], np.int64).reshape(-1, p["weights"].shape[0]) - p["x_zero"]
    acc = wrap_int32(x @ p["weights"] + (0 if p["bias"] is None else p["bias"]))
    out = np.stack([requantize(acc[:, c], q, s) for c, (q, s) in enumerate(p["multipliers"])], -1)
    return clamp(out + p["out_zero"], *p["range"], np.int8).reshape(p["out_shape"])


CUSTOM_OPS: dict[str, OpReference] = {
    EMBEDDING_BAG: OpReference(_embedding_bag_prepare, _embedding_bag_eval),
    SPARSE_GATHER: OpReference(_sparse_gather_prepare, _sparse_gather_eval),
    SPARSE_FULLY_CONNECTED: OpReference(_sparse_fc_prepare, _sparse_fc_eval),
    **STRUCTURED_OPS,
    **RECURRENT_OPS,
}
__all__ = ["CUSTOM_OPS", "EMBEDDING_BAG", "SPARSE_FULLY_CONNECTED", "SPARSE_GATHER", "encode_options"]
