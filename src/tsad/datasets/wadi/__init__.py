"""WADI (iTrust, SUTD): ``files`` reads and writes its A1 and A2 files, ``sources`` holds the Kedro datasets its
catalog entries name (the real files, or the embedded network simulator), ``ingest`` its ingest node and its spec."""
