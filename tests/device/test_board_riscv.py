"""The firmware on an emulated RV32IMC core (QEMU's riscv32 virt machine cut to RV32IMC, the ISA of an
ESP32-C3): the same harness, kernels and generated C as on the Cortex-M boards, built with Debian's
riscv64-unknown-elf-gcc and picolibc. Its int8 outputs equal the desktop golden bit for bit, its
tokenizer equals the Python one, and its counts are instructions (minstret under -icount shift=0),
deterministic, and mostly spent in the layers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.device.test_board import TRICKY
from tests.helpers import board_tools_missing
from tfcompress.device.build import build_firmware
from tfcompress.device.elf import memory_use
from tfcompress.device.profiles import DEFAULT_DEVICE, load_profile
from tfcompress.device.runner import DeviceRunner
from tfcompress.errors import TfcompressError
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer

DEVICE = "qemu-riscv32-virt"
pytestmark = pytest.mark.skipif(board_tools_missing("riscv") is not None, reason=str(board_tools_missing("riscv")))


@pytest.fixture(scope="module")
def firmware(dkp_bundle, tmp_path_factory):
    return build_firmware(dkp_bundle, DEVICE, tmp_path_factory.mktemp("fw") / "riscv")


@pytest.fixture(scope="module")
def board(firmware):
    with DeviceRunner.start(firmware) as runner:
        yield runner


def test_device_outputs_equal_the_golden(board, firmware, dkp_bundle, tiny_dataset):
    texts = [*tiny_dataset.test.texts, *tiny_dataset.valid.texts]
    golden = HostRunner(firmware.tflite, WordTokenizer.load(dkp_bundle / "tokenizer.json"))
    device = board.run(texts)
    assert np.array_equal(device.scores, golden.run(texts).scores)
    assert board.counter_unit == "instructions"
    assert all(isinstance(c, int) and c > 0 for c in device.counts)
    for layers, count in zip(device.layers, device.counts):
        assert len(layers) == len(board.layer_names) and all(n > 0 for n in layers)
        # the layers are most of an inference; the rest is the input copy, the arena and the calls
        assert 0.8 * count <= sum(layers) <= count


def test_counts_are_deterministic(board):
    first, second = board.infer("turn on the kitchen lights"), board.infer("turn on the kitchen lights")
    assert first.count == second.count and first.layers == second.layers


def test_device_tokenizer_equals_python(board, dkp_bundle, tiny_dataset):
    tokenizer = WordTokenizer.load(dkp_bundle / "tokenizer.json")
    for text in [*tiny_dataset.test.texts, *TRICKY]:
        assert board.tokenize(text).tolist() == tokenizer.encode(text).tolist(), text


def test_banner_and_memory(board, firmware):
    b = board.banner
    assert (b.board, b.core, b.backend, b.counter, b.dsp) == (DEVICE, "rv32imc", "c", "instructions", 0)
    assert b.model == firmware.model_sha256
    assert b.flash == firmware.info["flash"] and b.ram == firmware.info["ram"]
    assert 0 < board.stats()["stack"] < load_profile(DEVICE).stack_bytes


def test_the_image_is_rv32imc_only(firmware):
    """What an ESP32-C3 runs: no atomics, no floating point (QEMU's core has them off too, so an
    instruction outside RV32IMC would trap and the board would answer ERR code=fault)."""
    from elftools.elf.elffile import ELFFile

    with firmware.elf.open("rb") as stream:
        elf = ELFFile(stream)
        assert elf["e_machine"] == "EM_RISCV" and elf.elfclass == 32
        attributes = elf.get_section_by_name(".riscv.attributes").data()
    arch = attributes[attributes.index(b"rv32"):].split(b"\0")[0].decode()  # rv32i2p1_m2p0_c2p0_zmmul1p0
    assert {re.sub(r"\d+p\d+$", "", part) for part in arch.split("_")} <= {"rv32i", "m", "c", "zmmul"}, arch


def test_firmware_for_another_port_is_refused(firmware, dkp_bundle, tmp_path):
    with pytest.raises(TfcompressError, match="an ELF for EM_RISCV, not for an Arm core"):
        memory_use(firmware.elf, load_profile(DEFAULT_DEVICE))
    with pytest.raises(TfcompressError, match="no DSP extension"):
        build_firmware(dkp_bundle, DEVICE, tmp_path / "out", dsp=True)
