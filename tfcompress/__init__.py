"""tfcompress: train, compress and convert NLU models for TensorFlow Lite Micro boards."""

__version__ = "0.1.0"
