"""KDD Cup 1999 network-intrusion records (UCI): ``kddcup.data_10_percent.gz`` and ``corrected.gz``.

Each line is one connection record: 41 comma-separated features and the class with a trailing dot
(``normal.``, ``smurf.`` ...), no header (../shared/data/KDDCup99/SOURCE.md). Three features are symbolic
(``protocol_type``, ``service``, ``flag``).

How tsad uses them (the MAD-GAN/MGAN preparation, methods.md §2.6 and §7):

- training data is the **normal** records of the 10 % set (97,278 of 494,021); the attack records are left
  out, since the detectors learn normal behaviour;
- test data is the whole corrected set (311,029 records, 80.5 % attacks); label 1 = any class but ``normal.``;
- the symbolic features are one-hot encoded with the categories seen in the training records (the normal
  ones); a category never seen there gets an all-zero encoding, and how many test records that hits is
  logged (on the real files: 2,771 test records have such a service, 86 such a flag);
- rows keep their order in the file and are indexed by ``step`` (the record's 0-based position in its file).
  They are records, not a time series: windows over consecutive records are artificial (MGAN uses them);
  the dataset's parameters use windows of one record.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.delimited import check_file, head_lines, read_table, split_header
from tsad.core.errors import DataFormatError, first_bad_row

logger = logging.getLogger(__name__)

KDD_FEATURES: tuple[str, ...] = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land", "wrong_fragment", "urgent",
    "hot", "num_failed_logins", "logged_in", "num_compromised", "root_shell", "su_attempted", "num_root",
    "num_file_creations", "num_shells", "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login",
    "count", "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate", "same_srv_rate",
    "diff_srv_rate", "srv_diff_host_rate", "dst_host_count", "dst_host_srv_count", "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate", "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)
SYMBOLIC: tuple[str, ...] = ("protocol_type", "service", "flag")
NUMERIC: tuple[str, ...] = tuple(f for f in KDD_FEATURES if f not in SYMBOLIC)
CLASS_COLUMN = "class"
KDD_COLUMNS: tuple[str, ...] = (*KDD_FEATURES, CLASS_COLUMN)
NORMAL = "normal"
# Every class of the two files: the 22 attacks of the training data and the 17 that appear only in the
# corrected test data (counted on the files in ../shared/data/KDDCup99).
ATTACKS_IN_TRAINING = frozenset({
    "back", "buffer_overflow", "ftp_write", "guess_passwd", "imap", "ipsweep", "land", "loadmodule", "multihop",
    "neptune", "nmap", "perl", "phf", "pod", "portsweep", "rootkit", "satan", "smurf", "spy", "teardrop",
    "warezclient", "warezmaster"})
ATTACKS_IN_TEST_ONLY = frozenset({
    "apache2", "httptunnel", "mailbomb", "mscan", "named", "processtable", "ps", "saint", "sendmail",
    "snmpgetattack", "snmpguess", "sqlattack", "udpstorm", "worm", "xlock", "xsnoop", "xterm"})
KNOWN_CLASSES = frozenset({NORMAL}) | ATTACKS_IN_TRAINING | ATTACKS_IN_TEST_ONLY


def read_kddcup_file(path: str | Path) -> pd.DataFrame:
    """Read a KDD Cup 99 file (``.gz`` or plain): 41 features and the class per line, no header.

    Returns:
        The 38 numeric features as float64, the 3 symbolic ones and ``class`` as categories;
        ``attrs``: ``source`` and ``first_line``.

    Raises:
        DataFormatError: Missing or empty file, a line with other than 42 fields, or a non-numeric value in a
            numeric feature, naming the line.
    """
    path = check_file(path)
    head = head_lines(path, 1)
    first = split_header(head[0]) if head else []
    if len(first) != len(KDD_COLUMNS):
        raise DataFormatError(f"{path}: line 1 has {len(first)} fields, expected {len(KDD_COLUMNS)} (the 41 KDD "
                              "Cup 99 features and the class); is this a KDD Cup 99 file?")
    header = first[0].strip() == KDD_FEATURES[0]  # a re-exported copy with a header line of feature names
    return read_table(path, KDD_COLUMNS, skip_lines=int(header), category_columns=(*SYMBOLIC, CLASS_COLUMN),
                      what="a KDD Cup 99 file (41 features and the class)")


def record_classes(frame: pd.DataFrame) -> pd.Series:
    """Each record's class without the trailing dot (``normal``, ``smurf`` ...).

    Raises:
        DataFormatError: A class that is not one of the 40 KDD Cup 99 classes, naming the line.
    """
    source = frame.attrs.get("source", "<KDD Cup 99 frame>")
    raw = frame[CLASS_COLUMN].astype(str)
    classes = raw.str.strip().str.rstrip(".")
    bad = first_bad_row(~classes.isin(KNOWN_CLASSES).to_numpy())
    if bad is not None:
        raise DataFormatError(f"{source}: column 'class', line {int(frame.attrs.get('first_line', 1)) + bad}: "
                              f"unknown class {raw.iloc[bad]!r}; expected 'normal.' or one of the "
                              f"{len(KNOWN_CLASSES) - 1} KDD Cup 99 attack names")
    return classes


def one_hot_categories(train: pd.DataFrame) -> dict[str, list[str]]:
    """The categories of each symbolic feature seen in the training records, sorted."""
    return {column: sorted(str(v).strip() for v in pd.unique(train[column].astype(str))) for column in SYMBOLIC}


def encode_records(frame: pd.DataFrame, categories: dict[str, list[str]], labels: np.ndarray) -> pd.DataFrame:
    """Typed frame of records: numeric features and one-hot symbolic features as float32, int8 labels.

    One-hot columns are named ``<feature>=<category>`` (``protocol_type=tcp``), in the order of ``categories``;
    a category not in ``categories`` gets all zeros, and how many records that hits is logged.
    """
    source = frame.attrs.get("source", "<KDD Cup 99 frame>")
    columns: dict[str, np.ndarray] = {c: frame[c].to_numpy(dtype=np.float32) for c in NUMERIC}
    for column in SYMBOLIC:
        values = frame[column].astype(str).str.strip()
        codes = pd.Categorical(values, categories=categories[column]).codes
        unseen = codes < 0
        if unseen.any():
            counts = values[unseen].value_counts()
            logger.info("%s: %d records have a %s unseen in training (all-zero one-hot): %s", source,
                        int(unseen.sum()), column, counts.to_dict())
        for i, category in enumerate(categories[column]):
            columns[f"{column}={category}"] = (codes == i).astype(np.float32)
    typed = pd.DataFrame(columns, index=pd.Index(frame.index.to_numpy(dtype=np.int64), name="step"))
    typed["label"] = labels.astype(np.int8)
    return typed
