"""tsad: unsupervised anomaly detection on multivariate time series, as a Kedro project."""

__version__ = "0.1.0"
