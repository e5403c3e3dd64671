"""MSL and SMAP (NASA telemanom, one format): ``files`` reads a channel's arrays and the label file, ``sources``
holds the Kedro dataset their catalog entries name, ``ingest`` their ingest node and their specs."""
