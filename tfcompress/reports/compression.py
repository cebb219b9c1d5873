"""`tfcompress report RUN...`: compressed models side by side. Each RUN is a `regress` folder (one
model: its size, its accuracy on the golden and on the board, its instructions per inference) or a
`pareto` results file (every method at every ratio: size and accuracy). The report is a size vs
accuracy Pareto plot, a size vs instructions plot, the table, as PNG files and one HTML page."""

from __future__ import annotations

from pathlib import Path

from tfcompress import fileio
from tfcompress.errors import ModelFileError, TfcompressError
from tfcompress.outputs import OutputKind
from tfcompress.reports import plots
from tfcompress.reports.html import escape, image, page, percent, table

REPORT_OUTPUT = OutputKind("compression report folder", "tfcompress-report", "report.json",
                           frozenset({"report.json", "report.html", "pareto.png", "size_instructions.png"}))


def read_runs(paths) -> list[dict]:
    """The points of every RUN: {"run", "label", "method", "bytes", "accuracy" (int8, on the golden),
    "float_accuracy", "device_accuracy", "instructions", "counter", "board", "flash_capacity"}."""
    points = []
    for path in map(Path, paths):
        file = path / "regress.json" if path.is_dir() else path
        try:
            data = fileio.read_json(file)
        except FileNotFoundError:
            raise ModelFileError(path, "not a `regress --out` folder or a `pareto` results file") from None
        except ValueError as err:
            raise ModelFileError(file, f"cannot read it as JSON ({err})") from None
        kind = data.get("format") if isinstance(data, dict) else None
        if kind == "tfcompress-regress":
            points.append(_regress_point(path, data))
        elif kind == "tfcompress-pareto":
            points += _pareto_points(path, data)
        else:
            raise ModelFileError(file, f"format {kind!r}: not a regress report (tfcompress-regress) or pareto results "
                                       "(tfcompress-pareto)")
    if not points:
        raise TfcompressError("no runs to report")
    return points


def _regress_point(path: Path, data: dict) -> dict:
    model, board, stages = data.get("model"), data.get("board") or {}, data["stages"]
    if not model:
        raise ModelFileError(path / "regress.json", "has no `model` section (written by an older tfcompress): run "
                                                    "regress again")
    device = stages.get("device", {})
    return {"run": str(path), "label": path.name, "method": model["method"], "ratio": model.get("ratio"),
            "bytes": model["tflite_bytes"], "accuracy": stages["golden"]["accuracy"],
            "float_accuracy": stages.get("float", {}).get("accuracy"), "device_accuracy": device.get("accuracy"),
            "instructions": (device.get("count") or {}).get("median"), "counter": device.get("counter"),
            "board": board.get("device"), "flash_capacity": board.get("flash_capacity"),
            "dataset": data.get("dataset"), "examples": data["examples"], "partial": bool(data.get("error"))}


def _pareto_points(path: Path, data: dict) -> list[dict]:
    def point(run: dict, method: str, label: str) -> dict:
        custom = run.get("ops", {}).get("custom")
        chosen = custom or {"tflite_bytes": run["tflite_bytes"], "int8": run["int8"]}
        return {"run": str(path), "label": label, "method": method, "ratio": run.get("ratio", 1.0),
                "bytes": chosen["tflite_bytes"], "accuracy": chosen["int8"]["accuracy"],
                "float_accuracy": run["float"]["accuracy"], "device_accuracy": None, "instructions": None,
                "counter": None, "board": None, "flash_capacity": None, "dataset": data.get("dataset"),
                "examples": run["float"].get("examples"), "partial": False}

    return [point(data["baseline"], "uncompressed", "uncompressed"),
            *(point(run, run["method"], f"{run['method']} {run['target_ratio']:g}x") for run in data["runs"])]


def flash_limits(points: list[dict], devices=()) -> list[tuple[str, int]]:
    """The flash of every board a run was on, and of `devices` (profiles)."""
    from tfcompress.device.profiles import load_profile

    limits = {p["board"]: p["flash_capacity"] for p in points if p["board"] and p["flash_capacity"]}
    for name in devices:
        profile = load_profile(name)
        limits[profile.name] = profile.flash.bytes
    return sorted(limits.items(), key=lambda kv: kv[1])


def compression_report(points: list[dict], limits: list[tuple[str, int]]) -> tuple[dict, dict[str, bytes]]:
    """The report (REPORT_OUTPUT's report.json) and its plots by file name."""
    datasets = sorted({p["dataset"] for p in points if p["dataset"]})
    title = f"size against accuracy{' on ' + ', '.join(datasets) if datasets else ''}"
    front = {id(p) for p in plots.pareto_front(points, "accuracy")}
    for p in points:
        p["pareto"] = id(p) in front
    pngs = {"pareto.png": plots.size_against([{**p, "accuracy": 100 * p["accuracy"]} for p in points], "accuracy",
                                             "int8 accuracy on the golden (%)", title, limits)}
    timed = [p for p in points if p["instructions"]]
    if timed:
        unit = timed[0]["counter"] or "count"
        pngs["size_instructions.png"] = plots.size_against(timed, "instructions", f"{unit} per inference (median)",
                                                           f"size against {unit} on the board", limits,
                                                           higher_is_better=False)
    return {"format": REPORT_OUTPUT.format, "version": 1, "points": points,
            "flash_limits": [{"board": b, "bytes": n} for b, n in limits]}, pngs


def compression_html(report: dict, pngs: dict[str, bytes]) -> str:
    points = sorted(report["points"], key=lambda p: (p["method"] != "uncompressed", p["bytes"]))
    parts = ["<h1>tfcompress report: compressed models side by side</h1>",
             f'<p class="sub">{len(points)} models from {len({p["run"] for p in points})} runs; accuracy is the int8 '
             "model's on the desktop golden; the dotted line is the Pareto front (nothing smaller is as "
             "accurate)</p>",
             image(pngs["pareto.png"], "size against accuracy", "model bytes (log scale) against int8 accuracy, one "
                   "series per method; the star is the uncompressed model; dashed: each board's flash")]
    if "size_instructions.png" in pngs:
        parts.append(image(pngs["size_instructions.png"], "size against instructions",
                           "model bytes against the board's median count per inference"))
    rows = [(p["label"], p["method"], f"{p['ratio']:.1f}x" if p.get("ratio") else "–", f"{p['bytes']:,}",
             percent(p["float_accuracy"]), percent(p["accuracy"]), percent(p["device_accuracy"]),
             f"{p['instructions']:,.0f}" if p["instructions"] else "–", "yes" if p["pareto"] else "",
             f"{p['examples']:,}" if p["examples"] else "–", p["run"] + (" (partial run)" if p["partial"] else ""))
            for p in points]
    parts += ["<h2>Models</h2>",
              table(["model", "method", "ratio", ".tflite bytes", "float", "int8 (golden)", "board",
                     "per inference", "Pareto", "utterances", "from"], rows,
                    numeric=[False, False, True, True, True, True, True, True, False, True, False])]
    if report["flash_limits"]:
        parts.append("<p>Flash: " + ", ".join(f"{escape(f['board'])} {f['bytes']:,} bytes"
                                              for f in report["flash_limits"]) + "</p>")
    return page("tfcompress report", "\n".join(parts))


def write_report(paths, out_dir: str | Path, devices=(), force: bool = False) -> dict:
    """Reads the runs and writes report.json, report.html and the PNG plots into `out_dir`."""
    from tfcompress.fileio import staged_directory

    points = read_runs(paths)
    report, pngs = compression_report(points, flash_limits(points, devices))
    with staged_directory(out_dir, REPORT_OUTPUT, force, inputs=tuple(paths)) as folder:
        for name, png in pngs.items():
            fileio.write_bytes(folder / name, png)
        fileio.write_text(folder / "report.html", compression_html(report, pngs))
        fileio.write_json(folder / "report.json", report)
    return report
