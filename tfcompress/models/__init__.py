"""Model architectures."""

from tfcompress.models.classifier import ENCODERS, INPUT_NAME, ClassifierConfig, build_classifier

__all__ = ["ClassifierConfig", "build_classifier", "ENCODERS", "INPUT_NAME"]
