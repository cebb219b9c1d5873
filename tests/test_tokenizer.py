import numpy as np
import pytest

from tfcompress.errors import ModelFileError
from tfcompress.tokenizer import OOV_ID, PAD_ID, WordTokenizer, auto_max_length, split_words


@pytest.mark.parametrize("text, words", [
    ("Turn ON the lights!", ["turn", "on", "the", "lights"]),
    ("  what's\tthe\nweather? ", ["what", "s", "the", "weather"]),
    ("set 5-minute timer", ["set", "5", "minute", "timer"]),
    ("Café MÜNCHEN", ["café", "mÜnchen"]),  # only ASCII A-Z is lowercased
    ("...", []),
    ("", []),
])
def test_split_words_spec(text, words):
    assert split_words(text) == words


def test_vocabulary_order_is_frequency_then_bytes():
    tok = WordTokenizer.fit(["b a", "a c", "c b", "d"], vocab_size=5, max_length=4)
    # a, b, c all occur twice: ties by UTF-8 bytes; d (once) is cut by vocab_size - 2 = 3.
    assert tok.vocab == ("a", "b", "c")
    assert tok.token_ids("a b c d") == [2, 3, 4, OOV_ID]


def test_encode_left_pads_and_truncates_at_the_end():
    tok = WordTokenizer(("a", "b", "c"), max_length=4)
    assert tok.encode("a b").tolist() == [PAD_ID, PAD_ID, 2, 3]
    assert tok.encode("a b c a b c").tolist() == [2, 3, 4, 2]
    assert tok.encode("!!").tolist() == [PAD_ID] * 4
    batch = tok.encode_batch(["a", "zzz"])
    assert batch.dtype == np.int32 and batch.shape == (2, 4)
    assert batch[1].tolist() == [0, 0, 0, OOV_ID]


def test_auto_max_length_rounds_up_to_multiple_of_four():
    assert auto_max_length(["w " * 10] * 100) == 12
    assert auto_max_length(["w"]) == 8
    assert auto_max_length(["w " * 200]) == 64


def test_save_load_roundtrip(tmp_path):
    tok = WordTokenizer.fit(["hello world", "hello there"], vocab_size=10)
    tok.save(tmp_path / "tokenizer.json")
    again = WordTokenizer.load(tmp_path / "tokenizer.json")
    assert again == tok
    assert again.encode("hello world").tolist() == tok.encode("hello world").tolist()


def test_load_rejects_other_files(tmp_path):
    (tmp_path / "t.json").write_text('{"format": "something-else"}')
    with pytest.raises(ModelFileError, match="not a tfcompress-word-tokenizer"):
        WordTokenizer.load(tmp_path / "t.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ModelFileError, match="not a tokenizer file"):
        WordTokenizer.load(tmp_path / "bad.json")
