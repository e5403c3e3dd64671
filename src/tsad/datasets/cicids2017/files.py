"""CICIDS2017 (Canadian Institute for Cybersecurity) flow records as produced by CICFlowMeter.

One CSV per capture day (``Monday-WorkingHours.pcap_ISCX.csv`` ... ``Friday-WorkingHours-Afternoon-DDos.
pcap_ISCX.csv``). Each row is one network flow. Two layouts circulate:

- ``MachineLearningCVE``: 78 numeric features and ``Label`` (79 columns);
- ``GeneratedLabelledFlows`` (TrafficLabelling): ``Flow ID``, ``Source IP``, ``Source Port``,
  ``Destination IP``, ``Protocol`` and ``Timestamp`` as well (85 columns).

Quirks handled here: names carry leading spaces (``' Label'``, ``' Flow Packets/s'``); ``Fwd Header Length``
appears twice (CICFlowMeter writes the same value in both places, pandas reads the second as
``Fwd Header Length.1``): the copy is dropped, leaving **77 features**; the identifier columns of the second
layout are dropped; the web-attack labels carry a stray cp1252 byte (``Web Attack \\x96 Brute Force``), so
labels are compared on their letters and digits only; some files end with empty ``,,,`` rows, which are
ignored.

Infinite and missing values (``Flow Bytes/s`` and ``Flow Packets/s`` divide by a zero duration): the
policy is to replace ``inf``/``-inf`` by NaN here, log how many of each there are per column, and let the
cleaning stage's ``nan_policy`` decide (CICIDS2017's parameters set ``fill``, which carries the previous
flow's value forward, within ``max_fill_fraction``).

How tsad uses the days (MGAN, methods.md §2.4 and §7): the benign **Monday** file is the training split (only
its ``BENIGN`` rows are kept); another day is the test split (label 1 = any label but ``BENIGN``), by
default Friday afternoon's DDoS capture. Rows are indexed by ``step``, the flow's 0-based position in its
file; flows are records, not a time series, and windows over consecutive flows are artificial (MGAN uses
100 flows, stride 50).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.delimited import check_file, dedupe, drop_trailing_blank_rows, head_lines, read_table, split_header
from tsad.core.errors import DataFormatError, first_bad_row

logger = logging.getLogger(__name__)

CICIDS_FEATURES: tuple[str, ...] = (
    "Destination Port", "Flow Duration", "Total Fwd Packets", "Total Backward Packets",
    "Total Length of Fwd Packets", "Total Length of Bwd Packets", "Fwd Packet Length Max",
    "Fwd Packet Length Min", "Fwd Packet Length Mean", "Fwd Packet Length Std", "Bwd Packet Length Max",
    "Bwd Packet Length Min", "Bwd Packet Length Mean", "Bwd Packet Length Std", "Flow Bytes/s", "Flow Packets/s",
    "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std",
    "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Total", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min",
    "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags", "Fwd Header Length", "Bwd Header Length",
    "Fwd Packets/s", "Bwd Packets/s", "Min Packet Length", "Max Packet Length", "Packet Length Mean",
    "Packet Length Std", "Packet Length Variance", "FIN Flag Count", "SYN Flag Count", "RST Flag Count",
    "PSH Flag Count", "ACK Flag Count", "URG Flag Count", "CWE Flag Count", "ECE Flag Count", "Down/Up Ratio",
    "Average Packet Size", "Avg Fwd Segment Size", "Avg Bwd Segment Size", "Fwd Avg Bytes/Bulk",
    "Fwd Avg Packets/Bulk", "Fwd Avg Bulk Rate", "Bwd Avg Bytes/Bulk", "Bwd Avg Packets/Bulk", "Bwd Avg Bulk Rate",
    "Subflow Fwd Packets", "Subflow Fwd Bytes", "Subflow Bwd Packets", "Subflow Bwd Bytes", "Init_Win_bytes_forward",
    "Init_Win_bytes_backward", "act_data_pkt_fwd", "min_seg_size_forward", "Active Mean", "Active Std",
    "Active Max", "Active Min", "Idle Mean", "Idle Std", "Idle Max", "Idle Min",
)  # 77 features: the MachineLearningCVE columns without the duplicated Fwd Header Length
DUPLICATE_COLUMN = "Fwd Header Length.1"
IDENTIFIER_COLUMNS = ("Flow ID", "Source IP", "Source Port", "Destination IP", "Protocol", "Timestamp")
LABEL_COLUMN = "Label"
BENIGN = "BENIGN"
# The labels of the eight day files, by their letters and digits (the dash of the web attacks is a stray byte).
KNOWN_LABELS: dict[str, str] = {re.sub(r"[^a-z0-9]", "", name.lower()): name for name in (
    BENIGN, "Bot", "DDoS", "DoS GoldenEye", "DoS Hulk", "DoS Slowhttptest", "DoS slowloris", "FTP-Patator",
    "Heartbleed", "Infiltration", "PortScan", "SSH-Patator", "Web Attack - Brute Force",
    "Web Attack - Sql Injection", "Web Attack - XSS")}


def read_cicids_csv(path: str | Path) -> pd.DataFrame:
    """Read a CICFlowMeter day file (either layout, optionally gzipped).

    Returns:
        The 77 features (stripped names, ``CICIDS_FEATURES`` order) as float64 with inf and NaN as read, and
        ``Label`` as text; identifier columns and the duplicated ``Fwd Header Length`` are dropped.
        ``attrs``: ``source`` and ``first_line``.

    Raises:
        DataFormatError: Missing or empty file, a header with missing, unknown or repeated columns or the
            wrong count, a row of the wrong width or a non-numeric feature value, naming the line.
    """
    path = check_file(path)
    head = head_lines(path, 1, encoding="latin-1")
    raw = split_header(head[0]) if head else []
    names = dedupe([n.strip() for n in raw])
    features = [n for n in names if n not in IDENTIFIER_COLUMNS and n not in (LABEL_COLUMN, DUPLICATE_COLUMN)]
    missing = [f for f in (*CICIDS_FEATURES, LABEL_COLUMN) if f not in names]
    unknown = [f for f in features if f not in CICIDS_FEATURES]
    if missing or unknown:
        details = "; ".join(part for part in (f"missing {missing[:6]}{' ...' if len(missing) > 6 else ''}"
                                              if missing else "", f"unknown {unknown[:6]}" if unknown else "") if part)
        raise DataFormatError(
            f"{path}: the header has {len(names)} columns, expected {len(CICIDS_FEATURES) + 2} (CICFlowMeter's "
            f"{len(CICIDS_FEATURES) + 1} features, Fwd Header Length twice, and Label; or "
            f"{len(CICIDS_FEATURES) + 2 + len(IDENTIFIER_COLUMNS)} with {list(IDENTIFIER_COLUMNS)}): {details}")
    dropped = [n for n in names if n in IDENTIFIER_COLUMNS or n == DUPLICATE_COLUMN]
    if dropped:
        logger.info("%s: dropping %s (identifiers, and the copy of Fwd Header Length)", path, dropped)
    # Labels as bytes: the web-attack labels hold a cp1252 dash that is not valid UTF-8.
    return read_table(path, names, skip_lines=1, byte_columns=(LABEL_COLUMN,), float_columns=CICIDS_FEATURES,
                      keep=(*CICIDS_FEATURES, LABEL_COLUMN), what=f"a CICFlowMeter file ({len(names)} columns)")


def flow_labels(frame: pd.DataFrame) -> pd.Series:
    """Canonical label names (``BENIGN``, ``DDoS``, ``Web Attack - XSS`` ...) of a read file's rows.

    Raises:
        DataFormatError: An empty or unknown label, naming the line.
    """
    source = frame.attrs.get("source", "<CICIDS2017 frame>")
    codes, values = pd.factorize(frame[LABEL_COLUMN])
    texts = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]
    canonical = [KNOWN_LABELS.get(re.sub(r"[^a-z0-9]", "", t.lower())) for t in texts]
    unknown = np.array([c is None for c in canonical] + [True])[codes]  # code -1 (missing) maps to the last entry
    bad = first_bad_row(unknown)
    if bad is not None:
        text = texts[codes[bad]] if codes[bad] >= 0 else ""
        raise DataFormatError(f"{source}: column 'Label', line {int(frame.attrs.get('first_line', 2)) + bad}: "
                              f"unknown label {text!r}; expected BENIGN or one of the CICIDS2017 attacks "
                              f"{sorted(v for v in KNOWN_LABELS.values() if v != BENIGN)}")
    return pd.Series(np.asarray(canonical, dtype=object)[codes], index=frame.index)


def parse_cicids_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Type a read day file: ``step`` index, the 77 features as float32 with inf replaced by NaN, and labels.

    Returns:
        The features (no label column yet) and each row's canonical label name.
    """
    source = frame.attrs.get("source", "<CICIDS2017 frame>")
    frame, blank = drop_trailing_blank_rows(frame, (LABEL_COLUMN,))
    if blank:
        logger.info("%s: ignoring %d empty rows at the end of the file", source, blank)
    if len(frame) == 0:
        raise DataFormatError(f"{source}: no flow records")
    labels = flow_labels(frame)
    values = frame[list(CICIDS_FEATURES)].to_numpy(dtype=np.float64, copy=True)
    infinite, missing = np.isinf(values), np.isnan(values)
    if infinite.any() or missing.any():
        counts = {c: f"{int(i)} inf, {int(m)} NaN" for c, i, m in zip(CICIDS_FEATURES, infinite.sum(0), missing.sum(0),
                                                                       strict=True) if i or m}
        logger.info("%s: %d infinite values replaced by NaN and %d NaN left for the cleaning nan_policy: %s",
                    source, int(infinite.sum()), int(missing.sum()), counts)
        values[infinite] = np.nan
    typed = pd.DataFrame(values.astype(np.float32), columns=list(CICIDS_FEATURES),
                         index=pd.Index(np.arange(len(frame), dtype=np.int64), name="step"))
    return typed, labels
