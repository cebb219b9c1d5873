import numpy as np
import pytest

from tfcompress.quantization import multiply_by_quantized_multiplier, quantize_multiplier, requantize


@pytest.mark.parametrize("real", [0.75, 0.5, 0.0123, 3.5e-5, 1.9])
def test_quantize_multiplier_represents_the_real_value(real):
    q, shift = quantize_multiplier(real)
    assert 1 << 30 <= q < 1 << 31
    assert q / 2**31 * 2.0**shift == pytest.approx(real, rel=1e-9)


def test_roundings_agree_away_from_ties_and_differ_on_some():
    rng = np.random.default_rng(0)
    acc = rng.integers(-200_000, 200_000, 20_000)
    q, shift = quantize_multiplier(0.000731)
    exact = acc * 0.000731
    double = multiply_by_quantized_multiplier(acc, q, shift, "double")
    single = multiply_by_quantized_multiplier(acc, q, shift, "single")
    assert np.abs(double - exact).max() <= 1 and np.abs(single - exact).max() <= 0.5 + 1e-6
    assert np.abs(double - single).max() == 1
    assert 0 < np.mean(double != single) < 0.05


def test_ties_double_rounds_away_from_zero_single_rounds_up():
    q, shift = quantize_multiplier(0.25)
    acc = [6, -6, 10, -10]  # 1.5, -1.5, 2.5, -2.5
    assert multiply_by_quantized_multiplier(acc, q, shift, "double").tolist() == [2, -2, 3, -3]
    assert multiply_by_quantized_multiplier(acc, q, shift, "single").tolist() == [2, -1, 3, -2]


def test_requantize_clamps_to_int8():
    out = requantize([10_000, -10_000, 0], 0.1, zero_point=-5)
    assert out.dtype == np.int8 and out.tolist() == [127, -128, -5]


def test_quantize_multiplier_rounds_ties_away_from_zero_as_tflite():
    """TFLite's QuantizeMultiplier uses std::round; Python's round would give 2**30 here."""
    assert quantize_multiplier(0.5 + 2**-32) == ((1 << 30) + 1, 0)
    assert quantize_multiplier(0.5 + 3 * 2**-32) == ((1 << 30) + 2, 0)  # 2**30 + 1.5 rounds up too
