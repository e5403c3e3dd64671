"""Kedro-free reading machinery the datasets share: delimited text files (``delimited``), folders of per-entity
files (``entities``) and the datasets declared in configuration (``table``)."""
