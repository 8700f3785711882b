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


def test_sample_image_has_three_colour_photos():
    shapes = {name: data.sample_image(name, gray=False).shape for name in data.PHOTOS}
    assert shapes == {"china": (427, 640, 3), "flower": (427, 640, 3), "grace_hopper": (600, 512, 3)}
    with pytest.raises(ValueError, match=r"name must be one of \('china', 'flower', 'grace_hopper'\), got 'lena'"):
        data.sample_image("lena")


def test_to_gray_weights_and_shapes():
    rgb = np.zeros((2, 1, 1, 3))
    rgb[0, 0, 0] = [1, 0, 0]
    rgb[1, 0, 0] = [0.5, 1, 0.25]
    gray = data.to_gray(rgb)
    assert gray.shape == (2, 1, 1) and gray.dtype == np.float32
    np.testing.assert_allclose(gray[:, 0, 0], [0.299, 0.5 * 0.299 + 0.587 + 0.25 * 0.114], rtol=1e-6)
    assert data.to_gray(rgb, keepdims=True).shape == (2, 1, 1, 1)
    with pytest.raises(ValueError, match=r"to_gray: images must have 3 channels .* got shape \(2, 2\)"):
        data.to_gray(np.zeros((2, 2)))


def _patch_origins(size=32, block=2, seed=0, val_fraction=0.1):
    """Where each patch of colour_patches comes from: (photo, top, left), part by part, recomputed."""
    labels, origins = [], []
    for label, name in enumerate(data.PHOTOS):
        h, w = data.sample_image(name).shape
        side = block * size
        for r in range(h // side):
            for c in range(w // side):
                labels.append(label)
                origins.append([(label, r * side + i * size, c * side + j * size)
                                for i in range(block) for j in range(block)])
    parts = data.stratified_split(np.array(labels), val_fraction, 0.3, seed)
    return [[o for k in index for o in origins[k]] for index in parts]


@pytest.mark.parametrize("val_fraction, sizes, counts", [
    (0.1, [460, 76, 232], [[144, 144, 172], [24, 24, 28], [72, 72, 88]]),  # the defaults
    # the colour-images page: validation twice as large, taken from training; the same test squares
    (0.2, [384, 152, 232], [[120, 120, 144], [48, 48, 56], [72, 72, 88]]),
])
def test_colour_patches_split_has_no_spatial_overlap(val_fraction, sizes, counts):
    split = data.colour_patches(val_fraction=val_fraction)
    assert [len(x) for x in split[::2]] == sizes
    assert split.x_train.shape[1:] == (32, 32, 3) and split.x_train.dtype == np.float32
    assert [np.bincount(y).tolist() for y in split[1::2]] == counts
    np.testing.assert_array_equal(split.x_test, data.colour_patches().x_test)
    photos = {name: data.sample_image(name, gray=False) for name in data.PHOTOS}
    pixels = []
    for x, y, origins in zip(split[::2], split[1::2], _patch_origins(val_fraction=val_fraction)):
        assert len(origins) == len(x)
        part = set()
        for image, label, (photo, top, left) in zip(x, y, origins):
            assert label == photo
            np.testing.assert_array_equal(image, photos[data.PHOTOS[photo]][top:top + 32, left:left + 32])
            part |= {(photo, top + i, left + j) for i in range(0, 32, 8) for j in range(0, 32, 8)}
        pixels.append(part)
    # no pixel (sampled every 8th) is in two parts, and no patch in two parts
    assert not (pixels[0] & pixels[1] or pixels[0] & pixels[2] or pixels[1] & pixels[2])


@pytest.mark.parametrize("val_fraction", [0.1, 0.2])
def test_colour_patch_map_matches_the_patches(val_fraction):
    parts = data.colour_patch_map(val_fraction=val_fraction)
    assert {name: m.shape for name, m in parts.items()} == {"china": (6, 10), "flower": (6, 10),
                                                          "grace_hopper": (9, 8)}
    split = data.colour_patches(val_fraction=val_fraction)
    for part, y in enumerate(split[1::2]):
        counts = [4 * int((parts[name] == part).sum()) for name in data.PHOTOS]
        assert np.bincount(y, minlength=3).tolist() == counts
    # the patches of the first test square of the flower: its four 32x32 quarters, row by row
    r, c = np.argwhere(parts["flower"] == 2)[0]
    flower = data.sample_image("flower", gray=False)[64 * r:64 * r + 64, 64 * c:64 * c + 64]
    first = np.flatnonzero(split.y_test == 1)[:4]
    for k, (i, j) in enumerate([(0, 0), (0, 32), (32, 0), (32, 32)]):
        np.testing.assert_array_equal(split.x_test[first[k]], flower[i:i + 32, j:j + 32])
    with pytest.raises(TypeError, match="colour_patch_map: block must be an int"):
        data.colour_patch_map(block=None)


def test_colour_patches_options():
    first = data.colour_patches(seed=0)
    again = data.colour_patches(seed=0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = data.colour_patches(seed=1)
    assert not np.array_equal(first.x_test, other.x_test)
    nchw = data.colour_patches(layout="NCHW")
    np.testing.assert_array_equal(nchw.x_train, first.x_train.transpose(0, 3, 1, 2))
    small = data.colour_patches(size=16, block=1, val_fraction=0.0, test_fraction=0.5)
    assert small.x_train.shape[1:] == (16, 16, 3) and len(small.x_val) == 0
    assert len(small.x_train) + len(small.x_test) == 26 * 40 * 2 + 37 * 32
    with pytest.raises(ValueError, match="colour_patches: block \\* size must fit in every photo"):
        data.colour_patches(size=300)
    with pytest.raises(TypeError, match="colour_patches: size must be an int, got 32.0"):
        data.colour_patches(size=32.0)
    with pytest.raises(ValueError, match="colour_patches: layout must be"):
        data.colour_patches(layout="HWC")


# --- CIFAR-10, python version: a small sample written in the archive's own format ---------------------------

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _cifar_rows(n, seed):
    """``n`` images as the archive stores them, ``(n, 3072)`` uint8, with labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def _write_cifar(folder, n=4, protocol=2, meta=None, overrides=None):
    """The seven files of cifar-10-batches-py, pickled like the originals (bytes keys, protocol 2)."""
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for k, name in enumerate([*data.CIFAR10_TRAIN, "test_batch"]):
        x, y = _cifar_rows(n, k)
        batches[name] = {b"batch_label": f"{name} of 5".encode(), b"labels": y, b"data": x,
                         b"filenames": [b"x.png"] * n}
    batches.update(overrides or {})
    batches["batches.meta"] = meta or {b"num_cases_per_batch": n, b"label_names": [s.encode() for s in NAMES],
                                       b"num_vis": 3072}
    for name, content in batches.items():
        with open(folder / name, "wb") as handle:
            if isinstance(content, bytes):
                handle.write(content)
            else:
                pickle.dump(content, handle, protocol=protocol)
    return batches


def _tar(tmp_path, folder, name="cifar-10-python.tar.gz"):
    import tarfile

    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return archive


def test_load_cifar10_from_the_folder_and_the_archive(tmp_path):
    folder = tmp_path / "unpacked" / "cifar-10-batches-py"
    batches = _write_cifar(folder)
    from_folder = data.load_cifar10(folder, dtype="uint8")
    from_parent = data.load_cifar10(folder.parent, dtype="uint8")
    from_archive = data.load_cifar10(_tar(tmp_path, folder), dtype="uint8")
    for loaded in (from_parent, from_archive):
        for a, b in zip(from_folder[:4], loaded[:4]):
            np.testing.assert_array_equal(a, b)
    assert from_folder.label_names == tuple(NAMES)
    assert from_folder.x_train.shape == (20, 32, 32, 3) and from_folder.x_test.shape == (4, 32, 32, 3)
    assert from_folder.y_train.dtype == np.int64
    assert from_folder.y_train.tolist() == [y for k in range(1, 6) for y in batches[f"data_batch_{k}"][b"labels"]]
    assert from_folder.y_test.tolist() == batches["test_batch"][b"labels"]
    np.testing.assert_array_equal(from_folder.x_test.reshape(4, -1),
                                  batches["test_batch"][b"data"].reshape(4, 3, 1024).transpose(0, 2, 1).reshape(4, -1))


def test_load_cifar10_pixel_order(tmp_path):
    # One known pixel: image 1 of data_batch_2, row 5, column 7 (R, G, B) = (200, 100, 50);
    # in a row, R's plane comes first (1,024 values, row-major), then G's, then B's.
    folder = tmp_path / "cifar-10-batches-py"
    x, y = _cifar_rows(3, 7)
    x[1] = 0
    for plane, value in enumerate((200, 100, 50)):
        x[1, plane * 1024 + 5 * 32 + 7] = value
    _write_cifar(folder, n=3, overrides={"data_batch_2": {b"data": x, b"labels": y}})
    nhwc = data.load_cifar10(_tar(tmp_path, folder))
    image = nhwc.x_train[3 + 1]
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image[5, 7], np.array([200, 100, 50], dtype=np.float32) / 255)
    assert np.count_nonzero(image) == 3
    nchw = data.load_cifar10(folder, layout="NCHW", dtype="uint8")
    assert nchw.x_train.shape == (15, 3, 32, 32)
    assert nchw.x_train[4, :, 5, 7].tolist() == [200, 100, 50]
    assert nchw.y_train[3:6].tolist() == y


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_load_cifar10_reads_any_pickle_protocol(tmp_path, protocol):
    batches = _write_cifar(tmp_path / "cifar-10-batches-py", n=2, protocol=protocol)
    loaded = data.load_cifar10(tmp_path, layout="NCHW", dtype="uint8")
    assert loaded.x_test.reshape(2, -1).tolist() == batches["test_batch"][b"data"].tolist()


def test_load_cifar10_errors_name_the_file(tmp_path):
    import pickle

    with pytest.raises(FileNotFoundError, match="does not exist; download the CIFAR-10 python version"):
        data.load_cifar10(tmp_path / "nowhere")
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder)
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="has no test_batch; download"):
        data.load_cifar10(folder)
    with pytest.raises(FileNotFoundError, match="has no cifar-10-batches-py/test_batch"):
        data.load_cifar10(_tar(tmp_path, folder))
    not_tar = tmp_path / "notes.txt"
    not_tar.write_text("hello")
    with pytest.raises(ValueError, match="not a tar archive"):
        data.load_cifar10(not_tar)

    cases = [
        ({"data_batch_3": b"not a pickle"}, r"data_batch_3 must be a pickled dict .* could not be read"),
        ({"data_batch_3": {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}},
         r"data_batch_3 must be a pickled dict with the keys \[b'data', b'labels'\], got \['data', 'labels'\]"),
        ({"test_batch": {b"data": np.zeros((2, 32, 32, 3), np.uint8), b"labels": [0, 1]}},
         r"test_batch\[b'data'\] must be uint8 of shape \(N, 3072\).* got uint8 of shape \(2, 32, 32, 3\)"),
        ({"test_batch": {b"data": np.zeros((2, 3072)), b"labels": [0, 1]}}, r"got float64 of shape \(2, 3072\)"),
        ({"data_batch_1": {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}},
         r"data_batch_1\[b'labels'\] must be 2 integers in 0..9"),
        ({"data_batch_1": {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}},
         r"data_batch_1\[b'labels'\] must be 2 integers"),
        ({"data_batch_5": pickle.dumps(__import__("os").getcwd)}, r"data_batch_5 .*posix.getcwd is not part of CIFAR"),
    ]
    for overrides, match in cases:
        bad = tmp_path / f"bad{len(match)}" / "cifar-10-batches-py"
        _write_cifar(bad, n=2, overrides=overrides)
        with pytest.raises(ValueError, match=match):
            data.load_cifar10(bad)
    with pytest.raises(ValueError, match=r"batches.meta\[b'label_names'\] must name 10 classes, got 2"):
        meta = tmp_path / "meta" / "cifar-10-batches-py"
        _write_cifar(meta, meta={b"label_names": [b"a", b"b"]})
        data.load_cifar10(meta)
    with pytest.raises(ValueError, match="load_cifar10: layout must be"):
        data.load_cifar10(folder, layout="CHW")
    with pytest.raises(ValueError, match="load_cifar10: dtype must be"):
        data.load_cifar10(folder, dtype="float64")
