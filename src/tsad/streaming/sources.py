"""Where streamed rows come from, and where alarms go.

Sources (``poll()`` returns the ``RowBatch``es that arrived since the last call, never blocking):

- ``FolderSource``: a folder that a historian or gateway writes into, one entity per file (the file's stem names
  the entity of a multi-entity model, as batch inference reads them): CSV files that grow by appended lines
  (only complete lines are read; the header is the first line holding the model's time column, so SWaT's own
  exports with their group-header line work; the separator is sniffed from it), and Parquet files that appear
  whole (write them under another name and rename them into the folder).
- ``MqttSource``: an MQTT topic (paho-mqtt), one JSON object per row or a JSON list of them, keyed by the
  model's input columns. A message that is not JSON, or not objects, is logged and counted.

Sinks (``write(events)``): ``JsonlSink`` appends one JSON object per line (flushed per batch), ``MqttSink``
publishes one message per event (QoS 1, waited for on close).
"""

from __future__ import annotations

import csv
import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pandas as pd

from tsad.streaming.rows import RowBatch

logger = logging.getLogger(__name__)

_SEPARATORS = (",", ";", "\t")


def read_header(line: str) -> tuple[str, list[str]]:
    """A CSV header line's separator (the most frequent of ``,``, ``;`` and tab) and its stripped column names."""
    separator = max(_SEPARATORS, key=line.count)
    return separator, [name.strip() for name in next(csv.reader([line], delimiter=separator))]


class FolderSource:
    """New rows in a folder's CSV files (appended lines) and Parquet files (new files)."""

    def __init__(self, folder: str | Path, time_column: str, entity_files: bool):
        self.folder, self.time_column, self.entity_files = Path(folder), time_column, entity_files
        if not self.folder.is_dir():
            raise FileNotFoundError(f"stream source {self.folder}: folder not found")
        self._csv: dict[Path, dict[str, Any]] = {}  # per CSV file: offset, header, separator, next line number
        self._parquet_done: set[Path] = set()
        self.bad_messages = 0

    def poll(self) -> list[RowBatch]:
        batches = []
        for path in sorted(self.folder.iterdir()):
            suffix = path.suffix.lower()
            if suffix == ".csv":
                batch = self._read_csv(path)
            elif suffix == ".parquet" and path not in self._parquet_done:
                batch = self._read_parquet(path)
            else:
                continue
            if batch is not None:
                batches.append(batch)
        return batches

    def _entity(self, path: Path) -> str | None:
        return path.stem if self.entity_files else None

    def _read_csv(self, path: Path) -> RowBatch | None:
        state = self._csv.setdefault(path, {"offset": 0, "header": None, "sep": ",", "line": 1})
        size = path.stat().st_size
        if size < state["offset"]:
            logger.warning("%s shrank (from %d to %d bytes): reading it again from its start", path,
                           state["offset"], size)
            state.update(offset=0, header=None, line=1)
        if size == state["offset"]:
            return None
        with path.open("rb") as handle:
            handle.seek(state["offset"])
            data = handle.read(size - state["offset"])
        complete = data.rfind(b"\n") + 1  # a line still being written waits for its newline
        if complete == 0:
            return None
        state["offset"] += complete
        lines = data[:complete].decode("utf-8-sig" if state["offset"] == complete else "utf-8",
                                       errors="replace").splitlines()
        first_line = state["line"]
        state["line"] += len(lines)
        if state["header"] is None:
            header_at = next((i for i, line in enumerate(lines) if self.time_column in line), None)
            if header_at is None:
                logger.warning("%s: no header line with the time column %r yet in lines %d-%d; waiting",
                               path, self.time_column, first_line, state["line"] - 1)
                return None
            state["sep"], state["header"] = read_header(lines[header_at])
            lines, first_line = lines[header_at + 1:], first_line + header_at + 1
        header = state["header"]
        cells = list(csv.reader(lines, delimiter=state["sep"]))
        # A line with another count of fields keeps its cells by position and blanks the rest (a bad row later).
        cells = [row[:len(header)] + [""] * (len(header) - len(row)) for row in cells]
        rows = pd.DataFrame(cells, columns=header, dtype=object)
        rows = rows[(rows != "").any(axis=1)] if len(rows) else rows
        if not len(rows):
            return None
        return RowBatch(rows, f"{path}", self._entity(path), first_line)

    def _read_parquet(self, path: Path) -> RowBatch | None:
        try:
            rows = pd.read_parquet(path)
        except (OSError, ValueError) as error:
            self._parquet_done.add(path)
            self.bad_messages += 1
            logger.warning("%s: not a readable Parquet file (%s); skipped", path, error)
            return None
        self._parquet_done.add(path)
        return RowBatch(rows, str(path), self._entity(path), None)


class MqttSource:
    """Rows from an MQTT topic (JSON objects), gathered by paho-mqtt's network thread.

    The constructor returns once the subscription is acknowledged, so nothing published after it is missed.
    """

    def __init__(self, url: str, client_id: str = "tsad-stream", timeout_s: float = 10.0):
        self.host, self.port, self.topic = parse_mqtt_url(url)
        self._messages: queue.SimpleQueue = queue.SimpleQueue()
        self.bad_messages = 0
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = lambda client, userdata, flags, reason, properties: client.subscribe(self.topic, 1)
        self.client.on_subscribe = lambda client, userdata, mid, reasons, properties: subscribed.set()
        self.client.on_message = lambda client, userdata, message: self._messages.put(
            (message.topic, message.payload))
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not subscribed.wait(timeout_s):
            self.close()
            raise ConnectionError(f"{url}: no subscription acknowledged within {timeout_s} s")

    def poll(self) -> list[RowBatch]:
        records, topic = [], self.topic
        while True:
            try:
                topic, payload = self._messages.get_nowait()
            except queue.Empty:
                break
            try:
                message = json.loads(payload)
                message = [message] if isinstance(message, dict) else message
                if not isinstance(message, list) or not all(isinstance(row, dict) for row in message):
                    raise ValueError("not a JSON object or a list of objects")
            except ValueError as error:
                self.bad_messages += 1
                logger.warning("%s: malformed message %r (%s); skipped [%d so far]", topic, payload[:200], error,
                               self.bad_messages)
                continue
            records.extend(message)
        if not records:
            return []
        return [RowBatch(pd.DataFrame.from_records(records), f"mqtt topic {topic}")]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class JsonlSink:
    """Appends events to a JSON Lines file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._handle.write("".join(json.dumps(event) + "\n" for event in events))
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class MqttSink:
    """Publishes each event as one JSON message on a topic (QoS 1)."""

    def __init__(self, url: str, client_id: str = "tsad-alarms", timeout_s: float = 10.0):
        self.host, self.port, self.topic = parse_mqtt_url(url)
        connected, self._pending = threading.Event(), []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = lambda client, userdata, flags, reason, properties: connected.set()
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not connected.wait(timeout_s):
            self.close()
            raise ConnectionError(f"{url}: not connected within {timeout_s} s")

    def write(self, events: list[dict[str, Any]]) -> None:
        self._pending = [info for info in self._pending if not info.is_published()]
        self._pending += [self.client.publish(self.topic, json.dumps(event), qos=1) for event in events]

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every published event is acknowledged by the broker."""
        deadline = time.monotonic() + timeout_s
        for info in self._pending:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        if not all(info.is_published() for info in self._pending):
            logger.warning("%s: events still unacknowledged after %s s", self.topic, timeout_s)
        self._pending = []

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()


def parse_mqtt_url(url: str) -> tuple[str, int, str]:
    """``mqtt://host:port/topic/with/levels`` to (host, port, topic); port 1883 when absent."""
    parsed = urlparse(url)
    topic = parsed.path.lstrip("/")
    if parsed.scheme != "mqtt" or not parsed.hostname or not topic:
        raise ValueError(f"an MQTT address is mqtt://HOST[:PORT]/TOPIC, got {url!r}")
    return parsed.hostname, parsed.port or 1883, topic


def open_source(spec: str, time_column: str, entity_files: bool) -> FolderSource | MqttSource:
    return MqttSource(spec) if spec.startswith("mqtt://") else FolderSource(spec, time_column, entity_files)


def open_sink(spec: str) -> JsonlSink | MqttSink:
    return MqttSink(spec) if spec.startswith("mqtt://") else JsonlSink(spec)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every event of a JSON Lines file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
