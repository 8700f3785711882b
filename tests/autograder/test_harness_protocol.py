"""The harness against any kernel: whatever the student's kernel replies, the harness frames a valid result or ends
the run with a reason, and never sends the grader what it did not ask for."""

import json
import os
import subprocess
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autograder import in_sandbox, stream

JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=12)
OPS = st.sampled_from(["cell-done", "result", "call-done", "blob", "found", "model", "ready", "other"])
HEADER = st.fixed_dictionaries({"op": OPS}, optional={
    "error": JSONISH, "output": JSONISH, "figures": JSONISH, "seconds": JSONISH, "forbidden_imports": JSONISH,
    "rebound": JSONISH, "case": st.integers(0, 3) | JSONISH, "value": JSONISH, "kind": st.sampled_from(["png", "npy",
    "keras", "x"]), "id": st.integers(0, 5) | JSONISH, "found": JSONISH, "loaded": JSONISH, "modified_input": JSONISH})


def frame(header, payload):
    return (json.dumps(dict(header, size=len(payload))) + "\n").encode() + payload


REPLY = st.one_of(
    st.binary(max_size=200),
    st.builds(frame, HEADER, st.sampled_from([b"", b"\x89PNG\r\n\x1a\nxx", b"\x93NUMPYxx", b"junk"])),
)


@pytest.fixture(scope="module")
def dummy_kernel():
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()


def harness_with(replies, kernel, step):
    to_kernel_read, to_kernel_write = os.pipe()
    from_kernel_read, from_kernel_write = os.pipe()
    results_read, results_write = os.pipe()
    os.write(from_kernel_write, b"".join(replies)[:60_000])
    os.close(from_kernel_write)  # then the kernel "dies": the harness must not wait forever
    program = {"steps": [step], "cell_timeout": 0.5, "targets": ["f"]}
    harness = in_sandbox.Harness("/nowhere", program, {"x0": b"\x93NUMPY"}, in_sandbox.Results(results_write))
    harness.kernel, harness.pipe = kernel, in_sandbox.KernelPipe(to_kernel_write, from_kernel_read)
    return harness, results_read, results_write, (to_kernel_read, from_kernel_read)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(replies=st.lists(REPLY, max_size=6),
       step=st.sampled_from([{"kind": "cell", "source": "x = 1"},
                             {"kind": "call", "part": "p", "target": "f", "type": "function",
                              "cases": [{"id": 0, "args": [{"array": "x0"}], "kwargs": {}}, {"id": 1, "args": []}]},
                             {"kind": "call", "part": "p", "target": "f", "type": "model", "cases": []}]))
@example(replies=[frame({"op": "cell-done", "figures": [[]]}, b"")], step={"kind": "cell", "source": "x = 1"})
def test_any_kernel_reply_ends_as_a_framed_result_or_a_stated_stop(dummy_kernel, monkeypatch, replies, step):
    monkeypatch.setattr(in_sandbox, "INTERRUPT_GRACE", 0.1)
    monkeypatch.setattr(in_sandbox, "CALL_OVERHEAD", 0.1)
    monkeypatch.setattr(in_sandbox, "_descendants", lambda root: [])
    harness, results_read, results_write, others = harness_with(replies, SimpleNamespace(pid=dummy_kernel.pid), step)
    try:
        harness.step(0, step)
    except in_sandbox.KernelFailed as failure:
        assert str(failure)  # a stated reason, which the grader shows
    finally:
        os.close(results_write)
        raw = b""
        while chunk := os.read(results_read, 1 << 16):
            raw += chunk
        for fd in (results_read, *others, harness.pipe.to_kernel):
            os.close(fd)
    parsed = stream.parse(raw)
    assert not parsed.problem, parsed.problem
    for event in parsed.events:
        assert event["event"] in {"cell", "part", "case", "model", "forbidden-import", "rebound"}, event
        assert event.get("step") == 0, event
        if event["event"] == "case":
            assert event["case"] in (0, 1), event
        if event["event"] == "forbidden-import":
            pytest.fail(f"a module this step does not forbid was reported: {event}")
