"""Regression testing: is the model on the board the model you validated? (`tfcompress regress`)

    compare    two stages (the float model, the golden, the board) over one split, and the
               thresholds (`Check`) as JUnit XML
    run        the stages over runners, streamed to disk, into the report (regress.json)
    session    from an artifact (a model, a bundle or a firmware folder) to a finished run:
               what the CLI and the pytest helper (tfcompress.testing) call
"""

from tfcompress.regression.compare import Check, Stage, checks_of, compare, junit_xml
from tfcompress.regression.run import (REGRESS_OUTPUT, REPORT_FORMAT, REPORT_VERSION, RegressOutput, Thresholds,
                                       format_regress, regress)
from tfcompress.regression.session import RegressionResult, run_regression

__all__ = ["Check", "Stage", "checks_of", "compare", "junit_xml", "REGRESS_OUTPUT", "REPORT_FORMAT",
           "REPORT_VERSION", "RegressOutput", "Thresholds", "format_regress", "regress", "RegressionResult",
           "run_regression"]
