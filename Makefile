# The course's jobs. The README's two commands are `make book` and `make test`;
# both set up the environment first and are quick when it is already there.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(abspath $(VENV)/bin)
STAMP  := $(VENV)/.installed
JOBS   ?= 2

# nbgrader starts `alembic` by name, and kernels must find the venv's Python.
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export MPLBACKEND := Agg

# Debian packages the test suite needs: the browser tests' headless Chromium
# and the grader's sandbox (bubblewrap). The book itself needs none of them.
APT_PACKAGES := chromium bubblewrap

.PHONY: help setup system-deps book test exercises check-exercises colab-cells grade gradescope bench bench-grade mutants clean

help:
	@echo "make book        set up, then build the book into _build/html"
	@echo "make test        set up, then run every test (what CI runs)"
	@echo "make exercises   regenerate exercises/ from solutions/"
	@echo "make colab-cells write the chapters' Colab set-up cell from _config.yml"
	@echo "make grade ASSIGNMENT=02-convolution SUBMISSIONS=dir OUT=dir"
	@echo "make gradescope ASSIGNMENT=02-convolution [OUT=file.zip]  Gradescope's autograder zip"
	@echo "make bench       time cnnkit against TensorFlow, and a cnnkit.nn epoch against Keras (quiet, then --hog)"
	@echo "make bench-grade submissions per minute of the autograder"
	@echo "make mutants     kill rate of the hidden cases on AST mutants of every solution (not in make test)"
	@echo "make clean       remove build outputs (keeps the environment)"

setup: $(STAMP)

# Re-install only when the pins or the package metadata change.
# pip's output goes through the same filter as the book's log (book/_ext/buildlog.py).
QUIET  = 2>&1 | $(PYTHON) book/_ext/buildlog.py
$(STAMP): requirements.txt pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet pip==26.3 $(QUIET)'
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet -r requirements.txt $(QUIET)'
	bash -o pipefail -c '$(VENV)/bin/python -m pip install --quiet --no-deps -e . $(QUIET)'
	$(VENV)/bin/python -m autograder.install_tools
	@touch $@

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
# screenshots go to _build/screenshots/) and nbval on every chapter and
# solution notebook (whole notebooks per worker: --dist loadfile).
test: setup system-deps
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 tests book solutions

exercises: setup
	$(BIN)/python -m autograder release

# The first cell of every chapter, generated from `repository:` in _config.yml.
colab-cells: setup
	$(BIN)/python book/_ext/course.py colab-cells book/[0-9][0-9]-*.ipynb

check-exercises: setup
	$(BIN)/python -m autograder release --check

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
