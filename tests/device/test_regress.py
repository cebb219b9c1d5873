"""`tfcompress regress` end to end on the emulated board: a compressed model's firmware against the
desktop golden, its thresholds as JUnit XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from tests.helpers import board_tools_missing
from tfcompress.device.build import build_firmware
from tfcompress.device.profiles import DEFAULT_DEVICE

pytestmark = pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing()))


def test_regress_on_the_board_writes_json_and_junit(dkp_bundle, tiny_dataset_dir, tmp_path):
    from tfcompress.cli import main

    firmware = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    result = CliRunner().invoke(main, ["regress", str(firmware.directory), "--dataset", str(tiny_dataset_dir),
                                       "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "device vs golden: exact int8 match rate: 1 (must be at least 1): ok" in result.output
    report = json.loads((tmp_path / "report" / "regress.json").read_text())
    assert (report["format"], report["version"], report["passed"]) == ("tfcompress-regress", 1, True)
    assert report["stages"]["device"]["runner"] == f"device:{DEFAULT_DEVICE}"
    assert report["comparisons"][0]["exact_match_rate"] == 1.0 and report["comparisons"][0]["worst"] == []
    suite = ElementTree.parse(tmp_path / "report" / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


def test_regress_limit_covers_the_first_utterances(dkp_bundle, tiny_dataset_dir, tmp_path):
    from tfcompress.cli import main

    firmware = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    result = CliRunner().invoke(main, ["regress", str(firmware.directory), "--dataset", str(tiny_dataset_dir),
                                       "--limit", "4", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "regress.json").read_text())["examples"] == 4


def test_regress_with_the_float_model(pooled_model, pooled_bundle, tiny_dataset_dir, tmp_path):
    from tfcompress.cli import main

    pooled_model.save(tmp_path / "model")
    firmware = build_firmware(pooled_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    result = CliRunner().invoke(main, ["regress", str(firmware.directory), "--model", str(tmp_path / "model"),
                                       "--dataset", str(tiny_dataset_dir), "--max-accuracy-drop", "100",
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r" / "regress.json").read_text())
    assert list(report["stages"]) == ["float", "golden", "device"]
    assert [(c["a"], c["b"]) for c in report["comparisons"]] == [("float", "golden"), ("golden", "device")]
    assert [c["name"] for c in report["checks"]] == ["golden vs float: accuracy drop (points)",
                                                    "device vs golden: exact int8 match rate"]
    suite = ElementTree.parse(tmp_path / "r" / "junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == "2"


def test_a_board_that_dies_leaves_a_partial_report(dkp_bundle, tiny_dataset, tmp_path):
    from tfcompress.device.runner import DeviceRunner
    from tfcompress.regression import regress
    from tfcompress.runners import HostRunner
    from tfcompress.tokenizer import WordTokenizer

    firmware = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    golden = HostRunner(firmware.tflite, WordTokenizer.load(dkp_bundle / "tokenizer.json"))
    texts = list(tiny_dataset.test.texts)
    expected = [tiny_dataset.labels.index(i) for i in tiny_dataset.test.intents]
    device = DeviceRunner.start(firmware, timeout=2)
    process = device.board.process
    seen = [0]

    def progress(n):  # the golden's utterances first, then the board's: kill QEMU after 3 of those
        seen[0] += n
        if seen[0] == len(texts) + 3:
            process.kill()

    try:
        report = regress(texts, expected, tuple(tiny_dataset.labels), golden, device, progress=progress)
    finally:
        device.close()
    assert report["examples"] == 3 and report["passed"] is False
    assert report["error"].startswith(f"device (device:{DEFAULT_DEVICE}) stopped after 3 of {len(texts)} utterances")
    assert report["comparisons"][0]["exact_match_rate"] == 1.0  # over what both completed
    assert process.poll() is not None
