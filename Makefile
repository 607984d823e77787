# Developer entry points. Everything runs from a project-local virtual environment (.venv)
# that the first target creates; later runs skip pip unless pyproject.toml (or the pinned torch
# version) changed. Needs only python3 on the machine.

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make demo` runs needs only initlint and torch (for the probe step): a first run does not
# wait for the test-only extras (transformers, hypothesis, pre-commit...), which `make test` adds.
DEMO_STAMP := $(VENV)/.installed-demo
PIP_FLAGS ?= --quiet --disable-pip-version-check --progress-bar off
EXTRAS ?= runtime,dev,plot
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint bench clean FORCE

help:
	@echo "make demo   set up $(VENV) and run initlint on examples/"
	@echo "make test   set up $(VENV) and run the test suite"
	@echo "make lint   ruff check + ruff format --check"
	@echo "make bench  run benchmarks/run.py"
	@echo "variables: PYTHON=$(PYTHON) VENV=$(VENV) TORCH_VERSION=$(TORCH_VERSION)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp records what was installed; a different TORCH_VERSION forces a reinstall.
ifneq ($(shell cat $(STAMP) 2>/dev/null),torch==$(TORCH_VERSION) extras=$(EXTRAS))
$(STAMP): FORCE
endif
$(STAMP): pyproject.toml requirements-probe-tests.txt requirements-probe-zoo.txt | $(BIN)/python
	@echo "installing torch==$(TORCH_VERSION) and initlint[$(EXTRAS)] into $(VENV) ..."
	$(BIN)/python -m pip install $(PIP_FLAGS) "torch==$(TORCH_VERSION)" -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps -r requirements-probe-tests.txt
# timm/torchvision for tests/test_probe_zoo.py, in a folder of their own: on the CPU torch,
# torchvision's import fails unless the test defines its C ops first, and transformers imports
# torchvision whenever it is installed, so in site-packages it would break transformers everywhere
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps --upgrade --target $(VENV)/probe-zoo -r requirements-probe-zoo.txt
	@echo "torch==$(TORCH_VERSION) extras=$(EXTRAS)" > $@

ifneq ($(shell cat $(DEMO_STAMP) 2>/dev/null),torch==$(TORCH_VERSION))
$(DEMO_STAMP): FORCE
endif
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing torch==$(TORCH_VERSION) and initlint into $(VENV) ..."
	$(BIN)/python -m pip install $(PIP_FLAGS) "torch==$(TORCH_VERSION)" -e .
	@echo "torch==$(TORCH_VERSION)" > $@

# The full set is the demo's plus the extras: `make demo` then `make test` installs the rest.
$(STAMP): $(DEMO_STAMP)

FORCE:

setup: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/initlint check --exit-zero --no-cache examples/
# the opt-in legacy group (IL103-IL107, off by default) on the example written in old-style torch
	$(BIN)/initlint check --exit-zero --no-cache --select legacy examples/mlp_legacy_init.py
# ---- runtime probe step: the `initlint probe` command goes here (added by the probe work) ----
	$(BIN)/initlint probe examples/probe_demo.py:DeepMLP --fail-on never

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check initlint tests benchmarks
	$(BIN)/ruff format --check initlint tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .initlint_cache .pytest_cache .ruff_cache build dist
