"""The sandbox: an allowlist of what exists inside, limits on the submission as a whole, any Python layout."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.grade import graded_parts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def needs_bubblewrap():
    if sandbox.bwrap_path() is None:
        pytest.fail("bubblewrap is not installed: run `make system-deps` (the grader's isolation needs it)")


def run_probe(tmp_path, code, limits=None, **kwargs):
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "probe.py").write_text(textwrap.dedent(code))
    folder.chmod(0o755)
    (folder / "probe.py").chmod(0o644)
    return sandbox.execute([sys.executable, "-s", f"{sandbox.INPUT}/probe.py", "{results_fd}"],
                       limits or sandbox.Limits(wall_seconds=60), inputs=folder, capture_stdout=True, **kwargs)


def test_only_the_allowlist_exists_inside(tmp_path):
    outcome = run_probe(tmp_path, """
        import json, os, sys
        os.write(int(sys.argv[1]), json.dumps({
            "top": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
            "home": os.path.exists("/home"), "run": os.path.exists("/run"), "var": os.path.exists("/var"),
            "readme": os.path.exists(%r), "tmp": sorted(os.listdir("/tmp")),
        }).encode())
    """ % str(ROOT / "README.md"))
    seen = json.loads(outcome.stream)
    python_tops = {p.parts[1] for p in sandbox.python_folders()}
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "dev", "proc", "tmp", "grader"}
    assert set(seen["top"]) <= allowed | python_tops, seen["top"]
    assert not (seen["home"] and "home" not in python_tops) and not seen["run"] and not seen["var"]
    assert not seen["readme"], "the course repository must not be visible"
    assert set(seen["etc"]) <= set(sandbox.ETC_FILES)
    # /tmp holds the working folder, and the folders leading to a Python environment kept under /tmp.
    under_tmp = {p.parts[2] for p in sandbox.python_folders() if p.parts[1] == "tmp" and len(p.parts) > 2}
    assert set(seen["tmp"]) == {"grading"} | under_tmp, seen["tmp"]


def test_unix_sockets_of_the_machine_are_unreachable(tmp_path):
    path = Path("/run") / f"autograder-test-{os.getpid()}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        outcome = run_probe(tmp_path, """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(%r)
                result = b"connected"
            except OSError as exc:
                result = type(exc).__name__.encode()
            os.write(int(sys.argv[1]), result)
        """ % str(path))
    finally:
        server.close()
        path.unlink()
    assert outcome.stream in (b"FileNotFoundError", b"ConnectionRefusedError", b"PermissionError"), outcome
    assert not accepted


def test_files_written_to_tmpfs_count_against_memory(tmp_path):
    limits = sandbox.Limits(wall_seconds=60, memory_mb=400, disk_mb=2048)
    outcome = run_probe(tmp_path, """
        import time
        blob = bytearray(200 * 1024 * 1024)      # 200 MiB of memory, under the limit alone
        with open("/tmp/grading/big", "wb") as f:   # and 300 MiB in a tmpfs file: 500 MiB in all
            for _ in range(30):
                f.write(b"x" * (10 * 1024 * 1024))
        time.sleep(30)
    """, limits)
    assert outcome.killed_for == "memory", outcome
    assert outcome.seconds < 30


def test_what_a_submission_writes_is_capped_in_total(tmp_path):
    limits = sandbox.Limits(wall_seconds=60, disk_mb=40)
    outcome = run_probe(tmp_path, """
        import os, sys
        written = 0
        try:
            for number in range(20):    # 20 files of 5 MiB, each under any per-file limit
                with open(f"/tmp/grading/f{number}", "wb") as f:
                    f.write(b"x" * (5 * 1024 * 1024))
                written += 5
        except OSError as exc:
            pass
        os.write(int(sys.argv[1]), str(written).encode())
    """, limits)
    assert int(outcome.stream) <= 40, outcome


def test_sleeping_runs_meet_the_wall_clock(tmp_path):
    outcome = run_probe(tmp_path, """
        import os, time
        if os.fork() == 0:
            time.sleep(300)     # a child that sleeps: no CPU time is used
        time.sleep(300)
    """, sandbox.Limits(wall_seconds=3))
    assert outcome.timed_out and outcome.seconds < 15


def test_results_beyond_the_cap_stop_the_run(tmp_path):
    outcome = run_probe(tmp_path, """
        import os, sys
        chunk = b"x" * (1 << 20)
        while True:
            os.write(int(sys.argv[1]), chunk)
    """, stream_cap=8 * 1024 * 1024)
    assert outcome.stream_overflow and len(outcome.stream) <= 8 * 1024 * 1024


def _layout_python(tmp_path, kind):
    """A Python environment laid out as instructors keep them, borrowing this one's packages."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    if kind == "home-venv":
        base = Path(sys.base_prefix) / "bin" / "python3"
        prefix = tmp_path / "home" / "alice" / ".local" / "share" / "venvs" / "course"
    elif kind == "system-python-venv":
        base = Path("/usr/bin/python3")
        version = subprocess.run([str(base), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                                 text=True).stdout.strip()
        if version != str(sys.version_info[:2]):
            pytest.fail(f"the system Python is {version}, not this {sys.version_info[:2]}: cannot borrow packages")
        prefix = tmp_path / "home" / "bob" / "envs" / "course"
    else:
        raise ValueError(kind)
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(prefix)], check=True)
    # The home folders themselves are private, as they are on real machines.
    for folder in (tmp_path / "home", *[p for p in (tmp_path / "home").iterdir()]):
        folder.chmod(0o700)
    lib = next((prefix / "lib").iterdir()) / "site-packages"
    (lib / "borrowed.pth").write_text(site + "\n")
    return prefix / "bin" / "python"


@pytest.mark.parametrize("kind", ["home-venv", "system-python-venv"])
def test_the_course_solution_earns_full_marks_from_a_python_in_a_home_folder(tmp_path, kind):
    python = _layout_python(tmp_path, kind)
    submissions, out = tmp_path / "subs", tmp_path / "out"
    submissions.mkdir()
    source = ROOT / "solutions" / "02-convolution" / "convolution.ipynb"
    (submissions / "teacher.ipynb").write_bytes(source.read_bytes())
    (submissions / "blank.ipynb").write_bytes((ROOT / "exercises" / "02-convolution" / source.name).read_bytes())
    result = subprocess.run([str(python), "-m", "autograder", "grade", "02-convolution", str(submissions), "--out",
                             str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split(",")[0]: line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]}
    top = f"{sum(points for _, points in graded_parts(source)):g}"
    assert rows["teacher"][-3:] == [top, top, "ok"], rows  # the source notebook: no "edited" flags either
    assert rows["blank"][-3] == "0"
