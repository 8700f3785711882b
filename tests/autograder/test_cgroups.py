"""Memory and processes bounded by the kernel: each run in a cgroup of its own, and the host keeps its memory.

The attacks (:mod:`tests.autograder.attacks`) are generated: a class of
memory a watchdog cannot see (or can), a chunk size and a number of
processes. Each must be stopped (killed for memory or processes, or refused
its allocations) while the host's MemAvailable, sampled during the run,
never falls by more than the limit plus a margin. What other cgroups than
this test's own were charged meanwhile is taken off the fall (a shared
machine's other users: MemAvailable swung by up to 1.8 GiB in 40 s here);
memory charged to no cgroup, which is what escapes, stays in it. The margin
covers the sandbox's start-up and the rest of that noise; an attack that
escaped would take eight times the limit, far above it. The kernel's own
count of the run's peak is checked too.
"""

import csv
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograder import cgroups, sandbox

from .attacks import KINDS, HostMemory, notebook_cell, run_attack
from .corpus import ASSIGNMENT, SOLVED, answered, insert_after

ROOT = Path(__file__).resolve().parents[2]
LIMIT_MB = 256
TARGET_MB = 8 * LIMIT_MB  # what each attack tries to hold
MARGIN_MB = 768
LIMITS = sandbox.Limits(wall_seconds=60, memory_mb=LIMIT_MB, processes=64)


@pytest.fixture(autouse=True)
def needs_a_cgroup():
    if sandbox.bwrap_path() is None:
        pytest.fail("bubblewrap is not installed: run `make system-deps` (the grader's isolation needs it)")
    why = cgroups.unavailable()
    if why:
        pytest.fail(f"these tests need a cgroup (run them as root, as CI does): {why}")


def leftover_cgroups():
    """Cgroups of this test process's runs that still exist."""
    parents = [cgroups._v2_parent()] if cgroups._v2_parent() is not None else cgroups._v1_parents().values()
    return [path for parent in parents for path in parent.glob(f"autograder-{os.getpid()}-*")]


def assert_stopped_and_contained(kind, outcome, held, drop, refused):
    described = (f"{kind}: {outcome.killed_for=} {held=} MiB {refused=} host drop {drop:.0f} MiB "
                 f"{outcome.stderr_tail[-300:]}")
    assert outcome.cgroup in (1, 2), described
    assert not outcome.timed_out, described
    if kind == "fork-bomb":
        assert outcome.killed_for == "processes", described
    else:
        stopped = outcome.killed_for == "memory" or (refused and held <= LIMIT_MB + 32)
        assert stopped, described
    assert drop <= LIMIT_MB + MARGIN_MB, described
    # The kernel's own count: the limit, plus (v1 only) the TCP buffers that loopback traffic adds between two
    # looks of the poll that holds main plus TCP counters to the limit (measured up to 23 MiB, 6 senders).
    assert outcome.memory_peak <= (LIMIT_MB + LIMIT_MB // 4) * 1024 * 1024, described
    assert not leftover_cgroups()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_memory_is_bounded_by_the_kernel(tmp_path, kind):
    assert_stopped_and_contained(kind, *run_attack(tmp_path, kind, 16, 4, LIMITS, TARGET_MB))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), chunk_mb=st.integers(1, 64), procs=st.integers(1, 6))
def test_generated_attacks_are_stopped_and_the_host_keeps_its_memory(tmp_path_factory, kind, chunk_mb, procs):
    folder = tmp_path_factory.mktemp("attack")
    assert_stopped_and_contained(kind, *run_attack(folder, kind, chunk_mb, procs, LIMITS, TARGET_MB))


def test_honest_code_within_the_limit_is_unaffected(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "honest.py").write_text(textwrap.dedent("""
        import os, sys, threading
        import numpy as np
        # 3 processes, 3 threads each, 140 MiB in all (10 in a memfd, 10 in /tmp) plus 3 interpreters: under 256 MiB.
        def hold():
            a = np.ones(40 * 2**20 // 8)
            t = [threading.Thread(target=a.sum) for _ in range(3)]
            [x.start() for x in t]; [x.join() for x in t]
            return float(a.sum())
        children = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                hold()
                os._exit(0)
            children.append(pid)
        total = hold()
        fd = os.memfd_create("ok")
        os.write(fd, b"x" * (10 * 2**20))
        open("/tmp/grading/file", "wb").write(b"y" * (10 * 2**20))
        codes = [os.waitpid(pid, 0)[1] for pid in children]
        os.write(int(sys.argv[1]), f"{total:.0f} {codes}".encode())
    """))
    (folder / "honest.py").chmod(0o644)
    outcome = sandbox.execute([sys.executable, "-s", f"{sandbox.INPUT}/honest.py", "{results_fd}"], LIMITS,
                              inputs=folder)
    assert outcome.returncode == 0 and not outcome.killed_for, outcome
    assert outcome.stream == f"{40 * 2**20 // 8} [0, 0]".encode(), outcome
    # The processes need not hold their arrays at the same time: the peak is at least one of them.
    assert outcome.cgroup in (1, 2) and 40 * 2**20 < outcome.memory_peak <= LIMIT_MB * 2**20
    assert not leftover_cgroups()


def test_a_cpu_hog_gets_one_core(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "hog.py").write_text(textwrap.dedent("""
        import os, resource, sys, time
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                end = time.monotonic() + 2
                while time.monotonic() < end:
                    pass
                os._exit(0)
            children.append(pid)
        start = time.monotonic()
        for pid in children:
            os.waitpid(pid, 0)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        os.write(int(sys.argv[1]), f"{used.ru_utime + used.ru_stime} {time.monotonic() - start}".encode())
    """))
    (folder / "hog.py").chmod(0o644)
    quotas, remove = [], cgroups.RunCgroup.remove

    def remove_and_remember(group, *args, **kwargs):
        if group.version == 2:
            quotas.append((group.folders["unified"] / "cpu.max").read_text().split())
        else:
            quotas.append([(group.folders["cpu"] / name).read_text().strip()
                           for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us")])
        return remove(group, *args, **kwargs)

    monkeypatch.setattr(cgroups.RunCgroup, "remove", remove_and_remember)
    outcome = sandbox.execute([sys.executable, "-s", f"{sandbox.INPUT}/hog.py", "{results_fd}"], LIMITS, inputs=folder)
    cpu, wall = map(float, outcome.stream.split())
    assert quotas == [["100000", "100000"]]
    # Three spinning processes for 2 s of wall clock each: one core gives them about 2 s of CPU in all
    # (on a machine busy with other work they may get less; never more).
    assert cpu <= 1.15 * wall + 0.2, (cpu, wall)


def test_the_cgroup_is_removed_when_the_run_fails_to_start(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no such program")

    monkeypatch.setattr(sandbox.subprocess, "Popen", broken)
    with pytest.raises(OSError, match="no such program"):
        sandbox.execute(["/nowhere"], LIMITS)
    assert not leftover_cgroups()


def test_cgroups_left_by_a_killed_grader_are_removed_by_the_next_run():
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid now names no process: the "grader" that made the cgroup is gone
    parents = [cgroups._v2_parent()] if cgroups._v2_parent() is not None else list(cgroups._v1_parents().values())
    stale = [parent / f"autograder-{ended.pid}-deadbeef" for parent in parents]
    for folder in stale:
        folder.mkdir()
    cgroups.RunCgroup.make(64 * 2**20, 4).remove()
    assert not any(folder.exists() for folder in stale)


def test_cgroup_v2_gets_every_limit_and_is_killed_whole(tmp_path, monkeypatch):
    # This machine's kernel has its controllers on v1: v2 is checked on a stand-in of its files.
    mount = tmp_path / "unified"
    own = mount / "grader.scope"
    own.mkdir(parents=True)
    for folder in (mount, own):
        (folder / "cgroup.controllers").write_text("cpu memory pids\n")
        (folder / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroups, "_mounts", lambda: ({}, [mount]))
    monkeypatch.setattr(cgroups, "_own_cgroups", lambda: ({}, "/grader.scope"))
    enabled, enable = [], cgroups._enable
    monkeypatch.setattr(cgroups, "_enable", lambda folder, what, required=True: (
        enabled.append((folder.name, what)), enable(folder, what, required)))
    group = cgroups.RunCgroup.make(300 * 2**20, 10)
    folder = group.folders["unified"]
    assert group.version == 2 and folder.parent == own / "autograder-runs"
    read = {name: (folder / name).read_text() for name in ("memory.max", "memory.swap.max", "memory.oom.group",
                                                         "pids.max", "cpu.max")}
    assert read == {"memory.max": str(300 * 2**20), "memory.swap.max": "0", "memory.oom.group": "1",
                    "pids.max": str(10 + cgroups.SANDBOX_TASKS), "cpu.max": "100000 100000"}
    # The grader's own folder holds processes: runs go in a folder of their own, with the controllers enabled.
    assert enabled[:4] == [("grader.scope", "+memory +pids"), ("grader.scope", "+cpu"),
                           ("autograder-runs", "+memory +pids"), ("autograder-runs", "+cpu")], enabled
    assert group.wrap(["prog"])[-2:] == ["--", "prog"] and str(folder / "cgroup.procs") in group.wrap(["prog"])
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    group.kill(timeout=0.1)
    assert (folder / "cgroup.kill").read_text() == "1"


def test_a_required_cgroup_that_cannot_be_made_is_an_error_not_a_silent_fallback(monkeypatch):
    monkeypatch.setenv(cgroups.NO_CGROUP_VARIABLE, "1")
    monkeypatch.setenv(cgroups.REQUIRE_VARIABLE, "1")
    with pytest.raises(cgroups.CgroupError, match="expected a cgroup for the run, but AUTOGRADER_NO_CGROUP"):
        sandbox.execute([sys.executable, "-c", "pass"], LIMITS)


# --- the grade command --------------------------------------------------------------


def grade(submissions, out, *extra, env=None):
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out),
               "--cell-timeout", "10", "--notebook-timeout", "90", "--quiet", *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, **(env or {})})


def write(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))


def test_a_class_with_one_memory_bomb_per_kind_grades_its_honest_students_exactly(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    solution = json.loads(next((ROOT / "solutions" / ASSIGNMENT).glob("*.ipynb")).read_text())
    write(submissions / "honest-ann.ipynb", solution)
    # A classmate who wrote the same code with a comment of their own: not a copy.
    write(submissions / "honest-ben.ipynb",
          answered(dict(SOLVED, correlate1d="# my own\n" + SOLVED["correlate1d"])))
    bombs = [kind for kind in KINDS if kind != "numpy"]  # a plain numpy bomb is the corpus' memory-bomb already
    for kind in bombs:
        # After the first two parts' tests: those points are earned before the bomb goes off.
        write(submissions / f"bomb-{kind}.ipynb",
              insert_after(answered(), "correlate1d_tests", notebook_cell(kind, 16, 4, TARGET_MB)))
    jobs = 2
    with HostMemory() as host:
        result = grade(submissions, out, "--memory-mb", str(LIMIT_MB), "--jobs", str(jobs))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    for name in ("honest-ann", "honest-ben"):
        assert rows[name]["status"] == "ok" and rows[name]["total"] == rows[name]["max"], rows[name]
    for kind in bombs:
        row = rows[f"bomb-{kind}"]
        assert row["status"] in ("stopped-early", "flagged") and float(row["total"]) < float(row["max"]), row
    # At most `jobs` submissions run at once, each held to its limit.
    assert host.drop_mb <= jobs * LIMIT_MB + MARGIN_MB, (host.drop_mb, host.raw_drop_mb)
    assert not leftover_cgroups()


def test_without_a_cgroup_grade_refuses_and_says_what_would_be_unbounded(tmp_path):
    write(tmp_path / "submissions" / "ann.ipynb", answered())
    result = grade(tmp_path / "submissions", tmp_path / "out", env={cgroups.NO_CGROUP_VARIABLE: "1"})
    assert result.returncode == 2, result.stdout + result.stderr
    for words in ("cannot bound each submission by a cgroup", "shared memory", "memfd", "kernel memory",
                  "socket buffers", "extended attributes of tmpfs", "only the watchdog's estimate", "--no-cgroup",
                  "nothing was graded"):
        assert words in result.stderr, (words, result.stderr)
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_no_cgroup_grades_with_the_watchdog_and_warns(tmp_path):
    write(tmp_path / "submissions" / "ann.ipynb", answered())
    result = grade(tmp_path / "submissions", tmp_path / "out", "--no-cgroup", env={cgroups.NO_CGROUP_VARIABLE: "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING: grading without a cgroup (--no-cgroup)" in result.stderr and "memfd" in result.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert rows["ann"]["status"] == "ok" and rows["ann"]["total"] == rows["ann"]["max"], rows


def test_a_students_check_works_without_a_cgroup(tmp_path):
    write(tmp_path / "nb.ipynb", answered())
    result = subprocess.run([sys.executable, "-m", "autograder", "check", str(tmp_path / "nb.ipynb")], cwd=ROOT,
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, cgroups.NO_CGROUP_VARIABLE: "1"})
    assert result.returncode == 0 and "will be graded" in result.stdout, result.stdout + result.stderr
