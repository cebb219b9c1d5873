"""The per-model C++ the TFLM backend compiles (firmware/harness/src/backend_tflm.cc).

TFLM's MicroMutableOpResolver links only the kernels that are added to it, so, as TFLM's own
`generate_micro_mutable_op_resolver_from_model.py` does, the resolver is generated from the
model: one `Add<Op>()` per builtin operator type and one `AddCustom` per TFC_ op (firmware/tflm's
registrations). The operator names are the generated C's (per-operator counts line up across
backends) and the arena is sized here (`estimate_arena_bytes`), since it is a static array.

    tfc_tflm_model.h    TFC_TFLM_OPERATOR_COUNT, TFC_TFLM_ARENA_BYTES, TfcTflmResolver, tfc_tflm_add_ops
    tfc_tflm_model.cc   the resolver's ops and the operator names
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tfcompress.errors import TfcompressError
from tfcompress.reference.interpreter import ReferenceInterpreter

GLUE_DIR = Path(__file__).resolve().parents[1] / "firmware" / "tflm"
RESOLVER_HEADER = "tensorflow/lite/micro/micro_mutable_op_resolver.h"

# TFLM's allocator costs beyond the planned activations, on a 32-bit core: a TfLiteEvalTensor and
# its allocation record per tensor, a node, its registration and op data per operator, per-column
# multipliers (8 bytes a part, two parts at most) per output column of the ops that keep them (fully
# connected and the TFC_ ops), and the allocator's fixed part.
# Only boards that cannot be emulated use this estimate: on an emulated board `build` measures the
# arena (docs/tflm.md compares the two).
ARENA_BYTES_PER_TENSOR = 48
ARENA_BYTES_PER_OPERATOR = 160
ARENA_BYTES_PER_OUTPUT_COLUMN = 16
ARENA_BYTES_FIXED = 2048
# arena_used_bytes() is what TFLM keeps after AllocateTensors; while it plans, it also holds an
# AllocationInfo (24 bytes) and the GreedyMemoryPlanner's records (40 bytes) per buffer, tensors and
# scratch buffers alike, in the arena's free space: room a measured arena must leave besides.
PLANNING_BYTES_PER_BUFFER = 64
SCRATCH_BUFFERS_PER_OPERATOR = 2


@dataclass(frozen=True)
class TflmModel:
    header: str
    source: str
    operator_names: tuple[str, ...]
    arena_bytes: int
    tensors: int
    operators: int

    def arena_for(self, used_bytes: int) -> int:
        """The arena to build with when TFLM used `used_bytes` (arena_used_bytes()) of a roomy one:
        that, TFLM's 16 bytes of alignment slack, and the planner's working space."""
        planning = PLANNING_BYTES_PER_BUFFER * (self.tensors + SCRATCH_BUFFERS_PER_OPERATOR * self.operators)
        return (used_bytes + 16 + planning + 15) // 16 * 16


def resolver_method(builtin: str) -> str:
    """TFLM's MicroMutableOpResolver method for a builtin operator (FULLY_CONNECTED -> AddFullyConnected)."""
    special = {"PADV2": "PadV2", "CUMSUM": "CumSum", "BATCH_MATMUL": "BatchMatMul",
               "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTM"}
    if builtin in special:
        return "Add" + special[builtin]
    return "Add" + "".join(w if re.fullmatch(r"\d+D", w) else w.capitalize() for w in builtin.split("_"))


def available_methods(tflm_dir: Path) -> set[str]:
    """The Add* methods of the user's TFLM tree's resolver."""
    header = Path(tflm_dir) / RESOLVER_HEADER
    return set(re.findall(r"TfLiteStatus (Add\w+)\(", header.read_text(encoding="utf-8", errors="replace")))


def glue_registrations() -> set[str]:
    """The TFC_ custom codes firmware/tflm registers (its Register_<CODE>() declarations)."""
    return set(re.findall(r"Register_(TFC_\w+)\(\)", (GLUE_DIR / "tfc_tflm_ops.h").read_text()))


def estimate_arena_bytes(activation_bytes: int, tensors: int, operators: int, output_columns: int = 0) -> int:
    """An arena TFLM's allocator fits in: the planned activations (the generated C's plan, which
    TFLM's greedy planner matches or beats) plus its per-tensor, per-operator and per-column costs,
    16-aligned."""
    total = (activation_bytes + ARENA_BYTES_PER_TENSOR * tensors + ARENA_BYTES_PER_OPERATOR * operators
             + ARENA_BYTES_PER_OUTPUT_COLUMN * output_columns)
    return (total + ARENA_BYTES_FIXED + 15) // 16 * 16


def generate_tflm(model: bytes, activation_bytes: int, tflm_dir: Path | None = None,
                  arena_bytes: int | None = None) -> TflmModel:
    """The resolver and names of `model` for the TFLM backend; `tflm_dir` (a TFLM tree) checks that
    its resolver has every builtin op; `arena_bytes` None: estimate_arena_bytes."""
    graph = ReferenceInterpreter(model).graph
    builtins: dict[str, str] = {}
    customs: list[str] = []
    known = available_methods(tflm_dir) if tflm_dir is not None else None
    registered = glue_registrations()
    for op in graph.operators:
        if op.custom:
            if op.name not in registered:
                raise TfcompressError(f"operator {op.index} is {op.name}, which firmware/tflm does not register "
                                      f"for TFLM yet (it has {', '.join(sorted(registered))}): build with "
                                      f"--backend c")
            if op.name not in customs:
                customs.append(op.name)
        elif op.name not in builtins:
            method = resolver_method(op.name)
            if known is not None and method not in known:
                raise TfcompressError(f"operator {op.index} is {op.name}, but the TFLM tree {tflm_dir} has no "
                                      f"MicroMutableOpResolver::{method}: build with --backend c or a newer TFLM")
            builtins[op.name] = method
    names = tuple(op.name for op in graph.operators)
    columns = sum(graph.tensors[op.outputs[0]].shape[-1] for op in graph.operators  # ops with per-column data
                  if (op.custom or op.name == "FULLY_CONNECTED") and graph.tensors[op.outputs[0]].shape)
    arena = arena_bytes if arena_bytes is not None else estimate_arena_bytes(
        activation_bytes, len(graph.tensors), len(graph.operators), columns)
    kinds = len(builtins) + len(customs)
    header = "\n".join([
        "// Generated by tfcompress build (converters/tflm_model.py): do not edit.",
        "#ifndef TFC_TFLM_MODEL_H", "#define TFC_TFLM_MODEL_H", "",
        f"#define TFC_TFLM_OPERATOR_COUNT {len(names)}",
        f"#define TFC_TFLM_ARENA_BYTES {arena}", "",
        "extern \"C\" const char *const tfc_tflm_operator_names[TFC_TFLM_OPERATOR_COUNT];", "",
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"', "",
        f"using TfcTflmResolver = tflite::MicroMutableOpResolver<{kinds}>;",
        "// Adds the model's ops: its builtin kernels and its TFC_ ops (firmware/tflm).",
        "TfLiteStatus tfc_tflm_add_ops(TfcTflmResolver& resolver);", "", "#endif", ""])
    adds = [f"  TF_LITE_ENSURE_STATUS(resolver.{method}());" for method in builtins.values()]
    adds += [f'  TF_LITE_ENSURE_STATUS(resolver.AddCustom("{code}", Register_{code}()));' for code in customs]
    quoted = ",\n".join(f'    "{name}"' for name in names)
    source = "\n".join([
        "// Generated by tfcompress build (converters/tflm_model.py): do not edit.",
        '#include "tfc_tflm_model.h"', *(['#include "tfc_tflm_ops.h"'] if customs else []), "",
        f"extern \"C\" const char *const tfc_tflm_operator_names[TFC_TFLM_OPERATOR_COUNT] = {{\n{quoted}\n}};", "",
        "TfLiteStatus tfc_tflm_add_ops(TfcTflmResolver& resolver) {", *adds, "  return kTfLiteOk;", "}", ""])
    return TflmModel(header, source, names, arena, len(graph.tensors), len(graph.operators))
