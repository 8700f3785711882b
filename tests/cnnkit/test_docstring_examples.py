"""The `Examples` of cnnkit's docstrings run, and show what they claim (the API page prints them).

Every module of the package is searched, as `pytest --doctest-modules` would;
an example that needs TensorFlow or Keras is skipped (importing them costs
seconds; the ops are compared with TensorFlow in their own tests).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import cnnkit

HEAVY = ("tensorflow", "keras", "import tf")
MODULES = sorted(info.name for info in pkgutil.walk_packages(cnnkit.__path__, "cnnkit."))


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            # A name re-exported by a package is found under each module: one run per name.
            if test.examples:
                found.append(test)
    return sorted({t.name: t for t in found if t.examples}.values(), key=lambda t: t.name)


EXAMPLES = _examples()


def test_there_are_examples_to_run():
    assert len(EXAMPLES) >= 5, [t.name for t in EXAMPLES]


@pytest.mark.parametrize("test", EXAMPLES, ids=lambda t: t.name)
def test_docstring_example(test):
    if any(word in example.source for example in test.examples for word in HEAVY):
        pytest.skip("needs TensorFlow")
    test.globs = dict(test.globs, np=np)
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
