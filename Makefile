# Two entry points for a fresh clone (see README.md):
#   make run    installs everything into .venv and runs the main job on the simulated SWaT plant: the PCA baseline
#               (pca_swat), then TMAN (tman_swat), each its own MLflow run and registered model
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

# Test-only references for the metric and threshold tests (tests/core/test_metrics.py): TSB-AD and prts declare
# numpy<2 but run on numpy 2, so these go with --no-deps into a folder outside site-packages, which the tests put
# on sys.path; the runtime environment (and its `pip check`) never sees them.
$(VENV)/test-references/.installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet --upgrade --no-deps --target $(VENV)/test-references \
		tsb-ad==1.5 prts==1.0.0.3 tadpak==0.3.3 libspot==3.1.0
	touch $@

setup: $(BIN)/.installed $(VENV)/test-references/.installed

run: setup
	$(BIN)/kedro run --pipelines=pca_swat
	$(BIN)/kedro run --pipelines=tman_swat

test: setup
	$(BIN)/python -m pytest

viz: setup
	$(BIN)/kedro viz run --no-browser

mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000
