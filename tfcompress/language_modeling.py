"""Word-level language models: training, perplexity, and compression of their recurrent layers
(the DKP paper's experiment, scaled to a 2-core CPU)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np

from tfcompress import fileio
from tfcompress.backend import keras, quiet_native_stderr
from tfcompress.compression.finetune import FitData, compress_and_finetune
from tfcompress.compression.plan import plan_compression
from tfcompress.data.corpus import Corpus
from tfcompress.models import LanguageModelConfig, build_language_model, matrices
from tfcompress.options import LM_METHODS, CompressOptions, LMOptions, OptionError
from tfcompress.outputs import OutputKind, check_output

RECURRENT_MATRICES = ("encoder.input", "encoder.recurrent")
LM_MODEL_OUTPUT = OutputKind("language-model directory", "tfcompress-language-model", "config.json",
                             frozenset({"model.keras", "config.json", "metrics.json"}))
LM_RESULTS_OUTPUT = OutputKind("language-model benchmark file", "tfcompress-lm-benchmark")


def windows(ids: np.ndarray, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows: inputs ids[k:k+T], targets ids[k+1:k+T+1]."""
    count = (len(ids) - 1) // seq_length
    x = ids[: count * seq_length].reshape(count, seq_length)
    y = ids[1: count * seq_length + 1].reshape(count, seq_length)
    return x, y


def perplexity(model: keras.Model, ids: np.ndarray, seq_length: int, batch_size: int = 64) -> float:
    """exp(mean cross-entropy) over every predicted token of `ids` (windows without carried state)."""
    x, y = windows(ids, seq_length)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    total = 0.0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size], training=False)
        total += float(loss(y[start:start + batch_size], logits))
    return math.exp(total / y.size)


def _fit_data(corpus: Corpus, seq_length: int) -> FitData:
    x, y = windows(corpus.train, seq_length)
    xv, yv = windows(corpus.valid, seq_length)
    return FitData(x, y, xv, yv, monitor="val_loss", mode="min", metrics=[])


def train_language_model(corpus: Corpus, options: LMOptions = LMOptions(), verbose: int | None = None):
    """Returns (model, config, {"valid": ppl, "test": ppl, "seconds": ...})."""
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    keras.utils.set_random_seed(options.seed)
    config = LanguageModelConfig(corpus.vocab_size, options.seq_length, options.embedding_dim, options.rnn_units,
                                 options.cell, options.dropout)
    model = build_language_model(config)
    model.compile(optimizer=keras.optimizers.Adam(options.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = _fit_data(corpus, options.seq_length)
    stop = keras.callbacks.EarlyStopping(patience=options.patience, restore_best_weights=True)
    started = time.monotonic()
    with quiet_native_stderr():
        model.fit(data.x, data.y, validation_data=(data.x_valid, data.y_valid), epochs=options.epochs,
                  batch_size=options.batch_size, callbacks=[stop], verbose=verbose)
    metrics = {"valid": perplexity(model, corpus.valid, options.seq_length),
               "test": perplexity(model, corpus.test, options.seq_length),
               "seconds": round(time.monotonic() - started, 1)}
    return model, config, metrics


def save_language_model(directory, model, config: LanguageModelConfig, metrics: dict, force: bool = False,
                        inputs=()) -> Path:
    """model.keras, config.json and metrics.json, written aside and renamed into place."""
    with fileio.staged_directory(directory, LM_MODEL_OUTPUT, force, inputs) as staging:
        model.save(staging / "model.keras")
        fileio.write_json(staging / "config.json", {"format": LM_MODEL_OUTPUT.format, **config.to_json()})
        fileio.write_json(staging / "metrics.json", metrics)
    return Path(directory)


def load_language_model(directory):
    """(model, config, metrics) as written by `save_language_model`."""
    from tfcompress.errors import ModelFileError

    directory = Path(directory)
    try:
        model = keras.models.load_model(directory / "model.keras", compile=False)
        config = fileio.read_json(directory / "config.json")
        config.pop("format", None)
        return model, LanguageModelConfig(**config), fileio.read_json(directory / "metrics.json")
    except Exception as err:  # Keras and json raise many types for missing or damaged files
        raise ModelFileError(directory, f"not a complete language-model directory ({err})") from None


def _check_baseline(directory, config: LanguageModelConfig, corpus: Corpus, options: LMOptions) -> None:
    """A saved baseline must be the model these options and this corpus would train."""
    from tfcompress.errors import ModelFileError

    wanted = {"vocab_size": corpus.vocab_size, "seq_length": options.seq_length,
              "embedding_dim": options.embedding_dim, "rnn_units": options.rnn_units, "cell": options.cell}
    differ = {k: (getattr(config, k), v) for k, v in wanted.items() if getattr(config, k) != v}
    if differ:
        listed = ", ".join(f"{k} {saved} (asked: {asked})" for k, (saved, asked) in differ.items())
        raise ModelFileError(directory, f"holds a baseline trained with {listed}; use the same options and "
                                        "vocabulary size, or another --baseline")


def compress_recurrent(model, config: LanguageModelConfig, corpus: Corpus, options: CompressOptions,
                       verbose: int = 0):
    """The model with only its recurrent matrices compressed `options.target_ratio`x, fine-tuned."""
    dense = {n: m for n, m in matrices(model).items() if n in RECURRENT_MATRICES}
    shapes = {n: (m.rows, m.cols) for n, m in dense.items()}
    dense_bytes = sum(m.storage_bytes() for m in dense.values())
    plans = plan_compression(shapes, 0, options.method, dense_bytes / options.target_ratio, only=set(shapes),
                             roles={n: m.role for n, m in dense.items()},
                             doping_share=options.doping_share, cmr=options.cmr)
    structures = {p.name: p.structure.to_json() for p in plans if p.structure is not None}
    compressed_config = replace(config, structures=structures)
    compressed = compress_and_finetune(model, lambda: build_language_model(compressed_config),
                                       _fit_data(corpus, config.seq_length), plans, options, verbose).model
    return compressed, {"dense_bytes": dense_bytes, "bytes": sum(p.bytes for p in plans),
                        "structures": {p.name: (p.structure.to_json() if p.structure else {"sparsity": p.sparsity})
                                       for p in plans}}


def check_benchmark_request(ratio: float, methods, out_path=None, baseline_dir=None, force: bool = False,
                            corpus_paths=()) -> None:
    """Refuse bad methods or ratios, and output paths that are not earlier outputs or touch the
    corpus (or each other), before any work."""
    for method in methods:
        if method not in LM_METHODS:
            raise OptionError("method", method, f"one of {', '.join(LM_METHODS)}")
    if not (math.isfinite(ratio) and ratio > 1):
        raise OptionError("ratio", ratio, "> 1")
    if out_path is not None:
        check_output(out_path, LM_RESULTS_OUTPUT, (*corpus_paths, baseline_dir), force)
    if baseline_dir is not None and not LM_MODEL_OUTPUT.recognises(Path(baseline_dir)):
        check_output(baseline_dir, LM_MODEL_OUTPUT, tuple(corpus_paths), force)


def lm_compression_benchmark(corpus: Corpus, lm_options: LMOptions, ratio: float, methods, compress_epochs: int,
                             out_path=None, log: Callable[[str], None] = print, verbose: int = 0,
                             baseline_dir=None, force: bool = False) -> dict:
    """Train the LM (or load it from `baseline_dir` if it holds one; a new one is saved there), then
    compress its recurrent layers `ratio`x with each method; test perplexities. The output paths are
    checked before training (tfcompress.outputs)."""
    check_benchmark_request(ratio, methods, out_path, baseline_dir, force, corpus.source_paths)
    if baseline_dir is not None and LM_MODEL_OUTPUT.recognises(Path(baseline_dir)):
        model, config, metrics = load_language_model(baseline_dir)
        _check_baseline(baseline_dir, config, corpus, lm_options)
        log(f"uncompressed model loaded from {baseline_dir}")
    else:
        model, config, metrics = train_language_model(corpus, lm_options, verbose)
        if baseline_dir is not None:
            save_language_model(baseline_dir, model, config, metrics, force, tuple(corpus.source_paths))
    log(f"uncompressed: valid ppl {metrics['valid']:.1f}, test ppl {metrics['test']:.1f} ({metrics['seconds']} s)")
    results = {"format": LM_RESULTS_OUTPUT.format, "corpus": corpus.name, "options": asdict(lm_options),
               "ratio": ratio, "baseline": metrics, "runs": []}
    if out_path:
        fileio.write_json(out_path, results)
    for method in methods:
        started = time.monotonic()
        options = CompressOptions(method=method, target_ratio=ratio, epochs=compress_epochs, batch_size=
                                  lm_options.batch_size, learning_rate=lm_options.learning_rate, patience=1,
                                  label_smoothing=0.0)  # perplexity needs the unsmoothed distribution
        compressed, sizes = compress_recurrent(model, config, corpus, options, verbose)
        run = {"method": method, **sizes, "ratio": sizes["dense_bytes"] / sizes["bytes"],
               "valid": perplexity(compressed, corpus.valid, config.seq_length),
               "test": perplexity(compressed, corpus.test, config.seq_length),
               "seconds": round(time.monotonic() - started, 1)}
        results["runs"].append(run)
        log(f"{method}: recurrent {run['dense_bytes']:,} -> {run['bytes']:,} bytes ({run['ratio']:.1f}x), "
            f"test ppl {run['test']:.1f} ({run['seconds']} s)")
        if out_path:
            fileio.write_json(out_path, results)
    return results
