"""The one module that imports TensorFlow and Keras.

tensorflow-model-optimization 0.8 only works with Keras 2 (`tf_keras`), so the whole
project uses it; moving to another Keras is an edit here and nowhere else.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

tf.get_logger().setLevel("ERROR")

__all__ = ["tf", "keras"]
