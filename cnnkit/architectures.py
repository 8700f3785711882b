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
``"depthwise_conv"``          ``kernel``, ``multiplier=1``, ``stride=1``, ``padding=0``,
                              ``dilation=1``, ``bias=True``: ``M`` kernels per channel,
                              ``C M`` output channels (:func:`cnnkit.depthwise_conv2d`)
``"separable_conv"``          ``filters``, ``kernel``, ``multiplier=1``, ``stride=1``,
                              ``padding=0``, ``dilation=1``, ``bias=True``: depthwise,
                              then a 1x1 convolution (:func:`cnnkit.separable_conv2d`)
``"residual"``                ``body`` (a list of layers), ``shortcut=[]`` (a list of
                              layers; empty is the identity); the two outputs are added
``"concat"``                  ``branches`` (a list of lists of layers; an empty one is
                              the identity), all applied to the input; their maps,
                              which must agree in ``H`` and ``W``, are stacked along
                              the channels (an Inception module, :func:`inception_block`)
============================  =======================================================

Every layer may also carry a ``"name"``. ``padding`` takes an int or an
``(h, w)`` pair (zeros on each side) or ``"valid"`` / ``"same"`` (Keras' rule:
``ceil(n / s)``), as in :func:`cnnkit.conv_output_size`.

Counting rules (one image):

* parameters: convolution ``F (C / g) k_h k_w + F`` (bias), depthwise
  ``C M k_h k_w + C M``, separable ``C M k_h k_w + C M F + F`` (one bias, after
  the 1x1 step, as Keras' ``SeparableConv2D``), dense ``n u + u``, batch
  normalisation ``4C`` (``gamma``, ``beta`` trained; the moving mean and
  variance not), everything else none;
* activation memory: the number of new values a layer computes for one
  image, ``prod(shape)`` of its output, each counted once where it is made.
  ``"flatten"`` only reshapes, and ``"relu"``, ``"dropout"`` and
  ``"softmax"`` apply a function value by value to the output before them,
  as Keras' ``activation=`` argument does inside the layer: they count 0,
  so that a network has the same count whether its activations are layers
  of their own or not. A residual or concat block counts every output
  inside it, plus the sum or the stacked maps;
* multiply-adds (MACs): convolution ``H_o W_o F (C / g) k_h k_w``, depthwise
  ``H_o W_o C M k_h k_w`` (``k_h k_w`` per output value, ``C M`` output maps),
  separable ``H_o W_o C M (k_h k_w + F)`` (the depthwise step, then ``C M``
  per value of the ``F`` maps of the 1x1 step), dense ``n u``; biases,
  pooling, normalisation and activations are not counted (they are a few
  operations per output, negligible next to the products).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import as_int, as_pair
from .sizes import conv_output_size

__all__ = [
    "LayerCost",
    "alexnet",
    "compare_separable",
    "inception_block",
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
         "globalavgpool", "globalmaxpool", "residual", "depthwise_conv", "separable_conv", "concat",
         *SHAPELESS)


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


def _window_geometry(layer, shape, fn):
    """``(C, H_o, W_o, k_h, k_w)`` of a convolution-like layer (conv, depthwise, separable)."""
    c, h, w = _maps(shape, layer["type"], fn)
    kh, kw = as_pair(_required(layer, "kernel", fn), "kernel", fn)
    sh, sw = as_pair(layer.get("stride", 1), "stride", fn)
    dh, dw = as_pair(layer.get("dilation", 1), "dilation", fn)
    ph, pw = _padding(layer, fn)
    return c, conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw), kh, kw


def _conv_geometry(layer, shape, fn):
    c = _maps(shape, "conv", fn)[0]
    filters = as_int(_required(layer, "filters", fn), "filters", fn)
    groups = as_int(layer.get("groups", 1), "groups", fn)
    if c % groups or filters % groups:
        raise ValueError(f"{fn}: groups must divide the input channels ({c}) and filters ({filters}), got {groups}")
    _, ho, wo, kh, kw = _window_geometry(layer, shape, fn)
    return (filters, ho, wo), (c // groups) * kh * kw


def _depthwise_cost(layer, shape, fn):
    """``(output shape, params, MACs)`` of a ``depthwise_conv`` or ``separable_conv`` layer."""
    c, ho, wo, kh, kw = _window_geometry(layer, shape, fn)
    m = as_int(layer.get("multiplier", 1), "multiplier", fn)
    bias = bool(layer.get("bias", True))
    if layer["type"] == "depthwise_conv":
        return (c * m, ho, wo), c * m * kh * kw + (c * m if bias else 0), ho * wo * c * m * kh * kw
    filters = as_int(_required(layer, "filters", fn), "filters", fn)
    params = c * m * kh * kw + c * m * filters + (filters if bias else 0)
    return (filters, ho, wo), params, ho * wo * c * m * (kh * kw + filters)


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


def _concat_rows(layer, shape, fn):
    branches = _required(layer, "branches", fn)
    if not isinstance(branches, (list, tuple)) or not branches:
        raise ValueError(f"{fn}: a 'concat' layer needs 'branches', a non-empty list of lists of layers, "
                         f"got {branches!r}")
    _maps(shape, "concat", fn)
    rows, outs = [], []
    for branch in branches:
        inner, out = _walk(branch, shape, fn)
        rows += inner
        outs.append(out)
    if any(len(o) != 3 or o[1:] != outs[0][1:] for o in outs):
        raise ValueError(f"{fn}: a concat block's branches give {outs}: they must all be maps (C, H, W) "
                         "with the same H and W to be stacked along the channels")
    return rows, (sum(o[0] for o in outs), *outs[0][1:])


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
    elif kind in ("depthwise_conv", "separable_conv"):
        out, params, macs = _depthwise_cost(layer, shape, fn)
        trainable = params
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
    elif kind in ("residual", "concat"):
        inner, out = (_residual_rows if kind == "residual" else _concat_rows)(layer, shape, fn)
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
    (:func:`cnnkit.conv_output_size`), ``F`` channels for a convolution
    (separable too), ``C M`` for a depthwise one, ``C`` for pooling; flatten
    ``(C H W,)``; global pooling ``(C,)``; dense ``(u,)``; concat: the sum
    of its branches' channels.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "layer_output_shape"
    return _cost(layer, _shape(input_shape, fn), fn).output_shape


def layer_params(layer, input_shape):
    """Parameters of one layer: ``F (C / g) k_h k_w + F``, ``n u + u``, ``4C`` for batch norm, else 0.

    Depthwise ``C M k_h k_w + C M``; separable ``C M k_h k_w + C M F + F``
    (without the biases if ``bias=False``); a block sums its layers.

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    fn = "layer_params"
    return _cost(layer, _shape(input_shape, fn), fn).params


def layer_macs(layer, input_shape):
    """Multiply-adds of one layer for one image: ``H_o W_o F (C / g) k_h k_w`` or ``n u``, else 0.

    Depthwise ``H_o W_o C M k_h k_w``; separable ``H_o W_o C M (k_h k_w + F)``;
    a block sums its layers. Biases are not counted.

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


# --- Cheaper convolutions: separable layers and 1x1 bottlenecks ---------------------


def compare_separable(input_shape, filters, kernel, stride=1, padding=0, dilation=1, multiplier=1, bias=False):
    r"""Parameters and multiply-adds of a convolution and of the separable convolution that replaces it.

    Parameters
    ----------
    input_shape : tuple
        ``(C, H, W)`` of one input image.
    filters : int
        Output channels ``F`` of both layers.
    kernel : int or (int, int)
        ``k_h x k_w`` of the convolution and of the depthwise step.
    stride, padding, dilation
        As in a ``"conv"`` layer; the two layers share them.
    multiplier : int, default 1
        Depth multiplier ``M`` of the separable layer.
    bias : bool, default False
        Whether both layers have biases. Without them the ratios are exactly
        the formula below.

    Returns
    -------
    dict
        ``"conv"`` and ``"separable"``: the two layers as :class:`LayerCost`
        rows; ``"params_ratio"`` and ``"macs_ratio"``: separable over
        standard; ``"formula"``: ``M (1/F + 1/(k_h k_w))``.

    Notes
    -----
    Per output position the convolution does ``F C k_h k_w`` multiply-adds;
    the separable layer ``C M k_h k_w`` (depthwise) plus ``C M F``
    (pointwise). Their ratio, and that of the weights, is

    .. math::

        \frac{C M (k_h k_w + F)}{F C k_h k_w} = M \left(\frac{1}{F} + \frac{1}{k_h k_w}\right),

    about ``1/9`` for a 3x3 kernel and many filters (MobileNet's 8 to 9
    times fewer operations).

    Book: chapter 2, "Convolution and filters", section "Depthwise-separable convolution".

    Examples
    --------
    >>> r = compare_separable((32, 56, 56), 64, 3, padding=1)
    >>> r["conv"].macs, r["separable"].macs, round(r["macs_ratio"], 4)  # 1/64 + 1/9
    (57802752, 7325696, 0.1267)
    """
    fn = "compare_separable"
    shape = _shape(input_shape, fn)
    settings = {"filters": filters, "kernel": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "bias": bias}
    conv = _cost(dict(settings, type="conv", name="conv"), shape, fn)
    separable = _cost(dict(settings, type="separable_conv", multiplier=multiplier, name="separable"), shape, fn)
    kh, kw = as_pair(kernel, "kernel", fn)
    return {"conv": conv, "separable": separable,
            "params_ratio": separable.params / conv.params, "macs_ratio": separable.macs / conv.macs,
            "formula": multiplier * (1 / conv.output_shape[0] + 1 / (kh * kw))}


def inception_block(filters_1x1, reduce_3x3, filters_3x3, reduce_5x5, filters_5x5, pool_proj,
                    reduce=True, name="inception"):
    """An Inception module (Szegedy et al., 2015) as a ``"concat"`` layer.

    Four branches on the same input, stacked along the channels:

    1. a 1x1 convolution with ``filters_1x1`` filters;
    2. a 1x1 *reduction* to ``reduce_3x3`` channels, then a 3x3 convolution
       with ``filters_3x3`` filters;
    3. a 1x1 reduction to ``reduce_5x5`` channels, then a 5x5 convolution
       with ``filters_5x5`` filters;
    4. 3x3 max pooling (stride 1), then a 1x1 *projection* to ``pool_proj``
       channels.

    Every convolution and the pooling keep ``H`` and ``W`` (``"same"``
    padding); the output has ``filters_1x1 + filters_3x3 + filters_5x5 +
    pool_proj`` channels. The ReLU after each convolution is left out: it has
    no parameters and no multiply-adds.

    With ``reduce=False`` it is the paper's "naive" module (its figure 2a):
    the 3x3 and 5x5 convolutions run on the full input and the pooled maps
    are stacked as they are, so the output has ``filters_1x1 + filters_3x3 +
    filters_5x5 + C`` channels (``reduce_3x3``, ``reduce_5x5`` and
    ``pool_proj`` are then unused). Comparing the two with :func:`summarize`
    and :func:`totals` shows what the 1x1 bottlenecks save: a 5x5
    convolution to ``F`` maps costs ``25 C F`` multiply-adds per position on
    the full ``C`` channels, but ``C R + 25 R F`` after a reduction to ``R``.

    Returns
    -------
    dict
        A layer ``{"type": "concat", "branches": [...], "name": name}``.

    Examples
    --------
    GoogLeNet's inception (3a), on 192 maps of 28x28:

    >>> block = inception_block(64, 96, 128, 16, 32, 32)
    >>> row = summarize([block], (192, 28, 28))[0]
    >>> row.output_shape, row.macs
    ((256, 28, 28), 128049152)
    >>> summarize([inception_block(64, 96, 128, 16, 32, 32, reduce=False)], (192, 28, 28))[0].macs
    303464448

    Book: chapter 1, "Architecture of a CNN", section "Classic architectures, measured".
    """
    def conv(filters, kernel, part):
        return _conv(filters, kernel, padding="same", name=f"{name}_{part}")

    pool = {"type": "maxpool", "size": 3, "stride": 1, "padding": "same", "name": f"{name}_pool"}
    if reduce:
        branches = [[conv(filters_1x1, 1, "1x1")],
                    [conv(reduce_3x3, 1, "3x3_reduce"), conv(filters_3x3, 3, "3x3")],
                    [conv(reduce_5x5, 1, "5x5_reduce"), conv(filters_5x5, 5, "5x5")],
                    [pool, conv(pool_proj, 1, "pool_proj")]]
    else:
        branches = [[conv(filters_1x1, 1, "1x1")], [conv(filters_3x3, 3, "3x3")], [conv(filters_5x5, 5, "5x5")],
                    [pool]]
    return {"type": "concat", "branches": branches, "name": name}
