"""Logs off a terminal are plain, one line per record; a terminal keeps rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kedro.framework import project as kedro_project

from tsad.plain_logs import PLAIN_FORMATTER, plain_logging_config

# Kedro's own configuration, used where the project has no conf/logging.yml.
RICH = yaml.safe_load((Path(kedro_project.__file__).parent / "rich_logging.yml").read_text())
RICH["handlers"]["rich"]["level"] = "INFO"


def test_off_a_terminal_each_rich_handler_is_a_plain_stream_handler():
    config = plain_logging_config(RICH, stdout=True, stderr=True)
    assert config["handlers"]["rich"] == {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                          "formatter": PLAIN_FORMATTER, "level": "INFO"}
    assert "%(message)s" in config["formatters"][PLAIN_FORMATTER]["format"]
    assert config["root"] == RICH["root"] and config["loggers"] == RICH["loggers"]
    assert RICH["handlers"]["rich"]["class"] == "kedro.logging.RichHandler"  # the given one is left as it was


def test_in_a_terminal_rich_stays_without_its_tracebacks_where_stderr_is_not_one():
    assert plain_logging_config(RICH, stdout=False, stderr=False) == RICH
    config = plain_logging_config(RICH, stdout=False, stderr=True)
    assert config["handlers"]["rich"] == RICH["handlers"]["rich"] | {"rich_tracebacks": False}


@pytest.mark.slow
def test_a_failed_kedro_run_into_a_pipe_keeps_each_record_and_the_error_on_one_line(project):
    # SMD's files are not in the project copy: the run fails on its first dataset, with a long message.
    result = subprocess.run([str(Path(sys.executable).parent / "kedro"), "run", "--pipelines=data_smd"],
                            cwd=project, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0
    error = ("data/01_raw/SMD: no such folder; expected the SMD folder with train/, test/, test_label/ and "
             "interpretation_label/")
    assert error in result.stderr.splitlines()  # the traceback's last line, whole
    logged = "INFO kedro.io.data_catalog: Loading data from smd.source_train (SmdFolderDataset)..."
    assert any(line.endswith(logged) for line in result.stdout.splitlines()), result.stdout[-3000:]
    assert "[dark_orange]" not in result.stdout and "│" not in result.stderr  # no markup, no rich frames
