"""Bring your own data: CSV or Parquet files described by one configuration block, ``datasets.<name>.source``.

The block says where the files are and how to read them; no Python is needed to add a dataset::

    datasets:
      plant:
        source:
          train: data/01_raw/plant/normal.csv      # a file, a list of files (one series in pieces),
          test: data/01_raw/plant/attack.csv       # a folder or a glob (one entity per file)
          timestamp: time                          # or {column, format, unit, kind: step}, or null: row numbers
          label: {column: attack, anomaly: [1], normal: [0]}   # optional; the test data may be unlabelled
          channels: null                           # names or shell patterns; null: every numeric column

Without ``test``, ``split`` cuts every series in time: ``{fraction: 0.7}`` (the leading 70 % trains) or
``{at: "2024-03-01"}`` (rows before trains; an integer step with a step index). ``parties: {<party>: {train,
test}}`` takes each party's own files instead of ``train`` and ``test``. Every other key is listed in
``source_spec.SOURCE_KEYS`` and explained in ``source_spec.table_spec``.

One module per job, each depending only on those above it:

- ``source_spec``: the block's keys and forms, validated into a ``TableSpec``;
- ``listing``: the files of a side (a file, pieces of one series, a folder or a glob of entities);
- ``reading``: one CSV or Parquet file's time, label and channel columns;
- ``times``: its time index (parsed, steps or row numbers; strictly increasing);
- ``typed``: its typed frame (channels as float32, declared labels as 0/1);
- ``series``: a series from its pieces, its cut in time, the same-channels check;
- ``parties``: each party's series (``parties``: a vertically federated plant), aligned on their timestamps;
- ``sources``: what ``tsad.datasets.TableSourceDataset`` loads (lazy per-entity readers; new data to score);
- ``ingest``: the ingest node (entity selection, cross-file checks, the typed frames of ``tsad.core.frames``).

Every error names the file, the column and an example row (``line`` counts physical lines of a CSV file from 1;
``row`` counts the data rows of a Parquet file from 0).
"""
