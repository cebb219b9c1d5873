"""Compile an int8 .tflite into plain C that calls the kernels of firmware/kernels directly.

No interpreter, no flatbuffer parsing, no heap: constants become `static const` arrays, every
activation gets a fixed place in one static arena (tensors whose lifetimes do not overlap
share bytes), and `PREFIX_invoke` is the operators in order, each a kernel call with the
parameters the integer reference prepared (tfcompress.reference). It returns 0, or 1 + the
index of the operator whose kernel refused its input (an id outside the vocabulary, say).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flatbuffers import flexbuffers

from tfcompress.errors import ModelFileError
from tfcompress.reference.common import OpError
from tfcompress.reference.custom_ops import SPARSE_FULLY_CONNECTED, SPARSE_GATHER
from tfcompress.reference.custom_options import (GRU, LSTM, STRUCTURED_EMBEDDING_BAG, STRUCTURED_FULLY_CONNECTED,
                                                 STRUCTURED_GATHER)
from tfcompress.reference.graph import Operator, TensorSpec, read_graph
from tfcompress.reference.interpreter import ReferenceInterpreter
from tfcompress.structures.sparse import encoded_format, index_bytes

KERNELS_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
ARENA_ALIGNMENT = 16
C_TYPES = {np.int8: "int8_t", np.uint8: "uint8_t", np.int32: "int32_t", np.float32: "float"}
INT32_OPS = {"ADD": "TFC_INT32_ADD", "SUB": "TFC_INT32_SUB", "MUL": "TFC_INT32_MUL", "DIV": "TFC_INT32_DIV",
             "MINIMUM": "TFC_INT32_MIN", "MAXIMUM": "TFC_INT32_MAX"}
# The shifts tfc_requantize takes (TFLite's QuantizeMultiplier range): a left shift of 31 or more, or a
# right shift past 31, would be undefined in C (or meaningless), so the generator refuses them.
SHIFT_RANGE = (-31, 30)


@dataclass
class GeneratedModel:
    prefix: str
    source: str  # PREFIX.c
    header: str  # PREFIX.h
    arena_bytes: int
    input: TensorSpec
    output: TensorSpec


def _size(t: TensorSpec) -> int:
    return int(np.prod(t.shape, dtype=np.int64)) * np.dtype(t.dtype).itemsize


def _count(t: TensorSpec) -> int:
    return int(np.prod(t.shape, dtype=np.int64))


def _contiguous(shape) -> list[int]:
    strides, step = [], 1
    for dim in reversed(shape):
        strides.insert(0, step)
        step *= dim
    return strides


def _c_float(value) -> str:
    return float(np.float32(value)).hex() + "f"  # C99 hex literal: the float32 exactly


def _array(values, per_line: int = 24) -> str:
    flat = [str(int(v)) for v in np.ravel(values)]
    return ",\n".join("    " + ", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)) or "    0"


def plan_arena(graph, tensors: set[int]) -> tuple[dict[int, int], int]:
    """Offsets in one arena for `tensors`, sharing bytes between tensors not alive together:
    the largest first, each at the lowest aligned offset that overlaps no live neighbour."""
    first, last = {}, {}
    for i in graph.inputs:
        first[i] = -1
    for k, op in enumerate(graph.operators):
        for i in op.inputs:
            if i in tensors:
                last[i] = k
        for o in op.outputs:
            first.setdefault(o, k)
    for o in graph.outputs:
        last[o] = len(graph.operators)
    placed: list[tuple[int, int, int, int]] = []  # offset, size, first, last
    offsets = {}
    for i in sorted(tensors, key=lambda t: (-_size(graph.tensors[t]), t)):
        size, born, dies = _size(graph.tensors[i]), first.get(i, -1), last.get(i, first.get(i, -1))
        offset = 0
        for other_offset, other_size, other_born, other_dies in sorted(placed):
            if other_dies < born or dies < other_born:
                continue  # never alive at the same time
            if offset + size <= other_offset:
                break
            offset = max(offset, -(-(other_offset + other_size) // ARENA_ALIGNMENT) * ARENA_ALIGNMENT)
        placed.append((offset, size, born, dies))
        offsets[i] = offset
    return offsets, max((o + s for o, s, _, _ in placed), default=0)


@dataclass
class _Emitter:
    graph: object
    prefix: str
    offsets: dict[int, int]
    declarations: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    op: Operator | None = None  # the operator being emitted, named by refusals

    def tensor(self, index: int) -> str:
        spec = self.graph.tensors[index]
        if spec.dtype not in C_TYPES:
            raise ModelFileError(f"tensor {index}", f"{spec.name}: type {spec.dtype.__name__} has no kernel in C")
        ctype = C_TYPES[spec.dtype]
        if spec.data is not None:
            name = f"{self.prefix}_const_{index}"
            if not any(d.startswith(f"static const {ctype} {name}[") for d in self.declarations):
                values = ",\n".join("    " + _c_float(v) for v in np.ravel(spec.data)) if ctype == "float" \
                    else _array(spec.data)
                self.declarations.append(f"static const {ctype} {name}[{max(spec.data.size, 1)}] = {{\n{values}\n}};")
            return f"(const {ctype} *){name}"
        return f"(({ctype} *)({self.prefix}_arena + {self.offsets[index]}))"

    def constant(self, name: str, ctype: str, values) -> str:
        full = f"{self.prefix}_{name}"
        self.declarations.append(f"static const {ctype} {full}[] = {{\n{_array(values)}\n}};")
        return full

    def multiplier(self, pair) -> str:
        """The initialiser of one tfc_quant_multiplier, refused unless tfc_requantize is defined for it."""
        q, shift = (int(v) for v in pair)
        if not SHIFT_RANGE[0] <= shift <= SHIFT_RANGE[1]:
            raise OpError(self.op, f"requantisation multiplier ({q}, shift {shift}) has a shift outside "
                                   f"[{SHIFT_RANGE[0]}, {SHIFT_RANGE[1]}]: the scales are out of the range "
                                   f"tfc_requantize takes")
        if not -(2**31) <= q < 2**31:
            raise OpError(self.op, f"requantisation multiplier {q} does not fit int32")
        return f"{{{q}, {shift}}}"

    def multipliers(self, name: str, pairs) -> str:
        full = f"{self.prefix}_{name}"
        items = [self.multiplier(pair) for pair in pairs]
        rows = [", ".join(items[i:i + 6]) for i in range(0, len(items), 6)]
        self.declarations.append(f"static const tfc_quant_multiplier {full}[] = {{\n    " + ",\n    ".join(rows)
                                 + "\n};")
        return full

    def refuse(self, k: int, indent: str = "        ") -> str:
        """The statements of operator k refusing its input: its profiling span closed, then 1 + k returned."""
        return f"{indent}TFC_PROFILE_END({k});\n{indent}return {k + 1};"

    def call(self, k: int, text: str) -> None:
        self.body.append(f"    if ({text} != TFC_OK) {{\n{self.refuse(k)}\n    }}")


def _broadcast(e: _Emitter, op: Operator) -> str:
    a, b, out = (e.graph.tensors[i] for i in (*op.inputs[:2], op.outputs[0]))
    if len(out.shape) > 4:
        raise OpError(op, "more than 4 dimensions")
    shape = [1] * (4 - len(out.shape)) + list(out.shape)

    def strides(t):
        dims = [1] * (4 - len(t.shape)) + list(t.shape)
        return [0 if d == 1 and s > 1 else c for d, s, c in zip(dims, shape, _contiguous(dims))]

    return "{{%s}, {%s}, {%s}}" % (", ".join(map(str, shape)), ", ".join(map(str, strides(a))),
                                     ", ".join(map(str, strides(b))))


def _copy_plan(shape, in_strides, out_strides, in_offset, out_offset, size) -> str:
    pad = 5 - len(shape)
    if pad < 0:
        raise ValueError("more than 5 dimensions")
    return "{{%s}, {%s}, {%s}, %d, %d, %d}" % (", ".join(map(str, [1] * pad + list(shape))),
                                                ", ".join(map(str, [0] * pad + list(in_strides))),
                                                ", ".join(map(str, [0] * pad + list(out_strides))),
                                                in_offset, out_offset, size)


def _emit_op(e: _Emitter, k: int, op: Operator, p: dict) -> None:
    t = e.graph.tensors
    ins, out = [t[i] if i >= 0 else None for i in op.inputs], t[op.outputs[0]]
    x = _LazyArgs(e, op)  # x[j]: input j's C expression, its constant declared on first use
    y = e.tensor(op.outputs[0])
    var = f"op{k}"
    if op.name == "FULLY_CONNECTED":
        depth = ins[1].shape[1]
        mult = e.multipliers(f"{var}_multipliers", p["multipliers"])
        bias = x[2] if len(op.inputs) > 2 else "NULL"
        e.body.append(f"    {{\n        const tfc_fc_params {var}_p = {{{-p['x_zero']}, {p['out_zero']}, "
                      f"{{{p['range'][0]}, {p['range'][1]}}}}};\n        const tfc_fc_dims {var}_d = "
                      f"{{{_size(ins[0]) // depth}, {depth}, {ins[1].shape[0]}}};")
        e.call(k, f"tfc_fully_connected_s8(&{var}_p, {mult}, &{var}_d, {x[0]}, {x[1]}, {bias}, {y})")
        e.body.append("    }")
    elif op.name == "MEAN":
        axes, shape = p["axes"], ins[0].shape
        if list(axes) != list(range(axes[0], axes[-1] + 1)):
            raise OpError(op, "the generated C reduces contiguous axes only")
        outer, count = math.prod(shape[:axes[0]]), math.prod(shape[axes[0]:axes[-1] + 1])
        e.body.append(f"    {{\n        const tfc_mean_params {var}_p = {{{p['x_zero']}, {p['out_zero']}, "
                      f"{e.multiplier((p['q'], p['shift']))}}};\n        const tfc_mean_dims {var}_d = "
                      f"{{{outer}, {count}, {math.prod(shape[axes[-1] + 1:])}}};")
        e.call(k, f"tfc_mean_s8(&{var}_p, &{var}_d, {x[0]}, {y})")
        e.body.append("    }")
    elif op.name in INT32_OPS and out.dtype == np.int32:
        e.body.append(f"    {{\n        const tfc_broadcast_dims {var}_d = {_broadcast(e, op)};")
        e.call(k, f"tfc_binary_s32({INT32_OPS[op.name]}, &{var}_d, {x[0]}, {x[1]}, {y})")
        e.body.append("    }")
    elif op.name in ("ADD", "SUB", "MUL"):
        ma, mb = p.get("input_multipliers", ((0, 0), (0, 0)))
        mo = p.get("output_multiplier", p.get("multiplier"))
        shift = 0 if op.name == "MUL" else 20
        e.body.append(f"    {{\n        const tfc_elementwise_params {var}_p = {{{p['offsets'][0]}, {p['offsets'][1]}, "
                      f"{p['out_zero']}, {shift}, {e.multiplier(ma)}, {e.multiplier(mb)}, {e.multiplier(mo)}, "
                      f"{{{p['range'][0]}, {p['range'][1]}}}}};\n        const tfc_broadcast_dims {var}_d = "
                      f"{_broadcast(e, op)};")
        e.call(k, f"tfc_{op.name.lower()}_s8(&{var}_p, &{var}_d, {x[0]}, {x[1]}, {y})")
        e.body.append("    }")
    elif op.name in ("LOGISTIC", "TANH"):
        table = e.constant(f"{var}_table", "int8_t", p["table"])
        e.call(k, f"tfc_lookup_s8({table}, {_count(out)}, {x[0]}, {y})")
    elif op.name == "QUANTIZE":
        if "requantize" in p:
            e.call(k, f"tfc_requantize_s8({_count(out)}, {p['x_zero']}, {p['out_zero']}, "
                      f"(tfc_quant_multiplier){e.multiplier(p['requantize'])}, {x[0]}, {y})")
        else:
            e.call(k, f"tfc_quantize_f32_s8({_count(out)}, {_c_float(p['scale'])}, {p['out_zero']}, {x[0]}, {y})")
    elif op.name == "CAST":
        if ins[0].dtype != np.int32 or out.dtype != np.float32:
            raise OpError(op, "the generated C casts int32 to float32 only")
        e.call(k, f"tfc_cast_s32_f32({_count(out)}, {x[0]}, {y})")
    elif op.name == "GATHER":
        if p["axis"] != 0:
            raise OpError(op, "the generated C gathers along axis 0 only")
        row_bytes = _size(ins[0]) // ins[0].shape[0]
        e.call(k, f"tfc_gather_rows({x[0]}, {ins[0].shape[0]}, {row_bytes}, {x[1]}, "
                  f"{int(np.prod(ins[1].shape))}, {y})")
    elif op.name == "RESHAPE":
        e.body.append(f"    memmove({y}, {x[0]}, {_size(out)});")
    elif op.name in ("TRANSPOSE", "STRIDED_SLICE", "SPLIT", "PAD"):
        _emit_copy(e, k, op, p, ins, x)
    elif op.name == "TFC_EMBEDDING_BAG":
        ids, table = ins
        e.declarations.append(f"static int32_t {e.prefix}_{var}_scratch[{table.shape[1]}];")
        e.body.append(f"    {{\n        const tfc_embedding_bag_params {var}_p = {{{p['table_zero']}, {p['out_zero']}, "
                      f"{p['pad']}, {e.multiplier((p['q'], p['shift']))}}};\n        const tfc_embedding_bag_dims {var}_d = "
                      f"{{{table.shape[0]}, {table.shape[1]}, {ids.shape[1]}}};")
        e.call(k, f"tfc_embedding_bag_s8(&{var}_p, &{var}_d, {x[0]}, {x[1]}, {e.prefix}_{var}_scratch, {y})")
        e.body.append("    }")
    elif op.name in (SPARSE_GATHER, SPARSE_FULLY_CONNECTED):
        _emit_sparse(e, k, op, p, ins, x, y)
    elif op.name in STRUCTURED_FULLY_CONNECTED.values():
        _emit_structured_fc(e, k, op, p, ins, x, y)
    elif op.name in STRUCTURED_EMBEDDING_BAG.values():
        _emit_structured_bag(e, k, op, p, ins, x, y)
    elif op.name in STRUCTURED_GATHER.values():
        _emit_structured_bag(e, k, op, p["row"], ins, x, y, "gather")
    elif op.name in (LSTM, GRU):
        _emit_recurrent(e, k, op, p, x, y)
    else:
        raise OpError(op, "the generated C has no kernel for this operator")


def _sparse_init(rows: int, cols: int, nnz: int, packed: str, background: int) -> str:
    """A tfc_sparse_matrix initialiser for the packed bytes `packed` (tfcompress.structures.sparse)."""
    fmt = encoded_format(rows, cols, nnz)
    row_bytes = index_bytes(rows) if fmt == "coo" else index_bytes(nnz + 1)
    return (f"{{{rows}, {cols}, {nnz}, TFC_SPARSE_{fmt.upper()}, {row_bytes}, {index_bytes(cols)}, {background}, "
            f"{packed}}}")


def _sparse_matrix_init(op: Operator, packed: str, background: int) -> tuple[str, dict]:
    """The sparse matrix of an op whose options say its rows, cols and nnz."""
    options = flexbuffers.Loads(op.custom_options)
    return _sparse_init(options["rows"], options["cols"], options["nnz"], packed, background), options


def _emit_sparse(e: _Emitter, k: int, op: Operator, p: dict, ins, x, y) -> None:
    var = f"op{k}"
    if op.name == SPARSE_GATHER:
        init, options = _sparse_matrix_init(op, x[1], flexbuffers.Loads(op.custom_options)["background"])
        e.body.append(f"    {{\n        const tfc_sparse_matrix {var}_m = {init};")
        e.call(k, f"tfc_sparse_gather_s8(&{var}_m, {x[0]}, {_count(ins[0])}, {y})")
        e.body.append("    }")
        return
    init, options = _sparse_matrix_init(op, x[1], 0)
    mult = e.multipliers(f"{var}_multipliers", p["multipliers"])
    e.declarations.append(f"static int32_t {e.prefix}_{var}_scratch[{options['cols']}];")
    e.body.append(f"    {{\n        const tfc_sparse_matrix {var}_m = {init};\n        const tfc_fc_params {var}_p = "
                  f"{{{-p['x_zero']}, {p['out_zero']}, {{{p['range'][0]}, {p['range'][1]}}}}};\n"
                  f"        const tfc_fc_dims {var}_d = {{{_count(ins[0]) // options['rows']}, {options['rows']}, "
                  f"{options['cols']}}};")
    bias = x[2] if op.inputs[2] >= 0 else "NULL"
    e.call(k, f"tfc_sparse_fully_connected_s8(&{var}_p, {mult}, &{var}_d, {x[0]}, &{var}_m, {bias}, "
              f"{e.prefix}_{var}_scratch, {y})")
    e.body.append("    }")


def _one_multiplier(e: _Emitter, op: Operator, pairs) -> str:
    """A part with one scale for the tensor (a sparse S): the reference repeats its multiplier per channel."""
    if len(set(pairs)) != 1:
        raise OpError(op, "the generated C takes one multiplier for the sparse part")
    return e.multiplier(pairs[0])


def _packed_sparse(e: _Emitter, op: Operator, j: int) -> str:
    """The packed bytes of the sparse input j; an input left out (nnz 0) points at one byte
    nothing reads, as the kernels take no NULL matrix."""
    if op.inputs[j] >= 0:
        return e.tensor(op.inputs[j])
    name = f"{e.prefix}_no_entries"
    if f"static const uint8_t {name}[1] = {{0}};" not in e.declarations:
        e.declarations.append(f"static const uint8_t {name}[1] = {{0}};")
    return name


def _scratch(e: _Emitter, var: str, ctype: str, count: int) -> str:
    """A static scratch array of `count` elements (the kernel's *_get_buffer_size formula); the
    call checks it against *_get_buffer_size first, so a formula that drifted refuses the op
    instead of overrunning the array."""
    name = f"{e.prefix}_{var}_scratch"
    e.declarations.append(f"static {ctype} {name}[{max(count, 1)}];")
    return name


def _call_with_scratch(e: _Emitter, k: int, function: str, dims: str, scratch: str, args: str) -> None:
    e.body.append(f"        if ({function}_get_buffer_size(&{dims}) > (int32_t)sizeof {scratch}) {{\n"
                  f"{e.refuse(k, '            ')}\n        }}")
    e.call(k, f"{function}({args})")


def _emit_structured_fc(e: _Emitter, k: int, op: Operator, p: dict, ins, x, y) -> None:
    """TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED: inputs x, the factors, bias, scales[, s]."""
    var, kind = f"op{k}", p["kind"]
    factors = 3 if kind == "hmf" else 2
    batches, rows, cols = _count(ins[0]) // p["rows"], p["rows"], p["cols"]
    function = f"tfc_{kind}_fully_connected_s8"
    bias = x[1 + factors]
    e.body.append(f"    {{\n        const tfc_fc_params {var}_p = {{{-p['x_zero']}, {p['out_zero']}, "
                  f"{{{p['range'][0]}, {p['range'][1]}}}}};")
    if kind in ("lmf", "hmf"):
        rank = p["u"].shape[0]
        head = e.multipliers(f"{var}_head", p["parts"][0]) if kind == "hmf" else "NULL"
        low_rank = e.multipliers(f"{var}_low_rank", p["parts"][-1])
        scratch = _scratch(e, var, "int16_t", rank)
        e.body.append(f"        const tfc_mf_fc_dims {var}_d = {{{batches}, {rows}, {cols}, {rank}}};\n"
                      f"        const tfc_mf_fc_quant {var}_q = {{{e.multiplier(p['stage1'][0])}, {head}, "
                      f"{low_rank}}};")
        args = ", ".join(x[j] for j in range(1 + factors))
        _call_with_scratch(e, k, function, f"{var}_d", scratch,
                           f"&{var}_p, &{var}_q, &{var}_d, {args}, {bias}, {scratch}, {y}")
    else:
        (a_out, a_in), (b_out, b_in) = p["a"].shape, p["b"].shape
        stage1 = e.multipliers(f"{var}_stage1", p["stage1"])
        kron = e.multipliers(f"{var}_kron", p["parts"][0])
        sparse = _one_multiplier(e, op, p["parts"][1]) if kind == "dkp" else "{0, 0}"
        e.body.append(f"        const tfc_kp_fc_dims {var}_d = {{{batches}, {rows}, {cols}, {a_out}, {a_in}, "
                      f"{b_out}, {b_in}}};\n        const tfc_kp_fc_quant {var}_q = {{{stage1}, {kron}, {sparse}}};")
        if kind == "kp":
            scratch = _scratch(e, var, "int16_t", a_in * b_out)
            _call_with_scratch(e, k, function, f"{var}_d", scratch,
                               f"&{var}_p, &{var}_q, &{var}_d, {x[0]}, {x[1]}, {x[2]}, {bias}, {scratch}, {y}")
        else:
            nnz = flexbuffers.Loads(op.custom_options)["nnz"]
            s_init = _sparse_init(rows, cols, nnz, _packed_sparse(e, op, 5), 0)
            e.body.append(f"        const tfc_sparse_matrix {var}_s = {s_init};")
            # output_depth int32, then a_in * b_out int16 (tfc_dkp_fully_connected_s8_get_buffer_size)
            scratch = _scratch(e, var, "int32_t", cols + -(-a_in * b_out // 2))
            _call_with_scratch(e, k, function, f"{var}_d", scratch, f"&{var}_p, &{var}_q, &{var}_d, {x[0]}, {x[1]}, "
                                                                  f"{x[2]}, &{var}_s, {bias}, {scratch}, {y}")
    e.body.append("    }")


def _emit_structured_bag(e: _Emitter, k: int, op: Operator, p: dict, ins, x, y,
                         op_kind: str = "embedding_bag") -> None:
    """TFC_{LMF,HMF,KP,DKP,SPARSE}_EMBEDDING_BAG: inputs ids, the dense factors, scales[, s]; `op_kind`
    "gather": TFC_{LMF,HMF,KP,DKP}_GATHER, the same inputs and the bag's parameters (`p["row"]`)."""
    var, kind = f"op{k}", p["kind"]
    vocab, depth, tokens = p["vocab"], p["depth"], ins[0].shape[1]
    function = f"tfc_{kind}_{op_kind}_s8"
    e.body.append(f"    {{\n        const tfc_structured_bag_params {var}_p = {{{p['out_zero']}, {p['pad']}}};")
    if kind in ("lmf", "hmf"):
        rank = p["v"].shape[1]
        head = e.multipliers(f"{var}_head", p["parts"][0]) if kind == "hmf" else "NULL"
        low_rank = e.multipliers(f"{var}_low_rank", p["parts"][-1])
        scratch = _scratch(e, var, "int32_t", rank + (depth if kind == "hmf" else 0))
        e.body.append(f"        const tfc_mf_bag_dims {var}_d = {{{vocab}, {depth}, {tokens}, {rank}}};\n"
                      f"        const tfc_mf_bag_quant {var}_q = {{{head}, {low_rank}}};")
        args = ", ".join(x[j] for j in range(4 if kind == "hmf" else 3))
        _call_with_scratch(e, k, function, f"{var}_d", scratch,
                           f"&{var}_p, &{var}_q, &{var}_d, {args}, {scratch}, {y}")
    elif kind in ("kp", "dkp"):
        (a_in, a_out), (b_in, b_out) = p["a"].shape, p["b"].shape
        kron = e.multipliers(f"{var}_kron", p["parts"][0])
        sparse = _one_multiplier(e, op, p["parts"][1]) if kind == "dkp" else "{0, 0}"
        scratch = _scratch(e, var, "int32_t", depth * (2 if kind == "dkp" else 1))
        e.body.append(f"        const tfc_kp_bag_dims {var}_d = {{{vocab}, {depth}, {tokens}, {a_in}, {a_out}, "
                      f"{b_in}, {b_out}}};\n        const tfc_kp_bag_quant {var}_q = {{{kron}, {sparse}}};")
        if kind == "kp":
            _call_with_scratch(e, k, function, f"{var}_d", scratch,
                               f"&{var}_p, &{var}_q, &{var}_d, {x[0]}, {x[1]}, {x[2]}, {scratch}, {y}")
        else:
            nnz = flexbuffers.Loads(op.custom_options)["nnz"]
            s_init = _sparse_init(vocab, depth, nnz, _packed_sparse(e, op, 4), 0)
            e.body.append(f"        const tfc_sparse_matrix {var}_s = {s_init};")
            _call_with_scratch(e, k, function, f"{var}_d", scratch,
                               f"&{var}_p, &{var}_q, &{var}_d, {x[0]}, {x[1]}, {x[2]}, &{var}_s, {scratch}, {y}")
    else:
        nnz = flexbuffers.Loads(op.custom_options)["nnz"]
        scratch = _scratch(e, var, "int32_t", depth)
        s_init = _sparse_init(vocab, depth, nnz, _packed_sparse(e, op, 2), 0)
        e.body.append(f"        const tfc_embedding_bag_dims {var}_d = {{{vocab}, {depth}, {tokens}}};\n"
                      f"        const tfc_sparse_matrix {var}_s = {s_init};")
        _call_with_scratch(e, k, function, f"{var}_d", scratch,
                           f"&{var}_p, (tfc_quant_multiplier){_one_multiplier(e, op, p['parts'][0])}, &{var}_d, {x[0]}, "
                           f"&{var}_s, {scratch}, {y}")
    e.body.append("    }")


def _emit_structured_matrix(e: _Emitter, op: Operator, name: str, product: dict, factors: list[str], sparse_slot: int,
                            nnz: int) -> tuple[str, int]:
    """A `const tfc_structured_matrix` named `name` for one matrix of a recurrent op (reference:
    recurrent_ops, `p["W"]` / `p["U"]`; `factors` its inputs' C expressions in PRODUCT_FACTORS order);
    returns its C name and the bytes it adds to the op's scratch (recurrent_s8.c buffer_size)."""
    kind = product["kind"]
    fields = {"kind": f"TFC_MATRIX_{kind.upper()}", "rows": product["rows"], "cols": product["cols"]}
    if kind == "dense":
        fields["w"] = factors[0]
    elif kind in ("lmf", "hmf"):
        fields["rank"] = product["u"].shape[0]
        fields.update(zip(("h", "u", "v") if kind == "hmf" else ("u", "v"), factors))
        fields["stage1"] = e.multipliers(f"{name}_stage1", product["stage1"])
    else:
        (fields["a_out"], fields["a_in"]), (fields["b_out"], fields["b_in"]) = product["a"].shape, product["b"].shape
        fields["a"], fields["b"] = factors
        fields["stage1"] = e.multipliers(f"{name}_stage1", product["stage1"])
    fields["part1"] = e.multipliers(f"{name}_part1", product["parts"][0])
    if kind == "hmf":
        fields["part2"] = e.multipliers(f"{name}_part2", product["parts"][1])
    if kind == "dkp":
        e.body.append(f"        const tfc_sparse_matrix {name}_s = "
                      f"{_sparse_init(product['rows'], product['cols'], nnz, _packed_sparse(e, op, sparse_slot), 0)};")
        fields["s"] = f"&{name}_s"
        fields["sparse"] = _one_multiplier(e, op, product["parts"][1])
    initialisers = [f".{key} = {value}" for key, value in fields.items()]
    lines = [", ".join(initialisers[i:i + 4]) for i in range(0, len(initialisers), 4)]
    e.body.append(f"        const tfc_structured_matrix {name} = {{\n            " + ",\n            ".join(lines) +
                  "};")
    stage1 = 0 if kind == "dense" else fields["rank"] if kind in ("lmf", "hmf") else fields["a_in"] * fields["b_out"]
    return name, 2 * stage1 + (4 * product["cols"] if kind == "dkp" else 0)  # int16 t, DKP's int32 sums


def _emit_recurrent(e: _Emitter, k: int, op: Operator, p: dict, x, y) -> None:
    """TFC_LSTM / TFC_GRU: inputs x, W's factors, U's factors, bias[, recurrent_bias], scales, s of W, s of U."""
    from tfcompress.reference.structured_ops import PRODUCT_FACTORS

    var, lstm = f"op{k}", p["cell"] == LSTM
    options = flexbuffers.Loads(op.custom_options)
    n_w, n_u = len(PRODUCT_FACTORS[p["W"]["kind"]]), len(PRODUCT_FACTORS[p["U"]["kind"]])
    e.body.append("    {")
    w, w_bytes = _emit_structured_matrix(e, op, f"{var}_w", p["W"], [x[1 + j] for j in range(n_w)],
                                         len(op.inputs) - 2, options["input_nnz"])
    u, u_bytes = _emit_structured_matrix(e, op, f"{var}_u", p["U"], [x[1 + n_w + j] for j in range(n_u)],
                                         len(op.inputs) - 1, options["recurrent_nnz"])
    units = p["units"]
    e.body.append(f"        const tfc_recurrent_params {var}_p = {{{-p['x_zero']}, {p['cell_bits'] if lstm else 0}, "
                  f"{e.multiplier(p['hidden'])}}};\n        const tfc_recurrent_dims {var}_d = {{{p['steps']}, "
                  f"{p['depth']}, {units}}};")
    # int32 scratch: DKP's sparse sums, the int16 first stages and state, the int8 previous h (buffer_size)
    scratch = _scratch(e, var, "int32_t", -(-(w_bytes + u_bytes + 2 * units + units) // 4))
    at = 1 + n_w + n_u  # the biases
    biases = x[at] + (f", {x[at + 1]}" if not lstm else "")
    function = "tfc_lstm_s8" if lstm else "tfc_gru_s8"
    _call_with_scratch(e, k, function, f"{var}_d, &{w}, &{u}", scratch,  # get_buffer_size(&dims, &w, &u)
                       f"&{var}_p, &{var}_d, {x[0]}, &{w}, &{u}, {biases}, {scratch}, {y}")
    e.body.append("    }")


class _LazyArgs:
    def __init__(self, e: _Emitter, op: Operator):
        self.e, self.op = e, op

    def __getitem__(self, j: int) -> str:
        index = self.op.inputs[j]
        return self.e.tensor(index) if index >= 0 else "NULL"


def _emit_copy(e: _Emitter, k: int, op: Operator, p: dict, ins, x) -> None:
    source, size = ins[0] if op.name != "SPLIT" else ins[1], np.dtype(e.graph.tensors[op.outputs[0]].dtype).itemsize
    source_strides = _contiguous(source.shape)
    plans = []
    if op.name == "TRANSPOSE":
        out = e.graph.tensors[op.outputs[0]]
        plans.append((op.outputs[0], _copy_plan(out.shape, [source_strides[a] for a in p["perm"]],
                                                _contiguous(out.shape), 0, 0, size)))
    elif op.name == "STRIDED_SLICE":
        shape, strides, offset = [], [], 0
        for axis, item in enumerate(p["slices"]):
            if isinstance(item, int):
                offset += (item % source.shape[axis]) * source_strides[axis]
                continue
            start, stop, step = item.indices(source.shape[axis])
            if step < 1:
                raise OpError(op, "the generated C slices with positive strides only")
            shape.append(max(0, -(-(stop - start) // step)))
            strides.append(step * source_strides[axis])
            offset += start * source_strides[axis]
        plans.append((op.outputs[0], _copy_plan(shape, strides, _contiguous(shape), offset, 0, size)))
    elif op.name == "SPLIT":
        part = source.shape[p["axis"]] // p["parts"]
        for j, o in enumerate(op.outputs):
            shape = list(source.shape)
            shape[p["axis"]] = part
            plans.append((o, _copy_plan(shape, source_strides, _contiguous(shape),
                                        j * part * source_strides[p["axis"]], 0, size)))
    else:  # PAD: fill with the pad value, then copy the input inside
        out = e.graph.tensors[op.outputs[0]]
        out_strides = _contiguous(out.shape)
        value = e.constant(f"op{k}_pad_value", C_TYPES[out.dtype], [p["value"]])
        e.call(k, f"tfc_fill({_size(out) // size}, {size}, {value}, {e.tensor(op.outputs[0])})")
        start = sum(before * s for (before, _), s in zip(p["pads"], out_strides))
        plans.append((op.outputs[0], _copy_plan(source.shape, source_strides, out_strides, 0, start, size)))
    for j, (o, plan) in enumerate(plans):
        e.body.append(f"    {{\n        const tfc_copy_plan op{k}_plan{j} = {plan};")
        e.call(k, f"tfc_strided_copy(&op{k}_plan{j}, {x[1] if op.name == 'SPLIT' else x[0]}, {e.tensor(o)})")
        e.body.append("    }")


def _profile_header(prefix: str, count: int) -> str:
    """The header's profiling declarations (firmware/README.md, "Per-operator profiling")."""
    return (f"#define {prefix.upper()}_OPERATOR_COUNT {count}\n\n"
            f"#ifdef TFC_PROFILE\n"
            f"/* Built with TFC_PROFILE: the operators' names (builtin or TFC_ op), by index. */\n"
            f"extern const char *const {prefix}_operator_names[{prefix.upper()}_OPERATOR_COUNT];\n"
            f"#ifndef TFC_PROFILE_USER_HEADER\n"
            f"/* The default host profiler (CLOCK_MONOTONIC): nanoseconds and calls per operator since\n"
            f"   the program started or {prefix}_profile_reset(). */\n"
            f"extern uint64_t {prefix}_op_ns[{prefix.upper()}_OPERATOR_COUNT];\n"
            f"extern uint64_t {prefix}_op_calls[{prefix.upper()}_OPERATOR_COUNT];\n"
            f"void {prefix}_profile_reset(void);\n"
            f"#endif\n#endif\n")


def _profile_source(prefix: str, names: list[str]) -> list[str]:
    """Empty TFC_PROFILE_BEGIN/END unless TFC_PROFILE; then the operator names and the user's
    tfc_profile.h (TFC_PROFILE_USER_HEADER) or the default host profiler."""
    count = f"{prefix.upper()}_OPERATOR_COUNT"
    quoted = ",\n".join(f'    "{name}"' for name in names)
    return [
        "/* Per-operator profiling: TFC_PROFILE_BEGIN(k) and TFC_PROFILE_END(k) enclose operator k, END also",
        "   on the path where k refuses its input. They are empty unless the build defines TFC_PROFILE. */",
        "#ifndef TFC_PROFILE",
        "#define TFC_PROFILE_BEGIN(k)",
        "#define TFC_PROFILE_END(k)",
        "#else",
        f"const char *const {prefix}_operator_names[{count}] = {{\n{quoted}\n}};",
        "#ifdef TFC_PROFILE_USER_HEADER",
        '#include "tfc_profile.h" /* defines TFC_PROFILE_BEGIN(k) and TFC_PROFILE_END(k): a cycle counter, say */',
        "#else",
        "#include <time.h>",
        f"uint64_t {prefix}_op_ns[{count}];",
        f"uint64_t {prefix}_op_calls[{count}];",
        f"static uint64_t {prefix}_op_started;",
        "",
        f"static uint64_t {prefix}_profile_now(void)",
        "{",
        "    struct timespec now;",
        "    clock_gettime(CLOCK_MONOTONIC, &now);",
        "    return (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec;",
        "}",
        "",
        f"void {prefix}_profile_reset(void)",
        "{",
        f"    memset({prefix}_op_ns, 0, sizeof {prefix}_op_ns);",
        f"    memset({prefix}_op_calls, 0, sizeof {prefix}_op_calls);",
        "}",
        "",
        f"#define TFC_PROFILE_BEGIN(k) ({prefix}_op_started = {prefix}_profile_now())",
        f"#define TFC_PROFILE_END(k) ({prefix}_op_ns[(k)] += {prefix}_profile_now() - {prefix}_op_started, "
        f"++{prefix}_op_calls[(k)])",
        "#endif",
        "#if !defined(TFC_PROFILE_BEGIN) || !defined(TFC_PROFILE_END)",
        '#error "tfc_profile.h must define TFC_PROFILE_BEGIN(k) and TFC_PROFILE_END(k)"',
        "#endif",
        "#endif",
    ]


def generate_c(model: bytes, prefix: str = "tfc_model") -> GeneratedModel:
    """The C source and header of `model` (one int32 input, one int8 output).

    Each operator k is enclosed in TFC_PROFILE_BEGIN(k) / TFC_PROFILE_END(k), macros that are empty
    unless the build defines TFC_PROFILE (firmware/README.md, "Per-operator profiling")."""
    reference = ReferenceInterpreter(model)
    graph = reference.graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise OpError(graph.operators[0], "the generated C takes one input and one output")
    activations = {i for op in graph.operators for i in (*op.inputs, *op.outputs)
                   if i >= 0 and graph.tensors[i].data is None} | set(graph.inputs) | set(graph.outputs)
    offsets, arena = plan_arena(graph, activations)
    e = _Emitter(graph, prefix, offsets)
    for k, (op, _, params) in enumerate(reference.steps):
        e.op = op
        e.body.append(f"    TFC_PROFILE_BEGIN({k});")
        _emit_op(e, k, op, params)
        e.body.append(f"    TFC_PROFILE_END({k});")
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    header = (f"/* Generated by tfcompress from an int8 .tflite: do not edit. */\n#ifndef {prefix.upper()}_H\n"
              f"#define {prefix.upper()}_H\n\n#include <stdint.h>\n\n"
              f"#define {prefix.upper()}_INPUT_LENGTH {int(np.prod(inp.shape))}\n"
              f"#define {prefix.upper()}_OUTPUT_LENGTH {int(np.prod(out.shape))}\n"
              f"#define {prefix.upper()}_ARENA_BYTES {arena}\n"
              + _profile_header(prefix, len(graph.operators)) +
              f"\n/* Runs the model: 0, or 1 + the index of the operator whose kernel refused its input. */\n"
              f"int32_t {prefix}_invoke(const {C_TYPES[inp.dtype]} *input, {C_TYPES[out.dtype]} *output);\n\n"
              f"#endif\n")
    source = "\n".join([
        "/* Generated by tfcompress from an int8 .tflite: do not edit. */",
        "#if defined(TFC_PROFILE) && !defined(TFC_PROFILE_USER_HEADER) && !defined(_POSIX_C_SOURCE)",
        "#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */",
        "#endif",
        "#include <stddef.h>", "#include <string.h>", "", '#include "tfc_kernels.h"', f'#include "{prefix}.h"', "",
        *_profile_source(prefix, [op.name for op in graph.operators]), "",
        f"static union {{\n    int32_t align;\n    unsigned char bytes[{max(arena, 1)}];\n}} {prefix}_arena_storage;",
        f"#define {prefix}_arena ({prefix}_arena_storage.bytes)", "",
        *e.declarations, "",
        f"int32_t {prefix}_invoke(const {C_TYPES[inp.dtype]} *input, {C_TYPES[out.dtype]} *output)", "{",
        f"    memcpy({e.tensor(graph.inputs[0])}, input, {_size(inp)});",
        *e.body,
        f"    memcpy(output, {e.tensor(graph.outputs[0])}, {_size(out)});",
        "    return 0;", "}", ""])
    return GeneratedModel(prefix, source, header, arena, inp, out)


def kernel_sources() -> list[Path]:
    return sorted((KERNELS_DIR / "src").glob("*.c"))


def build_host_library(model: bytes, cache_dir: str | Path | None = None, profile: bool = False) -> Path:
    """The generated C of `model` and the kernels compiled for this machine as a shared library,
    cached by content (model, kernels, generator and `profile`) under `cache_dir` (default
    $XDG_CACHE_HOME/tfcompress/c, else ~/.cache/tfcompress/c). `profile`: built with TFC_PROFILE,
    the default host profiler timing every operator (tfc_model_op_ns, tfc_model_op_calls)."""
    import hashlib
    import os
    import shutil
    import subprocess
    import tempfile

    from tfcompress.errors import TfcompressError

    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise TfcompressError("the C runtime needs a C compiler: install gcc (./setup.sh does) or set $CC")
    digest = hashlib.sha256(bytes(model))
    for path in [Path(__file__), KERNELS_DIR / "include" / "tfc_kernels.h", *kernel_sources()]:
        digest.update(path.read_bytes())
    if profile:
        digest.update(b"\0TFC_PROFILE")
    root = Path(cache_dir) if cache_dir else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
        "tfcompress" / "c"
    library = root / digest.hexdigest()[:24] / "libtfc_model.so"
    if library.is_file():
        return library
    generated = generate_c(model)
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as work:
        work = Path(work)
        (work / "tfc_model.c").write_text(generated.source)
        (work / "tfc_model.h").write_text(generated.header)
        result = subprocess.run([compiler, "-std=c99", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
                                 *(["-DTFC_PROFILE"] if profile else []),
                                 "-I", str(KERNELS_DIR / "include"), "-I", str(work), str(work / "tfc_model.c"),
                                 *map(str, kernel_sources()), "-o", str(work / library.name)],
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise TfcompressError(f"compiling the generated C failed ({compiler}):\n{result.stderr.strip()[-2000:]}")
        os.replace(work / library.name, library)
    return library


class CModel:
    """The generated C of an int8 model, compiled for the host and called through ctypes.

    `profile`: the library built with TFC_PROFILE, whose operators time themselves (`op_times`).
    Instances of the same model and build share one loaded library: its arena and its counters."""

    def __init__(self, model: bytes, cache_dir: str | Path | None = None, profile: bool = False):
        import ctypes

        graph = read_graph(bytes(model))
        self.input_spec, self.output_spec = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
        self.profile = profile
        self._lib = ctypes.CDLL(str(build_host_library(model, cache_dir, profile)))
        self._invoke = self._lib.tfc_model_invoke
        self._invoke.restype = ctypes.c_int32
        self._invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        if profile:
            count = len(graph.operators)
            self._ns = (ctypes.c_uint64 * count).in_dll(self._lib, "tfc_model_op_ns")
            self._calls = (ctypes.c_uint64 * count).in_dll(self._lib, "tfc_model_op_calls")
            names = (ctypes.c_char_p * count).in_dll(self._lib, "tfc_model_operator_names")
            self.operator_names = [name.decode() for name in names]
            self._reset = self._lib.tfc_model_profile_reset
            self._reset.restype, self._reset.argtypes = None, []

    def invoke(self, example: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(example, dtype=self.input_spec.dtype).reshape(self.input_spec.shape)
        out = np.zeros(self.output_spec.shape, self.output_spec.dtype)
        status = self._invoke(x.ctypes.data, out.ctypes.data)
        if status != 0:
            from tfcompress.errors import TfcompressError

            raise TfcompressError(f"the generated C refused the input at operator {status - 1}")
        return out

    def _profiled(self) -> None:
        if not self.profile:
            raise ValueError("this CModel was built without profiling: CModel(model, profile=True)")

    def op_times(self) -> list[tuple[int, str, int, int]]:
        """(operator index, op name, calls, total nanoseconds) of every operator since the library was
        loaded or `reset_profile`; a call that refused its input counts, up to the refusal."""
        self._profiled()
        return [(k, name, int(self._calls[k]), int(self._ns[k])) for k, name in enumerate(self.operator_names)]

    def reset_profile(self) -> None:
        self._profiled()
        self._reset()
