"""The book builds strictly: warnings are errors, references are nitpicked."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_book_builds_strictly():
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, PATH=f"{jupyter_book.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert (ROOT / "_build" / "html" / "index.html").is_file()
