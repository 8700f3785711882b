"""Assignment 02-convolution: the hidden tests reward the solution and catch the usual mistakes."""

import numpy as np
import pytest

from autograder.grading import grade_part

from .families import gradient_accumulated_like, keyword_default, operand_casts


ASSIGNMENT = "02-convolution"


# --- the usual wrong answers ------------------------------------------------

def size_ceil(n, kernel, stride=1, padding=0, dilation=1):
    return -(-(n + 2 * padding - dilation * (kernel - 1) - 1) // stride) + 1


def size_without_plus_one(n, kernel, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride


def size_padding_one_side(n, kernel, stride=1, padding=0, dilation=1):
    return (n + padding - dilation * (kernel - 1) - 1) // stride + 1


def size_ignores_dilation(n, kernel, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - kernel) // stride + 1


def size_ignores_stride(n, kernel, stride=1, padding=0, dilation=1):
    return n + 2 * padding - dilation * (kernel - 1)


def size_never_raises(n, kernel, stride=1, padding=0, dilation=1):
    return max((n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1, 0)


def correlate_flipped(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    w = np.asarray(w, float)[::-1]
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_one_short(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w))])


def correlate_pad_left_only(x, w, padding=0):
    x = np.pad(np.asarray(x, float), (padding, 0))
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_ignores_padding(x, w, padding=0):
    x = np.asarray(x, float)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_in_place(x, w, padding=0):
    result = convolve_not_flipped(x, w, padding)  # the right numbers...
    x[:] = 0  # ...but the caller's array is wiped
    return result


def convolve_not_flipped(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


# --- parts 4-8: the 2-D layer -------------------------------------------------
# One loop implementation with a switch per mistake; each wrong answer below is
# the right one with exactly one thing wrong.

def _conv2d(x, w, b, stride=1, padding=0, dilation=1, *, flip=False, bias="per filter", size_off=0,
            use_stride=True, use_dilation=True, pad="both", swap_fc=False):
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    if swap_fc:  # the kernel read as (C, F, KH, KW)
        w = w.transpose(1, 0, 2, 3)
    if flip:  # true convolution where correlation is asked
        w = w[:, :, ::-1, ::-1]
    pads = {"both": (padding, padding), "one side": (padding, 0), "none": (0, 0)}[pad]
    x = np.pad(x, ((0, 0), (0, 0), pads, pads))
    s = stride if use_stride else 1
    d = dilation if use_dilation else 1
    f, c, kh, kw = w.shape
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1
    ho = (x.shape[2] - span_h) // s + 1 + size_off
    wo = (x.shape[3] - span_w) // s + 1 + size_off
    out = np.zeros((x.shape[0], f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * s:i * s + span_h:d, j * s:j * s + span_w:d]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    if bias == "per filter":
        out += np.asarray(b, float)[None, :, None, None]
    elif bias == "per input channel":  # b[c] added for every input channel c the sum runs over
        out += sum(np.asarray(b, float)[ch] for ch in range(c))
    return out


def zero_pad_all_axes(x, padding):
    return np.pad(np.asarray(x, float), padding)


def zero_pad_one_side(x, padding):
    return np.pad(np.asarray(x, float), ((0, 0), (0, 0), (padding, 0), (padding, 0)))


def _conv2d_with(name, **mistake):
    """The answer ``name``: ``_conv2d`` with one ``mistake`` switched on, under the student's signature."""

    def answer(x, w, b, stride=1, padding=0, dilation=1):
        return _conv2d(x, w, b, stride, padding, dilation, **mistake)

    answer.__name__ = answer.__qualname__ = name
    return answer


conv2d_flipped = _conv2d_with("conv2d_flipped", flip=True)
conv2d_without_bias = _conv2d_with("conv2d_without_bias", bias=None)
conv2d_bias_per_input_channel = _conv2d_with("conv2d_bias_per_input_channel", bias="per input channel")
conv2d_one_short = _conv2d_with("conv2d_one_short", size_off=-1)
conv2d_ignores_stride = _conv2d_with("conv2d_ignores_stride", use_stride=False)
conv2d_ignores_dilation = _conv2d_with("conv2d_ignores_dilation", use_dilation=False)
conv2d_pads_one_side = _conv2d_with("conv2d_pads_one_side", pad="one side")
conv2d_swaps_f_and_c = _conv2d_with("conv2d_swaps_f_and_c", swap_fc=True)


def _backward(dout, x, w, stride=1, padding=0, dilation=1, *, flip=False, batch_db=True, use_stride=True):
    """The scatter loop of the solution, with a switch per mistake."""
    x, w, dout = np.asarray(x, float), np.asarray(w, float), np.asarray(dout, float)
    s = stride if use_stride else 1
    wk = w[:, :, ::-1, ::-1] if flip else w
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    kh, kw = w.shape[2:]
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * s, i * s + dilation * (kh - 1) + 1, dilation)
            cols = slice(j * s, j * s + dilation * (kw - 1) + 1, dilation)
            g = dout[:, :, i, j]
            dx_pad[:, :, rows, cols] += np.tensordot(g, wk, axes=(1, 0))
            dw += np.tensordot(g, x_pad[:, :, rows, cols], axes=(0, 0))
    db = dout.sum(axis=(0, 2, 3)) if batch_db else dout[0].sum(axis=(1, 2))
    h, width = x.shape[2:]
    return dx_pad[:, :, padding:padding + h, padding:padding + width], dw, db


def backward_dx_valid_correlation(dout, x, w, stride=1, padding=0, dilation=1):
    """dx as a *valid* correlation of dout with the flipped kernel: too small (a full one is needed)."""
    _, dw, db = _backward(dout, x, w, stride, padding, dilation)
    flipped = np.asarray(w, float)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, KH, KW)
    dx = _conv2d(dout, flipped, np.zeros(flipped.shape[0]), dilation=dilation)
    return dx, dw, db


def backward_dx_flipped_kernel(dout, x, w, stride=1, padding=0, dilation=1):
    return _backward(dout, x, w, stride, padding, dilation, flip=True)


def backward_db_first_image_only(dout, x, w, stride=1, padding=0, dilation=1):
    return _backward(dout, x, w, stride, padding, dilation, batch_db=False)


def backward_ignores_stride(dout, x, w, stride=1, padding=0, dilation=1):
    return _backward(dout, x, w, stride, padding, dilation, use_stride=False)


def backward_dw_not_summed_over_batch(dout, x, w, stride=1, padding=0, dilation=1):
    dx, _, db = _backward(dout, x, w, stride, padding, dilation)
    _, dw, _ = _backward(np.asarray(dout)[:1], np.asarray(x)[:1], w, stride, padding, dilation)
    return dx, dw, db


def _transpose(y, w, stride=1, padding=0, *, flip=False, crop="both", use_stride=True, sum_f=True):
    y, w = np.asarray(y, float), np.asarray(w, float)
    if flip:
        w = w[:, :, ::-1, ::-1]
    s = stride if use_stride else 1
    n, _, h, width = y.shape
    _, c, kh, kw = w.shape
    full_h, full_w = (h - 1) * s + kh, (width - 1) * s + kw
    out = np.zeros((n, c, full_h, full_w))
    for i in range(h):
        for j in range(width):
            block = np.tensordot(y[:, :, i, j], w, axes=(1, 0)) if sum_f else y[:, :1, i, j, None, None] * w[0]
            out[:, :, i * s:i * s + kh, j * s:j * s + kw] += block
    if crop == "both":
        return out[:, :, padding:full_h - padding, padding:full_w - padding]
    if crop == "one side":
        return out[:, :, 2 * padding:, 2 * padding:]
    return out


def transpose_flipped(y, w, stride=1, padding=0):
    return _transpose(y, w, stride, padding, flip=True)


def transpose_keeps_padding(y, w, stride=1, padding=0):
    return _transpose(y, w, stride, padding, crop="none")


def transpose_crops_one_side(y, w, stride=1, padding=0):
    return _transpose(y, w, stride, padding, crop="one side")


def transpose_ignores_stride(y, w, stride=1, padding=0):
    return _transpose(y, w, stride, padding, use_stride=False)


def transpose_first_filter_only(y, w, stride=1, padding=0):
    return _transpose(y, w, stride, padding, sum_f=False)


def transpose_as_flipped_correlation_without_zeros(y, w, stride=1, padding=0):
    """A 'full' correlation with the flipped kernel, forgetting the zeros a stride inserts between cells."""
    flipped = np.asarray(w, float)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    kh = flipped.shape[2]
    out = _conv2d(y, flipped, np.zeros(flipped.shape[0]), padding=kh - 1)
    return out[:, :, padding:out.shape[2] - padding, padding:out.shape[3] - padding]


def dense_to_conv_no_transpose(w, b, input_shape):
    w = np.asarray(w, float)
    return w.reshape(w.shape[1], *input_shape), np.asarray(b, float)


def dense_to_conv_keras_order(w, b, input_shape):
    """Rows read as flattened (H, W, C), Keras' order, instead of (C, H, W)."""
    c, h, width = input_shape
    w = np.asarray(w, float)
    return w.T.reshape(w.shape[1], h, width, c).transpose(0, 3, 1, 2), np.asarray(b, float)


def dense_to_conv_drops_bias(w, b, input_shape):
    w = np.asarray(w, float)
    return w.T.reshape(w.shape[1], *input_shape), np.zeros(w.shape[1])


def size_truncates(n, kernel, stride=1, padding=0, dilation=1):
    """int() of a true division rounds -1/3 towards 0: the guard on the result then misses a kernel too long."""
    out = int((n + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
    if out <= 0:
        raise ValueError("kernel does not fit")
    return out


def size_refuses_an_exact_fit(n, kernel, stride=1, padding=0, dilation=1):
    if dilation * (kernel - 1) + 1 >= n + 2 * padding:
        raise ValueError("kernel does not fit")
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def size_with_np_floor(n, kernel, stride=1, padding=0, dilation=1):
    """Correct: np.floor of the true division gives 2.0, a whole number."""
    if dilation * (kernel - 1) + 1 > n + 2 * padding:
        raise ValueError(f"kernel does not fit: n={n}, kernel={kernel}")
    return np.floor((n + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def conv2d_in_the_input_dtype(x, w, b, stride=1, padding=0, dilation=1):
    """The output allocated like x: an 8-bit image wraps around."""
    x = np.asarray(x)
    return _conv2d(x, w, b, stride, padding, dilation).astype(x.dtype)


def conv2d_in_float32(x, w, b, stride=1, padding=0, dilation=1):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    return _conv2d(f32(x), f32(w), f32(b), stride, padding, dilation).astype(np.float32)


def conv2d_with_einsum_windows(x, w, b, stride=1, padding=0, dilation=1):
    """Correct: all windows at once with sliding_window_view and einsum."""
    x = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape[2:]
    span = (dilation * (kh - 1) + 1, dilation * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))[:, :, ::stride, ::stride, ::dilation, ::dilation]
    return np.einsum("nchwij,fcij->nfhw", windows, w) + np.asarray(b, dtype=np.float64)[None, :, None, None]


def dense_to_conv_hw_swapped(w, b, input_shape):
    c, h, width = input_shape
    w = np.asarray(w, float)
    return w.T.reshape(w.shape[1], c, width, h).transpose(0, 1, 3, 2), np.asarray(b, float)


def dense_to_conv_channels_last(w, b, input_shape):
    """Rows read as (C, W, H)... no: the map reshaped as (H, C, W)."""
    c, h, width = input_shape
    w = np.asarray(w, float)
    return w.T.reshape(w.shape[1], h, c, width).transpose(0, 2, 1, 3), np.asarray(b, float)


def dense_to_conv_from_lists(w, b, input_shape):
    """Correct: one filter per column, built in a loop."""
    w = np.asarray(w, dtype=float)
    return np.stack([w[:, k].reshape(tuple(input_shape)) for k in range(w.shape[1])]), np.array(b, dtype=float)


def conv1x1_transposed(x, w, b):
    """The (F, C) matrix read as (C, F)."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    return np.einsum("cf,nchw->nfhw", w, x) + np.asarray(b, float)[None, :, None, None]


def conv1x1_without_bias(x, w, b):
    return np.einsum("fc,nchw->nfhw", np.asarray(w, float), np.asarray(x, float))


def conv1x1_bias_over_columns(x, w, b):
    """``+ b`` broadcast against the last axis (W) instead of the channels."""
    return conv1x1_without_bias(x, w, b) + np.asarray(b, float)


def conv1x1_mixes_rows(x, w, b):
    """The matrix applied over the rows (H) instead of the channels."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    return np.einsum("fh,nchw->ncfw", w, x) + np.asarray(b, float)[None, :, None, None]


def conv1x1_in_the_input_dtype(x, w, b):
    x = np.asarray(x)
    return conv1x1_by_matmul(x, w, b).astype(x.dtype)


def conv1x1_in_float32(x, w, b):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    return conv1x1_by_matmul(f32(x), f32(w), f32(b)).astype(np.float32)


def conv1x1_by_matmul(x, w, b):
    """Correct: every pixel's channel vector times the matrix, by a reshape and @."""
    x = np.asarray(x, dtype=np.float64) if np.asarray(x).dtype.kind != "f" else np.asarray(x)
    n, c, h, width = x.shape
    w = np.asarray(w)
    out = (w @ x.reshape(n, c, h * width)).reshape(n, w.shape[0], h, width)
    return out + np.asarray(b)[None, :, None, None]


def conv1x1_as_a_pixel_loop(x, w, b):
    """Correct: a loop over the pixels, channels last."""
    x = np.asarray(x, dtype=float)
    out = np.empty((x.shape[0], len(w), *x.shape[2:]))
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            out[:, :, i, j] = x[:, :, i, j] @ np.asarray(w, dtype=float).T + np.asarray(b, dtype=float)
    return out


WRONG = {
    "conv_output_size": [size_ceil, size_without_plus_one, size_padding_one_side, size_ignores_dilation,
                         size_ignores_stride, size_never_raises, size_truncates, size_refuses_an_exact_fit],
    "correlate1d": [correlate_flipped, correlate_one_short, correlate_pad_left_only, correlate_ignores_padding,
                    correlate_in_place],
    "convolve1d": [convolve_not_flipped, correlate_one_short],
    "zero_pad": [zero_pad_all_axes, zero_pad_one_side],
    "conv2d": [conv2d_flipped, conv2d_without_bias, conv2d_bias_per_input_channel, conv2d_one_short,
               conv2d_ignores_stride, conv2d_ignores_dilation, conv2d_pads_one_side, conv2d_swaps_f_and_c,
               conv2d_in_the_input_dtype, conv2d_in_float32],
    "conv2d_backward": [backward_dx_valid_correlation, backward_dx_flipped_kernel, backward_db_first_image_only,
                        backward_ignores_stride, backward_dw_not_summed_over_batch],
    "conv_transpose2d": [transpose_flipped, transpose_keeps_padding, transpose_crops_one_side,
                         transpose_ignores_stride, transpose_first_filter_only,
                         transpose_as_flipped_correlation_without_zeros],
    "dense_to_conv": [dense_to_conv_no_transpose, dense_to_conv_keras_order, dense_to_conv_drops_bias,
                      dense_to_conv_hw_swapped, dense_to_conv_channels_last],
    "conv1x1": [conv1x1_transposed, conv1x1_without_bias, conv1x1_bias_over_columns, conv1x1_mixes_rows,
                conv1x1_in_the_input_dtype, conv1x1_in_float32],
}
RIGHT = {
    "conv_output_size": [size_with_np_floor],
    "conv2d": [conv2d_with_einsum_windows],
    "dense_to_conv": [dense_to_conv_from_lists],
    "conv1x1": [conv1x1_by_matmul, conv1x1_as_a_pixel_loop],
}

# Families, generated for every operand: each float argument of a part that promises float64 cast to float32;
# the backward pass's dw accumulated in np.zeros_like(w), which an integer kernel makes an integer array.
FLOAT_OPERANDS = {"correlate1d": ("x", "w"), "convolve1d": ("x", "w"), "conv2d": ("x", "w", "b"),
                  "conv2d_backward": ("dout", "x", "w"), "conv_transpose2d": ("y", "w"), "conv1x1": ("x", "w", "b")}
for _part, _names in FLOAT_OPERANDS.items():
    WRONG[_part] = WRONG[_part] + operand_casts(ASSIGNMENT, _part, _names)
WRONG["conv2d_backward"].append(gradient_accumulated_like(ASSIGNMENT, "conv2d_backward", 1, 2))
# Settings left out must take the signature's defaults (stride 1, padding 0, dilation 1).
for _part, _key, _default in [("conv_output_size", "padding", 1), ("conv_output_size", "dilation", 2),
                              ("conv2d", "padding", 1), ("conv2d", "dilation", 2), ("conv2d_backward", "stride", 2),
                              ("conv2d_backward", "padding", 1), ("conv_transpose2d", "padding", 1)]:
    WRONG[_part] = WRONG[_part] + [keyword_default(ASSIGNMENT, _part, _key, _default)]


def test_feedback_names_the_returned_value():
    text = grade_part(f"{ASSIGNMENT}/conv2d_backward", backward_db_first_image_only).text()
    assert "`db`" in text and "item 2" not in text, text


def test_feedback_names_the_case_but_not_the_expected_values():
    from autograder.grading import cases_for

    text = grade_part(f"{ASSIGNMENT}/correlate1d", correlate_flipped).text()
    assert "x of length" in text and "case " in text
    for case in cases_for(f"{ASSIGNMENT}/correlate1d"):
        for shown in (str(case.expected), str(list(case.expected)), np.array2string(case.expected)):
            assert shown not in text


def test_hidden_cases_change_with_the_seed():
    from autograder.grading import cases_for

    first = cases_for(f"{ASSIGNMENT}/correlate1d", seed=1)
    second = cases_for(f"{ASSIGNMENT}/correlate1d", seed=2)
    assert not np.array_equal(first[-1].args[0], second[-1].args[0])


# --- the references of the 2-D parts hold together ----------------------------

def test_adjoint_cases_agree_with_cnnkit_transpose():
    """The adjoint cases' reference (built from conv2d alone) equals cnnkit.conv_transpose2d."""
    import cnnkit
    from autograder.grading import cases_for

    adjoint = [case for case in cases_for(f"{ASSIGNMENT}/conv_transpose2d") if "adjoint" in case.label]
    assert len(adjoint) >= 3
    for case in adjoint:
        y, w = case.args
        np.testing.assert_allclose(case.expected, cnnkit.conv_transpose2d(y, w, **case.kwargs), atol=1e-12)


def test_solution_transpose_is_the_adjoint_of_the_solution_conv(solution, rng):
    for stride, padding in [(1, 0), (2, 1), (3, 2)]:
        w = rng.standard_normal((3, 2, 3, 2))
        x = rng.standard_normal((2, 2, 3 * stride + 3 - 2 * padding, 4 * stride + 2 - 2 * padding))
        out = solution["conv2d"](x, w, np.zeros(3), stride=stride, padding=padding)
        y = rng.standard_normal(out.shape)
        back = solution["conv_transpose2d"](y, w, stride=stride, padding=padding)
        np.testing.assert_allclose(np.sum(out * y), np.sum(x * back))


def test_every_conv2d_mistake_fails_several_cases():
    """Not just one unlucky case: each logic mistake fails at least two hidden cases (the dtype and precision
    mistakes have their own fixed case each)."""
    for part in ("conv2d", "conv2d_backward", "conv_transpose2d"):
        for wrong in [f for f in WRONG[part] if f not in (conv2d_in_the_input_dtype, conv2d_in_float32)]:
            report = grade_part(f"{ASSIGNMENT}/{part}", wrong)
            assert len(report.failures) >= 2, f"{part}/{wrong.__name__}:\n{report.text()}"


def test_the_worked_example_comes_first_and_holds_the_erratum():
    from autograder.grading import cases_for

    first = cases_for(f"{ASSIGNMENT}/conv2d")[0]
    assert "worked example" in first.label
    assert first.expected[0, 0, 0, 0] == pytest.approx(3.1)  # the slides' -3.1 is a typo


# --- parts 10-11: the depthwise convolution and a separable layer's cost ------------------
# One loop implementation with a switch per mistake, as for conv2d.

def _depthwise(x, w, b=None, stride=1, padding=0, *, mix=False, first_kernel_only=False, order="c*M+m",
               bias="per output channel", flip=False, size_off=0):
    x = np.pad(np.asarray(x, float), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = np.asarray(w, float)
    if first_kernel_only:  # the multiplier ignored: one kernel per channel
        w = w[:, :1]
    if flip:
        w = w[:, :, ::-1, ::-1]
    n, c = x.shape[:2]
    _, m, kh, kw = w.shape
    ho = (x.shape[2] - kh) // stride + 1 + size_off
    wo = (x.shape[3] - kw) // stride + 1 + size_off
    out = np.zeros((n, c, m, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            if mix:  # channels mixed: every kernel summed over every input channel, a full convolution
                out[:, :, :, i, j] = np.einsum("nduv,cmuv->ncm", window, w)
            else:
                out[:, :, :, i, j] = np.einsum("ncuv,cmuv->ncm", window, w)
    if order == "m*C+c":
        out = out.transpose(0, 2, 1, 3, 4)
    out = out.reshape(n, c * m, ho, wo)
    if b is not None:
        b = np.asarray(b, float)
        if bias == "per output channel":
            out += b[None, :, None, None]
        elif bias == "per input channel":  # b[c] on all M outputs of channel c
            out += np.repeat(b[:c], m)[None, :, None, None]
    return out


def depthwise_channels_mixed(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, padding, mix=True)


def depthwise_multiplier_ignored(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, None if b is None else np.asarray(b)[::np.asarray(w).shape[1]], stride, padding,
                      first_kernel_only=True)


def depthwise_order_m_first(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, padding, order="m*C+c")


def depthwise_bias_per_input_channel(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, padding, bias="per input channel")


def depthwise_flipped(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, padding, flip=True)


def depthwise_one_short(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, padding, size_off=-1)


def depthwise_ignores_stride(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, 1, padding)


def depthwise_ignores_padding(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, b, stride, 0)


def depthwise_without_bias(x, w, b=None, stride=1, padding=0):
    return _depthwise(x, w, None, stride, padding)


def depthwise_in_the_input_dtype(x, w, b=None, stride=1, padding=0):
    x = np.asarray(x)
    return _depthwise(x, w, b, stride, padding).astype(x.dtype)


def depthwise_bias_in_float32(x, w, b=None, stride=1, padding=0):
    """The bias, given by position or by name, cast to float32 (None left alone)."""
    if b is not None:
        b = np.asarray(b).astype(np.float32)
    return _depthwise(x, w, b, stride, padding)


def depthwise_with_loops(x, w, b=None, stride=1, padding=0):
    """Correct: six plain loops over the output and the kernel."""
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = np.asarray(w, dtype=float)
    n, c = x.shape[:2]
    _, m, kh, kw = w.shape
    ho, wo = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((n, c * m, ho, wo))
    for ch in range(c):
        for k in range(m):
            for i in range(ho):
                for j in range(wo):
                    for u in range(kh):
                        for v in range(kw):
                            out[:, ch * m + k, i, j] += x[:, ch, i * stride + u, j * stride + v] * w[ch, k, u, v]
            if b is not None:
                out[:, ch * m + k] += float(np.asarray(b)[ch * m + k])
    return out


def depthwise_with_sliding_windows(x, w, b=None, stride=1, padding=0):
    """Correct: every window at once with sliding_window_view, then one einsum."""
    x = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    w = np.asarray(w, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwuv,cmuv->ncmhw", windows, w)
    out = out.reshape(out.shape[0], -1, *out.shape[3:])
    return out if b is None else out + np.asarray(b, dtype=np.float64)[None, :, None, None]


def depthwise_per_channel_correlation(x, w, b=None, stride=1, padding=0):
    """Correct: a 2-D cross-correlation of one channel with one kernel, called for every (c, m) pair."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    b = np.zeros(w.shape[0] * w.shape[1]) if b is None else np.asarray(b, dtype=float)
    maps = []
    for ch in range(w.shape[0]):
        for k in range(w.shape[1]):
            single = _conv2d(x[:, ch:ch + 1], w[ch, k][None, None], b[ch * w.shape[1] + k:][:1], stride, padding)
            maps.append(single[:, 0])
    return np.stack(maps, axis=1)


def _separable(h, w, c_in, c_out, k, stride=1, padding=0, *, pointwise=True, full_depthwise=False,
               biases="pointwise", size_off=0, output_size=True):
    ho = (h + 2 * padding - k) // stride + 1 + size_off if output_size else h
    wo = (w + 2 * padding - k) // stride + 1 + size_off if output_size else w
    depthwise_weights = c_in * c_out * k * k if full_depthwise else c_in * k * k
    params = depthwise_weights + (c_in * c_out if pointwise else 0)
    params += {"pointwise": c_out, "both": c_in + c_out, "none": 0}[biases]
    macs = ho * wo * depthwise_weights + (ho * wo * c_in * c_out if pointwise else 0)
    return params, macs


def separable_pointwise_forgotten(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, pointwise=False)


def separable_depthwise_as_full_conv(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, full_depthwise=True)


def separable_bias_in_both_steps(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, biases="both")


def separable_no_bias(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, biases="none")


def separable_output_one_short(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, size_off=-1)


def separable_on_the_input_size(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, stride, padding, output_size=False)


def separable_ignores_stride(h, w, c_in, c_out, k, stride=1, padding=0):
    return _separable(h, w, c_in, c_out, k, 1, padding)


def separable_as_a_ratio_of_the_full_conv(h, w, c_in, c_out, k, stride=1, padding=0):
    """Correct: the full convolution's cost times 1/c_out + 1/k^2, in exact fractions."""
    from fractions import Fraction

    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    full_macs = ho * wo * c_out * c_in * k * k
    macs = full_macs * (Fraction(1, c_out) + Fraction(1, k * k))
    return c_in * (k * k + c_out) + c_out, int(macs)


def separable_with_floats(h, w, c_in, c_out, k, stride=1, padding=0):
    """Correct: np.floor of a true division gives whole floats."""
    ho = np.floor((h + 2 * padding - k) / stride) + 1
    wo = np.floor((w + 2 * padding - k) / stride) + 1
    return float(c_in * k**2 + (c_in + 1) * c_out), ho * wo * c_in * (k**2 + c_out)


WRONG["depthwise_conv2d"] = [depthwise_channels_mixed, depthwise_multiplier_ignored, depthwise_order_m_first,
                             depthwise_bias_per_input_channel, depthwise_flipped, depthwise_one_short,
                             depthwise_ignores_stride, depthwise_ignores_padding, depthwise_without_bias,
                             depthwise_in_the_input_dtype,
                             *operand_casts(ASSIGNMENT, "depthwise_conv2d", ("x", "w")), depthwise_bias_in_float32,
                             keyword_default(ASSIGNMENT, "depthwise_conv2d", "padding", 1),
                             keyword_default(ASSIGNMENT, "depthwise_conv2d", "stride", 2)]
WRONG["separable_cost"] = [separable_pointwise_forgotten, separable_depthwise_as_full_conv,
                           separable_bias_in_both_steps, separable_no_bias, separable_output_one_short,
                           separable_on_the_input_size, separable_ignores_stride,
                           keyword_default(ASSIGNMENT, "separable_cost", "padding", 1)]
RIGHT["depthwise_conv2d"] = [depthwise_with_loops, depthwise_with_sliding_windows, depthwise_per_channel_correlation]
RIGHT["separable_cost"] = [separable_as_a_ratio_of_the_full_conv, separable_with_floats]


def test_the_depthwise_reference_is_a_block_diagonal_conv2d(rng):
    """The part's reference (cnnkit.depthwise_conv2d) equals conv2d with the block-diagonal kernel."""
    import cnnkit

    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 2, 3, 2))
    full = np.zeros((6, 3, 3, 2))
    for ch in range(3):
        full[ch * 2:ch * 2 + 2, ch] = w[ch]
    np.testing.assert_allclose(cnnkit.depthwise_conv2d(x, w, stride=2, padding=1),
                               cnnkit.conv2d(x, full, stride=2, padding=1), atol=1e-12)


def test_the_separable_reference_is_the_formula():
    from autograder.grading.parts.convolution import separable_reference

    assert separable_reference(32, 32, 16, 32, 3, padding=1) == (16 * 9 + 16 * 32 + 32, 32 * 32 * 16 * (9 + 32))
    assert separable_reference(28, 20, 8, 16, 3, stride=2) == (8 * 9 + 8 * 16 + 16, 13 * 9 * 8 * (9 + 16))
