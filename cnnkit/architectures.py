"""Shapes, parameters, activation memory and multiply-adds of a stack of layers described as data.

Book: chapter 1, "Classic architectures, measured".

A network is a list of layers, each a ``dict`` with a ``"type"`` and that
type's settings; shapes are ``(C, H, W)`` for feature maps of one image and
``(n,)`` for vectors (the batch axis is left out, as in ``keras.Input``):

============================  =======================================================
``type``                      settings (defaults)
============================  =======================================================
``"conv"``                    ``filters``, ``kernel``, ``stride=1``, ``padding=0``,
                              ``dilation=1``, ``groups=1``, ``bias=True``
``"maxpool"``, ``"avgpool"``  ``size``, ``stride=None`` (= ``size``), ``padding=0``
``"dense"``                   ``units``, ``bias=True``
``"batchnorm"``               none: ``4C`` parameters, ``2C`` of them trained
``"flatten"``                 none
``"globalavgpool"``,          none: ``(C, H, W)`` becomes ``(C,)``
``"globalmaxpool"``
``"relu"``, ``"dropout"``,    none: the shape is unchanged
``"softmax"``
``"residual"``                ``body`` (a list of layers), ``shortcut=[]`` (a list of
                              layers; empty is the identity); the two outputs are added
============================  =======================================================

Every layer may also carry a ``"name"``. ``padding`` takes an int or an
``(h, w)`` pair (zeros on each side) or ``"valid"`` / ``"same"`` (Keras' rule:
``ceil(n / s)``), as in :func:`cnnkit.conv_output_size`.

Counting rules (one image):

* parameters: convolution ``F (C / g) k_h k_w + F`` (bias), dense
  ``n u + u``, batch normalisation ``4C`` (``gamma``, ``beta`` trained; the
  moving mean and variance not), everything else none;
* activation memory: the number of new values a layer computes for one
  image, ``prod(shape)`` of its output, each counted once where it is made.
  ``"flatten"`` only reshapes, and ``"relu"``, ``"dropout"`` and
  ``"softmax"`` apply a function value by value to the output before them,
  as Keras' ``activation=`` argument does inside the layer: they count 0,
  so that a network has the same count whether its activations are layers
  of their own or not. A residual block counts every output inside it,
  plus the sum;
* multiply-adds (MACs): convolution ``H_o W_o F (C / g) k_h k_w``, dense ``n u``;
  biases, pooling, normalisation and activations are not counted (they are
  a few operations per output, negligible next to the products).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import as_int, as_pair
from .sizes import conv_output_size

__all__ = [
    "LayerCost",
    "alexnet",
    "layer_macs",
    "layer_output_shape",
    "layer_params",
    "lenet5",
    "resnet18",
    "resnet50",
    "summarize",
    "totals",
    "vgg16",
]

SHAPELESS = ("relu", "dropout", "softmax")
KNOWN = ("conv", "maxpool", "avgpool", "dense", "batchnorm", "flatten",
         "globalavgpool", "globalmaxpool", "residual", *SHAPELESS)


@dataclass(frozen=True)
class LayerCost:
    """One row of :func:`summarize`: a layer's output and what it costs for one image."""

    name: str
    type: str
    output_shape: tuple
    params: int
    trainable: int
    activations: int
    macs: int


def _kind(layer, fn):
    if not isinstance(layer, dict):
        raise TypeError(f"{fn}: layer must be a dict with a 'type', got {type(layer).__name__} {layer!r}")
    kind = layer.get("type")
    if kind not in KNOWN:
        raise ValueError(f"{fn}: layer type must be one of {', '.join(KNOWN)}, got {kind!r} in {layer!r}")
    return kind


def _shape(shape, fn):
    if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 3):
        raise ValueError(f"{fn}: input_shape must be (C, H, W) or (n,), got {shape!r}")
    return tuple(as_int(s, "input_shape", fn) for s in shape)


def _maps(shape, kind, fn):
    if len(shape) != 3:
        raise ValueError(f"{fn}: a {kind!r} layer needs feature maps (C, H, W) as input, got shape {shape}")
    return shape


def _required(layer, key, fn):
    if key not in layer:
        raise ValueError(f"{fn}: a {layer['type']!r} layer needs {key!r}, got {layer!r}")
    return layer[key]


def _padding(layer, fn):
    padding = layer.get("padding", 0)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{fn}: padding must be an int, an (h, w) pair, 'valid' or 'same', got {padding!r}")
        return padding, padding
    return as_pair(padding, "padding", fn, minimum=0)


def _conv_geometry(layer, shape, fn):
    c, h, w = _maps(shape, "conv", fn)
    filters = as_int(_required(layer, "filters", fn), "filters", fn)
    kh, kw = as_pair(_required(layer, "kernel", fn), "kernel", fn)
    sh, sw = as_pair(layer.get("stride", 1), "stride", fn)
    dh, dw = as_pair(layer.get("dilation", 1), "dilation", fn)
    groups = as_int(layer.get("groups", 1), "groups", fn)
    if c % groups or filters % groups:
        raise ValueError(f"{fn}: groups must divide the input channels ({c}) and filters ({filters}), got {groups}")
    ph, pw = _padding(layer, fn)
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(w, kw, sw, pw, dw)
    return (filters, ho, wo), (c // groups) * kh * kw


def _pool_shape(layer, shape, fn):
    c, h, w = _maps(shape, layer["type"], fn)
    kh, kw = as_pair(_required(layer, "size", fn), "size", fn)
    stride = layer.get("stride")
    sh, sw = as_pair(stride if stride is not None else (kh, kw), "stride", fn)
    ph, pw = _padding(layer, fn)
    return (c, conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw))


def _residual_rows(layer, shape, fn):
    body = _required(layer, "body", fn)
    shortcut = layer.get("shortcut", [])
    inner, out = _walk(body, shape, fn)
    short, out_short = _walk(shortcut, shape, fn)
    if out != out_short:
        raise ValueError(f"{fn}: a residual block's body gives {out} but its shortcut gives {out_short}: "
                         "the two must have the same shape to be added")
    return inner + short, out


def _walk(layers, shape, fn):
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"{fn}: layers must be a list of layer dicts, got {type(layers).__name__}")
    rows = []
    for layer in layers:
        row = _cost(layer, shape, fn)
        rows.append(row)
        shape = row.output_shape
    return rows, shape


def _cost(layer, shape, fn):
    kind = _kind(layer, fn)
    name = layer.get("name", kind)
    params = trainable = macs = 0
    if kind == "conv":
        out, taps = _conv_geometry(layer, shape, fn)
        bias = bool(layer.get("bias", True))
        params = trainable = out[0] * taps + (out[0] if bias else 0)
        macs = out[0] * out[1] * out[2] * taps
    elif kind in ("maxpool", "avgpool"):
        out = _pool_shape(layer, shape, fn)
    elif kind == "dense":
        if len(shape) != 1:
            raise ValueError(f"{fn}: a 'dense' layer needs a vector (n,) as input, got shape {shape}: "
                             "flatten or globally pool the maps first")
        units = as_int(_required(layer, "units", fn), "units", fn)
        out = (units,)
        params = trainable = shape[0] * units + (units if layer.get("bias", True) else 0)
        macs = shape[0] * units
    elif kind == "batchnorm":
        out = shape
        params, trainable = 4 * shape[0], 2 * shape[0]
    elif kind == "flatten":  # a reshape: no new values
        return LayerCost(name, kind, (_prod(shape),), 0, 0, 0, 0)
    elif kind in ("globalavgpool", "globalmaxpool"):
        out = (_maps(shape, kind, fn)[0],)
    elif kind == "residual":
        inner, out = _residual_rows(layer, shape, fn)
        params = sum(r.params for r in inner)
        trainable = sum(r.trainable for r in inner)
        macs = sum(r.macs for r in inner)
        activations = sum(r.activations for r in inner) + _prod(out)
        return LayerCost(name, kind, out, params, trainable, activations, macs)
    else:  # activations and dropout keep the shape, and add no new values
        return LayerCost(name, kind, tuple(shape), 0, 0, 0, 0)
    return LayerCost(name, kind, tuple(out), params, trainable, _prod(out), macs)


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def layer_output_shape(layer, input_shape):
    """Output shape of one layer for one image: ``(C, H, W)`` or ``(n,)``.

    Convolution and pooling: ``H_o = floor((H + 2p - d(k - 1) - 1) / s) + 1``
    (:func:`cnnkit.conv_output_size`), ``F`` channels for a convolution, ``C``
    for pooling; flatten ``(C H W,)``; global pooling ``(C,)``; dense ``(u,)``.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "layer_output_shape"
    return _cost(layer, _shape(input_shape, fn), fn).output_shape


def layer_params(layer, input_shape):
    """Parameters of one layer: ``F (C / g) k_h k_w + F``, ``n u + u``, ``4C`` for batch norm, else 0.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "layer_params"
    return _cost(layer, _shape(input_shape, fn), fn).params


def layer_macs(layer, input_shape):
    """Multiply-adds of one layer for one image: ``H_o W_o F (C / g) k_h k_w`` or ``n u``, else 0.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "layer_macs"
    return _cost(layer, _shape(input_shape, fn), fn).macs


def summarize(layers, input_shape):
    """Each layer's output shape, parameters, activation memory and multiply-adds, for one image.

    Parameters
    ----------
    layers : list of dict
        The network, first layer first (see the module's table of types).
    input_shape : tuple
        ``(C, H, W)`` of one input image (or ``(n,)`` for a vector).

    Returns
    -------
    list of LayerCost
        One row per entry of ``layers`` (a residual block is one row, its
        costs summed over its body and shortcut).

    Raises
    ------
    ValueError, TypeError
        For an unknown layer type, a missing setting, a layer that does not
        fit its input (a dense layer on maps, a kernel larger than the padded
        input), or a residual block whose two branches disagree in shape.

    Examples
    --------
    >>> rows = summarize([{"type": "conv", "filters": 6, "kernel": 5}], (1, 32, 32))
    >>> rows[0].output_shape, rows[0].params, rows[0].macs
    ((6, 28, 28), 156, 117600)

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "summarize"
    rows, _ = _walk(layers, _shape(input_shape, fn), fn)
    return rows


def totals(rows):
    """``dict`` of the summed ``params``, ``trainable``, ``activations`` and ``macs`` of :func:`summarize`'s rows.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    return {key: sum(getattr(r, key) for r in rows) for key in ("params", "trainable", "activations", "macs")}


# --- The classic networks, as data -------------------------------------------------


def _conv(filters, kernel, stride=1, padding=0, name=None, **settings):
    layer = {"type": "conv", "filters": filters, "kernel": kernel, "stride": stride, "padding": padding}
    layer.update(settings)
    if name:
        layer["name"] = name
    return layer


def lenet5():
    """LeNet-5 (LeCun et al., 1998) as most courses build it today: ``((1, 32, 32), layers)``.

    Full connections from S2 to C3 and a dense output layer, where the paper
    wired C3 to chosen subsets of S2's maps and ended with RBF units;
    average pooling without the paper's trainable scale.
    """
    return (1, 32, 32), [
        _conv(6, 5, name="C1"),
        {"type": "avgpool", "size": 2, "name": "S2"},
        _conv(16, 5, name="C3"),
        {"type": "avgpool", "size": 2, "name": "S4"},
        _conv(120, 5, name="C5"),
        {"type": "flatten", "name": "flatten"},
        {"type": "dense", "units": 84, "name": "F6"},
        {"type": "dense", "units": 10, "name": "output"},
    ]


def alexnet():
    """AlexNet (Krizhevsky et al., 2012): ``((3, 227, 227), layers)``.

    The paper's two-GPU split is kept as ``groups=2`` in conv2, conv4 and
    conv5 (each half of the filters sees half of the channels); its local
    response normalisation (no parameters) is left out.
    """
    pool = {"type": "maxpool", "size": 3, "stride": 2}
    return (3, 227, 227), [
        _conv(96, 11, stride=4, name="conv1"), dict(pool, name="pool1"),
        _conv(256, 5, padding=2, groups=2, name="conv2"), dict(pool, name="pool2"),
        _conv(384, 3, padding=1, name="conv3"),
        _conv(384, 3, padding=1, groups=2, name="conv4"),
        _conv(256, 3, padding=1, groups=2, name="conv5"), dict(pool, name="pool5"),
        {"type": "flatten", "name": "flatten"},
        {"type": "dense", "units": 4096, "name": "fc6"},
        {"type": "dense", "units": 4096, "name": "fc7"},
        {"type": "dense", "units": 1000, "name": "fc8"},
    ]


def vgg16():
    """VGG-16 (Simonyan & Zisserman, 2015), configuration D: ``((3, 224, 224), layers)``."""
    layers = []
    for block, (filters, repeats) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for i in range(1, repeats + 1):
            layers.append(_conv(filters, 3, padding=1, name=f"block{block}_conv{i}"))
        layers.append({"type": "maxpool", "size": 2, "name": f"block{block}_pool"})
    layers += [{"type": "flatten", "name": "flatten"},
               {"type": "dense", "units": 4096, "name": "fc1"},
               {"type": "dense", "units": 4096, "name": "fc2"},
               {"type": "dense", "units": 1000, "name": "predictions"}]
    return (3, 224, 224), layers


def _stem(bias):
    return [_conv(64, 7, stride=2, padding=3, bias=bias, name="conv1"),
            {"type": "batchnorm", "name": "conv1_bn"},
            {"type": "relu", "name": "conv1_relu"},
            {"type": "maxpool", "size": 3, "stride": 2, "padding": 1, "name": "pool1"}]


def _basic_block(filters, stride, project, name):
    body = [_conv(filters, 3, stride=stride, padding=1, bias=False), {"type": "batchnorm"}, {"type": "relu"},
            _conv(filters, 3, padding=1, bias=False), {"type": "batchnorm"}]
    shortcut = [_conv(filters, 1, stride=stride, bias=False), {"type": "batchnorm"}] if project else []
    return {"type": "residual", "body": body, "shortcut": shortcut, "name": name}


def resnet18():
    """ResNet-18 (He et al., 2016), basic blocks, no convolution biases: ``((3, 224, 224), layers)``.

    Each stage's first block halves the maps with a stride-2 convolution and
    projects the shortcut with a 1x1 stride-2 convolution (the paper's option B).
    """
    layers = _stem(bias=False)
    for stage, filters in enumerate([64, 128, 256, 512], start=2):
        for block in (1, 2):
            first = block == 1 and stage > 2
            layers.append(_basic_block(filters, 2 if first else 1, first, f"conv{stage}_block{block}"))
            layers.append({"type": "relu", "name": f"conv{stage}_block{block}_out"})
    layers += [{"type": "globalavgpool", "name": "avg_pool"},
               {"type": "dense", "units": 1000, "name": "fc"}]
    return (3, 224, 224), layers


def resnet50():
    """ResNet-50 (He et al., 2016), bottleneck blocks, as ``keras.applications.ResNet50`` builds it.

    Keras' version gives every convolution a bias and puts each stage's
    stride in the first 1x1 convolution of its first block.
    """
    layers = _stem(bias=True)
    for stage, (filters, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=2):
        for block in range(1, blocks + 1):
            stride = 2 if block == 1 and stage > 2 else 1
            body = [_conv(filters, 1, stride=stride), {"type": "batchnorm"}, {"type": "relu"},
                    _conv(filters, 3, padding=1), {"type": "batchnorm"}, {"type": "relu"},
                    _conv(4 * filters, 1), {"type": "batchnorm"}]
            shortcut = [_conv(4 * filters, 1, stride=stride), {"type": "batchnorm"}] if block == 1 else []
            layers.append({"type": "residual", "body": body, "shortcut": shortcut,
                           "name": f"conv{stage}_block{block}"})
            layers.append({"type": "relu", "name": f"conv{stage}_block{block}_out"})
    layers += [{"type": "globalavgpool", "name": "avg_pool"},
               {"type": "dense", "units": 1000, "name": "predictions"}]
    return (3, 224, 224), layers
