"""Desktop int8 interpreters, each run with an explicit kernel choice.

    tflm          TFLM's host interpreter (the `tflite-micro` package): the golden reference.
                  The firmware runs the same reference kernels, so the board must match it.
    litert-ref    LiteRT with its reference kernels (BUILTIN_REF). Its requantisation uses
                  single rounding where TFLM uses double rounding, so it can differ from
                  `tflm` by one LSB (see docs/interpreters.md); fast for accuracy numbers.
    litert        LiteRT's default path (XNNPACK), what a desktop app would use.
    c             the model compiled to C over tfcompress's kernels (converters.generated_c) and
                  built for this machine: the code the boards run; equals `tflm` bit for bit on
                  builtin ops, and `reference` on tfcompress's TFC_ ops.
    reference     the integer NumPy reference (tfcompress.reference): the executable spec of
                  every op, slow; the golden of a model with TFC_ ops, which TFLM and LiteRT
                  cannot run without tfcompress's kernels registered.
"""

from __future__ import annotations

import numpy as np

from tfcompress.options import OptionError

INTERPRETERS = ("tflm", "litert-ref", "litert", "c", "reference")
GOLDEN = "tflm"
CUSTOM_GOLDEN = "reference"


def custom_ops_of(model: bytes) -> list[str]:
    """The TFC_ ops a .tflite uses (none for a builtin-op model)."""
    if b"TFC_" not in bytes(model):
        return []
    from converters.flatbuffer import summarize

    return sorted(name for name in summarize(bytes(model)).op_counts() if name.startswith("TFC_"))


def golden_for(model: bytes) -> str:
    """The interpreter whose outputs every other must equal: TFLM, or the reference for TFC_ ops."""
    return CUSTOM_GOLDEN if custom_ops_of(model) else GOLDEN


class Int8Runner:
    """Runs a single-input, single-output model one example at a time (batch 1, as on a board)."""

    def __init__(self, model: bytes, kind: str = GOLDEN):
        if kind not in INTERPRETERS:
            raise OptionError("interpreter", kind, f"one of {', '.join(INTERPRETERS)}")
        self.kind = kind
        custom = custom_ops_of(model) if kind not in ("c", "reference") else []
        if custom:
            from tfcompress.errors import TfcompressError

            raise TfcompressError(f"the model uses tfcompress's custom ops ({', '.join(custom)}), which {kind} "
                                  "cannot run: evaluate it with --interpreter c (or reference)")
        if kind == "reference":
            from tfcompress.reference.interpreter import ReferenceInterpreter

            self._reference = ReferenceInterpreter(bytes(model))
            graph = self._reference.graph
            spec = graph.tensors[graph.outputs[0]]
            self.input_shape, self.output_shape = graph.tensors[graph.inputs[0]].shape, spec.shape
            self.output_dtype = np.dtype(spec.dtype)
            quant = {"scales": spec.scale, "zero_points": spec.zero_point}
        elif kind == "c":
            from converters.generated_c import CModel

            self._c = CModel(model)
            self.input_shape, self.output_shape = self._c.input_spec.shape, self._c.output_spec.shape
            self.output_dtype = np.dtype(self._c.output_spec.dtype)
            quant = {"scales": self._c.output_spec.scale, "zero_points": self._c.output_spec.zero_point}
        elif kind == "tflm":
            from tflite_micro.python.tflite_micro import runtime

            self._tflm = runtime.Interpreter.from_bytes(bytes(model), arena_size=max(len(model) * 4, 1 << 20))
            details = self._tflm.get_output_details(0)
            self.input_shape = tuple(self._tflm.get_input_details(0)["shape"])
            self.output_shape = tuple(details["shape"])
            self.output_dtype = np.dtype(details["dtype"])
            quant = details["quantization_parameters"]
        else:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            resolver = OpResolverType.BUILTIN_REF if kind == "litert-ref" else OpResolverType.AUTO
            self._litert = Interpreter(model_content=bytes(model), experimental_op_resolver_type=resolver,
                                       num_threads=1)
            self._litert.allocate_tensors()
            inp, out = self._litert.get_input_details()[0], self._litert.get_output_details()[0]
            self._in_index, self._out_index = inp["index"], out["index"]
            self.input_shape = tuple(inp["shape"])
            self.output_shape = tuple(out["shape"])
            self.output_dtype = np.dtype(out["dtype"])
            quant = out["quantization_parameters"]
        scales, zeros = quant["scales"], quant["zero_points"]
        self.output_scale = float(scales[0]) if len(scales) else 1.0
        self.output_zero_point = int(zeros[0]) if len(zeros) else 0

    def invoke(self, example: np.ndarray) -> np.ndarray:
        x = np.asarray(example).reshape(self.input_shape)
        if self.kind == "c":
            return self._c.invoke(x)[0]
        if self.kind == "reference":
            return self._reference.outputs(x)[0][0]
        if self.kind == "tflm":
            self._tflm.set_input(x, 0)
            self._tflm.invoke()
            return np.array(self._tflm.get_output(0)).reshape(self.output_shape)[0]
        self._litert.set_tensor(self._in_index, x)
        self._litert.invoke()
        return self._litert.get_tensor(self._out_index)[0].copy()

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Raw (int8) outputs for a batch of examples, stacked."""
        return np.stack([self.invoke(row) for row in inputs]) if len(inputs) else np.zeros(
            (0, *self.output_shape[1:]), self.output_dtype)

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        return (raw.astype(np.float32) - self.output_zero_point) * self.output_scale
