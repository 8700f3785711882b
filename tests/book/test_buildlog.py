"""`make book`'s log filter: known noise out, everything else through, and a count of what was left out."""

import importlib.util
import io

from .building import ROOT

_spec = importlib.util.spec_from_file_location("buildlog", ROOT / "book" / "_ext" / "buildlog.py")
buildlog = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(buildlog)

# Lines as `make book` printed them before the filter (one chapter's kernel).
NOISE = """\
[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication (including code and outputs) is sent in plain text and is susceptible to eavesdropping. Use IPC transport or launch with kernel manager-provisioned CurveZMQ keys to enable transport encryption.
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796151684.065021   10749 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796151684.070876   10749 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
"""
KEPT = """\
Running Sphinx v7.4.7
/repo/book/02-convolution.ipynb: Executing notebook using local CWD [mystnb]
/repo/book/02-convolution.ipynb:12: WARNING: undefined label: 'fig-missing'
E0000 something that is not TensorFlow's start-up prefix
build succeeded, 1 warning.
"""


def filtered(text: str) -> str:
    out = io.StringIO()
    buildlog.main(io.StringIO(text), out)
    return out.getvalue()


def test_known_noise_is_left_out_and_counted():
    out = filtered(KEPT[:KEPT.index("/repo/book/02")] + NOISE + KEPT[KEPT.index("/repo/book/02"):])
    lines = out.splitlines()
    assert lines[:-1] == KEPT.splitlines()
    assert lines[-1].startswith("(left out of this log as known noise: 3 x TensorFlow start-up, "
                                "1 x Kernel is running over TCP without encryption")


def test_a_clean_log_passes_unchanged():
    assert filtered(KEPT) == KEPT


EDITABLE = """\
  /tmp/pip-build-env-6ssthf_c/overlay/lib/python3.11/site-packages/setuptools/command/editable_wheel.py:354: BuildBackendWarning: Editable installation.
  !!

          ********************************************************************************
          Please be careful with folders in your working directory with the same
          name as your package as they may take precedence during imports.
          ********************************************************************************

  !!
    with strategy, WheelFile(wheel_path, "w") as wheel_obj:
"""


def test_setuptools_block_is_left_out_whole():
    out = filtered("before\n" + EDITABLE + "after\n")
    assert out.splitlines()[:2] == ["before", "after"]
    assert "10 x setuptools' editable-installation advice" in out


def test_a_block_that_does_not_end_as_known_is_given_back():
    text = EDITABLE.splitlines(keepends=True)[0] + "".join(f"line {i}\n" for i in range(30))
    assert filtered(text) == text
