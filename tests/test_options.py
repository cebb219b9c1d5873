"""tfcompress.options: one declaration per option gives the library's check and the CLI's type."""

import re

import pytest

from tfcompress.errors import TfcompressError
from tfcompress.options import CompressOptions, LMOptions, OptionError, TrainOptions, parse_target


def test_parse_target():
    assert parse_target("25x") == (25.0, None)
    assert parse_target("2.5x") == (2.5, None)
    assert parse_target("20kb") == (None, 20480)
    assert parse_target("1500") == (None, 1500)
    for text, reason in (("big", "use a ratio like 25x"), ("1.2.3x", "use a ratio like 25x"),
                         ("0x", "a ratio must be more than 1x"), ("0.5x", "a ratio must be"), ("1x", "a ratio must be"),
                         ("0kb", "a size must be at least 1 byte"), ("-1kb", "use a ratio like 25x")):
        with pytest.raises(TfcompressError, match=re.escape(f"bad target {text!r}: {reason}")):
            parse_target(text)


@pytest.mark.parametrize("field,value,message", [
    ("epochs", 0, "epochs must be >= 1, got 0"),
    ("target_ratio", 0.5, "target_ratio must be > 1, got 0.5"),
    ("target_bytes", -1024, "target_bytes must be >= 1, got -1024"),
    ("doping_share", 1.0, "doping_share must be > 0 and < 1, got 1.0"),
    ("vocab_size", 2, "vocab_size must be >= 3, got 2"),
    ("method", "svd", "method must be one of dkp, kp, hmf, lmf, prune, small, auto, got 'svd'"),
    ("batch_size", 2.5, "batch_size must be a whole number, got 2.5"),
])
def test_the_library_refuses_bad_options_naming_the_field(field, value, message):
    with pytest.raises(OptionError) as err:
        CompressOptions(**{field: value})
    assert str(err.value) == message


def test_every_default_is_valid_and_max_length_none_means_auto():
    for options in (TrainOptions(), CompressOptions(), LMOptions()):
        assert options == type(options)()
    assert TrainOptions().max_length is None
    with pytest.raises(OptionError, match="max_length must be >= 1, got 0"):
        TrainOptions(max_length=0)


def test_non_finite_and_numpy_values():
    import numpy as np

    for value in (float("nan"), float("inf")):
        with pytest.raises(OptionError, match="learning_rate must be"):
            TrainOptions(learning_rate=value)
    assert TrainOptions(epochs=np.int64(3), dropout=np.float32(0.5)).epochs == 3
    with pytest.raises(OptionError, match="vocab_size must be unset for method small"):
        CompressOptions(method="small", vocab_size=100)
