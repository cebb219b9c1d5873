"""`tfcompress compress`: structured (or pruned) model at a size target, fine-tuned on the task."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace

import numpy as np

from tfcompress.artifacts import TrainedModel
from tfcompress.backend import keras, tf
from tfcompress.compression.finetune import FitData, compress_and_finetune
from tfcompress.compression.plan import DEFAULT_ALLOCATION, DEFAULT_CMR, DEFAULT_DOPING_SHARE, plan_compression
from tfcompress.compression.vocabulary import truncate_vocabulary
from tfcompress.data import IntentDataset
from tfcompress.errors import TfcompressError
from tfcompress.layers.structured import sparse_storage_bytes
from tfcompress.models import build_classifier, matrices
from tfcompress.training import evaluate_float

BIAS_BYTES = 4  # TFLite stores int32 biases


@dataclass(frozen=True)
class CompressOptions:
    method: str = "dkp"
    target_ratio: float | None = 25.0
    target_bytes: int | None = None
    layers: tuple[str, ...] = ()  # empty: every matrix worth compressing
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 5
    allocation: float = DEFAULT_ALLOCATION  # budget ~ size ** allocation across matrices
    doping_share: float = DEFAULT_DOPING_SHARE
    cmr: float = DEFAULT_CMR
    anneal_fraction: float = 0.5  # dkp / prune: share of the fine-tuning steps spent reaching the target
    vocab_size: int | None = None  # keep this many ids (most frequent words) before compressing; not for small
    label_smoothing: float = 0.1  # bounds the logits, so the int8 output keeps their order (docs/compression.md)
    seed: int = 0


def parse_target(text: str) -> tuple[float | None, int | None]:
    """'25x' -> ratio 25; '20kb' / '20480' -> bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(x|kb|kib|b)?\s*", text.lower())
    if not m:
        raise TfcompressError(f"bad target {text!r}: use a ratio like 25x or a size like 20kb")
    value, unit = float(m.group(1)), m.group(2) or "b"
    if unit == "x":
        return value, None
    return None, int(value * (1024 if unit in ("kb", "kib") else 1))


def model_bytes(model) -> tuple[int, dict[str, int]]:
    """(total, per matrix) storage bytes of a classifier at int8, as the planner counts them."""
    per = {name: m.storage_bytes() for name, m in matrices(model).items()}
    return per_total(model, per), per


def per_total(model, per: dict[str, int]) -> int:
    biases = sum(int(np.prod(w.shape)) for w in model.weights if "bias" in w.name)
    return sum(per.values()) + BIAS_BYTES * biases


def compress_model(trained: TrainedModel, dataset: IntentDataset, options: CompressOptions,
                   verbose: int | None = None) -> tuple[TrainedModel, dict]:
    """Returns the fine-tuned compressed model and its report."""
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    dense = matrices(trained.model)
    if not dense or any(m.structure.kind != "dense" for m in dense.values()):
        raise TfcompressError("compress needs an uncompressed tfcompress classifier (made by `tfcompress train`)")
    base_bytes, _ = model_bytes(trained.model)
    target = options.target_bytes if options.target_bytes is not None else base_bytes / options.target_ratio
    before = trained.metrics or evaluate_float(trained, dataset)
    if options.method == "small":
        compressed = _train_small_dense(trained, dataset, target, options, verbose)
        report = _report(trained, compressed, base_bytes, target, options, before)
        compressed.info["compression"] = report
        return compressed, report
    source = truncate_vocabulary(trained, options.vocab_size) if options.vocab_size else trained
    fixed = per_total(source.model, {})
    shapes = {n: (m.rows, m.cols) for n, m in matrices(source.model).items()}
    plans = plan_compression(shapes, fixed, options.method, target, only=set(options.layers) or None,
                             allocation=options.allocation, doping_share=options.doping_share, cmr=options.cmr)
    data = FitData(source.tokenizer.encode_batch(dataset.train.texts), np.asarray(dataset.label_ids(dataset.train)),
                   source.tokenizer.encode_batch(dataset.valid.texts), np.asarray(dataset.label_ids(dataset.valid)))
    structures = {p.name: p.structure.to_json() for p in plans if p.structure is not None}
    config = replace(source.config, structures={**source.config.structures, **structures})
    model = compress_and_finetune(source.model, lambda: build_classifier(config), data, plans, options, verbose)
    if options.method == "prune":
        config = source.config
    compressed = TrainedModel(model=model, tokenizer=source.tokenizer, labels=trained.labels, config=config,
                              oos_label=trained.oos_label,
                              info={**trained.info, "parameters": int(model.count_params()),
                                    "compression": {"method": options.method}})
    compressed.metrics = evaluate_float(compressed, dataset)
    report = _report(trained, compressed, base_bytes, target, options, before)
    compressed.info["compression"] = report
    return compressed, report


def _train_small_dense(trained, dataset, target, options, verbose) -> TrainedModel:
    """The like-for-like baseline: an uncompressed classifier of the same family within the byte budget,
    trained from scratch. Shrinks the embedding and hidden widths (keeping their proportion) and the
    vocabulary (full, 1/2, 1/4 ...); the largest model that fits wins."""
    from tfcompress.training import TrainOptions, train_classifier

    base = TrainOptions(**trained.info["training"])
    cfg = trained.config
    head_per_dim = cfg.head_units / cfg.embedding_dim
    rnn_per_dim = cfg.rnn_units / cfg.embedding_dim
    best = None
    for fraction in (1, 2, 4, 8, 16):
        vocab = max(16, cfg.vocab_size // fraction)
        for dim in range(cfg.embedding_dim, 1, -1):
            candidate = replace(base, vocab_size=vocab, embedding_dim=dim, head_units=max(2, round(head_per_dim * dim)),
                                rnn_units=max(2, round(rnn_per_dim * dim)), max_length=cfg.max_length)
            size = model_bytes(build_classifier(replace(
                cfg, vocab_size=vocab, embedding_dim=dim, head_units=candidate.head_units,
                rnn_units=candidate.rnn_units)))[0]
            if size <= target:
                if best is None or size > best[0]:
                    best = (size, candidate)
                break
    if best is None:
        raise TfcompressError(f"no dense {cfg.encoder} classifier fits in {target:,.0f} bytes")
    small = train_classifier(dataset, replace(best[1], seed=options.seed, label_smoothing=options.label_smoothing),
                             verbose=verbose)
    small.info["compression"] = {"method": "small"}
    return small


def _report(base, compressed, base_bytes, target, options, before) -> dict:
    dense = matrices(base.model)
    rows = []
    for name, matrix in matrices(compressed.model).items():
        if options.method == "prune":
            nnz = int(np.count_nonzero(matrix.to_dense()))
            size = matrix.rows * matrix.cols if nnz == matrix.rows * matrix.cols else \
                sparse_storage_bytes(matrix.rows, matrix.cols, nnz)
            structure = {"kind": "pruned", "density": nnz / (matrix.rows * matrix.cols)}
            params = nnz
        else:
            size, params, structure = matrix.storage_bytes(), matrix.parameter_count(), matrix.structure.to_json()
            structure = {k: v for k, v in structure.items() if v not in (0, 0.0, [0, 0])}
        original = dense[name].rows * dense[name].cols
        rows.append({"matrix": name, "shape": [matrix.rows, matrix.cols], "structure": structure,
                     "dense_parameters": original, "parameters": params, "bytes": size,
                     "ratio": original / max(size, 1)})
    total = per_total(compressed.model, {r["matrix"]: r["bytes"] for r in rows})
    notes = []
    if options.method == "dkp":
        notes.append("the builtin-op .tflite stores each doping matrix S densified (int8), so the .tflite is larger "
                     "than the bytes counted here; the fused custom op stores S sparse")
    if options.method == "prune":
        notes.append("the .tflite stores pruned matrices dense; the bytes here count their sparse storage")
    return {
        "method": options.method,
        "target_bytes": int(target),
        "uncompressed_bytes": base_bytes,
        "compressed_bytes": total,
        "ratio": base_bytes / total,
        "matrices": rows,
        "accuracy_before": {k: v.get("accuracy") for k, v in before.items()},
        "accuracy_after": {k: v.get("accuracy") for k, v in compressed.metrics.items()},
        "metrics_before": before,
        "metrics_after": compressed.metrics,
        "options": {k: v for k, v in vars(options).items()},
        "notes": notes,
    }


def format_report(report: dict) -> str:
    lines = [f"{report['method']}: {report['uncompressed_bytes']:,} -> {report['compressed_bytes']:,} bytes "
             f"({report['ratio']:.1f}x; target {report['target_bytes']:,})",
             f"{'matrix':<20}{'shape':>12}{'dense params':>14}{'params':>10}{'bytes':>10}{'ratio':>8}  structure"]
    for r in report["matrices"]:
        s = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in r["structure"].items()}
        lines.append(f"{r['matrix']:<20}{'x'.join(map(str, r['shape'])):>12}{r['dense_parameters']:>14,}"
                     f"{r['parameters']:>10,}{r['bytes']:>10,}{r['ratio']:>7.1f}x  {s}")
    for split in report["accuracy_after"]:
        b, a = report["accuracy_before"].get(split), report["accuracy_after"][split]
        lines.append(f"{split} accuracy: {b:.4f} -> {a:.4f}" if b is not None else f"{split} accuracy: {a:.4f}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)
