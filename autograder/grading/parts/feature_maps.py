"""Hidden cases of assignment 03-feature-maps.

Parts: ``correlate2d`` (one image, one kernel, "valid" or "same"),
``feature_maps`` (a convolutional layer's forward pass on a multi-channel
image: a bank of ``(F, C, KH, KW)`` kernels, a bias per filter, then ReLU)
and ``vertical_line`` (the student's 3x3 filter for thin vertical lines,
graded by how it responds to held-out images).

The first case of each part is the worked example that the notebook's
visible test also checks. The cases make the usual mistakes fail: a flipped
kernel (true convolution), "same" padding split the wrong way for an even
kernel, an output one row short; for the layer, channels not summed, a
bias added per channel or after ReLU, ReLU forgotten; for the filter, an
edge filter (which also fires on steps: the book's Sobel filter is one), a
filter that is not zero-sum (it misses dark lines on a bright background or
fires on bright steps), a lopsided one (it fires on strong steps), and a
horizontal-line filter. The filter's cases are fixed batches (both
polarities, three contrasts, flat images of every brightness), so the
points a mistake loses do not depend on the seed; random batches add to them.
"""

from __future__ import annotations

import numpy as np

from cnnkit import conv2d

from ..precision import fine_case
from ..registry import Case, assignment

ASSIGNMENT = "03-feature-maps"
register = assignment(ASSIGNMENT)

# The worked example of chapter 3 and of the notebook's visible tests: a
# 6x6 image, dark on the left and bright on the right, and the Sobel filter.
STEP_IMAGE = np.repeat(np.array([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]]), 6, axis=0)
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T.copy()
# How strongly the normalised filter (sum of |weights| = 1) must respond somewhere in an image to
# "see" a thin vertical line there. A zero-sum line filter (rows proportional to [-1, 2, -1])
# answers a 1-pixel line of contrast c with c/2 and a step or a 2-pixel bar with c/4; the test
# images have c in [0.5, 0.8], so lines give at least 0.25 and steps at most 0.2; noise of 0.005
# moves a response by about 0.01 at most.
LINE_THRESHOLD = 0.225
CONTRASTS = (0.5, 0.65, 0.8)
NOISE = 0.005


def reference_correlate2d(image, kernel, padding="valid"):
    """cnnkit's answer for one ``(H, W)`` image and one ``(KH, KW)`` kernel."""
    return conv2d(np.asarray(image, float)[None, None], np.asarray(kernel, float)[None, None], padding=padding)[0, 0]


def reference_feature_maps(image, kernels, biases, padding="valid"):
    """``ReLU(sum_c correlate(image[c], kernels[f, c]) + biases[f])`` for every filter: ``(F, Ho, Wo)``."""
    maps = conv2d(np.asarray(image, float)[None], np.asarray(kernels, float), np.asarray(biases, float),
                  padding=padding)[0]
    return np.maximum(maps, 0.0)


def reference_sees_vertical_line(images, kernel):
    """What the notebook's given ``sees_vertical_line`` computes for ``kernel`` (used by the tests)."""
    k = np.asarray(kernel, dtype=float)
    scale = np.abs(k).sum()
    if scale == 0:
        return np.zeros(len(images), dtype=bool)
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(images, float), (3, 3), axis=(1, 2))
    response = np.einsum("nhwij,ij->nhw", windows, k / scale)
    return np.abs(response).max(axis=(1, 2)) > LINE_THRESHOLD


@register("correlate2d", points=3, description="2-D cross-correlation of one image, valid or same padding")
def _correlate2d_cases(rng):
    cases = [
        Case("6x6 step image, 3x3 Sobel filter, padding='valid' (the worked example)", (STEP_IMAGE, SOBEL_X),
             reference_correlate2d(STEP_IMAGE, SOBEL_X)),
        Case("6x6 step image, 3x3 Sobel filter, padding='same' (the worked example)", (STEP_IMAGE, SOBEL_X),
             reference_correlate2d(STEP_IMAGE, SOBEL_X, "same"), kwargs=dict(padding="same")),
    ]
    # Non-square images and kernels, so that swapped axes show; an asymmetric
    # kernel, so that a flipped one shows; even kernels with "same", so that
    # the side that gets the extra row and column shows.
    for (h, w), (kh, kw), padding in [((7, 9), (3, 3), "valid"), ((8, 5), (2, 3), "valid"), ((6, 6), (1, 1), "valid"),
                                      ((5, 5), (5, 5), "valid"), ((7, 9), (3, 3), "same"), ((6, 8), (5, 3), "same"),
                                      ((6, 7), (2, 2), "same"), ((9, 6), (4, 3), "same")]:
        image = rng.standard_normal((h, w))
        kernel = rng.standard_normal((kh, kw))
        kwargs = {} if padding == "valid" and rng.random() < 0.5 else dict(padding=padding)
        label = f"{h}x{w} image, {kh}x{kw} kernel, padding={padding!r}" + ("" if kwargs else " (by default)")
        cases.append(Case(label, (image, kernel), reference_correlate2d(image, kernel, padding), kwargs=kwargs))
    # An integer image and kernel (the result is a float array), then float64 in image and kernel alike.
    image = (np.arange(42).reshape(6, 7) * 5 % 9).astype(np.int64)
    kernel = np.array([[1, 0, -1], [2, 0, -2]], dtype=np.int64)
    cases.append(Case("6x7 image of integers (int64), 2x3 integer kernel, padding='same'", (image, kernel),
                      reference_correlate2d(image, kernel, "same"), kwargs=dict(padding="same"), dtype="floating"))
    for (h, w), (kh, kw), padding in [((7, 8), (3, 2), "valid"), ((6, 6), (2, 3), "same")]:
        cases.append(fine_case(f"{h}x{w} image, {kh}x{kw} kernel, padding={padding!r}",
                               lambda image, kernel, padding: reference_correlate2d(image, kernel, padding),
                               (rng.standard_normal((h, w)), rng.standard_normal((kh, kw))), rng,
                               dict(padding=padding)))
    return cases


def _layer_label(image, kernels, padding):
    c, h, w = image.shape
    f, _, kh, kw = kernels.shape
    return f"image ({c}, {h}, {w}), kernels ({f}, {c}, {kh}, {kw}), biases ({f},), padding={padding!r}"


@register("feature_maps", points=2, description="a convolutional layer on a multi-channel image: bank, biases, ReLU")
def _feature_maps_cases(rng):
    bank = np.stack([SOBEL_X, SOBEL_Y, np.full((3, 3), 1 / 9)])[:, None]
    step = STEP_IMAGE[None]
    cases = [
        Case("6x6 step image (1 channel), bank of 3 filters (Sobel x, Sobel y, blur), biases 0, padding='valid' "
             "(the worked example)", (step, bank, np.zeros(3)), reference_feature_maps(step, bank, np.zeros(3))),
    ]
    # Fixed: two channels that cancel or add up, a bias that matters (negative: a threshold; positive:
    # lifts the flat region), "same" padding with an even kernel.
    pair = np.stack([STEP_IMAGE, 1.0 - STEP_IMAGE])
    kernels = np.stack([np.stack([SOBEL_X, SOBEL_X]), np.stack([SOBEL_X, -SOBEL_X]), np.stack([np.eye(3), np.ones((3, 3))])])
    biases = np.array([0.5, -2.0, -4.5])
    for padding in ("valid", "same"):
        cases.append(Case(_layer_label(pair, kernels, padding) + ", channels that cancel or add up, biases that matter",
                          (pair, kernels, biases), reference_feature_maps(pair, kernels, biases, padding),
                          kwargs=dict(padding=padding)))
    even = np.arange(2 * 2 * 2 * 2, dtype=float).reshape(2, 2, 2, 2) % 3 - 1
    image = np.arange(2 * 5 * 6, dtype=float).reshape(2, 5, 6) % 7 / 3
    cases.append(Case(_layer_label(image, even, "same") + ", an even kernel", (image, even, np.array([0.25, -0.25])),
                      reference_feature_maps(image, even, np.array([0.25, -0.25]), "same"), kwargs=dict(padding="same")))
    for (c, h, w), (f, kh, kw), padding in [((3, 8, 7), (4, 3, 3), "valid"), ((2, 6, 9), (2, 2, 3), "valid"),
                                            ((1, 7, 7), (3, 3, 3), "same"), ((4, 9, 8), (5, 3, 3), "same"),
                                            ((2, 6, 5), (3, 2, 2), "same")]:
        image = rng.standard_normal((c, h, w))
        kernels = rng.standard_normal((f, c, kh, kw))
        biases = rng.standard_normal(f)
        cases.append(Case(_layer_label(image, kernels, padding), (image, kernels, biases),
                          reference_feature_maps(image, kernels, biases, padding), kwargs=dict(padding=padding)))
    # float64 in image, kernels and biases alike; biases positive, so that few outputs are cut to 0 by ReLU.
    for (c, h, w), (f, kh, kw), padding in [((2, 6, 7), (3, 3, 3), "valid"), ((3, 5, 6), (2, 2, 3), "same")]:
        args = (rng.standard_normal((c, h, w)), rng.standard_normal((f, c, kh, kw)), rng.uniform(4.0, 6.0, f))
        cases.append(fine_case(_layer_label(args[0], args[1], padding), reference_feature_maps, args, rng,
                               dict(padding=padding)))
    return cases


def line_image(kind, size, contrast, background, where=None, noise=0.0, rng=None):
    """One test image ``(size, size)`` in [0, 1]: ``background`` plus ``contrast`` (negative: darker) in a shape.

    ``kind``: "vertical line" (1 pixel wide), "vertical bar" (2 pixels),
    "vertical step", "horizontal line", "horizontal step" or "flat".
    """
    image = np.full((size, size), float(background))
    where = size // 2 if where is None else where
    if kind == "vertical line":
        image[:, where] += contrast
    elif kind == "vertical bar":
        image[:, where:where + 2] += contrast
    elif kind == "vertical step":
        image[:, where:] += contrast
    elif kind == "horizontal line":
        image[where, :] += contrast
    elif kind == "horizontal step":
        image[where:, :] += contrast
    elif kind != "flat":
        raise ValueError(f"line_image: unknown kind {kind!r}")
    if noise:
        image = image + noise * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0)


FIXED_KINDS = ("vertical line", "vertical step", "vertical bar", "horizontal line", "horizontal step", "flat")


def fixed_line_batches():
    """Seed-independent batches ``(label, images, has a thin vertical line)``: both polarities, three contrasts."""
    batches = []
    for contrast in CONTRASTS:
        for polarity, background, sign in [("bright on dark", 0.1, 1.0), ("dark on bright", 0.9, -1.0)]:
            images = np.stack([line_image(kind, 12, sign * contrast, background, where=5) for kind in FIXED_KINDS])
            batches.append((f"6 images 12x12, {polarity}, contrast {contrast}: a thin vertical line, a step, a 2-pixel "
                            "bar, a horizontal line and step, a flat one", images,
                            np.array([kind == "vertical line" for kind in FIXED_KINDS])))
    flats = np.stack([line_image("flat", 10, 0.0, level) for level in (0.0, 0.3, 0.6, 1.0)])
    batches.append(("4 flat images 10x10 of brightness 0, 0.3, 0.6 and 1", flats, np.zeros(4, dtype=bool)))
    return batches


def visible_line_images():
    """The six 12x12 images of the notebook's visible test, built exactly as the notebook builds them."""
    rng = np.random.default_rng(0)
    kinds = ["vertical line", "vertical line", "vertical step", "horizontal line", "flat", "vertical bar"]
    contrasts = [0.6, -0.6, 0.6, 0.6, 0.0, 0.6]
    backgrounds = [0.2, 0.8, 0.2, 0.2, 0.5, 0.2]
    images = np.stack([line_image(k, 12, c, b, where=4) for k, c, b in zip(kinds, contrasts, backgrounds)])
    images = images + NOISE * rng.standard_normal(images.shape)
    return images, np.array([True, True, False, False, False, False])


@register("vertical_line", points=2, description="a 3x3 filter for thin vertical lines, graded by its responses")
def _vertical_line_cases(rng):
    images, expected = visible_line_images()
    cases = [Case("6 images 12x12: lines, a step, a bar and a flat one (the visible test's images)", (images,),
                  expected)]
    for label, images, expected in fixed_line_batches():
        cases.append(Case(label, (images,), expected))
    for size in (10, 14, 20, 28):
        kinds = list(rng.permutation(["vertical line", "vertical line", "vertical bar", "vertical step",
                                      "horizontal line", "horizontal step", "flat"]))
        images = []
        for kind in kinds:
            contrast = rng.uniform(CONTRASTS[0], CONTRASTS[-1]) * rng.choice([-1.0, 1.0])
            background = rng.uniform(0.05, 0.2) if contrast > 0 else rng.uniform(0.8, 0.95)
            images.append(line_image(kind, size, contrast, background, where=int(rng.integers(2, size - 3)),
                                     noise=NOISE, rng=rng))
        cases.append(Case(f"7 held-out images {size}x{size}: lines, a bar, steps and a flat one, either polarity, "
                          f"noise {NOISE}", (np.stack(images),), np.array([k == "vertical line" for k in kinds])))
    return cases
