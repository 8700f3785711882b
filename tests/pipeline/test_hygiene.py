"""House rules that hold for the whole repository."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_FOLDERS = ("book", "solutions", "exercises")
NOTEBOOKS = sorted(p for folder in NOTEBOOK_FOLDERS for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks_to_check():
    assert any(p.parts[-3] == "solutions" for p in NOTEBOOKS), "no solution notebook found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [index for index, cell in enumerate(nb["cells"])
             if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))]
    assert not dirty, f"{path.relative_to(ROOT)}: cells {dirty} hold outputs; clear them before committing"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if "exercises" in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_student_version_holds_no_solution_or_hidden_test(path):
    text = path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{path.relative_to(ROOT)} contains {marker!r}"


def test_import_cnnkit_loads_numpy_only():
    # TensorFlow costs ~5 s to import; a NumPy exercise must not pay for it.
    # autograder.grading too: the hidden test cells of NumPy exercises import it where TensorFlow is forbidden.
    code = ("import sys, cnnkit, autograder.grading; "
            "heavy = [m for m in ('tensorflow', 'keras', 'scipy', 'matplotlib', 'mlxtend', 'sklearn', 'torch') "
            "if m in sys.modules]; print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import cnnkit also imported: {result.stdout.strip()}"


def test_every_public_name_of_the_contract_is_exported():
    import cnnkit

    contract = ["correlate1d", "convolve1d", "conv_output_size", "conv1d", "conv2d", "conv2d_backward",
                "conv_transpose2d", "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
                "global_avg_pool2d", "global_max_pool2d", "dense_to_conv", "nchw_to_nhwc", "nhwc_to_nchw",
                "oihw_to_hwio", "hwio_to_oihw", "numerical_gradient"]
    missing = [name for name in contract if not callable(getattr(cnnkit, name, None))]
    assert not missing, f"cnnkit does not export {missing}"


# The code column of a chapter holds about 74 characters at a 1280-pixel
# window; a longer line wraps to column 0, where it reads as a new statement.
CODE_COLUMN = 74
HIDDEN_CELL_TAGS = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
# Every notebook page: the chapters (book/NN-*) and the unnumbered lessons.
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_visible_code_lines_fit_the_code_column(path):
    nb = json.loads(path.read_text())
    long = [f"cell {cell.get('id', index)}: {len(line)} characters: {line.strip()[:60]}"
            for index, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "code"
            and not HIDDEN_CELL_TAGS & set(cell.get("metadata", {}).get("tags", []))
            for line in "".join(cell["source"]).splitlines()
            if len(line) > CODE_COLUMN]
    assert not long, (f"{path.name}: visible code lines longer than {CODE_COLUMN} characters "
                      "(hidden cells are exempt):\n" + "\n".join(long))
