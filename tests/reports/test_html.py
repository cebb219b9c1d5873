"""tfcompress/reports/html.py and regress_html.py: self-contained pages, text escaped."""

from __future__ import annotations

import re

import numpy as np

from tfcompress.regression import regress
from tfcompress.reports.html import Raw, image, page, table
from tfcompress.reports.regress_html import regress_html
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer


def test_cells_are_escaped_unless_raw():
    html = table(["a<b"], [["<script>x</script>"], [Raw("<b>ok</b>")]])
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>ok</b>" in html and "a&lt;b" in html


def test_images_are_inline_and_pages_load_nothing():
    html = page("t", image(b"\x89PNG fake", "alt"))
    assert 'src="data:image/png;base64,' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_regress_report_shows_the_verdict_the_checks_and_the_worst_examples(pooled_bundle, dkp_bundle,
                                                                                 tiny_dataset):
    """A stage running another model: the page says FAILED, shows the failed check and the
    utterances that differ (their text escaped)."""
    def runner(bundle):
        return HostRunner((bundle / "model.tflite").read_bytes(), WordTokenizer.load(bundle / "tokenizer.json"))

    texts = [t + " <i>" for t in tiny_dataset.test.texts]
    expected = np.array([tiny_dataset.labels.index(i) for i in tiny_dataset.test.intents])
    report = regress(texts, expected, tuple(tiny_dataset.labels), runner(dkp_bundle), runner(pooled_bundle))
    html = regress_html(report)
    assert 'class="verdict fail">FAILED' in html and '<b class="bad">failed</b>' in html
    assert "&lt;i&gt;" in html and "<i>" not in html
    assert html.count("<img ") == 2  # the LSB histogram and the per-class change of the one comparison
