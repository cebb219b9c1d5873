"""A self-contained HTML page: inline CSS, tables from rows, PNG images as data URIs."""

from __future__ import annotations

import base64
import html
from typing import Iterable, Sequence

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1d2330; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 1px solid #d8dce4; padding-bottom: 0.2em; }
.sub { color: #5a6275; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e4e7ee; text-align: left; vertical-align: top; }
th { background: #f3f5f9; font-weight: 600; } td.num { text-align: right; }
.verdict { display: inline-block; padding: 0.15em 0.7em; border-radius: 1em; font-weight: 600; color: white; }
.pass { background: #1f8a4c; } .fail { background: #c62828; } .partial { background: #b26a00; }
b.ok { color: #1f8a4c; } b.bad { color: #c62828; }
.note { background: #fff6e0; border-left: 4px solid #b26a00; padding: 0.5em 1em; }
figure { margin: 1em 0; } figcaption { color: #5a6275; font-size: 0.92em; }
img.plot { max-width: 100%; height: auto; border: 1px solid #e4e7ee; }
code { background: #f3f5f9; padding: 0 0.25em; border-radius: 3px; }
"""


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str] | None, rows: Iterable[Sequence], numeric: Sequence[bool] | None = None) -> str:
    """Cells are text (escaped) unless wrapped in `Raw`; no `headers`: a two-column fact sheet."""
    rows = [list(row) for row in rows]
    numeric = numeric or [False] * max((len(row) for row in rows), default=0)
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join("<tr>" + "".join(('<td class="num">' if numeric[k] else "<td>") + cell_html(c) + "</td>"
                                    for k, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


class Raw(str):
    """HTML that goes into a page as it is."""


def cell_html(value) -> str:
    return value if isinstance(value, Raw) else escape(value)


def image(png: bytes, alt: str, caption: str = "") -> str:
    """A PNG inline as a data URI, in a figure with its caption."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img class="plot" alt="{escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"
