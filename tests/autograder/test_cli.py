"""The grade command's inputs, outputs and engines, on a small class."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.submissions import collect

from .corpus import ASSIGNMENT, answered, release

ROOT = Path(__file__).resolve().parents[2]
NAME = "convolution.ipynb"


def write(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(notebook if isinstance(notebook, bytes) else json.dumps(notebook).encode())


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def rows(out):
    return {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}


def test_collect_reads_both_layouts_and_names_every_problem(tmp_path):
    write(tmp_path / "ann" / ASSIGNMENT / NAME, release())
    write(tmp_path / "ben" / "01-architecture" / "architecture.ipynb", release())
    write(tmp_path / "cat" / ASSIGNMENT / "other.ipynb", release())
    write(tmp_path / "dan.ipynb", release())
    write(tmp_path / "eve.ipynb", b"")
    write(tmp_path / "ann.ipynb", release())  # ann twice
    write(tmp_path / "notes.txt", b"not a submission")
    write(tmp_path / "bad name!.ipynb", release())
    write(tmp_path / "bell\x07.ipynb", release())
    found = {s.student: s for s in collect(tmp_path, ASSIGNMENT, NAME)}
    assert sorted(found) == ["ann", "bad name!", "bell", "ben", "cat", "dan", "eve", "notes"]
    # ann twice: one row, the newest entry graded, a note naming both.
    assert found["ann"].status == "ok" and found["ann"].path.name == "ann.ipynb"
    assert "'ann'" in found["ann"].collision and "'ann.ipynb'" in found["ann"].collision
    assert found["notes"].status == "bad-file" and "not a notebook" in found["notes"].problem
    assert found["ben"].status == "wrong-assignment" and "01-architecture" in found["ben"].problem
    assert found["cat"].status == "missing-notebook" and "other.ipynb" in found["cat"].problem
    assert found["dan"].status == "ok" and found["dan"].path.name == "dan.ipynb"
    assert found["eve"].status == "ok"  # read, and found empty, when it is graded
    # Any printable name is graded, under a key that is safe as a file name.
    assert found["bad name!"].status == "ok" and found["bad name!"].key.startswith("bad_name-")
    assert found["bell"].status == "bad-name" and "\\x07" in found["bell"].problem


def test_missing_submissions_folder_is_an_error_that_names_it(tmp_path):
    result = run("grade", ASSIGNMENT, tmp_path / "nowhere", "--out", tmp_path / "out", check=False)
    assert result.returncode == 2 and "SUBMISSIONS must be a folder" in result.stderr


def test_unknown_assignment_is_an_error_that_lists_the_known_ones(tmp_path):
    result = run("grade", "99-nothing", tmp_path, "--out", tmp_path / "out", check=False)
    assert result.returncode == 2 and "02-convolution" in result.stderr


def test_nbgrader_layout_with_progress_bar(tmp_path):
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    write(submissions / "ann" / ASSIGNMENT / NAME, answered())
    write(submissions / "ben" / ASSIGNMENT / NAME, release())
    result = run("grade", ASSIGNMENT, submissions, "--out", out, "--jobs", "2")
    graded = rows(out)
    review = (out / "review.csv").read_text()
    assert float(graded["ann"]["total"]) == float(graded["ann"]["max"]) and graded["ann"]["status"] == "ok", review
    assert float(graded["ben"]["total"]) == 0.0
    assert "grading" in result.stderr and "2/2" in result.stderr  # tqdm's bar, with the last status
    assert (out / "feedback" / "ann.html").is_file() and (out / "feedback" / "ben.html").is_file()
    assert "2 submissions" in result.stdout


def test_dask_cluster_on_loopback_grades_like_local_processes(tmp_path):
    from distributed import LocalCluster

    submissions = tmp_path / "flat"
    write(submissions / "ann.ipynb", answered())
    write(submissions / "ben.ipynb", release())
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        run("grade", ASSIGNMENT, submissions, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
            "--seed", "11", "--quiet")
    run("grade", ASSIGNMENT, submissions, "--out", tmp_path / "local", "--seed", "11", "--quiet")
    assert rows(tmp_path / "dask") == rows(tmp_path / "local")


def test_without_bubblewrap_code_still_runs_limited_and_is_flagged(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    command, sandboxed = sandbox.command(["python", "-c", "pass"], sandbox.Limits())
    assert not sandboxed and command[0].endswith("prlimit") and any(a.startswith("--nproc=") for a in command)


def test_sandbox_hides_the_course_and_the_network(tmp_path):
    probe = (
        "import os, socket, sys\n"
        "print('repo', os.path.exists(%r))\n"
        "print('cnnkit', __import__('importlib').util.find_spec('cnnkit') is not None)\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "    print('net open')\n"
        "except OSError:\n"
        "    print('net closed')\n"
        "print('uid', os.getuid())\n"
    ) % str(ROOT / "solutions")
    (tmp_path / "probe.py").write_text(probe)
    tmp_path.chmod(0o755)
    if sandbox.bwrap_path() is None:
        pytest.fail("bubblewrap is not installed: run `make system-deps` (the grader's isolation needs it)")
    outcome = sandbox.execute([sys.executable, f"{sandbox.INPUT}/probe.py"], sandbox.Limits(), inputs=tmp_path,
                          capture_stdout=True)
    assert outcome.sandboxed
    out = outcome.stdout
    assert "repo False" in out and "cnnkit False" in out and "net closed" in out, out + outcome.stderr_tail
    if sandbox.os.geteuid() == 0:
        assert "uid 0" not in out


def test_missing_submissions_folder_writes_nothing_to_out(tmp_path):
    result = run("grade", ASSIGNMENT, tmp_path / "nowhere", "--out", tmp_path / "out", check=False)
    assert result.returncode == 2 and not (tmp_path / "out").exists()


def test_the_selftest_refuses_to_grade_when_the_sandbox_cannot_run_the_course(tmp_path):
    write(tmp_path / "subs" / "ann.ipynb", answered())
    # 80 MiB cannot even hold Python and NumPy: the course's own solution would score 0.
    result = run("grade", ASSIGNMENT, tmp_path / "subs", "--out", tmp_path / "out", "--memory-mb", "80", "--quiet",
                 check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "self-test failed" in result.stderr and "solution earns 0" in result.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_without_bubblewrap_the_warning_is_printed_even_when_quiet(tmp_path):
    import os

    write(tmp_path / "subs" / "ann.ipynb", answered())
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "subs"),
                             "--out", str(tmp_path / "out"), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                            timeout=900, env=dict(os.environ, AUTOGRADER_BWRAP=""))
    assert "WARNING: bubblewrap" in result.stderr
    assert rows(tmp_path / "out")["ann"]["status"] == "unsandboxed"


def test_one_student_is_regraded_alone(tmp_path):
    submissions, out = tmp_path / "subs", tmp_path / "out"
    write(submissions / "ann.ipynb", answered())
    write(submissions / "ben.ipynb", release())
    run("grade", ASSIGNMENT, submissions, "--out", out, "--quiet")
    before = rows(out)
    write(submissions / "ann.ipynb", release())  # both change; only ann is asked for
    write(submissions / "ben.ipynb", answered())
    run("grade", ASSIGNMENT, submissions, "--out", out, "--quiet", "--student", "ann")
    after = rows(out)
    assert float(after["ann"]["total"]) == 0.0 and after["ben"] == before["ben"]
    result = run("grade", ASSIGNMENT, submissions, "--out", out, "--quiet", "--student", "nobody", check=False)
    assert result.returncode == 2 and "nobody" in result.stderr


def test_an_incomplete_run_exits_non_zero(monkeypatch, capsys):
    from autograder import __main__ as cli
    from autograder import grade as grading

    monkeypatch.setattr(grading, "grade", lambda *a, **k: ([], False))
    grading.grade.elapsed, grading.grade.graded_now = 0.0, 0
    assert cli.main(["grade", ASSIGNMENT, ".", "--out", "/nonexistent", "--quiet"]) == 1
    assert "incomplete" in capsys.readouterr().err


def test_a_worker_failure_is_a_grader_error_row_and_the_run_is_incomplete(monkeypatch, tmp_path):
    from autograder import grade as grading

    write(tmp_path / "subs" / "ann.ipynb", answered())
    write(tmp_path / "subs" / "ben.ipynb", release())

    def broken(course, student, *args, **kwargs):
        if student == "ben":
            raise RuntimeError("a bug in the grader")
        return real(course, student, *args, **kwargs)

    real = grading.grade_one
    monkeypatch.setattr(grading, "grade_one", broken)
    monkeypatch.setattr(grading, "_executor", lambda jobs, scheduler: (_Inline(), None))
    found, complete = grading.grade(ASSIGNMENT, tmp_path / "subs", tmp_path / "out")
    statuses = {row.student: row.status for row in found}
    assert statuses == {"ann": "ok", "ben": "grader-error"} and not complete


class _Inline:
    """An executor that runs tasks in this process (so that monkeypatches apply)."""

    def submit(self, fn, *args):
        import concurrent.futures

        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait=True):
        pass


def test_the_fingerprint_covers_everything_that_decides_a_grade(monkeypatch, tmp_path):
    from autograder import state
    from autograder.sandbox import Limits

    files = set(state.code_files())
    for needed in (ROOT / "cnnkit" / "conv2d.py", ROOT / "autograder" / "verdict.py", ROOT / "autograder" / "in_sandbox.py"):
        assert needed in files
    assert any("grading" in str(p) for p in files)
    probe = tmp_path / "op.py"
    probe.write_text("a = 1")
    monkeypatch.setattr(state, "code_files", lambda: [probe])
    notebook_path = ROOT / "solutions" / ASSIGNMENT / NAME
    first = state.assignment_fingerprint(notebook_path, notebook_path, 1, Limits())
    probe.write_text("a = 2")
    assert state.assignment_fingerprint(notebook_path, notebook_path, 1, Limits()) != first
    assert state.assignment_fingerprint(notebook_path, notebook_path, 2, Limits()) != \
        state.assignment_fingerprint(notebook_path, notebook_path, 1, Limits())


def test_limits_have_one_source(capsys):
    from autograder.__main__ import _parser
    from autograder.sandbox import Limits

    text = _parser()._subparsers._group_actions[0].choices["grade"].format_help()
    for flag, _, _, default, _ in Limits.options():
        assert flag in text and f"default {default:g}" in text


# --- the student's check before hand-in ---------------------------------------------


def check(path, *extra):
    return subprocess.run([sys.executable, "-m", "autograder", "check", str(path), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_check_passes_a_solved_and_a_blank_notebook(tmp_path):
    write(tmp_path / "solved.ipynb", answered())
    write(tmp_path / "blank.ipynb", release())
    solved, blank = check(tmp_path / "solved.ipynb"), check(tmp_path / "blank.ipynb")
    assert solved.returncode == 0 and "will be graded" in solved.stdout and "02-convolution" in solved.stdout
    assert blank.returncode == 0 and "not answered yet" in blank.stdout, blank.stdout


@pytest.mark.parametrize("case", ["edited-test", "missing-answer", "forbidden-import", "other-assignment",
                                  "not-json"])
def test_check_refuses_what_the_grader_would_not_grade(tmp_path, case):
    from .corpus import SOLVED, delete, edit

    notebooks = {
        "edited-test": lambda: edit(answered(), "correlate1d_example", "pass"),
        "missing-answer": lambda: delete(answered(), "convolve1d"),
        "forbidden-import": lambda: answered(dict(SOLVED, correlate1d="import scipy\n" + SOLVED["correlate1d"])),
        "other-assignment": lambda: {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
        "not-json": lambda: b"{",
    }
    write(tmp_path / "nb.ipynb", notebooks[case]())
    result = check(tmp_path / "nb.ipynb", *(["--assignment", ASSIGNMENT] if case == "other-assignment" else []))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "will NOT be graded" in result.stdout


def test_check_gives_each_part_its_visible_tests_status_and_keeps_the_end_of_a_message(tmp_path):
    """A part whose visible test fails is not "ok": the report says so, with the ACTUAL/DESIRED end of the message."""
    from .corpus import SOLVED

    wrong = SOLVED["correlate1d"].replace("return", "return 1 +", 1)
    write(tmp_path / "nb.ipynb", answered(dict(SOLVED, correlate1d=wrong)))
    result = check(tmp_path / "nb.ipynb")
    lines = result.stdout.splitlines()
    part = [line for line in lines if "correlate1d" in line and "visible test fails" in line and "defined" in line]
    assert part and "DESIRED" in part[0], result.stdout
    assert not any(line.strip().startswith("ok") and "correlate1d`" in line for line in lines), result.stdout
    assert "running the notebook in the grader's sandbox" in result.stdout
    assert any(line.strip().startswith("ok") and "passes its visible test" in line for line in lines), result.stdout


def test_dask_workers_that_cannot_grade_are_named_before_grading(tmp_path):
    """A worker that does not see a path the grade needs is reported, and nothing is graded."""
    from distributed import LocalCluster

    from autograder.grade import SetupError, _check_workers, worker_problems

    missing = tmp_path / "not-on-the-workers"
    assert worker_problems([str(tmp_path)], False) == []
    assert any(str(missing) in p for p in worker_problems([str(missing)], False))
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        _check_workers(cluster.scheduler_address, [tmp_path], require_cgroup=False)
        with pytest.raises(SetupError, match="not-on-the-workers"):
            _check_workers(cluster.scheduler_address, [tmp_path, missing], require_cgroup=False)
