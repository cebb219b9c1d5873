"""Keras model -> full-integer int8 .tflite, calibrated on a representative sample.

Weights and activations are int8 (FULLY_CONNECTED weights per channel), the logits output
is int8, and the token-id input stays int32 (ids are indices, not quantised values). The
model is converted with batch size 1, the shape a microcontroller runs.
"""

from __future__ import annotations

import numpy as np

from tfcompress.backend import keras, quiet_native_stderr, tf
from tfcompress.options import DEFAULT_CALIBRATION_SAMPLES


def representative_sample(inputs: np.ndarray, count: int = DEFAULT_CALIBRATION_SAMPLES, seed: int = 0) -> np.ndarray:
    """A seeded random subset of the training inputs, for calibrating activation ranges."""
    if len(inputs) <= count:
        return inputs
    rng = np.random.default_rng(seed)
    return inputs[np.sort(rng.choice(len(inputs), size=count, replace=False))]


def convert_trained(trained, texts, count: int = DEFAULT_CALIBRATION_SAMPLES) -> bytes:
    """A trained model's int8 .tflite, calibrated on a seeded sample of `count` of `texts`."""
    return convert_int8(trained.model, representative_sample(trained.tokenizer.encode_batch(texts), count))


def convert_int8(model: keras.Model, calibration_inputs: np.ndarray) -> bytes:
    """Convert `model` (one int32 token-id input, float logits) to int8 TFLite flatbuffer bytes."""
    if len(calibration_inputs) == 0:
        raise ValueError("calibration needs at least one example")
    shape = [1, *model.inputs[0].shape[1:]]
    dtype = model.inputs[0].dtype

    @tf.function(input_signature=[tf.TensorSpec(shape, dtype, name=model.inputs[0].name.split(":")[0])])
    def serve(token_ids):
        return {"logits": model(token_ids, training=False)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8  # applies to float inputs only; token ids stay int32
    converter.inference_output_type = tf.int8

    def representative_dataset():
        for row in calibration_inputs:
            yield [row[np.newaxis].astype(dtype.as_numpy_dtype)]

    converter.representative_dataset = representative_dataset
    with quiet_native_stderr():
        return converter.convert()
