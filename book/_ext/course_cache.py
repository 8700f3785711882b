"""The executed chapters' cache, keyed on everything that changes their outputs.

jupyter-cache (`execute.cache` in `_config.yml`) keys a notebook on its own
code only, and Sphinx re-reads a page only when its file changed: after an
edit of `cnnkit`, of the pinned requirements or of `_config.yml`, or with
another number of threads for TensorFlow or BLAS (the Makefile sets them;
float sums in another order), a build would show the old outputs and run
none of the chapters' hidden checks. So the build hashes those files and
variables with the chapters (`execution_key`); when the
hash differs from the one stored in the cache folder, it empties the cache
and re-reads every page, so that every chapter is executed again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Relative to the book's root (the repository): what a chapter's outputs depend on.
KEYED = ("book/*.ipynb", "cnnkit/**/*.py", "requirements.txt", "pyproject.toml", "_config.yml")
# Environment variables that change a chapter's numbers (the order of float sums).
KEYED_ENVIRONMENT = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
KEY_FILE = "course-execution-key.txt"


def execution_key(root: Path, environ=None) -> str:
    """SHA-256 of the paths and contents of the files in ``KEYED`` under ``root``, and of ``KEYED_ENVIRONMENT``."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for name in KEYED_ENVIRONMENT:
        digest.update(f"{name}={environ.get(name, '')}".encode() + b"\0")
    files = sorted({path for pattern in KEYED for path in Path(root).glob(pattern)
                    if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_folder(app: Sphinx) -> Path | None:
    path = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(app.srcdir, path).resolve() if path else None


def key_the_cache(app: Sphinx, config) -> None:
    """Empty the execution cache when the key changed; remember to re-read every page."""
    app.course_rerun = False
    folder = cache_folder(app)
    if folder is None:
        return
    key = execution_key(Path(app.srcdir))
    stored = folder / KEY_FILE
    if stored.is_file() and stored.read_text().strip() == key:
        return
    if folder.exists():
        logger.info(f"course: chapters, cnnkit, requirements or _config.yml changed: emptying {folder}")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored.write_text(key + "\n")
    app.course_rerun = True


def reread_everything(app: Sphinx, env, added, changed, removed) -> list[str]:
    """After a new key, pages Sphinx holds as current are read (executed) again."""
    return sorted(env.found_docs - added - changed - removed) if getattr(app, "course_rerun", False) else []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", key_the_cache)
    app.connect("env-get-outdated", reread_everything)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
