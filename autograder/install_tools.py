"""Make the course tooling importable in this Python environment: ``python -m autograder.install_tools``.

The student package ``cnnkit`` is installed with pip; the grader
(``autograder``, with the hidden tests' cases in ``autograder.grading``) is
course tooling that works only next to the repository's ``solutions/``. This
writes one ``.pth`` file into the environment's site-packages naming the
repository, so that ``import autograder`` works from any folder, e.g. in a
solution notebook's kernel (its working folder is the notebook's). ``make
setup`` runs it; run it once in any other virtual environment you use.
"""

import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PTH_NAME = "cnn-course-tools.pth"


def main():
    target = Path(sysconfig.get_paths()["purelib"]) / PTH_NAME
    target.write_text(f"{ROOT}\n")
    print(f"course tooling: {target} -> {ROOT}")


if __name__ == "__main__":
    main(*sys.argv[1:])
