"""conv2d forward: the book's worked examples, fast vs naive, vs TensorFlow, and the contract."""

import numpy as np
import pytest

import cnnkit
from cnnkit.data import conv2d_worked_example
from cnnkit.naive import conv2d_naive

from .conv_testing import GRID, TF_GRID, against_tensorflow, assert_close, pair, random_conv_case, tf_conv2d

# Curriculum chapter 2, "2-D, several channels, with bias" (one definition, in cnnkit.data), as integers.
_X, _W, B_2D = conv2d_worked_example()
I_2D, W_2D = _X[0].astype(np.int64), _W.astype(np.int64)
O_2D = np.array(
    [
        [[3.1, -3.9, -10.9], [4.1, -12.9, 16.1], [-3.9, 0.1, 9.1]],
        [[-0.8, 8.2, 6.2], [5.2, 18.2, 7.2], [-8.8, 2.2, -7.8]],
    ]
)

# (N, C, F, (H, W), (KH, KW)): C*KH*KW below and above 64 take the two
# matrix layouts of the fast path; N = 1 is the single-image case.
SHAPES = [
    (2, 3, 4, (9, 10), (3, 2)),
    (3, 8, 5, (8, 7), (3, 3)),
    (1, 2, 3, (7, 9), (2, 3)),
]


def test_worked_example_2d():
    out = cnnkit.conv2d(I_2D[None], W_2D, B_2D)
    assert out.shape == (1, 2, 3, 3)
    assert_close(out[0], O_2D, rtol=1e-12)
    # The slides printed -3.1 here; the book points out the erratum.
    assert out[0, 0, 0, 0] == pytest.approx(3.1)


def test_worked_example_2d_naive():
    assert_close(conv2d_naive(I_2D[None], W_2D, B_2D)[0], O_2D, rtol=1e-12)


def test_16x16_image_through_8_filters_of_5x5():
    rng = np.random.default_rng(0)
    out = cnnkit.conv2d(rng.random((1, 1, 16, 16)), rng.random((8, 1, 5, 5)), np.zeros(8))
    assert out.shape == (1, 8, 12, 12)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"N{s[0]}C{s[1]}F{s[2]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", GRID)
def test_fast_matches_naive(rng, shape, dtype, stride, padding, dilation):
    x, w, b = random_conv_case(rng, dtype, *shape)
    out = cnnkit.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    expected = conv2d_naive(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert out.dtype == dtype
    pads = (padding, padding) if isinstance(padding, str) else pair(padding)
    sizes = [
        cnnkit.conv_output_size(n, k, stride=s, padding=p, dilation=d)
        for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], pair(stride), pads, pair(dilation))
    ]
    assert out.shape == (x.shape[0], w.shape[0], *sizes)
    assert_close(out, expected, what=f"stride={stride}, padding={padding!r}, dilation={dilation}")


@pytest.mark.parametrize("stride", [1, 2, 3, (2, 3)])
def test_same_padding_gives_ceil_of_input_over_stride(rng, stride):
    x, w, _ = random_conv_case(rng, np.float64, 1, 2, 3, (10, 9), (4, 3))
    out = cnnkit.conv2d(x, w, stride=stride, padding="same")
    sh, sw = pair(stride)
    assert out.shape[2:] == (-(-10 // sh), -(-9 // sw))


def test_full_padding_grows_the_output(rng):
    x, w, _ = random_conv_case(rng, np.float64, 1, 2, 3, (6, 5), (3, 2))
    assert cnnkit.conv2d(x, w, padding="full").shape == (1, 3, 8, 6)


def test_output_size_formula(rng):
    x, w, _ = random_conv_case(rng, np.float64, 2, 1, 1, (11, 13), (3, 4))
    out = cnnkit.conv2d(x, w, stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    expected = (
        cnnkit.conv_output_size(11, 3, stride=2, padding=1, dilation=2),
        cnnkit.conv_output_size(13, 4, stride=3, padding=2, dilation=1),
    )
    assert out.shape == (2, 1, *expected) == (2, 1, 5, 5)


def test_one_by_one_conv_is_a_dense_layer_at_every_pixel(rng):
    x = rng.standard_normal((3, 5, 4, 6))
    dense_w = rng.standard_normal((5, 7))  # (C, units), Keras layout
    dense_b = rng.standard_normal(7)
    out = cnnkit.conv2d(x, dense_w.T[:, :, None, None], dense_b)
    per_pixel = cnnkit.nchw_to_nhwc(x) @ dense_w + dense_b  # (N, H, W, units)
    assert_close(out, cnnkit.nhwc_to_nchw(per_pixel))


def test_translation_equivariance(rng):
    x = np.zeros((1, 1, 12, 12))
    x[0, 0, 3:6, 2:5] = rng.standard_normal((3, 3))
    w = rng.standard_normal((2, 1, 3, 3))
    shifted = np.roll(x, (2, 3), axis=(2, 3))
    assert_close(cnnkit.conv2d(shifted, w), np.roll(cnnkit.conv2d(x, w), (2, 3), axis=(2, 3)))


def test_stride_subsamples_the_stride_1_output(rng):
    x, w, b = random_conv_case(rng, np.float64, 2, 3, 4, (11, 10), (3, 3))
    full = cnnkit.conv2d(x, w, b, padding=1, dilation=2)
    assert_close(cnnkit.conv2d(x, w, b, stride=(2, 3), padding=1, dilation=2), full[:, :, ::2, ::3])


# ----------------------------------------------------------------------------
# Contract: dtypes, no aliasing, inputs untouched, array-likes
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_dtype, w_dtype, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.int64, np.int64, np.float64),
        (np.int32, np.float32, np.float64),
        (np.float32, np.float64, np.float64),
        (np.uint8, np.float32, np.float64),
    ],
)
def test_output_dtype(rng, x_dtype, w_dtype, expected):
    x = rng.integers(-3, 4, (2, 3, 6, 6)).astype(x_dtype)
    w = rng.integers(-3, 4, (4, 3, 3, 3)).astype(w_dtype)
    out = cnnkit.conv2d(x, w)
    assert out.dtype == expected
    assert_close(out, conv2d_naive(x.astype(np.float64), w.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES + [(2, 4, 3, (5, 5), (1, 1))], ids=lambda s: f"N{s[0]}C{s[1]}K{s[4][0]}")
@pytest.mark.parametrize("padding", [0, 1])
def test_inputs_untouched_and_output_new(rng, shape, padding):
    x, w, b = random_conv_case(rng, np.float32, *shape)
    copies = [a.copy() for a in (x, w, b)]
    out = cnnkit.conv2d(x, w, b, padding=padding)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)
        assert not np.shares_memory(out, a)
    assert out.flags.c_contiguous and out.flags.writeable


def test_non_contiguous_inputs(rng):
    x = rng.standard_normal((5, 7, 3, 4)).transpose(3, 2, 1, 0)[:, :, ::-1]  # (4, 3, 7, 5)
    w = np.asfortranarray(rng.standard_normal((6, 3, 3, 2)))
    assert_close(cnnkit.conv2d(x, w, stride=2, padding=1), conv2d_naive(x, w, stride=2, padding=1))


def test_accepts_nested_lists():
    out = cnnkit.conv2d(I_2D[None].tolist(), W_2D.tolist(), B_2D.tolist())
    assert_close(out[0], O_2D, rtol=1e-12)


def test_empty_batch(rng):
    _, w, b = random_conv_case(rng, np.float32, 1, 3, 4, (6, 6), (3, 3))
    assert cnnkit.conv2d(np.zeros((0, 3, 6, 6), np.float32), w, b).shape == (0, 4, 4, 4)


# ----------------------------------------------------------------------------
# Against TensorFlow (which does not combine stride > 1 with dilation > 1)
# ----------------------------------------------------------------------------

@against_tensorflow(TF_GRID)
def test_matches_tensorflow(tf, rng, dtype, stride, padding, dilation):
    x, w, b = random_conv_case(rng, dtype, 2, 3, 4, (9, 8), (3, 2))
    out = cnnkit.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert_close(out, tf_conv2d(tf, x, w, b, stride, padding, dilation), what=f"{stride}, {padding!r}, {dilation}")


@pytest.mark.tf
@pytest.mark.parametrize("khw, stride", [((2, 2), 1), ((4, 3), 2), ((2, 4), 3), ((5, 5), (2, 1))])
def test_same_split_matches_tensorflow(tf, rng, khw, stride):
    # Even kernels and strides make TF put the odd padding row/column at the
    # bottom/right; "same" must do the same.
    x, w, b = random_conv_case(rng, np.float64, 2, 2, 3, (10, 11), khw)
    out = cnnkit.conv2d(x, w, b, stride=stride, padding="same")
    assert_close(out, tf_conv2d(tf, x, w, b, stride, "same", 1))


@pytest.mark.tf
def test_worked_example_matches_keras_conv2d(tf):
    layer = tf.keras.layers.Conv2D(2, 2, dtype="float64")
    layer.build((None, 4, 4, 2))
    layer.set_weights([cnnkit.oihw_to_hwio(W_2D.astype(float)), B_2D])
    keras_out = layer(cnnkit.nchw_to_nhwc(I_2D[None].astype(float))).numpy()
    assert_close(cnnkit.nhwc_to_nchw(keras_out)[0], O_2D, rtol=1e-12)
