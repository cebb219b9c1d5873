"""The `tfcompress` command: thin click commands over the library.

Option types, choices and defaults come from the library's options dataclasses and constants
(`from_options`), so `--help`, validation and code agree; a bad value exits with code 2 and one
`Error:` line naming the option, a bad file or path with code 1 and one line naming it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
from pathlib import Path

import click

from tfcompress.device.profiles import DEFAULT_DEVICE
from tfcompress.errors import TfcompressError
from tfcompress.interpreters import GOLDEN, INTERPRETERS
from tfcompress.options import (CLASSIFIER_MATRICES, DEFAULT_CALIBRATION_SAMPLES, LM_METHODS, METHODS, OP_SETS,
                                CompressOptions, LMOptions, TrainOptions, field_type, parse_target)
from tfcompress.outputs import check_output


def _user_errors(func):
    """Print TfcompressError (and bad files) as one `Error:` line instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TfcompressError as err:
            raise click.ClickException(str(err)) from None
        except OSError as err:  # unreadable inputs, full disks, permissions: the file and the reason
            raise click.ClickException(f"{err.filename}: {err.strerror}" if err.filename else str(err)) from None

    return wrapper


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (which compare false with every bound)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def from_options(cls, name: str, *decls: str, **kwargs):
    """A click option for field `name` of an options dataclass, with the field's default and a
    click type made from its declared bounds or choices (tfcompress.options)."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    kwargs.setdefault("default", f.default)
    kwargs.setdefault("show_default", f.default is not None)
    if "choices" in f.metadata:
        kwargs["type"] = click.Choice(f.metadata["choices"])
    elif "bounds" in f.metadata:
        b = f.metadata["bounds"]
        ranged = click.IntRange if field_type(cls, name) is int else FiniteFloatRange
        kwargs["type"] = ranged(b.min, b.max, min_open=b.min_open, max_open=b.max_open)
    return click.option(*(decls or (f"--{name.replace('_', '-')}",)), **kwargs)


class TargetType(click.ParamType):
    """--target: a ratio above 1 (25x) or a size (20kb, 20480): (ratio, bytes) with one of them None."""

    name = "TARGET"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_target(value)
        except TfcompressError as err:
            self.fail(str(err), param, ctx)


class CommaList(click.ParamType):
    """A comma-separated list: each item one of `choices`, or a ratio above 1 when `choices` is None."""

    def __init__(self, choices: tuple[str, ...] | None = None, allow_empty: bool = False):
        self.choices, self.allow_empty = choices, allow_empty
        self.name = "NAME,..." if choices else "RATIO,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items and not self.allow_empty:
            self.fail("give at least one value", param, ctx)
        if self.choices is not None:
            for item in items:
                if item not in self.choices:
                    self.fail(f"{item!r} is not one of {', '.join(self.choices)}", param, ctx)
            return tuple(items)
        ratios = []
        for item in items:
            try:
                ratios.append(parse_target(item.lower().removesuffix("x") + "x")[0])
            except TfcompressError:
                self.fail(f"{item!r} is not a ratio above 1 (like 25 or 25x)", param, ctx)
        return tuple(ratios)


class OneLineHelpCommand(click.Command):
    """Lists itself in `tfcompress --help` with its whole first docstring line, never cut with '...'."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or (self.help or "").strip().split("\n")[0]


class Group(click.Group):
    command_class = OneLineHelpCommand


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of named datasets (default: $TFCOMPRESS_DATA_DIR, ./datasets, ../shared/datasets).")
results_option = click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
                              help="Results JSON (rewritten after every run).")
force_option = click.option(
    "--force", is_flag=True,
    help="Replace the output path even if it holds something other than an earlier output of this command.")

device_option = click.option(
    "--device", default=DEFAULT_DEVICE, show_default=True,
    help="A board of devices/ (see `tfcompress devices`) or the path of a device profile .json.")
strict_labels_option = click.option(
    "--strict-labels", is_flag=True,
    help="Refuse a dataset whose valid or test rows have intents absent from training (default: keep them; "
         "they are left out of early stopping and count as errors in evaluation, with a warning).")


def _load_dataset(spec, data_dir, strict_labels: bool, evaluated: str | None = None):
    """load_dataset, warning about the rows no model trained on it can know: of valid (left out of
    early stopping by train and compress) or of the `evaluated` split (counted as errors)."""
    from tfcompress.data import load_dataset

    dataset = load_dataset(spec, data_dir, strict_labels)
    note = dataset.unseen_note(evaluated or "valid", early_stopping=evaluated is None)
    if note:
        click.echo(f"warning: {note}", err=True)
    return dataset


port_option = click.option(
    "--port", default=None,
    help="Serial port of a board already running the firmware (/dev/ttyACM0, or socket://HOST:PORT for a QEMU "
         "started by `tfcompress flash`). Default: start the emulated board, or refuse for a real one.")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfcompress")
def main():
    """Train, compress and convert NLU models for TensorFlow Lite Micro boards."""


@main.command()
@click.option("--dataset", "dataset_spec", required=True,
              help="clinc150, snips, banking77, demo, or a folder/file of .jsonl/.csv.")
@data_dir_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Model directory to write.")
@force_option
@from_options(TrainOptions, "encoder")
@from_options(TrainOptions, "vocab_size", help="Word ids, the 2 reserved ones (padding, unknown) included.")
@from_options(TrainOptions, "max_length", help="Tokens per utterance (default: the 99th percentile of train).")
@from_options(TrainOptions, "embedding_dim")
@from_options(TrainOptions, "rnn_units", help="lstm, gru: units of the recurrent layer.")
@from_options(TrainOptions, "head_units", help="0 for no hidden layer.")
@from_options(TrainOptions, "dropout")
@from_options(TrainOptions, "epochs")
@from_options(TrainOptions, "batch_size")
@from_options(TrainOptions, "learning_rate")
@from_options(TrainOptions, "patience", help="Epochs without a validation-accuracy gain before stopping.")
@from_options(TrainOptions, "label_smoothing")
@from_options(TrainOptions, "seed")
@strict_labels_option
@_user_errors
def train(dataset_spec, data_dir, out_dir, force, strict_labels, **options):
    """Train an intent classifier; save model, tokenizer, labels and metrics."""
    from tfcompress.artifacts import MODEL_OUTPUT
    from tfcompress.data import dataset_paths
    from tfcompress.training import train_classifier

    inputs = dataset_paths(dataset_spec, data_dir)
    check_output(out_dir, MODEL_OUTPUT, inputs, force)
    dataset = _load_dataset(dataset_spec, data_dir, strict_labels)
    click.echo(f"dataset {dataset.name}: {len(dataset.train)} train, {len(dataset.valid)} valid, "
               f"{len(dataset.test) if dataset.test else 0} test, {len(dataset.labels)} intents", err=True)
    trained = train_classifier(dataset, TrainOptions(**options))
    trained.save(out_dir, force, (*inputs, *dataset.source_files()))
    click.echo(f"saved {out_dir} ({trained.info['parameters']:,} parameters)")
    click.echo(json.dumps(trained.metrics, indent=2))


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Artifact directory to write.")
@force_option
@click.option("--dataset", "dataset_spec", default=None, help="Calibration data (default: the training set).")
@data_dir_option
@click.option("--ops", "op_set", type=click.Choice(OP_SETS), default=None,
              help="custom: one fused TFC_ op per compressed layer, quantised by tfcompress (docs/ops.md), run by "
                   "`eval --interpreter c` and the firmware; builtin: stock TFLite ops for any interpreter, "
                   "structured layers lowered to many ops and sparse matrices stored dense. "
                   "[default: custom for a compressed model, else builtin]")
@click.option("--calibration-samples", type=click.IntRange(min=1), default=DEFAULT_CALIBRATION_SAMPLES,
              show_default=True,
              help="Training examples that calibrate the int8 activation ranges.")
@_user_errors
def convert(model_dir, out_dir, force, dataset_spec, data_dir, op_set, calibration_samples):
    """Convert a trained model to an int8 .tflite, C arrays and manifest.json."""
    from converters.bundle import BUNDLE_OUTPUT, MODEL_FILE, convert_model
    from tfcompress.artifacts import TrainedModel
    from tfcompress.compression.compress import format_tflite_bytes
    from tfcompress.data import dataset_paths, load_dataset

    check_output(out_dir, BUNDLE_OUTPUT, (model_dir, *dataset_paths(dataset_spec, data_dir)), force)
    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(dataset_spec or trained.dataset_spec(), data_dir)
    manifest = convert_model(trained, dataset, out_dir, calibration_samples, force, op_set)
    uncompressed = manifest["compression"].get("tflite_bytes", {}).get("uncompressed")
    click.echo(f"wrote {out_dir}: {manifest['operator_count']} ops ({', '.join(manifest['ops'])}); "
               + format_tflite_bytes(manifest["model"]["bytes"], uncompressed, MODEL_FILE))


@main.command("eval")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--tflite", "tflite_path", type=click.Path(path_type=Path), default=None,
              help="The .tflite (or a `convert` output directory) of this model, evaluated beside the float model.")
@click.option("--dataset", "dataset_spec", default=None, help="Default: the model's training dataset.")
@data_dir_option
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--interpreter", type=click.Choice(INTERPRETERS), default=None,
              help="Kernels for the int8 model: tflm is the golden the board must match; litert-ref and litert "
                   "differ from it by one LSB on some outputs; c is the model compiled to C over tfcompress's "
                   "kernels, equal to the golden; reference is the integer NumPy spec, the golden of models with "
                   "TFC_ ops, which only c and reference run (docs/interpreters.md). "
                   f"[default: {GOLDEN}, or reference for a model with TFC_ ops]")
@click.option("--firmware", "firmware_dir", type=click.Path(path_type=Path), default=None,
              help="Run the int8 model on a board instead: a `tfcompress build` folder of this model (the "
                   "emulated board starts by itself; a real one needs --port).")
@port_option
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@strict_labels_option
@_user_errors
def eval_command(model_dir, tflite_path, dataset_spec, data_dir, split, interpreter, firmware_dir, port, as_json,
                 strict_labels):
    """Metrics of the float Keras model and its int8 .tflite on one split."""
    from converters.bundle import read_tflite_for
    from tfcompress.artifacts import TrainedModel
    from tfcompress.evaluation import dataset_split, evaluate_float_and_int8

    trained = TrainedModel.load(model_dir)
    dataset = _load_dataset(dataset_spec or trained.dataset_spec(), data_dir, strict_labels, split)
    tflite = None
    if firmware_dir is not None:
        if tflite_path is not None or interpreter is not None:
            raise TfcompressError("--firmware runs the int8 model on the board: drop --tflite and --interpreter")
        firmware, runner = _device_runner(firmware_dir, port)
        with runner:
            firmware.check_built_from(trained, model_dir)
            with click.progressbar(length=len(dataset_split(dataset, split).texts), label=runner.name,
                                   file=sys.stderr) as bar:
                report = evaluate_float_and_int8(trained, None, dataset, split, runner=runner, progress=bar.update)
        click.echo(json.dumps(report, indent=2) if as_json else format_eval(report))
        return
    if tflite_path is None:
        click.echo("no --tflite given: converting the model in memory", err=True)
    else:
        tflite, warning = read_tflite_for(trained, tflite_path, str(model_dir))
        if warning:
            click.echo(f"warning: {warning}", err=True)
    report = evaluate_float_and_int8(trained, tflite, dataset, split, interpreter)
    click.echo(json.dumps(report, indent=2) if as_json else format_eval(report))


def format_eval(report: dict) -> str:
    keys = [k for k in report["float"] if k != "examples"]
    lines = [f"{report['dataset']} {report['split']} ({report['float']['examples']} examples), "
             f"int8 on {report['interpreter']}"
             + (f", .tflite {report['tflite_bytes']:,} bytes" if report["tflite_bytes"] is not None else ""),
             f"{'metric':<20}{'float':>10}{'int8':>10}"]
    lines += [f"{k:<20}{report['float'][k]:>10.4f}{report['int8'][k]:>10.4f}" for k in keys]
    lines.append(f"{'float/int8 agree':<20}{report['float_int8_agreement']:>20.4f}")
    return "\n".join(lines)


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Compressed model directory.")
@force_option
@from_options(CompressOptions, "method", help="small: a dense model of the same family trained from scratch to the "
                                              "size; auto: every method, the best by validation accuracy kept.")
@click.option("--target", type=TargetType(), default="25x", show_default=True,
              help="Whole-model ratio above 1 (25x) or size (20kb, 20480 bytes).")
@click.option("--target-kb", type=FiniteFloatRange(min=1 / 1024), default=None,
              help="Whole-model size in KiB (overrides --target).")
@click.option("--layers", type=CommaList(CLASSIFIER_MATRICES, allow_empty=True), default="",
              help=f"Comma-separated matrices to compress (default: all worth it): {', '.join(CLASSIFIER_MATRICES)}.")
@from_options(CompressOptions, "vocab_size",
              help="Keep only the most frequent words (the rest read as OOV) before compressing; not for small. "
                   "[default: chosen by validation among the whole vocabulary and 1/2 ... 1/16 of it]")
@click.option("--dataset", "dataset_spec", default=None, help="Fine-tuning data (default: the training set).")
@data_dir_option
@from_options(CompressOptions, "epochs")
@from_options(CompressOptions, "learning_rate")
@from_options(CompressOptions, "patience")
@from_options(CompressOptions, "allocation",
              help="Each matrix's budget ~ its size ** allocation (1: the same ratio for every matrix).")
@from_options(CompressOptions, "doping_share", help="dkp: budget share of S.")
@from_options(CompressOptions, "cmr", help="dkp: co-matrix dropout rate (dropout on S's entries while training).")
@from_options(CompressOptions, "anneal_fraction",
              help="dkp/prune: share of fine-tuning steps spent annealing to the target density.")
@from_options(CompressOptions, "label_smoothing",
              help="Keeps the logits' range small enough for the int8 output to order them (0: off).")
@from_options(CompressOptions, "distill",
              help="Weight of the uncompressed model's soft targets (its logits at temperature 2) beside the labels "
                   "in fine-tuning (0: labels only).")
@from_options(CompressOptions, "seed")
@strict_labels_option
@_user_errors
def compress(model_dir, out_dir, force, target, target_kb, layers, dataset_spec, data_dir, strict_labels, **options):
    """Compress a trained model to a size target and fine-tune it on the task."""
    from tfcompress.artifacts import MODEL_OUTPUT, TrainedModel
    from tfcompress.compression.compress import compress_model, format_report
    from tfcompress.data import dataset_paths

    check_output(out_dir, MODEL_OUTPUT, (model_dir, *dataset_paths(dataset_spec, data_dir)), force)
    ratio, size = (None, int(target_kb * 1024)) if target_kb is not None else target
    trained = TrainedModel.load(model_dir)
    dataset = _load_dataset(dataset_spec or trained.dataset_spec(), data_dir, strict_labels)
    inputs = (model_dir, *dataset.source_files())
    check_output(out_dir, MODEL_OUTPUT, inputs, force)
    options = CompressOptions(target_ratio=ratio, target_bytes=size, layers=layers, **options)
    compressed, report = compress_model(trained, dataset, options, log=lambda message: click.echo(message, err=True))
    compressed.save(out_dir, force, inputs)
    click.echo(format_report(report))
    click.echo(f"saved {out_dir}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--ratios", type=CommaList(), default="10,25,50", show_default=True,
              help="Whole-model compression ratios, each above 1.")
@click.option("--methods", type=CommaList(METHODS), default=",".join(METHODS), show_default=True)
@from_options(CompressOptions, "epochs", help="Fine-tuning epochs per run.")
@from_options(CompressOptions, "vocab_size", help="Truncate the vocabulary first (as compress --vocab-size).")
@results_option
@force_option
@data_dir_option
@_user_errors
def pareto(model_dir, ratios, methods, epochs, vocab_size, out_path, force, data_dir):
    """Benchmark: every compression method at every ratio, float and int8 test accuracy."""
    from tfcompress.artifacts import TrainedModel
    from tfcompress.benchmarks import PARETO_OUTPUT, format_pareto, pareto as run_pareto
    from tfcompress.data import load_dataset

    check_output(out_path, PARETO_OUTPUT, (model_dir,), force)
    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(trained.dataset_spec(), data_dir)
    results = run_pareto(trained, dataset, ratios, methods, epochs, out_path=out_path,
                         log=lambda m: click.echo(m, err=True), vocab_size=vocab_size, force=force)
    click.echo(format_pareto(results))


@main.command("kernel-costs")
@click.argument("compressed_dir", type=click.Path(path_type=Path))
@click.option("--baseline", "baseline_dir", type=click.Path(path_type=Path), required=True,
              help="The uncompressed model COMPRESSED_DIR was compressed from: its dense ops are the baseline.")
@click.option("--dataset", "dataset_spec", default=None,
              help="Inputs: its test split is timed, its training set calibrates (default: the model's training "
                   "dataset).")
@data_dir_option
@click.option("--repeats", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed passes over the test split per model (after one warm-up pass).")
@click.option("--calibration-samples", type=click.IntRange(min=1), default=DEFAULT_CALIBRATION_SAMPLES,
              show_default=True, help="Training examples that calibrate the int8 activation ranges.")
@click.option("--json", "as_json", is_flag=True, help="Print the full results as JSON.")
@_user_errors
def kernel_costs(compressed_dir, baseline_dir, dataset_spec, data_dir, repeats, calibration_samples, as_json):
    """Benchmark: MACs and host time of each layer's TFC_ kernel against the dense int8 op it replaces."""
    from tfcompress.artifacts import TrainedModel
    from tfcompress.data import load_dataset
    from tfcompress.kernel_costs import format_kernel_costs, kernel_costs as run_kernel_costs

    compressed = TrainedModel.load(compressed_dir)
    baseline = TrainedModel.load(baseline_dir)
    dataset = load_dataset(dataset_spec or compressed.dataset_spec(), data_dir)
    results = run_kernel_costs(compressed, baseline, dataset, calibration_samples, repeats,
                               log=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(results, indent=2) if as_json else format_kernel_costs(results))


@main.command("lm-benchmark")
@click.option("--corpus", "corpus_spec", default="wikitext-2", show_default=True,
              help="wikitext-2 (in the data directory) or a folder of train/valid/test.txt.")
@data_dir_option
@click.option("--vocab-size", type=click.IntRange(min=3), default=10000, show_default=True,
              help="Most frequent words kept, the rest <unk> (the softmax dominates CPU time).")
@click.option("--ratio", type=FiniteFloatRange(min=1, min_open=True), default=25.0, show_default=True,
              help="Compression of the recurrent layer.")
@click.option("--methods", type=CommaList(LM_METHODS, allow_empty=True),
              default="dkp,prune,hmf,lmf", show_default=True,
              help="Empty: only train (and time) the uncompressed model.")
@from_options(LMOptions, "embedding_dim")
@from_options(LMOptions, "rnn_units")
@from_options(LMOptions, "seq_length")
@from_options(LMOptions, "epochs", help="Training epochs of the uncompressed model.")
@click.option("--compress-epochs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Fine-tuning epochs per method.")
@results_option
@click.option("--baseline", "baseline_dir", type=click.Path(path_type=Path),
              help="Folder for the uncompressed model: loaded if it holds one, else the trained model is saved there.")
@force_option
@_user_errors
def lm_benchmark(corpus_spec, data_dir, vocab_size, ratio, methods, embedding_dim, rnn_units, seq_length, epochs,
                 compress_epochs, out_path, baseline_dir, force):
    """Benchmark: a word-level LSTM language model, its LSTM compressed by each method: perplexity."""
    from tfcompress.data.corpus import load_corpus
    from tfcompress.language_modeling import check_benchmark_request, lm_compression_benchmark

    check_benchmark_request(ratio, methods, out_path, baseline_dir, force)
    corpus = load_corpus(corpus_spec, data_dir, max_vocab=vocab_size)
    check_benchmark_request(ratio, methods, out_path, baseline_dir, force, corpus.source_paths)
    options = LMOptions(seq_length=seq_length, embedding_dim=embedding_dim, rnn_units=rnn_units, epochs=epochs)
    lm_compression_benchmark(corpus, options, ratio, methods, compress_epochs, out_path,
                             log=lambda m: click.echo(m, err=True), verbose=2, baseline_dir=baseline_dir, force=force)


@main.command()
@click.argument("tflite_path", type=click.Path(path_type=Path))
@click.option("--tensors/--no-tensors", default=True, show_default=True, help="List every tensor.")
@_user_errors
def inspect(tflite_path, tensors):
    """Print a .tflite model's operators, tensors, sizes and quantisation."""
    from converters.flatbuffer import read_model

    _, summary = read_model(tflite_path)
    click.echo(summary.format(str(tflite_path), show_tensors=tensors))


# -- the device half: boards, firmware, running and measuring on a board ---------------------------

def _device_runner(firmware_dir: Path, port: str | None):
    from tfcompress.device.build import Firmware
    from tfcompress.device.runner import DeviceRunner

    firmware = Firmware.load(firmware_dir)
    return firmware, DeviceRunner.start(firmware, port)


@main.command()
@_user_errors
def doctor():
    """Which tools each board and backend needs are installed, and how to get the others."""
    from tfcompress.device.doctor import format_checks, run_checks

    click.echo(format_checks(run_checks()))


@main.command()
@click.option("--fit", "fit_bundle", type=click.Path(path_type=Path), default=None,
              help="A converted model: build it for every board and list which it fits, with the room left.")
@click.option("--device", "fit_devices", multiple=True, help="With --fit: only these boards (repeatable).")
@click.option("--backend", type=click.Choice(["c", "tflm"]), default="c", show_default=True,
              help="With --fit: the backend to build (tflm: with $TFLM_DIR and $TFLM_LIB, docs/tflm.md).")
@click.option("--json", "as_json", is_flag=True, help="With --fit: print the rows as JSON.")
@_user_errors
def devices(fit_bundle, fit_devices, backend, as_json):
    """The boards tfcompress builds for, with their key figures (devices/*.json)."""
    from tfcompress.device.profiles import all_profiles, load_profile

    if fit_bundle is None and (fit_devices or as_json or backend != "c"):
        raise click.UsageError("--device, --backend and --json go with --fit BUNDLE")
    if fit_bundle is not None:
        from tfcompress.device.build import TflmLibrary
        from tfcompress.device.fit import fit_boards, format_fit

        profiles = [load_profile(name) for name in fit_devices] or None
        tflm = TflmLibrary.find() if backend == "tflm" else None
        rows = fit_boards(fit_bundle, profiles, backend=backend, tflm=tflm,
                          progress=lambda name: click.echo(f"building for {name} ...", err=True))
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2) if as_json else format_fit(rows))
        return
    click.echo(f"{'device':<19}{'core':<14}{'clock':>9}{'flash':>10}{'RAM':>10}  {'DSP':<5}{'counts':<14}runs on")
    for p in all_profiles():
        run = f"QEMU {p.run['machine']}" if p.emulated else \
            f"board: {p.flasher['tool']} {p.flasher.get('target') or p.flasher.get('chip')}"
        click.echo(f"{p.name:<19}{p.core:<14}{p.clock_hz / 1e6:>6g} MHz{p.flash.bytes // 1024:>7,} KB"
                   f"{p.ram.bytes // 1024:>7,} KB  {'yes' if p.dsp else 'no':<5}{p.counter_unit:<14}{run}")


@main.command()
@click.argument("bundle_dir", type=click.Path(path_type=Path))
@device_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Firmware folder to write.")
@click.option("--dsp/--portable", default=None,
              help="The kernels' DSP-extension path (SMLAD) or the portable C. [default: DSP where the core has it]")
@click.option("--backend", type=click.Choice(["c", "tflm"]), default="c", show_default=True,
              help="c: the model compiled to C over tfcompress's kernels; tflm: TFLM's MicroInterpreter on the "
                   ".tflite, with a TFLM library you built (docs/tflm.md).")
@click.option("--tflm-dir", type=click.Path(path_type=Path), default=None,
              help="TFLM source tree whose Makefile built --tflm-lib. [default: $TFLM_DIR]")
@click.option("--tflm-lib", type=click.Path(path_type=Path), default=None,
              help="libtensorflow-microlite.a built for the board's core. [default: $TFLM_LIB]")
@click.option("--arena-bytes", type=click.IntRange(min=16), default=None,
              help="TFLM's tensor arena. [default: estimated from the model; the banner reports what TFLM used]")
@force_option
@_user_errors
def build(bundle_dir, device, out_dir, dsp, backend, tflm_dir, tflm_lib, arena_bytes, force):
    """Build a converted model (`tfcompress convert` output) into firmware for a board, with a size report."""
    from tfcompress.device.build import TflmLibrary, build_firmware, format_build

    if backend == "c" and (tflm_dir or tflm_lib or arena_bytes):
        raise click.UsageError("--tflm-dir, --tflm-lib and --arena-bytes go with --backend tflm")
    from tfcompress.device.profiles import load_profile

    # an ESP32 board's TFLM is ESP-IDF's esp-tflite-micro component, not a library built here
    tflm = TflmLibrary.find(tflm_dir, tflm_lib) if backend == "tflm" and load_profile(device).port != "esp32" \
        else None
    firmware = build_firmware(bundle_dir, device, out_dir, dsp=dsp, backend=backend, force=force, tflm=tflm,
                              arena_bytes=arena_bytes)
    click.echo(format_build(firmware))


@main.command()
@click.argument("firmware_dir", type=click.Path(path_type=Path))
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop the emulated board after this long (default: run until Ctrl-C).")
@click.option("--port", default=None,
              help="A real board's serial port (/dev/ttyACM0, /dev/ttyUSB0, COM3): esptool flashes an ESP32 "
                   "through it; after flashing, the board's banner is read from it.")
@click.option("--probe", default=None,
              help="pyOCD's debug probe (its unique ID or a part of it, `python -m pyocd list`) when more than "
                   "one is plugged in.")
@_user_errors
def flash(firmware_dir, seconds, port, probe):
    """Check that a firmware fits its board and start it: for an emulated board, QEMU serving its UART;
    a real board is flashed with its profile's tool (pyOCD through the debug probe, esptool through the
    serial port) and, with --port, its banner is checked."""
    import time

    from tfcompress.device.build import Firmware
    from tfcompress.device.qemu import QemuBoard

    firmware = Firmware.load(firmware_dir)
    profile = firmware.profile
    if not profile.emulated:
        _flash_board(firmware, firmware_dir, port, probe)
        return
    if port is not None or probe is not None:
        raise click.UsageError(f"{profile.name} is emulated: --port and --probe are for real boards")
    with QemuBoard(profile, firmware.elf) as board:
        use = board.memory
        click.echo(f"{firmware.elf}: flash {use.flash:,} of {profile.flash.bytes:,} bytes, RAM {use.ram:,} of "
                   f"{profile.ram.bytes:,} bytes: fits {profile.name}")
        link = board.connect()
        banner = link.handshake()
        link.close()
        click.echo(f"{profile.name} is running (QEMU pid {board.process.pid}): model {banner.model[:16]}..., "
                   f"{banner.backend} backend, flash {banner.flash:,} B, RAM {banner.ram:,} B")
        click.echo(f"its UART: {board.url} (tfcompress run {firmware_dir} --port {board.url}); Ctrl-C stops it")
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            while board.process.poll() is None and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        if board.process.poll() is not None:
            raise TfcompressError(f"QEMU stopped (status {board.process.returncode}): {board.error_output()}")


def _flash_board(firmware, firmware_dir: Path, port: str | None, probe: str | None) -> None:
    from tfcompress.device.flashing import flash_firmware
    from tfcompress.device.link import DeviceLink

    profile = firmware.profile
    flash_firmware(firmware, port=port, probe=probe, log=lambda line: click.echo(f"  {line}", err=True))
    if port is None:
        click.echo(f"{profile.name} is flashed; talk to it with `tfcompress run {firmware_dir} --port PORT` "
                   f"(its serial port, e.g. /dev/ttyACM0)")
        return
    link = DeviceLink.open(port, profile.uart["baud"])
    try:
        banner = link.handshake()
    finally:
        link.close()
    if banner.model != firmware.model_sha256:
        raise TfcompressError(f"{port}: the board runs model {banner.model}, not this firmware's "
                              f"{firmware.model_sha256}: is it the flashed board's port?")
    click.echo(f"{profile.name} is running on {port}: model {banner.model[:16]}..., {banner.backend} backend, "
               f"{banner.clock / 1e6:g} MHz, flash {banner.flash:,} B, RAM {banner.ram:,} B "
               f"(tfcompress run {firmware_dir} --port {port})")


def _format_inference(result, labels, top: int, unit: str | None, scale: float, zero_point: int) -> str:
    import numpy as np

    logits = (result.scores.astype(np.float64) - zero_point) * scale
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-result.scores.astype(np.int32), kind="stable")
    count = f"  ({result.count:,} {unit})" if result.count is not None else ""
    lines = [f"{labels[order[0]]}{count}"]
    lines += [f"  {labels[k]:<32} int8 {int(result.scores[k]):>4}  p={probabilities[k]:.3f}" for k in order[:top]]
    return "\n".join(lines)


@main.command("run")
@click.argument("firmware_dir", type=click.Path(path_type=Path))
@port_option
@click.option("--text", "texts", multiple=True, help="An utterance to classify (repeatable). Default: read "
                                                     "utterances from stdin, one per line, until end of input.")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="Scores to show.")
@_user_errors
def run_command(firmware_dir, port, texts, top):
    """Classify utterances on the board: the intent, the top scores and the instruction (or cycle) count."""
    firmware, runner = _device_runner(firmware_dir, port)
    output = firmware.manifest["outputs"][0]
    with runner:
        b = runner.banner
        click.echo(f"{b.board} ({b.core}, {b.backend} backend): model {b.model[:16]}..., flash {b.flash:,} B, "
                   f"RAM {b.ram:,} B", err=True)
        interactive = not texts and sys.stdin.isatty()
        if interactive:
            click.echo("type an utterance and Enter; Ctrl-D ends", err=True)
        for text in texts or _stdin_lines(interactive):
            result = runner.infer(text)
            click.echo(_format_inference(result, firmware.labels, top, runner.counter_unit, output["scale"],
                                         output["zero_point"]))


def _stdin_lines(prompt: bool):
    while True:
        if prompt:
            click.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n")


@main.command("bench")
@click.argument("artifact", type=click.Path(path_type=Path))
@port_option
@click.option("--interpreter", type=click.Choice(INTERPRETERS), default=None,
              help="For a converted bundle (not a firmware folder): the desktop interpreter to run it on.")
@click.option("--dataset", "dataset_spec", default=None, help="Default: the model's training dataset.")
@data_dir_option
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N utterances.")
@click.option("--per-op", is_flag=True, help="Also the median count of every operator, and per MAC.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@strict_labels_option
@_user_errors
def bench_command(artifact, port, interpreter, dataset_spec, data_dir, split, limit, per_op, as_json, strict_labels):
    """A dataset split through a board (a `build` folder) or a desktop interpreter (a `convert` folder):
    accuracy, instructions or cycles per inference, memory, throughput."""
    from tfcompress import fileio
    from tfcompress.bench import bench, format_bench, fully_connected_macs
    from tfcompress.evaluation import dataset_split
    from tfcompress.runners import HostRunner
    from tfcompress.tokenizer import WordTokenizer

    is_firmware = (artifact / "build.json").is_file()
    if is_firmware:
        firmware, runner = _device_runner(artifact, port)
        manifest, labels, tflite = firmware.manifest, firmware.labels, firmware.tflite
    else:
        if port is not None:
            raise TfcompressError(f"{artifact}: --port needs a firmware folder (`tfcompress build`)")
        manifest = fileio.read_json(artifact / "manifest.json")
        labels, tflite = tuple(fileio.read_json(artifact / "labels.json")), (artifact / "model.tflite").read_bytes()
        runner = HostRunner(tflite, WordTokenizer.load(artifact / "tokenizer.json"), interpreter)
    with runner:
        source = manifest["source"]
        dataset = _load_dataset(dataset_spec or source.get("dataset_spec") or source["dataset"], data_dir,
                                strict_labels, split)
        data = dataset_split(dataset, split)
        texts, y_true = list(data.texts), dataset.label_ids(data, labels)
        if limit:
            texts, y_true = texts[:limit], y_true[:limit]
        with click.progressbar(length=len(texts), label=f"{runner.name}: {dataset.name} {split}", file=sys.stderr,
                               show_pos=True) as bar:
            report = bench(runner, texts, y_true, labels, progress=bar.update, macs=fully_connected_macs(tflite))
        report.update({"dataset": dataset.name, "split": split, "model_sha256": manifest["model"]["sha256"]})
        if is_firmware:
            report.update(runner.stats())
    click.echo(json.dumps(report, indent=2) if as_json else format_bench(report, per_op))
    if report["error"]:
        raise click.ClickException(f"the run stopped after {report['completed']} of {report['examples']} "
                                   f"utterances: {report['error']}")


@main.command()
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--device", default=None,
              help="The board to build for when ARTIFACT is a model or a bundle (default: qemu-mps2-an386); a "
                   "firmware folder runs on the board it was built for.")
@click.option("--backend", type=click.Choice(["c", "tflm"]), default="c", show_default=True,
              help="With a model or bundle: the firmware backend to build (tflm: docs/tflm.md).")
@port_option
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="The trained (or compressed) model the firmware was converted from: adds the float stage "
                   "(implied when ARTIFACT is a model).")
@click.option("--dataset", "dataset_spec", default=None, help="Default: the model's training dataset.")
@data_dir_option
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N utterances.")
@click.option("--min-exact-match", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Share of utterances whose int8 outputs on the device must equal the golden's.")
@click.option("--max-accuracy-drop", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Accuracy points the int8 golden may lose against the float model.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write regress.json, junit.xml (one test case per threshold), report.html and the answers as "
                   "they come (results.jsonl) here.")
@force_option
@strict_labels_option
@_user_errors
def regress(artifact, device, backend, port, model_dir, dataset_spec, data_dir, split, limit, min_exact_match,
            max_accuracy_drop, out_dir, force, strict_labels):
    """A split through the float model, the desktop golden and the board, compared pairwise against
    thresholds; exits 1 when one is broken. ARTIFACT: a model (`train`, `compress`), a bundle
    (`convert`) or a firmware folder (`build`)."""
    from tfcompress.regression import Thresholds, format_regress, run_regression

    bars = []  # the bar starts with the golden stage, after the conversion, build and boot messages

    def progress(done, total):
        if not bars:
            bars.append(click.progressbar(length=total, label="golden, then the board", file=sys.stderr,
                                          show_pos=True).__enter__())
        bars[0].update(done - bars[0].pos)

    try:
        result = run_regression(artifact, device, port, model_dir, dataset_spec, data_dir, split, limit,
                                Thresholds(min_exact_match, max_accuracy_drop), out_dir, force, backend,
                                log=lambda message: click.echo(message, err=True), progress=progress,
                                strict_labels=strict_labels)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    click.echo(format_regress(result.report))
    if out_dir is not None:
        click.echo(f"wrote {out_dir / 'report.html'}, regress.json, junit.xml and results.jsonl")
    if result.error:
        raise click.ClickException(f"{result.error} (the report covers the {result.examples} utterances "
                                   "every stage completed)")
    if not result.passed:
        raise click.ClickException("; ".join(result.failures()))


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for report.html, pareto.png, size_instructions.png and report.json.")
@click.option("--device", "devices", multiple=True,
              help="Draw this board's flash limit too (repeatable; the boards the runs ran on are drawn anyway).")
@force_option
@_user_errors
def report(runs, out_dir, devices, force):
    """Compressed models side by side: size vs accuracy (Pareto) and size vs instructions plots and
    the table. RUNS: `regress --out` folders and `pareto` results files."""
    from tfcompress.reports.compression import write_report

    written = write_report(runs, out_dir, devices, force)
    for p in sorted(written["points"], key=lambda p: p["bytes"]):
        click.echo(f"{p['label']:<24}{p['method']:<13}{p['bytes']:>10,} bytes  int8 {100 * p['accuracy']:6.2f} %"
                   + (f"  {p['instructions']:>11,.0f} {p['counter']}" if p["instructions"] else "")
                   + ("  (Pareto)" if p["pareto"] else ""))
    click.echo(f"wrote {out_dir / 'report.html'} and its plots")


@main.command("write-demo-data")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace train/valid/test files already in OUT_DIR.")
@_user_errors
def write_demo_data(out_dir, force):
    """Write the built-in smart-home intent set as train/valid/test .jsonl files."""
    from tfcompress.data.registry import write_demo_dataset

    write_demo_dataset(out_dir, force=force)
    click.echo(f"wrote {out_dir}/train.jsonl, valid.jsonl, test.jsonl")


@main.command()
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@force_option
@from_options(TrainOptions, "encoder")
@_user_errors
def demo(workdir, force, encoder):
    """The whole flow on the built-in data: train, compress 5x with DKP, convert to int8, evaluate in C."""
    from tfcompress.demo import DEMO_OUTPUT, format_report, run_demo

    check_output(workdir, DEMO_OUTPUT, force=force)
    report = run_demo(workdir, encoder=encoder, log=lambda msg: click.echo(msg, err=True), force=force)
    click.echo(format_report(report))


if __name__ == "__main__":
    sys.exit(main())
