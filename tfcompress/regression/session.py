"""From an artifact to a finished regression run: what `tfcompress regress` and the pytest helper
(tfcompress.testing) call.

ARTIFACT is whatever the user has at hand: a trained or compressed model (converted, built and
run; it is also the float stage), a converted bundle (built for `device`) or a firmware folder
(run as built). The dataset's intents must be the model's, the board's model must be the
firmware's (both refused with the differences shown), and the run is written into `out_dir`
as it goes (tfcompress.regression.run.RegressOutput).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tfcompress.errors import TfcompressError
from tfcompress.regression.compare import Check, checks_of
from tfcompress.regression.run import REGRESS_OUTPUT, RegressOutput, Thresholds, regress


@dataclass(frozen=True)
class RegressionResult:
    """A finished (or stopped) run, for tests to assert on: `result.exact_match_rate == 1.0`."""

    report: dict
    folder: Path | None = None  # where regress.json, junit.xml and report.html are, with `out_dir`

    def __repr__(self) -> str:  # what pytest shows beside a failed assertion, not the whole report
        return (f"RegressionResult({self.examples} utterances, exact match {self.exact_match_rate}, accuracy "
                f"{self.accuracy}, {'passed' if self.passed else 'failed: ' + '; '.join(self.failures())})")

    def comparison(self, a: str, b: str) -> dict | None:
        return next((c for c in self.report["comparisons"] if (c["a"], c["b"]) == (a, b)), None)

    @property
    def exact_match_rate(self) -> float | None:
        """Share of utterances whose int8 outputs on the device equal the golden's."""
        pair = self.comparison("golden", "device")
        return None if pair is None else pair["exact_match_rate"]

    @property
    def max_lsb_difference(self) -> int | None:
        pair = self.comparison("golden", "device")
        return None if pair is None else pair["max_lsb_difference"]

    @property
    def accuracy(self) -> dict[str, float]:
        """Each stage's accuracy: {"float": ..., "golden": ..., "device": ...}."""
        return {name: stage["accuracy"] for name, stage in self.report["stages"].items()}

    @property
    def accuracy_drop(self) -> float | None:
        """Points of accuracy the int8 golden lost against the float model."""
        acc = self.accuracy
        return None if "float" not in acc else 100 * (acc["float"] - acc["golden"])

    @property
    def checks(self) -> list[Check]:
        return checks_of(self.report)

    @property
    def examples(self) -> int:
        return self.report["examples"]

    @property
    def error(self) -> str | None:
        return self.report["error"]

    @property
    def passed(self) -> bool:
        return self.report["passed"]

    def failures(self) -> list[str]:
        """Why the run did not pass, one line each (empty when it passed)."""
        return ([self.error] if self.error else []) + [c.message for c in self.checks if not c.passed]


def golden_interpreter(tflite: bytes) -> str:
    """The desktop golden: TFLM for builtin-op models, the generated C built for this machine for
    models with TFC_ ops (bit-exact with the integer reference, and fast enough for whole splits)."""
    from tfcompress.interpreters import custom_ops_of

    return "c" if custom_ops_of(tflite) else "tflm"


def _artifact_kind(artifact: Path) -> str:
    from converters.bundle import BUNDLE_OUTPUT
    from tfcompress.device.build import BUILD_FILE

    if (artifact / BUILD_FILE).is_file():
        return "firmware"
    if BUNDLE_OUTPUT.recognises(artifact):
        return "bundle"
    if (artifact / "config.json").is_file():
        return "model"
    raise TfcompressError(f"{artifact}: not a model (`train`, `compress`), a bundle (`convert`) or a firmware folder "
                          "(`build`)")


def _firmware_for(artifact: Path, kind: str, device: str | None, backend: str, work: Path, data_dir, log):
    from tfcompress.device.build import Firmware, build_firmware
    from tfcompress.device.profiles import DEFAULT_DEVICE

    if kind == "firmware":
        firmware = Firmware.load(artifact)
        if device is not None and device not in (firmware.info["device"], str(firmware.profile.name)):
            raise TfcompressError(f"{artifact} was built for {firmware.info['device']}, not {device}: give its bundle "
                                  "or model to build it for that board")
        return firmware
    bundle = artifact
    if kind == "model":
        from converters.bundle import convert_model
        from tfcompress.artifacts import TrainedModel
        from tfcompress.data import load_dataset

        trained = TrainedModel.load(artifact)
        log(f"converting {artifact} to int8 ...")
        convert_model(trained, load_dataset(trained.dataset_spec(), data_dir), work / "bundle")
        bundle = work / "bundle"
    log(f"building {'it' if kind == 'model' else bundle} for {device or DEFAULT_DEVICE} ({backend} backend) ...")
    return build_firmware(bundle, device or DEFAULT_DEVICE, work / "firmware", backend=backend, log=None)


def run_regression(artifact: str | Path, device: str | None = None, port: str | None = None,
                   model: str | Path | None = None, dataset: str | None = None, data_dir: str | Path | None = None,
                   split: str = "test", limit: int | None = None, thresholds: Thresholds = Thresholds(),
                   out_dir: str | Path | None = None, force: bool = False, backend: str = "c",
                   log: Callable[[str], None] = lambda message: None,
                   progress: Callable[[int, int], None] | None = None, strict_labels: bool = False) -> RegressionResult:
    """Runs `split` of `dataset` (default: the model's) through the float model (`model`, or ARTIFACT
    when it is one), the desktop golden and the board, compares them and holds them to `thresholds`.
    `progress(done, total)` follows the run. With `out_dir` everything is written there, the answers
    as they come; a run stopped early leaves a partial report (`result.error` says why). Rows whose
    intent is absent from training count as errors in every stage (`strict_labels`: refused)."""
    from tfcompress.artifacts import TrainedModel
    from tfcompress.data import load_dataset
    from tfcompress.device.runner import DeviceRunner
    from tfcompress.evaluation import dataset_split
    from tfcompress.fileio import staged_directory
    from tfcompress.runners import HostRunner
    from tfcompress.tokenizer import WordTokenizer

    artifact = Path(artifact)
    kind = _artifact_kind(artifact)
    model_dir = Path(model) if model is not None else (artifact if kind == "model" else None)
    with contextlib.ExitStack() as stack:
        if out_dir is not None:
            folder = stack.enter_context(staged_directory(out_dir, REGRESS_OUTPUT, force,
                                                          inputs=(artifact, model_dir)))
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tfcompress-regress-")))
        firmware = _firmware_for(artifact, kind, device, backend, folder, data_dir, log)
        manifest, labels = firmware.manifest, firmware.labels
        source = manifest["source"]
        data = load_dataset(dataset or source.get("dataset_spec") or source["dataset"], data_dir, strict_labels)
        data.check_labels(labels, f"the firmware's model ({firmware.directory})")
        unseen = data.unseen_note(split)
        if unseen:
            log(f"warning: {unseen}")  # those rows count as errors in every stage
        split_data = dataset_split(data, split)
        texts, expected = list(split_data.texts), np.asarray(data.label_ids(split_data, labels))
        if limit:
            texts, expected = texts[:limit], expected[:limit]
        float_scores, float_seconds = None, None
        if model_dir is not None:
            trained = TrainedModel.load(model_dir)
            firmware.check_built_from(trained, model_dir)
            log(f"float stage: {model_dir} on {len(texts):,} utterances ...")
            started = time.monotonic()
            float_scores = trained.logits(texts)
            float_seconds = time.monotonic() - started
        golden = HostRunner(firmware.tflite, WordTokenizer.load(firmware.directory / "tokenizer.json"),
                            golden_interpreter(firmware.tflite))
        log(f"starting {firmware.profile.name} ...")
        board = stack.enter_context(DeviceRunner.start(firmware, port))
        about = {"dataset": data.name, "split": split, "artifact": str(artifact),
                 "model": _model_summary(manifest), "board": _board_summary(firmware, port)}
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], 2 * len(texts))

        output = RegressOutput(folder) if out_dir is not None else None
        try:
            report = regress(texts, expected, labels, golden, board, float_scores, thresholds, advance, output, about,
                             float_seconds)
        finally:
            if output is not None:
                output.close()
    return RegressionResult(report, Path(out_dir) if out_dir is not None else None)


def _model_summary(manifest: dict) -> dict:
    compression = manifest.get("compression") or {}
    return {"sha256": manifest["model"]["sha256"], "tflite_bytes": manifest["model"]["bytes"],
            "weight_bytes": manifest.get("weight_bytes"), "op_set": manifest.get("op_set", "builtin"),
            "method": compression.get("method", "uncompressed"), "ratio": compression.get("ratio", 1.0),
            "uncompressed_tflite_bytes": (compression.get("tflite_bytes") or {}).get("uncompressed"),
            "dataset": manifest["source"].get("dataset"), "encoder": manifest["source"].get("encoder")}


def _board_summary(firmware, port: str | None) -> dict:
    info = firmware.info
    return {"device": info["device"], "backend": info.get("backend", "c"), "port": port,
            "emulated": firmware.profile.emulated, "flash": info.get("flash"), "ram": info.get("ram"),
            "flash_capacity": info.get("flash_capacity"), "ram_capacity": info.get("ram_capacity")}
