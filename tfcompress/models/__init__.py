"""Model architectures."""

from tfcompress.models.classifier import ENCODERS, INPUT_NAME, ClassifierConfig, build_classifier
from tfcompress.models.language_model import LanguageModelConfig, build_language_model
from tfcompress.models.matrices import matrices

__all__ = ["ClassifierConfig", "build_classifier", "LanguageModelConfig", "build_language_model", "matrices",
           "ENCODERS", "INPUT_NAME"]
