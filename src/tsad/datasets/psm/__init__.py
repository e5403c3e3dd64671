"""PSM (eBay's Pooled Server Metrics): ``files`` reads its splits and labels, ``sources`` holds the Kedro dataset its
catalog entries name, ``ingest`` its ingest node and its spec."""
