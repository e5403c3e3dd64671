"""SMD and ASD (NetManAIOps server machines, one format): ``files`` reads a machine's files, ``sources`` holds the
Kedro dataset their catalog entries name, ``ingest`` their ingest node and their specs."""
