"""converters/tflm_model.py: the per-model resolver, operator names and arena of the TFLM backend,
and how `build --backend tflm` finds (or explains the lack of) a user-built TFLM."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from converters.tflm_model import estimate_arena_bytes, generate_tflm, glue_registrations, resolver_method
from tfcompress.device.build import TflmLibrary, ToolMissing
from tfcompress.errors import TfcompressError
from tfcompress.reference.interpreter import ReferenceInterpreter


@pytest.mark.parametrize("builtin, method", [
    ("FULLY_CONNECTED", "AddFullyConnected"), ("MEAN", "AddMean"), ("STRIDED_SLICE", "AddStridedSlice"),
    ("CONV_2D", "AddConv2D"), ("DEPTHWISE_CONV_2D", "AddDepthwiseConv2D"), ("PADV2", "AddPadV2"),
    ("RELU6", "AddRelu6"), ("UNIDIRECTIONAL_SEQUENCE_LSTM", "AddUnidirectionalSequenceLSTM")])
def test_resolver_methods_follow_tflm_names(builtin, method):
    assert resolver_method(builtin) == method


def test_builtin_model_gets_one_add_per_op_type(pooled_bundle):
    model = (pooled_bundle / "model.tflite").read_bytes()
    graph = ReferenceInterpreter(model).graph
    generated = generate_tflm(model, activation_bytes=1000)
    kinds = sorted({op.name for op in graph.operators})
    assert generated.operator_names == tuple(op.name for op in graph.operators)
    assert f"MicroMutableOpResolver<{len(kinds)}>" in generated.header
    for name in kinds:
        assert generated.source.count(f"resolver.{resolver_method(name)}()") == 1
    assert "AddCustom" not in generated.source and "tfc_tflm_ops.h" not in generated.source
    columns = sum(graph.tensors[op.outputs[0]].shape[-1] for op in graph.operators if op.name == "FULLY_CONNECTED")
    assert generated.arena_bytes == estimate_arena_bytes(1000, len(graph.tensors), len(graph.operators), columns)
    assert generated.arena_bytes % 16 == 0 and f"TFC_TFLM_ARENA_BYTES {generated.arena_bytes}" in generated.header


def test_custom_ops_are_added_by_their_codes(dkp_bundle):
    model = (dkp_bundle / "model.tflite").read_bytes()
    customs = sorted({op.name for op in ReferenceInterpreter(model).graph.operators if op.custom})
    assert customs and set(customs) <= glue_registrations()
    generated = generate_tflm(model, activation_bytes=0, arena_bytes=4096)
    for code in customs:
        assert f'resolver.AddCustom("{code}", Register_{code}())' in generated.source
    assert generated.arena_bytes == 4096


def test_a_tfc_op_without_glue_is_named(dkp_bundle, monkeypatch):
    import converters.tflm_model as tflm_model

    monkeypatch.setattr(tflm_model, "glue_registrations", lambda: {"TFC_EMBEDDING_BAG"})
    with pytest.raises(TfcompressError, match=r"operator \d+ is TFC_DKP_\w+, which firmware/tflm does not register"):
        generate_tflm((dkp_bundle / "model.tflite").read_bytes(), activation_bytes=0)


def test_an_op_the_users_tflm_lacks_is_named(pooled_bundle, tmp_path):
    header = tmp_path / "tensorflow/lite/micro/micro_mutable_op_resolver.h"
    header.parent.mkdir(parents=True)
    header.write_text("TfLiteStatus AddGather() { return kTfLiteOk; }\n"  # a TFLM without MEAN
                      "TfLiteStatus AddFullyConnected() { return kTfLiteOk; }\n")
    with pytest.raises(TfcompressError, match=r"operator \d+ is MEAN, .* no MicroMutableOpResolver::AddMean"):
        generate_tflm((pooled_bundle / "model.tflite").read_bytes(), 0, tflm_dir=tmp_path)


def test_missing_tflm_is_explained(monkeypatch, tmp_path):
    monkeypatch.delenv("TFLM_DIR", raising=False)
    monkeypatch.delenv("TFLM_LIB", raising=False)
    with pytest.raises(ToolMissing, match="TFLM_DIR and TFLM_LIB not set: .*docs/tflm.md"):
        TflmLibrary.find()
    with pytest.raises(ToolMissing, match="not a TFLM tree"):
        TflmLibrary.find(tmp_path, tmp_path / "lib.a")
    (tmp_path / "tensorflow/lite/micro").mkdir(parents=True)
    (tmp_path / "tensorflow/lite/micro/micro_interpreter.h").touch()
    with pytest.raises(ToolMissing, match="its Makefile has not run"):
        TflmLibrary.find(tmp_path, tmp_path / "lib.a")


def test_cli_build_tflm_without_tflm_says_what_to_do(pooled_bundle, monkeypatch, tmp_path):
    from tfcompress.cli import main

    monkeypatch.delenv("TFLM_DIR", raising=False)
    monkeypatch.delenv("TFLM_LIB", raising=False)
    result = CliRunner().invoke(main, ["build", str(pooled_bundle), "--backend", "tflm", "--out", str(tmp_path / "fw")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "TFLM_DIR and TFLM_LIB not set" in result.output and "docs/tflm.md" in result.output
    assert not (tmp_path / "fw").exists()
