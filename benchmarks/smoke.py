"""Shared by the benchmark scripts: their ``--smoke`` option. Not a benchmark on its own.

A smoke run takes a few seconds at tiny sizes and needs no external data and no optional package (a part that
does is skipped with a message), so that ``tests/test_benchmark_scripts.py`` can run every script and keep it
from rotting. Its figures say nothing about speed.
"""

from __future__ import annotations

import argparse
from typing import Any


def parse_args(parser: argparse.ArgumentParser, smoke: dict[str, Any]) -> argparse.Namespace:
    """Parse the command line; with ``--smoke``, the values in ``smoke`` replace the defaults (options given on
    the command line still win)."""
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, a few seconds, no external data: checks that the script runs")
    if parser.parse_known_args()[0].smoke:
        parser.set_defaults(**smoke)
    return parser.parse_args()
