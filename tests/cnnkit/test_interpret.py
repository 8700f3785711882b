"""cnnkit.interpret against brute force: receptive fields by back-propagation, patches by loops,
occlusion maps by covering the image one window at a time."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import interpret


def footprint(layers, n, i, j):
    """Input pixels that unit (i, j) depends on, found by sending its gradient back (kernels of ones)."""
    sizes = [n]
    for k, s, p in layers:
        sizes.append(cnnkit.conv_output_size(sizes[-1], k, s, p))
    grad = np.zeros((1, 1, sizes[-1], sizes[-1]))
    grad[0, 0, i, j] = 1.0
    for (k, s, p), size in zip(reversed(layers), reversed(sizes[:-1])):
        grad = cnnkit.conv2d_backward(grad, np.zeros((1, 1, size, size)), np.ones((1, 1, k, k)), s, p)[0]
    return grad[0, 0] != 0


@pytest.mark.parametrize("layers", [
    [(3, 1, 0)], [(5, 1, 2), (2, 2, 0), (3, 1, 1)], [(3, 2, 1), (3, 2, 1), (3, 1, 0)],
    [(5, 1, 2), (2, 2, 0), (3, 1, 1), (2, 2, 0), (3, 1, 1)],
])
@pytest.mark.parametrize("i, j", [(0, 0), (1, 2), (3, 3)])
def test_receptive_field_matches_back_propagation(layers, i, j):
    n = 28
    top, left, height, width = interpret.receptive_field(layers, i, j)
    mask = footprint(layers, n, i, j)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    # The footprint is the window clipped to the image (padding has no pixels).
    assert (rows[0], rows[-1]) == (max(top, 0), min(top + height - 1, n - 1))
    assert (cols[0], cols[-1]) == (max(left, 0), min(left + width - 1, n - 1))


def test_receptive_field_size_formula():
    assert interpret.receptive_field([(5, 1, 2), (2, 2, 0), (3, 1, 1)], 0, 0) == (-4, -4, 10, 10)


def test_crop_pads_with_zeros():
    images = np.arange(2 * 1 * 4 * 4, dtype=float).reshape(2, 1, 4, 4)
    patch = interpret.crop(images, 1, -1, 2, 3, 3)
    assert patch.shape == (1, 3, 3)
    np.testing.assert_array_equal(patch[0, 0], 0)
    np.testing.assert_array_equal(patch[0, 1:, :2], images[1, 0, :2, 2:])
    np.testing.assert_array_equal(patch[0, 1:, 2], 0)


def test_top_activations_one_per_image_strongest_first():
    maps = np.zeros((4, 3, 3))
    maps[0, 1, 1], maps[0, 2, 2] = 5, 4   # image 0 counts once, at its maximum
    maps[2, 0, 1] = 7
    maps[3, 2, 0] = 5                     # ties with image 0: the lower n first
    assert interpret.top_activations(maps, 3) == [(2, 0, 1, 7.0), (0, 1, 1, 5.0), (3, 2, 0, 5.0)]
    assert len(interpret.top_activations(maps, 10)) == 4


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, "same"), (2, "same")])
def test_max_activating_patch_is_the_best_window(stride, padding):
    rng = np.random.default_rng(3)
    images = rng.standard_normal((5, 2, 9, 8))
    w = rng.standard_normal((2, 3, 3))
    (n, i, j), patch = interpret.max_activating_patch(images, w, 0.5, stride=stride, padding=padding)
    response = cnnkit.conv2d(images, w[None], np.array([0.5]), stride=stride, padding=padding)[:, 0]
    assert response[n, i, j] == response.max()
    assert np.isclose(np.sum(patch * w) + 0.5, response.max())


def test_max_activating_patch_checks_channels():
    with pytest.raises(ValueError, match="w has 3 channels but images have 2"):
        interpret.max_activating_patch(np.zeros((1, 2, 5, 5)), np.zeros((3, 3, 3)))


def brute_force_occlusion(score, image, size, stride, fill):
    c, h, w = image.shape
    base = score(image[None])[0]
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    drops = np.zeros((ho, wo))
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for a in range(ho):
        for b in range(wo):
            covered = image.copy()
            covered[:, a * stride:a * stride + size, b * stride:b * stride + size] = fill
            drops[a, b] = base - score(covered[None])[0]
            total[a * stride:a * stride + size, b * stride:b * stride + size] += drops[a, b]
            count[a * stride:a * stride + size, b * stride:b * stride + size] += 1
    return drops, np.divide(total, count, out=np.zeros((h, w)), where=count > 0)


@pytest.mark.parametrize("size, stride, fill", [(3, 1, 0.0), (4, 2, 0.5), (5, 3, 0.0), (2, 2, -1.0)])
def test_occlusion_map_matches_brute_force(size, stride, fill):
    rng = np.random.default_rng(size)
    image = rng.random((2, 11, 10))
    weights = rng.standard_normal((2, 11, 10))

    def score(batch):  # a nonlinear model: squared linear response
        return np.sum(batch * weights, axis=(1, 2, 3)) ** 2

    drops, heat = interpret.occlusion_map(score, image, size, stride, fill, batch_size=7)
    expected_drops, expected_heat = brute_force_occlusion(score, image, size, stride, fill)
    np.testing.assert_allclose(drops, expected_drops)
    np.testing.assert_allclose(heat, expected_heat)


def test_occlusion_map_rejects_bad_arguments():
    image = np.zeros((1, 5, 5))
    with pytest.raises(ValueError, match="must fit in the image"):
        interpret.occlusion_map(lambda b: b.sum(axis=(1, 2, 3)), image, 6)
    with pytest.raises(TypeError, match="score must be a function"):
        interpret.occlusion_map(None, image, 2)
    with pytest.raises(ValueError, match="one number per image"):
        interpret.occlusion_map(lambda b: np.zeros((len(b), 2)), image, 2)
