"""A hidden test cell's ``check`` refuses under ``nbgrader autograde`` and runs everywhere else."""

import pytest

from autograder.grading import check
from autograder.grading.kernel_guard import GradedOutsideSandbox, under_nbgrader_autograde


def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    if span > n + 2 * padding:
        raise ValueError("the kernel does not fit")
    return (n + 2 * padding - span) // stride + 1


def test_check_scores_outside_nbgrader(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)  # nbval, a maintainer's Jupyter
    assert check("02-convolution/conv_output_size", conv_output_size) == 2.0


def test_check_refuses_under_nbgrader_autograde_with_the_command_to_use(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(GradedOutsideSandbox, match=r"python -m autograder grade .*--gradebook"):
        check("02-convolution/conv_output_size", conv_output_size)
    assert "REFUSED" in capsys.readouterr().err


def test_validate_is_not_autograde():
    # nbgrader validate runs the student's version, which has no hidden tests; an instructor's
    # validate of the source notebook must still pass.
    assert not under_nbgrader_autograde({"NBGRADER_EXECUTION": "validate"})
    assert under_nbgrader_autograde({"NBGRADER_EXECUTION": "autograde"})
