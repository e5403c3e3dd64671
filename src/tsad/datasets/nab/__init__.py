"""NAB (Numenta Anomaly Benchmark), under our protocol (``nab``) and TAnoGAN's (``nab_paper``): ``files`` reads the
series and their windows, ``sources`` holds the Kedro dataset their catalog entries name, ``ingest`` their ingest
node and their specs."""
