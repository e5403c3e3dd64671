"""Plain logs where no one reads them in a terminal.

Kedro logs through rich's handler, which lays each record out in columns as wide as the terminal, and 80 columns
wide when the output is a pipe, a file or a CI log: error messages and paths are split over several lines. Where
standard output is not a terminal, ``plain_logs_off_terminal`` turns the rich handlers of Kedro's logging
configuration into plain stream handlers on standard output: one line per record (a traceback's own lines aside),
no markup or columns. Where standard error is not a terminal, the traceback of a failed run is Python's own, as
rich's is wrapped too. A terminal and a notebook keep rich.

It changes the configuration Kedro keeps (``kedro.framework.project.LOGGING``) through Kedro's
``configure_logging``, so that Kedro applying it again (``configure_project``, ParallelRunner's workers) keeps
the plain handlers; they are ``logging`` classes, the only ones (with ``kedro.logging``) Kedro's configuration
accepts.
"""

from __future__ import annotations

import copy
import sys
from typing import Any, TextIO

from kedro.framework.project import LOGGING, configure_logging
from rich.console import Console

RICH_HANDLERS = {"kedro.logging.RichHandler", "rich.logging.RichHandler"}
PLAIN_FORMATTER = "tsad_plain"
PLAIN_FORMAT = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%Y-%m-%d %H:%M:%S"}


def plain_logs_off_terminal() -> None:
    """Plain log handlers where standard output is not a terminal; Python's tracebacks where standard error is not.
    Called by ``settings.py`` before the modules it imports log anything."""
    plain_out, plain_err = not _read_in_a_terminal(sys.stdout), not _read_in_a_terminal(sys.stderr)
    config = plain_logging_config(LOGGING.data, stdout=plain_out, stderr=plain_err)
    if config != LOGGING.data:
        configure_logging(config)
    if plain_err and getattr(sys.excepthook, "__module__", None) == "rich.traceback":  # Kedro's handler installed it
        sys.excepthook = sys.__excepthook__


def plain_logging_config(config: dict[str, Any], *, stdout: bool, stderr: bool) -> dict[str, Any]:
    """``config`` (a ``logging.config.dictConfig`` dict) with each rich handler a plain ``logging.StreamHandler``
    on standard output (``stdout``; its level and filters kept), or without rich's tracebacks (``stderr``)."""
    out = copy.deepcopy(config)
    handlers = out.get("handlers") or {}
    for name, handler in handlers.items():
        if handler.get("class") not in RICH_HANDLERS:
            continue
        if stdout:
            handlers[name] = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                              "formatter": PLAIN_FORMATTER} | {k: handler[k] for k in ("level", "filters")
                                                               if k in handler}
            out.setdefault("formatters", {})[PLAIN_FORMATTER] = PLAIN_FORMAT
        elif stderr:
            handler["rich_tracebacks"] = False
    return out


def _read_in_a_terminal(stream: TextIO) -> bool:
    """A terminal, or a notebook (where rich renders too)."""
    if Console().is_jupyter:
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
