"""Replay a CSV file as a live source would deliver it: appended to a file in a folder, or as JSON rows on an MQTT
topic, at a given pace. For trying ``tsad stream`` on a recorded file (the README's example) and for drills.

``python -m tsad.streaming.replay FILE (FOLDER | mqtt://HOST:PORT/TOPIC) [--rate ROWS_PER_S] [--batch N]``
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from tsad.streaming.sources import parse_mqtt_url, read_header


def replay(path: str | Path, target: str, rate: float, batch: int = 1) -> int:
    """Send ``path``'s data lines ``batch`` at a time, ``rate`` rows a second (0: as fast as possible).

    Into a folder: the header, then the lines appended to a file of the same name. Onto an MQTT topic: one
    message per batch, a JSON object per row (a list when ``batch`` > 1), keyed by the header's names.

    Returns:
        The number of rows sent.
    """
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    send, close = (_to_mqtt(target, header) if target.startswith("mqtt://")
                   else _to_folder(Path(target) / Path(path).name, header))
    started = time.monotonic()
    try:
        for at in range(0, len(body), batch):
            if rate > 0:  # keep to the pace: row ``at`` is due ``at / rate`` seconds after the start
                time.sleep(max(0.0, started + at / rate - time.monotonic()))
            send(body[at:at + batch])
    finally:
        close()
    return len(body)


def _to_folder(file: Path, header: str):
    file.parent.mkdir(parents=True, exist_ok=True)
    handle = file.open("w", encoding="utf-8")
    handle.write(header)
    handle.flush()

    def send(lines: list[str]) -> None:
        handle.write("".join(lines))
        handle.flush()

    return send, handle.close


def _to_mqtt(url: str, header: str):
    host, port, topic = parse_mqtt_url(url)
    separator, names = read_header(header)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tsad-replay")
    client.connect(host, port)
    client.loop_start()
    sent = []

    def send(lines: list[str]) -> None:
        rows = [dict(zip(names, (cell.strip() for cell in cells), strict=False))
                for cells in csv.reader(lines, delimiter=separator)]
        sent.append(client.publish(topic, json.dumps(rows[0] if len(rows) == 1 else rows), qos=1))

    def close() -> None:
        for info in sent:
            info.wait_for_publish(10)
        client.disconnect()
        client.loop_stop()

    return send, close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsad.streaming.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a CSV file whose first line is its header (e.g. a SWaT export)")
    parser.add_argument("target", help="a folder, or mqtt://HOST:PORT/TOPIC")
    parser.add_argument("--rate", type=float, default=1.0, help="rows per second (0: as fast as possible)")
    parser.add_argument("--batch", type=int, default=1, help="rows per append or message")
    args = parser.parse_args(argv)
    sent = replay(args.file, args.target, args.rate, args.batch)
    print(f"replayed {sent} rows of {args.file} to {args.target}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
