"""Train an intent classifier: fit the tokenizer, build the model, early-stop on validation."""

from __future__ import annotations

import sys
from dataclasses import asdict

import numpy as np

from tfcompress.artifacts import TrainedModel
from tfcompress.backend import keras, quiet_native_stderr, tf
from tfcompress.data import IntentDataset
from tfcompress.metrics import intent_metrics
from tfcompress.models import ClassifierConfig, build_classifier
from tfcompress.options import TrainOptions
from tfcompress.tokenizer import WordTokenizer

__all__ = ["TrainOptions", "train_classifier", "evaluate_float", "classification_loss", "distillation_loss",
           "DISTILL_TEMPERATURE"]

DISTILL_TEMPERATURE = 2.0  # softens the teacher's and the student's distributions (Hinton et al. 2015)


def classification_loss(label_smoothing: float = 0.0):
    """Cross-entropy on logits for integer labels, optionally label-smoothed. Smoothing bounds the
    logits' range, which is what the int8 output's step is made of (docs/compression.md)."""
    if not label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    smoothed = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)

    def loss(labels, logits):
        labels = tf.cast(tf.reshape(labels, tf.shape(logits)[:-1]), tf.int32)
        return smoothed(tf.one_hot(labels, tf.shape(logits)[-1]), logits)

    return loss


def distillation_loss(label_smoothing: float, weight: float, temperature: float = DISTILL_TEMPERATURE):
    """Labels and a teacher's logits packed as [label, logits...] per row: (1 - weight) x the
    classification loss + weight x T^2 x KL(teacher || student) at temperature T, the soft targets
    that carry what the uncompressed model learned about which intents resemble each other."""
    hard = classification_loss(label_smoothing)

    def loss(packed, logits):
        labels, teacher = packed[:, :1], packed[:, 1:]
        soft = keras.losses.kl_divergence(tf.nn.softmax(teacher / temperature), tf.nn.softmax(logits / temperature))
        return (1 - weight) * hard(labels, logits) + weight * temperature ** 2 * tf.reduce_mean(soft)

    return loss


def packed_accuracy(packed, logits):
    """Accuracy on the label column of [label, teacher logits...] rows (named so Keras logs val_accuracy)."""
    return keras.metrics.sparse_categorical_accuracy(packed[:, :1], logits)


packed_accuracy.__name__ = "accuracy"


def train_classifier(dataset: IntentDataset, options: TrainOptions = TrainOptions(), verbose: int | None = None):
    """Returns a TrainedModel with validation and (if the set has one) test metrics."""
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    tokenizer = WordTokenizer.fit(dataset.train.texts, options.vocab_size, options.max_length)
    config = ClassifierConfig(
        num_classes=len(dataset.labels),
        vocab_size=tokenizer.vocab_size,
        max_length=tokenizer.max_length,
        encoder=options.encoder,
        embedding_dim=options.embedding_dim,
        rnn_units=options.rnn_units,
        head_units=options.head_units,
        dropout=options.dropout,
    )
    model = build_classifier(config)
    model.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate),
        loss=classification_loss(options.label_smoothing),
        metrics=["accuracy"],
    )
    x_train = tokenizer.encode_batch(dataset.train.texts)
    y_train = np.asarray(dataset.label_ids(dataset.train))
    valid_texts, y_valid = dataset.fit_rows(dataset.valid)  # without intents absent from training
    x_valid = tokenizer.encode_batch(valid_texts)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=options.patience, restore_best_weights=True, mode="max"
    )
    with quiet_native_stderr():
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_valid, y_valid),
            epochs=options.epochs,
            batch_size=options.batch_size,
            callbacks=[stop],
            verbose=verbose,
        )
    trained = TrainedModel(
        model=model,
        tokenizer=tokenizer,
        labels=dataset.labels,
        config=config,
        oos_label=dataset.oos_label,
        info={"dataset": dataset.name, "dataset_spec": dataset.spec, "training": asdict(options),
              "epochs_run": len(history.history["loss"]), "parameters": int(model.count_params())},
    )
    trained.metrics = evaluate_float(trained, dataset)
    return trained


def evaluate_float(trained: TrainedModel, dataset: IntentDataset) -> dict:
    """Float-model metrics on the validation split and, if present, the test split."""
    result = {}
    for name, split in (("valid", dataset.valid), ("test", dataset.test)):
        if split is not None:
            y = np.asarray(dataset.label_ids(split, trained.labels))
            result[name] = intent_metrics(y, trained.predict(split.texts), trained.labels, trained.oos_label)
    return result
