"""converters.generated_c on recurrent models in fused ops (converters.custom_recurrent: the embedding
lookup, TFC_LSTM or TFC_GRU, the head): the model compiled to C over the kernels equals the integer
reference bit for bit over the tiny dataset's test and valid texts, for LSTM and GRU encoders left
dense or compressed by every structured method, and refuses ids outside the vocabulary."""

import numpy as np
import pytest
from flatbuffers import flexbuffers

from converters.flatbuffer import summarize
from converters.generated_c import CModel, generate_c
from tests.helpers import tiny_ratio
from tfcompress.reference.custom_options import RECURRENT_KINDS
from tfcompress.reference.graph import read_graph
from tfcompress.reference.interpreter import ReferenceInterpreter

METHODS = ["dense", "dkp", "lmf", "hmf", "kp"]
CELLS = {"lstm": "TFC_LSTM", "gru": "TFC_GRU"}


@pytest.fixture(scope="module")
def gru_model(tiny_dataset):
    from tfcompress.training import TrainOptions, train_classifier

    return train_classifier(tiny_dataset, TrainOptions(encoder="gru", vocab_size=64, embedding_dim=8, rnn_units=8,
                                                       head_units=16, epochs=8, patience=8, batch_size=16,
                                                       learning_rate=0.01), verbose=0)


@pytest.fixture(scope="module", params=[(cell, method) for cell in CELLS for method in METHODS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def recurrent_c(request, lstm_model, gru_model, tiny_dataset, tmp_path_factory):
    """(cell, method, the fused-op model, its C compiled once, the ids of the test and valid texts)."""
    from converters.custom_recurrent import convert_recurrent
    from converters.tflite import representative_sample
    from tfcompress.compression.compress import compress_model
    from tfcompress.options import CompressOptions

    cell, method = request.param
    trained = lstm_model if cell == "lstm" else gru_model
    if method != "dense":
        options = CompressOptions(method=method, target_ratio=tiny_ratio(method), epochs=1)
        trained = compress_model(trained, tiny_dataset, options, verbose=0, measure_tflite=False)[0]
    calibration = representative_sample(trained.tokenizer.encode_batch(tiny_dataset.train.texts), 50)
    model = convert_recurrent(trained, calibration)
    c = CModel(model, cache_dir=tmp_path_factory.mktemp("c"))
    ids = trained.tokenizer.encode_batch(tiny_dataset.test.texts + tiny_dataset.valid.texts)
    return cell, method, model, c, ids


def test_the_recurrent_ops_in_c_equal_the_reference(recurrent_c):
    cell, method, model, c, ids = recurrent_c
    graph = read_graph(model)
    ops = summarize(model).op_counts()
    assert ops.get(CELLS[cell]) == 1
    assert ops.get("GATHER" if method == "dense" else f"TFC_{method.upper()}_GATHER") == 1
    recurrent = next(op for op in graph.operators if op.name == CELLS[cell])
    options = flexbuffers.Loads(recurrent.custom_options)
    assert RECURRENT_KINDS[options["input_structure"]] == RECURRENT_KINDS[options["recurrent_structure"]] == method
    if method == "dkp":  # the sparse parts are there to be read
        assert options["input_nnz"] + options["recurrent_nnz"] > 0
    source = generate_c(model).source
    assert f"{CELLS[cell].lower()}_s8(" in source
    reference = ReferenceInterpreter(model)
    ours = np.stack([c.invoke(row)[0] for row in ids])
    np.testing.assert_array_equal(ours, np.stack([reference.outputs(row[None])[0][0] for row in ids]))
    assert len(np.unique(ours)) > 8  # the outputs vary: the test compares more than a constant


def test_the_recurrent_models_in_c_refuse_an_id_outside_the_vocabulary(recurrent_c):
    from tfcompress.errors import TfcompressError

    _, _, model, c, ids = recurrent_c
    graph = read_graph(model)
    lookup = graph.operators[0]
    vocab = graph.tensors[lookup.inputs[0]].shape[0] if lookup.name == "GATHER" else \
        ReferenceInterpreter(model).steps[0][2]["row"]["vocab"]
    for bad in (vocab, -1):
        row = ids[0].copy()
        row[-1] = bad
        with pytest.raises(TfcompressError, match="refused the input at operator 0"):
            c.invoke(row)
    c.invoke(ids[0])  # and the next input runs
