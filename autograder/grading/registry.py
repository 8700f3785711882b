"""The registry of graded parts: what a part is, and where every part is found.

A part is registered by its assignment's module in ``autograder/grading/parts/``::

    from ..registry import Case, assignment

    register = assignment("02-convolution")

    @register("conv2d", points=5, returns=None)
    def _conv2d_cases(rng): ...

which registers ``"02-convolution/conv2d"``. Registration flows one way:
the parts modules import this module, never the reverse at import time;
:func:`load_parts` imports every module it finds by listing the ``parts``
package (``pkgutil``), so a new assignment's module is found without editing
an ``__init__``. Importing (or reloading) a module again replaces its own
parts; two different modules that claim one name are an error.

Each part states its points once, here; the notebook's nbgrader ``points``
must agree (``tests/pipeline/test_exercises.py`` checks it).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

# Packages a NumPy exercise's answers may not use: the reference itself and
# the libraries that would do the work. The grader removes them from the
# sandbox where answers run, and reports an attempt to import them.
NUMPY_ONLY = ("cnnkit", "tensorflow", "keras", "tf_keras", "torch", "jax", "scipy")
# Packages a Keras exercise's answers may not use.
KERAS_ALLOWED = ("cnnkit", "torch", "jax")
KINDS = ("function", "value", "model")
PARTS_PACKAGE = "autograder.grading.parts"


@dataclass
class Case:
    """One hidden case of a part.

    ``label`` is shown to the student, so it describes the inputs (shapes,
    stride, padding), never the expected output. ``expected`` is the
    reference result (or :class:`Raises`); ``predicate`` replaces it for
    model parts: ``predicate(model) -> None | problem``. ``dtype`` is a
    stated promise about the result (``"floating"``: a floating-point
    array), checked when given. ``returns`` names the items of a tuple
    result (filled in from the part).
    """

    label: str
    args: tuple = ()
    expected: Any = None
    kwargs: dict = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-6
    predicate: Callable | None = None
    dtype: str | None = None
    returns: tuple | None = None


@dataclass(frozen=True)
class Raises:
    """Expected outcome of a case where the function must raise ``exception``."""

    exception: type

    def __repr__(self):
        return f"raises {self.exception.__name__}"


@dataclass
class Part:
    """A graded part: ``points`` shared equally among the cases that ``make_cases`` draws.

    ``kind`` is ``"function"`` (each case calls the student's function),
    ``"value"`` (the student's object itself is compared, e.g. a number
    computed by hand) or ``"model"`` (the student's object is a Keras model;
    each case's ``predicate`` looks at one feature of it, on a copy saved in
    the sandbox and loaded with Keras' safe mode in a clean process).
    ``forbidden`` names the packages its answer may not use. ``returns``
    names the items of a tuple result (``("dx", "dw", "db")``) for the
    feedback. ``sandbox_files(seed) -> {relative path: bytes}`` are files the
    grader writes into the sandbox's work folder before the student's code
    runs (e.g. the only data the student may train on).
    """

    name: str
    points: float
    make_cases: Callable
    description: str = ""
    kind: str = "function"
    forbidden: tuple = NUMPY_ONLY
    returns: tuple | None = None
    sandbox_files: Callable[[int], dict[str, bytes]] | None = None
    module: str = ""

    @property
    def assignment(self):
        return self.name.split("/", 1)[0]

    @property
    def short_name(self):
        return self.name.split("/", 1)[1]


_PARTS: dict[str, Part] = {}


def assignment(name):
    """The ``register`` decorator factory of assignment ``name`` (``"NN-topic"``)."""

    def register(part, points, description="", kind="function", forbidden=NUMPY_ONLY, returns=None,
                 sandbox_files=None):
        if kind not in KINDS:
            raise ValueError(f"register: kind must be one of {KINDS}, got {kind!r}")
        if "/" in part:
            raise ValueError(f"register: part names hold no '/', got {part!r}")
        qualified = f"{name}/{part}"

        def decorate(make_cases):
            module = make_cases.__module__
            known = _PARTS.get(qualified)
            if known is not None and known.module != module:
                raise ValueError(f"grading part {qualified!r} is registered twice ({known.module} and {module})")
            _PARTS[qualified] = Part(qualified, float(points), make_cases, description, kind, tuple(forbidden),
                                     tuple(returns) if isinstance(returns, (list, tuple)) else returns,
                                     sandbox_files, module)
            return make_cases

        return decorate

    return register


def load_parts():
    """Import every module of the ``parts`` package (found by listing it); return the registry."""
    package = importlib.import_module(PARTS_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{PARTS_PACKAGE}.{info.name}")
    return _PARTS


def get_part(name):
    """The registered part ``"NN-topic/part"``; ``KeyError`` listing the known parts otherwise."""
    parts = load_parts()
    try:
        return parts[name]
    except KeyError:
        raise KeyError(f"unknown grading part {name!r}; known parts: {sorted(parts)}") from None


def all_parts():
    """Every registered part, by its qualified name."""
    return dict(load_parts())


def parts_of(assignment_name):
    """The parts of one assignment, by their short names."""
    return {p.short_name: p for p in load_parts().values() if p.assignment == assignment_name}
