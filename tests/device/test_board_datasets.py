"""Every utterance of the CLINC150, SNIPS and Banking77 test splits through the emulated board: the
board's tokenizer gives the Python tokenizer's ids, and the board's int8 outputs equal the golden's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import SHARED_DATASETS, board_tools_missing

pytestmark = [
    pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing())),
    pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="shared datasets not checked out beside the project"),
]


@pytest.mark.parametrize("name", ["clinc150", "snips", "banking77"])
def test_board_tokenizer_and_outputs_over_a_whole_test_split(name, tmp_path):
    from converters.bundle import convert_model
    from tfcompress.data import load_dataset
    from tfcompress.device.build import build_firmware
    from tfcompress.device.profiles import DEFAULT_DEVICE
    from tfcompress.device.runner import DeviceRunner
    from tfcompress.runners import HostRunner
    from tfcompress.training import TrainOptions, train_classifier

    dataset = load_dataset(name, SHARED_DATASETS)
    # A small model with the default tokenizer (8,000 ids): the vocabulary is what this test is about.
    trained = train_classifier(dataset, TrainOptions(embedding_dim=8, head_units=0, epochs=1), verbose=0)
    convert_model(trained, dataset, tmp_path / "bundle", calibration_samples=100)
    firmware = build_firmware(tmp_path / "bundle", DEFAULT_DEVICE, tmp_path / "firmware")
    texts = list(dataset.test.texts)
    with DeviceRunner.start(firmware) as board:
        for text in texts:
            assert board.tokenize(text).tolist() == trained.tokenizer.encode(text).tolist(), text
        outputs = board.run(texts).scores
    golden = HostRunner(firmware.tflite, trained.tokenizer)
    assert golden.name == "tflm"
    assert np.array_equal(outputs, golden.run(texts).scores)
