# diffs2st set-up and entry points. Every target installs what is missing and nothing more:
# Debian packages (checked with dpkg on each run, installed only when absent), a .venv with the CPU torch wheel
# first, then the package with its extras (redone only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := espeak-ng flite libsndfile1 sox
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup test demo system clean-venv

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

# torch first, pinned to the CPU wheel, so nothing later can pull a CUDA build.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install -q "torch==2.13.0"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e ".[all]"
	touch $@

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/diffs2st demo

clean-venv:
	rm -rf $(VENV)
