"""tfcompress/reports/browser.py: pages loaded in headless Chromium (installed by setup.sh)."""

from __future__ import annotations

import numpy as np
import pytest

from tfcompress.regression import RegressOutput, regress
from tfcompress.reports.browser import find_browser, render
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer

pytestmark = pytest.mark.skipif(find_browser() is None, reason="no Chromium (./setup.sh installs it)")


def test_a_page_with_errors_and_network_requests_is_caught(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                    '<script>console.error("boom"); undefinedFunction();</script>'
                    '<img alt="remote" src="http://127.0.0.1:9/x.png"></body></html>')
    rendered = render(page, timeout=30)
    assert rendered.title == "bad" and rendered.tables == 0
    assert "boom" in rendered.console_errors and any("undefinedFunction" in e for e in rendered.console_errors)
    assert rendered.external_requests == ["http://127.0.0.1:9/x.png"]
    assert rendered.images[0]["natural_width"] == 0


def test_the_regress_report_renders_offline(dkp_bundle, tiny_dataset, tmp_path):
    bundle = dkp_bundle
    golden = HostRunner((bundle / "model.tflite").read_bytes(), WordTokenizer.load(bundle / "tokenizer.json"))
    reference = HostRunner((bundle / "model.tflite").read_bytes(), WordTokenizer.load(bundle / "tokenizer.json"),
                           "reference")
    texts = list(tiny_dataset.test.texts)
    expected = np.array([tiny_dataset.labels.index(i) for i in tiny_dataset.test.intents])
    regress(texts, expected, tuple(tiny_dataset.labels), golden, reference, output=RegressOutput(tmp_path))
    rendered = render(tmp_path / "report.html", screenshot=True, timeout=30)
    assert rendered.console_errors == [] and rendered.external_requests == []
    assert rendered.tables >= 3 and rendered.images
    assert all(i["complete"] and i["natural_width"] > 0 and i["natural_height"] > 0 for i in rendered.images)
    assert rendered.screenshot.startswith(b"\x89PNG") and len(rendered.screenshot) > 10_000
