"""The file of a saved :class:`cnnkit.nn.Sequential`: one ``.npz`` file (the format only).

The file holds a JSON description (``config``: the layers' settings, the
input shape, the seed, the compile settings) and one array per parameter,
named ``"<layer name>/<param>"``. It is read with ``allow_pickle=False``:
loading a file never runs code from it. Optimizer state (momenta) is not
saved; a reloaded model that trains again starts its optimizer afresh.

This module knows the file, not the model: ``Sequential.save`` and
``cnnkit.nn.load`` (in :mod:`cnnkit.nn.model`) call it, so it imports
nothing from the model and there is no import cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = "cnnkit.nn.Sequential"
VERSION = 1


def write(path, config, arrays):
    """Write ``config`` (JSON-able) and ``arrays`` to ``path`` (``.npz`` appended if missing); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    np.savez(path, config=np.array(json.dumps({"format": FORMAT, "version": VERSION, **config})), **arrays)
    return path


def read(path):
    """``(path, config, arrays)`` of a file written by :func:`write`; ``ValueError`` for any other file."""
    path = Path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")  # write() appended the suffix
    with np.load(path, allow_pickle=False) as archive:
        if "config" not in archive.files:
            raise ValueError(f"load: {path} is not a cnnkit.nn model file (no 'config' entry)")
        config = json.loads(str(archive["config"]))
        if config.get("format") != FORMAT:
            raise ValueError(f"load: {path} holds {config.get('format')!r}, expected {FORMAT!r}")
        arrays = {name: archive[name] for name in archive.files if name != "config"}
    return path, config, arrays
