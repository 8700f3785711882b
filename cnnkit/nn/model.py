"""``Sequential``: a stack of layers that compiles, fits, evaluates, predicts, saves (book: chapters 6 and 7).

What ``fit`` does, batch by batch, is what the book's chapter 6 spells out:

1. ``logits = model.forward(x_batch, training=True)``;
2. ``loss, dlogits = softmax_cross_entropy(logits, y_batch)``;
3. ``model.backward(dlogits)`` fills every layer's ``grads``;
4. ``optimizer.step(...)`` updates every ``params`` array in place.

Data are NCHW, ``(N, C, H, W)``, as everywhere in cnnkit. NHWC data (Keras's
layout, what ``cnnkit.data.load_images`` returns by default) are refused with
an error that says how to convert them: ``cnnkit.nhwc_to_nchw(x)`` or
``load_images(..., layout="NCHW")``. Silently transposing would hide a
mistake whenever H happens to equal C.
"""

from __future__ import annotations

import collections
import numbers
import sys
import time

import numpy as np

from .._fast import fusion as _fusion
from . import conv_layers, layers as dense_layers, normalization
from .base import Layer, as_batch
from .layers import Input
from .losses import LOSSES, check_labels, softmax_cross_entropy
from .optimizers import from_config as optimizer_from_config, get_optimizer
from .progress import ProgressBar, format_metrics
from .serialization import read as read_model_file, write as write_model_file
from .threads import blas_threads

__all__ = ["History", "Sequential", "load"]

LAYER_CLASSES = {cls.__name__: cls for cls in (
    conv_layers.Conv2D, conv_layers.MaxPool2D, conv_layers.AvgPool2D, conv_layers.GlobalAvgPool2D,
    dense_layers.Dense, dense_layers.Flatten, dense_layers.ReLU, dense_layers.Dropout,
    normalization.BatchNormalization)}
METRICS = ("accuracy",)


class History:
    """What :meth:`Sequential.fit` returns: ``history["loss"]`` is a list with one float per epoch.

    As Keras's ``History``: the dict is also ``history.history``; keys are
    ``loss``, ``accuracy`` and, with validation data, ``val_loss`` and
    ``val_accuracy``. ``seconds`` holds each epoch's wall time.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.seconds = []

    def append(self, epoch, values, seconds):
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __iter__(self):
        return iter(self.history)

    def __len__(self):
        return len(self.history)

    def keys(self):
        return self.history.keys()

    def items(self):
        return self.history.items()

    def __repr__(self):
        return f"History({len(self.epoch)} epochs, keys {list(self.history)})"


def _fresh(out, given, owned):
    """Whether ``out`` may be overwritten by the next layer: it is new memory, or a view of memory we own."""
    same = out is given or out.base is given or (given.base is not None and out.base is given.base)
    return owned if same else True


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Sequential:
    """A stack of layers, each feeding the next, trained like a Keras model.

    Parameters
    ----------
    layers : list, optional
        ``nn.Input((C, H, W))`` first (or call :meth:`build` later), then layers.
    seed : int, default 0
        Seeds the weight initialisation, the dropout masks and the shuffling
        of :meth:`fit`: the same seed gives the same training, run after run.
    dtype : {"float32", "float64"}, default "float32"
        Of the weights. float64 data promote the model to float64 (so that
        gradient checks run in double precision); float32 data in a float64
        model are computed in float64.
    name : str, default "sequential"

    Examples
    --------
    >>> from cnnkit import nn
    >>> model = nn.Sequential([nn.Input((1, 8, 8)), nn.Conv2D(4, 3), nn.ReLU(),
    ...                        nn.Flatten(), nn.Dense(10)], seed=0)
    >>> model.count_params()
    1490
    """

    def __init__(self, layers=None, seed=0, dtype="float32", name="sequential"):
        if not _is_int(seed):
            raise TypeError(f"Sequential: seed must be an int, got {seed!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be 'float32' or 'float64', got {dtype!r}")
        self.seed, self.name, self.dtype = int(seed), name, np.dtype(dtype)
        self.layers = []
        self.input_shape = None
        self.optimizer = self.loss = None
        self.metrics = []
        self._rng = np.random.default_rng(self.seed)
        self._counts = collections.Counter()
        for item in layers or []:
            self.add(item)

    # -- building -----------------------------------------------------------------------
    @property
    def built(self):
        return self.input_shape is not None

    def add(self, layer):
        """Append a layer (or set the input shape with ``nn.Input``)."""
        if isinstance(layer, Input):
            if self.layers or self.built:
                raise ValueError("Sequential.add: nn.Input(...) must come first, before any layer")
            self.input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: layer must be an nn layer (nn.Conv2D, nn.Dense, ...), got {layer!r}")
        if any(layer is other for other in self.layers):
            raise ValueError(f"Sequential.add: layer {layer.name!r} is already in the model")
        if layer.name is None:
            count = self._counts[layer.kind]
            layer.name = layer.kind if count == 0 else f"{layer.kind}_{count}"
        if any(layer.name == other.name for other in self.layers):
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in the model")
        self._counts[layer.kind] += 1
        self.layers.append(layer)
        if self.built:
            shape = self.layers[-2].output_shape if len(self.layers) > 1 else self.input_shape
            layer.build(shape, self._rng, self.dtype)

    def build(self, input_shape):
        """Create every layer's weights for examples of ``input_shape`` (no batch axis)."""
        self.input_shape = Input(input_shape).shape
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.build(shape, self._rng, self.dtype)
        return self

    def _require_built(self, fn):
        if not self.built:
            raise ValueError(f"{fn}: the model has no input shape yet: start it with nn.Input((C, H, W)) "
                             f"or call model.build((C, H, W))")

    @property
    def output_shape(self):
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def count_params(self):
        """Total number of parameters, as Keras's ``count_params``: the trained ones and batch normalisation's moving statistics."""
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=None):
        """Print each layer's name, type, output shape ``(None, C, H, W)`` and parameters, then the total.

        Shapes are NCHW; the counts are Keras's for the same stack. Returns None.
        """
        self._require_built("summary")
        print_fn = print_fn or print
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None, *layer.output_shape)),
                 f"{layer.count_params():,}") for layer in self.layers]
        head = ("Layer (type)", "Output Shape (NCHW)", "Param #")
        widths = [max(len(r[i]) for r in [head, *rows]) + 2 for i in range(3)]
        line = lambda r: r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2])
        rule = "-" * sum(widths)
        print_fn(f'Model: "{self.name}"   input (None, {", ".join(map(str, self.input_shape))})')
        print_fn(rule)
        print_fn(line(head))
        print_fn("=" * sum(widths))
        for r in rows:
            print_fn(line(r))
        print_fn("=" * sum(widths))
        print_fn(f"Total params: {self.count_params():,}")

    # -- data checks --------------------------------------------------------------------
    def _check_x(self, x, fn, name="x"):
        self._require_built(fn)
        x = as_batch(x, fn, name)
        expected = self.input_shape
        if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
            layout = "(N, C, H, W)" if len(expected) == 3 else "(N, D)"
            hint = ""
            if len(expected) == 3 and x.ndim == 4 and tuple(x.shape[1:]) == (*expected[1:], expected[0]):
                hint = (" It looks like NHWC (Keras's layout): cnnkit.nn is NCHW; convert with "
                        "cnnkit.nhwc_to_nchw(x) or load with load_images(..., layout='NCHW').")
            elif len(expected) == 3 and x.ndim == 3 and tuple(x.shape[1:]) == expected[1:] and expected[0] == 1:
                hint = " The channel axis is missing: use x[:, None]."
            raise ValueError(f"{fn}: {name} must have shape (N, {', '.join(map(str, expected))}) {layout}, "
                             f"got shape {tuple(x.shape)}.{hint}")
        dtype = np.result_type(x.dtype, self.dtype)
        if dtype != self.dtype:
            self.astype(dtype)
        return x.astype(dtype, copy=False)

    def _check_y(self, y, n, fn, name="y"):
        classes = self.output_shape[0] if len(self.output_shape) == 1 else None
        if classes is None:
            raise ValueError(f"{fn}: the model's output must be logits (K,) per example, got {self.output_shape}")
        return check_labels(y, n, classes, fn, name)

    def astype(self, dtype):
        """Cast every layer's parameters to ``dtype`` (float32 or float64)."""
        self.dtype = np.dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
        return self

    # -- the training step, in the open -------------------------------------------------
    def forward(self, x, training=False):
        """Logits of a batch ``x`` ``(N, C, H, W)``; every layer caches what its backward needs."""
        return self._run(self._check_x(x, "forward"), training)

    def _run(self, x, training, fuse=False):
        """Forward through every layer. A layer may overwrite its input only when it is a fresh
        array made by the layer before (never the caller's data, nor a view of it).

        ``fuse`` (fit, evaluate, predict): Conv2D-ReLU-MaxPool2D runs fused (cnnkit._fast.fusion);
        :meth:`_backward` then follows the same plan."""
        owned = False
        self._fused = set()
        k = 0
        while k < len(self.layers):
            if fuse and _fusion.fusable(self.layers, k):
                x, owned = _fusion.forward(*self.layers[k:k + 3], x, training), True
                self._fused.add(k + 2)
                k += 3
                continue
            out = self.layers[k]._forward(x, training, owned=owned)
            owned = _fresh(out, x, owned)
            x = out
            k += 1
        return x

    def backward(self, dlogits):
        """Back-propagate ``dL/dlogits`` through every layer (last to first); fills each layer's ``grads``.

        Returns ``dL/dx``, the gradient with respect to the model's input.
        """
        return self._backward(dlogits, need_dx=True, owned=False)

    def _backward(self, dout, need_dx, owned):
        k = len(self.layers) - 1
        while k >= 0:
            if k in getattr(self, "_fused", ()):
                dout, owned = _fusion.backward(*self.layers[k - 2:k + 1], dout, need_dx or k > 2), True
                k -= 3
                continue
            layer = self.layers[k]
            dout_in = layer._check_dout(dout)
            dout = layer._backward(dout_in, need_dx=need_dx or k > 0, owned=owned)
            if dout is not None:
                owned = _fresh(dout, dout_in, owned)
            k -= 1
        return dout

    def trainable(self):
        """``(key, param, grad)`` for every parameter, as the optimizer takes them."""
        return [(f"{layer.name}/{key}", layer.params[key], layer.grads[key])
                for layer in self.layers for key in layer.params]

    def _weight_slots(self):
        """``(layer, store, key)`` of every array of :meth:`get_weights`: each layer's params, then its state."""
        return [(layer, store, key) for layer in self.layers
                for store in (layer.params, getattr(layer, "state", {})) for key in store]

    def get_weights(self):
        """Every array, layer by layer (``w`` then ``b``; batch normalisation's ``gamma``, ``beta``,
        moving mean and moving variance), as Keras's ``get_weights``."""
        return [store[key] for _, store, key in self._weight_slots()]

    def set_weights(self, weights):
        """Replace the weights by ``weights`` (the order of :meth:`get_weights`)."""
        current = self._weight_slots()
        weights = list(weights)
        if len(weights) != len(current):
            raise ValueError(f"set_weights: weights must be a list of {len(current)} arrays, got {len(weights)}")
        for (layer, store, key), value in zip(current, weights):
            value = np.asarray(value)
            if value.shape != store[key].shape:
                raise ValueError(f"set_weights: {layer.name}/{key} must have shape {store[key].shape}, "
                                 f"got {value.shape}")
            store[key] = np.array(value, dtype=self.dtype)

    # -- compile, fit, evaluate, predict ------------------------------------------------
    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=None):
        """Attach an optimizer (``nn.SGD``, ``nn.Adam`` or their names), the loss and metrics.

        ``loss`` must be ``"sparse_categorical_crossentropy"`` (softmax
        cross-entropy from logits, integer labels); ``metrics`` a list that
        may hold ``"accuracy"``.
        """
        self.optimizer = get_optimizer(optimizer)
        if not isinstance(loss, str) or loss.lower() not in LOSSES:
            raise ValueError(f"compile: loss must be one of {LOSSES} (from logits, integer labels), got {loss!r}")
        self.loss = loss.lower()
        metrics = [] if metrics is None else ([metrics] if isinstance(metrics, str) else list(metrics))
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"compile: metrics must be a list of {METRICS}, got {metrics!r}")
        self.metrics = metrics

    def _require_compiled(self, fn):
        if self.optimizer is None or self.loss is None:
            raise ValueError(f"{fn}: the model is not compiled: call model.compile(optimizer=..., loss=...) first")

    def _values(self, loss, correct, count, prefix=""):
        values = {prefix + "loss": loss / count if count else float("nan")}
        if "accuracy" in self.metrics:
            values[prefix + "accuracy"] = correct / count if count else float("nan")
        return values

    def train_on_batch(self, x, y):
        """One step of gradient descent on one batch; returns ``(loss, accuracy)`` of the batch (before the step)."""
        self._require_compiled("train_on_batch")
        x = self._check_x(x, "train_on_batch")
        y = self._check_y(y, x.shape[0], "train_on_batch")
        loss, correct = self._train_step(x, y)
        return loss, correct / len(y)

    def _train_step(self, x, y):
        out = self._run(x, True, fuse=True)
        loss, dlogits = softmax_cross_entropy(out, y)
        correct = int(np.count_nonzero(out.argmax(axis=1) == y))
        self._backward(dlogits, need_dx=False, owned=True)
        self.optimizer.step(self.trainable())
        return loss, correct

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, verbose=1, shuffle=True):
        """Train for ``epochs`` passes over ``(x, y)`` in shuffled mini-batches.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)
            NCHW images (float32, or float64 for double precision).
        y : ndarray of int, shape (N,)
            Class labels in ``[0, K)``.
        epochs : int, default 1
        batch_size : int, default 32
            The last batch of an epoch may be smaller.
        validation_data : (x_val, y_val), optional
            Evaluated (no dropout) after each epoch.
        verbose : {0, 1, 2}, default 1
            0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        shuffle : bool, default True
            A new order every epoch, drawn from the model's seed.

        Returns
        -------
        History
            ``history["loss"]``, ``["accuracy"]`` (training, with dropout, the
            mean over the epoch's batches weighted by their sizes, as Keras),
            ``["val_loss"]``, ``["val_accuracy"]``: one float per epoch.
        """
        fn = "fit"
        self._require_compiled(fn)
        x = self._check_x(x, fn)
        y = self._check_y(y, x.shape[0], fn)
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if not _is_int(value):
                raise TypeError(f"fit: {name} must be an int, got {value!r}")
            if value < 1:
                raise ValueError(f"fit: {name} must be >= 1, got {value!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        if x.shape[0] == 0:
            raise ValueError("fit: x must hold at least one example, got shape " + str(tuple(x.shape)))
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError(f"fit: validation_data must be a pair (x_val, y_val), got {type(validation_data).__name__}")
            x_val = self._check_x(validation_data[0], fn, "validation_data[0]")
            y_val = self._check_y(validation_data[1], x_val.shape[0], fn, "validation_data[1]")
        with blas_threads():
            return self._fit(x, y, epochs, batch_size, validation_data and (x_val, y_val), verbose, shuffle)

    def _fit(self, x, y, epochs, batch_size, validation_data, verbose, shuffle):
        if validation_data:
            x_val, y_val = validation_data
        history = History()
        n = x.shape[0]
        steps = -(-n // batch_size)
        for epoch in range(epochs):
            start = time.perf_counter()
            if verbose == 1:
                print(f"Epoch {epoch + 1}/{epochs}", file=sys.stdout)
                bar = ProgressBar(steps)
            order = self._rng.permutation(n) if shuffle else np.arange(n)
            total_loss, total_correct, seen = 0.0, 0, 0
            for step in range(steps):
                index = order[step * batch_size:(step + 1) * batch_size]
                loss, correct = self._train_step(x[index], y[index])
                total_loss += loss * len(index)
                total_correct += correct
                seen += len(index)
                if verbose == 1:
                    bar.update(step + 1, self._values(total_loss, total_correct, seen))
            values = self._values(total_loss, total_correct, seen)
            if validation_data is not None:
                val_loss, val_acc = self._evaluate(x_val, y_val, 256)
                values["val_loss"] = val_loss
                if "accuracy" in self.metrics:
                    values["val_accuracy"] = val_acc
            seconds = time.perf_counter() - start
            history.append(epoch, values, seconds)
            if verbose == 1:
                bar.finish(values)
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s - {format_metrics(values)}", file=sys.stdout)
        self.history = history
        return history

    def _batches(self, x, batch_size):
        for start in range(0, x.shape[0], batch_size):
            yield start, self._run(x[start:start + batch_size], False, fuse=True)

    def _evaluate(self, x, y, batch_size):
        total, correct = 0.0, 0
        for start, logits in self._batches(x, batch_size):
            part = y[start:start + len(logits)]
            loss, _ = softmax_cross_entropy(logits, part)
            total += loss * len(part)
            correct += int(np.count_nonzero(logits.argmax(axis=1) == part))
        for layer in self.layers:
            layer._cache = None  # inference leaves nothing to differentiate
        n = max(len(y), 1)
        return total / n, correct / n

    def evaluate(self, x, y, batch_size=256, verbose=0):
        """``(loss, accuracy)`` on ``(x, y)``, without dropout; ``verbose=1`` prints them."""
        fn = "evaluate"
        if self.loss is None:
            raise ValueError(f"{fn}: the model is not compiled: call model.compile(optimizer=..., loss=...) first")
        x = self._check_x(x, fn)
        y = self._check_y(y, x.shape[0], fn)
        with blas_threads():
            loss, accuracy = self._evaluate(x, y, batch_size)
        if verbose:
            print(f"loss: {loss:.4f} - accuracy: {accuracy:.4f}")
        return loss, accuracy

    def predict(self, x, batch_size=256, verbose=0):
        """The logits ``(N, K)`` of ``x`` (no dropout); ``softmax`` of them are the probabilities."""
        x = self._check_x(x, "predict")
        with blas_threads():
            parts = [logits for _, logits in self._batches(x, batch_size)]
        for layer in self.layers:
            layer._cache = None
        if not parts:
            return np.zeros((0, *self.output_shape), self.dtype)
        return np.concatenate(parts)

    # -- saving -------------------------------------------------------------------------
    def get_config(self):
        compiled = None
        if self.optimizer is not None:
            compiled = {"optimizer": self.optimizer.get_config(), "loss": self.loss, "metrics": self.metrics}
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
                "compile": compiled}

    @classmethod
    def from_config(cls, config):
        layers = []
        for item in config["layers"]:
            if item["class"] not in LAYER_CLASSES:
                raise ValueError(f"load: unknown layer class {item['class']!r}; known: {sorted(LAYER_CLASSES)}")
            layers.append(LAYER_CLASSES[item["class"]](**item["config"]))
        head = [Input(tuple(config["input_shape"]))] if config["input_shape"] is not None else []
        model = cls(head + layers, seed=config["seed"], dtype=config["dtype"], name=config["name"])
        if config.get("compile"):
            c = config["compile"]
            model.compile(optimizer_from_config(c["optimizer"]), c["loss"], c["metrics"])
        return model

    def save(self, path):
        """Write the architecture, the weights and the compile settings to one ``.npz`` file; returns its path."""
        if not self.built:
            raise ValueError("save: the model has no weights yet: give it an nn.Input(...) or build(input_shape) first")
        arrays = {f"{layer.name}/{key}": value for layer in self.layers
                  for key, value in (*layer.params.items(), *getattr(layer, "state", {}).items())}
        return write_model_file(path, self.get_config(), arrays)

    def __repr__(self):
        return f"Sequential({len(self.layers)} layers, input {self.input_shape}, {self.dtype.name})"


def load(path):
    """A :class:`Sequential` rebuilt from the file of ``Sequential.save``, with its weights (and compiled, if it was)."""
    path, config, arrays = read_model_file(path)
    model = Sequential.from_config(config)
    for layer in model.layers:
        for store in (layer.params, getattr(layer, "state", {})):
            for key in store:
                stored = arrays[f"{layer.name}/{key}"]
                if stored.shape != store[key].shape:
                    raise ValueError(
                        f"load: {path}: {layer.name}/{key} has shape {stored.shape}, expected {store[key].shape}"
                    )
                store[key] = np.ascontiguousarray(stored)
        layer.dtype = next(iter(layer.params.values())).dtype if layer.params else layer.dtype
    return model
