"""Hidden cases of exercise 07's first half: a network built from the student's own parts.

CS231n-style glue between ops and a trainable network, NumPy only (cnnkit's
ops allowed, ``cnnkit.nn`` not: it is the answer):

* ``relu_forward`` / ``relu_backward``: the cache is the layer's input;
* ``affine_forward`` / ``affine_backward``: ``x`` of any shape ``(N, d1, ..., dk)``
  flattened to ``(N, D)``; the cache is ``(x, w, b)``;
* ``softmax_cross_entropy(logits, y) -> (loss, dlogits)``: the mean loss, its
  gradient divided by ``N``, stable for logits of size 1000;
* ``sgd_momentum(w, dw, config) -> (next_w, config)``: graded through the
  course's ``momentum_steps``, which keeps one ``config`` over several steps;
* ``two_layer_loss``: the whole model's loss and gradients, against a
  central-difference gradient that the grader computes;
* ``train_two_layer_net``: the student's training loop runs in the sandbox
  on the training digits (scikit-learn's 8x8 digits, the course's split);
  the returned weights are scored here on the held-out digits, which never
  enter the sandbox.

Every part has several cases, so a cache kept from one call and reused for
the next loses points.
"""

from __future__ import annotations

import functools

import numpy as np

from ..perturbed import collapse_problem, perturbed

from ..registry import NUMPY_ONLY, Case

# NumPy only, but cnnkit's ops are allowed: cnnkit.nn, which holds every answer, is not.
FORBIDDEN = tuple(name for name in NUMPY_ONLY if name != "cnnkit") + ("cnnkit.nn", "mlxtend", "sklearn")
DIGITS_SEED = 0
MIN_ACCURACY = 0.95
MAX_HIDDEN = 512
# In the grading sandbox the notebook's set-up cell finds the training digits here (scikit-learn is hidden).
DIGITS_FILE = "course-data/digits8-train.npz"


@functools.lru_cache(maxsize=1)
def digits_split():
    """``(x_train, y_train, x_test, y_test)``: 8x8 digits flattened to 64 features in [0, 1].

    The training part is the split's training and validation digits (1,438);
    the test part (359) is held out.
    """
    from cnnkit.data import load_images

    data = load_images("digits", val_fraction=0.1, test_fraction=0.2, seed=DIGITS_SEED, layout="NHWC")

    def flat(x):
        return x.reshape(len(x), -1).astype(np.float64)

    x_train = np.concatenate([flat(data.x_train), flat(data.x_val)])
    y_train = np.concatenate([data.y_train, data.y_val]).astype(np.int64)
    return x_train, y_train, flat(data.x_test), data.y_test.astype(np.int64)


# --- references -------------------------------------------------------------

def affine_reference(x, w, b):
    return x.reshape(len(x), -1) @ w + b


def affine_backward_reference(dout, x, w):
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def softmax_reference(logits, y):
    from cnnkit.nn.losses import softmax_cross_entropy

    return softmax_cross_entropy(np.asarray(logits, dtype=np.float64), y)


def two_layer_reference_loss(x, y, w1, b1, w2, b2):
    hidden = np.maximum(affine_reference(x, w1, b1), 0)
    return softmax_reference(affine_reference(hidden, w2, b2), y)[0]


def numerical_gradients(x, y, params, eps=1e-6):
    """Central differences of the reference loss with respect to each parameter (float64)."""
    grads = []
    for index, param in enumerate(params):
        grad = np.zeros_like(param)
        for position in np.ndindex(param.shape):
            shifted = [p.copy() for p in params]
            shifted[index][position] += eps
            up = two_layer_reference_loss(x, y, *shifted)
            shifted[index][position] -= 2 * eps
            down = two_layer_reference_loss(x, y, *shifted)
            grad[position] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


def momentum_reference(w, grads, learning_rate, momentum):
    from cnnkit.nn import SGD

    optimizer, w = SGD(learning_rate=learning_rate, momentum=momentum), w.copy()
    for dw in grads:
        optimizer._update("w", w, dw)
    return w


# --- cases ------------------------------------------------------------------

def _relu_inputs(rng):
    shapes = [(4, 5), (2, 3, 4, 4), (6,)]
    xs = [rng.standard_normal(shape) for shape in shapes]
    xs[0][0, :2] = 0.0  # ReLU's kink: the gradient there is 0
    return xs


def _relu_forward_cases(rng):
    return [Case(f"x of shape {x.shape}", (x,), (np.maximum(x, 0), x)) for x in _relu_inputs(rng)]


def _relu_backward_cases(rng):
    cases = []
    for x in _relu_inputs(rng):
        dout = rng.standard_normal(x.shape)
        dout.flat[::3] = -np.abs(dout.flat[::3])  # negative gradients where the input may be positive
        cases.append(Case(f"dout and cache of shape {x.shape}", (dout, x), dout * (x > 0)))
    return cases


def _affine_inputs(rng):
    shapes = [((3, 4), 5), ((2, 3, 2, 2), 4), ((5, 6), 3)]
    found = []
    for shape, units in shapes:
        x = rng.standard_normal(shape)
        w = rng.standard_normal((int(np.prod(shape[1:])), units))
        b = rng.standard_normal(units)
        found.append((x, w, b))
    return found


def _affine_forward_cases(rng):
    return [Case(f"x {x.shape}, w {w.shape}", (x, w, b), (affine_reference(x, w, b), (x, w, b)))
            for x, w, b in _affine_inputs(rng)]


def _affine_backward_cases(rng):
    cases = []
    for x, w, b in _affine_inputs(rng):
        dout = rng.standard_normal((len(x), w.shape[1]))
        cases.append(Case(f"dout {dout.shape}, cache x {x.shape}, w {w.shape}", (dout, (x, w, b)),
                          affine_backward_reference(dout, x, w)))
    return cases


def _softmax_cases(rng):
    cases = []
    for n, k, scale in [(4, 3, 1.0), (7, 10, 3.0), (5, 6, 1000.0), (1, 4, 1.0)]:
        logits = scale * rng.standard_normal((n, k))
        y = rng.integers(0, k, size=n)
        loss, dlogits = softmax_reference(logits, y)
        label = f"{n} rows of {k} classes" + (f", logits of size ~{scale:g}" if scale > 10 else "")
        cases.append(Case(label, (logits, y), (loss, dlogits), rtol=1e-6, atol=1e-9))
    return cases


def _momentum_cases(rng):
    cases = []
    for shape, steps, learning_rate, momentum in [((3, 4), 4, 0.1, 0.9), ((5,), 3, 0.05, 0.5), ((2, 2), 1, 0.2, 0.9)]:
        w = rng.standard_normal(shape)
        grads = rng.standard_normal((steps, *shape))
        cases.append(Case(f"w {shape}, {steps} steps, learning rate {learning_rate}, momentum {momentum}",
                          (w, grads, learning_rate, momentum), momentum_reference(w, grads, learning_rate, momentum)))
    return cases


def _two_layer_cases(rng):
    cases = []
    # Two batches of one shape: a cache kept from the first call and reused for the second is caught.
    for n, d, h, k in [(5, 6, 7, 4), (5, 6, 7, 4), (3, 4, 5, 3)]:
        x = rng.standard_normal((n, d))
        y = rng.integers(0, k, size=n)
        params = [rng.standard_normal((d, h)) * 0.5, rng.standard_normal(h) * 0.1,
                  rng.standard_normal((h, k)) * 0.5, rng.standard_normal(k) * 0.1]
        expected = (two_layer_reference_loss(x, y, *params), *numerical_gradients(x, y, params))
        cases.append(Case(f"{n} samples of {d} features, {h} hidden units, {k} classes", (x, y, *params), expected,
                          rtol=1e-4, atol=1e-6))
    return cases


def _two_layer_weights(value):
    """The returned ``(w1, b1, w2, b2)`` as float64 arrays of a two-layer net's shapes, else the problem (a str)."""
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        return "returned something else than the four arrays (w1, b1, w2, b2)"
    try:
        w1, b1, w2, b2 = (np.asarray(v, dtype=np.float64) for v in value)
    except (TypeError, ValueError):
        return "returned arrays that are not numeric"
    hidden = w1.shape[1] if w1.ndim == 2 else None
    if w1.shape != (64, hidden) or b1.shape != (hidden,) or w2.shape != (hidden, 10) or b2.shape != (10,):
        return (f"returned arrays of shapes {w1.shape}, {b1.shape}, {w2.shape}, {b2.shape}; a two-layer net "
                "for 64 features and 10 classes has (64, H), (H,), (H, 10), (10,)")
    if hidden > MAX_HIDDEN:
        return f"the hidden layer has {hidden} units, more than the {MAX_HIDDEN} allowed"
    return w1, b1, w2, b2


def _held_out_problem(value, perturb_seed=0):
    """The trained weights' problem on the held-out digits, or ``None`` at 95% or more.

    The weights must also keep their accuracy on the held-out digits perturbed
    afresh from ``perturb_seed`` (:mod:`..perturbed`): a table of the public
    digits' labels does not.
    """
    weights = _two_layer_weights(value)
    if isinstance(weights, str):
        return weights
    w1, b1, w2, b2 = weights
    _, _, x_test, y_test = digits_split()
    scores = np.maximum(x_test @ w1 + b1, 0) @ w2 + b2
    if not np.all(np.isfinite(scores)):
        return "the weights give scores that are not finite (did the training diverge?)"
    accuracy = float(np.mean(scores.argmax(axis=1) == y_test))
    noisy_scores = np.maximum(perturbed(x_test, perturb_seed) @ w1 + b1, 0) @ w2 + b2
    collapse = collapse_problem(accuracy, float(np.mean(noisy_scores.argmax(axis=1) == y_test)))
    if collapse:
        return collapse
    if accuracy >= MIN_ACCURACY:
        return None
    return f"held-out accuracy {accuracy:.1%}, below {MIN_ACCURACY:.0%}" + (": is it trained?" if accuracy < 0.5 else "")


def _same_weights(a, b):
    """Whether two returned ``(w1, b1, w2, b2)`` are the same weights (to float64 rounding)."""
    try:
        return all(np.allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-9, atol=1e-12)
                   for x, y in zip(a, b, strict=True))
    except (TypeError, ValueError):  # other shapes or lengths: not the same weights
        return False


# A correct He draw fails the initialisation case with probability below this (a union bound over its 8 tails).
FALSE_FAILURE = 1e-6
_TAIL = FALSE_FAILURE / 8


def _spread_problem(name, weights, fan_in):
    """Whether ``weights`` (an initial draw) look like He's N(0, 2 / fan_in) entries, or ``None``.

    Two tests on the ``n`` entries, each with two tails of probability
    ``_TAIL`` for a correct draw: the sum of squares over He's variance is
    chi-squared with ``n`` degrees of freedom, and the mean over its standard
    error is N(0, 1). They measure the variance and the centre, so any draw
    with He's mean and variance (normal, uniform on +-sqrt(6 / fan_in)) passes
    alike.
    """
    from scipy.stats import chi2, norm

    values = np.asarray(weights, dtype=np.float64).ravel()
    n, variance = values.size, 2 / fan_in
    low, high = (chi2.ppf(_TAIL, n) / n * 2, chi2.isf(_TAIL, n) / n * 2)
    measured = float(np.mean(values**2) * fan_in)  # the variance times fan-in: He gives 2
    if not low <= measured <= high:
        return (f"{name}'s {n} initial entries have a variance of {measured:.2f} / fan-in (fan-in {fan_in}); "
                f"He initialisation gives 2 / fan-in (a correct draw of this size lies within "
                f"{low:.2f} to {high:.2f} / fan-in)")
    z = float(values.mean() / np.sqrt(variance / n))
    if abs(z) > norm.isf(_TAIL):
        return (f"{name}'s initial entries have a mean of {values.mean():.3g}, {abs(z):.0f} standard errors from 0: "
                f"He initialisation draws from N(0, 2 / fan-in), centred on 0")
    return None


def _initialisation_problem(value):
    """Whether the weights trained on blank digits show He initialisation and zero biases, or ``None``.

    On digits whose every pixel is 0 the hidden layer's input is 0:
    ``dw1 = x.T @ dh`` is 0, and with zero biases every hidden unit's input is
    0, so ReLU passes no gradient to ``b1`` and outputs 0, which makes ``dw2``
    0 too. Only ``b2`` learns (the class frequencies), whatever the batches,
    learning rates, schedule or epochs: the returned ``w1`` and ``w2`` are the
    initial ones, drawn from the student's own loop. ``b2`` sums to 0 at the
    end when it started at 0: softmax cross-entropy's gradient sums to 0 over
    the classes, and every SGD-with-momentum step keeps the sum.

    When ``b1`` comes back non-zero (a non-zero bias, or ReLU's gradient taken
    as 1 at 0), ``w2`` has learnt, and only what training keeps of it is
    measured: the mean of each row over the classes (an N(0, 2 / (10 H))
    draw for He's ``w2``, kept by every step for the same reason as ``b2``'s sum).
    """
    weights = _two_layer_weights(value)
    if isinstance(weights, str):
        return weights
    w1, b1, w2, b2 = weights
    hidden = len(b1)
    if not all(np.all(np.isfinite(v)) for v in (w1, b1, w2, b2)):
        return ("trained on blank digits (every pixel 0), it returned weights that are not finite: "
                "does the loop divide by the data's maximum or spread?")
    if abs(b2.sum()) > 1e-6:
        return "b2 does not sum to 0 over the classes: were the biases initialised to zero?"
    problem = _spread_problem("w1", w1, 64)
    if problem:
        return problem
    if np.all(b1 == 0):
        return _spread_problem("w2", w2, hidden)
    # w2 learnt: its rows' class-means are what it keeps, N(0, 2 / (10 H)), i.e. He's with a fan-in of 10 H.
    return _spread_problem("the class-mean of w2's rows (kept by training)", w2.mean(axis=1), 10 * hidden)


def _train_cases(rng):
    """Four runs: seed 0 (judged by held-out accuracy), seed 0 again (the same weights), another seed (others),
    and one on blank digits that returns the initial weights (:func:`_initialisation_problem`).

    The statement asks to seed everything from ``seed``, so that the graded run
    repeats the student's. A loop that ignores its seed and draws from a
    global generator gives other weights on the second run; one that seeds a
    fixed value gives the same weights for every seed. The second and third
    cases compare with the first run's weights, which the first case's
    predicate keeps: the cases of one grading are judged in order, on one list.
    """
    x_train, y_train, _, _ = digits_split()
    other = int(rng.integers(1, 10_000))
    perturb_seed = int(rng.integers(2**31))
    first = {}

    def accurate_and_kept(value):
        first["weights"] = value
        return _held_out_problem(value, perturb_seed)

    def same_as_first(value):
        if "weights" not in first:
            return "the first run (seed 0) returned nothing to compare with"
        if not _same_weights(value, first["weights"]):
            return "a second run with the same seed returned other weights: seed everything from `seed`"
        return None

    def other_than_first(value):
        problem = _held_out_problem(value, perturb_seed)
        if problem:
            return problem
        if "weights" in first and _same_weights(value, first["weights"]):
            return "another seed returned the same weights as seed 0: is `seed` used?"
        return None

    return [Case(f"trained on the {len(x_train):,} training digits (seed 0): held-out accuracy at least "
                 f"{MIN_ACCURACY:.0%}", (x_train, y_train, 0), predicate=accurate_and_kept),
            Case("trained again with seed 0: the same weights as the first run", (x_train, y_train, 0),
                 predicate=same_as_first),
            Case(f"trained with seed {other}: other weights than seed 0's, and held-out accuracy at least "
                 f"{MIN_ACCURACY:.0%}", (x_train, y_train, other), predicate=other_than_first),
            Case(f"trained with seed {other + 1} on {len(x_train):,} blank digits (every pixel 0), where w1 and w2 get "
                 "no gradient: their spread is He's (variance 2 / fan-in), and b2 sums to 0 (zero biases)",
                 (np.zeros_like(x_train), y_train, other + 1), predicate=_initialisation_problem)]


def digits_files(seed=None):
    """The file the grader writes into the sandbox: the training digits only (``seed`` unused)."""
    import io

    x_train, y_train, _, _ = digits_split()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=x_train, y_train=y_train)
    return {DIGITS_FILE: buffer.getvalue()}


def register_scratch_parts(register):
    """Register the from-scratch parts with the assignment's ``register``."""
    register("relu_forward", points=1, forbidden=FORBIDDEN, returns=("out", "cache"),
             description="ReLU forward, with its cache")(_relu_forward_cases)
    register("relu_backward", points=1, forbidden=FORBIDDEN,
             description="ReLU backward, from the cached input")(_relu_backward_cases)
    register("affine_forward", points=1, forbidden=FORBIDDEN, returns=("out", "cache"),
             description="affine forward, with its cache")(_affine_forward_cases)
    register("affine_backward", points=2, forbidden=FORBIDDEN, returns=("dx", "dw", "db"),
             description="affine backward, from the cache")(_affine_backward_cases)
    register("softmax_cross_entropy", points=2, forbidden=FORBIDDEN, returns=("loss", "dlogits"),
             description="softmax cross-entropy and its gradient")(_softmax_cases)
    register("sgd_momentum", points=1, forbidden=FORBIDDEN,
             description="SGD with momentum over several steps")(_momentum_cases)
    register("two_layer_loss", points=2, forbidden=FORBIDDEN, returns=("loss", "dw1", "db1", "dw2", "db2"),
             description="the whole model's loss and gradients, against a numerical gradient")(_two_layer_cases)
    register("train_two_layer_net", points=3, forbidden=FORBIDDEN, sandbox_files=digits_files,
             description="the student's training loop: held-out accuracy of the weights it returns")(_train_cases)
