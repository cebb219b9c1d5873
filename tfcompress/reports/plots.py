"""The plots of the reports, drawn with matplotlib's Agg canvas (no display, no pyplot state) and
returned as PNG bytes, so the HTML can inline them and `report` can write them as files."""

from __future__ import annotations

import io
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

GAIN, LOSS, NEUTRAL = "#1f8a4c", "#c62828", "#3b6ea8"
METHOD_STYLE = {  # one colour and marker per method, the same in every plot
    "uncompressed": ("#1d2330", "*"), "dkp": ("#c62828", "o"), "kp": ("#ef8a62", "v"), "hmf": ("#3b6ea8", "s"),
    "lmf": ("#67a9cf", "D"), "prune": ("#7b3294", "^"), "small": ("#1f8a4c", "P"),
}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def per_class_change(changes: dict[str, float], title: str, most: int = 30) -> bytes:
    """Horizontal bars: the accuracy change (points) of each class that changed, largest first."""
    items = sorted(changes.items(), key=lambda kv: -abs(kv[1]))[:most][::-1]
    figure = Figure(figsize=(7.5, 0.8 + 0.26 * max(len(items), 1)))
    axes = figure.add_subplot()
    values = [100 * v for _, v in items]
    axes.barh([name for name, _ in items], values, color=[GAIN if v > 0 else LOSS for v in values])
    axes.axvline(0, color="#1d2330", linewidth=0.8)
    axes.set_xlabel("accuracy change (points)")
    axes.set_title(title + (f" (the {most} largest of {len(changes)})" if len(changes) > most else ""), fontsize=10)
    axes.tick_params(axis="y", labelsize=8)
    return _png(figure)


def lsb_histogram(histogram: dict[str, int], title: str) -> bytes:
    """Utterances by their largest int8 output difference in LSBs (0: bit-exact)."""
    pairs = sorted((int(k), v) for k, v in histogram.items())
    figure = Figure(figsize=(6.5, 3.2))
    axes = figure.add_subplot()
    labels = [str(k) for k, _ in pairs]
    bars = axes.bar(labels, [v for _, v in pairs], color=[GAIN if k == 0 else LOSS for k, _ in pairs])
    axes.bar_label(bars, fontsize=8)
    axes.set_yscale("log")
    axes.set_xlabel("largest difference of an utterance's int8 outputs (LSB)")
    axes.set_ylabel("utterances")
    axes.set_title(title, fontsize=10)
    return _png(figure)


def layer_breakdown(layers: Sequence[dict], unit: str, title: str) -> bytes:
    """Horizontal bars: each layer's median count per inference, with its share."""
    names = [f"{row['index']}: {row['op']}" for row in layers][::-1]
    values = [row["median"] for row in layers][::-1]
    total = sum(values) or 1
    figure = Figure(figsize=(7.5, 0.9 + 0.32 * max(len(names), 1)))
    axes = figure.add_subplot()
    bars = axes.barh(names, values, color=NEUTRAL)
    axes.bar_label(bars, labels=[f"{v:,.0f} ({100 * v / total:.0f} %)" for v in values], fontsize=8, padding=3)
    axes.set_xlabel(f"{unit} per inference (median)")
    axes.set_xlim(0, max(values or [1]) * 1.35)
    axes.set_title(title, fontsize=10)
    axes.tick_params(axis="y", labelsize=8)
    return _png(figure)


def size_against(points: Sequence[dict], y: str, ylabel: str, title: str, flash_limits: Sequence[tuple[str, int]] = (),
                 higher_is_better: bool = True) -> bytes:
    """Model bytes (log x) against `y` of each point, one series per method, the uncompressed model
    marked with a star, the Pareto front of the points drawn (smaller and better: higher `y`, or
    lower unless `higher_is_better`), and each
    board's flash as a vertical line. A point is {"method", "bytes", y, "label"}."""
    figure = Figure(figsize=(7.5, 4.6))
    axes = figure.add_subplot()
    methods = sorted({p["method"] for p in points}, key=lambda m: (m != "uncompressed", m))
    for method in methods:
        series = sorted((p for p in points if p["method"] == method), key=lambda p: p["bytes"])
        color, marker = METHOD_STYLE.get(method, ("#555555", "x"))
        joined = len(series) > 1 and method != "uncompressed"  # a method's ratios joined by a line
        axes.plot([p["bytes"] for p in series], [p[y] for p in series], marker=marker, color=color,
                  markersize=13 if method == "uncompressed" else 7, linestyle="-" if joined else "none",
                  linewidth=1, label=method)
    front = pareto_front(points, y, higher_is_better)
    if len(front) > 1:
        axes.step([p["bytes"] for p in front], [p[y] for p in front], where="post", color="#888888",
                  linestyle=":", linewidth=1.2, label="Pareto front")
    for name, limit in flash_limits:
        axes.axvline(limit, color="#b26a00", linestyle="--", linewidth=1.2)
        axes.annotate(f"{name} flash", (limit, 0.02), xycoords=("data", "axes fraction"), rotation=90,
                      fontsize=8, color="#b26a00", ha="right", va="bottom")
    axes.set_xscale("log")
    axes.set_xlabel("model bytes (.tflite, log scale)")
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(fontsize=8, loc="best")
    return _png(figure)


def pareto_front(points: Sequence[dict], y: str, higher_is_better: bool = True) -> list[dict]:
    """The points no other point beats on both size and `y`, smallest first."""
    front, best = [], None
    for p in sorted(points, key=lambda p: (p["bytes"], -p[y] if higher_is_better else p[y])):
        if best is None or (p[y] > best if higher_is_better else p[y] < best):
            front.append(p)
            best = p[y]
    return front
