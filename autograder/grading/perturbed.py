"""Held-out digits no submission can have memorised: the held-out set, perturbed afresh for each grading.

The held-out digits are a fixed part of a public data set, so a student can
look their labels up on their own machine and hand in a table instead of a
classifier. The same digits with a little noise and a change of brightness,
drawn from the grading's seed, exist nowhere before the grading: a trained
classifier keeps its accuracy on them (measured: the course's two-layer
network loses under 1.5 points, seeds 0-2), a lookup of the public digits
does not (a template table dropped from 67% to 32-37%).

The judge compares the two accuracies; a drop larger than :data:`MAX_DROP`
is a model that recognises these digits, not digits.
"""

from __future__ import annotations

import numpy as np

NOISE = 0.04  # standard deviation of the added noise, on pixels in [0, 1]
DIMMEST = 0.9  # each image's brightness is scaled by a factor in [DIMMEST, 1]
MAX_DROP = 0.05  # accuracy a classifier that generalises may lose on the perturbed copies


def perturbed(images, seed):
    """A copy of ``images`` (pixels in [0, 1], any shape ``(N, ...)``) with per-image dimming and noise.

    Parameters
    ----------
    images : ndarray, shape (N, ...)
        The held-out images.
    seed : int
        The grading's seed: the copies differ from one grading to the next.

    Returns
    -------
    ndarray, same shape and dtype
        ``clip(images * s + e, 0, 1)`` with ``s ~ U(DIMMEST, 1)`` per image and ``e ~ N(0, NOISE**2)`` per pixel.
    """
    images = np.asarray(images)
    rng = np.random.default_rng([int(seed), 0x5EED])
    scale = rng.uniform(DIMMEST, 1.0, (len(images),) + (1,) * (images.ndim - 1))
    noisy = images * scale + rng.normal(0.0, NOISE, images.shape)
    return np.clip(noisy, 0.0, 1.0).astype(images.dtype)


def collapse_problem(accuracy, perturbed_accuracy):
    """A problem text when the accuracy on the perturbed copies falls more than :data:`MAX_DROP` below, else ``None``."""
    if perturbed_accuracy >= accuracy - MAX_DROP:
        return None
    return (f"accuracy {accuracy:.1%} on the held-out digits but {perturbed_accuracy:.1%} on the same digits with a "
            f"little noise: a classifier that learnt digits keeps its accuracy (within {MAX_DROP:.0%}); this one "
            "recognises these particular images")
