import math
import random

import numpy as np
import pytest

from tests.helpers import tiny_ratio

from tfcompress.compression.compress import CompressOptions
from tfcompress.data.corpus import load_corpus
from tfcompress.language_modeling import (LMOptions, compress_recurrent, load_language_model, perplexity,
                                         save_language_model, train_language_model, windows)
from tfcompress.models import matrices


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in", "park"]
    for name, lines in (("train", 300), ("valid", 40), ("test", 40)):
        # a learnable pattern: each line counts through the word list from a random start
        text = ""
        for _ in range(lines):
            start = rng.randrange(len(words))
            text += " " + " ".join(words[(start + k) % len(words)] for k in range(rng.randint(3, 9))) + " \n"
        (folder / f"{name}.txt").write_text(text)
    return load_corpus(str(folder))


@pytest.fixture(scope="module")
def trained(corpus):
    return train_language_model(corpus, LMOptions(seq_length=8, embedding_dim=8, rnn_units=16, epochs=10,
                                                  batch_size=16, learning_rate=0.01, patience=2), verbose=0)


def test_windows_shift_targets_by_one():
    x, y = windows(np.arange(10, dtype=np.int32), 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_training_beats_the_uniform_model(corpus, trained):
    model, config, metrics = trained
    assert metrics["test"] < 0.5 * corpus.vocab_size  # uniform guessing has perplexity vocab_size
    assert metrics["test"] == pytest.approx(perplexity(model, corpus.test, config.seq_length))


@pytest.mark.parametrize("method", ["dkp", "prune", "hmf", "lmf"])
def test_compress_only_the_recurrent_layer(corpus, trained, method):
    model, config, _ = trained
    ratio = tiny_ratio(method)
    compressed, sizes = compress_recurrent(model, config, corpus, CompressOptions(method=method, target_ratio=ratio,
                                                                                  epochs=1))
    assert sizes["bytes"] * ratio <= sizes["dense_bytes"]
    kinds = {n: m.structure.kind for n, m in matrices(compressed).items()}
    assert kinds["embedding"] == kinds["logits"] == "dense"
    if method != "prune":
        assert kinds["encoder.input"] == kinds["encoder.recurrent"] == method
    assert math.isfinite(perplexity(compressed, corpus.test, config.seq_length))


def test_a_saved_model_loads_with_its_config_and_metrics(tmp_path, corpus, trained):
    model, config, metrics = trained
    loaded, loaded_config, loaded_metrics = load_language_model(save_language_model(tmp_path / "lm", model, config,
                                                                                    metrics))
    assert loaded_config == config and loaded_metrics == metrics
    assert perplexity(loaded, corpus.test, config.seq_length) == pytest.approx(metrics["test"])


def test_the_benchmark_refuses_foreign_outputs_and_bad_methods_before_training(tmp_path, corpus):
    from tfcompress.language_modeling import lm_compression_benchmark
    from tfcompress.options import OptionError
    from tfcompress.outputs import OutputPathError

    def run(**kwargs):
        lm_compression_benchmark(corpus, LMOptions(), 3, kwargs.pop("methods", ["dkp"]), 1, **kwargs,
                                 log=pytest.fail)  # any progress would mean training started

    with pytest.raises(OptionError, match="method must be one of dkp, kp, hmf, lmf, prune, got 'small'"):
        run(methods=["dkp", "small"])
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(OutputPathError, match="notes.json: exists and is not a tfcompress language-model benchmark"):
        run(out_path=tmp_path / "notes.json")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "draft.txt").write_text("x")
    with pytest.raises(OutputPathError, match="base: exists and is not a tfcompress language-model directory"):
        run(out_path=tmp_path / "lm.json", baseline_dir=tmp_path / "base")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "notes.json"]


def test_a_saved_baseline_must_match_the_options_and_be_whole(tmp_path, corpus, trained):
    from tfcompress.errors import ModelFileError
    from tfcompress.language_modeling import lm_compression_benchmark

    model, config, metrics = trained
    baseline = save_language_model(tmp_path / "base", model, config, metrics)
    other = LMOptions(seq_length=8, embedding_dim=8, rnn_units=32)
    with pytest.raises(ModelFileError, match=r"base: holds a baseline trained with rnn_units 16 \(asked: 32\)"):
        lm_compression_benchmark(corpus, other, 3, [], 1, baseline_dir=baseline, log=lambda m: None)
    (baseline / "model.keras").unlink()
    with pytest.raises(ModelFileError, match="base: not a complete language-model directory"):
        lm_compression_benchmark(corpus, other, 3, [], 1, baseline_dir=baseline, log=lambda m: None)
