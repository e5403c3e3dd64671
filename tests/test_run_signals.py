"""A ``kedro run`` stopped by SIGTERM or Ctrl-C ends its MLflow run as KILLED, and exits with an error status."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import mlflow_run

from tsad.run_signals import InterruptedRunHook

PIPELINE = {"run_params": {}, "pipeline": None, "catalog": None}


def test_sigterm_exits_with_status_143_while_the_pipeline_runs_only():
    hook, previous = InterruptedRunHook(), signal.getsignal(signal.SIGTERM)
    hook.after_context_created(context=None)
    hook.before_pipeline_run(**PIPELINE)
    assert signal.getsignal(signal.SIGTERM) is not previous
    hook.after_pipeline_run(**PIPELINE)
    assert signal.getsignal(signal.SIGTERM) is previous
    hook.before_pipeline_run(**PIPELINE)
    hook.on_pipeline_error(error=RuntimeError("failed"), **PIPELINE)
    assert signal.getsignal(signal.SIGTERM) is previous
    hook.before_pipeline_run(**PIPELINE)
    with pytest.raises(SystemExit) as stopped:
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is previous  # a second SIGTERM gets the previous handler


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "status"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 1)])
def test_a_stopped_run_ends_its_mlflow_run_as_killed(project, stop, status):
    # The run starts with SIGINT handled, as from a terminal: a child inherits an ignored SIGINT (an xdist worker can
    # have one), and Python then never turns Ctrl-C into KeyboardInterrupt.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([str(Path(sys.executable).parent / "kedro"), "run", "--pipelines=pca_swat",
                                    "--params=swat_simulator_preset=tiny"], cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    output = []
    for line in process.stdout:  # the MLflow run has started when the first node runs
        output.append(line)
        if "Running node" in line:
            process.send_signal(stop)
            break
    output += process.stdout.readlines()
    assert process.wait(timeout=120) == status, "".join(output)[-3000:]  # click turns Ctrl-C into Aborted!, 1
    run = mlflow_run(project, "pca_swat")
    assert run.info.status == "KILLED", "".join(output)[-3000:]
    assert any("ended as KILLED" in line for line in output)
