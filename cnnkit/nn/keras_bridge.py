"""The same network in Keras, with the same weights (book: chapter 6; tests).

:func:`to_keras` builds a ``keras.Sequential`` that computes what a
:class:`~cnnkit.nn.Sequential` computes, on NHWC data: kernels go from
``(F, C, KH, KW)`` to Keras's ``(KH, KW, C, F)``, and the rows of a dense
layer that follows a ``Flatten`` are permuted, because Keras flattens
``(H, W, C)`` where cnnkit flattens ``(C, H, W)``. Keras is imported only
when these functions are called.
"""

from __future__ import annotations

import numpy as np

from ..layout import oihw_to_hwio
from .conv_layers import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D
from .layers import Dense, Dropout, Flatten, ReLU
from .normalization import BatchNormalization

__all__ = ["keras_arrays", "to_keras"]


def _keras_padding(padding, fn):
    if padding in ("valid", "same"):
        return padding
    if padding == 0 or padding == [0] or padding == [0, 0]:
        return "valid"
    raise ValueError(f"{fn}: Keras layers take padding 'valid' or 'same' only, got {padding!r}")


def _flatten_order(model):
    """For each Dense (or vector BatchNormalization) layer fed by a Flatten of (C, H, W): that shape, else None."""
    orders, pending = {}, None
    for layer in model.layers:
        if isinstance(layer, Flatten):
            pending = layer.input_shape if len(layer.input_shape) == 3 else None
        elif isinstance(layer, Dense):
            orders[layer.name], pending = pending, None
        elif isinstance(layer, BatchNormalization):
            # on maps it normalises per channel (no order to change); on vectors per feature, in Flatten's order
            orders[layer.name] = pending if len(layer.input_shape) == 1 else None
        elif not isinstance(layer, (ReLU, Dropout)):
            pending = None
    return orders


def _dense_rows(w, chw):
    """Reorder the rows of a ``(C*H*W, U)`` matrix from cnnkit's (C, H, W) to Keras's (H, W, C) order."""
    if chw is None:
        return w
    c, h, wd = chw
    return w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(c * h * wd, -1)


def keras_arrays(model, which="params"):
    """``model``'s arrays in Keras's layouts.

    ``which="params"`` (the trained parameters) and ``"grads"`` (their
    gradients) are in ``keras_model.trainable_weights`` order; ``"weights"``
    adds batch normalisation's moving statistics, in ``keras_model.weights``
    order (what ``keras_model.set_weights`` takes).
    """
    if which not in ("params", "grads", "weights"):
        raise ValueError(f"keras_arrays: which must be 'params', 'grads' or 'weights', got {which!r}")
    orders = _flatten_order(model)
    out = []
    for layer in model.layers:
        arrays = layer.grads if which == "grads" else layer.params
        if isinstance(layer, BatchNormalization):
            found = [arrays["gamma"], arrays["beta"]]
            if which == "weights":
                found += [layer.state["moving_mean"], layer.state["moving_variance"]]
            out += [_dense_rows(np.asarray(a)[:, None], orders[layer.name])[:, 0] for a in found]
        elif isinstance(layer, Conv2D):
            out += [oihw_to_hwio(arrays["w"]), np.asarray(arrays["b"])]
        elif isinstance(layer, Dense):
            out += [_dense_rows(arrays["w"], orders[layer.name]), np.asarray(arrays["b"])]
    return out


def to_keras(model, dtype=None):
    """A ``keras.Sequential`` equal to ``model`` (NHWC input ``(H, W, C)``), holding copies of its weights."""
    import keras
    from keras import layers as kl

    fn = "to_keras"
    dtype = dtype or model.dtype.name
    if len(model.input_shape) == 3:
        c, h, w = model.input_shape
        stack = [keras.Input((h, w, c), dtype=dtype)]
    else:
        stack = [keras.Input(model.input_shape, dtype=dtype)]
    for layer in model.layers:
        kw = {"name": layer.name, "dtype": dtype}
        if isinstance(layer, Conv2D):
            stack.append(kl.Conv2D(layer.filters, layer.kernel_size, strides=layer.stride,
                                   padding=_keras_padding(layer.padding, fn), dilation_rate=layer.dilation, **kw))
        elif isinstance(layer, (MaxPool2D, AvgPool2D)):
            cls = kl.MaxPooling2D if isinstance(layer, MaxPool2D) else kl.AveragePooling2D
            stack.append(cls(layer.size, strides=layer.stride, padding=_keras_padding(layer.padding, fn), **kw))
        elif isinstance(layer, GlobalAvgPool2D):
            stack.append(kl.GlobalAveragePooling2D(**kw))
        elif isinstance(layer, ReLU):
            stack.append(kl.ReLU(**kw))
        elif isinstance(layer, Flatten):
            stack.append(kl.Flatten(**kw))
        elif isinstance(layer, Dropout):
            stack.append(kl.Dropout(layer.rate, **kw))
        elif isinstance(layer, Dense):
            stack.append(kl.Dense(layer.units, **kw))
        elif isinstance(layer, BatchNormalization):
            stack.append(kl.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, **kw))
        else:
            raise ValueError(f"{fn}: no Keras equivalent for layer {layer.name!r} ({type(layer).__name__})")
    keras_model = keras.Sequential(stack, name=model.name)
    keras_model.set_weights([a.astype(dtype) for a in keras_arrays(model, "weights")])
    return keras_model
