"""Structured matrices without TensorFlow: the spec, byte accounting and initialising decompositions."""
