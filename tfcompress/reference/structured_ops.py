"""tfcompress's fused structured ops: a fully connected layer or an embedding bag whose matrix
is LMF, HMF, KP or DKP (tfcompress.structures.spec), in one op that never forms the matrix.

Every factor is int8 with zero point 0 (symmetric); its scales (one per tensor, or one per
output column) travel in one float32 `scales` input, in the order each op lists. Sums are
int32 and wrap (as every TFC_ op's). Where a product of two factors does not fit an int32
sum, the first stage is requantised to int16 at the scale `s_t` the converter calibrated
(the fully connected ops); an embedding bag sums whole int8 rows and needs no intermediate.
Where the output is a sum of two parts at different scales (HMF's dense rows and low-rank
rest, DKP's Kronecker product and its sparse S), each part is requantised to the output
scale and the two are added: out = clamp(z_o + requant(acc1) + requant(acc2)).

docs/ops.md specifies each op; this module is the executable spec the C kernels equal.
"""

from __future__ import annotations

import numpy as np

from tfcompress.quantization import quantize_multiplier
from tfcompress.reference.common import (INT8_MAX, INT8_MIN, OpError, OpReference, activation_range, clamp,
                                         requantize_channels, tensor_scale, wrap_int32, zero_point)
from tfcompress.reference.custom_options import STRUCTURED_EMBEDDING_BAG, STRUCTURED_FULLY_CONNECTED, read_options
from tfcompress.reference.graph import Operator, TensorSpec
from tfcompress.structures.sparse import SparseMatrix

INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
FULLY_CONNECTED, EMBEDDING_BAG = STRUCTURED_FULLY_CONNECTED, STRUCTURED_EMBEDDING_BAG

# Factor tensors in input order after x (or ids), and the scales each contributes in order:
# "tensor" is one scale, "cols" one per output column of that factor.
FACTORS = {
    "lmf": (("u", "tensor"), ("v", "cols")),
    "hmf": (("h", "cols"), ("u", "tensor"), ("v", "cols")),
    "kp": (("a", "cols"), ("b", "cols")),
    "dkp": (("a", "cols"), ("b", "cols"), ("s", "tensor")),
    "sparse": (("s", "tensor"),),
}


def _int8_factor(op, t: TensorSpec | None, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if t is None or t.dtype != np.int8 or t.data is None or len(t.shape) != 2:
        raise OpError(op, f"factor {name} must be a constant int8 matrix")
    if shape is not None and tuple(t.shape) != shape:
        raise OpError(op, f"factor {name} must be {list(shape)}, got {list(t.shape)}")
    return t.data.astype(np.int64)


def _sparse_factor(op, t: TensorSpec | None, rows: int, cols: int, nnz: int) -> SparseMatrix:
    """The packed sparse input; left out (-1) when it holds no entries (nnz 0)."""
    if not 0 <= nnz <= rows * cols:
        raise OpError(op, f"custom_options field 'nnz' is {nnz}, outside the {rows}x{cols} matrix")
    if t is None and nnz == 0:
        return SparseMatrix.from_dense(np.zeros((rows, cols), np.int8))
    if t is None or t.dtype != np.uint8 or t.data is None:
        raise OpError(op, "the sparse factor s must be a constant uint8 tensor, or left out when nnz is 0")
    try:
        return SparseMatrix.decode(t.data.tobytes(), rows, cols, nnz)
    except ValueError as err:
        raise OpError(op, f"the sparse factor s does not decode ({err})") from None


def _scales(op, t: TensorSpec | None, sizes: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    """Split the float32 `scales` input into the named vectors; each scale must be positive."""
    total = sum(n for _, n in sizes)
    if t is None or t.dtype != np.float32 or t.data is None or t.data.size != total:
        raise OpError(op, f"the scales input must be {total} constant float32 values "
                          f"({', '.join(f'{name} x{n}' for name, n in sizes)})")
    values = t.data.astype(np.float64).ravel()
    if not np.all(np.isfinite(values) & (values > 0)):
        raise OpError(op, "the scales input must hold finite positive values")
    out, start = {}, 0
    for name, n in sizes:
        out[name], start = values[start:start + n], start + n
    return out


def _multipliers(reals) -> list[tuple[int, int]]:
    return [quantize_multiplier(float(r)) for r in np.ravel(reals)]


def _activation(op, options, out) -> tuple[int, int]:
    return activation_range(Operator(op.index, op.name, op.inputs, op.outputs,
                                     {"fusedActivationFunction": options["fused_activation"]}), out)


def _to_int16(acc, multipliers) -> np.ndarray:
    return np.clip(requantize_channels(wrap_int32(acc), multipliers), INT16_MIN, INT16_MAX)


def _output(parts, z_o: int, lo: int, hi: int) -> np.ndarray:
    """clamp(z_o + sum of requant(acc, multipliers) over the parts)."""
    total = z_o + sum(requantize_channels(wrap_int32(acc), m) for acc, m in parts)
    return clamp(total, lo, hi, np.int8)


# -- structured products x @ W (the fully connected ops; the recurrent ops reuse them) ---------------

# A product's factor inputs in order: FACTORS without DKP's S (an input of its own), plus dense W.
PRODUCT_FACTORS = {"dense": (("w", "cols"),), **{kind: tuple(f for f in FACTORS[kind] if f[0] != "s")
                                                  for kind in ("lmf", "hmf", "kp", "dkp")}}


def product_factors(op, kind: str, factors: list[TensorSpec | None], rows: int, cols: int,
                    of: str = "") -> tuple[dict[str, np.ndarray], list[tuple[str, int]]]:
    """The checked int8 factors (as int64) of a rows x cols W used as x @ W, each stored [out, in]
    (PRODUCT_FACTORS order; dense W is one [cols, rows] factor `w`), and the names and sizes of
    the scales the product takes, in the order of its `scales` input (`t`: its int16 first
    stage). `of` names the matrix in messages (" of W")."""
    if kind == "dense":
        return {"w": _int8_factor(op, factors[0], f"w{of}", (cols, rows))}, [("w", cols)]
    if kind == "lmf":
        u = _int8_factor(op, factors[0], f"u{of}")
        r = u.shape[0]
        f = {"u": u, "v": _int8_factor(op, factors[1], f"v{of}", (cols, r))}
        if u.shape[1] != rows:
            raise OpError(op, f"factor u{of} must be [r, {rows}], got {list(u.shape)}")
        return f, [("u", 1), ("v", cols), ("t", 1)]
    if kind == "hmf":
        h = _int8_factor(op, factors[0], f"h{of}")
        r = h.shape[1]
        if h.shape[0] != cols or not 0 < r < rows:
            raise OpError(op, f"factor h{of} must be [{cols}, r] with 0 < r < {rows}, got {list(h.shape)}")
        f = {"h": h, "u": _int8_factor(op, factors[1], f"u{of}", (r, rows - r)),
             "v": _int8_factor(op, factors[2], f"v{of}", (cols, r))}
        return f, [("h", cols), ("u", 1), ("v", cols), ("t", 1)]
    a, b = _int8_factor(op, factors[0], f"a{of}"), _int8_factor(op, factors[1], f"b{of}")
    (a_out, a_in), (b_out, b_in) = a.shape, b.shape
    if a_in * b_in < rows or a_out * b_out < cols:
        raise OpError(op, f"factors a{of} {list(a.shape)} and b{of} {list(b.shape)} (stored [out, in]) do not "
                          f"cover {rows}x{cols}")
    return {"a": a, "b": b}, [("a", a_out), ("b", b_out)] + ([("s", 1)] if kind == "dkp" else []) + [("t", 1)]


def product_multipliers(kind: str, f: dict[str, np.ndarray], s: dict[str, np.ndarray], s_x: float, s_o: float,
                        cols: int) -> tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]:
    """(stage1, parts): the multipliers of the int16 first stage (none for dense) and, per part of
    `product_accs`, one per output column to the scale s_o."""
    if kind == "dense":
        return [], [_multipliers(s_x * s["w"] / s_o)]
    if kind == "lmf":
        return _multipliers(s_x * s["u"] / s["t"]), [_multipliers(s["t"] * s["v"] / s_o)]
    if kind == "hmf":
        return _multipliers(s_x * s["u"] / s["t"]), [_multipliers(s_x * s["h"] / s_o),
                                                     _multipliers(s["t"] * s["v"] / s_o)]
    b_out = f["b"].shape[0]
    stage1 = _multipliers(s_x * s["b"] / s["t"])  # one per column q of B
    parts = [_multipliers(np.repeat(s["a"], b_out)[:cols] * s["t"] / s_o)]
    if kind == "dkp":
        parts.append(_multipliers(np.full(cols, s_x * s["s"][0] / s_o)))
    return stage1, parts


def product_accs(p: dict, x: np.ndarray) -> list[np.ndarray]:
    """The int32 parts of x @ W (before wrapping, no bias) for x int [n, rows] with its zero point
    removed; `p` holds kind, rows, cols, the factors, `stage1` and (dkp) S dense as `s`."""
    kind = p["kind"]
    if kind == "dense":
        return [x @ p["w"].T]
    if kind == "lmf":
        return [_to_int16(x @ p["u"].T, p["stage1"]) @ p["v"].T]
    if kind == "hmf":
        r = p["h"].shape[1]
        t = _to_int16(x[:, r:] @ p["u"].T, p["stage1"])
        return [x[:, :r] @ p["h"].T, t @ p["v"].T]
    (a_out, a_in), (b_out, b_in) = p["a"].shape, p["b"].shape
    padded = np.zeros((len(x), a_in * b_in), np.int64)
    padded[:, : p["rows"]] = x
    stage1 = padded.reshape(-1, a_in, b_in) @ p["b"].T  # [n, a_in, b_out]: X B
    t = _to_int16(stage1, p["stage1"])
    y = np.einsum("pi,niq->npq", p["a"], t).reshape(len(x), a_out * b_out)[:, : p["cols"]]  # A^T X B
    return [y] + ([x @ p["s"]] if kind == "dkp" else [])


# -- fully connected -------------------------------------------------------------------------------

def _fc_prepare(kind: str):
    """x int8 [..., rows] -> int8 [..., cols]: activation(x @ W + bias), W structured (module doc)."""
    def prepare(op, ins, outs):
        fields = {"fused_activation": int, **({"nnz": int} if kind == "dkp" else {})}
        options = read_options(op, fields)
        factors = len(FACTORS[kind]) - (kind == "dkp")  # dense factors; DKP's S comes last
        expected = 1 + factors + 2 + (kind == "dkp")  # x, factors, bias, scales[, s]
        if len(ins) != expected or len(outs) != 1 or ins[0] is None:
            raise OpError(op, f"expects {expected} inputs (x, {', '.join(f for f, _ in FACTORS[kind][:factors])}, "
                              f"bias, scales{', s' if kind == 'dkp' else ''}) and 1 output")
        x, out = ins[0], outs[0]
        if x.dtype != np.int8 or out.dtype != np.int8 or tuple(x.shape[:-1]) != tuple(out.shape[:-1]):
            raise OpError(op, f"x and the output must be int8 [..., rows] and [..., cols], got {list(x.shape)} "
                              f"and {list(out.shape)}")
        rows, cols = x.shape[-1], out.shape[-1]
        p = {"kind": kind, "rows": rows, "cols": cols, "x_zero": zero_point(x), "out_zero": zero_point(out),
             "range": _activation(op, options, out), "out_shape": out.shape}
        s_x, s_o = tensor_scale(x), tensor_scale(out)
        bias = ins[1 + factors]
        if bias is not None and (bias.dtype != np.int32 or bias.data is None or bias.data.size != cols):
            raise OpError(op, f"the bias must be {cols} constant int32 values, or none")
        p["bias"] = np.zeros(cols, np.int64) if bias is None else bias.data.astype(np.int64).ravel()
        f, names = product_factors(op, kind, ins[1:1 + factors], rows, cols)
        p.update(f)
        s = _scales(op, ins[2 + factors], names)
        p["stage1"], p["parts"] = product_multipliers(kind, f, s, s_x, s_o, cols)
        if kind == "dkp":
            p["s"] = _sparse_factor(op, ins[5], rows, cols, options["nnz"]).to_dense().astype(np.int64)
        return p
    return prepare


def _fc_eval(p, inputs):
    x = np.asarray(inputs[0], np.int64).reshape(-1, p["rows"]) - p["x_zero"]
    accs = product_accs(p, x)
    accs[0] = accs[0] + p["bias"]
    out = _output(zip(accs, p["parts"]), p["out_zero"], *p["range"])
    return out.reshape(p["out_shape"])


# -- embedding bags --------------------------------------------------------------------------------

def _bag_prepare(kind: str):
    """ids int32 [1, T] -> int8 [1, D]: the mean over the T window positions of the ids' rows of a
    structured [V, D] table, `pad_id` tokens skipped (their rows count as zero)."""
    def prepare(op, ins, outs):
        options = read_options(op, {"pad_id": int, "vocab": int, **({"nnz": int} if kind in ("dkp", "sparse") else {})})
        factors = len(FACTORS[kind])
        if len(ins) != factors + 2 or len(outs) != 1 or ins[0] is None:
            raise OpError(op, f"expects {factors + 2} inputs (ids, "
                              f"{', '.join(f for f, _ in FACTORS[kind] if f != 's')}, scales"
                              f"{', s' if 's' in dict(FACTORS[kind]) else ''}) and 1 output")
        ids, out = ins[0], outs[0]
        if ids.dtype != np.int32 or len(ids.shape) != 2 or ids.shape[0] != 1:
            raise OpError(op, f"input 0 (ids) must be int32 [1, T], got {ids.dtype.__name__} {list(ids.shape)}")
        if out.dtype != np.int8 or len(out.shape) != 2 or out.shape[0] != 1:
            raise OpError(op, f"the output must be int8 [1, D], got {out.dtype.__name__} {list(out.shape)}")
        vocab, depth, tokens = options["vocab"], out.shape[1], ids.shape[1]
        if vocab < 1:
            raise OpError(op, f"custom_options field 'vocab' must be positive, got {vocab}")
        p = {"kind": kind, "vocab": vocab, "pad": options["pad_id"], "out_zero": zero_point(out)}
        per_token = tokens * tensor_scale(out)  # the mean's 1/T folded into every multiplier
        dense = [f for f, _ in FACTORS[kind] if f != "s"]
        scales_input = ins[1 + len(dense)]
        if kind == "lmf":
            p["u"] = _int8_factor(op, ins[1], "u")
            r = p["u"].shape[1]
            p["v"] = _int8_factor(op, ins[2], "v", (depth, r))
            if p["u"].shape[0] != vocab:
                raise OpError(op, f"factor u must be [{vocab}, r], got {list(p['u'].shape)}")
            s = _scales(op, scales_input, [("u", 1), ("v", depth)])
            p["parts"] = [_multipliers(s["u"] * s["v"] / per_token)]
        elif kind == "hmf":
            p["h"] = _int8_factor(op, ins[1], "h")
            r = p["h"].shape[0]
            if p["h"].shape[1] != depth or not 0 < r < vocab:
                raise OpError(op, f"factor h must be [r, {depth}] with 0 < r < {vocab}, got {list(p['h'].shape)}")
            p["u"], p["v"] = _int8_factor(op, ins[2], "u", (vocab - r, r)), _int8_factor(op, ins[3], "v", (depth, r))
            s = _scales(op, scales_input, [("h", depth), ("u", 1), ("v", depth)])
            p["parts"] = [_multipliers(s["h"] / per_token), _multipliers(s["u"] * s["v"] / per_token)]
        elif kind in ("kp", "dkp"):
            p["a"], p["b"] = _int8_factor(op, ins[1], "a"), _int8_factor(op, ins[2], "b")
            (a_in, a_out), (b_in, b_out) = p["a"].shape, p["b"].shape
            if a_in * b_in < vocab or a_out * b_out < depth:
                raise OpError(op, f"factors a {list(p['a'].shape)} and b {list(p['b'].shape)} do not cover "
                                  f"{vocab}x{depth}")
            s = _scales(op, scales_input, [("a", a_out), ("b", b_out)] + ([("s", 1)] if kind == "dkp" else []))
            p["parts"] = [_multipliers(np.outer(s["a"], s["b"]).ravel()[:depth] / per_token)]
        else:
            s = _scales(op, scales_input, [("s", 1)])
            p["parts"] = []
        if kind in ("dkp", "sparse"):
            p["s"] = _sparse_factor(op, ins[-1], vocab, depth, options["nnz"]).to_dense().astype(np.int64)
            p["parts"].append(_multipliers(np.full(depth, s["s"][0] / per_token)))
        p["depth"] = depth
        return p
    return prepare


def _bag_eval(p, inputs):
    ids = np.asarray(inputs[0]).reshape(-1)
    if np.any((ids < 0) | (ids >= p["vocab"])):
        raise IndexError(f"{EMBEDDING_BAG[p['kind']]} id outside [0, {p['vocab']})")
    kept = ids[ids != p["pad"]].astype(np.int64)
    kind = p["kind"]
    if kind == "lmf":
        accs = [p["u"][kept].sum(axis=0) @ p["v"].T]
    elif kind == "hmf":
        r = p["h"].shape[0]
        head, rest = kept[kept < r], kept[kept >= r] - r
        accs = [p["h"][head].sum(axis=0), p["u"][rest].sum(axis=0) @ p["v"].T]
    elif kind in ("kp", "dkp"):
        (b_in, b_out), a_out = p["b"].shape, p["a"].shape[1]
        rows = p["a"][kept // b_in][:, :, None] * p["b"][kept % b_in][:, None, :]  # kron of the two rows
        accs = [rows.reshape(len(kept), a_out * b_out)[:, : p["depth"]].sum(axis=0)]
    else:
        accs = []
    if kind in ("dkp", "sparse"):
        accs.append(p["s"][kept].sum(axis=0))
    accs = [np.broadcast_to(a, (p["depth"],)) for a in accs]  # no kept tokens: sums of nothing
    return _output(zip(accs, p["parts"]), p["out_zero"], INT8_MIN, INT8_MAX)[None]


STRUCTURED_OPS: dict[str, OpReference] = {
    **{name: OpReference(_fc_prepare(kind), _fc_eval) for kind, name in FULLY_CONNECTED.items()},
    **{name: OpReference(_bag_prepare(kind), _bag_eval) for kind, name in EMBEDDING_BAG.items()},
}
