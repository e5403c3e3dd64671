"""The folder source reads only complete new lines and new Parquet files, whatever the CSV dialect."""

from __future__ import annotations

import pandas as pd
import pytest

from tsad.streaming.replay import replay
from tsad.streaming.sources import FolderSource, JsonlSink, parse_mqtt_url, read_jsonl


def cells(batches) -> list[list[str]]:
    return [row for batch in batches for row in batch.rows.astype(str).values.tolist()]


def test_appended_lines_are_read_once_and_a_partial_line_waits(tmp_path):
    path = tmp_path / "plant.csv"
    path.write_text("time,a,b\n1,2,3\n4,5")
    source = FolderSource(tmp_path, "time", entity_files=False)
    (batch,) = source.poll()
    assert batch.rows.columns.tolist() == ["time", "a", "b"] and cells([batch]) == [["1", "2", "3"]]
    assert batch.first_line == 2 and batch.entity is None
    assert source.poll() == []
    with path.open("a") as handle:
        handle.write(",6\n7,8,9\n")
    (batch,) = source.poll()
    assert cells([batch]) == [["4", "5", "6"], ["7", "8", "9"]] and batch.first_line == 3


def test_swat_exports_semicolons_bom_and_group_headers(tmp_path):
    (tmp_path / "m-1.csv").write_text("\ufeff;P1;P1\n Timestamp ; FIT101;LIT101\n28/12/2015 10:00:00 AM;2,5;1\n",
                                      encoding="utf-8")
    source = FolderSource(tmp_path, "Timestamp", entity_files=True)
    (batch,) = source.poll()
    assert batch.rows.columns.tolist() == ["Timestamp", "FIT101", "LIT101"]
    assert cells([batch]) == [["28/12/2015 10:00:00 AM", "2,5", "1"]]
    assert batch.entity == "m-1" and batch.first_line == 3


def test_a_file_that_shrinks_is_read_again(tmp_path, caplog):
    path = tmp_path / "plant.csv"
    path.write_text("time,a\n1,2\n2,3\n")
    source = FolderSource(tmp_path, "time", entity_files=False)
    source.poll()
    path.write_text("time,a\n9,9\n")
    assert cells(source.poll()) == [["9", "9"]] and "shrank" in caplog.text


def test_new_parquet_files_are_read_once(tmp_path):
    source = FolderSource(tmp_path, "time", entity_files=True)
    pd.DataFrame({"time": [1, 2], "a": [0.5, 0.25]}).to_parquet(tmp_path / "pump.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    (batch,) = source.poll()
    assert batch.entity == "pump" and batch.rows["a"].tolist() == [0.5, 0.25]
    assert source.poll() == [] and source.bad_messages == 1


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: folder not found"):
        FolderSource(tmp_path / "nowhere", "time", entity_files=False)


def test_jsonl_sink_appends(tmp_path):
    sink = JsonlSink(tmp_path / "out" / "alarms.jsonl")
    sink.write([{"event": "open"}])
    sink.write([{"event": "close"}])
    sink.close()
    assert read_jsonl(tmp_path / "out" / "alarms.jsonl") == [{"event": "open"}, {"event": "close"}]


def test_mqtt_addresses():
    assert parse_mqtt_url("mqtt://127.0.0.1:1884/plant/rows") == ("127.0.0.1", 1884, "plant/rows")
    assert parse_mqtt_url("mqtt://broker/rows") == ("broker", 1883, "rows")
    with pytest.raises(ValueError, match="mqtt://HOST"):
        parse_mqtt_url("mqtt://127.0.0.1:1883")


def test_replay_appends_a_file_into_a_folder_as_a_historian_would(tmp_path):
    recorded = tmp_path / "plant.csv"
    recorded.write_text("\ufefftime;a\n1;2,5\n2;3\n\n3;4\n", encoding="utf-8")
    assert replay(recorded, str(tmp_path / "incoming"), rate=0, batch=2) == 3
    assert (tmp_path / "incoming" / "plant.csv").read_text() == "time;a\n1;2,5\n2;3\n3;4\n"
