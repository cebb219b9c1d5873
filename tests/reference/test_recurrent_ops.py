"""tfcompress.reference.recurrent_ops: TFC_LSTM and TFC_GRU run the Keras UnrolledRNN in integers,
their dequantised last hidden state close to the float layer's, for every structure of the input
and recurrent matrices; TFC_{LMF,HMF,KP,DKP}_GATHER looks up each token's row; bad models are
refused at prepare, naming the operator and the field."""

from dataclasses import replace

import numpy as np
import pytest
from flatbuffers import flexbuffers

from tests.helpers import tiny_compress_options
from tfcompress.reference import fixedpoint
from tfcompress.reference.common import OpError
from tfcompress.reference.graph import Operator, TensorSpec
from tfcompress.reference.interpreter import ReferenceInterpreter
from tfcompress.reference.recurrent_ops import RECURRENT_OPS, rounding_shift, sigmoid_q15, tanh_q15


@pytest.fixture(scope="session")
def gru_model(tiny_dataset):
    from tfcompress.training import TrainOptions, train_classifier

    options = TrainOptions(encoder="gru", vocab_size=64, embedding_dim=8, rnn_units=8, head_units=16, epochs=8,
                           patience=8, batch_size=16, learning_rate=0.01)
    return train_classifier(tiny_dataset, options, verbose=0)


def with_structures(trained, structures: dict, density: float = 0.3):
    """`trained` rebuilt with `structures` (matrix name -> Structure), each structured matrix
    initialised from the trained dense one (SVD, nearest Kronecker product, residual S kept at
    `density`), as compression starts; no fine-tuning."""
    from tfcompress.compression.finetune import _copy_weights
    from tfcompress.models import build_classifier, matrices

    config = replace(trained.config, structures={k: s.to_json() for k, s in structures.items()})
    model = build_classifier(config)
    _copy_weights(trained.model, model)
    for matrix in matrices(model).values():
        if matrix.structure.kind == "dkp":
            matrix.set_density(density)
    return replace(trained, model=model, config=config)


def encoder_graph(trained, calibration_ids):
    """A graph of the embedding lookup and the fused encoder alone; (bytes, output activation)."""
    from ai_edge_litert import schema_py_generated as schema

    from converters.custom_model import GraphWriter
    from converters.custom_recurrent import lower_recurrent_classifier

    writer = GraphWriter()
    ids = writer.activation("token_ids", [1, calibration_ids.shape[1]], dtype=schema.TensorType.INT32)
    out = lower_recurrent_classifier(writer, trained, calibration_ids, ids)
    return writer.finish([ids], [out.tensor]), out


def ids_of(trained, dataset):
    train = trained.tokenizer.encode_batch(dataset.train.texts)
    test = trained.tokenizer.encode_batch(dataset.test.texts + dataset.valid.texts)
    return train, test


def keras_encoder(trained, ids):
    model = trained.model
    return model.get_layer("encoder")(model.get_layer("embedding")(ids), training=False).numpy()


def encoder_error(trained, dataset):
    """|dequantised int8 last state - Keras float| in units of the state's scale, over the test ids."""
    calibration, test = ids_of(trained, dataset)
    data, out = encoder_graph(trained, calibration)
    interpreter = ReferenceInterpreter(data)
    got = np.stack([interpreter.outputs(row[None])[0][0] for row in test]).astype(np.float64) * out.scale
    return np.abs(got - keras_encoder(trained, test)) / out.scale


# -- fixed point -------------------------------------------------------------------------------------

def test_sigmoid_and_tanh_are_gemmlowps_rounded_to_q15_and_close_to_float():
    x = np.arange(-32768, 32768)
    real = x / 4096.0
    assert np.abs(sigmoid_q15(x) / 32768 - 1 / (1 + np.exp(-real))).max() < 2**-14
    assert np.abs(tanh_q15(x) / 32768 - np.tanh(real)).max() < 2**-13
    for bits in (0, 2, 5):
        assert np.abs(tanh_q15(x, bits) / 32768 - np.tanh(x / 2.0 ** (15 - bits))).max() < 2**-13
    for v in (-32768, -4097, -1, 0, 1, 4096, 32767):
        assert sigmoid_q15(v) == min(fixedpoint.rdbpot(fixedpoint.logistic(v << 16, 3), 16), 32767)


def test_rounding_shift_is_rounding_divide_by_pot():
    rng = np.random.default_rng(0)
    values = rng.integers(-(2**31), 2**31, 2000)
    for exponent in (1, 12, 15, 19):
        expected = [fixedpoint.rdbpot(int(v), exponent) for v in values]
        np.testing.assert_array_equal(rounding_shift(values, exponent), expected)


# -- the ops against Keras ---------------------------------------------------------------------------

def test_the_calibration_run_is_the_keras_layer(lstm_model, gru_model, tiny_dataset):
    from converters.custom_recurrent import recurrent_trajectory

    for trained in (lstm_model, gru_model):
        ids = trained.tokenizer.encode_batch(tiny_dataset.test.texts)
        x = trained.model.get_layer("embedding")(ids).numpy()
        run = recurrent_trajectory(trained.model.get_layer("encoder"), x)
        np.testing.assert_allclose(run["h"][:, -1], keras_encoder(trained, ids), atol=1e-5)
        np.testing.assert_array_equal(run["h_in"][:, 0], 0)
        np.testing.assert_allclose(run["h_in"][:, 1:], run["h"][:, :-1])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_dense_encoder_is_within_rounding_of_keras(cell, lstm_model, gru_model, tiny_dataset):
    error = encoder_error(lstm_model if cell == "lstm" else gru_model, tiny_dataset)
    assert error.max() <= 3 and error.mean() < 0.5, (error.max(), error.mean())  # int8 rounding: 0.25 mean


def _structure(kind, rows, cols):
    from tfcompress.structures.spec import Structure

    if kind in ("lmf", "hmf"):
        return Structure(kind, rank=3)
    a = (2, 4) if cols % 4 == 0 else (2, 1)
    b = (-(-rows // 2), cols // a[1])
    return Structure(kind, a_shape=a, b_shape=b, density=0.3 if kind == "dkp" else 0.0)


# (cell, embedding, W, U): every kind on each side and in the table, in both cells
COMBINATIONS = [
    ("lstm", "lmf", "lmf", "kp"), ("lstm", "hmf", "hmf", "dkp"), ("lstm", "kp", "kp", "lmf"),
    ("lstm", "dkp", "dkp", "hmf"), ("lstm", "dense", "dense", "dkp"),
    ("gru", "lmf", "lmf", "hmf"), ("gru", "hmf", "dkp", "kp"), ("gru", "kp", "hmf", "dkp"),
    ("gru", "dkp", "kp", "lmf"), ("gru", "dense", "lmf", "dense"),
]


@pytest.mark.parametrize("cell,table,w,u", COMBINATIONS)
def test_structured_encoder_is_within_rounding_of_keras(cell, table, w, u, lstm_model, gru_model, tiny_dataset):
    trained = lstm_model if cell == "lstm" else gru_model
    units, depth, gates = trained.config.rnn_units, trained.config.embedding_dim, 4 if cell == "lstm" else 3
    structures = {"embedding": _structure(table, trained.config.vocab_size, depth),
                  "encoder.input": _structure(w, depth, gates * units),
                  "encoder.recurrent": _structure(u, units, gates * units)}
    structured = with_structures(trained, {k: s for k, s in structures.items() if s.kind != "dense"})
    error = encoder_error(structured, tiny_dataset)
    assert error.max() <= 5 and error.mean() < 0.6, (error.max(), error.mean())


def test_a_compressed_model_in_fused_ops_predicts_as_the_float_one(lstm_model, tiny_dataset):
    from converters.custom_recurrent import convert_recurrent
    from tfcompress.compression.compress import compress_model

    compressed, _ = compress_model(lstm_model, tiny_dataset, tiny_compress_options(
        lstm_model, "dkp", epochs=1, layers=("embedding", "encoder.input", "encoder.recurrent")),
        verbose=0, measure_tflite=False)
    kinds = {name: s["kind"] for name, s in compressed.config.structures.items()}
    assert kinds == {"embedding": "dkp", "encoder.input": "dkp", "encoder.recurrent": "dkp"}
    calibration, test = ids_of(compressed, tiny_dataset)
    interpreter = ReferenceInterpreter(convert_recurrent(compressed, calibration))
    int8 = np.stack([interpreter.outputs(row[None])[0][0] for row in test]).argmax(-1)
    float_ = compressed.model.predict(test, verbose=0).argmax(-1)
    assert np.mean(int8 == float_) >= 0.95
    assert encoder_error(compressed, tiny_dataset).max() <= 5


@pytest.mark.parametrize("kind", ["lmf", "hmf", "kp", "dkp"])
def test_structured_gather_looks_up_every_token_row(kind, lstm_model, tiny_dataset):
    trained = with_structures(lstm_model, {"embedding": _structure(kind, 64, 8)})
    calibration, test = ids_of(trained, tiny_dataset)
    data, _ = encoder_graph(trained, calibration)
    interpreter = ReferenceInterpreter(data)
    assert interpreter.graph.operators[0].name == f"TFC_{kind.upper()}_GATHER"
    rows_tensor = interpreter.graph.operators[0].outputs[0]
    scale = float(interpreter.graph.tensors[rows_tensor].scale[0])
    expected = trained.model.get_layer("embedding")(test).numpy()
    for row, want in zip(test[:10], expected):
        got = interpreter.invoke(row[None])[rows_tensor][0]
        assert np.all(got[row == 0] == 0)  # the left padding is exactly zero
        assert np.abs(got * scale - want).max() <= 2 * scale  # the output's rounding and the factors'


# -- refusals ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lstm_op(lstm_model, tiny_dataset):
    """(operator, input specs, output spec) of a TFC_LSTM with dense W and DKP U."""
    from tfcompress.structures.spec import Structure

    trained = with_structures(lstm_model, {"encoder.recurrent": Structure("dkp", a_shape=(2, 4), b_shape=(4, 8),
                                                                          density=0.3)})
    data, _ = encoder_graph(trained, ids_of(trained, tiny_dataset)[0])
    interpreter = ReferenceInterpreter(data)
    op = next(o for o in interpreter.graph.operators if o.name == "TFC_LSTM")
    tensors = interpreter.graph.tensors
    return op, [tensors[i] if i >= 0 else None for i in op.inputs], tensors[op.outputs[0]]


def _refused(op, ins, out, match, **options):
    if options:
        merged = {**flexbuffers.Loads(op.custom_options), **options}
        op = Operator(op.index, op.name, op.inputs, op.outputs, {}, True, bytes(flexbuffers.Dumps(merged)))
    with pytest.raises(OpError, match=match) as err:
        RECURRENT_OPS[op.name].prepare(op, ins, [out])
    assert str(err.value).startswith(f"operator {op.index}: {op.name}: ")


def _spec(t: TensorSpec, **changes) -> TensorSpec:
    return replace(t, **changes)


def test_the_lstm_op_prepares_as_written(lstm_op):
    op, ins, out = lstm_op
    p = RECURRENT_OPS[op.name].prepare(op, ins, [out])
    assert p["W"]["kind"] == "dense" and p["U"]["kind"] == "dkp" and 0 <= p["cell_bits"] <= 15
    assert len(ins) == 1 + 1 + 2 + 1 + 1 + 2 and ins[-2] is None  # x, w, a b, bias, scales, (s of W), s of U


def test_bad_recurrent_ops_are_refused_at_prepare_naming_operator_and_field(lstm_op):
    op, ins, out = lstm_op
    _refused(op, ins, out, "version 2 is not supported", version=2)
    _refused(op, ins, out, "field 'cell_bits' is 16, outside", cell_bits=16)
    _refused(op, ins, out, "field 'return_sequences' is 1: only 0", return_sequences=1)
    _refused(op, ins, out, "field 'input_structure' is 7, not one of 0 .dense.", input_structure=7)
    _refused(op, ins, out, "field 'units' must be int", units="eight")
    _refused(op, ins, out, "field 'units' is 9; the output must be int8 \\[1, units\\]", units=9)
    _refused(op, ins, out, "W is dense: its sparse factor s must be left out .-1. and custom_options field "
                           "'input_nnz' 0", input_nnz=3)
    _refused(op, ins, out, "field 'recurrent_nnz' is 100000, outside the 8x32 matrix U", recurrent_nnz=100000)
    # the input count follows the structures in the options
    _refused(op, ins, out, "expects 9 inputs \\(x, a of W, b of W, a of U, b of U, bias, scales, s of W, s of U\\)",
             input_structure=3)
    del_options = {k: v for k, v in flexbuffers.Loads(op.custom_options).items() if k != "cell_bits"}
    missing = Operator(op.index, op.name, op.inputs, op.outputs, {}, True, bytes(flexbuffers.Dumps(del_options)))
    _refused(missing, ins, out, "custom_options has no 'cell_bits'")
    _refused(op, ins[:-1], out, "expects 8 inputs")
    _refused(op, [_spec(ins[0], shape=(1, 20))] + ins[1:], out, "input 0 .x. must be int8 \\[1, T, D\\]")
    _refused(op, ins, _spec(out, zero_point=np.asarray([3])), "zero point 0")
    _refused(op, ins[:1] + [_spec(ins[1], shape=(32, 9), data=np.zeros((32, 9), np.int8))] + ins[2:], out,
             "factor w of W must be \\[32, 8\\], got \\[32, 9\\]")
    _refused(op, ins[:2] + [_spec(ins[2], shape=(1, 1), data=np.zeros((1, 1), np.int8))] + ins[3:], out,
             "factors a of U \\[1, 1\\] and b of U .* do not cover 8x32")
    _refused(op, ins[:4] + [_spec(ins[4], data=ins[4].data[:5], shape=(5,))] + ins[5:], out,
             "the bias must be 32 constant int32 values")
    scales = ins[5]
    _refused(op, ins[:5] + [_spec(scales, data=scales.data[:-1], shape=(scales.data.size - 1,))] + ins[6:], out,
             "scales input must be .* \\(W.w x32, U.a x4, U.b x8, U.s x1, U.t x1\\)")
    _refused(op, ins[:5] + [_spec(scales, data=-scales.data)] + ins[6:], out, "finite positive")
    damaged = _spec(ins[7], data=np.ones(3, np.uint8), shape=(3,))
    _refused(op, ins[:7] + [damaged], out, "the sparse factor s of U does not decode")


def test_the_gru_op_takes_two_biases_and_no_cell_bits(gru_model, tiny_dataset):
    data, _ = encoder_graph(gru_model, ids_of(gru_model, tiny_dataset)[0])
    interpreter = ReferenceInterpreter(data)
    op = next(o for o in interpreter.graph.operators if o.name == "TFC_GRU")
    ins = [interpreter.graph.tensors[i] if i >= 0 else None for i in op.inputs]
    assert [t.name.rsplit("/", 1)[-1] for t in ins[3:5]] == ["bias", "recurrent_bias"]
    assert "cell_bits" not in flexbuffers.Loads(op.custom_options)
    _refused(op, ins[:4] + ins[5:], interpreter.graph.tensors[op.outputs[0]],
             "expects 8 inputs \\(x, w of W, w of U, bias, recurrent_bias, scales, s of W, s of U\\)")


def test_bad_gathers_are_refused(lstm_model, tiny_dataset):
    trained = with_structures(lstm_model, {"embedding": _structure("lmf", 64, 8)})
    data, _ = encoder_graph(trained, ids_of(trained, tiny_dataset)[0])
    interpreter = ReferenceInterpreter(data)
    op = interpreter.graph.operators[0]
    ins = [interpreter.graph.tensors[i] for i in op.inputs]
    out = interpreter.graph.tensors[op.outputs[0]]
    _refused(op, ins, _spec(out, shape=(1, out.shape[1] + 1, 8)), "the output must be int8 \\[1, \\d+, D\\]")
    _refused(op, [_spec(ins[0], dtype=np.int8)] + ins[1:], out, "input 0 .ids. must be int32 \\[1, T\\]")
    _refused(op, ins[:1] + ins[2:], out, "expects 4 inputs \\(ids, u, v, scales\\)")
    params = RECURRENT_OPS[op.name].prepare(op, ins, [out])
    with pytest.raises(IndexError, match="TFC_LMF_GATHER id outside"):
        RECURRENT_OPS[op.name].eval(params, [np.full((1, out.shape[1]), 64, np.int32)])
