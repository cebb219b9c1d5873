"""converters.custom_ops: the fused TFC_ ops give the builtin graph's int8 outputs bit for bit,
and a damaged or unknown TFC_ op is refused when the model is prepared, naming op and field."""

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from converters.custom_ops import fuse_embedding_bags
from converters.flatbuffer import summarize
from tfcompress.interpreters import Int8Runner
from tfcompress.reference.common import OpError
from tfcompress.reference.interpreter import ReferenceInterpreter


@pytest.fixture(scope="module")
def pooled(pooled_bundle, pooled_model, tiny_dataset):
    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts + tiny_dataset.valid.texts)
    return (pooled_bundle / "model.tflite").read_bytes(), ids


def test_gather_and_mean_become_one_embedding_bag_with_the_same_outputs(pooled):
    model, ids = pooled
    fused, count = fuse_embedding_bags(model)
    assert count == 1
    ops = summarize(fused).op_counts()
    assert ops.get("TFC_EMBEDDING_BAG") == 1 and "GATHER" not in ops and "MEAN" not in ops
    golden = Int8Runner(model, "tflm").run(ids)
    reference = ReferenceInterpreter(fused)
    ours = np.stack([reference.outputs(row[None])[0][0] for row in ids])
    np.testing.assert_array_equal(ours, golden)
    all_padding = np.zeros((1, ids.shape[1]), np.int32)
    np.testing.assert_array_equal(reference.outputs(all_padding)[0], Int8Runner(model, "tflm").run(all_padding))


def _with_custom_options(model: bytes, options: bytes | None = None, name: str | None = None) -> bytes:
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    for code in tree.operatorCodes:
        if code.customCode and name is not None:
            code.customCode = name.encode()
    for op in tree.subgraphs[0].operators:
        if tree.operatorCodes[op.opcodeIndex].customCode and options is not None:
            op.customOptions = np.frombuffer(options, np.uint8)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("options,name,message", [
    (bytes(flexbuffers.Dumps({"version": 2, "pad_id": 0})), None, "version 2 is not supported"),
    (b"\x01\x02\x03", None, "custom_options (is not a flexbuffer|must be a flexbuffer map)"),
    (bytes(flexbuffers.Dumps({"version": 1})), None, "custom_options has no 'pad_id'"),
    (bytes(flexbuffers.Dumps({"version": 1, "pad_id": "zero"})), None, "field 'pad_id' must be int"),
    (None, "TFC_TELEPORT", "unknown custom operator"),
])
def test_a_damaged_or_unknown_tfc_op_is_refused_at_prepare(pooled, options, name, message):
    fused, _ = fuse_embedding_bags(pooled[0])
    with pytest.raises(OpError, match=message) as err:
        ReferenceInterpreter(_with_custom_options(fused, options, name))
    assert str(err.value).startswith("operator 0: TFC_")


def test_nothing_is_fused_when_the_gathered_rows_are_quantised_unlike_the_table(pooled):
    model, _ = pooled
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    graph = tree.subgraphs[0]
    gather = next(op for op in graph.operators if tree.operatorCodes[op.opcodeIndex].builtinCode ==
                  schema.BuiltinOperator.GATHER)
    graph.tensors[int(gather.outputs[0])].quantization.zeroPoint[0] += 1
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    assert fuse_embedding_bags(bytes(builder.Output()))[1] == 0


def test_strided_slice_applies_begin_mask_before_shrinking():
    """TFLM: input [3, 4], begin [1, 0], end [2, 4], beginMask 1, shrinkAxisMask 1 -> row 0."""
    from tfcompress.reference.builtin_ops import BUILTIN_OPS
    from tfcompress.reference.graph import Operator, TensorSpec

    def t(i, shape, data=None):
        dtype = np.int32 if data is not None else np.int8
        return TensorSpec(i, "", shape, dtype, np.zeros(0, np.float32), np.zeros(0, np.int64), 0, data)

    op = Operator(0, "STRIDED_SLICE", (0, 1, 2, 3), (4,), {"beginMask": 1, "endMask": 0, "shrinkAxisMask": 1})
    ins = [t(0, (3, 4)), t(1, (2,), np.array([1, 0], np.int32)), t(2, (2,), np.array([2, 4], np.int32)),
           t(3, (2,), np.array([1, 1], np.int32))]
    params = BUILTIN_OPS["STRIDED_SLICE"].prepare(op, ins, [t(4, (4,))])
    x = np.arange(12, dtype=np.int8).reshape(3, 4)
    np.testing.assert_array_equal(BUILTIN_OPS["STRIDED_SLICE"].eval(params, [x]), [0, 1, 2, 3])
