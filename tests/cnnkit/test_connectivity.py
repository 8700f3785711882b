"""cnnkit.connectivity.conv1d_taps: the convolution's links, against the formula j - i."""

import numpy as np
import pytest

from cnnkit.connectivity import conv1d_taps


@pytest.mark.parametrize("n, kernel_size", [(8, 3), (5, 1), (4, 4), (9, 5)])
def test_taps_follow_the_formula(n, kernel_size):
    outputs, inputs = np.indices((n - kernel_size + 1, n))
    offset = inputs - outputs
    expected = np.where((offset >= 0) & (offset < kernel_size), offset, -1)
    np.testing.assert_array_equal(conv1d_taps(n, kernel_size), expected)


def test_every_output_reads_kernel_size_inputs():
    taps = conv1d_taps(8, 3)
    assert ((taps >= 0).sum(axis=1) == 3).all()


@pytest.mark.parametrize("args, error, words", [
    ((3, 4), ValueError, "kernel_size must be at most n = 3, got 4"),
    ((0, 1), ValueError, "n must be >= 1, got 0"),
    ((5, 2.5), TypeError, "kernel_size must be an int, got 2.5"),
])
def test_bad_arguments_are_named(args, error, words):
    with pytest.raises(error, match="conv1d_taps: " + words.replace(".", r"\.")):
        conv1d_taps(*args)
