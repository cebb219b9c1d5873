"""A trained model on disk: one directory holding the Keras model and everything needed to use it.

    MODEL_DIR/model.keras       Keras model (custom layers registered by tfcompress.layers)
    MODEL_DIR/tokenizer.json    tokenizer (docs/tokenizer.md)
    MODEL_DIR/labels.json       label names in logit order
    MODEL_DIR/config.json       format marker, architecture, dataset and training options
    MODEL_DIR/metrics.json      validation and test metrics of the float model
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfcompress import fileio
from tfcompress.backend import keras
from tfcompress.errors import ModelFileError
from tfcompress.models import ClassifierConfig
from tfcompress.outputs import OutputKind
from tfcompress.tokenizer import WordTokenizer

import tfcompress.layers  # noqa: F401  (registers the custom layers for load_model)

MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
MODEL_OUTPUT = OutputKind("model directory", "tfcompress-model", CONFIG_FILE,
                          frozenset({MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, CONFIG_FILE, METRICS_FILE}))


@dataclass
class TrainedModel:
    model: keras.Model
    tokenizer: WordTokenizer
    labels: tuple[str, ...]
    config: ClassifierConfig
    oos_label: str | None = None
    info: dict = field(default_factory=dict)  # dataset name, training options
    metrics: dict = field(default_factory=dict)
    directory: Path | None = None  # where it was loaded from, if it was

    def logits(self, texts, batch_size: int = 256) -> np.ndarray:
        ids = self.tokenizer.encode_batch(list(texts))
        return self.model.predict(ids, batch_size=batch_size, verbose=0)

    def predict(self, texts) -> np.ndarray:
        return np.argmax(self.logits(texts), axis=-1)

    def dataset_spec(self) -> str:
        """How to load the training set again (a name or an absolute path), as config.json records it."""
        spec = self.info.get("dataset_spec")
        if not isinstance(spec, str):
            where = self.directory / CONFIG_FILE if self.directory else "the model"
            raise ModelFileError(where, "does not record its training dataset (dataset_spec): pass --dataset")
        return spec

    def fingerprint(self) -> str:
        """SHA-256 of what an int8 artifact is made from (labels, tokenizer, weights): the manifest
        records it, so an artifact can be matched to its model."""
        digest = hashlib.sha256(json.dumps([list(self.labels), self.tokenizer.to_json()]).encode())
        for weight in self.model.weights:
            value = np.ascontiguousarray(weight.numpy())
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(value.tobytes())
        return digest.hexdigest()

    def save(self, directory: str | Path, force: bool = False, inputs=()) -> Path:
        """Write the model directory; `directory` may only be an earlier one (or new), see tfcompress.outputs."""
        with fileio.staged_directory(directory, MODEL_OUTPUT, force, inputs) as staging:
            self.model.save(staging / MODEL_FILE)
            self.tokenizer.save(staging / TOKENIZER_FILE)
            fileio.write_json(staging / LABELS_FILE, list(self.labels))
            fileio.write_json(
                staging / CONFIG_FILE,
                {"format": MODEL_OUTPUT.format, "model": self.config.to_json(), "oos_label": self.oos_label,
                 **self.info},
            )
            fileio.write_json(staging / METRICS_FILE, self.metrics)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> "TrainedModel":
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelFileError(directory, "no such model directory (make one with `tfcompress train`)")
        for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, CONFIG_FILE):
            if not (directory / name).is_file():
                raise ModelFileError(directory / name, "missing: not a complete tfcompress model directory")
        try:
            model = keras.models.load_model(directory / MODEL_FILE, compile=False)
        except Exception as err:  # Keras raises many types for damaged files
            raise ModelFileError(directory / MODEL_FILE, f"cannot load the Keras model ({err})") from None
        config, labels = _read_object(directory / CONFIG_FILE, dict), _read_object(directory / LABELS_FILE, list)
        config.pop("format", None)
        try:
            architecture = ClassifierConfig.from_json(config.pop("model"))
        except (KeyError, TypeError, ValueError) as err:
            raise ModelFileError(directory / CONFIG_FILE, f"has no valid \"model\" architecture ({err})") from None
        if not all(isinstance(label, str) for label in labels):
            raise ModelFileError(directory / LABELS_FILE, "must be a JSON array of label names (strings)")
        outputs = model.outputs[0].shape[-1]
        if outputs != len(labels):
            raise ModelFileError(directory / LABELS_FILE, f"names {len(labels)} labels but the model has {outputs} "
                                                          "outputs")
        metrics_path = directory / METRICS_FILE
        return cls(
            model=model,
            tokenizer=WordTokenizer.load(directory / TOKENIZER_FILE),
            labels=tuple(labels),
            config=architecture,
            oos_label=config.pop("oos_label", None),
            info=config,
            metrics=_read_object(metrics_path, dict) if metrics_path.is_file() else {},
            directory=directory,
        )


def _read_object(path: Path, kind: type):
    """A JSON file of a model directory, refused with a one-line error when damaged."""
    try:
        data = fileio.read_json(path)
    except (OSError, ValueError) as err:
        raise ModelFileError(path, f"cannot read it as JSON ({err})") from None
    if not isinstance(data, kind):
        raise ModelFileError(path, f"expected a JSON {'object' if kind is dict else 'array'}")
    return data
