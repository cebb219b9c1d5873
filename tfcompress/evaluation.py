"""Desktop evaluation: the same metrics for the Keras float model and the int8 .tflite model."""

from __future__ import annotations

import numpy as np

from tfcompress.artifacts import TrainedModel
from tfcompress.data import IntentDataset
from tfcompress.runners import HostRunner, Runner
from tfcompress.metrics import intent_metrics


def dataset_split(dataset: IntentDataset, name: str):
    split = {"train": dataset.train, "valid": dataset.valid, "test": dataset.test}.get(name)
    if split is None:
        from tfcompress.errors import DatasetError

        raise DatasetError(dataset.name, f"has no {name!r} split")
    return split


def evaluate_float_and_int8(trained: TrainedModel, tflite: bytes | None, dataset: IntentDataset,
                            split: str = "test", interpreter: str | None = None, runner: Runner | None = None,
                            progress=None) -> dict:
    """Metrics of both models on `split`. The int8 model runs on `runner` (any Runner: a desktop
    interpreter, a board), by default a HostRunner of `tflite` on `interpreter` (None: the model's
    golden, tflm or the integer reference for a model with TFC_ ops); `tflite` None converts the
    model in memory, once the split and its labels have been checked against the model."""
    data = dataset_split(dataset, split)
    y_true = np.asarray(dataset.label_ids(data, trained.labels))
    if runner is None:
        if tflite is None:
            from converters.tflite import convert_trained

            tflite = convert_trained(trained, dataset.train.texts)
        runner = HostRunner(tflite, trained.tokenizer, interpreter)
    ids = trained.tokenizer.encode_batch(data.texts)
    float_pred = np.argmax(trained.model.predict(ids, batch_size=256, verbose=0), axis=-1)
    int8_pred = runner.run(data.texts, progress).predictions
    labels, oos = trained.labels, trained.oos_label
    return {
        "dataset": dataset.name,
        "split": split,
        "interpreter": runner.name,
        "float": intent_metrics(y_true, float_pred, labels, oos),
        "int8": intent_metrics(y_true, int8_pred, labels, oos),
        "float_int8_agreement": float(np.mean(float_pred == int8_pred)) if len(ids) else 0.0,
        "tflite_bytes": len(tflite) if tflite is not None else None,
    }
