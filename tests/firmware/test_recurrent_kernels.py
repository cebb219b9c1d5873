"""The recurrent C kernels (firmware/kernels/src/recurrent_s8.c, structured_gather_s8.c, fixed_point.c)
against tfcompress/reference/recurrent_ops.py bit for bit, built with AddressSanitizer and UBSan by
test_kernels.py's driver fixture: gemmlowp's sigmoid and tanh over every int16 input, TFC_LSTM and
TFC_GRU with every structure of W and U on random shapes and edge cases, TFC_{LMF,HMF,KP,DKP}_GATHER,
and the refusals (ids outside the vocabulary, inconsistent dimensions, damaged S, bad shifts)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.firmware.test_kernels import (_int8, _multiplier_words, _one_multiplier, _positive, _sparse_factor,
                                         _structured_prepared, driver, run_cases, spec)
from tfcompress.reference import fixedpoint
from tfcompress.reference.custom_options import GRU, LSTM, RECURRENT_KINDS, STRUCTURED_GATHER
from tfcompress.reference.recurrent_ops import sigmoid_q15, tanh_q15

__all__ = ["driver"]  # the ASan + UBSan build, shared with test_kernels.py
KINDS = RECURRENT_KINDS  # dense, lmf, hmf, kp, dkp
GATES = {LSTM: 4, GRU: 3}


def _check(driver, cases):
    for (status, out), ((op, *_), expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0, op
        np.testing.assert_array_equal(out, expected.reshape(-1), err_msg=op)


# -- gemmlowp's sigmoid and tanh ------------------------------------------------------------------------

def _activation_case(function: int, bits: int, x: np.ndarray):
    x = np.asarray(x, np.int16)
    return ("SIGMOID_TANH", [function, bits, x.size], [x], 2 * x.size)


def test_sigmoid_and_tanh_equal_the_reference_on_every_int16_input(driver):
    every = np.arange(-32768, 32768, dtype=np.int64)
    answers = run_cases(driver, [_activation_case(0, 3, every), _activation_case(1, 3, every)])
    np.testing.assert_array_equal(answers[0][1].view(np.int16), sigmoid_q15(every))
    np.testing.assert_array_equal(answers[1][1].view(np.int16), tanh_q15(every))


def test_tanh_of_the_cell_state_equals_gemmlowp_for_every_integer_bits(driver):
    """The LSTM's tanh(c) with cell_bits 0 .. 15: edges and random inputs against the scalar gemmlowp."""
    rng = np.random.default_rng(40)
    edges = [-32768, -32767, -16384, -4097, -4096, -2, -1, 0, 1, 2, 4095, 4096, 16384, 32766, 32767]
    x = np.concatenate([edges, rng.integers(-32768, 32768, 1500)]).astype(np.int64)
    cases = [_activation_case(1, bits, x) for bits in range(16)]
    for bits, (status, out) in enumerate(run_cases(driver, cases)):
        expected = [min(max(fixedpoint.rdbpot(fixedpoint.tanh(int(v) << 16, bits), 16), -32768), 32767) for v in x]
        np.testing.assert_array_equal(out.view(np.int16), expected, err_msg=f"integer bits {bits}")


# -- products: the factors of a dense or structured W [rows, cols] ------------------------------------------

def _product(rng, kind, rows, cols, sample, *, rank=None, a=None, b=None, nnz=0, target=4.0, t_headroom=1.0,
             extreme=False):
    """A W for the recurrent ops: (int8 factors in PRODUCT_FACTORS order, float32 scales with t last,
    sparse (driver words, packed) or None, nnz). The output-side scales are set so that
    max |sample @ W| is `target` (the gates' real range); `a` = (a_out, a_in), `b` = (b_out, b_in)."""
    sample = np.asarray(sample, np.float64)
    out_side = []  # indices into scale_parts of the scales that set the product's magnitude
    sparse = None
    if kind == "dense":
        w = _int8(rng, (cols, rows), extreme)
        factors, scale_parts, out_side = [w], [_positive(rng, cols)], [0]
        stage1 = None

        def dense(s):
            return (w * s[0][:, None].astype(np.float64)).T
    elif kind in ("lmf", "hmf"):
        head = rank if kind == "hmf" else 0
        u, v = _int8(rng, (rank, rows - head), extreme), _int8(rng, (cols, rank), extreme)
        if kind == "hmf":
            h = _int8(rng, (cols, rank), extreme)
            factors, scale_parts, out_side = [h, u, v], [_positive(rng, cols), _positive(rng, 1),
                                                         _positive(rng, cols)], [0, 2]

            def dense(s):
                return np.vstack([(h * s[0][:, None].astype(np.float64)).T,
                                  (u.T * float(s[1][0])) @ (v.T * s[2].astype(np.float64))])
            stage1 = sample[:, head:] @ (u.T * float(scale_parts[1][0]))
        else:
            factors, scale_parts, out_side = [u, v], [_positive(rng, 1), _positive(rng, cols)], [1]

            def dense(s):
                return (u.T * float(s[0][0])) @ (v.T * s[1].astype(np.float64))
            stage1 = sample @ (u.T * float(scale_parts[0][0]))
    else:
        (a_out, a_in), (b_out, b_in) = a, b
        fa, fb = _int8(rng, (a_out, a_in), extreme), _int8(rng, (b_out, b_in), extreme)
        factors, scale_parts, out_side = [fa, fb], [_positive(rng, a_out, 0.01, 0.05), _positive(rng, b_out, 0.01,
                                                                                                     0.05)], [0]
        s_dense = np.zeros((rows, cols))
        if kind == "dkp":
            words, packed, s_dense = _sparse_factor(rng, rows, cols, nnz)
            sparse = (words, packed) if nnz else (words, None)
            scale_parts.append(_positive(rng, 1))
            out_side.append(2)

        def dense(s):
            kron = np.kron((fa * s[0][:, None].astype(np.float64)).T, (fb * s[1][:, None].astype(np.float64)).T)
            return kron[:rows, :cols] + (s_dense * float(s[2][0]) if kind == "dkp" else 0)
        padded = np.zeros((len(sample), a_in * b_in))
        padded[:, :rows] = sample
        stage1 = padded.reshape(-1, a_in, b_in) @ (fb.T * scale_parts[1].astype(np.float64))
    peak = float(np.max(np.abs(sample @ dense(scale_parts))))
    gain = target / peak if peak > 0 else 1.0
    for k in out_side:
        scale_parts[k] = (scale_parts[k] * gain).astype(np.float32)
    if stage1 is not None:
        top = float(np.max(np.abs(stage1)))
        scale_parts.append(np.asarray([top / 32767 * t_headroom if top > 0 else 1.0], np.float32))
    return factors, np.concatenate(scale_parts).astype(np.float32), sparse, nnz


def _matrix_words(product: dict, sparse) -> list[int]:
    """The driver's words of one matrix (kernel_driver.c take_matrix) from the reference's prepared product."""
    kind = product["kind"]
    rank = product["u"].shape[0] if kind in ("lmf", "hmf") else 0
    (a_out, a_in), (b_out, b_in) = (product["a"].shape, product["b"].shape) if kind in ("kp", "dkp") else ((0, 0),
                                                                                                          (0, 0))
    words = [KINDS.index(kind), product["rows"], product["cols"], rank, a_out, a_in, b_out, b_in]
    if kind == "dkp":
        words += [*sparse[0], *_one_multiplier(product["parts"][1])]
    stage1, parts = product["stage1"], product["parts"]
    words += [len(stage1), *_multiplier_words(stage1), len(parts[0]), *_multiplier_words(parts[0])]
    words += [len(parts[1]), *_multiplier_words(parts[1])] if kind == "hmf" else [0]
    return words


def _shape(rng, kind, rows, cols):
    """Random structure parameters of a rows x cols W (padded Kronecker factors now and then)."""
    if kind == "dense":
        return {}
    if kind in ("lmf", "hmf"):
        return {"rank": int(rng.integers(1, rows if kind == "hmf" else min(rows, 12) + 1))}
    a_in, a_out = int(rng.integers(1, rows + 1)), int(rng.integers(1, min(cols, 12) + 1))
    shape = {"a": (a_out, a_in), "b": (-(-cols // a_out) + int(rng.integers(0, 2)),
                                       -(-rows // a_in) + int(rng.integers(0, 2)))}
    if kind == "dkp":
        shape["nnz"] = int(rng.integers(0, rows * cols // 3 + 1))
    return shape


def recurrent_case(rng, cell, steps, depth, units, w_kind, u_kind, *, w_shape=None, u_shape=None, x_zero=0,
                   x=None, padding=None, w_range=4.0, u_range=3.0, bias_range=1.0, cell_bits=None, s_h=None,
                   t_headroom=1.0, extreme=False, bias=True):
    """A TFC_LSTM / TFC_GRU case: the driver's words and buffers, and the reference's last hidden state.
    `w_range` / `u_range`: the peak real |x W| and |h U| (past 8 the gates saturate int16)."""
    cols = GATES[cell] * units
    w_shape = _shape(rng, w_kind, depth, cols) if w_shape is None else w_shape
    u_shape = _shape(rng, u_kind, units, cols) if u_shape is None else u_shape
    s_x = float(np.float32(rng.uniform(0.005, 0.1)))
    s_h = float(np.float32(rng.uniform(0.004, 0.012) if s_h is None else s_h))
    if x is None:
        x = rng.integers(-128, 128, (steps, depth), dtype=np.int8)
        pad = int(rng.integers(0, steps)) if padding is None else padding
        x[:pad] = x_zero  # left padding: the lookup's zero rows
    x_sample = np.vstack([(x.astype(np.float64) - x_zero) * s_x,
                          (rng.integers(-128, 128, (32, depth)) - x_zero) * s_x])
    h_sample = rng.integers(-127, 128, (48, units)) * s_h
    w_f, w_s, w_sparse, w_nnz = _product(rng, w_kind, depth, cols, x_sample, target=w_range, t_headroom=t_headroom,
                                         extreme=extreme, **w_shape)
    u_f, u_s, u_sparse, u_nnz = _product(rng, u_kind, units, cols, h_sample, target=u_range, t_headroom=t_headroom,
                                         extreme=extreme, **u_shape)
    biases = [np.round(rng.uniform(-bias_range, bias_range, cols) * 4096).astype(np.int32) if bias else None
              for _ in range(1 if cell == LSTM else 2)]
    scales = np.concatenate([w_s, u_s]).astype(np.float32)
    tensors = [spec(0, (1, steps, depth), scale=s_x, zero=x_zero)]
    for f in (*w_f, *u_f):
        tensors.append(spec(len(tensors), f.shape, data=f))
    for b in biases:
        tensors.append(None if b is None else spec(len(tensors), b.shape, np.int32, data=b))
    tensors.append(spec(len(tensors), scales.shape, np.float32, data=scales))
    for sparse in (w_sparse, u_sparse):
        packed = None if sparse is None else sparse[1]
        tensors.append(None if packed is None else spec(len(tensors) + 1, packed.shape, np.uint8, data=packed))
    out = spec(40, (1, units), scale=s_h, zero=0)
    if cell_bits is None:
        cell_bits = int(rng.choice([0, 1, 2, 3]))
    options = {"units": units, "input_structure": KINDS.index(w_kind), "recurrent_structure": KINDS.index(u_kind),
               "input_nnz": w_nnz, "recurrent_nnz": u_nnz, "return_sequences": 0,
               **({"cell_bits": cell_bits} if cell == LSTM else {})}
    impl, p = _structured_prepared(cell, tensors, [out], **options)
    expected = impl.eval(p, [x[None]])
    words = [steps, depth, units, -x_zero, cell_bits if cell == LSTM else 0, *p["hidden"],
             *_matrix_words(p["W"], w_sparse), *_matrix_words(p["U"], u_sparse)]
    buffers = [x, *w_f, *([w_sparse[1]] if w_kind == "dkp" else []), *u_f, *([u_sparse[1]] if u_kind == "dkp" else []),
               *biases]
    return (cell, words, buffers, units), expected


def _random_recurrent(rng, cell, w_kind, u_kind):
    steps, depth = int(rng.integers(1, 24)), int(rng.integers(2, 40))
    units = int(rng.integers(2 if u_kind == "hmf" else 1, 20))  # HMF keeps an input for its low-rank part
    return recurrent_case(rng, cell, steps, depth, units, w_kind, u_kind, x_zero=int(rng.integers(-128, 128)),
                          w_range=float(rng.choice([2.0, 6.0, 12.0])), u_range=float(rng.choice([1.0, 4.0, 10.0])),
                          t_headroom=float(rng.choice([1.0, 1.0, 0.3])), bias=bool(rng.random() < 0.8))


@pytest.mark.parametrize("cell", [LSTM, GRU])
def test_recurrent_cells_equal_the_reference_for_every_structure_of_w_and_u(driver, cell):
    rng = np.random.default_rng(41 if cell == LSTM else 42)
    cases = [_random_recurrent(rng, cell, w_kind, u_kind) for w_kind in KINDS for u_kind in KINDS for _ in range(2)]
    _check(driver, cases)


def _kp(rows, cols, a_out, a_in, pad_out=0, pad_in=0, **sparse):
    """Kronecker factors covering rows x cols, b padded by pad_out / pad_in past the smallest."""
    return {"a": (a_out, a_in), "b": (-(-cols // a_out) + pad_out, -(-rows // a_in) + pad_in), **sparse}


def _recurrent_edge_cases(rng, cell):
    g = GATES[cell]
    return [
        # the smallest: one step, one unit, two inputs; rank 1
        recurrent_case(rng, cell, 1, 2, 1, "lmf", "lmf", w_shape={"rank": 1}, u_shape={"rank": 1}, x_zero=-128),
        recurrent_case(rng, cell, 3, 2, 1, "hmf", "kp", w_shape={"rank": 1}, u_shape=_kp(1, g, g, 1), x_zero=127),
        # saturating gates: pre-activations far past int16's [-8, 8), biases too
        recurrent_case(rng, cell, 10, 12, 6, "dense", "dense", w_range=400.0, u_range=300.0, bias_range=7.9,
                       s_h=1 / 127),
        recurrent_case(rng, cell, 10, 12, 6, "kp", "dkp", w_shape=_kp(12, g * 6, 6, 3),
                       u_shape=_kp(6, g * 6, 6, 2, nnz=40), w_range=300.0, u_range=300.0),
        # cell state saturation: a cell of 0 integer bits, the input and forget gates open
        recurrent_case(rng, cell, 30, 8, 4, "dense", "lmf", u_shape={"rank": 2}, w_range=8.0, u_range=1.0,
                       bias_range=6.0, cell_bits=0),
        recurrent_case(rng, cell, 12, 8, 4, "hmf", "hmf", w_shape={"rank": 3}, u_shape={"rank": 2}, w_range=12.0,
                       bias_range=4.0, cell_bits=15),
        # all padding: every x at its zero point, only the biases drive the state
        recurrent_case(rng, cell, 16, 10, 5, "dkp", "kp", w_shape=_kp(10, g * 5, 4, 5, nnz=12),
                       u_shape=_kp(5, g * 5, 4, 3), x_zero=-7, padding=16),
        # a long window
        recurrent_case(rng, cell, 300, 16, 8, "lmf", "dense", w_shape={"rank": 4}, x_zero=3),
        # padded Kronecker factors on both sides (a_in b_in > rows, a_out b_out > cols)
        recurrent_case(rng, cell, 6, 7, 5, "kp", "dkp", w_shape=_kp(7, g * 5, 5, 3, 1, 1),
                       u_shape=_kp(5, g * 5, 3, 2, 2, 1, nnz=9)),
        # empty S on both sides (left out)
        recurrent_case(rng, cell, 5, 9, 4, "dkp", "dkp", w_shape=_kp(9, g * 4, 4, 3, nnz=0),
                       u_shape=_kp(4, g * 4, 2, 2, nnz=0)),
        # int16 first stages that saturate; extreme factors whose int32 parts wrap
        recurrent_case(rng, cell, 4, 30, 6, "lmf", "hmf", w_shape={"rank": 8}, u_shape={"rank": 3}, t_headroom=0.01),
        recurrent_case(rng, cell, 2, 700, 3, "lmf", "dense", w_shape={"rank": 650}, extreme=True, t_headroom=1e-3,
                       x_zero=-128, x=np.full((2, 700), 127, np.int8)),
        # no biases, an h scale so small that h saturates int8
        recurrent_case(rng, cell, 8, 6, 3, "dense", "kp", u_shape=_kp(3, g * 3, 3, 1), bias=False, s_h=1e-4),
    ]


@pytest.mark.parametrize("cell", [LSTM, GRU])
def test_recurrent_cells_equal_the_reference_on_edge_cases(driver, cell):
    rng = np.random.default_rng(43 if cell == LSTM else 44)
    cases = _recurrent_edge_cases(rng, cell)
    _check(driver, cases)
    saturated = np.abs(cases[2][1].astype(int))  # gates mostly at 0 or 1, g and n at +-1: h mostly near +-1
    assert np.mean(saturated >= 90) >= 0.5, saturated


def _with_words(case, changes: dict[int, int]):
    (op, words, buffers, size), _ = case
    words = list(words)
    for k, v in changes.items():
        words[k] = v
    return op, words, buffers, size


def test_recurrent_cells_refuse_inconsistent_dimensions_bad_shifts_and_damaged_s(driver):
    rng = np.random.default_rng(45)
    lstm = recurrent_case(rng, LSTM, 4, 6, 3, "dense", "dkp", u_shape={"a": (3, 1), "b": (4, 3), "nnz": 4})
    gru = recurrent_case(rng, GRU, 4, 6, 3, "kp", "hmf", w_shape={"a": (3, 2), "b": (3, 3)}, u_shape={"rank": 1})
    w_at = 7  # the first word of W's description
    bad = [
        _with_words(lstm, {2: 4}),  # units 4: U has 3 rows
        _with_words(lstm, {4: 16}),  # cell_bits past 15
        _with_words(lstm, {3: -128}),  # an input offset past int8's zero points
        _with_words(lstm, {6: 32}),  # the hidden multiplier shifts left by 32
        _with_words(lstm, {6: -32}),  # and right by 32
        _with_words(gru, {w_at + 5: 1}),  # a_in 1: a_in b_in = 3 < 6 inputs
        _with_words(gru, {w_at: 7}),  # no such structure
    ]
    (op, words, buffers, size), _ = lstm
    u_at = w_at + 8 + 1 + 1 + 2 * 12 + 1  # W dense: 8 words, stage1 (none), part1 (12 pairs), part2 (none)
    assert words[u_at:u_at + 3] == [KINDS.index("dkp"), 3, 12]
    col_past = list(words)
    col_past[u_at + 8:u_at + 15] = [3, 12, 1, 0, 1, 1, 0]  # S as COO with one entry, 1-byte indices
    buffers = list(buffers)
    buffers[4] = np.array([2, 12, 7], np.uint8)  # row 2, column 12 of 12, value 7
    bad.append((op, col_past, buffers, size))
    assert [status for status, _ in run_cases(driver, bad)] == [-1] * len(bad)


# -- TFC_{LMF,HMF,KP,DKP}_GATHER ---------------------------------------------------------------------------

def gather_case(rng, kind, vocab, depth, tokens, *, rank=None, a=None, b=None, nnz=0, out_zero=0, pad_id=0,
                out_headroom=1.0, extreme=False, ids=None):
    """A TFC_{kind}_GATHER case (the bags' words and buffers; `a` = (a_in, a_out), `b` = (b_in, b_out));
    expected None when an id is outside the vocabulary (the reference refuses it)."""
    name = STRUCTURED_GATHER[kind]
    sparse = None
    if kind in ("lmf", "hmf"):
        u_rows = vocab - rank if kind == "hmf" else vocab
        u, v = _int8(rng, (u_rows, rank), extreme), _int8(rng, (depth, rank), extreme)
        s_u, s_v = _positive(rng, 1), _positive(rng, depth)
        table = (u * float(s_u[0])) @ (v * s_v[:, None].astype(np.float64)).T
        factors, scale_parts = [u, v], [s_u, s_v]
        if kind == "hmf":
            h, s_h = _int8(rng, (rank, depth), extreme), _positive(rng, depth)
            factors, scale_parts = [h, u, v], [s_h, s_u, s_v]
            table = np.vstack([h * s_h.astype(np.float64), table])
    else:
        fa, fb = _int8(rng, a, extreme), _int8(rng, b, extreme)
        s_a, s_b = _positive(rng, a[1], 0.01, 0.05), _positive(rng, b[1], 0.01, 0.05)
        factors, scale_parts = [fa, fb], [s_a, s_b]
        table = np.kron(fa * s_a.astype(np.float64), fb * s_b.astype(np.float64))[:vocab, :depth]
        if kind == "dkp":
            words, packed, s_dense = _sparse_factor(rng, vocab, depth, nnz)
            s_s = _positive(rng, 1)
            scale_parts.append(s_s)
            sparse = (words, packed if nnz else None)
            table = table + s_dense * float(s_s[0])
    scales = np.concatenate(scale_parts).astype(np.float32)
    if ids is None:
        ids = rng.integers(0, vocab, tokens).astype(np.int32)
        ids[: int(rng.integers(0, tokens + 1))] = pad_id
    out_scale = max(float(np.max(np.abs(table))), 1e-3) / 127 * out_headroom
    ins = [spec(0, (1, tokens), np.int32), *[spec(1 + k, f.shape, data=f) for k, f in enumerate(factors)],
           spec(1 + len(factors), scales.shape, np.float32, data=scales)]
    if sparse is not None:
        ins.append(None if sparse[1] is None else spec(2 + len(factors), sparse[1].shape, np.uint8, data=sparse[1]))
    out = spec(10, (1, tokens, depth), scale=out_scale, zero=out_zero)
    options = {"pad_id": pad_id, "vocab": vocab, **({"nnz": nnz} if kind == "dkp" else {})}
    impl, p = _structured_prepared(name, ins, [out], **options)
    try:
        expected = impl.eval(p, [ids[None]])
    except IndexError:
        expected = None
    row = p["row"]
    words = [vocab, depth, tokens]
    if kind in ("lmf", "hmf"):
        words += [rank, out_zero, pad_id] + [w for part in row["parts"] for w in _multiplier_words(part)]
    else:
        words += [*a, *b, out_zero, pad_id]
        if kind == "dkp":
            words += [*sparse[0], *_one_multiplier(row["parts"][1])]
        words += _multiplier_words(row["parts"][0])
    buffers = [ids.astype(np.int32), *factors, *([sparse[1]] if sparse is not None else [])]
    return (name, words, buffers, tokens * depth), expected


def _gather_shape(rng, kind, vocab, depth):
    if kind in ("lmf", "hmf"):
        return {"rank": int(rng.integers(1, min(vocab, 24)))}
    a_in, a_out = int(rng.integers(1, 30)), int(rng.integers(1, depth + 1))
    shape = {"a": (a_in, a_out), "b": (-(-vocab // a_in) + int(rng.integers(0, 2)),
                                       -(-depth // a_out) + int(rng.integers(0, 2)))}
    if kind == "dkp":
        shape["nnz"] = int(rng.integers(0, vocab * depth // 4 + 1))
    return shape


def _gather_edge_cases(rng, kind):
    def shape(vocab, depth, rank=2, nnz=20):
        if kind in ("lmf", "hmf"):
            return {"rank": rank}
        return {"a": (2, 2), "b": (-(-vocab // 2), -(-depth // 2)), **({"nnz": nnz} if kind == "dkp" else {})}

    smallest = {"a": (1, 1), "b": (2, 1), **({"nnz": 1} if kind == "dkp" else {})} if kind in ("kp", "dkp") \
        else {"rank": 1}
    cases = [
        gather_case(rng, kind, 2, 1, 1, **smallest, out_zero=-128),  # smallest, rank 1
        gather_case(rng, kind, 50, 16, 20, **shape(50, 16), out_zero=127, ids=np.zeros(20, np.int32)),  # all padding
        gather_case(rng, kind, 50, 16, 20, **shape(50, 16), out_zero=5, out_headroom=0.05),  # rows saturate
        gather_case(rng, kind, 30, 7, 9, **({"a": (4, 3), "b": (9, 3), **({"nnz": 20} if kind == "dkp" else {})}
                                            if kind in ("kp", "dkp") else shape(30, 7))),  # padded factors
        gather_case(rng, kind, 3000, 64, 300, **shape(3000, 64, 64, 9000), extreme=True,
                    ids=rng.integers(1, 3000, 300).astype(np.int32)),  # a long window, the largest sums
    ]
    if kind == "dkp":
        cases.append(gather_case(rng, kind, 40, 8, 12, **shape(40, 8, nnz=0)))  # empty S, left out
        cases.append(gather_case(rng, kind, 400, 8, 30, **shape(400, 8, nnz=6)))  # mostly empty rows
    return cases


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_structured_gathers_equal_the_reference(driver, kind):
    rng = np.random.default_rng(50 + ["lmf", "hmf", "kp", "dkp"].index(kind))
    cases = []
    for _ in range(30):
        vocab, depth, tokens = int(rng.integers(2, 300)), int(rng.integers(1, 40)), int(rng.integers(1, 40))
        cases.append(gather_case(rng, kind, vocab, depth, tokens, **_gather_shape(rng, kind, vocab, depth),
                                 out_zero=int(rng.integers(-128, 128)), pad_id=int(rng.choice([0, 0, 1]))))
    _check(driver, cases + _gather_edge_cases(rng, kind))


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_structured_gathers_refuse_an_id_outside_the_vocabulary(driver, kind):
    rng = np.random.default_rng(55)
    cases = []
    shape = {"rank": 2} if kind in ("lmf", "hmf") else {"a": (2, 2), "b": (25, 3), **({"nnz": 20} if kind == "dkp"
                                                                                      else {})}
    for bad in (50, -1, 2**31 - 1, -(2**31)):
        case, expected = gather_case(rng, kind, 50, 6, 5, **shape, ids=np.array([0, 0, 3, bad, 2], np.int32))
        assert expected is None  # the reference refuses it too
        cases.append(case)
    assert [status for status, _ in run_cases(driver, cases)] == [-1] * len(cases)
