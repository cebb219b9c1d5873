"""The integer reference against TFLM's host interpreter (the golden), op by op and whole models.

Every op of each model is fed TFLM's own input tensors and must give TFLM's output tensor bit
for bit; the test asserts that every op type of the model was checked.
"""

import numpy as np
import pytest

from tests.helpers import tiny_ratio
from tfcompress.reference.interpreter import ReferenceInterpreter


def _tflm(model: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)


@pytest.fixture(scope="module", params=["pooled", "lstm", "gru", "dkp", "kp", "hmf", "lmf", "prune"])
def model_and_ids(request, pooled_bundle, pooled_model, lstm_tflite, lstm_model, tiny_dataset):
    from converters.tflite import convert_int8

    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    if request.param == "pooled":
        return (pooled_bundle / "model.tflite").read_bytes(), ids
    if request.param == "lstm":
        return lstm_tflite, lstm_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    if request.param == "gru":
        from tfcompress.training import TrainOptions, train_classifier

        gru = train_classifier(tiny_dataset, TrainOptions(encoder="gru", vocab_size=64, embedding_dim=8, rnn_units=8,
                                                          head_units=16, epochs=3, batch_size=16), verbose=0)
        return (convert_int8(gru.model, gru.tokenizer.encode_batch(tiny_dataset.train.texts[:50])),
                gru.tokenizer.encode_batch(tiny_dataset.test.texts))
    from tfcompress.compression.compress import compress_model
    from tfcompress.options import CompressOptions

    compressed, _ = compress_model(pooled_model, tiny_dataset, CompressOptions(method=request.param,
                                                                               target_ratio=tiny_ratio(request.param),
                                                                               epochs=1), verbose=0,
                                   measure_tflite=False)
    model = convert_int8(compressed.model, compressed.tokenizer.encode_batch(tiny_dataset.train.texts[:50]))
    return model, compressed.tokenizer.encode_batch(tiny_dataset.test.texts)


def test_every_op_equals_tflm_given_the_same_inputs(model_and_ids):
    model, ids = model_and_ids
    reference, tflm = ReferenceInterpreter(model), _tflm(model)
    graph = reference.graph
    checked: dict[str, int] = {}
    for row in ids[:8]:
        tflm.set_input(row[None], 0)
        tflm.invoke()

        def golden(i):
            spec = graph.tensors[i]
            return np.asarray(tflm.GetTensor(i, 0)["tensor_data"]).reshape(spec.shape)

        for k, op in enumerate(graph.operators):
            inputs = [golden(i) if i >= 0 and graph.tensors[i].data is None else None for i in op.inputs]
            for ours, out in zip(reference.run_op(k, inputs), op.outputs, strict=True):
                expected = golden(out)
                assert ours.dtype == expected.dtype, op.name
                assert np.array_equal(ours, expected), (op.name, np.argwhere(ours != expected)[:5])
            checked[op.name] = checked.get(op.name, 0) + 1
    assert set(checked) == {op.name for op in graph.operators}


def test_the_whole_model_equals_tflm_over_the_test_split(model_and_ids):
    from tfcompress.interpreters import Int8Runner

    model, ids = model_and_ids
    reference = ReferenceInterpreter(model)
    golden = Int8Runner(model, "tflm").run(ids)
    ours = np.stack([reference.outputs(row[None])[0][0] for row in ids])
    np.testing.assert_array_equal(ours, golden)
