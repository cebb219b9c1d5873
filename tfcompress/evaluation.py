"""Desktop evaluation: the same metrics for the Keras float model and the int8 .tflite model."""

from __future__ import annotations

import numpy as np

from tfcompress.artifacts import TrainedModel
from tfcompress.data import IntentDataset
from tfcompress.interpreters import Int8Runner, golden_for
from tfcompress.metrics import intent_metrics


def dataset_split(dataset: IntentDataset, name: str):
    split = {"train": dataset.train, "valid": dataset.valid, "test": dataset.test}.get(name)
    if split is None:
        from tfcompress.errors import DatasetError

        raise DatasetError(dataset.name, f"has no {name!r} split")
    return split


def evaluate_float_and_int8(trained: TrainedModel, tflite: bytes | None, dataset: IntentDataset,
                            split: str = "test", interpreter: str | None = None) -> dict:
    """Metrics of both models on `split`; `tflite` None converts the model in memory, once the split
    and its labels have been checked against the model. `interpreter` None: the model's golden
    (tflm, or the integer reference for a model with TFC_ ops)."""
    data = dataset_split(dataset, split)
    y_true = np.asarray(dataset.label_ids(data, trained.labels))
    if tflite is None:
        from converters.tflite import convert_trained

        tflite = convert_trained(trained, dataset.train.texts)
    interpreter = interpreter or golden_for(tflite)
    ids = trained.tokenizer.encode_batch(data.texts)
    float_pred = np.argmax(trained.model.predict(ids, batch_size=256, verbose=0), axis=-1)
    int8_pred = np.argmax(Int8Runner(tflite, interpreter).run(ids), axis=-1)
    labels, oos = trained.labels, trained.oos_label
    return {
        "dataset": dataset.name,
        "split": split,
        "interpreter": interpreter,
        "float": intent_metrics(y_true, float_pred, labels, oos),
        "int8": intent_metrics(y_true, int8_pred, labels, oos),
        "float_int8_agreement": float(np.mean(float_pred == int8_pred)) if len(ids) else 0.0,
        "tflite_bytes": len(tflite),
    }
