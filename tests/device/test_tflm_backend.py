"""The TFLM backend on the emulated Cortex-M4: TFLM's MicroInterpreter (with CMSIS-NN, as
docs/tflm.md builds it) on the same harness gives the golden's int8 outputs, and the generated-C
backend's, and counts the same operators.

No package registry ships a TFLM library for a Cortex-M, so CI has none and these tests skip
there; with TFLM_DIR and TFLM_LIB set to a library built as docs/tflm.md says, they run (the
results are recorded in docs/tflm.md)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.helpers import SHARED_DATASETS, board_tools_missing
from tfcompress.device.build import TflmLibrary, build_firmware
from tfcompress.device.link import DeviceError
from tfcompress.device.profiles import DEFAULT_DEVICE
from tfcompress.device.runner import DeviceRunner
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer

NO_TFLM = None if os.environ.get("TFLM_DIR") and os.environ.get("TFLM_LIB") else \
    "TFLM_DIR and TFLM_LIB are not set: these tests need a TFLM library built as docs/tflm.md says " \
    "(no package registry ships one)"
pytestmark = [pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing())),
              pytest.mark.skipif(NO_TFLM is not None, reason=str(NO_TFLM))]


@pytest.fixture(scope="module")
def tflm():
    return TflmLibrary.find()


def _both_backends(bundle, tflm, make_dir):
    out = make_dir("tflm")
    return (build_firmware(bundle, DEFAULT_DEVICE, out / "c"),
            build_firmware(bundle, DEFAULT_DEVICE, out / "tflm", backend="tflm", tflm=tflm))


@pytest.mark.parametrize("bundle_name", ["pooled_bundle", "dkp_bundle"])
def test_tflm_equals_the_golden_and_the_generated_c(bundle_name, request, tflm, tiny_dataset, tmp_path_factory):
    bundle = request.getfixturevalue(bundle_name)
    c_firmware, tflm_firmware = _both_backends(bundle, tflm, tmp_path_factory.mktemp)
    texts = [*tiny_dataset.test.texts, *tiny_dataset.valid.texts]
    golden = HostRunner(tflm_firmware.tflite, WordTokenizer.load(bundle / "tokenizer.json")).run(texts)
    with DeviceRunner.start(tflm_firmware) as board:
        assert (board.banner.backend, board.banner.dsp) == ("tflm", 1)
        assert 0 < board.banner.arena <= tflm_firmware.info["arena_bytes"]
        assert (board.banner.flash, board.banner.ram) == (tflm_firmware.info["flash"], tflm_firmware.info["ram"])
        on_tflm = board.run(texts)
        tflm_layers = board.layer_names
    with DeviceRunner.start(c_firmware) as board:
        on_c = board.run(texts)
        assert tflm_layers == board.layer_names  # the same operators, named alike
    assert np.array_equal(on_tflm.scores, golden.scores)
    assert np.array_equal(on_tflm.scores, on_c.scores)
    assert all(all(n > 0 for n in layers) and sum(layers) <= count
               for layers, count in zip(on_tflm.layers, on_tflm.counts))


def test_an_arena_too_small_is_reported_with_tflms_words(pooled_bundle, tflm, tmp_path):
    firmware = build_firmware(pooled_bundle, DEFAULT_DEVICE, tmp_path / "fw", backend="tflm", tflm=tflm,
                              arena_bytes=256)
    with pytest.raises(DeviceError, match=r"backend did not start \(status 3: AllocateTensors failed \(an arena too "
                                          r"small\? .*--arena-bytes\): .*Requested"):
        DeviceRunner.start(firmware).close()


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="shared datasets not checked out beside the project")
def test_tflm_with_cmsis_nn_equals_the_golden_over_a_whole_test_split(tflm, tmp_path):
    """TFLM's CMSIS-NN kernels on the board against TFLM's reference kernels on the desktop (the golden)
    and the generated C, over every CLINC150 test utterance."""
    from converters.bundle import convert_model
    from tfcompress.data import load_dataset
    from tfcompress.training import TrainOptions, train_classifier

    dataset = load_dataset("clinc150", SHARED_DATASETS)
    trained = train_classifier(dataset, TrainOptions(embedding_dim=16, head_units=32, epochs=1), verbose=0)
    convert_model(trained, dataset, tmp_path / "bundle", calibration_samples=100)
    c_firmware, tflm_firmware = _both_backends(tmp_path / "bundle", tflm, lambda name: tmp_path / name)
    texts = list(dataset.test.texts)
    golden = HostRunner(tflm_firmware.tflite, trained.tokenizer)
    assert golden.name == "tflm"
    expected = golden.run(texts).scores
    for firmware in (tflm_firmware, c_firmware):
        with DeviceRunner.start(firmware) as board:
            assert np.array_equal(board.run(texts).scores, expected), firmware.info["backend"]
