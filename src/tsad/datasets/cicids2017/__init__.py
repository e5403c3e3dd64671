"""CICIDS2017 (CICFlowMeter flow records): ``files`` reads a capture day, ``sources`` holds the Kedro dataset its
catalog entries name, ``ingest`` its ingest node and its spec."""
