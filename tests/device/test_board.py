"""The firmware on the emulated Cortex-M4 (QEMU mps2-an386): built from a converted compressed model
with the portable and the DSP kernels, its int8 outputs equal the desktop golden bit for bit, its
tokenizer equals the Python one, and the host side copes with a board that fits badly or dies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import board_tools_missing
from tfcompress.device.build import build_firmware
from tfcompress.device.elf import FitError, memory_use
from tfcompress.device.profiles import DEFAULT_DEVICE, load_profile
from tfcompress.device.runner import DeviceRunner
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer

pytestmark = pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing()))

TRICKY = ["", "   ", "?!", "Turn ON the Kitchen LIGHTS!!!", "what's the 5-minute forecast for oslo",
          "naïve café in zürich", "東京 weather", "play\tsome\njazz", "one two three four five six seven eight nine "
          "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone",
          "50% * $5 = %41", "lights" * 40]


@pytest.fixture(scope="module", params=["portable", "dsp"])
def firmware(request, dkp_bundle, tmp_path_factory):
    return build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path_factory.mktemp("fw") / request.param,
                          dsp=request.param == "dsp")


@pytest.fixture(scope="module")
def board(firmware):
    with DeviceRunner.start(firmware) as runner:
        yield runner


def test_device_outputs_equal_the_golden(board, firmware, dkp_bundle, tiny_dataset):
    texts = [*tiny_dataset.test.texts, *tiny_dataset.valid.texts]
    golden = HostRunner(firmware.tflite, WordTokenizer.load(dkp_bundle / "tokenizer.json"))
    assert golden.name == "reference"  # a model with TFC_ ops: the integer NumPy spec is the golden
    device = board.run(texts)
    assert np.array_equal(device.scores, golden.run(texts).scores)
    assert all(isinstance(c, int) and c > 0 for c in device.counts)
    assert board.counter_unit == "instructions"
    assert all(len(layers) == len(board.layer_names) for layers in device.layers)
    assert all(sum(layers) <= count for layers, count in zip(device.layers, device.counts))


def test_device_tokenizer_equals_python(board, dkp_bundle, tiny_dataset):
    tokenizer = WordTokenizer.load(dkp_bundle / "tokenizer.json")
    for text in [*tiny_dataset.test.texts, *TRICKY]:
        assert board.tokenize(text).tolist() == tokenizer.encode(text).tolist(), text


def test_banner_and_memory(board, firmware):
    b = board.banner
    assert (b.board, b.core, b.backend, b.counter) == (DEFAULT_DEVICE, "cortex-m4", "c", "instructions")
    assert b.model == firmware.model_sha256 and b.dsp == int(firmware.info["dsp"])
    assert b.flash == firmware.info["flash"] and b.ram == firmware.info["ram"]
    stats = board.stats()
    assert 0 < stats["stack"] < load_profile(DEFAULT_DEVICE).stack_bytes


def test_text_longer_than_the_board_takes_is_refused_before_sending(board):
    with pytest.raises(Exception, match="at most 512"):
        board.infer("x" * 600)
    assert board.infer("turn on the lights").scores.dtype == np.int8  # the board still answers


def _profile(tmp_path, name: str, change) -> str:
    data = json.loads(load_profile(DEFAULT_DEVICE).path.read_text())
    data["name"] = name
    change(data)
    (tmp_path / f"{name}.json").write_text(json.dumps(data))
    return tmp_path / f"{name}.json"


def test_firmware_for_another_memory_map_is_refused(firmware, tmp_path):
    other = load_profile(_profile(tmp_path, "other-board", lambda d: d["memory"]["ram"].update(origin="0x30000000")))
    with pytest.raises(FitError, match="section .bss .* lies outside other-board's flash .* built for another board"):
        memory_use(firmware.elf, other)


def test_model_too_big_for_the_board(dkp_bundle, tmp_path):
    small = _profile(tmp_path, "tiny-board", lambda d: d["memory"]["flash"].update(bytes=8192))
    with pytest.raises(FitError, match=r"flash overflowed by [\d,]+ bytes"):
        build_firmware(dkp_bundle, small, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_board_that_dies_mid_run_leaves_a_partial_report(firmware, tiny_dataset):
    from tfcompress.bench import bench

    runner = DeviceRunner.start(firmware, timeout=2)
    process = runner.board.process
    texts = tiny_dataset.test.texts

    def progress(n, done=[0]):
        done[0] += n
        if done[0] == 3:
            process.kill()

    try:
        report = bench(runner, texts, [0] * len(texts), ("a", "b", "c", "d"), progress=progress)
    finally:
        runner.close()
    assert report["completed"] == 3 and report["examples"] == len(texts) and report["error"]
    assert process.poll() is not None


def test_qemu_is_reaped_on_errors(firmware):
    with pytest.raises(RuntimeError):
        with DeviceRunner.start(firmware) as runner:
            process = runner.board.process
            raise RuntimeError("boom")
    assert process.poll() is not None


def test_cli_run_and_bench(firmware, tiny_dataset_dir):
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["run", str(firmware.directory), "--text", "turn on the kitchen lights"])
    assert result.exit_code == 0, result.output
    assert "instructions" in result.output and "int8" in result.output
    result = CliRunner().invoke(main, ["bench", str(firmware.directory), "--dataset", str(tiny_dataset_dir),
                                       "--limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["completed"] == 5 and report["counter"] == "instructions" and report["count"]["min"] > 0
    assert report["layers"] and any("per_mac" in row for row in report["layers"])


def test_compiler_and_qemu_errors_reach_the_user(dkp_bundle, firmware, tmp_path):
    from tfcompress.device.build import Firmware
    from tfcompress.errors import TfcompressError

    bad_flags = _profile(tmp_path, "bad-flags", lambda d: d.update(cpu_flags=["-mcpu=cortex-m99"]))
    with pytest.raises(TfcompressError, match="cortex-m99"):
        build_firmware(dkp_bundle, bad_flags, tmp_path / "out")
    bad_machine = _profile(tmp_path, "bad-machine", lambda d: d["run"].update(machine="no-such-machine"))
    info = dict(firmware.info, device_profile=str(bad_machine))
    with pytest.raises(TfcompressError, match="(?s)QEMU exited .*unsupported machine type.*no-such-machine"):
        DeviceRunner.start(Firmware(firmware.directory, info))


def test_cli_flash_starts_the_emulated_board_and_devices_lists_it(firmware):
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["flash", str(firmware.directory), "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert "fits qemu-mps2-an386" in result.output and "is running" in result.output and "socket://" in result.output
    result = CliRunner().invoke(main, ["devices"])
    assert result.exit_code == 0 and "qemu-mps2-an386" in result.output and "cortex-m55" in result.output
