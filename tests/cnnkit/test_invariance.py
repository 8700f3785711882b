"""cnnkit.invariance: the shift experiment of chapters 1 and 4, against a direct computation."""

import numpy as np
import pytest

import cnnkit
from cnnkit.invariance import shift_change, shift_right

SOBEL = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])[None, None]


def test_shift_right_moves_columns_and_brings_in_zeros():
    x = np.arange(2 * 1 * 3 * 5, dtype=float).reshape(2, 1, 3, 5)
    moved = shift_right(x, 2)
    assert np.array_equal(moved[..., 2:], x[..., :3])
    assert not moved[..., :2].any()
    assert np.array_equal(shift_right(x, 0), x)


def test_shift_change_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    x = np.zeros((5, 1, 12, 12))
    x[:, :, 3:9, 3:9] = rng.random((5, 1, 6, 6))  # blank border, as in the digits
    change = shift_change(x, SOBEL, shifts=[1, 2], windows=[1, 2, None])
    assert change.shape == (3, 2)
    for j, s in enumerate([1, 2]):
        moved = np.zeros_like(x)
        moved[..., s:] = x[..., :-s]
        a = np.maximum(cnnkit.conv2d(x, SOBEL, padding=1), 0)
        b = np.maximum(cnnkit.conv2d(moved, SOBEL, padding=1), 0)
        assert change[0, j] == pytest.approx(np.linalg.norm(a - b) / np.linalg.norm(a))
        pa, pb = cnnkit.max_pool2d(a, 2), cnnkit.max_pool2d(b, 2)
        assert change[1, j] == pytest.approx(np.linalg.norm(pa - pb) / np.linalg.norm(pa))
    assert change[2] == pytest.approx([0.0, 0.0], abs=1e-12)  # a global maximum does not move
    assert np.all(change[0] > change[1])


def test_float32_images_give_the_float64_numbers():
    x = np.random.default_rng(1).random((3, 1, 10, 10))
    assert np.array_equal(shift_change(x.astype(np.float32).astype(np.float64), SOBEL),
                          shift_change(x.astype(np.float32), SOBEL))


@pytest.mark.parametrize("kwargs, message", [
    (dict(images=np.zeros((28, 28))), "shift_change: images must be 4-D"),
    (dict(windows=[0]), "windows must hold ints >= 1 or None"),
    (dict(shifts=[28]), r"shift_right: pixels must be an int in \[0, 28\)"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = dict(images=np.zeros((1, 1, 28, 28)), kernel=SOBEL) | kwargs
    with pytest.raises(ValueError, match=message):
        shift_change(**args)
