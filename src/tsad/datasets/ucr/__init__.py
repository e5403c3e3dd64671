"""The UCR Time Series Anomaly Archive (KDD Cup 2021): ``files`` reads a series and the labels its name holds,
``sources`` holds the Kedro dataset its catalog entries name, ``ingest`` its ingest node and its spec."""
