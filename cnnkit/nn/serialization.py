"""Saving and loading :class:`cnnkit.nn.Sequential` models as one ``.npz`` file.

The file holds a JSON description (``config``: the layers' settings, the
input shape, the seed, the compile settings) and one array per parameter,
named ``"<layer name>/<param>"``. It is read with ``allow_pickle=False``:
loading a file never runs code from it. Optimizer state (momenta) is not
saved; a reloaded model that trains again starts its optimizer afresh.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = "cnnkit.nn.Sequential"
VERSION = 1


def save(model, path):
    """Write ``model`` to ``path`` (``.npz`` is appended if missing); returns the path written."""
    if not model.built:
        raise ValueError("save: the model has no weights yet: give it an nn.Input(...) or build(input_shape) first")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    config = {"format": FORMAT, "version": VERSION, **model.get_config()}
    arrays = {f"{layer.name}/{key}": value for layer in model.layers for key, value in layer.params.items()}
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
    return path


def load(path):
    """A :class:`~cnnkit.nn.Sequential` rebuilt from the file of ``Sequential.save``, with its weights (and compiled, if it was)."""
    from .model import Sequential

    path = Path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")  # save() appended the suffix
    with np.load(path, allow_pickle=False) as archive:
        if "config" not in archive.files:
            raise ValueError(f"load: {path} is not a cnnkit.nn model file (no 'config' entry)")
        config = json.loads(str(archive["config"]))
        if config.get("format") != FORMAT:
            raise ValueError(f"load: {path} holds {config.get('format')!r}, expected {FORMAT!r}")
        model = Sequential.from_config(config)
        for layer in model.layers:
            for key in layer.params:
                stored = archive[f"{layer.name}/{key}"]
                if stored.shape != layer.params[key].shape:
                    raise ValueError(
                        f"load: {path}: {layer.name}/{key} has shape {stored.shape}, expected {layer.params[key].shape}"
                    )
                layer.params[key] = np.ascontiguousarray(stored)
            layer.dtype = next(iter(layer.params.values())).dtype if layer.params else layer.dtype
    return model
