"""The `tfcompress` command: thin click commands over the library."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from tfcompress.errors import TfcompressError


def _user_errors(func):
    """Print TfcompressError (and bad files) as one `Error:` line instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TfcompressError as err:
            raise click.ClickException(str(err)) from None

    return wrapper


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of named datasets (default: $TFCOMPRESS_DATA_DIR, ./datasets, ../shared/datasets).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfcompress")
def main():
    """Train, compress and convert NLU models for TensorFlow Lite Micro boards."""


@main.command()
@click.option("--dataset", "dataset_spec", required=True,
              help="clinc150, snips, banking77, demo, or a folder/file of .jsonl/.csv.")
@data_dir_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Model directory to write.")
@click.option("--encoder", type=click.Choice(["pooled", "lstm", "gru"]), default="pooled", show_default=True)
@click.option("--vocab-size", type=int, default=8000, show_default=True)
@click.option("--max-length", type=int, default=None, help="Tokens per utterance (default: 99th percentile).")
@click.option("--embedding-dim", type=int, default=64, show_default=True)
@click.option("--rnn-units", type=int, default=64, show_default=True)
@click.option("--head-units", type=int, default=128, show_default=True, help="0 for no hidden layer.")
@click.option("--dropout", type=float, default=0.2, show_default=True)
@click.option("--epochs", type=int, default=40, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--learning-rate", type=float, default=3e-3, show_default=True)
@click.option("--patience", type=int, default=5, show_default=True)
@click.option("--label-smoothing", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_user_errors
def train(dataset_spec, data_dir, out_dir, **options):
    """Train an intent classifier and save model, tokenizer, labels and metrics."""
    from tfcompress.data import load_dataset
    from tfcompress.training import TrainOptions, train_classifier

    dataset = load_dataset(dataset_spec, data_dir)
    click.echo(f"dataset {dataset.name}: {len(dataset.train)} train, {len(dataset.valid)} valid, "
               f"{len(dataset.test) if dataset.test else 0} test, {len(dataset.labels)} intents", err=True)
    trained = train_classifier(dataset, TrainOptions(**options))
    trained.save(out_dir)
    click.echo(f"saved {out_dir} ({trained.info['parameters']:,} parameters)")
    click.echo(json.dumps(trained.metrics, indent=2))


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Artifact directory to write.")
@click.option("--dataset", "dataset_spec", default=None, help="Calibration data (default: the training set).")
@data_dir_option
@click.option("--calibration-samples", type=int, default=500, show_default=True)
@_user_errors
def convert(model_dir, out_dir, dataset_spec, data_dir, calibration_samples):
    """Convert a trained model to int8 .tflite, C arrays and manifest.json."""
    from converters.bundle import convert_model
    from tfcompress.artifacts import TrainedModel
    from tfcompress.data import load_dataset

    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(dataset_spec or trained.info["dataset_spec"], data_dir)
    manifest = convert_model(trained, dataset, out_dir, calibration_samples)
    click.echo(f"wrote {out_dir}: model.tflite {manifest['model']['bytes']:,} bytes, "
               f"{manifest['operator_count']} ops ({', '.join(manifest['ops'])})")


@main.command("eval")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--tflite", "tflite_path", type=click.Path(path_type=Path), default=None,
              help="The .tflite (or a `convert` output directory) to evaluate beside the float model.")
@click.option("--dataset", "dataset_spec", default=None, help="Default: the model's training dataset.")
@data_dir_option
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--interpreter", type=click.Choice(["litert-ref", "tflm", "litert"]), default="litert-ref",
              show_default=True, help="Kernels for the int8 model (docs/interpreters.md).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@_user_errors
def eval_command(model_dir, tflite_path, dataset_spec, data_dir, split, interpreter, as_json):
    """Metrics of the float Keras model and its int8 .tflite on one split."""
    from converters.bundle import MODEL_FILE
    from converters.flatbuffer import read_model
    from tfcompress.artifacts import TrainedModel
    from tfcompress.data import load_dataset
    from tfcompress.evaluation import evaluate_float_and_int8

    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(dataset_spec or trained.info["dataset_spec"], data_dir)
    if tflite_path is None:
        from converters.tflite import convert_int8, representative_sample

        click.echo("no --tflite given: converting the model in memory", err=True)
        tflite = convert_int8(trained.model, representative_sample(trained.tokenizer.encode_batch(dataset.train.texts)))
    else:
        tflite, _ = read_model(tflite_path / MODEL_FILE if tflite_path.is_dir() else tflite_path)
    report = evaluate_float_and_int8(trained, tflite, dataset, split, interpreter)
    click.echo(json.dumps(report, indent=2) if as_json else format_eval(report))


def format_eval(report: dict) -> str:
    keys = [k for k in report["float"] if k != "examples"]
    lines = [f"{report['dataset']} {report['split']} ({report['float']['examples']} examples), "
             f"int8 on {report['interpreter']}, .tflite {report['tflite_bytes']:,} bytes",
             f"{'metric':<20}{'float':>10}{'int8':>10}"]
    lines += [f"{k:<20}{report['float'][k]:>10.4f}{report['int8'][k]:>10.4f}" for k in keys]
    lines.append(f"{'float/int8 agree':<20}{report['float_int8_agreement']:>20.4f}")
    return "\n".join(lines)


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Compressed model directory.")
@click.option("--method", type=click.Choice(["dkp", "kp", "hmf", "lmf", "prune", "small"]), default="dkp",
              show_default=True, help="small: a dense model of the same family trained from scratch to the size.")
@click.option("--target", default="25x", show_default=True, help="Whole-model ratio (25x) or size (20kb, 20480).")
@click.option("--target-kb", type=float, default=None, help="Whole-model size in KiB (overrides --target).")
@click.option("--layers", default="", help="Comma-separated matrices to compress (default: all worth it): "
              "embedding, encoder.input, encoder.recurrent, hidden, logits.")
@click.option("--vocab-size", type=int, default=None,
              help="Keep only the most frequent words (the rest read as OOV) before compressing; not for small.")
@click.option("--dataset", "dataset_spec", default=None, help="Fine-tuning data (default: the training set).")
@data_dir_option
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--learning-rate", type=float, default=3e-3, show_default=True)
@click.option("--patience", type=int, default=5, show_default=True)
@click.option("--allocation", type=float, default=0.5, show_default=True,
              help="Each matrix's budget ~ its size ** allocation (1: the same ratio for every matrix).")
@click.option("--doping-share", type=float, default=0.5, show_default=True, help="dkp: budget share of S.")
@click.option("--cmr", type=float, default=0.0, show_default=True,
              help="dkp: co-matrix dropout rate (dropout on S's entries while training).")
@click.option("--anneal-fraction", type=float, default=0.5, show_default=True,
              help="dkp/prune: share of fine-tuning steps spent annealing to the target density.")
@click.option("--label-smoothing", type=float, default=0.1, show_default=True,
              help="Keeps the logits' range small enough for the int8 output to order them (0: off).")
@click.option("--seed", type=int, default=0, show_default=True)
@_user_errors
def compress(model_dir, out_dir, method, target, target_kb, layers, dataset_spec, data_dir, **options):
    """Compress a trained model to a size target and fine-tune it on the task."""
    from tfcompress.artifacts import TrainedModel
    from tfcompress.compression.compress import CompressOptions, compress_model, format_report, parse_target
    from tfcompress.data import load_dataset

    ratio, size = (None, int(target_kb * 1024)) if target_kb is not None else parse_target(target)
    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(dataset_spec or trained.info["dataset_spec"], data_dir)
    compressed, report = compress_model(trained, dataset, CompressOptions(
        method=method, target_ratio=ratio, target_bytes=size,
        layers=tuple(n.strip() for n in layers.split(",") if n.strip()), **options))
    compressed.save(out_dir)
    click.echo(format_report(report))
    click.echo(f"saved {out_dir}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--ratios", default="10,25,50", show_default=True, help="Whole-model compression ratios.")
@click.option("--methods", default="dkp,kp,hmf,lmf,prune,small", show_default=True)
@click.option("--epochs", type=int, default=30, show_default=True, help="Fine-tuning epochs per run.")
@click.option("--vocab-size", type=int, default=None, help="Truncate the vocabulary first (as compress --vocab-size).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Results JSON (updated per run).")
@data_dir_option
@_user_errors
def pareto(model_dir, ratios, methods, epochs, vocab_size, out_path, data_dir):
    """Benchmark: every compression method at every ratio, float and int8 test accuracy."""
    from tfcompress.artifacts import TrainedModel
    from tfcompress.benchmarks import format_pareto, pareto as run_pareto
    from tfcompress.data import load_dataset

    trained = TrainedModel.load(model_dir)
    dataset = load_dataset(trained.info["dataset_spec"], data_dir)
    results = run_pareto(trained, dataset, [float(r) for r in ratios.split(",")], methods.split(","), epochs,
                         out_path=out_path, log=lambda m: click.echo(m, err=True), vocab_size=vocab_size)
    click.echo(format_pareto(results))


@main.command("lm-benchmark")
@click.option("--corpus", "corpus_spec", default="wikitext-2", show_default=True,
              help="wikitext-2 (in the data directory) or a folder of train/valid/test.txt.")
@data_dir_option
@click.option("--vocab-size", type=int, default=10000, show_default=True,
              help="Most frequent words kept, the rest <unk> (the softmax dominates CPU time).")
@click.option("--ratio", type=float, default=25.0, show_default=True, help="Compression of the recurrent layer.")
@click.option("--methods", default="dkp,prune,hmf,lmf", show_default=True,
              help="Empty: only train (and time) the uncompressed model.")
@click.option("--embedding-dim", type=int, default=128, show_default=True)
@click.option("--rnn-units", type=int, default=256, show_default=True)
@click.option("--seq-length", type=int, default=35, show_default=True)
@click.option("--epochs", type=int, default=3, show_default=True, help="Training epochs of the uncompressed model.")
@click.option("--compress-epochs", type=int, default=1, show_default=True, help="Fine-tuning epochs per method.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Results JSON (updated per run).")
@click.option("--baseline", "baseline_dir", type=click.Path(path_type=Path),
              help="Folder for the uncompressed model: loaded if it holds one, else the trained model is saved there.")
@_user_errors
def lm_benchmark(corpus_spec, data_dir, vocab_size, ratio, methods, embedding_dim, rnn_units, seq_length, epochs,
                 compress_epochs, out_path, baseline_dir):
    """Benchmark: train a word-level LSTM language model, compress its LSTM with each method, perplexity."""
    from tfcompress.data.corpus import load_corpus
    from tfcompress.language_modeling import LMOptions, lm_compression_benchmark

    corpus = load_corpus(corpus_spec, data_dir, max_vocab=vocab_size)
    options = LMOptions(seq_length=seq_length, embedding_dim=embedding_dim, rnn_units=rnn_units, epochs=epochs)
    lm_compression_benchmark(corpus, options, ratio, [m for m in methods.split(",") if m], compress_epochs, out_path,
                             log=lambda m: click.echo(m, err=True), verbose=2, baseline_dir=baseline_dir)


@main.command()
@click.argument("tflite_path", type=click.Path(path_type=Path))
@click.option("--tensors/--no-tensors", default=True, show_default=True, help="List every tensor.")
@_user_errors
def inspect(tflite_path, tensors):
    """Print a .tflite model's operators, tensors, sizes and quantisation."""
    from converters.flatbuffer import read_model

    _, summary = read_model(tflite_path)
    click.echo(summary.format(str(tflite_path), show_tensors=tensors))


@main.command("write-demo-data")
@click.argument("out_dir", type=click.Path(path_type=Path))
@_user_errors
def write_demo_data(out_dir):
    """Write the built-in smart-home intent set as train/valid/test .jsonl files."""
    from tfcompress.data.registry import write_demo_dataset

    write_demo_dataset(out_dir)
    click.echo(f"wrote {out_dir}/train.jsonl, valid.jsonl, test.jsonl")


@main.command()
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@click.option("--encoder", type=click.Choice(["pooled", "lstm", "gru"]), default="pooled", show_default=True)
@_user_errors
def demo(workdir, encoder):
    """The main job on the built-in data: train, convert to int8, evaluate float vs int8."""
    from tfcompress.demo import format_report, run_demo

    report = run_demo(workdir, encoder=encoder, log=lambda msg: click.echo(msg, err=True))
    click.echo(format_report(report))


if __name__ == "__main__":
    sys.exit(main())
