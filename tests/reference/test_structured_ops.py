"""tfcompress.reference.structured_ops: each fused op computes its structure's x @ W (or the mean of
its rows) in integers, to within the rounding of its output, from factors laid out as docs/ops.md
says; bad models are refused at prepare, naming the operator and the field."""

import numpy as np
import pytest
from flatbuffers import flexbuffers

from converters.custom_model import symmetric
from tfcompress.reference.common import OpError
from tfcompress.reference.custom_options import STRUCTURED_EMBEDDING_BAG, STRUCTURED_FULLY_CONNECTED, encode_options
from tfcompress.reference.graph import Operator, TensorSpec
from tfcompress.reference.structured_ops import STRUCTURED_OPS
from tfcompress.structures.sparse import SparseMatrix


def spec(index, shape, dtype=np.int8, scale=None, zero=0, data=None):
    scales = np.asarray([] if scale is None else [scale], np.float32)
    return TensorSpec(index, f"t{index}", tuple(shape), dtype, scales, np.asarray([zero] * len(scales), np.int64),
                      0, data)


def factors(rng, kind, rows, cols):
    """Float factors of a kind and the dense W they stand for (Keras layout)."""
    r, (a_in, a_out), (b_in, b_out) = 3, (4, 3), (rows // 4 + 1, cols // 3 + 1)
    f = {}
    if kind == "lmf":
        f["u"], f["v"] = rng.normal(size=(rows, r)), rng.normal(size=(r, cols))
        w = f["u"] @ f["v"]
    elif kind == "hmf":
        f["h"], f["u"], f["v"] = rng.normal(size=(r, cols)), rng.normal(size=(rows - r, r)), rng.normal(size=(r, cols))
        w = np.vstack([f["h"], f["u"] @ f["v"]])
    elif kind in ("kp", "dkp"):
        f["a"], f["b"] = rng.normal(size=(a_in, a_out)), rng.normal(size=(b_in, b_out))
        w = np.kron(f["a"], f["b"])[:rows, :cols]
        if kind == "dkp":
            f["s"] = np.where(rng.random((rows, cols)) < 0.05, rng.normal(size=(rows, cols)), 0.0)
            w = w + f["s"]
    else:
        f["s"] = np.where(rng.random((rows, cols)) < 0.2, rng.normal(size=(rows, cols)), 0.0)
        w = f["s"]
    return f, w


def quantized(f, kind, lookup):
    """The op's factor tensors (constants) and scales vector, as converters.custom_model writes them."""
    layout = {  # factor -> (stored values, scale axis: None per tensor, 0 per row, 1 per column)
        ("lmf", False): [("u", lambda u: u.T, None), ("v", lambda v: v.T, 0)],
        ("hmf", False): [("h", lambda h: h.T, 0), ("u", lambda u: u.T, None), ("v", lambda v: v.T, 0)],
        ("kp", False): [("a", lambda a: a.T, 0), ("b", lambda b: b.T, 0)],
        ("lmf", True): [("u", lambda u: u, None), ("v", lambda v: v.T, 0)],
        ("hmf", True): [("h", lambda h: h, 1), ("u", lambda u: u, None), ("v", lambda v: v.T, 0)],
        ("kp", True): [("a", lambda a: a, 1), ("b", lambda b: b, 1)],
        ("sparse", True): [],
    }[("kp" if kind == "dkp" else kind, lookup)]
    tensors, scales, dequantized = [], [], {}
    for name, arrange, axis in layout:
        q, s = symmetric(arrange(f[name]), axis)
        tensors.append(q)
        scales.append(s)
        shaped = s if axis is None else np.expand_dims(s, 1 - axis)
        dequantized[name] = arrange(q * shaped.astype(np.float64))  # arrange is its own inverse
    sparse = None
    if "s" in f:
        q, s = symmetric(f["s"])
        sparse = SparseMatrix.from_dense(q)
        scales.append(s)
        dequantized["s"] = q * float(s[0])
    return tensors, scales, sparse, dequantized


def dequantized_w(kind, d, rows, cols):
    if kind == "lmf":
        return d["u"] @ d["v"]
    if kind == "hmf":
        return np.vstack([d["h"], d["u"] @ d["v"]])
    if kind == "sparse":
        return d["s"]
    w = np.kron(d["a"], d["b"])[:rows, :cols]
    return w + d["s"] if kind == "dkp" else w


def fc_op(rng, kind, rows=23, cols=17, activation=0):
    f, w = factors(rng, kind, rows, cols)
    tensors, scales, sparse, d = quantized(f, kind, lookup=False)
    x_float = rng.normal(size=(64, rows))
    w_q = dequantized_w(kind, d, rows, cols)
    bias = rng.normal(size=cols)
    s_x, z_x = 6 / 255, -3
    y = x_float @ w_q + bias
    s_o, z_o = (y.max() - y.min()) / 255, -128 - int(round(y.min() / ((y.max() - y.min()) / 255)))
    # the intermediate's calibrated scale
    if kind == "lmf":
        t = x_float @ d["u"]
    elif kind == "hmf":
        t = x_float[:, 3:] @ d["u"]
    else:
        a_in, b_in = d["a"].shape[0], d["b"].shape[0]
        padded = np.zeros((len(x_float), a_in * b_in))
        padded[:, :rows] = x_float
        t = padded.reshape(-1, a_in, b_in) @ d["b"]
    s_t = np.float32(np.abs(t).max() / 32767)
    first = {"lmf": lambda: s_t * scales[1].astype(np.float64), "hmf": lambda: np.float64(s_x) * scales[0],
             "kp": lambda: np.repeat(scales[0].astype(np.float64), d["b"].shape[1])[:cols] * s_t}
    q_bias = np.round(bias / first["kp" if kind == "dkp" else kind]()).astype(np.int32)
    ins = [spec(0, (1, rows), scale=s_x, zero=z_x)]
    ins += [spec(1 + k, q.shape, data=q) for k, q in enumerate(tensors)]
    ins.append(spec(len(ins), (cols,), np.int32, data=q_bias))
    all_scales = np.concatenate(scales + [np.asarray([s_t], np.float32)]).astype(np.float32)
    ins.append(spec(len(ins), all_scales.shape, np.float32, data=all_scales))
    extra = {}
    if kind == "dkp":
        packed = np.frombuffer(sparse.encode(), np.uint8)
        ins.append(spec(len(ins), packed.shape, np.uint8, data=packed))
        extra["nnz"] = sparse.nonzeros
    out = spec(len(ins), (1, cols), scale=s_o, zero=z_o)
    name = STRUCTURED_FULLY_CONNECTED[kind]
    op = Operator(0, name, tuple(range(len(ins))), (len(ins),), {}, True,
                  encode_options(name, fused_activation=activation, **extra))
    return op, ins, out, x_float, (w_q, bias)


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_fully_connected_computes_x_times_w_to_within_its_rounding(kind):
    rng = np.random.default_rng(1)
    op, ins, out, x_float, y = fc_op(rng, kind)
    impl = STRUCTURED_OPS[op.name]
    p = impl.prepare(op, ins, [out])
    s_x, z_x = float(ins[0].scale[0]), int(ins[0].zero_point[0])
    x = np.clip(np.round(x_float / s_x) + z_x, -128, 127).astype(np.int8)
    got = np.stack([impl.eval(p, [row[None]] + [t.data for t in ins[1:]])[0] for row in x])
    w_q, bias = y
    expected = ((x.astype(np.float64) - z_x) * s_x) @ w_q + bias
    dequantized = (got.astype(np.float64) - out.zero_point[0]) * out.scale[0]
    error = np.abs(dequantized - expected) / out.scale[0]
    assert error.max() < 2, error.max()  # the output's rounding, the int16 stage's and the bias's


def test_relu_clamps_at_the_zero_point():
    rng = np.random.default_rng(2)
    op, ins, out, x_float, _ = fc_op(rng, "kp", activation=1)
    p = STRUCTURED_OPS[op.name].prepare(op, ins, [out])
    assert p["range"] == (int(out.zero_point[0]), 127)


def bag_op(rng, kind, vocab=50, depth=9, tokens=12):
    f, w = factors(rng, kind, vocab, depth)
    tensors, scales, sparse, d = quantized(f, kind, lookup=True)
    w_q = dequantized_w(kind, d, vocab, depth)
    ins = [spec(0, (1, tokens), np.int32)] + [spec(1 + k, q.shape, data=q) for k, q in enumerate(tensors)]
    all_scales = np.concatenate(scales).astype(np.float32)
    ins.append(spec(len(ins), all_scales.shape, np.float32, data=all_scales))
    extra = {}
    if kind in ("dkp", "sparse"):
        packed = np.frombuffer(sparse.encode(), np.uint8)
        ins.append(spec(len(ins), packed.shape, np.uint8, data=packed))
        extra["nnz"] = sparse.nonzeros
    peak = np.abs(w_q).max()
    out = spec(len(ins), (1, depth), scale=2 * peak / 255, zero=0)
    name = STRUCTURED_EMBEDDING_BAG[kind]
    op = Operator(0, name, tuple(range(len(ins))), (len(ins),), {}, True,
                  encode_options(name, pad_id=0, vocab=vocab, **extra))
    return op, ins, out, w_q


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp", "sparse"])
def test_embedding_bag_averages_the_rows_without_forming_the_table(kind):
    rng = np.random.default_rng(3)
    op, ins, out, w_q = bag_op(rng, kind)
    impl = STRUCTURED_OPS[op.name]
    p = impl.prepare(op, ins, [out])
    for _ in range(20):
        ids = rng.integers(0, w_q.shape[0], (1, 12)).astype(np.int32)
        ids[0, : rng.integers(0, 12)] = 0  # left padding
        got = impl.eval(p, [ids] + [t.data for t in ins[1:]])[0]
        kept = ids[0][ids[0] != 0]
        expected = w_q[kept].sum(axis=0) / 12
        assert np.abs(got * out.scale[0] - expected).max() <= 1.01 * out.scale[0]  # two parts: two roundings
    all_padding = impl.eval(p, [np.zeros((1, 12), np.int32)] + [t.data for t in ins[1:]])
    np.testing.assert_array_equal(all_padding, np.zeros((1, 9), np.int8))
    with pytest.raises(IndexError):
        impl.eval(p, [np.full((1, 12), w_q.shape[0], np.int32)] + [t.data for t in ins[1:]])


def _refusal(op, ins, out, match):
    with pytest.raises(OpError, match=match):
        STRUCTURED_OPS[op.name].prepare(op, ins, [out])


def test_bad_models_are_refused_at_prepare_naming_operator_and_field():
    rng = np.random.default_rng(4)
    op, ins, out, *_ = fc_op(rng, "dkp")
    options = flexbuffers.Loads(op.custom_options)
    with_options = lambda **o: Operator(0, op.name, op.inputs, op.outputs, {}, True,  # noqa: E731
                                        bytes(flexbuffers.Dumps({**options, **o})))
    _refusal(with_options(version=2), ins, out, "operator 0: TFC_DKP_FULLY_CONNECTED: version 2 is not supported")
    _refusal(with_options(nnz="many"), ins, out, "field 'nnz' must be int")
    _refusal(with_options(nnz=10**9), ins, out, "'nnz' is 1000000000, outside")
    _refusal(Operator(0, op.name, op.inputs, op.outputs, {}, True, b"\x01\x02"), ins, out, "not a flexbuffer")
    short = ins[:4] + [spec(4, (3,), np.float32, data=np.ones(3, np.float32))] + ins[5:]
    _refusal(op, short, out, "scales input must be")
    negative = ins[:4] + [spec(4, ins[4].shape, np.float32, data=-ins[4].data)] + ins[5:]
    _refusal(op, negative, out, "finite positive")
    wrong_a = [ins[0], spec(1, (2, 2), data=np.ones((2, 2), np.int8))] + ins[2:]
    _refusal(op, wrong_a, out, "do not cover 23x17")
    _refusal(op, ins[:-1], out, "expects 6 inputs")
    damaged = ins[:5] + [spec(5, (3,), np.uint8, data=np.ones(3, np.uint8))]
    _refusal(op, damaged, out, "sparse factor s does not decode")
    bag, bag_ins, bag_out, _ = bag_op(rng, "lmf")
    _refusal(bag, [spec(0, (1, 12), np.int8)] + bag_ins[1:], bag_out, "ids. must be int32")
    _refusal(bag, bag_ins[:1] + [spec(1, (3, 3), data=np.ones((3, 3), np.int8))] + bag_ins[2:], bag_out,
             r"factor u must be \[50, r\]")
