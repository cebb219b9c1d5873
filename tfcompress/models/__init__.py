"""Model architectures."""

from tfcompress.models.classifier import ENCODERS, INPUT_NAME, ClassifierConfig, build_classifier, matrices

__all__ = ["ClassifierConfig", "build_classifier", "matrices", "ENCODERS", "INPUT_NAME"]
