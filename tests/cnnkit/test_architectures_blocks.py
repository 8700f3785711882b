"""cnnkit.architectures' depthwise and separable layers, concat blocks and the Inception module:
counts by hand, MACs counted from the naive loops' products, parameters against Keras."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import architectures as arch
from cnnkit.naive import conv2d_naive, depthwise_conv2d_naive

DW = {"type": "depthwise_conv", "kernel": 3}
SEP = {"type": "separable_conv", "filters": 8, "kernel": 3}


def test_depthwise_counts_by_hand():
    row = arch.summarize([dict(DW, multiplier=2, stride=2, padding=1)], (3, 9, 7))[0]
    assert row.output_shape == (6, 5, 4)
    assert row.params == row.trainable == 3 * 2 * 9 + 6
    assert row.macs == 5 * 4 * 3 * 2 * 9
    assert row.activations == 6 * 5 * 4
    assert arch.layer_params(dict(DW, bias=False), (4, 5, 5)) == 4 * 9


def test_separable_counts_by_hand():
    row = arch.summarize([dict(SEP, multiplier=2, padding="same")], (3, 6, 6))[0]
    assert row.output_shape == (8, 6, 6)
    assert row.params == 3 * 2 * 9 + 3 * 2 * 8 + 8
    assert row.macs == 36 * (3 * 2 * 9 + 3 * 2 * 8)
    assert arch.layer_macs(dict(SEP, dilation=2), (3, 6, 6)) == 4 * (3 * 9 + 3 * 8)  # effective kernel 5


def _ones_padded(c, h, w, pad):
    """An input of ones *including* its padding: every product of the naive loop then adds exactly 1."""
    ph, pw = pad
    return np.ones((1, c, h + 2 * ph, w + 2 * pw))


CASES = [  # (C, H, W), kernel, multiplier, stride, padding, dilation
    ((3, 7, 6), 3, 1, 1, 0, 1),
    ((2, 8, 9), (3, 2), 3, 2, (1, 2), 1),
    ((4, 6, 6), 2, 2, (1, 2), 1, (2, 1)),
    ((1, 5, 5), 1, 4, 1, 0, 1),
]


@pytest.mark.parametrize("shape, kernel, multiplier, stride, padding, dilation", CASES)
def test_macs_are_the_naive_loops_products(shape, kernel, multiplier, stride, padding, dilation):
    # Summing the output of the naive loop on all-ones input and kernels counts its multiply-adds
    # (padding is made explicit as ones, since the counts include the products with the padding).
    c, h, w = shape
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    pad = (padding, padding) if isinstance(padding, int) else padding
    settings = dict(kernel=kernel, multiplier=multiplier, stride=stride, padding=padding, dilation=dilation)
    x = _ones_padded(c, h, w, pad)
    mid = depthwise_conv2d_naive(x, np.ones((c, multiplier, kh, kw)), stride=stride, dilation=dilation)
    depthwise_row = arch.summarize([dict(settings, type="depthwise_conv")], shape)[0]
    assert depthwise_row.output_shape == mid.shape[1:]
    assert depthwise_row.macs == mid.sum()
    filters = 5
    out = conv2d_naive(np.ones_like(mid), np.ones((filters, c * multiplier, 1, 1)))
    separable_row = arch.summarize([dict(settings, type="separable_conv", filters=filters)], shape)[0]
    assert separable_row.output_shape == out.shape[1:]
    assert separable_row.macs == mid.sum() + out.sum()


KERAS_CASES = [  # settings of a depthwise/separable layer, input (C, H, W)
    (dict(kernel=3), (3, 9, 8)),
    (dict(kernel=3, multiplier=2, stride=2, padding="same"), (3, 9, 8)),
    (dict(kernel=(3, 5), multiplier=3, padding="valid", bias=False), (4, 9, 8)),
    (dict(kernel=3, dilation=2, padding=1), (2, 9, 8)),
    (dict(kernel=1, multiplier=1), (16, 4, 4)),
]


@pytest.mark.parametrize("settings, shape", KERAS_CASES)
def test_counts_match_keras(settings, shape):
    from keras import Input, layers as kl

    c, h, w = shape
    kwargs = dict(strides=settings.get("stride", 1), dilation_rate=settings.get("dilation", 1),
                  depth_multiplier=settings.get("multiplier", 1), use_bias=settings.get("bias", True))
    pad = settings.get("padding", 0)
    x = Input((h, w, c))
    if isinstance(pad, int) and pad:
        x = kl.ZeroPadding2D(pad)(x)
    kwargs["padding"] = "same" if pad == "same" else "valid"
    for kind, built in [("depthwise_conv", kl.DepthwiseConv2D(settings["kernel"], **kwargs)),
                        ("separable_conv", kl.SeparableConv2D(7, settings["kernel"], **kwargs))]:
        out = built(x)
        row = arch.summarize([dict(settings, type=kind, filters=7)], shape)[0]
        ho, wo, co = tuple(out.shape)[1:]
        assert row.output_shape == (co, ho, wo), kind
        assert row.params == built.count_params(), kind


def test_compare_separable_ratio_is_the_formula():
    r = arch.compare_separable((32, 56, 56), 64, 3, padding=1)
    assert r["conv"].macs == 56 * 56 * 64 * 32 * 9 and r["separable"].macs == 56 * 56 * 32 * (9 + 64)
    assert r["conv"].params == 64 * 32 * 9 and r["separable"].params == 32 * 9 + 32 * 64
    assert r["formula"] == pytest.approx(1 / 64 + 1 / 9)
    assert r["macs_ratio"] == pytest.approx(r["formula"]) and r["params_ratio"] == pytest.approx(r["formula"])
    assert r["conv"] == arch.summarize([{"type": "conv", "filters": 64, "kernel": 3, "padding": 1,
                                         "bias": False, "name": "conv"}], (32, 56, 56))[0]


@pytest.mark.parametrize("shape, filters, kernel, kwargs", [
    ((3, 10, 10), 16, 5, dict(stride=2)),
    ((8, 12, 11), 4, (3, 5), dict(multiplier=2, padding="same")),
    ((64, 14, 14), 128, 3, dict(padding=1, dilation=2, multiplier=3)),
])
def test_compare_separable_general(shape, filters, kernel, kwargs):
    r = arch.compare_separable(shape, filters, kernel, **kwargs)
    assert r["conv"].output_shape == r["separable"].output_shape
    assert r["macs_ratio"] == pytest.approx(r["formula"]) == pytest.approx(r["params_ratio"])
    with_bias = arch.compare_separable(shape, filters, kernel, bias=True, **kwargs)
    assert with_bias["conv"].params == r["conv"].params + filters
    assert with_bias["separable"].params == r["separable"].params + filters
    assert with_bias["macs_ratio"] == r["macs_ratio"]


# --- Concat blocks and the Inception module -----------------------------------------

INCEPTION_3A = (64, 96, 128, 16, 32, 32)  # GoogLeNet, table 1, on (192, 28, 28)


def test_inception_3a_by_hand():
    row = arch.summarize([arch.inception_block(*INCEPTION_3A)], (192, 28, 28))[0]
    assert row.type == "concat" and row.name == "inception"
    assert row.output_shape == (64 + 128 + 32 + 32, 28, 28)
    weights = 192 * 64 + (192 * 96 + 96 * 9 * 128) + (192 * 16 + 16 * 25 * 32) + 192 * 32
    assert weights == 163_328  # the paper's table says 159K parameters: it does not add up to its own columns
    assert row.params == weights + (64 + 96 + 128 + 16 + 32 + 32)
    assert row.macs == 28 * 28 * weights == 128_049_152  # the paper's table: 128M
    # every output inside (six convolutions and the pooling) plus the stacked maps
    assert row.activations == 28 * 28 * (64 + 96 + 128 + 16 + 32 + 192 + 32) + 28 * 28 * 256


def test_inception_reductions_save_most_of_the_cost():
    reduced = arch.summarize([arch.inception_block(*INCEPTION_3A)], (192, 28, 28))[0]
    naive = arch.summarize([arch.inception_block(*INCEPTION_3A, reduce=False)], (192, 28, 28))[0]
    assert naive.output_shape == (64 + 128 + 32 + 192, 28, 28)  # the pooled maps pile up
    assert naive.params == 192 * 64 + 192 * 9 * 128 + 192 * 25 * 32 + (64 + 128 + 32)
    assert naive.macs == 28 * 28 * (192 * 64 + 192 * 9 * 128 + 192 * 25 * 32) == 303_464_448
    assert reduced.macs / naive.macs == pytest.approx(0.422, abs=1e-3)
    # The 5x5 branch alone (Andrew Ng's example has 28x28x192 -> 32 maps through 16): a tenth.
    five = [{"type": "conv", "filters": 32, "kernel": 5, "padding": "same"}]
    bottleneck = [{"type": "conv", "filters": 16, "kernel": 1}] + five
    direct = arch.totals(arch.summarize(five, (192, 28, 28)))["macs"]
    reduced_5x5 = arch.totals(arch.summarize(bottleneck, (192, 28, 28)))["macs"]
    assert (direct, reduced_5x5) == (120_422_400, 12_443_648)


def _keras_block(layer, x):
    """Build a concat block of conv / maxpool layers (all "same") in Keras; returns (tensor, params)."""
    from keras import layers as kl

    outs, params = [], 0
    for branch in layer["branches"]:
        y = x
        for inner in branch:
            if inner["type"] == "conv":
                built = kl.Conv2D(inner["filters"], inner["kernel"], padding="same")
            else:
                built = kl.MaxPooling2D(inner["size"], strides=inner["stride"], padding="same")
            y = built(y)
            params += built.count_params()
        outs.append(y)
    return kl.Concatenate()(outs), params


@pytest.mark.parametrize("reduce", [True, False])
def test_inception_matches_keras(reduce):
    import keras

    block = arch.inception_block(8, 6, 12, 2, 4, 4, reduce=reduce)
    inputs = keras.Input((9, 9, 10))
    out, params = _keras_block(block, inputs)
    model = keras.Model(inputs, out)
    row = arch.summarize([block], (10, 9, 9))[0]
    ho, wo, co = tuple(out.shape)[1:]
    assert row.output_shape == (co, ho, wo)
    assert row.params == params == model.count_params()


def test_concat_block_with_an_identity_branch_and_separable_layers():
    block = {"type": "concat", "branches": [[], [dict(SEP, padding="same")], [dict(DW, padding=1, multiplier=2)]]}
    row = arch.summarize([block], (3, 5, 5))[0]
    assert row.output_shape == (3 + 8 + 6, 5, 5)
    assert row.params == (27 + 24 + 8) + (54 + 6)
    assert row.macs == 25 * (27 + 24) + 25 * 54


@pytest.mark.parametrize("layers, shape, message", [
    ([{"type": "concat", "branches": [[], [dict(DW)]]}], (2, 5, 5), "same H and W"),
    ([{"type": "concat", "branches": []}], (2, 5, 5), "needs 'branches'"),
    ([{"type": "concat"}], (2, 5, 5), "needs 'branches'"),
    ([{"type": "concat", "branches": [[{"type": "flatten"}], []]}], (2, 5, 5), "must all be maps"),
    ([{"type": "flatten"}, {"type": "concat", "branches": [[]]}], (2, 5, 5), "needs feature maps"),
    ([{"type": "depthwise_conv"}], (2, 5, 5), "needs 'kernel'"),
    ([{"type": "separable_conv", "kernel": 3}], (2, 5, 5), "needs 'filters'"),
    ([dict(DW, multiplier=0)], (2, 5, 5), "multiplier must be >= 1"),
    ([dict(DW, kernel=7)], (2, 5, 5), "kernel"),
    ([{"type": "flatten"}, DW], (2, 5, 5), "needs feature maps"),
])
def test_bad_input_is_named(layers, shape, message):
    with pytest.raises((ValueError, TypeError), match=message):
        arch.summarize(layers, shape)
