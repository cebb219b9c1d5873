"""Vocabulary truncation: keep the most frequent words, the rest read as OOV.

The tokenizer ranks words by training frequency, so the first k rows of the embedding table
are the k - 2 most frequent words (after PAD and OOV). Dropping the other rows is the
cheapest cut of an embedding table and composes with every structured method."""

from __future__ import annotations

from dataclasses import replace

from tfcompress.artifacts import TrainedModel
from tfcompress.errors import TfcompressError
from tfcompress.models import build_classifier
from tfcompress.tokenizer import RESERVED, WordTokenizer


def truncate_vocabulary(trained: TrainedModel, vocab_size: int) -> TrainedModel:
    """`trained` with its tokenizer and embedding table cut to `vocab_size` ids (itself if not smaller)."""
    if vocab_size >= trained.config.vocab_size:
        return trained
    if vocab_size <= RESERVED:
        raise TfcompressError(f"vocabulary size must be more than the {RESERVED} reserved ids, got {vocab_size}")
    tokenizer = WordTokenizer(trained.tokenizer.vocab[: vocab_size - RESERVED], trained.tokenizer.max_length)
    config = replace(trained.config, vocab_size=vocab_size)
    model = build_classifier(config)
    for layer in model.layers:
        kept = [w[: new.shape[0]] for w, new in zip(trained.model.get_layer(layer.name).get_weights(),
                                                     layer.get_weights())]  # only the embedding's rows change
        layer.set_weights(kept)
    return replace(trained, model=model, tokenizer=tokenizer, config=config, metrics={},
                   info={**trained.info, "parameters": int(model.count_params())})
