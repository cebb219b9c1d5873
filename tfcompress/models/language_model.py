"""Word-level recurrent language model: ids -> embedding -> LSTM/GRU (every step) -> softmax logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tfcompress.backend import keras
from tfcompress.layers import PaddedEmbedding, Structure, StructuredDense, UnrolledRNN


@dataclass(frozen=True)
class LanguageModelConfig:
    vocab_size: int
    seq_length: int = 35
    embedding_dim: int = 128
    rnn_units: int = 256
    cell: str = "lstm"
    dropout: float = 0.3
    structures: dict = field(default_factory=dict)  # matrix name -> Structure JSON, as for classifiers

    def to_json(self) -> dict:
        return asdict(self)


def build_language_model(config: LanguageModelConfig) -> keras.Model:
    ids = keras.Input(shape=(config.seq_length,), dtype="int32", name="token_ids")
    s = lambda name: Structure.from_json(config.structures.get(name))  # noqa: E731
    x = PaddedEmbedding(config.vocab_size, config.embedding_dim, s("embedding"), name="embedding")(ids)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(x)
    x = UnrolledRNN(config.rnn_units, config.cell, s("encoder.input"), s("encoder.recurrent"),
                    return_sequences=True, name="encoder")(x)
    x = keras.layers.Dropout(config.dropout, name="encoder_dropout")(x)
    logits = StructuredDense(config.vocab_size, s("logits"), name="logits")(x)
    return keras.Model(ids, logits, name=f"lm_{config.cell}")
