import numpy as np
import pytest

from tfcompress.compression.vocabulary import truncate_vocabulary
from tfcompress.errors import TfcompressError
from tfcompress.tokenizer import OOV_ID


@pytest.mark.parametrize("fixture", ["pooled_model", "lstm_model"])
def test_kept_words_score_as_before_and_dropped_ones_as_oov(fixture, request):
    trained = request.getfixturevalue(fixture)
    small = truncate_vocabulary(trained, 6)
    kept, dropped = trained.tokenizer.vocab[:4], trained.tokenizer.vocab[4:]
    assert small.tokenizer.vocab == kept and small.config.vocab_size == 6
    common = " ".join(kept)
    np.testing.assert_allclose(small.logits([common]), trained.logits([common]), rtol=1e-5, atol=1e-5)
    assert small.tokenizer.token_ids(dropped[0]) == [OOV_ID]
    np.testing.assert_allclose(small.logits([dropped[0]]), trained.logits(["zzzunseen"]), rtol=1e-5,
                               atol=1e-5)


def test_a_larger_size_changes_nothing_and_a_tiny_one_is_refused(pooled_model):
    assert truncate_vocabulary(pooled_model, 10_000) is pooled_model
    with pytest.raises(TfcompressError, match="reserved"):
        truncate_vocabulary(pooled_model, 2)
