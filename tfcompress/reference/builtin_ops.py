"""The integer math of each builtin TFLite op our models use, as TFLM's reference kernels do it.

Each op has a `prepare` that checks the tensors and freezes what the kernel precomputes
(multipliers and shifts, zero points, the activation range) and an `eval` that computes with
integers only, with TFLM's rounding, saturation and clamping. This is the executable spec the
C kernels must equal; `tests/reference/test_builtin_ops.py` pins every op to TFLM's host
interpreter, tensor for tensor, on real models.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from tfcompress.quantization import quantize_multiplier
from tfcompress.reference import fixedpoint
from tfcompress.reference.common import (INT8_MAX, INT8_MIN, OpError, OpReference, activation_range, clamp,
                                         requantize, round_away, tensor_scale, wrap_int32, zero_point)
from tfcompress.reference.graph import TensorSpec

# -- FULLY_CONNECTED ---------------------------------------------------------------------------

def _fc_prepare(op, ins, outs):
    x, w, bias = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    out = outs[0]
    if x.dtype != np.int8 or w.dtype != np.int8 or out.dtype != np.int8:
        raise OpError(op, "only int8 input, weights and output are supported")
    if w.data is None:
        raise OpError(op, "weights must be constant")
    if np.any(w.zero_point != 0):
        raise OpError(op, "weight zero points must be 0")
    channels = w.shape[0]
    scales = np.broadcast_to(w.scale.astype(np.float64), (channels,))
    multipliers = [quantize_multiplier(tensor_scale(x) * float(s) / tensor_scale(out)) for s in scales]
    return {"x_zero": zero_point(x), "out_zero": zero_point(out), "weights": w.data.astype(np.int64),
            "bias": None if bias is None else bias.data.astype(np.int64), "multipliers": multipliers,
            "range": activation_range(op, out), "out_shape": out.shape}


def _fc_eval(p, inputs):
    x = inputs[0].astype(np.int64).reshape(-1, p["weights"].shape[1]) - p["x_zero"]
    acc = wrap_int32(x @ p["weights"].T + (0 if p["bias"] is None else p["bias"]))
    out = np.stack([requantize(acc[:, c], q, s) for c, (q, s) in enumerate(p["multipliers"])], -1)
    return clamp(out + p["out_zero"], *p["range"], np.int8).reshape(p["out_shape"])


# -- elementwise -----------------------------------------------------------------------------

def _c_divide(a, b):
    if np.any(b == 0):
        raise ZeroDivisionError("DIV by zero")
    return np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))  # C truncates toward zero


INT32_BINARY = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": _c_divide}
ADD_LEFT_SHIFT = 20  # int8 ADD/SUB: inputs are scaled up by 2**20 before rescaling


def _binary_prepare(op, ins, outs):
    a, b, out = ins[0], ins[1], outs[0]
    if out.dtype == np.int32:
        if any(t.dtype != np.int32 or t.quantized for t in (a, b, out)):
            raise OpError(op, "the int32 form needs unquantised int32 tensors")
        return {"int32": op.name, "range": activation_range(op, out)}
    if any(t.dtype != np.int8 for t in (a, b, out)) or op.name == "DIV":
        raise OpError(op, "only int32, or int8 ADD, SUB and MUL, are supported")
    common = {"offsets": (-zero_point(a), -zero_point(b)), "out_zero": zero_point(out),
              "range": activation_range(op, out)}
    if op.name == "MUL":
        return {**common, "multiplier": quantize_multiplier(tensor_scale(a) * tensor_scale(b) / tensor_scale(out))}
    twice_max = 2 * float(np.float64(max(np.float32(a.scale[0]), np.float32(b.scale[0]))))
    return {**common, "sign": -1 if op.name == "SUB" else 1,
            "input_multipliers": (quantize_multiplier(tensor_scale(a) / twice_max),
                                  quantize_multiplier(tensor_scale(b) / twice_max)),
            "output_multiplier": quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * tensor_scale(out)))}


def _binary_eval(p, inputs):
    a, b = (np.asarray(v, np.int64) for v in inputs)
    if "int32" in p:
        return clamp(wrap_int32(INT32_BINARY[p["int32"]](a, b)), *p["range"], np.int32)
    a, b = a + p["offsets"][0], b + p["offsets"][1]
    if "multiplier" in p:  # MUL
        raw = requantize(a * b, *p["multiplier"])
    else:  # ADD, SUB
        a, b = (requantize(v * (1 << ADD_LEFT_SHIFT), *m) for v, m in zip((a, b), p["input_multipliers"]))
        raw = requantize(a + p["sign"] * b, *p["output_multiplier"])
    return clamp(raw + p["out_zero"], *p["range"], np.int8)


# -- MEAN --------------------------------------------------------------------------------------

def _mean_prepare(op, ins, outs):
    x, axis, out = ins[0], ins[1], outs[0]
    if x.dtype != np.int8 or out.dtype != np.int8:
        raise OpError(op, "only int8 is supported")
    if axis.data is None:
        raise OpError(op, "the axis must be constant")
    axes = tuple(sorted({int(a) % len(x.shape) for a in np.ravel(axis.data)}))
    count = int(np.prod([x.shape[a] for a in axes]))
    q, shift = quantize_multiplier(tensor_scale(x) / tensor_scale(out))
    # TFLM folds 1/count into the multiplier: shift by floor(log2(count)), bounded, then divide.
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    q = int((q << extra) // count) if count else q
    return {"axes": axes, "count": count, "x_zero": zero_point(x), "out_zero": zero_point(out), "q": q,
            "shift": shift - extra, "out_shape": out.shape}


def _mean_eval(p, inputs):
    total = np.sum(np.asarray(inputs[0], np.int64), axis=p["axes"])
    shifted = wrap_int32(total - p["x_zero"] * p["count"])
    out = requantize(shifted, p["q"], p["shift"]) + p["out_zero"]
    return clamp(out, INT8_MIN, INT8_MAX, np.int8).reshape(p["out_shape"])


# -- QUANTIZE ----------------------------------------------------------------------------------

def _quantize_prepare(op, ins, outs):
    x, out = ins[0], outs[0]
    if out.dtype != np.int8 or x.dtype not in (np.float32, np.int8):
        raise OpError(op, "only float32 or int8 to int8 is supported")
    if x.dtype == np.int8:
        return {"requantize": quantize_multiplier(tensor_scale(x) / tensor_scale(out)), "x_zero": zero_point(x),
                "out_zero": zero_point(out)}
    return {"scale": np.float32(out.scale[0]), "out_zero": zero_point(out)}


def _quantize_eval(p, inputs):
    x = inputs[0]
    if "requantize" in p:
        raw = requantize(np.asarray(x, np.int64) - p["x_zero"], *p["requantize"]) + p["out_zero"]
    else:  # AffineQuantize: TfLiteRound(x / scale) in float32, half away from zero
        raw = round_away(np.asarray(x, np.float32) / p["scale"]).astype(np.int64) + p["out_zero"]
    return clamp(raw, INT8_MIN, INT8_MAX, np.int8)


# -- data movement -----------------------------------------------------------------------------

def _constant(op, t: TensorSpec | None, what: str) -> np.ndarray:
    if t is None or t.data is None:
        raise OpError(op, f"{what} must be constant")
    return t.data


def _shape_prepare(op, ins, outs):
    return {"out_shape": outs[0].shape, "dtype": outs[0].dtype}


def _gather_prepare(op, ins, outs):
    if op.options.get("batchDims", 0):
        raise OpError(op, "batchDims is not supported")
    return {"axis": int(op.options.get("axis", 0)), "rows": ins[0].shape[int(op.options.get("axis", 0))]}


def _gather_eval(p, inputs):
    ids = np.asarray(inputs[1])
    if np.any((ids < 0) | (ids >= p["rows"])):
        raise IndexError(f"GATHER index outside [0, {p['rows']})")
    return np.take(inputs[0], ids, axis=p["axis"])


def _strided_slice_prepare(op, ins, outs):
    o = op.options
    if o.get("ellipsisMask") or o.get("newAxisMask") or o.get("offset"):
        raise OpError(op, "ellipsisMask, newAxisMask and offset are not supported")
    begin, end, strides = (_constant(op, t, name).tolist() for t, name in zip(ins[1:4], ("begin", "end", "strides")))
    slices = []
    for axis in range(len(begin)):
        b = None if o.get("beginMask", 0) >> axis & 1 else begin[axis]
        e = None if o.get("endMask", 0) >> axis & 1 else end[axis]
        if o.get("shrinkAxisMask", 0) >> axis & 1:  # TFLM applies beginMask first: the first element
            slices.append(0 if b is None else begin[axis])
        else:
            slices.append(slice(b, e, strides[axis]))
    return {"slices": tuple(slices)}


def _pad_prepare(op, ins, outs):
    if len(ins) > 2 and ins[2] is not None:
        value = int(_constant(op, ins[2], "constant_values").reshape(-1)[0])
    else:
        value = zero_point(outs[0]) if outs[0].quantized else 0  # TFLM pads quantised tensors with their zero point
    return {"pads": [tuple(int(v) for v in row) for row in _constant(op, ins[1], "paddings")], "value": value}


def _split_prepare(op, ins, outs):
    axis = int(_constant(op, ins[0], "axis").reshape(-1)[0]) % len(ins[1].shape)
    if ins[1].shape[axis] % len(outs):
        raise OpError(op, f"axis {axis} of size {ins[1].shape[axis]} does not split into {len(outs)}")
    return {"axis": axis, "parts": len(outs)}


BUILTIN_OPS: dict[str, OpReference] = {
    "FULLY_CONNECTED": OpReference(_fc_prepare, _fc_eval),
    **{name: OpReference(_binary_prepare, _binary_eval) for name in INT32_BINARY},
    "MINIMUM": OpReference(lambda op, ins, outs: {}, lambda p, v: np.minimum(v[0], v[1])),
    "MAXIMUM": OpReference(lambda op, ins, outs: {}, lambda p, v: np.maximum(v[0], v[1])),
    "MEAN": OpReference(_mean_prepare, _mean_eval),
    "QUANTIZE": OpReference(_quantize_prepare, _quantize_eval),
    "CAST": OpReference(_shape_prepare, lambda p, v: np.asarray(v[0]).astype(p["dtype"])),
    "GATHER": OpReference(_gather_prepare, _gather_eval),
    "RESHAPE": OpReference(_shape_prepare, lambda p, v: np.reshape(v[0], p["out_shape"])),
    "TRANSPOSE": OpReference(lambda op, ins, outs: {"perm": tuple(_constant(op, ins[1], "perm").tolist())},
                           lambda p, v: np.transpose(v[0], p["perm"])),
    "STRIDED_SLICE": OpReference(_strided_slice_prepare, lambda p, v: np.asarray(v[0])[p["slices"]]),
    "PAD": OpReference(_pad_prepare, lambda p, v: np.pad(v[0], p["pads"], constant_values=p["value"])),
    "SPLIT": OpReference(_split_prepare, lambda p, v: tuple(np.split(np.asarray(v[1]), p["parts"], axis=p["axis"]))),
}


# -- LOGISTIC, TANH ------------------------------------------------------------------------------

ACTIVATION_INPUT_BITS = 4  # the fixed-point input format of TFLM's int8 LOGISTIC and TANH


def _lut_prepare(fn: Callable[[int, int], int], out_zero: int, out_shift: int):
    """TFLM's int8 LOGISTIC/TANH: rescale the input to a Q4.27 value, apply gemmlowp's fixed-point
    function, round to the output's step; evaluated for all 256 inputs into a table."""
    def prepare(op, ins, outs):
        x, out = ins[0], outs[0]
        if x.dtype != np.int8 or out.dtype != np.int8:
            raise OpError(op, "only int8 is supported")
        if zero_point(out) != out_zero:
            raise OpError(op, f"the output zero point must be {out_zero}, got {zero_point(out)}")
        mantissa, left_shift = math.frexp(tensor_scale(x) * float(1 << (31 - ACTIVATION_INPUT_BITS)))
        multiplier = int(round_away(np.float64(mantissa * (1 << 31))))
        radius = math.floor(((1 << ACTIVATION_INPUT_BITS) - 1) * float(1 << (31 - ACTIVATION_INPUT_BITS))
                            / float(1 << left_shift))
        table = np.empty(256, np.int8)
        for value in range(-128, 128):
            centred = value - zero_point(x)
            if centred <= -radius:
                out_value = INT8_MIN
            elif centred >= radius:
                out_value = INT8_MAX
            else:
                q4 = int(requantize(centred, multiplier, left_shift))
                out_value = min(max(fixedpoint.rdbpot(fn(q4, ACTIVATION_INPUT_BITS), out_shift) + out_zero,
                                    INT8_MIN), INT8_MAX)
            table[value + 128] = out_value
        return {"table": table}

    return prepare


def _lut_eval(p, inputs):
    return p["table"][np.asarray(inputs[0], np.int64) + 128]


BUILTIN_OPS["LOGISTIC"] = OpReference(_lut_prepare(fixedpoint.logistic, INT8_MIN, 23), _lut_eval)
BUILTIN_OPS["TANH"] = OpReference(_lut_prepare(fixedpoint.tanh, 0, 24), _lut_eval)
