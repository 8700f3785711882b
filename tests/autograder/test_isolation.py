"""Isolation by construction: what the student's kernel can and cannot reach, tested with generated attacks.

The mechanisms, each tested as a class of inputs rather than as the payloads
seen so far:

* the kernel never holds the results pipe: whatever it writes to any
  descriptor it has, in any form, can stop its own run but never earn a
  point its functions did not compute;
* the harness is not dumpable: its memory and descriptors are closed to the
  kernel, whatever path under ``/proc`` it tries;
* the hidden cases are in no file: no path the kernel can read holds them;
* a package a run does not allow is not mounted: it cannot be imported from
  any folder of any Python environment on the machine;
* each submission's cases come from its own seed.
"""

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import notebook, sandbox
from autograder.course import assignment_notebook
from autograder.grade import Course
from autograder.state import submission_seed
from autograder.verdict import verdict_of

ASSIGNMENT = "02-convolution"
ROOT = Path(__file__).resolve().parents[2]
LIMITS = sandbox.Limits(wall_seconds=120, cell_seconds=10)


@pytest.fixture(scope="module")
def course():
    if sandbox.bwrap_path() is None:
        pytest.fail("the grader's sandbox needs bubblewrap: apt-get install bubblewrap")
    return Course(ASSIGNMENT)


def _with_cell(course, source, after="conv_output_size_tests"):
    """The course's solution with a cell of the student's added after the cell ``after``."""
    cells = list(course.source)
    index = next(i for i, c in enumerate(cells) if c.grade_id == after)
    return cells[:index + 1] + [notebook.Cell("code", source, {})] + cells[index + 1:]


def _grade(course, cells, tmp_path, seed=0):
    return verdict_of(course.source, course.release, cells, tmp_path / "work", seed, LIMITS)


@pytest.fixture(scope="module")
def honest(course, tmp_path_factory):
    return _grade(course, list(course.source), tmp_path_factory.mktemp("honest"))


# --- the results pipe is out of reach ------------------------------------------------

FRAMES = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.builds(lambda e, extra: (json.dumps({"event": e, "steps": extra, "size": 0, "op": e, "found": True,
                                            "case": extra, "value": {"kind": "float", "value": 1.0}}) + "\n").encode(),
              st.sampled_from(["done", "case", "part", "cell", "result", "call-done", "found", "cell-done", "blob",
                               "stopped"]),
              st.integers(0, 40)),
)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(FRAMES, min_size=1, max_size=4), spray=st.booleans())
def test_writes_to_any_descriptor_never_earn_points(course, honest, tmp_path_factory, frames, spray):
    """Forged frames, garbage, or both, written to every descriptor the kernel has: at most the honest grade."""
    payload = b"".join(frames)
    targets = "range(3, 256)" if spray else "[int(__import__('sys').argv[2])]"
    source = (f"import os\nfor fd in {targets}:\n    try:\n        os.write(fd, {payload!r})\n"
              f"    except OSError:\n        pass")
    verdict = _grade(course, _with_cell(course, source), tmp_path_factory.mktemp("forge"))
    for grade_id, part in verdict.parts.items():
        assert part.points <= honest.parts[grade_id].points, (grade_id, part, verdict.flags)


# (cmdline and stat are public for every process by design, and hold nothing secret: not tried.)
PROC_PATHS = ["mem", "environ", "fd/0", "fd/1", "fd/2", "fd/3", "fd/4", "fd/5", "fd/6", "fd/7", "maps",
              "root/proc/self/environ", "map_files", "fdinfo/3", "stack", "syscall", "pagemap"]


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(paths=st.lists(st.sampled_from(PROC_PATHS), min_size=3, max_size=8, unique=True),
       mode=st.sampled_from(["rb", "wb", "r+b"]))
def test_the_harness_is_closed_to_the_kernel(course, tmp_path_factory, paths, mode):
    """Every /proc path of the harness the kernel tries (read or write) is refused, and ptrace fails."""
    source = f"""
import ctypes, os
harness = os.getppid()
opened = []
for name in {paths!r}:
    try:
        with open(f"/proc/{{harness}}/{{name}}", {mode!r}) as handle:
            handle.read(1) if "r" in {mode!r} and "+" not in {mode!r} else None
        opened.append(name)
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
traced = libc.ptrace(16, harness, 0, 0) == 0  # PTRACE_ATTACH
print("OPENED", opened, "TRACED", traced)
"""
    verdict = _grade(course, _with_cell(course, source), tmp_path_factory.mktemp("proc"))
    output = next(o["output"] for o in verdict.outputs.values() if "OPENED" in o["output"])
    assert "OPENED [] TRACED False" in output, output


def test_no_file_the_kernel_can_read_holds_a_hidden_case(course, tmp_path):
    """Every readable file under /grader, /tmp and /proc/*/environ|cmdline is searched for the cases' arrays."""
    from autograder.grading_api import grading

    seed = 1234
    needles = []
    for case in grading().cases_for("02-convolution/conv2d", seed)[:6]:
        for arg in case.args:
            if hasattr(arg, "tobytes") and arg.size >= 4:
                needles.append(arg.tobytes()[:32].hex())
    source = """
import glob, os
found = []
for path in glob.glob('/grader/**', recursive=True) + glob.glob('/tmp/**', recursive=True) + \\
        glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):
    try:
        if os.path.isfile(path):
            found.append(open(path, 'rb').read(50_000_000).hex())
    except OSError:
        pass
print('READ', len(found))
blob = ''.join(found)
print('HITS', [n for n in NEEDLES if n in blob])
""".replace("NEEDLES", repr(needles))
    verdict = _grade(course, _with_cell(course, source), tmp_path, seed=seed)
    output = next(o["output"] for o in verdict.outputs.values() if "HITS" in o["output"])
    assert "HITS []" in output, output
    assert needles


# --- forbidden packages are not mounted ---------------------------------------------

@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(package=st.sampled_from(["scipy", "tensorflow", "sklearn", "mlxtend", "keras", "pandas"]))
def test_a_package_the_run_does_not_allow_exists_nowhere(course, tmp_path_factory, package):
    """Not on sys.path, not in any site- or dist-packages folder of any environment the sandbox shows."""
    source = f"""
import glob, importlib, sys
prefixes = {{'/usr', '/usr/local', sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}}
roots = [r for p in prefixes for r in glob.glob(p + '/lib*/python3*/*-packages')]
print('ROOTS', len(roots))
hits = [r for r in roots if glob.glob(r + '/{package}') or glob.glob(r + '/{package}.py')]
sys.path[:0] = roots
try:
    importlib.import_module({package!r})
    imported = True
except Exception:
    imported = False
print('PACKAGE', hits, imported)
"""
    verdict = _grade(course, _with_cell(course, source), tmp_path_factory.mktemp("pkg"))
    output = next(o["output"] for o in verdict.outputs.values() if "PACKAGE" in o["output"])
    assert "PACKAGE [] False" in output, output
    assert "ROOTS 0" not in output, output


def test_the_allowlist_keeps_what_the_runner_needs():
    entries = sandbox.package_entries(sandbox.RUNNER_PACKAGES, ("scipy", "tensorflow"))
    names = {e for found in entries.values() for e in found}
    assert {"numpy", "IPython", "matplotlib"} <= names
    assert not names & {"scipy", "tensorflow", "sklearn"}


# --- seeds per submission ---------------------------------------------------------------

@given(key=st.text(min_size=1, max_size=20), digest=st.text(min_size=1, max_size=64),
       other=st.text(min_size=1, max_size=64), secret=st.integers(0, 2**31))
def test_each_submission_has_its_own_seed(key, digest, other, secret):
    seed = submission_seed(secret, key, digest)
    assert seed == submission_seed(secret, key, digest)  # the same file graded again: the same cases
    assert 0 <= seed < 2**31
    if other != digest:
        # A resubmission (other bytes) or a classmate gets other cases (up to a 2**-31 collision).
        assert submission_seed(secret, key, other) != seed or submission_seed(secret + 1, key, other) != seed


def test_everything_the_grader_writes_is_private(tmp_path):
    import subprocess
    import sys

    submissions = tmp_path / "subs"
    submissions.mkdir()
    (submissions / "someone.ipynb").write_bytes(assignment_notebook(ASSIGNMENT).read_bytes())
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out",
                             str(tmp_path / "out"), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    leaks = [str(p) for p in (tmp_path / "out").rglob("*") if p.lstat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]
    assert (tmp_path / "out" / "grades.csv").is_file()
    assert not leaks, leaks


def test_a_sandbox_input_folder_belongs_to_its_run_only(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "model.keras").write_bytes(b"x")
    uid = sandbox.new_uid()
    sandbox.hand_over(tmp_path / "in", uid)
    for path in [tmp_path / "in", tmp_path / "in" / "sub", tmp_path / "in" / "sub" / "model.keras"]:
        info = path.stat()
        assert info.st_uid == uid and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO), (path, oct(info.st_mode))


def test_a_failing_visible_test_shows_its_error_once_and_no_path_of_the_grader(course, tmp_path):
    """The page shows where in the cell it failed and the error once; no folder of the grader's machine."""
    import sys

    cells = [notebook.Cell(c.cell_type, c.source.replace("return", "return 1 +", 1), c.nbgrader)
             if c.grade_id == "correlate1d" else c for c in course.source]
    verdict = _grade(course, cells, tmp_path)
    step = next(n for n, i in verdict.step_ids.items() if i == "correlate1d_example")
    shown = verdict.outputs[step]["output"] + "\n" + (verdict.outputs[step]["error"] or "")
    assert "Where: line" in shown and shown.count("Mismatched elements") == 1, shown
    for path in {sys.prefix, sys.base_prefix, "site-packages"}:
        assert path not in shown, (path, shown)
