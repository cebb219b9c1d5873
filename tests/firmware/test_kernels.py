"""The C kernels (firmware/kernels) against the integer reference, bit for bit, on random shapes
and edge cases, built with AddressSanitizer and UBSan (every buffer allocated at its exact size)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tfcompress.reference.builtin_ops import BUILTIN_OPS
from tfcompress.reference.graph import Operator, TensorSpec

KERNELS = Path(__file__).resolve().parents[2] / "firmware" / "kernels"
OP_CODES = {"FULLY_CONNECTED": 1, "MEAN": 2, "ADD": 3, "SUB": 4, "MUL": 5, "LOOKUP": 6, "TFC_EMBEDDING_BAG": 7,
            "BINARY_S32": 8, "STRIDED_COPY": 9, "GATHER_ROWS": 10, "QUANTIZE_F32": 11, "CAST_S32_F32": 12,
            "TFC_SPARSE_GATHER": 13, "TFC_SPARSE_FULLY_CONNECTED": 14,
            "TFC_LMF_FULLY_CONNECTED": 15, "TFC_HMF_FULLY_CONNECTED": 16, "TFC_KP_FULLY_CONNECTED": 17,
            "TFC_DKP_FULLY_CONNECTED": 18, "TFC_LMF_EMBEDDING_BAG": 19, "TFC_HMF_EMBEDDING_BAG": 20,
            "TFC_KP_EMBEDDING_BAG": 21, "TFC_DKP_EMBEDDING_BAG": 22, "TFC_SPARSE_EMBEDDING_BAG": 23,
            "SIGMOID_TANH": 24, "TFC_LSTM": 25, "TFC_GRU": 26, "TFC_LMF_GATHER": 27, "TFC_HMF_GATHER": 28,
            "TFC_KP_GATHER": 29, "TFC_DKP_GATHER": 30}  # 24 on: tests/firmware/test_recurrent_kernels.py
RELU = 1


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler: ./setup.sh installs gcc")
    binary = tmp_path_factory.mktemp("kernels") / "kernel_driver"
    sources = sorted(str(p) for p in (KERNELS / "src").glob("*.c"))
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(KERNELS / "include"),
                    *sources, str(KERNELS / "tests" / "kernel_driver.c"), "-o", str(binary)],
                   check=True, capture_output=True, timeout=120)
    return binary


def encode_cases(cases) -> bytes:
    """The driver's input: per case (op, int32 params, buffers as arrays or None, output length), 0-terminated."""
    stream = bytearray()
    for op, params, buffers, out_length in cases:
        stream += struct.pack(f"<ii{len(params)}i", OP_CODES[op], len(params), *params)
        stream += struct.pack("<i", len(buffers))
        for buf in buffers:
            raw = b"" if buf is None else np.ascontiguousarray(buf).tobytes()
            stream += struct.pack("<i", len(raw)) + raw
        stream += struct.pack("<i", out_length)
    return bytes(stream + struct.pack("<i", 0))


def run_cases(driver: Path, cases) -> list[tuple[int, np.ndarray]]:
    """cases: (op, int32 params, buffers as arrays or None, output length); answers (status, int8 output)."""
    result = subprocess.run([str(driver)], input=encode_cases(cases), capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    answers, offset = [], 0
    for _, _, _, out_length in cases:
        status = struct.unpack_from("<i", result.stdout, offset)[0]
        out = np.frombuffer(result.stdout, np.int8, out_length, offset + 4)
        answers.append((status, out))
        offset += 4 + out_length
    return answers


def spec(index, shape, dtype=np.int8, scale=None, zero=0, data=None) -> TensorSpec:
    scales = np.atleast_1d(np.asarray([] if scale is None else scale, np.float32))
    zeros = np.zeros(len(scales), np.int64) + zero
    return TensorSpec(index, f"t{index}", tuple(shape), dtype, scales, zeros, 0, data)


def prepared(name, ins, outs, **options):
    op = Operator(0, name, tuple(t.index if t is not None else -1 for t in ins), tuple(t.index for t in outs), options)
    impl = BUILTIN_OPS[name]
    return impl, impl.prepare(op, list(ins), list(outs))


def _multiplier_words(pairs):
    return [v for q, s in pairs for v in (q, s)]


def fc_case(rng, batches, depth, channels, x_zero, out_zero, activation=0, bias=True, out_scale=None):
    w = rng.integers(-128, 128, (channels, depth), dtype=np.int8)
    b = rng.integers(-(1 << 16), 1 << 16, channels, dtype=np.int32) if bias else None
    x_scale, w_scales = rng.uniform(0.005, 0.1), rng.uniform(0.001, 0.02, channels)
    out_scale = out_scale or x_scale * float(w_scales.mean()) * np.sqrt(depth) * 40
    ins = [spec(0, (batches, depth), scale=x_scale, zero=x_zero),
           spec(1, (channels, depth), scale=w_scales, data=w),
           spec(2, (channels,), np.int32, scale=x_scale * w_scales, data=b) if bias else None]
    out = spec(3, (batches, channels), scale=out_scale, zero=out_zero)
    impl, p = prepared("FULLY_CONNECTED", ins if bias else ins[:2], [out], fusedActivationFunction=activation)
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    expected = impl.eval(p, [x, w, b])
    params = [batches, depth, channels, -x_zero, out_zero, *p["range"], *_multiplier_words(p["multipliers"])]
    return ("FULLY_CONNECTED", params, [x, w, b], expected.size), expected


def test_fully_connected_equals_the_reference(driver):
    rng = np.random.default_rng(0)
    cases = [fc_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 300)), int(rng.integers(1, 40)),
                     int(rng.integers(-128, 128)), int(rng.integers(-128, 128)), int(rng.choice([0, RELU])),
                     bool(rng.integers(0, 2))) for _ in range(60)]
    cases += [fc_case(rng, 1, 1, 1, -128, -128),  # smallest shapes, extreme zero points
              fc_case(rng, 1, 4096, 3, 127, 127),  # a long accumulation
              fc_case(rng, 2, 64, 8, 0, 0, out_scale=1e-5),  # saturates at both ends
              fc_case(rng, 1, 32, 8, -128, 5, activation=RELU)]
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


def mean_case(rng, outer, count, inner, x_zero, out_zero):
    x_scale = rng.uniform(0.01, 0.1)
    axis = spec(1, (), np.int32, data=np.array(1, np.int32))
    ins = [spec(0, (outer, count, inner), scale=x_scale, zero=x_zero), axis]
    out = spec(2, (outer, inner), scale=x_scale * rng.uniform(0.3, 3), zero=out_zero)
    impl, p = prepared("MEAN", ins, [out], keepDims=False)
    x = rng.integers(-128, 128, (outer, count, inner), dtype=np.int8)
    expected = impl.eval(p, [x, None])
    params = [outer, count, inner, x_zero, out_zero, p["q"], p["shift"]]
    return ("MEAN", params, [x], expected.size), expected


def test_mean_equals_the_reference(driver):
    rng = np.random.default_rng(1)
    cases = [mean_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 80)), int(rng.integers(1, 64)),
                       int(rng.integers(-128, 128)), int(rng.integers(-128, 128))) for _ in range(60)]
    cases += [mean_case(rng, 1, 1, 1, -128, 127), mean_case(rng, 1, 1000, 3, 127, -128)]
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


def _strides(shape, out_shape):
    contiguous = np.cumprod((list(shape[1:]) + [1])[::-1])[::-1]
    return [0 if d == 1 and o > 1 else int(s) for d, o, s in zip(shape, out_shape, contiguous)]


def elementwise_case(rng, name, out_shape, a_shape, b_shape, activation=0):
    zeros = [int(v) for v in rng.integers(-128, 128, 3)]
    scales = [float(v) for v in rng.uniform(0.01, 0.2, 3)]
    a_spec, b_spec = spec(0, a_shape, scale=scales[0], zero=zeros[0]), spec(1, b_shape, scale=scales[1], zero=zeros[1])
    out = spec(2, out_shape, scale=scales[2] * (4 if name == "MUL" else 1), zero=zeros[2])
    impl, p = prepared(name, [a_spec, b_spec], [out], fusedActivationFunction=activation)
    a = rng.integers(-128, 128, a_shape, dtype=np.int8)
    b = rng.integers(-128, 128, b_shape, dtype=np.int8)
    expected = impl.eval(p, [a, b])
    ones = [(0, 0)] * 2
    multipliers = [*p.get("input_multipliers", ones), p.get("output_multiplier", p.get("multiplier"))]
    params = [*out_shape, *_strides(a_shape, out_shape), *_strides(b_shape, out_shape), *p["offsets"],
              p["out_zero"], 0 if name == "MUL" else 20, *_multiplier_words(multipliers), *p["range"], 0]
    return (name, params, [a, b], expected.size), expected


@pytest.mark.parametrize("name", ["ADD", "SUB", "MUL"])
def test_elementwise_with_broadcasting_equals_the_reference(driver, name):
    rng = np.random.default_rng(2)
    cases = []
    for _ in range(40):
        out_shape = tuple(int(v) for v in rng.integers(1, 6, 4))
        a_shape, b_shape = (tuple(d if rng.random() < 0.6 else 1 for d in out_shape) for _ in range(2))
        b_shape = tuple(o if a == 1 and b == 1 else b for a, b, o in zip(a_shape, b_shape, out_shape))  # cover out
        cases.append(elementwise_case(rng, name, out_shape, a_shape, b_shape, int(rng.choice([0, RELU]))))
    cases.append(elementwise_case(rng, name, (1, 1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1)))
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


@pytest.mark.parametrize("name", ["LOGISTIC", "TANH"])
def test_lookup_equals_the_reference(driver, name):
    cases = []
    out_scale, out_zero = (1 / 256, -128) if name == "LOGISTIC" else (1 / 128, 0)
    for scale, zero in ((0.05, 0), (0.1, -128), (0.01, 127), (0.5, 3)):
        x_spec = spec(0, (1, 300), scale=scale, zero=zero)
        out = spec(1, (1, 300), scale=out_scale, zero=out_zero)
        impl, p = prepared(name, [x_spec], [out])
        x = np.arange(-128, 172, dtype=np.int64).astype(np.int8).reshape(1, 300)  # every value, some twice
        cases.append((("LOOKUP", [x.size], [p["table"], x], x.size), impl.eval(p, [x])))
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


def embedding_bag_case(rng, vocab, depth, tokens, table_zero, out_zero, ids=None):
    from tfcompress.reference.custom_ops import CUSTOM_OPS, EMBEDDING_BAG, encode_options

    table = rng.integers(-128, 128, (vocab, depth), dtype=np.int8)
    table[0] = table_zero  # the padding row holds the zero point
    scale = rng.uniform(0.01, 0.1)
    ins = [spec(0, (1, tokens), np.int32), spec(1, (vocab, depth), scale=scale, zero=table_zero, data=table)]
    out = spec(2, (1, depth), scale=scale * rng.uniform(0.2, 2), zero=out_zero)
    op = Operator(0, EMBEDDING_BAG, (0, 1), (2,), {}, True, encode_options(EMBEDDING_BAG, pad_id=0))
    p = CUSTOM_OPS[EMBEDDING_BAG].prepare(op, ins, [out])
    if ids is None:
        ids = rng.integers(0, vocab, tokens).astype(np.int32)
        ids[: int(rng.integers(0, tokens + 1))] = 0  # left padding, as the tokenizer writes
    expected = CUSTOM_OPS[EMBEDDING_BAG].eval(p, [ids[None], table])
    params = [vocab, depth, tokens, table_zero, out_zero, 0, p["q"], p["shift"]]
    return ("TFC_EMBEDDING_BAG", params, [ids.astype(np.int32), table], depth), expected


def test_embedding_bag_equals_the_reference(driver):
    rng = np.random.default_rng(5)
    cases = [embedding_bag_case(rng, int(rng.integers(2, 500)), int(rng.integers(1, 130)), int(rng.integers(1, 65)),
                                int(rng.integers(-128, 128)), int(rng.integers(-128, 128))) for _ in range(50)]
    cases += [embedding_bag_case(rng, 2, 1, 1, 0, 0),  # smallest
              embedding_bag_case(rng, 50, 16, 20, 3, -7, ids=np.zeros(20, np.int32)),  # all padding
              embedding_bag_case(rng, 50, 16, 20, -128, 127, ids=np.ones(20, np.int32)),  # every word OOV
              embedding_bag_case(rng, 8000, 256, 64, 127, -128)]  # largest
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


def test_bad_dimensions_are_refused_with_a_status(driver):
    case, _ = fc_case(np.random.default_rng(4), 1, 8, 2, 0, 0)
    op, params, buffers, _ = case
    params = [0, *params[1:]]  # no batches
    mean = ("MEAN", [1, 0, 4, 0, 0, 1 << 30, 0], [np.zeros(4, np.int8)], 4)
    (bag, bag_params, (ids, table), depth), _ = embedding_bag_case(np.random.default_rng(6), 10, 4, 5, 0, 0)
    outside = (bag, bag_params, [np.array([0, 0, 3, 10, 2], np.int32), table], depth)  # id 10 of a 10-row table
    statuses = [status for status, _ in run_cases(driver, [(op, params, buffers, 0), mean, outside])]
    assert statuses == [-1, -1, -1]


INT32_OPS = ("ADD", "SUB", "MUL", "DIV", "MINIMUM", "MAXIMUM")  # the order of tfc_int32_op


def test_int32_arithmetic_equals_the_reference(driver):
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(60):
        name = INT32_OPS[int(rng.integers(len(INT32_OPS)))]
        out_shape = tuple(int(v) for v in rng.integers(1, 5, 4))
        b_shape = tuple(d if rng.random() < 0.5 else 1 for d in out_shape)
        a = rng.integers(-(2**31), 2**31, out_shape, dtype=np.int64).astype(np.int32)
        b = rng.integers(-(2**31), 2**31, b_shape, dtype=np.int64).astype(np.int32)
        if name == "DIV":
            b[b == 0] = 7
            b[..., 0] = -1  # INT32_MIN / -1 and friends
            a.flat[0] = -(2**31)
        impl, p = prepared(name, [spec(0, out_shape, np.int32), spec(1, b_shape, np.int32)],
                           [spec(2, out_shape, np.int32)], fusedActivationFunction=0)
        expected = impl.eval(p, [a, b]) if name not in ("MINIMUM", "MAXIMUM") else \
            (np.minimum if name == "MINIMUM" else np.maximum)(a, b)
        if name == "DIV":  # C: INT32_MIN / -1 wraps to INT32_MIN, as the reference's int32 wrap
            expected = expected.astype(np.int32)
        params = [INT32_OPS.index(name), *out_shape, *_strides(out_shape, out_shape), *_strides(b_shape, out_shape)]
        cases.append((("BINARY_S32", params, [a, b], 4 * a.size), expected))
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out.view(np.int32), expected.reshape(-1))


def test_strided_copy_gather_quantize_and_cast(driver):
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, (2, 3, 4, 5), dtype=np.int8)
    perm = (2, 0, 3, 1)
    transposed = np.ascontiguousarray(np.transpose(x, perm))
    in_strides = [int(s) for s in np.array(x.strides)[list(perm)]]
    copy = ("STRIDED_COPY", [1, *transposed.shape, 0, *in_strides, 0, *transposed.strides, 0, 0, 1], [x],
            transposed.size)
    table = rng.integers(-128, 128, (7, 3), dtype=np.int8)
    ids = np.array([6, 0, 3, 3], np.int32)
    gather = ("GATHER_ROWS", [7, 3, 4], [table, ids], 12)
    values = np.array([0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, 1000.0, -1000.0, 3.14159], np.float32)
    scale = np.float32(0.25)
    quant_impl, quant_p = prepared("QUANTIZE", [spec(0, values.shape, np.float32)],
                                   [spec(1, values.shape, scale=scale, zero=3)])
    quantize = ("QUANTIZE_F32", [values.size, int(np.array(scale).view(np.int32)), 3], [values], values.size)
    ints = rng.integers(-(2**24), 2**24, 9).astype(np.int32)
    cast = ("CAST_S32_F32", [ints.size], [ints], 4 * ints.size)
    answers = run_cases(driver, [copy, gather, quantize, cast])
    assert [status for status, _ in answers] == [0, 0, 0, 0]
    np.testing.assert_array_equal(answers[0][1], transposed.reshape(-1))
    np.testing.assert_array_equal(answers[1][1], table[ids].reshape(-1))
    np.testing.assert_array_equal(answers[2][1], quant_impl.eval(quant_p, [values]))
    np.testing.assert_array_equal(answers[3][1].view(np.float32), ints.astype(np.float32))
    outside = ("GATHER_ROWS", [7, 3, 1], [table, np.array([7], np.int32)], 3)
    assert run_cases(driver, [outside])[0][0] == -1


def _sparse_words(matrix):
    from tfcompress.structures.sparse import index_bytes

    fmt = matrix.format
    row_bytes = index_bytes(matrix.rows) if fmt == "coo" else index_bytes(matrix.nonzeros + 1)
    return [matrix.rows, matrix.cols, matrix.nonzeros, 0 if fmt == "coo" else 1, row_bytes,
            index_bytes(matrix.cols), matrix.background]


def _random_sparse(rng, rows, cols, nnz, background=0):
    from tfcompress.structures.sparse import SparseMatrix

    dense = np.full((rows, cols), background, np.int8)
    values = rng.integers(-128, 128, nnz).astype(np.int8)
    values[values == background] = np.int8(background + 1 if background < 127 else 0)
    dense.flat[rng.choice(rows * cols, nnz, replace=False)] = values
    return SparseMatrix.from_dense(dense, background), dense


def test_sparse_gather_and_fully_connected_equal_the_reference(driver):
    from tfcompress.reference.custom_ops import CUSTOM_OPS, SPARSE_FULLY_CONNECTED, SPARSE_GATHER, encode_options

    rng = np.random.default_rng(9)
    cases, formats = [], set()
    for rows, cols, nnz in ((4000, 64, 900), (50, 30, 700), (1, 1, 1), (300, 20, 0), (64, 128, 300), (7, 300, 60)):
        background = int(rng.integers(-128, 128))
        matrix, dense = _random_sparse(rng, rows, cols, nnz, background)
        formats.add(matrix.format)
        ids = rng.integers(0, rows, 12).astype(np.int32)
        packed = np.frombuffer(matrix.encode(), np.uint8)
        op = Operator(0, SPARSE_GATHER, (0, 1), (2,), {}, True,
                      encode_options(SPARSE_GATHER, rows=rows, cols=cols, nnz=nnz, background=background))
        p = CUSTOM_OPS[SPARSE_GATHER].prepare(op, [spec(0, (1, 12), np.int32), spec(1, packed.shape, np.uint8,
                                                                                     data=packed)],
                                              [spec(2, (1, 12, cols), scale=0.1, zero=background)])
        expected = CUSTOM_OPS[SPARSE_GATHER].eval(p, [ids[None], packed])
        np.testing.assert_array_equal(expected[0], dense[ids])
        cases.append((("TFC_SPARSE_GATHER", [*_sparse_words(matrix), ids.size], [packed, ids], expected.size),
                      expected))

        weights, _ = _random_sparse(rng, rows, cols, nnz)
        packed_w = np.frombuffer(weights.encode(), np.uint8)
        batches, x_zero, out_zero = 2, int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        scales = rng.uniform(0.001, 0.02, cols).astype(np.float32)
        bias = rng.integers(-5000, 5000, cols).astype(np.int32)
        op = Operator(0, SPARSE_FULLY_CONNECTED, (0, 1, 2, 3), (4,), {}, True,
                      encode_options(SPARSE_FULLY_CONNECTED, rows=rows, cols=cols, nnz=nnz, fused_activation=0))
        ins = [spec(0, (batches, rows), scale=0.05, zero=x_zero), spec(1, packed_w.shape, np.uint8, data=packed_w),
               spec(2, (cols,), np.int32, data=bias), spec(3, (cols,), np.float32, data=scales)]
        p = CUSTOM_OPS[SPARSE_FULLY_CONNECTED].prepare(op, ins, [spec(4, (batches, cols), scale=0.3, zero=out_zero)])
        x = rng.integers(-128, 128, (batches, rows), dtype=np.int8)
        expected = CUSTOM_OPS[SPARSE_FULLY_CONNECTED].eval(p, [x, packed_w, bias, scales])
        params = [batches, rows, cols, -x_zero, out_zero, *p["range"], *_sparse_words(weights),
                  *_multiplier_words(p["multipliers"])]
        cases.append((("TFC_SPARSE_FULLY_CONNECTED", params, [x, packed_w, bias], expected.size), expected))
    assert formats == {"coo", "csr"}
    for (status, out), (_, expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0
        np.testing.assert_array_equal(out, expected.reshape(-1))


def test_damaged_sparse_data_is_refused_not_read_past(driver):
    """Row pointers past nnz and 4-byte columns past the matrix (negative as int32) return an error."""
    rows, cols = 1, 300
    bad_row_ptr = np.array([0, 200], np.uint8).tobytes() + np.array([5], np.uint16).tobytes() + b"\x07"
    csr = [rows, cols, 1, 1, 1, 2, 0]  # CSR, 1-byte row pointers, 2-byte columns
    gather = ("TFC_SPARSE_GATHER", [*csr, 1], [np.frombuffer(bad_row_ptr, np.uint8), np.zeros(1, np.int32)], cols)
    bad_col = np.array([0], np.uint8).tobytes() + np.array([0xFFFFFFFF], np.uint32).tobytes() + b"\x07"
    coo = [1, 4, 1, 0, 1, 4, 0]  # COO, 1-byte rows, 4-byte columns
    fc = ("TFC_SPARSE_FULLY_CONNECTED", [1, 1, 4, 0, 0, -128, 127, *coo, *[1 << 30, 0] * 4],
          [np.zeros(1, np.int8), np.frombuffer(bad_col, np.uint8), None], 4)
    assert [status for status, _ in run_cases(driver, [gather, fc])] == [-1, -1]


# -- the fused structured ops (tfcompress/reference/structured_ops.py) -------------------------------

def _int8(rng, shape, extreme=False):
    """Random int8 factor values; `extreme`: all -128 or 127, for the largest sums."""
    if extreme:
        return np.full(shape, rng.choice([-128, 127]), np.int8)
    return rng.integers(-128, 128, shape, dtype=np.int8)


def _positive(rng, n, lo=0.002, hi=0.02):
    return rng.uniform(lo, hi, n).astype(np.float32)


def _sparse_factor(rng, rows, cols, nnz):
    """(words for the driver, packed uint8, dense int8) of a random background-0 sparse matrix."""
    matrix, dense = _random_sparse(rng, rows, cols, nnz)
    return _sparse_words(matrix), np.frombuffer(matrix.encode(), np.uint8), dense


def _structured_prepared(name, ins, outs, **options):
    from tfcompress.reference.custom_ops import CUSTOM_OPS
    from tfcompress.reference.custom_options import encode_options

    op = Operator(0, name, tuple(t.index if t is not None else -1 for t in ins), tuple(t.index for t in outs), {},
                  True, encode_options(name, **options))
    impl = CUSTOM_OPS[name]
    return impl, impl.prepare(op, list(ins), list(outs))


def _one_multiplier(pairs):
    """A part whose scale is one for the tensor (S): the reference repeats it per channel."""
    assert len(set(pairs)) == 1
    return list(pairs[0])


def structured_fc_case(rng, kind, x_shape, cols, *, rank=None, a=None, b=None, nnz=0, x_zero=0, out_zero=0,
                       activation=0, bias=True, t_headroom=1.0, out_headroom=1.0, extreme=False, x=None):
    """A TFC_{kind}_FULLY_CONNECTED case: the driver's words and buffers, and the reference's output.
    `t_headroom` / `out_headroom` below 1 choose scales that saturate the int16 intermediate / the
    output; `a` = (a_out, a_in), `b` = (b_out, b_in) for KP and DKP."""
    from tfcompress.reference.custom_options import STRUCTURED_FULLY_CONNECTED

    name = STRUCTURED_FULLY_CONNECTED[kind]
    rows = x_shape[-1]
    s_x = float(rng.uniform(0.005, 0.1))
    if x is None:
        x = rng.integers(-128, 128, x_shape, dtype=np.int8)
    xo = x.reshape(-1, rows).astype(np.int64) - x_zero
    factors, scale_parts, sparse, dense_w = [], [], None, None
    if kind in ("lmf", "hmf"):
        head_rows = rank if kind == "hmf" else 0
        u, v = _int8(rng, (rank, rows - head_rows), extreme), _int8(rng, (cols, rank), extreme)
        s_u, s_v = _positive(rng, 1), _positive(rng, cols)
        stage1 = xo[:, head_rows:] @ u.T.astype(np.int64) * float(s_x * s_u[0])
        if kind == "hmf":
            h, s_h = _int8(rng, (cols, rank), extreme), _positive(rng, cols)
            factors, scale_parts = [h, u, v], [s_h, s_u, s_v]
        else:
            factors, scale_parts = [u, v], [s_u, s_v]
        low_rank = (u.T * s_u.astype(np.float64)) @ (v.T * s_v.astype(np.float64))
        dense_w = np.vstack([(h.T * s_h.astype(np.float64)), low_rank]) if kind == "hmf" else low_rank
    else:
        (a_out, a_in), (b_out, b_in) = a, b
        fa, fb = _int8(rng, (a_out, a_in), extreme), _int8(rng, (b_out, b_in), extreme)
        s_a, s_b = _positive(rng, a_out, 0.01, 0.05), _positive(rng, b_out, 0.01, 0.05)
        factors, scale_parts = [fa, fb], [s_a, s_b]
        padded = np.zeros((len(xo), a_in * b_in), np.int64)
        padded[:, :rows] = xo
        stage1 = (padded.reshape(-1, a_in, b_in) @ fb.T.astype(np.int64)) * (s_x * s_b.astype(np.float64))
        dense_w = np.kron((fa * s_a[:, None].astype(np.float64)).T,
                          (fb * s_b[:, None].astype(np.float64)).T)[:rows, :cols]
        if kind == "dkp":
            words, packed, s_dense = _sparse_factor(rng, rows, cols, nnz)
            s_s = _positive(rng, 1)
            scale_parts.append(s_s)
            sparse = (words, packed)
            dense_w = dense_w + s_dense * float(s_s[0])
    peak = float(np.max(np.abs(stage1))) if stage1.size else 0.0
    s_t = np.float32(peak / 32767 * t_headroom) if peak > 0 else np.float32(1.0)
    scales = np.concatenate([*scale_parts, [s_t]]).astype(np.float32)
    y = (xo * s_x) @ dense_w
    out_scale = max(float(np.max(np.abs(y))), 1e-3) / 120 * out_headroom
    out_shape = (*x_shape[:-1], cols)
    n_in = 1 + len(factors)
    bias_values = rng.integers(-(1 << 14), 1 << 14, cols).astype(np.int32) if bias else None
    ins = [spec(0, x_shape, scale=s_x, zero=x_zero),
           *[spec(1 + k, f.shape, data=f) for k, f in enumerate(factors)],
           spec(n_in, (cols,), np.int32, data=bias_values) if bias else None,
           spec(n_in + 1, scales.shape, np.float32, data=scales)]
    if sparse is not None:
        ins.append(spec(n_in + 2, sparse[1].shape, np.uint8, data=sparse[1]))
    out = spec(n_in + 3, out_shape, scale=out_scale, zero=out_zero)
    options = {"fused_activation": activation, **({"nnz": nnz} if kind == "dkp" else {})}
    impl, p = _structured_prepared(name, ins, [out], **options)
    expected = impl.eval(p, [x, *factors, bias_values, scales])
    batches = int(np.prod(x_shape[:-1], dtype=np.int64))
    params = [batches, rows, cols, -x_zero, out_zero, *p["range"]]
    if kind in ("lmf", "hmf"):
        params += [rank, *p["stage1"][0]] + [w for part in p["parts"] for w in _multiplier_words(part)]
        buffers = [x, *factors, bias_values]
    else:
        params += [*a, *b]
        if kind == "dkp":
            params += [*sparse[0], *_one_multiplier(p["parts"][1])]
        params += _multiplier_words(p["stage1"]) + _multiplier_words(p["parts"][0])
        buffers = [x, fa, fb, *([sparse[1]] if kind == "dkp" else []), bias_values]
    return (name, params, buffers, expected.size), expected


def _random_structured_fc(rng, kind):
    rows, cols = int(rng.integers(2, 120)), int(rng.integers(1, 70))
    x_shape = [(rows,), (int(rng.integers(1, 4)), rows), (2, int(rng.integers(1, 3)), rows)][int(rng.integers(3))]
    shape = {}
    if kind in ("lmf", "hmf"):
        shape["rank"] = int(rng.integers(1, rows if kind == "hmf" else 40))
    else:
        a_in = int(rng.integers(1, rows + 1))
        a_out = int(rng.integers(1, cols + 1))
        shape["a"] = (a_out, a_in)
        shape["b"] = (-(-cols // a_out) + int(rng.integers(0, 2)), -(-rows // a_in) + int(rng.integers(0, 2)))
        if kind == "dkp":
            shape["nnz"] = int(rng.integers(0, rows * cols // 3 + 1))
    return structured_fc_case(rng, kind, x_shape, cols, **shape, x_zero=int(rng.integers(-128, 128)),
                              out_zero=int(rng.integers(-128, 128)), activation=int(rng.choice([0, RELU])),
                              bias=bool(rng.integers(0, 2)), t_headroom=float(rng.choice([1.0, 0.5])))


def _fc_edge_cases(rng, kind):
    mf = kind in ("lmf", "hmf")

    def case(x_shape, cols, small, large, **kw):
        return structured_fc_case(rng, kind, x_shape, cols, **(small if mf else large), **kw)

    def kp_shape(rows, cols, **kw):
        return {"a": (2, 2), "b": (-(-cols // 2), -(-rows // 2)), **kw}

    nnz = {"nnz": 40} if kind == "dkp" else {}
    smallest = (1, 2) if kind == "hmf" else (1, 1)  # HMF keeps at least one input for the low-rank part
    cases = [
        case(smallest, 1, {"rank": 1}, {"a": (1, 1), "b": (1, 1), **({"nnz": 1} if kind == "dkp" else {})},
             x_zero=-128, out_zero=-128),
        case((2,), 3, {"rank": 1}, {"a": (1, 1), "b": (3, 2)}, x_zero=127, out_zero=127),  # rank 1 input
        case((3, 40), 24, {"rank": 5}, kp_shape(40, 24, **nnz), x_zero=-128, out_zero=127, activation=RELU),
        case((2, 30), 20, {"rank": 8}, kp_shape(30, 20, **nnz), t_headroom=0.02),  # int16 saturates
        case((2, 30), 20, {"rank": 8}, kp_shape(30, 20, **nnz), out_headroom=0.01),  # the output saturates
        case((1, 16), 9, {"rank": 3}, {"a": (4, 5), "b": (3, 4), **nnz}),  # padded Kronecker factors
        case((1, 64), 8, {"rank": 4}, kp_shape(64, 8, **nnz),
             x=np.full((1, 64), 0, np.int8), x_zero=0),  # x at its zero point: every sum 0
    ]
    if mf:  # a rank large enough that t (saturated) times v wraps the int32 sum
        cases.append(case((1, 700), 3, {"rank": 650}, {}, extreme=True, t_headroom=1e-3, x_zero=-128,
                          x=np.full((1, 700), 127, np.int8)))
    else:  # long first and second stages, extreme values; 600 saturated t times a wrap the int32 sum
        dkp = {"nnz": 3000} if kind == "dkp" else {}
        cases.append(case((1, 4096), 64, {}, {"a": (8, 64), "b": (8, 64), **dkp}, extreme=True, x_zero=-128,
                          t_headroom=0.5))
        cases.append(case((1, 1200), 8, {}, {"a": (2, 600), "b": (4, 2), **dkp}, extreme=True, x_zero=-128,
                          t_headroom=1e-3, x=np.full((1, 1200), 127, np.int8)))
    if kind == "dkp":
        cases.append(case((2, 30), 20, {}, kp_shape(30, 20, nnz=0)))  # an empty S
        cases.append(case((1, 50), 6, {}, kp_shape(50, 6, nnz=5)))  # mostly empty rows
    return cases


def _check(driver, cases):
    for (status, out), ((op, *_), expected) in zip(run_cases(driver, [c for c, _ in cases]), cases):
        assert status == 0, op
        np.testing.assert_array_equal(out, expected.reshape(-1), err_msg=op)


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_structured_fully_connected_equals_the_reference(driver, kind):
    rng = np.random.default_rng(10 + ["lmf", "hmf", "kp", "dkp"].index(kind))
    _check(driver, [_random_structured_fc(rng, kind) for _ in range(40)] + _fc_edge_cases(rng, kind))


def structured_bag_case(rng, kind, vocab, depth, tokens, *, rank=None, a=None, b=None, nnz=0, out_zero=0, pad_id=0,
                        out_headroom=1.0, extreme=False, ids=None):
    """A TFC_{kind}_EMBEDDING_BAG case; `a` = (a_in, a_out), `b` = (b_in, b_out) for KP and DKP."""
    from tfcompress.reference.custom_options import STRUCTURED_EMBEDDING_BAG

    name = STRUCTURED_EMBEDDING_BAG[kind]
    factors, scale_parts, sparse, table = [], [], None, np.zeros((vocab, depth))
    if kind in ("lmf", "hmf"):
        u_rows = vocab - rank if kind == "hmf" else vocab
        u, v = _int8(rng, (u_rows, rank), extreme), _int8(rng, (depth, rank), extreme)
        s_u, s_v = _positive(rng, 1), _positive(rng, depth)
        low_rank = (u * float(s_u[0])) @ (v * s_v[:, None].astype(np.float64)).T
        if kind == "hmf":
            h, s_h = _int8(rng, (rank, depth), extreme), _positive(rng, depth)
            factors, scale_parts = [h, u, v], [s_h, s_u, s_v]
            table = np.vstack([h * s_h.astype(np.float64), low_rank])
        else:
            factors, scale_parts, table = [u, v], [s_u, s_v], low_rank
    elif kind in ("kp", "dkp"):
        fa, fb = _int8(rng, a, extreme), _int8(rng, b, extreme)
        s_a, s_b = _positive(rng, a[1], 0.01, 0.05), _positive(rng, b[1], 0.01, 0.05)
        factors, scale_parts = [fa, fb], [s_a, s_b]
        table = np.kron(fa * s_a.astype(np.float64), fb * s_b.astype(np.float64))[:vocab, :depth]
    if kind in ("dkp", "sparse"):
        words, packed, s_dense = _sparse_factor(rng, vocab, depth, nnz)
        s_s = _positive(rng, 1)
        scale_parts.append(s_s)
        sparse = (words, packed)
        table = table + s_dense * float(s_s[0])
    scales = np.concatenate(scale_parts).astype(np.float32)
    if ids is None:
        ids = rng.integers(0, vocab, tokens).astype(np.int32)
        ids[: int(rng.integers(0, tokens + 1))] = pad_id  # left padding, as the tokenizer writes
    kept = ids[(ids != pad_id) & (ids >= 0) & (ids < vocab)]
    mean = table[kept].sum(axis=0) / tokens if len(kept) else np.zeros(depth)
    out_scale = max(float(np.max(np.abs(mean))), 1e-3) / 120 * out_headroom
    ins = [spec(0, (1, tokens), np.int32), *[spec(1 + k, f.shape, data=f) for k, f in enumerate(factors)],
           spec(1 + len(factors), scales.shape, np.float32, data=scales)]
    if sparse is not None:
        ins.append(spec(2 + len(factors), sparse[1].shape, np.uint8, data=sparse[1]))
    out = spec(10, (1, depth), scale=out_scale, zero=out_zero)
    options = {"pad_id": pad_id, "vocab": vocab, **({"nnz": nnz} if sparse is not None else {})}
    impl, p = _structured_prepared(name, ins, [out], **options)
    try:
        expected = impl.eval(p, [ids[None], *factors])
    except IndexError:
        expected = None  # an id outside the vocabulary: the kernel must refuse it
    params = [vocab, depth, tokens]
    if kind in ("lmf", "hmf"):
        params += [rank, out_zero, pad_id] + [w for part in p["parts"] for w in _multiplier_words(part)]
    elif kind in ("kp", "dkp"):
        params += [*a, *b, out_zero, pad_id]
        if kind == "dkp":
            params += [*sparse[0], *_one_multiplier(p["parts"][1])]
        params += _multiplier_words(p["parts"][0])
    else:
        params += [out_zero, pad_id, *_one_multiplier(p["parts"][0]), *sparse[0]]
    buffers = [ids.astype(np.int32), *factors, *([sparse[1]] if sparse is not None else [])]
    return (name, params, buffers, depth), expected


def _random_structured_bag(rng, kind):
    vocab, depth, tokens = int(rng.integers(2, 400)), int(rng.integers(1, 70)), int(rng.integers(1, 65))
    shape = {}
    if kind in ("lmf", "hmf"):
        shape["rank"] = int(rng.integers(1, min(vocab, 40)))
    elif kind in ("kp", "dkp"):
        a_in, a_out = int(rng.integers(1, 40)), int(rng.integers(1, depth + 1))
        shape["a"] = (a_in, a_out)
        shape["b"] = (-(-vocab // a_in) + int(rng.integers(0, 2)), -(-depth // a_out) + int(rng.integers(0, 2)))
    if kind in ("dkp", "sparse"):
        shape["nnz"] = int(rng.integers(0, vocab * depth // 4 + 1))
    return structured_bag_case(rng, kind, vocab, depth, tokens, **shape, out_zero=int(rng.integers(-128, 128)),
                               pad_id=int(rng.choice([0, 0, 1])))


def _bag_shape(kind, vocab, depth, rank=1, nnz=0):
    if kind in ("lmf", "hmf"):
        return {"rank": rank}
    shape = {"nnz": nnz} if kind in ("dkp", "sparse") else {}
    if kind in ("kp", "dkp"):
        shape.update(a=(2, 2), b=(-(-vocab // 2), -(-depth // 2)))
    return shape


def _bag_edge_cases(rng, kind):
    sparse = kind in ("dkp", "sparse")
    cases = [
        structured_bag_case(rng, kind, 2, 1, 1, **({"a": (1, 1), "b": (2, 1)} if kind in ("kp", "dkp") else
                                                  _bag_shape(kind, 2, 1, nnz=1)), out_zero=-128),  # smallest
        structured_bag_case(rng, kind, 50, 16, 20, **_bag_shape(kind, 50, 16, 4, nnz=60), out_zero=127,
                            ids=np.zeros(20, np.int32)),  # all padding
        structured_bag_case(rng, kind, 50, 16, 20, **_bag_shape(kind, 50, 16, 4, nnz=60), out_headroom=0.01),
        structured_bag_case(rng, kind, 30, 7, 5, **({"a": (4, 3), "b": (9, 3), **({"nnz": 20} if sparse else {})}
                                                   if kind in ("kp", "dkp") else _bag_shape(kind, 30, 7, 2, nnz=20))),
        structured_bag_case(rng, kind, 3000, 64, 4096, **_bag_shape(kind, 3000, 64, 64, nnz=9000), extreme=True,
                            ids=rng.integers(1, 3000, 4096).astype(np.int32)),  # a long window: LMF/HMF sums wrap
    ]
    if sparse:
        cases.append(structured_bag_case(rng, kind, 40, 8, 12, **_bag_shape(kind, 40, 8, nnz=0)))  # empty S
        cases.append(structured_bag_case(rng, kind, 400, 8, 30, **_bag_shape(kind, 400, 8, nnz=6)))  # empty rows
    return cases


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp", "sparse"])
def test_structured_embedding_bags_equal_the_reference(driver, kind):
    rng = np.random.default_rng(20 + ["lmf", "hmf", "kp", "dkp", "sparse"].index(kind))
    _check(driver, [_random_structured_bag(rng, kind) for _ in range(40)] + _bag_edge_cases(rng, kind))


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp", "sparse"])
def test_structured_embedding_bags_refuse_an_id_outside_the_vocabulary(driver, kind):
    rng = np.random.default_rng(30)
    cases = []
    for bad in (50, -1, 2**31 - 1):
        ids = np.array([0, 0, 3, bad, 2], np.int32)
        case, expected = structured_bag_case(rng, kind, 50, 6, 5, **_bag_shape(kind, 50, 6, 2, nnz=20), ids=ids)
        assert expected is None  # the reference refuses it too
        cases.append(case)
    assert [status for status, _ in run_cases(driver, cases)] == [-1, -1, -1]


def test_structured_ops_refuse_inconsistent_dimensions(driver):
    rng = np.random.default_rng(31)
    (name, params, buffers, size), _ = structured_fc_case(rng, "kp", (1, 12), 6, a=(2, 3), b=(3, 4))
    short_b = (name, [*params[:7], 2, 3, 3, 3, *params[11:]], buffers, size)  # a_in * b_in = 9 < 12 rows
    (name, params, buffers, size), _ = structured_fc_case(rng, "hmf", (1, 12), 6, rank=3)
    no_rest = (name, [*params[:7], 12, *params[8:]], buffers, size)  # the head takes every input
    (name, params, buffers, size), _ = structured_fc_case(rng, "dkp", (1, 12), 6, a=(2, 3), b=(3, 4), nnz=5)
    wrong_s = (name, [*params[:11], 11, *params[12:]], buffers, size)  # S [11][6] for 12 inputs
    (name, params, buffers, size), _ = structured_bag_case(rng, "kp", 20, 6, 4, a=(4, 2), b=(5, 3))
    short_a = (name, [*params[:3], 3, *params[4:]], buffers, size)  # a_in * b_in = 15 < vocab 20
    statuses = [status for status, _ in run_cases(driver, [short_b, no_rest, wrong_s, short_a])]
    assert statuses == [-1, -1, -1, -1]


def test_damaged_sparse_factors_of_the_structured_ops_are_refused(driver):
    """A column exactly one past the matrix, and CSR row pointers past nnz, in DKP's S and a sparse table."""
    rng = np.random.default_rng(32)
    col_past = np.array([2, 6, 7], np.uint8)  # COO: row 2, column 6 of 6, value 7
    (name, params, (x, a, b, _, bias), size), _ = structured_fc_case(rng, "dkp", (1, 6), 6, a=(2, 2), b=(3, 3),
                                                                      nnz=1)
    dkp = (name, [*params[:11], 6, 6, 1, 0, 1, 1, 0, *params[18:]], [x, a, b, col_past, bias],
           size)
    (name, params, _, size), _ = structured_bag_case(rng, "sparse", 6, 6, 3, nnz=1)
    bag = (name, [*params[:7], 6, 6, 1, 0, 1, 1, 0], [np.array([0, 0, 2], np.int32), col_past],
           size)
    row_past = np.array([0, 0, 0, 5, 5, 5, 5], np.uint8).tobytes() + b"\x01" + b"\x07"  # CSR: row 2 ends past nnz 1
    bag_csr = (name, [*params[:7], 6, 6, 1, 1, 1, 1, 0], [np.array([1, 2, 1], np.int32),
                                                          np.frombuffer(row_past, np.uint8)], size)
    assert [status for status, _ in run_cases(driver, [dkp, bag, bag_csr])] == [-1, -1, -1]
