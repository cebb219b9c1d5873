"""Benchmark: the host cost of each fused `TFC_` kernel against the dense int8 operator it replaces.

Both models are converted as `tfcompress convert --ops custom` converts them (one op per layer,
converters.custom_model): the uncompressed model gives TFC_EMBEDDING_BAG and FULLY_CONNECTED, the
dense ops the compressed model's TFC_{LMF,HMF,KP,DKP,SPARSE}_* ops replace (a layer left dense
keeps its dense op). Both are compiled to C with per-operator profiling (converters.generated_c,
TFC_PROFILE: CLOCK_MONOTONIC around every kernel call) and run one example at a time (batch 1, as
on a board) over a split, several times; per layer: the op, its multiply-accumulates (MACs) per
inference and its time per call, for both models, and dense ÷ compressed.

MACs count every multiply-accumulate and every add into an accumulator (an embedding bag's row
sums) in a kernel's loops, firmware/kernels/src; requantisation and clamping of the outputs, the
same for both, and sparse index arithmetic are not counted. With T the window (tokens), V x D an
embedding table, rows x cols a fully connected matrix, r a rank, nnz the stored entries of a
sparse matrix and, for Kronecker factors, a [a_out, a_in] and b [b_out, b_in] as the ops store them:

    FULLY_CONNECTED               rows·cols
    TFC_SPARSE_FULLY_CONNECTED    nnz
    TFC_LMF_FULLY_CONNECTED       r·rows + r·cols               (t = x U, then t V)
    TFC_HMF_FULLY_CONNECTED       r·(rows − r) + r·cols + r·cols (low-rank stage, head, t V)
    TFC_KP_FULLY_CONNECTED        rows·b_out + cols·⌈rows / b_in⌉
                                  (X B over the rows of X holding inputs, then A over those rows
                                  only: the zero padding and the dropped columns are never computed)
    TFC_DKP_FULLY_CONNECTED       the KP count + nnz
    TFC_EMBEDDING_BAG             T·D                            (one table row added per token)
    TFC_SPARSE_EMBEDDING_BAG      T·m                            (m: the most entries of a row)
    TFC_LMF_EMBEDDING_BAG         T·r + r·D                      (rows of U summed, then times V once)
    TFC_HMF_EMBEDDING_BAG         T·max(D, r) + r·D              (an id below r adds a row of h, D,
                                                                  any other a row of U, r; then V.
                                                                  r = 1: T·r + r·D, the one head
                                                                  row being the padding's)
    TFC_KP_EMBEDDING_BAG          T·D                            (a[p]·b[q] per entry of each row)
    TFC_DKP_EMBEDDING_BAG         T·D + T·m                      (m: the most entries of a row of S)

`macs` is this count for a full window, every position a token (no padding); where a row's cost
depends on its id (HMF's head, the rows of a sparse matrix) the costliest row other than the
padding's counts, so `macs` is the most any input costs. `macs_mean` is the exact count of the
same loops averaged over the inputs that were timed (padding costs nothing, a sparse row costs its
entries, an HMF id its row).
"""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from tfcompress.errors import TfcompressError
from tfcompress.options import DEFAULT_CALIBRATION_SAMPLES

if TYPE_CHECKING:
    from tfcompress.artifacts import TrainedModel
    from tfcompress.data import IntentDataset

KERNEL_COSTS_FORMAT = "tfcompress-kernel-costs"
DEFAULT_REPEATS = 20
LAYER_OF_OUTPUT = {"pool": "embedding"}  # convert_custom names each op's output after its layer


# -- MACs -----------------------------------------------------------------------------------------

def _row_entries(dense: np.ndarray) -> np.ndarray:
    """Stored entries (nonzeros) of each row of a sparse matrix given dense."""
    return np.count_nonzero(np.asarray(dense), axis=1)


def operator_macs(graph, op, p: dict, ids: np.ndarray | None = None) -> int:
    """MACs of one inference of `op` (module doc): for a full window (`ids` None) or for the window
    `ids` ([T] int32; an embedding bag's count depends on it, a fully connected op's does not).
    `p`: the op's parameters as the integer reference prepares them."""
    name = op.name
    if name == "FULLY_CONNECTED":
        cols, rows = graph.tensors[op.inputs[1]].shape
        batches = math.prod(graph.tensors[op.inputs[0]].shape) // rows
        return batches * rows * cols
    if name.endswith("_FULLY_CONNECTED"):
        if name == "TFC_SPARSE_FULLY_CONNECTED":
            from flatbuffers import flexbuffers

            options = flexbuffers.Loads(op.custom_options)
            return (math.prod(graph.tensors[op.inputs[0]].shape) // options["rows"]) * options["nnz"]
        kind, rows, cols = p["kind"], p["rows"], p["cols"]
        batches = math.prod(graph.tensors[op.inputs[0]].shape) // rows
        if kind == "lmf":
            r = p["u"].shape[0]
            per_row = r * rows + r * cols
        elif kind == "hmf":
            r = p["h"].shape[1]
            per_row = r * (rows - r) + 2 * r * cols
        else:
            (_, _), (b_out, b_in) = p["a"].shape, p["b"].shape
            per_row = rows * b_out + cols * -(-rows // b_in)
            if kind == "dkp":
                per_row += int(np.count_nonzero(p["s"]))
        return batches * per_row
    if not name.endswith("EMBEDDING_BAG"):
        raise TfcompressError(f"operator {op.index} ({name}) is not a layer's op: kernel costs compare the "
                              "embedding bag and fully connected ops of pooled classifiers")
    tokens = graph.tensors[op.inputs[0]].shape[-1]
    if ids is None:
        kept = None
    else:
        ids = np.asarray(ids).reshape(-1)
        kept = ids[ids != p["pad"]]
    if name == "TFC_EMBEDDING_BAG":
        depth = graph.tensors[op.inputs[1]].shape[1]
        return (tokens if kept is None else len(kept)) * depth
    kind, depth = p["kind"], p["depth"]

    def per_token(costs: np.ndarray) -> int:  # costs[id]: the MACs of adding row `id`; padding is skipped
        if kept is not None:
            return int(costs[kept].sum())
        tokens_costs = np.delete(costs, p["pad"]) if 0 <= p["pad"] < len(costs) else costs
        return int(tokens * tokens_costs.max()) if len(tokens_costs) else 0

    if kind == "lmf":
        r = p["u"].shape[1]
        return per_token(np.full(p["vocab"], r)) + r * depth
    if kind == "hmf":
        r = p["h"].shape[0]
        return per_token(np.where(np.arange(p["vocab"]) < r, depth, r)) + r * depth
    if kind == "kp":
        return per_token(np.full(p["vocab"], depth))
    if kind == "dkp":
        return per_token(depth + _row_entries(p["s"]))
    return per_token(_row_entries(p["s"]))  # sparse


# -- the benchmark --------------------------------------------------------------------------------

def _layers(named: bytes) -> list[dict]:
    """Per operator: layer name, op, graph and prepared parameters (the reference's prepare step)."""
    from tfcompress.reference.interpreter import ReferenceInterpreter

    reference = ReferenceInterpreter(named)
    graph = reference.graph
    layers = []
    for k, (op, _, params) in enumerate(reference.steps):
        output = graph.tensors[op.outputs[0]].name or f"operator {k}"
        layers.append({"layer": LAYER_OF_OUTPUT.get(output, output), "op": op, "params": params, "graph": graph})
    return layers


def _check(compressed: TrainedModel, uncompressed: TrainedModel) -> None:
    for role, trained in (("the compressed model", compressed), ("the baseline", uncompressed)):
        if trained.config.encoder != "pooled":
            raise TfcompressError(f"{role} has a {trained.config.encoder} encoder: kernel costs compare the one-op-"
                                  f"per-layer graphs of pooled classifiers")
    if uncompressed.info.get("compression"):
        method = uncompressed.info["compression"].get("method", "?")
        raise TfcompressError(f"the baseline was compressed ({method}): give the uncompressed model it came from")
    if tuple(compressed.labels) != tuple(uncompressed.labels):
        raise TfcompressError("the baseline has other labels than the compressed model: give the model it came from")


def _compiler() -> str:
    import os
    import shutil
    import subprocess

    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True,
                              timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, TypeError, ValueError):
        return str(compiler)


def kernel_costs(compressed: TrainedModel, uncompressed: TrainedModel, dataset: IntentDataset,
                 calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES, repeats: int = DEFAULT_REPEATS,
                 split: str = "test", cache_dir: str | Path | None = None,
                 log: Callable[[str], None] = lambda message: None) -> dict:
    """Per layer (embedding, hidden, logits): the compressed model's op and the uncompressed model's,
    each with its MACs per inference (`macs`, `macs_mean`: module doc) and its mean nanoseconds per
    call on the host, compiled C at -O2 with the default profiler, and dense ÷ compressed of both.

    Every input of the split is run `repeats` times (passes over the split, the two models
    interleaved, after one warm-up pass) and each call timed alone; `ns_per_call` is the mean over
    the inputs of each input's fastest call, as other work on the machine only ever adds time (a
    preempted call, an evicted cache); `ns_per_call_passes` is each pass's plain mean, disturbances
    included. Each time includes one reading of the clock (CLOCK_MONOTONIC, tens of ns)."""
    from converters.bundle import convert_graph
    from converters.generated_c import CModel
    from converters.tflite import representative_sample

    if repeats < 1:
        raise TfcompressError(f"repeats must be at least 1, got {repeats}")
    _check(compressed, uncompressed)
    dataset.check_labels(compressed.labels)
    texts = getattr(dataset, split, None)
    if texts is None or len(texts) == 0:
        raise TfcompressError(f"{dataset.name} has no {split} split to time the kernels on")
    models = {}
    for role, trained in (("dense", uncompressed), ("compressed", compressed)):
        calibration = representative_sample(trained.tokenizer.encode_batch(dataset.train.texts), calibration_samples)
        board, named = convert_graph(trained, calibration, "custom")
        ids = trained.tokenizer.encode_batch(texts.texts)
        log(f"{role}: {len(board):,} byte .tflite, compiling its C with profiling")
        models[role] = {"layers": _layers(named), "c": CModel(board, cache_dir=cache_dir, profile=True), "ids": ids,
                        "bytes": len(board)}
    if [layer["layer"] for layer in models["dense"]["layers"]] != [layer["layer"] for layer in
                                                                   models["compressed"]["layers"]]:
        raise TfcompressError("the two models have different layers: give the uncompressed model the compressed "
                              "one came from")
    for model in models.values():  # warm-up: caches, branch predictors, lazy binding
        for row in model["ids"]:
            model["c"].invoke(row)
    calls = {role: np.zeros((repeats, len(model["ids"]), len(model["layers"]))) for role, model in models.items()}
    for r in range(repeats):  # calls[role][pass, input, operator]: ns of that one call
        for role, model in models.items():
            c = model["c"]
            for i, row in enumerate(model["ids"]):
                c.reset_profile()
                c.invoke(row)
                calls[role][r, i] = [ns for _, _, _, ns in c.op_times()]
        log(f"pass {r + 1}/{repeats}")

    def side(role: str, k: int) -> dict:
        model = models[role]
        layer = model["layers"][k]
        graph, op, params = layer["graph"], layer["op"], layer["params"]
        times = calls[role][:, :, k]
        return {"op": op.name, "macs": operator_macs(graph, op, params),
                "macs_mean": float(np.mean([operator_macs(graph, op, params, row) for row in model["ids"]])),
                "ns_per_call": float(times.min(axis=0).mean()),
                "ns_per_call_passes": [round(float(t), 1) for t in times.mean(axis=1)]}

    layers = []
    for k, layer in enumerate(models["compressed"]["layers"]):
        dense, small = side("dense", k), side("compressed", k)
        layers.append({"layer": layer["layer"], "dense": dense, "compressed": small,
                       "mac_ratio": dense["macs"] / small["macs"] if small["macs"] else None,
                       "time_ratio": dense["ns_per_call"] / small["ns_per_call"]})
    totals = {role: {key: sum(layer[role][key] for layer in layers) for key in ("macs", "macs_mean", "ns_per_call")}
              for role in ("dense", "compressed")}
    compression = compressed.info.get("compression", {})
    graph = models["compressed"]["layers"][0]["graph"]
    return {"format": KERNEL_COSTS_FORMAT, "dataset": dataset.name, "split": split, "examples": len(texts),
            "repeats": repeats, "tokens": int(graph.tensors[graph.inputs[0]].shape[-1]),
            "method": compression.get("method"), "ratio": compression.get("ratio"),
            "compressed_model": str(compressed.directory) if compressed.directory else None,
            "baseline_model": str(uncompressed.directory) if uncompressed.directory else None,
            "tflite_bytes": {role: model["bytes"] for role, model in models.items()},
            "host": {"machine": platform.machine(), "processor": platform.processor() or None,
                     "compiler": _compiler(), "flags": "-std=c99 -O2 -DTFC_PROFILE"},
            "layers": layers,
            "total": {**totals, "mac_ratio": totals["dense"]["macs"] / totals["compressed"]["macs"]
                      if totals["compressed"]["macs"] else None,
                      "time_ratio": totals["dense"]["ns_per_call"] / totals["compressed"]["ns_per_call"]}}


def format_kernel_costs(results: dict) -> str:
    """A markdown table: a row per layer and the total; each side's op, MACs (full window, and the mean
    over the timed inputs where it differs), ns per call, and dense ÷ compressed."""
    head = ("| layer | dense op | MACs | ns/call | compressed op | MACs | ns/call | MACs dense ÷ compressed "
            "| time dense ÷ compressed |")
    lines = [head, "|---|---|---:|---:|---|---:|---:|---:|---:|"]

    def macs(side: dict) -> str:
        text = f"{side['macs']:,}"
        return text if round(side["macs_mean"]) == side["macs"] else f"{text} (mean {side['macs_mean']:,.0f})"

    def ratio(value) -> str:
        return "–" if value is None else f"{value:.2f}"

    for layer in results["layers"]:
        d, c = layer["dense"], layer["compressed"]
        lines.append(f"| {layer['layer']} | {d['op']} | {macs(d)} | {d['ns_per_call']:,.0f} | {c['op']} | {macs(c)} "
                     f"| {c['ns_per_call']:,.0f} | {ratio(layer['mac_ratio'])} | {ratio(layer['time_ratio'])} |")
    total = results["total"]
    d, c = total["dense"], total["compressed"]
    lines.append(f"| **total** | | {macs(d)} | {d['ns_per_call']:,.0f} | | {macs(c)} | {c['ns_per_call']:,.0f} "
                 f"| {ratio(total['mac_ratio'])} | {ratio(total['time_ratio'])} |")
    return "\n".join(lines)
