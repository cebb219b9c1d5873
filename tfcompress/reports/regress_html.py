"""The HTML report of one `regress` run (its regress.json): the verdict first, then the checks,
the stages, each comparison with its plots, the board's per-layer breakdown and the worst examples."""

from __future__ import annotations

from tfcompress.reports import plots
from tfcompress.reports.html import Raw, escape, image, page, percent, table


def regress_html(report: dict) -> str:
    model, board = report.get("model") or {}, report.get("board") or {}
    title = f"tfcompress regress: {model.get('method', 'model')} on {board.get('device', 'the board')}"
    verdict = ("partial", "PARTIAL RUN") if report["error"] else (("pass", "PASSED") if report["passed"]
                                                                   else ("fail", "FAILED"))
    parts = [f"<h1>{escape(title)}</h1>",
             f'<p class="sub"><span class="verdict {verdict[0]}">{verdict[1]}</span> '
             f"{report['examples']:,} of {report['planned']:,} utterances of {escape(report.get('dataset', '?'))} "
             f"{escape(report.get('split', ''))}</p>"]
    if report["error"]:
        parts.append(f'<p class="note">The run stopped early: {escape(report["error"])}. Everything below covers '
                     f"the {report['examples']:,} utterances every stage completed.</p>")
    parts += [_about(model, board), "<h2>Checks</h2>", _checks(report), "<h2>Stages</h2>", _stages(report)]
    for comparison in report["comparisons"]:
        parts.append(_comparison(comparison))
    for name, stage in report["stages"].items():
        if stage.get("layers"):
            parts.append(f"<h2>Where the {escape(name)} spends its {escape(stage['counter'])}</h2>")
            parts.append(image(plots.layer_breakdown(stage["layers"], stage["counter"], f"{stage['runner']}: "
                                                     f"median per layer"), f"per-layer {stage['counter']}",
                               f"{stage['count']['median']:,.0f} {stage['counter']} per inference (median; "
                               f"min {stage['count']['min']:,}, max {stage['count']['max']:,})"))
            parts.append(table(["#", "operator", f"median {stage['counter']}", "share"],
                               [(row["index"], row["op"], f"{row['median']:,.0f}",
                                 percent(row["median"] / max(stage["count"]["median"], 1), 1))
                                for row in stage["layers"]], numeric=[True, False, True, True]))
    return page(title, "\n".join(parts))


def _about(model: dict, board: dict) -> str:
    rows = []
    if model:
        rows += [("model", f"{model.get('method')} {model.get('encoder') or ''} ({model.get('dataset')}), "
                           f"{model.get('op_set')} ops"),
                 (".tflite", f"{model['tflite_bytes']:,} bytes" + (
                     f" ({model['uncompressed_tflite_bytes'] / model['tflite_bytes']:.1f}x smaller than the "
                     f"uncompressed {model['uncompressed_tflite_bytes']:,})"
                     if model.get("uncompressed_tflite_bytes") else "")),
                 ("SHA-256", model.get("sha256", ""))]
    if board:
        where = "emulated" if board.get("emulated") else (board.get("port") or "serial")
        rows += [("board", f"{board.get('device')} ({where}), {board.get('backend')} backend")]
        if board.get("flash"):
            rows.append(("flash, RAM", f"{board['flash']:,} of {board['flash_capacity']:,} bytes, "
                                       f"{board['ram']:,} of {board['ram_capacity']:,} bytes"))
    return table(None, rows) if rows else ""


def _checks(report: dict) -> str:
    if not report["checks"]:
        return "<p>No check applies: the run compared nothing.</p>"
    rows = [(c["name"], f"{c['value']:.4g}", ("≥ " if c["at_least"] else "≤ ") + f"{c['limit']:.4g}",
             Raw('<b class="{0}">{1}</b>'.format(*(("ok", "passed") if c["passed"] else ("bad", "failed")))))
            for c in report["checks"]]
    return table(["check", "value", "limit", "verdict"], rows, numeric=[False, True, True, False])


def _stages(report: dict) -> str:
    rows = []
    for name, s in report["stages"].items():
        count = f"{s['count']['median']:,.0f} {s['counter']}" if "count" in s else "–"
        speed = f"{s['utterances_per_second']:,}" if "utterances_per_second" in s else "–"
        rows.append((name, s["runner"], percent(s["accuracy"]), percent(s["macro_f1"]), speed, count))
    return table(["stage", "runs on", "accuracy", "macro-F1", "utterances/s", "per inference (median)"], rows,
                 numeric=[False, False, True, True, True, True])


def _comparison(c: dict) -> str:
    a, b = c["a"], c["b"]
    parts = [f"<h2>{escape(b)} against {escape(a)}</h2>"]
    rows = [("top-1 agreement", percent(c["agreement"])),
            ("accuracy", f"{percent(c['accuracy'][a])} → {percent(c['accuracy'][b])}"),
            ("macro-F1", f"{percent(c['macro_f1'][a])} → {percent(c['macro_f1'][b])}")]
    if "exact_match_rate" in c:
        rows += [("int8 outputs equal", percent(c["exact_match_rate"])),
                 ("largest difference", f"{c['max_lsb_difference']} LSB")]
    parts.append(table(None, rows, numeric=[False, True]))
    changes = c["per_class_accuracy_change"]
    if changes:
        parts.append(image(plots.per_class_change(changes, f"{b} against {a}: per-class accuracy change"),
                           f"per-class accuracy change, {b} against {a}",
                           f"{len(changes)} of the classes changed accuracy"))
    else:
        parts.append("<p>No class changed accuracy.</p>")
    if "lsb_histogram" in c:
        parts.append(image(plots.lsb_histogram(c["lsb_histogram"], f"{b} against {a}: int8 output differences"),
                           f"LSB-difference histogram, {b} against {a}",
                           "0 LSB: the utterance's outputs are bit-exact"))
    if c["worst"]:
        parts.append(f"<h3>Worst examples ({len(c['worst'])})</h3>")
        int8 = "exact_match_rate" in c
        parts.append(table(["#", "text", "expected", a, b, *(["LSB"] if int8 else []), f"top {a} score",
                            f"top {b} score"],
                           [(w["index"], w["text"] or "", w["expected"], w[a], w[b],
                             *([w["lsb_difference"]] if int8 else []), _top(w["scores"][a]), _top(w["scores"][b]))
                            for w in c["worst"]],
                           numeric=[True, False, False, False, False, *([True] if int8 else []), True, True]))
    else:
        parts.append("<p>No example differs.</p>")
    return "\n".join(parts)


def _top(scores: list) -> str:
    top = max(scores)
    return f"{top:.3f}" if isinstance(top, float) else str(top)
