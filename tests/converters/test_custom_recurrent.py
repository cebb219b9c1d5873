"""converters.custom_recurrent: an lstm / gru classifier becomes a handful of ops (embedding lookup,
TFC_LSTM or TFC_GRU, the head) instead of hundreds, with calibrated scales and constants laid out
as tfcompress/reference/recurrent_ops.py reads them, and predicts as the float model does."""

import math
from dataclasses import replace

import numpy as np
import pytest
from flatbuffers import flexbuffers

from converters.flatbuffer import summarize
from tfcompress.reference.interpreter import ReferenceInterpreter


def _ids(trained, dataset):
    return (trained.tokenizer.encode_batch(dataset.train.texts),
            trained.tokenizer.encode_batch(dataset.test.texts + dataset.valid.texts))


def _op(interpreter, name):
    op = next(o for o in interpreter.graph.operators if o.name == name)
    return op, [interpreter.graph.tensors[i] if i >= 0 else None for i in op.inputs], \
        interpreter.graph.tensors[op.outputs[0]]


@pytest.fixture(scope="module")
def gru(tiny_dataset):
    from tfcompress.training import TrainOptions, train_classifier

    return train_classifier(tiny_dataset, TrainOptions(encoder="gru", vocab_size=64, embedding_dim=8, rnn_units=8,
                                                       head_units=16, epochs=8, patience=8, batch_size=16,
                                                       learning_rate=0.01), verbose=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_recurrent_classifier_is_four_ops_and_predicts_as_the_float_model(cell, lstm_model, gru, lstm_tflite,
                                                                            tiny_dataset):
    from converters.custom_recurrent import convert_recurrent

    trained = lstm_model if cell == "lstm" else gru
    calibration, test = _ids(trained, tiny_dataset)
    data = convert_recurrent(trained, calibration)
    ops = summarize(data).op_counts()
    assert ops == {"GATHER": 1, f"TFC_{cell.upper()}": 1, "FULLY_CONNECTED": 2}
    if cell == "lstm":
        assert sum(summarize(lstm_tflite).op_counts().values()) > 50  # the TFLite converter's unrolled graph
    interpreter = ReferenceInterpreter(data)
    int8 = np.stack([interpreter.outputs(row[None])[0][0] for row in test]).argmax(-1)
    assert np.mean(int8 == trained.model.predict(test, verbose=0).argmax(-1)) >= 0.95


def test_the_lstm_constants_and_options_are_calibrated(lstm_model, tiny_dataset):
    from converters.custom_recurrent import convert_recurrent, recurrent_trajectory

    calibration, _ = _ids(lstm_model, tiny_dataset)
    interpreter = ReferenceInterpreter(convert_recurrent(lstm_model, calibration))
    op, ins, out = _op(interpreter, "TFC_LSTM")
    options = flexbuffers.Loads(op.custom_options)
    layer = lstm_model.model.get_layer("encoder")
    run = recurrent_trajectory(layer, lstm_model.model.get_layer("embedding")(calibration).numpy())
    peak_c = np.abs(run["c"]).max()
    assert options == {"version": 1, "units": 8, "input_structure": 0, "recurrent_structure": 0, "input_nnz": 0,
                       "recurrent_nnz": 0, "return_sequences": 0, "cell_bits": max(0, math.ceil(math.log2(peak_c)))}
    assert 2 ** (options["cell_bits"] - 1) < peak_c <= 2 ** options["cell_bits"]
    np.testing.assert_allclose(out.scale[0], np.abs(run["h"]).max() / 127, rtol=1e-6)
    assert out.zero_point[0] == 0 and out.shape == (1, 8)
    np.testing.assert_array_equal(ins[3].data, np.round(layer.bias.numpy().astype(np.float64) * 4096))
    assert ins[-2] is None and ins[-1] is None  # no sparse S
    # x is the GATHER's int8 rows, at the table's scale, zero point 0
    gather, gather_ins, rows = _op(interpreter, "GATHER")
    assert rows.index == ins[0].index and rows.zero_point[0] == 0
    assert rows.scale[0] == gather_ins[0].scale[0]


def test_the_gru_has_both_biases_and_no_cell_state(gru, tiny_dataset):
    from converters.custom_recurrent import convert_recurrent

    interpreter = ReferenceInterpreter(convert_recurrent(gru, _ids(gru, tiny_dataset)[0]))
    op, ins, _ = _op(interpreter, "TFC_GRU")
    assert "cell_bits" not in flexbuffers.Loads(op.custom_options)
    layer = gru.model.get_layer("encoder")
    np.testing.assert_array_equal(ins[4].data, np.round(layer.recurrent_bias.numpy().astype(np.float64) * 4096))


def test_a_pruned_table_is_looked_up_sparse(lstm_model, tiny_dataset):
    from converters.custom_model import symmetric
    from converters.custom_recurrent import convert_recurrent
    from tfcompress.models import build_classifier

    model = build_classifier(lstm_model.config)
    model.set_weights(lstm_model.model.get_weights())
    table = model.get_layer("embedding").embeddings.w
    w = table.numpy()
    w[np.abs(w) < np.quantile(np.abs(w), 0.9)] = 0
    table.assign(w)
    pruned = replace(lstm_model, model=model)
    calibration, test = _ids(pruned, tiny_dataset)
    data = convert_recurrent(pruned, calibration)
    assert summarize(data).op_counts() == {"TFC_SPARSE_GATHER": 1, "TFC_LSTM": 1, "FULLY_CONNECTED": 2}
    interpreter = ReferenceInterpreter(data)
    op, _, rows = _op(interpreter, "TFC_SPARSE_GATHER")
    w[0] = 0
    q, _ = symmetric(w)
    for row in test[:5]:
        np.testing.assert_array_equal(interpreter.invoke(row[None])[rows.index][0], q[row])


def test_only_recurrent_classifiers_returning_the_last_state_are_lowered(pooled_model, lstm_model, tiny_dataset):
    from converters.custom_model import GraphWriter, QuantizedActivation
    from converters.custom_recurrent import lower_recurrent, lower_recurrent_classifier, supports
    from tfcompress.layers import UnrolledRNN

    assert supports(lstm_model) and not supports(pooled_model)
    with pytest.raises(ValueError, match="lstm and gru encoders, not pooled"):
        lower_recurrent_classifier(GraphWriter(), pooled_model, np.zeros((1, 8), np.int32), 0)
    sequences = UnrolledRNN(4, return_sequences=True)
    sequences.build((None, 8, 3))
    with pytest.raises(ValueError, match="return_sequences has no fused lowering"):
        lower_recurrent(GraphWriter(), sequences, QuantizedActivation(0, 1.0, 0, np.zeros((1, 8, 3))))
