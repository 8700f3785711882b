"""Kernel launcher for the notebook run: starts ``ipykernel`` inside the sandbox.

While grading, ``python3`` names a kernel spec whose command is this module
(the grader puts that spec first on ``JUPYTER_PATH`` for nbgrader only). nbclient
starts it in the student's own autograded folder with a connection file that
uses Unix sockets (``ipc`` transport), since the kernel has no network at all.
The kernel sees that folder (writable), the socket folder, the Python
environment and the installed ``cnnkit`` (the notebook's hidden tests call
``autograder.grading``), and nothing else of the course, the other submissions
or the gradebook.
"""

import json
import os
import sys
from pathlib import Path

from . import sandbox
from .course import ROOT


def main(argv):
    connection_file = Path(argv[0]).resolve()
    # The kernel runs as an unprivileged user: it must be able to read its
    # connection file (it holds nothing but this kernel's key).
    os.chmod(connection_file, 0o644)
    settings = json.loads(os.environ.get("AUTOGRADER_KERNEL", "{}"))
    limits = sandbox.Limits(**settings.get("limits", {}))
    student_folder = Path.cwd().resolve()
    kernel = [sys.executable, "-s", "-m", "ipykernel_launcher", "-f", str(connection_file)]
    env = {"CNNKIT_GRADING_SEED": str(settings.get("seed", ""))} if settings.get("seed") is not None else {}
    cmd, _ = sandbox.command(
        student_folder, kernel, limits,
        hide=settings.get("hide", []),
        expose=[ROOT / "cnnkit", ROOT / "autograder"],
        writable=[connection_file.parent],
        mount_at=str(student_folder),
        env=env,
    )
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
