"""The kernels' Cortex-M DSP path (firmware/kernels/src/dsp_common.h, TFC_USE_DSP=1: SMLAD on SXTB16-split
int8) against the portable path and the integer reference, bit for bit, on the core it is written for.

firmware/kernels/tests/dsp_driver.c (kernel_driver.c's case stream on bare metal) is cross-compiled for a
Cortex-M4F twice, TFC_USE_DSP=0 and =1, and both run the same cases in QEMU's mps2-an386: random shapes and
edge cases of every kernel with a DSP path (depths that are not a multiple of 4 and past the DSP loop's
chunk, 1 to 3 channels left over by its four-row loop, extreme zero points and offsets on both sides of
the DSP range, -128 and 127 everywhere, int32 sums that wrap, odd multipliers), the structured and
recurrent ops of test_kernels.py and test_recurrent_kernels.py. The DSP build also compares its
requantisation with tfc_requantize on edge and random arguments before the cases. Skipped where
arm-none-eabi-gcc (with newlib) or qemu-system-arm is missing."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.test_kernels import (
    RELU,
    _bag_edge_cases,
    _fc_edge_cases,
    _random_structured_bag,
    _random_structured_fc,
    embedding_bag_case,
    encode_cases,
    fc_case,
    mean_case,
)
from tests.firmware.test_recurrent_kernels import (
    _gather_edge_cases,
    _gather_shape,
    _random_recurrent,
    _recurrent_edge_cases,
    gather_case,
)
from tfcompress.reference import fixedpoint
from tfcompress.reference.custom_options import GRU, LSTM, RECURRENT_KINDS

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
KERNELS = FIRMWARE / "kernels"
CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
STREAM_BASE = 0x21000000  # PSRAM; dsp_driver.c reads the cases there
DSP_MAX_OFFSET = 32767 - 127  # dsp_common.h's TFC_DSP_MAX_OFFSET: past it the portable loop runs
FC_CHUNK = 256  # fully_connected_s8.c: inputs split at a time

# The board's memory as firmware/ports/cortex_m/linker.ld.in lays it out, plus newlib's init/fini arrays.
LINKER_SCRIPT = """
MEMORY
{
    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M
}
ENTRY(Reset_Handler)
SECTIONS
{
    .text :
    {
        KEEP(*(.vectors))
        *(.text .text.*)
        *(.rodata .rodata.*)
        . = ALIGN(4);
        PROVIDE_HIDDEN(__preinit_array_start = .);
        KEEP(*(.preinit_array))
        PROVIDE_HIDDEN(__preinit_array_end = .);
        PROVIDE_HIDDEN(__init_array_start = .);
        KEEP(*(SORT(.init_array.*)))
        KEEP(*(.init_array))
        PROVIDE_HIDDEN(__init_array_end = .);
        PROVIDE_HIDDEN(__fini_array_start = .);
        KEEP(*(SORT(.fini_array.*)))
        KEEP(*(.fini_array))
        PROVIDE_HIDDEN(__fini_array_end = .);
        . = ALIGN(4);
    } > FLASH
    .ARM.exidx : { *(.ARM.exidx* .gnu.linkonce.armexidx.*) } > FLASH
    .data : ALIGN(8)
    {
        __data_start = .;
        *(.data .data.*)
        . = ALIGN(4);
        __data_end = .;
    } > RAM AT > FLASH
    __data_load = LOADADDR(.data);
    .bss (NOLOAD) : ALIGN(8)
    {
        __bss_start = .;
        *(.bss .bss.* COMMON)
        . = ALIGN(8);
        __bss_end = .;
    } > RAM
    __stack_top = ORIGIN(RAM) + LENGTH(RAM);
}
"""


def _tools() -> tuple[str, str]:
    gcc, qemu = shutil.which("arm-none-eabi-gcc"), shutil.which("qemu-system-arm")
    if gcc is None or qemu is None:
        pytest.skip(f"needs arm-none-eabi-gcc and qemu-system-arm (found {gcc}, {qemu}): ./setup.sh installs them")
    return gcc, qemu


def _compile(gcc: str, out: Path, dsp: int, sources: list[str], extra=()) -> subprocess.CompletedProcess:
    return subprocess.run([gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", f"-DTFC_USE_DSP={dsp}",
                           *CPU_FLAGS, "-I", str(KERNELS / "include"), "-I", str(KERNELS / "src"),
                           "-I", str(KERNELS / "tests"), *extra, *sources, "-o", str(out)],
                          check=False, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    """{0: ELF of the portable build, 1: ELF of the DSP build} and the QEMU binary."""
    gcc, qemu = _tools()
    folder = tmp_path_factory.mktemp("dsp_kernels")
    (folder / "dsp.ld").write_text(LINKER_SCRIPT)
    sources = [*sorted(str(p) for p in (KERNELS / "src").glob("*.c")), str(KERNELS / "tests" / "dsp_driver.c")]
    link = ["-nostartfiles", "--specs=nano.specs", "-T", str(folder / "dsp.ld"), "-ffunction-sections",
            "-fdata-sections", "-Wl,--gc-sections"]
    elves = {}
    for dsp in (0, 1):
        elves[dsp] = folder / f"dsp_driver_{dsp}.elf"
        result = _compile(gcc, elves[dsp], dsp, sources, link)
        if result.returncode != 0 and "newlib" in result.stderr + result.stdout and dsp == 0:
            pytest.skip(f"arm-none-eabi-gcc cannot link with newlib: {result.stderr[-500:]}")
        assert result.returncode == 0, result.stderr
    return elves, qemu


def _stream(cases) -> bytes:
    """test_kernels.py's driver input behind its byte count (the board reads it from one buffer)."""
    stream = encode_cases(cases)
    return struct.pack("<I", len(stream)) + stream


def run_on_board(elf: Path, qemu: str, cases, tmp: Path) -> tuple[list[tuple[int, np.ndarray]], list[int]]:
    """Every case on the emulated Cortex-M4: (status, int8 output) per case, and the SysTick ticks
    (40 instructions each, -icount shift=0) each kernel call took."""
    stream, out = tmp / f"{elf.stem}.cases", tmp / f"{elf.stem}.out"
    stream.write_bytes(_stream(cases))
    out.unlink(missing_ok=True)
    result = subprocess.run([qemu, "-M", "mps2-an386", "-display", "none", "-monitor", "none", "-nodefaults",
                             "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
                             "-chardev", f"file,id=uart,path={out}", "-serial", "chardev:uart",
                             "-device", f"loader,file={stream},addr=0x{STREAM_BASE:08x},force-raw=on",
                             "-kernel", str(elf)], check=False, capture_output=True, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stdout.decode(errors="replace"),
                                    result.stderr.decode(errors="replace"))
    data = out.read_bytes()
    answers, offset = [], 0
    for _, _, _, out_length in cases:
        status = struct.unpack_from("<i", data, offset)[0]
        answers.append((status, np.frombuffer(data, np.int8, out_length, offset + 4).copy()))
        offset += 4 + out_length
    magic, count = struct.unpack_from("<II", data, offset)
    assert magic == 0x49434654 and count == len(cases), (hex(magic), count)
    ticks = list(struct.unpack_from(f"<{count}I", data, offset + 8))
    return answers, ticks


def _check_both(boards, tmp_path, cases):
    """Both builds answer every case alike, and as the reference where the case has one (not None)."""
    elves, qemu = boards
    portable, portable_ticks = run_on_board(elves[0], qemu, [c for c, _ in cases], tmp_path)
    dsp, dsp_ticks = run_on_board(elves[1], qemu, [c for c, _ in cases], tmp_path)
    for k, ((case, expected), (s0, out0), (s1, out1)) in enumerate(zip(cases, portable, dsp)):
        op = case[0]
        assert s0 == s1, (k, op, s0, s1)
        np.testing.assert_array_equal(out1, out0, err_msg=f"case {k} {op} {case[1][:12]}: DSP != portable")
        if expected is not None:
            assert s1 == 0, (k, op)
            np.testing.assert_array_equal(out1, np.asarray(expected).reshape(-1), err_msg=f"case {k} {op}")
    return portable_ticks, dsp_ticks


# -- FULLY_CONNECTED ------------------------------------------------------------------------------------

def _fc_reference(x, w, bias, input_offset, output_offset, lo, hi, multipliers) -> np.ndarray:
    """FULLY_CONNECTED in Python integers: the int32 sum wraps, then TFLM's double rounding."""
    out = np.zeros((x.shape[0], w.shape[0]), np.int8)
    sums = (x.astype(np.int64) + input_offset) @ w.T.astype(np.int64)
    for b in range(x.shape[0]):
        for c in range(w.shape[0]):
            acc = fixedpoint.wrap(int(sums[b, c]) + (int(bias[c]) if bias is not None else 0))
            q, shift = multipliers[c]
            y = fixedpoint.rdbpot(fixedpoint.srdhm(fixedpoint.wrap(acc << max(shift, 0)), q), max(-shift, 0))
            out[b, c] = min(max(y + output_offset, lo), hi)
    return out


def fc_raw_case(x, w, bias, input_offset, output_offset=0, activation=(-128, 127), multipliers=None, rng=None):
    """A FULLY_CONNECTED case from its integers (any offsets, biases and multipliers), with its reference."""
    channels = w.shape[0]
    if multipliers is None:
        multipliers = [(int(rng.integers(1 << 30, 1 << 31)), int(rng.integers(-20, 2))) for _ in range(channels)]
    params = [x.shape[0], x.shape[1], channels, input_offset, output_offset, *activation,
              *[v for m in multipliers for v in m]]
    expected = _fc_reference(x, w, bias, input_offset, output_offset, *activation, multipliers)
    return ("FULLY_CONNECTED", params, [x, w, bias], expected.size), expected


def _fc_dsp_cases(rng):
    def int8(shape):
        return rng.integers(-128, 128, shape, dtype=np.int8)

    def full(shape, v):
        return np.full(shape, v, np.int8)

    cases = []
    # every depth 1 .. 13 (tails of 0 .. 3 past the quads) with 1 .. 9 channels (groups of 4 and 1 .. 3 left)
    for depth in range(1, 14):
        for channels in (1, 2, 3, 4, 5, 6, 7, 9):
            cases.append(fc_raw_case(int8((1, depth)), int8((channels, depth)),
                                     rng.integers(-(1 << 20), 1 << 20, channels).astype(np.int32),
                                     int(rng.integers(-127, 129)), int(rng.integers(-128, 128)), rng=rng))
    # depths around the chunk of split inputs, odd and even, batches
    for depth in (FC_CHUNK - 1, FC_CHUNK, FC_CHUNK + 1, FC_CHUNK + 3, 2 * FC_CHUNK, 2 * FC_CHUNK + 5, 777):
        channels = int(rng.integers(1, 12))
        cases.append(fc_raw_case(int8((int(rng.integers(1, 3)), depth)), int8((channels, depth)), None,
                                 int(rng.integers(-127, 129)), rng=rng))
    # the extremes: -128 and 127 inputs and weights with the extreme offsets (x + offset from -255 to 255)
    for xv, wv, offset in ((-128, -128, -127), (-128, 127, -127), (127, -128, 128), (127, 127, 128),
                           (-128, -128, 128), (127, 127, -127)):
        cases.append(fc_raw_case(full((2, 67), xv), full((6, 67), wv), None, offset, rng=rng))
    # sums that wrap: long accumulations of extremes and biases at the ends of int32
    big = full((1, 70001), 127)
    cases.append(fc_raw_case(big, full((5, 70001), 127), np.array([2**31 - 1, -2**31, 0, 12345, -1], np.int32), 128,
                             multipliers=[((1 << 30) + 7, -3)] * 5))
    cases.append(fc_raw_case(full((1, 9), -128), full((4, 9), 127), np.array([-2**31] * 4, np.int32), -127, rng=rng))
    cases.append(fc_raw_case(full((1, 9), 127), full((4, 9), 127), np.array([2**31 - 1] * 4, np.int32), 128, rng=rng))
    # input offsets at and past the DSP path's range (the portable loop runs past it, same bits)
    for offset in (DSP_MAX_OFFSET, -DSP_MAX_OFFSET, DSP_MAX_OFFSET + 1, -DSP_MAX_OFFSET - 1, 40000, -40000, 0):
        x = int8((2, 23))
        x[:, ::3], x[:, 1::3] = -128, 127  # x + offset at the ends of int16 in every lane
        cases.append(fc_raw_case(x, int8((5, 23)), None, offset, multipliers=[((1 << 30) + 1, -20)] * 5))
    # multipliers of every shift, the activation clamp, odd multipliers TFLite never makes
    for shift in range(-31, 31, 3):
        cases.append(fc_raw_case(int8((1, 17)), int8((3, 17)), rng.integers(-2**31, 2**31, 3).astype(np.int32),
                                 int(rng.integers(-127, 129)), int(rng.integers(-128, 128)), (-20, 60),
                                 multipliers=[(int(rng.integers(1 << 30, 1 << 31)), shift)] * 3))
    for q in (-2**31, -1, 0, 1, 2**31 - 1):
        cases.append(fc_raw_case(full((1, 5), -128), full((2, 5), -128), np.array([-2**31, 2**31 - 1], np.int32),
                                 -127, multipliers=[(q, 1), (q, -1)], rng=rng))
    return cases


def test_fully_connected_dsp_equals_portable_and_reference(boards, tmp_path):
    rng = np.random.default_rng(100)
    cases = [fc_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 300)), int(rng.integers(1, 40)),
                     int(rng.integers(-128, 128)), int(rng.integers(-128, 128)), int(rng.choice([0, RELU])),
                     bool(rng.integers(0, 2))) for _ in range(40)]
    cases += [fc_case(rng, 1, 1, 1, -128, -128), fc_case(rng, 1, 4096, 3, 127, 127),
              fc_case(rng, 2, 64, 8, 0, 0, out_scale=1e-5), fc_case(rng, 1, 32, 8, -128, 5, activation=RELU)]
    cases += _fc_dsp_cases(rng)
    # the two dense layers of the pooled SNIPS classifier: instructions per MAC (the driver's own work
    # included) at most `ceiling` on the DSP path and `speedup` times fewer than on the portable one
    timed = [(fc_case(rng, 1, 64, 128, -3, 4, activation=RELU), 2.5, 3.0), (fc_case(rng, 1, 128, 7, -128, 9), 3.5, 2.0)]
    portable_ticks, dsp_ticks = _check_both(boards, tmp_path, cases + [c for c, _, _ in timed])
    for ((case, _), ceiling, speedup), t0, t1 in zip(timed, portable_ticks[-2:], dsp_ticks[-2:]):
        macs = case[1][1] * case[1][2]
        assert t1 * 40 / macs < ceiling and t1 * speedup < t0, (case[1][:3], t0 * 40 / macs, t1 * 40 / macs)


# -- the structured and recurrent products, the bags and MEAN ---------------------------------------------

def _huge_parts(rng, kind, case, output_offset=None):
    """The case with every output part's multiplier shifting left by 29 to 31: parts near +-2^31 whose sum
    leaves int32 (the portable loop adds them in int64), and any output offset. DSP against portable only."""
    (name, params, buffers, size), _ = case
    cols = params[2]
    first = {"lmf": 10, "hmf": 10}.get(kind)
    if first is None:  # KP, DKP: a, b, [S's 7 words and multiplier,] b_out stage-1 multipliers, then kron
        first = 11 + (9 if kind == "dkp" else 0) + 2 * params[9]
    params = list(params)
    for k in range(first, len(params), 2):
        params[k], params[k + 1] = 2**31 - 1, int(rng.integers(29, 32))
    if kind == "dkp":
        params[18], params[19] = 2**31 - 1, 31
    if output_offset is not None:
        params[4] = output_offset
    assert len(params) - first == 2 * cols * (2 if kind == "hmf" else 1)
    return (name, params, buffers, size), None


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_structured_fully_connected_dsp_equals_portable_and_reference(boards, tmp_path, kind):
    rng = np.random.default_rng(110 + ["lmf", "hmf", "kp", "dkp"].index(kind))
    cases = [_random_structured_fc(rng, kind) for _ in range(30)] + _fc_edge_cases(rng, kind)
    cases += [_huge_parts(rng, kind, case) for case in cases[:10]]
    cases += [_huge_parts(rng, kind, case, offset) for case in cases[:3]
              for offset in (2**30, -2**30, 2**30 + 1, -2**30 - 1, 2**31 - 1, -2**31)]
    _check_both(boards, tmp_path, cases)


def test_recurrent_cells_dsp_equal_portable_and_reference(boards, tmp_path):
    rng = np.random.default_rng(120)
    cases = [_random_recurrent(rng, cell, w_kind, u_kind)
             for cell in (LSTM, GRU) for w_kind in RECURRENT_KINDS for u_kind in RECURRENT_KINDS]
    cases += _recurrent_edge_cases(rng, LSTM) + _recurrent_edge_cases(rng, GRU)
    _check_both(boards, tmp_path, cases)


def _requantized_s8(acc: int, q: int, shift: int, zero: int) -> int:
    y = fixedpoint.rdbpot(fixedpoint.srdhm(fixedpoint.wrap(fixedpoint.wrap(acc) << max(shift, 0)), q), max(-shift, 0))
    return min(max(y + zero, -128), 127)


def mean_raw_case(x, x_zero, out_zero, q, shift):
    """MEAN over the middle axis of x [outer][count][inner] from its integers, with its reference."""
    outer, count, inner = x.shape
    sums = x.astype(np.int64).sum(axis=1) - x_zero * count
    expected = np.array([[_requantized_s8(int(v), q, shift, out_zero) for v in row] for row in sums], np.int8)
    return ("MEAN", [outer, count, inner, x_zero, out_zero, q, shift], [x], expected.size), expected


def bag_raw_case(table, ids, table_zero, out_zero, q, shift, pad_id=0):
    """TFC_EMBEDDING_BAG from its integers, with its reference."""
    kept = ids[ids != pad_id]
    sums = table[kept].astype(np.int64).sum(axis=0) - table_zero * len(kept)
    expected = np.array([_requantized_s8(int(v), q, shift, out_zero) for v in sums], np.int8)
    params = [table.shape[0], table.shape[1], len(ids), table_zero, out_zero, pad_id, q, shift]
    return ("TFC_EMBEDDING_BAG", params, [ids.astype(np.int32), table], table.shape[1]), expected


def _extreme_sum_cases(rng):
    """Sums past the DSP path's int16 lanes: 256 counts or tokens of -128 or 127 and more."""
    cases = []
    for count in (255, 256, 257, 513, 1000):
        for v in (-128, 127):
            x = np.full((2, count, 7), v, np.int8)
            x[1, ::5] = -v - 1
            cases.append(mean_raw_case(x, int(rng.integers(-128, 128)), int(rng.integers(-128, 128)),
                                       (1 << 30) + 12345, -10))
    for tokens in (255, 256, 257, 600):
        table = rng.integers(-128, 128, (40, 13), dtype=np.int8)
        table[3], table[4] = -128, 127
        for row in (3, 4):
            ids = np.full(tokens, row, np.int32)
            ids[:7] = 0
            cases.append(bag_raw_case(table, ids, int(rng.integers(-128, 128)), int(rng.integers(-128, 128)),
                                      (1 << 30) + 99, -13))
    table = np.full((4, 9), 127, np.int8)  # a long window whose sum, shifted left, wraps int32
    cases.append(bag_raw_case(table, np.full(20000, 1, np.int32), -128, 3, (1 << 30) + 5, 9))
    return cases


def test_bags_gathers_and_mean_dsp_equal_portable_and_reference(boards, tmp_path):
    rng = np.random.default_rng(130)
    cases = [mean_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 80)), int(rng.integers(1, 70)),
                       int(rng.integers(-128, 128)), int(rng.integers(-128, 128))) for _ in range(30)]
    cases += [mean_case(rng, 1, 1, 1, -128, 127), mean_case(rng, 1, 1000, 3, 127, -128),
              mean_case(rng, 2, 300, 5, -128, 0), mean_case(rng, 1, 20, 64, 5, -3), mean_case(rng, 3, 257, 9, 127, 1)]
    cases += _extreme_sum_cases(rng)
    cases += [embedding_bag_case(rng, int(rng.integers(2, 500)), int(rng.integers(1, 130)), int(rng.integers(1, 65)),
                                 int(rng.integers(-128, 128)), int(rng.integers(-128, 128))) for _ in range(20)]
    cases += [embedding_bag_case(rng, 2, 1, 1, 0, 0), embedding_bag_case(rng, 300, 67, 300, -128, 127),
              embedding_bag_case(rng, 50, 16, 20, -128, 127, ids=np.ones(20, np.int32))]
    for kind in ("lmf", "hmf", "kp", "dkp", "sparse"):
        cases += [_random_structured_bag(rng, kind) for _ in range(8)] + _bag_edge_cases(rng, kind)
    for kind in ("lmf", "hmf", "kp", "dkp"):
        for _ in range(4):
            vocab, depth, tokens = int(rng.integers(2, 300)), int(rng.integers(1, 50)), int(rng.integers(1, 30))
            cases.append(gather_case(rng, kind, vocab, depth, tokens, **_gather_shape(rng, kind, vocab, depth)))
        cases += _gather_edge_cases(rng, kind)
    _check_both(boards, tmp_path, cases)


def test_the_dsp_switch_needs_the_dsp_extension(tmp_path):
    """TFC_USE_DSP=1 for a core without the extension (Cortex-M3) is an #error, not a silent portable build."""
    gcc, _ = _tools()
    result = subprocess.run([gcc, "-std=c99", "-DTFC_USE_DSP=1", "-mcpu=cortex-m3", "-mthumb", "-fsyntax-only",
                             "-I", str(KERNELS / "include"), str(KERNELS / "src" / "fully_connected_s8.c")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "TFC_USE_DSP" in result.stderr, result.stderr
    result = subprocess.run([gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m3", "-mthumb",
                             "-fsyntax-only", "-I", str(KERNELS / "include"),
                             str(KERNELS / "src" / "fully_connected_s8.c")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr  # TFC_USE_DSP undefined: the portable path
