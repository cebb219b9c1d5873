"""`tfcompress compress`: structured (or pruned) model at a size target, fine-tuned on the task."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from tfcompress.artifacts import TrainedModel
from tfcompress.backend import keras, tf
from tfcompress.compression.finetune import FitData, compress_and_finetune
from tfcompress.compression.plan import TargetError, plan_compression
from tfcompress.compression.search import Candidate, Probe, search_plan
from tfcompress.compression.vocabulary import truncate_vocabulary
from tfcompress.data import IntentDataset
from tfcompress.errors import TfcompressError
from tfcompress.structures.spec import pruned_storage_bytes
from tfcompress.models import build_classifier, matrices
from tfcompress.options import AUTO, METHODS, CompressOptions
from tfcompress.training import evaluate_float

BIAS_BYTES = 4  # TFLite stores int32 biases
SIZE_SAMPLES = 16  # calibration examples for measuring a .tflite's size (deployable_bytes)
LARGE_DROP = 0.05  # a validation-accuracy loss above this gets suggestions in the report


def model_bytes(model) -> tuple[int, dict[str, int]]:
    """(total, per matrix) storage bytes of a classifier at int8, as the planner counts them."""
    per = {name: m.storage_bytes() for name, m in matrices(model).items()}
    return per_total(model, per), per


def per_total(model, per: dict[str, int]) -> int:
    biases = sum(int(np.prod(w.shape)) for w in model.weights if "bias" in w.name)
    return sum(per.values()) + BIAS_BYTES * biases


def compress_model(trained: TrainedModel, dataset: IntentDataset, options: CompressOptions,
                   verbose: int | None = None, log: Callable[[str], None] = lambda message: None,
                   measure_tflite: bool = True) -> tuple[TrainedModel, dict]:
    """Returns the fine-tuned compressed model and its report. `log` hears each phase as it starts;
    `measure_tflite` converts both models to int8 to report the deployable .tflite bytes. Method
    auto: every method, the best by validation accuracy (its report lists them all in `auto`)."""
    base_bytes, target = _check_inputs(trained, dataset, options)
    if options.method == AUTO:
        return _compress_auto(trained, dataset, options, verbose, log, measure_tflite)
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    before = trained.metrics or evaluate_float(trained, dataset)
    if options.method == "small":
        log(f"training a dense {trained.config.encoder} classifier from scratch within {target:,.0f} bytes")
        compressed, history = _train_small_dense(trained, dataset, target, options, verbose), None
    else:
        cut = options.vocab_size and options.vocab_size < trained.config.vocab_size
        log(f"planning {options.method} to {target:,.0f} bytes (the uncompressed model counts {base_bytes:,} bytes "
            "at int8" + (f"; vocabulary cut to {options.vocab_size:,} ids)" if cut else ")"))
        compressed, history = _compress_structured(trained, dataset, target, options, verbose, log)
        log(_fine_tuning_summary(history, before.get("valid", {}).get("accuracy"), options.method))
    report = _report(trained, compressed, base_bytes, target, options, before)
    report["fine_tuning"] = history
    if measure_tflite:
        report["tflite_bytes"] = _tflite_sizes(trained, compressed, dataset, log)
    compressed.info["compression"] = report
    return compressed, report


def _tflite_sizes(trained: TrainedModel, compressed: TrainedModel, dataset: IntentDataset, log) -> dict:
    log("measuring the deployable int8 .tflite of the uncompressed and the compressed model")
    return {"uncompressed": deployable_bytes(trained, dataset, "builtin"),
            "compressed": deployable_bytes(compressed, dataset, "custom"),
            "compressed_builtin": deployable_bytes(compressed, dataset, "builtin")}


def _check_inputs(trained: TrainedModel, dataset: IntentDataset, options: CompressOptions) -> tuple[int, float]:
    """(the model's bytes, the target's) after refusing what no method can compress."""
    dense = matrices(trained.model)
    if not dense or any(m.structure.kind != "dense" for m in dense.values()):
        raise TfcompressError("compress needs an uncompressed tfcompress classifier (made by `tfcompress train`)")
    dataset.check_labels(trained.labels)
    base_bytes, _ = model_bytes(trained.model)
    target = options.target_bytes if options.target_bytes is not None else base_bytes / options.target_ratio
    if target >= base_bytes:
        raise TfcompressError(f"target {target:,.0f} bytes is not below the model's {base_bytes:,} bytes at int8: "
                              "nothing to compress")
    return base_bytes, target


def _compress_auto(trained, dataset, options, verbose, log, measure_tflite) -> tuple[TrainedModel, dict]:
    """Every method at the target with the same search; the one with the best validation accuracy
    (ties: the smaller model) is kept, its report carrying the table of all (`auto`)."""
    rows, best = [], None
    for method in METHODS:
        log(f"auto: {method}")
        started = time.monotonic()
        method_options = replace(options, method=method, vocab_size=None if method == "small" else options.vocab_size)
        try:
            model, report = compress_model(trained, dataset, method_options, verbose, log=lambda m: log("  " + m),
                                           measure_tflite=False)
        except TfcompressError as err:  # a target this method cannot reach
            rows.append({"method": method, "error": str(err), "seconds": round(time.monotonic() - started, 1)})
            continue
        rows.append({"method": method, "bytes": report["compressed_bytes"],
                     "valid_accuracy": report["accuracy_after"]["valid"],
                     "seconds": round(time.monotonic() - started, 1)})
        if best is None or (rows[-1]["valid_accuracy"], -rows[-1]["bytes"]) > (best[2]["valid_accuracy"],
                                                                               -best[2]["bytes"]):
            best = (model, report, rows[-1])
    if best is None:
        raise TfcompressError("no method reaches the target: " + "; ".join(f"{r['method']}: {r['error']}"
                                                                         for r in rows))
    model, report, row = best
    log(format_auto(rows, row["method"]))
    if measure_tflite:
        report["tflite_bytes"] = _tflite_sizes(trained, model, dataset, log)
    report["auto"] = {"chosen": row["method"], "methods": rows}
    model.info["compression"] = report
    return model, report


def format_auto(rows: list[dict], chosen: str) -> str:
    """The table `compress --method auto` prints: every method, the chosen one marked."""
    lines = [f"{'method':<8}{'bytes':>10}{'valid accuracy':>16}{'seconds':>10}"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['method']:<8}{'':>10}{'cannot reach the target':>26}")
            continue
        mark = "  <- kept" if r["method"] == chosen else ""
        lines.append(f"{r['method']:<8}{r['bytes']:>10,}{r['valid_accuracy']:>15.2%}{r['seconds']:>10.1f}{mark}")
    return "\n".join(lines)


def _compress_structured(trained, dataset, target, options, verbose, log) -> tuple[TrainedModel, dict]:
    """Choose the vocabulary and the budget's allocation by validation (compression.search, unless
    options fix them), plan, initialise and fine-tune (every method but small); returns the model
    and its fine-tuning history."""
    teacher = teacher_valid = None
    valid_texts, valid_ids = dataset.fit_rows(dataset.valid)  # without intents absent from training
    if options.distill:  # the uncompressed model's logits: the soft targets, whatever vocabulary is chosen
        log(f"distilling from the uncompressed model (weight {options.distill:g} on its soft targets)")
        teacher = trained.logits(dataset.train.texts).astype(np.float32)
        teacher_valid = trained.logits(valid_texts).astype(np.float32)

    def prepared(candidate: Candidate):
        """The model cut to the candidate's vocabulary, its plan at the target, config, data and bytes."""
        source = truncate_vocabulary(trained, candidate.vocab_size)
        found = matrices(source.model)
        plans = plan_compression({n: (m.rows, m.cols) for n, m in found.items()}, per_total(source.model, {}),
                                 options.method, target, only=set(options.layers) or None,
                                 allocation=candidate.allocation, roles={n: m.role for n, m in found.items()},
                                 doping_share=options.doping_share, cmr=options.cmr)
        data = FitData(source.tokenizer.encode_batch(dataset.train.texts),
                       np.asarray(dataset.label_ids(dataset.train)), source.tokenizer.encode_batch(valid_texts),
                       valid_ids, teacher=teacher, teacher_valid=teacher_valid)
        structures = {p.name: p.structure.to_json() for p in plans if p.structure is not None}
        config = replace(source.config, structures={**source.config.structures, **structures})
        planned = {p.name: p.bytes for p in plans}
        size = per_total(source.model, {n: planned.get(n, m.storage_bytes()) for n, m in found.items()})
        return source, plans, config, data, size

    def probe(candidate: Candidate, probe_options) -> Probe:
        try:
            source, plans, config, data, size = prepared(candidate)
        except TargetError:
            return Probe(candidate, 0, None, "")
        tuned = compress_and_finetune(source.model, lambda: build_classifier(config), data, plans, probe_options, 0)
        return Probe(candidate, size, float(max(tuned.history["val_accuracy"])), _plan_line(plans))

    chosen, probes = search_plan(trained.config.vocab_size, probe, options, log)
    keras.utils.set_random_seed(options.seed)  # the final run as if the options had named the choice
    source, plans, config, data, _ = prepared(chosen)
    for p in plans:
        log(f"  {p.name} {p.rows}x{p.cols}: {_describe(p)}, {p.bytes:,} bytes")
    tuned = compress_and_finetune(source.model, lambda: build_classifier(config), data, plans, options, verbose, log)
    compressed = TrainedModel(model=tuned.model, tokenizer=source.tokenizer, labels=trained.labels,
                              config=source.config if options.method == "prune" else config,
                              oos_label=trained.oos_label,
                              info={**trained.info, "parameters": int(tuned.model.count_params()),
                                    "compression": {"method": options.method}})
    compressed.metrics = evaluate_float(compressed, dataset)
    history = {"epochs_run": len(tuned.history["loss"]), "anneal_epochs": tuned.anneal_epochs,
               "valid_accuracy": [float(v) for v in tuned.history.get("val_accuracy", [])],
               "plan_search": {"vocab_size": chosen.vocab_size, "of": trained.config.vocab_size,
                               "allocation": chosen.allocation, "probes": [p.as_dict() for p in probes]}}
    return compressed, history


def _describe(plan) -> str:
    return plan.structure.describe(plan.rows, plan.cols) if plan.structure else \
        f"pruned to {1 - plan.sparsity:.2%} of its entries"


def _plan_line(plans) -> str:
    return "; ".join(f"{p.name} {_describe(p)}" for p in plans)


def _fine_tuning_summary(history: dict, valid_before: float | None, method: str) -> str:
    accuracy, annealing = history["valid_accuracy"], history["anneal_epochs"]
    text = f"fine-tuned {history['epochs_run']} epochs"
    if not accuracy:
        return text
    if annealing:
        low = int(np.argmin(accuracy[:annealing]))
        what = "S thinned" if method == "dkp" else "the weights were pruned"
        text += f"; validation accuracy fell to {accuracy[low]:.2%} at epoch {low + 1} while {what}"
    after = accuracy[annealing:] or accuracy  # the epochs early stopping chooses from
    best = int(np.argmax(after)) + len(accuracy) - len(after)
    text += f"; best {'after annealing ' if annealing else ''}{accuracy[best]:.2%} at epoch {best + 1}"
    return text + (f" (uncompressed: {valid_before:.2%})" if valid_before is not None else "")


def deployable_bytes(trained: TrainedModel, dataset: IntentDataset, ops: str) -> int:
    """Bytes of the int8 .tflite `convert --ops OPS` writes for `trained`: the calibration data
    sets the quantisation values, not the file's size, so a few examples measure it."""
    from converters.bundle import convert_graph
    from converters.tflite import representative_sample

    calibration = representative_sample(trained.tokenizer.encode_batch(dataset.train.texts), SIZE_SAMPLES)
    return len(convert_graph(trained, calibration, ops)[0])


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
            size = pruned_storage_bytes(matrix.rows, matrix.cols, nnz, matrix.role)
            structure = {"kind": "pruned", "density": nnz / (matrix.rows * matrix.cols)}
            description = "dense" if nnz == matrix.rows * matrix.cols else \
                f"pruned to {structure['density']:.2%} ({nnz:,} entries)"
            params = nnz
        else:
            size, params, structure = matrix.storage_bytes(), matrix.parameter_count(), matrix.structure.to_json()
            structure = {k: v for k, v in structure.items() if v not in (0, 0.0, [0, 0])}
            description = matrix.structure.describe(matrix.rows, matrix.cols)
        original = dense[name].storage_bytes()
        rows.append({"matrix": name, "shape": [matrix.rows, matrix.cols], "structure": structure,
                     "description": description, "dense_parameters": original, "parameters": params,
                     "bytes": size, "ratio": original / max(size, 1)})
    total = per_total(compressed.model, {r["matrix"]: r["bytes"] for r in rows})
    notes = []
    if options.method in ("dkp", "prune"):
        notes.append(f"{'S' if options.method == 'dkp' else 'a pruned matrix'} is stored sparse by the custom ops "
                     "(convert's default for compressed models); the builtin-op .tflite stores it dense")
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


def format_tflite_bytes(tflite_bytes: int, uncompressed_tflite_bytes: int | None, name: str = "int8 .tflite") -> str:
    """The deployable file's size beside the uncompressed model's, saying so when it is not smaller."""
    line = f"{name} {tflite_bytes:,} bytes"
    if uncompressed_tflite_bytes is None:
        return line
    theirs = f"the uncompressed model's {uncompressed_tflite_bytes:,} bytes"
    if tflite_bytes < uncompressed_tflite_bytes:
        return f"{line}, {uncompressed_tflite_bytes / tflite_bytes:.1f}x smaller than {theirs}"
    return f"{line}, NOT smaller than {theirs}: builtin TFLite ops store the structured matrices expanded " \
           "(convert --ops custom stores them at the bytes counted)"


def format_report(report: dict) -> str:
    lines = [f"{report['method']}: {report['uncompressed_bytes']:,} -> {report['compressed_bytes']:,} bytes counted "
             f"at int8 ({report['ratio']:.1f}x; target {report['target_bytes']:,})",
             f"{'matrix':<20}{'shape':>12}{'dense params':>14}{'params':>10}{'bytes':>10}{'ratio':>8}  structure"]
    for r in report["matrices"]:
        lines.append(f"{r['matrix']:<20}{'x'.join(map(str, r['shape'])):>12}{r['dense_parameters']:>14,}"
                     f"{r['parameters']:>10,}{r['bytes']:>10,}{r['ratio']:>7.1f}x  {r['description']}")
    if "tflite_bytes" in report:
        sizes = report["tflite_bytes"]
        lines.append(f"planned {report['compressed_bytes']:,} bytes; "
                     + format_tflite_bytes(sizes["compressed"], sizes["uncompressed"], "int8 .tflite (custom ops)")
                     + (f"; builtin ops {sizes['compressed_builtin']:,} bytes"
                        if "compressed_builtin" in sizes else ""))
    if "auto" in report:
        lines.append("method auto:\n" + format_auto(report["auto"]["methods"], report["auto"]["chosen"]))
    search = (report.get("fine_tuning") or {}).get("plan_search")
    if search:
        scored = [p for p in search["probes"] if p["valid_accuracy"] is not None]
        lines.append(f"plan: vocabulary {search['vocab_size']:,} of {search['of']:,} ids, allocation "
                     f"{search['allocation']:g}" + (f", chosen by validation among {len(search['probes'])} candidates "
                                                   f"({min(p['valid_accuracy'] for p in scored):.2%} to "
                                                   f"{max(p['valid_accuracy'] for p in scored):.2%} after the probe "
                                                   "epochs)" if scored else ""))
    for split in report["accuracy_after"]:
        b, a = report["accuracy_before"].get(split), report["accuracy_after"][split]
        lines.append(f"{split} accuracy: {b:.2%} -> {a:.2%}" if b is not None else f"{split} accuracy: {a:.2%}")
    lines += [f"note: {n}" for n in report["notes"]]
    before, after = report["accuracy_before"].get("valid"), report["accuracy_after"].get("valid")
    if before is not None and after is not None and before - after > LARGE_DROP:
        lines.append(f"hint: validation accuracy fell {100 * (before - after):.1f} points. Try a lower target "
                     f"(--target {max(2, round(report['ratio'] / 2))}x), more fine-tuning "
                     f"(--epochs {2 * report['options']['epochs']}), "
                     f"another --vocab-size, or compare the methods with "
                     f"`tfcompress pareto`")
    return "\n".join(lines)
