"""Every structure against the dense matrix it represents, in every use: matmul, row lookup,
recurrent kernels; gradients; serialisation; and int8 conversion through builtin ops."""

import numpy as np
import pytest

from converters.tflite import convert_int8
from tfcompress.backend import keras, tf
from tfcompress.interpreters import Int8Runner
from tfcompress.layers import PaddedEmbedding, Structure, StructuredDense, UnrolledRNN
from tfcompress.structures.spec import sparse_storage_bytes

ROWS, COLS = 12, 10
STRUCTURES = {
    "dense": Structure("dense"),
    "lmf": Structure("lmf", rank=3),
    "hmf": Structure("hmf", rank=3),
    "kp": Structure("kp", a_shape=(4, 2), b_shape=(3, 5)),
    "kp_padded": Structure("kp", a_shape=(5, 3), b_shape=(3, 4)),  # covers 15 x 12, sliced to 12 x 10
    "dkp": Structure("dkp", a_shape=(4, 2), b_shape=(3, 5), density=0.1, cmr=0.5),
}


def _dense_layer(structure, rows=ROWS, cols=COLS, seed=0):
    layer = StructuredDense(cols, structure, use_bias=False)
    layer.build((None, rows))
    w = np.random.default_rng(seed).normal(size=(rows, cols)).astype(np.float32)
    layer.kernel.assign_from_dense(w)
    if structure.kind == "dkp":
        layer.kernel.set_density(structure.density)
    return layer, w


@pytest.mark.parametrize("name", STRUCTURES)
def test_matmul_and_rows_equal_the_dense_matrix(name):
    layer, _ = _dense_layer(STRUCTURES[name])
    w = layer.kernel.to_dense()
    x = np.random.default_rng(1).normal(size=(2, 3, ROWS)).astype(np.float32)
    np.testing.assert_allclose(layer(x, training=False).numpy(), x @ w, rtol=1e-4, atol=1e-5)
    ids = np.array([[0, 1, 2, 3], [5, 9, 10, 11]], dtype=np.int32)
    np.testing.assert_allclose(layer.kernel.gather_rows(ids).numpy(), w[ids], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, exact", [("dense", True), ("lmf", False), ("hmf", False), ("kp", False)])
def test_initialisation_from_dense(name, exact):
    layer, w = _dense_layer(STRUCTURES[name])
    error = np.linalg.norm(layer.kernel.to_dense() - w)
    assert (error < 1e-5) if exact else (0 < error < np.linalg.norm(w))
    if name == "hmf":
        np.testing.assert_allclose(layer.kernel.to_dense()[:3], w[:3], rtol=1e-6)


def test_dkp_starts_exact_and_anneals_to_its_density():
    structure = STRUCTURES["dkp"]
    layer = StructuredDense(COLS, structure, use_bias=False)
    layer.build((None, ROWS))
    w = np.random.default_rng(0).normal(size=(ROWS, COLS)).astype(np.float32)
    layer.kernel.assign_from_dense(w)
    np.testing.assert_allclose(layer.kernel.to_dense(), w, rtol=1e-5, atol=1e-5)  # S starts dense
    errors = []
    for density in (0.5, 0.2, 0.1):
        layer.kernel.set_density(density)
        assert layer.kernel.nonzeros == round(density * ROWS * COLS)
        errors.append(np.linalg.norm(layer.kernel.to_dense() - w))
    assert errors == sorted(errors)
    kp_only = structure.parameter_count(ROWS, COLS, nonzeros=0)
    assert layer.kernel.parameter_count() == kp_only + 12
    assert layer.kernel.storage_bytes() == kp_only + sparse_storage_bytes(ROWS, COLS, 12) + \
        structure.quantization_bytes(ROWS, COLS)


def test_cmr_is_dropout_on_the_entries_of_s_while_training():
    layer, _ = _dense_layer(Structure("dkp", a_shape=(4, 2), b_shape=(3, 5), density=0.5, cmr=0.5))
    eye = np.eye(ROWS, dtype=np.float32)  # row r of the output is row r of W
    kp = np.kron(layer.kernel.a.numpy(), layer.kernel.b.numpy())[:ROWS, :COLS]
    s = layer.kernel.s.numpy() * layer.kernel.s_mask.numpy()
    np.testing.assert_allclose(layer(eye, training=False).numpy(), kp + s, rtol=1e-5, atol=1e-5)
    kept = set()
    for _ in range(5):
        scale = (layer(eye, training=True).numpy() - kp)[s != 0] / s[s != 0]
        assert np.all(np.isclose(scale, 0, atol=1e-4) | np.isclose(scale, 2, atol=1e-4))  # dropped or kept / (1 - p)
        kept.update(np.round(scale).astype(int).tolist())
    assert kept == {0, 2}


@pytest.mark.parametrize("name", ["lmf", "hmf", "kp", "dkp"])
def test_parameter_counts(name):
    layer, _ = _dense_layer(STRUCTURES[name])
    counted = sum(int(np.prod(v.shape)) for v in layer.trainable_weights)
    if name == "dkp":
        counted -= ROWS * COLS - layer.kernel.nonzeros  # S is stored sparse
    assert layer.kernel.parameter_count() == counted
    assert layer.kernel.dense_parameter_count == ROWS * COLS


@pytest.mark.parametrize("name", ["lmf", "hmf", "kp", "dkp"])
def test_gradients_reach_every_factor(name):
    layer, _ = _dense_layer(STRUCTURES[name])
    x = tf.constant(np.random.default_rng(3).normal(size=(4, ROWS)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    for weight, grad in zip(layer.trainable_weights, tape.gradient(loss, layer.trainable_weights)):
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0, weight.name


@pytest.mark.parametrize("name", ["lmf", "hmf", "kp", "dkp"])
def test_recurrent_kernels_take_any_structure(name):
    structure = STRUCTURES[name]  # input kernel 6 x 12 (4 gates x 3 units)
    shapes = {"kp": dict(a_shape=(2, 4), b_shape=(3, 3)), "dkp": dict(a_shape=(2, 4), b_shape=(3, 3), density=0.2)}
    structure = Structure(**{**structure.to_json(), **shapes.get(name, {}), "rank": min(structure.rank, 3)})
    ours = UnrolledRNN(3, "lstm", input_structure=structure)
    x = np.random.default_rng(0).normal(size=(2, 5, 6)).astype(np.float32)
    ours(x)
    ref = keras.layers.LSTM(3)
    ref(x)
    ref.set_weights([ours.input_kernel.to_dense(), ours.recurrent_kernel.to_dense(), ours.bias.numpy()])
    np.testing.assert_allclose(ours(x, training=False).numpy(), ref(x).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["lmf", "hmf", "kp", "dkp"])
def test_model_save_load_roundtrip(name, tmp_path):
    structure = STRUCTURES[name]
    ids = keras.Input((4,), dtype="int32")
    x = PaddedEmbedding(ROWS, COLS, structure)(ids)
    x = UnrolledRNN(3, "gru", input_structure=Structure("lmf", rank=2))(x)
    model = keras.Model(ids, StructuredDense(2, Structure("lmf", rank=1))(x))
    data = np.random.default_rng(0).integers(0, ROWS, (5, 4)).astype(np.int32)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)
    assert again.layers[1].structure == structure


@pytest.mark.parametrize("name", ["lmf", "hmf", "kp_padded", "dkp"])
def test_converts_to_int8_builtin_ops_that_tflm_runs(name):
    structure = STRUCTURES[name]
    ids = keras.Input((5,), dtype="int32")
    x = PaddedEmbedding(ROWS, COLS, structure)(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(ids, StructuredDense(4, structure if name != "kp_padded" else None)(x))
    data = np.random.default_rng(0).integers(0, ROWS, (64, 5)).astype(np.int32)
    tflite = convert_int8(model, data)
    golden = Int8Runner(tflite, "tflm")
    expected = model.predict(data, verbose=0)
    assert np.corrcoef(golden.dequantize(golden.run(data)).ravel(), expected.ravel())[0, 1] > 0.98


def test_bad_structures_are_rejected():
    with pytest.raises(ValueError, match="rank must be in"):
        StructuredDense(4, Structure("lmf", rank=9)).build((None, 3))
    with pytest.raises(ValueError, match="do not cover"):
        StructuredDense(10, Structure("kp", a_shape=(2, 2), b_shape=(2, 2))).build((None, 12))
    with pytest.raises(ValueError, match="structure kind"):
        Structure("svd")
