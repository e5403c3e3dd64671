"""KDD Cup 99 (network-intrusion records): ``files`` reads and encodes its records, ``sources`` holds the Kedro
dataset its catalog entries name, ``ingest`` its ingest node and its spec."""
