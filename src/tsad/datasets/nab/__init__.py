"""NAB (Numenta Anomaly Benchmark), under our protocol and TAnoGAN's (``datasets.nab.protocols.paper``): ``files``
reads the series and their windows, ``sources`` holds the Kedro dataset its catalog entries name, ``ingest`` its
ingest node and spec."""
