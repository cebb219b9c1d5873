"""converters.generated_c: the model compiled to C over the kernels equals TFLM's host interpreter
(builtin ops) or the integer reference (TFC_ ops, among them convert_custom's fused structured
ops) bit for bit, over whole test splits."""

import numpy as np
import pytest

from converters.custom_ops import fuse_embedding_bags
from converters.generated_c import CModel, generate_c, plan_arena
from converters.tflite import convert_int8
from tests.helpers import SHARED_DATASETS
from tfcompress.interpreters import Int8Runner
from tfcompress.reference.graph import read_graph
from tfcompress.reference.interpreter import ReferenceInterpreter


def _same_as_tflm(model: bytes, ids: np.ndarray, tmp_path) -> None:
    c = CModel(model, cache_dir=tmp_path)
    ours = np.stack([c.invoke(row)[0] for row in ids])
    np.testing.assert_array_equal(ours, Int8Runner(model, "tflm").run(ids))


# What the tiny pooled model reaches: the planner counts every scale, so LMF and HMF cannot go to
# 3x; pruned 3x in one epoch its outputs no longer depend on the input.
TARGET_RATIOS = {"dkp": 3, "kp": 3, "hmf": 1.5, "lmf": 2, "prune": 2}


@pytest.fixture(scope="module")
def compressed(pooled_model, tiny_dataset):
    """method -> the pooled model compressed by it (once per module, whichever test asks first)."""
    from tfcompress.compression.compress import compress_model
    from tfcompress.options import CompressOptions

    cache = {}

    def get(method: str):
        if method not in cache:
            options = CompressOptions(method=method, target_ratio=TARGET_RATIOS[method], epochs=1)
            cache[method] = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False)[0]
        return cache[method]
    return get


@pytest.fixture(scope="module", params=["pooled", "lstm", "dkp", "kp", "hmf", "lmf", "prune"])
def model_and_ids(request, pooled_bundle, pooled_model, lstm_tflite, lstm_model, tiny_dataset, compressed):
    texts = tiny_dataset.test.texts + tiny_dataset.valid.texts
    if request.param == "pooled":
        return (pooled_bundle / "model.tflite").read_bytes(), pooled_model.tokenizer.encode_batch(texts)
    if request.param == "lstm":
        return lstm_tflite, lstm_model.tokenizer.encode_batch(texts)
    trained = compressed(request.param)
    model = convert_int8(trained.model, trained.tokenizer.encode_batch(tiny_dataset.train.texts[:50]))
    return model, trained.tokenizer.encode_batch(texts)


def test_the_generated_c_equals_tflm(model_and_ids, tmp_path):
    model, ids = model_and_ids
    _same_as_tflm(model, ids, tmp_path)


def test_the_sparse_ops_in_c_equal_the_builtin_graph(model_and_ids, tmp_path):
    from converters.custom_ops import sparsify
    from converters.flatbuffer import summarize

    model, ids = model_and_ids
    sparse, count = sparsify(model)
    if count:
        assert len(sparse) < len(model)
        assert any(name.startswith("TFC_SPARSE_") for name in summarize(sparse).op_counts())
    c = CModel(sparse, cache_dir=tmp_path)
    np.testing.assert_array_equal(np.stack([c.invoke(row)[0] for row in ids]), Int8Runner(model, "tflm").run(ids))
    reference = ReferenceInterpreter(sparse)
    np.testing.assert_array_equal(np.stack([reference.outputs(row[None])[0][0] for row in ids[:8]]),
                                  Int8Runner(model, "tflm").run(ids[:8]))


def test_the_fused_embedding_bag_in_c_equals_the_builtin_graph(pooled_bundle, pooled_model, tiny_dataset, tmp_path):
    model = (pooled_bundle / "model.tflite").read_bytes()
    fused, count = fuse_embedding_bags(model)
    assert count == 1 and "tfc_embedding_bag_s8(" in generate_c(fused).source
    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    c = CModel(fused, cache_dir=tmp_path)
    np.testing.assert_array_equal(np.stack([c.invoke(row)[0] for row in ids]), Int8Runner(model, "tflm").run(ids))


def test_an_id_outside_the_vocabulary_is_refused_not_read(pooled_bundle, tmp_path):
    from tfcompress.errors import TfcompressError

    model = (pooled_bundle / "model.tflite").read_bytes()
    c = CModel(model, cache_dir=tmp_path)
    ids = np.zeros(c.input_spec.shape, np.int32)
    ids[0, -1] = read_graph(model).tensors[read_graph(model).operators[0].inputs[0]].shape[0]  # one past the end
    with pytest.raises(TfcompressError, match="refused the input at operator 0"):
        c.invoke(ids)


FUSED_OPS = {"dense": ("TFC_EMBEDDING_BAG", "FULLY_CONNECTED"), "prune": ("TFC_SPARSE_EMBEDDING_BAG",
                                                                       "TFC_SPARSE_FULLY_CONNECTED"),
             **{kind: (f"TFC_{kind.upper()}_EMBEDDING_BAG", f"TFC_{kind.upper()}_FULLY_CONNECTED")
                for kind in ("dkp", "kp", "hmf", "lmf")}}


@pytest.fixture(scope="module", params=list(FUSED_OPS))
def custom_model(request, pooled_model, tiny_dataset, compressed, tmp_path_factory):
    """convert_custom's model of each method (the fused TFC_ ops, quantised by tfcompress), its C
    compiled once, and the ids of the test and valid texts."""
    from converters.custom_model import convert_custom
    from converters.tflite import representative_sample

    trained = pooled_model if request.param == "dense" else compressed(request.param)
    model = convert_custom(trained, representative_sample(trained.tokenizer.encode_batch(tiny_dataset.train.texts), 50))
    texts = tiny_dataset.test.texts + tiny_dataset.valid.texts
    c = CModel(model, cache_dir=tmp_path_factory.mktemp("c"))
    return request.param, model, c, trained.tokenizer.encode_batch(texts)


def test_the_fused_structured_ops_in_c_equal_the_reference(custom_model):
    from converters.flatbuffer import summarize

    method, model, c, ids = custom_model
    assert set(FUSED_OPS[method]) <= set(summarize(model).op_counts())
    reference = ReferenceInterpreter(model)
    ours = np.stack([c.invoke(row)[0] for row in ids])
    np.testing.assert_array_equal(ours, np.stack([reference.outputs(row[None])[0][0] for row in ids]))
    assert len(np.unique(ours)) > 8  # the outputs vary: the test compares more than a constant


def test_the_fused_bags_refuse_an_id_outside_the_vocabulary(custom_model):
    from tfcompress.errors import TfcompressError

    _, model, c, ids = custom_model
    graph = read_graph(model)
    bag = graph.operators[0]
    vocab = graph.tensors[bag.inputs[1]].shape[0] if bag.name == "TFC_EMBEDDING_BAG" else \
        ReferenceInterpreter(model).steps[0][2]["vocab"]
    for bad in (vocab, -1):
        row = ids[0].copy()
        row[-1] = bad
        with pytest.raises(TfcompressError, match="refused the input at operator 0"):
            c.invoke(row)
    c.invoke(ids[0])  # and the next input runs


def test_the_arena_shares_bytes_between_tensors_never_alive_together(lstm_tflite):
    graph = read_graph(lstm_tflite)
    activations = {i for op in graph.operators for i in (*op.inputs, *op.outputs)
                   if i >= 0 and graph.tensors[i].data is None}
    offsets, arena = plan_arena(graph, activations)
    total = sum(int(np.prod(graph.tensors[i].shape)) * np.dtype(graph.tensors[i].dtype).itemsize for i in activations)
    assert arena < total / 2  # an unrolled LSTM reuses most of its buffers
    assert generate_c(lstm_tflite).arena_bytes == arena
    # sound: tensors alive at the same time (from their producer to their last reader) never share a byte
    born = {i: -1 for i in graph.inputs}
    dies = {}
    for k, op in enumerate(graph.operators):
        for i in op.inputs:
            dies[i] = k
        for o in op.outputs:
            born.setdefault(o, k)
    dies.update({o: len(graph.operators) for o in graph.outputs})
    spans = {i: (offsets[i], offsets[i] + int(np.prod(graph.tensors[i].shape)) *
                 np.dtype(graph.tensors[i].dtype).itemsize) for i in activations}
    for a in activations:
        for b in activations:
            alive_together = a != b and not (dies.get(a, born[a]) < born[b] or dies.get(b, born[b]) < born[a])
            assert not (alive_together and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]), (a, b)


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="shared datasets not checked out beside the project")
@pytest.mark.parametrize("dataset_name", ["snips", "clinc150", "banking77"])
@pytest.mark.parametrize("encoder", ["pooled", "lstm"])
def test_whole_real_test_splits_equal_tflm(dataset_name, encoder, tmp_path):
    """Bit-exactness needs no accuracy: a model trained one epoch exercises every op on real text."""
    from tfcompress.data import load_dataset
    from tfcompress.training import TrainOptions, train_classifier

    dataset = load_dataset(dataset_name, SHARED_DATASETS)
    trained = train_classifier(dataset, TrainOptions(encoder=encoder, epochs=1, vocab_size=2000, rnn_units=32),
                               verbose=0)
    model = convert_int8(trained.model, trained.tokenizer.encode_batch(dataset.train.texts[:500]))
    _same_as_tflm(model, trained.tokenizer.encode_batch(dataset.test.texts), tmp_path)
