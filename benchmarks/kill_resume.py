"""Kill a training run with SIGKILL at several moments, run the same command again, and check the scores.

For each moment, a fresh copy of the project runs ``<method>_swat`` on the simulated plant ("tiny" preset, a few
small epochs) in a child process; the child is killed with SIGKILL when its log reaches the moment, then the same
command runs to the end, and its test scores must equal those of an uninterrupted run in another copy, exactly.

Moments: during an epoch (after the first one's log line), while a checkpoint file is being written (the child's
``torch.save`` is slowed half way through the second epoch's file, so the kill lands inside it), right after a
checkpoint was renamed into place, and during scoring (after training finished). Prints one line per moment: what
the rerun logged about the checkpoint it resumed from, and whether the scores match.

    .venv/bin/python benchmarks/kill_resume.py [--method tman] [--epochs 4] [--smoke]

``--smoke`` (the test suite's): 2 epochs of a small model, killed during an epoch only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

# The child: one Kedro session in-process. With SLOW_SAVE set, torch.save writes half the file, says so, sleeps,
# and writes the rest: the parent kills it inside the write (fault injection here, not in tsad's code).
CHILD = """
import io, os, sys, time
import torch
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

if os.environ.get("SLOW_SAVE"):
    original, writes = torch.save, []
    def slow_save(obj, f, *args, **kwargs):
        if not str(f).endswith(".tmp.last.pt"):
            return original(obj, f, *args, **kwargs)
        writes.append(f)
        if len(writes) < 2:  # the second epoch's checkpoint, so that the first one is on disk
            return original(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        original(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(f, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            print("KILL-POINT checkpoint half written", flush=True)
            time.sleep(30)
            handle.write(data[len(data) // 2:])
    torch.save = slow_save

project = sys.argv[1]
bootstrap_project(project)
with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"}) as session:
    session.run(pipeline_names=[sys.argv[2]])
"""

MOMENTS = {  # moment -> (log line that triggers the kill, extra environment)
    "during an epoch": (r"epoch 1/\d+: train loss", {}),
    "while a checkpoint is written": (r"KILL-POINT checkpoint half written", {"SLOW_SAVE": "1"}),
    "after a checkpoint was renamed": (r"epoch 2/\d+: train loss", {}),
    "during scoring": (r"Running node: score_series|Running node: score", {}),
}


def make_project(folder: Path, method: str, model: dict) -> Path:
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    options = ", ".join(f"{k}: {v}" for k, v in (model | {"patience": 0, "progress": "false"}).items())
    (folder / "conf" / "local" / "parameters.yml").write_text(f"methods:\n  {method}:\n    model: {{{options}}}\n")
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "src").mkdir()
    return folder


def environment(project: Path, extra: dict[str, str]) -> dict[str, str]:
    return os.environ | {"KEDRO_DISABLE_TELEMETRY": "1", "TSAD_MLFLOW_TRACKING_URI": f"sqlite:///{project}/mlflow.db",
                         "PYTHONUNBUFFERED": "1"} | extra


def run(project: Path, pipeline: str, kill_at: str | None = None, extra: dict[str, str] | None = None
        ) -> tuple[bool, str]:
    """Run the child; with ``kill_at``, SIGKILL it on the first log line matching it. Returns (killed, log)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(project), pipeline], cwd=project,
                             env=environment(project, extra or {}), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    lines = []
    killed = False
    for line in child.stdout:
        lines.append(line)
        if kill_at and not killed and re.search(kill_at, line):
            child.send_signal(signal.SIGKILL)
            killed = True
    child.wait()
    log = "".join(lines)
    if not killed and child.returncode != 0:
        raise RuntimeError(f"the run failed:\n{log[-3000:]}")
    return killed, log


def test_scores(project: Path, method: str) -> pd.DataFrame:
    versions = sorted((project / f"data/07_model_output/swat/{method}/scores_test.parquet").glob("*/*.parquet"))
    return pd.read_parquet(versions[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="tman")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="2 epochs of a small model, one moment")
    args = parser.parse_args()
    moments = {"during an epoch": MOMENTS["during an epoch"]} if args.smoke else MOMENTS
    model = {"epochs": 2, "hidden_size": 8} if args.smoke else {"epochs": args.epochs}
    pipeline = f"{args.method}_swat"
    with tempfile.TemporaryDirectory() as tmp:
        reference_project = make_project(Path(tmp) / "reference", args.method, model)
        start = time.perf_counter()
        run(reference_project, pipeline)
        print(f"{pipeline}, {model['epochs']} epochs, uninterrupted: {time.perf_counter() - start:.1f} s")  # noqa: T201
        reference = test_scores(reference_project, args.method)
        failures = 0
        for moment, (pattern, extra) in moments.items():
            project = make_project(Path(tmp) / re.sub(r"\W+", "_", moment), args.method, model)
            killed, _ = run(project, pipeline, kill_at=pattern, extra=extra)
            checkpoints = sorted(p.relative_to(project).as_posix() for p in project.glob("data/06_models/**/*.pt")
                                 if "checkpoints" in p.parts)
            start = time.perf_counter()
            _, log = run(project, pipeline)
            resumed = re.search(r"(resuming after epoch \d+|finished training) from (\S+)", log)
            refused = re.findall(r"refusing the damaged checkpoint (\S+)", log)
            scores = test_scores(project, args.method)
            same = scores.index.equals(reference.index) and np.array_equal(scores["score"].to_numpy(),
                                                                         reference["score"].to_numpy())
            failures += not (killed and same)
            how = f"{resumed.group(1)} ({Path(resumed.group(2)).name})" if resumed else "trained from scratch"
            print(f"- killed {moment}: {'killed' if killed else 'NOT KILLED (the moment never came)'}; "  # noqa: T201
                  f"on disk {[Path(c).name for c in checkpoints]}; rerun: {how}"
                  f"{'; refused ' + ', '.join(Path(r).name for r in refused) if refused else ''}; "
                  f"{time.perf_counter() - start:.1f} s; scores {'identical' if same else 'DIFFERENT'}")
        print("all identical" if not failures else f"{failures} moment(s) failed")  # noqa: T201
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
