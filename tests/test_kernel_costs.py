"""tfcompress.kernel_costs: MACs per inference of every layer's op, equal to counts made by hand from
the tiny models' shapes, and host times of both graphs compiled with profiling. No timed assertions:
speed targets live in docs/benchmarks.md, not in tests."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import tiny_ratio
from tfcompress.cli import main
from tfcompress.kernel_costs import DEFAULT_REPEATS, _layers, format_kernel_costs, kernel_costs, operator_macs
from tfcompress.tokenizer import PAD_ID

EMBEDDING_DIM, HEAD_UNITS, LABELS = 8, 16, 4  # tests/conftest.py's tiny pooled model


def _compress(pooled_model, tiny_dataset, method: str, ratio: float):
    from tests.helpers import tiny_compress_options
    from tfcompress.compression.compress import compress_model

    options = tiny_compress_options(pooled_model, method, target_ratio=ratio, epochs=1)
    return compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False)[0]


@pytest.fixture(scope="module")
def dkp_model(pooled_model, tiny_dataset):
    return _compress(pooled_model, tiny_dataset, "dkp", 3)


@pytest.fixture(scope="module")
def costs(dkp_model, pooled_model, tiny_dataset, tmp_path_factory):
    return kernel_costs(dkp_model, pooled_model, tiny_dataset, calibration_samples=50, repeats=2,
                        cache_dir=tmp_path_factory.mktemp("c"))


def _custom_graph(trained, tiny_dataset) -> list[dict]:
    from converters.bundle import convert_graph
    from converters.tflite import representative_sample

    calibration = representative_sample(trained.tokenizer.encode_batch(tiny_dataset.train.texts), 50)
    return _layers(convert_graph(trained, calibration, "custom")[1])


def _options(layer: dict) -> dict:
    from flatbuffers import flexbuffers

    return flexbuffers.Loads(layer["op"].custom_options)


def _row_entries(layer: dict, vocab: int) -> np.ndarray:
    """Entries of each row of the op's packed sparse input (its last), decoded from the graph."""
    from tfcompress.structures.sparse import SparseMatrix

    op, graph = layer["op"], layer["graph"]
    if op.inputs[-1] < 0:
        return np.zeros(vocab, np.int64)
    options = _options(layer)
    data = graph.tensors[op.inputs[-1]].data.tobytes()
    return np.count_nonzero(SparseMatrix.decode(data, vocab, EMBEDDING_DIM, options["nnz"]).to_dense(), axis=1)


def test_the_dense_ops_cost_their_matrices(costs, pooled_model, tiny_dataset):
    tokens = pooled_model.tokenizer.max_length
    assert costs["tokens"] == tokens and costs["examples"] == len(tiny_dataset.test)
    assert [layer["layer"] for layer in costs["layers"]] == ["embedding", "hidden", "logits"]
    dense = [layer["dense"] for layer in costs["layers"]]
    assert [d["op"] for d in dense] == ["TFC_EMBEDDING_BAG", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    # a row of 8 added per token of the window; 8x16 and 16x4 multiply-accumulates
    assert [d["macs"] for d in dense] == [tokens * 8, 8 * 16, 16 * 4]
    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    assert dense[0]["macs_mean"] == pytest.approx(np.count_nonzero(ids != PAD_ID) * 8 / len(ids))
    assert dense[1]["macs_mean"] == 8 * 16


def test_the_dkp_ops_cost_their_factors(costs, dkp_model, tiny_dataset):
    tokens = costs["tokens"]
    layers = _custom_graph(dkp_model, tiny_dataset)
    assert [layer["compressed"]["op"] for layer in costs["layers"]] == [layer["op"].name for layer in layers]
    bag, hidden = layers[0], layers[1]
    assert bag["op"].name == "TFC_DKP_EMBEDDING_BAG" and hidden["op"].name == "TFC_DKP_FULLY_CONNECTED"
    vocab = dkp_model.tokenizer.vocab_size
    entries = _row_entries(bag, vocab)
    most = max(entries[i] for i in range(vocab) if i != PAD_ID)
    # every token: a kron b's row (8 products) and S's row (at most `most` adds)
    assert costs["layers"][0]["compressed"]["macs"] == tokens * 8 + tokens * most
    (_, _), (b_in, b_out) = dkp_model.model.get_layer("hidden").kernel.structure.a_shape, \
        dkp_model.model.get_layer("hidden").kernel.structure.b_shape
    nnz = _options(hidden)["nnz"]
    # X B over the rows of X that hold inputs (8 inputs, b_out each), A over ceil(8 / b_in) rows per output, S
    assert costs["layers"][1]["compressed"]["macs"] == 8 * b_out + 16 * math.ceil(8 / b_in) + nnz
    # a window: each kept token costs its row
    ids = np.full(tokens, PAD_ID, np.int32)
    assert operator_macs(bag["graph"], bag["op"], bag["params"], ids) == 0
    ids[:3] = [2, 3, 2]
    assert operator_macs(bag["graph"], bag["op"], bag["params"], ids) == 3 * 8 + entries[2] * 2 + entries[3]
    assert costs["layers"][1]["mac_ratio"] == pytest.approx(8 * 16 / costs["layers"][1]["compressed"]["macs"])


def test_both_models_are_timed_per_call(costs):
    for layer in costs["layers"]:
        for side in (layer["dense"], layer["compressed"]):
            assert side["ns_per_call"] > 0 and len(side["ns_per_call_passes"]) == 2
        assert layer["time_ratio"] == pytest.approx(layer["dense"]["ns_per_call"] / layer["compressed"]["ns_per_call"])
    assert costs["total"]["dense"]["macs"] == sum(layer["dense"]["macs"] for layer in costs["layers"])
    table = format_kernel_costs(costs)
    assert table.count("\n") == 5 and "| hidden | FULLY_CONNECTED | 128 |" in table
    assert "| embedding | TFC_EMBEDDING_BAG |" in table and "TFC_DKP_FULLY_CONNECTED" in table


def _expected_macs(layer: dict, name: str, s, tokens: int, vocab: int) -> int:
    """The module doc's count, by hand from the Keras layer's structure `s` and the tiny shapes."""
    op = layer["op"].name
    if name == "embedding":
        d = EMBEDDING_DIM
        if op == "TFC_EMBEDDING_BAG" or s.kind == "kp":
            return tokens * d
        if op == "TFC_SPARSE_EMBEDDING_BAG":
            entries = _row_entries(layer, vocab)
            return tokens * max(entries[i] for i in range(vocab) if i != PAD_ID)
        if s.kind == "lmf":
            return tokens * s.rank + s.rank * d
        # hmf: the head rows are the ids below r, but id 0, the padding, is never added
        return tokens * (d if s.rank > 1 else s.rank) + s.rank * d
    rows, cols = (EMBEDDING_DIM, HEAD_UNITS) if name == "hidden" else (HEAD_UNITS, LABELS)
    if op == "FULLY_CONNECTED":
        return rows * cols
    if op == "TFC_SPARSE_FULLY_CONNECTED":
        return _options(layer)["nnz"]
    if s.kind == "lmf":
        return s.rank * rows + s.rank * cols
    if s.kind == "hmf":
        return s.rank * (rows - s.rank) + 2 * s.rank * cols
    (_, _), (b_in, b_out) = s.a_shape, s.b_shape
    return rows * b_out + cols * math.ceil(rows / b_in)  # kp


@pytest.mark.parametrize("method", ["kp", "hmf", "lmf", "prune"])
def test_every_method_costs_what_its_structure_says(method, pooled_model, tiny_dataset):
    trained = _compress(pooled_model, tiny_dataset, method, tiny_ratio(method))
    layers = _custom_graph(trained, tiny_dataset)
    tokens, vocab = trained.tokenizer.max_length, trained.tokenizer.vocab_size
    kinds = []
    for layer, name in zip(layers, ("embedding", "hidden", "logits")):
        keras_layer = trained.model.get_layer(name)
        structure = (keras_layer.embeddings if name == "embedding" else keras_layer.kernel).structure
        kinds.append(structure.kind)
        assert operator_macs(layer["graph"], layer["op"], layer["params"]) == \
            _expected_macs(layer, name, structure, tokens, vocab), (name, layer["op"].name)
    assert method in kinds or (method == "prune" and any(layer["op"].name.startswith("TFC_SPARSE_")
                                                         for layer in layers))


def test_the_cli_prints_the_table_and_json(dkp_model, pooled_model, tiny_dataset_dir, tmp_path):
    compressed, baseline = tmp_path / "dkp", tmp_path / "pooled"
    dkp_model.save(compressed)
    pooled_model.save(baseline)
    runner = CliRunner()
    args = ["kernel-costs", str(compressed), "--baseline", str(baseline), "--dataset", str(tiny_dataset_dir),
            "--repeats", "1", "--calibration-samples", "50"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| layer | dense op | MACs | ns/call | compressed op |" in result.output
    assert "| logits | FULLY_CONNECTED |" in result.output
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert data["format"] == "tfcompress-kernel-costs" and data["method"] == "dkp" and data["repeats"] == 1
    # a compressed model as the baseline: one error line, exit code 1
    result = runner.invoke(main, ["kernel-costs", str(baseline), "--baseline", str(compressed), "--dataset",
                                  str(tiny_dataset_dir)])
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 1 and len(errors) == 1 and "baseline was compressed (dkp)" in errors[0]
    assert "Traceback" not in result.output


def test_the_cli_default_is_the_library_default():
    param = next(p for p in main.commands["kernel-costs"].params if p.name == "repeats")
    assert param.default == DEFAULT_REPEATS
