"""Assignment 07-case-study, part 1, batch normalisation and dropout: the usual mistakes lose points.

The four parts are graded through the notebook's given wrappers
(``batchnorm_outputs``, ``batchnorm_gradients``, ``dropout_output``,
``dropout_gradient``), as the grader calls them, so every answer here is a
student's forward (and backward) wrapped the same way. ``test_claims.py``
turns ``WRONG`` and ``RIGHT`` into the claims.
"""

import numpy as np

from autograder.grading import grade_part

from .conftest import cached_solution

ASSIGNMENT = "07-case-study"

SOLUTION = {"batchnorm_forward": lambda ns: ns["batchnorm_outputs"],
            "batchnorm_backward": lambda ns: ns["batchnorm_gradients"],
            "dropout_forward": lambda ns: ns["dropout_output"],
            "dropout_backward": lambda ns: ns["dropout_gradient"]}


def _solution(name):
    return cached_solution(ASSIGNMENT)[name]


# --- the given wrappers, around any answer ----------------------------------------

def outputs_of(forward):
    def batchnorm_outputs(x, gamma, beta, running_mean, running_var, training, **kwargs):
        out, _, mean, var = forward(x, gamma, beta, running_mean, running_var, training, **kwargs)
        return out, mean, var

    batchnorm_outputs.__name__ = forward.__name__
    return batchnorm_outputs


def gradients_of(backward, forward=None):
    def batchnorm_gradients(x, gamma, beta, dout, **kwargs):
        features = x.shape[1]
        _, cache, _, _ = (forward or _solution("batchnorm_forward"))(x, gamma, beta, np.zeros(features),
                                                                       np.ones(features), True, **kwargs)
        return backward(dout, cache)

    batchnorm_gradients.__name__ = backward.__name__
    return batchnorm_gradients


def output_of(forward):
    def dropout_output(x, rate, training, seed):
        return forward(x, rate, training, seed)[0]

    dropout_output.__name__ = forward.__name__
    return dropout_output


def gradient_of(backward, forward=None):
    def dropout_gradient(x, rate, seed, dout):
        _, cache = (forward or _solution("dropout_forward"))(x, rate, True, seed)
        return backward(dout, cache)

    dropout_gradient.__name__ = backward.__name__
    return dropout_gradient


def _layout(x):
    return ((0,), (1, -1)) if x.ndim == 2 else ((0, 2, 3), (1, -1, 1, 1))


def _forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, eps=1e-3, *,
             inference_stats="running", eps_in_root=True, update="keras", ddof=0, axes=None):
    """The solution's forward with one switch turned to a known mistake."""
    default_axes, shape = _layout(x)
    axes = default_axes if axes is None else axes
    batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof)
    if training or inference_stats == "batch":
        mean, var = batch_mean, batch_var
    else:
        mean, var = running_mean, running_var
    if training and update == "keras":
        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var = momentum * running_var + (1 - momentum) * batch_var
    elif training and update == "swapped":
        running_mean = (1 - momentum) * running_mean + momentum * batch_mean
        running_var = (1 - momentum) * running_var + momentum * batch_var
    inv_std = 1 / np.sqrt(var + eps) if eps_in_root else 1 / (np.sqrt(var) + eps)
    if np.ndim(mean) == 1:
        mean, inv_std = mean.reshape(shape), inv_std.reshape(shape)
    x_hat = (x - mean) * inv_std
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), (x_hat, gamma, inv_std), running_mean, running_var


# --- wrong answers -----------------------------------------------------------

def batch_statistics_at_inference(*args, **kwargs):
    return _forward(*args, **kwargs, inference_stats="batch")


def eps_outside_the_root(*args, **kwargs):
    return _forward(*args, **kwargs, eps_in_root=False)


def running_statistics_not_updated(*args, **kwargs):
    return _forward(*args, **kwargs, update="none")


def momentum_weighting_the_batch(*args, **kwargs):
    """PyTorch's convention read into Keras's argument: ``(1 - momentum) * running + momentum * batch``."""
    return _forward(*args, **kwargs, update="swapped")


def unbiased_variance(*args, **kwargs):
    return _forward(*args, **kwargs, ddof=1)


def images_normalised_per_position(x, *args, **kwargs):
    """Statistics over the batch only, one per channel *and* position, for (N, C, H, W)."""
    return _forward(x, *args, **kwargs, axes=(0,))


def _backward(dout, cache, *, through_mean=True, through_var=True, sum_axes=None):
    x_hat, gamma, inv_std = cache
    axes, shape = _layout(dout)
    m = dout.size // dout.shape[1]
    summed = axes if sum_axes is None else sum_axes
    dbeta = dout.sum(axis=summed)
    dgamma = (dout * x_hat).sum(axis=summed)
    g = dout * gamma.reshape(shape)
    dx = m * g
    if through_mean:
        dx = dx - g.sum(axis=axes, keepdims=True)
    if through_var:
        dx = dx - x_hat * (g * x_hat).sum(axis=axes, keepdims=True)
    return inv_std / m * dx, dgamma, dbeta


def backward_without_the_mean_path(dout, cache):
    return _backward(dout, cache, through_mean=False)


def backward_with_constant_statistics(dout, cache):
    """The inference-mode gradient, ``gamma * inv_std * dout``, for a training-mode forward pass."""
    return _backward(dout, cache, through_mean=False, through_var=False)


def backward_summing_parameters_over_the_batch_only(dout, cache):
    """dgamma and dbeta summed over N only: right for (N, D), a (C, H, W) array for images."""
    return _backward(dout, cache, sum_axes=(0,))


def backward_averaging_dgamma_dbeta(dout, cache):
    dx, dgamma, dbeta = _backward(dout, cache)
    m = dout.size // dout.shape[1]
    return dx, dgamma / m, dbeta / m


def _dropout(x, rate, training, seed, *, rescale=True, at_inference=False, scale_by_keep=False,
             own_seed=None, keep_below=False):
    if not training and not at_inference:
        return x, None
    draws = np.random.default_rng(seed if own_seed is None else own_seed).random(x.shape)
    keep = draws < 1 - rate if keep_below else draws >= rate
    mask = keep * (1 - rate) if scale_by_keep else keep / (1 - rate) if rescale else keep * 1.0
    return x * mask, mask


def dropout_not_rescaled(x, rate, training, seed):
    return _dropout(x, rate, training, seed, rescale=False)


def dropout_active_at_inference(x, rate, training, seed):
    return _dropout(x, rate, training, seed, at_inference=True)


def dropout_scaled_by_the_keep_probability(x, rate, training, seed):
    return _dropout(x, rate, training, seed, scale_by_keep=True)


def dropout_with_a_seed_of_its_own(x, rate, training, seed):
    return _dropout(x, rate, training, seed, own_seed=0)


def dropout_keeping_the_low_draws(x, rate, training, seed):
    """``random() < 1 - rate``: the right probability, but not the mask the statement fixes."""
    return _dropout(x, rate, training, seed, keep_below=True)


def dropout_backward_with_a_fresh_mask(dout, cache):
    """A new mask drawn in the backward pass instead of the forward pass's."""
    rate = 1 - 1 / cache.max() if cache is not None and cache.max() > 0 else 0.0
    keep = np.random.default_rng().random(dout.shape) >= rate
    return dout * keep / (1 - rate)


def dropout_backward_not_rescaled(dout, cache):
    return dout * (cache != 0)


def dropout_backward_ignoring_the_mask(dout, cache):
    return dout


# --- right answers in another style ----------------------------------------------

def batchnorm_forward_with_einsum_and_a_dict_cache(x, gamma, beta, running_mean, running_var, training,
                                                   momentum=0.99, eps=1e-3):
    letters = "nd" if x.ndim == 2 else "nchw"
    per = "d" if x.ndim == 2 else "c"
    count = x.size / x.shape[1]
    if training:
        mu = np.einsum(f"{letters}->{per}", x) / count
        centred = x - (mu[None, :] if x.ndim == 2 else mu[None, :, None, None])
        var = np.einsum(f"{letters},{letters}->{per}", centred, centred) / count
        new_mean = momentum * running_mean + (1 - momentum) * mu
        new_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var, new_mean, new_var = running_mean, running_var, running_mean.copy(), running_var.copy()
    std = np.sqrt(var + eps)
    x_hat = np.einsum(f"{letters},{per}->{letters}", x - (mu[None, :] if x.ndim == 2 else mu[None, :, None, None]),
                      1 / std)
    out = np.einsum(f"{letters},{per}->{letters}", x_hat, gamma)
    out = out + (beta[None, :] if x.ndim == 2 else beta[None, :, None, None])
    return out, {"x": x, "mu": mu, "var": var, "eps": eps, "gamma": gamma}, new_mean, new_var


def _to_rows(a):
    """(N, D) as is; (N, C, H, W) as (N*H*W, C) rows, one per position."""
    return a if a.ndim == 2 else a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _from_rows(rows, like):
    if like.ndim == 2:
        return rows
    n, c, h, w = like.shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def batchnorm_backward_step_by_step(dout, cache):
    """CS231n's computational graph, node by node, on rows (images as one row per position)."""
    x, mu, var, eps, gamma = cache["x"], cache["mu"], cache["var"], cache["eps"], cache["gamma"]
    xr, dr = _to_rows(x), _to_rows(dout)
    m = xr.shape[0]
    xmu = xr - mu
    sqrtvar = np.sqrt(var + eps)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    dbeta = dr.sum(axis=0)
    dgamma = (dr * xhat).sum(axis=0)
    dxhat = dr * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar**2
    dvar = 0.5 / sqrtvar * dsqrtvar
    dsq = np.ones_like(xr) * dvar / m
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = np.ones_like(xr) * dmu / m
    return _from_rows(dx1 + dx2, dout), dgamma, dbeta


def batchnorm_backward_compact(dout, cache):
    """The compact formula, written on rows with the mean of dout and of dout * x_hat."""
    x, mu, var, eps, gamma = cache["x"], cache["mu"], cache["var"], cache["eps"], cache["gamma"]
    xr, dr = _to_rows(x), _to_rows(dout)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (xr - mu) * inv_std
    dx = gamma * inv_std * (dr - dr.mean(axis=0) - x_hat * (dr * x_hat).mean(axis=0))
    return _from_rows(dx, dout), (dr * x_hat).sum(axis=0), dr.sum(axis=0)


def dropout_with_where_and_the_keep_mask_cached(x, rate, training, seed):
    if not training:
        return x.copy(), (None, rate)
    keep = np.random.default_rng(seed).random(x.shape) >= rate
    return np.where(keep, x * (1 / (1 - rate)), 0.0), (keep, rate)


def dropout_backward_from_the_keep_mask(dout, cache):
    keep, rate = cache
    return dout.copy() if keep is None else np.where(keep, dout, 0.0) / (1 - rate)


WRONG = {
    "batchnorm_forward": [outputs_of(batch_statistics_at_inference), outputs_of(eps_outside_the_root),
                          outputs_of(running_statistics_not_updated), outputs_of(momentum_weighting_the_batch),
                          outputs_of(unbiased_variance), outputs_of(images_normalised_per_position)],
    "batchnorm_backward": [gradients_of(backward_without_the_mean_path, _forward),
                           gradients_of(backward_with_constant_statistics, _forward),
                           gradients_of(backward_summing_parameters_over_the_batch_only, _forward),
                           gradients_of(backward_averaging_dgamma_dbeta, _forward),
                           # the forward's mistake shows in the gradients too
                           gradients_of(_backward, eps_outside_the_root)],
    "dropout_forward": [output_of(dropout_not_rescaled), output_of(dropout_active_at_inference),
                        output_of(dropout_scaled_by_the_keep_probability), output_of(dropout_with_a_seed_of_its_own),
                        output_of(dropout_keeping_the_low_draws)],
    "dropout_backward": [gradient_of(dropout_backward_with_a_fresh_mask),
                         gradient_of(dropout_backward_not_rescaled),
                         gradient_of(dropout_backward_ignoring_the_mask)],
}
RIGHT = {
    "batchnorm_forward": [outputs_of(batchnorm_forward_with_einsum_and_a_dict_cache)],
    "batchnorm_backward": [gradients_of(batchnorm_backward_step_by_step, batchnorm_forward_with_einsum_and_a_dict_cache),
                           gradients_of(batchnorm_backward_compact, batchnorm_forward_with_einsum_and_a_dict_cache)],
    "dropout_forward": [output_of(dropout_with_where_and_the_keep_mask_cached)],
    "dropout_backward": [gradient_of(dropout_backward_from_the_keep_mask, dropout_with_where_and_the_keep_mask_cached)],
}


def test_inference_with_batch_statistics_fails_only_the_inference_cases():
    report = grade_part(f"{ASSIGNMENT}/batchnorm_forward", outputs_of(batch_statistics_at_inference))
    assert report.problems and all("inference" in label for _, label, _ in report.problems), report.text()


def test_a_float32_forward_fails_the_float64_cases():
    def in_float32(x, *args, **kwargs):
        return _solution("batchnorm_forward")(np.asarray(x, np.float32), *args, **kwargs)

    report = grade_part(f"{ASSIGNMENT}/batchnorm_forward", outputs_of(in_float32))
    assert any("float64 needed" in label for _, label, _ in report.problems), report.text()
