"""Hidden cases of assignment 03-feature-maps.

Parts: ``correlate2d`` (one image, one kernel, "valid" or "same"),
``feature_maps`` (a filter bank, then ReLU) and ``vertical_edge`` (the
student's 3x3 filter, graded by how it responds to held-out images).

The first case of each part is the worked example that the notebook's
visible test also checks. The cases make the usual mistakes fail: a flipped
kernel (true convolution), "same" padding split the wrong way for an even
kernel, an output one row short, ReLU forgotten or applied to the kernel, a
filter that is not zero-sum (it fires on flat regions), a horizontal-edge
filter, and a filter that only fires on one polarity of edge.
"""

from __future__ import annotations

import numpy as np

from cnnkit import conv2d

from ..registry import Case, assignment

ASSIGNMENT = "03-feature-maps"
register = assignment(ASSIGNMENT)

# The worked example of chapter 3 and of the notebook's visible tests: a
# 6x6 image, dark on the left and bright on the right, and the Sobel filter.
STEP_IMAGE = np.repeat(np.array([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]]), 6, axis=0)
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T.copy()
# How strongly the normalised filter (sum of |weights| = 1) must respond to
# an edge somewhere in an image to "see" it: a zero-sum vertical-edge filter
# answers an edge of contrast c with up to c/2, and the test images' edges
# have c >= 0.4; noise of 0.02 stays far below.
EDGE_THRESHOLD = 0.15


def reference_correlate2d(image, kernel, padding="valid"):
    """cnnkit's answer for one ``(H, W)`` image and one ``(KH, KW)`` kernel."""
    return conv2d(np.asarray(image, float)[None, None], np.asarray(kernel, float)[None, None], padding=padding)[0, 0]


def reference_feature_maps(image, kernels, padding="valid"):
    """ReLU of every kernel's map: ``(F, Ho, Wo)``."""
    maps = conv2d(np.asarray(image, float)[None, None], np.asarray(kernels, float)[:, None], padding=padding)[0]
    return np.maximum(maps, 0.0)


def reference_sees_vertical_edge(images, kernel):
    """What the notebook's given ``sees_vertical_edge`` computes for ``kernel`` (used by the tests)."""
    k = np.asarray(kernel, dtype=float)
    scale = np.abs(k).sum()
    if scale == 0:
        return np.zeros(len(images), dtype=bool)
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(images, float), (3, 3), axis=(1, 2))
    response = np.einsum("nhwij,ij->nhw", windows, k / scale)
    return np.abs(response).max(axis=(1, 2)) > EDGE_THRESHOLD


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
    return cases


@register("feature_maps", points=2, description="a filter bank's ReLU feature maps")
def _feature_maps_cases(rng):
    bank = np.stack([SOBEL_X, SOBEL_Y, np.full((3, 3), 1 / 9)])
    cases = [
        Case("6x6 step image, bank of 3 filters (Sobel x, Sobel y, blur), padding='valid' (the worked example)",
             (STEP_IMAGE, bank), reference_feature_maps(STEP_IMAGE, bank)),
        Case("6x6 step image, bank of 3 filters (Sobel x, Sobel y, blur), padding='same' (the worked example)",
             (STEP_IMAGE, bank), reference_feature_maps(STEP_IMAGE, bank, "same"), kwargs=dict(padding="same")),
    ]
    for (h, w), (f, kh, kw), padding in [((8, 7), (4, 3, 3), "valid"), ((6, 9), (2, 2, 3), "valid"),
                                         ((7, 7), (1, 3, 3), "same"), ((9, 8), (5, 3, 3), "same"),
                                         ((6, 5), (3, 2, 2), "same")]:
        image = rng.standard_normal((h, w))
        kernels = rng.standard_normal((f, kh, kw))
        label = f"{h}x{w} image, bank of {f} kernels {kh}x{kw}, padding={padding!r}"
        cases.append(Case(label, (image, kernels), reference_feature_maps(image, kernels, padding),
                          kwargs=dict(padding=padding)))
    return cases


def edge_images(rng, size, kinds, noise=0.02):
    """Test images ``(len(kinds), size, size)`` in [0, 1] and whether each holds a vertical edge.

    ``kinds`` names each image: "vertical step", "vertical bar", "horizontal
    step", "horizontal bar" or "flat". Edges and bars sit at a random place
    away from the border, with a random polarity, a contrast of 0.4 to 0.8
    and a background of 0.1 to 0.9 minus the contrast.
    """
    images, vertical = [], []
    for kind in kinds:
        contrast = rng.uniform(0.4, 0.8)
        low = rng.uniform(0.05, 0.95 - contrast)
        image = np.full((size, size), low)
        where = int(rng.integers(3, size - 3))
        width = int(rng.integers(1, 3))
        band = slice(where, where + width) if kind.endswith("bar") else slice(where, size)
        if kind.startswith("vertical"):
            image[:, band] += contrast
        elif kind.startswith("horizontal"):
            image[band, :] += contrast
        elif kind != "flat":
            raise ValueError(f"edge_images: unknown kind {kind!r}")
        if kind != "flat" and rng.random() < 0.5:
            image = 2 * low + contrast - image  # the other polarity: bright to dark
        images.append(np.clip(image + noise * rng.standard_normal((size, size)), 0.0, 1.0))
        vertical.append(kind.startswith("vertical"))
    return np.stack(images), np.array(vertical)


def visible_edge_images():
    """The six 12x12 images of the notebook's visible test, built exactly as the notebook builds them."""
    rng = np.random.default_rng(0)
    step = np.zeros((12, 12))
    step[:, 6:] = 0.6
    bar = np.zeros((12, 12))
    bar[:, 4:6] = 0.6
    images = np.stack([step + 0.2, 0.8 - step, step.T + 0.2, np.full((12, 12), 0.5), bar + 0.2, 0.8 - bar.T])
    images = images + 0.02 * rng.standard_normal(images.shape)
    return images, np.array([True, True, False, False, True, False])


@register("vertical_edge", points=2, description="a 3x3 vertical-edge filter, graded by its responses")
def _vertical_edge_cases(rng):
    images, vertical = visible_edge_images()
    cases = [Case("6 images 12x12: steps, bars and a flat one (the visible test's images)", (images,), vertical)]
    for size in (10, 12, 14, 16, 16, 20, 24, 28):
        kinds = list(rng.permutation(["vertical step", "vertical step", "vertical bar", "horizontal step",
                                      "horizontal step", "horizontal bar", "flat"]))
        images, vertical = edge_images(rng, size, kinds)
        cases.append(Case(f"7 held-out images {size}x{size}: steps, bars and a flat one, noise 0.02",
                          (images,), vertical))
    return cases
