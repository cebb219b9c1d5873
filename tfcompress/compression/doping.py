"""The doping schedule: S starts dense and its density is annealed to the target (DKP).

Density follows tfmot's cubic polynomial decay, from 1 at the first step to the target at
`end_step`, recomputed every `frequency` steps; the masks are then frozen.
"""

from __future__ import annotations

from tfcompress.backend import keras


def density_at(step: int, target: float, end_step: int, frequency: int) -> float:
    step = min(end_step, (step // frequency) * frequency)
    progress = step / end_step if end_step else 1.0
    return target + (1.0 - target) * (1.0 - progress) ** 3


class DopingSchedule(keras.callbacks.Callback):
    def __init__(self, matrices, end_step: int, frequency: int = 50):
        super().__init__()
        self.matrices = [m for m in matrices if m.structure.kind == "dkp"]
        self.end_step, self.frequency = max(1, end_step), max(1, frequency)
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.step % self.frequency == 0 and self.step <= self.end_step:
            for m in self.matrices:
                m.set_density(density_at(self.step, m.structure.density, self.end_step, self.frequency))
        self.step += 1

    def on_train_end(self, logs=None):
        for m in self.matrices:  # whatever stopped training, S ends at its target density
            m.set_density(m.structure.density)
