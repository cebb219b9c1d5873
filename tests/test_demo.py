import json

from click.testing import CliRunner

from tfcompress.cli import main


def test_demo_runs_the_main_job(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert report["baseline_test_accuracy"] > 0.8
    assert report["compressed_bytes"] * 5 <= report["baseline_bytes"]
    assert report["float_test_accuracy"] > 0.6
    assert abs(report["int8_test_accuracy"] - report["float_test_accuracy"]) < 0.03
    assert (tmp_path / "demo" / "firmware" / "model_data.c").is_file()
    assert "int8 test accuracy" in result.output
    assert report["uncompressed_tflite_bytes"] > 0
    assert report["int8_equals_golden"] is True
    assert report["tflite_bytes"] < report["builtin_tflite_bytes"]  # the doping matrices stored sparse
    assert f"int8 .tflite {report['tflite_bytes']:,} bytes" in result.output
    assert f"the uncompressed model's {report['uncompressed_tflite_bytes']:,} bytes" in result.output
    board = report["board"]
    assert board["compressed"]["equals_golden"] is True
    assert board["compressed"]["accuracy"] == report["int8_test_accuracy"]
    assert board["compressed"]["flash"] < board["baseline"]["flash"]
    assert "instructions per inference" in result.output
