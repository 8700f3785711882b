# The course's jobs. The README's two commands are `make book` and `make test`;
# both set up the environment first and are quick when it is already there.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
# The venv's real folder: a .venv that links to another checkout's venv is a
# path the grader's sandbox does not mount.
BIN    := $(or $(realpath $(VENV)),$(abspath $(VENV)))/bin
JOBS   ?= 2
# The stamp names the hash of the pins and the package metadata, not their
# dates: a fresh clone or a second worktree sharing the venv does not
# re-install (a re-install would point the venv's editable cnnkit at it).
SETUP_HASH := $(shell cat requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(SETUP_HASH)

# nbgrader starts `alembic` by name, and kernels must find the venv's Python.
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export MPLBACKEND := Agg
# One TensorFlow thread per process: the chapters' kernels, the test workers and the grader's runs
# share two cores, where TensorFlow's second thread mostly waits (one epoch of chapter 7's CNN: 6.1 s
# of CPU with one thread, 8.3 s with two, and faster on the clock too). The executed chapters'
# cache is keyed on these (book/_ext/course_cache.py). Set them to 0 for TensorFlow's own choice.
export TF_NUM_INTRAOP_THREADS ?= 1
export TF_NUM_INTEROP_THREADS ?= 1

# Debian packages the test suite needs: the browser tests' headless Chromium
# and the grader's sandbox (bubblewrap). The book itself needs none of them.
APT_PACKAGES := chromium bubblewrap

# pytest over both workers. A test file runs on one worker (its module
# fixtures are built once), except where conftest.py splits it; the longest
# groups start first (conftest.py: the strict build, the throwaway books,
# the solutions' notebooks), so neither worker waits idle at the end.
# ARGS: more pytest options, e.g. make test ARGS=--durations=30
PYTEST := $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --no-loadscope-reorder $(ARGS)
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: help setup checkout system-deps book test test-fast test-chapter exercises check-exercises colab-cells \
	grade gradescope bench bench-grade mutants clean

help:
	@echo "make book        set up, then build the book into _build/html"
	@echo "make test        set up, then run every test (what CI runs)"
	@echo "make test-fast   the tests that need no chapter executed (< 3 min): cnnkit, grading, pipeline, autograder"
	@echo "make test-chapter N=08  what proves chapter 08: its claims, generation, hygiene, op, solution, page"
	@echo "make exercises [ASSIGNMENT=02-convolution]  regenerate exercises/ from solutions/ (default: all)"
	@echo "make colab-cells write the chapters' Colab set-up cell from _config.yml"
	@echo "make grade ASSIGNMENT=02-convolution SUBMISSIONS=dir OUT=dir"
	@echo "make gradescope ASSIGNMENT=02-convolution [OUT=file.zip]  Gradescope's autograder zip"
	@echo "make bench       time cnnkit against TensorFlow, and a cnnkit.nn epoch against Keras (quiet, then --hog)"
	@echo "make bench-grade submissions per minute of the autograder"
	@echo "make mutants     kill rate of the hidden cases on AST mutants of every solution (not in make test)"
	@echo "make clean       remove build outputs (keeps the environment)"

# NO_INSTALL=1: a venv borrowed from another checkout, used as it is (see `checkout`).
setup: $(if $(NO_INSTALL),,$(STAMP)) checkout

# Re-install only when the pins or the package metadata change.
# pip's output goes through the same filter as the book's log (book/_ext/buildlog.py).
QUIET  = 2>&1 | $(PYTHON) book/_ext/buildlog.py
$(STAMP):
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet pip==26.3 $(QUIET)'
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet -r requirements.txt $(QUIET)'
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet --no-deps -e . $(QUIET)'
	$(VENV)/bin/python -m autograder.install_tools
	@rm -f $(VENV)/.installed $(VENV)/.installed-*
	@touch $@

# With one venv shared by several checkouts (git worktrees), `import cnnkit`
# resolves to the checkout that installed it last, and the tests would test
# that one. Fail, naming both, unless this checkout's cnnkit and autograder
# are the ones imported (e.g. PYTHONPATH=$(CURDIR)).
checkout:
	@cd / && $(BIN)/python -c 'import sys, cnnkit, autograder; from pathlib import Path; \
	here = Path(sys.argv[1]).resolve(); \
	wrong = [f"{m.__name__} from {Path(m.__file__).parent}" for m in (cnnkit, autograder) \
	         if not Path(m.__file__).resolve().is_relative_to(here)]; \
	wrong and sys.exit(f"this venv imports {chr(44).join(wrong)}, not this checkout ({here}): it is shared " \
	                   f"with another checkout. Run make with PYTHONPATH={here} NO_INSTALL=1, or give this " \
	                   f"checkout its own venv (make VENV=.venv-here setup).")' $(CURDIR)

# Installs the Debian packages when they are missing and we may (root with
# apt-get, as in CI); otherwise says what to install. Quick when present.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "WARNING: the tests need these Debian packages:$$missing"; \
		echo "WARNING: install them (sudo apt-get install$$missing); the tests that need them will fail without them."; \
	fi

# Without MPLBACKEND, so that the chapters' kernels draw figures inline
# (an inherited Agg would leave every figure out of the book).
# The log leaves out the known noise of the chapters' kernels (TensorFlow's
# start-up lines, jupyter_client's TCP notice: book/_ext/buildlog.py) and says
# how many lines it left out; the build's own warnings and errors all pass.
book: setup
	@echo "Building the book. The first build executes the 7 chapters, which takes several minutes"
	@echo "(chapters 5 to 7 train small networks); later builds reuse the cache in _build/.jupyter_cache."
	bash -o pipefail -c 'env -u MPLBACKEND $(BIN)/jupyter-book build . --keep-going $(QUIET)'
	@echo "The book: $(abspath _build/html/index.html)"

# One pytest run: cnnkit's tests, the grading and pipeline checks, the
# strict book build and its pages in headless Chromium (tests/book/; page
# screenshots go to _build/screenshots/) and nbval on every solution notebook.
# The chapters are executed once, by the strict build (no nbval of book/: a
# failing cell, a hidden check's included, fails that build).
test: setup system-deps
	$(PYTEST) $(NBVAL) tests solutions

# Under 3 minutes, for changes that leave book/ alone: cnnkit (against
# TensorFlow too), the grading claims of the NumPy parts, the pipeline's
# hygiene and points, the autograder's unit tests. Not the book, the
# notebooks, nor what conftest.py marks slow (grading in the sandbox, Keras
# models, nbgrader): make test runs those.
test-fast: setup
	$(PYTEST) -m "not book and not slow" tests

# What proves one chapter (N=08): its grading claims, the generation of its
# exercise, the hygiene, toc and API checks, its op's tests (tests/cnnkit/
# test_<topic>.py), nbval of its solution, and the strict build with the
# browser checks of its page (the build executes the chapter; the others come
# from the cache when they have not changed). --chapter (conftest.py)
# deselects the parametrised cases of the other chapters.
test-chapter: setup system-deps
	@test -n "$(N)" || { echo "usage: make test-chapter N=08"; exit 2; }
	@chapter=$$(cd book && ls $(N)-*.ipynb 2>/dev/null | head -1); name=$${chapter%.ipynb}; \
	test -n "$$name" || { echo "no chapter book/$(N)-*.ipynb"; exit 2; }; \
	topic=$$(echo $${name#*-} | tr - _); \
	tests="tests/grading/test_claims.py tests/pipeline tests/book/test_book.py"; \
	for f in tests/grading/test_$${topic}_grading.py tests/cnnkit/test_$${topic}.py; do \
		test -f $$f && tests="$$tests $$f"; done; \
	echo "chapter $$name: $$tests solutions/$$name"; \
	$(PYTEST) $(NBVAL) --chapter $$name --ignore=tests/pipeline/test_new_chapter.py $$tests solutions/$$name

# One assignment with ASSIGNMENT=02-convolution (seconds), all of them by default (about a minute).
exercises: setup
	$(BIN)/python -m autograder release $(ASSIGNMENT)

# The first cell of every notebook page (the chapters and the unnumbered
# lessons), generated from `repository:` in _config.yml.
colab-cells: setup
	$(BIN)/python book/_ext/course.py colab-cells book/*.ipynb

check-exercises: setup
	$(BIN)/python -m autograder release --check $(ASSIGNMENT)

grade: setup
	@test -n "$(ASSIGNMENT)" -a -n "$(SUBMISSIONS)" -a -n "$(OUT)" || \
		{ echo "usage: make grade ASSIGNMENT=02-convolution SUBMISSIONS=dir OUT=dir"; exit 2; }
	$(BIN)/python -m autograder grade $(ASSIGNMENT) $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS)

gradescope: setup
	@test -n "$(ASSIGNMENT)" || { echo "usage: make gradescope ASSIGNMENT=02-convolution [OUT=file.zip]"; exit 2; }
	$(BIN)/python -m autograder gradescope $(ASSIGNMENT) --out $(or $(OUT),_build/gradescope/$(ASSIGNMENT).zip)

# Each benchmark twice: as the machine is, then with a process spinning on one core (--hog).
bench: setup
	$(BIN)/python bench/bench_cnnkit.py
	$(BIN)/python bench/bench_cnnkit.py --hog
	$(BIN)/python bench/bench_nn.py --accuracy
	$(BIN)/python bench/bench_nn.py --hog

bench-grade: setup system-deps
	$(BIN)/python bench/bench_autograder.py

# Not part of `make test`: a few minutes. Fails when a part's kill rate is under 90% or the whole under 98%;
# tests/mutation/equivalent.txt lists the mutants that compute the same, each with its reason.
mutants: setup
	$(BIN)/python tests/mutation/run_mutants.py --survivors

clean:
	rm -rf _build .pytest_cache
