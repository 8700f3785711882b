"""Shared fixtures: seeded random generators and a quiet, lazily imported TensorFlow."""

import os
import zlib

import numpy as np
import pytest

# TensorFlow prints C++ start-up chatter; keep test logs readable. Tests that
# need it import it through the fixture so that pure NumPy runs stay fast.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: every test sees fixed, distinct data."""
    # hash() is salted per process, crc32 is not.
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported once per session, float64-capable, on the CPU."""
    import tensorflow as tf

    return tf
