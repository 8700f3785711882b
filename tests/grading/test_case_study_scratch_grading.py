"""Assignment 07-case-study, part 1 (a network from the student's own parts): the usual mistakes lose points.

``test_claims.py`` turns ``WRONG`` and ``RIGHT`` into the claims (solution
full, blank zero, each wrong answer loses, each right alternative keeps
every point). The optimizer part is graded through the course's
``momentum_steps``, so its answers here are wrapped the same way.
"""

import numpy as np
import pytest

from autograder.grading import grade_part

from .conftest import assert_full_marks, cached_solution

ASSIGNMENT = "07-case-study"


def momentum_steps_of(sgd_momentum):
    """The course's ``momentum_steps`` around a given ``sgd_momentum``."""
    def momentum_steps(w, grads, learning_rate, momentum):
        config = {"learning_rate": learning_rate, "momentum": momentum}
        for dw in grads:
            w, config = sgd_momentum(w, dw, config)
        return w

    momentum_steps.__name__ = sgd_momentum.__name__
    return momentum_steps


SOLUTION = {"sgd_momentum": lambda ns: ns["momentum_steps"]}


def _solution(name):
    return cached_solution(ASSIGNMENT)[name]


# --- wrong answers -----------------------------------------------------------

def relu_forward_caching_the_output(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward_on_the_output_gradient(dout, cache):
    """The mask taken from dout (the output's gradient) instead of the cached input."""
    return dout * (dout > 0)


def relu_backward_times_the_input(dout, cache):
    return dout * np.maximum(cache, 0)


_FIRST = {}


def affine_forward_keeping_the_first_cache(x, w, b):
    """The cache of the first batch, reused for every later one."""
    _FIRST.setdefault("cache", (x, w, b))
    return x.reshape(len(x), -1) @ w + b, _FIRST["cache"]


def affine_backward_without_reshape(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def affine_backward_mean_bias(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.mean(axis=0)


def softmax_without_max_shift(logits, y):
    n = len(y)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        exp = np.exp(logits)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(n), y]).mean()
    dlogits = probs.copy()
    dlogits[np.arange(n), y] -= 1
    return loss, dlogits / n


def softmax_gradient_not_divided_by_n(logits, y):
    n = len(y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    dlogits = probs.copy()
    dlogits[np.arange(n), y] -= 1
    return -np.log(probs[np.arange(n), y]).mean(), dlogits


def softmax_summed_loss(logits, y):
    loss, dlogits = softmax_gradient_not_divided_by_n(logits, y)
    return loss * len(y), dlogits


def _forgetting_velocity(w, dw, config):
    """The velocity is computed but never stored: every step starts from zero."""
    velocity = config.get("velocity", np.zeros_like(w))
    velocity = config["momentum"] * velocity - config["learning_rate"] * dw
    return w + velocity, config


def _velocity_added_with_the_wrong_sign(w, dw, config):
    velocity = config["momentum"] * config.get("velocity", np.zeros_like(w)) + config["learning_rate"] * dw
    config["velocity"] = velocity
    return w + velocity, config


_LAST = {}


def two_layer_loss_with_a_stale_cache(x, y, w1, b1, w2, b2):
    """The backward pass uses the first batch's hidden activations (a cache kept from an earlier call)."""
    hidden = np.maximum(x @ w1 + b1, 0)
    _LAST.setdefault("hidden", hidden)
    stale = _LAST["hidden"] if _LAST["hidden"].shape == hidden.shape else hidden
    loss, dscores = softmax_gradient_not_divided_by_n(hidden @ w2 + b2, y)
    dscores = dscores / len(y)
    dhidden = (dscores @ w2.T) * (stale > 0)
    return loss, x.T @ dhidden, dhidden.sum(axis=0), stale.T @ dscores, dscores.sum(axis=0)


def two_layer_loss_relu_on_the_output_gradient(x, y, w1, b1, w2, b2):
    hidden = np.maximum(x @ w1 + b1, 0)
    loss, dscores = softmax_gradient_not_divided_by_n(hidden @ w2 + b2, y)
    dscores = dscores / len(y)
    dactive = dscores @ w2.T
    dhidden = dactive * (dactive > 0)
    return loss, x.T @ dhidden, dhidden.sum(axis=0), hidden.T @ dscores, dscores.sum(axis=0)


def untrained_two_layer_net(x_train, y_train, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.1, (64, 32)), np.zeros(32), rng.normal(0, 0.1, (32, 10)), np.zeros(10)


def two_layer_net_with_forgetful_momentum(x_train, y_train, seed):
    """The solution's loop with a momentum step that forgets its velocity and too small a step: under-trained."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, np.sqrt(2 / 64), (64, 100)), np.zeros(100), rng.normal(0, np.sqrt(2 / 100), (100, 10)),
              np.zeros(10)]
    configs = [{"learning_rate": 0.002, "momentum": 0.9} for _ in params]
    loss_of = _solution("two_layer_loss")
    for epoch in range(3):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            _, *grads = loss_of(x_train[batch], y_train[batch], *params)
            params = [_forgetting_velocity(p, g, c)[0] for p, g, c in zip(params, grads, configs)]
    return tuple(params)


def two_layer_net_global_generator(x_train, y_train, seed):
    """The solution's loop seeded from NumPy's global generator, not from ``seed``: every run differs."""
    return _solution("train_two_layer_net")(x_train, y_train, int(np.random.randint(1 << 30)))


def two_layer_net_fixed_seed(x_train, y_train, seed):
    """The solution's loop with a seed of its own: every seed gives the same weights."""
    return _solution("train_two_layer_net")(x_train, y_train, 12345)


def _he_normal(rng, fan_in, fan_out):
    return rng.normal(0.0, np.sqrt(2 / fan_in), (fan_in, fan_out))


def two_layer_loss_relu_gradient_1_at_0(x, y, w1, b1, w2, b2):
    """A correct loss whose ReLU passes the gradient at 0 (a subgradient too): on blank digits b1 then learns."""
    pre = x @ w1 + b1
    hidden = np.maximum(pre, 0)
    loss, dscores = softmax_gradient_not_divided_by_n(hidden @ w2 + b2, y)
    dscores = dscores / len(y)
    dpre = (dscores @ w2.T) * (pre >= 0)
    return loss, x.T @ dpre, dpre.sum(axis=0), hidden.T @ dscores, dscores.sum(axis=0)


def _loop(init, *, hidden=100, batch=64, learning_rate=0.05, epochs=100, decay=1.0, shuffle="permutation", b2=0.0,
          loss=None, name=None):
    """A training loop like the solution's (the student's two_layer_loss and sgd_momentum) with ``init`` for w1, w2.

    ``init(rng, fan_in, fan_out)`` draws a weight matrix; ``decay`` multiplies the
    learning rate after every epoch (a schedule); ``shuffle`` is ``"permutation"``,
    ``"in place"`` (``rng.shuffle`` of an index array) or ``"sampled"`` (batches
    drawn with replacement); ``b2`` is the output biases' initial value; ``loss``
    replaces the solution's ``two_layer_loss``.
    """

    def train(x_train, y_train, seed):
        rng = np.random.default_rng(seed)
        params = [init(rng, x_train.shape[1], hidden), np.zeros(hidden), init(rng, hidden, 10), np.full(10, b2)]
        configs = [{"learning_rate": learning_rate, "momentum": 0.9} for _ in params]
        loss_of, step = loss or _solution("two_layer_loss"), _solution("sgd_momentum")
        order = np.arange(len(x_train))
        for _ in range(epochs):
            if shuffle == "in place":
                rng.shuffle(order)
            elif shuffle == "permutation":
                order = rng.permutation(len(x_train))
            for start in range(0, len(order), batch):
                chosen = rng.integers(0, len(x_train), batch) if shuffle == "sampled" else order[start:start + batch]
                _, *grads = loss_of(x_train[chosen], y_train[chosen], *params)
                for index, grad in enumerate(grads):
                    params[index], configs[index] = step(params[index], grad, configs[index])
            for config in configs:
                config["learning_rate"] *= decay
        return tuple(params)

    train.__name__ = name or init.__name__
    return train


def _scaled(variance_of, name):
    """A normal draw with ``variance_of(fan_in, fan_out)`` for w1 and w2."""

    def init(rng, fan_in, fan_out):
        return rng.normal(0.0, np.sqrt(variance_of(fan_in, fan_out)), (fan_in, fan_out))

    init.__name__ = name
    return init


def _he_for(layer, variance_of, name):
    """He's draw for one layer, ``variance_of(fan_in, fan_out)`` for the other (``layer`` 1 is w1)."""
    wrong = _scaled(variance_of, name)

    def init(rng, fan_in, fan_out):
        return wrong(rng, fan_in, fan_out) if (fan_in == 64) == (layer == 1) else _he_normal(rng, fan_in, fan_out)

    init.__name__ = f"w{layer}_{name}"
    return init


def uniform_bound_as_std(rng, fan_in, fan_out):
    """U(-sqrt(2 / fan_in), sqrt(2 / fan_in)): He's standard deviation taken as the bound (a third of the variance)."""
    bound = np.sqrt(2 / fan_in)
    return rng.uniform(-bound, bound, (fan_in, fan_out))


def constant_he_scale(rng, fan_in, fan_out):
    return np.full((fan_in, fan_out), np.sqrt(2 / fan_in))


def shifted_he(rng, fan_in, fan_out):
    return rng.normal(1.0, np.sqrt(2 / fan_in), (fan_in, fan_out))


def standard_normal_scaled(rng, fan_in, fan_out):
    """He as ``standard_normal(shape) * sqrt(2 / fan_in)``."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)


def transposed_weights(x_train, y_train, seed):
    w1, b1, w2, b2 = _solution("train_two_layer_net")(x_train, y_train, seed)
    return w1.T, b1, w2.T, b2


# --- right answers in another style ----------------------------------------------

def relu_forward_with_where(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward_with_a_copy(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx


def affine_forward_with_einsum(x, w, b):
    return np.einsum("nd,dm->nm", x.reshape(x.shape[0], -1), w) + b, (x, w, b)


def softmax_with_logsumexp(logits, y):
    m = logits.max(axis=1, keepdims=True)
    log_sum = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    n = len(y)
    probs = np.exp(logits - log_sum[:, None])
    onehot = np.eye(logits.shape[1])[y]
    return float(np.mean(log_sum - logits[np.arange(n), y])), (probs - onehot) / n


def _velocity_in_place(w, dw, config):
    if "velocity" not in config:
        config["velocity"] = np.zeros_like(w)
    config["velocity"] *= config["momentum"]
    config["velocity"] -= config["learning_rate"] * dw
    return w + config["velocity"], config


WRONG_INITIALISATIONS = [
    _loop(_he_for(1, lambda fan_in, fan_out: 1 / fan_in, "variance_1_over_fan_in")),
    _loop(_he_for(1, lambda fan_in, fan_out: 3 / fan_in, "variance_3_over_fan_in")),
    _loop(_he_for(2, lambda fan_in, fan_out: 1 / fan_in, "variance_1_over_fan_in")),
    _loop(_he_for(2, lambda fan_in, fan_out: 3 / fan_in, "variance_3_over_fan_in")),
    _loop(_scaled(lambda fan_in, fan_out: 1 / (fan_in + fan_out), "xavier_1_over_fan_in_plus_fan_out")),
    _loop(uniform_bound_as_std),
    _loop(_he_for(2, lambda fan_in, fan_out: 0.0, "zero")),
    _loop(lambda rng, fan_in, fan_out: (_he_normal(rng, fan_in, fan_out) if fan_in == 64
                                        else constant_he_scale(rng, fan_in, fan_out)), name="w2_constant_he_scale"),
    _loop(lambda rng, fan_in, fan_out: (_he_normal(rng, fan_in, fan_out) if fan_in == 64
                                        else shifted_he(rng, fan_in, fan_out)), name="w2_shifted_by_1"),
    _loop(_he_normal, b2=0.1, name="b2_initialised_to_0.1"),
]
# Other correct loops: another way to draw He's weights, the largest hidden layer allowed with other batches,
# rates and epochs, a learning-rate schedule, other ways to shuffle.
RIGHT_LOOPS = [
    _loop(standard_normal_scaled),
    _loop(_he_normal, hidden=512, epochs=20, name="he_512_units_20_epochs"),
    _loop(_he_normal, learning_rate=0.1, decay=0.97, epochs=60, shuffle="in place",
          name="he_decaying_rate_shuffled_in_place"),
    _loop(_he_normal, batch=32, epochs=40, shuffle="sampled", name="he_batches_sampled_with_replacement"),
    # On blank digits b1 learns and w2 with it: w2 is then measured by what training keeps (its rows' class-means).
    _loop(_he_normal, loss=two_layer_loss_relu_gradient_1_at_0, name="he_relu_gradient_1_at_0"),
]

WRONG = {
    "relu_forward": [relu_forward_caching_the_output],
    "relu_backward": [relu_backward_on_the_output_gradient, relu_backward_times_the_input],
    "affine_forward": [affine_forward_keeping_the_first_cache],
    "affine_backward": [affine_backward_without_reshape, affine_backward_mean_bias],
    "softmax_cross_entropy": [softmax_without_max_shift, softmax_gradient_not_divided_by_n, softmax_summed_loss],
    "sgd_momentum": [momentum_steps_of(_forgetting_velocity), momentum_steps_of(_velocity_added_with_the_wrong_sign)],
    "two_layer_loss": [two_layer_loss_with_a_stale_cache, two_layer_loss_relu_on_the_output_gradient],
    "train_two_layer_net": [untrained_two_layer_net, two_layer_net_with_forgetful_momentum, transposed_weights,
                            two_layer_net_global_generator, two_layer_net_fixed_seed,
                            # He initialisation misread: the variance 1/fan-in or 3/fan-in in one layer, Xavier's
                            # 1/(fan-in + fan-out), a uniform bound taken as the standard deviation, a constant
                            # or shifted w2 (w1 He), the output biases not zero.
                            *WRONG_INITIALISATIONS],
}
RIGHT = {
    "relu_forward": [relu_forward_with_where],
    "relu_backward": [relu_backward_with_a_copy],
    "affine_forward": [affine_forward_with_einsum],
    "softmax_cross_entropy": [softmax_with_logsumexp],
    "sgd_momentum": [momentum_steps_of(_velocity_in_place)],
    "train_two_layer_net": RIGHT_LOOPS,
}


def test_the_overflowing_softmax_fails_on_the_large_logits_case():
    report = grade_part(f"{ASSIGNMENT}/softmax_cross_entropy", softmax_without_max_shift)
    assert [label for _, label, _ in report.problems] == ["5 rows of 6 classes, logits of size ~1000"], report.text()


def test_the_gradient_not_divided_by_n_passes_only_the_single_row_case():
    report = grade_part(f"{ASSIGNMENT}/softmax_cross_entropy", softmax_gradient_not_divided_by_n)
    assert report.passed == 1 and "dlogits" in report.text(), report.text()


def test_the_forgetful_momentum_passes_only_the_single_step_case():
    report = grade_part(f"{ASSIGNMENT}/sgd_momentum", momentum_steps_of(_forgetting_velocity))
    assert report.passed == 1, report.text()


def test_the_first_batch_cache_fails_every_later_batch():
    _FIRST.clear()
    report = grade_part(f"{ASSIGNMENT}/affine_forward", affine_forward_keeping_the_first_cache)
    assert report.passed == 1 and "`cache`" in report.text(), report.text()


def test_the_solution_loop_trains_the_solution_network_with_any_seed():
    for offset in (1, 2):
        assert_full_marks(f"{ASSIGNMENT}/train_two_layer_net",
                          lambda x, y, seed, s=offset: _solution("train_two_layer_net")(x, y, seed + s))


@pytest.mark.parametrize("wrong, case", [(two_layer_net_global_generator, 2), (two_layer_net_fixed_seed, 3)])
def test_a_loop_that_ignores_its_seed_loses_the_reproducibility_case(wrong, case):
    report = grade_part(f"{ASSIGNMENT}/train_two_layer_net", wrong)
    assert [number for number, _, _ in report.problems] == [case], report.text()



def test_a_wrong_initialisation_loses_the_initialisation_case_and_says_what_was_measured():
    """w2 drawn with variance 3 / fan-in trains and reproduces: only the blank-digits case sees it, and says how."""
    report = grade_part(f"{ASSIGNMENT}/train_two_layer_net", WRONG_INITIALISATIONS[3])
    assert [number for number, _, _ in report.problems] == [4], report.text()
    assert "w2's 1000 initial entries have a variance of 3." in report.text(), report.text()
    assert "He initialisation gives 2 / fan-in" in report.text(), report.text()
