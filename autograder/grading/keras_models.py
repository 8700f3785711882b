"""Reading a student's Keras model the way a Keras user writes it, for the model parts' predicates.

The same network has many spellings: an activation as an argument
(``Conv2D(..., activation="relu")``) or as its own layer (``ReLU()``,
``Activation("relu")``, ``Softmax()``); ``MaxPool2D`` or ``MaxPooling2D``;
``keras.Sequential`` or the functional API; blocks nested as inner
``Sequential`` models. :func:`views` flattens all of them into one list of
:class:`View` (class, config, activation, output shape), so that a predicate
checks the network, not its spelling. Everything read here survives a
``.keras`` round trip with safe mode. Keras is imported inside the
functions, so that importing this module stays NumPy-only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

# Aliases a Keras user may write; Keras 3 resolves most to one class, older code may not.
ALIASES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool2D": "GlobalMaxPooling2D"}
POOLING = ("MaxPooling2D", "AveragePooling2D")
ACTIVATION_LAYERS = ("Activation", "ReLU", "Softmax")


@dataclass
class View:
    """One layer of the model as the spec reads it."""

    kind: str  # class name, aliases resolved
    layer: object
    config: dict
    activation: str = "linear"  # folded in from a following activation layer, if any
    output_shape: tuple = ()
    folded: list = field(default_factory=list)  # activation layers merged into this one


def not_a_model(model):
    """A problem text if ``model`` is not a built Keras model, else ``None``."""
    import keras

    if not isinstance(model, keras.Model):
        return f"expected a Keras model, got {type(model).__name__}"
    if not model.built or not model.inputs:
        return "the model has no input yet: start it with keras.Input(shape=...)"
    return None


def model_predicate(check):
    """Decorator: ``check(model)`` runs only on a built Keras model; anything else gets :func:`not_a_model`'s problem."""

    @functools.wraps(check)
    def predicate(model):
        return not_a_model(model) or check(model)

    return predicate


def shape_of(tensor_or_layer):
    """A tensor's (or a layer's output) shape as a tuple of ints and ``None``."""
    shape = getattr(tensor_or_layer, "shape", None)
    if shape is None:
        shape = tensor_or_layer.output.shape
    return tuple(None if d is None else int(d) for d in shape)


def flat_layers(model):
    """Every layer of ``model``, nested models opened up (recursively), without input layers."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += flat_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            found.append(layer)
    return found


def activation_of(layer):
    """The activation an activation layer applies (``"relu"``, ``"softmax"``, ...), or ``None`` if it is not one."""
    name = type(layer).__name__
    config = layer.get_config()
    if name == "Activation":
        activation = config.get("activation")
        return activation if isinstance(activation, str) else None
    if name == "ReLU":
        plain = (config.get("max_value") is None and not config.get("negative_slope")
                 and not config.get("threshold"))
        return "relu" if plain else "relu (with other settings)"
    if name == "Softmax":
        return "softmax"
    return None


def views(model):
    """The model's layers as the spec reads them: activation layers folded into the layer before."""
    result = []
    for layer in flat_layers(model):
        config = layer.get_config()
        activation = activation_of(layer)
        if activation is not None and result and result[-1].activation == "linear" and result[-1].kind != "Dropout":
            result[-1].activation = activation
            result[-1].output_shape = shape_of(layer)
            result[-1].folded.append(type(layer).__name__)
            continue
        kind = ALIASES.get(type(layer).__name__, type(layer).__name__)
        own = config.get("activation", "linear")
        result.append(View(kind, layer, config, own if isinstance(own, str) else str(own), shape_of(layer)))
    return result


def of_kind(model, kind):
    """The views of class ``kind`` (aliases resolved), in order."""
    return [view for view in views(model) if view.kind == kind]
