"""The student package holds what students need: ``pip wheel .`` builds ``cnnkit`` alone.

The hidden tests' cases and the grader (``autograder``, with
``autograder.grading``) are course tooling: they must not reach a student's
environment through ``pip install`` of the course.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_cnnkit_and_no_grading_or_grader(tmp_path):
    # Built from a clean copy (with the grader next to cnnkit, as in the repository), so that neither a
    # stale build/ folder can leak into the wheel nor the build litter the working tree.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("cnnkit", "autograder"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), "--quiet"], cwd=source, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("cnnkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name == "cnnkit/__init__.py" for name in names), names
    outside = [name for name in names if not (name.startswith("cnnkit/") or ".dist-info/" in name)]
    assert not outside, f"the student wheel holds more than cnnkit: {outside}"
    leaks = [name for name in names if "grading" in name or "autograder" in name or "solutions" in name]
    assert not leaks, f"the student wheel holds grading code: {leaks}"
    top_level = [name for name in names if name.endswith("top_level.txt")]
    assert top_level and zipfile.ZipFile(wheel).read(top_level[0]).decode().split() == ["cnnkit"]


def test_grading_is_importable_from_a_notebook_folder():
    """The solution notebooks' hidden cells import the check from course tooling, from their own folder."""
    code = "import autograder.grading, cnnkit; print(autograder.grading.__file__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "solutions" / "02-convolution",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\n(run `make setup`, or `python -m autograder.install_tools`)"
    assert Path(result.stdout.strip()).resolve().is_relative_to(ROOT.resolve())
