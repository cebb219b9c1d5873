"""Reports people read at a glance: self-contained HTML (inline CSS, PNG plots as data URIs, so a
report opens anywhere, offline, attached to a CI run) and the plots themselves.

    html           the page: CSS, tables, images, escaping
    plots          matplotlib figures (the Agg backend: no display needed) as PNG bytes
    regress_html   the report of one `regress` run
    compression    `tfcompress report`: several runs side by side (Pareto, size vs instructions)
    browser        headless Chromium over the DevTools protocol: does a report render, a screenshot
"""
