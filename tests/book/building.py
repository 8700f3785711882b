"""Building a Jupyter Book for the tests: the real one once per test run, or a throwaway one.

pytest-xdist (`-n 2 --dist loadgroup`, see conftest.py) runs test groups on different workers in
any order, so the strict build of the real book happens under a file lock and
its result is recorded with the run's id: whichever worker needs the book
first builds it, and every other test of the same run reuses that build.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRICT = ("-W", "-n", "--keep-going")


@dataclass(frozen=True)
class Build:
    root: Path
    returncode: int
    log: str

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"


def jupyter_book(root: Path, *options: str) -> Build:
    """Run `jupyter-book build <root> <options>` with the venv's tools on PATH."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    # The notebooks' kernels must draw figures inline (ipykernel's default), which
    # an inherited MPLBACKEND (the Makefile's Agg, for tests) would override.
    env.pop("MPLBACKEND", None)
    result = subprocess.run([str(bin_dir / "jupyter-book"), "build", ".", *options], cwd=root, env=env,
                            capture_output=True, text=True)
    return Build(root, result.returncode, result.stdout + result.stderr)


def strict_build_of_the_book() -> Build:
    """The real book's strict build, run once per test run however many workers ask."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"
    build_dir = ROOT / "_build"
    build_dir.mkdir(exist_ok=True)
    record = build_dir / ".strict-build.json"
    with open(build_dir / ".strict-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if record.is_file():
            done = json.loads(record.read_text())
            if done["run"] == run:
                return Build(ROOT, done["returncode"], done["log"])
        # Pages of earlier builds (a chapter since renamed, say) would linger in
        # _build/html; start it afresh. Executed notebooks stay cached elsewhere
        # (_build/.jupyter_cache), so this costs no execution.
        shutil.rmtree(build_dir / "html", ignore_errors=True)
        build = jupyter_book(ROOT, *STRICT)
        record.write_text(json.dumps({"run": run, "returncode": build.returncode, "log": build.log}))
        return build
