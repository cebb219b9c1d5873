"""Converters: Keras -> int8 .tflite, .tflite -> C arrays and a manifest; later custom ops and C code."""
