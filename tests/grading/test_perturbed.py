"""The perturbed held-out digits: fresh for each seed, within the stated bounds, and the collapse rule."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grading.parts.case_study_scratch import _held_out_problem, digits_split
from autograder.grading.perturbed import DIMMEST, MAX_DROP, NOISE, collapse_problem, perturbed


@given(seed=st.integers(0, 2**31 - 1), shape=st.sampled_from([(5, 64), (3, 28, 28, 1), (2, 8, 8)]))
def test_copies_stay_images_and_differ_per_seed(seed, shape):
    images = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    copy = perturbed(images, seed)
    assert copy.shape == images.shape and copy.dtype == images.dtype
    assert copy.min() >= 0 and copy.max() <= 1
    assert np.abs(copy - images).mean() < (1 - DIMMEST) + 3 * NOISE
    assert not np.array_equal(copy, perturbed(images, seed + 1))
    assert np.array_equal(copy, perturbed(images, seed))


@given(accuracy=st.floats(0, 1), drop=st.floats(-0.2, 1))
def test_only_a_drop_beyond_the_allowance_is_a_problem(accuracy, drop):
    problem = collapse_problem(accuracy, accuracy - drop)
    assert (problem is not None) == (drop > MAX_DROP + 1e-12) or abs(drop - MAX_DROP) < 1e-9


def test_lookup_weights_of_the_public_digits_collapse():
    """Weights that fire on the exact held-out images (templates) score on them and lose on the perturbed copies."""
    _, _, x_test, y_test = digits_split()
    count = 359
    unit = x_test[:count] / np.linalg.norm(x_test[:count], axis=1, keepdims=True)
    w1 = unit.T * 50 / np.linalg.norm(x_test, axis=1).mean()
    b1 = np.full(count, -50 * 0.985)
    w2 = np.zeros((count, 10))
    w2[np.arange(count), y_test[:count]] = 10
    problem = _held_out_problem((w1, b1, w2, np.zeros(10)), perturb_seed=7)
    assert problem and ("recognises these particular images" in problem or "below" in problem), problem
