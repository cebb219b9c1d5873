"""Run a .tflite model with the integer reference ops: every op prepared once, then evaluated
per example with integers only. Slow, exact: what TFLM's host interpreter and the C kernels
must reproduce."""

from __future__ import annotations

import numpy as np

from tfcompress.reference.builtin_ops import BUILTIN_OPS
from tfcompress.reference.common import OpError
from tfcompress.reference.custom_ops import CUSTOM_OPS
from tfcompress.reference.graph import read_graph


class ReferenceInterpreter:
    def __init__(self, model: bytes):
        self.graph = read_graph(bytes(model))
        tensors = self.graph.tensors
        self.steps = []  # (operator, its reference, its prepared parameters)
        for op in self.graph.operators:
            impl = (CUSTOM_OPS if op.custom else BUILTIN_OPS).get(op.name)
            if impl is None:
                raise OpError(op, "unknown custom operator (not a TFC_ op this tfcompress knows)" if op.custom
                              else "the integer reference has no such operator")
            ins = [tensors[i] if i >= 0 else None for i in op.inputs]
            self.steps.append((op, impl, impl.prepare(op, ins, [tensors[o] for o in op.outputs])))

    def run_op(self, index: int, inputs: list[np.ndarray | None]) -> tuple[np.ndarray, ...]:
        """Operator `index` on the given input values (constants are filled in from the model):
        one array per output."""
        op, impl, params = self.steps[index]
        values = [self.graph.tensors[i].data if i >= 0 and self.graph.tensors[i].data is not None else v
                  for i, v in zip(op.inputs, inputs)]
        result = impl.eval(params, values)
        return result if isinstance(result, tuple) else (result,)

    def invoke(self, *inputs: np.ndarray) -> dict[int, np.ndarray]:
        """Every tensor's value (by index) for one example."""
        values: dict[int, np.ndarray] = {}
        for index, value in zip(self.graph.inputs, inputs):
            spec = self.graph.tensors[index]
            values[index] = np.asarray(value, spec.dtype).reshape(spec.shape)
        for k, (op, _, _) in enumerate(self.steps):
            values.update(zip(op.outputs, self.run_op(k, [values.get(i) for i in op.inputs])))
        return values

    def outputs(self, *inputs: np.ndarray) -> list[np.ndarray]:
        values = self.invoke(*inputs)
        return [values[i] for i in self.graph.outputs]
