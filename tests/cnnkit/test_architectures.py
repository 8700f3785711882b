"""cnnkit.architectures: counts by hand on small stacks, the classic networks' published totals,
and every layer against the Keras model built from the same description."""

from __future__ import annotations

import pytest

from cnnkit import architectures as arch

CONV = {"type": "conv", "filters": 4, "kernel": 3}


def test_conv_counts_by_hand():
    row = arch.summarize([dict(CONV, stride=2, padding=1)], (3, 9, 7))[0]
    # (9 + 2 - 3) // 2 + 1 = 5, (7 + 2 - 3) // 2 + 1 = 4
    assert row.output_shape == (4, 5, 4)
    assert row.params == row.trainable == 4 * 3 * 9 + 4
    assert row.macs == 5 * 4 * 4 * 3 * 9
    assert row.activations == 4 * 5 * 4


def test_conv_without_bias_grouped_dilated_and_same():
    row = arch.summarize([dict(CONV, filters=6, groups=3, bias=False, dilation=2)], (3, 10, 10))[0]
    assert row.output_shape == (6, 6, 6)  # effective kernel 5
    assert row.params == 6 * 1 * 9 and row.macs == 6 * 6 * 6 * 9
    assert arch.layer_output_shape(dict(CONV, stride=2, padding="same"), (1, 7, 8)) == (4, 4, 4)
    assert arch.layer_output_shape(dict(CONV, kernel=(1, 3), padding="valid"), (1, 7, 8)) == (4, 7, 6)


def test_pooling_flatten_dense_and_shapeless_layers():
    rows = arch.summarize([{"type": "maxpool", "size": 3, "stride": 2}, {"type": "relu"},
                           {"type": "avgpool", "size": 2}, {"type": "flatten"},
                           {"type": "dropout"}, {"type": "dense", "units": 5},
                           {"type": "dense", "units": 2, "bias": False}], (2, 11, 11))
    assert [r.output_shape for r in rows] == [(2, 5, 5), (2, 5, 5), (2, 2, 2), (8,), (8,), (5,), (2,)]
    assert [r.params for r in rows] == [0, 0, 0, 0, 0, 8 * 5 + 5, 10]
    assert [r.macs for r in rows] == [0, 0, 0, 0, 0, 40, 10]
    # a reshape and value-by-value functions add no new values: counted once, where made
    assert [r.activations for r in rows] == [50, 0, 8, 0, 0, 5, 2]


def test_batchnorm_has_four_c_parameters_two_c_trained():
    row = arch.summarize([{"type": "batchnorm"}], (7, 3, 3))[0]
    assert (row.params, row.trainable, row.macs, row.output_shape) == (28, 14, 0, (7, 3, 3))


def test_residual_block_sums_its_branches():
    block = {"type": "residual", "body": [dict(CONV, stride=2, padding=1), {"type": "batchnorm"}],
             "shortcut": [dict(CONV, kernel=1, stride=2, bias=False)]}
    row = arch.summarize([block], (2, 8, 8))[0]
    assert row.output_shape == (4, 4, 4)
    assert row.params == (4 * 2 * 9 + 4) + 16 + 4 * 2
    assert row.trainable == row.params - 8
    assert row.macs == 64 * 2 * 9 + 64 * 2
    assert row.activations == 64 * 4  # conv, batch norm, shortcut conv, sum
    identity = {"type": "residual", "body": [dict(CONV, filters=2, padding=1)]}
    assert arch.summarize([identity], (2, 5, 5))[0].output_shape == (2, 5, 5)


def test_totals_add_the_rows():
    rows = arch.summarize([CONV, {"type": "flatten"}, {"type": "dense", "units": 3}], (1, 5, 5))
    assert arch.totals(rows) == {"params": 40 + 111, "trainable": 151,
                                 "activations": 36 + 0 + 3, "macs": 324 + 108}


@pytest.mark.parametrize("build, params, macs", [
    (arch.lenet5, 61_706, 416_520),
    (arch.alexnet, 60_965_224, 724_406_816),
    (arch.vgg16, 138_357_544, 15_470_264_320),
    (arch.resnet18, 11_699_112, 1_814_073_344),
    (arch.resnet50, 25_636_712, 3_857_973_248),
])
def test_classic_networks_published_counts(build, params, macs):
    shape, layers = build()
    rows = arch.summarize(layers, shape)
    assert rows[-1].output_shape in ((10,), (1000,))
    assert arch.totals(rows)["params"] == params
    assert arch.totals(rows)["macs"] == macs


def test_resnet18_trainable_count_is_the_papers():
    shape, layers = arch.resnet18()
    assert arch.totals(arch.summarize(layers, shape))["trainable"] == 11_689_512


@pytest.mark.parametrize("layers, shape, message", [
    ([{"type": "conv2d"}], (1, 4, 4), "layer type must be one of"),
    ([{"type": "conv", "kernel": 3}], (1, 4, 4), "needs 'filters'"),
    ([{"type": "dense", "units": 3}], (1, 4, 4), "needs a vector"),
    ([{"type": "flatten"}, CONV], (1, 4, 4), "needs feature maps"),
    ([dict(CONV, kernel=5)], (1, 4, 4), "kernel"),
    ([dict(CONV, groups=2)], (3, 4, 4), "groups must divide"),
    ([dict(CONV, padding="full")], (1, 4, 4), "padding must be"),
    ([{"type": "residual", "body": [dict(CONV, stride=2)]}], (4, 8, 8), "same shape to be added"),
    ([CONV], (4, 4), "input_shape must be"),
])
def test_bad_input_is_named(layers, shape, message):
    with pytest.raises((ValueError, TypeError), match=message):
        arch.summarize(layers, shape)


def test_layer_must_be_a_dict():
    with pytest.raises(TypeError, match="layer must be a dict"):
        arch.layer_params(("conv", 3), (1, 4, 4))


# --- Against Keras: the same description built as a Keras model -------------------


def _keras_layers(layers, x, keras):
    """Apply the described layers to Keras tensor ``x`` (NHWC); return x and [(name, output, params)]."""
    from keras import layers as kl

    rows = []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            pad = layer.get("padding", 0)
            if isinstance(pad, int) and pad:
                x = kl.ZeroPadding2D(pad)(x)
            built = kl.Conv2D(layer["filters"], layer["kernel"], strides=layer.get("stride", 1),
                              padding="same" if pad == "same" else "valid", groups=layer.get("groups", 1),
                              use_bias=layer.get("bias", True))
        elif kind in ("maxpool", "avgpool"):
            pad = layer.get("padding", 0)
            if pad:
                x = kl.ZeroPadding2D(pad)(x)
            cls = kl.MaxPooling2D if kind == "maxpool" else kl.AveragePooling2D
            built = cls(layer["size"], strides=layer.get("stride"))
        elif kind == "dense":
            built = kl.Dense(layer["units"], use_bias=layer.get("bias", True))
        elif kind == "batchnorm":
            built = kl.BatchNormalization()
        elif kind == "flatten":
            built = kl.Flatten()
        elif kind == "globalavgpool":
            built = kl.GlobalAveragePooling2D()
        elif kind == "relu":
            built = kl.ReLU()
        elif kind == "residual":
            body, inner = _keras_layers(layer["body"], x, keras)
            short, inner_short = _keras_layers(layer.get("shortcut", []), x, keras)
            x = kl.Add()([body, short])
            rows.append((layer.get("name"), x, sum(r[2] for r in inner + inner_short)))
            continue
        else:
            raise AssertionError(kind)
        x = built(x)
        rows.append((layer.get("name"), x, built.count_params()))
    return x, rows


@pytest.mark.parametrize("build", [arch.lenet5, arch.alexnet, arch.resnet18])
def test_every_layer_agrees_with_keras(build):
    import keras
    (c, h, w), layers = build()
    inputs = keras.Input((h, w, c))
    outputs, keras_rows = _keras_layers(layers, inputs, keras)
    model = keras.Model(inputs, outputs)
    ours = arch.summarize(layers, (c, h, w))
    assert len(ours) == len(keras_rows)
    for row, (_, tensor, params) in zip(ours, keras_rows):
        shape = tuple(tensor.shape)[1:]
        if len(shape) == 3:
            shape = (shape[2], shape[0], shape[1])
        assert (row.output_shape, row.params) == (shape, params), row.name
    assert model.count_params() == arch.totals(ours)["params"]
    trainable = sum(int(v.numpy().size) for v in model.trainable_weights)
    assert trainable == arch.totals(ours)["trainable"]
