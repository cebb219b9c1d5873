"""tfcompress/reports/compression.py: `tfcompress report` over pareto results and regress folders."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tfcompress.errors import TfcompressError
from tfcompress.reports.compression import read_runs, write_report
from tfcompress.reports.plots import pareto_front


def _metrics(accuracy):
    return {"accuracy": accuracy, "examples": 100}


def _pareto(path, runs):
    """A `tfcompress pareto` results file: the baseline and (method, ratio, bytes, int8 accuracy) runs."""
    data = {"format": "tfcompress-pareto", "dataset": "snips", "baseline": {
        "bytes": 100_000, "tflite_bytes": 104_000, "float": _metrics(0.97), "int8": _metrics(0.969),
        "ops": {"builtin": {"tflite_bytes": 104_000, "int8": _metrics(0.969)}}}, "runs": [
        {"method": m, "target_ratio": r, "ratio": r, "bytes": b - 1000, "float": _metrics(a + 0.001),
         "int8": _metrics(a - 0.01), "tflite_bytes": b * 3,
         "ops": {"custom": {"tflite_bytes": b, "int8": _metrics(a)}}} for m, r, b, a in runs]}
    path.write_text(json.dumps(data))
    return path


def test_the_pareto_front_keeps_what_nothing_smaller_beats():
    points = [{"bytes": b, "accuracy": a} for b, a in [(10, 0.5), (20, 0.4), (30, 0.7), (40, 0.7), (50, 0.9)]]
    assert [(p["bytes"], p["accuracy"]) for p in pareto_front(points, "accuracy")] == [(10, 0.5), (30, 0.7),
                                                                                        (50, 0.9)]


def test_report_from_pareto_results(tmp_path):
    from tfcompress.cli import main

    runs = _pareto(tmp_path / "snips.json", [("dkp", 25, 4_000, 0.96), ("hmf", 25, 4_100, 0.95),
                                             ("dkp", 50, 2_100, 0.93), ("prune", 25, 4_300, 0.90)])
    result = CliRunner().invoke(main, ["report", str(runs), "--device", "nucleo-f446re", "--out",
                                       str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    on_front = sorted((p["method"], p["bytes"]) for p in report["points"] if p["pareto"])
    assert on_front == [("dkp", 2_100), ("dkp", 4_000), ("uncompressed", 104_000)]  # custom-op bytes, int8
    assert report["flash_limits"] == [{"board": "nucleo-f446re", "bytes": 512 * 1024}]
    assert (tmp_path / "report" / "pareto.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "report" / "size_instructions.png").exists()  # no run on a board
    assert "(Pareto)" in result.output and "dkp 50x" in result.output


def test_runs_that_are_not_reports_are_refused_by_name(tmp_path):
    (tmp_path / "other.json").write_text('{"format": "tfcompress-manifest"}')
    with pytest.raises(TfcompressError, match=r"other.json: format 'tfcompress-manifest': not a regress report"):
        read_runs([tmp_path / "other.json"])
    with pytest.raises(TfcompressError, match="nothing: not a `regress --out` folder"):
        read_runs([tmp_path / "nothing"])
    runs = _pareto(tmp_path / "p.json", [])
    with pytest.raises(TfcompressError, match="is, holds or lies inside an input"):
        write_report([runs], tmp_path)
