"""Data loaders: offline, deterministic, stratified; the online path fails clearly when offline."""

import socket
import time

import numpy as np
import pytest

from cnnkit import data


def test_mnist_5k_split_is_stratified_and_deterministic():
    first = data.load_images("mnist-5k", val_fraction=0.1, test_fraction=0.2, seed=0)
    second = data.load_images("mnist-5k", val_fraction=0.1, test_fraction=0.2, seed=0)
    assert first.x_train.shape == (3500, 28, 28, 1) and first.x_test.shape == (1000, 28, 28, 1)
    assert first.x_val.shape == (500, 28, 28, 1)
    assert first.x_train.dtype == np.float32 and 0.0 <= first.x_train.min() and first.x_train.max() <= 1.0
    for part in (first.y_train, first.y_val, first.y_test):
        counts = np.bincount(part, minlength=10)
        assert counts.min() == counts.max(), counts  # 500 per class in, equal shares out
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_split_parts_are_disjoint_and_cover_everything():
    y = np.repeat(np.arange(4), 25)
    train, val, test = data.stratified_split(y, 0.2, 0.2, seed=3)
    together = np.concatenate([train, val, test])
    assert len(together) == len(np.unique(together)) == 100


def test_another_seed_gives_another_split():
    y = np.repeat(np.arange(3), 30)
    assert not np.array_equal(data.stratified_split(y, 0.1, 0.2, 0)[2], data.stratified_split(y, 0.1, 0.2, 1)[2])


def test_nchw_layout_and_digits():
    split = data.load_images("digits", layout="NCHW")
    assert split.x_train.shape[1:] == (1, 8, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(source="imagenet"), "source must be one of"),
    (dict(layout="HWC"), "layout must be"),
    (dict(val_fraction=0.6, test_fraction=0.5), "sum below 1"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_images(**kwargs)


def test_online_source_fails_fast_and_clearly_when_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # nothing cached

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    start = time.monotonic()
    with pytest.raises(OSError, match="offline"):
        data.load_images("fashion-mnist")
    assert time.monotonic() - start < 5


def test_online_source_uses_the_keras_loader_when_cached(monkeypatch, tmp_path):
    # The real loading path, fed with a small cached file instead of a download.
    import keras

    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = np.repeat(np.arange(10), 4).astype(np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x[:30], y[:30]), (x[30:], y[30:])))
    split = data.load_images("mnist", val_fraction=0.25, test_fraction=0.25)
    assert split.x_train.shape == (20, 28, 28, 1) and split.x_train.max() <= 1.0


def test_sample_image_ships_with_matplotlib():
    gray = data.sample_image()
    rgb = data.sample_image(gray=False)
    assert gray.shape == rgb.shape[:2] and rgb.shape[2] == 3
    assert gray.dtype == np.float32 and 0 <= gray.min() < gray.max() <= 1
