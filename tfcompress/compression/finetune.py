"""Fine-tuning shared by every compressed model: weight transfer, the doping schedule, pruning."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tfcompress.backend import keras, quiet_native_stderr, tfmot
from tfcompress.structures import decompose
from tfcompress.compression.doping import DopingSchedule
from tfcompress.compression.plan import MatrixPlan
from tfcompress.models import matrices
from tfcompress.training import classification_loss, distillation_loss, packed_accuracy


@dataclass
class FitData:
    """Training and validation arrays and what early stopping watches."""

    x: np.ndarray
    y: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    monitor: str = "val_accuracy"
    mode: str = "max"
    metrics: list = field(default_factory=lambda: ["accuracy"])
    teacher: np.ndarray | None = None  # the uncompressed model's logits on x and x_valid, for distillation
    teacher_valid: np.ndarray | None = None


def _copy_weights(source, target) -> None:
    """Biases copied; each structured matrix initialised from its dense original (SVD, NKP, residual)."""
    src, dst = matrices(source), matrices(target)
    for name, matrix in dst.items():
        matrix.assign_from_dense(src[name].to_dense())
    for layer in target.layers:
        if not layer.weights:
            continue
        original = {w.name.rsplit("/", 1)[-1]: w for w in source.get_layer(layer.name).weights}
        for w in layer.weights:
            if "bias" in w.name:
                w.assign(original[w.name.rsplit("/", 1)[-1]])


@dataclass
class FineTuned:
    """A compressed model and how its fine-tuning went."""

    model: "keras.Model"
    history: dict[str, list[float]]  # Keras's per-epoch metrics
    anneal_epochs: int = 0  # epochs over which S (dkp) or the pruning mask reached its target density


INITIALISATION = {
    "lmf": "truncated SVD of each trained matrix",
    "hmf": "each trained matrix's first rows kept dense, the rest by truncated SVD",
    "kp": "the nearest Kronecker product of each trained matrix (Van Loan)",
    "dkp": "the nearest Kronecker product of each trained matrix, its whole residual as S",
    "prune": "the trained weights, pruned by magnitude with tensorflow-model-optimization",
}


def _fit(model, data: FitData, options, callbacks, verbose, start_from_epoch=0) -> dict:
    y, y_valid = data.y, data.y_valid
    loss, metrics = classification_loss(options.label_smoothing), data.metrics
    if getattr(options, "distill", 0) and data.teacher is not None:  # labels and soft targets, packed per row
        y = np.concatenate([np.asarray(data.y, np.float32)[:, None], data.teacher], axis=1)
        y_valid = np.concatenate([np.asarray(data.y_valid, np.float32)[:, None], data.teacher_valid], axis=1)
        loss, metrics = distillation_loss(options.label_smoothing, options.distill), [packed_accuracy]
    model.compile(optimizer=keras.optimizers.Adam(options.learning_rate), loss=loss, metrics=metrics)
    stop = keras.callbacks.EarlyStopping(monitor=data.monitor, mode=data.mode, patience=options.patience,
                                         restore_best_weights=True, start_from_epoch=start_from_epoch)
    with quiet_native_stderr():
        history = model.fit(data.x, y, validation_data=(data.x_valid, y_valid), epochs=options.epochs,
                            batch_size=options.batch_size, callbacks=[stop, *callbacks], verbose=verbose)
    return history.history


def _anneal_steps(data: FitData, options) -> tuple[int, int]:
    """(last annealing step, first epoch early stopping may act on)."""
    steps_per_epoch = math.ceil(len(data.x) / options.batch_size)
    end = max(1, int(options.anneal_fraction * options.epochs * steps_per_epoch))
    return end, math.ceil(end / steps_per_epoch)


def compress_and_finetune(model, build: Callable[[], "keras.Model"], data: FitData, plans: list[MatrixPlan],
                          options, verbose, log: Callable[[str], None] = lambda message: None) -> FineTuned:
    """The compressed model: `build()` (with the planned structures) initialised from `model` and
    fine-tuned, DKP with its doping schedule; or, for prune, `model` pruned with tfmot. `log` hears
    each phase as it starts."""
    log(f"initialising from {INITIALISATION[options.method]}")
    end, start = _anneal_steps(data, options) if options.method in ("dkp", "prune") else (0, 0)
    if start:
        thinned = "S is annealed from dense to its target density" if options.method == "dkp" else \
            "the pruning mask is annealed from dense to its target sparsity"
        log(f"{thinned} over the first {end:,} training steps (epochs 1-{start}), then frozen; accuracy dips "
            f"while it thins and recovers as fine-tuning goes on (early stopping acts only after epoch {start})")
    log(f"fine-tuning up to {options.epochs} epochs (learning rate {options.learning_rate:g}, label smoothing "
        f"{options.label_smoothing:g}, early stopping on {data.monitor} with patience {options.patience})")
    if options.method == "prune":
        compressed, history = _prune_and_finetune(model, data, plans, options, verbose, end, start)
    else:
        compressed = build()
        _copy_weights(model, compressed)
        callbacks = [DopingSchedule(matrices(compressed).values(), end, frequency=max(1, end // 20))] \
            if options.method == "dkp" else []
        history = _fit(compressed, data, options, callbacks, verbose, start_from_epoch=start)
    return FineTuned(compressed, history, start)


def _prune_and_finetune(source, data: FitData, plans: list[MatrixPlan], options, verbose, end: int, start: int):
    """Magnitude pruning with tensorflow-model-optimization, each matrix to its planned sparsity."""
    sparsity = {p.name: p.sparsity for p in plans}
    by_layer = {}
    for name, matrix in matrices(source).items():
        by_layer.setdefault(name.split(".")[0], []).append(sparsity.get(name, 0.0))

    def wrap(layer):
        fresh = layer.__class__.from_config(layer.get_config())  # never train or prune `source` itself
        target = max(by_layer.get(layer.name, [0.0]))
        if target <= 0:
            return fresh
        schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, target, begin_step=0, end_step=end,
                                                        frequency=max(1, end // 20))
        return tfmot.sparsity.keras.prune_low_magnitude(fresh, pruning_schedule=schedule)

    clone = keras.models.clone_model(source, clone_function=wrap)
    for layer in clone.layers:
        inner = getattr(layer, "layer", layer)  # inside the pruning wrapper
        inner.set_weights(source.get_layer(inner.name).get_weights())
    history = _fit(clone, data, options, [tfmot.sparsity.keras.UpdatePruningStep()], verbose, start_from_epoch=start)
    model = tfmot.sparsity.keras.strip_pruning(clone)
    # tfmot keeps every weight tied at its threshold; trim to exactly the planned count.
    for name, matrix in matrices(model).items():
        if sparsity.get(name, 0.0) > 0:
            w = matrix.to_dense()
            keep = decompose.largest_entries(w, round((1 - sparsity[name]) * w.size))
            matrix.w.assign(keep.to_dense())
    return model, history
