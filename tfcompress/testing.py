"""Regression checks in your own test suite (a pytest plugin, loaded when tfcompress is installed).

    def test_the_board_runs_the_model_we_validated(tfcompress_regress):
        result = tfcompress_regress("runs/snips-dkp", device="qemu-mps2-an386", dataset="snips")
        assert result.exact_match_rate == 1.0      # the board's int8 outputs are the golden's
        assert result.accuracy_drop <= 0.5         # int8 against float, in points
        assert result.passed, result.failures()

`tfcompress_regress(artifact, **options)` is `tfcompress.regression.run_regression` (the options of
`tfcompress regress`, as keyword arguments) writing its report (regress.json, junit.xml,
report.html) into a temporary folder unless `out_dir` is given; `result.folder` is where.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def tfcompress_regress(tmp_path_factory):
    """Runs `tfcompress regress` from a test and returns its RegressionResult."""

    def run(artifact, **options):
        from tfcompress.regression import run_regression

        options.setdefault("out_dir", tmp_path_factory.mktemp("regress") / "report")
        return run_regression(artifact, **options)

    return run
