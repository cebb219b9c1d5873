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


def test_the_pytest_fixture_builds_a_model_for_the_board_and_the_report_renders(tfcompress_regress, dkp_model_dir,
                                                                                 tiny_dataset_dir, tmp_path):
    """ARTIFACT a compressed model: converted, built for --device, run; the float stage comes with it.
    Its HTML report renders offline in Chromium with every plot, and `tfcompress report` draws it."""
    from tfcompress.cli import main
    from tfcompress.regression import Thresholds
    from tfcompress.reports.browser import find_browser, render

    result = tfcompress_regress(dkp_model_dir, device=DEFAULT_DEVICE, dataset=str(tiny_dataset_dir),
                                thresholds=Thresholds(max_accuracy_drop=100))
    assert result.exact_match_rate == 1.0 and result.max_lsb_difference == 0
    assert result.passed, result.failures()
    assert set(result.accuracy) == {"float", "golden", "device"} and result.accuracy["device"] == result.accuracy[
        "golden"]
    assert {"firmware", "bundle", "report.html", "junit.xml", "results.jsonl"} <= {
        p.name for p in result.folder.iterdir()}
    device = result.report["stages"]["device"]
    assert device["counter"] == "instructions" and [r["op"] for r in device["layers"]][0] == "TFC_DKP_EMBEDDING_BAG"
    assert result.report["model"]["method"] == "dkp" and result.report["board"]["device"] == DEFAULT_DEVICE

    cli = CliRunner().invoke(main, ["report", str(result.folder), "--out", str(tmp_path / "cmp")])
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "cmp" / "size_instructions.png").is_file() and (tmp_path / "cmp" / "pareto.png").is_file()
    if find_browser() is None:
        pytest.skip("no Chromium (./setup.sh installs it)")
    plots = {"report.html": {"LSB-difference histogram, device against golden", "per-layer instructions"},
             "cmp": {"size against accuracy", "size against instructions"}}
    for page, alts in ((result.folder / "report.html", plots["report.html"]),
                       (tmp_path / "cmp" / "report.html", plots["cmp"])):
        rendered = render(page, timeout=60)
        assert rendered.console_errors == [] and rendered.external_requests == []
        assert alts <= {i["alt"] for i in rendered.images}
        assert all(i["complete"] and i["natural_width"] > 0 and i["natural_height"] > 0 for i in rendered.images)


def test_a_dataset_with_other_intents_is_refused_listing_them(dkp_bundle, tiny_dataset_dir, tmp_path):
    from tests.helpers import write_jsonl
    from tfcompress.cli import main

    other = tmp_path / "other"
    other.mkdir()
    for split in ("train", "test"):
        rows = [json.loads(line) for line in (tiny_dataset_dir / f"{split}.jsonl").read_text().splitlines()]
        write_jsonl(other / f"{split}.jsonl", [{**r, "intent": r["intent"].replace("lights_on", "lamps_on")}
                                              for r in rows])
    result = CliRunner().invoke(main, ["regress", str(dkp_bundle), "--dataset", str(other),
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "only in the dataset: lamps_on" in result.output and "only in the model: lights_on" in result.output
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_a_firmware_folder_for_another_board_is_refused(dkp_bundle, tmp_path):
    from tfcompress.cli import main

    firmware = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    result = CliRunner().invoke(main, ["regress", str(firmware.directory), "--device", "qemu-mps3-an547"])
    assert result.exit_code == 1 and f"was built for {DEFAULT_DEVICE}, not qemu-mps3-an547" in result.output


def test_a_board_running_another_model_is_refused_with_both_hashes(dkp_bundle, pooled_bundle, tmp_path):
    """The board on the port runs the uncompressed model; the firmware folder is the DKP one's."""
    from tfcompress.cli import main
    from tfcompress.device.qemu import QemuBoard

    dkp = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "dkp")
    pooled = build_firmware(pooled_bundle, DEFAULT_DEVICE, tmp_path / "pooled")
    with QemuBoard(pooled.profile, pooled.elf) as board:
        board.connect().close()  # listening; the board answers HELLO with its banner on the next connection
        result = CliRunner().invoke(main, ["regress", str(dkp.directory), "--port", board.url,
                                           "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert f"the board runs model {pooled.model_sha256}" in result.output
    assert f"was built for {dkp.model_sha256}" in result.output
    assert not (tmp_path / "r").exists()


def test_a_float_model_the_firmware_was_not_built_from_is_refused(dkp_bundle, pooled_model, tmp_path):
    from tfcompress.cli import main

    pooled_model.save(tmp_path / "model")
    firmware = build_firmware(dkp_bundle, DEFAULT_DEVICE, tmp_path / "fw")
    result = CliRunner().invoke(main, ["regress", str(firmware.directory), "--model", str(tmp_path / "model"),
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and f"was built from another model than {tmp_path / 'model'}" in result.output
    assert f"(fingerprints {firmware.manifest['source']['fingerprint'][:12]} and" in result.output
    assert not (tmp_path / "r").exists()
