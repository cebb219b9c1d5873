"""The intent-classifier family: token ids -> embedding -> encoder -> dense head -> logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from tfcompress.backend import keras
from tfcompress.layers import PaddedEmbedding, Structure, StructuredDense, UnrolledRNN
from tfcompress.options import ENCODERS
INPUT_NAME = "token_ids"


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that fixes a classifier's architecture; saved as config.json beside the model."""

    num_classes: int
    vocab_size: int
    max_length: int
    encoder: str = "pooled"  # pooled (embedding bag), lstm or gru
    embedding_dim: int = 64
    rnn_units: int = 64
    head_units: int = 128  # 0: logits straight from the encoder
    dropout: float = 0.2
    # Matrix name (see `matrices`) -> Structure JSON; absent matrices are dense.
    structures: dict = field(default_factory=dict)

    def structure(self, matrix: str) -> Structure:
        return Structure.from_json(self.structures.get(matrix))

    def __post_init__(self):
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClassifierConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def build_classifier(config: ClassifierConfig) -> keras.Model:
    token_ids = keras.Input(shape=(config.max_length,), dtype="int32", name=INPUT_NAME)
    x = PaddedEmbedding(config.vocab_size, config.embedding_dim, config.structure("embedding"),
                        name="embedding")(token_ids)
    x = keras.layers.SpatialDropout1D(config.dropout, name="embedding_dropout")(x)
    if config.encoder == "pooled":
        # Mean over the whole window: the padding rows are zero, so this is the word sum / length.
        x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    else:
        x = UnrolledRNN(config.rnn_units, cell=config.encoder, input_structure=config.structure("encoder.input"),
                        recurrent_structure=config.structure("encoder.recurrent"), name="encoder")(x)
    if config.head_units:
        x = StructuredDense(config.head_units, config.structure("hidden"), activation="relu", name="hidden")(x)
        x = keras.layers.Dropout(config.dropout, name="hidden_dropout")(x)
    logits = StructuredDense(config.num_classes, config.structure("logits"), name="logits")(x)
    return keras.Model(token_ids, logits, name=f"intent_{config.encoder}")

