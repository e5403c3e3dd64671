"""Online scoring end to end: a model trained by pca_swat on the tiny simulated plant watches its attack file arrive
row by row (folder source) and as MQTT messages (a broker on 127.0.0.1), and its flags are the batch's."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
import pytest
from conftest import TINY_SWAT, make_project
from kedro.framework.session import KedroSession

from tsad.datasets.swat.files import read_swat_export
from tsad.serving import swat_model_input
from tsad.streaming.service import load_options, main, open_stream
from tsad.streaming.sources import read_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """A project (the working directory for the module's tests) with pca_swat trained on the tiny plant, the
    model's batch predictions on the attack file, the attack file and its labels."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _trained(make_project(tmp_path_factory.mktemp("stream"), monkeypatch))


def _trained(project: Path) -> dict:
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"}) as session:
        session.run(pipeline_names=["pca_swat"])
    mlflow.set_tracking_uri(f"sqlite:///{project}/mlflow.db")
    attack = project / TINY_SWAT / "SWaT_Dataset_Attack_v0.csv"
    batch = mlflow.pyfunc.load_model("models:/pca_swat/1").predict(swat_model_input(str(attack)))
    batch["timestamp"] = pd.to_datetime(batch["timestamp"])
    labels = (read_swat_export(attack)["Normal/Attack"].str.strip() != "Normal").to_numpy()
    assert 0 < batch["flag"].sum() < len(batch)
    return {"batch": batch, "attack": attack, "labels": labels}


def segments(mask: np.ndarray, quiet: int = 1) -> list[tuple[int, int]]:
    """(first, last) row of each run of True, runs closer than ``quiet`` False rows joined."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) > quiet)
    return list(zip(rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]], strict=True))


def check_alarms(events: list[dict], trained: dict, quiet: int) -> None:
    """The alarms are the batch flags' events, and they find the labelled attacks the batch flags find."""
    flags, labels = trained["batch"]["flag"].to_numpy().astype(bool), trained["labels"]
    times = trained["batch"]["timestamp"]
    closes = [e for e in events if e["event"] == "close"]
    expected = segments(flags, quiet)
    assert [(e["start"], e["end"]) for e in closes] == [(times[a].isoformat(), times[b].isoformat())
                                                       for a, b in expected]
    assert len([e for e in events if e["event"] == "open"]) == len(closes)
    found_by_batch = {(a, b) for a, b in segments(labels) if flags[a:b + 1].any()}
    spans = [(pd.Timestamp(e["start"]), pd.Timestamp(e["end"])) for e in closes]
    found_by_alarms = {(a, b) for a, b in segments(labels)
                       if any(start <= times[b] and times[a] <= end for start, end in spans)}
    assert found_by_alarms == found_by_batch and found_by_batch
    assert all(len(e["channels"]) == 3 for e in closes)


def test_a_row_by_row_replay_through_a_folder_gives_the_batch_flags_and_follows_the_alias(trained, tmp_path, caplog):
    client = mlflow.MlflowClient()
    for _ in range(2):  # the serving slot: two versions of the same model, so a switch must change nothing
        client.copy_model_version("models:/pca_swat/1", "swat")
    client.set_registered_model_alias("swat", "champion", "1")
    folder, out = tmp_path / "incoming", tmp_path / "out"
    folder.mkdir()
    options, _ = load_options({"model": "models:/swat@champion", "source": str(folder),
                               "alarms": str(out / "alarms.jsonl"), "scores": str(out / "scores.jsonl"),
                               "reload_check_s": 0.1})
    stream = open_stream(options)
    lines = trained["attack"].read_text().splitlines(keepends=True)
    replay = folder / trained["attack"].name
    with replay.open("w") as handle:
        handle.write(lines[0])
        for i, line in enumerate(lines[1:]):
            handle.write(line)
            handle.flush()
            stream.step()
            if i == len(lines) // 2:
                client.set_registered_model_alias("swat", "champion", "2")
                time.sleep(0.1)
    stream.finish(flush=True)

    streamed = pd.DataFrame(read_jsonl(out / "scores.jsonl"))
    batch = trained["batch"]
    assert len(streamed) == len(batch)
    assert (pd.to_datetime(streamed["time"]) == batch["timestamp"]).all()
    np.testing.assert_array_equal(streamed["flag"].to_numpy(), batch["flag"].to_numpy())
    np.testing.assert_allclose(streamed["score"].to_numpy(), batch["score"].to_numpy(), rtol=1e-6)
    assert stream.switches == [("models:/swat/1", "models:/swat/2")]
    assert "moved from models:/swat/1 to models:/swat/2" in caplog.text
    assert stream.stats()["received"] == len(batch) and stream.stats()["bad_rows"] == 0
    check_alarms(read_jsonl(out / "alarms.jsonl"), trained, options["alarm"]["quiet"])


@pytest.fixture
def broker(tmp_path) -> str:
    """An MQTT broker (amqtt) on a free port of 127.0.0.1, stopped after the test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "broker.yaml"
    config.write_text(f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\nplugins:\n"
                      "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n")
    process = subprocess.Popen([str(Path(sys.executable).parent / "amqtt"), "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the MQTT broker did not start") from None
            time.sleep(0.1)
    yield f"mqtt://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_the_same_over_mqtt_with_a_malformed_message(trained, broker, tmp_path):
    received = []
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-alarms")
    listener.on_message = lambda client, userdata, message: received.append(json.loads(message.payload))
    host, port = broker.removeprefix("mqtt://").split(":")
    listener.connect(host, int(port))
    listener.subscribe("plant/alarms", 1)
    listener.loop_start()
    options, _ = load_options({"model": "models:/pca_swat/1", "source": f"{broker}/plant/rows",
                               "alarms": f"{broker}/plant/alarms", "scores": str(tmp_path / "scores.jsonl")})
    stream = open_stream(options)

    rows = swat_model_input(str(trained["attack"]))
    records = json.loads(rows.to_json(orient="records"))
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-rows")
    publisher.connect(host, int(port))
    publisher.loop_start()
    half = len(records) // 2
    infos = [publisher.publish("plant/rows", json.dumps(record), qos=1) for record in records[:half]]  # one a row
    infos.append(publisher.publish("plant/rows", b"{not json", qos=1))
    infos.append(publisher.publish("plant/rows", json.dumps({**records[5], "FIT101": "oops"}), qos=1))
    infos += [publisher.publish("plant/rows", json.dumps(records[i:i + 25]), qos=1)  # lists of rows
              for i in range(half, len(records), 25)]
    for info in infos:
        info.wait_for_publish(30)
    # until every message has arrived, not until a quiet spell: a loaded machine may pause longer than any spell
    step_until(stream, lambda stats: stats["accepted"] == len(records) and stats["bad_messages"] == 1
               and stats["bad_rows"] == 1)
    stream.finish(flush=True)
    publisher.loop_stop()
    expected_closes = len(segments(trained["batch"]["flag"].to_numpy().astype(bool), options["alarm"]["quiet"]))
    wait_for(lambda: len([e for e in received if e["event"] == "close"]) >= expected_closes)
    listener.loop_stop()

    streamed = pd.DataFrame(read_jsonl(tmp_path / "scores.jsonl"))
    np.testing.assert_array_equal(streamed["flag"].to_numpy(), trained["batch"]["flag"].to_numpy())
    stats = stream.stats()
    assert stats["bad_messages"] == 1 and stats["bad_by_reason"] == {"bad value": 1}
    check_alarms(received, trained, options["alarm"]["quiet"])


def step_until(stream, done, timeout_s: float = 300) -> None:
    """Turn the stream's loop until ``done(stream.stats())``; a generous limit only guards against a hang."""
    deadline = time.monotonic() + timeout_s
    while not done(stream.stats()):
        if not stream.step():
            assert time.monotonic() < deadline, f"the stream stopped short: {stream.stats()}"
            time.sleep(0.05)


def wait_for(condition, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_command_line_replays_a_folder(trained, tmp_path, monkeypatch):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "attack.csv").write_bytes(trained["attack"].read_bytes())
    monkeypatch.setattr(sys, "argv", ["tsad", "stream"])
    code = main(["--model", "models:/pca_swat/1", "--source", str(folder), "--alarms", str(tmp_path / "a.jsonl"),
                 "--until-idle", "0.5", "--poll", "0.1"])
    assert code == 0
    check_alarms(read_jsonl(tmp_path / "a.jsonl"), trained, 30)
