"""Every script in benchmarks/ runs: its ``--smoke`` run (tiny sizes, no external data, no optional package) exits 0
and prints its figures, so that a change elsewhere cannot break a benchmark unnoticed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# A line each script prints only once its figures are measured (the last ones where it prints several).
FIGURES = {
    "windows_memory.py": r"windowing node .* peak extra +[\d.]+ MiB .* time +[\d.]+ ms",
    "tman_throughput.py": r"cpu +tcn +train +[\d,]+ windows/s +score +[\d,]+ windows/s",
    "mgan_throughput.py": r"cpu +paper \(SWaT\) +gan +[\d,]+ windows/s +encoders +[\d,]+ windows/s +score +[\d,]+",
    "predictor_throughput.py": r"cpu +lstm +train +[\d,]+ windows/s +score +[\d,]+ windows/s",
    "flow_throughput.py": r"cpu +stf2dgl +train +[\d,]+ windows/s +score +[\d,]+ windows/s",
    "tanogan_inversion.py": r"best: batches of \d+, [\d.]+ x the loop, [\d.]+ GFLOP/s",
    "serving_throughput.py": r"pca +[\d,]+ rows/s",
    "stream_throughput.py": r"pca +batches of \d+ +[\d,]+ rows/s",
    "vus_speed.py": r"tsad +VUS-ROC [\d.]+ +VUS-PR [\d.]+ +[\d.]+ s",
    "tman_ablation.py": r"adversarial off .* ROC [\d.]+ PR [\d.]+ F1 [\d.]+",
    "tman_vs_usad.py": r"TMAN \(\w+\) +train +[\d,]+ windows/s +score +[\d,]+ windows/s",
    "grid_cluster.py": r"sequential [\d.]+ s, local cluster of \d+ workers [\d.]+ s, ratio [\d.]+ x",
    "graph_flows_real.py": r"\| swat \| zero_label \| pca \| [\d.]+ \| [\d.]+ \| 1 \|",
    "kill_resume.py": r"killed during an epoch: killed; .*rerun: resuming after epoch 1 .*scores identical",
}
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen, Path]]]:
    """Every script's smoke run, all started at once (each test waits for its own), output to a file each.

    One torch thread per run: several runs share the cores, and oversubscribed threads slow each other down.
    """
    folder = tmp_path_factory.mktemp("benchmarks")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    runs = {}
    for script in FIGURES:
        output = folder / f"{script}.log"
        with output.open("w") as sink:
            runs[script] = (subprocess.Popen([sys.executable, str(BENCHMARKS / script), "--smoke"], cwd=folder, env=env,
                                             stdout=sink, stderr=subprocess.STDOUT), output)
    yield runs
    for run, _ in runs.values():
        if run.poll() is None:
            run.kill()
            run.wait()


def test_every_benchmark_script_has_a_smoke_run():
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if 'if __name__ == "__main__":' in p.read_text()}
    assert scripts == set(FIGURES)


@pytest.mark.parametrize("script", list(FIGURES))
def test_smoke_run_prints_its_figures(smoke_runs, script):
    run, output = smoke_runs[script]
    try:
        returncode = run.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} --smoke ran past {TIMEOUT_S} s:\n{output.read_text()[-3000:]}")
    printed = output.read_text()
    assert returncode == 0, f"{script} --smoke exited {returncode}:\n{printed[-3000:]}"
    assert re.search(FIGURES[script], printed), f"{script} --smoke printed no figures:\n{printed[-3000:]}"
