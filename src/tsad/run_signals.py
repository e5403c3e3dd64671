"""A run stopped by SIGTERM (a timeout, ``kill``) or Ctrl-C ends its MLflow run as KILLED.

kedro-mlflow starts the MLflow run before the pipeline and ends it after it (FINISHED) or on its error (FAILED).
An interruption is neither: Kedro calls its error hook for an ``Exception`` only (Ctrl-C's KeyboardInterrupt is
not one; MLflow's exit handler then marked the run FINISHED), and SIGTERM's default action ends the process on the
spot (the run stayed RUNNING for ever). For the duration of the pipeline, ``InterruptedRunHook`` turns SIGTERM into
``SystemExit(143)``, so that the process unwinds and exits as Ctrl-C does, and at exit ends as KILLED the MLflow run
the pipeline started if it is still running.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from types import FrameType
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from mlflow.entities import RunStatus

logger = logging.getLogger(__name__)

KILLED = RunStatus.to_string(RunStatus.KILLED)
RUNNING = RunStatus.to_string(RunStatus.RUNNING)


class InterruptedRunHook:
    """Ends the pipeline's MLflow run as KILLED when SIGTERM or Ctrl-C stops the ``kedro run`` process."""

    def __init__(self) -> None:
        self._opened_before: str | None = None  # a run the user opened before the session: theirs to end
        self._run_id: str | None = None  # the pipeline's run, from its start until kedro-mlflow ends it
        self._previous_handler: Any = None
        self._exit_handler_registered = False

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        active = mlflow.active_run()
        self._opened_before = active.info.run_id if active else None

    @hook_impl(trylast=True)  # after kedro-mlflow started the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        active = mlflow.active_run()
        self._run_id = active.info.run_id if active and active.info.run_id != self._opened_before else None
        if self._run_id and not self._exit_handler_registered:
            # Registered after MLflow's own exit handler (it ends the active run as FINISHED), so it runs before it.
            atexit.register(self.end_interrupted_run)
            self._exit_handler_registered = True
        if threading.current_thread() is threading.main_thread():  # signal handlers belong to the main thread
            previous = signal.signal(signal.SIGTERM, self._terminate)
            self._previous_handler = signal.SIG_DFL if previous is None else previous  # None: not set from Python

    @hook_impl(trylast=True)  # after kedro-mlflow ended the run (logging the model can take a while)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._finished()

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._finished()

    def end_interrupted_run(self) -> None:
        """End the pipeline's MLflow run as KILLED if it is still running: the pipeline was stopped."""
        run_id, self._run_id = self._run_id, None
        if run_id is None:
            return
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run(KILLED)
        elif mlflow.MlflowClient().get_run(run_id).info.status == RUNNING:
            mlflow.MlflowClient().set_terminated(run_id, KILLED)
        else:
            return
        logger.warning("The run was stopped before its pipeline finished: MLflow run %s ended as KILLED", run_id)

    def _finished(self) -> None:
        self._run_id = None
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        # A second SIGTERM gets the previous handler (by default: the process ends at once).
        signal.signal(signal.SIGTERM, self._previous_handler)
        self._previous_handler = None
        raise SystemExit(128 + signum)
