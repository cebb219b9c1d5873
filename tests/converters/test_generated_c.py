"""converters.generated_c: the model compiled to C over the kernels equals TFLM's host interpreter
(builtin ops) or the integer reference (TFC_ ops, among them convert_custom's fused structured
ops) bit for bit, over whole test splits."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from converters.custom_ops import fuse_embedding_bags
from converters.generated_c import KERNELS_DIR, CModel, build_host_library, generate_c, kernel_sources, plan_arena
from converters.tflite import convert_int8
from tests.helpers import SHARED_DATASETS, tiny_compress_options
from tfcompress.interpreters import Int8Runner
from tfcompress.reference.graph import read_graph
from tfcompress.reference.interpreter import ReferenceInterpreter


def _same_as_tflm(model: bytes, ids: np.ndarray, tmp_path) -> None:
    c = CModel(model, cache_dir=tmp_path)
    ours = np.stack([c.invoke(row)[0] for row in ids])
    np.testing.assert_array_equal(ours, Int8Runner(model, "tflm").run(ids))


# What the tiny pooled model reaches: the planner counts every scale, so LMF and HMF cannot go to
# 3x; pruned 3x in one epoch its outputs no longer depend on the input.
@pytest.fixture(scope="module")
def compressed(pooled_model, tiny_dataset):
    """method -> the pooled model compressed by it (once per module, whichever test asks first)."""
    from tfcompress.compression.compress import compress_model

    cache = {}

    def get(method: str):
        if method not in cache:
            options = tiny_compress_options(pooled_model, method, epochs=1)
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


# -- per-operator profiling -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def custom_bytes(pooled_model, tiny_dataset, compressed):
    """method -> convert_custom's model of the pooled model ("dense") or of its compressed twin."""
    from converters.custom_model import convert_custom
    from converters.tflite import representative_sample

    cache = {}

    def get(method: str) -> bytes:
        if method not in cache:
            trained = pooled_model if method == "dense" else compressed(method)
            ids = trained.tokenizer.encode_batch(tiny_dataset.train.texts)
            cache[method] = convert_custom(trained, representative_sample(ids, 50))
        return cache[method]
    return get


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler: ./setup.sh installs gcc")
    return cc


STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def _without_profiling(source: str) -> str:
    """The generated source as it would be without the hooks: no BEGIN/END lines, no profiling block."""
    source = re.sub(r"^ *TFC_PROFILE_(BEGIN|END)\(\d+\);\n", "", source, flags=re.M)
    start = source.index("/* Per-operator profiling")
    end = source.index("#endif\n#endif\n", start) + len("#endif\n#endif\n")
    return source[:start] + source[end:]


def test_the_default_build_has_no_profiling_code(custom_bytes, tmp_path):
    """Without TFC_PROFILE the object is byte for byte the one of the source without the hooks."""
    model = custom_bytes("dkp")
    generated = generate_c(model)
    operators = len(read_graph(model).operators)
    assert f"#define TFC_MODEL_OPERATOR_COUNT {operators}" in generated.header
    for k in range(operators):
        assert generated.source.count(f"TFC_PROFILE_BEGIN({k});") == 1
        assert f"TFC_PROFILE_END({k});" in generated.source
    objects = []
    for name, source in (("hooked", generated.source), ("plain", _without_profiling(generated.source))):
        work = tmp_path / name
        work.mkdir()
        (work / "tfc_model.c").write_text(source)
        (work / "tfc_model.h").write_text(generated.header)
        subprocess.run([_compiler(), *STRICT, "-O2", "-I", str(KERNELS_DIR / "include"), "-I", ".", "-c",
                        "tfc_model.c", "-o", "tfc_model.o"], cwd=work, check=True, capture_output=True, timeout=120)
        objects.append((work / "tfc_model.o").read_bytes())
    assert objects[0] == objects[1]
    assert b"clock_gettime" not in objects[0] and b"operator_names" not in objects[0]
    # The profiled build is as clean: -pedantic, no warnings.
    subprocess.run([_compiler(), *STRICT, "-O2", "-DTFC_PROFILE", "-I", str(KERNELS_DIR / "include"), "-I", ".",
                    "-c", "tfc_model.c", "-o", "profiled.o"], cwd=tmp_path / "hooked", check=True,
                   capture_output=True, timeout=120)


def test_a_profiled_cmodel_times_every_operator(custom_bytes, tiny_dataset, pooled_model, tmp_path):
    from tfcompress.errors import TfcompressError

    model = custom_bytes("dense")
    assert build_host_library(model, tmp_path) != build_host_library(model, tmp_path, profile=True)
    plain, profiled = CModel(model, cache_dir=tmp_path), CModel(model, cache_dir=tmp_path, profile=True)
    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    profiled.reset_profile()
    for row in ids:
        np.testing.assert_array_equal(profiled.invoke(row), plain.invoke(row))
    times = profiled.op_times()
    assert [(k, name) for k, name, _, _ in times] == [(k, op.name) for k, op in enumerate(read_graph(model).operators)]
    assert [name for _, name, _, _ in times] == ["TFC_EMBEDDING_BAG", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert all(calls == len(ids) and ns > 0 for _, _, calls, ns in times)
    bad = ids[0].copy()
    bad[-1] = read_graph(model).tensors[read_graph(model).operators[0].inputs[1]].shape[0]
    with pytest.raises(TfcompressError, match="refused the input at operator 0"):
        profiled.invoke(bad)
    assert [calls for _, _, calls, _ in profiled.op_times()] == [len(ids) + 1, len(ids), len(ids)]
    profiled.reset_profile()
    assert all(calls == 0 and ns == 0 for _, _, calls, ns in profiled.op_times())
    with pytest.raises(ValueError, match="profile=True"):
        plain.op_times()


# -- the whole generated C under AddressSanitizer and UBSan ----------------------------------------

SANITIZERS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


@pytest.fixture(scope="module")
def sanitized_kernels(tmp_path_factory):
    """(compiler, the kernels' objects built with ASan and UBSan), once; a skip when the compiler has
    no sanitizers (the only reason to skip)."""
    cc = _compiler()
    work = tmp_path_factory.mktemp("sanitized")
    (work / "probe.c").write_text("int main(void)\n{\n    return 0;\n}\n")
    probe = subprocess.run([cc, *SANITIZERS, "probe.c", "-o", "probe"], cwd=work, capture_output=True, text=True)
    if probe.returncode != 0 or subprocess.run([str(work / "probe")], capture_output=True).returncode != 0:
        pytest.skip(f"{cc} cannot build and run with {' '.join(SANITIZERS)}: {probe.stderr.strip()[-300:]}")
    subprocess.run([cc, *STRICT, "-g", "-O1", *SANITIZERS, "-I", str(KERNELS_DIR / "include"), "-c",
                    *map(str, kernel_sources())], cwd=work, check=True, capture_output=True, timeout=300)
    return cc, sorted(work.glob("*.o"))


def _sanitized_binary(kernels, model: bytes, work, *flags: str):
    cc, objects = kernels
    generated = generate_c(model)
    work.mkdir(parents=True, exist_ok=True)
    (work / "tfc_model.c").write_text(generated.source)
    (work / "tfc_model.h").write_text(generated.header)
    # -g1 (line tables): full -g makes gcc's variable tracking take a minute over an unrolled LSTM
    result = subprocess.run([cc, *STRICT, "-g1", "-O1", *SANITIZERS, *flags, "-I", str(KERNELS_DIR / "include"),
                             "-I", str(work), str(work / "tfc_model.c"), str(KERNELS_DIR / "tests" / "model_driver.c"),
                             *map(str, objects), "-o", str(work / "model")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return work / "model", generated


def _run_sanitized(binary, generated, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """(statuses, outputs [n, output length], the text after the rows); fails on any sanitizer report."""
    rows = np.ascontiguousarray(ids, np.int32).reshape(len(ids), -1)
    result = subprocess.run([str(binary)], input=rows.tobytes(), capture_output=True, timeout=120)
    assert result.returncode == 0 and not result.stderr, result.stderr.decode(errors="replace")[-3000:]
    width = 4 + int(np.prod(generated.output.shape))
    body = np.frombuffer(result.stdout[:width * len(rows)], np.uint8).reshape(len(rows), width)
    statuses = body[:, :4].copy().view(np.int32).ravel()
    return statuses, body[:, 4:].view(np.int8), result.stdout[width * len(rows):].decode()


@pytest.fixture(scope="module", params=["dense", "dkp", "hmf", "lstm"])
def sanitized_case(request, tiny_dataset):
    """(name, model, ids of the test and valid texts, the golden's outputs, the vocabulary the ids index):
    convert_custom's model (golden: the integer reference) or the LSTM's builtin graph (golden: TFLM)."""
    texts = tiny_dataset.test.texts + tiny_dataset.valid.texts
    if request.param == "lstm":
        trained, model = request.getfixturevalue("lstm_model"), request.getfixturevalue("lstm_tflite")
        ids = trained.tokenizer.encode_batch(texts)
        return request.param, model, ids, Int8Runner(model, "tflm").run(ids), trained.tokenizer.vocab_size
    model = request.getfixturevalue("custom_bytes")(request.param)
    trained = request.getfixturevalue("pooled_model") if request.param == "dense" else \
        request.getfixturevalue("compressed")(request.param)
    ids = trained.tokenizer.encode_batch(texts)
    reference = ReferenceInterpreter(model)
    golden = np.stack([reference.outputs(row[None])[0][0] for row in ids])
    return request.param, model, ids, golden, trained.tokenizer.vocab_size


def test_the_whole_generated_c_is_clean_under_asan_and_ubsan(sanitized_case, sanitized_kernels, tmp_path):
    """The generated C, the kernels and a driver built -std=c99 -pedantic -Werror with ASan and UBSan:
    equal to the golden bit for bit, and an id outside the vocabulary refused without a report."""
    name, model, ids, golden, vocab = sanitized_case
    binary, generated = _sanitized_binary(sanitized_kernels, model, tmp_path)
    statuses, outputs, _ = _run_sanitized(binary, generated, ids)
    assert not statuses.any()
    np.testing.assert_array_equal(outputs, golden.reshape(len(ids), -1))
    graph = read_graph(model)
    reader = next(k for k, op in enumerate(graph.operators) if graph.inputs[0] in op.inputs)  # reads the ids
    bad = np.repeat(ids[:1], 3, axis=0)
    bad[0, -1], bad[1, 0] = vocab, -1  # one past the end, and negative; the third row is fine
    statuses, outputs, _ = _run_sanitized(binary, generated, bad)
    assert statuses.tolist() == [reader + 1, reader + 1, 0], name
    np.testing.assert_array_equal(outputs[2], golden[0].reshape(-1))


def test_the_profiled_builds_are_clean_under_asan_and_ubsan(custom_bytes, compressed, tiny_dataset, sanitized_kernels,
                                                            tmp_path):
    """-DTFC_PROFILE: the default host profiler counts every call; with TFC_PROFILE_USER_HEADER a board's
    tfc_profile.h gets one TFC_PROFILE_END(k) for every TFC_PROFILE_BEGIN(k), a refusal included."""
    model = custom_bytes("dkp")
    ids = compressed("dkp").tokenizer.encode_batch(tiny_dataset.test.texts)
    names = [op.name for op in read_graph(model).operators]
    binary, generated = _sanitized_binary(sanitized_kernels, model, tmp_path / "default", "-DTFC_PROFILE")
    statuses, _, report = _run_sanitized(binary, generated, ids)
    assert not statuses.any()
    lines = [line.split() for line in report.splitlines()]
    assert [(int(k), name, int(calls)) for k, name, calls, _ in lines] == [(k, n, len(ids)) for k, n in enumerate(names)]
    assert all(int(ns) > 0 for *_, ns in lines)

    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "tfc_profile.h").write_text(
        "/* A board's profiler: here counts, on a board a cycle counter (DWT->CYCCNT). */\n"
        "#include <stdint.h>\nextern uint32_t tfc_test_begins[];\nextern uint32_t tfc_test_ends[];\n"
        "#define TFC_PROFILE_BEGIN(k) (++tfc_test_begins[(k)])\n#define TFC_PROFILE_END(k) (++tfc_test_ends[(k)])\n")
    binary, generated = _sanitized_binary(sanitized_kernels, model, tmp_path / "board", "-DTFC_PROFILE",
                                          "-DTFC_PROFILE_USER_HEADER")
    bad = ids.copy()
    bad[0, -1] = -1
    statuses, _, report = _run_sanitized(binary, generated, bad)
    assert statuses.tolist() == [1] + [0] * (len(ids) - 1)
    counts = [(int(k), name, int(begins), int(ends)) for k, name, begins, ends in map(str.split, report.splitlines())]
    assert counts == [(k, n, len(ids) - (k > 0), len(ids) - (k > 0)) for k, n in enumerate(names)]


# -- requantisation multipliers the kernels take ---------------------------------------------------

def test_a_multiplier_shift_outside_the_kernels_range_is_refused_naming_the_operator(custom_bytes):
    from ai_edge_litert import schema_py_generated as schema

    from converters.custom_model import pack_model
    from converters.generated_c import _Emitter
    from tfcompress.reference.common import OpError

    model = custom_bytes("dense")
    graph = read_graph(model)
    e = _Emitter(graph, "m", {}, op=graph.operators[1])
    assert e.multiplier((1 << 30, 30)) == "{1073741824, 30}" and e.multiplier((1 << 30, -31)) == "{1073741824, -31}"
    for shift in (31, -32, 40):
        with pytest.raises(OpError, match=rf"operator 1: FULLY_CONNECTED: .*shift {shift}\) .*\[-31, 30\]"):
            e.multiplier((1 << 30, shift))
    # A scale that makes the bag's multiplier 2^90: refused when generating, not shifted in C.
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    subgraph = tree.subgraphs[0]
    subgraph.tensors[subgraph.operators[0].outputs[0]].quantization.scale = [1e-30]
    with pytest.raises(OpError, match=r"operator 0: TFC_EMBEDDING_BAG: requantisation multiplier .* shift \d+\) "):
        generate_c(pack_model(tree))
