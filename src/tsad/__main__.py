"""``python -m tsad`` (or ``tsad``): the project's Kedro CLI (same as ``kedro`` inside the project), and
``tsad stream ...``, online scoring (``tsad.streaming.service``)."""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main(*args, **kwargs):
    if not args and sys.argv[1:2] == ["stream"]:
        from tsad.streaming.service import main as stream  # noqa: PLC0415 - no Kedro CLI start-up for a stream

        return stream(sys.argv[2:])
    package_name = Path(__file__).parent.name
    configure_project(package_name)
    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
