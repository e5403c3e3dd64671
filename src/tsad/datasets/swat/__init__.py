"""SWaT (iTrust, SUTD): ``files`` reads and writes its exports, ``sources`` holds the Kedro datasets its catalog
entries name (the real files, or the embedded plant simulator), ``ingest`` its ingest node and its spec."""
