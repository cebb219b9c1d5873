"""The one module that imports TensorFlow and Keras.

tensorflow-model-optimization 0.8 (`tfmot`, imported here too) only works with Keras 2
(`tf_keras`), so the whole project uses it; moving to another Keras is an edit here and nowhere else.
"""

import contextlib
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@contextlib.contextmanager
def quiet_native_stderr():
    """Hold back what TensorFlow's C++ code writes to stderr (CUDA probes, converter chatter);
    replay it if the block fails. TFCOMPRESS_VERBOSE=1 shows everything."""
    if os.environ.get("TFCOMPRESS_VERBOSE") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


with quiet_native_stderr():
    import tensorflow as tf
    import tf_keras as keras

    tf.get_logger().setLevel("ERROR")
    tf.config.list_physical_devices("GPU")  # the CUDA probe logs once, here
    import tensorflow_model_optimization as tfmot

__all__ = ["tf", "keras", "tfmot", "quiet_native_stderr"]
