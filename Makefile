# diffs2st set-up and entry points. Every target installs what is missing and nothing more:
# Debian packages (checked with dpkg on each run, installed only when absent), a .venv with torch first (see
# TORCH_INDEX below), then the package with its extras (redone only when pyproject.toml changes).
#   make test      the fast lane: every test not marked slow
#   make test-all  every test (DDP subprocesses, corpus builds, the judged demo); what CI (.ci/run) runs

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := espeak-ng flite festival festvox-kdlpc16k libsndfile1 sox chromium chromium-driver
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Where pip finds torch. Empty here on purpose: this machine's pip configuration (/etc/pip.conf: find-links
# /opt/wheels) holds torch-2.13.0+cpu, so the pin below resolves to the CPU wheel (checked with `pip download
# --no-deps torch==2.13.0`), and download.pytorch.org cannot be reached from here. Elsewhere, plain PyPI gives Linux
# the CUDA build of torch==2.13.0 (its metadata requires nvidia-*-cu13 packages); for the CPU wheel run
#   make setup TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH_INDEX ?=

.PHONY: setup test test-all demo app system clean-venv

setup: system $(VENV)/.installed

system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned, so nothing later pulls another build; the line after it says which build it got.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install -q $(TORCH_INDEX) "torch==2.13.0"
	$(BIN)/python -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda or "none")'
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e ".[all]"
	touch $@

test: setup
	$(BIN)/python -m pytest -q -m "not slow"

test-all: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/diffs2st demo

# The local web page on http://127.0.0.1:7860 (options: `$(BIN)/diffs2st app --help`).
app: setup
	$(BIN)/diffs2st app

clean-venv:
	rm -rf $(VENV)
