"""Hidden cases of exercise 07's first half: batch normalisation and dropout, forward and backward.

CS231n-style layers next to ReLU and affine, NumPy only (cnnkit's ops
allowed, ``cnnkit.nn`` not), with Keras's conventions (the reference is
:mod:`cnnkit.batchnorm`). The student's functions return a cache of their
own design, so each part is graded through a wrapper the notebook gives
(a ``_given`` cell), as ``sgd_momentum`` is through ``momentum_steps``:

* ``batchnorm_forward`` through ``batchnorm_outputs(x, gamma, beta,
  running_mean, running_var, training, **kwargs) -> (out, running_mean,
  running_var)``: ``x`` of shape ``(N, D)`` or ``(N, C, H, W)`` (per
  channel), both modes, ``momentum`` and ``eps`` absent (Keras's 0.99 and
  1e-3) or given;
* ``batchnorm_backward`` through ``batchnorm_gradients(x, gamma, beta, dout,
  **kwargs) -> (dx, dgamma, dbeta)``: a training-mode forward, then the
  backward from its cache; one case's expected value is a central-difference
  gradient the grader computes, the others the reference's;
* ``dropout_forward`` through ``dropout_output(x, rate, training, seed)``:
  the mask is fixed by the statement, ``np.random.default_rng(seed).random(x.shape) >= rate``,
  so grading is deterministic;
* ``dropout_backward`` through ``dropout_gradient(x, rate, seed, dout)``: a
  training-mode forward, then the backward from its cache.

Every part has cases whose float64 values float32 cannot hold, and several
cases of one shape, so a cache or mask kept from an earlier call loses points.
"""

from __future__ import annotations

import numpy as np

from ..registry import Case, assignment
from .case_study_scratch import FORBIDDEN

ASSIGNMENT = "07-case-study"
register = assignment(ASSIGNMENT)


# --- references -------------------------------------------------------------

def batchnorm_outputs_reference(x, gamma, beta, running_mean, running_var, training, **kwargs):
    from cnnkit.batchnorm import batchnorm_forward

    out, _, mean, var = batchnorm_forward(x, gamma, beta, running_mean, running_var, training, **kwargs)
    return out, mean, var


def batchnorm_gradients_reference(x, gamma, beta, dout, **kwargs):
    from cnnkit.batchnorm import batchnorm_backward, batchnorm_forward

    features = np.shape(x)[1]
    _, cache, _, _ = batchnorm_forward(x, gamma, beta, np.zeros(features), np.ones(features), True, **kwargs)
    return batchnorm_backward(dout, cache)


def batchnorm_numerical_gradients(x, gamma, beta, dout, **kwargs):
    """``(dx, dgamma, dbeta)`` by central differences of the reference forward pass (float64)."""
    from cnnkit import numerical_gradient

    features = x.shape[1]

    def out(x=x, gamma=gamma, beta=beta):
        return batchnorm_outputs_reference(x, gamma, beta, np.zeros(features), np.ones(features), True,
                                           **kwargs)[0]

    return (numerical_gradient(lambda v: out(x=v), x, dout), numerical_gradient(lambda v: out(gamma=v), gamma, dout),
            numerical_gradient(lambda v: out(beta=v), beta, dout))


def dropout_output_reference(x, rate, training, seed):
    from cnnkit.batchnorm import dropout_forward

    return dropout_forward(x, rate, training, seed)[0]


def dropout_gradient_reference(x, rate, seed, dout):
    from cnnkit.batchnorm import dropout_backward, dropout_forward

    return dropout_backward(dout, dropout_forward(x, rate, True, seed)[1])


# --- cases ------------------------------------------------------------------

def _per_feature(rng, features):
    gamma = rng.uniform(0.5, 2.0, features)
    beta = rng.standard_normal(features)
    running_mean = rng.standard_normal(features)
    running_var = rng.uniform(0.5, 3.0, features)
    return gamma, beta, running_mean, running_var


def _fine_float64(rng, shape):
    """Values near 10,000 that differ by about 0.01: float32 keeps steps of 0.001 there, so it cannot hold them."""
    return 1e4 + 1e-2 * rng.standard_normal(shape)


def _batchnorm_forward_cases(rng):
    cases = []
    settings = [  # (shape, training, keyword arguments, what the label adds)
        ((6, 4), True, {}, "momentum and eps left at their defaults"),
        ((6, 4), False, {}, "momentum and eps left at their defaults"),
        ((5, 3, 4, 4), True, {"momentum": 0.9, "eps": 1e-5}, "momentum 0.9, eps 1e-5"),
        ((5, 3, 4, 4), False, {"momentum": 0.9, "eps": 1e-5}, "momentum 0.9, eps 1e-5"),
        ((4, 3), True, {"momentum": 0.5, "eps": 0.5}, "momentum 0.5, eps 0.5"),
        ((2, 1), True, {"momentum": 0.0}, "momentum 0 (the running statistics become the batch's)"),
        ((3, 2, 1, 1), True, {"eps": 1e-3}, "eps 1e-3 given, momentum at its default"),
        ((1, 2, 2, 3), True, {"momentum": 1.0}, "momentum 1 (the running statistics stay)"),
    ]
    for shape, training, kwargs, extra in settings:
        x = 2.0 + 3.0 * rng.standard_normal(shape)
        stats = _per_feature(rng, shape[1])
        mode = "training" if training else "inference"
        cases.append(Case(f"x {shape}, {mode}, {extra}", (x, *stats, training),
                          batchnorm_outputs_reference(x, *stats, training, **kwargs), kwargs=kwargs))
    # Inference on one example: a batch's own statistics do not even exist.
    x = rng.standard_normal((1, 5))
    stats = _per_feature(rng, 5)
    cases.append(Case("x (1, 5), inference (a single example)", (x, *stats, False),
                      batchnorm_outputs_reference(x, *stats, False)))
    x = rng.integers(-5, 6, size=(8, 3))
    stats = _per_feature(rng, 3)
    cases.append(Case("x (8, 3) of integers, training", (x, *stats, True), batchnorm_outputs_reference(x, *stats, True)))
    x = _fine_float64(rng, (6, 2))
    stats = (np.ones(2), np.zeros(2), np.full(2, 1e4), np.full(2, 1e-4))
    for training in (True, False):
        mode = "training" if training else "inference"
        cases.append(Case(f"x (6, 2) near 10,000 with a spread of 0.01 (float64 needed), {mode}, eps 1e-8",
                          (x, *stats, training), batchnorm_outputs_reference(x, *stats, training, eps=1e-8),
                          kwargs={"eps": 1e-8}, rtol=1e-6, atol=1e-6))
    return cases


def _batchnorm_backward_cases(rng):
    cases = []
    for shape, kwargs, extra in [((6, 4), {}, "eps at its default"), ((6, 4), {}, "eps at its default"),
                                 ((4, 3, 3, 3), {"eps": 1e-5}, "eps 1e-5"), ((2, 1), {"eps": 0.5}, "eps 0.5"),
                                 ((3, 2, 2, 2), {}, "eps at its default")]:
        x = 1.0 + 2.0 * rng.standard_normal(shape)
        gamma, beta, _, _ = _per_feature(rng, shape[1])
        dout = rng.standard_normal(shape)
        cases.append(Case(f"x and dout {shape}, {extra}", (x, gamma, beta, dout),
                          batchnorm_gradients_reference(x, gamma, beta, dout, **kwargs), kwargs=kwargs))
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    gamma, beta, _, _ = _per_feature(rng, 3)
    cases.append(Case("x and dout (5, 3), eps 1e-5: against a numerical gradient", (x, gamma, beta, dout),
                      batchnorm_numerical_gradients(x, gamma, beta, dout, eps=1e-5), kwargs={"eps": 1e-5},
                      rtol=1e-5, atol=1e-7))
    x = _fine_float64(rng, (6, 2))
    dout = rng.standard_normal((6, 2))
    gamma, beta = np.array([1.0, 2.0]), np.zeros(2)
    cases.append(Case("x (6, 2) near 10,000 with a spread of 0.01 (float64 needed), eps 1e-8",
                      (x, gamma, beta, dout), batchnorm_gradients_reference(x, gamma, beta, dout, eps=1e-8),
                      kwargs={"eps": 1e-8}, rtol=1e-5, atol=1e-5))
    return cases


def _dropout_forward_cases(rng):
    cases = []
    for shape, rate, training in [((8, 10), 0.5, True), ((8, 10), 0.5, True), ((3, 2, 4, 4), 0.25, True),
                                  ((50,), 0.9, True), ((8, 10), 0.5, False), ((3, 2, 4, 4), 0.0, True),
                                  ((4, 6), 0.3, False)]:
        x = rng.standard_normal(shape)
        seed = int(rng.integers(1, 2**31))
        mode = "training" if training else "inference"
        cases.append(Case(f"x {shape}, rate {rate}, {mode}, seed {seed}", (x, rate, training, seed),
                          dropout_output_reference(x, rate, training, seed)))
    x = 1.0 + 1e-9 * rng.standard_normal((6, 5))
    seed = int(rng.integers(1, 2**31))
    cases.append(Case(f"x (6, 5) within 1e-8 of 1 (float64 needed), rate 0.3, training, seed {seed}",
                      (x, 0.3, True, seed), dropout_output_reference(x, 0.3, True, seed), rtol=1e-12, atol=0.0))
    x = rng.integers(-9, 10, size=(5, 4))
    cases.append(Case("x (5, 4) of integers, rate 0.5, training, seed 0", (x, 0.5, True, 0),
                      dropout_output_reference(x, 0.5, True, 0)))
    return cases


def _dropout_backward_cases(rng):
    cases = []
    for shape, rate in [((8, 10), 0.5), ((8, 10), 0.5), ((3, 2, 4, 4), 0.25), ((30,), 0.0), ((6, 7), 0.8)]:
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        seed = int(rng.integers(1, 2**31))
        cases.append(Case(f"x and dout {shape}, rate {rate}, seed {seed}", (x, rate, seed, dout),
                          dropout_gradient_reference(x, rate, seed, dout)))
    x, dout = rng.standard_normal((6, 5)), 1.0 + 1e-9 * rng.standard_normal((6, 5))
    seed = int(rng.integers(1, 2**31))
    cases.append(Case(f"x (6, 5), dout within 1e-8 of 1 (float64 needed), rate 0.3, seed {seed}",
                      (x, 0.3, seed, dout), dropout_gradient_reference(x, 0.3, seed, dout), rtol=1e-12, atol=0.0))
    return cases


register("batchnorm_forward", points=2, forbidden=FORBIDDEN, returns=("out", "running_mean", "running_var"),
         description="batch normalisation forward (through batchnorm_outputs): both modes, running statistics"
         )(_batchnorm_forward_cases)
register("batchnorm_backward", points=2, forbidden=FORBIDDEN, returns=("dx", "dgamma", "dbeta"),
         description="batch normalisation backward (through batchnorm_gradients), against the reference and a "
         "numerical gradient")(_batchnorm_backward_cases)
register("dropout_forward", points=1, forbidden=FORBIDDEN,
         description="inverted dropout forward (through dropout_output), the mask from the seed")(_dropout_forward_cases)
register("dropout_backward", points=1, forbidden=FORBIDDEN,
         description="inverted dropout backward (through dropout_gradient), the forward pass's mask"
         )(_dropout_backward_cases)
