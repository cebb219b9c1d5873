"""tfcompress's fused recurrent ops: a whole LSTM or GRU encoder (`TFC_LSTM`, `TFC_GRU`) in one
op, and the per-token lookup of a structured embedding table that feeds it
(`TFC_{LMF,HMF,KP,DKP}_GATHER`). docs/ops.md's common rules hold (flexbuffer options with
`version`, TFLite's (q, shift) multipliers and double rounding, symmetric int8 factors whose
scales travel in one float32 `scales` input).

docs/ops.md specifies the ops (inputs, options, math, precision and why); this module is the
executable spec the C kernels equal.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tfcompress.quantization import quantize_multiplier
from tfcompress.reference import fixedpoint
from tfcompress.reference.common import (INT8_MAX, INT8_MIN, OpError, OpReference, requantize, requantize_channels,
                                         tensor_scale, wrap_int32, zero_point)
from tfcompress.reference.custom_options import GRU, LSTM, RECURRENT_KINDS, STRUCTURED_GATHER, read_options
from tfcompress.reference.graph import TensorSpec
from tfcompress.reference.structured_ops import (INT16_MAX, INT16_MIN, PRODUCT_FACTORS, _bag_eval, _bag_prepare,
                                                 _scales, product_accs, product_factors, product_multipliers)
from tfcompress.structures.sparse import SparseMatrix

GATES = {LSTM: 4, GRU: 3}
GATE_FRACTION_BITS = 12  # gate pre-activations are Q3.12
STATE_FRACTION_BITS = 15  # sigmoid / tanh outputs and the GRU state are Q0.15
MAX_CELL_BITS = 15


# -- fixed-point helpers (vectorised; C: one value at a time) -----------------------------------

def rounding_shift(x, exponent: int) -> np.ndarray:
    """RoundingDivideByPOT: x / 2**exponent rounded half away from zero (x int32)."""
    x = np.asarray(x, np.int64)
    mask = (1 << exponent) - 1
    return (x >> exponent) + ((x & mask) > ((mask >> 1) + (x < 0)))


def saturate16(x) -> np.ndarray:
    return np.clip(x, INT16_MIN, INT16_MAX)


@lru_cache(maxsize=None)
def _table(function: str, integer_bits: int) -> np.ndarray:
    """`function` (logistic or tanh) of every int16 input with `integer_bits`, in Q0.15."""
    f = getattr(fixedpoint, function)
    raw = np.array([f(v << 16, integer_bits) for v in range(INT16_MIN, INT16_MAX + 1)], np.int64)
    return saturate16(rounding_shift(raw, 16))


def sigmoid_q15(x) -> np.ndarray:
    """int16 Q3.12 -> Q0.15: gemmlowp logistic of x << 16 with 3 integer bits, rounded to Q0.15."""
    return _table("logistic", 15 - GATE_FRACTION_BITS)[np.asarray(x, np.int64) - INT16_MIN]


def tanh_q15(x, integer_bits: int = 15 - GATE_FRACTION_BITS) -> np.ndarray:
    """int16 with `integer_bits` -> Q0.15: gemmlowp tanh of x << 16, rounded to Q0.15."""
    return _table("tanh", integer_bits)[np.asarray(x, np.int64) - INT16_MIN]


# -- TFC_LSTM / TFC_GRU ------------------------------------------------------------------------------

def _sparse(op, t: TensorSpec | None, rows: int, cols: int, nnz: int, field: str, matrix: str) -> np.ndarray:
    if not 0 <= nnz <= rows * cols:
        raise OpError(op, f"custom_options field {field!r} is {nnz}, outside the {rows}x{cols} matrix {matrix}")
    if t is None and nnz == 0:
        return np.zeros((rows, cols), np.int64)
    if t is None or t.dtype != np.uint8 or t.data is None:
        raise OpError(op, f"the sparse factor s of {matrix} must be a constant uint8 tensor, or left out "
                          "when its nnz is 0")
    try:
        return SparseMatrix.decode(t.data.tobytes(), rows, cols, nnz).to_dense().astype(np.int64)
    except ValueError as err:
        raise OpError(op, f"the sparse factor s of {matrix} does not decode ({err})") from None


def _bias(op, t: TensorSpec | None, cols: int, name: str) -> np.ndarray:
    if t is None:
        return np.zeros(cols, np.int64)
    if t.dtype != np.int32 or t.data is None or t.data.size != cols:
        raise OpError(op, f"the {name} must be {cols} constant int32 values, or none")
    return t.data.astype(np.int64).ravel()


def _structure(op, options: dict, field: str) -> str:
    code = options[field]
    if not 0 <= code < len(RECURRENT_KINDS):
        raise OpError(op, f"custom_options field {field!r} is {code}, not one of "
                          f"{', '.join(f'{k} ({kind})' for k, kind in enumerate(RECURRENT_KINDS))}")
    return RECURRENT_KINDS[code]


def _recurrent_prepare(cell: str):
    """x int8 [1, T, D] -> the last hidden state int8 [1, H] (module doc; docs/ops.md)."""
    gates = GATES[cell]
    biases = ["bias"] + (["recurrent_bias"] if cell == GRU else [])

    def prepare(op, ins, outs):
        fields = {"units": int, "input_structure": int, "recurrent_structure": int, "input_nnz": int,
                  "recurrent_nnz": int, "return_sequences": int, **({"cell_bits": int} if cell == LSTM else {})}
        options = read_options(op, fields)
        kind_w, kind_u = _structure(op, options, "input_structure"), _structure(op, options, "recurrent_structure")
        n_w, n_u = len(PRODUCT_FACTORS[kind_w]), len(PRODUCT_FACTORS[kind_u])
        names = (["x"] + [f"{f} of W" for f, _ in PRODUCT_FACTORS[kind_w]] + [f"{f} of U" for f, _ in
                 PRODUCT_FACTORS[kind_u]] + biases + ["scales", "s of W", "s of U"])
        if len(ins) != len(names) or len(outs) != 1 or ins[0] is None:
            raise OpError(op, f"expects {len(names)} inputs ({', '.join(names)}) and 1 output, got {len(ins)} and "
                              f"{len(outs)}")
        if options["return_sequences"] != 0:
            raise OpError(op, f"custom_options field 'return_sequences' is {options['return_sequences']}: only 0 "
                              "(the last hidden state) is supported")
        units = options["units"]
        x, out = ins[0], outs[0]
        if x.dtype != np.int8 or len(x.shape) != 3 or x.shape[0] != 1 or x.shape[1] < 1:
            raise OpError(op, f"input 0 (x) must be int8 [1, T, D], got {x.dtype.__name__} {list(x.shape)}")
        if units < 1 or out.dtype != np.int8 or tuple(out.shape) != (1, units):
            raise OpError(op, f"custom_options field 'units' is {units}; the output must be int8 [1, units], got "
                              f"{out.dtype.__name__} {list(out.shape)}")
        if not out.quantized or zero_point(out) != 0:
            raise OpError(op, "the output (the hidden state) must be quantised with zero point 0")
        steps, depth, cols = x.shape[1], x.shape[2], gates * units
        s_x, s_h, s_gate = tensor_scale(x), tensor_scale(out), 2.0 ** -GATE_FRACTION_BITS
        f_w, names_w = product_factors(op, kind_w, ins[1:1 + n_w], depth, cols, " of W")
        f_u, names_u = product_factors(op, kind_u, ins[1 + n_w:1 + n_w + n_u], units, cols, " of U")
        at = 1 + n_w + n_u
        p = {"cell": cell, "steps": steps, "depth": depth, "units": units, "x_zero": zero_point(x)}
        for k, name in enumerate(biases):
            p[name] = _bias(op, ins[at + k], cols, name)
        s = _scales(op, ins[at + len(biases)], [(f"W.{n}", k) for n, k in names_w] +
                    [(f"U.{n}", k) for n, k in names_u])
        for matrix, kind, f, x_scale, rows, nnz_field in (("W", kind_w, f_w, s_x, depth, "input_nnz"),
                                                           ("U", kind_u, f_u, s_h, units, "recurrent_nnz")):
            mine = {n[2:]: v for n, v in s.items() if n.startswith(f"{matrix}.")}
            stage1, parts = product_multipliers(kind, f, mine, x_scale, s_gate, cols)
            product = {"kind": kind, "rows": rows, "cols": cols, **f, "stage1": stage1, "parts": parts}
            slot = ins[at + len(biases) + (1 if matrix == "W" else 2)]
            if kind == "dkp":
                product["s"] = _sparse(op, slot, rows, cols, options[nnz_field], nnz_field, matrix)
            elif slot is not None or options[nnz_field] != 0:
                raise OpError(op, f"{matrix} is {kind}: its sparse factor s must be left out (-1) and "
                                  f"custom_options field {nnz_field!r} 0, got {options[nnz_field]}")
            p[matrix] = product
        if cell == LSTM:
            cell_bits = options["cell_bits"]
            if not 0 <= cell_bits <= MAX_CELL_BITS:
                raise OpError(op, f"custom_options field 'cell_bits' is {cell_bits}, outside [0, {MAX_CELL_BITS}]")
            p["cell_bits"] = cell_bits
            p["hidden"] = quantize_multiplier(2.0 ** (-2 * STATE_FRACTION_BITS) / s_h)  # o · tanh(c): Q0.30
        else:
            p["hidden"] = quantize_multiplier(2.0 ** -STATE_FRACTION_BITS / s_h)  # the Q0.15 state
        return p
    return prepare


def gate_sum(product: dict, x: np.ndarray) -> np.ndarray:
    """The parts of x @ W (int32 sums that wrap), each requantised to Q3.12, added exactly."""
    accs = product_accs(product, x)
    return sum(requantize_channels(wrap_int32(acc), m) for acc, m in zip(accs, product["parts"]))


def _recurrent_eval(p, inputs):
    units = p["units"]
    x = np.asarray(inputs[0], np.int64).reshape(p["steps"], p["depth"]) - p["x_zero"]
    projected = gate_sum(p["W"], x) + p["bias"]  # every step's x_t · W + bias at once: rows are independent
    h = np.zeros((1, units), np.int64)  # int8 hidden state
    q, shift = p["hidden"]
    if p["cell"] == LSTM:
        c = np.zeros(units, np.int64)
        cell_bits = p["cell_bits"]
        for t in range(p["steps"]):
            pre = saturate16(projected[t] + gate_sum(p["U"], h)[0])
            i, f, o = sigmoid_q15(pre[:units]), sigmoid_q15(pre[units:2 * units]), sigmoid_q15(pre[3 * units:])
            g = tanh_q15(pre[2 * units:3 * units])
            c = saturate16(rounding_shift(f * c, STATE_FRACTION_BITS) +
                           rounding_shift(i * g, STATE_FRACTION_BITS + cell_bits))
            h = np.clip(requantize(o * tanh_q15(c, cell_bits), q, shift), INT8_MIN, INT8_MAX)[None]
    else:
        state = np.zeros(units, np.int64)  # Q0.15
        for t in range(p["steps"]):
            recurrent = gate_sum(p["U"], h)[0] + p["recurrent_bias"]
            zr = saturate16(projected[t, :2 * units] + recurrent[:2 * units])
            z, r = sigmoid_q15(zr[:units]), sigmoid_q15(zr[units:])
            hn = saturate16(recurrent[2 * units:])
            n = tanh_q15(saturate16(projected[t, 2 * units:] + rounding_shift(r * hn, STATE_FRACTION_BITS)))
            state = saturate16(n + rounding_shift(z * (state - n), STATE_FRACTION_BITS))
            h = np.clip(requantize(state, q, shift), INT8_MIN, INT8_MAX)[None]
    return h.astype(np.int8)


# -- TFC_{LMF,HMF,KP,DKP}_GATHER ---------------------------------------------------------------------

def _gather_prepare(kind: str):
    """ids int32 [1, T] -> int8 [1, T, D]: each token's row of a structured [V, D] table."""
    bag = _bag_prepare(kind)

    def prepare(op, ins, outs):
        if not ins or ins[0] is None or len(outs) != 1:
            raise OpError(op, "expects the ids, the table's factors and scales, and 1 output")
        ids, out = ins[0], outs[0]
        if ids.dtype != np.int32 or len(ids.shape) != 2 or ids.shape[0] != 1:
            raise OpError(op, f"input 0 (ids) must be int32 [1, T], got {ids.dtype.__name__} {list(ids.shape)}")
        if out.dtype != np.int8 or len(out.shape) != 3 or tuple(out.shape[:2]) != tuple(ids.shape):
            raise OpError(op, f"the output must be int8 [1, {ids.shape[1]}, D], got {out.dtype.__name__} "
                              f"{list(out.shape)}")
        one = TensorSpec(ids.index, ids.name, (1, 1), np.int32, ids.scale, ids.zero_point)
        row = TensorSpec(out.index, out.name, (1, out.shape[2]), np.int8, out.scale, out.zero_point,
                         out.quantized_dimension)
        return {"row": bag(op, [one, *ins[1:]], [row]), "name": op.name, "out_shape": out.shape}
    return prepare


def _gather_eval(p, inputs):
    ids = np.asarray(inputs[0]).reshape(-1)
    vocab = p["row"]["vocab"]
    if np.any((ids < 0) | (ids >= vocab)):
        raise IndexError(f"{p['name']} id outside [0, {vocab})")
    rows = [_bag_eval(p["row"], [ids[t:t + 1][None]])[0] for t in range(len(ids))]
    return np.stack(rows).reshape(p["out_shape"])


RECURRENT_OPS: dict[str, OpReference] = {
    LSTM: OpReference(_recurrent_prepare(LSTM), _recurrent_eval),
    GRU: OpReference(_recurrent_prepare(GRU), _recurrent_eval),
    **{name: OpReference(_gather_prepare(kind), _gather_eval) for kind, name in STRUCTURED_GATHER.items()},
}
