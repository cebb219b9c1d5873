"""tfcompress/regression/run.py: the stages over runners, compared and held to thresholds, streamed
to disk as they come."""

from __future__ import annotations

import json

import numpy as np

from tfcompress.regression import RegressOutput, Thresholds, checks_of, regress
from tfcompress.runners import HostRunner, Inference
from tfcompress.tokenizer import WordTokenizer


def _golden(bundle):
    return HostRunner((bundle / "model.tflite").read_bytes(), WordTokenizer.load(bundle / "tokenizer.json"))


def _split(dataset):
    return list(dataset.test.texts), np.array([dataset.labels.index(i) for i in dataset.test.intents])


def test_a_board_running_another_model_breaks_the_exact_match_threshold(pooled_bundle, dkp_bundle, tiny_dataset):
    """The golden of one model against a stage running another (the uncompressed model where the DKP
    one was expected): the exact-match check fails, with the numbers."""
    texts, expected = _split(tiny_dataset)
    report = regress(texts, expected, tuple(tiny_dataset.labels), _golden(dkp_bundle), _golden(pooled_bundle),
                     thresholds=Thresholds())
    assert report["passed"] is False and report["examples"] == len(texts)
    (check,) = checks_of(report)
    assert check.name == "device vs golden: exact int8 match rate" and check.value < 1.0
    assert "FAILED by" in check.message and report["comparisons"][0]["worst"]
    assert set(report["stages"]) == {"golden", "device"} and report["stages"]["device"]["utterances_per_second"] > 0


class _StopsAfter(HostRunner):
    """The golden's own interpreter one utterance at a time, as a board answers, until the user
    presses Ctrl-C after `answers` of them."""

    batch_size = 1

    def __init__(self, bundle, answers: int):
        super().__init__((bundle / "model.tflite").read_bytes(), WordTokenizer.load(bundle / "tokenizer.json"))
        self.name, self.counter_unit, self.left = "stops", "instructions", answers

    def infer(self, text: str) -> Inference:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return Inference(super().infer(text).scores, count=1000 + self.left)

    def run(self, texts, progress=None):
        return super(HostRunner, self).run(texts, progress)


def test_answers_stream_to_disk_and_ctrl_c_leaves_a_valid_partial_report(dkp_bundle, tiny_dataset, tmp_path):
    texts, expected = _split(tiny_dataset)
    output = RegressOutput(tmp_path, snapshot_seconds=0)  # a partial report after every answer
    snapshots = []
    output.snapshot = lambda report, write=output.snapshot: (snapshots.append(report["error"]), write(report))
    report = regress(texts, expected, tuple(tiny_dataset.labels), _golden(dkp_bundle), _StopsAfter(dkp_bundle, 3),
                     output=output)
    assert (report["examples"], report["planned"], report["passed"]) == (3, len(texts), False)
    assert report["error"] == f"device (stops) stopped after 3 of {len(texts)} utterances: interrupted (Ctrl-C)"
    assert snapshots[-1] == f"still running: the device stage at 3 of {len(texts)} utterances"
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in rows] == ["golden"] * len(texts) + ["device"] * 3
    assert [r["index"] for r in rows if r["stage"] == "device"] == [0, 1, 2]
    assert [r["scores"] for r in rows[-3:]] == [r["scores"] for r in rows[:3]]
    assert json.loads((tmp_path / "regress.json").read_text()) == json.loads(json.dumps(report))
    assert report["stages"]["device"]["count"] == {"min": 1000, "median": 1001.0, "max": 1002, "mean": 1001.0}
    assert (tmp_path / "report.html").read_text().count("PARTIAL RUN") == 1
    assert (tmp_path / "junit.xml").is_file()
