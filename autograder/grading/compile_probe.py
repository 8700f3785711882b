"""What a compiled Keras model's loss and metrics compute, measured on small known batches.

A compile config can be spelled in many ways (``"accuracy"``, ``"acc"``,
``SparseCategoricalAccuracy()``, a loss object or its name) and a wrong one
can borrow a right spelling (``BinaryAccuracy(name="accuracy")``,
``SparseTopKCategoricalAccuracy(name="accuracy")``). So the compile is
judged the way functions are: its loss and each of its metrics are
evaluated, through Keras itself, on batches of logits and integer labels
whose right values are known, and the numbers are compared.

The batches are chosen so that the usual stand-ins give other numbers than
the right ones: the argmax accuracy is 1/2 on the first batch and 1/4 on the
second, while top-k accuracy, categorical accuracy on integer labels and
the cross-entropy on probabilities (``from_logits=False``) differ; binary
accuracy and exact-match accuracy do not even run on integer labels
against ``(N, 10)`` logits.

Keras is imported inside the functions, so importing this module stays
NumPy-only; everything here runs in the grader's model judge process
(:mod:`autograder.model_judge`), on the round-tripped model's compile
config, never on student code.
"""

from __future__ import annotations

import functools

import numpy as np

CLASSES = 10
# Agreement asked of Keras' float32 arithmetic with the float64 reference.
RTOL = 1e-4


def _batch(labels, correct, seed):
    """Logits ``(N, 10)``: row ``i`` has its argmax at ``labels[i]`` when ``correct[i]``, else the label is second."""
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-3.0, 1.0, size=(len(labels), CLASSES))
    for row, (label, right) in enumerate(zip(labels, correct)):
        other = (label + 1 + row % (CLASSES - 1)) % CLASSES
        logits[row, label] = 2.0 + 0.25 * row
        if not right:
            logits[row, other] = logits[row, label] + 0.75
    return logits.astype(np.float32), np.asarray(labels, dtype=np.int64)


@functools.lru_cache(maxsize=None)
def batches():
    """The known batches ``(logits, labels)``: argmax accuracies 1/2 and 1/4."""
    return (_batch([3, 1, 4, 1, 5, 9, 2, 6], [True, False, True, False, True, False, True, False], 1),
            _batch([7, 2, 8, 8, 0, 5, 3, 9], [False, True, False, False, False, True, False, False], 2))


def accuracy(logits, labels):
    """The classification accuracy of integer labels against logits (argmax)."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def cross_entropy(logits, labels):
    """The mean sparse categorical cross-entropy of logits, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_probabilities = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probabilities[np.arange(len(labels)), labels]))


def softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def evaluate(config, predictions, labels):
    """``{name: value}`` of the loss and metrics of compile ``config`` on one batch, or the error's text.

    A fresh identity model is compiled from ``config`` so that Keras resolves
    strings such as ``"accuracy"`` as it does for the student's model (from
    the labels' and outputs' shapes).
    """
    import keras

    probe = keras.Sequential([keras.Input((CLASSES,)), keras.layers.Identity()])
    try:
        probe.compile_from_config(config)
        probe.run_eagerly = True  # one small batch: tracing a graph would cost more than it saves
        # test_on_batch runs evaluate's test step on the one batch, without building evaluate's tf.data
        # pipeline (a fifth of the time: 0.02 s against 0.10 s a call, the same values).
        return {name: float(value) for name, value in
                probe.test_on_batch(predictions, labels, return_dict=True).items()}
    except Exception as exc:  # a loss or metric that cannot run on integer labels against logits
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}".rstrip(": ")


def _close(value, expected):
    return value is not None and np.isclose(value, expected, rtol=RTOL, atol=1e-6)


def loss_problem(config, logits_expected=True):
    """The problem of the compiled loss, or ``None``.

    With ``logits_expected`` the loss must be the sparse cross-entropy of the
    model's logits; without it, only the kind is judged: a sparse
    cross-entropy either of logits or of probabilities (the softmax of the
    same logits) passes.
    """
    if config.get("loss") is None:
        return "the model was compiled without a loss"
    loss_only = dict(config, metrics=None, weighted_metrics=None)
    on_logits, on_probabilities = [], []
    for logits, labels in batches():
        expected = cross_entropy(logits, labels)
        got = evaluate(loss_only, logits, labels)
        if isinstance(got, str):
            return (f"the loss does not run on integer labels against the model's 10 outputs ({got}); the labels "
                    "are integers 0-9, which need the sparse categorical cross-entropy")
        on_logits.append(_close(got.get("loss"), expected))
        got = evaluate(loss_only, softmax(logits), labels)
        on_probabilities.append(not isinstance(got, str) and _close(got.get("loss"), expected))
    if all(on_logits):
        return None
    if all(on_probabilities):
        if not logits_expected:
            return None
        return ("the loss expects probabilities (from_logits=False), but the model outputs logits: "
                "pass from_logits=True")
    if logits_expected:
        return "the loss computes something else than the cross-entropy of the model's logits"
    return ("the loss computes something else than the sparse categorical cross-entropy of integer labels 0-9 "
            "(is it another loss, or another cross-entropy?)")


def metrics_of(config):
    """The compile config's metrics as a list of items (strings or serialized metrics)."""
    metrics = config.get("metrics") or []
    return [metrics] if isinstance(metrics, (str, dict)) else list(metrics)


ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy"}


def metrics_problem(config):
    """The problem of the compiled metrics, or ``None``.

    One metric must report the classification accuracy of the integer
    labels against the logits on every known batch; a metric whose name says
    accuracy (``name="accuracy"``) must not report something else.
    """
    items = metrics_of(config)
    if not items:
        return "the model was compiled without the accuracy metric"
    # The loss is not judged here: a sparse cross-entropy on logits lets every metric run as in the spec.
    base = dict(config, loss={"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
                              "config": {"from_logits": True}, "registered_name": None}, weighted_metrics=None)
    right, mislabelled = False, []
    for item in items:
        values = [evaluate(dict(base, metrics=[item]), logits, labels) for logits, labels in batches()]
        if any(isinstance(value, str) for value in values):
            named = item if isinstance(item, str) else (item.get("config") or {}).get("name", "a metric")
            mislabelled.append(f"{named} does not run on integer labels against logits")
            continue
        reported = {name for value in values for name in value if name != "loss"}
        if all(_close(value.get(name), accuracy(*batch)) for value, batch in zip(values, batches()) for name in reported):
            right = True
        elif reported & ACCURACY_NAMES:  # an honest extra metric (top-5 under its own name) is no mistake
            mislabelled.append(f"the metric reported as {', '.join(sorted(reported))} is not the classification "
                               "accuracy of integer labels against logits")
    if mislabelled:
        return mislabelled[0]
    if not right:
        return "the model was compiled without the accuracy metric"
    return None
