# Two entry points for a fresh clone (see README.md):
#   make run    installs everything into .venv and runs the main job (pca_swat on the simulated SWaT plant)
#   make test   installs everything into .venv and runs the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export KEDRO_DISABLE_TELEMETRY := 1

.PHONY: setup run test viz mlflow-ui

# torch is installed first and pinned: 2.13.0 is the CPU wheel this project is tested with (a looser
# requirement would pull a multi-GB CUDA build). On a GPU machine, install the CUDA wheel you want first.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/kedro run --pipelines=pca_swat

test: setup
	$(BIN)/python -m pytest

viz: setup
	$(BIN)/kedro viz run --no-browser

mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000
